//! stoopt-core: macrospin spin-torque-oscillator numerics (paper eq. 1-8).
//!
//! One file per concern: `scalar`/`simd`/`dual` (number types), `vec3`,
//! `params` (Table I), `torque` (LLG right-hand side), `rk4` (the RK4
//! tableau and step) and `heun` (integrators), `adjoint` (the discrete
//! adjoint of one macrospin's RK4 step), `coupled_adjoint` (the discrete
//! adjoint of one RK4 step of N coupled STOs, for `network` and
//! `reservoir`), `noise` (thermal field), `simulate` (batched trials),
//! `gemm` (lane-major dense products), `network` (the coupled-STO
//! network of eq. 5-8 and its gradients), `reservoir` (that
//! network driven by a time series, its checkpointed adjoint, the ridge
//! readout and an echo-state-network baseline), `theory` (threshold and
//! orbit-averaged auto-oscillation) and `steady` (steady-state frequency with
//! dual-number derivatives).
//! `abi` is the flat extern "C" layer used by the TypeScript CLI.

pub mod adam;
pub mod adjoint;
pub mod codes;
pub mod coupled_adjoint;
pub mod dual;
pub mod gemm;
pub mod heun;
pub mod linewidth;
pub mod network;
pub mod noise;
pub mod params;
pub mod reservoir;
pub mod rk4;
pub mod scalar;
pub mod simd;
pub mod simulate;
pub mod steady;
pub mod sysid;
pub mod theory;
pub mod torque;
pub mod vec3;

pub mod abi;
