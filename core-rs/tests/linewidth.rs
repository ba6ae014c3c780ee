//! The weak-noise linewidth of `linewidth.rs` (phase diffusion through the
//! limit cycle's phase response curve): its central-difference derivatives
//! against a five-point stencil, its convergence in the step, the PRC's
//! periodicity, its first-order scaling with temperature, and below
//! threshold. Its agreement with simulated spectra is checked through the CLI
//! (test/spectrum-linewidth.test.ts).

use stoopt_core::linewidth::{linewidth, linewidth_at, thermal_intensity, LinewidthSetup};
use stoopt_core::params::{Params, PARAM_NAMES};
use stoopt_core::theory::auto_oscillation;

fn at(j: f64) -> Params<f64> {
    let mut p = Params::paper();
    p.j_dc_a = j;
    p
}

fn cone(p: &Params<f64>) -> f64 {
    auto_oscillation(p).expect("above threshold").0
}

/// The derivatives (central differences, relative step 1e-4) against a
/// five-point stencil at a ten times larger step: agreement to 1e-6 relative.
#[test]
fn derivatives_match_five_point_stencil() {
    let p = at(5e-3);
    let s = LinewidthSetup::default();
    let fit = [1usize, 9, 8, 7];
    let r = linewidth(&p, 300.0, &fit, cone(&p), &s).unwrap();
    for (a, &j) in fit.iter().enumerate() {
        let x = p.to_array()[j];
        let h = 1e-3 * x.abs();
        let lw = |v: f64| {
            let mut arr = p.to_array();
            arr[j] = v;
            linewidth_at(&Params::from_array(arr), 300.0, r.m0[2], &s).unwrap().linewidth_hz
        };
        let five = (-lw(x + 2.0 * h) + 8.0 * lw(x + h) - 8.0 * lw(x - h) + lw(x - 2.0 * h)) / (12.0 * h);
        let rel = (r.dlw[a] - five).abs() / five.abs();
        println!("{}: dFWHM {:e} Hz per unit, five-point {:e}, rel {:.1e}", PARAM_NAMES[j], r.dlw[a], five, rel);
        assert!(rel < 1e-6, "{}: {:e} vs {:e}", PARAM_NAMES[j], r.dlw[a], five);
    }
}

/// Halving the step changes the linewidth by < 1e-7 relative, the PRC returns
/// to itself after a period (< 1e-7), and the cycle's frequency matches the
/// one the forward integration gives to 1e-9.
#[test]
fn converged_in_the_step_and_periodic() {
    let p = at(5e-3);
    let fine = linewidth_at(&p, 300.0, cone(&p), &LinewidthSetup::default()).unwrap();
    let coarse = linewidth_at(&p, 300.0, cone(&p), &LinewidthSetup { steps_per_period: 512, ..LinewidthSetup::default() }).unwrap();
    let rel = (fine.linewidth_hz - coarse.linewidth_hz).abs() / fine.linewidth_hz;
    println!(
        "FWHM {:.6} MHz (512 steps: rel diff {:.1e}), closure {:.1e}, mu {:.6}, D/Gamma {:.4}",
        fine.linewidth_hz / 1e6,
        rel,
        fine.prc_closure,
        fine.multiplier,
        fine.weak_noise_ratio
    );
    assert!(rel < 1e-7);
    assert!(fine.prc_closure < 1e-7);
    assert!((fine.f_hz - coarse.f_hz).abs() < 1e-9 * fine.f_hz);
    assert!(fine.multiplier > 0.0 && fine.multiplier < 1.0);
}

/// First order in the noise: D is proportional to q = 2 alpha kB T / (gamma M V),
/// so the FWHM doubles with the temperature exactly and is 0 at 0 K.
#[test]
fn linear_in_temperature() {
    let p = at(6e-3);
    let s = LinewidthSetup::default();
    let a = linewidth_at(&p, 300.0, cone(&p), &s).unwrap();
    let b = linewidth_at(&p, 600.0, cone(&p), &s).unwrap();
    let z = linewidth_at(&p, 0.0, cone(&p), &s).unwrap();
    assert!((b.linewidth_hz / a.linewidth_hz - 2.0).abs() < 1e-12);
    assert_eq!(z.linewidth_hz, 0.0);
    assert!(
        (a.diffusion / thermal_intensity(&p, 300.0) - b.diffusion / thermal_intensity(&p, 600.0)).abs() < 1e-9 * a.diffusion / thermal_intensity(&p, 300.0)
    );
}

/// The linewidth falls with the current above threshold (the cycle's energy
/// grows) and the weak-noise ratio D / Gamma grows towards threshold; below
/// threshold there is no cycle (an error, not a number).
#[test]
fn trend_and_below_threshold() {
    let s = LinewidthSetup::default();
    let mut last = (f64::INFINITY, f64::INFINITY);
    for &j in &[2.5e-3, 3e-3, 4e-3, 5e-3, 6e-3, 7e-3] {
        let p = at(j);
        let r = linewidth_at(&p, 300.0, cone(&p), &s).unwrap();
        println!("{} mA: f {:.5} GHz, FWHM {:.4} MHz, D/Gamma {:.4}", j * 1e3, r.f_hz / 1e9, r.linewidth_hz / 1e6, r.weak_noise_ratio);
        assert!(r.linewidth_hz < last.0 && r.weak_noise_ratio < last.1);
        last = (r.linewidth_hz, r.weak_noise_ratio);
    }
    let p = at(1.2e-3);
    assert!(linewidth_at(&p, 300.0, 0.95, &s).is_err());
}
