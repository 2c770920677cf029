/**
 * One grow (or prune) step: run a method on the live model, then measure what changed on a fixed
 * evaluation batch (loss before and after, largest output change) and describe it as a GrowEvent.
 */
import type { GrowEventParams } from '../../common/protocol';
import { leadingRows } from '../datasets/rows';
import { hostTensor } from '../engine';
import { GrowContext, GrowOptions, GrowthError, GrowthMethod } from './types';

/** Examples of the test split used to measure every grow step of a run (the same ones each time). */
export const FIXED_EVAL_EXAMPLES = 512;

export interface StepInfo {
  runId: string;
  step: number;
  epoch: number;
}

export async function runGrowStep(ctx: GrowContext, method: GrowthMethod, options: GrowOptions, info: StepInfo): Promise<GrowEventParams> {
  const reason = method.unsupported?.(ctx.model);
  if (reason) throw new GrowthError(`${method.name} cannot grow this model: ${reason}`);
  const t0 = performance.now();
  const { trainer, data, model } = ctx;
  const n = Math.min(FIXED_EVAL_EXAMPLES, data.test.n);
  const f = data.inputShape.reduce((a, b) => a * b, 1);
  const x = hostTensor('float32', [n, ...data.inputShape], leadingRows(data.test, f, n));
  const before = model.architecture();
  const lossBefore = (await trainer.evaluate(data.test, n)).loss;
  const outBefore = Float32Array.from(await trainer.predict(x));
  const plan = await method.apply(ctx, options);
  const lossAfter = (await trainer.evaluate(data.test, n)).loss;
  const outAfter = await trainer.predict(x);
  let maxOutputChange = 0;
  for (let i = 0; i < outAfter.length; i++) maxOutputChange = Math.max(maxOutputChange, Math.abs(outAfter[i] - outBefore[i]));
  return {
    runId: info.runId,
    step: info.step,
    epoch: info.epoch,
    kind: method.kind,
    method: method.name,
    before,
    after: model.architecture(),
    diff: plan.diff,
    selected: plan.selected,
    rejected: plan.rejected
      .slice()
      .sort((a, b) => Math.abs(b.score) - Math.abs(a.score))
      .slice(0, 20),
    lossBefore,
    lossAfter,
    maxOutputChange,
    durationMs: Math.round(performance.now() - t0),
  };
}
