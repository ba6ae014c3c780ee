//! The steady-state frequency and <m_z> of one noise-free auto-oscillation,
//! with their exact derivatives with respect to chosen parameters: the model
//! behind `stoopt sysid --spectrum`.
//!
//! Method: forward-mode dual numbers through the whole measurement. RK4
//! integrates `washout_steps` steps and then `window_steps` steps with
//! `Dual<f64, N>` parameters; in the window, every upward crossing of m_x
//! through a level c (the midpoint of m_x's range over the last
//! `LEVEL_STEPS` steps of the washout) is located by linear
//! interpolation inside its step, t_k = (k - 1 + (c - x_{k-1}) / (x_k - x_{k-1})) dt,
//! in dual arithmetic (c's own tangent from the samples that set it); f = (crossings - 1) / (t_last - t_first) and
//! <m_z> is the mean over the window. Which step a crossing falls in is
//! decided on real parts only, so the tangents are the exact derivatives of
//! the discretized measurement (what central differences converge to).
//!
//! Why duals and not the limit cycle's sensitivity (the periodic-orbit
//! boundary-value problem with its phase condition): the fits vary few
//! parameters (2-4 tangents cost 2-4 times a plain run), the washout and
//! window are integrated anyway, a stable limit cycle keeps the tangents
//! bounded (transverse parts decay, the phase part grows only linearly), and
//! the result is the derivative of the very number that is reported and
//! compared, window length, level and interpolation included.

use crate::dual::Dual;
use crate::params::{Params, N_PARAMS};
use crate::scalar::Scalar;
use crate::simulate::{step, Scheme};
use crate::vec3::V3;

pub struct SteadySetup {
    pub dt_s: f64,
    pub washout_steps: usize,
    pub window_steps: usize,
}

/// Frequency [Hz] and <m_z>, each with its derivatives by the `fit` parameters.
#[derive(Clone, Debug)]
pub struct Steady {
    pub f_hz: f64,
    pub mz: f64,
    pub df: Vec<f64>,
    pub dmz: Vec<f64>,
    /// upward crossings counted in the window
    pub crossings: usize,
    /// peak-to-peak m_x over the window
    pub amplitude: f64,
}

/// The last steps of the washout over which the crossing level is taken.
pub const LEVEL_STEPS: usize = 2000;

fn run<const N: usize>(p: &Params<f64>, fit: &[usize], m0: [f64; 3], s: &SteadySetup) -> Result<Steady, String> {
    let mut arr = p.to_array().map(Dual::<f64, N>::constant);
    for (a, &j) in fit.iter().enumerate() {
        arr[j] = Dual::variable(p.to_array()[j], a);
    }
    let d = Params::from_array(arr).derive();
    let dt = Dual::<f64, N>::cst(s.dt_s);
    let mut m = V3::new(Dual::cst(m0[0]), Dual::cst(m0[1]), Dual::cst(m0[2])).normalized();
    let level_from = s.washout_steps.saturating_sub(LEVEL_STEPS);
    // the level: the midpoint of the largest and smallest sample (chosen on
    // real parts; their tangents carried, so c is differentiated too)
    let (mut lo, mut hi) = (m.x, m.x);
    for k in 0..s.washout_steps {
        m = step(Scheme::Rk4, m, &d, V3::zero(), dt);
        if k == level_from {
            lo = m.x;
            hi = m.x;
        } else if k > level_from {
            if m.x.re < lo.re {
                lo = m.x;
            }
            if m.x.re > hi.re {
                hi = m.x;
            }
        }
    }
    let c = (lo + hi) * Dual::cst(0.5);
    let mut sum_mz = Dual::<f64, N>::cst(0.0);
    let mut first: Option<Dual<f64, N>> = None;
    let mut last = Dual::<f64, N>::cst(0.0);
    let mut crossings = 0usize;
    let (mut wlo, mut whi) = (f64::INFINITY, f64::NEG_INFINITY);
    for k in 1..=s.window_steps {
        let prev = m;
        m = step(Scheme::Rk4, m, &d, V3::zero(), dt);
        sum_mz = sum_mz + m.z;
        wlo = wlo.min(m.x.re);
        whi = whi.max(m.x.re);
        if prev.x.re < c.re && m.x.re >= c.re {
            let frac = (c - prev.x) / (m.x - prev.x);
            let t = (Dual::cst((k - 1) as f64) + frac) * dt;
            if first.is_none() {
                first = Some(t);
            }
            last = t;
            crossings += 1;
        }
    }
    if !(m.x.re.is_finite() && m.y.re.is_finite() && m.z.re.is_finite()) {
        return Err("integration diverged (non-finite magnetization); reduce the time step".into());
    }
    let mz = sum_mz / Dual::cst(s.window_steps.max(1) as f64);
    let amplitude = whi - wlo;
    let first = match first {
        Some(t) if crossings >= 2 => t,
        _ => {
            return Ok(Steady { f_hz: f64::NAN, mz: mz.re, df: vec![f64::NAN; fit.len()], dmz: mz.eps[..fit.len()].to_vec(), crossings, amplitude });
        }
    };
    let f = Dual::cst((crossings - 1) as f64) / (last - first);
    Ok(Steady { f_hz: f.re, mz: mz.re, df: f.eps[..fit.len()].to_vec(), dmz: mz.eps[..fit.len()].to_vec(), crossings, amplitude })
}

/// The measurement with derivatives by `fit` (indices into `PARAM_NAMES`,
/// at most `N_PARAMS`, no repeats). `f_hz` is NaN when the window holds fewer
/// than two crossings (no auto-oscillation, or a window shorter than a period).
pub fn steady_state(p: &Params<f64>, fit: &[usize], m0: [f64; 3], s: &SteadySetup) -> Result<Steady, String> {
    for (a, &j) in fit.iter().enumerate() {
        if j >= N_PARAMS || fit[..a].contains(&j) {
            return Err(format!("bad or repeated parameter index {}", j));
        }
    }
    if !(s.dt_s > 0.0 && s.dt_s.is_finite()) {
        return Err(format!("time step must be positive (got {} s)", s.dt_s));
    }
    if s.window_steps < 2 {
        return Err("the measurement window needs at least two steps".into());
    }
    match fit.len() {
        0 => run::<0>(p, fit, m0, s),
        1 => run::<1>(p, fit, m0, s),
        2 => run::<2>(p, fit, m0, s),
        3 => run::<3>(p, fit, m0, s),
        4 => run::<4>(p, fit, m0, s),
        _ => run::<N_PARAMS>(p, fit, m0, s),
    }
}
