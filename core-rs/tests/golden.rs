//! The native build's trajectory for a fixed seed, pinned in
//! fixtures/golden/wasm-native-1e4.csv. The same file is checked against the
//! wasm build in test/wasm-native.test.ts, so wasm == native (acceptance 7).
//! Regenerate deliberately with STOOPT_WRITE_GOLDEN=1; a missing file fails.

use stoopt_core::noise::Rng;
use stoopt_core::params::Params;
use stoopt_core::simulate::{Batch, Scheme};

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/golden/wasm-native-1e4.csv");

/// 4 trials, 300 K, seed 7, dt 0.5 ps, 10^4 steps recorded every 1000 steps,
/// for both schemes: the CLI equivalent is
/// `stoopt simulate --trials 4 --temperature 300K --seed 7 --sample 0.5ns --duration 5ns --scheme S`.
fn golden_csv() -> String {
    let p = Params::paper();
    let dt = 0.5e-12;
    let mut s = String::from("scheme,trial,t,mx,my,mz\n");
    for &(name, scheme) in &[("rk4", Scheme::Rk4), ("heun", Scheme::Heun)] {
        let n = 4;
        let mut rngs: Vec<Rng> = (0..n).map(|i| Rng::new(7, i as u64)).collect();
        let mut m: Vec<f64> = rngs.iter_mut().flat_map(|r| r.unit_vector().to_vec()).collect();
        let m0 = m.clone();
        let batch = Batch { params: &p, scheme, dt_s: dt, sigma_oe: p.thermal_sigma_oe(300.0, dt) };
        let mut out = vec![0.0; 3 * n * 10];
        batch.run(&mut m, &mut rngs, 1000, 10, Some(&mut out));
        for i in 0..n {
            s.push_str(&format!("{},{},0,{:?},{:?},{:?}\n", name, i, m0[3 * i], m0[3 * i + 1], m0[3 * i + 2]));
            for k in 0..10 {
                let o = 3 * (i * 10 + k);
                s.push_str(&format!("{},{},{:?},{:?},{:?},{:?}\n", name, i, (k + 1) as f64 * 0.5e-9, out[o], out[o + 1], out[o + 2]));
            }
        }
    }
    s
}

#[test]
fn native_matches_pinned_trajectory() {
    let now = golden_csv();
    if std::env::var("STOOPT_WRITE_GOLDEN").is_ok() {
        std::fs::write(PATH, &now).unwrap();
    }
    let pinned =
        std::fs::read_to_string(PATH).expect("fixtures/golden/wasm-native-1e4.csv is missing: regenerate with STOOPT_WRITE_GOLDEN=1 cargo test --test golden");
    assert_eq!(pinned.lines().count(), now.lines().count());
    for (a, b) in pinned.lines().zip(now.lines()).skip(1) {
        let fa: Vec<&str> = a.split(',').collect();
        let fb: Vec<&str> = b.split(',').collect();
        assert_eq!(fa[..2], fb[..2]);
        for k in 2..6 {
            let (x, y): (f64, f64) = (fa[k].parse().unwrap(), fb[k].parse().unwrap());
            assert_eq!(x.to_bits(), y.to_bits(), "native differs from the pinned trajectory: {} vs {}", a, b);
        }
    }
}
