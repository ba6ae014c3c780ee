//! Adam (Kingma & Ba; supplement eq. 15-19), the one optimizer of sysid,
//! the MNIST network and the reservoir trainer:
//!   g = sum of the workers' gradient slots (the one place gradients of
//!       worker slices are reduced),
//!   m = b1 m + (1 - b1) g,  v = b2 v + (1 - b2) g^2,
//!   theta += -lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps),
//! then theta clipped to [lo, hi] (the physical range; +-infinity for none).
//! Learning rate and range are per parameter, given as groups of
//! consecutive parameters (a group of one is a single parameter).
//! Arithmetic in the parameters' precision.
//!
//! `Adam` owns theta, the moments, the step counter and the gradient slots;
//! the TypeScript optimizer handle (cli/core/optimizer.ts) reads and writes
//! them in place.

use crate::scalar::{Lanes, Scalar};
use crate::simd::{F32x4, F64x2};

/// Moment decay rates and the denominator's epsilon (the paper's values).
#[derive(Clone, Copy, Debug)]
pub struct Hyper {
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
}

pub const PAPER: Hyper = Hyper { beta1: 0.9, beta2: 0.999, eps: 1e-8 };

/// Parameters start..end share a learning rate and a range [lo, hi].
#[derive(Clone, Copy, Debug)]
pub struct Group {
    pub start: usize,
    pub end: usize,
    pub lr: f64,
    pub lo: f64,
    pub hi: f64,
}

/// A parameter precision and its SIMD lane type (f32: F32x4, f64: F64x2).
pub trait Element: Scalar + PartialOrd {
    type V: Lanes<Elem = Self>;
}
impl Element for f32 {
    type V = F32x4;
}
impl Element for f64 {
    type V = F64x2;
}

/// The constants of one step.
#[derive(Clone, Copy)]
struct Consts<E> {
    c1: E,
    c2: E,
    b1: E,
    b2: E,
    ob1: E,
    ob2: E,
    eps: E,
}

/// One element's (or one lane vector's) update: returns (m, v, theta before
/// clipping). The same expression tree for scalars and lanes, so the SIMD
/// path is bit-identical to the scalar one.
#[inline(always)]
fn moments<T: Scalar>(k: &Consts<T>, neg_lr: T, th: T, m: T, v: T, g: T) -> (T, T, T) {
    let mi = k.b1 * m + k.ob1 * g;
    let vi = k.b2 * v + k.ob2 * g * g;
    (mi, vi, th + neg_lr * (mi / k.c1) / ((vi / k.c2).sqrt() + k.eps))
}

/// One update of `theta[g.start..g.end]` for every group, at step `t` (from 1),
/// with the gradient the sum of `slots` (in slot order).
pub fn adam_update<E: Element>(theta: &mut [E], m: &mut [E], v: &mut [E], slots: &[&[E]], t: f64, groups: &[Group], h: &Hyper) {
    let k = Consts {
        c1: E::cst(1.0 - h.beta1.powf(t)),
        c2: E::cst(1.0 - h.beta2.powf(t)),
        b1: E::cst(h.beta1),
        b2: E::cst(h.beta2),
        ob1: E::cst(1.0 - h.beta1),
        ob2: E::cst(1.0 - h.beta2),
        eps: E::cst(h.eps),
    };
    let splat = |x: E| <E::V as Lanes>::splat(x);
    let kv = Consts { c1: splat(k.c1), c2: splat(k.c2), b1: splat(k.b1), b2: splat(k.b2), ob1: splat(k.ob1), ob2: splat(k.ob2), eps: splat(k.eps) };
    let n = <E::V as Lanes>::N;
    for g in groups {
        let (a, b) = (g.start, g.end.min(theta.len()));
        if b <= a || slots.is_empty() {
            continue;
        }
        let neg_lr = E::cst(-g.lr);
        let (lo, hi) = (E::cst(g.lo), E::cst(g.hi));
        let clip = g.lo > f64::NEG_INFINITY || g.hi < f64::INFINITY;
        let (th, m, v) = (&mut theta[a..b], &mut m[a..b], &mut v[a..b]);
        let grad = |i: usize| {
            let mut gi = slots[0][a + i];
            for s in &slots[1..] {
                gi = gi + s[a + i];
            }
            gi
        };
        let mut i = 0;
        if !clip {
            // whole lane vectors (a range is never clipped lane-wise)
            let nl = splat(neg_lr);
            while i + n <= b - a {
                let mut gi = <E::V as Lanes>::load(&slots[0][a + i..]);
                for s in &slots[1..] {
                    gi = gi + <E::V as Lanes>::load(&s[a + i..]);
                }
                let (mi, vi, x) = moments(&kv, nl, <E::V as Lanes>::load(&th[i..]), <E::V as Lanes>::load(&m[i..]), <E::V as Lanes>::load(&v[i..]), gi);
                mi.store(&mut m[i..]);
                vi.store(&mut v[i..]);
                x.store(&mut th[i..]);
                i += n;
            }
        }
        while i < b - a {
            let (mi, vi, mut x) = moments(&k, neg_lr, th[i], m[i], v[i], grad(i));
            m[i] = mi;
            v[i] = vi;
            if clip {
                if x < lo {
                    x = lo;
                }
                if x > hi {
                    x = hi;
                }
            }
            th[i] = x;
            i += 1;
        }
    }
}

/// The optimizer state of `n` parameters: theta, m, v, the step counter,
/// `n_slots` gradient slots (one per worker) and the groups.
pub struct Adam<E> {
    pub theta: Vec<E>,
    pub m: Vec<E>,
    pub v: Vec<E>,
    pub slots: Vec<Vec<E>>,
    /// steps taken so far
    pub t: f64,
    pub groups: Vec<Group>,
    pub hyper: Hyper,
}

impl<E: Element> Adam<E> {
    pub fn new(n: usize, n_slots: usize, hyper: Hyper) -> Self {
        Adam {
            theta: vec![E::zero(); n],
            m: vec![E::zero(); n],
            v: vec![E::zero(); n],
            slots: (0..n_slots.max(1)).map(|_| vec![E::zero(); n]).collect(),
            t: 0.0,
            groups: Vec::new(),
            hyper,
        }
    }

    /// Advance the step counter and update every group from the first `used` slots.
    pub fn step(&mut self, used: usize) {
        self.t += 1.0;
        let k = used.clamp(1, self.slots.len());
        let slots: Vec<&[E]> = self.slots[..k].iter().map(|s| &s[..]).collect();
        adam_update(&mut self.theta, &mut self.m, &mut self.v, &slots, self.t, &self.groups, &self.hyper);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_steps_match_the_formula() {
        // after step 1 with gradient g: m = 0.1 g, v = 0.001 g^2, update = lr * sign(g) (eps aside)
        let mut th = [1.0f64, -2.0, 5.0];
        let (mut m, mut v) = ([0.0; 3], [0.0; 3]);
        let g = [0.5, -3.0, 0.0];
        let groups = [Group { start: 0, end: 3, lr: 0.1, lo: f64::NEG_INFINITY, hi: 4.0 }];
        adam_update(&mut th, &mut m, &mut v, &[&g, &[0.5, 0.0, 0.0]], 1.0, &groups, &PAPER);
        // g0 + g1 = (1, -3, 0)
        assert!((th[0] - (1.0 - 0.1 * 1.0 / (1.0 + 1e-8))).abs() < 1e-12);
        assert!((th[1] - (-2.0 + 0.1 * 3.0 / (3.0 + 1e-8))).abs() < 1e-12);
        assert_eq!(th[2], 4.0); // clipped, zero gradient moves nothing else
        assert!((m[0] - 0.1).abs() < 1e-15 && (v[1] - 0.009).abs() < 1e-15);
    }

    #[test]
    fn per_parameter_rates_and_ranges() {
        let mut a = Adam::<f64>::new(3, 3, PAPER);
        a.theta.copy_from_slice(&[0.0, 0.0, 0.0]);
        a.groups = vec![Group { start: 0, end: 1, lr: 0.1, lo: f64::NEG_INFINITY, hi: f64::INFINITY }, Group { start: 1, end: 2, lr: 0.5, lo: -0.2, hi: 0.2 }];
        for s in a.slots.iter_mut() {
            s.copy_from_slice(&[1.0, 1.0, 1.0]);
        }
        a.step(3);
        assert!((a.theta[0] + 0.1).abs() < 1e-9);
        assert_eq!(a.theta[1], -0.2);
        assert_eq!(a.theta[2], 0.0); // in no group: untouched
        assert!((a.m[0] - 0.3).abs() < 1e-15); // three slots summed
        assert_eq!(a.t, 1.0);
    }

    /// Whole lane vectors and single elements give the same bits.
    fn lanes_match_scalars<E: Element + core::fmt::Debug>() {
        let n = 37;
        let val = |i: usize, k: usize| E::cst(((i * k % 17) as f64 - 8.0) * 0.013 + 1e-4 * k as f64);
        for used in 1..=3 {
            let slots: Vec<Vec<E>> = (0..used).map(|s| (0..n).map(|i| val(i, 3 + s)).collect()).collect();
            let refs: Vec<&[E]> = slots.iter().map(|s| &s[..]).collect();
            let start = |k: usize| -> Vec<E> { (0..n).map(|i| val(i, k)).collect() };
            let (mut th, mut m, mut v) = (start(7), start(5), start(11).iter().map(|&x| x * x).collect::<Vec<E>>());
            let (mut th1, mut m1, mut v1) = (th.clone(), m.clone(), v.clone());
            let group = |a: usize, b: usize| Group { start: a, end: b, lr: 0.01, lo: f64::NEG_INFINITY, hi: f64::INFINITY };
            adam_update(&mut th, &mut m, &mut v, &refs, 3.0, &[group(2, n)], &PAPER);
            let singles: Vec<Group> = (2..n).map(|i| group(i, i + 1)).collect();
            adam_update(&mut th1, &mut m1, &mut v1, &refs, 3.0, &singles, &PAPER);
            assert_eq!((th, m, v), (th1, m1, v1));
        }
    }

    #[test]
    fn simd_path_is_bit_identical() {
        lanes_match_scalars::<f32>();
        lanes_match_scalars::<f64>();
    }
}
