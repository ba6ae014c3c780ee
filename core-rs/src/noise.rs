//! Seeded random numbers for the thermal field (paper eq. 3).
//!
//! xoshiro256++ seeded through splitmix64; standard normals by Marsaglia's
//! polar method with a logarithm built from IEEE basic operations only, so a
//! seed gives the same numbers bit for bit in wasm and natively (libm's `ln`
//! differs between platforms in the last bit).

/// State words per generator in the flat ABI: 4 xoshiro words, the spare
/// normal's bits, and a flag telling whether the spare is valid.
pub const RNG_WORDS: usize = 6;

#[derive(Clone, Copy)]
pub struct Rng {
    s: [u64; 4],
    spare: f64,
    has_spare: bool,
}

#[inline(always)]
fn splitmix64(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// Generator for stream `stream` (e.g. the trial index) of run `seed`.
    pub fn new(seed: u64, stream: u64) -> Self {
        let mut st = stream.wrapping_mul(0xD1B5_4A32_D192_ED03);
        let mut x = seed ^ splitmix64(&mut st);
        let mut s = [0u64; 4];
        for w in s.iter_mut() {
            *w = splitmix64(&mut x);
        }
        if s == [0; 4] {
            s[0] = 1;
        }
        Rng { s, spare: 0.0, has_spare: false }
    }

    #[inline(always)]
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1) with 53 random bits.
    #[inline(always)]
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
    }

    /// A standard normal deviate (Marsaglia polar method).
    #[inline(always)]
    pub fn normal(&mut self) -> f64 {
        if self.has_spare {
            self.has_spare = false;
            return self.spare;
        }
        loop {
            let u = 2.0 * self.uniform() - 1.0;
            let v = 2.0 * self.uniform() - 1.0;
            let s = u * u + v * v;
            if s < 1.0 && s > 0.0 {
                let f = (-2.0 * ln(s) / s).sqrt();
                self.spare = v * f;
                self.has_spare = true;
                return u * f;
            }
        }
    }

    pub fn save(&self, out: &mut [u64]) {
        out[..4].copy_from_slice(&self.s);
        out[4] = self.spare.to_bits();
        out[5] = self.has_spare as u64;
    }

    pub fn load(w: &[u64]) -> Self {
        Rng { s: [w[0], w[1], w[2], w[3]], spare: f64::from_bits(w[4]), has_spare: w[5] != 0 }
    }

    /// A point uniformly distributed on the unit sphere.
    pub fn unit_vector(&mut self) -> [f64; 3] {
        loop {
            let (x, y, z) = (self.normal(), self.normal(), self.normal());
            let n = (x * x + y * y + z * z).sqrt();
            if n > 1e-12 {
                return [x / n, y / n, z / n];
            }
        }
    }
}

const LN2: f64 = core::f64::consts::LN_2;
const SQRT2: f64 = core::f64::consts::SQRT_2;

/// Natural logarithm of a positive finite `x` from basic IEEE operations:
/// x = 2^e y with y in [sqrt(1/2), sqrt(2)), ln y = 2 atanh(z), z = (y-1)/(y+1),
/// |z| <= 0.1716, summed to z^23 (truncation below 1e-18 relative).
pub fn ln(x: f64) -> f64 {
    let mut bits = x.to_bits();
    let mut e: i64 = 0;
    if (bits >> 52) & 0x7ff == 0 {
        // subnormal: scale into the normal range
        bits = (x * 18_014_398_509_481_984.0).to_bits(); // 2^54
        e -= 54;
    }
    e += ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut y = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    if y > SQRT2 {
        y *= 0.5;
        e += 1;
    }
    let z = (y - 1.0) / (y + 1.0);
    let z2 = z * z;
    // atanh(z)/z = sum z^(2k) / (2k + 1), Horner from k = 11 down.
    let mut p = 1.0 / 23.0;
    let mut k = 10;
    loop {
        p = p * z2 + 1.0 / (2 * k + 1) as f64;
        if k == 0 {
            break;
        }
        k -= 1;
    }
    e as f64 * LN2 + 2.0 * z * p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::approx_constant)] // 0.7071 and 1.4142 are test points near, not meant as, 1/sqrt(2) and sqrt(2)
    fn ln_matches_std_at_known_points() {
        assert_eq!(ln(1.0), 0.0);
        assert!((ln(2.0) - LN2).abs() < 2e-16);
        assert!((ln(core::f64::consts::E) - 1.0).abs() < 4e-16);
        for &x in &[1e-300, 5e-324, 1e-10, 0.3, 0.7071, 1.4142, 1.5, 10.0, 1e300] {
            let want = f64::ln(x);
            assert!((ln(x) - want).abs() <= 4e-16 * want.abs().max(1.0), "ln({}) = {} vs {}", x, ln(x), want);
        }
    }

    #[test]
    fn normal_moments() {
        let mut r = Rng::new(42, 0);
        let n = 400_000;
        let (mut s1, mut s2, mut s4) = (0.0, 0.0, 0.0);
        for _ in 0..n {
            let g = r.normal();
            s1 += g;
            s2 += g * g;
            s4 += g * g * g * g;
        }
        let n = n as f64;
        assert!((s1 / n).abs() < 0.01);
        assert!((s2 / n - 1.0).abs() < 0.01);
        assert!((s4 / n - 3.0).abs() < 0.05);
    }

    #[test]
    fn streams_differ_and_state_round_trips() {
        let mut a = Rng::new(7, 0);
        let mut b = Rng::new(7, 1);
        assert_ne!(a.next_u64(), b.next_u64());
        a.normal();
        let mut w = [0u64; RNG_WORDS];
        a.save(&mut w);
        let mut c = Rng::load(&w);
        assert_eq!(a.normal().to_bits(), c.normal().to_bits());
        assert_eq!(a.normal().to_bits(), c.normal().to_bits());
    }
}
