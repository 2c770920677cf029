/** The compiled training-step and evaluation graphs of one architecture. */
import {
  CompiledGraph,
  Executor,
  Graph,
  type GraphTarget,
  OptimizerSettings,
  ParamUpdate,
  Value,
  gradients,
  meanSquaredError,
  optimizerStep,
  softmaxCrossEntropy,
} from '../engine';
import { GrowableModel } from '../model/growable';
import { buildForward } from '../model/forward';

export const newName = (name: string) => `new:${name}`;
export const slotName = (slot: string, name: string) => `slot:${slot}:${name}`;

/** The loss: cross-entropy (with label smoothing ε, training only) for classification, MSE for regression. */
function lossOf(model: GrowableModel, pred: Value, y: Value, labelSmoothing = 0): Value {
  return model.spec.task === 'classification' ? softmaxCrossEntropy(pred, y, labelSmoothing) : meanSquaredError(pred, y);
}

function declareInputs(g: Graph, model: GrowableModel, withSlots: boolean) {
  const x = g.input('x', 'float32', ['N', ...model.spec.inputShape]);
  const y = g.input('y', 'float32', ['N', model.spec.output.units]);
  const w = new Map<string, Value>();
  const slots = new Map<string, Value[]>();
  for (const p of model.params()) {
    w.set(p.name, g.input(p.name, 'float32', p.shape));
    if (withSlots && p.trainable)
      slots.set(
        p.name,
        model.slotNames.map((s) => g.input(slotName(s, p.name), 'float32', p.shape)),
      );
  }
  const get = (name: string) => {
    const v = w.get(name);
    if (!v) throw new Error(`no parameter ${name}`);
    return v;
  };
  return { x, y, w, slots, get };
}

/**
 * The outputs of one optimiser step for weight `name`: `new:<name>` and each slot's `new:slot:<slot>:<name>`
 * (the slots read from inputs `slot:<slot>:<name>`; `slotNames` as optimizerSlots gives them).
 */
export function optimizerUpdate(
  opt: OptimizerSettings,
  slotNames: readonly string[],
  name: string,
  u: ParamUpdate,
  lr: Value,
  t: Value,
): Record<string, Value> {
  const r = optimizerStep(opt, u, lr, t);
  const outputs: Record<string, Value> = { [newName(name)]: r.param };
  r.slots.forEach((s, k) => (outputs[newName(slotName(slotNames[k], name))] = s));
  return outputs;
}

/**
 * One SGD/Adam step: params, slots, state, a batch, lr and t in; loss, predictions and updated tensors out.
 * The loss is smoothed by `labelSmoothing` (training.labelSmoothing); evaluation stays plain cross-entropy.
 * `target`: the executor that will run it (its host kernels and NCHWc block, which the gradient rules may choose).
 */
export function buildTrainGraph(
  model: GrowableModel,
  opt: OptimizerSettings,
  labelSmoothing = 0,
  target: Partial<GraphTarget> = {},
): { graph: Graph; outputs: Record<string, Value> } {
  const g = new Graph(`train_v${model.version}`, target);
  const { x, y, slots, get } = declareInputs(g, model, true);
  const lr = g.input('lr', 'float32', []);
  const t = g.input('t', 'float32', []);
  const fwd = buildForward(model.spec, x, get, 'train');
  const loss = lossOf(model, fwd.output, y, labelSmoothing);
  const trainable = model.params().filter((p) => p.trainable);
  const grads = gradients(
    loss,
    trainable.map((p) => get(p.name)),
  );
  const outputs: Record<string, Value> = { loss, pred: fwd.output };
  trainable.forEach((p, i) =>
    Object.assign(
      outputs,
      optimizerUpdate(opt, model.slotNames, p.name, { param: get(p.name), grad: grads[i], slots: slots.get(p.name)! }, lr, t),
    ),
  );
  for (const [name, v] of fwd.stateUpdates) outputs[newName(name)] = v;
  return { graph: g, outputs };
}

/** Inference with batch-norm running statistics: loss and predictions. */
export function buildEvalGraph(model: GrowableModel): { graph: Graph; outputs: Record<string, Value> } {
  const g = new Graph(`eval_v${model.version}`);
  const { x, y, get } = declareInputs(g, model, false);
  const fwd = buildForward(model.spec, x, get, 'eval');
  return { graph: g, outputs: { loss: lossOf(model, fwd.output, y), pred: fwd.output } };
}

export interface CompiledModel {
  version: number;
  train: CompiledGraph;
  eval: CompiledGraph;
  buildMs: number;
}

export async function compileModel(
  model: GrowableModel,
  opt: OptimizerSettings,
  executor: Executor,
  labelSmoothing = 0,
): Promise<CompiledModel> {
  const t0 = performance.now();
  const tg = buildTrainGraph(model, opt, labelSmoothing, executor);
  const eg = buildEvalGraph(model);
  const train = await executor.compile(tg.graph, tg.outputs);
  let evalG: CompiledGraph;
  try {
    evalG = await executor.compile(eg.graph, eg.outputs);
  } catch (e) {
    await train.dispose();
    throw e;
  }
  return { version: model.version, train, eval: evalG, buildMs: performance.now() - t0 };
}
