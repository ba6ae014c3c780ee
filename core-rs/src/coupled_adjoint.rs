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
    lams: Vec<S>,
    lamh: Vec<S>,
}

impl<S: Scalar> CoupledAdjoint<S> {
    /// Workspace for N STOs and up to `g` lane groups.
    pub fn new(n: usize, g: usize) -> Self {
        let z = S::zero();
        CoupledAdjoint { lam: vec![z; 3 * n * g], lamt: vec![z; 3 * n * g], lams: vec![z; 3 * n * g], lamh: vec![z; n * g] }
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
        let k4 = h6 * S::cst(RK4_WEIGHTS[3]);
        fn three<T>(v: &mut [T], ng: usize) -> (&mut [T], &mut [T], &mut [T]) {
            let (a, r) = v[..3 * ng].split_at_mut(ng);
            let (b, c) = r.split_at_mut(ng);
            (a, b, c)
        }
        let (lam_a, lam_b, lam_c) = three(&mut self.lam, ng);
        let (lt_a, lt_b, lt_c) = three(&mut self.lamt, ng);
        let (ls_a, ls_b, ls_c) = three(&mut self.lams, ng);
        let lamh = &mut self.lamh[..ng];
        let m_next = &rec.after[..bs];
        // One pass over the STOs per stage, stage 4 first. Entering stage q,
        // each element first finishes what the stage after it left (the
        // renormalization at stage 4; lam_m += lam_s and lam_kq = b_q dt/6
        // lam~ + c_q dt lam_s otherwise, lam_s with the coupling added), then
        // takes lam_kq through the right-hand side: lam_kq is never stored.
        for q in (0..4).rev() {
            let x_in = &rec.stages[q * bs..(q + 1) * bs];
            let (xa, xb, xc) = (&x_in[..ng], &x_in[ng..2 * ng], &x_in[2 * ng..3 * ng]);
            let hf = &rec.hx[q * ng..(q + 1) * ng];
            let (wb, wc) = (h6 * S::cst(RK4_WEIGHTS[q.min(2)]), dt * S::cst(RK4_NODES[q.min(2)]));
            for (i, d) in der[..n].iter().enumerate() {
                let r = i * g..(i + 1) * g;
                let (xa, xb, xc, hf) = (&xa[r.clone()], &xb[r.clone()], &xc[r.clone()], &hf[r.clone()]);
                let (la, lb, lc) = (&mut lam_a[r.clone()], &mut lam_b[r.clone()], &mut lam_c[r.clone()]);
                let (ta, tb, tc) = (&mut lt_a[r.clone()], &mut lt_b[r.clone()], &mut lt_c[r.clone()]);
                let (sa, sb, sc) = (&mut ls_a[r.clone()], &mut ls_b[r.clone()], &mut ls_c[r.clone()]);
                let lh = &mut lamh[r.clone()];
                for j in 0..g {
                    let lk = if q == 3 {
                        // renormalization m' = m~/|m~|: lam~ = (lam - m' (m'.lam)) / |m~|;
                        // m~ = m + dt/6 sum b_q k_q: lam_m starts at lam~, lam_k4 = b_4 dt/6 lam~
                        let ij = i * g + j;
                        let l = V3::new(la[j], lb[j], lc[j]);
                        let lt = match rec.nrm {
                            Some(nrm) => {
                                let mn = V3::new(m_next[ij], m_next[ng + ij], m_next[2 * ng + ij]);
                                let inv = S::one() / nrm[ij];
                                l.axpy(-mn.dot(l), mn).scale(inv)
                            }
                            None => l,
                        };
                        ta[j] = lt.x;
                        tb[j] = lt.y;
                        tc[j] = lt.z;
                        la[j] = lt.x;
                        lb[j] = lt.y;
                        lc[j] = lt.z;
                        lt.scale(k4)
                    } else {
                        // s_{q+1} = m + c_q dt k_q: lam_m += lam_s, lam_kq = b_q dt/6 lam~ + c_q dt lam_s
                        la[j] = la[j] + sa[j];
                        lb[j] = lb[j] + sb[j];
                        lc[j] = lc[j] + sc[j];
                        V3::new(wb * ta[j] + wc * sa[j], wb * tb[j] + wc * sb[j], wb * tc[j] + wc * sc[j])
                    };
                    let (lm, lhx, lha, las, lal) = rhs_vjp(V3::new(xa[j], xb[j], xc[j]), hf[j], d, lk);
                    sa[j] = lm.x;
                    sb[j] = lm.y;
                    sc[j] = lm.z;
                    lh[j] = lhx;
                    param(i * g + j, lhx, lha, las, lal);
                }
            }
            // h_i = CM sum_l w_il x_l: lam_x += CM W^T lam_h
            coupling_t(lamh, ls_a);
        }
        // s_1 = m: lam_m += lam_s
        for (l, s) in self.lam[..bs].iter_mut().zip(&self.lams[..bs]) {
            *l = *l + *s;
        }
    }
}
