/**
 * Readable YAML of an Architecture and the `growth-lab:` URIs of a grow event's before/after
 * documents (pure: no VS Code imports, unit-tested with exact output).
 */
import type { Architecture, GrowEventParams, LayerDiff, LayerSummary } from '../common/protocol';
import { layerDeltaRows, layerDeltaText } from '../common/monitor/growDiff';

export const REVIEW_SCHEME = 'growth-lab';

const count = (n: number): string => Math.round(n).toLocaleString('en-US').replace(/,/g, '_');
const shape = (s: readonly number[]): string => `[${s.join(', ')}]`;

/** YAML-safe scalar: plain when it is a simple word, else double-quoted. */
function scalar(s: string): string {
  return /^[A-Za-z_][A-Za-z0-9_.-]*$/.test(s) && !/^(true|false|null|yes|no|on|off|~)$/i.test(s) ? s : JSON.stringify(s);
}

/**
 * The architecture as YAML: totals, then one block per layer with id, type, width, activation,
 * shapes, parameters and FLOPs (multiply-adds per example). `notes` (by layer id) add a trailing
 * `# …` comment to the layer's first line (e.g. "+4 neurons").
 */
export function architectureYaml(arch: Architecture, header?: string, notes?: ReadonlyMap<string, string>): string {
  const lines: string[] = [];
  if (header) for (const h of header.split('\n')) lines.push(`# ${h}`);
  lines.push(`inputShape: ${shape(arch.inputShape)}`);
  lines.push(`outputSize: ${arch.outputSize}`);
  lines.push(`params: ${count(arch.params)}`);
  lines.push(`flops: ${count(arch.flops)}`);
  lines.push('layers:');
  for (const l of arch.layers) lines.push(...layerYaml(l, notes?.get(l.id)));
  return `${lines.join('\n')}\n`;
}

function layerYaml(l: LayerSummary, note?: string): string[] {
  const out = [`  - id: ${scalar(l.id)}${note ? `  # ${note}` : ''}`, `    type: ${l.type}`];
  if (l.width !== undefined) out.push(`    width: ${l.width}`);
  if (l.activation !== undefined) out.push(`    activation: ${l.activation}`);
  out.push(`    inputShape: ${shape(l.inputShape)}`);
  out.push(`    outputShape: ${shape(l.outputShape)}`);
  out.push(`    params: ${count(l.params)}`);
  out.push(`    flops: ${count(l.flops)}`);
  return out;
}

/** Short per-layer notes from a grow event's diff: "+2 split, +3 new", "−4 removed", "inserted". */
export function diffNotes(diff: readonly LayerDiff[]): Map<string, string> {
  const notes = new Map<string, string>();
  for (const d of diff) {
    const parts: string[] = [];
    if (d.inserted) parts.push('inserted');
    if (d.split.length) parts.push(`+${d.split.length} split`);
    if (d.added.length) parts.push(`+${d.added.length} new`);
    if (d.removed.length) parts.push(`-${d.removed.length} removed`);
    if (parts.length) notes.set(d.id, parts.join(', '));
  }
  return notes;
}

/** Title of the diff editor: "Growth Lab: firefly at step 1200 (epoch 3): 1_000 → 1_500 params". */
export function reviewTitle(e: Pick<GrowEventParams, 'method' | 'step' | 'epoch' | 'before' | 'after' | 'kind'>, proposed = false): string {
  const what = proposed ? `proposed ${e.kind}` : e.kind;
  return `Growth Lab: ${e.method} ${what} at step ${e.step} (epoch ${e.epoch}): ${count(e.before.params)} → ${count(e.after.params)} params`;
}

export type ReviewSide = 'before' | 'after';

/** Path of a review document: `/<key>/<side>.yaml` (key: see reviewKey, URI-encoded). */
export function reviewPath(key: string, side: ReviewSide): string {
  return `/${encodeURIComponent(key)}/${side}.yaml`;
}

/** Parses a review path back to its key and side; undefined when it is not one. */
export function parseReviewPath(p: string): { key: string; side: ReviewSide } | undefined {
  const m = /^\/([^/]+)\/(before|after)\.yaml$/.exec(p);
  if (!m) return undefined;
  return { key: decodeURIComponent(m[1]), side: m[2] as ReviewSide };
}

/** The key a grow event is stored under: run, step, kind, method (and a proposal id when proposed). */
export function reviewKey(e: Pick<GrowEventParams, 'runId' | 'step' | 'kind' | 'method'>, proposalId?: string): string {
  return `${e.runId}~${e.step}~${e.kind}~${e.method}${proposalId ? `~${proposalId}` : ''}`;
}

/** The parts of a reviewKey (run ids and method names never contain "~"). */
export function parseReviewKey(
  key: string,
): { runId: string; step: number; kind: string; method: string; proposalId?: string } | undefined {
  const parts = key.split('~');
  if (parts.length !== 4 && parts.length !== 5) return undefined;
  const step = Number(parts[1]);
  if (!parts[0] || !Number.isInteger(step)) return undefined;
  return { runId: parts[0], step, kind: parts[2], method: parts[3], ...(parts.length === 5 ? { proposalId: parts[4] } : {}) };
}

/** The document text of one side of a grow event. */
export function reviewDocument(e: GrowEventParams, side: ReviewSide, proposed = false): string {
  const arch = side === 'before' ? e.before : e.after;
  const header = [
    `${side === 'before' ? 'Before' : 'After'} ${proposed ? 'proposed ' : ''}${e.kind} with ${e.method}: run ${e.runId}, step ${e.step}, epoch ${e.epoch}`,
  ];
  if (side === 'after') {
    header.push(
      `loss ${e.lossBefore.toPrecision(4)} -> ${e.lossAfter.toPrecision(4)}, max output change ${e.maxOutputChange.toPrecision(3)}`,
    );
    header.push('per layer:', ...layerDeltaText(layerDeltaRows(e)).map((l) => `  ${l}`));
  }
  return architectureYaml(arch, header.join('\n'), side === 'after' ? diffNotes(e.diff) : undefined);
}

/** Keeps the latest `max` entries (insertion order), for the review documents' store. */
export class BoundedStore<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly max = 200) {}
  set(key: string, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.max) this.map.delete(this.map.keys().next().value as string);
  }
  get(key: string): V | undefined {
    return this.map.get(key);
  }
  delete(key: string): void {
    this.map.delete(key);
  }
  get size(): number {
    return this.map.size;
  }
}
