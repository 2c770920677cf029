/**
 * Real PyTorch for the tests that run generated model.py files: Debian's python3-torch under
 * /usr/bin/python3 (the first python3 on PATH may be another interpreter without it). When it is
 * missing, it is installed with apt (as root); where that cannot be done, the caller skips with the
 * reason returned here. No imitation of torch ever stands in for it.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';

export const PY = '/usr/bin/python3';
const PACKAGES = ['python3-torch', 'libopenblas0-pthread', 'python3-onnx'];

const canImport = (modules: string): boolean =>
  fs.existsSync(PY) && spawnSync(PY, ['-c', `import ${modules}`], { encoding: 'utf8' }).status === 0;

function apt(args: string[]) {
  return spawnSync('apt-get', args, { encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 900_000 });
}

let reason: string | undefined | null = null;

/** Makes torch and numpy importable by PY (installing them once per process if needed); returns why not, or undefined. */
export function ensureTorch(): string | undefined {
  if (reason !== null) return reason;
  if (canImport('torch, numpy')) return (reason = undefined);
  let r = apt(['install', '-y', '-qq', ...PACKAGES]);
  if (!r.error && r.status !== 0) {
    // A fresh machine may have no package lists yet.
    apt(['update', '-qq']);
    r = apt(['install', '-y', '-qq', ...PACKAGES]);
  }
  if (r.error || r.status !== 0)
    return (reason = `PyTorch is not installed for ${PY} and apt-get could not install ${PACKAGES.join(' ')} (${r.error?.message ?? r.stderr.trim().split('\n').pop()}); install them to run this test`);
  return (reason = canImport('torch, numpy') ? undefined : `${PACKAGES[0]} was installed but ${PY} cannot import torch`);
}
