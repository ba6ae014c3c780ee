//! Stochastic Heun (predictor-corrector), two stages:
//!   m~ = m + dt f(m, h),  m' = m + dt/2 (f(m, h) + f(m~, h)),
//! followed by renormalization. With the thermal field h held through the
//! step it converges (strong order 1/2, weak order 1) to the Stratonovich
//! solution of the stochastic LLG equation, which thermal equilibrium needs;
//! deterministically it is second order.

use crate::rk4::Rhs;
use crate::scalar::Scalar;
use crate::vec3::V3;

#[inline(always)]
pub fn heun_step<S: Scalar, F: Rhs<S>>(m: V3<S>, dt: S, f: &mut F) -> V3<S> {
    let k1 = f.eval(m);
    let predicted = m.axpy(dt, k1);
    let k2 = f.eval(predicted);
    m.axpy(dt * S::cst(0.5), k1.add(k2)).normalized()
}
