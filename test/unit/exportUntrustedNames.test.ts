// Names and numbers from a checkpoint or an experiment file reach generated files as data, never as code:
// model.py written with hostile names is imported with real PyTorch (Debian's python3-torch under /usr/bin/python3).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { exportModel } from '../../server/export';
import { generateModelPy, pyEscape, pyStr } from '../../server/export/pytorch';
import { TEST_MODELS, makeModel, sourceOf } from './exportHelpers';
import { PY, ensureTorch } from '../helpers/torch';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'growth-lab-names-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));

let torchSkip: string | undefined;
before(() => {
  torchSkip = ensureTorch();
});

const HOSTILE = [
  'x"""\nimport os; os.system("touch PWNED")\n"""',
  'it\'s a "quoted" name\\',
  "'''\n__import__('os').system('touch PWNED')\n'''",
  'back\\slash\\"""\r\nline\ttab\x00nul\x1b[31m',
  '# not a comment\n\u2028\u2029 café 🙂 \\N{BULLET} {braces}',
];

test('pyStr / pyEscape: quotes, backslashes and control characters are escaped; lone surrogates are refused', () => {
  assert.equal(pyStr('a"b'), '"a\\"b"');
  assert.equal(pyStr("a'b\\c"), '"a\\\'b\\\\c"');
  assert.equal(pyEscape('l1\nl2\u2028é🙂'), 'l1\\x0al2\\u2028\\xe9\\U0001f642');
  assert.equal(pyEscape('"""'), '\\"\\"\\"');
  assert.throws(() => pyEscape('a\ud800b'), /cannot be written into model\.py/);
  assert.throws(() => pyStr(42 as unknown as string), /cannot be written/);
});

test('pytorch: hostile experiment names and run ids are data in model.py; real torch imports it and reads them back', async (t) => {
  const models = TEST_MODELS.map((tm) => makeModel(tm));
  const dirs: string[] = [];
  HOSTILE.forEach((name, i) => dirs.push(path.join(work, `py-${i}`)));
  for (const [i, name] of HOSTILE.entries()) {
    const src = { ...sourceOf(models[i % models.length], `run-${i}"""'\n`), name };
    await exportModel(src, { format: 'pytorch', dir: dirs[i] });
    const py = fs.readFileSync(path.join(dirs[i], 'model.py'), 'utf8');
    assert.ok(!py.includes('os.system("touch'), 'the name is not written raw');
    assert.ok(!/[\u2028\u2029\x00\x1b\r]/.test(py), 'no raw control or separator characters');
  }
  if (torchSkip) return t.skip(torchSkip);
  const r = spawnSync(
    PY,
    [
      '-c',
      `
import importlib.util, json, os, sys, torch
out = []
for i, d in enumerate(sys.argv[1:]):
    spec = importlib.util.spec_from_file_location('hostile_%d' % i, os.path.join(d, 'model.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    net = mod.load_model()
    with torch.no_grad():
        y = net(torch.zeros((2,) + mod.INPUT_SHAPE))
    out.append({'name': mod.RUN_NAME, 'runId': mod.RUN_ID, 'doc': mod.__doc__, 'torch': torch.__version__, 'out': list(y.shape)})
print(json.dumps(out))
`,
      ...dirs,
    ],
    { cwd: work, encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout) as { name: string; runId: string; doc: string; torch: string; out: number[] }[];
  for (const [i, g] of got.entries()) {
    assert.equal(g.name, HOSTILE[i]);
    assert.equal(g.runId, `run-${i}"""'\n`);
    assert.ok(g.doc.includes(`(${HOSTILE[i]})`), 'the docstring holds the name as text');
    assert.equal(g.out[0], 2);
  }
  assert.ok(!fs.existsSync(path.join(work, 'PWNED')) && !dirs.some((d) => fs.existsSync(path.join(d, 'PWNED'))), 'nothing ran');
  t.diagnostic(`imported with torch ${got[0].torch}`);
});

test('tfjs: model.json carries hostile names as JSON data', async () => {
  const m = makeModel(TEST_MODELS[0]);
  for (const [i, name] of HOSTILE.entries()) {
    const dir = path.join(work, `tfjs-${i}`);
    await exportModel({ ...sourceOf(m, `run-${i}"'`), name }, { format: 'tfjs', dir });
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    assert.equal(json.userDefinedMetadata.growthLab.name, name);
    assert.equal(json.userDefinedMetadata.growthLab.runId, `run-${i}"'`);
    assert.match(json.modelTopology.model_config?.config?.name ?? json.modelTopology.config?.name ?? 'x', /^[A-Za-z0-9_]*$/);
  }
});

test('pytorch: spec values that are not what they claim (from a hand-edited checkpoint) are refused, not written as code', () => {
  const base = sourceOf(makeModel(TEST_MODELS[0]));
  const withLayer = (patch: Record<string, unknown>) => {
    const spec = structuredClone(base.spec);
    Object.assign(spec.layers[0], patch);
    return { ...base, spec };
  };
  assert.throws(() => generateModelPy(withLayer({ units: '3); __import__("os").system("x") #' })), /cannot be written into model\.py/);
  assert.throws(() => generateModelPy(withLayer({ units: 2.5 })), /cannot be written into model\.py/);
  assert.throws(() => generateModelPy(withLayer({ activation: 'relu"); import os #' })), /activation/);
  assert.throws(() => generateModelPy(withLayer({ id: 'a"b' })), /not usable as a Python attribute name/);
  assert.throws(() => generateModelPy(withLayer({ id: 'x\nimport os' })), /not usable as a Python attribute name/);
  assert.throws(() => generateModelPy({ ...base, spec: { ...base.spec, task: 'x"' as 'regression' } }), /task/);
  assert.throws(() => generateModelPy({ ...base, spec: { ...base.spec, inputShape: ['1)', 5, 5] as unknown as number[] } }));
  assert.throws(() => generateModelPy({ ...base, name: 'lone \udc00 surrogate' }), /experiment name .* cannot be written into model\.py/);
});
