/**
 * growth-lab export <runId | run folder> --format tfjs|onnx|pytorch|json [--out DIR] [--force] [--runs DIR] [--json]
 * Exports a run's latest checkpoint through the run manager's export, as the backend's `export` request
 * does (exit 0; 2 usage; 1 the export failed, e.g. files exist without --force).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EXPORT_FORMATS, ErrorCodes, Methods, type ExportFormat } from '../../common/protocol';
import { isValidRunId } from '../runs';
import { RunManager } from '../runManager';
import { toRequestError } from '../requestErrors';
import { ExportError, isExportFormat } from './index';

export const EXPORT_USAGE = `  growth-lab export <runId | run folder> --format ${EXPORT_FORMATS.join('|')} [--out DIR] [--force] [--runs DIR] [--json]
      Export a run's model (its latest checkpoint) to DIR (default: <runs DIR>/exports/<runId>/).
      tfjs: model.json + group1-shard1of1.bin; onnx: model.onnx; pytorch: model.py + weights.npz +
      architecture.json; json: architecture.json; torchrun: the pytorch files + train.py (DDP retraining
      with torchrun), job.json, data.npz, README.md. --runs: the folder holding runs/ (default ./.growth-lab).
      Existing files are kept unless --force.`;

interface ExportArgs {
  run: string;
  format: ExportFormat;
  out?: string;
  force: boolean;
  runs?: string;
  json: boolean;
}

function parse(args: string[]): ExportArgs | string {
  let run: string | undefined, format: string | undefined, out: string | undefined, runs: string | undefined;
  let force = false,
    json = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = (name: string): string | undefined => {
      if (a.startsWith(`${name}=`)) return a.slice(name.length + 1);
      const v = args[++i];
      return v === undefined || v.startsWith('--') ? undefined : v;
    };
    if (a === '--force') force = true;
    else if (a === '--json') json = true;
    else if (a === '--format' || a.startsWith('--format=')) {
      format = value('--format');
      if (!format) return '--format needs a value';
    } else if (a === '--out' || a.startsWith('--out=')) {
      out = value('--out');
      if (!out) return '--out needs a folder';
    } else if (a === '--runs' || a.startsWith('--runs=')) {
      runs = value('--runs');
      if (!runs) return '--runs needs a folder';
    } else if (a.startsWith('-')) return `unknown option ${a}`;
    else if (run) return `unexpected argument ${a}`;
    else run = a;
  }
  if (!run) return 'export needs a run id or a run folder';
  if (!format) return `export needs --format (${EXPORT_FORMATS.join(', ')})`;
  if (!isExportFormat(format)) return `unknown format "${format}" (formats: ${EXPORT_FORMATS.join(', ')})`;
  return { run, format, out, force, runs, json };
}

/** A run folder (…/runs/<id>) or a run id in `runs` (default ./.growth-lab): the folder holding runs/, and the id. */
function locate(run: string, runs: string | undefined): { outDir: string; runId: string } | string {
  const asDir = path.resolve(run);
  const looksLikePath = run.includes('/') || run.includes(path.sep) || run === '.' || run === '..';
  if (
    looksLikePath ||
    (fs.existsSync(asDir) &&
      fs.statSync(asDir).isDirectory() &&
      (fs.existsSync(path.join(asDir, 'config.json')) || fs.existsSync(path.join(asDir, 'events.jsonl'))))
  ) {
    const runId = path.basename(asDir);
    if (path.basename(path.dirname(asDir)) !== 'runs') return `${asDir} is not a run folder (expected …/runs/<runId>)`;
    if (!isValidRunId(runId)) return `${asDir} is not a run folder (invalid run id)`;
    return { outDir: path.dirname(path.dirname(asDir)), runId };
  }
  if (!isValidRunId(run)) return `invalid run id "${run}"`;
  return { outDir: path.resolve(runs ?? path.join(process.cwd(), '.growth-lab')), runId: run };
}

export async function exportCommand(args: string[], io = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const parsed = parse(args);
  if (typeof parsed === 'string') {
    io.stderr.write(`growth-lab export: ${parsed}\n\nUsage:\n${EXPORT_USAGE}\n`);
    return 2;
  }
  const where = locate(parsed.run, parsed.runs);
  if (typeof where === 'string') {
    io.stderr.write(`growth-lab export: ${where}\n`);
    return 2;
  }
  const { outDir, runId } = where;
  const manager = new RunManager(outDir, { metrics: () => undefined, status: () => undefined, grow: () => undefined });
  try {
    const { result, origin } = await manager.exportWithOrigin({
      runId,
      format: parsed.format,
      path: parsed.out ? path.resolve(parsed.out) : undefined,
      force: parsed.force,
    });
    if (parsed.json) io.stdout.write(`${JSON.stringify({ ...result, runId, source: origin })}\n`);
    else {
      const from = origin.file
        ? `checkpoint ${origin.file}${origin.epoch !== undefined ? `, epoch ${origin.epoch}` : ''}`
        : 'the live model';
      io.stdout.write(
        `exported run ${runId} (${from}) as ${parsed.format} to ${result.dir}:\n${result.files.map((f) => `  ${path.basename(f)}`).join('\n')}\n`,
      );
    }
    return 0;
  } catch (e) {
    if (e instanceof ExportError && e.kind === 'exists') {
      io.stderr.write(`growth-lab export: ${e.message}; add --force to overwrite\n`);
      return 1;
    }
    const err = toRequestError(e, Methods.export);
    if (err.code === ErrorCodes.internal) throw e;
    io.stderr.write(`growth-lab export: ${err.message}\n`);
    return 1;
  }
}
