/** What every exporter reads: a model's spec and weights, where they came from, and the run's history. */
import type { GrowEventParams, RunEvent } from '../../common/protocol';
import { ModelSpec, allParamShapes, flatSize } from '../model/spec';
import { ExportError } from './files';

export interface ExportOrigin {
  /** The live model of a running or paused run, or the latest checkpoint on disk. */
  kind: 'live' | 'checkpoint';
  /** Checkpoint file name (kind 'checkpoint'). */
  file?: string;
  epoch?: number;
  step?: number;
  growSteps?: number;
}

export interface ExportSource {
  runId: string;
  /** Experiment name. */
  name: string;
  spec: ModelSpec;
  /** Weights and batch-norm statistics by name ("dense_1/W", "batchnorm_1/mean", ...), our layouts. */
  tensors: ReadonlyMap<string, Float32Array>;
  origin: ExportOrigin;
  /** The run's events (for the grow history); may be empty. */
  events: RunEvent[];
}

/** The tensor `name` with its expected size checked. */
export function tensorOf(src: Pick<ExportSource, 'tensors'>, name: string, shape: number[]): Float32Array {
  const t = src.tensors.get(name);
  if (!t) throw new ExportError(`the model has no tensor ${name}`, 'unsupported');
  if (t.length !== flatSize(shape))
    throw new ExportError(`tensor ${name} has ${t.length} values, its shape [${shape.join(', ')}] needs ${flatSize(shape)}`, 'unsupported');
  return t;
}

/** Checks that every parameter of the spec is present with the right size (before any file is written). */
export function checkSource(src: ExportSource): void {
  for (const p of allParamShapes(src.spec)) tensorOf(src, p.name, p.shape);
}

/** The grow and prune steps recorded in the run's events, oldest first. */
export function growHistory(events: RunEvent[]): (GrowEventParams & { time: string })[] {
  return events.filter((e): e is Extract<RunEvent, { type: 'grow' }> => e.type === 'grow').map(({ type: _t, ...rest }) => rest);
}
