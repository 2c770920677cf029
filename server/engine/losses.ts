/** Loss functions as graph fragments (mean over the batch). */
import { Value } from './graph';
import { add, logSoftmax, mul, neg, reduceMean, reduceSum, scalarLike, sub } from './ops';

/**
 * Softmax cross-entropy of logits [N, C] against one-hot (or soft) targets [N, C]. With label
 * smoothing ε (Szegedy et al. 2016, §7: q' = (1 − ε)·q + ε/C; PyTorch's `label_smoothing`), the
 * targets are mixed with the uniform distribution over the C classes first.
 */
export function softmaxCrossEntropy(logits: Value, targets: Value, labelSmoothing = 0): Value {
  if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) throw new Error(`label smoothing must be in [0, 1], got ${labelSmoothing}`);
  let q = targets;
  if (labelSmoothing > 0) {
    const classes = targets.shape[targets.rank - 1];
    if (typeof classes !== 'number') throw new Error('label smoothing needs a static number of classes');
    q = add(mul(targets, scalarLike(targets, 1 - labelSmoothing)), scalarLike(targets, labelSmoothing / classes));
  }
  return neg(reduceMean(reduceSum(mul(logSoftmax(logits, 1), q), [1]), [0]));
}

/** Mean squared error over every element. */
export function meanSquaredError(pred: Value, targets: Value): Value {
  const d = sub(pred, targets);
  return reduceMean(
    mul(d, d),
    pred.shape.map((_, i) => i),
  );
}
