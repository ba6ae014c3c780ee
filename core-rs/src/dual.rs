//! Forward-mode dual numbers `Dual<S, N>`: a value and `N` tangents.
//!
//! `S` is any `Scalar` (f64, f32 or a SIMD lane type), so a dual over `F64x2`
//! differentiates two trials at once. Rules are labelled at each operation.
//! There are no comparisons or branches in the physics; where any are needed
//! they must look at the real part only.

// The tangent loops index the operands' and the result's tangents by k together.
#![allow(clippy::needless_range_loop)]

use crate::scalar::Scalar;
use core::ops::{Add, Div, Mul, Neg, Sub};

#[derive(Clone, Copy)]
pub struct Dual<S: Scalar, const N: usize> {
    pub re: S,
    pub eps: [S; N],
}

impl<S: Scalar, const N: usize> Dual<S, N> {
    /// A constant: all tangents zero.
    #[inline(always)]
    pub fn constant(re: S) -> Self {
        Dual { re, eps: [S::zero(); N] }
    }
    /// An independent variable: tangent 1 in direction `k`.
    #[inline(always)]
    pub fn variable(re: S, k: usize) -> Self {
        let mut d = Self::constant(re);
        d.eps[k] = S::one();
        d
    }
}

impl<S: Scalar, const N: usize> Add for Dual<S, N> {
    type Output = Self;
    /// Sum rule: (a + b)' = a' + b'.
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        let mut eps = self.eps;
        for k in 0..N {
            eps[k] = eps[k] + o.eps[k];
        }
        Dual { re: self.re + o.re, eps }
    }
}

impl<S: Scalar, const N: usize> Sub for Dual<S, N> {
    type Output = Self;
    /// Difference rule: (a - b)' = a' - b'.
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        let mut eps = self.eps;
        for k in 0..N {
            eps[k] = eps[k] - o.eps[k];
        }
        Dual { re: self.re - o.re, eps }
    }
}

impl<S: Scalar, const N: usize> Mul for Dual<S, N> {
    type Output = Self;
    /// Product rule: (a b)' = a' b + a b'.
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        let mut eps = self.eps;
        for k in 0..N {
            eps[k] = self.eps[k] * o.re + self.re * o.eps[k];
        }
        Dual { re: self.re * o.re, eps }
    }
}

impl<S: Scalar, const N: usize> Div for Dual<S, N> {
    type Output = Self;
    /// Quotient rule: (a / b)' = (a' - (a/b) b') / b.
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        let q = self.re / o.re;
        let mut eps = self.eps;
        for k in 0..N {
            eps[k] = (self.eps[k] - q * o.eps[k]) / o.re;
        }
        Dual { re: q, eps }
    }
}

impl<S: Scalar, const N: usize> Neg for Dual<S, N> {
    type Output = Self;
    /// Negation: (-a)' = -a'.
    #[inline(always)]
    fn neg(self) -> Self {
        let mut eps = self.eps;
        for e in eps.iter_mut() {
            *e = -*e;
        }
        Dual { re: -self.re, eps }
    }
}

impl<S: Scalar, const N: usize> Scalar for Dual<S, N> {
    #[inline(always)]
    fn cst(x: f64) -> Self {
        Self::constant(S::cst(x))
    }
    /// Chain rule: sqrt(a)' = a' / (2 sqrt(a)).
    #[inline(always)]
    fn sqrt(self) -> Self {
        let r = self.re.sqrt();
        let two_r = r + r;
        let mut eps = self.eps;
        for e in eps.iter_mut() {
            *e = *e / two_r;
        }
        Dual { re: r, eps }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    type D = Dual<f64, 2>;

    #[test]
    fn elementary_rules_match_known_derivatives() {
        let x = D::variable(3.0, 0);
        let y = D::variable(-2.0, 1);
        let p = x * y; // d/dx = y, d/dy = x
        assert_eq!((p.re, p.eps[0], p.eps[1]), (-6.0, -2.0, 3.0));
        let q = x / y; // d/dx = 1/y, d/dy = -x/y^2
        assert_eq!((q.re, q.eps[0], q.eps[1]), (-1.5, -0.5, -0.75));
        let s = (x * x).sqrt(); // |x| for x > 0: derivative 1
        assert_eq!((s.re, s.eps[0], s.eps[1]), (3.0, 1.0, 0.0));
        let d = x - y + (-x); // = -y
        assert_eq!((d.re, d.eps[0], d.eps[1]), (2.0, 0.0, -1.0));
    }

    #[test]
    fn sqrt_edge_points() {
        let one = D::variable(1.0, 0);
        let r = one.sqrt();
        assert_eq!((r.re, r.eps[0]), (1.0, 0.5));
        let tiny = D::variable(1e-300, 0).sqrt();
        assert!((tiny.re - 1e-150).abs() < 1e-164);
        assert!((tiny.eps[0] - 0.5e150).abs() / 0.5e150 < 1e-14);
        // sqrt at 0: value 0, derivative infinite (as in exact arithmetic)
        let z = D::variable(0.0, 0).sqrt();
        assert_eq!(z.re, 0.0);
        assert!(z.eps[0].is_infinite());
        // a constant has zero tangents through every rule
        let c = D::cst(2.0);
        let e = (c * c / c + c).sqrt();
        assert_eq!(e.eps, [0.0, 0.0]);
    }
}
