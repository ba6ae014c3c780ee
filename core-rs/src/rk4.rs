//! Classic fourth-order Runge-Kutta (RK4), global order 4, four stages:
//!   k1 = f(m), k2 = f(m + dt/2 k1), k3 = f(m + dt/2 k2), k4 = f(m + dt k3),
//!   m' = m + dt/6 (k1 + 2 k2 + 2 k3 + k4),
//! followed by renormalization |m'| = 1 (the paper's scheme). The thermal
//! field, if any, is held constant through the step (it is part of `f`).
//!
//! The tableau below is the one definition of these coefficients: the
//! single-macrospin step here, its adjoint (adjoint.rs), and the coupled
//! network and reservoir steps (network.rs, reservoir.rs, coupled_adjoint.rs)
//! all read it.

use crate::scalar::Scalar;
use crate::vec3::V3;

/// A right-hand side f(m) for the integrators (RK4 here, Heun in heun.rs):
/// any closure, or a type whose `eval` chooses its own inlining
/// (`torque::Llg`; closures cannot carry `#[inline(always)]`).
pub trait Rhs<S: Scalar> {
    fn eval(&mut self, m: V3<S>) -> V3<S>;
}

impl<S: Scalar, F: FnMut(V3<S>) -> V3<S>> Rhs<S> for F {
    #[inline(always)]
    fn eval(&mut self, m: V3<S>) -> V3<S> {
        self(m)
    }
}

/// Stage nodes: stage q + 1 (q = 0, 1, 2) evaluates f at m + RK4_NODES[q] dt k_q
/// (classic RK4's Butcher matrix has only these sub-diagonal entries,
/// a_{q+2,q+1} = c_{q+2}; c_1 = 0 is stage 1 at m itself).
pub const RK4_NODES: [f64; 3] = [0.5, 0.5, 1.0];
/// Weights times `RK4_WEIGHT_DENOM`: m' = m + dt / RK4_WEIGHT_DENOM sum_q RK4_WEIGHTS[q] k_q.
pub const RK4_WEIGHTS: [f64; 4] = [1.0, 2.0, 2.0, 1.0];
/// Common denominator of the weights (b = (1, 2, 2, 1) / 6).
pub const RK4_WEIGHT_DENOM: f64 = 6.0;

/// `x` times the tableau coefficient `c`, skipping the product when c = 1
/// (exact for floats either way; for dual numbers it saves the tangents'
/// work). `c` is a constant of the tableau, so the branch folds away.
#[inline(always)]
pub fn times_coef<S: Scalar>(x: S, c: f64) -> S {
    if c == 1.0 {
        x
    } else {
        x * S::cst(c)
    }
}

/// A step length dt and its products with the tableau, `node[q]` =
/// RK4_NODES[q] dt and `weight` = dt / RK4_WEIGHT_DENOM: the same operations
/// on the same numbers in every step, so a caller that takes many steps of one
/// length may compute them once (sysid.rs) with bit-identical results.
#[derive(Clone, Copy)]
pub struct Rk4Dt<S> {
    pub dt: S,
    pub node: [S; 3],
    pub weight: S,
}

impl<S: Scalar> Rk4Dt<S> {
    #[inline(always)]
    pub fn new(dt: S) -> Self {
        Rk4Dt { dt, node: [times_coef(dt, RK4_NODES[0]), times_coef(dt, RK4_NODES[1]), times_coef(dt, RK4_NODES[2])], weight: dt / S::cst(RK4_WEIGHT_DENOM) }
    }
}

/// Input of stage q + 1 (q = 0, 1, 2): m + RK4_NODES[q] dt k_q.
#[inline(always)]
pub fn rk4_stage_input<S: Scalar>(m: V3<S>, h: &Rk4Dt<S>, q: usize, kq: V3<S>) -> V3<S> {
    m.axpy(h.node[q], kq)
}

/// The four RK4 stages at `m`, for reuse by the discrete adjoint.
#[inline(always)]
pub fn rk4_stages<S: Scalar, F: Rhs<S>>(m: V3<S>, h: &Rk4Dt<S>, f: &mut F) -> [V3<S>; 4] {
    let k1 = f.eval(m);
    let k2 = f.eval(rk4_stage_input(m, h, 0, k1));
    let k3 = f.eval(rk4_stage_input(m, h, 1, k2));
    let k4 = f.eval(rk4_stage_input(m, h, 2, k3));
    [k1, k2, k3, k4]
}

/// Stage q's term RK4_WEIGHTS[q] k_q of the combination (the product skipped
/// for weight 1, as in `times_coef`).
#[inline(always)]
fn weighted<S: Scalar>(k: V3<S>, q: usize) -> V3<S> {
    if RK4_WEIGHTS[q] == 1.0 {
        k
    } else {
        k.scale(S::cst(RK4_WEIGHTS[q]))
    }
}

/// The stage combination m + dt/6 (k1 + 2 k2 + 2 k3 + k4), before renormalization.
#[inline(always)]
pub fn rk4_combine<S: Scalar>(m: V3<S>, h: &Rk4Dt<S>, k: &[V3<S>; 4]) -> V3<S> {
    let sum = weighted(k[0], 0).add(weighted(k[1], 1)).add(weighted(k[2], 2)).add(weighted(k[3], 3));
    m.axpy(h.weight, sum)
}

/// One RK4 step of length `h.dt` followed by renormalization.
#[inline(always)]
pub fn rk4_step_with<S: Scalar, F: Rhs<S>>(m: V3<S>, h: &Rk4Dt<S>, f: &mut F) -> V3<S> {
    let k = rk4_stages(m, h, f);
    rk4_combine(m, h, &k).normalized()
}

/// One RK4 step of length `dt` followed by renormalization.
#[inline(always)]
pub fn rk4_step<S: Scalar, F: Rhs<S>>(m: V3<S>, dt: S, f: &mut F) -> V3<S> {
    rk4_step_with(m, &Rk4Dt::new(dt), f)
}
