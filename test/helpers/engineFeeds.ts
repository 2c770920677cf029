// Random feeds for engine graphs and the comparison of two runs' outputs, for tests that check one
// emitted form of an op against another.
import assert from 'node:assert/strict';
import { HostTensor, hostTensor, toNumbers } from '../../server/engine';
import { Rng } from '../../server/random';

/** float32 tensors of standard normal draws from `seed`, one call per shape, in call order. */
export function normalFeeds(seed: number): (shape: number[]) => HostTensor {
  const rng = new Rng(seed);
  return (shape) =>
    hostTensor(
      'float32',
      shape,
      Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()),
    );
}

/** The largest |a − b| over the entries, and the largest |b| (the reference's scale). */
export function largestDifference(a: HostTensor, b: HostTensor): { err: number; scale: number } {
  const [u, v]: number[][] = [toNumbers(a), toNumbers(b)];
  if (u.length !== v.length) throw new Error(`${u.length} entries against ${v.length}`);
  const scale = v.reduce((m, e) => Math.max(m, Math.abs(e)), 0);
  const err = u.reduce((m, e, i) => Math.max(m, Math.abs(e - v[i])), 0);
  return { err, scale };
}

/** Asserts that every output in `names` agrees within `relative` of its largest |value| in `b`. */
export function assertSameOutputs(
  a: Record<string, HostTensor>,
  b: Record<string, HostTensor>,
  names: string[],
  relative: number,
  what = '',
): void {
  for (const name of names) {
    assert.equal(toNumbers(a[name]).length, toNumbers(b[name]).length, `${what}${name}`);
    const { err, scale } = largestDifference(a[name], b[name]);
    assert.ok(scale > 0 && err <= relative * scale, `${what}${name}: max |difference| ${err} against max |value| ${scale}`);
  }
}
