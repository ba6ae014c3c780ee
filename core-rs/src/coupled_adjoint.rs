//! The discrete adjoint of one RK4 step of N coupled STOs, shared by the
//! MNIST network (network.rs) and the driven reservoir (reservoir.rs).
//!
//! Forward (one step from m, tableau in rk4.rs): stage inputs s_1 = m,
//! s_{q+1} = m + c_q dt k_q; k_q = f(s_q, h_q) with the coupling field
//! h_q,i = CM sum_l w_il s_q,l,x (+ a drive that does not depend on the state);
//! m~ = m + dt/6 sum_q b_q k_q; m' = m~/|m~| (or m' = m~ without renormalization).
//!
//! Reverse, given lam = dL/dm':
//!   lam~ = (lam - m' (m'.lam)) / |m~| (renormalization; lam~ = lam without it),
//!   lam_m = lam~, lam_k4 = b_4 dt/6 lam~;
//!   for q = 4..1: (lam_s, lam_h) = J_q^T lam_kq (`rhs_vjp`), lam_s,x += CM W^T lam_h,
//!   lam_m += lam_s, lam_k{q-1} = b_{q-1} dt/6 lam~ + c_{q-1} dt lam_s.
//! This is the exact gradient of the discretized step, not of the ODE.
//!
//! States are lane-major as in gemm.rs: `g` lane vectors per STO, component
//! c of STO i in lane group j at c N g + i g + j (the reservoir is g = 1 with
//! `S = f64`). What differs between the callers is passed in: the product
//! with the transposed coupling (a blocked SIMD product in the network, a
//! plain loop in the reservoir) and where the per-STO parameter adjoints go.

use crate::params::Derived;
use crate::rk4::{RK4_NODES, RK4_WEIGHTS, RK4_WEIGHT_DENOM};
use crate::scalar::Scalar;
use crate::vec3::V3;

/// Vector-Jacobian product of `llg_rhs(m, d, (hx, 0, 0))` with `lam`:
/// returns (lam^T df/dm, lam^T df/dhx, lam^T df/dH_appl, lam^T df/da_s,
/// lam^T df/dalpha), where a_s = `d.a_s_oe` and the alpha derivative
/// includes gamma_ll = gamma / (1 + alpha^2).
/// Forward (torque.rs): H = (hx, 0, H_appl + H_anis m_z), h_s = a_s/(1 + lambda m_x),
/// P = m x (e_x x m), t = -(m x H) - h_s P, f = gamma_ll (t + alpha m x t).
#[inline(always)]
pub fn rhs_vjp<S: Scalar>(m: V3<S>, hx: S, d: &Derived<S>, lam: V3<S>) -> (V3<S>, S, S, S, S) {
    let one = S::one();
    let two = S::cst(2.0);
    let h = V3::new(hx, S::zero(), d.h_appl_oe + d.h_anis_oe * m.z);
    let den = one + d.lambda * m.x;
    let hs = d.a_s_oe / den;
    let p = V3::new(m.y * m.y + m.z * m.z, -(m.x * m.y), -(m.x * m.z));
    let t = m.cross(h).scale(-one).axpy(-hs, p);
    let u = m.cross(t);
    let g = d.gamma_ll;
    // f = g (t + alpha u): product rule
    let l_g = lam.dot(t.axpy(d.alpha, u));
    let l_u = lam.scale(g * d.alpha);
    let l_alpha_direct = g * lam.dot(u);
    // u = m x t: lam_u . (m x t) = m . (t x lam_u) = t . (lam_u x m)
    let l_t = lam.scale(g).add(l_u.cross(m));
    let mut l_m = t.cross(l_u);
    // t = -(m x H) - h_s P: -lam_t . (m x H) = m . (lam_t x H) = H . (m x lam_t)
    l_m = l_m.add(l_t.cross(h));
    let l_h = m.cross(l_t);
    let l_hs = -l_t.dot(p);
    let l_p = l_t.scale(-hs);
    // P = (y^2 + z^2, -x y, -x z)
    let l_m_p = V3::new(-(l_p.y * m.y) - l_p.z * m.z, two * l_p.x * m.y - l_p.y * m.x, two * l_p.x * m.z - l_p.z * m.x);
    l_m = l_m.add(l_m_p);
    // h_s = a_s / (1 + lambda m_x): quotient rule
    let l_as = l_hs / den;
    // H_z = H_appl + H_anis m_z
    l_m = V3::new(l_m.x - l_hs * hs * d.lambda / den, l_m.y, l_m.z + d.h_anis_oe * l_h.z);
    // gamma_ll = gamma / (1 + alpha^2): d/dalpha = -2 alpha gamma_ll / (1 + alpha^2)
    let dg_dalpha = -(two * d.alpha * g) / (one + d.alpha * d.alpha);
    (l_m, l_h.x, l_h.z, l_as, l_alpha_direct + l_g * dg_dalpha)
}

/// What the forward pass recorded of one coupled RK4 step (lane-major).
pub struct RecordedStep<'a, S> {
    /// The four stage inputs s_1 = m, s_2, s_3, s_4: four blocks of 3 N g.
    pub stages: &'a [S],
    /// The coupling field h_x at each stage: four blocks of N g.
    pub hx: &'a [S],
    /// The state after the step, m' (3 N g).
    pub after: &'a [S],
    /// |m~| per STO (N g), or None when the step is not renormalized.
    pub nrm: Option<&'a [S]>,
}

/// Workspace and state adjoint of the coupled-step adjoint, allocated once.
pub struct CoupledAdjoint<S> {
    /// Adjoint of the state (3 N g): dL/dm' on entry to `step_back`, dL/dm on return.
    pub lam: Vec<S>,
    /// lam~ of the last step (3 N g); free for the caller after it.
    pub lamt: Vec<S>,
    lamk: Vec<S>,
    lams: Vec<S>,
    lamh: Vec<S>,
}

impl<S: Scalar> CoupledAdjoint<S> {
    /// Workspace for N STOs and up to `g` lane groups.
    pub fn new(n: usize, g: usize) -> Self {
        let z = S::zero();
        CoupledAdjoint { lam: vec![z; 3 * n * g], lamt: vec![z; 3 * n * g], lamk: vec![z; 3 * n * g], lams: vec![z; 3 * n * g], lamh: vec![z; n * g] }
    }

    /// Reverse of one recorded step of N STOs in `g` lane groups: `self.lam`
    /// (adjoint of the state after the step) becomes the adjoint of the
    /// state before it.
    /// `der[i]`: STO i's derived parameters during the step.
    /// `coupling_t(lam_h, lam_x)`: lam_x += CM W^T lam_h (both N g).
    /// `param(i g + j, lam_hx, lam_H_appl, lam_a_s, lam_alpha)`: called once per
    /// STO and lane group at every stage, stage 4 first, to accumulate the
    /// parameter adjoints.
    #[inline(always)]
    #[allow(clippy::needless_range_loop)] // i, j and the component offsets index several lane-major arrays
    #[allow(clippy::too_many_arguments)] // an internal kernel: sizes, record, parameters and the two caller hooks
    pub fn step_back<C, P>(&mut self, n: usize, g: usize, dt: S, rec: &RecordedStep<S>, der: &[Derived<S>], mut coupling_t: C, mut param: P)
    where
        C: FnMut(&[S], &mut [S]),
        P: FnMut(usize, S, S, S, S),
    {
        let (bs, ng) = (3 * n * g, n * g);
        let h6 = dt / S::cst(RK4_WEIGHT_DENOM);
        let lam = &mut self.lam[..bs];
        let lamt = &mut self.lamt[..bs];
        let lamk = &mut self.lamk[..bs];
        let lams = &mut self.lams[..bs];
        let lamh = &mut self.lamh[..ng];
        let m_next = &rec.after[..bs];
        // renormalization m' = m~/|m~|: lam~ = (lam - m' (m'.lam)) / |m~|
        for i in 0..n {
            for j in 0..g {
                let (a, b, c) = (i * g + j, (n + i) * g + j, (2 * n + i) * g + j);
                let mn = V3::new(m_next[a], m_next[b], m_next[c]);
                let l = V3::new(lam[a], lam[b], lam[c]);
                let lt = match rec.nrm {
                    Some(nrm) => {
                        let inv = S::one() / nrm[i * g + j];
                        l.axpy(-mn.dot(l), mn).scale(inv)
                    }
                    None => l,
                };
                lamt[a] = lt.x;
                lamt[b] = lt.y;
                lamt[c] = lt.z;
                // m~ = m + dt/6 sum b_q k_q: lam_m starts at lam~, lam_k4 = b_4 dt/6 lam~
                lam[a] = lt.x;
                lam[b] = lt.y;
                lam[c] = lt.z;
                let lk = lt.scale(h6 * S::cst(RK4_WEIGHTS[3]));
                lamk[a] = lk.x;
                lamk[b] = lk.y;
                lamk[c] = lk.z;
            }
        }
        for q in (0..4).rev() {
            let x_in = &rec.stages[q * bs..(q + 1) * bs];
            let hf = &rec.hx[q * ng..(q + 1) * ng];
            for i in 0..n {
                let d = &der[i];
                for j in 0..g {
                    let (a, b, c) = (i * g + j, (n + i) * g + j, (2 * n + i) * g + j);
                    let (lm, lhx, lha, las, lal) = rhs_vjp(V3::new(x_in[a], x_in[b], x_in[c]), hf[i * g + j], d, V3::new(lamk[a], lamk[b], lamk[c]));
                    lams[a] = lm.x;
                    lams[b] = lm.y;
                    lams[c] = lm.z;
                    lamh[i * g + j] = lhx;
                    param(i * g + j, lhx, lha, las, lal);
                }
            }
            // h_i = CM sum_l w_il x_l: lam_x += CM W^T lam_h
            coupling_t(lamh, &mut lams[..ng]);
            // s_q = m + c_{q-1} dt k_{q-1}: lam_m += lam_s,
            // lam_k{q-1} = b_{q-1} dt/6 lam~ + c_{q-1} dt lam_s
            for idx in 0..bs {
                lam[idx] = lam[idx] + lams[idx];
            }
            if q > 0 {
                let wb = h6 * S::cst(RK4_WEIGHTS[q - 1]);
                let wc = dt * S::cst(RK4_NODES[q - 1]);
                for idx in 0..bs {
                    lamk[idx] = wb * lamt[idx] + wc * lams[idx];
                }
            }
        }
    }
}
