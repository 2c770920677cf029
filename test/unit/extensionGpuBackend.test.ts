import { test } from 'node:test';
import assert from 'node:assert/strict';
import { installFailureReason, installPlan, packageFor, windowsNodeDir } from '../../extension/gpuBackend';

test('install plan: npm with an argument list into the storage folder, install script approved', () => {
  const p = installPlan('/home/u/.vscode/globalStorage/growth-lab', 'gpu', 'linux');
  assert.equal(p.dir, '/home/u/.vscode/globalStorage/growth-lab/tfjs-native');
  assert.equal(p.command, 'npm');
  assert.deepEqual(p.args, ['install', '--no-audit', '--no-fund', '--no-save', '@tensorflow/tfjs-node-gpu@4.22.0']);
  assert.deepEqual(p.packageJson.allowScripts, { '@tensorflow/tfjs-node-gpu': true });
  assert.equal(packageFor('cpu'), '@tensorflow/tfjs-node');
});

test('install failures are explained', () => {
  assert.match(installFailureReason('npm error code ENOTFOUND\nnpm error network request failed', 1), /no network access/);
  assert.match(installFailureReason('Error: libcudart.so.11.0: cannot open shared object file', 1), /CUDA is not available/);
  assert.match(installFailureReason('npm error code EACCES', 243), /not writable/);
  assert.equal(installFailureReason('npm error something odd happened', 7), 'npm exited with code 7: something odd happened');
});

test('install plan on Windows: node.exe runs npm-cli.js (no batch file, no shell: npm.cmd spawns fail with EINVAL)', () => {
  const p = installPlan('C:\\Users\\u\\globalStorage\\gl', 'cpu', 'win32', 'C:\\Program Files\\nodejs');
  assert.equal(p.dir, 'C:\\Users\\u\\globalStorage\\gl\\tfjs-native');
  assert.equal(p.command, 'C:\\Program Files\\nodejs\\node.exe');
  assert.deepEqual(p.args, [
    'C:\\Program Files\\nodejs\\node_modules\\npm\\bin\\npm-cli.js',
    'install',
    '--no-audit',
    '--no-fund',
    '--no-save',
    '@tensorflow/tfjs-node@4.22.0',
  ]);
  assert.ok(!p.command.endsWith('.cmd'));
  const files = new Set([
    'C:\\Program Files\\nodejs\\node.exe',
    'C:\\Program Files\\nodejs\\node_modules\\npm\\bin\\npm-cli.js',
    'D:\\x\\node.exe',
  ]);
  assert.equal(
    windowsNodeDir('C:\\Windows;D:\\x;"C:\\Program Files\\nodejs";', (f) => files.has(f)),
    'C:\\Program Files\\nodejs',
  );
  assert.equal(
    windowsNodeDir(undefined, () => true),
    undefined,
  );
  assert.match(installFailureReason('spawn EINVAL', null), /npm was not found/);
});
