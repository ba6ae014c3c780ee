//! Classic fourth-order Runge-Kutta (RK4), global order 4, four stages:
//!   k1 = f(m), k2 = f(m + dt/2 k1), k3 = f(m + dt/2 k2), k4 = f(m + dt k3),
//!   m' = m + dt/6 (k1 + 2 k2 + 2 k3 + k4),
//! followed by renormalization |m'| = 1 (the paper's scheme). The thermal
//! field, if any, is held constant through the step (it is part of `f`).

use crate::scalar::Scalar;
use crate::vec3::V3;

/// The four RK4 stages at `m`, for reuse by the discrete adjoint.
#[inline(always)]
pub fn rk4_stages<S: Scalar, F: FnMut(V3<S>) -> V3<S>>(m: V3<S>, dt: S, f: &mut F) -> [V3<S>; 4] {
    let half = dt * S::cst(0.5);
    let k1 = f(m);
    let k2 = f(m.axpy(half, k1));
    let k3 = f(m.axpy(half, k2));
    let k4 = f(m.axpy(dt, k3));
    [k1, k2, k3, k4]
}

/// The stage combination m + dt/6 (k1 + 2 k2 + 2 k3 + k4), before renormalization.
#[inline(always)]
pub fn rk4_combine<S: Scalar>(m: V3<S>, dt: S, k: &[V3<S>; 4]) -> V3<S> {
    let two = S::cst(2.0);
    let sum = k[0].add(k[1].scale(two)).add(k[2].scale(two)).add(k[3]);
    m.axpy(dt / S::cst(6.0), sum)
}

/// One RK4 step of length `dt` followed by renormalization.
#[inline(always)]
pub fn rk4_step<S: Scalar, F: FnMut(V3<S>) -> V3<S>>(m: V3<S>, dt: S, f: &mut F) -> V3<S> {
    let k = rk4_stages(m, dt, f);
    rk4_combine(m, dt, &k).normalized()
}
