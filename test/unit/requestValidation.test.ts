/**
 * The server's boundary: every request's params are checked against their shape (wrong types are
 * invalidParams, -32602, before any handler runs), and every internal error maps to one JSON-RPC code.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  ErrorCodes,
  Methods,
  PARAMS_SHAPES,
  RUN_ID_PATTERN,
  checkParams,
  isRequestMethod,
  isRunId,
  type RequestMethod,
} from '../../common/protocol';
import { RunManager } from '../../server/runManager';
import { handleRequest, requestHandlers } from '../../server/requestHandlers';
import { InvalidExperimentError, RequestError, toRequestError } from '../../server/requestErrors';
import { RunStoreError } from '../../server/runs/errors';
import { isValidRunId } from '../../server/runs/runId';
import { RunFailure } from '../../server/training/experiment';
import { GrowthError } from '../../server/growth';
import { ModelSpecError } from '../../server/model/spec';
import { ExportError } from '../../server/export';
import { DownloadError } from '../../server/datasets/download';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'growth-lab-request-validation-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));

const RUN = '20261123-104512-mnist-a1b2';

/** Params of the right shape for every method (the values need not name a run that exists). */
const WELL_TYPED: { [M in RequestMethod]: unknown[] } = {
  [Methods.startExperiment]: [
    { config: { dataset: { name: 'mnist' } } },
    { config: null },
    { config: 'x', configPath: 'a.growth.json', outDir: '/tmp/o' },
  ],
  [Methods.stopExperiment]: [{ runId: RUN }, { runId: '' }, { runId: '../../etc' }],
  [Methods.pauseExperiment]: [{ runId: RUN }],
  [Methods.resumeExperiment]: [{ runId: RUN }],
  [Methods.getArchitecture]: [{ runId: RUN }],
  [Methods.listRuns]: [undefined, null, {}],
  [Methods.getRunHistory]: [{ runId: RUN }],
  [Methods.grow]: [{ runId: RUN }, { runId: RUN, method: 'firefly', options: { ratio: 0.3 }, propose: true }],
  [Methods.resumeRun]: [{ runId: RUN }],
  [Methods.prune]: [{ runId: RUN }, { runId: RUN, options: { method: 'prune-taylor', fraction: 0.1 } }],
  [Methods.export]: [
    { runId: RUN, format: 'onnx' },
    { runId: RUN, format: 'exe', path: 'x', force: true },
  ],
  [Methods.commitProposal]: [
    { runId: RUN, proposalId: 'p1' },
    { runId: RUN, proposalId: 'p1', resume: false },
  ],
  [Methods.rejectProposal]: [{ runId: RUN, proposalId: 'p1', resume: true }],
  [Methods.downloadDataset]: [{ name: 'cifar-10' }, { name: 'svhn', to: '/data', extra: true, force: false }, { name: 'mnist' }],
  [Methods.cancelDownload]: [{ name: 'cifar-10' }],
};

/** Params of a wrong type for every method, with what the message must name. */
const WRONG_TYPED: { [M in RequestMethod]: [unknown, RegExp][] } = {
  [Methods.startExperiment]: [
    [undefined, /needs params \{config, configPath\?, outDir\?\}, got none/],
    [null, /needs params \{config/],
    ['mnist', /params must be an object \{config.*got "mnist"/],
    [[{ config: {} }], /params must be an object/],
    [{}, /config is required/],
    [{ config: {}, outDir: 42 }, /outDir must be a non-empty path string \(at most 4096 characters\), got 42/],
    [{ config: {}, configPath: { evil: true } }, /configPath must be a non-empty path string .*got \{"evil":true\}/],
    [{ config: {}, outDir: null }, /outDir must be .*got null/],
  ],
  [Methods.stopExperiment]: [
    [{ runId: 5 }, /runId must be a string, got 5/],
    [{}, /runId is required/],
    [undefined, /needs params \{runId\}/],
  ],
  [Methods.pauseExperiment]: [
    [{ runId: null }, /runId must be a string, got null/],
    [[RUN], /params must be an object/],
  ],
  [Methods.resumeExperiment]: [[{ runId: { $ne: 1 } }, /runId must be a string, got \{"\$ne":1\}/]],
  [Methods.getArchitecture]: [[{ runId: ['a'] }, /runId must be a string, got \["a"\]/]],
  [Methods.listRuns]: [
    [[], /params must be an object/],
    ['x', /params must be an object/],
    [7, /params must be an object/],
  ],
  [Methods.getRunHistory]: [[{ runId: true }, /runId must be a string, got true/]],
  [Methods.grow]: [
    [{ runId: RUN, options: 'x' }, /options must be an object, got "x"/],
    [{ runId: RUN, options: [1] }, /options must be an object, got \[1\]/],
    [{ runId: RUN, options: null }, /options must be an object, got null/],
    [{ runId: RUN, method: 7 }, /method must be a string, got 7/],
    [{ runId: RUN, propose: 'yes' }, /propose must be a boolean, got "yes"/],
    [{ runId: 5, method: 'firefly' }, /runId must be a string/],
  ],
  [Methods.resumeRun]: [[{ runId: 1.5 }, /runId must be a string, got 1\.5/]],
  [Methods.prune]: [
    [{ runId: RUN, options: 'x' }, /options must be an object/],
    [{ runId: RUN, options: { method: 3 } }, /options\.method must be a string, got 3/],
  ],
  [Methods.export]: [
    [{ runId: RUN, format: 7 }, /format must be a string, got 7/],
    [{ runId: RUN }, /format is required/],
    [{ runId: RUN, format: 'json', path: 7 }, /path must be a string, got 7/],
    [{ runId: RUN, format: 'json', force: 'yes' }, /force must be a boolean, got "yes"/],
    [{ runId: 42, format: 'json' }, /runId must be a string/],
  ],
  [Methods.commitProposal]: [
    [{ runId: RUN }, /proposalId is required/],
    [{ runId: RUN, proposalId: 5 }, /proposalId must be a string, got 5/],
    [{ runId: RUN, proposalId: 'p1', resume: 'no' }, /resume must be a boolean, got "no"/],
  ],
  [Methods.rejectProposal]: [[{ runId: RUN, proposalId: {} }, /proposalId must be a string, got \{\}/]],
  [Methods.downloadDataset]: [
    [undefined, /needs params \{name, to\?, extra\?, force\?\}, got none/],
    [{ name: 10 }, /name must be a string, got 10/],
    [{ name: 'svhn', extra: 'yes' }, /extra must be a boolean, got "yes"/],
    [{ name: 'svhn', to: 5 }, /to must be a non-empty path string \(at most 4096 characters\), got 5/],
    [{ name: 'svhn', force: 1 }, /force must be a boolean, got 1/],
  ],
  [Methods.cancelDownload]: [[{}, /name is required/]],
};

test('every request method has a params shape, and nothing else is a request method', () => {
  assert.deepEqual(Object.keys(PARAMS_SHAPES).sort(), Object.values(Methods).sort());
  for (const m of Object.values(Methods)) assert.ok(isRequestMethod(m), m);
  for (const m of ['initialize', 'growthLab/noSuchMethod', 'toString', '__proto__', 'constructor'])
    assert.equal(isRequestMethod(m), false, m);
});

test('well-typed params pass the shape check, whatever their values', () => {
  for (const [method, cases] of Object.entries(WELL_TYPED) as [RequestMethod, unknown[]][]) {
    for (const params of cases) assert.equal(checkParams(method, params), undefined, `${method} ${JSON.stringify(params)}`);
  }
});

test('wrong-typed params are refused naming the field, the expected type and the value', () => {
  for (const [method, cases] of Object.entries(WRONG_TYPED) as [RequestMethod, [unknown, RegExp][]][]) {
    assert.ok(cases.length > 0, method);
    for (const [params, pattern] of cases) {
      const wrong = checkParams(method, params);
      assert.ok(wrong, `${method} ${JSON.stringify(params)} was accepted`);
      assert.match(wrong, pattern, `${method} ${JSON.stringify(params)}`);
    }
  }
  // long values are shortened in the message
  const long = checkParams(Methods.grow, { runId: RUN, options: 'o'.repeat(10000) })!;
  assert.ok(long.length < 200, long);
});

test('handleRequest answers wrong-typed params with invalidParams (-32602) before any handler runs', async () => {
  const outDir = path.join(work, 'wrong-typed');
  const manager = new RunManager(outDir, { metrics: () => undefined, status: () => undefined, grow: () => undefined });
  const handlers = requestHandlers(() => manager);
  assert.equal(ErrorCodes.invalidParams, -32602);
  for (const [method, cases] of Object.entries(WRONG_TYPED) as [RequestMethod, [unknown, RegExp][]][]) {
    for (const [params, pattern] of cases) {
      const r = await handleRequest(handlers, method, params);
      assert.ok(r && typeof r === 'object' && 'code' in r, `${method} ${JSON.stringify(params)} got a result`);
      assert.equal((r as { code: number }).code, ErrorCodes.invalidParams, `${method} ${JSON.stringify(params)}`);
      assert.match((r as { message: string }).message, pattern);
    }
  }
  assert.deepEqual(await handleRequest(handlers, Methods.listRuns, undefined), []);
  assert.equal(fs.existsSync(path.join(outDir, 'runs')), false, 'no run was created');
});

test('handleRequest: well-typed values the backend cannot use keep their own codes', async () => {
  const manager = new RunManager(path.join(work, 'values'), { metrics: () => undefined, status: () => undefined, grow: () => undefined });
  const handlers = requestHandlers(() => manager);
  const codeOf = async (method: RequestMethod, params: unknown) =>
    ((await handleRequest(handlers, method, params)) as { code?: number }).code;
  assert.equal(await codeOf(Methods.stopExperiment, { runId: 'no-such-run' }), ErrorCodes.unknownRun);
  assert.equal(await codeOf(Methods.getRunHistory, { runId: '../../etc' }), ErrorCodes.unknownRun);
  assert.equal(await codeOf(Methods.grow, { runId: '' }), ErrorCodes.unknownRun);
  assert.equal(await codeOf(Methods.startExperiment, { config: 'mnist' }), ErrorCodes.invalidExperiment);
  // The download handlers without an initialized backend: invalidState.
  assert.equal(await codeOf(Methods.downloadDataset, { name: 'cifar-10' }), ErrorCodes.invalidState);
  assert.equal(
    await codeOf(Methods.startExperiment, { config: { dataset: { name: 'mnist' } }, outDir: 'a\0b' }),
    ErrorCodes.invalidExperiment,
  );
  const uninitialized = requestHandlers(() => {
    throw new RequestError(ErrorCodes.invalidState, 'the backend is not initialized');
  });
  assert.equal(((await handleRequest(uninitialized, Methods.listRuns, {})) as { code: number }).code, ErrorCodes.invalidState);
});

test('toRequestError: one code per kind of internal error', () => {
  const cases: [unknown, string, number, RegExp][] = [
    [new RequestError(ErrorCodes.unknownRun, 'unknown run "x"'), Methods.stopExperiment, ErrorCodes.unknownRun, /^unknown run "x"$/],
    [
      new InvalidExperimentError(
        [{ path: ['training', 'epochs'], pointer: '/training/epochs', message: 'training.epochs must be >= 1, got 0' }],
        'a.growth.json',
      ),
      Methods.startExperiment,
      ErrorCodes.invalidExperiment,
      /^invalid experiment a\.growth\.json:\n.*training\.epochs must be >= 1, got 0/,
    ],
    [new RunStoreError('invalid run id ".."', 'invalidRunId'), Methods.getRunHistory, ErrorCodes.unknownRun, /invalid run id/],
    [new RunStoreError('no run "x"', 'unknownRun'), Methods.getRunHistory, ErrorCodes.unknownRun, /no run/],
    [new RunStoreError('run x is open', 'invalidState'), Methods.resumeRun, ErrorCodes.invalidState, /is open/],
    [
      new RunStoreError('cannot write: disk full (ENOSPC)', 'io', 'ENOSPC'),
      Methods.resumeRun,
      ErrorCodes.internal,
      /^cannot write: disk full \(ENOSPC\)$/,
    ],
    [new RunFailure('cannot pause run x: it is completed'), Methods.pauseExperiment, ErrorCodes.invalidState, /it is completed/],
    [
      new ExportError('files exist: /a/model.onnx', 'exists', ['/a/model.onnx']),
      Methods.export,
      ErrorCodes.exportExists,
      /files exist: .*\(set force to overwrite\)$/,
    ],
    [new ExportError('export path leaves the folder', 'invalidPath'), Methods.export, ErrorCodes.exportFailed, /leaves the folder/],
    [new GrowthError('unknown growth method "x"'), Methods.grow, ErrorCodes.growthFailed, /unknown growth method/],
    [new GrowthError('run x has no pending proposal'), Methods.commitProposal, ErrorCodes.invalidState, /no pending proposal/],
    [new GrowthError('run x has no proposal "p9"'), Methods.rejectProposal, ErrorCodes.invalidState, /no proposal/],
    [new ModelSpecError('layer 1 is too wide'), Methods.prune, ErrorCodes.growthFailed, /too wide/],
    [new ModelSpecError('layer 1 is too wide'), Methods.export, ErrorCodes.exportFailed, /too wide/],
    [
      new DownloadError('checksum', 'x.tar.gz has md5 a, want b'),
      Methods.downloadDataset,
      ErrorCodes.downloadFailed,
      /^x\.tar\.gz has md5/,
    ],
    [new DownloadError('disk', 'the disk is full while writing x (ENOSPC)'), Methods.downloadDataset, ErrorCodes.downloadFailed, /ENOSPC/],
    [new DownloadError('cancelled', 'the download was cancelled'), Methods.downloadDataset, ErrorCodes.downloadCancelled, /cancelled/],
    [new DownloadError('busy', 'a download of svhn is already running'), Methods.downloadDataset, ErrorCodes.invalidState, /already/],
    [new TypeError('x is undefined'), Methods.listRuns, ErrorCodes.internal, /^growthLab\/listRuns failed: x is undefined$/],
    ['a string', Methods.listRuns, ErrorCodes.internal, /failed: a string/],
  ];
  for (const [err, method, code, pattern] of cases) {
    const r = toRequestError(err, method);
    assert.ok(r instanceof RequestError);
    assert.equal(r.code, code, `${(err as Error).constructor?.name}: ${String((err as Error).message ?? err)}`);
    assert.match(r.message, pattern);
  }
});

test('the one run-id rule: the run store and the protocol agree', () => {
  const ids: [unknown, boolean][] = [
    [RUN, true],
    ['_x', true],
    ['-x', true],
    ['a.b', true],
    ['x'.repeat(100), true],
    ['', false],
    ['.', false],
    ['..', false],
    ['.hidden', false],
    ['a/b', false],
    ['a\\b', false],
    ['x'.repeat(101), false],
    ['a b', false],
    [42, false],
    [null, false],
    [undefined, false],
  ];
  for (const [id, ok] of ids) {
    assert.equal(isRunId(id), ok, `isRunId ${JSON.stringify(id)}`);
    assert.equal(isValidRunId(id), ok, `isValidRunId ${JSON.stringify(id)}`);
    if (typeof id === 'string') assert.equal(RUN_ID_PATTERN.test(id), ok, `pattern ${JSON.stringify(id)}`);
  }
});
