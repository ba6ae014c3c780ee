//! The steady-state frequency of `steady.rs`: its dual-number derivatives
//! against central finite differences (f64), and its value against the
//! orbit-averaged theory and the physics test's pinned centre point.

use stoopt_core::params::{Params, PARAM_NAMES};
use stoopt_core::steady::{steady_state, SteadySetup};
use stoopt_core::theory::auto_oscillation;

fn start(p: &Params<f64>) -> [f64; 3] {
    let (mz, _) = auto_oscillation(p).expect("above threshold");
    [(1.0 - mz * mz).sqrt(), 0.0, mz]
}

/// df/dtheta and d<m_z>/dtheta agree with central differences to 1e-6
/// relative for H_appl, alpha, j_DC and lambda (short washout and window:
/// the derivative is of the discretized measurement, settled or not).
#[test]
fn dual_derivatives_match_central_differences() {
    let p = Params::paper();
    let m0 = start(&p);
    let s = SteadySetup { dt_s: 0.5e-12, washout_steps: 6000, window_steps: 8000 };
    let fit = [1usize, 9, 8, 7];
    let r = steady_state(&p, &fit, m0, &s).unwrap();
    assert!(r.crossings > 10);
    for (a, &j) in fit.iter().enumerate() {
        let x = p.to_array()[j];
        // relative step 1e-6: the difference quotient's own error (h^2 term) is ~2e-7 for H_appl, ~1e-9 at 3e-7
        let h = 1e-6 * x.abs();
        let at = |v: f64| {
            let mut arr = p.to_array();
            arr[j] = v;
            steady_state(&Params::from_array(arr), &[], m0, &s).unwrap()
        };
        let (up, dn) = (at(x + h), at(x - h));
        assert_eq!(up.crossings, r.crossings, "{}: the step changed the crossing count", PARAM_NAMES[j]);
        let fd_f = (up.f_hz - dn.f_hz) / (2.0 * h);
        let fd_mz = (up.mz - dn.mz) / (2.0 * h);
        let rel_f = (r.df[a] - fd_f).abs() / fd_f.abs();
        let rel_mz = (r.dmz[a] - fd_mz).abs() / fd_mz.abs();
        println!("{}: df {:e} (fd {:e}, rel {:.1e}); dmz {:e} (fd {:e}, rel {:.1e})", PARAM_NAMES[j], r.df[a], fd_f, rel_f, r.dmz[a], fd_mz, rel_mz);
        assert!(rel_f < 1e-6, "{}: df/dx {} vs central difference {}", PARAM_NAMES[j], r.df[a], fd_f);
        assert!(rel_mz < 1e-6, "{}: dmz/dx {} vs central difference {}", PARAM_NAMES[j], r.dmz[a], fd_mz);
    }
}

/// A parameter that does not enter the dynamics (none does here except through
/// `derive`) gets the tangent of the value alone: f without tangents equals f with.
#[test]
fn tangents_do_not_change_the_value() {
    let p = Params::paper();
    let s = SteadySetup { dt_s: 0.5e-12, washout_steps: 2000, window_steps: 4000 };
    let a = steady_state(&p, &[], start(&p), &s).unwrap();
    let b = steady_state(&p, &[1, 9], start(&p), &s).unwrap();
    assert_eq!(a.f_hz.to_bits(), b.f_hz.to_bits());
    assert_eq!(a.mz.to_bits(), b.mz.to_bits());
}

/// At the centre point, started on the theory's cone, 40 ns of washout reach
/// the physics test's pinned steady state (f 5.1335 GHz, <m_z> 0.2422).
#[test]
fn centre_point_frequency() {
    let p = Params::paper();
    let s = SteadySetup { dt_s: 0.5e-12, washout_steps: 80_000, window_steps: 40_000 };
    let r = steady_state(&p, &[], start(&p), &s).unwrap();
    println!("f {} Hz, <m_z> {}", r.f_hz, r.mz);
    assert!((r.f_hz - 5.1335e9).abs() < 5e6 && (r.mz - 0.2422).abs() < 5e-4);
}

/// Below threshold the precession decays: after 100 ns from a 0.3 rad cone
/// the window's peak-to-peak m_x is a small fraction of the start's 0.59.
#[test]
fn precession_decays_below_threshold() {
    let mut p = Params::paper();
    p.j_dc_a = 1.0e-3;
    let s = SteadySetup { dt_s: 0.5e-12, washout_steps: 200_000, window_steps: 4000 };
    let r = steady_state(&p, &[1], [0.3f64.sin(), 0.0, 0.3f64.cos()], &s).unwrap();
    assert!(r.amplitude < 0.01, "peak-to-peak {}", r.amplitude);
}
