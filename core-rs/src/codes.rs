//! Every code that crosses the ABI, defined once: the decoders below (and
//! the enums' own `from_code`/`from_bits`) are what the core accepts, and
//! `describe` lists them, with Table I, the parameter slots, the buffer sizes
//! and the layouts of the `#[repr(C)]` argument structs (abi.rs), as text
//! that the TypeScript side reads (`stoopt_describe`; test/codes.test.ts
//! checks cli/core/codes.ts against it).
//!
//! Format: one entry per line, `table<TAB>name<TAB>value`.

use crate::network::{Want, X0Norm};
use crate::noise::RNG_WORDS;
use crate::params::{Params, N_PARAMS, PARAM_NAMES};
use crate::reservoir::Feat;
use crate::simulate::Scheme;
use crate::sysid::Mode;

/// Lane type of the network and of the optimizer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    F32,
    F64,
}

impl Precision {
    pub fn from_code(c: u32) -> Result<Precision, String> {
        match c {
            0 => Ok(Precision::F32),
            1 => Ok(Precision::F64),
            _ => Err(format!("unknown precision code {}", c)),
        }
    }
}

/// The gradient mode of a sysid evaluation.
pub fn sysid_mode(c: u32) -> Result<Mode, String> {
    match c {
        0 => Ok(Mode::LossOnly),
        1 => Ok(Mode::Dual),
        2 => Ok(Mode::Adjoint),
        _ => Err(format!("unknown sysid mode {}", c)),
    }
}

/// Distribution drawn by `stoopt_rng_draw`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RngKind {
    /// uniform in [a, b)
    Uniform,
    /// normal with mean a and standard deviation b
    Normal,
}

impl RngKind {
    pub fn from_code(c: u32) -> Result<RngKind, String> {
        match c {
            0 => Ok(RngKind::Uniform),
            1 => Ok(RngKind::Normal),
            _ => Err(format!("unknown distribution code {}", c)),
        }
    }
}

// The names the CLI uses for each value (exhaustive matches: a new variant needs a name).
fn scheme_name(s: Scheme) -> &'static str {
    match s {
        Scheme::Rk4 => "rk4",
        Scheme::Heun => "heun",
    }
}
fn precision_name(p: Precision) -> &'static str {
    match p {
        Precision::F32 => "f32",
        Precision::F64 => "f64",
    }
}
fn mode_name(m: Mode) -> &'static str {
    match m {
        Mode::LossOnly => "loss",
        Mode::Dual => "dual",
        Mode::Adjoint => "adjoint",
    }
}
fn x0_name(x: X0Norm) -> &'static str {
    match x {
        X0Norm::Unit => "unit",
        X0Norm::Raw => "raw",
    }
}
fn feat_name(f: Feat) -> &'static str {
    match f {
        Feat::All => "all",
        Feat::Mx => "mx",
        Feat::Mz => "mz",
    }
}
fn rng_kind_name(k: RngKind) -> &'static str {
    match k {
        RngKind::Uniform => "uniform",
        RngKind::Normal => "normal",
    }
}

/// Codes 0..16 that `decode` accepts, with their names.
fn table<T, F: Fn(u32) -> Option<T>, N: Fn(T) -> &'static str>(decode: F, name: N) -> Vec<(&'static str, u32)> {
    (0..16).filter_map(|c| decode(c).map(|v| (name(v), c))).collect()
}

/// A `#[repr(C)]` struct's name, size and field offsets (abi.rs `describe`).
pub type Layout = (&'static str, usize, Vec<(&'static str, usize)>);

/// The whole description (see the module comment).
pub fn describe(layouts: &[Layout]) -> String {
    let mut s = String::new();
    let mut line = |t: &str, n: &str, v: String| {
        s.push_str(t);
        s.push('\t');
        s.push_str(n);
        s.push('\t');
        s.push_str(&v);
        s.push('\n');
    };
    let tables: Vec<(&str, Vec<(&str, u32)>)> = vec![
        ("scheme", table(Scheme::from_code, scheme_name)),
        ("precision", table(|c| Precision::from_code(c).ok(), precision_name)),
        ("sysid_mode", table(|c| sysid_mode(c).ok(), mode_name)),
        ("x0_norm", table(|c| X0Norm::from_code(c).ok(), x0_name)),
        ("feat", table(|c| Feat::from_code(c).ok(), feat_name)),
        ("rng_kind", table(|c| RngKind::from_code(c).ok(), rng_kind_name)),
    ];
    for (t, rows) in tables {
        for (n, c) in rows {
            line(t, n, c.to_string());
        }
    }
    // `want` bits: the bit that sets each gradient group
    for k in 0..16u32 {
        let w = Want::from_bits(1 << k);
        let name = if w.w_in {
            "win"
        } else if w.w_out {
            "wout"
        } else if w.phys {
            "phys"
        } else {
            continue;
        };
        line("want", name, (1u32 << k).to_string());
    }
    for (i, n) in PARAM_NAMES.iter().enumerate() {
        line("param_slot", n, i.to_string());
    }
    let paper = Params::paper().to_array();
    for (i, n) in PARAM_NAMES.iter().enumerate() {
        line("table_i", n, format!("{:?}", paper[i]));
    }
    line("constant", "hbar_erg_s", format!("{:?}", crate::params::HBAR_ERG_S));
    line("constant", "e_charge_c", format!("{:?}", crate::params::E_CHARGE_C));
    line("constant", "kb_erg_per_k", format!("{:?}", crate::params::KB_ERG_PER_K));
    line("size", "n_params", N_PARAMS.to_string());
    line("size", "rng_words", RNG_WORDS.to_string());
    line("size", "theory_out", "4".into());
    line("size", "steady_out_fixed", "4".into());
    line("size", "linewidth_out_fixed", crate::linewidth::LINEWIDTH_OUT_FIXED.to_string());
    line("size", "net_stats", "2".into());
    line("size", "net_g_phys", "2".into());
    // sysid::Block length per fitted-parameter count, without and with the chart
    for n_fit in 0..=N_PARAMS {
        for w in [0, 2] {
            line("block_len", &format!("{}.{}", n_fit, w), crate::sysid::Block::len(n_fit, w).to_string());
        }
    }
    for (name, size, fields) in layouts {
        line("struct_size", name, size.to_string());
        for (f, off) in fields {
            line("struct_field", &format!("{}.{}", name, f), off.to_string());
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_list_what_the_decoders_accept() {
        let d = describe(&[]);
        for l in ["scheme\trk4\t0", "scheme\theun\t1", "sysid_mode\tadjoint\t2", "x0_norm\traw\t1", "feat\tmz\t2", "want\tphys\t4", "param_slot\tj_DC\t8"] {
            assert!(d.lines().any(|x| x == l), "{} missing in\n{}", l, d);
        }
        assert!(d.contains("table_i\tH_appl\t1750.0\n"));
    }
}
