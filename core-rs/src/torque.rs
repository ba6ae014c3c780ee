//! The LLG right-hand side with spin-transfer torque (paper eq. 1-2).
//!
//! Eq. (1), dm/dt = T(m) + alpha m x dm/dt with
//!   T = -gamma m x H - gamma H_s m x (p x m),
//!   H = (H_appl + (H_K - 4 pi M) m_z) e_z + h_ext,
//!   H_s = hbar eta j / (2 e (1 + lambda m.p) M pi R^2 d),  p = e_x,
//! is solved for dm/dt using |m| = 1 (m x (m x dm/dt) = -dm/dt):
//!   dm/dt = (T + alpha m x T) / (1 + alpha^2).
//! `h_ext` carries the thermal field (eq. 3) and the coupling field (eq. 8).

use crate::dual::Dual;
use crate::params::Derived;
use crate::rk4::Rhs;
use crate::scalar::{Lanes, Scalar};
use crate::vec3::V3;

/// dm/dt [1/s] at magnetization `m` for the derived parameters `d` and an
/// extra field `h_ext` [Oe].
#[inline(always)]
pub fn llg_rhs<S: Scalar>(m: V3<S>, d: &Derived<S>, h_ext: V3<S>) -> V3<S> {
    let h = V3::new(h_ext.x, h_ext.y, d.h_appl_oe + d.h_anis_oe * m.z + h_ext.z);
    // Slonczewski field with the asymmetry denominator, p = e_x.
    let h_s = d.a_s_oe / (S::one() + d.lambda * m.x);
    // m x (p x m) with p = e_x, written out: (my^2 + mz^2, -mx my, -mx mz).
    let m_pm = V3::new(m.y * m.y + m.z * m.z, -(m.x * m.y), -(m.x * m.z));
    // T / gamma
    let t = m.cross(h).scale(-S::one()).axpy(-h_s, m_pm);
    t.axpy(d.alpha, m.cross(t)).scale(d.gamma_ll)
}

/// `llg_rhs` with the derived parameters `d` and no extra field (noise-free,
/// uncoupled) as an integrator's right-hand side (rk4.rs `Rhs`).
pub struct Llg<'a, S> {
    pub d: &'a Derived<S>,
}

// Plain lanes: a few dozen operations, always inlined into the step.
impl<'a, S: Lanes> Rhs<S> for Llg<'a, S> {
    #[inline(always)]
    fn eval(&mut self, m: V3<S>) -> V3<S> {
        llg_rhs(m, self.d, V3::zero())
    }
}

// Dual numbers: inlined into the step in wasm, where a call passes the state
// and each stage through linear memory and copies them with `memcpy` (about a
// sixth of a sysid epoch); natively a call, which is faster there (measured).
impl<'a, S: Scalar, const K: usize> Rhs<Dual<S, K>> for Llg<'a, Dual<S, K>> {
    #[cfg_attr(target_arch = "wasm32", inline(always))]
    #[cfg_attr(not(target_arch = "wasm32"), inline(never))]
    fn eval(&mut self, m: V3<Dual<S, K>>) -> V3<Dual<S, K>> {
        llg_rhs(m, self.d, V3::zero())
    }
}
