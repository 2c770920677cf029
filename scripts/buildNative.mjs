#!/usr/bin/env node
// Compiles the engine's native kernels (server/engine/native/convWeightGradient.c, a Node-API addon in
// plain C) into dist/native/growth-lab-kernels-<platform>-<arch>.node, which server/engine/nativeKernels.ts
// loads. Linux and macOS only; without a C compiler or Node's headers it says so and exits 0, and the
// engine keeps its onnxruntime forms. A compile error exits 1.
//
// Usage: node scripts/buildNative.mjs [--required] [--force]
//   --required  exit 1 when the addon cannot be built here (GROWTH_LAB_NATIVE=required does the same).
//   --force     compile even when the .node is newer than its sources.
//   CC=...      the compiler (default: the first of cc, gcc, clang found).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const NATIVE_SOURCE = join(ROOT, 'server', 'engine', 'native', 'convWeightGradient.c');
export const NATIVE_DIR = join(ROOT, 'dist', 'native');
export const nativeFile = (platform = process.platform, arch = process.arch) => `growth-lab-kernels-${platform}-${arch}.node`;

// No -march=native: the binary runs on any CPU of its arch and picks its vector path at load time.
// -ffp-contract=fast lets the tiles' a += b * c become FMA instructions (-std=c11 turns that off).
const FLAGS = ['-O3', '-shared', '-fPIC', '-pthread', '-std=c11', '-fvisibility=hidden', '-ffp-contract=fast', '-Wall', '-Wextra'];

const say = (line) => console.log(`build:native: ${line}`);

/** Node's headers (node_api.h): next to this node's install, else Debian's nodejs-dev location. */
function nodeIncludeDir() {
  const candidates = [join(dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node'];
  return candidates.find((dir) => existsSync(join(dir, 'node_api.h')));
}

/** The compiler command ($CC split on spaces, e.g. "ccache gcc"), or the first of cc, gcc, clang that runs. */
function compiler() {
  const given = process.env.CC?.trim();
  const candidates = given ? [given.split(/\s+/)] : [['cc'], ['gcc'], ['clang']];
  return candidates.find(([cmd, ...args]) => spawnSync(cmd, [...args, '--version'], { stdio: 'ignore' }).status === 0);
}

/**
 * Builds the addon unless it is up to date. Returns 'built', 'fresh' or 'skipped' (no compiler or
 * headers, or Windows: printed); throws when the compiler fails, or when `required` and it was skipped.
 */
export function buildNative({ required = false, force = false } = {}) {
  const out = join(NATIVE_DIR, nativeFile());
  const rel = relative(ROOT, out);
  const skip = (why) => {
    const line = `${why}; not building ${rel} (the engine will use its onnxruntime forms)`;
    if (required) throw new Error(line);
    say(line);
    return 'skipped';
  };
  if (process.platform !== 'linux' && process.platform !== 'darwin')
    return skip(`${process.platform} is not supported (Linux and macOS are)`);
  const newest = Math.max(statSync(NATIVE_SOURCE).mtimeMs, statSync(fileURLToPath(import.meta.url)).mtimeMs);
  if (!force && existsSync(out) && statSync(out).mtimeMs > newest) {
    say(`${rel} is up to date`);
    return 'fresh';
  }
  const include = nodeIncludeDir();
  if (!include) return skip(`no node_api.h next to ${process.execPath} or in /usr/include/node (install Node's headers)`);
  const cc = compiler();
  if (!cc) return skip(process.env.CC ? `CC=${process.env.CC} does not run` : 'no C compiler found (cc, gcc or clang; or set CC)');

  mkdirSync(NATIVE_DIR, { recursive: true });
  // Written beside the target and renamed, so that a failed compile leaves no half-written .node.
  const partial = `${out}.${process.pid}.tmp`;
  const [cmd, ...ccArgs] = cc;
  const args = [...ccArgs, ...FLAGS, `-I${include}`];
  if (process.platform === 'darwin') args.push('-undefined', 'dynamic_lookup');
  args.push('-o', partial, NATIVE_SOURCE);
  const res = spawnSync(cmd, args, { encoding: 'utf8' });
  if (res.stdout) process.stdout.write(res.stdout);
  if (res.stderr) process.stderr.write(res.stderr);
  if (res.status !== 0) {
    rmSync(partial, { force: true });
    throw new Error(
      `${cmd} ${args.map((a) => (a.startsWith(ROOT) ? relative(ROOT, a) : a)).join(' ')} exited with ${res.status ?? res.signal}`,
    );
  }
  renameSync(partial, out);
  say(`${rel} (${(statSync(out).size / 1024).toFixed(0)} KiB, ${cmd})`);
  return 'built';
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const args = new Set(process.argv.slice(2));
  const unknown = [...args].filter((a) => a !== '--required' && a !== '--force');
  if (unknown.length) {
    say(`unknown argument ${unknown[0]} (--required, --force)`);
    process.exit(64);
  }
  try {
    buildNative({ required: args.has('--required') || process.env.GROWTH_LAB_NATIVE === 'required', force: args.has('--force') });
  } catch (err) {
    say(err.message);
    process.exit(1);
  }
}
