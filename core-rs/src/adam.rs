//! Adam (Kingma & Ba), as PyTorch implements it, over a slice of parameters:
//!   m = b1 m + (1 - b1) g,  v = b2 v + (1 - b2) g^2,
//!   theta -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps),
//! with g the sum of the workers' gradient slices, then theta clipped to
//! [lo, hi] (the physical range; +-infinity for none). Arithmetic in the
//! parameters' precision.

use crate::scalar::Scalar;

pub struct AdamStep {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    /// step counter, from 1
    pub t: f64,
    pub lo: f64,
    pub hi: f64,
}

pub fn adam_update<E: Scalar + PartialOrd>(theta: &mut [E], m: &mut [E], v: &mut [E], g0: &[E], g1: Option<&[E]>, s: &AdamStep) {
    let c1 = 1.0 - s.beta1.powf(s.t);
    let c2 = 1.0 - s.beta2.powf(s.t);
    let a = E::cst(s.lr / c1);
    let inv_s2 = E::cst(1.0 / c2.sqrt());
    let (b1, b2) = (E::cst(s.beta1), E::cst(s.beta2));
    let (ob1, ob2) = (E::cst(1.0 - s.beta1), E::cst(1.0 - s.beta2));
    let eps = E::cst(s.eps);
    let (lo, hi) = (E::cst(s.lo), E::cst(s.hi));
    let n = theta.len();
    let (m, v, g0) = (&mut m[..n], &mut v[..n], &g0[..n]);
    let clip = s.lo > f64::NEG_INFINITY || s.hi < f64::INFINITY;
    let mut upd = |i: usize, g: E| {
        let mi = b1 * m[i] + ob1 * g;
        let vi = b2 * v[i] + ob2 * g * g;
        m[i] = mi;
        v[i] = vi;
        let mut x = theta[i] - a * mi / (vi.sqrt() * inv_s2 + eps);
        if clip {
            if x < lo {
                x = lo;
            }
            if x > hi {
                x = hi;
            }
        }
        theta[i] = x;
    };
    match g1 {
        Some(g1) => {
            let g1 = &g1[..n];
            for i in 0..n {
                upd(i, g0[i] + g1[i]);
            }
        }
        None => {
            for i in 0..n {
                upd(i, g0[i]);
            }
        }
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
        let s = AdamStep { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, t: 1.0, lo: f64::NEG_INFINITY, hi: 4.0 };
        adam_update(&mut th, &mut m, &mut v, &g, Some(&[0.5, 0.0, 0.0]), &s);
        // g0 + g1 = (1, -3, 0)
        assert!((th[0] - (1.0 - 0.1 * 1.0 / (1.0 + 1e-8))).abs() < 1e-12);
        assert!((th[1] - (-2.0 + 0.1 * 3.0 / (3.0 + 1e-8))).abs() < 1e-12);
        assert_eq!(th[2], 4.0); // clipped, zero gradient moves nothing else
        assert!((m[0] - 0.1).abs() < 1e-15 && (v[1] - 0.009).abs() < 1e-15);
    }
}
