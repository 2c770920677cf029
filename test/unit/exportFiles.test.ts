// Export file rules: paths stay inside the chosen folder, no overwrite without force, nothing partial
// left behind on failure; and the .npz writer (zip store + CRC-32 + .npy v1.0 headers).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ExportError, exportModel, resolveExportDir, resolveInside, writeExportFiles } from '../../server/export';
import { decodeNpz, encodeNpy, encodeNpz } from '../../server/export/npz';
import { crc32 } from '../../server/runs';
import { TEST_MODELS, hasNumpy, makeModel, python, sourceOf } from './exportHelpers';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'growth-lab-export-files-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));
const leftovers = (dir: string) => fs.readdirSync(dir).filter((n) => n.includes('.export-'));

test('paths: .. and absolute paths that leave the folder are refused with the path named', () => {
  const root = path.join(work, 'root');
  assert.equal(resolveInside(root, 'a/b'), path.join(root, 'a', 'b'));
  assert.equal(resolveInside(root, 'a/../b'), path.join(root, 'b'));
  assert.equal(resolveInside(root, path.join(root, 'c')), path.join(root, 'c'));
  for (const bad of ['..', '../x', 'a/../../x', '/etc', path.join(root, '..', 'x'), `${root}-sibling/x`]) {
    assert.throws(
      () => resolveInside(root, bad),
      (e: ExportError) => e.kind === 'invalidPath' && e.message.includes(JSON.stringify(bad)) && /leaves the folder/.test(e.message),
      bad,
    );
  }
  assert.throws(() => resolveInside(root, ''), /non-empty/);
  assert.throws(() => resolveInside(root, 'a\0b'), /NUL/);
  // The export folder of a request: absolute as chosen; relative inside the base; default otherwise.
  assert.equal(resolveExportDir(root, undefined, path.join(root, 'exports', 'r1')), path.join(root, 'exports', 'r1'));
  assert.equal(resolveExportDir(root, 'mine', 'x'), path.join(root, 'mine'));
  assert.equal(resolveExportDir(root, '/tmp/elsewhere', 'x'), '/tmp/elsewhere');
  assert.throws(() => resolveExportDir(root, '../../outside', 'x'), /leaves the folder/);
  assert.throws(() => writeExportFiles(root, [{ name: '../escape.txt', data: 'x' }]), /leaves the folder/);
  assert.throws(() => writeExportFiles(root, [{ name: 'sub/inner.txt', data: 'x' }]), /directly in the export folder/);
  assert.ok(!fs.existsSync(root) && !fs.existsSync(path.join(work, 'escape.txt')));
});

test('writing: a new folder appears whole; existing files need force and are named; force replaces them', () => {
  const dir = path.join(work, 'out', 'run1');
  const files = writeExportFiles(dir, [
    { name: 'a.txt', data: 'A1' },
    { name: 'b.bin', data: new Uint8Array([1, 2, 3]) },
  ]);
  assert.deepEqual(files, [path.join(dir, 'a.txt'), path.join(dir, 'b.bin')]);
  assert.equal(fs.readFileSync(files[0], 'utf8'), 'A1');
  assert.deepEqual([...fs.readFileSync(files[1])], [1, 2, 3]);
  fs.writeFileSync(path.join(dir, 'keep.txt'), 'mine');
  assert.throws(
    () =>
      writeExportFiles(dir, [
        { name: 'c.txt', data: 'C' },
        { name: 'a.txt', data: 'A2' },
      ]),
    (e: ExportError) => e.kind === 'exists' && e.files.length === 1 && e.message === `file exists: ${path.join(dir, 'a.txt')}`,
  );
  assert.ok(!fs.existsSync(path.join(dir, 'c.txt')), 'nothing written when a file exists');
  assert.equal(fs.readFileSync(path.join(dir, 'a.txt'), 'utf8'), 'A1');
  writeExportFiles(
    dir,
    [
      { name: 'c.txt', data: 'C' },
      { name: 'a.txt', data: 'A2' },
    ],
    { force: true },
  );
  assert.equal(fs.readFileSync(path.join(dir, 'a.txt'), 'utf8'), 'A2');
  assert.equal(fs.readFileSync(path.join(dir, 'keep.txt'), 'utf8'), 'mine', 'other files are left alone');
  assert.deepEqual(leftovers(path.dirname(dir)), []);
  fs.writeFileSync(path.join(work, 'out', 'plainfile'), 'x');
  assert.throws(() => writeExportFiles(path.join(work, 'out', 'plainfile'), [{ name: 'a', data: '' }]), /not a folder/);
});

test('failures leave no partial files: a failed write, a failed move (old files restored), a failed build', async () => {
  // The real module object (the namespace import is read-only); the exporter reads through it.
  const fsm = require('fs') as { writeFileSync: typeof fs.writeFileSync; renameSync: typeof fs.renameSync };
  const { writeFileSync, renameSync } = fsm;
  const fresh = path.join(work, 'fail', 'new');
  let calls = 0;
  fsm.writeFileSync = ((...a: Parameters<typeof fs.writeFileSync>) => {
    if (++calls === 2) throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
    return writeFileSync(...a);
  }) as typeof fs.writeFileSync;
  try {
    assert.throws(
      () =>
        writeExportFiles(fresh, [
          { name: 'a', data: '1' },
          { name: 'b', data: '2' },
        ]),
      /no space left/,
    );
  } finally {
    fsm.writeFileSync = writeFileSync;
  }
  assert.ok(!fs.existsSync(fresh));
  assert.deepEqual(fs.readdirSync(path.dirname(fresh)), []);

  const existing = path.join(work, 'fail', 'existing');
  writeExportFiles(existing, [
    { name: 'a', data: 'old-a' },
    { name: 'b', data: 'old-b' },
  ]);
  let moves = 0;
  fsm.renameSync = ((from: fs.PathLike, to: fs.PathLike) => {
    if (String(to) === path.join(existing, 'b') && ++moves === 1 && !String(from).includes('.replaced'))
      throw Object.assign(new Error('I/O error'), { code: 'EIO' });
    return renameSync(from, to);
  }) as typeof fs.renameSync;
  try {
    assert.throws(
      () =>
        writeExportFiles(
          existing,
          [
            { name: 'a', data: 'new-a' },
            { name: 'b', data: 'new-b' },
          ],
          { force: true },
        ),
      /I\/O error/,
    );
  } finally {
    fsm.renameSync = renameSync;
  }
  assert.equal(fs.readFileSync(path.join(existing, 'a'), 'utf8'), 'old-a');
  assert.equal(fs.readFileSync(path.join(existing, 'b'), 'utf8'), 'old-b');
  assert.deepEqual(fs.readdirSync(existing).sort(), ['a', 'b']);
  assert.deepEqual(leftovers(path.join(work, 'fail')), []);

  // A model that cannot be built (a tensor missing) fails before anything is written.
  const m = makeModel(TEST_MODELS[0]);
  const src = sourceOf(m);
  (src.tensors as Map<string, Float32Array>).delete('output/b');
  const dir = path.join(work, 'fail', 'model');
  for (const format of ['tfjs', 'onnx', 'pytorch', 'json'] as const) {
    if (format === 'json') continue; // the architecture alone needs no weights
    await assert.rejects(exportModel(src, { format, dir }), /no tensor output\/b/);
    assert.ok(!fs.existsSync(dir));
  }
  await assert.rejects(
    exportModel(sourceOf(m), { format: 'keras', dir }),
    /unknown export format "keras" \(formats: tfjs, onnx, pytorch, json, torchrun\)/,
  );
});

test('npz: stored zip entries with correct CRC-32 and 64-byte aligned .npy v1.0 headers; numpy reads them', () => {
  const a = Float32Array.from({ length: 12 }, (_, i) => i / 3 - 1);
  const npy = encodeNpy({ dtype: 'float32', shape: [3, 4], data: a });
  const headerLen = npy[8] | (npy[9] << 8);
  assert.equal((10 + headerLen) % 64, 0);
  assert.match(
    Buffer.from(npy.subarray(10, 10 + headerLen)).toString('latin1'),
    /^\{'descr': '<f4', 'fortran_order': False, 'shape': \(3, 4\), \} *\n$/,
  );
  const zip = encodeNpz([
    ['w', { dtype: 'float32', shape: [3, 4], data: a }],
    ['v', { dtype: 'float32', shape: [2], data: Float32Array.of(1, 2) }],
    ['n', { dtype: 'int64', shape: [], data: BigInt64Array.of(7n) }],
  ]);
  const buf = Buffer.from(zip);
  assert.equal(buf.readUInt32LE(0), 0x04034b50);
  assert.equal(buf.readUInt16LE(8), 0, 'stored');
  assert.equal(buf.readUInt32LE(14), crc32(npy));
  const back = decodeNpz(zip);
  assert.deepEqual([...back.keys()], ['w', 'v', 'n']);
  assert.deepEqual(Array.from(back.get('w')!.data as Float32Array), Array.from(a));
  assert.deepEqual(back.get('n')!.shape, []);
  assert.equal((back.get('n')!.data as BigInt64Array)[0], 7n);
  const damaged = Buffer.from(zip);
  damaged[200] ^= 1;
  assert.throws(() => decodeNpz(damaged), /CRC/);
  if (hasNumpy()) {
    const f = path.join(work, 'x.npz');
    fs.writeFileSync(f, zip);
    const r = python([
      '-c',
      `
import sys, zipfile, numpy as np
assert zipfile.ZipFile(sys.argv[1]).testzip() is None
z = np.load(sys.argv[1])
print(z['w'].dtype, z['w'].shape, z['n'].dtype, z['n'].shape, int(z['n']), float(z['w'][2, 3]))
`,
      f,
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), `float32 (3, 4) int64 () 7 ${Math.fround(11 / 3 - 1)}`);
  }
});
