/**
 * Text from a run, an experiment file, a CSV cell or the backend, made safe to show in VS Code as plain text
 * (pure: no VS Code imports, unit-tested). VS Code renders `[label](command:…)` in notification messages as a
 * clickable command link and `$(icon)` in status bar text as an icon; neither may come from a file. So:
 * markdown link syntax `[x](y)` is broken up (`[x] (y)`), bare `command:` URIs are defused (`command :`),
 * `$(` becomes `$ (`, control, bidi and zero-width characters are removed, and the length is capped.
 */

export interface PlainTextOptions {
  /** Longest result in characters (a longer text ends with "…"); default 500. */
  max?: number;
  /** Keep line breaks (tooltips); otherwise they become spaces (notifications, labels, the status bar). */
  newlines?: boolean;
}

export const PLAIN_TEXT_MAX = 500;

// C0 controls but tab and newline, DEL and C1, zero-width and bidi controls, BOM.
const INVISIBLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g;

export function plainText(s: unknown, opts: PlainTextOptions = {}): string {
  let t = typeof s === 'string' ? s : s === undefined || s === null ? '' : String(s);
  t = t.replace(/\r\n?|[\u2028\u2029\u0085]/g, '\n').replace(INVISIBLE, '');
  if (!opts.newlines) t = t.replace(/\s*\n\s*/g, ' ');
  t = t
    .replace(/\t/g, ' ')
    .replace(/\]\s*\(/g, '] (')
    .replace(/\b(command)\s*:/gi, '$1 :')
    .replace(/\$\(/g, '$ (');
  const max = Math.max(1, opts.max ?? PLAIN_TEXT_MAX);
  if (t.length > max) {
    let cut = t.slice(0, max - 1);
    if (/[\ud800-\udbff]$/.test(cut)) cut = cut.slice(0, -1);
    t = `${cut}…`;
  }
  return t;
}
