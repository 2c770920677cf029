// Export formats against the live model's predictions: TF.js (fresh process, tf.loadLayersModel),
// ONNX (fresh process, onnxruntime-node), PyTorch (py_compile, the weights through numpy, predictions
// in real PyTorch, Debian's python3-torch), and import of TF.js / architecture exports back into a GrowableModel.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { onnx } from 'onnx-proto';
import { buildExport, exportModel, importModel, modelFromImport } from '../../server/export';
import { kerasPlan } from '../../server/export/tfjs';
import { torchArrays } from '../../server/export/pytorch';
import { decodeNpz, encodeNpz } from '../../server/export/npz';
import { allParamShapes } from '../../server/model/spec';
import {
  TEST_MODELS,
  CONV_NET_MODELS,
  hasNumpy,
  hasPython,
  livePredict,
  makeModel,
  maxAbsDiff,
  onnxPredictFresh,
  python,
  randomInputs,
  sourceOf,
  tfjsFreshInfo,
  tfjsPredictFresh,
} from './exportHelpers';
import { ensureTorch } from '../helpers/torch';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'growth-lab-export-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));
const N = 5;
/** Measured differences, printed at the end (the report quotes them). */
const measured: Record<string, Record<string, number | string>> = {};
const note = (format: string, model: string, v: number | string) => ((measured[format] ??= {})[model] = v);
after(() => console.log(`export max |prediction difference| vs the live model:\n${JSON.stringify(measured, null, 1)}`));

const models = TEST_MODELS.map((t) => ({ t, m: makeModel(t) }));
/** With the conv nets of the presets, which ONNX and PyTorch export (TF.js refuses them, tested below). */
const all = [...models, ...CONV_NET_MODELS.map((t) => ({ t, m: makeModel(t) }))];

/** Each folder's model.py (imported as its own module) on the folder's input.f32, in one Python process. */
function pythonPredict(dirs: string[], env: NodeJS.ProcessEnv): number[][] {
  const r = python(
    [
      '-c',
      `
import importlib.util, json, os, sys, numpy as np
import torch
out = []
for i, d in enumerate(sys.argv[1:]):
    spec = importlib.util.spec_from_file_location('exported_model_%d' % i, os.path.join(d, 'model.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    net = mod.load_model()
    x = np.fromfile(os.path.join(d, 'input.f32'), dtype=np.float32).reshape((-1,) + mod.INPUT_SHAPE)
    with torch.no_grad():
        y = net(torch.from_numpy(x))
    out.append([float(v) for v in np.asarray(y).reshape(-1)])
print(json.dumps(out))
`,
      ...dirs,
    ],
    { env },
  );
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

async function exportAll(format: 'tfjs' | 'onnx' | 'pytorch' | 'json', list = models) {
  const out: { name: string; dir: string; x: Float32Array; live: Float32Array }[] = [];
  for (const { t, m } of list) {
    const dir = path.join(work, format, t.name);
    const r = await exportModel(sourceOf(m, `run-${t.name}`), { format, dir });
    assert.equal(r.dir, dir);
    assert.ok(r.files.every((f) => fs.existsSync(f) && path.dirname(f) === dir));
    const x = randomInputs(m.spec, N);
    fs.writeFileSync(path.join(dir, 'input.f32'), x);
    out.push({ name: t.name, dir, x, live: await livePredict(m, x, N) });
  }
  return out;
}

test('tfjs: model.json + shard load with tf.loadLayersModel in a fresh process; predictions within 1e-5', async () => {
  const exported = await exportAll('tfjs', all);
  for (const e of exported) assert.deepEqual(fs.readdirSync(e.dir).sort(), ['group1-shard1of1.bin', 'input.f32', 'model.json']);
  const preds = tfjsPredictFresh(exported.map((e, i) => ({ dir: e.dir, n: N, inputShape: all[i].t.inputShape })));
  exported.forEach((e, i) => {
    const d = maxAbsDiff(preds[i], e.live);
    note('tfjs', e.name, d);
    assert.ok(d < 1e-5, `${e.name}: tfjs differs by ${d}`);
  });
  // Sequential for plain stacks, functional (with Add) for residual blocks; NCHW input via a leading Permute.
  const info = Object.fromEntries(exported.map((e, i) => [e.name, tfjsFreshInfo[i]]));
  assert.equal(info.dense.className, 'Sequential');
  assert.equal(info.conv.className, 'Sequential');
  assert.equal(info.batchnorm.className, 'Sequential');
  assert.notEqual(info.residual.className, 'Sequential');
  assert.ok(info.residual.layers.filter((l) => l === 'Add').length === 4);
  assert.equal(info.conv.layers[0], 'Permute');
  assert.ok(info.conv.layers.includes('ZeroPadding2D'), 'stride-2 same conv pads like ours');
  assert.ok(!info.dense.layers.includes('Permute'));
  // conv nets: BN layers after convs, depthwise convs, resblocks as Add of the (projected) shortcut and the block
  assert.ok(info['vgg-bn'].layers.includes('BatchNormalization'));
  assert.equal(info.resnet.layers.filter((l) => l === 'Add').length, 3);
  assert.equal(info.mobilenet.layers.filter((l) => l === 'DepthwiseConv2D').length, 2);
  const json = JSON.parse(fs.readFileSync(path.join(exported[0].dir, 'model.json'), 'utf8'));
  assert.equal(json.format, 'layers-model');
  assert.equal(json.weightsManifest[0].paths[0], 'group1-shard1of1.bin');
  assert.equal(json.userDefinedMetadata.growthLab.spec.layers[0].id, 'dense_1');
});

test('onnx: model.onnx declares opset 17, loads in onnxruntime-node (fresh process); predictions within 1e-4', async () => {
  const exported = await exportAll('onnx', all);
  const preds = onnxPredictFresh(
    exported.map((e, i) => ({
      file: path.join(e.dir, 'model.onnx'),
      input: path.join(e.dir, 'input.f32'),
      n: N,
      inputShape: all[i].t.inputShape,
    })),
  );
  exported.forEach((e, i) => {
    const d = maxAbsDiff(preds[i].y, e.live);
    note('onnx', e.name, d);
    assert.ok(d < 1e-4, `${e.name}: onnx differs by ${d}`);
    const proto = onnx.ModelProto.decode(fs.readFileSync(path.join(e.dir, 'model.onnx')));
    assert.deepEqual(
      proto.opsetImport.map((o) => [o.domain, Number(o.version)]),
      [['', 17]],
    );
    assert.deepEqual(
      proto.graph!.input!.map((v) => v.name),
      ['input'],
    );
    assert.deepEqual(
      proto.graph!.output!.map((v) => v.name),
      ['output'],
    );
    const inits = new Set(proto.graph!.initializer!.map((t) => t.name));
    for (const p of allParamShapes(all[i].m.spec)) assert.ok(inits.has(p.name), p.name);
    // a portable file: each conv layer one Conv node, the depthwise ones grouped (not the matrix
    // products the engine runs small depthwise convs as)
    const convLayers = all[i].m.spec.layers.filter((l) => l.type === 'conv2d');
    const convNodes = proto.graph!.node!.filter((n) => n.opType === 'Conv');
    if (e.name === 'mobilenet' || e.name === 'conv') {
      assert.equal(convNodes.length, convLayers.length, `${e.name}: Conv nodes`);
      const grouped = convNodes.filter((n) => n.attribute!.some((a) => a.name === 'group' && Number(a.i) > 1)).length;
      assert.equal(grouped, e.name === 'mobilenet' ? 2 : 0, `${e.name}: grouped Conv nodes`);
    }
  });
});

test('pytorch: model.py compiles, weights.npz reads back in numpy, predictions match in real PyTorch', async (t) => {
  const exported = await exportAll('pytorch', all);
  for (const e of exported) assert.deepEqual(fs.readdirSync(e.dir).sort(), ['architecture.json', 'input.f32', 'model.py', 'weights.npz']);
  // Our own reader (CRC-checked) gets every array back bit for bit.
  for (const [i, e] of exported.entries()) {
    const arrays = decodeNpz(fs.readFileSync(path.join(e.dir, 'weights.npz')));
    for (const [k, a] of torchArrays(sourceOf(all[i].m))) {
      const b = arrays.get(k)!;
      assert.deepEqual(b.shape, a.shape, k);
      assert.deepEqual(Array.from(b.data as Float32Array, Number), Array.from(a.data as Float32Array, Number), k);
    }
  }
  if (!hasPython()) return t.skip('python3 is not installed: py_compile and numpy checks skipped');
  const compiled = python(['-m', 'py_compile', ...exported.map((e) => path.join(e.dir, 'model.py'))]);
  assert.equal(compiled.status, 0, compiled.stderr);
  if (!hasNumpy()) return t.skip('numpy is not installed: weight and prediction checks in Python skipped');
  // numpy reads the npz (zip + .npy headers + CRCs): shapes and values equal ours in PyTorch layout.
  const read = python([
    '-c',
    `
import json, sys, numpy as np
out = []
for f in sys.argv[1:]:
    z = np.load(f)
    out.append({k: [list(z[k].shape), str(z[k].dtype), float(np.asarray(z[k], dtype=np.float64).sum())] for k in z.files})
print(json.dumps(out))
`,
    ...exported.map((e) => path.join(e.dir, 'weights.npz')),
  ]);
  assert.equal(read.status, 0, read.stderr);
  for (const [i, got] of (JSON.parse(read.stdout) as Record<string, [number[], string, number]>[]).entries()) {
    const want = torchArrays(sourceOf(all[i].m));
    assert.deepEqual(
      Object.keys(got),
      want.map(([k]) => k),
    );
    for (const [k, a] of want) {
      assert.deepEqual(got[k][0], a.shape, k);
      assert.equal(got[k][1], a.dtype, k);
      const sum = Array.from(a.data as ArrayLike<number | bigint>, Number).reduce((x, y) => x + y, 0);
      assert.ok(Math.abs(got[k][2] - sum) < 1e-3, `${k}: sum ${got[k][2]} vs ${sum}`);
    }
  }
  const noTorch = ensureTorch();
  if (noTorch) return t.skip(noTorch);
  const preds = pythonPredict(
    exported.map((e) => e.dir),
    {},
  );
  for (const [i, e] of exported.entries()) {
    const d = maxAbsDiff(preds[i], e.live);
    note('pytorch (torch)', e.name, d);
    assert.ok(d < 1e-4, `${e.name}: model.py differs by ${d}`);
  }
});

test('import: TF.js and architecture exports come back with identical tensors and predictions', async () => {
  for (const { t, m } of models) {
    const tfjsDir = path.join(work, 'roundtrip-tfjs', t.name);
    await exportModel(sourceOf(m), { format: 'tfjs', dir: tfjsDir });
    const fromTfjs = importModel(path.join(tfjsDir, 'model.json'));
    assert.equal(fromTfjs.kind, 'tfjs');
    assert.deepEqual(fromTfjs.spec, m.spec);
    for (const [k, v] of m.tensors) assert.deepEqual(Array.from(fromTfjs.tensors!.get(k)!), Array.from(v), `${t.name} ${k}`);
    const pyDir = path.join(work, 'roundtrip-py', t.name);
    await exportModel(sourceOf(m), { format: 'pytorch', dir: pyDir });
    const fromArch = importModel('architecture.json', pyDir);
    for (const [k, v] of m.tensors) assert.deepEqual(Array.from(fromArch.tensors!.get(k)!), Array.from(v), `${t.name} ${k}`);
    const back = modelFromImport(fromTfjs.spec, fromTfjs.tensors, 1, ['m']);
    const x = randomInputs(m.spec, 3, 11);
    assert.deepEqual(Array.from(await livePredict(back, x, 3)), Array.from(await livePredict(m, x, 3)));
  }
  // An architecture.json without weights (format json) imports the architecture only.
  const dir = path.join(work, 'json-only');
  await exportModel(sourceOf(models[0].m), { format: 'json', dir });
  const arch = importModel(path.join(dir, 'architecture.json'));
  assert.equal(arch.tensors, undefined);
  assert.deepEqual(arch.spec, models[0].m.spec);
});

test('conv nets (BN, resblock, depthwise conv): TF.js and architecture exports come back exactly; grouped convs are refused by TF.js', async () => {
  for (const { t, m } of all.slice(models.length)) {
    const tfjsDir = path.join(work, 'roundtrip-tfjs', t.name);
    await exportModel(sourceOf(m), { format: 'tfjs', dir: tfjsDir });
    const fromTfjs = importModel(path.join(tfjsDir, 'model.json'));
    assert.deepEqual(fromTfjs.spec, m.spec);
    for (const [k, v] of m.tensors) assert.deepEqual(Array.from(fromTfjs.tensors!.get(k)!), Array.from(v), `${t.name} ${k}`);
    const pyDir = path.join(work, 'roundtrip-py', t.name);
    await exportModel(sourceOf(m), { format: 'pytorch', dir: pyDir });
    const fromArch = importModel('architecture.json', pyDir);
    assert.deepEqual(fromArch.spec, m.spec);
    for (const [k, v] of m.tensors) assert.deepEqual(Array.from(fromArch.tensors!.get(k)!), Array.from(v), `${t.name} ${k}`);
    const back = modelFromImport(fromArch.spec, fromArch.tensors, 1, ['m']);
    const x = randomInputs(m.spec, 3, 11);
    assert.deepEqual(Array.from(await livePredict(back, x, 3)), Array.from(await livePredict(m, x, 3)));
  }
  const grouped = makeModel({
    name: 'grouped',
    inputShape: [4, 6, 6],
    outputs: 3,
    layers: [{ type: 'conv2d', filters: 6, kernelSize: 3, stride: 1, padding: 'same', activation: 'relu', groups: 2 }],
  });
  await assert.rejects(
    buildExport(sourceOf(grouped), 'tfjs'),
    /layer conv2d_1 is a grouped conv2d \(groups 2 of 4 channels\), which TF\.js \/ Keras has no layer for; export this model as onnx or pytorch/,
  );
});

test('import: weight files that leave the model folder, foreign models and bad specs are refused clearly', async () => {
  const dir = path.join(work, 'evil');
  await exportModel(sourceOf(models[0].m), { format: 'tfjs', dir });
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  for (const p of ['../../etc/passwd', '/etc/passwd', 'sub/../../x.bin']) {
    json.weightsManifest[0].paths = [p];
    fs.writeFileSync(path.join(dir, 'evil.json'), JSON.stringify(json));
    assert.throws(() => importModel(path.join(dir, 'evil.json')), /leaves the folder/);
  }
  delete json.userDefinedMetadata;
  fs.writeFileSync(path.join(dir, 'foreign.json'), JSON.stringify(json));
  assert.throws(() => importModel(path.join(dir, 'foreign.json')), /not exported by Growth Lab/);
  const arch = { format: 'growth-lab-architecture', spec: { ...models[0].m.spec, layers: [{ id: 'x', type: 'lstm' }] }, weights: null };
  fs.writeFileSync(path.join(dir, 'arch.json'), JSON.stringify(arch));
  assert.throws(() => importModel(path.join(dir, 'arch.json')), /layers\[0\]\.type "lstm" is not a layer type/);
  assert.throws(() => importModel(path.join(dir, 'missing.json')), /no such file/);
});

test('tfjs plan: weight shapes follow Keras layouts and every weight of ours is mapped once', () => {
  for (const { t, m } of models) {
    const plan = kerasPlan(m.spec);
    const ours = plan.weights.map((w) => w.ours).sort();
    assert.deepEqual(
      ours,
      allParamShapes(m.spec)
        .map((p) => p.name)
        .sort(),
      t.name,
    );
  }
});

test('rbf activation: onnx and pytorch exports match; tfjs refuses it with a clear error', async (t) => {
  const rbf = makeModel({ name: 'rbf', inputShape: [1], outputs: 1, layers: [{ type: 'dense', units: 15, activation: 'rbf' }] });
  const src = sourceOf(rbf, 'run-rbf');
  await assert.rejects(buildExport(src, 'tfjs'), /rbf activation .* cannot be exported as tfjs; export it as onnx or pytorch/);
  const x = randomInputs(rbf.spec, N);
  const live = await livePredict(rbf, x, N);
  const dir = path.join(work, 'rbf');
  await exportModel(src, { format: 'onnx', dir });
  await exportModel(src, { format: 'pytorch', dir });
  fs.writeFileSync(path.join(dir, 'input.f32'), x);
  const d = maxAbsDiff(
    onnxPredictFresh([{ file: path.join(dir, 'model.onnx'), input: path.join(dir, 'input.f32'), n: N, inputShape: [1] }])[0].y,
    live,
  );
  note('onnx', 'rbf', d);
  assert.ok(d < 1e-4, `rbf: onnx differs by ${d}`);
  const noTorch = ensureTorch();
  if (noTorch) return t.skip(noTorch);
  const d2 = maxAbsDiff(pythonPredict([dir], {})[0], live);
  note('pytorch (torch)', 'rbf', d2);
  assert.ok(d2 < 1e-4, `rbf: model.py differs by ${d2}`);
});

test('import: NaN and Infinity weights are refused at import, naming the tensor', async () => {
  const dir = path.join(work, 'nan-tfjs');
  await exportModel(sourceOf(models[0].m), { format: 'tfjs', dir });
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  const first = json.weightsManifest[0].weights[0].name as string;
  const shard = path.join(dir, json.weightsManifest[0].paths[0]);
  const bin = fs.readFileSync(shard);
  bin.writeFloatLE(NaN, 4);
  fs.writeFileSync(shard, bin);
  assert.throws(
    () => importModel(path.join(dir, 'model.json')),
    (e: Error) => e.message.includes(`weight ${first} has a non-finite value (NaN) at index 1`) && /cannot be imported/.test(e.message),
  );
  const pyDir = path.join(work, 'inf-py');
  await exportModel(sourceOf(models[0].m), { format: 'pytorch', dir: pyDir });
  const arrays = decodeNpz(fs.readFileSync(path.join(pyDir, 'weights.npz')), 'weights.npz');
  const [key, a] = [...arrays].find(([, v]) => v.dtype === 'float32')!;
  (a.data as Float32Array)[0] = -Infinity;
  fs.writeFileSync(path.join(pyDir, 'weights.npz'), encodeNpz([...arrays]));
  assert.throws(
    () => importModel(path.join(pyDir, 'architecture.json')),
    new RegExp(`weights\\.npz: ${key.replace(/\./g, '\\.')} has a non-finite value \\(-Infinity\\)`),
  );
});
