//! STO reservoir computing: the coupled-STO network of network.rs driven by
//! an input time series, its discrete adjoint with checkpointing, the ridge
//! readout and an echo-state-network baseline.
//!
//! Forward, for input values u_t (t = 0..T, one per hold): each hold is K
//! virtual-node intervals (K = 1 without time multiplexing) of `sub` RK4
//! steps of length dt. During interval k of hold t, STO i sees the input
//! e_ki = W_in[k, i] u_t as
//!   a field along x:       h_x,i = CM sum_l w_il m_l,x + s_f e_ki   [Oe]
//!   a current modulation:  j_i   = j_DC + s_c e_ki                  [A]
//! (s_f = `in_field_oe`, s_c = `in_current_a`; either may be 0). The
//! coupling is eq. (8) at every RK4 stage, as in network.rs; each RK4 step is
//! followed by renormalization |m_i| = 1. The state at the end of interval k
//! of hold t is the feature block (t, k): all 3N components (component-major,
//! c N + i) or m_x only (N numbers). For N = 1 and K > 1 the rows of W_in are
//! the random mask of the time-multiplexed single-oscillator reservoir.
//!
//! Backward: given G = dL/d(features) (T x F), the exact gradient of the
//! discretized forward pass with respect to every H_appl, j_DC, alpha, s_f,
//! s_c and W_in. Only the state at the start of every C-th hold is kept in
//! the forward pass (checkpoints); the backward pass recomputes one segment
//! of C holds at a time from its checkpoint, recording stage inputs, and
//! runs the adjoint through it. Memory: (T/C + 1) 3N + C K sub (20 N)
//! numbers besides the features, independent of T for fixed C.
//!
//! The LLG right-hand side is the generic `llg_rhs` (torque.rs), the RK4
//! tableau is rk4.rs's, and the adjoint of one coupled step is the one the
//! MNIST network uses (coupled_adjoint.rs, with g = 1 lane group). Only the
//! forward loop over the N coupled STOs per stage is written here, because
//! the coupling needs every STO's stage input before any STO's next stage.

use crate::coupled_adjoint::{CoupledAdjoint, RecordedStep};
use crate::params::{Derived, Params};
use crate::rk4::{RK4_NODES, RK4_WEIGHTS, RK4_WEIGHT_DENOM};
use crate::torque::llg_rhs;
use crate::vec3::V3;

/// Which state components are features.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feat {
    /// m_x, m_y, m_z of every STO (3N per interval).
    All,
    /// m_x only (N per interval): what a magnetoresistive read-out measures.
    Mx,
    /// m_z only (N per interval): the cone angle of the precession about z,
    /// i.e. the oscillation amplitude sqrt(1 - m_z^2) that a rectifying
    /// (envelope) read-out measures; free of the oscillation's phase.
    Mz,
}

impl Feat {
    pub fn from_code(c: u32) -> Result<Feat, String> {
        match c {
            0 => Ok(Feat::All),
            1 => Ok(Feat::Mx),
            2 => Ok(Feat::Mz),
            _ => Err(format!("unknown feature code {}", c)),
        }
    }
}

/// Sizes fixed for the life of a `Reservoir`.
#[derive(Clone, Copy, Debug)]
pub struct ResShape {
    /// Number of STOs N.
    pub n: usize,
    /// Virtual nodes K per hold (1: none).
    pub k: usize,
    /// RK4 steps per virtual-node interval (a hold is K sub steps).
    pub sub: usize,
    /// Holds T (length of the input series).
    pub holds: usize,
    /// Checkpoint interval C in holds.
    pub every: usize,
    pub feat: Feat,
}

impl ResShape {
    pub fn check(&self) -> Result<(), String> {
        if self.n == 0 || self.k == 0 || self.sub == 0 || self.holds == 0 || self.every == 0 {
            return Err(format!("bad reservoir shape {:?}", self));
        }
        if self.n > 10_000 || self.k > 10_000 || self.sub > 100_000 || self.holds > 100_000_000 {
            return Err(format!("reservoir shape too large {:?}", self));
        }
        Ok(())
    }
    /// Features per hold.
    pub fn f(&self) -> usize {
        self.k * self.per_node()
    }
    fn per_node(&self) -> usize {
        match self.feat {
            Feat::All => 3 * self.n,
            Feat::Mx | Feat::Mz => self.n,
        }
    }
    /// Length of the packed parameter vector: H_appl (N), j_DC, alpha,
    /// s_f [Oe], s_c [A], W_in (K x N, row k = interval).
    pub fn n_theta(&self) -> usize {
        self.n + 4 + self.k * self.n
    }
    fn segments(&self) -> usize {
        (self.holds + self.every - 1) / self.every
    }
    /// f64 numbers of state kept: checkpoints plus one recorded segment.
    pub fn state_words(&self) -> usize {
        (self.segments() + 1) * 3 * self.n + self.every * self.k * self.sub * 20 * self.n
    }
}

/// Offsets in the packed parameter vector.
pub const TH_JDC: usize = 0;
pub const TH_ALPHA: usize = 1;
pub const TH_SF: usize = 2;
pub const TH_SC: usize = 3;

/// Shared physics: Table I parameters (their H_appl, j_DC and alpha are
/// replaced by the packed parameters), the RK4 step and the coupling.
#[derive(Clone, Copy)]
pub struct ResPhysics {
    pub params: Params<f64>,
    pub dt_s: f64,
    pub cm_oe: f64,
}

/// The driven reservoir with all its workspace.
pub struct Reservoir {
    sh: ResShape,
    w_cp: Vec<f64>,
    /// state at the start of hold s C, per segment s (3N each).
    ckpt: Vec<f64>,
    /// recorded segment: stage inputs (4 x 3N per step), fields (4 x N),
    /// |m~| (N), state after the step (3N).
    rec_st: Vec<f64>,
    rec_hx: Vec<f64>,
    rec_nrm: Vec<f64>,
    rec_after: Vec<f64>,
    m: Vec<f64>,
    x: Vec<f64>,
    kacc: Vec<f64>,
    hin: Vec<f64>,
    /// fields of the current stage (all STOs, before any stage input moves)
    hx: Vec<f64>,
    der: Vec<Derived<f64>>,
    /// the adjoint's state and workspace (coupled_adjoint.rs)
    adj: CoupledAdjoint<f64>,
    g_hx: Vec<f64>,
    g_as: Vec<f64>,
}

struct Drive {
    /// a_s per ampere (a_s is linear in j)
    c_as: f64,
    base: Derived<f64>,
    dt: f64,
    cm: f64,
}

impl Reservoir {
    /// `w_cp`: N x N coupling (row-major), already scaled.
    pub fn new(sh: ResShape, w_cp: &[f64]) -> Result<Self, String> {
        sh.check()?;
        let n = sh.n;
        if w_cp.len() != n * n {
            return Err("coupling matrix size does not match N".into());
        }
        let steps = sh.every * sh.k * sh.sub;
        let d0 = Params::paper().derive();
        Ok(Reservoir {
            sh,
            w_cp: w_cp.to_vec(),
            ckpt: vec![0.0; sh.segments() * 3 * n],
            rec_st: vec![0.0; steps * 12 * n],
            rec_hx: vec![0.0; steps * 4 * n],
            rec_nrm: vec![0.0; steps * n],
            rec_after: vec![0.0; steps * 3 * n],
            m: vec![0.0; 3 * n],
            x: vec![0.0; 3 * n],
            kacc: vec![0.0; 3 * n],
            hin: vec![0.0; n],
            hx: vec![0.0; n],
            der: vec![d0; n],
            adj: CoupledAdjoint::new(n, 1),
            g_hx: vec![0.0; n],
            g_as: vec![0.0; n],
        })
    }

    pub fn shape(&self) -> ResShape {
        self.sh
    }

    fn drive(&self, phys: &ResPhysics, theta: &[f64]) -> Result<Drive, String> {
        let n = self.sh.n;
        if theta.len() != self.sh.n_theta() {
            return Err("parameter vector size does not match the reservoir shape".into());
        }
        if theta.iter().any(|v| !v.is_finite()) {
            return Err("a reservoir parameter is not finite".into());
        }
        if !(phys.dt_s > 0.0 && phys.dt_s.is_finite() && phys.cm_oe.is_finite()) {
            return Err("time step must be positive and coupling finite".into());
        }
        let mut p = phys.params;
        p.j_dc_a = theta[n + TH_JDC];
        p.alpha = theta[n + TH_ALPHA];
        p.check()?;
        let mut unit = p;
        unit.j_dc_a = 1.0;
        Ok(Drive { c_as: unit.derive().a_s_oe, base: p.derive(), dt: phys.dt_s, cm: phys.cm_oe })
    }

    /// Set the per-STO parameters of interval k of a hold with input `u`.
    fn set_interval(&mut self, dr: &Drive, theta: &[f64], k: usize, u: f64) {
        let n = self.sh.n;
        let (sf, sc) = (theta[n + TH_SF], theta[n + TH_SC]);
        let j = theta[n + TH_JDC];
        let w = &theta[n + 4 + k * n..n + 4 + (k + 1) * n];
        for i in 0..n {
            let e = w[i] * u;
            self.hin[i] = sf * e;
            let mut d = dr.base;
            d.h_appl_oe = theta[i];
            d.a_s_oe = dr.c_as * (j + sc * e);
            self.der[i] = d;
        }
    }

    /// One coupled RK4 step of self.m with renormalization; records the step
    /// at local index `rec` if given.
    fn step(&mut self, dr: &Drive, rec: Option<usize>) {
        let n = self.sh.n;
        let dt = dr.dt;
        self.x.copy_from_slice(&self.m);
        for q in 0..4 {
            if let Some(ls) = rec {
                let o = (4 * ls + q) * 3 * n;
                self.rec_st[o..o + 3 * n].copy_from_slice(&self.x);
            }
            for i in 0..n {
                let row = &self.w_cp[i * n..(i + 1) * n];
                let mut h = 0.0;
                for (w, x) in row.iter().zip(&self.x) {
                    h += w * x;
                }
                let hx = dr.cm * h + self.hin[i];
                if let Some(ls) = rec {
                    self.rec_hx[(4 * ls + q) * n + i] = hx;
                }
                self.hx[i] = hx;
            }
            for i in 0..n {
                let (a, b, c) = (i, n + i, 2 * n + i);
                let k = llg_rhs(V3::new(self.x[a], self.x[b], self.x[c]), &self.der[i], V3::new(self.hx[i], 0.0, 0.0));
                let acc = if q == 0 { k } else { V3::new(self.kacc[a], self.kacc[b], self.kacc[c]).axpy(RK4_WEIGHTS[q], k) };
                self.kacc[a] = acc.x;
                self.kacc[b] = acc.y;
                self.kacc[c] = acc.z;
                let mv = V3::new(self.m[a], self.m[b], self.m[c]);
                if q < 3 {
                    let nx = mv.axpy(dt * RK4_NODES[q], k);
                    self.x[a] = nx.x;
                    self.x[b] = nx.y;
                    self.x[c] = nx.z;
                }
            }
        }
        for i in 0..n {
            let (a, b, c) = (i, n + i, 2 * n + i);
            let mt = V3::new(self.m[a], self.m[b], self.m[c]).axpy(dt / RK4_WEIGHT_DENOM, V3::new(self.kacc[a], self.kacc[b], self.kacc[c]));
            let r = mt.dot(mt).sqrt();
            if let Some(ls) = rec {
                self.rec_nrm[ls * n + i] = r;
            }
            let mn = mt.scale(1.0 / r);
            self.m[a] = mn.x;
            self.m[b] = mn.y;
            self.m[c] = mn.z;
        }
        if let Some(ls) = rec {
            self.rec_after[ls * 3 * n..(ls + 1) * 3 * n].copy_from_slice(&self.m);
        }
    }

    fn write_features(&self, out: &mut [f64]) {
        let n = self.sh.n;
        match self.sh.feat {
            Feat::All => out[..3 * n].copy_from_slice(&self.m),
            Feat::Mx => out[..n].copy_from_slice(&self.m[..n]),
            Feat::Mz => out[..n].copy_from_slice(&self.m[2 * n..3 * n]),
        }
    }

    /// Forward pass from `m0` (3N, component-major, normalized here) over
    /// the input `u` (T values); writes the features (T x F, row t = hold,
    /// blocks k) and keeps the checkpoints for `backward`.
    pub fn forward(&mut self, phys: &ResPhysics, theta: &[f64], u: &[f64], m0: &[f64], feats: &mut [f64]) -> Result<(), String> {
        let sh = self.sh;
        let (n, f) = (sh.n, sh.f());
        if u.len() != sh.holds || m0.len() != 3 * n || feats.len() != sh.holds * f {
            return Err("input, initial-state or feature buffer size does not match the reservoir shape".into());
        }
        if u.iter().any(|v| !v.is_finite()) {
            return Err("input series is not finite".into());
        }
        let dr = self.drive(phys, theta)?;
        for i in 0..n {
            let v = V3::new(m0[i], m0[n + i], m0[2 * n + i]);
            let r = v.dot(v).sqrt();
            if !(r > 0.0 && r.is_finite()) {
                return Err(format!("initial state of STO {} is zero or not finite", i));
            }
            let v = v.scale(1.0 / r);
            self.m[i] = v.x;
            self.m[n + i] = v.y;
            self.m[2 * n + i] = v.z;
        }
        let pn = sh.per_node();
        for (t, &ut) in u.iter().enumerate() {
            if t % sh.every == 0 {
                let s = t / sh.every;
                self.ckpt[s * 3 * n..(s + 1) * 3 * n].copy_from_slice(&self.m);
            }
            for k in 0..sh.k {
                self.set_interval(&dr, theta, k, ut);
                for _ in 0..sh.sub {
                    self.step(&dr, None);
                }
                let o = t * f + k * pn;
                self.write_features(&mut feats[o..o + pn]);
            }
        }
        if feats.iter().any(|v| !v.is_finite()) {
            return Err("the integration diverged (non-finite state); reduce --dt".into());
        }
        Ok(())
    }

    /// Gradient of sum_t,j G[t, j] feature[t, j] with respect to the packed
    /// parameters (written to `grad`), for the forward pass just run with
    /// the same `phys`, `theta` and `u`.
    pub fn backward(&mut self, phys: &ResPhysics, theta: &[f64], u: &[f64], g_feat: &[f64], grad: &mut [f64]) -> Result<(), String> {
        let sh = self.sh;
        let (n, f, pn) = (sh.n, sh.f(), sh.per_node());
        if u.len() != sh.holds || g_feat.len() != sh.holds * f || grad.len() != sh.n_theta() {
            return Err("input, feature-gradient or gradient buffer size does not match the reservoir shape".into());
        }
        let dr = self.drive(phys, theta)?;
        for v in grad.iter_mut() {
            *v = 0.0;
        }
        for v in self.adj.lam.iter_mut() {
            *v = 0.0;
        }
        let (sf, sc) = (theta[n + TH_SF], theta[n + TH_SC]);
        let mut g_alpha = 0.0;
        let mut g_as_total = 0.0; // sum over STOs and intervals of dL/da_s
                                  // holds after the last nonzero feature gradient contribute nothing:
                                  // the adjoint starts at the segment holding it
        let t_last = (0..sh.holds).rev().find(|&t| g_feat[t * f..(t + 1) * f].iter().any(|&v| v != 0.0));
        let segs = match t_last {
            Some(t) => t / sh.every + 1,
            None => 0,
        };
        for seg in (0..segs).rev() {
            let t0 = seg * sh.every;
            let t1 = (t0 + sh.every).min(sh.holds);
            // recompute the segment from its checkpoint, recording every step
            self.m.copy_from_slice(&self.ckpt[seg * 3 * n..(seg + 1) * 3 * n]);
            let mut ls = 0;
            for &ut in &u[t0..t1] {
                for k in 0..sh.k {
                    self.set_interval(&dr, theta, k, ut);
                    for _ in 0..sh.sub {
                        self.step(&dr, Some(ls));
                        ls += 1;
                    }
                }
            }
            // adjoint through the segment, last interval first
            for t in (t0..t1).rev() {
                for k in (0..sh.k).rev() {
                    // the feature (t, k) is the state after this interval
                    let go = &g_feat[t * f + k * pn..t * f + (k + 1) * pn];
                    let first = if sh.feat == Feat::Mz { 2 * n } else { 0 };
                    for (l, g) in self.adj.lam[first..first + pn].iter_mut().zip(go) {
                        *l += *g;
                    }
                    self.set_interval(&dr, theta, k, u[t]);
                    for v in self.g_hx.iter_mut().chain(self.g_as.iter_mut()) {
                        *v = 0.0;
                    }
                    for _ in 0..sh.sub {
                        ls -= 1;
                        g_alpha += self.step_adjoint(ls, &dr, grad);
                    }
                    // interval parameters: h_in,i = s_f W[k,i] u, a_s,i = c (j + s_c W[k,i] u)
                    let woff = n + 4 + k * n;
                    for i in 0..n {
                        let w = theta[woff + i];
                        let (ghx, gas) = (self.g_hx[i], self.g_as[i]);
                        g_as_total += gas;
                        grad[n + TH_SF] += ghx * w * u[t];
                        grad[n + TH_SC] += gas * dr.c_as * w * u[t];
                        grad[woff + i] += (ghx * sf + gas * dr.c_as * sc) * u[t];
                    }
                }
            }
        }
        grad[n + TH_JDC] = g_as_total * dr.c_as;
        grad[n + TH_ALPHA] = g_alpha;
        if grad.iter().any(|v| !v.is_finite()) {
            return Err("the gradient is not finite".into());
        }
        Ok(())
    }

    /// Reverse of recorded step `ls` (the shared coupled-step adjoint):
    /// self.adj.lam (adjoint of the state after the step) becomes the
    /// adjoint of the state before it; H_appl gradients go to grad[0..N],
    /// the interval's field and a_s adjoints to g_hx, g_as; returns the
    /// alpha adjoint.
    fn step_adjoint(&mut self, ls: usize, dr: &Drive, grad: &mut [f64]) -> f64 {
        let n = self.sh.n;
        let cm = dr.cm;
        let mut g_alpha = 0.0;
        let rec = RecordedStep {
            stages: &self.rec_st[4 * ls * 3 * n..4 * (ls + 1) * 3 * n],
            hx: &self.rec_hx[4 * ls * n..4 * (ls + 1) * n],
            after: &self.rec_after[ls * 3 * n..(ls + 1) * 3 * n],
            nrm: Some(&self.rec_nrm[ls * n..(ls + 1) * n]),
        };
        let w_cp = &self.w_cp;
        let (g_hx, g_as) = (&mut self.g_hx, &mut self.g_as);
        self.adj.step_back(
            n,
            1,
            dr.dt,
            &rec,
            &self.der,
            // h_x,i = CM sum_l w_il x_l,x: lam_x,l += CM sum_i w_il lam_h,i
            |lamh, lamx| {
                for (row, &lh) in w_cp.chunks_exact(n).zip(lamh) {
                    let gi = cm * lh;
                    if gi != 0.0 {
                        for (lx, w) in lamx.iter_mut().zip(row) {
                            *lx += w * gi;
                        }
                    }
                }
            },
            |i, lhx, lha, las, lal| {
                grad[i] += lha;
                g_hx[i] += lhx;
                g_as[i] += las;
                g_alpha += lal;
            },
        );
        g_alpha
    }
}

/// Floating-point operations of one forward RK4 step of N coupled STOs
/// (coupling 2N^2 + 2N per stage, right-hand side, stage arithmetic,
/// renormalization), for the bench's work figure.
pub fn flops_per_step(n: usize) -> f64 {
    let n = n as f64;
    4.0 * (2.0 * n * n + 2.0 * n + crate::network::RHS_FLOPS as f64 * n) + 52.0 * n
}

// ---------------------------------------------------------------------
// Ridge readout
// ---------------------------------------------------------------------

/// Gram matrix of the rows t0..t1 of X (T x F) with a bias column of ones
/// appended: gram (F+1) x (F+1) and xty (F+1) x n_out with Y (T x n_out).
#[allow(clippy::too_many_arguments)] // the flat ABI's arguments: matrices with their sizes and row range
pub fn gram(x: &[f64], f: usize, t0: usize, t1: usize, y: &[f64], n_out: usize, gram: &mut [f64], xty: &mut [f64]) {
    let f1 = f + 1;
    for v in gram.iter_mut().chain(xty.iter_mut()) {
        *v = 0.0;
    }
    let mut row = vec![0.0; f1];
    for t in t0..t1 {
        row[..f].copy_from_slice(&x[t * f..(t + 1) * f]);
        row[f] = 1.0;
        for a in 0..f1 {
            let ra = row[a];
            let g = &mut gram[a * f1..a * f1 + a + 1];
            for (gv, rb) in g.iter_mut().zip(&row[..a + 1]) {
                *gv += ra * rb;
            }
            for o in 0..n_out {
                xty[a * n_out + o] += ra * y[t * n_out + o];
            }
        }
    }
    for a in 0..f1 {
        for b in 0..a {
            gram[b * f1 + a] = gram[a * f1 + b];
        }
    }
}

/// Solve (gram + lambda D) W = xty by Cholesky, D = identity without the
/// bias entry (the bias is not penalized). W is (F+1) x n_out. Fails if the
/// matrix is not positive definite.
#[allow(clippy::neg_cmp_op_on_partial_ord)] // !(d > ...) is meant to be true for a NaN pivot too
pub fn ridge_solve(gram: &[f64], xty: &[f64], f1: usize, n_out: usize, lambda: f64, w: &mut [f64]) -> Result<(), String> {
    let mut l = gram[..f1 * f1].to_vec();
    for a in 0..f1 - 1 {
        l[a * f1 + a] += lambda;
    }
    // Cholesky, lower triangle in place
    for j in 0..f1 {
        let mut d = l[j * f1 + j];
        for p in 0..j {
            d -= l[j * f1 + p] * l[j * f1 + p];
        }
        // a pivot lost to rounding (relative to the diagonal) is singular too
        if !(d > 1e-12 * l[j * f1 + j].abs()) || !d.is_finite() {
            return Err(format!("ridge system not positive definite at lambda {:e} (features constant or collinear)", lambda));
        }
        let d = d.sqrt();
        l[j * f1 + j] = d;
        for i in j + 1..f1 {
            let mut s = l[i * f1 + j];
            for p in 0..j {
                s -= l[i * f1 + p] * l[j * f1 + p];
            }
            l[i * f1 + j] = s / d;
        }
    }
    for o in 0..n_out {
        let mut z = vec![0.0; f1];
        for i in 0..f1 {
            let mut s = xty[i * n_out + o];
            for p in 0..i {
                s -= l[i * f1 + p] * z[p];
            }
            z[i] = s / l[i * f1 + i];
        }
        for i in (0..f1).rev() {
            let mut s = z[i];
            for p in i + 1..f1 {
                s -= l[p * f1 + i] * w[p * n_out + o];
            }
            w[i * n_out + o] = s / l[i * f1 + i];
        }
    }
    Ok(())
}

/// Predictions for rows t0..t1: yhat (t1 - t0) x n_out = [X 1] W.
pub fn predict(x: &[f64], f: usize, t0: usize, t1: usize, w: &[f64], n_out: usize, yhat: &mut [f64]) {
    for t in t0..t1 {
        let r = &x[t * f..(t + 1) * f];
        for o in 0..n_out {
            let mut s = w[f * n_out + o];
            for (a, xv) in r.iter().enumerate() {
                s += xv * w[a * n_out + o];
            }
            yhat[(t - t0) * n_out + o] = s;
        }
    }
}

/// The readout objective on rows t0..t1 for a fixed W,
///   L = sum_o [ sum_t (yhat_to - y_to)^2 + lambda |w_o|^2 ] / ((t1 - t0) var_o),
/// (var_o the variance of target o over those rows; the bias not penalized)
/// and its gradient with respect to the features: G (T x F, zero outside
/// t0..t1). At the ridge solution W* for the same rows and lambda, dL/dW = 0,
/// so G is the exact gradient of the ridge-optimal loss (envelope theorem).
#[allow(clippy::too_many_arguments)] // the flat ABI's arguments: matrices with their sizes and row range
pub fn readout_loss(x: &[f64], f: usize, t0: usize, t1: usize, y: &[f64], n_out: usize, w: &[f64], lambda: f64, g: &mut [f64]) -> f64 {
    let nt = (t1 - t0) as f64;
    let mut scale = vec![0.0; n_out];
    for o in 0..n_out {
        let mean = (t0..t1).map(|t| y[t * n_out + o]).sum::<f64>() / nt;
        let var = (t0..t1).map(|t| (y[t * n_out + o] - mean).powi(2)).sum::<f64>() / nt;
        scale[o] = 1.0 / (nt * if var > 0.0 { var } else { 1.0 });
    }
    for v in g.iter_mut() {
        *v = 0.0;
    }
    let mut loss = 0.0;
    for o in 0..n_out {
        let pen: f64 = (0..f).map(|a| w[a * n_out + o] * w[a * n_out + o]).sum();
        loss += lambda * pen * scale[o];
    }
    for t in t0..t1 {
        let r = &x[t * f..(t + 1) * f];
        for o in 0..n_out {
            let mut s = w[f * n_out + o];
            for (a, xv) in r.iter().enumerate() {
                s += xv * w[a * n_out + o];
            }
            let e = s - y[t * n_out + o];
            loss += e * e * scale[o];
            let ge = 2.0 * e * scale[o];
            let gr = &mut g[t * f..(t + 1) * f];
            for (a, gv) in gr.iter_mut().enumerate() {
                *gv += ge * w[a * n_out + o];
            }
        }
    }
    loss
}

// ---------------------------------------------------------------------
// Echo state network baseline
// ---------------------------------------------------------------------

/// x_t = tanh(rho W x_{t-1} + sigma w_in u_t + b), x_{-1} = 0; writes X (T x N).
/// W (N x N) should have spectral radius 1, so rho is the spectral radius.
#[allow(clippy::too_many_arguments)] // the flat ABI's arguments: weights, scales and series
pub fn esn_run(n: usize, w: &[f64], w_in: &[f64], bias: &[f64], rho: f64, sigma: f64, u: &[f64], x: &mut [f64]) {
    let mut prev = vec![0.0; n];
    for (t, &ut) in u.iter().enumerate() {
        for i in 0..n {
            let row = &w[i * n..(i + 1) * n];
            let mut s = 0.0;
            for l in 0..n {
                s += row[l] * prev[l];
            }
            x[t * n + i] = (rho * s + sigma * w_in[i] * ut + bias[i]).tanh();
        }
        prev.copy_from_slice(&x[t * n..(t + 1) * n]);
    }
}
