/**
 * Helpers for `*.growth.json` experiment files and backend errors (pure: no VS Code imports, unit-tested).
 */
import * as path from 'path';
import { parse, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { ErrorCodes } from '../common/protocol';

export const EXPERIMENT_SUFFIX = '.growth.json';
export const EXPERIMENT_GLOB = '**/*.growth.json';
/** Folder (under the workspace) that receives `runs/<runId>/`. */
export const OUT_DIR_NAME = '.growth-lab';

export function isExperimentFile(fileName: string): boolean {
  return fileName.toLowerCase().endsWith(EXPERIMENT_SUFFIX);
}

export type ParsedExperiment = { ok: true; config: unknown } | { ok: false; message: string };

/** 1-based line and column of `offset` in `text`. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1,
    start = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      start = i + 1;
    }
  }
  return { line, column: offset - start + 1 };
}

/**
 * Parses an experiment file as JSON with comments (no trailing commas, as the backend and
 * `growth-lab run` read it). The backend validates the content; this only rejects text that is not
 * JSON, with the first errors' positions.
 */
export function parseExperimentText(text: string, label = 'experiment file'): ParsedExperiment {
  const errors: ParseError[] = [];
  const config: unknown = parse(text, errors, { allowTrailingComma: false, disallowComments: false, allowEmptyContent: false });
  if (errors.length > 0) {
    const e = errors[0];
    const { line, column } = lineColumn(text, e.offset);
    const more = errors.length > 1 ? ` (${errors.length - 1} more error${errors.length > 2 ? 's' : ''})` : '';
    return { ok: false, message: `${label} is not valid JSON: ${describeParseError(text, e)} at ${line}:${column}${more}` };
  }
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    return { ok: false, message: `${label} must contain a JSON object` };
  }
  return { ok: true, config };
}

function describeParseError(text: string, e: ParseError): string {
  const code = printParseErrorCode(e.error);
  if (code === 'PropertyNameExpected' || code === 'ValueExpected') {
    const next = text[e.offset];
    let i = e.offset - 1;
    while (i >= 0 && /\s/.test(text[i])) i--;
    if ((next === '}' || next === ']') && text[i] === ',') return 'trailing comma (not allowed)';
  }
  return code;
}

/** `<workspace>/.growth-lab`, or next to the experiment file outside a workspace. */
export function outDirFor(workspaceDir: string | undefined, configPath: string): string {
  return path.join(workspaceDir ?? path.dirname(configPath), OUT_DIR_NAME);
}

/** The experiment's `name`, or the file name without `.growth.json`. */
export function experimentName(config: unknown, configPath: string): string {
  const name = (config as { name?: unknown } | null)?.name;
  if (typeof name === 'string' && name.trim()) return name.trim();
  const base = path.basename(configPath);
  return isExperimentFile(base) ? base.slice(0, -EXPERIMENT_SUFFIX.length) : base;
}

/** `training.epochs` when the file sets it (the backend fills in defaults otherwise). */
export function configuredEpochs(config: unknown): number | undefined {
  const epochs = (config as { training?: { epochs?: unknown } } | null)?.training?.epochs;
  return typeof epochs === 'number' && Number.isFinite(epochs) ? epochs : undefined;
}

/**
 * The text of a failed request for the user: the backend's message (which lists invalid fields for
 * an invalid experiment), plus any string details in `data` it does not already contain.
 */
export function backendErrorText(err: unknown): string {
  const e = err as { message?: unknown; code?: unknown; data?: unknown } | null | undefined;
  const message = typeof e?.message === 'string' && e.message ? e.message : String(err);
  const data = e?.data as unknown;
  const details: string[] = [];
  const collect = (v: unknown): void => {
    if (typeof v === 'string') details.push(v);
    else if (v && typeof v === 'object' && typeof (v as { message?: unknown }).message === 'string') {
      const p = (v as { path?: unknown }).path;
      details.push(typeof p === 'string' && p ? `${p}: ${(v as { message: string }).message}` : (v as { message: string }).message);
    }
  };
  if (Array.isArray(data)) data.forEach(collect);
  else if (data && typeof data === 'object') {
    for (const key of ['errors', 'issues']) {
      const list = (data as Record<string, unknown>)[key];
      if (Array.isArray(list)) list.forEach(collect);
    }
  }
  const extra = details.filter((d) => !message.includes(d));
  return extra.length ? `${message}\n${extra.join('\n')}` : message;
}

/** Whether a failed request was the backend rejecting the experiment (as opposed to a crash or bug). */
export function isInvalidExperimentError(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === ErrorCodes.invalidExperiment;
}
