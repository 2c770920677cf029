import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { ExperimentConfig } from '../../common/protocol';
import {
  validateExperiment,
  resolveExperiment,
  formatErrors,
  InvalidExperimentError,
  experimentDiagnostics,
  parseExperimentText,
  experimentNameFromPath,
  experimentSchema,
  DEFAULT_LAYERS_BY_DATASET,
  type ConfigError,
} from '../../server/config';
import { SUPPORTED_KEYWORDS, deref, type SchemaNode } from '../../server/config/schema';
import { toPointer } from '../../server/config/format';

/** The messages of a failed validation (fails the test when it passed). */
function messages(raw: unknown, options?: { name?: string }): string[] {
  const r = validateExperiment(raw, options);
  assert.equal(r.ok, false, 'expected errors');
  return r.ok ? [] : r.errors.map((e) => e.message);
}

function config(raw: unknown, options?: { name?: string }): ExperimentConfig {
  const r = validateExperiment(raw, options);
  if (!r.ok) assert.fail(formatErrors(r.errors));
  return r.config;
}

const MNIST = { dataset: { name: 'mnist' } };
const withTraining = (training: object) => ({ ...MNIST, training });
const withLayers = (...layers: unknown[]) => ({ ...MNIST, model: { layers } });

describe('defaults', () => {
  test('the minimal file resolves to the full default config', () => {
    assert.deepEqual(config({ dataset: { name: 'mnist' } }), {
      name: 'experiment',
      seed: 42,
      dataset: { name: 'mnist', normalize: true },
      model: { layers: [{ type: 'dense', units: 256, activation: 'relu' }], init: 'he' },
      training: {
        epochs: 5,
        batchSize: 128,
        optimizer: 'sgd',
        learningRate: 0.05,
        momentum: 0.9,
        nesterov: false,
        weightDecay: 0,
        beta1: 0.9,
        beta2: 0.999,
        epsilon: 1e-7,
        evalEvery: 1,
        shuffle: true,
      },
      engine: 'onnxruntime',
      executionProvider: 'cpu',
    });
  });

  test('the name defaults to the one the caller passes (the file base name)', () => {
    assert.equal(config(MNIST, { name: 'mnist-mlp' }).name, 'mnist-mlp');
    assert.equal(config({ ...MNIST, name: 'mine' }, { name: 'mnist-mlp' }).name, 'mine');
    assert.equal(config(MNIST, { name: '' }).name, 'experiment');
    assert.equal(experimentNameFromPath('/home/me/exp/mnist-mlp.growth.json'), 'mnist-mlp');
    assert.equal(experimentNameFromPath('C:\\exp\\Wide.GROWTH.JSON'), 'Wide');
    assert.equal(experimentNameFromPath('plain.json'), 'plain');
  });

  test('adam and adamw default the learning rate to 0.001, only when it is not given', () => {
    assert.equal(config(withTraining({ optimizer: 'adam' })).training.learningRate, 0.001);
    assert.equal(config(withTraining({ optimizer: 'adamw' })).training.learningRate, 0.001);
    assert.equal(config(withTraining({ optimizer: 'sgd' })).training.learningRate, 0.05);
    assert.equal(config(withTraining({ optimizer: 'adam', learningRate: 0.01 })).training.learningRate, 0.01);
    assert.equal(config(withTraining({ epochs: 2 })).training.learningRate, 0.05);
  });

  test('hidden layers default per dataset', () => {
    const layers = (dataset: object) => config({ dataset }).model.layers;
    assert.deepEqual(layers({ name: 'mnist' }), [{ type: 'dense', units: 256, activation: 'relu' }]);
    assert.deepEqual(layers({ name: 'fashion-mnist' }), [{ type: 'dense', units: 256, activation: 'relu' }]);
    assert.deepEqual(layers({ name: 'rbf-toy' }), [{ type: 'dense', units: 10, activation: 'rbf' }]);
    assert.deepEqual(layers({ name: 'csv', path: 'iris.csv' }), [{ type: 'dense', units: 64, activation: 'relu' }]);
    assert.deepEqual(config({ ...MNIST, model: { layers: [] } }).model.layers, []);
  });

  test('layer fields default per layer type', () => {
    const c = config(
      withLayers(
        { type: 'conv2d', filters: 8 },
        { type: 'maxpool' },
        { type: 'avgpool', size: 3 },
        { type: 'batchnorm' },
        { type: 'globalavgpool' },
        { type: 'flatten' },
        { type: 'residual', units: 16 },
        { type: 'dense', units: 32, activation: 'tanh' },
      ),
    );
    assert.deepEqual(c.model.layers, [
      { type: 'conv2d', filters: 8, kernelSize: 3, stride: 1, padding: 'same', activation: 'relu' },
      { type: 'maxpool', size: 2 },
      { type: 'avgpool', size: 3 },
      { type: 'batchnorm', momentum: 0.99, epsilon: 1e-3 },
      { type: 'globalavgpool' },
      { type: 'flatten' },
      { type: 'residual', units: 16, activation: 'relu' },
      { type: 'dense', units: 32, activation: 'tanh' },
    ]);
  });

  test('given values, csv fields, growth and $schema', () => {
    const growth = { method: 'firefly', schedule: { every: 2 }, options: { nested: { list: [1, 'a', null, { b: true }] } } };
    const c = config({
      $schema: './node_modules/growth-lab/experiment.schema.json',
      name: 'iris',
      seed: 0,
      dataset: {
        name: 'csv',
        path: 'iris.csv',
        labelColumn: 'species',
        task: 'classification',
        testFraction: 0.2,
        trainSize: 100,
        testSize: 50,
        normalize: false,
      },
      engine: 'tfjs',
      executionProvider: 'webgpu',
      growth,
    });
    assert.equal('$schema' in c, false);
    assert.deepEqual(c.dataset, {
      name: 'csv',
      path: 'iris.csv',
      labelColumn: 'species',
      task: 'classification',
      testFraction: 0.2,
      trainSize: 100,
      testSize: 50,
      normalize: false,
    });
    assert.deepEqual(c.growth, { ...growth, optimizerState: 'keep' });
    assert.notEqual(c.growth!.options, growth.options, 'the config is a copy');
    assert.deepEqual(config({ ...MNIST, growth: { schedule: { plateau: {} } } }).growth, {
      method: 'firefly',
      schedule: { plateau: { metric: 'testLoss', patience: 2, minDelta: 0.001 } },
      options: {},
      optimizerState: 'keep',
    });
    assert.equal(config({ dataset: { name: 'csv', path: 'a.csv', labelColumn: 0 } }).dataset.labelColumn, 0);
    assert.equal(c.seed, 0);
    assert.equal(c.engine, 'tfjs');
  });

  test('the resolved config is a fresh object and validates to itself', () => {
    const a = config(MNIST);
    a.model.layers.push({ type: 'flatten' });
    assert.equal(config(MNIST).model.layers.length, 1, 'defaults are not shared between configs');
    const b = config(MNIST);
    assert.deepEqual(config(b), b);
  });

  test('the schema documents the dataset- and optimizer-dependent defaults', () => {
    const layers = deref(experimentSchema.properties!.model.properties!.layers);
    for (const [dataset, [layer]] of Object.entries(DEFAULT_LAYERS_BY_DATASET)) {
      assert.ok(layers.description!.includes(dataset), dataset);
      assert.ok(layer.type === 'dense' && layers.description!.includes(`${layer.units} ${layer.activation} units`), dataset);
    }
    const lr = deref(experimentSchema.properties!.training.properties!.learningRate);
    assert.ok(lr.description!.includes(`${lr.default as number} for sgd, 0.001 for adam and adamw`));
  });
});

describe('messages', () => {
  const cases: [string, unknown, string[]][] = [
    ['exclusiveMinimum', withTraining({ learningRate: -1 }), ['training.learningRate must be > 0, got -1']],
    ['exclusiveMinimum at the limit', withTraining({ learningRate: 0 }), ['training.learningRate must be > 0, got 0']],
    [
      'integer',
      withLayers({ type: 'dense', units: 3 }, { type: 'dense', units: 2.5 }),
      ['model.layers[1].units must be an integer, got 2.5'],
    ],
    [
      'enum',
      { dataset: { name: 'imagenet' } },
      ['dataset.name must be one of mnist, fashion-mnist, rbf-toy, csv, cifar-10, cifar-100, svhn, npz, image-folder, got "imagenet"'],
    ],
    [
      'enum with a typo',
      { dataset: { name: 'mnsit' } },
      [
        'dataset.name must be one of mnist, fashion-mnist, rbf-toy, csv, cifar-10, cifar-100, svhn, npz, image-folder, got "mnsit" (did you mean "mnist"?)',
      ],
    ],
    ['unknown field', withTraining({ epochz: 3 }), ['training.epochz is not a known field (did you mean "epochs"?)']],
    [
      'unknown field, other case',
      withTraining({ LearningRate: 0.1 }),
      ['training.LearningRate is not a known field (did you mean "learningRate"?)'],
    ],
    ['unknown field one level too high', { ...MNIST, epochs: 3 }, ['epochs is not a known field (did you mean "training.epochs"?)']],
    [
      'unknown field without a close match',
      withLayers({ type: 'dense', units: 4, filters: 2 }),
      ['model.layers[0].filters is not a known field (known fields: type, units, activation)'],
    ],
    ['required', {}, ['dataset is required']],
    ['required inside', { dataset: {} }, ['dataset.name is required']],
    ['required when', { dataset: { name: 'csv' } }, ['dataset.path is required when dataset.name is "csv"']],
    ['type number', withTraining({ batchSize: '64' }), ['training.batchSize must be a number, got "64"']],
    ['type boolean', withTraining({ nesterov: 'yes' }), ['training.nesterov must be a boolean, got "yes"']],
    ['type object', { ...MNIST, training: [1, 2] }, ['training must be an object, got [1,2]']],
    ['type array', { ...MNIST, model: { layers: { type: 'dense' } } }, ['model.layers must be an array, got {"type":"dense"}']],
    ['type string', { ...MNIST, name: 7 }, ['name must be a string, got 7']],
    [
      'type union',
      { dataset: { name: 'csv', path: 'a.csv', labelColumn: true } },
      ['dataset.labelColumn must be a string or a number, got true'],
    ],
    [
      'type union integer',
      { dataset: { name: 'csv', path: 'a.csv', labelColumn: 1.5 } },
      ['dataset.labelColumn must be a string or an integer, got 1.5'],
    ],
    ['union minimum', { dataset: { name: 'csv', path: 'a.csv', labelColumn: -1 } }, ['dataset.labelColumn must be >= 0, got -1']],
    ['root type', [1, 2], ['experiment must be an object, got [1,2]']],
    ['root undefined', undefined, ['experiment must be an object, got undefined']],
    ['null is not absent', { dataset: { name: 'mnist', trainSize: null } }, ['dataset.trainSize must be a number, got null']],
    ['epochs minimum', withTraining({ epochs: 0 }), ['training.epochs must be >= 1, got 0']],
    ['epochs maximum', withTraining({ epochs: 10001 }), ['training.epochs must be <= 10000, got 10001']],
    ['batchSize range', withTraining({ batchSize: 65537 }), ['training.batchSize must be <= 65536, got 65537']],
    ['momentum [0,1)', withTraining({ momentum: 1 }), ['training.momentum must be < 1, got 1']],
    ['beta1 [0,1)', withTraining({ beta1: -0.1 }), ['training.beta1 must be >= 0, got -0.1']],
    ['beta2 [0,1)', withTraining({ beta2: 1.5 }), ['training.beta2 must be < 1, got 1.5']],
    ['epsilon > 0', withTraining({ epsilon: 0 }), ['training.epsilon must be > 0, got 0']],
    ['optimizer enum', withTraining({ optimizer: 'rmsprop' }), ['training.optimizer must be one of sgd, adam, adamw, got "rmsprop"']],
    ['testFraction (0,1) low', { dataset: { name: 'csv', path: 'a', testFraction: 0 } }, ['dataset.testFraction must be > 0, got 0']],
    ['testFraction (0,1) high', { dataset: { name: 'csv', path: 'a', testFraction: 1 } }, ['dataset.testFraction must be < 1, got 1']],
    [
      'trainSize >= 1',
      { dataset: { name: 'mnist', trainSize: 0, testSize: 0 } },
      ['dataset.trainSize must be >= 1, got 0', 'dataset.testSize must be >= 1, got 0'],
    ],
    ['seed integer', { ...MNIST, seed: 1.5 }, ['seed must be an integer, got 1.5']],
    [
      'units range',
      withLayers({ type: 'dense', units: 0 }, { type: 'residual', units: 65537 }),
      ['model.layers[0].units must be >= 1, got 0', 'model.layers[1].units must be <= 65536, got 65537'],
    ],
    [
      'conv2d rules',
      withLayers({ type: 'conv2d', filters: 4, kernelSize: 16, padding: 'full' }),
      ['model.layers[0].kernelSize must be <= 15, got 16', 'model.layers[0].padding must be one of same, valid, got "full"'],
    ],
    [
      'activation enum',
      withLayers({ type: 'dense', units: 4, activation: 'gelu' }),
      ['model.layers[0].activation must be one of relu, leaky_relu, tanh, sigmoid, linear, rbf, got "gelu"'],
    ],
    [
      'batchnorm rules',
      withLayers({ type: 'batchnorm', momentum: 1, epsilon: -1 }),
      ['model.layers[0].momentum must be < 1, got 1', 'model.layers[0].epsilon must be > 0, got -1'],
    ],
    [
      'layer type enum',
      withLayers({ type: 'dens', units: 4 }),
      [
        'model.layers[0].type must be one of dense, conv2d, maxpool, avgpool, globalavgpool, batchnorm, flatten, residual, resblock, got "dens" (did you mean "dense"?)',
      ],
    ],
    ['layer type required', withLayers({ units: 4 }), ['model.layers[0].type is required']],
    ['layer units required', withLayers({ type: 'dense' }), ['model.layers[0].units is required']],
    ['layer not an object', withLayers('dense'), ['model.layers[0] must be an object, got "dense"']],
    [
      'layers maxItems',
      withLayers(...Array.from({ length: 257 }, () => ({ type: 'flatten' }))),
      ['model.layers must have at most 256 items, got 257'],
    ],
    ['init enum', { ...MNIST, model: { init: 'xavier' } }, ['model.init must be one of he, glorot, got "xavier"']],
    ['engine enum', { ...MNIST, engine: 'torch' }, ['engine must be one of onnxruntime, tfjs, got "torch"']],
    [
      'executionProvider enum',
      { ...MNIST, executionProvider: 'tpu' },
      ['executionProvider must be one of cpu, webgpu, cuda, dml, coreml, got "tpu"'],
    ],
    ['growth must be an object', { ...MNIST, growth: 5 }, ['growth must be an object, got 5']],
    ['name not empty', { ...MNIST, name: '' }, ['name must not be empty']],
    ['name maxLength', { ...MNIST, name: 'n'.repeat(300) }, ['name must be at most 256 characters, got 300']],
    ['$schema must be a string', { ...MNIST, $schema: 5 }, ['$schema must be a string, got 5']],
    ['NaN', withTraining({ learningRate: NaN }), ['training.learningRate must be a finite number, got NaN']],
    ['Infinity', withTraining({ epochs: Infinity }), ['training.epochs must be a finite number, got Infinity']],
    ['function', { ...MNIST, growth: { options: { f: () => 1 } } }, ['growth.options.f must be a JSON value, got a function']],
    [
      'undefined in an array',
      { ...MNIST, growth: { options: { list: [1, undefined] } } },
      ['growth.options.list[1] must be a JSON value, got undefined'],
    ],
    [
      'class instance',
      { ...MNIST, growth: { options: { when: new Date(0) } } },
      ['growth.options.when must be a plain JSON object, got a Date'],
    ],
    [
      'growth fields',
      { ...MNIST, growth: { method: 'grow', every: 2, schedule: { every: 0 } } },
      [
        'growth.every is not a known field (did you mean "schedule.every"?)',
        'growth.method must be one of firefly, firefly-deeper, firefly-split, splitting, net2net-wider, net2net-deeper, gauss-newton, random-split, random-split-new, nash, none, got "grow"',
        'growth.schedule.every must be >= 1, got 0',
      ],
    ],
    ['odd keys in paths', { ...MNIST, growth: { options: { 'a b': NaN } } }, ['growth.options["a b"] must be a finite number, got NaN']],
  ];
  for (const [rule, raw, expected] of cases) {
    test(rule, () => assert.deepEqual(messages(raw), expected));
  }

  test('undefined fields count as absent', () => {
    assert.equal(config({ ...MNIST, training: { epochs: undefined } }).training.epochs, 5);
  });

  test('all errors are reported, with paths and pointers', () => {
    const r = validateExperiment({
      dataset: { name: 'imagenet' },
      training: { epochz: 3, learningRate: -1, batchSize: '64' },
      model: {
        layers: [
          { type: 'dense', units: 3 },
          { type: 'dense', units: 2.5 },
        ],
      },
      engine: 'torch',
    });
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.deepEqual(
      r.errors.map((e) => [e.pointer, e.message]),
      [
        [
          '/dataset/name',
          'dataset.name must be one of mnist, fashion-mnist, rbf-toy, csv, cifar-10, cifar-100, svhn, npz, image-folder, got "imagenet"',
        ],
        ['/model/layers/1/units', 'model.layers[1].units must be an integer, got 2.5'],
        ['/training/epochz', 'training.epochz is not a known field (did you mean "epochs"?)'],
        ['/training/batchSize', 'training.batchSize must be a number, got "64"'],
        ['/training/learningRate', 'training.learningRate must be > 0, got -1'],
        ['/engine', 'engine must be one of onnxruntime, tfjs, got "torch"'],
      ],
    );
    assert.deepEqual(r.errors[1].path, ['model', 'layers', 1, 'units']);
    assert.equal(r.errors[1].keyword, 'type');
    assert.equal(r.errors[2].keyword, 'additionalProperties');
  });

  test('JSON pointers escape ~ and /', () => {
    const r = validateExperiment({ ...MNIST, 'a/b~c': 1 });
    assert.ok(!r.ok && r.errors[0].pointer === '/a~1b~0c');
  });

  test('long values are truncated in messages', () => {
    const [m] = messages({ dataset: { name: 'x'.repeat(1000) } });
    assert.match(
      m,
      /^dataset\.name must be one of mnist, fashion-mnist, rbf-toy, csv, cifar-10, cifar-100, svhn, npz, image-folder, got "x{60}…" \(1000 characters\)$/,
    );
    const [m2] = messages({ ...MNIST, training: Array.from({ length: 1000 }, (_, i) => i) });
    assert.ok(m2.length < 120, m2);
    assert.match(m2, /^training must be an object, got \[0,1,2,.*…$/);
  });

  test('formatErrors and InvalidExperimentError', () => {
    const r = validateExperiment({ dataset: {}, seed: -1 });
    assert.ok(!r.ok);
    if (r.ok) return;
    assert.equal(formatErrors(r.errors), 'seed must be >= 0, got -1\ndataset.name is required');
    const e = new InvalidExperimentError(r.errors);
    assert.ok(e instanceof Error);
    assert.equal(e.name, 'InvalidExperimentError');
    assert.equal(e.errors, r.errors);
    assert.equal(e.message, 'Invalid experiment (2 problems):\n  seed must be >= 0, got -1\n  dataset.name is required');
    assert.throws(
      () => resolveExperiment({}),
      (err: unknown) => err instanceof InvalidExperimentError && err.errors[0].message === 'dataset is required',
    );
    assert.equal(resolveExperiment(MNIST).seed, 42);
  });
});

describe('hostile input', () => {
  test('10,000 levels of nesting give a clear error, not a RangeError', () => {
    let deep: unknown = {};
    for (let i = 0; i < 10000; i++) deep = { a: deep };
    const [m] = messages({ ...MNIST, growth: deep });
    assert.match(m, /^growth\.a\.a\.a\.a\.a…a\.a\.a is nested more than 32 levels deep$/);
    let arrays: unknown = [];
    for (let i = 0; i < 10000; i++) arrays = [arrays];
    const [nested, notObject, ...rest] = messages(arrays);
    assert.equal(nested, '[0][0][0][0][0][0]…[0][0][0] is nested more than 32 levels deep');
    assert.match(notObject, /^experiment must be an object, got \[{32}…\]+…$/);
    assert.deepEqual(rest, []);

    const text = `{"dataset": {"name": "mnist"}, "growth": ${'['.repeat(10000)}${']'.repeat(10000)}}`;
    const r = parseExperimentText(text);
    assert.ok(!r.ok);
    if (r.ok) return;
    assert.equal(r.errors.length, 1);
    assert.equal(r.errors[0].message, '1:73: Nesting is deeper than 32 levels; an experiment never needs that many');
    assert.equal(formatErrors(r.errors), '1:73: Nesting is deeper than 32 levels; an experiment never needs that many');
    const d = experimentDiagnostics(text);
    assert.deepEqual(
      d.map((x) => x.range),
      [{ start: { line: 0, character: 72 }, end: { line: 0, character: 73 } }],
    );
  });

  test('32 levels are fine, 33 are not', () => {
    const nest = (levels: number): unknown => {
      let v: unknown = 1;
      for (let i = 0; i < levels; i++) v = [v];
      return v;
    };
    assert.ok(validateExperiment({ ...MNIST, growth: { options: { x: nest(29) } } }).ok); // root, growth, options, 29 arrays = 32
    assert.deepEqual(messages({ ...MNIST, growth: { options: { x: nest(30) } } }), [
      `growth.options.x[0][0][0]…[0][0][0] is nested more than 32 levels deep`,
    ]);
    assert.ok(parseExperimentText(JSON.stringify({ ...MNIST, growth: { options: { x: nest(29) } } })).ok);
    assert.equal(parseExperimentText(JSON.stringify({ ...MNIST, growth: { options: { x: nest(30) } } })).ok, false);
  });

  test('a cycle is refused like deep nesting', () => {
    const raw: Record<string, unknown> = { dataset: { name: 'mnist' } };
    raw.growth = raw;
    assert.match(messages(raw)[0], /is nested more than 32 levels deep$/);
  });

  test('a 10 MB string', () => {
    const big = 'x'.repeat(10 * 1024 * 1024);
    assert.deepEqual(messages({ dataset: { name: 'csv', path: big } }), ['dataset.path must be at most 4096 characters, got 10485760']);
    assert.deepEqual(messages({ ...MNIST, name: big }), ['name must be at most 4096 characters, got 10485760']);
    const r = parseExperimentText(JSON.stringify({ dataset: { name: 'csv', path: big } }));
    assert.deepEqual(r.ok ? [] : r.errors.map(({ message, line, column }) => ({ message, line, column })), [
      { message: 'dataset.path must be at most 4096 characters, got 10485760', line: 1, column: 33 },
    ]);
  });

  test('huge arrays and objects', () => {
    assert.deepEqual(messages({ ...MNIST, growth: { options: { a: new Array(1e6).fill(0) } } }), [
      'growth.options.a must have at most 10000 items, got 1000000',
    ]);
    const wide = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, i]));
    assert.deepEqual(messages({ ...MNIST, growth: { options: wide } }), ['growth.options must have at most 1000 fields, got 5000']);
    assert.match(
      messages({ ...MNIST, growth: { options: { ['k'.repeat(300)]: 1 } } })[0],
      /^growth\.options\["k{40}…"\] is not allowed: field names must be at most 256 characters, got 300$/,
    );
  });

  test('many errors are capped with a summary', () => {
    const raw = { ...MNIST, ...Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`x${i}`, i])) };
    const r = validateExperiment(raw);
    assert.ok(!r.ok);
    if (r.ok) return;
    assert.equal(r.errors.length, 101);
    assert.equal(r.errors[100].message, '…and 400 more errors (only the first 100 are shown)');
  });

  test('__proto__ and constructor keys are refused and pollute nothing', () => {
    const raw: unknown = JSON.parse(
      '{"dataset": {"name": "mnist", "__proto__": {"path": "evil"}}, "training": {"__proto__": {"epochs": 0}}, "growth": {"constructor": {"prototype": {"polluted": true}}}, "__proto__": {"polluted": true}}',
    );
    assert.deepEqual(messages(raw), [
      'dataset.__proto__ is a reserved name and not allowed',
      'training.__proto__ is a reserved name and not allowed',
      'growth.constructor is a reserved name and not allowed',
      '__proto__ is a reserved name and not allowed',
    ]);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(({} as Record<string, unknown>).path, undefined);
    // from file text too: the key is seen (not swallowed by a prototype setter) and marked
    const text = '{\n  "dataset": { "name": "mnist" },\n  "__proto__": { "x": 1 }\n}';
    const d = experimentDiagnostics(text);
    assert.deepEqual(
      d.map((x) => [x.message, x.range]),
      [['__proto__ is a reserved name and not allowed', { start: { line: 2, character: 2 }, end: { line: 2, character: 13 } }]],
    );
    // a constructor field in a schema-governed object is just unknown
    assert.deepEqual(messages(JSON.parse('{"dataset": {"name": "mnist"}, "model": {"constructor": 1}}')), [
      'model.constructor is a reserved name and not allowed',
    ]);
    // objects without a prototype are fine
    const bare = Object.assign(Object.create(null) as object, { dataset: Object.assign(Object.create(null) as object, { name: 'mnist' }) });
    assert.equal(config(bare).dataset.name, 'mnist');
  });

  test('a throwing getter does not make validation throw', () => {
    const raw = {
      dataset: { name: 'mnist' },
      get growth(): unknown {
        throw new Error('boom');
      },
    };
    assert.deepEqual(messages(raw), ['experiment could not be read: boom']);
  });
});

describe('diagnostics', () => {
  const range = (sl: number, sc: number, el: number, ec: number) => ({
    start: { line: sl, character: sc },
    end: { line: el, character: ec },
  });
  const shape = (text: string) => experimentDiagnostics(text).map((d) => [d.message, d.range]);

  test('a value error is reported at the value, an unknown key at the key', () => {
    const text = [
      '{',
      '  // comments are allowed',
      '  "dataset": { "name": "mnist" },',
      '  "training": { "learningRate": -1, "epochz": 3 }',
      '}',
    ].join('\n');
    const d = experimentDiagnostics(text);
    assert.deepEqual(d, [
      {
        range: range(3, 36, 3, 44),
        severity: 1,
        source: 'Growth Lab',
        message: 'training.epochz is not a known field (did you mean "epochs"?)',
        code: 'additionalProperties',
      },
      {
        range: range(3, 32, 3, 34),
        severity: 1,
        source: 'Growth Lab',
        message: 'training.learningRate must be > 0, got -1',
        code: 'exclusiveMinimum',
      },
    ]);
  });

  test('a missing field is reported at the object that lacks it', () => {
    assert.deepEqual(shape('{\n  "training": {}\n}'), [['dataset is required', range(0, 0, 2, 1)]]);
    assert.deepEqual(shape('{\n  "dataset": {\n    "name": "csv"\n  }\n}'), [
      ['dataset.path is required when dataset.name is "csv"', range(1, 13, 3, 3)],
    ]);
  });

  test('errors inside layers point into the array', () => {
    const text =
      '{"dataset": {"name": "mnist"},\n "model": {"layers": [\n   {"type": "dense", "units": 8},\n   {"type": "dense", "units": 2.5}]}}';
    assert.deepEqual(shape(text), [['model.layers[1].units must be an integer, got 2.5', range(3, 30, 3, 33)]]);
  });

  test('syntax errors are reported at their offsets', () => {
    assert.deepEqual(shape('{\n  "dataset": { "name": "mnist" }\n  "seed": 1\n}'), [['Expected comma', range(2, 2, 2, 8)]]);
    assert.deepEqual(shape('{\n  "dataset": { "name": "mnist", },\n  "seed": 1\n}'), [
      ['Trailing comma is not allowed', range(1, 30, 1, 31)],
    ]);
    assert.deepEqual(shape('{"dataset": {"name": "mnist"}, "seed": tru}'), [
      ['Unexpected "tru" (strings need double quotes; literals are true, false and null)', range(0, 39, 0, 42)],
    ]);
    assert.deepEqual(shape('  // nothing\n'), [
      ['The file is empty; an experiment is a JSON object such as { "dataset": { "name": "mnist" } }', range(0, 0, 0, 0)],
    ]);
    assert.deepEqual(shape('{"dataset": {"name": "mnist"}'), [['Expected closing brace "}"', range(0, 29, 0, 29)]]);
  });

  test('a duplicate key is reported; the last one counts', () => {
    const text = '{"dataset": {"name": "mnist"},\n "seed": 1,\n "seed": -1}';
    assert.deepEqual(shape(text), [
      ['seed is given more than once', range(2, 1, 2, 7)],
      ['seed must be >= 0, got -1', range(2, 9, 2, 11)],
    ]);
  });

  test('CRLF line ends', () => {
    assert.deepEqual(shape('{\r\n"dataset": {"name": "mnist"},\r\n"seed": -1\r\n}'), [['seed must be >= 0, got -1', range(2, 8, 2, 10)]]);
  });

  test('a valid file has no diagnostics', () => {
    assert.deepEqual(experimentDiagnostics('// MNIST\n{ "dataset": { "name": "mnist" }, /* fast */ "training": { "epochs": 1 } }'), []);
  });
});

describe('parseExperimentText', () => {
  test('resolves like validateExperiment', () => {
    const raw = { dataset: { name: 'rbf-toy' }, training: { optimizer: 'adamw' } };
    assert.deepEqual(parseExperimentText(JSON.stringify(raw), { name: 'toy' }), validateExperiment(raw, { name: 'toy' }));
  });

  test('syntax errors carry line:column in the message', () => {
    const r = parseExperimentText('{\n  "dataset": { "name": "mnist" }\n  "seed": 1\n}');
    assert.deepEqual(r, {
      ok: false,
      errors: [{ path: [], pointer: '', message: '3:3: Expected comma', keyword: 'syntax', line: 3, column: 3 }],
    });
    assert.ok(!r.ok && formatErrors(r.errors) === '3:3: Expected comma');
    const dup = parseExperimentText('{"dataset": {"name": "mnist"},\n "seed": 1,\n "seed": 2}');
    assert.ok(!dup.ok && formatErrors(dup.errors) === '3:2: seed is given more than once');
  });

  test('schema errors carry line and column of the value', () => {
    const r = parseExperimentText('{\n  "dataset": { "name": "mnist" },\n  "training": { "learningRate": -1 }\n}');
    assert.ok(!r.ok);
    if (r.ok) return;
    assert.deepEqual(r.errors, [
      {
        path: ['training', 'learningRate'],
        pointer: '/training/learningRate',
        message: 'training.learningRate must be > 0, got -1',
        keyword: 'exclusiveMinimum',
        line: 3,
        column: 33,
      },
    ]);
    assert.equal(formatErrors(r.errors), '3:33: training.learningRate must be > 0, got -1');
  });
});

describe('schema', () => {
  const visit = (node: unknown, where: string, fn: (n: SchemaNode, where: string) => void): void => {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) return;
    const n = node as SchemaNode;
    fn(n, where);
    for (const [k, sub] of Object.entries(n.properties ?? {})) visit(sub, `${where}.${k}`, fn);
    for (const [k, sub] of Object.entries(n.definitions ?? {})) visit(sub, `#${k}`, fn);
    for (const k of ['items', 'if', 'then', 'else', 'additionalProperties'] as const) visit(n[k], `${where}/${k}`, fn);
    for (const k of ['oneOf', 'allOf'] as const) (n[k] ?? []).forEach((s, i) => visit(s, `${where}/${k}[${i}]`, fn));
  };

  test('uses only keywords the validator implements', () => {
    visit(experimentSchema, '', (n, where) => {
      for (const k of Object.keys(n)) assert.ok(SUPPORTED_KEYWORDS.includes(k), `${where}: unsupported keyword ${k}`);
    });
  });

  test('every field has a description, every object closes its fields except growth options', () => {
    visit(experimentSchema, '', (n, where) => {
      if (where.includes('/if') || where.includes('/then') || where.includes('/else') || where.includes('/oneOf')) return;
      if (n.$ref === undefined) assert.ok(typeof n.description === 'string' && n.description.length > 0, `${where}: description`);
      if (n.properties !== undefined) assert.equal(n.additionalProperties, false, `${where}: additionalProperties`);
    });
    const options = experimentSchema.properties!.growth.properties!.options;
    assert.equal(options.type, 'object');
    assert.equal(options.additionalProperties, undefined);
  });
});

describe('fuzz', () => {
  const VALID = {
    $schema: 'x',
    name: 'fuzz',
    seed: 7,
    dataset: { name: 'csv', path: 'a.csv', labelColumn: 'y', task: 'regression', testFraction: 0.25, trainSize: 10, normalize: false },
    model: {
      layers: [
        { type: 'conv2d', filters: 4, kernelSize: 3, stride: 1, padding: 'valid', activation: 'relu' },
        { type: 'batchnorm', momentum: 0.9, epsilon: 0.01 },
        { type: 'maxpool', size: 2 },
        { type: 'flatten' },
        { type: 'residual', units: 8, activation: 'tanh' },
        { type: 'dense', units: 16 },
      ],
      init: 'glorot',
    },
    training: { epochs: 2, batchSize: 32, optimizer: 'adam', beta1: 0.8, shuffle: false, evalEvery: 2 },
    engine: 'tfjs',
    executionProvider: 'cpu',
    growth: { method: 'firefly', schedule: { every: 1 }, options: { ratio: 0.3 } },
  };

  const paths: (string | number)[][] = [];
  const collect = (v: unknown, path: (string | number)[]): void => {
    paths.push(path);
    if (Array.isArray(v)) v.forEach((x, i) => collect(x, [...path, i]));
    else if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) collect(x, [...path, k]);
  };
  collect(VALID, []);

  const plausible = fc.constantFrom<unknown>(
    0,
    1,
    2,
    3,
    0.5,
    -1,
    1e-7,
    42,
    256,
    65537,
    2.5,
    'relu',
    'adam',
    'csv',
    'mnist',
    'rbf-toy',
    'dense',
    'conv2d',
    'flatten',
    'same',
    true,
    false,
    null,
    '64',
    [],
    {},
    { type: 'dense', units: 4 },
    { type: 'maxpool' },
  );
  const mutation = fc.record({
    path: fc.constantFrom(...paths),
    op: fc.constantFrom<'set' | 'delete' | 'add'>('set', 'delete', 'add'),
    key: fc.constantFrom('type', 'units', 'epochs', 'epochz', 'name', '__proto__', 'constructor', 'x'),
    value: fc.oneof({ weight: 3, arbitrary: plausible }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) }),
  });

  type Mutation = { path: (string | number)[]; op: 'set' | 'delete' | 'add'; key: string; value: unknown };
  function mutate(base: unknown, muts: Mutation[]): unknown {
    let root: unknown = JSON.parse(JSON.stringify(base));
    for (const m of muts) {
      const value: unknown = structuredClone(m.value); // constantFrom hands out shared objects
      if (m.path.length === 0) {
        if (m.op === 'set') root = value;
        continue;
      }
      let parent: unknown = root;
      for (const seg of m.path.slice(0, -1))
        parent = typeof parent === 'object' && parent !== null ? (parent as Record<string | number, unknown>)[seg] : undefined;
      if (typeof parent !== 'object' || parent === null) continue;
      const p = parent as Record<string | number, unknown>;
      const last = m.path[m.path.length - 1];
      if (m.op === 'set') p[last] = value;
      else if (m.op === 'delete') delete p[last];
      else if (typeof p[last] === 'object' && p[last] !== null)
        Object.defineProperty(p[last], m.key, { value, enumerable: true, writable: true, configurable: true });
    }
    return root;
  }

  function checkResult(r: ReturnType<typeof validateExperiment>): void {
    if (r.ok) {
      const again = validateExperiment(r.config);
      assert.ok(again.ok, again.ok ? '' : formatErrors(again.errors));
      assert.deepEqual(again.config, r.config);
    } else {
      assert.ok(r.errors.length > 0);
      for (const e of r.errors as ConfigError[]) {
        assert.ok(typeof e.message === 'string' && e.message.length > 0);
        assert.ok(Array.isArray(e.path));
        assert.equal(e.pointer, toPointer(e.path));
        assert.ok(!e.message.startsWith('experiment could not be read'), e.message);
      }
    }
  }

  /** The file text path and the raw object path agree (positions aside). */
  function sameAsText(raw: unknown): void {
    const text = JSON.stringify(raw);
    if (text === undefined) return;
    const fromText = parseExperimentText(text);
    const fromValue = validateExperiment(JSON.parse(text));
    if (fromText.ok || fromValue.ok) assert.deepEqual(fromText, fromValue);
    else
      assert.deepEqual(
        fromText.errors.map((e) => e.message),
        fromValue.errors.map((e) => e.message),
      );
  }

  test('the valid base config is valid', () => {
    assert.ok(validateExperiment(VALID).ok);
  });

  test('arbitrary JSON values: never throws; a config or errors', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        checkResult(validateExperiment(v));
        sameAsText(v);
      }),
      { numRuns: 3000 },
    );
  });

  test('arbitrary values (NaN, undefined, -0, null prototypes): never throws', () => {
    fc.assert(
      fc.property(
        fc.anything({
          withNullPrototype: true,
          withObjectString: true,
          withBigInt: true,
          withDate: true,
          withSparseArray: true,
          withBoxedValues: true,
          withMap: true,
          withSet: true,
        }),
        (v) => checkResult(validateExperiment(v)),
      ),
      { numRuns: 1500 },
    );
  });

  test('mutations of a valid config: never throws; a config that re-validates to itself, or errors', () => {
    let ok = 0;
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (muts) => {
        const raw = mutate(VALID, muts);
        const r = validateExperiment(raw);
        if (r.ok) ok++;
        checkResult(r);
        sameAsText(raw);
      }),
      { numRuns: 5000 },
    );
    assert.ok(ok > 200, `only ${ok} mutated configs were valid: the generator is too destructive`);
  });

  test('mangled file text: diagnostics and parsing never throw and agree', () => {
    const base = JSON.stringify(VALID, null, 2);
    const edit = fc.record({
      at: fc.nat({ max: base.length }),
      cut: fc.nat({ max: 3 }),
      insert: fc.constantFrom('', ',', '{', '}', '[', ']', '"', ':', '//', '/*', '\n', 'x', '-', '1e999', '"__proto__": 1,'),
    });
    fc.assert(
      fc.property(fc.oneof(fc.array(edit, { minLength: 1, maxLength: 3 }), fc.string({ maxLength: 40 })), (input) => {
        let text = base;
        if (typeof input === 'string') text = input;
        else for (const e of input) text = text.slice(0, e.at) + e.insert + text.slice(e.at + e.cut);
        const diagnostics = experimentDiagnostics(text);
        const parsed = parseExperimentText(text);
        assert.equal(parsed.ok, diagnostics.length === 0, text);
        if (parsed.ok) checkResult(parsed);
        else assert.ok(parsed.errors.every((e) => e.message.length > 0 && e.line !== undefined));
        const lines = text.split(/\r\n|\r|\n/);
        for (const d of diagnostics) {
          assert.ok(d.range.start.line < lines.length && d.range.end.line < lines.length);
          assert.ok(d.range.start.line < d.range.end.line || d.range.start.character <= d.range.end.character);
        }
      }),
      { numRuns: 2500 },
    );
  });
});

test('every example experiment in examples/ validates against the schema', async () => {
  const fs = await import('fs');
  const path = await import('path');
  const dir = path.join(__dirname, '..', '..', 'examples');
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.growth.json'))
    .sort();
  assert.ok(files.includes('split-mnist-cl-reference.growth.json'), files.join(', '));
  for (const f of files) {
    assert.doesNotThrow(() => resolveExperiment(JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'))), f);
  }
  const ref = resolveExperiment(JSON.parse(fs.readFileSync(path.join(dir, 'split-mnist-cl-reference.growth.json'), 'utf8'))).continual!;
  assert.deepEqual(
    [ref.hidden, ref.epochs, ref.batchSize, ref.learningRate, ref.init, ref.optimizerState],
    [[400, 400], 20, 128, 0.001, 'uniform', 'keep'],
  );
});
