/**
 * Language features for `*.growth.json` beyond the schema (pure: no connection, unit-tested with
 * exact ranges): completion of dataset names and growth methods, hover docs from the schema,
 * semantic diagnostics (a method that cannot grow the model, a budget that is never met, a missing
 * csv file) and the "Start experiment" CodeLens.
 */
import * as path from 'path';
import { findNodeAtLocation, findNodeAtOffset, getLocation, parseTree, type Node } from 'jsonc-parser';
import type { CodeLens, CompletionItem, Diagnostic, Hover, Range } from 'vscode-languageserver';
import { TextDocument } from 'vscode-languageserver-textdocument';
import type { DatasetName, ExperimentConfig, GrowthMethodInfo } from '../../common/protocol';
import { DATASET_NAMES } from '../../common/protocol';
import { DIAGNOSTIC_SOURCE } from '../config/diagnostics';
import { validateExperiment } from '../config/validate';
import { growthMethods } from '../growth';
import type { GrowableModel } from '../model/growable';
import { architectureOf, specFromConfig, type ModelSpec } from '../model/spec';
import { markdownText, schemaForPath, schemaMarkdown } from './schemaDocs';

const WARNING = 2 as const;
const COMPLETION_VALUE = 12 as const; // CompletionItemKind.Value
const COMPLETION_ENUM_MEMBER = 20 as const; // CompletionItemKind.EnumMember
const MARKDOWN = 'markdown' as const;

/** The command the CodeLens runs (the extension's growthLab.startExperiment). */
export const START_EXPERIMENT_COMMAND = 'growthLab.startExperiment';

const doc = (text: string) => TextDocument.create('growth-lab:experiment', 'jsonc', 0, text);

function nodeRange(d: TextDocument, n: Node): Range {
  return { start: d.positionAt(n.offset), end: d.positionAt(n.offset + n.length) };
}

function parse(text: string): { root: Node | undefined; value: unknown } {
  const root = parseTree(text, [], { allowTrailingComma: true, disallowComments: false });
  let value: unknown;
  try {
    value = root ? nodeValue(root) : undefined;
  } catch {
    value = undefined;
  }
  return { root, value };
}

function nodeValue(n: Node): unknown {
  switch (n.type) {
    case 'object': {
      const o: Record<string, unknown> = {};
      for (const p of n.children ?? []) {
        const [k, v] = p.children ?? [];
        if (k && typeof k.value === 'string') o[k.value] = v ? nodeValue(v) : undefined;
      }
      return o;
    }
    case 'array':
      return (n.children ?? []).map(nodeValue);
    default:
      return n.value;
  }
}

// ---------------------------------------------------------------------------------------------
// Completion
// ---------------------------------------------------------------------------------------------

export interface LanguageContext {
  /** Grow (and prune) methods with descriptions: growthMethods() by default. */
  methods?: readonly GrowthMethodInfo[];
  /** Datasets that cannot load on this machine, with the reason. */
  unavailableDatasets?: ReadonlyMap<string, string>;
}

const DATASET_DOCS: Record<DatasetName, string> = {
  mnist: 'MNIST handwritten digits: 28×28 grey images, 10 classes (60,000 train / 10,000 test).',
  'fashion-mnist': 'Fashion-MNIST: 28×28 grey images of clothing, 10 classes (60,000 train / 10,000 test).',
  'rbf-toy': "A small synthetic regression problem generated from the seed (the Firefly paper's toy network, App. B.1); quick to train.",
  csv: 'Your own CSV file (set `path`); one row per example, one column holds the label.',
  'cifar-10':
    'CIFAR-10 from the official binary files (set `path` to the folder with `data_batch_1..5.bin`, `test_batch.bin`): 32×32 colour images, 10 classes (50,000 train / 10,000 test).',
  'cifar-100':
    'CIFAR-100 from the official binary files (set `path` to the folder with `train.bin`, `test.bin`): 32×32 colour images, 100 fine or 20 coarse classes (`label`).',
  svhn: 'SVHN cropped digits from the official `train_32x32.mat` / `test_32x32.mat` (set `path` to their folder; `extra` adds `extra_32x32.mat`): 32×32 colour, 10 classes.',
  npz: 'A NumPy `.npz` file of your own (set `path`): arrays `x` (images [N, C, H, W], or [N, H, W, C] with `layout: "nhwc"`; uint8 or float32) and `y` (class indices); `testPath` or `testFraction` for the test set.',
  'image-folder':
    'Your own images (set `path`): one subfolder per class of `.png`, `.jpg`, `.jpeg` or `.webp` files, resized and centre-cropped to `size`; a `test` subfolder or `testFraction` for the test set.',
};

function methodInfos(ctx: LanguageContext): GrowthMethodInfo[] {
  return [...(ctx.methods ?? growthMethods().map((m) => ({ name: m.name, kind: m.kind, description: m.description })))];
}

/**
 * Completions at `offset`: dataset names in `dataset.name`, growth methods in `growth.method`,
 * prune methods in a `method` inside `growth.options`... Each replaces the string under the cursor
 * (quotes included) or inserts a quoted value.
 */
export function experimentCompletions(text: string, offset: number, ctx: LanguageContext = {}): CompletionItem[] {
  const loc = getLocation(text, offset);
  if (loc.isAtPropertyKey) return [];
  const p = loc.path;
  const d = doc(text);
  const root = parseTree(text, [], { allowTrailingComma: true });
  const at = root ? findNodeAtOffset(root, offset, true) : undefined;
  const replace: Range =
    at &&
    (at.type === 'string' || at.type === 'number' || at.type === 'boolean' || at.type === 'null') &&
    at.parent?.type === 'property' &&
    at.parent.children?.[1] === at
      ? nodeRange(d, at)
      : { start: d.positionAt(offset), end: d.positionAt(offset) };
  const item = (
    label: string,
    documentation: string,
    detail: string,
    sortText: string,
    kind: CompletionItem['kind'] = COMPLETION_VALUE,
  ): CompletionItem => ({
    label,
    kind,
    detail,
    sortText,
    documentation: { kind: MARKDOWN, value: documentation },
    textEdit: { range: replace, newText: JSON.stringify(label) },
    filterText: JSON.stringify(label),
  });
  if (p.length === 2 && p[0] === 'dataset' && p[1] === 'name') {
    return DATASET_NAMES.map((name, i) => {
      const why = ctx.unavailableDatasets?.get(name);
      return item(
        name,
        DATASET_DOCS[name] + (why ? `\n\n⚠ Not available here: ${markdownText(why)}` : ''),
        why ? 'dataset (unavailable)' : 'dataset',
        `${i}`,
        COMPLETION_ENUM_MEMBER,
      );
    });
  }
  if (p.length === 2 && p[0] === 'growth' && p[1] === 'method') {
    const grow = methodInfos(ctx).filter((m) => m.kind === 'grow');
    return [
      ...grow.map((m, i) => item(m.name, m.description, 'growth method', `${String(i).padStart(2, '0')}`, COMPLETION_ENUM_MEMBER)),
      item(
        'none',
        'Never grow (train the starting network only); manual grows still work.',
        'no scheduled growth',
        '99',
        COMPLETION_ENUM_MEMBER,
      ),
    ];
  }
  return [];
}

// ---------------------------------------------------------------------------------------------
// Hover
// ---------------------------------------------------------------------------------------------

/** Hover docs for the property (key or value) at `offset`, from the schema's descriptions. */
export function experimentHover(text: string, offset: number): Hover | undefined {
  const { root, value } = parse(text);
  if (!root) return undefined;
  const at = findNodeAtOffset(root, offset, true);
  if (!at) return undefined;
  // The property node this offset is about: its key, or its (scalar) value.
  let prop: Node | undefined;
  if (at.parent?.type === 'property') prop = at.parent;
  if (!prop) return undefined;
  const key = prop.children?.[0];
  const val = prop.children?.[1];
  if (!key || typeof key.value !== 'string') return undefined;
  const loc = getLocation(text, key.offset + 1);
  const p = [...loc.path.slice(0, -1), key.value];
  const schema = schemaForPath(value, p);
  if (!schema) return undefined;
  const onValue = at === val && val !== undefined && val.type !== 'object' && val.type !== 'array';
  const md = schemaMarkdown(schema, p.join('.'), onValue ? val!.value : undefined);
  if (!md) return undefined;
  const d = doc(text);
  let contents = md;
  if (onValue && p.length === 2 && p[0] === 'growth' && p[1] === 'method' && typeof val!.value === 'string') {
    const info = methodInfos({}).find((m) => m.name === val!.value);
    if (info) contents = `**growth.method**: \`${info.name}\`\n\n${info.description}`;
  }
  return { contents: { kind: MARKDOWN, value: contents }, range: nodeRange(d, onValue ? val! : key) };
}

// ---------------------------------------------------------------------------------------------
// Diagnostics beyond the schema
// ---------------------------------------------------------------------------------------------

export interface SemanticOptions {
  /** Absolute path of the experiment file (relative dataset paths resolve against its folder). */
  filePath?: string;
  /** Whether a file exists (injected for tests); default fs.existsSync. */
  fileExists?(absolutePath: string): boolean;
  /** Default experiment name (from the file name), for validation. */
  name?: string;
}

const INPUT_SHAPES: Partial<Record<DatasetName, { inputShape: number[]; task: ModelSpec['task']; outputs: number }>> = {
  mnist: { inputShape: [1, 28, 28], task: 'classification', outputs: 10 },
  'fashion-mnist': { inputShape: [1, 28, 28], task: 'classification', outputs: 10 },
  'rbf-toy': { inputShape: [1], task: 'regression', outputs: 1 },
  'cifar-10': { inputShape: [3, 32, 32], task: 'classification', outputs: 10 },
  'cifar-100': { inputShape: [3, 32, 32], task: 'classification', outputs: 100 },
  svhn: { inputShape: [3, 32, 32], task: 'classification', outputs: 10 },
};

/** What `dataset.path` (and `testPath`) name, for the datasets read from disk. */
const DISK_PATHS: Partial<Record<DatasetName, { what: string; keys: readonly ('path' | 'testPath')[] }>> = {
  csv: { what: 'csv file', keys: ['path', 'testPath'] },
  npz: { what: 'npz file', keys: ['path', 'testPath'] },
  'cifar-10': { what: 'cifar-10 folder', keys: ['path'] },
  'cifar-100': { what: 'cifar-100 folder', keys: ['path'] },
  svhn: { what: 'svhn folder', keys: ['path'] },
  'image-folder': { what: 'image folder', keys: ['path'] },
};

/** The starting model's spec when it can be known without data (not csv, not `init: {from}`). */
export function specWithoutData(cfg: ExperimentConfig): ModelSpec | undefined {
  const shape = INPUT_SHAPES[cfg.dataset.name];
  if (!shape || typeof cfg.model.init !== 'string') return undefined;
  try {
    const outputs = cfg.dataset.name === 'cifar-100' && cfg.dataset.label === 'coarse' ? 20 : shape.outputs;
    return specFromConfig(cfg.model, shape.inputShape, shape.task, outputs);
  } catch {
    return undefined;
  }
}

/**
 * Problems the schema cannot see: the growth method cannot grow this model (its `unsupported()`),
 * `growth.maxParams` at or below the starting model's size (no scheduled grow ever happens), a
 * dataset `path` / `testPath` (csv, npz, cifar, svhn, image folder) that does not exist. Warnings, at the value they are about; none while the
 * file has schema errors (those are reported already).
 */
export function experimentSemanticDiagnostics(text: string, opts: SemanticOptions = {}): Diagnostic[] {
  const { root, value } = parse(text);
  if (!root) return [];
  const result = validateExperiment(value, { name: opts.name ?? 'experiment' });
  if (!result.ok) return [];
  const cfg = result.config;
  const d = doc(text);
  const out: Diagnostic[] = [];
  const warn = (p: (string | number)[], message: string, code: string) => {
    const n = findNodeAtLocation(root, p);
    if (!n) return;
    out.push({ range: nodeRange(d, n), severity: WARNING, source: DIAGNOSTIC_SOURCE, message, code });
  };

  const disk = DISK_PATHS[cfg.dataset.name];
  if (disk && opts.filePath) {
    const exists = opts.fileExists ?? ((f: string) => require('fs').existsSync(f));
    const base = path.dirname(opts.filePath);
    for (const key of disk.keys) {
      const rel = cfg.dataset[key];
      if (typeof rel !== 'string') continue;
      const abs = path.resolve(base, rel);
      if (!exists(abs)) warn(['dataset', key], `The ${disk.what} ${rel} does not exist (looked for ${abs}).`, 'missingFile');
    }
  }

  const spec = specWithoutData(cfg);
  const growth = cfg.growth;
  if (spec && growth && growth.method !== 'none') {
    const method = growthMethods().find((m) => m.name === growth.method);
    // The methods' unsupported() read the spec only; a stand-in avoids allocating the weights.
    const reason = method?.unsupported?.({ spec } as unknown as GrowableModel);
    if (reason) warn(['growth', 'method'], `${growth.method} cannot grow this model: ${reason}.`, 'unsupportedMethod');
    let params: number | undefined;
    try {
      params = architectureOf(spec).params;
    } catch {
      params = undefined;
    }
    if (params !== undefined && growth.maxParams !== undefined && growth.maxParams <= params) {
      warn(
        ['growth', 'maxParams'],
        `The starting model already has ${params.toLocaleString('en-US')} parameters, so maxParams ${growth.maxParams.toLocaleString('en-US')} stops every scheduled grow.`,
        'budgetNeverMet',
      );
    }
    const hasSchedule = growth.schedule.every !== undefined || growth.schedule.plateau !== undefined;
    if (hasSchedule && growth.schedule.every !== undefined && growth.schedule.every >= cfg.training.epochs) {
      warn(
        ['growth', 'schedule', 'every'],
        `Grows come after every ${growth.schedule.every} epochs but training has ${cfg.training.epochs}: no scheduled grow happens before the last epoch.`,
        'scheduleNeverDue',
      );
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// CodeLens
// ---------------------------------------------------------------------------------------------

/** "▶ Start experiment" above the file's first line, running growthLab.startExperiment on its URI. */
export function experimentCodeLenses(text: string, uri: string): CodeLens[] {
  const { root } = parse(text);
  const d = doc(text);
  const at = root ? d.positionAt(root.offset) : { line: 0, character: 0 };
  const range: Range = { start: { line: at.line, character: 0 }, end: { line: at.line, character: 0 } };
  return [{ range, command: { title: '$(play) Start experiment', command: START_EXPERIMENT_COMMAND, arguments: [uri] } }];
}
