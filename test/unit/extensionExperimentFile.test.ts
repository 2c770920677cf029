import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'path';
import { ErrorCodes } from '../../common/protocol';
import {
  backendErrorText,
  configuredEpochs,
  experimentName,
  isExperimentFile,
  isInvalidExperimentError,
  lineColumn,
  outDirFor,
  parseExperimentText,
} from '../../extension/experimentFile';
import { DEFAULT_SETTINGS, normalizeSettings } from '../../extension/settings';

test('isExperimentFile', () => {
  assert.ok(isExperimentFile('/w/mnist.growth.json'));
  assert.ok(isExperimentFile('C:\\w\\A.Growth.JSON'));
  assert.ok(!isExperimentFile('/w/package.json'));
  assert.ok(!isExperimentFile('/w/growth.json.bak'));
});

test('parseExperimentText: JSON with comments; trailing commas are errors (as in the backend)', () => {
  const r = parseExperimentText('// mnist\n{ "name": "m", /* x */ "training": { "epochs": 3 } }');
  assert.deepEqual(r, { ok: true, config: { name: 'm', training: { epochs: 3 } } });
  const t = parseExperimentText('{ "name": "m", }', 't.growth.json');
  assert.deepEqual(t, { ok: false, message: 't.growth.json is not valid JSON: trailing comma (not allowed) at 1:16 (1 more error)' });
});

test('parseExperimentText: syntax errors with line and column', () => {
  const r = parseExperimentText('{\n  "name": "m"\n  "seed": 1\n}', 'a.growth.json');
  assert.equal(r.ok, false);
  assert.match(!r.ok ? r.message : '', /^a\.growth\.json is not valid JSON: CommaExpected at 3:3$/);
  const arr = parseExperimentText('[1, 2]', 'b.growth.json');
  assert.deepEqual(arr, { ok: false, message: 'b.growth.json must contain a JSON object' });
  assert.equal(parseExperimentText('', 'c').ok, false);
});

test('lineColumn', () => {
  assert.deepEqual(lineColumn('ab\ncd', 0), { line: 1, column: 1 });
  assert.deepEqual(lineColumn('ab\ncd', 4), { line: 2, column: 2 });
});

test('outDirFor, experimentName, configuredEpochs', () => {
  const file = path.join(path.sep, 'w', 'exp', 'mnist.growth.json');
  assert.equal(outDirFor(path.join(path.sep, 'w'), file), path.join(path.sep, 'w', '.growth-lab'));
  assert.equal(outDirFor(undefined, file), path.join(path.sep, 'w', 'exp', '.growth-lab'));
  assert.equal(experimentName({ name: ' mlp ' }, file), 'mlp');
  assert.equal(experimentName({}, file), 'mnist');
  assert.equal(experimentName(null, file), 'mnist');
  assert.equal(configuredEpochs({ training: { epochs: 7 } }), 7);
  assert.equal(configuredEpochs({ training: {} }), undefined);
  assert.equal(configuredEpochs('x'), undefined);
});

test('backendErrorText: the backend message, with details it does not already list', () => {
  const invalid = { code: ErrorCodes.invalidExperiment, message: 'invalid experiment: training.epochs must be a positive integer' };
  assert.equal(backendErrorText(invalid), invalid.message);
  assert.ok(isInvalidExperimentError(invalid));
  assert.ok(!isInvalidExperimentError({ code: ErrorCodes.internal, message: 'x' }));
  assert.equal(
    backendErrorText({
      message: 'invalid experiment',
      data: { errors: [{ path: 'model.layers[0].units', message: 'must be >= 1' }, 'seed: must be an integer'] },
    }),
    'invalid experiment\nmodel.layers[0].units: must be >= 1\nseed: must be an integer',
  );
  assert.equal(backendErrorText({ message: 'a: bad', data: ['a: bad'] }), 'a: bad');
  assert.equal(backendErrorText(new Error('boom')), 'boom');
  assert.equal(backendErrorText('plain'), 'plain');
});

test('normalizeSettings: valid values pass, bad ones fall back to the defaults', () => {
  const cfg = (v: Record<string, unknown>) => ({ get: (k: string) => v[k] });
  assert.deepEqual(normalizeSettings(cfg({})), DEFAULT_SETTINGS);
  assert.deepEqual(
    normalizeSettings(
      cfg({
        engine: 'tfjs',
        executionProvider: 'cuda',
        nodePath: ' /usr/bin/node ',
        maxConcurrentRuns: 3,
        maxParams: 1000000,
        maxActivationMemoryMB: 2048,
      }),
    ),
    {
      engine: 'tfjs',
      executionProvider: 'cuda',
      nodePath: '/usr/bin/node',
      maxConcurrentRuns: 3,
      maxParams: 1000000,
      maxActivationMemoryMB: 2048,
    },
  );
  assert.deepEqual(
    normalizeSettings(cfg({ engine: 'torch', executionProvider: 3, nodePath: 5, maxConcurrentRuns: 0, maxParams: 2.5 })),
    DEFAULT_SETTINGS,
  );
});
