/** Reading and checking the Gauss-Newton methods' own options (GrowOptions carries them untyped). */
import type { GnForm } from './gaussNewtonProbe';
import { GrowOptions, GrowthError } from './types';

/** 'batch' (the paper's, default) or 'example'. */
export function gnForm(o: GrowOptions): GnForm {
  const f = o.gnForm ?? 'batch';
  if (f !== 'batch' && f !== 'example') throw new GrowthError(`option gnForm must be "batch" or "example", got ${JSON.stringify(f)}`);
  return f;
}

/** A numeric option, or `fallback` when absent. */
export function num(o: GrowOptions, key: string, fallback: number, check: (v: number) => boolean, what: string): number {
  const v = o[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || !check(v))
    throw new GrowthError(`option ${key} must be ${what}, got ${JSON.stringify(v)}`);
  return v;
}
