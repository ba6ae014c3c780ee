//! Closed-form results for the auto-oscillation of the macrospin STO
//! (perpendicular free layer, in-plane polarizer p = e_x): the threshold
//! current of the linear-stability analysis about +z and the orbit-averaged
//! energy balance of the steady precession cone. Used by the physics tests
//! and, through the ABI, printed beside simulated sweeps by `stoopt spectrum`.

use crate::params::{Params, E_CHARGE_C, HBAR_ERG_S, PI};

/// Spin-torque field per ampere, a_s / j = hbar eta / (2 e M V) [Oe/A].
pub fn a_s_per_ampere(p: &Params<f64>) -> f64 {
    HBAR_ERG_S * p.eta / (2.0 * E_CHARGE_C * p.m_s * p.volume_cm3())
}

/// Threshold current [A] from the linear stability of +z. Near +z the spin
/// torque with H_s = a_s / (1 + lambda m_x) acts on the transverse motion as
/// an anti-damping gamma a_s lambda m_x along x, i.e. gamma a_s lambda / 2
/// averaged over the precession, against the Gilbert relaxation rate
/// alpha gamma (H_appl + H_K - 4 pi M). They balance at
///   a_s,th = 2 alpha (H_appl + H_K - 4 pi M) / lambda,
/// the small-cone limit of the energy balance below. NaN where +z is not a
/// precession centre (H_appl + H_K - 4 pi M <= 0) or lambda * j has no
/// anti-damping sign (lambda <= 0).
#[allow(clippy::neg_cmp_op_on_partial_ord)] // !(x > 0) is meant to be true for NaN too
pub fn threshold_current_a(p: &Params<f64>) -> f64 {
    let h0 = p.h_appl_oe + p.h_k_oe - 4.0 * PI * p.m_s;
    if !(h0 > 0.0) || !(p.lambda > 0.0) {
        return f64::NAN;
    }
    2.0 * p.alpha * h0 / p.lambda / a_s_per_ampere(p)
}

/// The orbit-averaged energy balance for a precession cone of constant m_z:
/// damping lifts m_z at alpha gamma H(m_z) sin^2(theta) / (1 + alpha^2), the
/// spin torque (p = e_x, H_s = a / (1 + lambda m_x)) lowers it at
/// gamma a m_z / lambda * (1 / sqrt(1 - lambda^2 sin^2 theta) - 1) / (1 + alpha^2).
/// Their balance gives the steady m_z; the frequency is
/// gamma H(m_z) / (2 pi (1 + alpha^2)) with H(m_z) = H_appl + (H_K - 4 pi M) m_z.
/// Returns (m_z, f [Hz]), or None below threshold (no cone with 0 < m_z < 1
/// where the balance changes sign).
#[allow(clippy::neg_cmp_op_on_partial_ord)] // !(x > 0) is meant to be true for NaN too
pub fn auto_oscillation(p: &Params<f64>) -> Option<(f64, f64)> {
    let d = p.derive();
    if !(p.lambda > 0.0) {
        return None;
    }
    let g = |mz: f64| {
        let s2 = 1.0 - mz * mz;
        let h = p.h_appl_oe + d.h_anis_oe * mz;
        p.alpha * h * s2 - d.a_s_oe * mz / p.lambda * (1.0 / (1.0 - p.lambda * p.lambda * s2).sqrt() - 1.0)
    };
    // g < 0 near m_z = 1 (spin torque wins: +z unstable), g > 0 near m_z = 0.
    let (mut lo, mut hi) = (1e-6, 1.0 - 1e-9);
    if !(g(lo) > 0.0 && g(hi) < 0.0) {
        return None;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if g(mid) > 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let mz = 0.5 * (lo + hi);
    let f = p.gamma * (p.h_appl_oe + d.h_anis_oe * mz) / (2.0 * PI * (1.0 + p.alpha * p.alpha));
    Some((mz, f))
}
