/** Where a ConfigError points in the file text: the offending value, an unknown key, or the object missing a field. */
import type { Node } from 'jsonc-parser';
import type { ConfigError } from './errors';

export interface Span {
  offset: number;
  length: number;
}

/** The span of the error's target in the tree; falls back to the nearest enclosing node that exists. */
export function locate(root: Node | undefined, error: ConfigError): Span {
  if (!root) return { offset: 0, length: 0 };
  const path = error.path;
  switch (error.keyword) {
    case 'additionalProperties':
    case 'reserved':
    case 'keyLength':
    case 'duplicate': {
      const property = findNode(root, path)?.parent;
      const key = property?.type === 'property' ? property.children?.[0] : undefined;
      if (key) return span(key);
      break;
    }
    case 'required':
      return nearest(root, path.slice(0, -1));
    case 'tooManyErrors':
      return { offset: root.offset, length: 0 };
  }
  return nearest(root, path);
}

function nearest(root: Node, path: (string | number)[]): Span {
  for (let n = path.length; n >= 0; n--) {
    const node = findNode(root, path.slice(0, n));
    if (node) return span(node);
  }
  return span(root);
}

const span = (node: Node): Span => ({ offset: node.offset, length: node.length });

/**
 * Like jsonc-parser's findNodeAtLocation, but a duplicated key resolves to its last occurrence, the
 * one whose value counts (as in JSON.parse).
 */
export function findNode(root: Node, path: readonly (string | number)[]): Node | undefined {
  let node: Node | undefined = root;
  for (const segment of path) {
    if (!node) return undefined;
    if (typeof segment === 'string' && node.type === 'object') {
      const props: Node[] = node.children ?? [];
      let found: Node | undefined;
      for (let i = props.length - 1; i >= 0 && !found; i--) {
        const [key, value] = props[i].children ?? [];
        if (key?.value === segment && value) found = value;
      }
      node = found;
    } else if (typeof segment === 'number' && node.type === 'array') {
      node = node.children?.[segment];
    } else {
      return undefined;
    }
  }
  return node;
}
