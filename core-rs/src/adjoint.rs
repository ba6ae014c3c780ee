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
//! The coefficients are rk4.rs's tableau; the adjoint of a coupled step of N
//! STOs (network and reservoir) is in coupled_adjoint.rs.

use crate::dual::Dual;
use crate::params::{Derived, N_DERIVED};
use crate::rk4::{rk4_combine, rk4_stage_input, rk4_stages, times_coef, Rhs, Rk4Dt, RK4_WEIGHTS};
use crate::scalar::Scalar;
use crate::torque::llg_rhs;
use crate::vec3::V3;

/// Reverse of one RK4 step from `m` with step length `h.dt`: returns mbar given
/// the adjoint of the renormalized result. `f` is the right-hand side;
/// `vjp.vjp(s, kbar)` returns J(s)^T kbar and accumulates the parameter
/// adjoint itself.
#[inline(always)]
pub fn rk4_step_adjoint<S: Scalar, F, G>(m: V3<S>, h: &Rk4Dt<S>, f: &mut F, vjp: &mut G, mbar_next: V3<S>) -> V3<S>
where
    F: Rhs<S>,
    G: Vjp<S>,
{
    let k = rk4_stages(m, h, f);
    let y = rk4_combine(m, h, &k);
    let norm = y.dot(y).sqrt();
    let n = y.scale(S::one() / norm);
    let ybar = mbar_next.axpy(-n.dot(mbar_next), n).scale(S::one() / norm);
    // y = m + dt/6 sum b_q k_q: mbar = ybar, kbar_q = b_q dt/6 ybar
    let mut kbar = [V3::zero(); 4];
    for (kb, &w) in kbar.iter_mut().zip(RK4_WEIGHTS.iter()) {
        *kb = ybar.scale(times_coef(h.weight, w));
    }
    let mut mbar = ybar;
    // stage q + 1 evaluates f at s = m + c_q dt k_q: mbar += sbar, kbar_q += c_q dt sbar
    for q in (0..3).rev() {
        let sbar = vjp.vjp(rk4_stage_input(m, h, q, k[q]), kbar[q + 1]);
        mbar = mbar.add(sbar);
        kbar[q] = kbar[q].axpy(h.node[q], sbar);
    }
    mbar.add(vjp.vjp(m, kbar[0]))
}

/// A vector-Jacobian product s, kbar -> J(s)^T kbar: any closure, or
/// `LlgVjp` (which chooses its own inlining, as `torque::Llg` does).
pub trait Vjp<S: Scalar> {
    fn vjp(&mut self, s: V3<S>, kbar: V3<S>) -> V3<S>;
}

impl<S: Scalar, G: FnMut(V3<S>, V3<S>) -> V3<S>> Vjp<S> for G {
    #[inline(always)]
    fn vjp(&mut self, s: V3<S>, kbar: V3<S>) -> V3<S> {
        self(s, kbar)
    }
}

/// `llg_rhs_vjp` with the derived parameters `d` as a `Vjp`, the parameter
/// adjoint added to `dbar`. Inlined at every stage in wasm, where a call
/// passes the vectors through linear memory; natively a call, which is faster
/// there (measured).
pub struct LlgVjp<'a, S> {
    pub d: &'a Derived<S>,
    pub dbar: &'a mut [S; N_DERIVED],
}

impl<'a, S: Scalar> Vjp<S> for LlgVjp<'a, S> {
    #[cfg_attr(target_arch = "wasm32", inline(always))]
    #[cfg_attr(not(target_arch = "wasm32"), inline(never))]
    fn vjp(&mut self, s: V3<S>, kbar: V3<S>) -> V3<S> {
        llg_rhs_vjp(s, self.d, kbar, self.dbar)
    }
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
