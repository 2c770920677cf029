/**
 * Pure helpers of the Grow Network / Prune Network / Resume Failed Run commands (no VS Code
 * imports, unit-tested): method quick-pick items, budget parsing, the runs each command acts on.
 *
 * The methods and their descriptions come from the backend (`growthMethodDetails` of its initialize
 * capabilities); they are not copied here. Without a backend the pickers list the protocol's method
 * names only.
 */
import { GROWTH_METHOD_NAMES, PRUNE_METHODS, type GrowthMethodInfo, type RunSummary } from '../common/protocol';

/** Short labels for the quick pick (a method not listed shows its name; its description comes from the backend). */
export const METHOD_LABELS: Record<string, string> = {
  firefly: 'Firefly wider',
  'firefly-split': 'Firefly split',
  'firefly-deeper': 'Firefly deeper',
  splitting: 'Splitting',
  'net2net-wider': 'Net2Net wider',
  'net2net-deeper': 'Net2Net deeper',
  'gauss-newton': 'Gauss-Newton',
  'random-split': 'Random split',
  'random-split-new': 'Random split + new',
  nash: 'NASH',
  'prune-taylor': 'Taylor pruning',
  'prune-gauss-newton': 'Gauss-Newton pruning',
};

export interface MethodPickItem {
  label: string;
  description: string;
  detail: string;
  method: string;
}

/**
 * Quick-pick items for grow (or prune) methods: from the backend's method details (with their
 * descriptions) when present; else names only: the backend's growth methods (an older backend) or,
 * with no backend, the protocol's grow methods, and the protocol's prune methods.
 * `preferred` (e.g. the experiment's configured method) goes first.
 */
export function methodPickItems(
  kind: 'grow' | 'prune',
  caps: { growthMethods?: readonly string[]; growthMethodDetails?: readonly GrowthMethodInfo[] } | undefined,
  preferred?: string,
): MethodPickItem[] {
  let infos: { name: string; description: string }[];
  if (caps?.growthMethodDetails?.length) {
    infos = caps.growthMethodDetails.filter((m) => m.kind === kind).map((m) => ({ name: m.name, description: m.description }));
  } else {
    const names: readonly string[] = kind === 'grow' ? (caps?.growthMethods ?? GROWTH_METHOD_NAMES) : PRUNE_METHODS;
    infos = names.filter((n) => n !== 'none').map((name) => ({ name, description: '' }));
  }
  const items = infos.map((m) => ({
    label: METHOD_LABELS[m.name] ?? m.name,
    description: m.name,
    detail: firstLine(m.description),
    method: m.name,
  }));
  if (preferred) items.sort((a, b) => Number(b.method === preferred) - Number(a.method === preferred));
  return items;
}

function firstLine(s: string): string {
  const line = s.split('\n')[0].trim();
  return line.length > 160 ? `${line.slice(0, 157)}…` : line;
}

export type Budget = { ratio: number } | { neurons: number };
export type BudgetParse = { ok: true; budget: Budget | undefined } | { ok: false; message: string };

/**
 * Parses the budget input: empty → the method's default; `50%` or a fraction such as `0.5` → a
 * growth (or prune) ratio; a whole number ≥ 1 such as `32` → a neuron count.
 * Prune ratios must be below 1 (100%); grow ratios at most 10 (1000%).
 */
export function parseBudget(input: string, kind: 'grow' | 'prune'): BudgetParse {
  const s = input.trim();
  if (s === '') return { ok: true, budget: undefined };
  const maxRatio = kind === 'prune' ? 1 : 10;
  const pct = /^(\d+(?:\.\d+)?)\s*%$/.exec(s);
  if (pct) {
    const ratio = Number(pct[1]) / 100;
    if (!(ratio > 0) || ratio > maxRatio || (kind === 'prune' && ratio >= 1)) return { ok: false, message: ratioRange(kind) };
    return { ok: true, budget: { ratio } };
  }
  if (!/^\d+(?:\.\d+)?$|^\.\d+$/.test(s)) {
    return { ok: false, message: 'Enter a ratio (e.g. 0.5 or 50%) or a neuron count (e.g. 32).' };
  }
  const n = Number(s);
  if (Number.isInteger(n) && !s.includes('.')) {
    if (n < 1) return { ok: false, message: 'The neuron count must be at least 1.' };
    if (n > 1_000_000) return { ok: false, message: 'The neuron count must be at most 1,000,000.' };
    return { ok: true, budget: { neurons: n } };
  }
  if (!(n > 0) || n > maxRatio || (kind === 'prune' && n >= 1)) return { ok: false, message: ratioRange(kind) };
  return { ok: true, budget: { ratio: n } };
}

function ratioRange(kind: 'grow' | 'prune'): string {
  return kind === 'prune'
    ? 'The prune ratio must be above 0 and below 1 (100%).'
    : 'The growth ratio must be above 0 and at most 10 (1000%).';
}

/** Runs a grow/prune may act on: live (running or paused) in this backend, not stale, newest first. */
export function growableRuns(summaries: readonly RunSummary[]): RunSummary[] {
  return summaries
    .filter((s) => (s.status === 'running' || s.status === 'paused') && !s.stale && s.runningElsewhere === undefined)
    .sort((a, b) => (b.startedAt > a.startedAt ? 1 : b.startedAt < a.startedAt ? -1 : 0));
}

/** Runs that `growthLab/resumeRun` can continue: failed or stopped (or stale), readable and not trained by another process, newest first. */
export function resumableRuns(summaries: readonly RunSummary[]): RunSummary[] {
  return summaries
    .filter((s) => s.status === 'failed' || s.status === 'stopped' || (s.stale && s.status !== 'completed'))
    .filter((s) => s.runningElsewhere === undefined && s.unreadable === undefined)
    .sort((a, b) => (b.startedAt > a.startedAt ? 1 : b.startedAt < a.startedAt ? -1 : 0));
}
