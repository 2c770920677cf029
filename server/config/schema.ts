/**
 * The experiment schema (experiment.schema.json) as a typed object, and the small helpers to read it.
 * The validator walks this object; the editor reads the same file through contributes.jsonValidation.
 */
import schemaJson from './experiment.schema.json';

export type JsonType = 'object' | 'array' | 'string' | 'number' | 'integer' | 'boolean' | 'null';

/** The subset of JSON Schema (draft-07) that the validator implements, plus editor-only annotations. */
export interface SchemaNode {
  $ref?: string;
  type?: JsonType | JsonType[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  maxProperties?: number;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: boolean | SchemaNode;
  required?: string[];
  items?: SchemaNode;
  oneOf?: SchemaNode[];
  allOf?: SchemaNode[];
  if?: SchemaNode;
  then?: SchemaNode;
  else?: SchemaNode;
  definitions?: Record<string, SchemaNode>;
  description?: string;
  markdownDescription?: string;
}

/** Keywords the validator enforces (walk.ts). */
export const VALIDATION_KEYWORDS: readonly string[] = [
  '$ref',
  'type',
  'enum',
  'const',
  'default',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'maxProperties',
  'properties',
  'additionalProperties',
  'required',
  'items',
  'oneOf',
  'allOf',
  'if',
  'then',
  'else',
  'definitions',
];
/** Keywords that only annotate (for people and editors); the validator ignores them. */
export const ANNOTATION_KEYWORDS: readonly string[] = [
  '$schema',
  '$id',
  '$comment',
  'title',
  'description',
  'markdownDescription',
  'examples',
  'enumDescriptions',
  'markdownEnumDescriptions',
  'defaultSnippets',
  'deprecationMessage',
];
export const SUPPORTED_KEYWORDS: readonly string[] = [...VALIDATION_KEYWORDS, ...ANNOTATION_KEYWORDS];

export const experimentSchema: SchemaNode = schemaJson as unknown as SchemaNode;

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/** Follows local `#/definitions/<name>` references (the only kind the schema uses). */
export function deref(node: SchemaNode, root: SchemaNode = experimentSchema): SchemaNode {
  let n = node;
  for (let hops = 0; n.$ref !== undefined; hops++) {
    const m = /^#\/definitions\/([^/]+)$/.exec(n.$ref);
    const target = m && root.definitions && hasOwn(root.definitions, m[1]) ? root.definitions[m[1]] : undefined;
    if (!target || hops > 16) throw new Error(`experiment schema: cannot resolve $ref ${n.$ref}`);
    n = target;
  }
  return n;
}

/** The schema of the property at `path` (object keys only), or undefined. */
export function schemaAt(path: readonly string[], root: SchemaNode = experimentSchema): SchemaNode | undefined {
  let node: SchemaNode | undefined = deref(root, root);
  for (const key of path) {
    const props: Record<string, SchemaNode> | undefined = node?.properties;
    node = props && hasOwn(props, key) ? deref(props[key], root) : undefined;
    if (!node) return undefined;
  }
  return node;
}
