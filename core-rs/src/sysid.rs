//! System identification (paper eq. 4): the loss between teacher and student
//! m_x(t) and its gradient with respect to any subset of the model parameters,
//! by forward-mode dual numbers or by the discrete adjoint of RK4.
//!
//! Each trial's student starts from the teacher's state at its first sample,
//! is integrated without noise at step `dt` (the step before a sample time
//! that is not a whole number of steps away is shortened, so every sample
//! time is reached exactly), and is compared with the teacher at every sample
//! whose time since the first one is at least `washout`.
//! Loss parts are sums, so callers can split trials across workers.
//!
//! Consecutive selected trials on the same grid share SIMD lanes: pairs
//! (`F64x2`) in every mode, and in loss-only mode two pairs on exactly the
//! same step schedule at once (`F64x4`, two independent dependency chains for
//! the CPU to overlap), their sums added pair by pair, so the results are
//! bit-identical to evaluating the pairs one after the other.

// Lane loops read lane l of the state (`.lane(l)`) and the trial `group[l]`
// it belongs to together; parameter loops fill several arrays by index.
#![allow(clippy::needless_range_loop)]

use crate::adjoint::{rk4_step_adjoint, LlgVjp};
use crate::dual::Dual;
use crate::params::{Derived, Params, N_DERIVED, N_PARAMS};
use crate::rk4::{rk4_step, rk4_step_with, Rhs, Rk4Dt};
use crate::scalar::{Lanes, Scalar};
use crate::simd::{F64x2, F64x4};
use crate::torque::Llg;
use crate::vec3::V3;

/// Teacher trajectories, flattened: trial i owns samples offsets[i]..offsets[i+1].
pub struct Teacher<'a> {
    pub offsets: &'a [u32],
    pub t_s: &'a [f64],
    pub mx: &'a [f64],
    /// initial state (mx, my, mz) per trial
    pub m0: &'a [f64],
}

impl<'a> Teacher<'a> {
    fn range(&self, trial: usize) -> (usize, usize) {
        (self.offsets[trial] as usize, self.offsets[trial + 1] as usize)
    }
    /// Same sample count and the same times relative to the first sample.
    fn same_grid(&self, a: usize, b: usize, tol: f64) -> bool {
        let (a0, a1) = self.range(a);
        let (b0, b1) = self.range(b);
        a1 - a0 == b1 - b0 && (0..a1 - a0).all(|k| ((self.t_s[a0 + k] - self.t_s[a0]) - (self.t_s[b0 + k] - self.t_s[b0])).abs() <= tol)
    }
    /// Bitwise the same intervals between samples and times since the first:
    /// the same steps and the same compared samples (`walk`, `compared`).
    fn same_steps(&self, a: usize, b: usize) -> bool {
        let (a0, a1) = self.range(a);
        let (b0, b1) = self.range(b);
        let (ta, tb) = (&self.t_s[a0..a1], &self.t_s[b0..b1]);
        ta.len() == tb.len() && (1..ta.len()).all(|k| ta[k] - ta[k - 1] == tb[k] - tb[k - 1] && ta[k] - ta[0] == tb[k] - tb[0])
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    LossOnly,
    /// forward-mode dual numbers ("dual" on the command line)
    Dual,
    Adjoint,
}

pub struct Setup {
    pub dt_s: f64,
    pub washout_s: f64,
}

/// Sums over the compared samples of the selected trials.
pub struct Acc {
    pub sum_abs: f64,
    pub count: f64,
    pub sum_sq: f64,
    /// d(sum_abs)/d(theta_k) for the fitted parameters
    pub grad: [f64; N_PARAMS],
    /// sum over samples of (d mx/d theta_a)(d mx/d theta_b) (Gauss-Newton), forward mode only
    pub jtj: [[f64; N_PARAMS]; N_PARAMS],
    /// sum over samples of r (d mx/d theta_a), r = student - teacher m_x: the
    /// gradient of sum_sq / 2 (Levenberg-Marquardt), forward mode only
    pub jtr: [f64; N_PARAMS],
}

impl Acc {
    pub fn new() -> Self {
        Acc { sum_abs: 0.0, count: 0.0, sum_sq: 0.0, grad: [0.0; N_PARAMS], jtj: [[0.0; N_PARAMS]; N_PARAMS], jtr: [0.0; N_PARAMS] }
    }
}

impl Default for Acc {
    fn default() -> Self {
        Self::new()
    }
}

/// What the teacher's samples measure and where each trial starts, beyond
/// the plain m_x comparison of eq. (4).
///
/// The teacher value y_k is modelled as `offset + amplitude * m_x(t_k)` (the
/// magnetoresistive voltage with p = e_x; offset 0 and amplitude 1 compare
/// m_x itself). With `chart`, trial i's initial state is not the teacher's
/// `m0` but a point of a tangent-plane chart around it:
/// m(0) = (r + u e1 + v e2) / |r + u e1 + v e2|, r = m0_i / |m0_i|, (e1, e2) an
/// orthonormal basis of the plane normal to r (`tangent_basis`), (u, v) =
/// chart[2i..2i+2]. The chart is smooth for every finite (u, v) (it covers the
/// open hemisphere around r), so it has no singularity to fall into; callers
/// re-centre it (r := m(0), u = v = 0) between fits.
pub struct Ext<'a> {
    pub offset: f64,
    pub amplitude: f64,
    pub chart: Option<&'a [f64]>,
    /// per-trial sums, `block_len(n_fit, chart)` f64 per trial (layout in `Block`)
    pub blocks: Option<&'a mut [f64]>,
}

impl<'a> Ext<'a> {
    pub fn plain() -> Self {
        Ext { offset: 0.0, amplitude: 1.0, chart: None, blocks: None }
    }
    fn w(&self) -> usize {
        if self.chart.is_some() {
            2
        } else {
            0
        }
    }
}

/// Layout of one trial's block of sums. G = n_fit + 2 "global" unknowns (the
/// fitted parameters, then offset, then amplitude), W = 2 chart coordinates
/// of this trial's initial state (0 without a chart). r = offset + amplitude
/// m_x - y is the residual, J its derivative:
/// [sum|r|, count, sum r^2, d sum|r| / d g (G), J_g^T r (G), J_g^T J_g (G x G),
///  d sum|r| / d w (W), J_w^T r (W), J_w^T J_w (W x W), J_w^T J_g (W x G)].
/// Forward mode fills everything; the adjoint fills the sums and the two
/// gradients of sum|r|; loss-only mode the first three.
pub struct Block;

impl Block {
    pub fn len(n_fit: usize, w: usize) -> usize {
        let g = n_fit + 2;
        3 + 2 * g + g * g + 2 * w + w * w + w * g
    }
}

/// An orthonormal basis (e1, e2) of the plane normal to the unit vector r:
/// e1 from the coordinate axis least aligned with r, e2 = r x e1.
pub fn tangent_basis(r: [f64; 3]) -> ([f64; 3], [f64; 3]) {
    let k = (0..3).min_by(|&a, &b| r[a].abs().partial_cmp(&r[b].abs()).unwrap_or(core::cmp::Ordering::Equal)).unwrap_or(0);
    let mut a = [0.0; 3];
    a[k] = 1.0;
    let d = r[k];
    let mut e1 = [a[0] - d * r[0], a[1] - d * r[1], a[2] - d * r[2]];
    let n = (e1[0] * e1[0] + e1[1] * e1[1] + e1[2] * e1[2]).sqrt();
    for c in e1.iter_mut() {
        *c /= n;
    }
    let e2 = [r[1] * e1[2] - r[2] * e1[1], r[2] * e1[0] - r[0] * e1[2], r[0] * e1[1] - r[1] * e1[0]];
    (e1, e2)
}

/// The chart's point m(u, v) around direction `m0` and its derivatives
/// d m / d u, d m / d v (duals through the normalization).
pub fn chart_point(m0: [f64; 3], u: f64, v: f64) -> ([f64; 3], [[f64; 3]; 2]) {
    let n = (m0[0] * m0[0] + m0[1] * m0[1] + m0[2] * m0[2]).sqrt();
    let r = [m0[0] / n, m0[1] / n, m0[2] / n];
    let (e1, e2) = tangent_basis(r);
    let du = Dual::<f64, 2>::variable(u, 0);
    let dv = Dual::<f64, 2>::variable(v, 1);
    let c = |j: usize| Dual::<f64, 2>::cst(r[j]) + du * Dual::cst(e1[j]) + dv * Dual::cst(e2[j]);
    let m = V3::new(c(0), c(1), c(2)).normalized();
    let comps = [m.x, m.y, m.z];
    ([m.x.re, m.y.re, m.z.re], [[comps[0].eps[0], comps[1].eps[0], comps[2].eps[0]], [comps[0].eps[1], comps[1].eps[1], comps[2].eps[1]]])
}

#[inline(always)]
fn sign(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// The steps between two sample times: `n` full steps of `dt` and, if the
/// interval is not a whole number of steps, one shortened step `rest`.
#[inline(always)]
fn split_interval(interval: f64, dt: f64) -> (usize, f64) {
    let ratio = interval / dt;
    let n = (ratio + 1e-9).floor();
    let rest = interval - n * dt;
    (n as usize, if rest > 1e-9 * dt { rest } else { 0.0 })
}

enum Ev {
    /// take a step of this length [s]
    Step(f64),
    /// sample k (k >= 1) has been reached
    Sample(usize),
}

/// Walk the step schedule of one trial grid.
#[inline(always)]
fn walk<F: FnMut(Ev)>(t: &[f64], dt: f64, mut visit: F) {
    for k in 1..t.len() {
        let (n, rest) = split_interval(t[k] - t[k - 1], dt);
        for _ in 0..n {
            visit(Ev::Step(dt));
        }
        if rest > 0.0 {
            visit(Ev::Step(rest));
        }
        visit(Ev::Sample(k));
    }
}

/// One RK4 step of length `h` from `m` (dual numbers). In wasm, a full step
/// (h = dt) uses `full`, its coefficients computed once per trial, and has
/// its own copy of the step: V8 then spills less of the duals' working set
/// (a sysid epoch 23 % faster with 3 fitted parameters, 6 % with 2); natively
/// that costs 2 %, so there every step computes its coefficients. The numbers
/// are the same either way (same operations on the same operands).
#[inline(always)]
fn step<S: Scalar, F: Rhs<S>>(m: V3<S>, h: f64, dt: f64, full: &Rk4Dt<S>, f: &mut F) -> V3<S> {
    if cfg!(target_arch = "wasm32") && h == dt {
        rk4_step_with(m, full, f)
    } else {
        rk4_step(m, S::cst(h), f)
    }
}

/// Trials integrated together, one per SIMD lane: the first `lanes` entries
/// of a `Group` (1, 2 or 4), the rest repeating the last of them.
const MAX_LANES: usize = 4;
type Group = [usize; MAX_LANES];

pub struct Problem<'a> {
    pub params: Params<f64>,
    /// indices (Params order) of the fitted parameters
    pub fit: &'a [usize],
    pub teacher: Teacher<'a>,
    pub setup: Setup,
}

impl<'a> Problem<'a> {
    /// Loss parts (and gradient per `mode`) over the trials `sel`. If
    /// `student` is given (LossOnly), the student's state at every teacher
    /// sample of the selected trials is written there (3 per global sample).
    pub fn eval(&self, mode: Mode, sel: &[usize], student: Option<&mut [f64]>, acc: &mut Acc) {
        self.eval_ext(mode, sel, student, acc, &mut Ext::plain());
    }

    /// `eval` for a measured signal (offset + amplitude m_x), optionally with
    /// fitted initial states (`ext.chart`) and per-trial sums (`ext.blocks`).
    /// `acc` holds the sums over all selected trials for the fitted
    /// parameters (the residual in the signal's unit).
    pub fn eval_ext(&self, mode: Mode, sel: &[usize], mut student: Option<&mut [f64]>, acc: &mut Acc, ext: &mut Ext) {
        let len = Block::len(self.fit.len(), ext.w());
        if let Some(b) = ext.blocks.as_deref_mut() {
            for &i in sel {
                for v in b[i * len..(i + 1) * len].iter_mut() {
                    *v = 0.0;
                }
            }
        }
        let tol = 1e-6 * self.setup.dt_s;
        let mut i = 0;
        while i < sel.len() {
            let pair_at = |j: usize| j + 1 < sel.len() && self.teacher.same_grid(sel[j], sel[j + 1], tol);
            // four lanes (loss only): the next two pairs, if they take exactly the same steps
            let quad = mode == Mode::LossOnly && pair_at(i) && pair_at(i + 2) && self.teacher.same_steps(sel[i], sel[i + 2]);
            let lanes = if quad {
                4
            } else if pair_at(i) {
                2
            } else {
                1
            };
            let group: Group = core::array::from_fn(|l| sel[i + l.min(lanes - 1)]);
            match (mode, lanes) {
                (Mode::LossOnly, 4) => self.loss_only::<F64x4>(&group, lanes, student.as_deref_mut(), acc, ext),
                (Mode::LossOnly, 2) => self.loss_only::<F64x2>(&group, lanes, student.as_deref_mut(), acc, ext),
                (Mode::LossOnly, _) => self.loss_only::<f64>(&group, lanes, student.as_deref_mut(), acc, ext),
                (Mode::Dual, 2) => self.forward_dispatch::<F64x2>(&group, lanes, acc, ext),
                (Mode::Dual, _) => self.forward_dispatch::<f64>(&group, lanes, acc, ext),
                (Mode::Adjoint, 2) => self.adjoint::<F64x2>(&group, lanes, acc, ext),
                (Mode::Adjoint, _) => self.adjoint::<f64>(&group, lanes, acc, ext),
            }
            i += lanes;
        }
    }

    fn grid(&self, trial: usize) -> &[f64] {
        let (a, b) = self.teacher.range(trial);
        &self.teacher.t_s[a..b]
    }

    fn compared(&self, t: &[f64], k: usize) -> bool {
        t[k] - t[0] >= self.setup.washout_s - 1e-6 * self.setup.dt_s
    }

    /// The first sample is compared only when the initial state is fitted
    /// (a chart) and the washout is zero: a teacher-given initial state
    /// matches it by construction.
    fn first_compared(&self, t: &[f64], ext: &Ext) -> bool {
        ext.chart.is_some() && self.compared(t, 0)
    }

    fn teacher_mx(&self, trial: usize, k: usize) -> f64 {
        self.teacher.mx[self.teacher.range(trial).0 + k]
    }

    /// Initial state of each lane's trial and, with a chart, its derivatives
    /// with respect to the trial's two chart coordinates.
    fn start<S: Lanes<Elem = f64>>(&self, group: &Group, ext: &Ext) -> (V3<S>, [V3<S>; 2]) {
        match ext.chart {
            None => {
                let c = |j: usize| S::from_fn(|l| self.teacher.m0[3 * group[l] + j]);
                (V3::new(c(0), c(1), c(2)).normalized(), [V3::zero(), V3::zero()])
            }
            Some(ch) => {
                let pts: [([f64; 3], [[f64; 3]; 2]); MAX_LANES] = core::array::from_fn(|l| {
                    let i = group[l];
                    if l < S::N {
                        chart_point([self.teacher.m0[3 * i], self.teacher.m0[3 * i + 1], self.teacher.m0[3 * i + 2]], ch[2 * i], ch[2 * i + 1])
                    } else {
                        ([0.0; 3], [[0.0; 3]; 2])
                    }
                });
                let v = |f: &dyn Fn(usize) -> [f64; 3]| V3::new(S::from_fn(|l| f(l)[0]), S::from_fn(|l| f(l)[1]), S::from_fn(|l| f(l)[2]));
                (v(&|l| pts[l].0), [v(&|l| pts[l].1[0]), v(&|l| pts[l].1[1])])
            }
        }
    }

    /// The residual offset + amplitude m_x - y of one lane's compared sample,
    /// added to the sums; returns (residual, sign).
    #[inline(always)]
    fn residual(&self, ext: &Ext, mx: f64, trial: usize, k: usize, acc: &mut Acc) -> (f64, f64) {
        let r = ext.offset + ext.amplitude * mx - self.teacher_mx(trial, k);
        acc.sum_abs += r.abs();
        acc.sum_sq += r * r;
        acc.count += 1.0;
        (r, sign(r))
    }

    fn block<'b>(&self, ext: &'b mut Ext, trial: usize) -> Option<&'b mut [f64]> {
        let len = Block::len(self.fit.len(), ext.w());
        ext.blocks.as_deref_mut().map(|b| &mut b[trial * len..(trial + 1) * len])
    }

    fn loss_only<L: Lanes<Elem = f64>>(&self, group: &Group, lanes: usize, mut student: Option<&mut [f64]>, acc: &mut Acc, ext: &mut Ext) {
        let d: Derived<L> = self.params.map(L::cst).derive();
        let t = self.grid(group[0]);
        let mut m = self.start::<L>(group, ext).0;
        let write = |st: &mut Option<&mut [f64]>, m: &V3<L>, k: usize| {
            if let Some(s) = st.as_deref_mut() {
                for l in 0..lanes {
                    let g = 3 * (self.teacher.range(group[l]).0 + k);
                    s[g] = m.x.lane(l);
                    s[g + 1] = m.y.lane(l);
                    s[g + 2] = m.z.lane(l);
                }
            }
        };
        // The sums are added pair by pair, as `eval_ext` would add two pairs
        // evaluated one after the other: the second pair's compared m_x wait
        // in `later` until the first pair's trials are done.
        let now = lanes.min(2);
        let mut later: Vec<(usize, [f64; 2])> = Vec::with_capacity(if lanes > 2 { t.len() } else { 0 });
        let mut sums = |m: &V3<L>, k: usize, acc: &mut Acc, ext: &mut Ext| {
            for l in 0..now {
                self.sample_sums(ext, m.x.lane(l), group[l], k, acc);
            }
            if lanes > 2 {
                later.push((k, [m.x.lane(2), m.x.lane(3)]));
            }
        };
        write(&mut student, &m, 0);
        if self.first_compared(t, ext) {
            sums(&m, 0, acc, ext);
        }
        walk(t, self.setup.dt_s, |ev| match ev {
            Ev::Step(h) => m = rk4_step(m, L::cst(h), &mut Llg { d: &d }),
            Ev::Sample(k) => {
                write(&mut student, &m, k);
                if self.compared(t, k) {
                    sums(&m, k, acc, ext);
                }
            }
        });
        for (k, mx) in later {
            for l in 0..lanes - 2 {
                self.sample_sums(ext, mx[l], group[2 + l], k, acc);
            }
        }
    }

    /// Loss-only sums of one sample, into `acc` and the trial's block.
    fn sample_sums(&self, ext: &mut Ext, mx: f64, trial: usize, k: usize, acc: &mut Acc) {
        let (r, _) = self.residual(ext, mx, trial, k, acc);
        if let Some(b) = self.block(ext, trial) {
            b[0] += r.abs();
            b[1] += 1.0;
            b[2] += r * r;
        }
    }

    fn forward_dispatch<L: Lanes<Elem = f64>>(&self, group: &Group, lanes: usize, acc: &mut Acc, ext: &mut Ext) {
        macro_rules! go {
            ($($k:literal)*) => {
                match self.fit.len() + ext.w() {
                    $($k => self.forward::<L, $k>(group, lanes, acc, ext),)*
                    _ => unreachable!("at most N_PARAMS fitted parameters and 2 chart coordinates"),
                }
            };
        }
        go!(1 2 3 4 5 6 7 8 9 10 11 12)
    }

    /// Forward mode: one tangent per fitted parameter (and per chart
    /// coordinate of the trial's initial state) through every step.
    fn forward<L: Lanes<Elem = f64>, const K: usize>(&self, group: &Group, lanes: usize, acc: &mut Acc, ext: &mut Ext) {
        let nf = self.fit.len();
        let mut pd = self.params.map(|v| Dual::<L, K>::constant(L::cst(v))).to_array();
        for (k, &j) in self.fit.iter().enumerate() {
            pd[j].eps[k] = L::one();
        }
        let d = Params::from_array(pd).derive();
        let t = self.grid(group[0]);
        let (m0, tang) = self.start::<L>(group, ext);
        let comp = |x: L, tu: L, tv: L| {
            let mut c = Dual::<L, K>::constant(x);
            if K > nf {
                c.eps[nf] = tu;
                c.eps[nf + 1] = tv;
            }
            c
        };
        let mut m = V3::new(comp(m0.x, tang[0].x, tang[1].x), comp(m0.y, tang[0].y, tang[1].y), comp(m0.z, tang[0].z, tang[1].z));
        let sample = |m: &V3<Dual<L, K>>, k: usize, acc: &mut Acc, ext: &mut Ext| {
            for l in 0..lanes {
                let mx = m.x.re.lane(l);
                let (r, sg) = self.residual(ext, mx, group[l], k, acc);
                let amp = ext.amplitude;
                for a in 0..nf {
                    let ja = amp * m.x.eps[a].lane(l);
                    acc.grad[a] += sg * ja;
                    acc.jtr[a] += r * ja;
                    for b in 0..nf {
                        acc.jtj[a][b] += ja * amp * m.x.eps[b].lane(l);
                    }
                }
                let w = K - nf;
                if let Some(bk) = self.block(ext, group[l]) {
                    let g = nf + 2;
                    // J row: fitted parameters, offset, amplitude; chart coordinates
                    let mut jg = [0.0f64; N_PARAMS + 2];
                    for a in 0..nf {
                        jg[a] = amp * m.x.eps[a].lane(l);
                    }
                    jg[nf] = 1.0;
                    jg[nf + 1] = mx;
                    let mut jw = [0.0f64; 2];
                    for a in 0..w {
                        jw[a] = amp * m.x.eps[nf + a].lane(l);
                    }
                    bk[0] += r.abs();
                    bk[1] += 1.0;
                    bk[2] += r * r;
                    let o_ga = 3;
                    let o_gr = o_ga + g;
                    let o_gg = o_gr + g;
                    let o_wa = o_gg + g * g;
                    let o_wr = o_wa + w;
                    let o_ww = o_wr + w;
                    let o_wg = o_ww + w * w;
                    for a in 0..g {
                        bk[o_ga + a] += sg * jg[a];
                        bk[o_gr + a] += r * jg[a];
                        for b in 0..g {
                            bk[o_gg + a * g + b] += jg[a] * jg[b];
                        }
                    }
                    for a in 0..w {
                        bk[o_wa + a] += sg * jw[a];
                        bk[o_wr + a] += r * jw[a];
                        for b in 0..w {
                            bk[o_ww + a * w + b] += jw[a] * jw[b];
                        }
                        for b in 0..g {
                            bk[o_wg + a * g + b] += jw[a] * jg[b];
                        }
                    }
                }
            }
        };
        if self.first_compared(t, ext) {
            sample(&m, 0, acc, ext);
        }
        let dt = self.setup.dt_s;
        let full = Rk4Dt::new(Dual::cst(dt));
        walk(t, dt, |ev| match ev {
            Ev::Step(h) => m = step(m, h, dt, &full, &mut Llg { d: &d }),
            Ev::Sample(k) => {
                if self.compared(t, k) {
                    sample(&m, k, acc, ext);
                }
            }
        });
    }

    /// Reverse mode: forward pass storing the state before every step, then
    /// the discrete adjoint of each RK4 step backwards. The adjoint state left
    /// at the start is d sum|r| / d m(0), chained to the chart coordinates.
    fn adjoint<L: Lanes<Elem = f64>>(&self, group: &Group, lanes: usize, acc: &mut Acc, ext: &mut Ext) {
        let nf = self.fit.len();
        let d: Derived<L> = self.params.map(L::cst).derive();
        let t = self.grid(group[0]);
        let mut n_steps = 0;
        walk(t, self.setup.dt_s, |ev| {
            if let Ev::Step(_) = ev {
                n_steps += 1
            }
        });
        // Workspace, allocated once before the time loops: states, step sizes,
        // and the sample (if any) each step ends on.
        let mut states: Vec<V3<L>> = Vec::with_capacity(n_steps);
        let mut steps: Vec<(f64, usize)> = Vec::with_capacity(n_steps);
        let (m0, tang) = self.start::<L>(group, ext);
        let mut m = m0;
        let mut f = Llg { d: &d };
        walk(t, self.setup.dt_s, |ev| match ev {
            Ev::Step(h) => {
                states.push(m);
                steps.push((h, 0));
                m = rk4_step(m, L::cst(h), &mut f);
            }
            Ev::Sample(k) => {
                if let Some(last) = steps.last_mut() {
                    last.1 = k;
                }
            }
        });
        let amp = ext.amplitude;
        // the loss and its derivative with respect to each sampled m_x
        let sample = |mx: L, k: usize, acc: &mut Acc, ext: &mut Ext| -> L {
            let mut sg = [0.0f64; MAX_LANES];
            for l in 0..lanes {
                let x = mx.lane(l);
                let (r, s) = self.residual(ext, x, group[l], k, acc);
                sg[l] = s;
                if let Some(bk) = self.block(ext, group[l]) {
                    bk[0] += r.abs();
                    bk[1] += 1.0;
                    bk[2] += r * r;
                    bk[3 + nf] += s;
                    bk[3 + nf + 1] += s * x;
                }
            }
            L::from_fn(|l| if l < lanes { amp * sg[l] } else { 0.0 })
        };
        let mut mbar = V3::<L>::zero();
        let mut dbar = [L::zero(); N_DERIVED];
        for i in (0..states.len()).rev() {
            let (h, k) = steps[i];
            if k > 0 && self.compared(t, k) {
                let after = if i + 1 < states.len() { states[i + 1] } else { m };
                mbar.x = mbar.x + sample(after.x, k, acc, ext);
            }
            mbar = rk4_step_adjoint(states[i], &Rk4Dt::new(L::cst(h)), &mut f, &mut LlgVjp { d: &d, dbar: &mut dbar }, mbar);
        }
        if self.first_compared(t, ext) {
            mbar.x = mbar.x + sample(m0.x, 0, acc, ext);
        }
        // chain the derived-parameter adjoint to the model parameters
        let jac = derived_jacobian(&self.params);
        let w = ext.w();
        for l in 0..lanes {
            let mut gp = [0.0f64; N_PARAMS];
            for (a, &j) in self.fit.iter().enumerate() {
                for i in 0..N_DERIVED {
                    gp[a] += dbar[i].lane(l) * jac[i][j];
                }
                acc.grad[a] += gp[a];
            }
            if let Some(bk) = self.block(ext, group[l]) {
                let g = nf + 2;
                for a in 0..nf {
                    bk[3 + a] += gp[a];
                }
                // d sum|r| / d (u, v) = mbar(0) . d m(0) / d (u, v)
                let o_wa = 3 + 2 * g + g * g;
                for a in 0..w {
                    bk[o_wa + a] += mbar.x.lane(l) * tang[a].x.lane(l) + mbar.y.lane(l) * tang[a].y.lane(l) + mbar.z.lane(l) * tang[a].z.lane(l);
                }
            }
        }
    }
}

/// d(derived_i)/d(param_j), by forward mode through `Params::derive`.
pub fn derived_jacobian(p: &Params<f64>) -> [[f64; N_PARAMS]; N_DERIVED] {
    let mut pd = p.map(Dual::<f64, N_PARAMS>::constant).to_array();
    for (j, v) in pd.iter_mut().enumerate() {
        v.eps[j] = 1.0;
    }
    let d = Params::from_array(pd).derive().to_array();
    let mut jac = [[0.0; N_PARAMS]; N_DERIVED];
    for i in 0..N_DERIVED {
        jac[i] = d[i].eps;
    }
    jac
}
