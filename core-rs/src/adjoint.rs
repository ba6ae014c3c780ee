//! The discrete adjoint (reverse mode) of the RK4 step with renormalization.
//!
//! Forward: s1 = m, k1 = f(s1); s2 = m + dt/2 k1, k2 = f(s2); s3 = m + dt/2 k2,
//! k3 = f(s3); s4 = m + dt k3, k4 = f(s4); y = m + dt/6 (k1 + 2 k2 + 2 k3 + k4);
//! m' = y / |y|. Reverse, given the adjoint m'bar of m':
//!   ybar = (m'bar - n (n . m'bar)) / |y| with n = y / |y|,
//!   k1bar = dt/6 ybar, k2bar = k3bar = dt/3 ybar, k4bar = dt/6 ybar, mbar = ybar,
//! then stages 4 to 1: sibar = J_i^T kibar (the local vector-Jacobian product,
//! which also accumulates the parameter adjoint), mbar += sibar, and
//! k3bar += dt s4bar, k2bar += dt/2 s3bar, k1bar += dt/2 s2bar.
//! This is the exact gradient of the discretized forward pass, not of the ODE.

use crate::dual::Dual;
use crate::params::{Derived, N_DERIVED};
use crate::rk4::rk4_stages;
use crate::scalar::Scalar;
use crate::torque::llg_rhs;
use crate::vec3::V3;

/// Reverse of one RK4 step from `m` with step `dt`: returns mbar given the
/// adjoint of the renormalized result. `f` is the right-hand side; `vjp(s, kbar)`
/// returns J(s)^T kbar and accumulates the parameter adjoint itself.
#[inline(always)]
pub fn rk4_step_adjoint<S: Scalar, F, G>(m: V3<S>, dt: S, f: &mut F, vjp: &mut G, mbar_next: V3<S>) -> V3<S>
where
    F: FnMut(V3<S>) -> V3<S>,
    G: FnMut(V3<S>, V3<S>) -> V3<S>,
{
    let half = dt * S::cst(0.5);
    let k = rk4_stages(m, dt, f);
    let y = crate::rk4::rk4_combine(m, dt, &k);
    let norm = y.dot(y).sqrt();
    let n = y.scale(S::one() / norm);
    let ybar = mbar_next.axpy(-n.dot(mbar_next), n).scale(S::one() / norm);
    let sixth = dt / S::cst(6.0);
    let third = dt / S::cst(3.0);
    let mut mbar = ybar;
    let mut k1bar = ybar.scale(sixth);
    let mut k2bar = ybar.scale(third);
    let mut k3bar = ybar.scale(third);
    let k4bar = ybar.scale(sixth);
    let s4bar = vjp(m.axpy(dt, k[2]), k4bar);
    mbar = mbar.add(s4bar);
    k3bar = k3bar.axpy(dt, s4bar);
    let s3bar = vjp(m.axpy(half, k[1]), k3bar);
    mbar = mbar.add(s3bar);
    k2bar = k2bar.axpy(half, s3bar);
    let s2bar = vjp(m.axpy(half, k[0]), k2bar);
    mbar = mbar.add(s2bar);
    k1bar = k1bar.axpy(half, s2bar);
    mbar.add(vjp(m, k1bar))
}

/// J^T kbar of the LLG right-hand side at `m` (no extra field), for the state
/// (returned) and the derived parameters (added to `dbar`). Computed with 9
/// forward-mode tangents (3 state, 6 derived) through the same generic
/// `llg_rhs` the simulator uses, so it serves any fitted parameter.
#[inline(always)]
pub fn llg_rhs_vjp<S: Scalar>(m: V3<S>, d: &Derived<S>, kbar: V3<S>, dbar: &mut [S; N_DERIVED]) -> V3<S> {
    type D<S> = Dual<S, { 3 + N_DERIVED }>;
    let md = V3::new(D::variable(m.x, 0), D::variable(m.y, 1), D::variable(m.z, 2));
    let da = d.to_array();
    let mut dd = [D::<S>::constant(S::zero()); N_DERIVED];
    for i in 0..N_DERIVED {
        dd[i] = D::variable(da[i], 3 + i);
    }
    let k = llg_rhs(md, &Derived::from_array(dd), V3::zero());
    let g = |j: usize| kbar.x * k.x.eps[j] + kbar.y * k.y.eps[j] + kbar.z * k.z.eps[j];
    for (i, b) in dbar.iter_mut().enumerate() {
        *b = *b + g(3 + i);
    }
    V3::new(g(0), g(1), g(2))
}
