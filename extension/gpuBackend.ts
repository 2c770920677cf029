/**
 * Installing the native tfjs backends (@tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node) into the
 * extension's global storage with npm (pure: the plan and the reading of failures are unit-tested).
 * No user value reaches a shell: npm gets an argument list.
 */
import * as path from 'path';
import { NATIVE_TFJS_DIR } from '../common/protocol';

export type GpuBackendVariant = 'gpu' | 'cpu';

/** Must match the @tensorflow/tfjs version the extension ships. */
export const TFJS_NATIVE_VERSION = '4.22.0';

export const GPU_BACKEND_CHOICES: readonly { variant: GpuBackendVariant; label: string; detail: string }[] = [
  { variant: 'gpu', label: '@tensorflow/tfjs-node-gpu', detail: 'TensorFlow with CUDA (needs an NVIDIA GPU with CUDA 11.2 and cuDNN 8.1)' },
  { variant: 'cpu', label: '@tensorflow/tfjs-node', detail: 'TensorFlow on the CPU (native, faster than wasm)' },
];

export function packageFor(variant: GpuBackendVariant): string {
  return variant === 'gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
}

export interface InstallPlan {
  dir: string;
  /** Written first: npm 11 runs a dependency's install script (which fetches libtensorflow) only when approved. */
  packageJson: Record<string, unknown>;
  command: string;
  args: string[];
}

/**
 * The folder of the first `node.exe` on a Windows PATH (`exists` is injected so this stays pure), or undefined.
 * npm ships beside it as node_modules/npm/bin/npm-cli.js.
 */
export function windowsNodeDir(pathEnv: string | undefined, exists: (file: string) => boolean): string | undefined {
  for (const raw of (pathEnv ?? '').split(';')) {
    const dir = raw.trim().replace(/^"(.*)"$/, '$1');
    if (dir && exists(path.win32.join(dir, 'node.exe')) && exists(path.win32.join(dir, 'node_modules', 'npm', 'bin', 'npm-cli.js')))
      return dir;
  }
  return undefined;
}

/**
 * On Windows npm is `npm.cmd`, a batch file, and Node refuses to spawn batch files without a shell
 * (EINVAL since the CVE-2024-27980 fix). Rather than use a shell, the plan runs `node.exe npm-cli.js …`
 * from the Node installation found on PATH (`winNodeDir`); without one the command is `npm.cmd`, whose
 * spawn error is then explained as "npm was not found".
 */
export function installPlan(
  storageDir: string,
  variant: GpuBackendVariant,
  platform: NodeJS.Platform = process.platform,
  winNodeDir?: string,
): InstallPlan {
  const pkg = packageFor(variant);
  const dir = platform === 'win32' ? path.win32.join(storageDir, NATIVE_TFJS_DIR) : path.join(storageDir, NATIVE_TFJS_DIR);
  const npmArgs = ['install', '--no-audit', '--no-fund', '--no-save', `${pkg}@${TFJS_NATIVE_VERSION}`];
  const packageJson = { name: 'growth-lab-tfjs-native', private: true, allowScripts: { [pkg]: true } };
  if (platform === 'win32') {
    if (!winNodeDir) return { dir, packageJson, command: 'npm.cmd', args: npmArgs };
    return {
      dir,
      packageJson,
      command: path.win32.join(winNodeDir, 'node.exe'),
      args: [path.win32.join(winNodeDir, 'node_modules', 'npm', 'bin', 'npm-cli.js'), ...npmArgs],
    };
  }
  return { dir, packageJson, command: 'npm', args: npmArgs };
}

/** A sentence for people from npm's output when the install failed. */
export function installFailureReason(output: string, code: number | null): string {
  if (/ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|network/i.test(output)) {
    return 'there is no network access to download it (npm or the TensorFlow binaries could not be reached)';
  }
  if (/ENOENT.*npm|npm: not found|spawn npm|EINVAL/i.test(output)) return 'npm was not found on this machine (install Node.js with npm)';
  if (/libcuda|CUDA|cudnn/i.test(output))
    return 'CUDA is not available (tfjs-node-gpu needs an NVIDIA GPU with CUDA and cuDNN); try @tensorflow/tfjs-node instead';
  if (/EACCES|EPERM/.test(output)) return "the extension's storage folder is not writable";
  const last = output
    .trim()
    .split('\n')
    .filter((l) => /error/i.test(l))
    .pop();
  return `npm exited with code ${code}${last ? `: ${last.replace(/^npm (ERR!|error)\s*/, '')}` : ''}`;
}
