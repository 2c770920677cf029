/**
 * growth-lab data download cifar-10|cifar-100|svhn [--to DIR] [--extra] [--force]
 * Progress and messages go to stderr (a bar on a terminal); stdout gets only the `dataset` block to paste
 * into an experiment file. Exit 0 (also when a complete copy is already there), 1 the download failed,
 * 2 usage, 130 interrupted (Ctrl-C: the temporary files are removed first).
 */
import * as path from 'path';
import { DOWNLOAD_DATASETS } from '../../../common/protocol';
import { downloadDataset } from './download';
import { DownloadError } from './errors';
import { DownloadProgressBar } from './progressBar';
import { MIRROR_ENV, isDownloadName } from './sources';

export const DATA_USAGE = `  growth-lab data download ${DOWNLOAD_DATASETS.join('|')} [--to DIR] [--extra] [--force]
      Fetch the official files (CIFAR binary archives, SVHN cropped digits), check their md5 and unpack
      them into DIR (default ./data): DIR/cifar-10-batches-bin, DIR/cifar-100-binary or DIR/svhn. Prints the
      "dataset" block for an experiment file. --extra: svhn's extra_32x32.mat too (1.3 GB). A complete copy
      is kept unless --force. ${MIRROR_ENV}=URL fetches from a mirror with the same file names.`;

interface DataArgs {
  name: string;
  to: string;
  extra: boolean;
  force: boolean;
}

function parse(args: string[]): DataArgs | string {
  const [sub, ...rest] = args;
  if (sub !== 'download') return sub ? `unknown data command "${sub}" (want download)` : 'data needs a command (download)';
  let name: string | undefined,
    to: string | undefined,
    extra = false,
    force = false;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === '--extra') extra = true;
    else if (a === '--force') force = true;
    else if (a === '--to' || a.startsWith('--to=')) {
      to = a === '--to' ? rest[++i] : a.slice(5);
      if (!to || to.startsWith('--')) return '--to needs a folder';
    } else if (a.startsWith('-')) return `unknown option ${a}`;
    else if (name) return `unexpected argument ${a}`;
    else name = a;
  }
  if (!name) return `data download needs a dataset (${DOWNLOAD_DATASETS.join(', ')})`;
  if (!isDownloadName(name)) return `unknown dataset "${name}" (want ${DOWNLOAD_DATASETS.join(', ')})`;
  if (extra && name !== 'svhn') return '--extra applies to svhn only';
  return { name, to: to ?? 'data', extra, force };
}

export interface DataIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

export async function dataCommand(args: string[], io: DataIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const parsed = parse(args);
  if (typeof parsed === 'string') {
    io.stderr.write(`growth-lab data: ${parsed}\n\nUsage:\n${DATA_USAGE}\n`);
    return 2;
  }
  const bar = new DownloadProgressBar(io.stderr);
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.on('SIGINT', onSigint);
  try {
    const r = await downloadDataset({
      name: parsed.name,
      to: path.resolve(parsed.to),
      extra: parsed.extra,
      force: parsed.force,
      signal: abort.signal,
      onProgress: (p) => bar.update(p),
    });
    bar.line(
      r.downloaded
        ? `${r.name}: downloaded into ${r.path}`
        : `${r.name}: a complete copy is already in ${r.path} (--force downloads it again)`,
    );
    bar.line('Paste into your experiment file ("path" may also be relative to the experiment file):');
    io.stdout.write(`"dataset": ${datasetBlock(r.dataset)}\n`);
    return 0;
  } catch (e) {
    if (!(e instanceof DownloadError)) throw e;
    bar.line(`growth-lab data download: ${parsed.name}: ${e.message}`);
    return e.kind === 'cancelled' ? 130 : e.kind === 'invalid' ? 2 : 1;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** `{"name": "cifar-10", "path": "/data/cifar-10-batches-bin"}`: one line, as the docs write experiment files. */
export function datasetBlock(d: object): string {
  return `{${Object.entries(d)
    .map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`)
    .join(', ')}}`;
}
