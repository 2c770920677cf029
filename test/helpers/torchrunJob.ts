/**
 * What the torchrun tests and the fixture recorder share: a run trained by the built CLI and exported
 * with --format torchrun, torchrun's own options for Debian's torch, and the run id train.py prints.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const TORCHRUN = '/usr/bin/torchrun';
/** Debian's torch 1.13 under Python 3.11 cannot parse torchrun's default --redirects 0: 1/1 tees stdout. */
export const TORCHRUN_STD = ['--redirects', '1', '--tee', '1'];
const BIN = path.resolve(__dirname, '..', '..', 'bin', 'growth-lab.js');

/** Trains `config` with `growth-lab run` (runs kept in `out`) and exports it with --format torchrun. */
export function trainAndExportTorchrun(
  work: string,
  out: string,
  config: { name: string },
): { runId: string; dir: string; files: string[] } {
  const file = path.join(work, `${config.name}.growth.json`);
  fs.writeFileSync(file, JSON.stringify(config, null, 2));
  const cli = (...args: string[]) => {
    const r = spawnSync(process.execPath, [BIN, ...args], { cwd: work, encoding: 'utf8', timeout: 180000 });
    if (r.status !== 0) throw new Error(`growth-lab ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  };
  const lines = cli('run', file, '--json', '--out', out).trim().split('\n');
  const runId = JSON.parse(lines[lines.length - 1]).runId as string;
  const res = JSON.parse(cli('export', runId, '--format', 'torchrun', '--runs', out, '--json'));
  return { runId, dir: res.dir, files: res.files };
}

/** The run folder train.py reported starting or resuming ("train.py: run <id> started ..."). */
export function jobRunId(output: string): string | undefined {
  return /train\.py: run (\S+) (?:started|resumed)/.exec(output)?.[1];
}
