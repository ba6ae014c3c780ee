//! The STO network's discrete adjoint against central finite differences
//! (f64), its hand-derived right-hand-side VJP against dual numbers, and
//! lane-type independence.

use stoopt_core::dual::Dual;
use stoopt_core::network::{rhs_vjp, Grads, ImageLanes, Model, Net, Physics, Shape, Split, Want, X0Norm};
use stoopt_core::noise::Rng;
use stoopt_core::params::Params;
use stoopt_core::scalar::Lanes;
use stoopt_core::simd::{F32x4, F64x2};
use stoopt_core::torque::llg_rhs;
use stoopt_core::vec3::V3;

/// Tolerance of the acceptance criterion: adjoint vs finite differences.
const FD_REL_TOL: f64 = 1e-6;

struct Case {
    shape: Shape,
    phys: Physics,
    w_cp: Vec<f64>,
    w_in: Vec<f64>,
    w_out: Vec<f64>,
    h_appl: Vec<f64>,
    images: Vec<u8>,
    labels: Vec<u8>,
}

fn case(n: usize, n_in: usize, batch: usize, cm: f64) -> Case {
    case_x0(n, n_in, batch, cm, X0Norm::Unit)
}

fn case_x0(n: usize, n_in: usize, batch: usize, cm: f64, x0: X0Norm) -> Case {
    let mut r = Rng::new(7, 1);
    let shape = Shape { n, n_in, n_out: 10, steps: 10, max_batch: batch, x0 };
    let f = 3 * n;
    let w_cp: Vec<f64> = (0..n * n).map(|_| r.normal() / (n as f64).sqrt()).collect();
    let a = 1.0 / (n_in as f64).sqrt();
    let w_in: Vec<f64> = (0..f * n_in).map(|_| a * (2.0 * r.uniform() - 1.0)).collect();
    let b = 1.0 / ((f + 1) as f64).sqrt();
    let w_out: Vec<f64> = (0..10 * (f + 1)).map(|_| b * (2.0 * r.uniform() - 1.0)).collect();
    let h_appl: Vec<f64> = (0..n).map(|_| 1600.0 + 300.0 * r.uniform()).collect();
    let images: Vec<u8> = (0..batch * n_in).map(|_| if r.uniform() < 0.4 { (r.uniform() * 255.0) as u8 } else { 0 }).collect();
    let labels: Vec<u8> = (0..batch).map(|i| (i * 3 % 10) as u8).collect();
    let mut params = Params::paper();
    params.j_dc_a = 4.5e-3;
    params.alpha = 0.006;
    Case { shape, phys: Physics { params, dt_s: 50e-12, cm_oe: cm }, w_cp, w_in, w_out, h_appl, images, labels }
}

struct Out {
    loss: f64,
    w_in: Vec<f64>,
    w_out: Vec<f64>,
    h_appl: Vec<f64>,
    j: f64,
    alpha: f64,
}

fn run<S: Lanes<Elem = f64>>(c: &Case, want: Want) -> Out {
    let mut net: Net<S> = Net::new(c.shape).unwrap();
    let f = 3 * c.shape.n;
    let mut gi = vec![0.0; f * c.shape.n_in];
    let mut go = vec![0.0; 10 * (f + 1)];
    let mut gh = vec![0.0; c.shape.n];
    let mut g = Grads { w_in: &mut gi, w_out: &mut go, h_appl: &mut gh, j_dc: 0.0, alpha: 0.0 };
    let model = Model { w_cp: &c.w_cp, w_in: &c.w_in, w_out: &c.w_out, h_appl: &c.h_appl };
    let st = net.step(&c.phys, &model, &c.images, &c.labels, c.shape.max_batch, 1.0, want, &mut g).unwrap();
    let (j, alpha) = (g.j_dc, g.alpha);
    Out { loss: st.loss_sum, w_in: gi, w_out: go, h_appl: gh, j, alpha }
}

fn loss(c: &Case) -> f64 {
    run::<F64x2>(c, Want::default()).loss
}

/// Fourth-order central difference of the loss along one coordinate.
fn fd<F: FnMut(&mut Case, f64)>(c: &Case, h: f64, mut set: F) -> f64 {
    let mut at = |d: f64| {
        let mut cc = Case {
            w_cp: c.w_cp.clone(),
            w_in: c.w_in.clone(),
            w_out: c.w_out.clone(),
            h_appl: c.h_appl.clone(),
            images: c.images.clone(),
            labels: c.labels.clone(),
            ..*c
        };
        set(&mut cc, d);
        loss(&cc)
    };
    (8.0 * (at(h) - at(-h)) - (at(2.0 * h) - at(-2.0 * h))) / (12.0 * h)
}

fn check(name: &str, adj: f64, fdv: f64, scale: f64) {
    let rel = (adj - fdv).abs() / adj.abs().max(fdv.abs()).max(scale);
    eprintln!("{:<18} adjoint {:+.12e}  fd {:+.12e}  rel {:.1e}", name, adj, fdv, rel);
    assert!(rel < FD_REL_TOL, "{}: adjoint {:e} vs finite differences {:e} (rel {:e})", name, adj, fdv, rel);
}

fn largest(v: &[f64], k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[b].abs().partial_cmp(&v[a].abs()).unwrap());
    idx.truncate(k);
    idx
}

/// Acceptance 1: adjoint vs central finite differences, f64, N = 8, 5 images.
#[test]
fn adjoint_matches_finite_differences() {
    for &(cm, x0) in &[(10.0, X0Norm::Unit), (100.0, X0Norm::Unit), (10.0, X0Norm::Raw)] {
        let c = case_x0(8, 40, 5, cm, x0);
        let cm = format!("{} {:?}", cm, x0);
        let g = run::<F64x2>(&c, Want { w_in: true, w_out: true, phys: true });
        // entries: the largest and a spread of others, relative to the group's largest
        let gmax = |v: &[f64]| v.iter().fold(0.0f64, |a, &b| a.max(b.abs()));
        let (si, so, sh) = (gmax(&g.w_in) * 1e-3, gmax(&g.w_out) * 1e-3, gmax(&g.h_appl) * 1e-3);
        let mut picks = largest(&g.w_in, 4);
        picks.extend([3usize, 101, 517, 900].iter().copied().filter(|&k| k < g.w_in.len()));
        for &k in &picks {
            check(&format!("W_in[{}] cm={}", k, cm), g.w_in[k], fd(&c, 1e-4, |cc, d| cc.w_in[k] += d), si);
        }
        let mut picks = largest(&g.w_out, 3);
        picks.extend([0usize, 24, 99, 240].iter().copied());
        for &k in &picks {
            check(&format!("W_out[{}] cm={}", k, cm), g.w_out[k], fd(&c, 1e-4, |cc, d| cc.w_out[k] += d), so);
        }
        for k in 0..8 {
            check(&format!("H_appl[{}] cm={}", k, cm), g.h_appl[k], fd(&c, 0.05, |cc, d| cc.h_appl[k] += d), sh);
        }
        check("j_DC", g.j, fd(&c, 2e-6, |cc, d| cc.phys.params.j_dc_a += d), 0.0);
        check("alpha", g.alpha, fd(&c, 2e-5, |cc, d| cc.phys.params.alpha += d), 0.0);
        // a parameter the loss does not depend on gets exactly 0: a W_in column of a pixel that is 0 in every image
        let n_in = c.shape.n_in;
        if let Some(p) = (0..n_in).find(|&p| (0..5).all(|b| c.images[b * n_in + p] == 0)) {
            assert!((0..24).all(|r| g.w_in[r * n_in + p] == 0.0));
        }
    }
}

/// Frozen parts: asking for fewer gradients gives the same values for the rest.
#[test]
fn want_flags_do_not_change_values() {
    let c = case(8, 40, 5, 10.0);
    let all = run::<F64x2>(&c, Want { w_in: true, w_out: true, phys: true });
    let out_only = run::<F64x2>(&c, Want { w_in: false, w_out: true, phys: false });
    assert_eq!(all.w_out, out_only.w_out);
    assert!(out_only.w_in.iter().all(|&v| v == 0.0) && out_only.h_appl.iter().all(|&v| v == 0.0));
    let phys_only = run::<F64x2>(&c, Want { w_in: false, w_out: false, phys: true });
    assert_eq!(all.h_appl, phys_only.h_appl);
    assert_eq!(all.j, phys_only.j);
}

/// Scalar lanes and SIMD lanes give the same result bit for bit (per image).
#[test]
fn lane_types_agree() {
    let c = case(8, 40, 5, 10.0);
    let a = run::<F64x2>(&c, Want { w_in: true, w_out: true, phys: true });
    let b = run::<f64>(&c, Want { w_in: true, w_out: true, phys: true });
    assert_eq!(a.loss, b.loss);
    for (x, y) in a.w_in.iter().zip(&b.w_in) {
        assert!((x - y).abs() <= 1e-14 * (1.0 + x.abs()), "{} {}", x, y);
    }
}

/// f32 agrees with f64 to f32 precision.
#[test]
fn f32_close_to_f64() {
    let c = case(8, 40, 5, 10.0);
    let a = run::<F64x2>(&c, Want { w_in: true, w_out: true, phys: true });
    let c32 = |v: &Vec<f64>| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
    let mut net: Net<F32x4> = Net::new(c.shape).unwrap();
    let (wcp, win, wout, ha) = (c32(&c.w_cp), c32(&c.w_in), c32(&c.w_out), c32(&c.h_appl));
    let mut gi = vec![0f32; win.len()];
    let mut go = vec![0f32; wout.len()];
    let mut gh = vec![0f32; ha.len()];
    let mut g = Grads { w_in: &mut gi, w_out: &mut go, h_appl: &mut gh, j_dc: 0.0, alpha: 0.0 };
    let st = net
        .step(
            &c.phys,
            &Model { w_cp: &wcp, w_in: &win, w_out: &wout, h_appl: &ha },
            &c.images,
            &c.labels,
            5,
            1.0,
            Want { w_in: true, w_out: true, phys: true },
            &mut g,
        )
        .unwrap();
    assert!((st.loss_sum - a.loss).abs() < 1e-4 * a.loss);
    let j32 = g.j_dc;
    let nrm = a.w_in.iter().map(|x| x * x).sum::<f64>().sqrt();
    let err = a.w_in.iter().zip(&gi).map(|(x, &y)| (x - y as f64).powi(2)).sum::<f64>().sqrt();
    assert!(err < 1e-3 * nrm, "W_in grad f32 vs f64: {} of {}", err, nrm);
    assert!((j32 - a.j).abs() < 1e-2 * a.j.abs());
}

/// rhs_vjp against forward-mode duals of the generic llg_rhs.
#[test]
fn rhs_vjp_matches_dual_numbers() {
    type D = Dual<f64, 7>;
    let mut r = Rng::new(3, 3);
    for _ in 0..50 {
        let mv = r.unit_vector();
        let hx = 30.0 * r.normal();
        let lam = V3::new(r.normal(), r.normal(), r.normal());
        let mut p = Params::paper();
        p.h_appl_oe = 1500.0 + 500.0 * r.uniform();
        p.j_dc_a = 2.5e-3 + 5e-3 * r.uniform();
        p.alpha = 0.001 + 0.009 * r.uniform();
        // duals: m (0..3), hx (3), H_appl (4), j (5), alpha (6)
        let mut pd = p.map(D::constant);
        pd.h_appl_oe = D::variable(p.h_appl_oe, 4);
        pd.j_dc_a = D::variable(p.j_dc_a, 5);
        pd.alpha = D::variable(p.alpha, 6);
        let md = V3::new(D::variable(mv[0], 0), D::variable(mv[1], 1), D::variable(mv[2], 2));
        let fd = llg_rhs(md, &pd.derive(), V3::new(D::variable(hx, 3), D::constant(0.0), D::constant(0.0)));
        let jt = |k: usize| lam.x * fd.x.eps[k] + lam.y * fd.y.eps[k] + lam.z * fd.z.eps[k];
        let d = p.derive();
        let (lm, lhx, lha, las, lal) = rhs_vjp(V3::new(mv[0], mv[1], mv[2]), hx, &d, lam);
        let mut unit = p;
        unit.j_dc_a = 1.0;
        let das_dj = unit.derive().a_s_oe;
        let pairs = [(lm.x, jt(0)), (lm.y, jt(1)), (lm.z, jt(2)), (lhx, jt(3)), (lha, jt(4)), (las * das_dj, jt(5)), (lal, jt(6))];
        for (k, (a, b)) in pairs.iter().enumerate() {
            assert!((a - b).abs() <= 1e-12 * b.abs().max(1.0), "entry {}: vjp {:e} dual {:e}", k, a, b);
        }
    }
}

mod counting {
    //! A scalar that counts its arithmetic operations.
    use std::cell::Cell;
    use std::ops::{Add, Div, Mul, Neg, Sub};
    use stoopt_core::scalar::Scalar;
    thread_local!(pub static OPS: Cell<usize> = const { Cell::new(0) });
    fn tick() {
        OPS.with(|c| c.set(c.get() + 1));
    }
    #[derive(Clone, Copy)]
    pub struct C(pub f64);
    impl Add for C {
        type Output = C;
        fn add(self, o: C) -> C {
            tick();
            C(self.0 + o.0)
        }
    }
    impl Sub for C {
        type Output = C;
        fn sub(self, o: C) -> C {
            tick();
            C(self.0 - o.0)
        }
    }
    impl Mul for C {
        type Output = C;
        fn mul(self, o: C) -> C {
            tick();
            C(self.0 * o.0)
        }
    }
    impl Div for C {
        type Output = C;
        fn div(self, o: C) -> C {
            tick();
            C(self.0 / o.0)
        }
    }
    impl Neg for C {
        type Output = C;
        fn neg(self) -> C {
            tick();
            C(-self.0)
        }
    }
    impl Scalar for C {
        fn cst(x: f64) -> C {
            C(x)
        }
        fn sqrt(self) -> C {
            tick();
            C(self.0.sqrt())
        }
    }
    pub fn count<F: FnOnce()>(f: F) -> usize {
        OPS.with(|c| c.set(0));
        f();
        OPS.with(|c| c.get())
    }
}

/// The work count the bench reports: pinned operation counts of the RHS and its VJP.
#[test]
fn rhs_and_vjp_operation_counts_are_pinned() {
    use counting::{count, C};
    use stoopt_core::network::{RHS_FLOPS, RHS_VJP_FLOPS};
    let d = Params::paper().map(C).derive();
    let m = V3::new(C(0.6), C(0.0), C(0.8));
    let fwd = count(|| {
        let _ = llg_rhs(m, &d, V3::new(C(3.0), C(0.0), C(0.0)));
    });
    let bwd = count(|| {
        let _ = rhs_vjp(m, C(3.0), &d, V3::new(C(1.0), C(2.0), C(3.0)));
    });
    assert_eq!((fwd, bwd), (RHS_FLOPS, RHS_VJP_FLOPS), "update RHS_FLOPS / RHS_VJP_FLOPS in network.rs");
}

/// X0Norm::Raw: m(0) = W_in u as it is. The LLG flow keeps each |m_i| (the
/// right-hand side is orthogonal to m): with short steps (1 ps) |m_i(T)| =
/// |v_i| to 1e-6; with the default 50 ps steps RK4 shrinks it (amplitude
/// factor < 1 per step: 0.94 for a pure 1.5 rad rotation), by up to ~11 % per
/// step here (H_appl up to 1900 Oe). X0Norm::Unit: |m_i| = 1
/// at every step.
#[test]
fn raw_initial_state_keeps_its_norm() {
    for &(x0, dt_s) in &[(X0Norm::Unit, 50e-12), (X0Norm::Raw, 1e-12), (X0Norm::Raw, 50e-12)] {
        let mut c = case_x0(8, 40, 5, 10.0, x0);
        c.phys.dt_s = dt_s;
        let mut net: Net<F64x2> = Net::new(c.shape).unwrap();
        let f = 3 * c.shape.n;
        let (mut gi, mut go, mut gh) = (vec![0.0; f * 40], vec![0.0; 10 * (f + 1)], vec![0.0; 8]);
        let model = Model { w_cp: &c.w_cp, w_in: &c.w_in, w_out: &c.w_out, h_appl: &c.h_appl };
        let mut grads = Grads { w_in: &mut gi, w_out: &mut go, h_appl: &mut gh, j_dc: 0.0, alpha: 0.0 };
        net.step(&c.phys, &model, &c.images, &c.labels, 5, 1.0, Want::from_bits(0), &mut grads).unwrap();
        let mut tr = vec![0.0; 11 * f];
        for image in 0..5 {
            net.trajectory(image, &mut tr).unwrap();
            for i in 0..8 {
                // v_i = (W_in u)_i, components x, y, z at rows i, N + i, 2N + i
                let v: Vec<f64> = (0..3).map(|comp| (0..40).map(|p| c.w_in[(comp * 8 + i) * 40 + p] * c.images[image * 40 + p] as f64 / 255.0).sum()).collect();
                let r0 = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
                assert!(r0 > 0.05 && r0 < 3.0, "test inputs should give |v| of order 1, got {}", r0);
                let norm = |s: usize| {
                    let m = &tr[s * f..(s + 1) * f];
                    (m[i] * m[i] + m[8 + i] * m[8 + i] + m[16 + i] * m[16 + i]).sqrt()
                };
                match x0 {
                    X0Norm::Unit => (0..=10).for_each(|s| assert!((norm(s) - 1.0).abs() < 1e-12)),
                    X0Norm::Raw => {
                        // m(0) is v itself
                        assert!((tr[i] - v[0]).abs() < 1e-12 && (tr[8 + i] - v[1]).abs() < 1e-12 && (tr[16 + i] - v[2]).abs() < 1e-12);
                        for s in 1..=10 {
                            let q = norm(s) / norm(s - 1);
                            if dt_s < 2e-12 {
                                assert!((q - 1.0).abs() < 1e-7, "dt 1 ps: |m| ratio {} per step", q);
                            } else {
                                assert!(q < 1.0 && q > 0.8, "dt 50 ps: |m| ratio {} per step", q);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// x(0) = W_in u and the W_in gradient done by rows outside the step
/// (`ImageLanes`, `Split`), in any split of the rows, give exactly the bits
/// of one step: what lets every worker thread own rows of W_in.
fn split_is_bit_identical<S: Lanes>(x0: X0Norm)
where
    S::Elem: stoopt_core::scalar::Scalar + Into<f64> + From<f32> + PartialEq + std::fmt::Debug,
{
    for &batch in &[7usize, 8, 1] {
        let c = case_x0(6, 30, batch, 10.0, x0);
        let e = |v: &[f64]| -> Vec<S::Elem> { v.iter().map(|&x| S::Elem::from(x as f32)).collect() };
        let (w_cp, w_in, w_out, h_appl) = (e(&c.w_cp), e(&c.w_in), e(&c.w_out), e(&c.h_appl));
        let model = Model { w_cp: &w_cp, w_in: &w_in, w_out: &w_out, h_appl: &h_appl };
        let (f, n_in) = (3 * c.shape.n, c.shape.n_in);
        let z = <S::Elem as stoopt_core::scalar::Scalar>::zero();
        let want = Want::from_bits(7);
        let mut whole = (vec![z; f * n_in], vec![z; 10 * (f + 1)], vec![z; c.shape.n]);
        let mut net: Net<S> = Net::new(c.shape).unwrap();
        let mut g = Grads { w_in: &mut whole.0, w_out: &mut whole.1, h_appl: &mut whole.2, j_dc: 0.0, alpha: 0.0 };
        let st = net.step(&c.phys, &model, &c.images, &c.labels, batch, 0.25, want, &mut g).unwrap();
        let (j0, a0) = (g.j_dc, g.alpha);
        for cut in [0usize, 5, f / 2, f] {
            let mut lanes: ImageLanes<S> = ImageLanes::new(n_in, batch, f).unwrap();
            lanes.load(&c.images, batch).unwrap();
            let gr = lanes.groups();
            let k = gr * S::N;
            let mut x0v = vec![z; f * k];
            lanes.x0_rows(&w_in[..cut * n_in], cut, &mut x0v[..cut * k]).unwrap();
            lanes.x0_rows(&w_in[cut * n_in..], f - cut, &mut x0v[cut * k..]).unwrap();
            let mut lamv = vec![z; f * k];
            let mut parts = (vec![z; f * n_in], vec![z; 10 * (f + 1)], vec![z; c.shape.n]);
            let mut net: Net<S> = Net::new(c.shape).unwrap();
            let mut g = Grads { w_in: &mut parts.0, w_out: &mut parts.1, h_appl: &mut parts.2, j_dc: 0.0, alpha: 0.0 };
            let sp = net.step_split(&c.phys, &model, &[], &c.labels, batch, 0.25, want, &mut g, Split { x0: Some(&x0v), lamv: Some(&mut lamv) }).unwrap();
            assert_eq!((sp.loss_sum, sp.correct, g.j_dc, g.alpha), (st.loss_sum, st.correct, j0, a0));
            lanes.outer_rows(&lamv[..cut * k], cut, &mut parts.0[..cut * n_in], n_in).unwrap();
            lanes.outer_rows(&lamv[cut * k..], f - cut, &mut parts.0[cut * n_in..], n_in).unwrap();
            assert_eq!(parts, whole, "batch {} cut {}", batch, cut);
        }
    }
}

#[test]
fn split_products_are_bit_identical() {
    split_is_bit_identical::<F32x4>(X0Norm::Unit);
    split_is_bit_identical::<F64x2>(X0Norm::Unit);
    split_is_bit_identical::<F32x4>(X0Norm::Raw);
}
