//! Batched integration of independent trials: the simulator behind
//! `stoopt simulate`, with trials packed into SIMD lanes.

use crate::heun::heun_step;
use crate::noise::Rng;
use crate::params::Params;
use crate::rk4::rk4_step;
use crate::scalar::{Lanes, Scalar};
use crate::simd::F64x2;
use crate::torque::llg_rhs;
use crate::vec3::V3;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Scheme {
    /// Classic RK4, noise held through the step (the paper's scheme).
    Rk4,
    /// Stochastic Heun (Stratonovich), for thermal statistics.
    Heun,
}

impl Scheme {
    pub fn from_code(c: u32) -> Option<Scheme> {
        match c {
            0 => Some(Scheme::Rk4),
            1 => Some(Scheme::Heun),
            _ => None,
        }
    }
}

/// One step of `scheme` with the thermal field `h` held through it.
#[inline(always)]
pub fn step<S: Scalar>(scheme: Scheme, m: V3<S>, d: &crate::params::Derived<S>, h: V3<S>, dt: S) -> V3<S> {
    let mut f = |mm: V3<S>| llg_rhs(mm, d, h);
    match scheme {
        Scheme::Rk4 => rk4_step(m, dt, &mut f),
        Scheme::Heun => heun_step(m, dt, &mut f),
    }
}

pub struct Batch<'a> {
    pub params: &'a Params<f64>,
    pub scheme: Scheme,
    pub dt_s: f64,
    /// Standard deviation of each thermal-field component per step [Oe]; 0 = no noise.
    pub sigma_oe: f64,
}

const MAX_LANES: usize = 4;

impl<'a> Batch<'a> {
    /// Advance every trial by `steps_per_sample * n_samples` steps. `m` holds
    /// 3 numbers per trial and is updated in place; `rngs` holds one generator
    /// per trial. If `out` is given, the state after every `steps_per_sample`
    /// steps is written there, laid out [trial][sample][mx, my, mz].
    pub fn run(&self, m: &mut [f64], rngs: &mut [Rng], steps_per_sample: usize, n_samples: usize, out: Option<&mut [f64]>) {
        if rngs.len() == 1 {
            self.run_lanes::<f64>(m, rngs, steps_per_sample, n_samples, out)
        } else {
            self.run_lanes::<F64x2>(m, rngs, steps_per_sample, n_samples, out)
        }
    }

    /// The same, with `L::N` trials per SIMD register. Results do not depend
    /// on the lane type: each lane performs exactly the scalar operations.
    pub fn run_lanes<L: Lanes<Elem = f64>>(&self, m: &mut [f64], rngs: &mut [Rng], steps_per_sample: usize, n_samples: usize, mut out: Option<&mut [f64]>) {
        let n = rngs.len();
        let d = self.params.map(L::cst).derive();
        let dt = L::cst(self.dt_s);
        let sigma = self.sigma_oe;
        let mut t0 = 0;
        while t0 < n {
            let cnt = (n - t0).min(L::N);
            // Padding lanes repeat the last trial with a scratch generator.
            let idx = |l: usize| t0 + l.min(cnt - 1);
            let mut lane_rng = [Rng::new(0, u64::MAX); MAX_LANES];
            lane_rng[..cnt].copy_from_slice(&rngs[t0..t0 + cnt]);
            let mut mv = V3::new(L::from_fn(|l| m[3 * idx(l)]), L::from_fn(|l| m[3 * idx(l) + 1]), L::from_fn(|l| m[3 * idx(l) + 2]));
            for s in 0..n_samples {
                for _ in 0..steps_per_sample {
                    let h = if sigma > 0.0 {
                        let mut g = [[0.0f64; 3]; MAX_LANES];
                        for (l, gl) in g.iter_mut().enumerate().take(L::N) {
                            for c in gl.iter_mut() {
                                *c = sigma * lane_rng[l].normal();
                            }
                        }
                        V3::new(L::from_fn(|l| g[l][0]), L::from_fn(|l| g[l][1]), L::from_fn(|l| g[l][2]))
                    } else {
                        V3::zero()
                    };
                    mv = step(self.scheme, mv, &d, h, dt);
                }
                if let Some(o) = out.as_deref_mut() {
                    for l in 0..cnt {
                        let k = 3 * ((t0 + l) * n_samples + s);
                        o[k] = mv.x.lane(l);
                        o[k + 1] = mv.y.lane(l);
                        o[k + 2] = mv.z.lane(l);
                    }
                }
            }
            for l in 0..cnt {
                m[3 * (t0 + l)] = mv.x.lane(l);
                m[3 * (t0 + l) + 1] = mv.y.lane(l);
                m[3 * (t0 + l) + 2] = mv.z.lane(l);
            }
            rngs[t0..t0 + cnt].copy_from_slice(&lane_rng[..cnt]);
            t0 += L::N;
        }
    }
}
