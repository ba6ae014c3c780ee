//! Measured-signal sysid (`sysid::Ext`): the derivatives with respect to the
//! initial-state chart coordinates, the offset and the amplitude, from
//! forward-mode duals (J^T r, d sum|r|) and from the discrete adjoint
//! (d sum|r|), against central finite differences (f64).

use stoopt_core::noise::Rng;
use stoopt_core::params::Params;
use stoopt_core::simulate::{Batch, Scheme};
use stoopt_core::sysid::{chart_point, tangent_basis, Acc, Block, Ext, Mode, Problem, Setup, Teacher};

struct Data {
    offsets: Vec<u32>,
    t: Vec<f64>,
    y: Vec<f64>,
    m0: Vec<f64>,
}

/// A voltage-like teacher: 3 windows of 1 ns (50 ps samples, the last one on
/// an irregular grid) after 10 ns washout, y = 8 - 2.5 m_x (mV) plus a small
/// deterministic ripple so that no residual vanishes.
fn teacher(p: &Params<f64>) -> Data {
    let trials = 3;
    let batch = Batch { params: p, scheme: Scheme::Rk4, dt_s: 0.5e-12, sigma_oe: 0.0 };
    let mut rngs: Vec<Rng> = (0..trials).map(|i| Rng::new(9, i as u64)).collect();
    let mut m: Vec<f64> = rngs.iter_mut().flat_map(|r| r.unit_vector().to_vec()).collect();
    batch.run(&mut m, &mut rngs, 20_000, 1, None);
    let n = 21;
    let start = m.clone();
    let mut out = vec![0.0; 3 * trials * (n - 1)];
    batch.run(&mut m, &mut rngs, 100, n - 1, Some(&mut out));
    let mut d = Data { offsets: vec![0], t: vec![], y: vec![], m0: vec![] };
    for i in 0..trials {
        // the reference direction is the true start, tilted a little
        d.m0.extend_from_slice(&[start[3 * i] + 0.05, start[3 * i + 1] - 0.03, start[3 * i + 2]]);
        for k in 0..n {
            let mx = if k == 0 { start[3 * i] } else { out[3 * (i * (n - 1) + k - 1)] };
            let jitter = if i == 2 && k > 0 { 0.17e-12 * (k % 3) as f64 } else { 0.0 };
            d.t.push(2e-9 * i as f64 + k as f64 * 50e-12 + jitter);
            d.y.push(8.0 - 2.5 * mx + 0.01 * ((7 * k + i) as f64).sin());
        }
        d.offsets.push(d.t.len() as u32);
    }
    d
}

struct Point {
    p: Params<f64>,
    chart: Vec<f64>,
    offset: f64,
    amplitude: f64,
}

/// (sum|r|, sum r^2 / 2, blocks) at a point.
fn eval(pt: &Point, fit: &[usize], d: &Data, mode: Mode) -> (f64, f64, Vec<f64>) {
    let prob =
        Problem { params: pt.p, fit, teacher: Teacher { offsets: &d.offsets, t_s: &d.t, mx: &d.y, m0: &d.m0 }, setup: Setup { dt_s: 0.5e-12, washout_s: 0.0 } };
    let n = d.offsets.len() - 1;
    let mut blocks = vec![0.0; n * Block::len(fit.len(), 2)];
    let mut acc = Acc::new();
    let mut ext = Ext { offset: pt.offset, amplitude: pt.amplitude, chart: Some(&pt.chart), blocks: Some(&mut blocks) };
    prob.eval_ext(mode, &(0..n).collect::<Vec<_>>(), None, &mut acc, &mut ext);
    (acc.sum_abs, 0.5 * acc.sum_sq, blocks)
}

fn close(what: &str, got: f64, fd: f64, tol: f64) {
    let scale = got.abs().max(fd.abs()).max(1e-300);
    println!("{:>24}: fd {:+.12e} got {:+.12e}", what, fd, got);
    assert!((got - fd).abs() / scale < tol, "{}: {} vs finite difference {}", what, got, fd);
}

#[test]
fn chart_offset_and_amplitude_gradients_match_finite_differences() {
    let truth = Params::paper();
    let d = teacher(&truth);
    let fit = [1usize, 9]; // H_appl, alpha
    let mut p = truth;
    p.h_appl_oe = 1790.0;
    p.alpha = 0.0061;
    let pt = Point { p, chart: vec![0.02, -0.01, -0.03, 0.015, 0.01, 0.02], offset: 7.9, amplitude: -2.45 };
    let (_, _, fwd) = eval(&pt, &fit, &d, Mode::Dual);
    let (_, _, adj) = eval(&pt, &fit, &d, Mode::Adjoint);
    let nf = fit.len();
    let g = nf + 2;
    let len = Block::len(nf, 2);
    let o_wa = 3 + 2 * g + g * g;
    let o_wr = o_wa + 2;
    let sum = |b: &[f64], o: usize| (0..3).map(|i| b[i * len + o]).sum::<f64>();
    // offset and amplitude (global unknowns nf, nf + 1)
    for (k, name) in [(0usize, "offset"), (1, "amplitude")] {
        let h = 1e-6 * if k == 0 { pt.offset.abs() } else { pt.amplitude.abs() };
        let at = |s: f64| {
            let mut q = Point { p: pt.p, chart: pt.chart.clone(), offset: pt.offset, amplitude: pt.amplitude };
            if k == 0 {
                q.offset += s;
            } else {
                q.amplitude += s;
            }
            eval(&q, &fit, &d, Mode::LossOnly)
        };
        let (a1, s1, _) = at(h);
        let (a0, s0, _) = at(-h);
        close(&format!("J^T r {}", name), sum(&fwd, 3 + g + nf + k), (s1 - s0) / (2.0 * h), 1e-6);
        close(&format!("dual d|r| {}", name), sum(&fwd, 3 + nf + k), (a1 - a0) / (2.0 * h), 1e-6);
        close(&format!("adjoint d|r| {}", name), sum(&adj, 3 + nf + k), (a1 - a0) / (2.0 * h), 1e-6);
    }
    // the parameters, through the amplitude
    for (a, &j) in fit.iter().enumerate() {
        let v = pt.p.to_array()[j];
        let h = 1e-6 * v.abs();
        let at = |s: f64| {
            let mut arr = pt.p.to_array();
            arr[j] = v + s;
            eval(&Point { p: Params::from_slice(&arr), chart: pt.chart.clone(), offset: pt.offset, amplitude: pt.amplitude }, &fit, &d, Mode::LossOnly)
        };
        let (a1, s1, _) = at(h);
        let (a0, s0, _) = at(-h);
        close(&format!("J^T r param {}", j), sum(&fwd, 3 + g + a), (s1 - s0) / (2.0 * h), 1e-6);
        close(&format!("adjoint d|r| param {}", j), sum(&adj, 3 + a), (a1 - a0) / (2.0 * h), 1e-6);
    }
    // each window's chart coordinates touch only its own block
    for i in 0..3 {
        for c in 0..2 {
            let h = 1e-6;
            let at = |s: f64| {
                let mut ch = pt.chart.clone();
                ch[2 * i + c] += s;
                eval(&Point { p: pt.p, chart: ch, offset: pt.offset, amplitude: pt.amplitude }, &fit, &d, Mode::LossOnly)
            };
            let (a1, s1, _) = at(h);
            let (a0, s0, _) = at(-h);
            close(&format!("J^T r window {} coord {}", i, c), fwd[i * len + o_wr + c], (s1 - s0) / (2.0 * h), 1e-6);
            close(&format!("dual d|r| window {} coord {}", i, c), fwd[i * len + o_wa + c], (a1 - a0) / (2.0 * h), 1e-6);
            close(&format!("adjoint d|r| window {} coord {}", i, c), adj[i * len + o_wa + c], (a1 - a0) / (2.0 * h), 1e-6);
        }
    }
}

/// The chart: m(0, 0) is the reference direction, its derivatives are the
/// orthonormal tangent basis, and |m| = 1 everywhere (also far out).
#[test]
fn chart_is_a_unit_vector_with_the_tangent_basis_at_its_centre() {
    for r in [[0.0f64, 0.0, 1.0], [1.0, 0.0, 0.0], [0.6, -0.8, 0.0], [0.3, 0.5, -0.81]] {
        let n = (r[0] * r[0] + r[1] * r[1] + r[2] * r[2]).sqrt();
        let r = [r[0] / n, r[1] / n, r[2] / n];
        let (m, dm) = chart_point(r, 0.0, 0.0);
        let (e1, e2) = tangent_basis(r);
        for j in 0..3 {
            assert!((m[j] - r[j]).abs() < 1e-15);
            assert!((dm[0][j] - e1[j]).abs() < 1e-15 && (dm[1][j] - e2[j]).abs() < 1e-15);
        }
        let dot = |a: [f64; 3], b: [f64; 3]| a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
        assert!(dot(e1, r).abs() < 1e-15 && dot(e2, r).abs() < 1e-15 && dot(e1, e2).abs() < 1e-15);
        assert!((dot(e1, e1) - 1.0).abs() < 1e-15 && (dot(e2, e2) - 1.0).abs() < 1e-15);
        let (far, _) = chart_point(r, 40.0, -25.0);
        assert!((dot(far, far) - 1.0).abs() < 1e-14);
    }
}
