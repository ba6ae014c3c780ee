//! Gradients of the sysid loss: forward-mode duals, the discrete adjoint and
//! central finite differences agree (f64, noise-free teacher).

use stoopt_core::noise::Rng;
use stoopt_core::params::{Params, PARAM_NAMES};
use stoopt_core::simulate::{Batch, Scheme};
use stoopt_core::sysid::{Acc, Mode, Problem, Setup, Teacher};

struct Data {
    offsets: Vec<u32>,
    t: Vec<f64>,
    mx: Vec<f64>,
    m0: Vec<f64>,
}

/// Noise-free teacher: `trials` trials, 10 ns washout, samples every 50 ps
/// for 1 ns. Trial 2 gets an irregular grid (times not multiples of dt).
fn teacher(p: &Params<f64>, trials: usize) -> Data {
    let dt = 0.5e-12;
    let batch = Batch { params: p, scheme: Scheme::Rk4, dt_s: dt, sigma_oe: 0.0 };
    let mut rngs: Vec<Rng> = (0..trials).map(|i| Rng::new(5, i as u64)).collect();
    let mut m: Vec<f64> = rngs.iter_mut().flat_map(|r| r.unit_vector().to_vec()).collect();
    batch.run(&mut m, &mut rngs, 20_000, 1, None);
    let n = 21;
    let mut out = vec![0.0; 3 * trials * (n - 1)];
    let start = m.clone();
    batch.run(&mut m, &mut rngs, 100, n - 1, Some(&mut out));
    let mut d = Data { offsets: vec![0], t: vec![], mx: vec![], m0: start.clone() };
    for i in 0..trials {
        d.t.push(1e-9 * i as f64); // absolute start times differ; only differences matter
        d.mx.push(start[3 * i]);
        for k in 0..n - 1 {
            d.t.push(1e-9 * i as f64 + (k + 1) as f64 * 50e-12);
            d.mx.push(out[3 * (i * (n - 1) + k)]);
        }
        d.offsets.push(d.t.len() as u32);
    }
    // irregular grid for trial 2: shift its sample times by a third of a step
    // (the teacher values then no longer match the times exactly, which is fine
    // for a gradient check: the student is compared at those times)
    if trials > 2 {
        let (a, b) = (d.offsets[2] as usize, d.offsets[3] as usize);
        for k in a + 1..b {
            d.t[k] += 0.17e-12 * ((k - a) % 3) as f64;
        }
    }
    d
}

fn eval(p: &Params<f64>, fit: &[usize], d: &Data, mode: Mode) -> (f64, Vec<f64>) {
    let prob = Problem {
        params: *p,
        fit,
        teacher: Teacher { offsets: &d.offsets, t_s: &d.t, mx: &d.mx, m0: &d.m0 },
        setup: Setup { dt_s: 0.5e-12, washout_s: 0.5e-9 },
    };
    let sel: Vec<usize> = (0..d.offsets.len() - 1).collect();
    let mut acc = Acc::new();
    prob.eval(mode, &sel, None, &mut acc);
    (acc.sum_abs / acc.count, acc.grad[..fit.len()].iter().map(|g| g / acc.count).collect())
}

fn with(p: &Params<f64>, j: usize, v: f64) -> Params<f64> {
    let mut a = p.to_array();
    a[j] = v;
    Params::from_slice(&a)
}

#[test]
fn dual_adjoint_and_finite_differences_agree() {
    let truth = Params::paper();
    let d = teacher(&truth, 5);
    // indices: gamma 0, H_appl 1, M 2, H_K 3, eta 6, lambda 7, j_DC 8, alpha 9
    let fit = [1usize, 8, 9, 0, 2, 3, 6, 7];
    let points = [
        with(&with(&with(&truth, 1, 1620.0), 8, 4.2e-3), 9, 0.007),
        with(&with(&with(&truth, 1, 1900.0), 8, 6.5e-3), 9, 0.003),
        with(&with(&with(&truth, 1, 1760.0), 8, 5.1e-3), 9, 0.0058),
    ];
    for p in points.iter() {
        let (l_fwd, g_fwd) = eval(p, &fit, &d, Mode::Dual);
        let (l_adj, g_adj) = eval(p, &fit, &d, Mode::Adjoint);
        let (l_plain, _) = eval(p, &fit, &d, Mode::LossOnly);
        assert_eq!(l_fwd.to_bits(), l_plain.to_bits(), "forward-mode loss differs from plain loss");
        assert!((l_adj - l_plain).abs() <= 1e-15 * l_plain.abs().max(1.0));
        for (a, &j) in fit.iter().enumerate() {
            let v = p.to_array()[j];
            let h = 1e-6 * v.abs();
            let fd = (eval(&with(p, j, v + h), &fit, &d, Mode::LossOnly).0 - eval(&with(p, j, v - h), &fit, &d, Mode::LossOnly).0) / (2.0 * h);
            let scale = fd.abs().max(g_fwd[a].abs()).max(1e-300);
            println!("{:>7} at H_appl {:.0}: fd {:+.9e} dual {:+.9e} adjoint {:+.9e}", PARAM_NAMES[j], p.h_appl_oe, fd, g_fwd[a], g_adj[a]);
            assert!((g_fwd[a] - fd).abs() / scale < 1e-6, "{}: dual {} vs fd {}", PARAM_NAMES[j], g_fwd[a], fd);
            assert!((g_adj[a] - fd).abs() / scale < 1e-6, "{}: adjoint {} vs fd {}", PARAM_NAMES[j], g_adj[a], fd);
            assert!((g_adj[a] - g_fwd[a]).abs() / scale < 1e-9, "{}: adjoint {} vs dual {}", PARAM_NAMES[j], g_adj[a], g_fwd[a]);
        }
    }
}

/// A parameter that does not affect the loss gets a gradient of exactly 0:
/// with j_DC = 0, eta and lambda enter only through the (zero) spin torque.
#[test]
fn parameters_without_effect_have_zero_gradient() {
    let mut truth = Params::paper();
    truth.j_dc_a = 0.0;
    let d = teacher(&truth, 3);
    let p = with(&truth, 1, 1800.0);
    for mode in [Mode::Dual, Mode::Adjoint] {
        let (_, g) = eval(&p, &[6, 7], &d, mode);
        assert_eq!(g, vec![0.0, 0.0]);
    }
}

/// At the true parameters the loss is zero (up to the shortened-step grid of
/// trial 2, excluded here by using 4 regular trials).
#[test]
fn loss_vanishes_at_the_truth() {
    let truth = Params::paper();
    let d = teacher(&truth, 2);
    let (l, _) = eval(&truth, &[1], &d, Mode::Dual);
    assert!(l < 1e-12, "loss at truth {}", l);
}

/// Sample times that are not whole numbers of student steps are reached
/// exactly by a shortened step: a student with dt = 0.3 ps (50 ps is 166.67
/// steps) at the true parameters reproduces the teacher to RK4 accuracy.
/// Rounding to 166 or 167 steps would be off by 0.1-0.2 ps, a phase error of
/// ~5e-3 rad at 5 GHz, i.e. a loss of order 1e-3.
#[test]
fn sample_times_between_steps_are_reached_exactly() {
    let truth = Params::paper();
    let d = teacher(&truth, 2);
    let prob = Problem {
        params: truth,
        fit: &[1],
        teacher: Teacher { offsets: &d.offsets, t_s: &d.t, mx: &d.mx, m0: &d.m0 },
        setup: Setup { dt_s: 0.3e-12, washout_s: 0.0 },
    };
    let mut acc = Acc::new();
    prob.eval(Mode::LossOnly, &[0, 1], None, &mut acc);
    let loss = acc.sum_abs / acc.count;
    assert!(loss < 1e-7, "loss {} with dt 0.3 ps", loss);
}

/// J^T r (forward mode) is the gradient of sum r^2 / 2, r = student - teacher
/// m_x: it agrees with central finite differences of the plain sum of squares.
#[test]
fn jtr_is_the_gradient_of_half_the_sum_of_squares() {
    let truth = Params::paper();
    let d = teacher(&truth, 5);
    let fit = [1usize, 8, 9, 3];
    let half_sq = |p: &Params<f64>| {
        let prob = Problem {
            params: *p,
            fit: &fit,
            teacher: Teacher { offsets: &d.offsets, t_s: &d.t, mx: &d.mx, m0: &d.m0 },
            setup: Setup { dt_s: 0.5e-12, washout_s: 0.5e-9 },
        };
        let mut acc = Acc::new();
        prob.eval(Mode::LossOnly, &[0, 1, 2, 3, 4], None, &mut acc);
        acc.sum_sq / 2.0
    };
    let p = with(&with(&with(&truth, 1, 1700.0), 8, 5.5e-3), 9, 0.0062);
    let prob = Problem {
        params: p,
        fit: &fit,
        teacher: Teacher { offsets: &d.offsets, t_s: &d.t, mx: &d.mx, m0: &d.m0 },
        setup: Setup { dt_s: 0.5e-12, washout_s: 0.5e-9 },
    };
    let mut acc = Acc::new();
    prob.eval(Mode::Dual, &[0, 1, 2, 3, 4], None, &mut acc);
    assert!((acc.sum_sq / 2.0 - half_sq(&p)).abs() <= 1e-14 * acc.sum_sq);
    for (a, &j) in fit.iter().enumerate() {
        let v = p.to_array()[j];
        let h = 1e-6 * v.abs();
        let fd = (half_sq(&with(&p, j, v + h)) - half_sq(&with(&p, j, v - h))) / (2.0 * h);
        println!("{:>7}: fd {:+.9e} jtr {:+.9e}", PARAM_NAMES[j], fd, acc.jtr[a]);
        assert!(fd != 0.0);
        assert!((acc.jtr[a] - fd).abs() / fd.abs() < 1e-6, "{}: jtr {} vs fd {}", PARAM_NAMES[j], acc.jtr[a], fd);
        // J^T J is symmetric with a positive diagonal
        assert!(acc.jtj[a][a] > 0.0);
        for b in 0..fit.len() {
            assert_eq!(acc.jtj[a][b].to_bits(), acc.jtj[b][a].to_bits());
        }
    }
    // adjoint and loss-only modes leave it at zero
    let mut adj = Acc::new();
    prob.eval(Mode::Adjoint, &[0, 1, 2, 3, 4], None, &mut adj);
    assert!(adj.jtr.iter().all(|&x| x == 0.0));
}

/// Loss-only mode integrates two pairs of trials that take exactly the same
/// steps in one pass (four SIMD lanes); the sums and the student states are
/// bit for bit those of the two pairs evaluated one after the other.
#[test]
fn four_lanes_add_up_as_two_pairs() {
    let truth = Params::paper();
    let mut d = teacher(&truth, 5);
    // every trial on the same grid, 0 to 1 ns every 50 ps (bitwise)
    for i in 0..5 {
        let a = d.offsets[i] as usize;
        for k in 0..21 {
            d.t[a + k] = k as f64 * 50e-12;
        }
    }
    let p = with(&with(&truth, 1, 1700.0), 9, 0.0062);
    let prob = Problem {
        params: p,
        fit: &[1],
        teacher: Teacher { offsets: &d.offsets, t_s: &d.t, mx: &d.mx, m0: &d.m0 },
        setup: Setup { dt_s: 0.3e-12, washout_s: 0.2e-9 },
    };
    let n = 3 * d.t.len();
    let (mut quad, mut pairs) = (Acc::new(), Acc::new());
    let (mut sq, mut sp) = (vec![0.0; n], vec![0.0; n]);
    prob.eval(Mode::LossOnly, &[0, 1, 3, 4, 2], Some(&mut sq), &mut quad);
    prob.eval(Mode::LossOnly, &[0, 1], Some(&mut sp), &mut pairs);
    prob.eval(Mode::LossOnly, &[3, 4], Some(&mut sp), &mut pairs);
    prob.eval(Mode::LossOnly, &[2], Some(&mut sp), &mut pairs);
    assert!(quad.sum_abs > 0.0 && quad.count == 5.0 * 17.0);
    let bits = |a: &Acc| (a.sum_abs.to_bits(), a.count.to_bits(), a.sum_sq.to_bits());
    assert_eq!(bits(&quad), bits(&pairs));
    assert!(sq.iter().zip(&sp).all(|(a, b)| a.to_bits() == b.to_bits()));
}
