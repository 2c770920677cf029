// Language features for *.growth.json (server/language): completion, hover, semantic diagnostics, CodeLens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getLocation, parseTree, type Node } from 'jsonc-parser';
import {
  START_EXPERIMENT_COMMAND,
  experimentCodeLenses,
  experimentCompletions,
  experimentHover,
  experimentSemanticDiagnostics,
} from '../../server/language/experimentLanguage';
import { markdownText } from '../../server/language/schemaDocs';

const text = `{
  "name": "x",
  "dataset": { "name": "mnist" },
  "model": { "layers": [{ "type": "dense", "units": 16, "activation": "relu" }] },
  "training": { "epochs": 5 },
  "growth": { "method": "splitting", "maxParams": 100, "schedule": { "every": 5 } }
}`;
const at = (needle: string, plus = 1) => text.indexOf(needle) + plus;
const range = (line: number, c0: number, c1: number) => ({ start: { line, character: c0 }, end: { line, character: c1 } });

test('semantic diagnostics: unsupported method, unreachable budget, schedule never due — exact ranges', () => {
  const ds = experimentSemanticDiagnostics(text);
  assert.deepEqual(
    ds.map((d) => [d.code, d.range, d.severity]),
    [
      ['unsupportedMethod', range(5, 24, 35), 2],
      ['budgetNeverMet', range(5, 50, 53), 2],
      ['scheduleNeverDue', range(5, 78, 79), 2],
    ],
  );
  assert.match(ds[0].message, /^splitting cannot grow this model: every hidden dense\/conv2d layer uses a piecewise-linear activation/);
  assert.equal(ds[1].message, 'The starting model already has 12,730 parameters, so maxParams 100 stops every scheduled grow.');
});

test('semantic diagnostics: a supported method and a reachable budget give none; schema errors defer to the schema', () => {
  const ok = text.replace('"relu"', '"tanh"').replace('"maxParams": 100', '"maxParams": 100000').replace('"every": 5', '"every": 1');
  assert.deepEqual(experimentSemanticDiagnostics(ok), []);
  assert.deepEqual(experimentSemanticDiagnostics(text.replace('"units": 16', '"units": -1')), [], 'schema errors first');
  assert.deepEqual(experimentSemanticDiagnostics('{ not json'), []);
});

test('semantic diagnostics: a csv file that does not exist, relative to the experiment file', () => {
  const csv = `{\n  "dataset": { "name": "csv", "path": "data/train.csv", "testPath": "test.csv" }\n}`;
  const seen: string[] = [];
  const ds = experimentSemanticDiagnostics(csv, {
    filePath: '/ws/exp/a.growth.json',
    fileExists: (f) => (seen.push(f), f === '/ws/exp/test.csv'),
  });
  assert.deepEqual(seen, ['/ws/exp/data/train.csv', '/ws/exp/test.csv']);
  assert.deepEqual(
    ds.map((d) => [d.code, d.range, d.message]),
    [['missingFile', range(1, 38, 54), 'The csv file data/train.csv does not exist (looked for /ws/exp/data/train.csv).']],
  );
  assert.deepEqual(experimentSemanticDiagnostics(csv), [], 'no file path: no check');
  const cifar = `{\n  "dataset": { "name": "cifar-10", "path": "data/cifar" }\n}`;
  assert.deepEqual(
    experimentSemanticDiagnostics(cifar, { filePath: '/ws/exp/a.growth.json', fileExists: () => false }).map((d) => d.message),
    ['The cifar-10 folder data/cifar does not exist (looked for /ws/exp/data/cifar).'],
  );
});

test('completion: dataset names with docs, replacing the string under the cursor', () => {
  const items = experimentCompletions(text, at('"mnist"', 2));
  assert.deepEqual(
    items.map((i) => i.label),
    ['mnist', 'fashion-mnist', 'rbf-toy', 'csv', 'cifar-10', 'cifar-100', 'svhn', 'npz', 'image-folder'],
  );
  assert.deepEqual(items[0].textEdit, { range: range(2, 23, 30), newText: '"mnist"' });
  assert.match((items[3].documentation as { value: string }).value, /CSV/);
  const marked = experimentCompletions(text, at('"mnist"', 2), { unavailableDatasets: new Map([['fashion-mnist', 'not installed']]) });
  assert.equal(marked[1].detail, 'dataset (unavailable)');
  assert.match((marked[1].documentation as { value: string }).value, /not installed/);
  // A reason that comes from the machine is shown as text: link syntax cannot become a command link.
  const hostile = experimentCompletions(text, at('"mnist"', 2), {
    unavailableDatasets: new Map([['fashion-mnist', '[run](command:workbench.action.terminal.new)\n<img src=x>']]),
  });
  const docs = (hostile[1].documentation as { value: string }).value;
  assert.ok(docs.endsWith('Not available here: \\[run\\]\\(command:workbench.action.terminal.new\\) \\<img src=x\\>'), docs);
});

test('markdownText escapes what markdown would turn into links, emphasis or HTML, flattens lines and bounds length', () => {
  assert.equal(markdownText('a [b](c) *d* `e` <f>'), 'a \\[b\\]\\(c\\) \\*d\\* \\`e\\` \\<f\\>');
  assert.equal(markdownText('one\ntwo\r\nthree'), 'one two three');
  assert.equal(markdownText('x'.repeat(600)).length, 500);
  assert.equal(markdownText('training.learningRate'), 'training.learningRate');
});

test('completion: growth methods with their descriptions (plus none); nothing elsewhere', () => {
  const methods = [
    { name: 'firefly', kind: 'grow' as const, description: 'Firefly desc' },
    { name: 'prune-taylor', kind: 'prune' as const, description: 'p' },
  ];
  const items = experimentCompletions(text, at('"splitting"', 3), { methods });
  assert.deepEqual(
    items.map((i) => [i.label, (i.documentation as { value: string }).value]),
    [
      ['firefly', 'Firefly desc'],
      ['none', 'Never grow (train the starting network only); manual grows still work.'],
    ],
  );
  assert.deepEqual(items[0].textEdit, { range: range(5, 24, 35), newText: '"firefly"' });
  const real = experimentCompletions(text, at('"splitting"', 3)).map((i) => i.label);
  for (const m of ['firefly', 'firefly-deeper', 'splitting', 'net2net-wider', 'net2net-deeper', 'gauss-newton', 'none'])
    assert.ok(real.includes(m), m);
  assert.ok(!real.includes('prune-taylor'));
  assert.deepEqual(experimentCompletions(text, at('"units"', 2)), [], 'a key');
  assert.deepEqual(experimentCompletions(text, at('"relu"', 2)), [], 'no custom completion for activations (the schema has them)');
  // An empty value: inserted at the cursor.
  const empty = '{ "dataset": { "name": } }';
  const ins = experimentCompletions(empty, empty.indexOf('}') - 1);
  assert.deepEqual(ins[0].textEdit, { range: range(0, 22, 22), newText: '"mnist"' });
});

test('hover: keys and values with exact ranges', () => {
  const units = experimentHover(text, at('"units"', 2))!;
  assert.deepEqual(units.range, range(3, 43, 50));
  assert.equal(
    (units.contents as { value: string }).value,
    '**model.layers.0.units**\n\nNumber of neurons (grows when the network is widened).\n\nRange: ≥ 1, ≤ 65536',
  );
  const ds = experimentHover(text, at('"mnist"', 2))!;
  assert.deepEqual(ds.range, range(2, 23, 30));
  assert.match((ds.contents as { value: string }).value, /^\*\*dataset\.name\*\*\n\nWhich dataset to use\.\n\n`"mnist"`: \*\*MNIST\*\*/);
  const method = experimentHover(text, at('"splitting"', 2))!;
  assert.match((method.contents as { value: string }).value, /^\*\*growth\.method\*\*: `splitting`\n\nSplitting steepest descent/);
  assert.equal(experimentHover(text, 0), undefined, 'the root object');
});

test('hover: every field of a full experiment file has docs', () => {
  const full = JSON.stringify(
    {
      $schema: 's',
      name: 'n',
      seed: 1,
      dataset: {
        name: 'csv',
        path: 'a.csv',
        labelColumn: 'y',
        task: 'classification',
        testFraction: 0.2,
        trainSize: 10,
        testSize: 5,
        normalize: false,
      },
      model: {
        init: 'he',
        layers: [
          { type: 'conv2d', filters: 4, kernelSize: 3, stride: 1, padding: 'same', activation: 'relu' },
          { type: 'maxpool', size: 2 },
          { type: 'avgpool', size: 2 },
          { type: 'batchnorm', momentum: 0.9, epsilon: 0.001 },
          { type: 'flatten' },
          { type: 'globalavgpool' },
          { type: 'residual', units: 4, activation: 'tanh' },
          { type: 'dense', units: 4, activation: 'tanh' },
        ],
      },
      training: {
        epochs: 1,
        batchSize: 2,
        optimizer: 'sgd',
        learningRate: 0.1,
        momentum: 0.9,
        nesterov: true,
        weightDecay: 0,
        beta1: 0.9,
        beta2: 0.999,
        epsilon: 1e-8,
        evalEvery: 1,
        shuffle: true,
      },
      engine: 'onnxruntime',
      executionProvider: 'cpu',
      growth: {
        method: 'firefly',
        schedule: { every: 1, plateau: { metric: 'testLoss', patience: 2, minDelta: 0.01 } },
        maxParams: 1000,
        maxGrowSteps: 2,
        options: {},
        optimizerState: 'keep',
      },
    },
    null,
    2,
  );
  const root = parseTree(full)!;
  const keys: Node[] = [];
  const walk = (n: Node) => {
    if (n.type === 'property') keys.push(n.children![0]);
    for (const c of n.children ?? []) walk(c);
  };
  walk(root);
  assert.ok(keys.length > 60, `${keys.length} keys`);
  const missing = keys
    .filter((k) => {
      const h = experimentHover(full, k.offset + 1);
      return !h || !(h.contents as { value: string }).value.includes('\n\n');
    })
    .map((k) => getLocation(full, k.offset + 1).path.join('.'));
  assert.deepEqual(missing, []);
});

test('CodeLens: Start experiment above the first line', () => {
  assert.deepEqual(experimentCodeLenses(text, 'file:///ws/a.growth.json'), [
    {
      range: range(0, 0, 0),
      command: { title: '$(play) Start experiment', command: START_EXPERIMENT_COMMAND, arguments: ['file:///ws/a.growth.json'] },
    },
  ]);
  assert.deepEqual(experimentCodeLenses('\n\n  {}', 'u')[0].range, range(2, 0, 0));
});
