/**
 * Bounded Levenberg-Marquardt for least squares: minimize S(x) = sum r_i(x)^2
 * within box bounds, given at each point S, J^T r and J^T J (r = model -
 * data, J = dr/dx). Generic: it knows nothing of the model.
 *
 * - Damping is Marquardt's scale-invariant one, (J^T J + lambda diag(J^T J))
 *   dx = -J^T r, so parameters in Oe, A and 1 work together without
 *   rescaling; lambda follows Nielsen's rule (gain ratio rho).
 * - Bounds: a variable on a bound whose descent direction points out of the
 *   box is held there (active set); the others step, and the step is clipped
 *   to the box.
 * - A step is accepted only if S decreases, so the current point is always
 *   the best evaluated one and that is what is returned.
 * - Stopping (MINPACK's meanings, in the scaled norm ||D^1/2 x||, D = diag J^T J):
 *   ftol: actual and predicted relative reductions of S both <= ftol;
 *   xtol: the last step (taken if it lowered S) is <= xtol * (||x|| + xtol);
 *   gtol: the largest cosine between r and a free column of J, |J_i^T r| /
 *   (||J_i|| ||r||), is <= gtol (or S = 0).
 * Dense Cholesky solve: fine for a few hundred unknowns.
 */

export interface LsqPoint {
  /** sum of squared residuals */
  sumSq: number;
  /** J^T r */
  jtr: Float64Array;
  /** J^T J, n*n row-major */
  jtj: Float64Array;
  /** number of residuals */
  count: number;
}

export interface LmOptions {
  /** bounds per variable; NaN or +-Infinity = unbounded */
  lower?: Float64Array;
  upper?: Float64Array;
  /** default 1e-10 */
  ftol?: number;
  /** default 1e-10 */
  xtol?: number;
  /** default 1e-10 */
  gtol?: number;
  /** outer iterations (each evaluates J); default 200 */
  maxIterations?: number;
  shouldStop?: () => boolean;
  /** starting damping lambda (relative to diag J^T J); default 1e-3 */
  lambda0?: number;
  /** called after every accepted step */
  onIteration?: (it: { iteration: number; x: Float64Array; sumSq: number; lambda: number }) => void;
}

export type LmReason = "ftol" | "xtol" | "gtol" | "max_iterations" | "stalled" | "interrupted";

export interface LmResult {
  x: Float64Array;
  sumSq: number;
  iterations: number;
  evaluations: number;
  reason: LmReason;
  /** per variable: on its lower or upper bound at the end */
  atBound: boolean[];
  /** J^T J at x, n*n row-major */
  jtj: Float64Array;
  /** J^T r at x */
  jtr: Float64Array;
  /** residual count at x */
  count: number;
  /** damping at the end */
  lambda: number;
  /** the last step tried (taken or not): how finely x is resolved; zeros if none was tried */
  lastStep: Float64Array;
  message: string;
}

/** true if the reason means converged (a tolerance was met) */
export const lmConverged = (r: LmReason): boolean => r === "ftol" || r === "xtol" || r === "gtol";

/** Cholesky factor L (m*m, lower) of (A + lambda diag) restricted to `idx`; null if not positive definite. */
function cholesky(a: Float64Array, n: number, idx: number[], diag: Float64Array | null, lambda: number): Float64Array | null {
  const m = idx.length;
  const l = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[idx[i] * n + idx[j]] + (i === j && diag ? lambda * diag[idx[i]] : 0);
      for (let k = 0; k < j; k++) s -= l[i * m + k] * l[j * m + k];
      if (i === j) {
        if (!(s > 0)) return null;
        l[i * m + i] = Math.sqrt(s);
      } else l[i * m + j] = s / l[j * m + j];
    }
  }
  return l;
}

/** Solve L L^T y = b (b of length m). */
function cholSolve(l: Float64Array, m: number, b: Float64Array): Float64Array {
  const y = Float64Array.from(b);
  for (let i = 0; i < m; i++) {
    let s = y[i];
    for (let k = 0; k < i; k++) s -= l[i * m + k] * y[k];
    y[i] = s / l[i * m + i];
  }
  for (let i = m - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < m; k++) s -= l[k * m + i] * y[k];
    y[i] = s / l[i * m + i];
  }
  return y;
}

/** Solve (A + lambda diag) y = b on the variables `idx`; null if Cholesky fails. */
function dampedSolve(a: Float64Array, n: number, idx: number[], diag: Float64Array, lambda: number, b: Float64Array): Float64Array | null {
  const l = cholesky(a, n, idx, diag, lambda);
  return l
    ? cholSolve(
        l,
        idx.length,
        Float64Array.from(idx, (i) => b[i]),
      )
    : null;
}

const finitePoint = (p: LsqPoint) => Number.isFinite(p.sumSq) && p.jtr.every(Number.isFinite) && p.jtj.every(Number.isFinite);

export async function levenbergMarquardt(evaluate: (x: Float64Array) => Promise<LsqPoint>, x0: Float64Array, opts: LmOptions = {}): Promise<LmResult> {
  const n = x0.length;
  const lo = Float64Array.from({ length: n }, (_, i) => (opts.lower && Number.isFinite(opts.lower[i]) ? opts.lower[i] : -Infinity));
  const hi = Float64Array.from({ length: n }, (_, i) => (opts.upper && Number.isFinite(opts.upper[i]) ? opts.upper[i] : Infinity));
  for (let i = 0; i < n; i++)
    if (!(lo[i] <= hi[i])) throw new RangeError(`levenbergMarquardt: lower bound ${lo[i]} above upper bound ${hi[i]} for variable ${i}`);
  const ftol = opts.ftol ?? 1e-10;
  const xtol = opts.xtol ?? 1e-10;
  const gtol = opts.gtol ?? 1e-10;
  const maxIt = opts.maxIterations ?? 200;
  const clip = (v: number, i: number) => Math.min(hi[i], Math.max(lo[i], v));

  let x = Float64Array.from(x0, clip);
  let p = await evaluate(x);
  let evaluations = 1;
  if (!finitePoint(p)) throw new RangeError("levenbergMarquardt: the start point gives a non-finite sum of squares or derivatives");
  let lambda = opts.lambda0 ?? 1e-3;
  let nu = 2;
  let iterations = 0;
  let reason: LmReason | undefined;
  let message = "";
  const diag = new Float64Array(n);
  let lastStep = new Float64Array(n);

  while (!reason) {
    if (opts.shouldStop?.()) {
      reason = "interrupted";
      message = "interrupted: the best point so far is returned";
      break;
    }
    if (iterations >= maxIt) {
      reason = "max_iterations";
      message = `not converged: stopped after ${maxIt} iterations (max_iterations)`;
      break;
    }
    iterations += 1;
    const g = p.jtr;
    const a = p.jtj;
    // scale: diag(J^T J), floored so that a variable without effect still gets a finite, damped step
    let dmax = 0;
    for (let i = 0; i < n; i++) dmax = Math.max(dmax, a[i * n + i]);
    for (let i = 0; i < n; i++) diag[i] = Math.max(a[i * n + i], 1e-12 * dmax, 1e-300);
    // active set: on a bound with the descent direction -g pointing outwards
    const free: number[] = [];
    for (let i = 0; i < n; i++) {
      const outLo = x[i] <= lo[i] && g[i] > 0;
      const outHi = x[i] >= hi[i] && g[i] < 0;
      if (!outLo && !outHi) free.push(i);
    }
    // gtol: cosine between r and the free columns of J
    let gnorm = 0;
    const rnorm = Math.sqrt(p.sumSq);
    for (const i of free) if (a[i * n + i] > 0) gnorm = Math.max(gnorm, Math.abs(g[i]) / (Math.sqrt(a[i * n + i]) * rnorm));
    if (p.sumSq === 0 || free.length === 0 || gnorm <= gtol) {
      reason = "gtol";
      message =
        p.sumSq === 0
          ? "converged: zero residuals (gtol)"
          : free.length === 0
            ? "converged: every variable held on a bound by the gradient (gtol)"
            : `converged: largest cosine between residuals and a Jacobian column ${gnorm.toExponential(2)} <= gtol = ${gtol} (gtol)`;
      break;
    }
    let xnorm = 0;
    for (let i = 0; i < n; i++) xnorm += diag[i] * x[i] * x[i];
    xnorm = Math.sqrt(xnorm);
    let rejected = 0;
    for (;;) {
      if (opts.shouldStop?.()) break;
      const dy = dampedSolve(
        a,
        n,
        free,
        diag,
        lambda,
        Float64Array.from(g, (v) => -v),
      );
      if (!dy) {
        lambda *= nu;
        nu *= 2;
        if (!(lambda < 1e30)) {
          reason = "stalled";
          message = "stalled: the damped normal equations could not be solved";
          break;
        }
        continue;
      }
      const xn = Float64Array.from(x);
      free.forEach((i, k) => (xn[i] = clip(x[i] + dy[k], i)));
      const dx = Float64Array.from(xn, (v, i) => v - x[i]);
      lastStep = dx;
      let dnorm = 0;
      let gdx = 0;
      let dad = 0;
      for (let i = 0; i < n; i++) {
        dnorm += diag[i] * dx[i] * dx[i];
        gdx += g[i] * dx[i];
        let s = 0;
        for (let j = 0; j < n; j++) s += a[i * n + j] * dx[j];
        dad += dx[i] * s;
      }
      dnorm = Math.sqrt(dnorm);
      // S(x + dx) ~ S + 2 g.dx + dx.A.dx
      const pred = -(2 * gdx + dad);
      const small = dnorm <= xtol * (xnorm + xtol);
      const xtolMessage = `converged: scaled step ${dnorm.toExponential(2)} <= xtol * (|x| + xtol), xtol = ${xtol} (xtol)`;
      const pn = await evaluate(xn);
      evaluations += 1;
      const sn = pn.sumSq;
      if (finitePoint(pn) && sn < p.sumSq) {
        const actual = p.sumSq - sn;
        const rho = pred > 0 ? actual / pred : 0;
        const relActual = actual / p.sumSq;
        const relPred = pred / p.sumSq;
        x = xn;
        p = pn;
        lambda *= Math.max(1 / 3, 1 - Math.pow(2 * rho - 1, 3));
        lambda = Math.max(lambda, 1e-15);
        nu = 2;
        opts.onIteration?.({ iteration: iterations, x: Float64Array.from(x), sumSq: p.sumSq, lambda });
        if (relActual <= ftol && Math.abs(relPred) <= ftol) {
          reason = "ftol";
          message = `converged: relative reduction of the sum of squares ${relActual.toExponential(2)} (predicted ${relPred.toExponential(2)}) <= ftol = ${ftol} (ftol)`;
        } else if (small) {
          reason = "xtol";
          message = xtolMessage;
        }
        break;
      }
      if (small) {
        // even a step this small does not lower S: x is converged at the resolution xtol asks for
        reason = "xtol";
        message = xtolMessage;
        break;
      }
      rejected += 1;
      lambda *= nu;
      nu *= 2;
      if (!(lambda < 1e30) || rejected > 60) {
        reason = "stalled";
        message = `stalled: no step lowered the sum of squares (${rejected} tries, damping ${lambda.toExponential(1)})`;
        break;
      }
    }
  }
  const atBound = Array.from(x, (v, i) => v <= lo[i] || v >= hi[i]);
  const nb = atBound.filter(Boolean).length;
  if (nb > 0) message += `; ${nb} variable${nb > 1 ? "s" : ""} at a bound`;
  return {
    x,
    sumSq: p.sumSq,
    iterations,
    evaluations,
    reason: reason!,
    atBound,
    jtj: Float64Array.from(p.jtj),
    jtr: Float64Array.from(p.jtr),
    count: p.count,
    lambda,
    lastStep,
    message,
  };
}

/**
 * Inverse of a symmetric positive definite n*n row-major matrix (the
 * covariance from J^T J), by Cholesky after Jacobi scaling (so that columns in
 * different units do not spoil the pivots); null if singular.
 */
export function invertSpd(a: Float64Array, n: number): Float64Array | null {
  const s = Float64Array.from({ length: n }, (_, i) => (a[i * n + i] > 0 ? 1 / Math.sqrt(a[i * n + i]) : NaN));
  if (!s.every(Number.isFinite)) return null;
  const scaled = Float64Array.from(a, (v, k) => v * s[Math.floor(k / n)] * s[k % n]);
  const l = cholesky(
    scaled,
    n,
    Array.from({ length: n }, (_, i) => i),
    null,
    0,
  );
  if (!l) return null;
  // reject numerically singular matrices: smallest pivot^2 tiny relative to the (unit) diagonal
  for (let i = 0; i < n; i++) if (!(l[i * n + i] * l[i * n + i] > 1e-14)) return null;
  const inv = new Float64Array(n * n);
  for (let c = 0; c < n; c++) {
    const e = new Float64Array(n);
    e[c] = 1;
    const col = cholSolve(l, n, e);
    for (let r = 0; r < n; r++) inv[r * n + c] = col[r] * s[r] * s[c];
  }
  return inv;
}
