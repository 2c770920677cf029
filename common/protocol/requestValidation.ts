/**
 * The shape of every request's params, written once per method next to RequestTypes: `checkParams`
 * answers what is wrong (for an invalidParams error, -32602) or undefined when the params have the types
 * RequestTypes gives the method. Only types and presence are checked here; a well-typed value the
 * backend cannot use (a run id that is no run, a format it does not write, an invalid experiment) is left
 * to the backend, which answers with the method's own code. Pure: no Node or VS Code imports.
 */
import { Methods, type RequestMethod } from './requests';

/** What a field must be: its JSON type (`any`: present, of any type) and, for objects, its known fields. */
interface Field {
  type: 'string' | 'boolean' | 'object' | 'any' | 'count';
  optional?: true;
  /** `count` fields: the largest value allowed. */
  max?: number;
  /** How the rule reads in a message when "a string" / "a boolean" / "an object" says too little. */
  expected?: string;
  /** Objects: rules for some of their fields (other fields are not checked). */
  fields?: Shape;
}
type Shape = Readonly<Record<string, Field>>;
/** The params of one method: an object with these fields; `optional`: the params may be left out. */
interface ParamsShape {
  fields: Shape;
  optional?: true;
}

const PATH = 'a non-empty path string (at most 4096 characters)';
const runId: Field = { type: 'string' };
const RUN_ID_ONLY: ParamsShape = { fields: { runId } };
/** The most events one getRunHistory answer holds (a `limit` above it is refused; see HISTORY_PAGE_MAX). */
export const HISTORY_PAGE_MAX = 100_000;
const PROPOSAL: ParamsShape = { fields: { runId, proposalId: { type: 'string' }, resume: { type: 'boolean', optional: true } } };

/** The params shape of every method in RequestTypes (the compiler checks that none is missing). */
export const PARAMS_SHAPES: { readonly [M in RequestMethod]: ParamsShape } = {
  [Methods.startExperiment]: {
    fields: {
      // the experiment itself is checked by the backend's experiment validation (invalidExperiment)
      config: { type: 'any' },
      configPath: { type: 'string', optional: true, expected: PATH },
      outDir: { type: 'string', optional: true, expected: PATH },
    },
  },
  [Methods.stopExperiment]: RUN_ID_ONLY,
  [Methods.pauseExperiment]: RUN_ID_ONLY,
  [Methods.resumeExperiment]: RUN_ID_ONLY,
  [Methods.getArchitecture]: RUN_ID_ONLY,
  [Methods.listRuns]: { fields: {}, optional: true },
  [Methods.getRunHistory]: {
    fields: {
      runId,
      offset: { type: 'count', optional: true },
      limit: { type: 'count', optional: true, max: HISTORY_PAGE_MAX },
    },
  },
  [Methods.grow]: {
    fields: {
      runId,
      method: { type: 'string', optional: true },
      options: { type: 'object', optional: true },
      propose: { type: 'boolean', optional: true },
    },
  },
  [Methods.resumeRun]: RUN_ID_ONLY,
  [Methods.prune]: {
    fields: { runId, options: { type: 'object', optional: true, fields: { method: { type: 'string', optional: true } } } },
  },
  [Methods.export]: {
    fields: {
      runId,
      format: { type: 'string' },
      path: { type: 'string', optional: true },
      force: { type: 'boolean', optional: true },
    },
  },
  [Methods.commitProposal]: PROPOSAL,
  [Methods.rejectProposal]: PROPOSAL,
  [Methods.downloadDataset]: {
    fields: {
      name: { type: 'string' },
      to: { type: 'string', optional: true, expected: PATH },
      extra: { type: 'boolean', optional: true },
      force: { type: 'boolean', optional: true },
    },
  },
  [Methods.cancelDownload]: { fields: { name: { type: 'string' } } },
};

const METHODS = new Set<string>(Object.keys(PARAMS_SHAPES));

export function isRequestMethod(method: string): method is RequestMethod {
  return METHODS.has(method);
}

/**
 * What is wrong with `params` for `method` ("runId must be a string, got 5"), or undefined when they have
 * the method's shape. `params` is what arrived: undefined when the request had none.
 */
export function checkParams<M extends RequestMethod>(method: M, params: unknown): string | undefined {
  const shape = PARAMS_SHAPES[method];
  if (params === undefined || params === null) {
    return shape.optional ? undefined : `${method} needs params ${describeShape(shape.fields)}, got ${show(params)}`;
  }
  if (!isObject(params)) return `${method} params must be an object ${describeShape(shape.fields)}, got ${show(params)}`;
  return checkFields(shape.fields, params, '');
}

function checkFields(shape: Shape, obj: Record<string, unknown>, prefix: string): string | undefined {
  for (const [key, field] of Object.entries(shape)) {
    const name = `${prefix}${key}`;
    const has = Object.prototype.hasOwnProperty.call(obj, key) && obj[key] !== undefined;
    if (!has) {
      if (field.optional) continue;
      return `${name} is required`;
    }
    const v = obj[key];
    if (!hasType(field, v))
      return `${name} must be ${field.expected ?? article(field.type)}${field.max === undefined ? '' : ` of at most ${field.max}`}, got ${show(v)}`;
    if (field.fields) {
      const inner = checkFields(field.fields, v as Record<string, unknown>, `${name}.`);
      if (inner) return inner;
    }
  }
  return undefined;
}

function hasType(field: Field, v: unknown): boolean {
  switch (field.type) {
    case 'any':
      return true;
    case 'object':
      return isObject(v);
    case 'count':
      return Number.isSafeInteger(v) && (v as number) >= 0 && (field.max === undefined || (v as number) <= field.max);
    default:
      return typeof v === field.type;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function article(type: Field['type']): string {
  return type === 'object' ? 'an object' : type === 'any' ? 'present' : type === 'count' ? 'a non-negative integer' : `a ${type}`;
}

/** `{runId, format, path?, force?}` */
function describeShape(shape: Shape): string {
  return `{${Object.entries(shape)
    .map(([k, f]) => `${k}${f.optional ? '?' : ''}`)
    .join(', ')}}`;
}

/** The value as shown in a message: JSON, at most 80 characters. */
function show(v: unknown): string {
  if (v === undefined) return 'none';
  let text: string | undefined;
  try {
    text = JSON.stringify(v);
  } catch {
    text = undefined;
  }
  text ??= typeof v;
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}
