/**
 * Second pass: walks the schema (experiment.schema.json) and the guarded input together, reporting
 * every rule that fails and filling in defaults. Implements exactly the keywords listed in
 * schema.ts (VALIDATION_KEYWORDS). Defaults come from `default` (and from the caller's contextual
 * defaults, defaults.ts) on properties of the main walk; subschemas of if/then/else/allOf only check.
 */
import { ErrorSink } from './errors';
import { closest, formatPath, orList, preview, withArticle, type ConfigPath } from './format';
import { INVALID } from './guard';
import { deref, type JsonType, type SchemaNode } from './schema';

export interface WalkOptions {
  /** A default for the absent property at `path` that depends on the rest of the input, or undefined. */
  contextualDefault?: (path: ConfigPath) => unknown;
}

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Validates `value` (already guarded, see guard.ts) against `node`; returns the value with defaults filled in. */
export function walkSchema(root: SchemaNode, node: SchemaNode, value: unknown, sink: ErrorSink, options: WalkOptions = {}): unknown {
  return new Walker(root, sink, options, false, '').walk(node, value, []);
}

class Walker {
  constructor(
    private readonly root: SchemaNode,
    private readonly sink: ErrorSink,
    private readonly options: WalkOptions,
    /** Only count errors (for `if` and oneOf trials); INVALID counts as a failure. */
    private readonly checkOnly: boolean,
    /** Appended to `is required` and `must be one of` messages: ` when dataset.name is "csv"`. */
    private readonly when: string,
  ) {}

  walk(nodeIn: SchemaNode, value: unknown, path: ConfigPath): unknown {
    if (value === INVALID) {
      if (this.checkOnly) this.sink.add(path, 'is invalid', 'json');
      return INVALID;
    }
    const node = deref(nodeIn, this.root);
    if (node.type !== undefined && !this.checkType(node.type, value, path)) return value;
    if (hasOwn(node, 'const') && !jsonEqual(value, node.const)) {
      this.sink.add(path, `must be ${preview(node.const)}, got ${preview(value)}`, 'const');
      return value;
    }
    if (node.enum !== undefined && !node.enum.some((e) => jsonEqual(e, value))) {
      this.sink.add(
        path,
        `must be one of ${node.enum.map(show).join(', ')}, got ${preview(value)}${didYouMean(value, node.enum)}${this.when}`,
        'enum',
      );
      return value;
    }
    if (typeof value === 'string' && !this.checkString(node, value, path)) return value;
    if (typeof value === 'number' && !this.checkNumber(node, value, path)) return value;

    let out = value;
    if (Array.isArray(value)) out = this.walkArray(node, value, path);
    else if (isObject(value)) out = this.walkObject(node, value, path);
    if (node.oneOf !== undefined) out = this.walkOneOf(node.oneOf, value, path);

    if (node.if !== undefined) {
      const holds = this.matches(node.if, out, path);
      const branch = holds ? node.then : node.else;
      if (branch) this.apply(branch, out, path, holds ? describeCondition(node.if, path, this.root) : '');
    }
    for (const sub of node.allOf ?? []) this.apply(sub, out, path, '');
    return out;
  }

  private checkType(type: JsonType | JsonType[], value: unknown, path: ConfigPath): boolean {
    const types = Array.isArray(type) ? type : [type];
    if (types.some((t) => isType(value, t))) return true;
    // "must be a number" for "64"; "must be an integer" only for numbers with a fraction
    const fractional = typeof value === 'number' && types.includes('integer') && !types.includes('number');
    const names = [...new Set(types.map((t) => (t === 'integer' && !fractional ? 'number' : t)))];
    this.sink.add(path, `must be ${orList(names.map((t) => (t === 'null' ? 'null' : withArticle(t))))}, got ${preview(value)}`, 'type');
    return false;
  }

  private checkString(node: SchemaNode, value: string, path: ConfigPath): boolean {
    if (node.maxLength !== undefined && value.length > node.maxLength) {
      this.sink.add(path, `must be at most ${node.maxLength} characters, got ${value.length}`, 'maxLength');
      return false;
    }
    if (node.minLength !== undefined && value.length < node.minLength) {
      const rule = node.minLength === 1 ? 'must not be empty' : `must be at least ${node.minLength} characters, got ${value.length}`;
      this.sink.add(path, rule, 'minLength');
      return false;
    }
    return true;
  }

  private checkNumber(node: SchemaNode, value: number, path: ConfigPath): boolean {
    const rules: [
      number | undefined,
      (limit: number) => boolean,
      string,
      'minimum' | 'maximum' | 'exclusiveMinimum' | 'exclusiveMaximum',
    ][] = [
      [node.minimum, (m) => value >= m, '>=', 'minimum'],
      [node.maximum, (m) => value <= m, '<=', 'maximum'],
      [node.exclusiveMinimum, (m) => value > m, '>', 'exclusiveMinimum'],
      [node.exclusiveMaximum, (m) => value < m, '<', 'exclusiveMaximum'],
    ];
    for (const [limit, ok, op, keyword] of rules) {
      if (limit !== undefined && !ok(limit)) {
        this.sink.add(path, `must be ${op} ${limit}, got ${preview(value)}`, keyword);
        return false;
      }
    }
    return true;
  }

  private walkArray(node: SchemaNode, value: unknown[], path: ConfigPath): unknown[] {
    if (node.maxItems !== undefined && value.length > node.maxItems) {
      this.sink.add(path, `must have at most ${node.maxItems} items, got ${value.length}`, 'maxItems');
      return value;
    }
    if (node.minItems !== undefined && value.length < node.minItems) {
      this.sink.add(path, `must have at least ${node.minItems} items, got ${value.length}`, 'minItems');
      return value;
    }
    const items = node.items ?? {};
    return value.map((v, i) => this.walk(items, v, [...path, i]));
  }

  private walkObject(node: SchemaNode, value: Record<string, unknown>, path: ConfigPath): Record<string, unknown> {
    const props = node.properties ?? {};
    const keys = Object.keys(value);
    if (node.maxProperties !== undefined && keys.length > node.maxProperties) {
      this.sink.add(path, `must have at most ${node.maxProperties} fields, got ${keys.length}`, 'maxProperties');
      return value;
    }
    const extras: string[] = [];
    for (const key of keys) {
      if (hasOwn(props, key)) continue;
      if (node.additionalProperties === false) this.unknownField(node, key, path);
      else extras.push(key);
    }
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(props)) {
      const childPath = [...path, key];
      let child = hasOwn(value, key) ? value[key] : undefined;
      if (child === undefined) child = this.defaultFor(props[key], childPath);
      if (child !== undefined) out[key] = this.walk(props[key], child, childPath);
    }
    const additional = typeof node.additionalProperties === 'object' ? node.additionalProperties : {};
    for (const key of extras) out[key] = this.walk(additional, value[key], [...path, key]);
    for (const key of node.required ?? []) {
      if (!hasOwn(out, key)) this.sink.add([...path, key], `is required${this.when}`, 'required');
    }
    return out;
  }

  private defaultFor(node: SchemaNode, path: ConfigPath): unknown {
    if (this.checkOnly) return undefined;
    const contextual = this.options.contextualDefault?.(path);
    if (contextual !== undefined) return contextual;
    const d = deref(node, this.root).default;
    return d === undefined ? undefined : structuredClone(d);
  }

  private unknownField(node: SchemaNode, key: string, path: ConfigPath): void {
    const known = Object.keys(node.properties ?? {}).filter((k) => k !== '$schema');
    let hint = '';
    const guess = closest(key, known);
    if (guess !== undefined) hint = ` (did you mean "${guess}"?)`;
    else {
      // a field written one level too high: "epochs" at the root means "training.epochs"
      const owner = known.find((k) => {
        const child = deref(node.properties![k], this.root);
        return child.properties !== undefined && hasOwn(child.properties, key);
      });
      if (owner !== undefined) hint = ` (did you mean "${owner}.${key}"?)`;
      else if (known.length > 0) hint = ` (known fields: ${known.join(', ')})`;
    }
    this.sink.add([...path, key], `is not a known field${hint}`, 'additionalProperties');
  }

  private walkOneOf(alternatives: SchemaNode[], value: unknown, path: ConfigPath): unknown {
    const alts = alternatives.map((a) => deref(a, this.root));
    const tag = discriminator(alternatives, alts);
    if (tag !== undefined && isObject(value)) {
      const given = hasOwn(value, tag.key) ? value[tag.key] : undefined;
      if (given === INVALID) return this.walk({}, INVALID, [...path, tag.key]);
      if (given === undefined) {
        this.sink.add([...path, tag.key], `is required${this.when}`, 'required');
        return value;
      }
      const index = tag.values.findIndex((t) => jsonEqual(t, given));
      if (index < 0) {
        this.sink.add(
          [...path, tag.key],
          `must be one of ${tag.values.map(show).join(', ')}, got ${preview(given)}${didYouMean(given, tag.values)}`,
          'enum',
        );
        return value;
      }
      return this.walk(alts[index], value, path);
    }
    // no discriminating property: the one alternative that matches, else the closest one's errors
    const scored = alts.map((alt) => ({ alt, errors: this.countErrors(alt, value, path) }));
    const matching = scored.filter((s) => s.errors === 0);
    if (matching.length > 1) {
      this.sink.add(path, `matches more than one of the allowed forms, got ${preview(value)}`, 'oneOf');
      return value;
    }
    const best = matching[0] ?? scored.reduce((a, b) => (b.errors < a.errors ? b : a));
    return this.walk(best.alt, value, path);
  }

  private countErrors(node: SchemaNode, value: unknown, path: ConfigPath): number {
    const sink = new ErrorSink(0);
    new Walker(this.root, sink, {}, true, '').walk(node, value, path);
    return sink.count;
  }

  private matches(node: SchemaNode, value: unknown, path: ConfigPath): boolean {
    return this.countErrors(node, value, path) === 0;
  }

  /** Applies a subschema to the same value: its errors count, its output (defaults) does not. */
  private apply(node: SchemaNode, value: unknown, path: ConfigPath, when: string): void {
    new Walker(this.root, this.sink, {}, this.checkOnly, when).walk(node, value, path);
  }
}

function isType(value: unknown, type: JsonType): boolean {
  switch (type) {
    case 'object':
      return isObject(value);
    case 'array':
      return Array.isArray(value);
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'null':
      return value === null;
  }
}

export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

/** Enum values as listed in messages: strings bare (`mnist`), others as JSON. */
function show(v: unknown): string {
  return typeof v === 'string' ? v : preview(v);
}

function didYouMean(value: unknown, options: readonly unknown[]): string {
  if (typeof value !== 'string') return '';
  const guess = closest(
    value,
    options.filter((o): o is string => typeof o === 'string'),
  );
  return guess !== undefined && guess !== value ? ` (did you mean "${guess}"?)` : '';
}

interface Discriminator {
  key: string;
  values: unknown[];
}
const discriminators = new WeakMap<SchemaNode[], Discriminator | null>();

/** A property that every alternative fixes with `const` to a different value (e.g. a layer's `type`). */
function discriminator(alternatives: SchemaNode[], alts: SchemaNode[]): Discriminator | undefined {
  const cached = discriminators.get(alternatives);
  if (cached !== undefined) return cached ?? undefined;
  let found: Discriminator | null = null;
  const first = alts[0]?.properties ?? {};
  for (const key of Object.keys(first)) {
    const values = alts.map((a) => (a.properties && hasOwn(a.properties, key) ? a.properties[key].const : undefined));
    const distinct = values.every((v, i) => v !== undefined && values.findIndex((w) => jsonEqual(v, w)) === i);
    if (distinct && alts.every((a) => a.required?.includes(key))) {
      found = { key, values };
      break;
    }
  }
  discriminators.set(alternatives, found);
  return found ?? undefined;
}

/** ` when dataset.name is "csv"` for an `if` that fixes one property with const or enum; '' otherwise. */
function describeCondition(ifNode: SchemaNode, path: ConfigPath, root: SchemaNode): string {
  const props = deref(ifNode, root).properties ?? {};
  const keys = Object.keys(props);
  if (keys.length !== 1) return '';
  const cond = deref(props[keys[0]], root);
  const where = formatPath([...path, keys[0]]);
  if (hasOwn(cond, 'const')) return ` when ${where} is ${preview(cond.const)}`;
  if (cond.enum) return ` when ${where} is one of ${cond.enum.map(show).join(', ')}`;
  return '';
}
