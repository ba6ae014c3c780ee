use std::time::Instant;
use stoopt_core::gemm::gemm_lanes;
use stoopt_core::network::{Grads, Model, Net, Physics, Shape, Want, X0Norm};
use stoopt_core::params::Params;
use stoopt_core::simd::F32x4;
fn main() {
    let (n, nin, b) = (200usize, 784usize, 52usize);
    let g = b / 4;
    let a: Vec<f32> = (0..n * n).map(|i| ((i * 7 % 13) as f32 - 6.0) * 0.01).collect();
    let x: Vec<F32x4> = (0..n * g).map(|i| F32x4::splat((i % 5) as f32 * 0.1)).collect();
    let mut y = vec![F32x4::splat(0.0); n * g];
    let t = Instant::now();
    let reps = 4000;
    for _ in 0..reps {
        gemm_lanes::<F32x4>(n, n, &a, n, 1.0, &x, g, &mut y, false);
    }
    let dt = t.elapsed().as_secs_f64();
    println!("coupling gemm: {:.2} GFLOP/s, {:.3} ms per 40 calls per 52 img", (2 * n * n * b * reps) as f64 / dt / 1e9, dt / reps as f64 * 40.0 * 1e3);
    let shape = Shape { n, n_in: nin, n_out: 10, steps: 10, max_batch: b, x0: X0Norm::Unit };
    let mut net: Net<F32x4> = Net::new(shape).unwrap();
    let wcp = a.clone();
    let win: Vec<f32> = (0..600 * nin).map(|i| ((i * 7 % 13) as f32 - 6.0) * 0.005).collect();
    let wout: Vec<f32> = (0..10 * 601).map(|i| ((i * 7 % 13) as f32 - 6.0) * 0.005).collect();
    let ha = vec![1750f32; n];
    let imgs: Vec<u8> = (0..b * nin).map(|i| (i * 31 % 256) as u8).collect();
    let labels: Vec<u8> = (0..b).map(|i| (i % 10) as u8).collect();
    let phys = Physics { params: Params::paper(), dt_s: 50e-12, cm_oe: 10.0 };
    let (mut gi, mut go, mut gh) = (vec![0f32; 600 * nin], vec![0f32; 6010], vec![0f32; n]);
    for want in [0u32, 2, 6, 7] {
        let t = Instant::now();
        let reps = 40;
        for _ in 0..reps {
            let mut gr = Grads { w_in: &mut gi, w_out: &mut go, h_appl: &mut gh, j_dc: 0.0, alpha: 0.0 };
            net.step(&phys, &Model { w_cp: &wcp, w_in: &win, w_out: &wout, h_appl: &ha }, &imgs, &labels, b, 1.0, Want::from_bits(want), &mut gr).unwrap();
        }
        let dt = t.elapsed().as_secs_f64();
        println!("want {}: {:.3} ms per batch of {} -> {:.0} img/s", want, dt / reps as f64 * 1e3, b, (b * reps) as f64 / dt);
    }
}
