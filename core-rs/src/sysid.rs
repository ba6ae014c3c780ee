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

use crate::adjoint::{llg_rhs_vjp, rk4_step_adjoint};
use crate::dual::Dual;
use crate::params::{Derived, Params, N_DERIVED, N_PARAMS};
use crate::rk4::rk4_step;
use crate::scalar::{Lanes, Scalar};
use crate::simd::F64x2;
use crate::torque::llg_rhs;
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
        a1 - a0 == b1 - b0
            && (0..a1 - a0).all(|k| ((self.t_s[a0 + k] - self.t_s[a0]) - (self.t_s[b0 + k] - self.t_s[b0])).abs() <= tol)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    LossOnly,
    Forward,
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
    pub fn eval(&self, mode: Mode, sel: &[usize], mut student: Option<&mut [f64]>, acc: &mut Acc) {
        let tol = 1e-6 * self.setup.dt_s;
        let mut i = 0;
        while i < sel.len() {
            let paired = i + 1 < sel.len() && self.teacher.same_grid(sel[i], sel[i + 1], tol);
            let group: [usize; 2] = if paired { [sel[i], sel[i + 1]] } else { [sel[i], sel[i]] };
            let lanes = if paired { 2 } else { 1 };
            match (mode, paired) {
                (Mode::LossOnly, true) => self.loss_only::<F64x2>(&group, lanes, student.as_deref_mut(), acc),
                (Mode::LossOnly, false) => self.loss_only::<f64>(&group, lanes, student.as_deref_mut(), acc),
                (Mode::Forward, true) => self.forward_dispatch::<F64x2>(&group, lanes, acc),
                (Mode::Forward, false) => self.forward_dispatch::<f64>(&group, lanes, acc),
                (Mode::Adjoint, true) => self.adjoint::<F64x2>(&group, lanes, acc),
                (Mode::Adjoint, false) => self.adjoint::<f64>(&group, lanes, acc),
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

    fn teacher_mx(&self, trial: usize, k: usize) -> f64 {
        self.teacher.mx[self.teacher.range(trial).0 + k]
    }

    fn m0<S: Lanes<Elem = f64>>(&self, group: &[usize; 2]) -> V3<S> {
        let c = |j: usize| S::from_fn(|l| self.teacher.m0[3 * group[l.min(1)] + j]);
        V3::new(c(0), c(1), c(2)).normalized()
    }

    fn loss_only<L: Lanes<Elem = f64>>(&self, group: &[usize; 2], lanes: usize, mut student: Option<&mut [f64]>, acc: &mut Acc) {
        let d: Derived<L> = self.params.map(L::cst).derive();
        let t = self.grid(group[0]);
        let mut m = self.m0::<L>(group);
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
        write(&mut student, &m, 0);
        walk(t, self.setup.dt_s, |ev| match ev {
            Ev::Step(h) => m = rk4_step(m, L::cst(h), &mut |s| llg_rhs(s, &d, V3::zero())),
            Ev::Sample(k) => {
                write(&mut student, &m, k);
                if self.compared(t, k) {
                    for l in 0..lanes {
                        let diff = m.x.lane(l) - self.teacher_mx(group[l], k);
                        acc.sum_abs += diff.abs();
                        acc.sum_sq += diff * diff;
                        acc.count += 1.0;
                    }
                }
            }
        });
    }

    fn forward_dispatch<L: Lanes<Elem = f64>>(&self, group: &[usize; 2], lanes: usize, acc: &mut Acc) {
        macro_rules! go {
            ($($k:literal)*) => {
                match self.fit.len() {
                    $($k => self.forward::<L, $k>(group, lanes, acc),)*
                    _ => unreachable!("at most N_PARAMS fitted parameters"),
                }
            };
        }
        go!(1 2 3 4 5 6 7 8 9 10)
    }

    /// Forward mode: one tangent per fitted parameter through every step.
    fn forward<L: Lanes<Elem = f64>, const K: usize>(&self, group: &[usize; 2], lanes: usize, acc: &mut Acc) {
        let mut pd = self.params.map(|v| Dual::<L, K>::constant(L::cst(v))).to_array();
        for (k, &j) in self.fit.iter().enumerate() {
            pd[j].eps[k] = L::one();
        }
        let d = Params::from_array(pd).derive();
        let t = self.grid(group[0]);
        let m0 = self.m0::<L>(group);
        let mut m = V3::new(Dual::constant(m0.x), Dual::constant(m0.y), Dual::constant(m0.z));
        walk(t, self.setup.dt_s, |ev| match ev {
            Ev::Step(h) => m = rk4_step(m, Dual::cst(h), &mut |s| llg_rhs(s, &d, V3::zero())),
            Ev::Sample(k) => {
                if self.compared(t, k) {
                    for l in 0..lanes {
                        let diff = m.x.re.lane(l) - self.teacher_mx(group[l], k);
                        let sg = sign(diff);
                        acc.sum_abs += diff.abs();
                        acc.sum_sq += diff * diff;
                        acc.count += 1.0;
                        for a in 0..K {
                            let ja = m.x.eps[a].lane(l);
                            acc.grad[a] += sg * ja;
                            acc.jtr[a] += diff * ja;
                            for b in 0..K {
                                acc.jtj[a][b] += ja * m.x.eps[b].lane(l);
                            }
                        }
                    }
                }
            }
        });
    }

    /// Reverse mode: forward pass storing the state before every step, then
    /// the discrete adjoint of each RK4 step backwards.
    fn adjoint<L: Lanes<Elem = f64>>(&self, group: &[usize; 2], lanes: usize, acc: &mut Acc) {
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
        let mut m = self.m0::<L>(group);
        let mut f = |s: V3<L>| llg_rhs(s, &d, V3::zero());
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
        // the loss and its derivative with respect to each sampled m_x
        let mut mbar = V3::<L>::zero();
        let mut dbar = [L::zero(); N_DERIVED];
        for i in (0..states.len()).rev() {
            let (h, k) = steps[i];
            if k > 0 && self.compared(t, k) {
                let after = if i + 1 < states.len() { states[i + 1] } else { m };
                let mut sg = [0.0f64; 2];
                for l in 0..lanes {
                    let diff = after.x.lane(l) - self.teacher_mx(group[l], k);
                    sg[l] = sign(diff);
                    acc.sum_abs += diff.abs();
                    acc.sum_sq += diff * diff;
                    acc.count += 1.0;
                }
                mbar.x = mbar.x + L::from_fn(|l| if l < lanes { sg[l] } else { 0.0 });
            }
            let mut vjp = |s: V3<L>, kbar: V3<L>| llg_rhs_vjp(s, &d, kbar, &mut dbar);
            mbar = rk4_step_adjoint(states[i], L::cst(h), &mut f, &mut vjp, mbar);
        }
        // chain the derived-parameter adjoint to the model parameters
        let jac = derived_jacobian(&self.params);
        for (a, &j) in self.fit.iter().enumerate() {
            for i in 0..N_DERIVED {
                let mut s = 0.0;
                for l in 0..lanes {
                    s += dbar[i].lane(l);
                }
                acc.grad[a] += s * jac[i][j];
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
