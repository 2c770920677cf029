/** Seeded initial values of parameters. */
import { Rng } from '../random';
import type { ModelSpec } from './spec';
import { flatSize } from './spec';

export type Fill = 'zero' | 'one' | 'kernel';

/** Fan-in and fan-out of a weight tensor: dense [in, out], conv [O, C, k, k]. */
export function fans(shape: number[]): [number, number] {
  if (shape.length === 2) return [shape[0], shape[1]];
  const rf = flatSize(shape.slice(2));
  return [shape[1] * rf, shape[0] * rf];
}

/** How a parameter starts: kernels random, biases and betas zero, gammas and variances one. */
export function fillFor(name: string): Fill {
  const leaf = name.slice(name.lastIndexOf('/') + 1);
  if (leaf.startsWith('gamma') || leaf.startsWith('var')) return 'one';
  if (leaf.startsWith('W')) return 'kernel';
  return 'zero';
}

/**
 * One random kernel value: He normal N(0, 2/fan_in) or Glorot uniform ±√(6/(fan_in+fan_out)); `gain`
 * multiplies the spread (e.g. < 1 for small output heads).
 */
export function kernelSampler(init: ModelSpec['init'], shape: number[], rng: Rng, gain = 1): () => number {
  const [fanIn, fanOut] = fans(shape);
  if (init === 'glorot') {
    const limit = gain * Math.sqrt(6 / (fanIn + fanOut));
    return () => rng.uniform(-limit, limit);
  }
  const std = gain * Math.sqrt(2 / fanIn);
  return () => rng.normal(0, std);
}

/** How a fresh dense layer starts: a kernel init with zero bias, or torch.nn.Linear's `torch-uniform`. */
export type DenseInit = ModelSpec['init'] | 'torch-uniform';

/**
 * A fresh dense layer's kernel [fanIn, fanOut] (row-major) and bias [fanOut], drawn from `rng` kernel
 * first: `he` / `glorot` kernels (spread × `gain`) with zero bias, or `torch-uniform`, torch.nn.Linear's
 * default, kernel and bias U(−1/√fanIn, 1/√fanIn) (`gain` unused).
 */
export function initDense(
  init: DenseInit,
  fanIn: number,
  fanOut: number,
  rng: Rng,
  gain = 1,
): { kernel: Float32Array; bias: Float32Array } {
  if (init === 'torch-uniform') {
    const a = 1 / Math.sqrt(fanIn);
    const draw = (n: number) => Float32Array.from({ length: n }, () => rng.uniform(-a, a));
    const kernel = draw(fanIn * fanOut);
    return { kernel, bias: draw(fanOut) };
  }
  const kernel = new Float32Array(fanIn * fanOut);
  const sample = kernelSampler(init, [fanIn, fanOut], rng, gain);
  for (let i = 0; i < kernel.length; i++) kernel[i] = sample();
  return { kernel, bias: new Float32Array(fanOut) };
}

export function initTensor(name: string, shape: number[], init: ModelSpec['init'], rng: Rng, fill: Fill = fillFor(name)): Float32Array {
  const t = new Float32Array(flatSize(shape));
  if (fill === 'one') t.fill(1);
  else if (fill === 'kernel') {
    const sample = kernelSampler(init, shape, rng);
    for (let i = 0; i < t.length; i++) t[i] = sample();
  }
  return t;
}
