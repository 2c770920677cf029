import type { Rng } from '../random';
import { DatasetError } from './errors';
import { streamFor } from './streams';
import type { RowSource } from './subset';

/**
 * The synthetic 1-D regression task of the Firefly paper (Wu et al., "Firefly Neural Architecture
 * Descent", Appendix B.1 "Toy RBF Network", eq. 6):
 *
 *   f(x) = sum_{i=1..m} w_i * sigma(theta_i1 * x + theta_i2),  sigma(t) = exp(-t^2 / 2),  x in R,
 *
 * with m = 15 neurons whose w_i and theta_i = [theta_i1, theta_i2] are drawn i.i.d. from N(0, 3), and
 * 1000 points x ~ Uniform([-5, 5]) with y = f(x) (no noise, no output bias).
 *
 * What the paper fixes: the form of f and sigma above, m = 15, N(0, 3), 1000 training points, U[-5, 5],
 * noise-free targets, a fresh ground truth per repetition (here: per seed).
 * What we chose:
 *  - N(0, 3) is read as mean 0, VARIANCE 3 (std sqrt(3)), the usual N(mu, sigma^2) notation; the
 *    paper does not say which.
 *  - Draw order: for i = 1..15: w_i, theta_i1, theta_i2, from the seed's `rbfTruth` stream.
 *  - The paper reports training loss only and defines no test set: we draw a separate test set of
 *    200 points from the same ground truth and the same U[-5, 5] (own stream). Defaults: 1000 train /
 *    200 test; trainSize / testSize set these counts (a larger trainSize extends the same sequence).
 *  - x is stored as float32 and y = f(x) is computed in float64 from the stored x, then stored as float32.
 */
export const RBF_NEURONS = 15;
export const RBF_PARAM_STD = Math.sqrt(3);
export const RBF_X_RANGE: [number, number] = [-5, 5];
export const RBF_DEFAULT_TRAIN = 1000;
export const RBF_DEFAULT_TEST = 200;

export interface RbfTruth {
  w: number[];
  /** theta[i] = [theta_i1 (input weight), theta_i2 (bias)]. */
  theta: [number, number][];
}

export function drawRbfTruth(rng: Rng, m = RBF_NEURONS): RbfTruth {
  const w: number[] = [];
  const theta: [number, number][] = [];
  for (let i = 0; i < m; i++) {
    w.push(rng.normal(0, RBF_PARAM_STD));
    theta.push([rng.normal(0, RBF_PARAM_STD), rng.normal(0, RBF_PARAM_STD)]);
  }
  return { w, theta };
}

/** The ground truth of a seed (what loadDataset uses for rbf-toy). */
export function rbfGroundTruth(seed: number): RbfTruth {
  return drawRbfTruth(streamFor(seed, 'rbfTruth'));
}

export function rbfEval(truth: RbfTruth, x: number): number {
  let s = 0;
  for (let i = 0; i < truth.w.length; i++) {
    const t = truth.theta[i][0] * x + truth.theta[i][1];
    s += truth.w[i] * Math.exp(-(t * t) / 2);
  }
  return s;
}

function samples(truth: RbfTruth, n: number, rng: Rng): RowSource {
  const x = new Float32Array(n);
  const y = new Float32Array(n);
  for (let k = 0; k < n; k++) {
    x[k] = rng.uniform(RBF_X_RANGE[0], RBF_X_RANGE[1]);
    y[k] = rbfEval(truth, x[k]);
  }
  return { x, y, featureSize: 1, targetSize: 1 };
}

const MAX_POINTS = 10_000_000;

export function rbfToySources(
  seed: number,
  trainSize = RBF_DEFAULT_TRAIN,
  testSize = RBF_DEFAULT_TEST,
): { train: RowSource; test: RowSource } {
  for (const [field, v] of [
    ['trainSize', trainSize],
    ['testSize', testSize],
  ] as const) {
    if (v > MAX_POINTS) throw new DatasetError(`rbf-toy: ${field} is ${v}, more than the ${MAX_POINTS} points this generator makes`);
  }
  const truth = rbfGroundTruth(seed);
  return {
    train: samples(truth, trainSize, streamFor(seed, 'rbfTrainX')),
    test: samples(truth, testSize, streamFor(seed, 'rbfTestX')),
  };
}
