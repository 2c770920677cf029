/**
 * growth-lab: the command line.
 *   growth-lab run <file.growth.json> [--out DIR] [--json]   train headless (exit 0 ok, 2 invalid experiment, 1 failed run)
 *   growth-lab export <runId|run dir> --format F [--out DIR]  export a run's model (server/export/cli.ts)
 *   growth-lab data download <dataset> [--to DIR]               fetch CIFAR-10/100 or SVHN (server/datasets/download/cli.ts)
 *   growth-lab serve                                          the stdio backend the extension spawns
 * `run` and `export` go through the same RunManager as the stdio backend (same defaults, capacity checks,
 * event stream, checkpoints and error mapping).
 */
import * as fs from 'fs';
import * as path from 'path';
import type { GrowEventParams, MetricsParams, RunStatusParams } from '../common/protocol';
import { ErrorCodes, Methods } from '../common/protocol';
import { parseExperimentText } from './config/diagnostics';
import { experimentNameFromPath } from './config/defaults';
import { formatErrors } from './config/validate';
import { parseJsonText } from './config/jsonText';
import type { ExperimentRun, RunSummaryResult } from './training/experiment';
import { RunManager } from './runManager';
import { toRequestError } from './requestErrors';
import { keepStdoutClean, runServer } from './server';
import { ProgressPrinter } from './progress';
import { EXPORT_USAGE, exportCommand } from './export/cli';
import { DATA_USAGE, dataCommand } from './datasets/download/cli';

export const EXIT = { ok: 0, failed: 1, invalid: 2, interrupted: 130 } as const;

const USAGE = `Usage:
  growth-lab run <file.growth.json> [--out DIR] [--json]
      Train the experiment. Runs are kept in DIR/runs/<runId>/ (default: ./.growth-lab).
      --json   one JSON event per line (type: metrics | status | grow | summary)
${EXPORT_USAGE}
${DATA_USAGE}
  growth-lab serve
      Start the JSON-RPC backend on stdio (what the VS Code extension spawns).
Exit codes: 0 success, 1 the run failed, 2 invalid experiment or usage, 130 interrupted.`;

interface RunArgs {
  file: string;
  out: string;
  json: boolean;
}

function parseRunArgs(args: string[]): RunArgs | string {
  let file: string | undefined,
    out: string | undefined,
    json = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--json') json = true;
    else if (a === '--out') {
      out = args[++i];
      if (!out) return '--out needs a folder';
    } else if (a.startsWith('--out=')) out = a.slice(6);
    else if (a.startsWith('-')) return `unknown option ${a}`;
    else if (file) return `unexpected argument ${a}`;
    else file = a;
  }
  if (!file) return 'run needs an experiment file';
  return { file, out: out ?? path.join(process.cwd(), '.growth-lab'), json };
}

export async function runCommand(args: string[], io = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const parsed = parseRunArgs(args);
  if (typeof parsed === 'string') {
    io.stderr.write(`growth-lab run: ${parsed}\n\n${USAGE}\n`);
    return EXIT.invalid;
  }
  const file = path.resolve(parsed.file);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    io.stderr.write(`growth-lab run: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
    return EXIT.invalid;
  }
  // The file's own syntax and schema errors, with line:column; the run manager validates the same value again.
  const v = parseExperimentText(text, { name: experimentNameFromPath(file) });
  if (!v.ok) {
    io.stderr.write(`growth-lab run: invalid experiment ${file}:\n${formatErrors(v.errors)}\n`);
    return EXIT.invalid;
  }
  const out = path.resolve(parsed.out);
  const printer = new ProgressPrinter(io.stdout, parsed.json, v.config.training.epochs);
  const emit = (obj: object) => io.stdout.write(JSON.stringify(obj) + '\n');
  const manager = new RunManager(out, {
    metrics: (m: MetricsParams) => (parsed.json ? emit({ type: 'metrics', ...m }) : printer.metrics(m)),
    status: (s: RunStatusParams) => (parsed.json ? emit({ type: 'status', ...s }) : printer.status(s)),
    grow: (e: GrowEventParams) => (parsed.json ? emit({ type: 'grow', ...e }) : printer.grow(e)),
  });
  let run: ExperimentRun;
  try {
    run = manager.start({ config: parseJsonText(text).value, configPath: file });
  } catch (e) {
    const err = toRequestError(e, Methods.startExperiment);
    if (err.code === ErrorCodes.internal) throw e;
    io.stderr.write(`growth-lab run: ${err.message}\n`);
    return err.code === ErrorCodes.invalidExperiment ? EXIT.invalid : EXIT.failed;
  }
  const onSigint = () => {
    if (run.active) manager.control(run.runId, 'stop');
  };
  process.on('SIGINT', onSigint);
  let summary: RunSummaryResult;
  try {
    summary = await run.start();
  } finally {
    process.off('SIGINT', onSigint);
  }
  if (parsed.json) {
    emit({
      type: 'summary',
      runId: summary.runId,
      status: summary.status,
      message: summary.message,
      finalTestAccuracy: summary.finalTestAccuracy,
      finalTestLoss: summary.finalTestLoss,
      finalTrainLoss: summary.finalTrainLoss,
      params: summary.params,
      architecture: summary.architecture,
      growEvents: summary.growEvents,
      engine: summary.engine,
      executionProvider: summary.executionProvider,
      wallMs: summary.wallMs,
      runDir: path.join(out, 'runs', summary.runId),
    });
  } else printer.summary(summary, path.join(out, 'runs', summary.runId));
  if (summary.status === 'completed') return EXIT.ok;
  if (summary.status === 'stopped') return EXIT.interrupted;
  if (!parsed.json) io.stderr.write(`growth-lab run: ${summary.message ?? 'the run failed'}\n`);
  return EXIT.failed;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === 'serve') {
    runServer();
    return -1; // keeps running
  }
  if (cmd === 'run') {
    keepStdoutClean();
    return runCommand(rest);
  }
  if (cmd === 'export') {
    keepStdoutClean();
    return exportCommand(rest);
  }
  if (cmd === 'data') {
    keepStdoutClean();
    return dataCommand(rest);
  }
  if (cmd === '--version' || cmd === '-v') {
    process.stdout.write(`${require('../package.json').version}\n`);
    return EXIT.ok;
  }
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(USAGE + '\n');
    return cmd ? EXIT.ok : EXIT.invalid;
  }
  process.stderr.write(`growth-lab: unknown command "${cmd}"\n\n${USAGE}\n`);
  return EXIT.invalid;
}

/** Run the command line from process.argv and set the exit code (bin/growth-lab.js calls this). */
export function cliMain(): void {
  main(process.argv.slice(2)).then(
    (code) => {
      if (code >= 0) process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`growth-lab: ${(e as Error).stack ?? e}\n`);
      process.exitCode = EXIT.failed;
    },
  );
}

if (require.main === module) cliMain();
