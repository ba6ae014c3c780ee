//! SIMD lane types: `F64x2` (two trials per wasm simd128 register) and `F32x4`.
//!
//! On wasm32 with `+simd128` they wrap `v128` and use the wasm SIMD
//! instructions; elsewhere they are plain arrays (which LLVM vectorizes with
//! SSE2 on x86_64). Both paths perform the same IEEE operations lane by lane,
//! so results are bit-identical across builds.

// Each lane type's add/sub/mul/div/neg are inherent methods (one per SIMD
// instruction) that the std::ops impls at the bottom forward to.
#![allow(clippy::should_implement_trait)]

use crate::scalar::{Lanes, Scalar};
use core::ops::{Add, Div, Mul, Neg, Sub};

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod imp {
    use core::arch::wasm32::*;

    #[derive(Clone, Copy)]
    pub struct F64x2(pub v128);
    #[derive(Clone, Copy)]
    pub struct F32x4(pub v128);

    impl F64x2 {
        #[inline(always)]
        pub fn splat(x: f64) -> Self {
            F64x2(f64x2_splat(x))
        }
        #[inline(always)]
        pub fn load(s: &[f64]) -> Self {
            let s = &s[..2];
            // SAFETY: two f64 in bounds; v128.load has no alignment requirement
            F64x2(unsafe { v128_load(s.as_ptr() as *const v128) })
        }
        #[inline(always)]
        pub fn store(self, out: &mut [f64]) {
            let o = &mut out[..2];
            // SAFETY: two f64 in bounds; v128.store has no alignment requirement
            unsafe { v128_store(o.as_mut_ptr() as *mut v128, self.0) }
        }
        /// [a0 + a1, b0 + b1]
        #[inline(always)]
        pub fn hsums(v: &[Self]) -> Self {
            let (a, b) = (v[0].0, v[1].0);
            F64x2(f64x2_add(i64x2_shuffle::<0, 2>(a, b), i64x2_shuffle::<1, 3>(a, b)))
        }
        #[inline(always)]
        pub fn new(a: f64, b: f64) -> Self {
            F64x2(f64x2(a, b))
        }
        #[inline(always)]
        pub fn get(self, i: usize) -> f64 {
            if i == 0 {
                f64x2_extract_lane::<0>(self.0)
            } else {
                f64x2_extract_lane::<1>(self.0)
            }
        }
        #[inline(always)]
        pub fn add(self, o: Self) -> Self {
            F64x2(f64x2_add(self.0, o.0))
        }
        #[inline(always)]
        pub fn sub(self, o: Self) -> Self {
            F64x2(f64x2_sub(self.0, o.0))
        }
        #[inline(always)]
        pub fn mul(self, o: Self) -> Self {
            F64x2(f64x2_mul(self.0, o.0))
        }
        #[inline(always)]
        pub fn div(self, o: Self) -> Self {
            F64x2(f64x2_div(self.0, o.0))
        }
        #[inline(always)]
        pub fn neg(self) -> Self {
            F64x2(f64x2_neg(self.0))
        }
        #[inline(always)]
        pub fn sqrt(self) -> Self {
            F64x2(f64x2_sqrt(self.0))
        }
    }

    impl F32x4 {
        #[inline(always)]
        pub fn splat(x: f32) -> Self {
            F32x4(f32x4_splat(x))
        }
        #[inline(always)]
        pub fn load(s: &[f32]) -> Self {
            let s = &s[..4];
            // SAFETY: four f32 in bounds; v128.load has no alignment requirement
            F32x4(unsafe { v128_load(s.as_ptr() as *const v128) })
        }
        #[inline(always)]
        pub fn store(self, out: &mut [f32]) {
            let o = &mut out[..4];
            // SAFETY: four f32 in bounds; v128.store has no alignment requirement
            unsafe { v128_store(o.as_mut_ptr() as *mut v128, self.0) }
        }
        /// Lane i = ((v_i.0 + v_i.1) + v_i.2) + v_i.3: a 4 x 4 transpose, then three adds.
        #[inline(always)]
        pub fn hsums(v: &[Self]) -> Self {
            let (a, b, c, d) = (v[0].0, v[1].0, v[2].0, v[3].0);
            let ab_lo = i32x4_shuffle::<0, 4, 1, 5>(a, b); // a0 b0 a1 b1
            let cd_lo = i32x4_shuffle::<0, 4, 1, 5>(c, d); // c0 d0 c1 d1
            let ab_hi = i32x4_shuffle::<2, 6, 3, 7>(a, b); // a2 b2 a3 b3
            let cd_hi = i32x4_shuffle::<2, 6, 3, 7>(c, d); // c2 d2 c3 d3
            let l0 = i64x2_shuffle::<0, 2>(ab_lo, cd_lo); // a0 b0 c0 d0
            let l1 = i64x2_shuffle::<1, 3>(ab_lo, cd_lo); // a1 b1 c1 d1
            let l2 = i64x2_shuffle::<0, 2>(ab_hi, cd_hi);
            let l3 = i64x2_shuffle::<1, 3>(ab_hi, cd_hi);
            F32x4(f32x4_add(f32x4_add(f32x4_add(l0, l1), l2), l3))
        }
        #[inline(always)]
        pub fn new(a: f32, b: f32, c: f32, d: f32) -> Self {
            F32x4(f32x4(a, b, c, d))
        }
        #[inline(always)]
        pub fn get(self, i: usize) -> f32 {
            match i {
                0 => f32x4_extract_lane::<0>(self.0),
                1 => f32x4_extract_lane::<1>(self.0),
                2 => f32x4_extract_lane::<2>(self.0),
                _ => f32x4_extract_lane::<3>(self.0),
            }
        }
        #[inline(always)]
        pub fn add(self, o: Self) -> Self {
            F32x4(f32x4_add(self.0, o.0))
        }
        #[inline(always)]
        pub fn sub(self, o: Self) -> Self {
            F32x4(f32x4_sub(self.0, o.0))
        }
        #[inline(always)]
        pub fn mul(self, o: Self) -> Self {
            F32x4(f32x4_mul(self.0, o.0))
        }
        #[inline(always)]
        pub fn div(self, o: Self) -> Self {
            F32x4(f32x4_div(self.0, o.0))
        }
        #[inline(always)]
        pub fn neg(self) -> Self {
            F32x4(f32x4_neg(self.0))
        }
        #[inline(always)]
        pub fn sqrt(self) -> Self {
            F32x4(f32x4_sqrt(self.0))
        }
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod imp {
    #[derive(Clone, Copy)]
    pub struct F64x2(pub [f64; 2]);
    #[derive(Clone, Copy)]
    pub struct F32x4(pub [f32; 4]);

    macro_rules! lanewise {
        ($t:ident, $e:ty, $n:expr) => {
            impl $t {
                #[inline(always)]
                pub fn splat(x: $e) -> Self {
                    $t([x; $n])
                }
                #[inline(always)]
                pub fn load(s: &[$e]) -> Self {
                    let mut r = [0 as $e; $n];
                    r.copy_from_slice(&s[..$n]);
                    $t(r)
                }
                #[inline(always)]
                pub fn store(self, out: &mut [$e]) {
                    out[..$n].copy_from_slice(&self.0);
                }
                #[inline(always)]
                pub fn hsums(v: &[Self]) -> Self {
                    let mut r = [0 as $e; $n];
                    for (i, ri) in r.iter_mut().enumerate() {
                        let mut s = v[i].0[0];
                        for l in 1..$n {
                            s += v[i].0[l];
                        }
                        *ri = s;
                    }
                    $t(r)
                }
                #[inline(always)]
                pub fn get(self, i: usize) -> $e {
                    self.0[i]
                }
                #[inline(always)]
                pub fn add(self, o: Self) -> Self {
                    let mut r = self.0;
                    for i in 0..$n {
                        r[i] += o.0[i];
                    }
                    $t(r)
                }
                #[inline(always)]
                pub fn sub(self, o: Self) -> Self {
                    let mut r = self.0;
                    for i in 0..$n {
                        r[i] -= o.0[i];
                    }
                    $t(r)
                }
                #[inline(always)]
                pub fn mul(self, o: Self) -> Self {
                    let mut r = self.0;
                    for i in 0..$n {
                        r[i] *= o.0[i];
                    }
                    $t(r)
                }
                #[inline(always)]
                pub fn div(self, o: Self) -> Self {
                    let mut r = self.0;
                    for i in 0..$n {
                        r[i] /= o.0[i];
                    }
                    $t(r)
                }
                #[inline(always)]
                pub fn neg(self) -> Self {
                    let mut r = self.0;
                    for i in 0..$n {
                        r[i] = -r[i];
                    }
                    $t(r)
                }
                #[inline(always)]
                pub fn sqrt(self) -> Self {
                    let mut r = self.0;
                    for i in 0..$n {
                        r[i] = r[i].sqrt();
                    }
                    $t(r)
                }
            }
        };
    }
    lanewise!(F64x2, f64, 2);
    lanewise!(F32x4, f32, 4);

    impl F64x2 {
        #[inline(always)]
        pub fn new(a: f64, b: f64) -> Self {
            F64x2([a, b])
        }
    }
    impl F32x4 {
        #[inline(always)]
        pub fn new(a: f32, b: f32, c: f32, d: f32) -> Self {
            F32x4([a, b, c, d])
        }
    }
}

pub use imp::{F32x4, F64x2};

macro_rules! ops {
    ($t:ident, $e:ty, $n:expr) => {
        impl Add for $t {
            type Output = $t;
            #[inline(always)]
            fn add(self, o: $t) -> $t {
                $t::add(self, o)
            }
        }
        impl Sub for $t {
            type Output = $t;
            #[inline(always)]
            fn sub(self, o: $t) -> $t {
                $t::sub(self, o)
            }
        }
        impl Mul for $t {
            type Output = $t;
            #[inline(always)]
            fn mul(self, o: $t) -> $t {
                $t::mul(self, o)
            }
        }
        impl Div for $t {
            type Output = $t;
            #[inline(always)]
            fn div(self, o: $t) -> $t {
                $t::div(self, o)
            }
        }
        impl Neg for $t {
            type Output = $t;
            #[inline(always)]
            fn neg(self) -> $t {
                $t::neg(self)
            }
        }
        impl Scalar for $t {
            #[inline(always)]
            fn cst(x: f64) -> Self {
                $t::splat(x as $e)
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                $t::sqrt(self)
            }
        }
        impl Lanes for $t {
            type Elem = $e;
            const N: usize = $n;
            #[inline(always)]
            fn lane(self, i: usize) -> $e {
                self.get(i)
            }
            #[inline(always)]
            fn from_fn<F: FnMut(usize) -> $e>(mut f: F) -> Self {
                let mut a = [0 as $e; $n];
                for (i, v) in a.iter_mut().enumerate() {
                    *v = f(i);
                }
                Self::from_array(a)
            }
            #[inline(always)]
            fn splat(e: $e) -> Self {
                $t::splat(e)
            }
            #[inline(always)]
            fn load(s: &[$e]) -> Self {
                $t::load(s)
            }
            #[inline(always)]
            fn store(self, out: &mut [$e]) {
                $t::store(self, out)
            }
            #[inline(always)]
            fn hsums(v: &[Self]) -> Self {
                $t::hsums(v)
            }
        }
    };
}
ops!(F64x2, f64, 2);
ops!(F32x4, f32, 4);

impl F64x2 {
    #[inline(always)]
    pub fn from_array(a: [f64; 2]) -> Self {
        F64x2::new(a[0], a[1])
    }
}
impl F32x4 {
    #[inline(always)]
    pub fn from_array(a: [f32; 4]) -> Self {
        F32x4::new(a[0], a[1], a[2], a[3])
    }
}

/// Four f64 lanes as two `F64x2`: two independent dependency chains in one
/// instruction stream, for work that is bound by latency rather than
/// throughput in `F64x2` (sysid's loss-only integration).
#[derive(Clone, Copy)]
pub struct F64x4(pub F64x2, pub F64x2);

impl Add for F64x4 {
    type Output = F64x4;
    #[inline(always)]
    fn add(self, o: F64x4) -> F64x4 {
        F64x4(self.0 + o.0, self.1 + o.1)
    }
}
impl Sub for F64x4 {
    type Output = F64x4;
    #[inline(always)]
    fn sub(self, o: F64x4) -> F64x4 {
        F64x4(self.0 - o.0, self.1 - o.1)
    }
}
impl Mul for F64x4 {
    type Output = F64x4;
    #[inline(always)]
    fn mul(self, o: F64x4) -> F64x4 {
        F64x4(self.0 * o.0, self.1 * o.1)
    }
}
impl Div for F64x4 {
    type Output = F64x4;
    #[inline(always)]
    fn div(self, o: F64x4) -> F64x4 {
        F64x4(self.0 / o.0, self.1 / o.1)
    }
}
impl Neg for F64x4 {
    type Output = F64x4;
    #[inline(always)]
    fn neg(self) -> F64x4 {
        F64x4(-self.0, -self.1)
    }
}
impl Scalar for F64x4 {
    #[inline(always)]
    fn cst(x: f64) -> Self {
        F64x4(F64x2::splat(x), F64x2::splat(x))
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        F64x4(Scalar::sqrt(self.0), Scalar::sqrt(self.1))
    }
}
impl Lanes for F64x4 {
    type Elem = f64;
    const N: usize = 4;
    #[inline(always)]
    fn lane(self, i: usize) -> f64 {
        if i < 2 {
            self.0.get(i)
        } else {
            self.1.get(i - 2)
        }
    }
    #[inline(always)]
    fn from_fn<F: FnMut(usize) -> f64>(mut f: F) -> Self {
        let a = [f(0), f(1), f(2), f(3)];
        F64x4(F64x2::new(a[0], a[1]), F64x2::new(a[2], a[3]))
    }
    #[inline(always)]
    fn splat(e: f64) -> Self {
        F64x4(F64x2::splat(e), F64x2::splat(e))
    }
}
