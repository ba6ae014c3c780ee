//! The flat `extern "C"` ABI: the only place with `#[no_mangle]` and `unsafe`.
//!
//! Only numbers and pointers cross. Every call returns a status (0 = ok,
//! 1 = error) and writes results through out-pointers; the last error message
//! stays in the core and is read with `stoopt_last_error_ptr/len`.
//! The TypeScript side (cli/core/) checks `stoopt_abi_version` and reads the
//! codes, Table I and the argument-struct layouts from `stoopt_describe`.

use crate::noise::{Rng, RNG_WORDS};
use crate::params::{Params, N_PARAMS};
use crate::simulate::{Batch, Scheme};
use std::cell::RefCell;

/// Bump on any change of a signature or a buffer layout.
pub const ABI_VERSION: u32 = 11;

thread_local! {
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
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

/// A handle owned by the caller: the value boxed, or null with the error kept
/// for `stoopt_last_error_*`. Freed by `drop_handle`.
fn into_handle<T>(r: Result<T, String>) -> *mut T {
    match r {
        Ok(v) => Box::into_raw(Box::new(v)),
        Err(m) => {
            fail(m);
            std::ptr::null_mut()
        }
    }
}

/// # Safety
/// `h` null or from `into_handle`, not used afterwards.
unsafe fn drop_handle<T>(h: *mut T) {
    if !h.is_null() {
        drop(Box::from_raw(h));
    }
}

#[no_mangle]
pub extern "C" fn stoopt_abi_version() -> u32 {
    ABI_VERSION
}

macro_rules! layout {
    ($t:ty; $($f:ident),*) => {{
        let u = std::mem::MaybeUninit::<$t>::uninit();
        let base = u.as_ptr();
        // addr_of! takes the fields' addresses without reading them
        let fields = vec![$((stringify!($f), unsafe { std::ptr::addr_of!((*base).$f) as usize - base as usize })),*];
        (stringify!($t), std::mem::size_of::<$t>(), fields)
    }};
}

/// The description of codes.rs with the layouts of the argument structs.
pub fn describe() -> String {
    let layouts = vec![
        layout!(NetStepArgs; dt_s, cm_oe, grad_scale, params, w_cp, w_in, w_out, h_appl, images, labels, batch, want, g_w_in, g_w_out, g_h_appl, g_phys, stats, x0, lamv),
        layout!(SysidArgs; dt_s, washout_s, offset, amplitude, params, fit, n_fit, mode, n_trials, offsets, t_s, y, m0, chart, sel, n_sel, out, blocks, student),
        layout!(SimulateArgs; dt_s, temperature_k, params, scheme, n_trials, m, rng, steps_per_sample, n_samples, out),
        layout!(ReadoutArgs; lambda, x, f, t_total, t0, t1, y, n_out, w, g, out),
    ];
    crate::codes::describe(&layouts)
}

/// Write the description (codes.rs) into `out` if it holds `cap` bytes;
/// returns its length in bytes (call with cap 0 to size the buffer).
///
/// # Safety
/// `out` holds `cap` bytes.
#[no_mangle]
pub unsafe extern "C" fn stoopt_describe(out: *mut u8, cap: usize) -> usize {
    let d = describe();
    if cap >= d.len() {
        slice_mut(out, d.len()).copy_from_slice(d.as_bytes());
    }
    d.len()
}

/// Table I (params.rs `Params::paper`) in slot order into `out`.
///
/// # Safety
/// `out` holds N_PARAMS f64.
#[no_mangle]
pub unsafe extern "C" fn stoopt_table1(out: *mut f64) {
    slice_mut(out, N_PARAMS).copy_from_slice(&Params::paper().to_array());
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

/// The arguments of `stoopt_simulate`: integrate `n_trials` trials of
/// `params` (N_PARAMS f64) with `scheme` for `steps_per_sample * n_samples`
/// steps of `dt_s` at `temperature_k`. `m` (3 per trial) and `rng`
/// (RNG_WORDS per trial) are updated in place; if `out` is not null it
/// receives [trial][sample][mx,my,mz].
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SimulateArgs {
    pub dt_s: f64,
    pub temperature_k: f64,
    pub params: *const f64,
    pub scheme: u32,
    pub n_trials: usize,
    pub m: *mut f64,
    pub rng: *mut u64,
    pub steps_per_sample: usize,
    pub n_samples: usize,
    pub out: *mut f64,
}

/// Integrate as `args` (`SimulateArgs`) says.
///
/// # Safety
/// Pointers in `args` must hold the sizes above.
#[no_mangle]
pub unsafe extern "C" fn stoopt_simulate(args: *const SimulateArgs) -> i32 {
    if args.is_null() {
        return fail("simulate arguments are null".into());
    }
    let SimulateArgs { params, scheme, dt_s, temperature_k, n_trials, m, rng, steps_per_sample, n_samples, out } = *args;
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

// ---- oscillator theory and steady state (theory.rs, steady.rs) ----

/// Closed-form theory at `params`: `out` = [threshold current (A) of the
/// linear-stability formula, <m_z> and f (Hz) of the orbit-averaged energy
/// balance (NaN below threshold), a_s per ampere (Oe/A)].
///
/// # Safety
/// `params` holds N_PARAMS f64, `out` 4 f64.
#[no_mangle]
pub unsafe extern "C" fn stoopt_theory(params: *const f64, out: *mut f64) -> i32 {
    status((|| {
        let p = params_at(params)?;
        let out = slice_mut(out, 4);
        out[0] = crate::theory::threshold_current_a(&p);
        let (mz, f) = crate::theory::auto_oscillation(&p).unwrap_or((f64::NAN, f64::NAN));
        out[1] = mz;
        out[2] = f;
        out[3] = crate::theory::a_s_per_ampere(&p);
        Ok(())
    })())
}

/// Noise-free steady state from `m0` (steady.rs): RK4 for `washout_steps`,
/// then a window of `window_steps`. `out` = [f (Hz, NaN if fewer than two
/// crossings), <m_z>, crossings, peak-to-peak m_x, df/dfit[n_fit], d<m_z>/dfit[n_fit]].
///
/// # Safety
/// `params` holds N_PARAMS f64, `fit` n_fit u32, `m0` 3 f64, `out` 4 + 2 n_fit f64.
#[no_mangle]
pub unsafe extern "C" fn stoopt_steady_state(
    params: *const f64,
    fit: *const u32,
    n_fit: usize,
    dt_s: f64,
    washout_steps: usize,
    window_steps: usize,
    m0: *const f64,
    out: *mut f64,
) -> i32 {
    use crate::steady::{steady_state, SteadySetup};
    status((|| {
        let p = params_at(params)?;
        let fit: Vec<usize> = slice(fit, n_fit).iter().map(|&j| j as usize).collect();
        let m = slice(m0, 3);
        let r = steady_state(&p, &fit, [m[0], m[1], m[2]], &SteadySetup { dt_s, washout_steps, window_steps })?;
        let out = slice_mut(out, 4 + 2 * n_fit);
        out[0] = r.f_hz;
        out[1] = r.mz;
        out[2] = r.crossings as f64;
        out[3] = r.amplitude;
        out[4..4 + n_fit].copy_from_slice(&r.df);
        out[4 + n_fit..4 + 2 * n_fit].copy_from_slice(&r.dmz);
        Ok(())
    })())
}

// ---- system identification (sysid.rs) ----

/// The arguments of `stoopt_sysid_eval` and `stoopt_sysid_windows` (the
/// latter reads `y` as the measured signal y = offset + amplitude m_x and
/// also `chart`, `offset`, `amplitude`, `blocks`; the former ignores them).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SysidArgs {
    pub dt_s: f64,
    pub washout_s: f64,
    pub offset: f64,
    pub amplitude: f64,
    pub params: *const f64,
    pub fit: *const u32,
    pub n_fit: usize,
    pub mode: u32,
    pub n_trials: usize,
    pub offsets: *const u32,
    pub t_s: *const f64,
    pub y: *const f64,
    pub m0: *const f64,
    pub chart: *const f64,
    pub sel: *const u32,
    pub n_sel: usize,
    pub out: *mut f64,
    pub blocks: *mut f64,
    pub student: *mut f64,
}

/// Loss parts and gradient of eq. (4) over the selected trials (arguments in `SysidArgs`, `y` = teacher m_x).
/// `mode`: 0 loss only, 1 forward-mode duals, 2 discrete adjoint.
/// `out` receives [sum_abs, count, sum_sq, grad[n_fit], jtj[n_fit * n_fit],
/// jtr[n_fit]] (sums over compared samples; jtj and jtr = J^T r, r = student -
/// teacher m_x, only in mode 1). If `student` is not
/// null (mode 0), it receives the student's state at every teacher sample of
/// the selected trials (3 per sample, at the sample's global index).
///
/// # Safety
/// `params` holds N_PARAMS f64, `fit` n_fit u32, `offsets` n_trials + 1 u32,
/// `t_s`/`mx` offsets[n_trials] f64, `m0` 3 n_trials f64, `sel` n_sel u32,
/// `out` 3 + 2 n_fit + n_fit^2 f64, `student` 3 offsets[n_trials] f64 or null.
#[no_mangle]
pub unsafe extern "C" fn stoopt_sysid_eval(args: *const SysidArgs) -> i32 {
    if args.is_null() {
        return fail("sysid arguments are null".into());
    }
    let SysidArgs { params, fit, n_fit, mode, dt_s, washout_s, n_trials, offsets, t_s, y: mx, m0, sel, n_sel, out, student, .. } = *args;
    use crate::sysid::{Acc, Mode, Problem, Setup, Teacher};
    status((|| {
        let (params, mode, fit) = sysid_checks(params, fit, n_fit, mode, dt_s, n_trials, offsets, t_s, sel, n_sel, false)?;
        let offsets = slice(offsets, n_trials + 1);
        let total = offsets[n_trials] as usize;
        let t = slice(t_s, total);
        let sel: Vec<usize> = slice(sel, n_sel).iter().map(|&i| i as usize).collect();
        let prob = Problem {
            params,
            fit: &fit,
            teacher: Teacher { offsets, t_s: t, mx: slice(mx, total), m0: slice(m0, 3 * n_trials) },
            setup: Setup { dt_s, washout_s },
        };
        let student = if student.is_null() || mode != Mode::LossOnly { None } else { Some(slice_mut(student, 3 * total)) };
        let mut acc = Acc::new();
        prob.eval(mode, &sel, student, &mut acc);
        let out = slice_mut(out, 3 + 2 * n_fit + n_fit * n_fit);
        out[0] = acc.sum_abs;
        out[1] = acc.count;
        out[2] = acc.sum_sq;
        for a in 0..n_fit {
            out[3 + a] = acc.grad[a];
            for b in 0..n_fit {
                out[3 + n_fit + a * n_fit + b] = acc.jtj[a][b];
            }
            out[3 + n_fit + n_fit * n_fit + a] = acc.jtr[a];
        }
        Ok(())
    })())
}

/// `stoopt_sysid_eval` for a measured signal y = offset + amplitude m_x,
/// with per-trial sums (`blocks`, layout in `sysid::Block`, one block of
/// `Block::len(n_fit, chart ? 2 : 0)` f64 per trial; blocks of unselected
/// trials are left as they are) and, if `chart` is not null, each trial's
/// initial state fitted in the tangent-plane chart around `m0`
/// (`sysid::Ext`; 2 f64 per trial).
///
/// # Safety
/// As `stoopt_sysid_eval`, with `y` in place of `mx`; `chart` 2 n_trials f64
/// or null; `blocks` n_trials * block length f64.
#[no_mangle]
pub unsafe extern "C" fn stoopt_sysid_windows(args: *const SysidArgs) -> i32 {
    if args.is_null() {
        return fail("sysid arguments are null".into());
    }
    let SysidArgs { params, fit, n_fit, mode, dt_s, washout_s, n_trials, offsets, t_s, y, m0, chart, offset, amplitude, sel, n_sel, blocks, student, .. } =
        *args;
    use crate::sysid::{Acc, Block, Ext, Problem, Setup, Teacher};
    status((|| {
        let (params, mode, fit) = sysid_checks(params, fit, n_fit, mode, dt_s, n_trials, offsets, t_s, sel, n_sel, true)?;
        if !(offset.is_finite() && amplitude.is_finite() && amplitude != 0.0) {
            return Err(format!("offset {} and amplitude {} must be finite, amplitude non-zero", offset, amplitude));
        }
        let offsets = slice(offsets, n_trials + 1);
        let total = offsets[n_trials] as usize;
        let sel: Vec<usize> = slice(sel, n_sel).iter().map(|&i| i as usize).collect();
        let chart = if chart.is_null() { None } else { Some(slice(chart, 2 * n_trials)) };
        if fit.is_empty() && chart.is_none() && mode != crate::sysid::Mode::LossOnly {
            return Err("no parameter and no initial state to differentiate".into());
        }
        if let Some(c) = chart {
            if let Some(i) = (0..n_trials).find(|&i| !(c[2 * i].is_finite() && c[2 * i + 1].is_finite())) {
                return Err(format!("trial {}: chart coordinates are not finite", i));
            }
        }
        let len = Block::len(n_fit, if chart.is_some() { 2 } else { 0 });
        let prob = Problem {
            params,
            fit: &fit,
            teacher: Teacher { offsets, t_s: slice(t_s, total), mx: slice(y, total), m0: slice(m0, 3 * n_trials) },
            setup: Setup { dt_s, washout_s },
        };
        let student = if student.is_null() || mode != crate::sysid::Mode::LossOnly { None } else { Some(slice_mut(student, 3 * total)) };
        let mut ext = Ext { offset, amplitude, chart, blocks: if blocks.is_null() { None } else { Some(slice_mut(blocks, len * n_trials)) } };
        let mut acc = Acc::new();
        prob.eval_ext(mode, &sel, student, &mut acc, &mut ext);
        Ok(())
    })())
}

/// The checks shared by the sysid entry points: parameters, mode, fitted
/// indices, step, trial grids and the selection.
#[allow(clippy::too_many_arguments)]
unsafe fn sysid_checks(
    params: *const f64,
    fit: *const u32,
    n_fit: usize,
    mode: u32,
    dt_s: f64,
    n_trials: usize,
    offsets: *const u32,
    t_s: *const f64,
    sel: *const u32,
    n_sel: usize,
    allow_empty_fit: bool,
) -> Result<(Params<f64>, crate::sysid::Mode, Vec<usize>), String> {
    use crate::sysid::Mode;
    let params = params_at(params)?;
    let mode = crate::codes::sysid_mode(mode)?;
    let fit: Vec<usize> = slice(fit, n_fit).iter().map(|&j| j as usize).collect();
    if fit.is_empty() && mode != Mode::LossOnly && !allow_empty_fit {
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
        if (a + 1..b).any(|k| t[k].partial_cmp(&t[k - 1]) != Some(std::cmp::Ordering::Greater)) {
            return Err(format!("trial {}: sample times must increase", i));
        }
    }
    if let Some(&bad) = slice(sel, n_sel).iter().find(|&&i| i as usize >= n_trials) {
        return Err(format!("selected trial {} out of range", bad));
    }
    Ok((params, mode, fit))
}

// ===================================================================
// STO network (paper eq. 5-8): stoopt_net_*
// A network object owns its workspace (aligned SIMD buffers); the
// TypeScript side holds its address. Precision 0 = f32 (F32x4 lanes),
// 1 = f64 (F64x2 lanes); weight and gradient buffers are of that type.
// ===================================================================

use crate::gemm::{peak_kernel, peak_kernel_flops};
use crate::network::{Grads, ImageLanes, Model, Net, Physics, Shape, Split, Want, X0Norm};
use crate::simd::{F32x4, F64x2};

pub enum AnyNet {
    F32(Net<F32x4>),
    F64(Net<F64x2>),
}

/// Create a network for `precision` (0 f32, 1 f64) and `x0_norm` (0: m(0) =
/// v/|v| with |m| = 1 after every step, 1: m(0) = v as it is); null on error.
#[no_mangle]
pub extern "C" fn stoopt_net_new(precision: u32, n: usize, n_in: usize, n_out: usize, steps: usize, max_batch: usize, x0_norm: u32) -> *mut AnyNet {
    into_handle(X0Norm::from_code(x0_norm).and_then(|x0| {
        let shape = Shape { n, n_in, n_out, steps, max_batch, x0 };
        crate::codes::Precision::from_code(precision).and_then(|p| match p {
            crate::codes::Precision::F32 => Net::<F32x4>::new(shape).map(AnyNet::F32),
            crate::codes::Precision::F64 => Net::<F64x2>::new(shape).map(AnyNet::F64),
        })
    }))
}

/// # Safety
/// `net` must come from `stoopt_net_new` and not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn stoopt_net_free(net: *mut AnyNet) {
    drop_handle(net)
}

pub enum AnyLanes {
    F32(ImageLanes<F32x4>),
    F64(ImageLanes<F64x2>),
}

/// A batch of up to `max_batch` images of `n_in` pixels in lanes (network.rs
/// `ImageLanes`), for up to `max_rows` rows of x(0) and of the W_in gradient
/// at a time; null on error. Allocates nothing after this call.
#[no_mangle]
pub extern "C" fn stoopt_lanes_new(precision: u32, n_in: usize, max_batch: usize, max_rows: usize) -> *mut AnyLanes {
    into_handle(crate::codes::Precision::from_code(precision).and_then(|p| match p {
        crate::codes::Precision::F32 => ImageLanes::new(n_in, max_batch, max_rows).map(AnyLanes::F32),
        crate::codes::Precision::F64 => ImageLanes::new(n_in, max_batch, max_rows).map(AnyLanes::F64),
    }))
}

/// # Safety
/// `lanes` from `stoopt_lanes_new`, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn stoopt_lanes_free(lanes: *mut AnyLanes) {
    drop_handle(lanes)
}

unsafe fn n_in_of(lanes: *mut AnyLanes) -> usize {
    match lanes.as_ref() {
        Some(AnyLanes::F32(l)) => l.n_in(),
        Some(AnyLanes::F64(l)) => l.n_in(),
        None => 0,
    }
}

/// Load `batch` images (batch x n_in bytes, pixel/255).
///
/// # Safety
/// `lanes` from `stoopt_lanes_new`; `images` holds batch x n_in bytes.
#[no_mangle]
pub unsafe extern "C" fn stoopt_lanes_load(lanes: *mut AnyLanes, images: *const u8, batch: usize, n_in: usize) -> i32 {
    let im = slice(images, batch * n_in);
    status(match lanes.as_mut() {
        Some(AnyLanes::F32(l)) if l.n_in() == n_in => l.load(im, batch),
        Some(AnyLanes::F64(l)) if l.n_in() == n_in => l.load(im, batch),
        Some(_) => Err(format!("images of {} pixels, the lanes hold {}-pixel images", n_in, n_in_of(lanes))),
        None => Err("image lanes handle is null".into()),
    })
}

/// `out` = rows of x(0) = W_in u for the `rows` rows of W_in at `w` (rows x
/// n_in, the network's precision), as `NetStepArgs.x0` (rows x groups lane
/// vectors as scalars).
///
/// # Safety
/// `lanes` from `stoopt_lanes_new` with images loaded; `w` holds rows x
/// n_in and `out` rows x groups x lanes numbers.
#[no_mangle]
pub unsafe extern "C" fn stoopt_lanes_x0(lanes: *mut AnyLanes, w: *const u8, rows: usize, n_in: usize, out: *mut u8) -> i32 {
    fn go<S: crate::scalar::Lanes>(l: &mut ImageLanes<S>, w: *const u8, rows: usize, n_in: usize, out: *mut u8) -> Result<(), String>
    where
        S::Elem: crate::scalar::Scalar,
    {
        if n_in != l.n_in() {
            return Err(format!("W_in rows of {} columns, the lanes hold {}-pixel images", n_in, l.n_in()));
        }
        let k = rows * l.groups() * S::N;
        // SAFETY: sizes as documented at stoopt_lanes_x0
        let (w, out) = unsafe { (slice(w as *const S::Elem, rows * n_in), slice_mut(out as *mut S::Elem, k)) };
        l.x0_rows(w, rows, out)
    }
    status(match lanes.as_mut() {
        Some(AnyLanes::F32(l)) => go(l, w, rows, n_in, out),
        Some(AnyLanes::F64(l)) => go(l, w, rows, n_in, out),
        None => Err("image lanes handle is null".into()),
    })
}

/// Rows of the W_in gradient: out[r ldo + p] = sum over the images of lam_r
/// u_p for the `rows` rows of dL/dx(0) at `lam` (as `NetStepArgs.lamv`).
///
/// # Safety
/// `lanes` from `stoopt_lanes_new` with images loaded; `lam` holds rows x
/// groups x lanes numbers and `out` (rows - 1) ldo + n_in.
#[no_mangle]
pub unsafe extern "C" fn stoopt_lanes_outer(lanes: *mut AnyLanes, lam: *const u8, rows: usize, n_in: usize, out: *mut u8, ldo: usize) -> i32 {
    fn go<S: crate::scalar::Lanes>(l: &mut ImageLanes<S>, lam: *const u8, rows: usize, n_in: usize, out: *mut u8, ldo: usize) -> Result<(), String>
    where
        S::Elem: crate::scalar::Scalar,
    {
        if n_in != l.n_in() || ldo < n_in {
            return Err(format!("W_in gradient rows of {} columns (stride {}), the lanes hold {}-pixel images", n_in, ldo, l.n_in()));
        }
        let k = rows * l.groups() * S::N;
        let m = if rows == 0 { 0 } else { (rows - 1) * ldo + n_in };
        // SAFETY: sizes as documented at stoopt_lanes_outer
        let (lam, out) = unsafe { (slice(lam as *const S::Elem, k), slice_mut(out as *mut S::Elem, m)) };
        l.outer_rows(lam, rows, out, ldo)
    }
    status(match lanes.as_mut() {
        Some(AnyLanes::F32(l)) => go(l, lam, rows, n_in, out, ldo),
        Some(AnyLanes::F64(l)) => go(l, lam, rows, n_in, out, ldo),
        None => Err("image lanes handle is null".into()),
    })
}

unsafe fn net_step_typed<S: crate::scalar::Lanes>(net: &mut Net<S>, phys: &Physics, a: &NetStepArgs) -> Result<(), String>
where
    S::Elem: crate::scalar::Scalar + Into<f64>,
{
    let sh = net.shape();
    let batch = a.batch;
    if batch == 0 || batch > sh.max_batch {
        return Err(format!("batch {} outside 1..={}", batch, sh.max_batch));
    }
    let (n, f1) = (sh.n, sh.f1());
    let e = |p: *const u8, k: usize| slice(p as *const S::Elem, k);
    let model = Model { w_cp: e(a.w_cp, n * n), w_in: e(a.w_in, sh.f() * sh.n_in), w_out: e(a.w_out, sh.n_out * f1), h_appl: e(a.h_appl, n) };
    let em = |p: *mut u8, k: usize| slice_mut(p as *mut S::Elem, k);
    let mut grads = Grads { w_in: em(a.g_w_in, sh.f() * sh.n_in), w_out: em(a.g_w_out, sh.n_out * f1), h_appl: em(a.g_h_appl, n), j_dc: 0.0, alpha: 0.0 };
    // x(0) and dL/dx(0): 3N x ceil(batch / lanes) lane vectors, as scalars
    let lanes = sh.f() * ((batch + S::N - 1) / S::N) * S::N;
    let split = Split { x0: (!a.x0.is_null()).then(|| e(a.x0, lanes)), lamv: (!a.lamv.is_null()).then(|| em(a.lamv, lanes)) };
    let images = if a.images.is_null() { &[][..] } else { slice(a.images, batch * sh.n_in) };
    let st = net.step_split(phys, &model, images, slice(a.labels, batch), batch, a.grad_scale, Want::from_bits(a.want), &mut grads, split)?;
    let gp = slice_mut(a.g_phys, 2);
    gp[0] = grads.j_dc;
    gp[1] = grads.alpha;
    let so = slice_mut(a.stats, 2);
    so[0] = st.loss_sum;
    so[1] = st.correct as f64;
    Ok(())
}

/// The arguments of `stoopt_net_step`: one forward pass (and backward, as
/// `want` asks: bit 0 W_in, bit 1 W_out, bit 2 H_appl/j_DC/alpha) over
/// `batch` images. `params` holds N_PARAMS f64 (Table I order; its H_appl
/// is ignored), weights are row-major in the network's precision: w_cp N x N,
/// w_in 3N x n_in, w_out n_out x (3N+1), h_appl N. images: batch x n_in
/// bytes (pixel/255), labels: batch bytes. Gradients (of grad_scale x summed
/// loss) are overwritten: g_w_in, g_w_out, g_h_appl in the network's
/// precision, g_phys = [d/dj_DC, d/dalpha] f64. stats = [summed loss, correct] f64.
/// x0 and lamv (null: not used; network.rs `Split`): x(0) given instead of
/// W_in u (W_in and, unless the step forms the W_in gradient, the images are
/// not read), and dL/dx(0) returned instead of the W_in gradient (g_w_in is
/// then left as it is); each 3N x ceil(batch / L) vectors of L lanes (L = 4
/// for f32, 2 for f64), as scalars, lane l of group j of row r at (r
/// ceil(batch / L) + j) L + l.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct NetStepArgs {
    pub dt_s: f64,
    pub cm_oe: f64,
    pub grad_scale: f64,
    pub params: *const f64,
    pub w_cp: *const u8,
    pub w_in: *const u8,
    pub w_out: *const u8,
    pub h_appl: *const u8,
    pub images: *const u8,
    pub labels: *const u8,
    pub batch: usize,
    pub want: u32,
    pub g_w_in: *mut u8,
    pub g_w_out: *mut u8,
    pub g_h_appl: *mut u8,
    pub g_phys: *mut f64,
    pub stats: *mut f64,
    pub x0: *const u8,
    pub lamv: *mut u8,
}

/// One step of the network `net` with the arguments `args` (`NetStepArgs`).
///
/// # Safety
/// `net` from `stoopt_net_new`; every pointer in `args` holds the sizes above.
#[no_mangle]
pub unsafe extern "C" fn stoopt_net_step(net: *mut AnyNet, args: *const NetStepArgs) -> i32 {
    if net.is_null() || args.is_null() {
        return fail("network handle or arguments are null".into());
    }
    let a = *args;
    status((|| {
        let phys = Physics { params: params_at(a.params)?, dt_s: a.dt_s, cm_oe: a.cm_oe };
        match &mut *net {
            AnyNet::F32(nn) => net_step_typed(nn, &phys, &a),
            AnyNet::F64(nn) => net_step_typed(nn, &phys, &a),
        }
    })())
}

/// The states of image `image` of the last `stoopt_net_step`, at every RK4
/// step: `out` receives (steps + 1) x 3N f64, [step][c N + i].
///
/// # Safety
/// `net` from `stoopt_net_new`; `out` holds (steps + 1) * 3N f64.
#[no_mangle]
pub unsafe extern "C" fn stoopt_net_trajectory(net: *mut AnyNet, image: usize, out: *mut f64) -> i32 {
    if net.is_null() {
        return fail("network handle is null".into());
    }
    status(match &*net {
        AnyNet::F32(nn) => {
            let sh = nn.shape();
            nn.trajectory(image, slice_mut(out, (sh.steps + 1) * sh.f()))
        }
        AnyNet::F64(nn) => {
            let sh = nn.shape();
            nn.trajectory(image, slice_mut(out, (sh.steps + 1) * sh.f()))
        }
    })
}

/// Fill `out` with `n` numbers from generator (seed, stream): kind 0 uniform
/// in [lo, hi), kind 1 normal with mean lo and standard deviation hi.
///
/// # Safety
/// `out` must hold `n` f64.
#[no_mangle]
pub unsafe extern "C" fn stoopt_rng_fill(seed: u64, stream: u64, kind: u32, lo: f64, hi: f64, n: usize, out: *mut f64) -> i32 {
    let out = slice_mut(out, n);
    let mut r = Rng::new(seed, stream);
    match crate::codes::RngKind::from_code(kind) {
        Ok(k) => draw(&mut r, k, lo, hi, out),
        Err(m) => return fail(m),
    }
    0
}

fn draw(r: &mut Rng, kind: crate::codes::RngKind, a: f64, b: f64, out: &mut [f64]) {
    match kind {
        crate::codes::RngKind::Uniform => out.iter_mut().for_each(|v| *v = a + (b - a) * r.uniform()),
        crate::codes::RngKind::Normal => out.iter_mut().for_each(|v| *v = a + b * r.normal()),
    }
}

/// A generator (seed, stream) owned by the caller; free with `stoopt_rng_free`.
#[no_mangle]
pub extern "C" fn stoopt_rng_new(seed: u64, stream: u64) -> *mut Rng {
    into_handle(Ok(Rng::new(seed, stream)))
}

/// # Safety
/// `rng` from `stoopt_rng_new`, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn stoopt_rng_free(rng: *mut Rng) {
    drop_handle(rng)
}

/// The next `n` numbers of `rng` into `out`: kind as `stoopt_rng_fill`.
///
/// # Safety
/// `rng` from `stoopt_rng_new`; `out` holds `n` f64.
#[no_mangle]
pub unsafe extern "C" fn stoopt_rng_draw(rng: *mut Rng, kind: u32, a: f64, b: f64, n: usize, out: *mut f64) -> i32 {
    if rng.is_null() {
        return fail("rng handle is null".into());
    }
    match crate::codes::RngKind::from_code(kind) {
        Ok(k) => draw(&mut *rng, k, a, b, slice_mut(out, n)),
        Err(m) => return fail(m),
    }
    0
}

/// The SIMD peak kernel (gemm.rs) for `precision`; writes [flops, checksum].
///
/// # Safety
/// `out` must hold 2 f64.
#[no_mangle]
pub unsafe extern "C" fn stoopt_peak_flops(precision: u32, iters: usize, out: *mut f64) -> i32 {
    let out = slice_mut(out, 2);
    match crate::codes::Precision::from_code(precision) {
        Ok(crate::codes::Precision::F32) => {
            out[1] = peak_kernel::<F32x4>(iters, 0.999_999) as f64;
            out[0] = peak_kernel_flops::<F32x4>(iters);
        }
        Ok(crate::codes::Precision::F64) => {
            out[1] = peak_kernel::<F64x2>(iters, 0.999_999);
            out[0] = peak_kernel_flops::<F64x2>(iters);
        }
        Err(m) => return fail(m),
    }
    0
}

// ---- the optimizer (adam.rs): stoopt_adam_* ----

pub enum AnyAdam {
    F32(crate::adam::Adam<f32>),
    F64(crate::adam::Adam<f64>),
}

/// An Adam optimizer of `n` parameters of `precision` with `slots` gradient
/// slots (one per worker; the step sums them) and the paper's beta1, beta2,
/// eps; null on error.
#[no_mangle]
pub extern "C" fn stoopt_adam_new(precision: u32, n: usize, slots: usize) -> *mut AnyAdam {
    use crate::adam::{Adam, PAPER};
    into_handle(crate::codes::Precision::from_code(precision).map(|p| match p {
        crate::codes::Precision::F32 => AnyAdam::F32(Adam::new(n, slots, PAPER)),
        crate::codes::Precision::F64 => AnyAdam::F64(Adam::new(n, slots, PAPER)),
    }))
}

/// # Safety
/// `adam` from `stoopt_adam_new`, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn stoopt_adam_free(adam: *mut AnyAdam) {
    drop_handle(adam)
}

/// Address of a buffer of the optimizer: which 0 theta, 1 m, 2 v, 3 + k
/// gradient slot k (in the optimizer's precision, `n` numbers); null if none.
///
/// # Safety
/// `adam` from `stoopt_adam_new`.
#[no_mangle]
pub unsafe extern "C" fn stoopt_adam_buffer(adam: *mut AnyAdam, which: usize) -> *mut u8 {
    fn pick<E>(a: &mut crate::adam::Adam<E>, which: usize) -> *mut u8 {
        let v = match which {
            0 => &mut a.theta,
            1 => &mut a.m,
            2 => &mut a.v,
            k => match a.slots.get_mut(k - 3) {
                Some(s) => s,
                None => return std::ptr::null_mut(),
            },
        };
        v.as_mut_ptr() as *mut u8
    }
    match adam.as_mut() {
        Some(AnyAdam::F32(a)) => pick(a, which),
        Some(AnyAdam::F64(a)) => pick(a, which),
        None => std::ptr::null_mut(),
    }
}

/// Set the group list: `n_groups` groups, each 5 f64 [start, end, lr, lo, hi]
/// (lo/hi +-infinity for no range).
///
/// # Safety
/// `adam` from `stoopt_adam_new`; `groups` holds 5 n_groups f64.
#[no_mangle]
pub unsafe extern "C" fn stoopt_adam_groups(adam: *mut AnyAdam, groups: *const f64, n_groups: usize) -> i32 {
    let g = slice(groups, 5 * n_groups);
    let mut list = Vec::with_capacity(n_groups);
    for k in 0..n_groups {
        let r = &g[5 * k..5 * k + 5];
        if !(r[0] >= 0.0 && r[1] >= r[0] && r[2].is_finite() && r[3] <= r[4]) {
            return fail(format!("bad Adam group {}: [{}, {}) lr {} range [{}, {}]", k, r[0], r[1], r[2], r[3], r[4]));
        }
        list.push(crate::adam::Group { start: r[0] as usize, end: r[1] as usize, lr: r[2], lo: r[3], hi: r[4] });
    }
    match adam.as_mut() {
        Some(AnyAdam::F32(a)) => a.groups = list,
        Some(AnyAdam::F64(a)) => a.groups = list,
        None => return fail("Adam handle is null".into()),
    }
    0
}

/// Steps taken so far (read with `set` < 0, else set to `set` first).
///
/// # Safety
/// `adam` from `stoopt_adam_new`.
#[no_mangle]
pub unsafe extern "C" fn stoopt_adam_t(adam: *mut AnyAdam, set: f64) -> f64 {
    let t = match adam.as_mut() {
        Some(AnyAdam::F32(a)) => &mut a.t,
        Some(AnyAdam::F64(a)) => &mut a.t,
        None => return f64::NAN,
    };
    if set >= 0.0 {
        *t = set;
    }
    *t
}

/// One Adam step over every group; the gradient is the sum of the first
/// `used` slots (at least one).
///
/// # Safety
/// `adam` from `stoopt_adam_new`.
#[no_mangle]
pub unsafe extern "C" fn stoopt_adam_step(adam: *mut AnyAdam, used: usize) -> i32 {
    match adam.as_mut() {
        Some(AnyAdam::F32(a)) => a.step(used),
        Some(AnyAdam::F64(a)) => a.step(used),
        None => return fail("Adam handle is null".into()),
    }
    0
}

/// Floating-point operations per image of one `stoopt_net_step` with `want`
/// (network.rs `flops_per_image`), written to `out`.
///
/// # Safety
/// `out` must hold 1 f64.
#[no_mangle]
pub unsafe extern "C" fn stoopt_net_flops(n: usize, n_in: usize, n_out: usize, steps: usize, want: u32, x0_norm: u32, out: *mut f64) -> i32 {
    let x0 = match X0Norm::from_code(x0_norm) {
        Ok(x) => x,
        Err(m) => return fail(m),
    };
    let sh = Shape { n, n_in, n_out, steps, max_batch: 1, x0 };
    if let Err(m) = sh.check() {
        return fail(m);
    }
    slice_mut(out, 1)[0] = crate::network::flops_per_image(&sh, Want::from_bits(want));
    0
}

// ===================================================================
// STO reservoir (reservoir.rs): stoopt_res_*, stoopt_ridge_*, stoopt_esn_run
// All numbers f64. The packed parameter vector theta is
// [H_appl (N) Oe, j_DC A, alpha, s_f Oe, s_c A, W_in (K x N)].
// ===================================================================

use crate::reservoir::{Feat, ResPhysics, ResShape, Reservoir};

/// Create a reservoir of N STOs, K virtual nodes of `sub` RK4 steps per
/// hold, `holds` holds, a checkpoint every `every` holds, features `feat`
/// (0 all 3N components, 1 m_x only, 2 m_z only), coupling `w_cp` (N x N f64, scaled);
/// null on error.
///
/// # Safety
/// `w_cp` holds N * N f64.
#[no_mangle]
pub unsafe extern "C" fn stoopt_res_new(n: usize, k: usize, sub: usize, holds: usize, every: usize, feat: u32, w_cp: *const f64) -> *mut Reservoir {
    into_handle(Feat::from_code(feat).and_then(|feat| {
        let sh = ResShape { n, k, sub, holds, every, feat };
        sh.check()?;
        Reservoir::new(sh, slice(w_cp, n * n))
    }))
}

/// # Safety
/// `res` must come from `stoopt_res_new` and not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn stoopt_res_free(res: *mut Reservoir) {
    drop_handle(res)
}

/// f64 numbers of state the reservoir keeps (checkpoints + one recorded segment).
///
/// # Safety
/// `res` from `stoopt_res_new`.
#[no_mangle]
pub unsafe extern "C" fn stoopt_res_state_words(res: *const Reservoir) -> f64 {
    if res.is_null() {
        return 0.0;
    }
    (*res).shape().state_words() as f64
}

/// Forward pass: features (T x F f64) from the input u (T f64) and the
/// initial state m0 (3N f64, component-major). `params`: N_PARAMS f64.
///
/// # Safety
/// `res` from `stoopt_res_new`; buffers of the sizes above and theta of n_theta.
#[no_mangle]
pub unsafe extern "C" fn stoopt_res_forward(
    res: *mut Reservoir,
    params: *const f64,
    dt_s: f64,
    cm_oe: f64,
    theta: *const f64,
    u: *const f64,
    m0: *const f64,
    feats: *mut f64,
) -> i32 {
    if res.is_null() {
        return fail("reservoir handle is null".into());
    }
    status((|| {
        let r = &mut *res;
        let sh = r.shape();
        let phys = ResPhysics { params: params_at(params)?, dt_s, cm_oe };
        r.forward(&phys, slice(theta, sh.n_theta()), slice(u, sh.holds), slice(m0, 3 * sh.n), slice_mut(feats, sh.holds * sh.f()))
    })())
}

/// Backward pass after `stoopt_res_forward` with the same arguments: grad
/// (n_theta f64) = d(sum G .* features)/d theta for G = g_feat (T x F f64).
///
/// # Safety
/// As `stoopt_res_forward`.
#[no_mangle]
pub unsafe extern "C" fn stoopt_res_backward(
    res: *mut Reservoir,
    params: *const f64,
    dt_s: f64,
    cm_oe: f64,
    theta: *const f64,
    u: *const f64,
    g_feat: *const f64,
    grad: *mut f64,
) -> i32 {
    if res.is_null() {
        return fail("reservoir handle is null".into());
    }
    status((|| {
        let r = &mut *res;
        let sh = r.shape();
        let phys = ResPhysics { params: params_at(params)?, dt_s, cm_oe };
        r.backward(&phys, slice(theta, sh.n_theta()), slice(u, sh.holds), slice(g_feat, sh.holds * sh.f()), slice_mut(grad, sh.n_theta()))
    })())
}

/// Floating-point operations of one forward RK4 step of N coupled STOs.
#[no_mangle]
pub extern "C" fn stoopt_res_flops_per_step(n: usize) -> f64 {
    crate::reservoir::flops_per_step(n)
}

/// Gram matrix with a bias column over rows t0..t1 of X (T x F):
/// gram (F+1)^2, xty (F+1) x n_out, from Y (T x n_out).
///
/// # Safety
/// x holds t1 * f, y t1 * n_out, gram (f+1)^2 and xty (f+1) * n_out f64.
#[no_mangle]
pub unsafe extern "C" fn stoopt_ridge_gram(x: *const f64, f: usize, t0: usize, t1: usize, y: *const f64, n_out: usize, gram: *mut f64, xty: *mut f64) -> i32 {
    if t1 <= t0 || f == 0 || n_out == 0 {
        return fail("empty ridge problem".into());
    }
    let f1 = f + 1;
    crate::reservoir::gram(slice(x, t1 * f), f, t0, t1, slice(y, t1 * n_out), n_out, slice_mut(gram, f1 * f1), slice_mut(xty, f1 * n_out));
    0
}

/// W ((F+1) x n_out) solving (gram + lambda I') W = xty (bias not penalized).
///
/// # Safety
/// gram (f+1)^2, xty and w (f+1) * n_out f64.
#[no_mangle]
pub unsafe extern "C" fn stoopt_ridge_solve(gram: *const f64, xty: *const f64, f: usize, n_out: usize, lambda: f64, w: *mut f64) -> i32 {
    let f1 = f + 1;
    status(crate::reservoir::ridge_solve(slice(gram, f1 * f1), slice(xty, f1 * n_out), f1, n_out, lambda, slice_mut(w, f1 * n_out)))
}

/// yhat ((t1 - t0) x n_out) = [X 1] W over rows t0..t1.
///
/// # Safety
/// x holds t1 * f, w (f+1) * n_out, yhat (t1 - t0) * n_out f64.
#[no_mangle]
pub unsafe extern "C" fn stoopt_ridge_predict(x: *const f64, f: usize, t0: usize, t1: usize, w: *const f64, n_out: usize, yhat: *mut f64) -> i32 {
    if t1 < t0 {
        return fail("bad row range".into());
    }
    crate::reservoir::predict(slice(x, t1 * f), f, t0, t1, slice(w, (f + 1) * n_out), n_out, slice_mut(yhat, (t1 - t0) * n_out));
    0
}

/// The arguments of `stoopt_readout_loss`: features x (t_total x f), targets
/// y (t_total x n_out), weights w ((f+1) x n_out), rows t0..t1, ridge
/// `lambda`; the gradient G (t_total x f, zero outside the rows) goes to `g`,
/// the loss to out[0].
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ReadoutArgs {
    pub lambda: f64,
    pub x: *const f64,
    pub f: usize,
    pub t_total: usize,
    pub t0: usize,
    pub t1: usize,
    pub y: *const f64,
    pub n_out: usize,
    pub w: *const f64,
    pub g: *mut f64,
    pub out: *mut f64,
}

/// The readout objective (reservoir.rs `readout_loss`) and its gradient, as `args` (`ReadoutArgs`) says.
///
/// # Safety
/// x and g hold t_total * f, y t_total * n_out, w (f+1) * n_out f64, out 1.
#[no_mangle]
pub unsafe extern "C" fn stoopt_readout_loss(args: *const ReadoutArgs) -> i32 {
    if args.is_null() {
        return fail("readout arguments are null".into());
    }
    let ReadoutArgs { x, f, t_total, t0, t1, y, n_out, w, lambda, g, out } = *args;
    if !(t0 < t1 && t1 <= t_total) {
        return fail("bad row range".into());
    }
    let l = crate::reservoir::readout_loss(
        slice(x, t_total * f),
        f,
        t0,
        t1,
        slice(y, t_total * n_out),
        n_out,
        slice(w, (f + 1) * n_out),
        lambda,
        slice_mut(g, t_total * f),
    );
    slice_mut(out, 1)[0] = l;
    0
}

/// Echo state network states X (T x N) for input u (T): x_t = tanh(rho W
/// x_{t-1} + sigma w_in u_t + b).
///
/// # Safety
/// w N*N, w_in and bias N, u T, x T*N f64.
#[no_mangle]
pub unsafe extern "C" fn stoopt_esn_run(
    n: usize,
    w: *const f64,
    w_in: *const f64,
    bias: *const f64,
    rho: f64,
    sigma: f64,
    t: usize,
    u: *const f64,
    x: *mut f64,
) -> i32 {
    crate::reservoir::esn_run(n, slice(w, n * n), slice(w_in, n), slice(bias, n), rho, sigma, slice(u, t), slice_mut(x, t * n));
    0
}

// ---- linewidth (linewidth.rs) ----

/// Weak-noise linewidth of the noise-free cycle at `temperature_k` by phase
/// diffusion through its phase response curve (linewidth.rs), from the section
/// point with m_z = `z_start` (e.g. the theory's cone), `steps_per_period` RK4
/// steps per period. `out` = [f (Hz), FWHM (Hz), D (rad^2/s), Floquet
/// multiplier, relaxation rate (1/s), D / rate, <m_z>, return maps used, PRC
/// closure, dFWHM/dfit[n_fit], df/dfit[n_fit]] (central differences).
///
/// # Safety
/// `params` holds N_PARAMS f64, `fit` n_fit u32, `out` LINEWIDTH_OUT_FIXED + 2 n_fit f64.
#[no_mangle]
pub unsafe extern "C" fn stoopt_linewidth(
    params: *const f64,
    temperature_k: f64,
    fit: *const u32,
    n_fit: usize,
    z_start: f64,
    steps_per_period: usize,
    out: *mut f64,
) -> i32 {
    use crate::linewidth::{linewidth, LinewidthSetup, LINEWIDTH_OUT_FIXED as K};
    status((|| {
        let p = params_at(params)?;
        let fit: Vec<usize> = slice(fit, n_fit).iter().map(|&j| j as usize).collect();
        let r = linewidth(&p, temperature_k, &fit, z_start, &LinewidthSetup { steps_per_period, ..LinewidthSetup::default() })?;
        let out = slice_mut(out, K + 2 * n_fit);
        out[..K].copy_from_slice(&[
            r.f_hz,
            r.linewidth_hz,
            r.diffusion,
            r.multiplier,
            r.relaxation_rate,
            r.weak_noise_ratio,
            r.mz,
            r.periods as f64,
            r.prc_closure,
        ]);
        out[K..K + n_fit].copy_from_slice(&r.dlw);
        out[K + n_fit..K + 2 * n_fit].copy_from_slice(&r.df);
        Ok(())
    })())
}
