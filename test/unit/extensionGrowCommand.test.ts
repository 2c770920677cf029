import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'fs';
import * as path from 'path';
import { GROWTH_METHOD_NAMES, PRUNE_METHODS, type RunSummary } from '../../common/protocol';
import { growableRuns, methodPickItems, parseBudget, resumableRuns } from '../../extension/growMethods';
import {
  CONTINUAL_STREAM_CHOICES,
  STARTING_MODELS,
  freeExperimentFileName,
  newContinualExperimentText,
  newExperimentText,
} from '../../extension/newExperimentText';

function summary(runId: string, over: Partial<RunSummary> = {}): RunSummary {
  return {
    runId,
    name: `exp-${runId}`,
    status: 'running',
    dataset: 'mnist',
    engine: 'onnxruntime',
    executionProvider: 'cpu',
    startedAt: '2025-01-01T00:00:00.000Z',
    epochs: 10,
    epochsDone: 0,
    params: 1000,
    growSteps: 0,
    ...over,
  };
}

test('methodPickItems: from the backend details, by kind, preferred first', () => {
  const caps = {
    growthMethods: ['firefly', 'splitting'],
    growthMethodDetails: [
      { name: 'firefly', kind: 'grow' as const, description: 'Firefly: split and add' },
      { name: 'splitting', kind: 'grow' as const, description: 'Splitting steepest descent\nsecond line' },
      { name: 'prune-taylor', kind: 'prune' as const, description: 'Taylor' },
    ],
  };
  assert.deepEqual(methodPickItems('grow', caps, 'splitting'), [
    { label: 'Splitting', description: 'splitting', detail: 'Splitting steepest descent', method: 'splitting' },
    { label: 'Firefly wider', description: 'firefly', detail: 'Firefly: split and add', method: 'firefly' },
  ]);
  assert.deepEqual(
    methodPickItems('prune', caps).map((i) => i.method),
    ['prune-taylor'],
  );
});

test('methodPickItems: names only (older backend) and no backend list the names, without descriptions', () => {
  // The descriptions are the backend's (growthMethodDetails); the extension keeps no copy of them.
  assert.deepEqual(methodPickItems('grow', { growthMethods: ['gauss-newton', 'none' as never] }), [
    { label: 'Gauss-Newton', description: 'gauss-newton', detail: '', method: 'gauss-newton' },
  ]);
  assert.deepEqual(methodPickItems('prune', undefined), [
    { label: 'Taylor pruning', description: 'prune-taylor', detail: '', method: 'prune-taylor' },
    { label: 'Gauss-Newton pruning', description: 'prune-gauss-newton', detail: '', method: 'prune-gauss-newton' },
  ]);
  const noBackend = methodPickItems('grow', undefined);
  assert.deepEqual(
    noBackend.map((i) => i.method),
    GROWTH_METHOD_NAMES.filter((n) => n !== 'none'),
  );
  assert.ok(noBackend.every((i) => i.detail === '' && i.label.length > 0));
  assert.deepEqual(
    noBackend.find((i) => i.method === 'firefly'),
    { label: 'Firefly wider', description: 'firefly', detail: '', method: 'firefly' },
  );
});

test("the protocol's growth method names are the experiment schema's, and the extension copies no method description", () => {
  const root = path.join(__dirname, '..', '..');
  const schema = JSON.parse(readFileSync(path.join(root, 'server', 'config', 'experiment.schema.json'), 'utf8'));
  const enums: string[][] = [];
  JSON.stringify(schema, (key, value) => {
    if (key === 'method' && value && Array.isArray(value.enum)) enums.push(value.enum);
    return value;
  });
  assert.ok(
    enums.some((e) => JSON.stringify(e) === JSON.stringify(GROWTH_METHOD_NAMES)),
    JSON.stringify(enums),
  );
  assert.deepEqual([...PRUNE_METHODS], ['prune-taylor', 'prune-gauss-newton']);
  const dir = path.join(root, 'extension');
  const sources = (d: string): string[] =>
    readdirSync(d, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? sources(path.join(d, e.name)) : e.name.endsWith('.ts') ? [path.join(d, e.name)] : [],
    );
  for (const file of sources(dir)) {
    const text = readFileSync(file, 'utf8');
    for (const phrase of [
      'integrated gradients',
      'splitting matrix',
      'Taylor score',
      'identity-initialised',
      'replicating random neurons',
    ]) {
      assert.ok(
        !text.includes(phrase),
        `${path.relative(root, file)} describes a growth method ("${phrase}"); take it from the backend's growthMethodDetails`,
      );
    }
  }
});

test('parseBudget: ratios, percentages, neuron counts and errors', () => {
  assert.deepEqual(parseBudget('', 'grow'), { ok: true, budget: undefined });
  assert.deepEqual(parseBudget(' 0.5 ', 'grow'), { ok: true, budget: { ratio: 0.5 } });
  assert.deepEqual(parseBudget('.25', 'prune'), { ok: true, budget: { ratio: 0.25 } });
  assert.deepEqual(parseBudget('50%', 'grow'), { ok: true, budget: { ratio: 0.5 } });
  assert.deepEqual(parseBudget('150 %', 'grow'), { ok: true, budget: { ratio: 1.5 } });
  assert.deepEqual(parseBudget('32', 'grow'), { ok: true, budget: { neurons: 32 } });
  assert.deepEqual(parseBudget('1', 'prune'), { ok: true, budget: { neurons: 1 } });
  assert.deepEqual(parseBudget('2.5', 'grow'), { ok: true, budget: { ratio: 2.5 } });
  for (const bad of ['abc', '-1', '0', '0%', '1e3', '12 neurons']) assert.equal(parseBudget(bad, 'grow').ok, false, bad);
  assert.equal(parseBudget('100%', 'prune').ok, false);
  assert.equal(parseBudget('1.0', 'prune').ok, false);
  assert.equal(parseBudget('11', 'grow').ok, true, 'a whole number is a neuron count');
  assert.equal(parseBudget('10.5', 'grow').ok, false);
  assert.equal(parseBudget('2000000', 'grow').ok, false);
});

test('growableRuns and resumableRuns pick the right statuses, newest first', () => {
  const runs = [
    summary('a', { status: 'running', startedAt: '2025-01-01' }),
    summary('b', { status: 'paused', startedAt: '2025-01-03' }),
    summary('c', { status: 'failed', startedAt: '2025-01-02' }),
    summary('d', { status: 'running', stale: true }),
    summary('e', { status: 'completed' }),
    summary('f', { status: 'stopped', startedAt: '2025-01-04' }),
  ];
  assert.deepEqual(
    growableRuns(runs).map((r) => r.runId),
    ['b', 'a'],
  );
  assert.deepEqual(
    resumableRuns(runs).map((r) => r.runId),
    ['f', 'c', 'd'],
  );
});

test('a run trained by another process or unreadable is neither growable nor resumable here', () => {
  const runs = [
    summary('x', { status: 'running', runningElsewhere: 4242 }),
    summary('y', { status: 'stopped', runningElsewhere: 4242 }),
    summary('z', { status: 'failed', unreadable: 'refusing /ws/.growth-lab/runs/z/events.jsonl: it is a symbolic link' }),
  ];
  assert.deepEqual(growableRuns(runs), []);
  assert.deepEqual(resumableRuns(runs), []);
});

test('newExperimentText: schema, dataset, model and growth', () => {
  const text = newExperimentText({
    name: 'exp',
    dataset: 'mnist',
    model: STARTING_MODELS[0],
    method: 'firefly',
    schemaUrl: 'file:///x/experiment.schema.json',
  });
  assert.equal(
    text,
    `{
  "$schema": "file:///x/experiment.schema.json",
  "name": "exp",
  "dataset": {
    "name": "mnist"
  },
  "model": {
    "layers": [
      {
        "type": "dense",
        "units": 16,
        "activation": "relu"
      }
    ]
  },
  "training": {
    "epochs": 10,
    "batchSize": 128,
    "optimizer": "adam",
    "learningRate": 0.001
  },
  "growth": {
    "method": "firefly",
    "schedule": {
      "every": 2
    },
    "maxGrowSteps": 3,
    "options": {
      "ratio": 0.5
    }
  }
}
`,
  );
  const csv = JSON.parse(newExperimentText({ name: 'c', dataset: 'csv', model: STARTING_MODELS[1], method: 'none', schemaUrl: 's' }));
  assert.deepEqual(csv.dataset, { name: 'csv', path: 'data.csv', task: 'classification' });
  const cifar = (datasetPath?: string) =>
    JSON.parse(
      newExperimentText({ name: 'c', dataset: 'cifar-10', model: STARTING_MODELS[1], method: 'none', schemaUrl: 's', datasetPath }),
    ).dataset;
  assert.deepEqual(cifar(), { name: 'cifar-10', path: 'cifar-10-batches-bin' });
  assert.deepEqual(cifar('data/cifar-10-batches-bin'), { name: 'cifar-10', path: 'data/cifar-10-batches-bin' });
  assert.equal(csv.growth, undefined);
});

test('newExperimentText: every starting model and method validates against the backend', async () => {
  const { validateExperiment } = await import('../../server/config');
  for (const model of STARTING_MODELS) {
    for (const dataset of ['mnist', 'rbf-toy', 'cifar-10'] as const) {
      if (model.id === 'cnn' && dataset === 'rbf-toy') continue;
      const cfg = JSON.parse(newExperimentText({ name: 'n', dataset, model, method: 'splitting', schemaUrl: 's' }));
      const r = (validateExperiment as (c: unknown) => { ok: boolean; errors?: unknown })(cfg);
      assert.ok(r.ok, `${model.id}/${dataset}: ${JSON.stringify(r)}`);
    }
  }
});

test('newContinualExperimentText: every offered stream validates; the dataset follows the stream', async () => {
  const { validateExperiment } = await import('../../server/config');
  assert.deepEqual(
    CONTINUAL_STREAM_CHOICES.map((c) => c.stream),
    ['split-mnist', 'split-fashion-mnist', 'permuted-mnist'],
  );
  for (const c of CONTINUAL_STREAM_CHOICES) {
    const text = newContinualExperimentText({ name: `cl-${c.stream}`, stream: c.stream, schemaUrl: 's' });
    assert.ok(text.endsWith('}\n'));
    const doc = JSON.parse(text);
    assert.deepEqual(Object.keys(doc), ['$schema', 'name', 'continual']);
    assert.deepEqual(doc.continual.methods, ['firefly-cl', 'finetune', 'ewc', 'progressive', 'individual']);
    const r = validateExperiment(doc);
    assert.ok(r.ok, JSON.stringify(r));
    if (r.ok) assert.equal(r.config.dataset.name, c.stream === 'split-fashion-mnist' ? 'fashion-mnist' : 'mnist');
  }
});

test('freeExperimentFileName never picks an existing name', () => {
  const taken = new Set(['my-exp.growth.json', 'my-exp-2.growth.json']);
  assert.equal(
    freeExperimentFileName('my exp', (n) => taken.has(n)),
    'my-exp-3.growth.json',
  );
  assert.equal(
    freeExperimentFileName('new', () => false),
    'new.growth.json',
  );
  assert.equal(
    freeExperimentFileName('///', () => false),
    'experiment.growth.json',
  );
});
