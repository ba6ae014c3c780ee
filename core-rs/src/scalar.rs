//! The `Scalar` trait: the one number type the physics is written against.
//!
//! The LLG right-hand side, RK4 and Heun are generic over `Scalar`, so the same
//! code runs on plain `f64`/`f32`, on SIMD lanes across trials (`F64x2`,
//! `F32x4`), and on forward-mode dual numbers built on any of those.
//! Only IEEE-754 basic operations (+, -, *, /, sqrt) are used, which are
//! correctly rounded everywhere: a wasm build and a native build of the same
//! code give bit-identical results.

use core::ops::{Add, Div, Mul, Neg, Sub};

pub trait Scalar: Copy + Add<Output = Self> + Sub<Output = Self> + Mul<Output = Self> + Div<Output = Self> + Neg<Output = Self> {
    /// A constant (zero tangent for duals), broadcast to every lane.
    fn cst(x: f64) -> Self;
    /// Square root (correctly rounded IEEE sqrt on the real part).
    fn sqrt(self) -> Self;
    #[inline(always)]
    fn zero() -> Self {
        Self::cst(0.0)
    }
    #[inline(always)]
    fn one() -> Self {
        Self::cst(1.0)
    }
}

impl Scalar for f64 {
    #[inline(always)]
    fn cst(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        f64::sqrt(self)
    }
}

impl Scalar for f32 {
    #[inline(always)]
    fn cst(x: f64) -> Self {
        x as f32
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        f32::sqrt(self)
    }
}

/// Lane access for SIMD types (and the trivial single-lane case).
pub trait Lanes: Scalar {
    type Elem: Copy;
    const N: usize;
    fn lane(self, i: usize) -> Self::Elem;
    fn from_fn<F: FnMut(usize) -> Self::Elem>(f: F) -> Self;
    /// Every lane set to `e`.
    fn splat(e: Self::Elem) -> Self;
    /// Lanes from `s[..N]` (one unaligned vector load).
    #[inline(always)]
    fn load(s: &[Self::Elem]) -> Self {
        Self::from_fn(|l| s[l])
    }
    /// The lanes into `out[..N]` (one unaligned vector store).
    #[inline(always)]
    fn store(self, out: &mut [Self::Elem]) {
        for (l, o) in out[..Self::N].iter_mut().enumerate() {
            *o = self.lane(l);
        }
    }
    /// Lane i = the sum of the lanes of `v[i]`, added in lane order as
    /// `gemm::hsum` does (bit-identical to it), for the N vectors `v[..N]`:
    /// N horizontal sums at the cost of a transpose.
    #[inline(always)]
    fn hsums(v: &[Self]) -> Self
    where
        Self::Elem: Scalar,
    {
        Self::from_fn(|i| {
            let mut s = v[i].lane(0);
            for l in 1..Self::N {
                s = s + v[i].lane(l);
            }
            s
        })
    }
}

impl Lanes for f64 {
    type Elem = f64;
    const N: usize = 1;
    #[inline(always)]
    fn lane(self, _i: usize) -> f64 {
        self
    }
    #[inline(always)]
    fn from_fn<F: FnMut(usize) -> f64>(mut f: F) -> Self {
        f(0)
    }
    #[inline(always)]
    fn splat(e: f64) -> Self {
        e
    }
}

impl Lanes for f32 {
    type Elem = f32;
    const N: usize = 1;
    #[inline(always)]
    fn lane(self, _i: usize) -> f32 {
        self
    }
    #[inline(always)]
    fn from_fn<F: FnMut(usize) -> f32>(mut f: F) -> Self {
        f(0)
    }
    #[inline(always)]
    fn splat(e: f32) -> Self {
        e
    }
}
