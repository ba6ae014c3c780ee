//! The driven reservoir's discrete adjoint (with checkpointing) against
//! fourth-order central finite differences in f64, through the ridge-optimal
//! readout loss (acceptance 1 of issue 13), and the ridge solver against
//! the normal equations.

use stoopt_core::noise::Rng;
use stoopt_core::params::Params;
use stoopt_core::reservoir::{gram, readout_loss, ridge_solve, Feat, ResPhysics, ResShape, Reservoir, TH_ALPHA, TH_JDC, TH_SC, TH_SF};

const FD_REL_TOL: f64 = 1e-6;

struct Case {
    sh: ResShape,
    phys: ResPhysics,
    w_cp: Vec<f64>,
    theta: Vec<f64>,
    u: Vec<f64>,
    y: Vec<f64>,
    m0: Vec<f64>,
}

fn case(n: usize, k: usize, sub: usize, holds: usize, every: usize, feat: Feat, cm: f64) -> Case {
    let mut r = Rng::new(5, 3);
    let sh = ResShape { n, k, sub, holds, every, feat };
    let w_cp: Vec<f64> = (0..n * n).map(|_| r.normal() / (n as f64).sqrt()).collect();
    let mut theta = vec![0.0; sh.n_theta()];
    for h in theta[..n].iter_mut() {
        *h = 1600.0 + 300.0 * r.uniform();
    }
    theta[n + TH_JDC] = 4.5e-3;
    theta[n + TH_ALPHA] = 0.006;
    theta[n + TH_SF] = 40.0;
    theta[n + TH_SC] = 1.0e-3;
    for v in theta[n + 4..].iter_mut() {
        *v = 2.0 * r.uniform() - 1.0;
    }
    let u: Vec<f64> = (0..holds).map(|_| 0.5 * r.uniform()).collect();
    // a nonlinear target with memory
    let y: Vec<f64> = (0..holds).map(|t| if t >= 3 { u[t - 1] * u[t - 3] + 0.3 * u[t - 2] } else { 0.0 }).collect();
    let m0: Vec<f64> = (0..3 * n).map(|_| r.normal()).collect();
    let phys = ResPhysics { params: Params::paper(), dt_s: 50e-12, cm_oe: cm };
    Case { sh, phys, w_cp, theta, u, y, m0 }
}

const WASH: usize = 40;
const LAMBDA: f64 = 1e-4;

/// Ridge-optimal training loss and (if asked) its gradient by the adjoint.
fn loss_grad(c: &Case, theta: &[f64], want: bool) -> (f64, Vec<f64>) {
    let sh = c.sh;
    let f = sh.f();
    let mut res = Reservoir::new(sh, &c.w_cp).unwrap();
    let mut x = vec![0.0; sh.holds * f];
    res.forward(&c.phys, theta, &c.u, &c.m0, &mut x).unwrap();
    let (mut gm, mut xty, mut w) = (vec![0.0; (f + 1) * (f + 1)], vec![0.0; f + 1], vec![0.0; f + 1]);
    gram(&x, f, WASH, sh.holds, &c.y, 1, &mut gm, &mut xty);
    ridge_solve(&gm, &xty, f + 1, 1, LAMBDA, &mut w).unwrap();
    let mut g = vec![0.0; sh.holds * f];
    let l = readout_loss(&x, f, WASH, sh.holds, &c.y, 1, &w, LAMBDA, &mut g);
    let mut grad = vec![0.0; sh.n_theta()];
    if want {
        res.backward(&c.phys, theta, &c.u, &g, &mut grad).unwrap();
    }
    (l, grad)
}

fn fd(c: &Case, k: usize, h: f64) -> f64 {
    let at = |d: f64| {
        let mut th = c.theta.clone();
        th[k] += d;
        loss_grad(c, &th, false).0
    };
    (8.0 * (at(h) - at(-h)) - (at(2.0 * h) - at(-2.0 * h))) / (12.0 * h)
}

fn check(name: &str, adj: f64, fdv: f64, scale: f64) {
    let rel = (adj - fdv).abs() / adj.abs().max(fdv.abs()).max(scale);
    eprintln!("{:<14} adjoint {:+.12e}  fd {:+.12e}  rel {:.1e}", name, adj, fdv, rel);
    assert!(rel < FD_REL_TOL, "{}: adjoint {:e} vs finite differences {:e} (rel {:e})", name, adj, fdv, rel);
}

/// Every trained quantity: all H_appl, j_DC, alpha, both input scales and
/// every W_in entry, for the coupled network (field and current input, all
/// components) and the single STO with virtual nodes (m_x only).
/// Steps are small relative to each parameter (the loss after hundreds of
/// holds is strongly curved in j_DC: at h = 1e-6 A the fourth-order
/// difference is still off by 7e-5, at 3e-8 A it agrees to 1e-11).
fn check_all(c: &Case, label: &str) {
    let n = c.sh.n;
    let (_, g) = loss_grad(c, &c.theta, true);
    let gmax = |v: &[f64]| v.iter().fold(0.0f64, |a, &b| a.max(b.abs()));
    let (sh, sw) = (gmax(&g[..n]) * 1e-3, gmax(&g[n + 4..]) * 1e-3);
    for (i, &gi) in g[..n].iter().enumerate() {
        check(&format!("{} H_appl[{}]", label, i), gi, fd(c, i, 2e-3), sh);
    }
    check(&format!("{} j_DC", label), g[n + TH_JDC], fd(c, n + TH_JDC, 3e-8), 0.0);
    check(&format!("{} alpha", label), g[n + TH_ALPHA], fd(c, n + TH_ALPHA, 1e-7), 0.0);
    check(&format!("{} s_f", label), g[n + TH_SF], fd(c, n + TH_SF, 1e-3), 0.0);
    check(&format!("{} s_c", label), g[n + TH_SC], fd(c, n + TH_SC, 3e-8), 0.0);
    for (k, &gk) in g.iter().enumerate().take(c.sh.n_theta()).skip(n + 4) {
        check(&format!("{} W_in[{}]", label, k - n - 4), gk, fd(c, k, 1e-5), sw);
    }
}

/// Acceptance 1: N = 4 coupled STOs (CM 10 Oe), K = 2 intervals of 2 RK4
/// steps per hold, 300 holds, a checkpoint every 7 holds (segments that do
/// not divide the series).
#[test]
fn adjoint_matches_finite_differences_coupled() {
    check_all(&case(4, 2, 2, 300, 7, Feat::All, 10.0), "N4");
}

/// Acceptance 1: one STO with 8 virtual nodes of 1 step, m_x features.
#[test]
fn adjoint_matches_finite_differences_virtual_nodes() {
    let mut c = case(1, 8, 1, 300, 16, Feat::Mx, 0.0);
    c.theta[1 + TH_SC] = 0.0; // field input only, as the CLI's default
    check_all(&c, "N1K8");
}

/// m_z features (the amplitude read-out), current input only.
#[test]
fn adjoint_matches_finite_differences_mz_current() {
    let mut c = case(2, 3, 2, 250, 11, Feat::Mz, 10.0);
    c.theta[2 + TH_SF] = 0.0;
    check_all(&c, "N2Mz");
}

/// Checkpointing changes memory, not arithmetic: every interval gives the
/// same gradient bit for bit.
#[test]
fn checkpoint_interval_does_not_change_the_gradient() {
    let base = case(3, 1, 3, 120, 1, Feat::All, 10.0);
    let (l1, g1) = loss_grad(&base, &base.theta, true);
    for &every in &[5usize, 13, 120, 500] {
        let mut c = case(3, 1, 3, 120, every, Feat::All, 10.0);
        c.sh.every = every;
        let (l, g) = loss_grad(&c, &c.theta, true);
        assert_eq!(l, l1);
        assert_eq!(g, g1, "every = {}", every);
    }
}

/// Memory of the state is bounded by the checkpoint interval, not the length.
#[test]
fn state_memory_grows_with_segments_only() {
    let sh = |holds| ResShape { n: 50, k: 1, sub: 10, holds, every: 100, feat: Feat::All };
    let (a, b) = (sh(1_000).state_words(), sh(100_000).state_words());
    // 100x the series: only the checkpoints (3N per 100 holds) grow
    assert_eq!(b - a, (1000 - 10) * 150);
    assert!(b < 2 * a);
}

/// Ridge with lambda = 0 on exactly linear data recovers the weights; with
/// lambda > 0 the solution satisfies the regularized normal equations.
#[test]
fn ridge_solves_the_normal_equations() {
    let mut r = Rng::new(1, 1);
    let (t, f) = (200, 5);
    let x: Vec<f64> = (0..t * f).map(|_| r.normal()).collect();
    let wt = [0.5, -1.0, 2.0, 0.0, 0.25, 0.7]; // last = bias
    let y: Vec<f64> = (0..t).map(|i| (0..f).map(|a| x[i * f + a] * wt[a]).sum::<f64>() + wt[f]).collect();
    let (mut gm, mut xty, mut w) = (vec![0.0; 36], vec![0.0; 6], vec![0.0; 6]);
    gram(&x, f, 0, t, &y, 1, &mut gm, &mut xty);
    ridge_solve(&gm, &xty, 6, 1, 0.0, &mut w).unwrap();
    for a in 0..6 {
        assert!((w[a] - wt[a]).abs() < 1e-12, "w[{}] = {}", a, w[a]);
    }
    let lam = 3.0;
    ridge_solve(&gm, &xty, 6, 1, lam, &mut w).unwrap();
    for a in 0..6 {
        let lhs: f64 = (0..6).map(|b| gm[a * 6 + b] * w[b]).sum::<f64>() + if a < 5 { lam * w[a] } else { 0.0 };
        assert!((lhs - xty[a]).abs() < 1e-9 * xty[a].abs().max(1.0));
    }
    // a constant feature column makes the unregularized system singular: reported, not NaN
    let xc: Vec<f64> = (0..t * f).map(|i| if i % f == 0 { 1.0 } else { x[i] }).collect();
    gram(&xc, f, 0, t, &y, 1, &mut gm, &mut xty);
    assert!(ridge_solve(&gm, &xty, 6, 1, 0.0, &mut w).is_err());
}
