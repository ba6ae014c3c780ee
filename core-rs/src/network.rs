//! The coupled-STO network of paper eq. 5-8 and its discrete adjoint.
//!
//! Forward, for one image u (pixels in [0, 1]):
//!   v = W_in u (3N numbers), m_i(0) = v_i / |v_i| for each STO i;
//!   `steps` RK4 steps of length dt of the N coupled LLG equations, the
//!   coupling field H_i = CM sum_k w_ik m_k,x along e_x (eq. 8) evaluated at
//!   every RK4 stage input, each step followed by renormalization |m_i| = 1;
//!   or, with `X0Norm::Raw`, m_i(0) = v_i as it is and no renormalization
//!   (the LLG flow keeps |m_i| = |v_i|; see `X0Norm`);
//!   y = W_out [m(T); 1] (10 logits), softmax cross-entropy.
//! Features (rows of W_in, columns of W_out) are component-major: index
//! c N + i is component c (x, y, z) of STO i; column 3N of W_out is the bias.
//!
//! Backward: the exact gradient of this discretized forward pass (discrete
//! adjoint of each RK4 step, renormalization and the initial normalization),
//! with respect to W_in, W_out, every STO's H_appl, j_DC and alpha.
//!
//! Images sit in SIMD lanes (`S` = F32x4 or F64x2): every state array is
//! lane-major (see gemm.rs), so the W_in product and the coupling are
//! products over the whole batch. The LLG right-hand side is the generic
//! `llg_rhs`; the RK4 tableau is rk4.rs's; the adjoint of each coupled RK4
//! step, with the hand-derived vector-Jacobian product `rhs_vjp` (checked
//! against dual numbers in the tests), is coupled_adjoint.rs's, shared with
//! the reservoir. `Net::step` runs four stages: `load_inputs`, `forward`,
//! `readout_loss`, `backward` (which calls `adjoint_dynamics`). All buffers
//! live in `Net`, allocated once; nothing allocates in the time loops.

pub use crate::coupled_adjoint::rhs_vjp;
use crate::coupled_adjoint::{CoupledAdjoint, RecordedStep};
use crate::gemm::{gemm_lanes, hsum, outer_lanes};
use crate::params::{Derived, Params};
use crate::rk4::{RK4_NODES, RK4_WEIGHTS, RK4_WEIGHT_DENOM};
use crate::scalar::{Lanes, Scalar};
use crate::torque::llg_rhs;
use crate::vec3::V3;

/// Sizes fixed for the life of a `Net`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// Number of STOs N.
    pub n: usize,
    /// Input size (784 for MNIST).
    pub n_in: usize,
    /// Number of classes (10).
    pub n_out: usize,
    /// RK4 steps from x(0) to x(T).
    pub steps: usize,
    /// Largest batch a call may pass.
    pub max_batch: usize,
    /// How x(0) = W_in u becomes the initial magnetization.
    pub x0: X0Norm,
}

/// The initial state of each STO from its three inputs v = (W_in u)_i.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum X0Norm {
    /// m(0) = v/|v| and |m| = 1 restored after every RK4 step (paper text:
    /// "the norm of magnetization is always set to 1").
    Unit,
    /// m(0) = v, never renormalized: eq. 5-6 taken literally. The LLG
    /// right-hand side is orthogonal to m, so the exact flow keeps |m| = |v|
    /// (an STO with |m| = r moves like a unit macrospin with H_K - 4 pi M,
    /// j_DC, lambda and alpha scaled by r: the input's size enters the
    /// dynamics). RK4 itself does not: at 50 ps steps (about 1.5 rad of
    /// precession each) every step shrinks |m| by several per cent.
    Raw,
}

impl X0Norm {
    pub fn from_code(c: u32) -> Result<X0Norm, String> {
        match c {
            0 => Ok(X0Norm::Unit),
            1 => Ok(X0Norm::Raw),
            _ => Err(format!("unknown x(0) normalization code {}", c)),
        }
    }
}

impl Shape {
    pub fn check(&self) -> Result<(), String> {
        if self.n == 0 || self.n_in == 0 || self.n_out < 2 || self.n_out > MAX_OUT || self.max_batch == 0 {
            return Err(format!("bad network shape {:?}", self));
        }
        if self.n > 100_000 || self.n_in > 1_000_000 || self.n_out > 10_000 || self.steps > 100_000 || self.max_batch > 100_000 {
            return Err(format!("network shape too large {:?}", self));
        }
        Ok(())
    }
    /// Feature count 3N.
    pub fn f(&self) -> usize {
        3 * self.n
    }
    /// Row length of W_out: 3N + 1 (bias last).
    pub fn f1(&self) -> usize {
        3 * self.n + 1
    }
}

/// Shared physics of a call: Table I parameters (their H_appl is ignored:
/// each STO has its own), the step and the coupling strength.
#[derive(Clone, Copy)]
pub struct Physics {
    pub params: Params<f64>,
    pub dt_s: f64,
    /// A_cp of eq. (8) [Oe].
    pub cm_oe: f64,
}

/// The trainable and fixed weights, as scalars of the working precision.
pub struct Model<'a, E> {
    /// Coupling w (N x N, row-major), already scaled to spectral radius 1.
    pub w_cp: &'a [E],
    /// W_in (3N x n_in, row-major).
    pub w_in: &'a [E],
    /// W_out (n_out x (3N + 1), row-major, bias last).
    pub w_out: &'a [E],
    /// H_appl of each STO [Oe] (N).
    pub h_appl: &'a [E],
}

/// Gradients of `grad_scale` times the summed loss; overwritten by `step`.
pub struct Grads<'a, E> {
    pub w_in: &'a mut [E],
    pub w_out: &'a mut [E],
    pub h_appl: &'a mut [E],
    /// d/d j_DC [1/A] and d/d alpha.
    pub j_dc: f64,
    pub alpha: f64,
}

/// Which gradients a call computes. Nothing = forward only (evaluation).
#[derive(Clone, Copy, Debug, Default)]
pub struct Want {
    pub w_in: bool,
    pub w_out: bool,
    pub phys: bool,
}

impl Want {
    pub fn from_bits(b: u32) -> Want {
        Want { w_in: b & 1 != 0, w_out: b & 2 != 0, phys: b & 4 != 0 }
    }
    pub fn backward_through_dynamics(&self) -> bool {
        self.w_in || self.phys
    }
}

/// Summed cross-entropy loss and number of correct predictions of a batch.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
    pub loss_sum: f64,
    pub correct: usize,
}

/// The product x(0) = W_in u and the W_in gradient done outside the step,
/// by rows, in other threads (`ImageLanes`), so that W_in never crosses
/// between threads: `x0` given (what W_in u would be: W_in and the images
/// are then not read), and/or `lamv` receiving dL/dx(0) (the W_in gradient's
/// left factor) instead of the step computing the W_in gradient (which is
/// then left as it is). Both 3N x g lane vectors stored as scalars (lane l of
/// group j of row r at (r g + j) N + l), any alignment.
pub struct Split<'a, E> {
    pub x0: Option<&'a [E]>,
    pub lamv: Option<&'a mut [E]>,
}

/// Floating-point operations (+, -, *, /, sqrt, negation) of one `llg_rhs`
/// evaluation with h_ext = (hx, 0, 0) and of one `rhs_vjp`; pinned by a
/// counting-scalar test in tests/network.rs.
pub const RHS_FLOPS: usize = 51;
pub const RHS_VJP_FLOPS: usize = 147;

/// Floating-point operations per image of `Net::step` as written (dense
/// products 2 per multiply-add; the per-STO work from the constants above
/// and the stage arithmetic in `step`; exp/log of the softmax counted as 1).
pub fn flops_per_image(sh: &Shape, want: Want) -> f64 {
    let (n, f, n_in, n_out, steps) = (sh.n as f64, sh.f() as f64, sh.n_in as f64, sh.n_out as f64, sh.steps as f64);
    let unit = if sh.x0 == X0Norm::Unit { 1.0 } else { 0.0 };
    let normalize = 10.0 * unit; // dot 5, sqrt, div, scale 3
    let mut fl = 2.0 * f * n_in + normalize * n;
    // per step: 4 stages of coupling (2N^2 + N scaling) and RHS; stage
    // arithmetic 6 + 12 + 12 + 12 and the renormalization
    fl += steps * (4.0 * ((2.0 * n * n + n) + RHS_FLOPS as f64 * n) + (42.0 + normalize) * n);
    fl += 2.0 * n_out * f + n_out + 4.0 * n_out; // readout, bias, softmax
    if want.w_out {
        fl += 2.0 * n_out * f + n_out;
    }
    if want.backward_through_dynamics() {
        fl += 2.0 * f * n_out;
        // per step: projection (18 per STO), 4 stages of VJP, transposed
        // coupling (2N^2 + 2N), accumulations (3 + 3 per STO) and 3 stage
        // combinations (9 per STO)
        fl += steps * (18.0 * unit * n + 4.0 * ((RHS_VJP_FLOPS as f64 + 6.0) * n + 2.0 * n * n + 2.0 * n) + 3.0 * 9.0 * n);
        fl += 22.0 * unit * n; // initial normalization
        if want.w_in {
            fl += 2.0 * f * n_in;
        }
    }
    fl
}

/// A network evaluator with all its workspace; `S` holds `S::N` images.
pub struct Net<S: Lanes> {
    shape: Shape,
    u: Vec<S>,
    v0: Vec<S>,
    /// stage inputs: block 4 s + q for step s, stage q; block 4 steps = m(T).
    st: Vec<S>,
    /// coupling fields per stage, block 4 s + q.
    hf: Vec<S>,
    /// |m~| per step.
    nrm: Vec<S>,
    kacc: Vec<S>,
    y: Vec<S>,
    delta: Vec<S>,
    /// the adjoint's state and workspace (coupled_adjoint.rs)
    adj: CoupledAdjoint<S>,
    gha: Vec<S>,
    w_cp_t: Vec<S::Elem>,
    w_out_t: Vec<S::Elem>,
    der: Vec<Derived<S>>,
    /// lane groups of the last batch (0 before the first step)
    last_groups: usize,
}

impl<S: Lanes> Net<S>
where
    S::Elem: Scalar + Into<f64>,
{
    pub fn new(shape: Shape) -> Result<Self, String> {
        shape.check()?;
        let g = (shape.max_batch + S::N - 1) / S::N;
        let (n, f) = (shape.n, shape.f());
        let z = S::zero();
        let blocks = 4 * shape.steps + 1;
        let d0 = Params::paper().map(S::cst).derive();
        Ok(Net {
            shape,
            u: vec![z; shape.n_in * g],
            v0: vec![z; f * g],
            st: vec![z; blocks * f * g],
            hf: vec![z; 4 * shape.steps * n * g],
            nrm: vec![z; shape.steps * n * g],
            kacc: vec![z; f * g],
            y: vec![z; shape.n_out * g],
            delta: vec![z; shape.n_out * g],
            adj: CoupledAdjoint::new(n, g),
            gha: vec![z; n * g],
            w_cp_t: vec![S::Elem::zero(); n * n],
            w_out_t: vec![S::Elem::zero(); f * shape.n_out],
            der: vec![d0; n],
            last_groups: 0,
        })
    }

    pub fn shape(&self) -> Shape {
        self.shape
    }

    /// The states of image `image` of the last forward pass at t = s dt,
    /// s = 0..=steps, into `out` as [s][c N + i] (supplement Fig. 8).
    pub fn trajectory(&self, image: usize, out: &mut [f64]) -> Result<(), String> {
        let (f, steps, g) = (self.shape.f(), self.shape.steps, self.last_groups);
        if image >= g * S::N {
            return Err(format!("image {} is not in the last batch", image));
        }
        if out.len() < (steps + 1) * f {
            return Err("trajectory buffer too short".into());
        }
        let (j, l) = (image / S::N, image % S::N);
        let bs = f * g;
        for s in 0..=steps {
            for k in 0..f {
                out[s * f + k] = Into::<f64>::into(self.st[4 * s * bs + k * g + j].lane(l));
            }
        }
        Ok(())
    }

    /// Forward pass of `batch` images (u8 pixels, image-major, scaled by
    /// 1/255) with labels, and, as `want` asks, the gradients of
    /// `grad_scale` times the summed cross-entropy. Returns the summed loss
    /// and the number of correct predictions.
    /// Stages: `load_inputs` (x(0) = W_in u), `forward` (RK4 through time),
    /// `readout_loss` (softmax cross-entropy), `backward` (the adjoint).
    #[allow(clippy::too_many_arguments)] // mirrors the flat ABI call: every buffer and option is its own argument
    pub fn step(
        &mut self,
        phys: &Physics,
        model: &Model<S::Elem>,
        images: &[u8],
        labels: &[u8],
        batch: usize,
        grad_scale: f64,
        want: Want,
        grads: &mut Grads<S::Elem>,
    ) -> Result<Stats, String> {
        self.step_split(phys, model, images, labels, batch, grad_scale, want, grads, Split { x0: None, lamv: None })
    }

    /// `step` with x(0) given and/or the W_in gradient's factor returned
    /// (`Split`); the same arithmetic as `step` (bit-identical results).
    #[allow(clippy::too_many_arguments)] // mirrors the flat ABI call: every buffer and option is its own argument
    pub fn step_split(
        &mut self,
        phys: &Physics,
        model: &Model<S::Elem>,
        images: &[u8],
        labels: &[u8],
        batch: usize,
        grad_scale: f64,
        want: Want,
        grads: &mut Grads<S::Elem>,
        split: Split<S::Elem>,
    ) -> Result<Stats, String> {
        let g = (batch + S::N - 1) / S::N;
        let bs = self.shape.f() * g;
        // the images are read to form x(0) or the W_in gradient here
        let images_needed = split.x0.is_none() || (want.w_in && split.lamv.is_none());
        self.check_call(phys, model, images_needed.then_some(images), labels, batch, grads)?;
        if split.x0.map_or(false, |x| x.len() < bs * S::N) || split.lamv.as_ref().map_or(false, |l| l.len() < bs * S::N) {
            return Err("x(0) or lamv buffer too short".into());
        }
        self.last_groups = g;
        self.load_inputs(phys, model, images_needed.then_some(images), split.x0, batch, g);
        self.forward(phys, model, g);
        let stats = self.readout_loss(model, labels, batch, grad_scale, g)?;
        self.backward(phys, model, want, g, grads, split.lamv);
        Ok(stats)
    }

    /// Every buffer size, label and physical parameter of a `step` call.
    fn check_call(
        &self,
        phys: &Physics,
        model: &Model<S::Elem>,
        images: Option<&[u8]>,
        labels: &[u8],
        batch: usize,
        grads: &Grads<S::Elem>,
    ) -> Result<(), String> {
        let sh = self.shape;
        let (n, f, f1, n_in, n_out) = (sh.n, sh.f(), sh.f1(), sh.n_in, sh.n_out);
        if batch == 0 || batch > sh.max_batch {
            return Err(format!("batch {} outside 1..={}", batch, sh.max_batch));
        }
        if images.map_or(false, |im| im.len() < batch * n_in) || labels.len() < batch {
            return Err("image or label buffer too short".into());
        }
        if model.w_cp.len() != n * n || model.w_in.len() != f * n_in || model.w_out.len() != n_out * f1 || model.h_appl.len() != n {
            return Err("weight buffer sizes do not match the network shape".into());
        }
        if grads.w_in.len() != f * n_in || grads.w_out.len() != n_out * f1 || grads.h_appl.len() != n {
            return Err("gradient buffer sizes do not match the network shape".into());
        }
        if let Some(&l) = labels[..batch].iter().find(|&&l| l as usize >= n_out) {
            return Err(format!("label {} out of range 0..{}", l, n_out));
        }
        phys.params.check()?;
        if !(phys.dt_s > 0.0 && phys.dt_s.is_finite() && phys.cm_oe.is_finite()) {
            return Err("time step must be positive and coupling finite".into());
        }
        if model.h_appl.iter().any(|&h| !Into::<f64>::into(h).is_finite()) {
            return Err("H_appl is not finite".into());
        }
        Ok(())
    }

    /// Load inputs: the images into lanes, each STO's derived parameters,
    /// the transposed coupling for the adjoint, and x(0) = W_in u (or the
    /// given `x0`) normalized per STO (or taken as it is) into stage block 0.
    fn load_inputs(&mut self, phys: &Physics, model: &Model<S::Elem>, images: Option<&[u8]>, x0: Option<&[S::Elem]>, batch: usize, g: usize) {
        let sh = self.shape;
        let (n, f, n_in) = (sh.n, sh.f(), sh.n_in);
        let bs = f * g;
        if let Some(images) = images {
            images_to_lanes(images, batch, n_in, g, &mut self.u[..n_in * g]);
        }
        // Per-STO derived parameters: shared j_DC and alpha, own H_appl.
        let base = phys.params.map(S::cst).derive();
        for (d, &h) in self.der.iter_mut().zip(model.h_appl) {
            *d = base;
            d.h_appl_oe = S::splat(h);
        }
        for i in 0..n {
            for k in 0..n {
                self.w_cp_t[k * n + i] = model.w_cp[i * n + k];
            }
        }
        let unit = sh.x0 == X0Norm::Unit;
        match x0 {
            Some(x0) => from_scalars(x0, &mut self.v0[..bs]),
            None => gemm_lanes::<S>(f, n_in, model.w_in, n_in, S::Elem::one(), &self.u[..n_in * g], g, &mut self.v0[..bs], false),
        }
        let m0 = &mut self.st[..bs];
        for i in 0..n {
            for j in 0..g {
                let (a, b, c) = (i * g + j, (n + i) * g + j, (2 * n + i) * g + j);
                let v = V3::new(self.v0[a], self.v0[b], self.v0[c]);
                let v = if unit { v.normalized() } else { v };
                m0[a] = v.x;
                m0[b] = v.y;
                m0[c] = v.z;
            }
        }
    }

    /// Forward: `steps` RK4 steps from x(0), stage by stage over all STOs
    /// and images (the coupling needs every stage input first), recording
    /// the stage inputs, coupling fields and norms for the adjoint.
    fn forward(&mut self, phys: &Physics, model: &Model<S::Elem>, g: usize) {
        let sh = self.shape;
        let n = sh.n;
        let (bs, ng) = (sh.f() * g, n * g);
        let unit = sh.x0 == X0Norm::Unit;
        let cm = S::Elem::cst(phys.cm_oe);
        let dt = S::cst(phys.dt_s);
        for s in 0..sh.steps {
            for q in 0..4 {
                let blk = 4 * s + q;
                let (before, after) = self.st.split_at_mut((blk + 1) * bs);
                let x_in = &before[blk * bs..blk * bs + bs];
                let hf = &mut self.hf[blk * ng..(blk + 1) * ng];
                gemm_lanes::<S>(n, n, model.w_cp, n, cm, &x_in[..ng], g, hf, false);
                let st = Stage {
                    m: &before[4 * s * bs..4 * s * bs + bs],
                    x_in,
                    hf,
                    kacc: &mut self.kacc[..bs],
                    out: &mut after[..bs],
                    nrm: &mut self.nrm[s * ng..(s + 1) * ng],
                    der: &self.der,
                    n,
                    g,
                };
                // constants of the stage, once (the same values the per-element expressions gave)
                let (bq, cdt, h6) = (S::cst(RK4_WEIGHTS[q]), dt * S::cst(RK4_NODES[q.min(2)]), dt / S::cst(RK4_WEIGHT_DENOM));
                match (q, unit) {
                    (0, _) => st.run::<0, false>(bq, cdt, h6),
                    (1 | 2, _) => st.run::<1, false>(bq, cdt, h6),
                    (_, true) => st.run::<3, true>(bq, cdt, h6),
                    (_, false) => st.run::<3, false>(bq, cdt, h6),
                }
            }
        }
    }

    /// Readout y = W_out m(T) + bias and softmax cross-entropy; leaves
    /// delta = grad_scale dL/dy in `self.delta` (zero in padding lanes).
    fn readout_loss(&mut self, model: &Model<S::Elem>, labels: &[u8], batch: usize, grad_scale: f64, g: usize) -> Result<Stats, String> {
        let sh = self.shape;
        let (f, f1, n_out) = (sh.f(), sh.f1(), sh.n_out);
        let bs = f * g;
        let mt_off = 4 * sh.steps * bs;
        gemm_lanes::<S>(n_out, f, model.w_out, f1, S::Elem::one(), &self.st[mt_off..mt_off + bs], g, &mut self.y[..n_out * g], false);
        let mut stats = Stats::default();
        let mut z = [0f64; MAX_OUT];
        for j in 0..g {
            let mut dl = [[0f64; MAX_LANES]; MAX_OUT];
            for l in 0..S::N {
                let b = j * S::N + l;
                if b >= batch {
                    continue; // padding lane: zero output gradient
                }
                let mut zmax = f64::NEG_INFINITY;
                let mut arg = 0;
                for (o, zv) in z.iter_mut().enumerate().take(n_out) {
                    let zo = Into::<f64>::into(self.y[o * g + j].lane(l)) + Into::<f64>::into(model.w_out[o * f1 + f]);
                    *zv = zo;
                    if zo > zmax {
                        zmax = zo;
                        arg = o;
                    }
                }
                let lab = labels[b] as usize;
                let mut sum = 0.0;
                for zo in z.iter().take(n_out) {
                    sum += (*zo - zmax).exp();
                }
                // -log softmax(z)[lab] = log sum exp(z - zmax) - (z_lab - zmax)
                stats.loss_sum += sum.ln() - (z[lab] - zmax);
                if arg == lab {
                    stats.correct += 1;
                }
                for (o, dlo) in dl.iter_mut().enumerate().take(n_out) {
                    let p = (z[o] - zmax).exp() / sum;
                    dlo[l] = grad_scale * (p - if o == lab { 1.0 } else { 0.0 });
                }
            }
            for (o, dlo) in dl.iter().enumerate().take(n_out) {
                self.delta[o * g + j] = S::from_fn(|l| S::Elem::cst(dlo[l]));
            }
        }
        if !stats.loss_sum.is_finite() {
            return Err("loss is not finite (the integration diverged; reduce --dt)".into());
        }
        Ok(stats)
    }

    /// Backward: the gradients `want` asks for, from `self.delta`: W_out
    /// and the bias directly, then (for W_in or the physics) the adjoint
    /// through the readout, the dynamics (`adjoint_dynamics`) and x(0).
    fn backward(&mut self, phys: &Physics, model: &Model<S::Elem>, want: Want, g: usize, grads: &mut Grads<S::Elem>, lamv_out: Option<&mut [S::Elem]>) {
        let sh = self.shape;
        let (n, f, f1, n_in, n_out) = (sh.n, sh.f(), sh.f1(), sh.n_in, sh.n_out);
        let bs = f * g;
        let mt_off = 4 * sh.steps * bs;
        // what `want` asks for is written whole below (as if zeroed first); the rest is zero
        let z = S::Elem::zero();
        if !want.w_in {
            grads.w_in.fill(z);
        }
        if !want.w_out {
            grads.w_out.fill(z);
        }
        if !want.phys {
            grads.h_appl.fill(z);
        }
        grads.j_dc = 0.0;
        grads.alpha = 0.0;
        if want.w_out {
            outer_lanes::<S>(n_out, f, &self.delta[..n_out * g], &self.st[mt_off..mt_off + bs], g, S::Elem::one(), grads.w_out, f1, false);
            for o in 0..n_out {
                let mut s = S::zero();
                for j in 0..g {
                    s = s + self.delta[o * g + j];
                }
                grads.w_out[o * f1 + f] = hsum(s);
            }
        }
        if !want.backward_through_dynamics() {
            return;
        }
        for o in 0..n_out {
            for r in 0..f {
                self.w_out_t[r * n_out + o] = model.w_out[o * f1 + r];
            }
        }
        // lam = dL/dm(T) = W_out^T delta
        gemm_lanes::<S>(f, n_out, &self.w_out_t, n_out, S::Elem::one(), &self.delta[..n_out * g], g, &mut self.adj.lam[..bs], false);
        let (gas, galpha) = self.adjoint_dynamics(phys, g);
        // initial normalization m0 = v/|v|: lam_v = (lam - m0 (m0.lam)) / |v|
        // (Raw: m0 = v, lam_v = lam)
        let unit = sh.x0 == X0Norm::Unit;
        let (lam, lamv) = (&self.adj.lam, &mut self.adj.lamt);
        for i in 0..n {
            for j in 0..g {
                let (a, b, c) = (i * g + j, (n + i) * g + j, (2 * n + i) * g + j);
                let l = V3::new(lam[a], lam[b], lam[c]);
                let lv = if unit {
                    let v = V3::new(self.v0[a], self.v0[b], self.v0[c]);
                    let r = v.dot(v).sqrt();
                    let m0 = v.scale(S::one() / r);
                    l.axpy(-m0.dot(l), m0).scale(S::one() / r)
                } else {
                    l
                };
                lamv[a] = lv.x;
                lamv[b] = lv.y;
                lamv[c] = lv.z;
            }
        }
        if want.w_in {
            match lamv_out {
                Some(out) => to_scalars(&lamv[..bs], out),
                None => outer_lanes::<S>(f, n_in, &lamv[..bs], &self.u[..n_in * g], g, S::Elem::one(), grads.w_in, n_in, false),
            }
        }
        if want.phys {
            for i in 0..n {
                let mut s = S::zero();
                for j in 0..g {
                    s = s + self.gha[i * g + j];
                }
                grads.h_appl[i] = hsum(s);
            }
            // a_s is proportional to j_DC: d a_s / d j = a_s(j = 1)
            let mut unit = phys.params;
            unit.j_dc_a = 1.0;
            let das_dj = unit.derive().a_s_oe;
            grads.j_dc = lane_sum_f64(gas) * das_dj;
            grads.alpha = lane_sum_f64(galpha);
        }
    }

    /// The adjoint through the dynamics: `self.adj.lam` goes from dL/dm(T)
    /// to dL/dm(0), one RK4 step at a time, last step first (the shared
    /// coupled-step adjoint, coupled_adjoint.rs). Accumulates the H_appl
    /// adjoint per STO and lane in `self.gha`; returns the a_s and alpha
    /// adjoints summed over STOs and steps (lanes still apart).
    fn adjoint_dynamics(&mut self, phys: &Physics, g: usize) -> (S, S) {
        let sh = self.shape;
        let n = sh.n;
        let (bs, ng) = (sh.f() * g, n * g);
        let unit = sh.x0 == X0Norm::Unit;
        let cm = S::Elem::cst(phys.cm_oe);
        let dt = S::cst(phys.dt_s);
        for v in self.gha[..ng].iter_mut() {
            *v = S::zero();
        }
        let mut gas = S::zero();
        let mut galpha = S::zero();
        let w_cp_t = &self.w_cp_t;
        let gha = &mut self.gha;
        for s in (0..sh.steps).rev() {
            let rec = RecordedStep {
                stages: &self.st[4 * s * bs..4 * (s + 1) * bs],
                hx: &self.hf[4 * s * ng..4 * (s + 1) * ng],
                after: &self.st[4 * (s + 1) * bs..4 * (s + 1) * bs + bs],
                nrm: if unit { Some(&self.nrm[s * ng..(s + 1) * ng]) } else { None },
            };
            self.adj.step_back(
                n,
                g,
                dt,
                &rec,
                &self.der,
                |lamh, lamx| gemm_lanes::<S>(n, n, w_cp_t, n, cm, lamh, g, lamx, true),
                |ij, _lhx, lha, las, lal| {
                    gha[ij] = gha[ij] + lha;
                    gas = gas + las;
                    galpha = galpha + lal;
                },
            );
        }
        (gas, galpha)
    }
}

/// Images (u8 pixels, image-major, scaled by 1/255) into lanes, `g` lane
/// groups: u[p g + j] lane l = pixel p of image j N + l; padding lanes
/// repeat the last image (their output gradient is set to zero in
/// `readout_loss`).
fn images_to_lanes<S: Lanes>(images: &[u8], batch: usize, n_in: usize, g: usize, u: &mut [S])
where
    S::Elem: Scalar,
{
    let inv255 = 1.0 / 255.0;
    for p in 0..n_in {
        for j in 0..g {
            u[p * g + j] = S::from_fn(|l| {
                let b = (j * S::N + l).min(batch - 1);
                S::Elem::cst(images[b * n_in + p] as f64 * inv255)
            });
        }
    }
}

/// Lane vectors from scalars stored lane by lane (any alignment).
fn from_scalars<S: Lanes>(src: &[S::Elem], dst: &mut [S]) {
    for (d, c) in dst.iter_mut().zip(src.chunks_exact(S::N)) {
        *d = S::load(c);
    }
}

/// Lane vectors into scalars stored lane by lane.
fn to_scalars<S: Lanes>(src: &[S], dst: &mut [S::Elem]) {
    for (s, c) in src.iter().zip(dst.chunks_exact_mut(S::N)) {
        s.store(c);
    }
}

/// A batch of images in lanes as a `Net` holds them, for the two products
/// with W_in done by rows outside the step (`Split`): rows of x(0) = W_in u
/// and rows of the W_in gradient, with the same arithmetic as the step's
/// (bit-identical), so that each thread can own rows of W_in.
pub struct ImageLanes<S: Lanes> {
    n_in: usize,
    max_batch: usize,
    u: Vec<S>,
    g: usize,
    /// up to max_rows x g lane vectors
    rows: Vec<S>,
    max_rows: usize,
}

impl<S: Lanes> ImageLanes<S>
where
    S::Elem: Scalar,
{
    /// Up to `max_batch` images of `n_in` pixels, products of up to `max_rows` rows.
    pub fn new(n_in: usize, max_batch: usize, max_rows: usize) -> Result<Self, String> {
        if n_in == 0 || n_in > 1_000_000 || max_batch == 0 || max_batch > 100_000 || max_rows > 1_000_000 {
            return Err(format!("bad image batch size {} x {} or row count {}", max_batch, n_in, max_rows));
        }
        let g = (max_batch + S::N - 1) / S::N;
        Ok(ImageLanes { n_in, max_batch, u: vec![S::zero(); n_in * g], g: 0, rows: vec![S::zero(); max_rows * g], max_rows })
    }

    /// Lane groups of the loaded batch.
    pub fn groups(&self) -> usize {
        self.g
    }

    pub fn n_in(&self) -> usize {
        self.n_in
    }

    pub fn load(&mut self, images: &[u8], batch: usize) -> Result<(), String> {
        if batch == 0 || batch > self.max_batch || images.len() < batch * self.n_in {
            return Err(format!("batch {} outside 1..={} or image buffer too short", batch, self.max_batch));
        }
        self.g = (batch + S::N - 1) / S::N;
        images_to_lanes(images, batch, self.n_in, self.g, &mut self.u[..self.n_in * self.g]);
        Ok(())
    }

    fn rows_of(&mut self, rows: usize) -> &mut [S] {
        &mut self.rows[..rows * self.g]
    }

    /// out = w u for the rows of w (rows x n_in, row-major): rows of x(0) =
    /// W_in u, rows x g lane vectors stored as scalars (as `Split`).
    pub fn x0_rows(&mut self, w: &[S::Elem], rows: usize, out: &mut [S::Elem]) -> Result<(), String> {
        let (n_in, g) = (self.n_in, self.g);
        if g == 0 || rows > self.max_rows || w.len() < rows * n_in || out.len() < rows * g * S::N {
            return Err("no images loaded, too many rows, or weight or output buffer too short".into());
        }
        let u = std::mem::take(&mut self.u);
        let y = self.rows_of(rows);
        gemm_lanes::<S>(rows, n_in, w, n_in, S::Elem::one(), &u[..n_in * g], g, y, false);
        to_scalars(y, out);
        self.u = u;
        Ok(())
    }

    /// out[r ldo + p] = sum over the images of lam[r] u[p] for the rows of
    /// lam (rows of dL/dx(0), stored as `Split`): rows of the W_in gradient.
    pub fn outer_rows(&mut self, lam: &[S::Elem], rows: usize, out: &mut [S::Elem], ldo: usize) -> Result<(), String> {
        let (n_in, g) = (self.n_in, self.g);
        if g == 0 || rows > self.max_rows || lam.len() < rows * g * S::N || ldo < n_in || (rows > 0 && out.len() < (rows - 1) * ldo + n_in) {
            return Err("no images loaded, too many rows, or factor or output buffer too short".into());
        }
        let u = std::mem::take(&mut self.u);
        let l = self.rows_of(rows);
        from_scalars(lam, l);
        outer_lanes::<S>(rows, n_in, l, &u[..n_in * g], g, S::Elem::one(), out, ldo, false);
        self.u = u;
        Ok(())
    }
}

/// One RK4 stage of the forward pass over all STOs and lane groups (the
/// coupling field `hf` already computed): k = f(x_in, hf), the weighted sum
/// of the stages in `kacc`, and the next stage input (or, at the last
/// stage, the state after the step, renormalized if `UNIT`) in `out`.
struct Stage<'a, S: Lanes> {
    m: &'a [S],
    x_in: &'a [S],
    hf: &'a [S],
    kacc: &'a mut [S],
    out: &'a mut [S],
    nrm: &'a mut [S],
    der: &'a [Derived<S>],
    n: usize,
    g: usize,
}

impl<'a, S: Lanes> Stage<'a, S> {
    /// Stage `Q` (0: the first, 1: the second or third, 3: the last); `bq`
    /// its RK4 weight, `cdt` = dt c_q (stages 0-2), `h6` = dt / 6 (stage 3).
    #[inline(always)]
    fn run<const Q: usize, const UNIT: bool>(self, bq: S, cdt: S, h6: S) {
        let (n, g) = (self.n, self.g);
        let ng = n * g;
        let three = |v: &'a [S]| (&v[..ng], &v[ng..2 * ng], &v[2 * ng..3 * ng]);
        let (ma, mb, mc) = three(self.m);
        let (xa, xb, xc) = three(self.x_in);
        let (ka, rest) = self.kacc[..3 * ng].split_at_mut(ng);
        let (kb, kc) = rest.split_at_mut(ng);
        let (oa, rest) = self.out[..3 * ng].split_at_mut(ng);
        let (ob, oc) = rest.split_at_mut(ng);
        for (i, d) in self.der[..n].iter().enumerate() {
            let r = i * g..(i + 1) * g;
            let (ma, mb, mc, xa, xb, xc, hf) =
                (&ma[r.clone()], &mb[r.clone()], &mc[r.clone()], &xa[r.clone()], &xb[r.clone()], &xc[r.clone()], &self.hf[r.clone()]);
            let (ka, kb, kc) = (&mut ka[r.clone()], &mut kb[r.clone()], &mut kc[r.clone()]);
            let (oa, ob, oc, nrm) = (&mut oa[r.clone()], &mut ob[r.clone()], &mut oc[r.clone()], &mut self.nrm[r]);
            for j in 0..g {
                let k = llg_rhs(V3::new(xa[j], xb[j], xc[j]), d, V3::new(hf[j], S::zero(), S::zero()));
                let acc = if Q == 0 { k } else { V3::new(ka[j], kb[j], kc[j]).axpy(bq, k) };
                let mv = V3::new(ma[j], mb[j], mc[j]);
                let next = if Q < 3 {
                    ka[j] = acc.x;
                    kb[j] = acc.y;
                    kc[j] = acc.z;
                    mv.axpy(cdt, k)
                } else {
                    let mt = mv.axpy(h6, acc);
                    if UNIT {
                        let r = mt.dot(mt).sqrt();
                        nrm[j] = r;
                        mt.scale(S::one() / r)
                    } else {
                        mt
                    }
                };
                oa[j] = next.x;
                ob[j] = next.y;
                oc[j] = next.z;
            }
        }
    }
}

/// Largest lane count and class count handled with stack arrays.
const MAX_LANES: usize = 4;
pub const MAX_OUT: usize = 64;

fn lane_sum_f64<S: Lanes>(v: S) -> f64
where
    S::Elem: Into<f64>,
{
    let mut s = 0.0;
    for l in 0..S::N {
        s += Into::<f64>::into(v.lane(l));
    }
    s
}
