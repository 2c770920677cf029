/**
 * Reads experiment file text (JSON with comments) with jsonc-parser: the syntax tree for ranges, the
 * value for validation, and the problems of the text itself (syntax errors, trailing commas,
 * duplicate keys, nesting too deep for the recursive parser).
 */
import { createScanner, parseTree, ParseErrorCode, SyntaxKind, type Node, type ParseError } from 'jsonc-parser';
import { formatPath, quote, type ConfigPath } from './format';
import { MAX_DEPTH, MAX_ERRORS } from './limits';

export interface TextProblem {
  offset: number;
  length: number;
  /** Without position; callers add it as they need. */
  message: string;
  keyword: 'syntax' | 'depth' | 'duplicate';
  path: ConfigPath;
}

export interface ParsedText {
  /** Undefined when the text is empty or nests too deep to parse. */
  root: Node | undefined;
  /** The document as a plain value (keys copied as own properties, so `__proto__` stays a key). */
  value: unknown;
  problems: TextProblem[];
  /** True when problems other than duplicate keys were found. */
  hasSyntaxErrors: boolean;
}

const EXAMPLE = '{ "dataset": { "name": "mnist" } }';

export function parseJsonText(text: string): ParsedText {
  const pre = prescan(text);
  if (pre.fatal) return { root: undefined, value: undefined, problems: [pre.fatal], hasSyntaxErrors: true };

  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { allowTrailingComma: false, disallowComments: false, allowEmptyContent: false });
  const problems: TextProblem[] = [];
  const seen = new Set<number>();
  let previous: ParseError | undefined;
  for (const e of [...errors].sort((a, b) => a.offset - b.offset)) {
    if (problems.length >= MAX_ERRORS) break;
    // `"seed": tru}` also gives "Expected a value" at the `}`: only the first error of a run is news
    const cascade =
      previous?.error === ParseErrorCode.InvalidSymbol && text.slice(previous.offset + previous.length, e.offset).trim() === '';
    previous = e;
    if (cascade) continue;
    const comma = pre.trailingCommas.get(e.offset);
    const trailing = comma !== undefined && (e.error === ParseErrorCode.PropertyNameExpected || e.error === ParseErrorCode.ValueExpected);
    const offset = trailing ? comma : e.offset;
    if (seen.has(offset)) continue;
    seen.add(offset);
    problems.push({
      offset,
      length: trailing ? 1 : e.length,
      message: trailing ? 'Trailing comma is not allowed' : syntaxMessage(e, text),
      keyword: 'syntax',
      path: [],
    });
  }
  const hasSyntaxErrors = problems.length > 0;
  const value = root ? toValue(root, [], problems) : undefined;
  return { root, value, problems, hasSyntaxErrors };
}

interface Prescan {
  fatal?: TextProblem;
  /** offset of a closing `}`/`]` → offset of the comma just before it */
  trailingCommas: Map<number, number>;
}

/** One pass with the (non-recursive) scanner, before the recursive parser may overflow the stack. */
function prescan(text: string): Prescan {
  const scanner = createScanner(text, true);
  const trailingCommas = new Map<number, number>();
  let depth = 0;
  let previous: SyntaxKind = SyntaxKind.EOF;
  let previousOffset = 0;
  let tokens = 0;
  for (let token = scanner.scan(); token !== SyntaxKind.EOF; token = scanner.scan()) {
    tokens++;
    const offset = scanner.getTokenOffset();
    if (token === SyntaxKind.OpenBraceToken || token === SyntaxKind.OpenBracketToken) {
      if (++depth > MAX_DEPTH) {
        const message = `Nesting is deeper than ${MAX_DEPTH} levels; an experiment never needs that many`;
        return { fatal: { offset, length: 1, message, keyword: 'depth', path: [] }, trailingCommas };
      }
    } else if (token === SyntaxKind.CloseBraceToken || token === SyntaxKind.CloseBracketToken) {
      depth = Math.max(0, depth - 1);
      if (previous === SyntaxKind.CommaToken) trailingCommas.set(offset, previousOffset);
    }
    previous = token;
    previousOffset = offset;
  }
  if (tokens === 0) {
    const message = `The file is empty; an experiment is a JSON object such as ${EXAMPLE}`;
    return { fatal: { offset: 0, length: 0, message, keyword: 'syntax', path: [] }, trailingCommas };
  }
  return { trailingCommas };
}

const MESSAGES: Partial<Record<ParseErrorCode, string>> = {
  [ParseErrorCode.InvalidNumberFormat]: 'Invalid number',
  [ParseErrorCode.PropertyNameExpected]: 'Expected a property name in double quotes',
  [ParseErrorCode.ValueExpected]: 'Expected a value',
  [ParseErrorCode.ColonExpected]: 'Expected colon',
  [ParseErrorCode.CommaExpected]: 'Expected comma',
  [ParseErrorCode.CloseBraceExpected]: 'Expected closing brace "}"',
  [ParseErrorCode.CloseBracketExpected]: 'Expected closing bracket "]"',
  [ParseErrorCode.EndOfFileExpected]: 'Expected end of file (the experiment must be a single JSON value)',
  [ParseErrorCode.InvalidCommentToken]: 'Invalid comment',
  [ParseErrorCode.UnexpectedEndOfComment]: 'Unterminated comment',
  [ParseErrorCode.UnexpectedEndOfString]: 'Unterminated string',
  [ParseErrorCode.UnexpectedEndOfNumber]: 'Incomplete number',
  [ParseErrorCode.InvalidUnicode]: 'Invalid unicode escape sequence',
  [ParseErrorCode.InvalidEscapeCharacter]: 'Invalid escape character in string',
  [ParseErrorCode.InvalidCharacter]: 'Invalid character in string (control characters must be escaped)',
};

function syntaxMessage(e: ParseError, text: string): string {
  if (e.error === ParseErrorCode.InvalidSymbol) {
    const symbol = text.slice(e.offset, e.offset + Math.max(1, e.length));
    return `Unexpected ${quote(symbol, 20)} (strings need double quotes; literals are true, false and null)`;
  }
  return MESSAGES[e.error] ?? 'Syntax error';
}

/** The tree as a value; object keys become own properties (never prototype setters). Last duplicate wins. */
function toValue(node: Node, path: ConfigPath, problems: TextProblem[]): unknown {
  switch (node.type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      const seen = new Set<string>();
      for (const prop of node.children ?? []) {
        const [keyNode, valueNode] = prop.children ?? [];
        if (!keyNode || !valueNode || typeof keyNode.value !== 'string') continue;
        const key: string = keyNode.value;
        const childPath = [...path, key];
        if (seen.has(key) && problems.length < MAX_ERRORS) {
          const message = `${formatPath(childPath)} is given more than once`;
          problems.push({ offset: keyNode.offset, length: keyNode.length, message, keyword: 'duplicate', path: childPath });
        }
        seen.add(key);
        Object.defineProperty(out, key, {
          value: toValue(valueNode, childPath, problems),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
    case 'array':
      return (node.children ?? []).map((child, i) => toValue(child, [...path, i], problems));
    default:
      return node.value;
  }
}
