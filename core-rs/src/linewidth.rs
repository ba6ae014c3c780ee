//! The weak-noise linewidth of the auto-oscillation under the simulator's
//! thermal field: phase diffusion along the limit cycle through its phase
//! response curve (PRC). The model behind `stoopt sysid --spectrum` with
//! `--temperature`.
//!
//! Noise. The simulator adds the thermal field h(t) of paper eq. (3) to the
//! effective field inside the LLG right-hand side F(m, h) (torque.rs), as
//! white noise of intensity q per component,
//!   <h_i(t) h_j(t')> = q delta_ij delta(t - t'),  q = 2 alpha kB T / (gamma M V)  [Oe^2 s]
//! (noise.rs/params.rs: held through a step dt with variance q / dt), in the
//! Stratonovich sense (Heun). F is linear in h: F(m, h) = F(m) + G(m) h with
//! G = dF/dh [rad/(Oe s)] (it includes the Landau-Lifshitz prefactor and the
//! alpha m x (m x h) part).
//!
//! Phase reduction. Let m*(t) be the noise-free limit cycle with period T,
//! omega = 2 pi / T, and Z(t) the gradient of its asymptotic phase [rad per
//! unit m] (the PRC): Z obeys the adjoint linearized equation
//! dZ/dt = -A(t)^T Z with A = dF/dm along the cycle, is T-periodic, and is
//! normalized by Z . F(m*) = omega. To first order in the noise the phase obeys
//! d phi / dt = omega + Z^T G h, so phi(t) - omega t is a Brownian motion with
//! Var = q integral |G^T Z|^2 dt = 2 D t,
//!   D = (q / 2) <|G(m*)^T Z|^2>_T   [rad^2 / s]  (time average over a period).
//! The m_x signal ~ cos(phi) then has the autocorrelation
//! (1/2) cos(omega tau) exp(-D |tau|): a Lorentzian of half width D in angular
//! frequency, i.e. a full width at half maximum
//!   FWHM = 2 D / (2 pi) = D / pi   [Hz],
//! the convention of `stoopt spectrum`'s Lorentzian fit (test/spectrum.test.ts
//! checks FWHM = D / pi on a phase-diffusion line). Z contains the
//! amplitude-phase coupling (the isochrons' tilt), so no separate nonlinear
//! frequency shift factor (1 + nu^2) is needed. Only Z's action on vectors
//! tangent to the sphere matters (G h is perpendicular to m); its radial part
//! is a conserved multiple of m and does not enter.
//!
//! Limits: first order in q (weak noise). The amplitude deviation relaxes at
//! Gamma = -ln(mu) / T (mu the cycle's nontrivial Floquet multiplier); the
//! reduction needs D << Gamma. `weak_noise_ratio` = D / Gamma is returned so
//! that points near threshold (Gamma -> 0) can be flagged. The noise-induced
//! shift of the frequency (order q) is not modelled.
//!
//! Numerics. The cycle is the fixed point of the return map to the half plane
//! y = 0 (crossed in the direction of the flow at the start) parameterized by
//! m_z: RK4 on a grid of T_estimate / (N - 1/2) so the crossing falls inside
//! the last step, located by the secant method on the length of a partial RK4
//! step; the 1-D fixed point by Steffensen's (Aitken) iteration. Then, with
//! h = T / N: the cycle and its monodromy on the tangent plane (dual numbers
//! in two tangent directions of the start point), Z(0) as the left eigenvector
//! of the monodromy for the multiplier 1, Z(t) by RK4 on the adjoint equation
//! backwards over one period (stable backwards: the amplitude part decays),
//! and D by the periodic trapezoid rule (spectrally accurate). Derivatives
//! by parameters: central differences of this deterministic, smooth
//! computation (relative step `FD_STEP`, perturbed runs warm-started at the
//! centre's fixed point).

use crate::dual::Dual;
use crate::params::{Params, KB_ERG_PER_K, N_PARAMS, PI};
use crate::rk4::rk4_step;
use crate::scalar::Scalar;
use crate::torque::llg_rhs;
use crate::vec3::V3;

pub struct LinewidthSetup {
    /// RK4 steps per period (return map, cycle, monodromy, adjoint).
    pub steps_per_period: usize,
    /// Upper bound on return-map evaluations.
    pub max_periods: usize,
}

impl Default for LinewidthSetup {
    fn default() -> Self {
        LinewidthSetup { steps_per_period: 1024, max_periods: 4000 }
    }
}

#[derive(Clone, Debug)]
pub struct Linewidth {
    /// 1 / T of the noise-free cycle [Hz]
    pub f_hz: f64,
    /// Lorentzian FWHM of m_x's line, D / pi [Hz]
    pub linewidth_hz: f64,
    /// phase diffusion constant D [rad^2/s]
    pub diffusion: f64,
    /// nontrivial Floquet multiplier mu and relaxation rate Gamma = -ln(mu) / T [1/s]
    pub multiplier: f64,
    pub relaxation_rate: f64,
    /// D / Gamma: the weak-noise reduction needs it << 1
    pub weak_noise_ratio: f64,
    /// <m_z> over the cycle
    pub mz: f64,
    /// the cycle's point on the section y = 0
    pub m0: [f64; 3],
    /// return-map evaluations used
    pub periods: usize,
    /// |Z(0) - Z(T)| / |Z(T)| on the tangent plane after the backward period (the PRC's periodicity)
    pub prc_closure: f64,
    /// d linewidth_hz / d theta and d f_hz / d theta for the `fit` parameters (central differences)
    pub dlw: Vec<f64>,
    pub df: Vec<f64>,
}

/// Relative step of the central differences (truncation ~ FD_STEP^2, round-off ~ 1e-13 / FD_STEP).
pub const FD_STEP: f64 = 1e-4;

/// f64 values `stoopt_linewidth` writes before the 2 n_fit derivatives: f, FWHM, D, the
/// multiplier, Gamma, D/Gamma, <m_z>, periods, PRC closure.
pub const LINEWIDTH_OUT_FIXED: usize = 9;

/// Thermal-field intensity q = 2 alpha kB T / (gamma M V) [Oe^2 s] (params.rs's thermal_sigma_oe^2 * dt).
pub fn thermal_intensity(p: &Params<f64>, temperature_k: f64) -> f64 {
    2.0 * p.alpha * KB_ERG_PER_K * temperature_k / (p.gamma * p.m_s * p.volume_cm3())
}

fn rhs(m: V3<f64>, d: &crate::params::Derived<f64>) -> V3<f64> {
    llg_rhs(m, d, V3::zero())
}

fn step(m: V3<f64>, d: &crate::params::Derived<f64>, h: f64) -> V3<f64> {
    rk4_step(m, h, &mut |x| rhs(x, d))
}

fn on_section(z: f64) -> V3<f64> {
    V3::new((1.0 - z * z).max(0.0).sqrt(), 0.0, z)
}

/// From the section point with m_z = z, integrate with steps `dt` to the next
/// crossing of y = 0 in direction `dir`: (m_z there, time taken).
fn return_map(z: f64, d: &crate::params::Derived<f64>, dt: f64, dir: f64, max_steps: usize) -> Option<(f64, f64)> {
    let mut m = on_section(z);
    let mut t = 0.0;
    for k in 0..max_steps {
        let next = step(m, d, dt);
        if k > 0 && dir * m.y < 0.0 && dir * next.y >= 0.0 {
            // secant (regula falsi, Illinois) on the length of the partial step
            let (mut a, mut fa, mut b, mut fb) = (0.0, m.y, dt, next.y);
            let mut side = 0;
            let mut c = b;
            for _ in 0..60 {
                c = (a * fb - b * fa) / (fb - fa);
                let fc = step(m, d, c).y;
                if fc == 0.0 || (b - a).abs() < 1e-15 * dt {
                    break;
                }
                if (fc > 0.0) == (fb > 0.0) {
                    b = c;
                    fb = fc;
                    if side == -1 {
                        fa *= 0.5;
                    }
                    side = -1;
                } else {
                    a = c;
                    fa = fc;
                    if side == 1 {
                        fb *= 0.5;
                    }
                    side = 1;
                }
            }
            let end = step(m, d, c);
            if end.x.is_nan() || end.x <= 0.0 {
                return None;
            }
            return Some((end.z, t + c));
        }
        m = next;
        t += dt;
        if !(m.x.is_finite() && m.y.is_finite() && m.z.is_finite()) {
            return None;
        }
    }
    None
}

/// The cycle's section point from a start m_z `z0` (Steffensen on the return map).
/// Returns (z*, T, multiplier estimate, evaluations).
fn fixed_point(z0: f64, d: &crate::params::Derived<f64>, t_est: f64, s: &LinewidthSetup, dir: f64) -> Result<(f64, f64, usize), String> {
    let n = s.steps_per_period as f64;
    let mut period = t_est;
    let mut evals = 0usize;
    let map = |z: f64, period: &mut f64, evals: &mut usize| -> Result<f64, String> {
        *evals += 1;
        let dt = *period / (n - 0.5);
        let (zn, t) = return_map(z, d, dt, dir, 4 * s.steps_per_period)
            .ok_or_else(|| "no limit cycle around +z: the orbit does not return to the section y = 0 (below threshold or another regime)".to_string())?;
        *period = t;
        Ok(zn)
    };
    let mut z = z0;
    // a few plain iterations first: the start on the theory's cone is near the cycle
    for _ in 0..3 {
        z = map(z, &mut period, &mut evals)?;
    }
    loop {
        if evals >= s.max_periods {
            return Err(format!("the limit cycle did not converge in {} periods (too near threshold?)", evals));
        }
        let z1 = map(z, &mut period, &mut evals)?;
        if (z1 - z).abs() < 1e-14 {
            // converged: one more return on the final grid sets T
            let z2 = map(z1, &mut period, &mut evals)?;
            return Ok((0.5 * (z1 + z2), period, evals));
        }
        let z2 = map(z1, &mut period, &mut evals)?;
        let den = z2 - 2.0 * z1 + z;
        let mut zn = if den != 0.0 { z - (z1 - z) * (z1 - z) / den } else { z2 };
        // keep the extrapolation within the sphere and no farther than the plain steps justify
        if zn.is_nan() || zn.abs() >= 1.0 || (zn - z2).abs() > 100.0 * (z2 - z).abs().max(1e-12) {
            zn = z2;
        }
        z = zn;
    }
}

/// The weak-noise linewidth at `temperature_k` (see the module doc), from a
/// start m_z `z_start` on the section (the theory's cone is a good one).
pub fn linewidth_at(p: &Params<f64>, temperature_k: f64, z_start: f64, s: &LinewidthSetup) -> Result<Linewidth, String> {
    if s.steps_per_period < 16 {
        return Err("steps per period must be at least 16".into());
    }
    if !(temperature_k >= 0.0 && temperature_k.is_finite()) {
        return Err(format!("temperature must be finite and >= 0 K (got {})", temperature_k));
    }
    let d = p.derive();
    let start = on_section(z_start);
    let dir = if rhs(start, &d).y >= 0.0 { 1.0 } else { -1.0 };
    // period estimate: the precession frequency about z at the start
    let h_z = p.h_appl_oe + d.h_anis_oe * z_start;
    let t_est = 2.0 * PI * (1.0 + p.alpha * p.alpha) / (p.gamma * h_z.abs().max(1e-3));
    let (z, period, periods) = fixed_point(z_start, &d, t_est, s, dir)?;
    let n = s.steps_per_period;
    let h = period / n as f64;
    let m0 = on_section(z);
    // the cycle at half steps, with the monodromy on the tangent plane (two dual tangents)
    let f0 = rhs(m0, &d);
    let u = f0.scale(1.0 / f0.dot(f0).sqrt());
    let v = m0.cross(u);
    let dd = p.map(Dual::<f64, 2>::cst).derive();
    let mut md = V3::new(Dual { re: m0.x, eps: [u.x, v.x] }, Dual { re: m0.y, eps: [u.y, v.y] }, Dual { re: m0.z, eps: [u.z, v.z] });
    let mut orbit = Vec::with_capacity(2 * n + 1);
    orbit.push(m0);
    let half = Dual::<f64, 2>::cst(0.5 * h);
    for _ in 0..2 * n {
        md = rk4_step(md, half, &mut |x| llg_rhs(x, &dd, V3::zero()));
        orbit.push(V3::new(md.x.re, md.y.re, md.z.re));
    }
    let col = |k: usize| V3::new(md.x.eps[k], md.y.eps[k], md.z.eps[k]);
    let (a, c) = (col(0).dot(u), col(0).dot(v));
    let (b, dm) = (col(1).dot(u), col(1).dot(v));
    // eigenvalues of [[a, b], [c, dm]]: the one nearest 1 is the phase's, the other mu
    let tr = a + dm;
    let det = a * dm - b * c;
    let disc = (tr * tr / 4.0 - det).max(0.0).sqrt();
    let (l1, l2) = (tr / 2.0 + disc, tr / 2.0 - disc);
    let (lam, mu) = if (l1 - 1.0).abs() <= (l2 - 1.0).abs() { (l1, l2) } else { (l2, l1) };
    if mu.is_nan() || mu.abs() >= 1.0 {
        return Err(format!("the cycle is not stable (Floquet multiplier {:.6})", mu));
    }
    // left eigenvector w of the monodromy for lam: w = (lam - dm, b); Z0 = w1 u + w2 v, Z0 . F = omega
    let omega = 2.0 * PI / period;
    let (w1, w2) = (lam - dm, b);
    let fnorm = f0.dot(f0).sqrt();
    let mut zv = u.scale(w1).axpy(w2, v).scale(omega / (w1 * fnorm));
    let z_end = zv;
    // A^T Z = grad_m (Z . F(m)) and G^T Z = grad_h (Z . F(m, h)), by dual numbers
    let d3 = p.map(Dual::<f64, 3>::cst).derive();
    let at_z = |m: V3<f64>, zz: V3<f64>| -> V3<f64> {
        let x = V3::new(Dual::<f64, 3>::variable(m.x, 0), Dual::variable(m.y, 1), Dual::variable(m.z, 2));
        let g = llg_rhs(x, &d3, V3::zero()).dot(V3::new(Dual::cst(zz.x), Dual::cst(zz.y), Dual::cst(zz.z)));
        V3::new(g.eps[0], g.eps[1], g.eps[2])
    };
    let gt_z = |m: V3<f64>, zz: V3<f64>| -> V3<f64> {
        let x = V3::new(Dual::<f64, 3>::cst(m.x), Dual::cst(m.y), Dual::cst(m.z));
        let hh = V3::new(Dual::<f64, 3>::variable(0.0, 0), Dual::variable(0.0, 1), Dual::variable(0.0, 2));
        let g = llg_rhs(x, &d3, hh).dot(V3::new(Dual::cst(zz.x), Dual::cst(zz.y), Dual::cst(zz.z)));
        V3::new(g.eps[0], g.eps[1], g.eps[2])
    };
    // backwards over one period: d Z / d tau = A^T Z, tau = T - t
    let mut sum = 0.0;
    let mut sum_mz = 0.0;
    for k in (0..n).rev() {
        let (m1, mh, m0k) = (orbit[2 * k + 2], orbit[2 * k + 1], orbit[2 * k]);
        let gz = gt_z(m1, zv);
        sum += gz.dot(gz);
        sum_mz += m1.z;
        let k1 = at_z(m1, zv);
        let k2 = at_z(mh, zv.axpy(0.5 * h, k1));
        let k3 = at_z(mh, zv.axpy(0.5 * h, k2));
        let k4 = at_z(m0k, zv.axpy(h, k3));
        zv = zv.axpy(h / 6.0, k1.add(k2.scale(2.0)).add(k3.scale(2.0)).add(k4));
    }
    let tangent = |x: V3<f64>| x.axpy(-x.dot(m0), m0);
    let gap = tangent(zv.sub(z_end));
    let prc_closure = gap.dot(gap).sqrt() / z_end.dot(z_end).sqrt();
    let q = thermal_intensity(p, temperature_k);
    let diffusion = 0.5 * q * sum / n as f64;
    let relaxation_rate = -mu.abs().ln() / period;
    Ok(Linewidth {
        f_hz: 1.0 / period,
        linewidth_hz: diffusion / PI,
        diffusion,
        multiplier: mu,
        relaxation_rate,
        weak_noise_ratio: diffusion / relaxation_rate,
        mz: sum_mz / n as f64,
        m0: [m0.x, m0.y, m0.z],
        periods,
        prc_closure,
        dlw: Vec::new(),
        df: Vec::new(),
    })
}

/// The linewidth with its derivatives by `fit` (indices into `PARAM_NAMES`)
/// by central differences of relative step `FD_STEP` (absolute where the
/// parameter is 0: FD_STEP times the paper's value).
pub fn linewidth(p: &Params<f64>, temperature_k: f64, fit: &[usize], z_start: f64, s: &LinewidthSetup) -> Result<Linewidth, String> {
    for (a, &j) in fit.iter().enumerate() {
        if j >= N_PARAMS || fit[..a].contains(&j) {
            return Err(format!("bad or repeated parameter index {}", j));
        }
    }
    let mut r = linewidth_at(p, temperature_k, z_start, s)?;
    let base = p.to_array();
    let paper = Params::paper().to_array();
    for &j in fit {
        let step = FD_STEP * if base[j] != 0.0 { base[j].abs() } else { paper[j].abs() };
        let at = |x: f64| {
            let mut arr = base;
            arr[j] = x;
            let q = Params::from_array(arr);
            q.check()?;
            linewidth_at(&q, temperature_k, r.m0[2], s)
        };
        let (up, dn) = (at(base[j] + step)?, at(base[j] - step)?);
        r.dlw.push((up.linewidth_hz - dn.linewidth_hz) / (2.0 * step));
        r.df.push((up.f_hz - dn.f_hz) / (2.0 * step));
    }
    Ok(r)
}
