/**
 * A symmetric eigen-solver on host arrays (float64), for the splitting matrices of splitting steepest
 * descent (Liu et al. 2019): cyclic Jacobi for small matrices (the full decomposition), and Lanczos
 * with full re-orthogonalisation for the smallest eigenpair of a large one (its tridiagonal matrix
 * solved by implicit QL). Matrices are dense, row-major, n x n; only symmetric input is meaningful.
 */
import { Rng } from '../random';

export interface EigenDecomposition {
  /** Eigenvalues in ascending order. */
  values: Float64Array;
  /** Eigenvector k (unit norm) at [k·n, (k+1)·n), in the order of `values`. */
  vectors: Float64Array;
  /** Jacobi sweeps (or QL iterations) used. */
  sweeps: number;
}

export interface EigenPair {
  value: number;
  /** Unit-norm eigenvector. */
  vector: Float64Array;
  method: 'jacobi' | 'lanczos';
  /** Lanczos steps (Jacobi: sweeps). */
  iterations: number;
  /** ‖A v − λ v‖ (Lanczos: the Ritz residual estimate β·|s_last|). */
  residual: number;
}

/** Up to this size the smallest eigenpair comes from the full Jacobi decomposition. */
export const JACOBI_MAX_N = 48;

function checkSquare(a: ArrayLike<number>, n: number): void {
  if (!Number.isInteger(n) || n < 1 || a.length !== n * n)
    throw new Error(`eigen: need an ${n}x${n} matrix (${n * n} values), got ${a.length}`);
}

/** Sort eigenpairs ascending; `vecs` holds eigenvector k in column k of a row-major n x n matrix. */
function sortedPairs(d: Float64Array, vecs: Float64Array, n: number, sweeps: number): EigenDecomposition {
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => d[x] - d[y] || x - y);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((k, r) => {
    values[r] = d[k];
    for (let i = 0; i < n; i++) vectors[r * n + i] = vecs[i * n + k];
  });
  return { values, vectors, sweeps };
}

/**
 * Cyclic Jacobi: sweeps of plane rotations over every off-diagonal pair (p, q) until the
 * off-diagonal mass is below 1e-15 of the matrix's Frobenius norm. O(n³) per sweep, quadratic
 * convergence (typically 6-10 sweeps).
 */
export function jacobiEigen(matrix: ArrayLike<number>, n: number, maxSweeps = 100): EigenDecomposition {
  checkSquare(matrix, n);
  const a = Float64Array.from(matrix);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let frob = 0;
  for (let i = 0; i < n * n; i++) frob += a[i] * a[i];
  frob = Math.sqrt(frob);
  let sweeps = 0;
  for (; sweeps < maxSweeps; sweeps++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] * a[p * n + q];
    if (Math.sqrt(2 * off) <= 1e-15 * frob || off === 0) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const app = a[p * n + p],
          aqq = a[q * n + q];
        // After the first sweeps, skip entries too small to change either diagonal entry.
        if (sweeps > 3 && Math.abs(apq) * 1e18 < Math.abs(app) && Math.abs(apq) * 1e18 < Math.abs(aqq)) {
          a[p * n + q] = a[q * n + p] = 0;
          continue;
        }
        // Rotation angle φ with t = tan φ zeroing a_pq: θ = (a_qq − a_pp) / (2 a_pq), t = sgn θ / (|θ| + √(θ² + 1)).
        const theta = (aqq - app) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          if (k === p || k === q) continue;
          const akp = a[k * n + p],
            akq = a[k * n + q];
          const np = c * akp - s * akq,
            nq = s * akp + c * akq;
          a[k * n + p] = a[p * n + k] = np;
          a[k * n + q] = a[q * n + k] = nq;
        }
        a[p * n + p] = app - t * apq;
        a[q * n + q] = aqq + t * apq;
        a[p * n + q] = a[q * n + p] = 0;
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p],
            vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) d[i] = a[i * n + i];
  return sortedPairs(d, v, n, sweeps);
}

/**
 * Eigen-decomposition of a symmetric tridiagonal matrix (diagonal `diag`, sub-diagonal `sub` of
 * length n − 1) by the implicit QL method with Wilkinson-type shifts (tql2, EISPACK).
 */
export function tridiagonalEigen(diag: ArrayLike<number>, sub: ArrayLike<number>): EigenDecomposition {
  const n = diag.length;
  if (sub.length !== Math.max(0, n - 1))
    throw new Error(`tridiagonalEigen: ${n} diagonal entries need ${n - 1} sub-diagonal ones, got ${sub.length}`);
  const d = Float64Array.from(diag);
  const e = new Float64Array(n);
  for (let i = 0; i < n - 1; i++) e[i] = sub[i];
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  const eps = 2 ** -52;
  let f = 0,
    tst1 = 0,
    iterations = 0;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n - 1 && Math.abs(e[m]) > eps * tst1) m++;
    if (m > l) {
      do {
        if (++iterations > 60 * n) throw new Error('tridiagonalEigen: no convergence');
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m];
        let c = 1,
          c2 = 1,
          c3 = 1,
          s = 0,
          s2 = 0;
        const el1 = e[l + 1];
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = Math.hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          for (let k = 0; k < n; k++) {
            const vk1 = v[k * n + i + 1],
              vk = v[k * n + i];
            v[k * n + i + 1] = s * vk + c * vk1;
            v[k * n + i] = c * vk - s * vk1;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > eps * tst1);
    }
    d[l] += f;
    e[l] = 0;
  }
  return sortedPairs(d, v, n, iterations);
}

/** y = A x for the symmetric matrix whose upper triangle (row-major n x n, any float array) is `a`. */
function symMatVec(a: ArrayLike<number>, n: number, x: Float64Array, y: Float64Array): void {
  y.fill(0);
  for (let i = 0; i < n; i++) {
    const row = i * n,
      xi = x[i];
    let s = a[row + i] * xi;
    for (let j = i + 1; j < n; j++) {
      const aij = a[row + j];
      s += aij * x[j];
      y[j] += aij * xi;
    }
    y[i] += s;
  }
}

const dot = (x: Float64Array, xo: number, y: Float64Array, yo: number, n: number) => {
  let s = 0;
  for (let i = 0; i < n; i++) s += x[xo + i] * y[yo + i];
  return s;
};

export interface LanczosOptions {
  /** Most Lanczos steps (default min(n, 300)). */
  maxIterations?: number;
  /** Stop when the Ritz residual is below tol · max |Ritz value| (default 1e-8: float32 input carries ~1e-7). */
  tol?: number;
  /** Seed of the start vector (default fixed: results are reproducible). */
  seed?: number;
}

/**
 * Smallest eigenpair of a symmetric matrix (read from its upper triangle, in place: a Float32Array
 * is not copied) by Lanczos with full re-orthogonalisation (each new Krylov vector is orthogonalised
 * twice against all previous ones, so no ghost eigenvalues appear). The tridiagonal matrix is solved
 * by implicit QL at a growing schedule of steps; the run stops when the smallest Ritz pair's residual
 * β_k |s_k| is below tol · max |Ritz value|, or the Krylov space is invariant.
 */
export function lanczosSmallest(a: ArrayLike<number>, n: number, opts: LanczosOptions = {}): EigenPair {
  checkSquare(a, n);
  const maxIt = Math.max(1, Math.min(n, opts.maxIterations ?? 300));
  const tol = opts.tol ?? 1e-8;
  const q = new Float64Array(maxIt * n);
  const rng = new Rng(opts.seed ?? 0x5eed);
  let norm = 0;
  for (let i = 0; i < n; i++) {
    q[i] = rng.normal();
    norm += q[i] * q[i];
  }
  norm = Math.sqrt(norm);
  for (let i = 0; i < n; i++) q[i] /= norm;
  const alpha: number[] = [],
    beta: number[] = [];
  const w = new Float64Array(n);
  let nextCheck = Math.min(8, maxIt);
  let best: { value: number; s: Float64Array; k: number; residual: number } | undefined;
  for (let j = 0; j < maxIt; j++) {
    const qj = j * n;
    symMatVec(a, n, q.subarray(qj, qj + n), w);
    const aj = dot(q, qj, w, 0, n);
    alpha.push(aj);
    for (let i = 0; i < n; i++) w[i] -= aj * q[qj + i] + (j > 0 ? beta[j - 1] * q[qj - n + i] : 0);
    for (let pass = 0; pass < 2; pass++) {
      for (let k = 0; k <= j; k++) {
        const c = dot(q, k * n, w, 0, n);
        if (c !== 0) for (let i = 0; i < n; i++) w[i] -= c * q[k * n + i];
      }
    }
    const bj = Math.sqrt(dot(w, 0, w, 0, n));
    const k = j + 1;
    let scale = 0;
    for (const x of alpha) scale = Math.max(scale, Math.abs(x));
    for (const x of beta) scale = Math.max(scale, Math.abs(x));
    const invariant = bj <= 1e-13 * Math.max(scale, bj, Number.MIN_VALUE) || bj === 0;
    if (k >= nextCheck || invariant || k === maxIt) {
      const t = tridiagonalEigen(alpha, beta);
      const s = t.vectors.subarray(0, k);
      const value = t.values[0];
      const residual = invariant ? 0 : bj * Math.abs(s[k - 1]);
      best = { value, s: Float64Array.from(s), k, residual };
      const big = Math.max(Math.abs(t.values[0]), Math.abs(t.values[k - 1]));
      if (invariant || residual <= tol * Math.max(big, Number.MIN_VALUE)) break;
      nextCheck = Math.min(maxIt, Math.max(k + 4, Math.ceil(k * 1.25)));
    }
    if (k === maxIt) break;
    beta.push(bj);
    for (let i = 0; i < n; i++) q[k * n + i] = w[i] / bj;
  }
  const { value, s, k, residual } = best!;
  const vector = new Float64Array(n);
  for (let r = 0; r < k; r++) for (let i = 0; i < n; i++) vector[i] += s[r] * q[r * n + i];
  const vn = Math.sqrt(dot(vector, 0, vector, 0, n));
  for (let i = 0; i < n; i++) vector[i] /= vn;
  return { value, vector, method: 'lanczos', iterations: k, residual };
}

/**
 * The smallest eigenpair of a symmetric matrix, taken from its upper triangle (float32 products are
 * symmetric only up to rounding): Jacobi up to JACOBI_MAX_N, Lanczos above.
 */
export function smallestEigenpair(
  matrix: ArrayLike<number>,
  n: number,
  opts: LanczosOptions & { method?: 'jacobi' | 'lanczos' } = {},
): EigenPair {
  checkSquare(matrix, n);
  const method = opts.method ?? (n <= JACOBI_MAX_N ? 'jacobi' : 'lanczos');
  if (method === 'lanczos') return lanczosSmallest(matrix, n, opts);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) a[i * n + j] = a[j * n + i] = matrix[i * n + j];
  const e = jacobiEigen(a, n);
  const vector = e.vectors.slice(0, n);
  const av = new Float64Array(n);
  symMatVec(a, n, vector, av);
  let r = 0;
  for (let i = 0; i < n; i++) r += (av[i] - e.values[0] * vector[i]) ** 2;
  return { value: e.values[0], vector, method: 'jacobi', iterations: e.sweeps, residual: Math.sqrt(r) };
}
