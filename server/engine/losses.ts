/** Loss functions as graph fragments (mean over the batch). */
import { Value } from './graph';
import { logSoftmax, mul, neg, reduceMean, reduceSum, sub } from './ops';

/** Softmax cross-entropy of logits [N, C] against one-hot (or soft) targets [N, C]. */
export function softmaxCrossEntropy(logits: Value, targets: Value): Value {
  return neg(reduceMean(reduceSum(mul(logSoftmax(logits, 1), targets), [1]), [0]));
}

/** Mean squared error over every element. */
export function meanSquaredError(pred: Value, targets: Value): Value {
  const d = sub(pred, targets);
  return reduceMean(
    mul(d, d),
    pred.shape.map((_, i) => i),
  );
}
