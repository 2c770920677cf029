/**
 * `growth-lab data download` as a process and `growthLab/downloadDataset` over the backend's stdio, both
 * fetching generated archives from a mirror on 127.0.0.1 (GROWTH_LAB_DATA_MIRROR).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ErrorCodes, Methods, Notifications, type DownloadProgressParams } from '../../common/protocol';
import { BackendClient, CLI } from './backendClient';
import { mirrorEnv, mirrorFiles, startMirror, type Mirror, type MirrorFiles } from '../helpers/downloadServer';

let files: MirrorFiles;
let mirror: Mirror;
let work = '';
before(async () => {
  files = await mirrorFiles();
  mirror = await startMirror(files);
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'growth-lab-data-download-'));
});
after(async () => {
  await mirror.close();
  fs.rmSync(work, { recursive: true, force: true });
});

/** The CLI as a child process (async: the mirror answers from this process). */
function cli(
  args: string[],
  env: NodeJS.ProcessEnv,
  started?: (child: ChildProcess) => void,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: work, env: { ...process.env, ...env } });
    started?.(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('growth-lab data download cifar-10: plain progress lines, the dataset block on stdout; again: nothing fetched', async () => {
  const env = mirrorEnv(mirror, files);
  const r = await cli(['data', 'download', 'cifar-10'], env);
  assert.equal(r.code, 0, r.stderr);
  const dir = path.join(work, 'data', 'cifar-10-batches-bin');
  assert.equal(r.stdout, `"dataset": {"name": "cifar-10", "path": ${JSON.stringify(dir)}}\n`);
  assert.match(r.stderr, /downloading cifar-10-binary\.tar\.gz\n(?:.*\n)*cifar-10-binary\.tar\.gz: [\d.]+ KB of [\d.]+ KB \(100%\)\n/);
  assert.match(r.stderr, /cifar-10: downloaded into /);
  assert.ok(!r.stderr.includes('\r'), 'no bar redraws when stderr is not a terminal');
  assert.equal(fs.statSync(path.join(dir, 'data_batch_3.bin')).size, 4 * 3073);
  mirror.reset();
  const again = await cli(['data', 'download', 'cifar-10', '--to', 'data'], env);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /a complete copy is already in .*--force/);
  assert.deepEqual(mirror.requests, []);
});

test('growth-lab data download: a bad checksum exits 1 keeping nothing; usage errors exit 2', async () => {
  const to = path.join(work, 'bad');
  const r = await cli(
    ['data', 'download', 'svhn', '--extra', `--to=${to}`],
    mirrorEnv(mirror, files, { 'extra_32x32.mat': '0'.repeat(32) }),
  );
  assert.equal(r.code, 1);
  assert.match(r.stderr, /svhn: extra_32x32\.mat from .* has md5 [0-9a-f]{32}, want 0{32}/);
  assert.equal(r.stdout, '');
  assert.deepEqual(fs.readdirSync(to), []);
  const usage = await cli(['data', 'download', 'mnist'], {});
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /unknown dataset "mnist" \(want cifar-10, cifar-100, svhn\)/);
  assert.equal((await cli(['data', 'download', 'cifar-10', '--extra'], {})).code, 2);
});

test('growth-lab data download interrupted (SIGINT) mid-file: exit 130, the temporary files removed', async () => {
  mirror.reset();
  mirror.behaviour.set('cifar-10-binary.tar.gz', 'stall');
  const to = path.join(work, 'interrupted');
  let child: ChildProcess | undefined;
  const done = cli(['data', 'download', 'cifar-10', '--to', to], mirrorEnv(mirror, files), (c) => (child = c));
  await mirror.stalled();
  child!.kill('SIGINT');
  const r = await done;
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /cifar-10: the download was cancelled/);
  assert.deepEqual(fs.readdirSync(to), []);
});

test('growthLab/downloadDataset over stdio: progress notifications, the result, cancel with downloadCancelled', async () => {
  const ws = path.join(work, 'ws');
  fs.mkdirSync(ws);
  const backend = new BackendClient(mirrorEnv(mirror, files));
  const progress: DownloadProgressParams[] = [];
  backend.conn.onNotification(Notifications.downloadProgress, (p: DownloadProgressParams) => progress.push(p));
  try {
    await backend.initialize(ws);
    const r = await backend.conn.sendRequest(Methods.downloadDataset, { name: 'cifar-100' });
    assert.deepEqual(r, {
      name: 'cifar-100',
      path: path.join(ws, 'data', 'cifar-100-binary'),
      downloaded: true,
      files: ['train.bin', 'test.bin'],
      dataset: { name: 'cifar-100', path: path.join(ws, 'data', 'cifar-100-binary') },
    });
    const total = files.files.get('cifar-100-binary.tar.gz')!.length;
    assert.ok(progress.some((p) => p.phase === 'download' && p.receivedBytes === total && p.totalBytes === total));

    mirror.reset();
    mirror.behaviour.set('train_32x32.mat', 'stall');
    const pending = backend.conn.sendRequest(Methods.downloadDataset, { name: 'svhn', to: 'sets' }).then(
      () => assert.fail('the cancelled download succeeded'),
      (e: { code: number; message: string }) => e,
    );
    await mirror.stalled();
    assert.deepEqual(await backend.conn.sendRequest(Methods.cancelDownload, { name: 'svhn' }), { cancelled: true });
    const err = await pending;
    assert.equal(err.code, ErrorCodes.downloadCancelled);
    assert.match(err.message, /the download was cancelled/);
    assert.deepEqual(fs.readdirSync(path.join(ws, 'sets')), []);
    const bad = await backend.conn.sendRequest(Methods.downloadDataset, { name: 'svhn', extra: 3 }).catch((e: { code: number }) => e);
    assert.equal((bad as { code: number }).code, ErrorCodes.invalidParams);
  } finally {
    await backend.shutdown();
  }
});
