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
    let params = Params::from_array(slice(p, N_PARAMS));
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
