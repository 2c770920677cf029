/**
 * growth-lab data download: the official files fetched from a local mirror on 127.0.0.1 (generated small
 * archives), md5-checked, unpacked and moved into place; a bad checksum, a cut connection, a full disk and
 * a cancel each leave no partial dataset (and an older copy untouched).
 */
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { Writable } from 'stream';
import { downloadDataset, datasetSource, DownloadError, DownloadService, MARKER_FILE, TEMP_PREFIX } from '../../server/datasets/download';
import { loadDataset } from '../../server/datasets';
import { clearDatasetCache } from '../../server/datasets/cache';
import type { DatasetConfig, DownloadProgressParams } from '../../common/protocol';
import { until } from '../helpers/until';
import { DownloadProgressBar } from '../../server/datasets/download/progressBar';
import { md5Of, mirrorEnv, mirrorFiles, startMirror, type Mirror, type MirrorFiles } from '../helpers/downloadServer';
import * as tar from 'tar';

let files: MirrorFiles;
let mirror: Mirror;
let root = '';
let to = '';
let n = 0;
before(async () => {
  files = await mirrorFiles();
  mirror = await startMirror(files);
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'growth-lab-download-'));
});
after(async () => {
  await mirror.close();
  fs.rmSync(root, { recursive: true, force: true });
});
beforeEach(() => {
  to = path.join(root, `t${n++}`);
  mirror.reset();
});

const env = (md5: Record<string, string> = {}) => mirrorEnv(mirror, files, md5);

async function rejectsWith(p: Promise<unknown>, kind: DownloadError['kind'], message: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof DownloadError, `expected a DownloadError, got ${(e as Error)?.stack ?? e}`);
    assert.equal(e.kind, kind, e.message);
    assert.match(e.message, message);
    return true;
  });
}

/** Nothing but `keep` in `dir` (no temporary folder, no partial dataset). */
function onlyHas(dir: string, keep: string[]): void {
  assert.deepEqual(fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [], [...keep].sort());
}

test('the published sources: official URLs and checksums, replaced by the mirror and the test-only md5 override', () => {
  const c10 = datasetSource('cifar-10', false, {});
  assert.deepEqual(c10.remote, [
    {
      file: 'cifar-10-binary.tar.gz',
      url: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz',
      md5: 'c32a1d4ab5d03f1284b67883e8d87530',
    },
  ]);
  assert.equal(c10.folder, 'cifar-10-batches-bin');
  assert.deepEqual(datasetSource('cifar-100', false, {}).remote[0].md5, '03b5dce01913d631647c71ecec9e9cb8');
  assert.deepEqual(
    datasetSource('svhn', true, {}).remote.map((r) => [r.url, r.md5]),
    [
      ['http://ufldl.stanford.edu/housenumbers/train_32x32.mat', 'e26dedcc434d2e4c54c9b2d4a06d8373'],
      ['http://ufldl.stanford.edu/housenumbers/test_32x32.mat', 'eb5a983be6a315427106f1b164d9cef3'],
      ['http://ufldl.stanford.edu/housenumbers/extra_32x32.mat', 'a93ce644f1a588dc4d68dda5feec44a7'],
    ],
  );
  const m = datasetSource('svhn', false, { GROWTH_LAB_DATA_MIRROR: 'http://127.0.0.1:9/data' }).remote[0];
  assert.equal(m.url, 'http://127.0.0.1:9/data/train_32x32.mat');
  assert.equal(m.md5, 'e26dedcc434d2e4c54c9b2d4a06d8373');
  // The md5 override counts only together with a mirror.
  const md5 = JSON.stringify({ 'train_32x32.mat': '0'.repeat(32) });
  assert.equal(datasetSource('svhn', false, { GROWTH_LAB_DATA_MIRROR_MD5: md5 }).remote[0].md5, 'e26dedcc434d2e4c54c9b2d4a06d8373');
  assert.equal(
    datasetSource('svhn', false, { GROWTH_LAB_DATA_MIRROR: 'http://h/', GROWTH_LAB_DATA_MIRROR_MD5: md5 }).remote[0].md5,
    '0'.repeat(32),
  );
  assert.throws(() => datasetSource('mnist', false, {}), /unknown dataset "mnist" \(want cifar-10, cifar-100, svhn\)/);
  assert.throws(() => datasetSource('cifar-10', true, {}), /--extra applies to svhn only/);
  assert.throws(() => datasetSource('svhn', false, { GROWTH_LAB_DATA_MIRROR: 'ftp://h/' }), /must be an http:\/\/ or https:\/\/ URL/);
  assert.throws(
    () => datasetSource('svhn', false, { GROWTH_LAB_DATA_MIRROR: 'http://h/', GROWTH_LAB_DATA_MIRROR_MD5: '{"a": 1}' }),
    /"a" must be 32/,
  );
});

test('cifar-10: downloaded, checked, unpacked into <to>/cifar-10-batches-bin, loadable; a second call fetches nothing', async () => {
  const progress: DownloadProgressParams[] = [];
  const r = await downloadDataset({ name: 'cifar-10', to, env: env(), onProgress: (p) => progress.push(p), progressIntervalMs: 0 });
  const dir = path.join(to, 'cifar-10-batches-bin');
  assert.deepEqual(r, {
    name: 'cifar-10',
    path: dir,
    downloaded: true,
    files: ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin'],
    dataset: { name: 'cifar-10', path: dir },
  });
  onlyHas(to, ['cifar-10-batches-bin']);
  assert.ok(fs.existsSync(path.join(dir, MARKER_FILE)));
  assert.ok(fs.existsSync(path.join(dir, 'readme.html')));
  const total = files.files.get('cifar-10-binary.tar.gz')!.length;
  const downloads = progress.filter((p) => p.phase === 'download');
  assert.deepEqual(downloads.at(-1), {
    name: 'cifar-10',
    phase: 'download',
    file: 'cifar-10-binary.tar.gz',
    fileIndex: 0,
    fileCount: 1,
    receivedBytes: total,
    totalBytes: total,
  });
  assert.ok(progress.some((p) => p.phase === 'unpack'));
  clearDatasetCache();
  const d = await loadDataset({ name: 'cifar-10', path: r.path } as DatasetConfig, { seed: 1, baseDir: to });
  assert.equal(d.train.n, 20);
  assert.equal(d.test.n, 3);

  mirror.requests.length = 0;
  const again = await downloadDataset({ name: 'cifar-10', to, env: env() });
  assert.equal(again.downloaded, false);
  assert.deepEqual(mirror.requests, []);
  // A file of the wrong size (not what the marker recorded): incomplete, fetched again.
  fs.truncateSync(path.join(dir, 'test_batch.bin'), 10);
  assert.equal((await downloadDataset({ name: 'cifar-10', to, env: env() })).downloaded, true);
  assert.equal(fs.statSync(path.join(dir, 'test_batch.bin')).size, 3 * 3073);
});

test('cifar-100 and svhn (with extra) land in cifar-100-binary/ and svhn/; redirects are followed', async () => {
  const c = await downloadDataset({ name: 'cifar-100', to, env: env() });
  assert.equal(c.path, path.join(to, 'cifar-100-binary'));
  assert.equal(fs.statSync(path.join(c.path, 'train.bin')).size, 6 * 3074);
  mirror.behaviour.set('train_32x32.mat', 'redirect');
  const s = await downloadDataset({ name: 'svhn', to, extra: true, env: env() });
  assert.deepEqual(s.dataset, { name: 'svhn', path: path.join(to, 'svhn'), extra: true });
  assert.ok(mirror.requests.includes('/direct/train_32x32.mat'));
  for (const f of ['train_32x32.mat', 'test_32x32.mat', 'extra_32x32.mat'])
    assert.deepEqual(fs.readFileSync(path.join(to, 'svhn', f)), files.files.get(f));
  onlyHas(to, ['cifar-100-binary', 'svhn']);
  clearDatasetCache();
  const d = await loadDataset({ name: 'svhn', path: s.path, extra: true } as DatasetConfig, { seed: 1, baseDir: to });
  assert.equal(d.train.n, 7);
});

test('a bad checksum keeps nothing, and a forced re-download that fails leaves the old copy as it was', async () => {
  await rejectsWith(
    downloadDataset({ name: 'cifar-10', to, env: env({ 'cifar-10-binary.tar.gz': 'f'.repeat(32) }) }),
    'checksum',
    /^cifar-10-binary\.tar\.gz from http:\/\/127\.0\.0\.1:\d+\/cifar-10-binary\.tar\.gz has md5 [0-9a-f]{32}, want f{32}: .*nothing was kept$/,
  );
  onlyHas(to, []);
  await downloadDataset({ name: 'svhn', to, env: env() });
  const before = fs.readFileSync(path.join(to, 'svhn', 'test_32x32.mat'));
  await rejectsWith(
    downloadDataset({ name: 'svhn', to, force: true, env: env({ 'test_32x32.mat': '0'.repeat(32) }) }),
    'checksum',
    /test_32x32\.mat/,
  );
  onlyHas(to, ['svhn']);
  assert.deepEqual(fs.readFileSync(path.join(to, 'svhn', 'test_32x32.mat')), before);
});

test('a cut connection, a 404 and too many redirects say what happened and keep nothing', async () => {
  mirror.behaviour.set('cifar-100-binary.tar.gz', 'cut');
  await rejectsWith(
    downloadDataset({ name: 'cifar-100', to, env: env() }),
    'network',
    /connection to 127\.0\.0\.1:\d+ was cut after [\d,]+ (of [\d,]+ )?bytes/,
  );
  onlyHas(to, []);
  mirror.behaviour.set('test_32x32.mat', 'missing');
  await rejectsWith(downloadDataset({ name: 'svhn', to, env: env() }), 'http', /test_32x32\.mat answered HTTP 404 Not Found/);
  onlyHas(to, []);
  const far = { GROWTH_LAB_DATA_MIRROR: `${mirror.url}hop9/`, GROWTH_LAB_DATA_MIRROR_MD5: JSON.stringify(files.md5) };
  await rejectsWith(downloadDataset({ name: 'svhn', to, env: far }), 'network', /more than 5 redirects/);
  onlyHas(to, []);
});

test('a stalled server times out; a cancel stops the download: both keep nothing', async () => {
  mirror.behaviour.set('cifar-10-binary.tar.gz', 'stall');
  await rejectsWith(
    downloadDataset({ name: 'cifar-10', to, env: env(), fetch: { idleTimeoutMs: 200 } }),
    'network',
    /was cut after|no data/,
  );
  onlyHas(to, []);
  mirror.reset();
  mirror.behaviour.set('cifar-10-binary.tar.gz', 'stall');
  const abort = new AbortController();
  let received = 0;
  const p = downloadDataset({
    name: 'cifar-10',
    to,
    env: env(),
    signal: abort.signal,
    progressIntervalMs: 0,
    onProgress: (q) => (received = q.receivedBytes),
  });
  await mirror.stalled();
  await until('the first bytes', () => received > 0);
  abort.abort();
  await rejectsWith(p, 'cancelled', /the download was cancelled/);
  onlyHas(to, []);
});

test('a full disk (ENOSPC from the write stream) says so and keeps nothing', async () => {
  const full = (file: string) =>
    new Writable({
      write(_chunk, _enc, done) {
        done(Object.assign(new Error(`ENOSPC: no space left on device, write '${file}'`), { code: 'ENOSPC' }));
      },
    });
  await rejectsWith(
    downloadDataset({ name: 'svhn', to, env: env(), fetch: { createWriteStream: full } }),
    'disk',
    /^the disk is full while writing .*train_32x32\.mat \(ENOSPC\)$/,
  );
  onlyHas(to, []);
});

test('a full disk for real: tmpfs of 64 KiB (full while downloading) and 200 KiB (while unpacking); root on Linux only', async (t) => {
  const cases: [string, RegExp][] = [
    ['64k', /^the disk is full while writing .*cifar-10-binary\.tar\.gz \(ENOSPC\)$/],
    ['200k', /^the disk is full while unpacking cifar-10-binary\.tar\.gz into .*\(ENOSPC\)$/],
  ];
  for (const [size, message] of cases) {
    const mnt = path.join(root, `tmpfs-${size}`);
    fs.mkdirSync(mnt);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', mnt], { stdio: 'ignore' });
    } catch {
      t.skip('cannot mount a tmpfs here (needs root on Linux)');
      return;
    }
    try {
      await rejectsWith(downloadDataset({ name: 'cifar-10', to: mnt, env: env() }), 'disk', message);
      onlyHas(mnt, []);
    } finally {
      execFileSync('umount', [mnt]);
    }
  }
});

test('the backend service: one download per dataset, cancel by name, paths relative to the workspace', async () => {
  const sent: DownloadProgressParams[] = [];
  const service = new DownloadService(to, (p) => sent.push(p), { env: env() });
  mirror.behaviour.set('cifar-10-binary.tar.gz', 'stall');
  const p = service.download({ name: 'cifar-10' });
  await mirror.stalled();
  await rejectsWith(service.download({ name: 'cifar-10' }), 'busy', /a download of cifar-10 is already running/);
  assert.deepEqual(service.cancel({ name: 'cifar-10' }), { cancelled: true });
  await rejectsWith(p, 'cancelled', /cancelled/);
  assert.deepEqual(service.cancel({ name: 'cifar-10' }), { cancelled: false });
  onlyHas(path.join(to, 'data'), []);
  assert.ok(sent.length > 0 && sent.every((s) => s.name === 'cifar-10'));
  const r = await service.download({ name: 'svhn', to: 'sets' });
  assert.equal(r.path, path.join(to, 'sets', 'svhn'));
  await rejectsWith(service.download({ name: 'mnist' as 'svhn' }), 'invalid', /unknown dataset "mnist"/);
  assert.ok(!fs.readdirSync(path.join(to, 'sets')).some((f) => f.startsWith(TEMP_PREFIX)));
});

test('an archive that is no tar.gz, or lacks a file the dataset needs, is refused (format) and nothing is kept', async () => {
  const real = files.files.get('cifar-100-binary.tar.gz')!;
  const work = path.join(root, 'short-archive');
  try {
    const garbage = Buffer.from('this is not a tar.gz archive');
    files.files.set('cifar-100-binary.tar.gz', garbage);
    await rejectsWith(
      downloadDataset({ name: 'cifar-100', to, env: env({ 'cifar-100-binary.tar.gz': md5Of(garbage) }) }),
      'format',
      /^cifar-100-binary\.tar\.gz is not a valid tar\.gz archive: /,
    );
    onlyHas(to, []);
    fs.mkdirSync(path.join(work, 'cifar-100-binary'), { recursive: true });
    fs.writeFileSync(path.join(work, 'cifar-100-binary', 'train.bin'), Buffer.alloc(3074));
    const file = path.join(work, 'a.tar.gz');
    await tar.c({ gzip: true, cwd: work, file }, ['cifar-100-binary']);
    const short = fs.readFileSync(file);
    files.files.set('cifar-100-binary.tar.gz', short);
    await rejectsWith(
      downloadDataset({ name: 'cifar-100', to, env: env({ 'cifar-100-binary.tar.gz': md5Of(short) }) }),
      'format',
      /^cifar-100-binary\.tar\.gz has no cifar-100-binary\/test\.bin \(want train\.bin, test\.bin\)$/,
    );
    onlyHas(to, []);
  } finally {
    files.files.set('cifar-100-binary.tar.gz', real);
  }
});

test('the temporary folder of a download killed outright is removed by the next download; a live one is left alone', async () => {
  fs.mkdirSync(to, { recursive: true });
  // A pid that ran and is gone: a child that has exited.
  const dead = execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const abandoned = path.join(to, `${TEMP_PREFIX}cifar-10-dead01`);
  const live = path.join(to, `${TEMP_PREFIX}cifar-10-live01`);
  const foreign = path.join(to, `${TEMP_PREFIX}cifar-10-other1`);
  for (const [dir, owner] of [
    [abandoned, { host: os.hostname(), pid: Number(dead) }],
    [live, { host: os.hostname(), pid: process.pid }],
    [foreign, { host: `not-${os.hostname()}`, pid: Number(dead) }],
  ] as const) {
    fs.mkdirSync(path.join(dir, 'files'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'files', 'cifar-10-binary.tar.gz'), 'partial');
    fs.writeFileSync(path.join(dir, 'owner.json'), JSON.stringify(owner));
  }
  await downloadDataset({ name: 'svhn', to, env: env() });
  onlyHas(to, ['svhn', path.basename(live), path.basename(foreign)]);
});

test('the terminal progress: a redrawn bar on a TTY, one plain line per tenth otherwise', () => {
  const sink = (isTTY: boolean) => {
    const out = { isTTY, text: '', write: (s: string) => ((out.text += s), true) };
    return out;
  };
  const p = (receivedBytes: number, totalBytes?: number): DownloadProgressParams => ({
    name: 'svhn',
    phase: 'download',
    file: 'test_32x32.mat',
    fileIndex: 1,
    fileCount: 2,
    receivedBytes,
    totalBytes,
  });
  const MB = 1024 * 1024;
  const plain = sink(false);
  const bar = new DownloadProgressBar(plain as unknown as NodeJS.WritableStream);
  for (const r of [0, 1, 5, 10, 11, 35, 100]) bar.update(p(r * MB, 100 * MB));
  bar.line('done');
  assert.equal(
    plain.text,
    [
      'downloading test_32x32.mat (2/2)',
      'test_32x32.mat (2/2): 10.0 MB of 100.0 MB (10%)',
      'test_32x32.mat (2/2): 35.0 MB of 100.0 MB (35%)',
      'test_32x32.mat (2/2): 100.0 MB of 100.0 MB (100%)',
      'done',
      '',
    ].join('\n'),
  );
  const tty = sink(true);
  const drawn = new DownloadProgressBar(tty as unknown as NodeJS.WritableStream);
  drawn.update(p(50 * MB, 100 * MB));
  drawn.line('done');
  assert.match(tty.text, /^\r\x1b\[2Ktest_32x32\.mat \(2\/2\) \[#{12}\.{12}\] 50\.0%  50\.0 MB of 100\.0 MB/);
  assert.ok(tty.text.endsWith('\r\x1b[2Kdone\n'));
});
