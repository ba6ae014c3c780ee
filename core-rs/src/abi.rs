//! The flat `extern "C"` ABI: the only place with `#[no_mangle]` and `unsafe`.
//!
//! Only numbers and pointers cross. Every call returns a status (0 = ok,
//! 1 = error) and writes results through out-pointers; the last error message
//! stays in the core and is read with `stoopt_last_error_ptr/len`.
//! The TypeScript side (cli/core.ts) checks `stoopt_abi_version`.

use crate::noise::{Rng, RNG_WORDS};
use crate::params::{Params, N_PARAMS};
use crate::simulate::{Batch, Scheme};
use std::cell::RefCell;

/// Bump on any change of a signature or a buffer layout.
pub const ABI_VERSION: u32 = 1;

thread_local! {
    static LAST_ERROR: RefCell<String> = RefCell::new(String::new());
}

fn fail(msg: String) -> i32 {
    LAST_ERROR.with(|e| *e.borrow_mut() = msg);
    1
}

fn status(r: Result<(), String>) -> i32 {
    match r {
        Ok(()) => 0,
        Err(m) => fail(m),
    }
}

#[no_mangle]
pub extern "C" fn stoopt_abi_version() -> u32 {
    ABI_VERSION
}

/// Allocate `bytes` bytes, 8-byte aligned. Free with `stoopt_free`.
#[no_mangle]
pub extern "C" fn stoopt_alloc(bytes: usize) -> *mut u8 {
    let words = (bytes + 7) / 8;
    let mut v: Vec<u64> = vec![0; words.max(1)];
    let p = v.as_mut_ptr() as *mut u8;
    std::mem::forget(v);
    p
}

/// # Safety
/// `ptr` must come from `stoopt_alloc(bytes)` with the same `bytes`.
#[no_mangle]
pub unsafe extern "C" fn stoopt_free(ptr: *mut u8, bytes: usize) {
    let words = ((bytes + 7) / 8).max(1);
    drop(Vec::from_raw_parts(ptr as *mut u64, words, words));
}

#[no_mangle]
pub extern "C" fn stoopt_last_error_len() -> usize {
    LAST_ERROR.with(|e| e.borrow().len())
}

#[no_mangle]
pub extern "C" fn stoopt_last_error_ptr() -> *const u8 {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}

unsafe fn slice<'a, T>(p: *const T, n: usize) -> &'a [T] {
    if n == 0 {
        &[]
    } else {
        std::slice::from_raw_parts(p, n)
    }
}

unsafe fn slice_mut<'a, T>(p: *mut T, n: usize) -> &'a mut [T] {
    if n == 0 {
        &mut []
    } else {
        std::slice::from_raw_parts_mut(p, n)
    }
}

unsafe fn params_at(p: *const f64) -> Result<Params<f64>, String> {
    let params = Params::from_slice(slice(p, N_PARAMS));
    params.check()?;
    Ok(params)
}

/// Seed `n` generators (streams `first_stream ..`) into `out` (RNG_WORDS words each).
///
/// # Safety
/// `out` must hold `n * RNG_WORDS` u64.
#[no_mangle]
pub unsafe extern "C" fn stoopt_rng_init(seed: u64, first_stream: u64, n: usize, out: *mut u64) -> i32 {
    let out = slice_mut(out, n * RNG_WORDS);
    for i in 0..n {
        Rng::new(seed, first_stream + i as u64).save(&mut out[i * RNG_WORDS..(i + 1) * RNG_WORDS]);
    }
    0
}

/// Draw one uniformly random unit vector per generator into `out` (3 per generator).
///
/// # Safety
/// `rng` must hold `n * RNG_WORDS` u64 and `out` `3 * n` f64.
#[no_mangle]
pub unsafe extern "C" fn stoopt_random_unit_vectors(rng: *mut u64, n: usize, out: *mut f64) -> i32 {
    let words = slice_mut(rng, n * RNG_WORDS);
    let out = slice_mut(out, 3 * n);
    for i in 0..n {
        let w = &mut words[i * RNG_WORDS..(i + 1) * RNG_WORDS];
        let mut r = Rng::load(w);
        out[3 * i..3 * i + 3].copy_from_slice(&r.unit_vector());
        r.save(w);
    }
    0
}

/// Integrate `n_trials` trials for `steps_per_sample * n_samples` steps.
/// `m` (3 per trial) and `rng` (RNG_WORDS per trial) are updated in place;
/// if `out` is not null it receives [trial][sample][mx,my,mz].
///
/// # Safety
/// Pointers must hold the sizes above; `params` holds N_PARAMS f64.
#[no_mangle]
pub unsafe extern "C" fn stoopt_simulate(
    params: *const f64,
    scheme: u32,
    dt_s: f64,
    temperature_k: f64,
    n_trials: usize,
    m: *mut f64,
    rng: *mut u64,
    steps_per_sample: usize,
    n_samples: usize,
    out: *mut f64,
) -> i32 {
    status((|| {
        let params = params_at(params)?;
        let scheme = Scheme::from_code(scheme).ok_or_else(|| format!("unknown scheme code {}", scheme))?;
        if !(dt_s > 0.0 && dt_s.is_finite()) {
            return Err(format!("time step must be positive and finite (got {} s)", dt_s));
        }
        if !(temperature_k >= 0.0 && temperature_k.is_finite()) {
            return Err(format!("temperature must be >= 0 K (got {})", temperature_k));
        }
        let m = slice_mut(m, 3 * n_trials);
        let words = slice_mut(rng, n_trials * RNG_WORDS);
        let mut rngs: Vec<Rng> = (0..n_trials).map(|i| Rng::load(&words[i * RNG_WORDS..])).collect();
        let out = if out.is_null() { None } else { Some(slice_mut(out, 3 * n_trials * n_samples)) };
        let batch = Batch { params: &params, scheme, dt_s, sigma_oe: params.thermal_sigma_oe(temperature_k, dt_s) };
        batch.run(m, &mut rngs, steps_per_sample, n_samples, out);
        for (i, r) in rngs.iter().enumerate() {
            r.save(&mut words[i * RNG_WORDS..(i + 1) * RNG_WORDS]);
        }
        if m.iter().any(|v| !v.is_finite()) {
            return Err("integration diverged (non-finite magnetization); reduce the time step".into());
        }
        Ok(())
    })())
}

// ---- system identification (sysid.rs) ----

/// Loss parts and gradient of eq. (4) over the selected trials.
/// `mode`: 0 loss only, 1 forward-mode duals, 2 discrete adjoint.
/// `out` receives [sum_abs, count, sum_sq, grad[n_fit], jtj[n_fit * n_fit]]
/// (sums over compared samples; jtj only in mode 1). If `student` is not
/// null (mode 0), it receives the student's state at every teacher sample of
/// the selected trials (3 per sample, at the sample's global index).
///
/// # Safety
/// `params` holds N_PARAMS f64, `fit` n_fit u32, `offsets` n_trials + 1 u32,
/// `t_s`/`mx` offsets[n_trials] f64, `m0` 3 n_trials f64, `sel` n_sel u32,
/// `out` 3 + n_fit + n_fit^2 f64, `student` 3 offsets[n_trials] f64 or null.
#[no_mangle]
pub unsafe extern "C" fn stoopt_sysid_eval(
    params: *const f64,
    fit: *const u32,
    n_fit: usize,
    mode: u32,
    dt_s: f64,
    washout_s: f64,
    n_trials: usize,
    offsets: *const u32,
    t_s: *const f64,
    mx: *const f64,
    m0: *const f64,
    sel: *const u32,
    n_sel: usize,
    out: *mut f64,
    student: *mut f64,
) -> i32 {
    use crate::sysid::{Acc, Mode, Problem, Setup, Teacher};
    status((|| {
        let params = params_at(params)?;
        let mode = match mode {
            0 => Mode::LossOnly,
            1 => Mode::Forward,
            2 => Mode::Adjoint,
            _ => return Err(format!("unknown sysid mode {}", mode)),
        };
        let fit: Vec<usize> = slice(fit, n_fit).iter().map(|&j| j as usize).collect();
        if fit.is_empty() && mode != Mode::LossOnly {
            return Err("no parameter to fit".into());
        }
        for (a, &j) in fit.iter().enumerate() {
            if j >= N_PARAMS || fit[..a].contains(&j) {
                return Err(format!("bad or repeated fitted-parameter index {}", j));
            }
        }
        if !(dt_s > 0.0 && dt_s.is_finite()) {
            return Err(format!("time step must be positive (got {} s)", dt_s));
        }
        let offsets = slice(offsets, n_trials + 1);
        let total = offsets[n_trials] as usize;
        let t = slice(t_s, total);
        for i in 0..n_trials {
            let (a, b) = (offsets[i] as usize, offsets[i + 1] as usize);
            if b < a + 2 || b > total {
                return Err(format!("trial {} has fewer than two samples", i));
            }
            if (a + 1..b).any(|k| !(t[k] > t[k - 1])) {
                return Err(format!("trial {}: sample times must increase", i));
            }
        }
        let sel: Vec<usize> = slice(sel, n_sel).iter().map(|&i| i as usize).collect();
        if let Some(&bad) = sel.iter().find(|&&i| i >= n_trials) {
            return Err(format!("selected trial {} out of range", bad));
        }
        let prob = Problem {
            params,
            fit: &fit,
            teacher: Teacher { offsets, t_s: t, mx: slice(mx, total), m0: slice(m0, 3 * n_trials) },
            setup: Setup { dt_s, washout_s },
        };
        let student = if student.is_null() || mode != Mode::LossOnly { None } else { Some(slice_mut(student, 3 * total)) };
        let mut acc = Acc::new();
        prob.eval(mode, &sel, student, &mut acc);
        let out = slice_mut(out, 3 + n_fit + n_fit * n_fit);
        out[0] = acc.sum_abs;
        out[1] = acc.count;
        out[2] = acc.sum_sq;
        for a in 0..n_fit {
            out[3 + a] = acc.grad[a];
            for b in 0..n_fit {
                out[3 + n_fit + a * n_fit + b] = acc.jtj[a][b];
            }
        }
        Ok(())
    })())
}
