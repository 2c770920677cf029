/**
 * A learner's state after a task, as a checkpoint stores it: raw float32 tensors by name plus JSON
 * meta. The baselines keep named tensors (`Tensors`), packed here with their shapes; unpacking checks
 * every tensor against its shape and names the one that is missing or the wrong size.
 */
import { tensor, values, type Tensors } from './tensors';
import type { OptimizerState } from './training';

export interface LearnerState<M = unknown> {
  tensors: Record<string, Float32Array>;
  meta: M;
}

/** Named tensors with their shapes, for a checkpoint (`prefix` keeps groups apart, e.g. optimiser slots). */
export function packTensors(t: Tensors, prefix = ''): { tensors: Record<string, Float32Array>; shapes: Record<string, number[]> } {
  const tensors: Record<string, Float32Array> = {};
  const shapes: Record<string, number[]> = {};
  for (const [name, v] of Object.entries(t)) {
    tensors[prefix + name] = Float32Array.from(values(v));
    shapes[prefix + name] = [...v.shape];
  }
  return { tensors, shapes };
}

/** The tensors packTensors stored under `prefix` (names without it); throws naming a bad tensor. */
export function unpackTensors(method: string, state: LearnerState, shapes: Record<string, number[]>, prefix = ''): Tensors {
  const out: Tensors = {};
  for (const [key, shape] of Object.entries(shapes)) {
    if (!key.startsWith(prefix)) continue;
    const data = state.tensors[key];
    const n = shape.reduce((a, b) => a * b, 1);
    if (!(data instanceof Float32Array)) throw new Error(`${method} checkpoint: tensor ${key} is missing`);
    if (data.length !== n)
      throw new Error(`${method} checkpoint: tensor ${key} has ${data.length} values, its shape [${shape.join(', ')}] needs ${n}`);
    out[key.slice(prefix.length)] = tensor(shape, Float32Array.from(data));
  }
  return out;
}

/** The optimiser a learner keeps through the stream, packed under `opt:` with its step counts. */
export function packOptimizer(o: OptimizerState | undefined): {
  tensors: Record<string, Float32Array>;
  shapes: Record<string, number[]>;
  steps?: Record<string, number>;
} {
  if (!o) return { tensors: {}, shapes: {} };
  return { ...packTensors(o.slots, 'opt:'), steps: { ...o.steps } };
}

export function unpackOptimizer(
  method: string,
  state: LearnerState,
  shapes: Record<string, number[]>,
  steps: Record<string, number> | undefined,
): OptimizerState | undefined {
  if (!steps) return undefined;
  return { slots: unpackTensors(method, state, shapes, 'opt:'), steps: { ...steps } };
}

/** The meta object of a learner's state, or an error naming the method when it is not one. */
export function stateMeta<M>(method: string, state: LearnerState, kind: string): M {
  const m = state.meta as { kind?: unknown } | undefined;
  if (!m || typeof m !== 'object' || m.kind !== kind) throw new Error(`${method} checkpoint: not a ${kind} state`);
  return m as M;
}
