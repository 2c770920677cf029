/**
 * The Download Dataset command's logic (pure: no VS Code imports, unit-tested): the datasets offered, the
 * progress notification's text and increments, the `dataset` block to copy and the experiment text with
 * that block put in (comments and the block's other fields kept).
 */
import { applyEdits, modify, parseTree } from 'jsonc-parser';
import * as path from 'path';
import { type DownloadDatasetName, type DownloadProgressParams, type DownloadedDatasetBlock } from '../common/protocol';

export interface DownloadChoice {
  name: DownloadDatasetName;
  label: string;
  description: string;
  detail: string;
}

/** The quick pick's items, one per downloadable dataset (sizes of the official files). */
export const DOWNLOAD_CHOICES: readonly DownloadChoice[] = [
  {
    name: 'cifar-10',
    label: 'CIFAR-10',
    description: 'about 162 MB',
    detail: '60,000 32x32 colour images in 10 classes: the binary version from www.cs.toronto.edu/~kriz',
  },
  {
    name: 'cifar-100',
    label: 'CIFAR-100',
    description: 'about 161 MB',
    detail: '60,000 32x32 colour images, 100 fine / 20 coarse classes: the binary version from www.cs.toronto.edu/~kriz',
  },
  {
    name: 'svhn',
    label: 'SVHN',
    description: 'about 235 MB (with extra: 1.5 GB)',
    detail: 'street-view house-number digits, 32x32 crops: train_32x32.mat, test_32x32.mat (and extra_32x32.mat) from ufldl.stanford.edu',
  },
];

const MB = 1024 * 1024;
const mb = (b: number) => (b / MB).toFixed(1);

/**
 * Turns downloadProgress notifications into withProgress reports: a message and the increment (in percent
 * of the whole download; each file an equal share) since the last report.
 */
export class DownloadProgressSteps {
  private done = 0;

  step(p: DownloadProgressParams): { message: string; increment: number } {
    const of = p.fileCount > 1 ? ` (${p.fileIndex + 1}/${p.fileCount})` : '';
    if (p.phase === 'unpack') return { message: `unpacking ${p.file}…`, increment: this.advance(100) };
    const frac = p.totalBytes ? Math.min(1, p.receivedBytes / p.totalBytes) : 0;
    const share = 100 / Math.max(1, p.fileCount);
    const size = p.totalBytes ? `${mb(p.receivedBytes)} of ${mb(p.totalBytes)} MB` : `${mb(p.receivedBytes)} MB`;
    return { message: `${p.file}${of}: ${size}`, increment: this.advance((p.fileIndex + frac) * share) };
  }

  /** Moves to `percent` (never back, never past 100); answers the increment. */
  private advance(percent: number): number {
    const to = Math.min(100, Math.max(this.done, percent));
    const inc = to - this.done;
    this.done = to;
    return inc;
  }
}

/**
 * The block as an experiment file would hold it: `path` relative to the experiment file's folder when one
 * is given (relative paths resolve against it) and on the same drive, else absolute; `/` separators.
 */
export function datasetBlockFor(block: DownloadedDatasetBlock, experimentFile?: string): DownloadedDatasetBlock {
  if (!experimentFile) return block;
  const rel = path.relative(path.dirname(experimentFile), block.path);
  if (!rel || path.isAbsolute(rel)) return block;
  return { ...block, path: rel.split(path.sep).join('/') };
}

/** `"dataset": {"name": "cifar-10", "path": "data/cifar-10-batches-bin"}` */
export function datasetBlockText(block: DownloadedDatasetBlock): string {
  const fields = Object.entries(block).map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`);
  return `"dataset": {${fields.join(', ')}}`;
}

/**
 * The experiment text with `dataset.name`, `dataset.path` (and `extra`) set to the block's, the dataset's
 * other fields and the file's comments kept; undefined when the text is not a JSON object.
 */
export function withDataset(text: string, block: DownloadedDatasetBlock, tabSize = 2): string | undefined {
  const root = parseTree(text);
  if (root?.type !== 'object') return undefined;
  const formattingOptions = { insertSpaces: true, tabSize, eol: text.includes('\r\n') ? '\r\n' : '\n' };
  const dataset = root.children?.find((p) => p.children?.[0]?.value === 'dataset')?.children?.[1];
  if (dataset?.type !== 'object') return applyEdits(text, modify(text, ['dataset'], { ...block }, { formattingOptions }));
  let out = text;
  for (const key of ['name', 'path', 'extra'] as const) {
    out = applyEdits(out, modify(out, ['dataset', key], block[key], { formattingOptions }));
  }
  return out;
}
