//! Dense products for the STO network with images in SIMD lanes.
//!
//! A "lane-major" matrix X with `rows` rows holds `g` lane vectors per row:
//! element (r, j) is `x[r * g + j]`, and each lane of it belongs to one image.
//! A weight matrix `a` is a plain row-major matrix of scalars with row
//! stride `lda`. All loops are register-blocked (4 rows x 2 lane vectors in
//! `gemm_lanes`, 2 x 4 in `outer_lanes`) so that the accumulators stay in
//! SIMD registers; no allocation anywhere.

use crate::scalar::{Lanes, Scalar};

const RB: usize = 4;
const GB: usize = 2;

/// y = alpha * A x (+ y if `accumulate`), A: rows x cols (row stride `lda`),
/// x: cols x g lane-major, y: rows x g lane-major.
#[allow(clippy::too_many_arguments)] // a BLAS-style kernel: sizes, strides and scale are separate on purpose
pub fn gemm_lanes<S: Lanes>(rows: usize, cols: usize, a: &[S::Elem], lda: usize, alpha: S::Elem, x: &[S], g: usize, y: &mut [S], accumulate: bool) {
    assert!(lda >= cols && (rows == 0 || a.len() >= (rows - 1) * lda + cols));
    assert!(x.len() >= cols * g && y.len() >= rows * g);
    let al = S::splat(alpha);
    let x = &x[..cols * g];
    let mut r0 = 0;
    while r0 + RB <= rows {
        let a0 = &a[r0 * lda..r0 * lda + cols];
        let a1 = &a[(r0 + 1) * lda..(r0 + 1) * lda + cols];
        let a2 = &a[(r0 + 2) * lda..(r0 + 2) * lda + cols];
        let a3 = &a[(r0 + 3) * lda..(r0 + 3) * lda + cols];
        let mut g0 = 0;
        while g0 + GB <= g {
            let mut c = [[S::zero(); GB]; RB];
            for ((((&e0, &e1), &e2), &e3), xr) in a0.iter().zip(a1).zip(a2).zip(a3).zip(x.chunks_exact(g)) {
                let xs = &xr[g0..g0 + GB];
                let (x0, x1) = (xs[0], xs[1]);
                let (v0, v1, v2, v3) = (S::splat(e0), S::splat(e1), S::splat(e2), S::splat(e3));
                c[0][0] = c[0][0] + v0 * x0;
                c[0][1] = c[0][1] + v0 * x1;
                c[1][0] = c[1][0] + v1 * x0;
                c[1][1] = c[1][1] + v1 * x1;
                c[2][0] = c[2][0] + v2 * x0;
                c[2][1] = c[2][1] + v2 * x1;
                c[3][0] = c[3][0] + v3 * x0;
                c[3][1] = c[3][1] + v3 * x1;
            }
            for (r, cr) in c.iter().enumerate() {
                for (j, &v) in cr.iter().enumerate() {
                    let o = &mut y[(r0 + r) * g + g0 + j];
                    *o = if accumulate { *o + al * v } else { al * v };
                }
            }
            g0 += GB;
        }
        while g0 < g {
            let mut c = [S::zero(); RB];
            for ((((&e0, &e1), &e2), &e3), xr) in a0.iter().zip(a1).zip(a2).zip(a3).zip(x.chunks_exact(g)) {
                let x0 = xr[g0];
                c[0] = c[0] + S::splat(e0) * x0;
                c[1] = c[1] + S::splat(e1) * x0;
                c[2] = c[2] + S::splat(e2) * x0;
                c[3] = c[3] + S::splat(e3) * x0;
            }
            for (r, &v) in c.iter().enumerate() {
                let o = &mut y[(r0 + r) * g + g0];
                *o = if accumulate { *o + al * v } else { al * v };
            }
            g0 += 1;
        }
        r0 += RB;
    }
    while r0 < rows {
        let ar = &a[r0 * lda..r0 * lda + cols];
        for g0 in 0..g {
            let mut c = S::zero();
            for (&e, xr) in ar.iter().zip(x.chunks_exact(g)) {
                c = c + S::splat(e) * xr[g0];
            }
            let o = &mut y[r0 * g + g0];
            *o = if accumulate { *o + al * c } else { al * c };
        }
        r0 += 1;
    }
}

/// Sum of the lanes of `v`.
#[inline(always)]
pub fn hsum<S: Lanes>(v: S) -> S::Elem
where
    S::Elem: Scalar,
{
    let mut s = v.lane(0);
    for i in 1..S::N {
        s = s + v.lane(i);
    }
    s
}

/// out[r * ldo + k] = scale * sum over lanes and j of lam[r][j] * x[k][j]
/// (+ out[r * ldo + k] if `accumulate`; else exactly 0 + that, as if out
/// had been zeroed first): the batch-summed outer product that gives a
/// weight gradient. lam: rows x g lane-major, x: cols x g lane-major.
/// Each sum is over j in order within a lane, then over the lanes in lane
/// order (`hsum`); four of them are finished at once with `Lanes::hsums`.
#[allow(clippy::too_many_arguments)] // a BLAS-style kernel: sizes, strides and scale are separate on purpose
pub fn outer_lanes<S: Lanes>(rows: usize, cols: usize, lam: &[S], x: &[S], g: usize, scale: S::Elem, out: &mut [S::Elem], ldo: usize, accumulate: bool)
where
    S::Elem: Scalar,
{
    assert!(lam.len() >= rows * g && x.len() >= cols * g);
    assert!(ldo >= cols && (rows == 0 || out.len() >= (rows - 1) * ldo + cols));
    let mut r0 = 0;
    while r0 < rows {
        let two = r0 + 1 < rows;
        let l0 = &lam[r0 * g..(r0 + 1) * g];
        let l1 = if two { &lam[(r0 + 1) * g..(r0 + 2) * g] } else { l0 };
        let mut k0 = 0;
        while k0 < cols {
            let kn = (cols - k0).min(4);
            let xa = &x[k0 * g..(k0 + 1) * g];
            let xb = if kn > 1 { &x[(k0 + 1) * g..(k0 + 2) * g] } else { xa };
            let xc = if kn > 2 { &x[(k0 + 2) * g..(k0 + 3) * g] } else { xa };
            let xd = if kn > 3 { &x[(k0 + 3) * g..(k0 + 4) * g] } else { xa };
            let (mut c0, mut c1) = ([S::zero(); 4], [S::zero(); 4]);
            for (((((&p0, &p1), &q0), &q1), &q2), &q3) in l0.iter().zip(l1).zip(xa).zip(xb).zip(xc).zip(xd) {
                c0[0] = c0[0] + p0 * q0;
                c0[1] = c0[1] + p0 * q1;
                c0[2] = c0[2] + p0 * q2;
                c0[3] = c0[3] + p0 * q3;
                c1[0] = c1[0] + p1 * q0;
                c1[1] = c1[1] + p1 * q1;
                c1[2] = c1[2] + p1 * q2;
                c1[3] = c1[3] + p1 * q3;
            }
            finish_outer(&mut out[r0 * ldo + k0..r0 * ldo + k0 + kn], c0, scale, accumulate);
            if two {
                finish_outer(&mut out[(r0 + 1) * ldo + k0..(r0 + 1) * ldo + k0 + kn], c1, scale, accumulate);
            }
            k0 += 4;
        }
        r0 += 2;
    }
}

/// o[j] = scale * hsum(c[j]) (+ o[j] if `accumulate`, else 0 +) for the
/// o.len() <= 4 outputs of one row of an `outer_lanes` block; a whole block
/// of four with `Lanes::hsums`. The accumulators come by value so that they
/// stay in registers.
#[inline(always)]
fn finish_outer<S: Lanes>(o: &mut [S::Elem], c: [S; 4], scale: S::Elem, accumulate: bool)
where
    S::Elem: Scalar,
{
    if o.len() == 4 && 4 % S::N == 0 {
        let sc = S::splat(scale);
        for h in (0..4).step_by(S::N) {
            let base = if accumulate { S::load(&o[h..]) } else { S::zero() };
            (base + sc * S::hsums(&c[h..h + S::N])).store(&mut o[h..]);
        }
    } else {
        for (oj, &v) in o.iter_mut().zip(&c) {
            let base = if accumulate { *oj } else { S::Elem::zero() };
            *oj = base + scale * hsum(v);
        }
    }
}

/// A register-resident loop of independent multiply-adds (no FMA in wasm
/// SIMD): 12 accumulators x `S::N` lanes x 2 flops per iteration (12 chains
/// hide the add/multiply latency; 14 live SIMD registers fit x86-64's 16). Measures the
/// machine's SIMD peak for the bench; returns a value that depends on every
/// operation so nothing is optimized away.
pub fn peak_kernel<S: Lanes>(iters: usize, seed: S::Elem) -> S::Elem
where
    S::Elem: Scalar,
{
    let m = S::splat(seed);
    let b = S::cst(1e-7);
    let mut c = [S::zero(); 12];
    for (i, ci) in c.iter_mut().enumerate() {
        *ci = S::cst(i as f64 * 1e-3);
    }
    for _ in 0..iters {
        for ci in c.iter_mut() {
            *ci = *ci * m + b;
        }
    }
    let mut s = S::zero();
    for ci in c.iter() {
        s = s + *ci;
    }
    hsum(s)
}

/// Floating-point operations counted by `peak_kernel(iters)` for lane type `S`
/// (in f64: the product passes usize's 32 bits on wasm32 beyond 44 M iterations).
pub fn peak_kernel_flops<S: Lanes>(iters: usize) -> f64 {
    iters as f64 * (12 * 2 * S::N) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simd::F32x4;

    fn lanes_of(v: &[f32], rows: usize, imgs: usize) -> (Vec<F32x4>, usize) {
        // v: imgs x rows (image-major) -> rows x g lane-major
        let g = (imgs + 3) / 4;
        let mut out = vec![F32x4::splat(0.0); rows * g];
        for r in 0..rows {
            for j in 0..g {
                out[r * g + j] = F32x4::from_fn(|l| {
                    let b = j * 4 + l;
                    if b < imgs {
                        v[b * rows + r]
                    } else {
                        0.0
                    }
                });
            }
        }
        (out, g)
    }

    #[test]
    fn gemm_and_outer_match_naive_loops() {
        for &(rows, cols, imgs) in &[(7usize, 5usize, 9usize), (8, 13, 8), (4, 1, 3), (1, 3, 1), (10, 601, 17)] {
            let a: Vec<f32> = (0..rows * (cols + 2)).map(|i| ((i * 37 % 11) as f32 - 5.0) * 0.25).collect();
            let xv: Vec<f32> = (0..imgs * cols).map(|i| ((i * 13 % 7) as f32 - 3.0) * 0.5).collect();
            let (x, g) = lanes_of(&xv, cols, imgs);
            let mut y = vec![F32x4::splat(1.0); rows * g];
            gemm_lanes::<F32x4>(rows, cols, &a, cols + 2, 2.0, &x, g, &mut y, true);
            for r in 0..rows {
                for b in 0..imgs {
                    let mut s = 0.0f32;
                    for k in 0..cols {
                        s += a[r * (cols + 2) + k] * xv[b * cols + k];
                    }
                    let got = y[r * g + b / 4].lane(b % 4);
                    assert!((got - (1.0 + 2.0 * s)).abs() < 1e-3, "gemm {} {} {} {}", r, b, got, s);
                }
            }
            let lv: Vec<f32> = (0..imgs * rows).map(|i| ((i * 29 % 5) as f32 - 2.0) * 0.5).collect();
            let (lam, _) = lanes_of(&lv, rows, imgs);
            let mut out = vec![0.5f32; rows * (cols + 1)];
            outer_lanes::<F32x4>(rows, cols, &lam, &x, g, 3.0, &mut out, cols + 1, true);
            for r in 0..rows {
                for k in 0..cols {
                    let mut s = 0.0f32;
                    for b in 0..imgs {
                        s += lv[b * rows + r] * xv[b * cols + k];
                    }
                    assert!((out[r * (cols + 1) + k] - (0.5 + 3.0 * s)).abs() < 1e-3);
                }
                assert_eq!(out[r * (cols + 1) + cols], 0.5);
            }
        }
    }

    /// The order of every sum is fixed (each lane over j in order, then the
    /// lanes in order): the result is bit-identical to that loop written out,
    /// whatever the blocking, in both modes and both lane types.
    fn outer_order<S: Lanes>()
    where
        S::Elem: Scalar + PartialEq + core::fmt::Debug,
    {
        for &(rows, cols, g) in &[(5usize, 11usize, 3usize), (2, 4, 1), (600, 9, 13), (3, 8, 25)] {
            let val = |i: usize, m: usize| S::Elem::cst(((i * m % 23) as f64 - 11.0) * 0.37 + 1e-3 * i as f64);
            let lam: Vec<S> = (0..rows * g).map(|i| S::from_fn(|l| val(i * 4 + l, 7))).collect();
            let x: Vec<S> = (0..cols * g).map(|i| S::from_fn(|l| val(i * 4 + l, 5))).collect();
            let scale = S::Elem::cst(0.3);
            for accumulate in [false, true] {
                let ldo = cols + 2;
                let mut out: Vec<S::Elem> = (0..rows * ldo).map(|i| val(i, 3)).collect();
                let before = out.clone();
                outer_lanes::<S>(rows, cols, &lam, &x, g, scale, &mut out, ldo, accumulate);
                for r in 0..rows {
                    for k in 0..ldo {
                        let want = if k >= cols {
                            before[r * ldo + k]
                        } else {
                            let mut c = vec![S::Elem::zero(); S::N];
                            for j in 0..g {
                                for (l, cl) in c.iter_mut().enumerate() {
                                    *cl = *cl + lam[r * g + j].lane(l) * x[k * g + j].lane(l);
                                }
                            }
                            let mut h = c[0];
                            for &cl in &c[1..] {
                                h = h + cl;
                            }
                            let base = if accumulate { before[r * ldo + k] } else { S::Elem::zero() };
                            base + scale * h
                        };
                        assert_eq!(out[r * ldo + k], want, "{} {} {} {}", rows, cols, r, k);
                    }
                }
            }
        }
    }

    #[test]
    fn outer_sums_in_a_fixed_order() {
        outer_order::<F32x4>();
        outer_order::<crate::simd::F64x2>();
        outer_order::<f64>();
    }
}
