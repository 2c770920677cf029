/**
 * The experiment schema's documentation for a JSON path (hover, completion docs). Follows $ref,
 * array items, oneOf branches (picked by the object's `type` const), allOf and if/then/else.
 */
import { deref, experimentSchema, type SchemaNode } from '../config/schema';

type Json = unknown;

function matchesIf(cond: SchemaNode, value: Json): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  for (const key of cond.required ?? []) if (!(key in v)) return false;
  for (const [k, s] of Object.entries(cond.properties ?? {})) {
    if (s.const !== undefined && k in v && v[k] !== s.const) return false;
    if (s.enum && k in v && !s.enum.includes(v[k])) return false;
  }
  return true;
}

/** Schema nodes that apply to `value` at this node (the node, its allOf / matching oneOf / if branches). */
function branches(node: SchemaNode, value: Json, root: SchemaNode): SchemaNode[] {
  const n = deref(node, root);
  const out: SchemaNode[] = [n];
  for (const s of n.allOf ?? []) out.push(...branches(s, value, root));
  if (n.oneOf) {
    const options = n.oneOf.map((s) => deref(s, root));
    const typed = options.find((s) => {
      const t = s.properties?.type;
      return t?.const !== undefined && (value as { type?: unknown } | null)?.type === t.const;
    });
    if (typed) out.push(...branches(typed, value, root));
    else out.push(...options.filter((o) => o.properties).flatMap((o) => branches(o, value, root)));
  }
  if (n.if) {
    if (matchesIf(deref(n.if, root), value)) {
      if (n.then) out.push(...branches(n.then, value, root));
    } else if (n.else) out.push(...branches(n.else, value, root));
  }
  return out;
}

/**
 * The schema of the value at `path` in `doc` (the parsed document), or undefined when the schema
 * says nothing about it.
 */
export function schemaForPath(doc: Json, path: readonly (string | number)[], root: SchemaNode = experimentSchema): SchemaNode | undefined {
  let nodes: SchemaNode[] = [root];
  let value: Json = doc;
  for (const seg of path) {
    const next: SchemaNode[] = [];
    for (const n of nodes) {
      for (const b of branches(n, value, root)) {
        if (typeof seg === 'number') {
          if (b.items) next.push(b.items);
        } else if (b.properties && Object.prototype.hasOwnProperty.call(b.properties, seg)) {
          next.push(b.properties[seg]);
        } else if (typeof b.additionalProperties === 'object') {
          next.push(b.additionalProperties);
        }
      }
    }
    if (next.length === 0) return undefined;
    nodes = next;
    value = value !== null && typeof value === 'object' ? (value as Record<string | number, Json>)[seg as never] : undefined;
  }
  // Prefer the branch that documents itself (a layer's own `type` const over the generic layer).
  const all = nodes.flatMap((n) => branches(n, value, root));
  return all.find((n) => n.markdownDescription || n.description) ?? all[0];
}

/**
 * Text for markdown that shows it as written: markdown's punctuation backslash-escaped (so `[x](command:…)`
 * cannot become a link) and line breaks flattened. For anything that comes from a file or the machine.
 */
export function markdownText(text: string, maxLength = 500): string {
  const flat = text.replace(/[\r\n\t]+/g, ' ');
  const cut = flat.length > maxLength ? `${flat.slice(0, maxLength - 1)}…` : flat;
  return cut.replace(/[\\`*_{}\[\]()<>!|~]/g, (c) => `\\${c}`);
}

/** Markdown for a schema node: the description, the default, the allowed values with their docs. */
export function schemaMarkdown(node: SchemaNode, title?: string, value?: Json): string {
  const parts: string[] = [];
  if (title) parts.push(`**${markdownText(title)}**`);
  const desc = node.markdownDescription ?? node.description;
  if (desc) parts.push(desc);
  const n = node as SchemaNode & { enumDescriptions?: string[]; markdownEnumDescriptions?: string[] };
  if (n.enum) {
    const docs = n.markdownEnumDescriptions ?? n.enumDescriptions;
    const i = value !== undefined ? n.enum.indexOf(value) : -1;
    if (i >= 0 && docs?.[i]) parts.push(`\`${JSON.stringify(n.enum[i])}\`: ${docs[i]}`);
    else parts.push(`Allowed: ${n.enum.map((e) => `\`${JSON.stringify(e)}\``).join(', ')}`);
  }
  if (node.default !== undefined && typeof node.default !== 'object') parts.push(`Default: \`${JSON.stringify(node.default)}\``);
  const range: string[] = [];
  if (node.minimum !== undefined) range.push(`≥ ${node.minimum}`);
  if (node.exclusiveMinimum !== undefined) range.push(`> ${node.exclusiveMinimum}`);
  if (node.maximum !== undefined) range.push(`≤ ${node.maximum}`);
  if (node.exclusiveMaximum !== undefined) range.push(`< ${node.exclusiveMaximum}`);
  if (range.length) parts.push(`Range: ${range.join(', ')}`);
  return parts.join('\n\n');
}
