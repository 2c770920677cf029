/** The one error shape of experiment validation, how errors are collected, printed and thrown. */
import { formatPath, toPointer, type ConfigPath } from './format';
import { boundMessage } from '../messages';
import { MAX_ERRORS } from './limits';

/** What was broken: a JSON Schema keyword, a hostile-input guard, or a problem in the file's text. */
export type ConfigErrorKeyword =
  | 'type'
  | 'enum'
  | 'const'
  | 'minimum'
  | 'maximum'
  | 'exclusiveMinimum'
  | 'exclusiveMaximum'
  | 'minLength'
  | 'maxLength'
  | 'minItems'
  | 'maxItems'
  | 'maxProperties'
  | 'required'
  | 'additionalProperties'
  | 'oneOf'
  /** guards (limits.ts) */
  | 'depth'
  | 'reserved'
  | 'keyLength'
  | 'json'
  /** file text (parseExperimentText / experimentDiagnostics) */
  | 'syntax'
  | 'duplicate'
  /** the summary that stands for errors beyond MAX_ERRORS */
  | 'tooManyErrors';

export interface ConfigError {
  /** Where: object keys and array indexes from the root; [] for the root itself (and syntax errors). */
  path: ConfigPath;
  /** The same place as an RFC 6901 JSON pointer ('' for the root). */
  pointer: string;
  /** One readable sentence that names the field, the value and the rule. */
  message: string;
  keyword?: ConfigErrorKeyword;
  /** 1-based position in the file text; set by parseExperimentText only. */
  line?: number;
  column?: number;
}

export function configError(path: ConfigPath, message: string, keyword?: ConfigErrorKeyword): ConfigError {
  const e: ConfigError = { path: [...path], pointer: toPointer(path), message };
  if (keyword) e.keyword = keyword;
  return e;
}

/** Collects errors up to a limit and counts the rest. */
export class ErrorSink {
  readonly errors: ConfigError[] = [];
  dropped = 0;
  constructor(readonly limit = MAX_ERRORS) {}
  get count(): number {
    return this.errors.length + this.dropped;
  }
  /** `message` follows the path: add(['training','epochs'], 'must be >= 1, got 0'). */
  add(path: ConfigPath, message: string, keyword: ConfigErrorKeyword): void {
    if (this.errors.length < this.limit) this.errors.push(configError(path, `${formatPath(path)} ${message}`, keyword));
    else this.dropped++;
  }
  /** The errors, plus one summary error when some were dropped. */
  result(): ConfigError[] {
    if (this.dropped === 0) return this.errors;
    return [...this.errors, configError([], `…and ${this.dropped} more errors (only the first ${this.limit} are shown)`, 'tooManyErrors')];
  }
}

/**
 * One error per line, with `line:column: ` in front when the error knows where it is in the file
 * (errors of the text itself already start with it), so a CLI can print `${file}:` before each line.
 */
export function formatErrors(errors: readonly ConfigError[]): string {
  const line = (e: ConfigError) => {
    const message = boundMessage(e.message, MAX_PROBLEM_CHARS);
    if (e.line === undefined || e.column === undefined) return message;
    const at = `${e.line}:${e.column}: `;
    return message.startsWith(at) ? message : at + message;
  };
  if (errors.length <= MAX_LISTED_PROBLEMS) return errors.map(line).join('\n');
  // Many problems: the first few, then a count of the rest (including those the sink dropped).
  const real = errors.filter((e) => e.keyword !== 'tooManyErrors');
  const dropped = errors.reduce((n, e) => n + (e.keyword === 'tooManyErrors' ? Number(/(\d+) more/.exec(e.message)?.[1] ?? 0) : 0), 0);
  const rest = real.length - MAX_LISTED_PROBLEMS + dropped;
  return [...real.slice(0, MAX_LISTED_PROBLEMS).map(line), `…and ${rest} more ${rest === 1 ? 'problem' : 'problems'}`].join('\n');
}

/** At most this many problems are listed in a message (the rest counted), each cut at MAX_PROBLEM_CHARS. */
export const MAX_LISTED_PROBLEMS = 20;
export const MAX_PROBLEM_CHARS = 300;

export class InvalidExperimentError extends Error {
  readonly errors: ConfigError[];
  constructor(errors: ConfigError[]) {
    const n = errors.length;
    super(`Invalid experiment (${n} ${n === 1 ? 'problem' : 'problems'}):\n${formatErrors(errors).replace(/^/gm, '  ')}`);
    this.name = 'InvalidExperimentError';
    this.errors = errors;
  }
}
