/** How paths and values appear in messages: `model.layers[1].units`, `"imagenet"`, truncated previews. */

export type ConfigPath = (string | number)[];

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const MAX_SEGMENT = 40;
const MAX_SEGMENTS = 10;

/** Dots and indexes: `model.layers[1].units`; `experiment` for the root. Long paths are shortened. */
export function formatPath(path: readonly (string | number)[]): string {
  if (path.length === 0) return 'experiment';
  const shown = path.length > MAX_SEGMENTS ? [...path.slice(0, 6), null, ...path.slice(-3)] : path;
  let out = '';
  for (const seg of shown) {
    if (seg === null) out += '…';
    else if (typeof seg === 'number') out += `[${seg}]`;
    else if (IDENTIFIER.test(seg) && seg.length <= MAX_SEGMENT) out += out === '' || out.endsWith('…') ? seg : `.${seg}`;
    else out += `[${quote(seg, MAX_SEGMENT)}]`;
  }
  return out;
}

/** RFC 6901 JSON pointer: `/model/layers/1/units`; '' for the root. */
export function toPointer(path: readonly (string | number)[]): string {
  return path.map((seg) => '/' + String(seg).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

/** A JSON string literal of at most `max` characters of `s`, then `…`. */
export function quote(s: string, max = MAX_SEGMENT): string {
  return s.length <= max ? JSON.stringify(s) : JSON.stringify(s.slice(0, max)).slice(0, -1) + '…"';
}

/** Stands for a value the guard refused (guard.ts); previews show it as `…`. */
export const INVALID: unique symbol = Symbol('invalid');

const PREVIEW_BUDGET = 60;

/** A short, safe rendering of any value: `"64"`, `2.5`, `NaN`, `[1,2,…]`, `"aaaa…" (10485760 characters)`. */
export function preview(value: unknown): string {
  if (typeof value === 'string') {
    return value.length <= PREVIEW_BUDGET ? JSON.stringify(value) : `${quote(value, PREVIEW_BUDGET)} (${value.length} characters)`;
  }
  const parts: string[] = [];
  let used = 0;
  let full = false;
  const put = (s: string): boolean => {
    if (full) return false;
    if (used + s.length > PREVIEW_BUDGET) {
      parts.push('…');
      full = true;
      return false;
    }
    parts.push(s);
    used += s.length;
    return true;
  };
  const visit = (v: unknown): void => {
    if (full) return;
    if (v === null || typeof v === 'number' || typeof v === 'boolean') {
      put(String(v));
      return;
    }
    if (typeof v === 'string') {
      put(v.length <= 20 ? JSON.stringify(v) : quote(v, 20));
      return;
    }
    if (typeof v === 'bigint') {
      put(`${v}n`);
      return;
    }
    if (typeof v === 'undefined') {
      put('undefined');
      return;
    }
    if (typeof v === 'function') {
      put('a function');
      return;
    }
    if (typeof v === 'symbol') {
      put(v === INVALID ? '…' : 'a symbol');
      return;
    }
    if (Array.isArray(v)) {
      if (!put('[')) return;
      for (let i = 0; i < v.length && !full; i++) {
        if (i > 0 && !put(',')) return;
        visit(v[i]);
      }
      put(']');
      return;
    }
    const proto: unknown = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) {
      put(`a ${constructorName(v)}`);
      return;
    }
    if (!put('{')) return;
    let first = true;
    for (const k of Object.keys(v as object)) {
      if (full) return;
      if (!first && !put(',')) return;
      first = false;
      if (!put(`${k.length <= 20 ? JSON.stringify(k) : quote(k, 20)}:`)) return;
      visit((v as Record<string, unknown>)[k]);
    }
    put('}');
  };
  try {
    visit(value);
  } catch {
    return 'an unreadable value';
  }
  return parts.join('');
}

/** `Date`, `Map`, … for non-plain objects. */
export function constructorName(v: unknown): string {
  try {
    const c: unknown = (v as { constructor?: unknown }).constructor;
    const name: unknown = typeof c === 'function' ? (c as { name?: unknown }).name : undefined;
    return typeof name === 'string' && name !== '' && name.length <= 40 ? name : 'non-plain object';
  } catch {
    return 'non-plain object';
  }
}

/** `a number`, `an integer`, … */
export function withArticle(word: string): string {
  return /^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`;
}

/** `a, b or c` */
export function orList(words: readonly string[]): string {
  return words.length <= 1 ? words.join('') : `${words.slice(0, -1).join(', ')} or ${words[words.length - 1]}`;
}

/** Edit distance counting a swap of neighbours as one edit; Infinity once it exceeds `max`. */
function distance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return Infinity;
  let before: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      let d = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, before[j - 2] + 1);
      cur.push(d);
      rowMin = Math.min(rowMin, d);
    }
    if (rowMin > max) return Infinity;
    before = prev;
    prev = cur;
  }
  return prev[b.length];
}

/** The candidate closest to `word` (case-insensitive first), if close enough to be a likely typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  if (word.length === 0 || word.length > 64) return undefined;
  const lower = word.toLowerCase();
  const exact = candidates.find((c) => c.toLowerCase() === lower);
  if (exact) return exact;
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    if (c[0]?.toLowerCase() !== lower[0]) continue; // typos rarely hit the first letter (and gelu is not relu)
    const max = Math.max(1, Math.floor(Math.min(c.length, word.length) / 3));
    const d = distance(lower, c.toLowerCase(), max);
    if (d <= max && d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best;
}
