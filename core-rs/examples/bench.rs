//! Native side of `npm run bench`: RK4 steps per second of the same code the
//! wasm module runs, printed as one JSON line.

use std::time::Instant;
use stoopt_core::noise::Rng;
use stoopt_core::params::Params;
use stoopt_core::simulate::{Batch, Scheme};

fn steps_per_second(trials: usize, steps: usize) -> f64 {
    let p = Params::paper();
    let batch = Batch { params: &p, scheme: Scheme::Rk4, dt_s: 0.5e-12, sigma_oe: 0.0 };
    let mut rngs: Vec<Rng> = (0..trials).map(|i| Rng::new(1, i as u64)).collect();
    let mut m: Vec<f64> = rngs.iter_mut().flat_map(|r| r.unit_vector().to_vec()).collect();
    batch.run(&mut m, &mut rngs, steps / 10, 1, None); // warm-up
    let mut best = 0.0f64;
    for _ in 0..3 {
        let t = Instant::now();
        batch.run(&mut m, &mut rngs, steps, 1, None);
        best = best.max((trials * steps) as f64 / t.elapsed().as_secs_f64());
    }
    best
}

fn main() {
    let one = steps_per_second(1, 2_000_000);
    let batch = steps_per_second(100, 40_000);
    println!("{{\"rk4_steps_per_s_1_trial\": {:.0}, \"rk4_steps_per_s_100_trials\": {:.0}}}", one, batch);
}
