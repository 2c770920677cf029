/**
 * "Compare runs" math (pure: unit-tested without a browser): flattening a run's config into
 * pickable fields, grouping runs by a field or by a regex on their names, and the mean ± std band
 * of a group of runs (e.g. the same configuration over several seeds).
 *
 * Band rules (stated, tested exactly):
 * - Alignment: on the UNION of the group's steps. At each step every run whose own step range covers
 *   it contributes one value: its recorded value when it has that step, otherwise the LINEAR
 *   INTERPOLATION between its two neighbouring recorded steps. Runs are never extrapolated: before a
 *   run's first or after its last step it does not count (`n` says how many runs did).
 * - Spread: the SAMPLE standard deviation (Bessel's n − 1 divisor); a step covered by one run has
 *   std 0.
 */
import type { CompareRun } from '../protocol';

export type ConfigValue = string | number | boolean;

/** `{training: {learningRate: 0.01}, model: {layers: [..]}}` → `{"training.learningRate": 0.01, "model.layers": "[..]"}`. */
export function flattenConfig(config: unknown, prefix = '', out: Record<string, ConfigValue> = {}): Record<string, ConfigValue> {
  if (config === null || config === undefined) return out;
  if (Array.isArray(config)) {
    if (prefix) out[prefix] = JSON.stringify(config);
    return out;
  }
  if (typeof config === 'object') {
    for (const [k, v] of Object.entries(config as Record<string, unknown>)) flattenConfig(v, prefix ? `${prefix}.${k}` : k, out);
    return out;
  }
  if (typeof config === 'string' || typeof config === 'number' || typeof config === 'boolean') {
    if (prefix) out[prefix] = config;
  }
  return out;
}

/** The config fields of `runs`, those whose value differs between runs first (then alphabetical). */
export function configFields(runs: readonly Pick<CompareRun, 'config'>[]): string[] {
  const values = new Map<string, Set<string>>();
  for (const r of runs)
    for (const [k, v] of Object.entries(r.config)) {
      let s = values.get(k);
      if (!s) values.set(k, (s = new Set()));
      s.add(JSON.stringify(v));
    }
  const varies = (k: string): boolean => (values.get(k)?.size ?? 0) > 1 || runs.some((r) => !(k in r.config));
  return [...values.keys()].sort((a, b) => Number(varies(b)) - Number(varies(a)) || (a < b ? -1 : a > b ? 1 : 0));
}

export type GroupBy = { kind: 'none' } | { kind: 'field'; field: string } | { kind: 'regex'; pattern: string };

export interface RunGroup {
  /** The group's key as shown: "training.learningRate = 0.01", or the regex's capture. */
  key: string;
  runIds: string[];
}

/**
 * Groups `runs` (order kept: a group sits where its first run is). By field: runs with equal values
 * (a run without the field is in "(none)"). By regex on the run name: the first capture group, or
 * the whole match when the pattern has none; a run whose name does not match is a group of its own.
 * An invalid regex throws (the caller shows the message).
 */
export function groupRuns(runs: readonly Pick<CompareRun, 'runId' | 'name' | 'config'>[], by: GroupBy): RunGroup[] {
  const groups: RunGroup[] = [];
  const index = new Map<string, RunGroup>();
  const re = by.kind === 'regex' ? new RegExp(by.pattern) : undefined;
  for (const r of runs) {
    let key: string;
    if (by.kind === 'field') {
      const v = r.config[by.field];
      key = `${by.field} = ${v === undefined ? '(none)' : String(v)}`;
    } else if (re) {
      const m = re.exec(r.name);
      key = m ? (m[1] ?? m[0]) : `${r.name} (${r.runId})`;
    } else {
      key = r.runId;
    }
    let g = index.get(key);
    if (!g) {
      g = { key, runIds: [] };
      index.set(key, g);
      groups.push(g);
    }
    g.runIds.push(r.runId);
  }
  return groups;
}

export interface XY {
  xs: ArrayLike<number>;
  ys: ArrayLike<number>;
}

export interface Band {
  xs: number[];
  mean: number[];
  /** Sample standard deviation (n − 1); 0 where one run counts. */
  std: number[];
  /** Runs that count at each step. */
  n: number[];
}

/** Mean and sample standard deviation (n − 1 divisor; 0 for a single value). */
export function meanStd(values: readonly number[]): { mean: number; std: number } {
  const n = values.length;
  if (n === 0) return { mean: NaN, std: NaN };
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / n;
  if (n === 1) return { mean, std: 0 };
  let ss = 0;
  for (const v of values) ss += (v - mean) * (v - mean);
  return { mean, std: Math.sqrt(ss / (n - 1)) };
}

/** The mean ± std band of `runs` on the union of their steps (see the rules at the top). xs must be increasing. */
export function seedBand(runs: readonly XY[]): Band {
  const steps = new Set<number>();
  for (const r of runs) for (let i = 0; i < r.xs.length; i++) if (Number.isFinite(r.ys[i])) steps.add(r.xs[i]);
  const xs = [...steps].sort((a, b) => a - b);
  const clean = runs.map((r) => {
    const px: number[] = [],
      py: number[] = [];
    for (let i = 0; i < r.xs.length; i++)
      if (Number.isFinite(r.ys[i]) && Number.isFinite(r.xs[i])) {
        px.push(r.xs[i]);
        py.push(r.ys[i]);
      }
    return { xs: px, ys: py };
  });
  const cursor = clean.map(() => 0);
  const band: Band = { xs, mean: [], std: [], n: [] };
  const vals: number[] = [];
  for (const x of xs) {
    vals.length = 0;
    clean.forEach((r, k) => {
      const n = r.xs.length;
      if (!n || x < r.xs[0] || x > r.xs[n - 1]) return;
      let i = cursor[k];
      while (i < n - 1 && r.xs[i + 1] <= x) i++;
      cursor[k] = i;
      if (r.xs[i] === x) {
        vals.push(r.ys[i]);
        return;
      }
      const x0 = r.xs[i],
        x1 = r.xs[i + 1],
        y0 = r.ys[i],
        y1 = r.ys[i + 1];
      vals.push(y0 + ((y1 - y0) * (x - x0)) / (x1 - x0));
    });
    const { mean, std } = meanStd(vals);
    band.mean.push(mean);
    band.std.push(std);
    band.n.push(vals.length);
  }
  return band;
}
