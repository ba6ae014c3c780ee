//! Model parameters (paper Table I) in CGS units, current in A.
//!
//! Physical constants are compile-time constants, never run-time settings.

use crate::scalar::Scalar;

/// Reduced Planck constant [erg s].
pub const HBAR_ERG_S: f64 = 1.054_571_817e-27;
/// Elementary charge [C]. With the current in A, hbar j / e is in erg.
pub const E_CHARGE_C: f64 = 1.602_176_634e-19;
/// Boltzmann constant [erg/K].
pub const KB_ERG_PER_K: f64 = 1.380_649e-16;
pub const PI: f64 = core::f64::consts::PI;

/// Number of scalar model parameters, in the order of `Params::to_array`.
pub const N_PARAMS: usize = 10;
/// Parameter names in ABI order (kept equal to cli/model.ts).
pub const PARAM_NAMES: [&str; N_PARAMS] = ["gamma", "H_appl", "M", "H_K", "d", "R", "eta", "lambda", "j_DC", "alpha"];

/// Scalar parameters of one macrospin STO (paper eq. 1-3, Table I).
#[derive(Clone, Copy)]
pub struct Params<S> {
    /// Gyromagnetic ratio [rad/(Oe s)].
    pub gamma: S,
    /// Applied field along z [Oe].
    pub h_appl_oe: S,
    /// Saturation magnetization [emu/cm^3].
    pub m_s: S,
    /// Interfacial anisotropy field [Oe].
    pub h_k_oe: S,
    /// Free-layer thickness [cm].
    pub d_cm: S,
    /// Radius [cm].
    pub r_cm: S,
    /// Spin polarization [1].
    pub eta: S,
    /// Spin-transfer torque asymmetry [1].
    pub lambda: S,
    /// Current [A].
    pub j_dc_a: S,
    /// Gilbert damping [1].
    pub alpha: S,
}

impl Params<f64> {
    /// Table I of the paper, with the centre point H_appl = 1750 Oe,
    /// j_DC = 5 mA, alpha = 0.0055.
    pub fn paper() -> Self {
        Params {
            gamma: 1.764e7,
            h_appl_oe: 1750.0,
            m_s: 1448.3,
            h_k_oe: 1.8616e4,
            d_cm: 2.0e-7,
            r_cm: 60.0e-7,
            eta: 0.537,
            lambda: 0.288,
            j_dc_a: 5.0e-3,
            alpha: 0.0055,
        }
    }

    /// From a slice in `PARAM_NAMES` order.
    pub fn from_slice(a: &[f64]) -> Self {
        let mut v = [0.0; N_PARAMS];
        v.copy_from_slice(&a[..N_PARAMS]);
        Params::from_array(v)
    }

    /// Free-layer volume V = pi R^2 d [cm^3].
    pub fn volume_cm3(&self) -> f64 {
        PI * self.r_cm * self.r_cm * self.d_cm
    }

    /// Standard deviation [Oe] of each component of the thermal field held
    /// through one step of length dt (paper eq. 3 discretized):
    /// sigma^2 = 2 alpha kB T / (gamma M V dt).
    pub fn thermal_sigma_oe(&self, temperature_k: f64, dt_s: f64) -> f64 {
        if temperature_k <= 0.0 {
            return 0.0;
        }
        (2.0 * self.alpha * KB_ERG_PER_K * temperature_k / (self.gamma * self.m_s * self.volume_cm3() * dt_s)).sqrt()
    }

    /// First physical bound a parameter set violates, if any.
    pub fn check(&self) -> Result<(), String> {
        let a = self.to_array();
        for (i, v) in a.iter().enumerate() {
            if !v.is_finite() {
                return Err(format!("parameter {} is not finite", PARAM_NAMES[i]));
            }
        }
        let positive = [("gamma", self.gamma), ("M", self.m_s), ("d", self.d_cm), ("R", self.r_cm), ("alpha", self.alpha)];
        for (name, v) in positive.iter() {
            if *v <= 0.0 {
                return Err(format!("parameter {} must be > 0 (got {})", name, v));
            }
        }
        if self.lambda <= -1.0 || self.lambda >= 1.0 {
            return Err(format!("parameter lambda must lie in (-1, 1) (got {})", self.lambda));
        }
        Ok(())
    }
}

impl<S: Scalar> Params<S> {
    pub fn map<T, F: Fn(S) -> T>(&self, f: F) -> Params<T> {
        Params {
            gamma: f(self.gamma),
            h_appl_oe: f(self.h_appl_oe),
            m_s: f(self.m_s),
            h_k_oe: f(self.h_k_oe),
            d_cm: f(self.d_cm),
            r_cm: f(self.r_cm),
            eta: f(self.eta),
            lambda: f(self.lambda),
            j_dc_a: f(self.j_dc_a),
            alpha: f(self.alpha),
        }
    }

    /// The parameters in `PARAM_NAMES` order.
    pub fn to_array(&self) -> [S; N_PARAMS] {
        [self.gamma, self.h_appl_oe, self.m_s, self.h_k_oe, self.d_cm, self.r_cm, self.eta, self.lambda, self.j_dc_a, self.alpha]
    }

    pub fn from_array(a: [S; N_PARAMS]) -> Self {
        Params { gamma: a[0], h_appl_oe: a[1], m_s: a[2], h_k_oe: a[3], d_cm: a[4], r_cm: a[5], eta: a[6], lambda: a[7], j_dc_a: a[8], alpha: a[9] }
    }

    /// The combinations of parameters that enter the right-hand side,
    /// computed once per integration (outside the time loop).
    pub fn derive(&self) -> Derived<S> {
        let one = S::one();
        let volume = S::cst(PI) * self.r_cm * self.r_cm * self.d_cm;
        Derived {
            gamma_ll: self.gamma / (one + self.alpha * self.alpha),
            alpha: self.alpha,
            h_appl_oe: self.h_appl_oe,
            h_anis_oe: self.h_k_oe - S::cst(4.0 * PI) * self.m_s,
            a_s_oe: S::cst(HBAR_ERG_S / (2.0 * E_CHARGE_C)) * self.eta * self.j_dc_a / (self.m_s * volume),
            lambda: self.lambda,
        }
    }
}

/// The six combinations the LLG right-hand side depends on.
#[derive(Clone, Copy)]
pub struct Derived<S> {
    /// gamma / (1 + alpha^2) [rad/(Oe s)]: the Landau-Lifshitz prefactor.
    pub gamma_ll: S,
    pub alpha: S,
    pub h_appl_oe: S,
    /// H_K - 4 pi M [Oe].
    pub h_anis_oe: S,
    /// hbar eta j / (2 e M V) [Oe]: H_s of eq. (2) without the asymmetry denominator.
    pub a_s_oe: S,
    pub lambda: S,
}

pub const N_DERIVED: usize = 6;

impl<S: Scalar> Derived<S> {
    pub fn to_array(&self) -> [S; N_DERIVED] {
        [self.gamma_ll, self.alpha, self.h_appl_oe, self.h_anis_oe, self.a_s_oe, self.lambda]
    }
    pub fn from_array(a: [S; N_DERIVED]) -> Self {
        Derived { gamma_ll: a[0], alpha: a[1], h_appl_oe: a[2], h_anis_oe: a[3], a_s_oe: a[4], lambda: a[5] }
    }
    pub fn map<T, F: Fn(S) -> T>(&self, f: F) -> Derived<T> {
        Derived {
            gamma_ll: f(self.gamma_ll),
            alpha: f(self.alpha),
            h_appl_oe: f(self.h_appl_oe),
            h_anis_oe: f(self.h_anis_oe),
            a_s_oe: f(self.a_s_oe),
            lambda: f(self.lambda),
        }
    }
}
