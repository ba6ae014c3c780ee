//! A 3-vector over any `Scalar`.

use crate::scalar::Scalar;

#[derive(Clone, Copy)]
pub struct V3<S> {
    pub x: S,
    pub y: S,
    pub z: S,
}

// add/sub are plain methods like scale/axpy/dot/cross (one vocabulary for
// the vector algebra), not operator overloads.
#[allow(clippy::should_implement_trait)]
impl<S: Scalar> V3<S> {
    #[inline(always)]
    pub fn new(x: S, y: S, z: S) -> Self {
        V3 { x, y, z }
    }
    #[inline(always)]
    pub fn zero() -> Self {
        V3::new(S::zero(), S::zero(), S::zero())
    }
    #[inline(always)]
    pub fn add(self, o: Self) -> Self {
        V3::new(self.x + o.x, self.y + o.y, self.z + o.z)
    }
    #[inline(always)]
    pub fn sub(self, o: Self) -> Self {
        V3::new(self.x - o.x, self.y - o.y, self.z - o.z)
    }
    #[inline(always)]
    pub fn scale(self, k: S) -> Self {
        V3::new(self.x * k, self.y * k, self.z * k)
    }
    /// self + k * o
    #[inline(always)]
    pub fn axpy(self, k: S, o: Self) -> Self {
        V3::new(self.x + k * o.x, self.y + k * o.y, self.z + k * o.z)
    }
    #[inline(always)]
    pub fn dot(self, o: Self) -> S {
        self.x * o.x + self.y * o.y + self.z * o.z
    }
    #[inline(always)]
    pub fn cross(self, o: Self) -> Self {
        V3::new(self.y * o.z - self.z * o.y, self.z * o.x - self.x * o.z, self.x * o.y - self.y * o.x)
    }
    /// m / |m|
    #[inline(always)]
    pub fn normalized(self) -> Self {
        let inv = S::one() / self.dot(self).sqrt();
        self.scale(inv)
    }
}
