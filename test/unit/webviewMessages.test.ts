// Messages between the extension and the Growth Monitor webview: the validator, the extension's
// routing (history before live events, controls to requests) and the page's CSP.
import { test } from 'node:test';
import { until } from '../helpers/until';
import assert from 'node:assert/strict';
import {
  validateWebviewMessage,
  type ExtensionToWebviewMessage,
  type GrowEventParams,
  type RequestTypes,
  type RunEvent,
  type RunSummary,
} from '../../common/protocol';
import { EXPORT_NOT_AVAILABLE, describeStep } from '../../extension/monitorActions';
import { MonitorController, type MonitorHost } from '../../extension/monitorController';
import { monitorCsp, monitorHtml, nonceFrom } from '../../extension/monitorHtml';
import { historyPage } from '../helpers/historyPage';

const RUN = '20261123-104512-mnist-a1b2';

/** The validated copy of a message the validator must accept. */
function ok(m: unknown) {
  const v = validateWebviewMessage(m);
  assert.ok(v.ok, JSON.stringify(v));
  return v.message;
}

test("validateWebviewMessage accepts the protocol's messages and returns clean copies", () => {
  assert.deepEqual(ok({ type: 'ready' }), { type: 'ready' });
  assert.deepEqual(ok({ type: 'ready', state: { runId: RUN, extra: 1 } }), { type: 'ready', state: { runId: RUN } });
  assert.deepEqual(ok({ type: 'ready', state: null }), { type: 'ready' });
  assert.deepEqual(ok({ type: 'start', runId: 'ignored' }), { type: 'start' });
  for (const type of ['selectRun', 'pause', 'resume', 'stop', 'export'])
    assert.deepEqual(ok({ type, runId: RUN, evil: '<script>' }), { type, runId: RUN });
  assert.deepEqual(ok({ type: 'grow', runId: RUN, method: 'firefly-split', options: { x: 1 } }), {
    type: 'grow',
    runId: RUN,
    method: 'firefly-split',
  });
  assert.deepEqual(ok({ type: 'prune', runId: RUN, method: 'prune-gauss-newton' }), {
    type: 'prune',
    runId: RUN,
    method: 'prune-gauss-newton',
  });
});

test('validateWebviewMessage rejects anything else with a reason', () => {
  const bad: unknown[] = [
    null,
    'ready',
    42,
    [],
    {},
    { type: 'eval', code: '1' },
    { type: 7 },
    { type: 'pause' },
    { type: 'pause', runId: '' },
    { type: 'pause', runId: '../../etc' },
    { type: 'stop', runId: '.hidden' },
    { type: 'stop', runId: 'x'.repeat(101) },
    { type: 'selectRun', runId: ['a'] },
    { type: 'grow', runId: RUN },
    { type: 'grow', runId: RUN, method: 'Firefly' },
    { type: 'grow', runId: RUN, method: 'a b' },
    { type: 'grow', runId: RUN, method: 'x'.repeat(65) },
    { type: 'prune', runId: RUN, method: 'firefly' },
    { type: 'prune', runId: RUN },
    { type: 'ready', state: 'r' },
    { type: 'ready', state: { runId: '../x' } },
    { type: 'ready', state: [] },
  ];
  for (const m of bad) {
    const v = validateWebviewMessage(m);
    assert.equal(v.ok, false, JSON.stringify(m));
    if (!v.ok) assert.ok(v.error.length > 0);
  }
});

// ---------------------------------------------------------------------------------------------
// MonitorController
// ---------------------------------------------------------------------------------------------

const metrics = (step: number, runId = RUN): RunEvent => ({
  type: 'metrics',
  time: 't',
  runId,
  epoch: 1,
  step,
  trainLoss: 1,
  params: 10,
  samplesPerSecond: 1,
  engine: 'onnxruntime',
  executionProvider: 'cpu',
  elapsedMs: step,
});
const summary = (runId: string, status: RunSummary['status'], startedAt: string): RunSummary => ({
  runId,
  name: runId.split('-')[2] ?? runId,
  status,
  dataset: 'mnist',
  engine: 'onnxruntime',
  executionProvider: 'cpu',
  startedAt,
  epochs: 2,
  epochsDone: 1,
  params: 10,
  growSteps: 0,
});
const grow: GrowEventParams = {
  runId: RUN,
  step: 5,
  epoch: 1,
  kind: 'grow',
  method: 'firefly',
  before: { inputShape: [2], outputSize: 1, layers: [], params: 100, flops: 0 },
  after: { inputShape: [2], outputSize: 1, layers: [], params: 130, flops: 0 },
  diff: [
    {
      id: 'd1',
      kept: 3,
      split: [
        { index: 0, parent: 0 },
        { index: 4, parent: 0 },
      ],
      added: [3],
      removed: [],
      inserted: false,
    },
  ],
  selected: [],
  rejected: [],
  lossBefore: 0.5,
  lossAfter: 0.49,
  maxOutputChange: 0.01,
  durationMs: 40,
};

class Host implements MonitorHost {
  exportRun?: (runId: string) => Promise<boolean>;
  proposeGrow?: (runId: string, method: string) => Promise<boolean>;
  posted: ExtensionToWebviewMessage[] = [];
  requests: [string, unknown][] = [];
  notices: [string, string][] = [];
  logs: string[] = [];
  starts = 0;
  runs: RunSummary[] = [
    summary(RUN, 'running', '2026-11-23T10:45:12Z'),
    summary('20261123-090000-old-beef', 'completed', '2026-11-23T09:00:00Z'),
  ];
  history: Record<string, RunEvent[]> = {
    [RUN]: [metrics(1), metrics(2)],
    '20261123-090000-old-beef': [metrics(1, '20261123-090000-old-beef')],
  };
  /** Resolves getRunHistory of RUN when called (to interleave live events). */
  gate: Promise<void> | undefined;
  active: string | undefined = RUN;
  methods: string[] | undefined = ['firefly', 'splitting'];
  failNext: Error | undefined;

  post(msg: ExtensionToWebviewMessage): void {
    this.posted.push(msg);
  }
  async request<M extends keyof RequestTypes>(method: M, params: RequestTypes[M][0]): Promise<RequestTypes[M][1]> {
    this.requests.push([method, params]);
    if (this.failNext) {
      const e = this.failNext;
      this.failNext = undefined;
      throw e;
    }
    const runId = (params as { runId?: string })?.runId;
    if (method === 'growthLab/listRuns') return this.runs as never;
    if (method === 'growthLab/getRunHistory') {
      if (runId === RUN && this.gate) await this.gate;
      return historyPage(this.history[runId!] ?? [], params) as never;
    }
    if (method === 'growthLab/grow' || method === 'growthLab/prune') return grow as never;
    return { ok: true } as never;
  }
  startExperiment(): Promise<void> {
    this.starts++;
    return Promise.resolve();
  }
  growthMethods() {
    return this.methods;
  }
  activeRunId() {
    return this.active;
  }
  notify(level: 'info' | 'warning' | 'error', message: string) {
    this.notices.push([level, message]);
  }
  log(line: string) {
    this.logs.push(line);
  }
  errorText(err: unknown) {
    return (err as Error).message;
  }
  types() {
    return this.posted.map((m) => m.type);
  }
}

// One event-loop turn: the controller's batched flush (queued as a microtask) has run; not a timed wait.
const tick = () => new Promise((r) => setTimeout(r, 0));

test('ready: capabilities, runs, then the full history, then live events held back while it was read', async () => {
  const host = new Host();
  let open!: () => void;
  host.gate = new Promise((r) => (open = r));
  const c = new MonitorController(host);
  c.onRunEvent(metrics(0)); // before ready: dropped (the history has it)
  const ready = c.onMessage({ type: 'ready' });
  await tick();
  c.onRunEvent(metrics(2)); // raced the read: in the history too
  c.onRunEvent(metrics(3));
  c.onRunEvent(metrics(9, 'someone-else'));
  open();
  await ready;
  await tick();
  assert.deepEqual(host.types().slice(0, 4), ['capabilities', 'runs', 'history', 'events']);
  const history = host.posted[2] as Extract<ExtensionToWebviewMessage, { type: 'history' }>;
  assert.equal(history.runId, RUN, 'the active run');
  assert.deepEqual(
    history.events.map((e) => (e as { step: number }).step),
    [1, 2],
  );
  assert.equal(history.summary?.status, 'running');
  const live = host.posted[3] as Extract<ExtensionToWebviewMessage, { type: 'events' }>;
  assert.deepEqual(
    live.events.map((e) => (e as { step: number }).step),
    [2, 3],
    'only the shown run, in order, after the history',
  );
  assert.deepEqual(host.posted[0], {
    type: 'capabilities',
    growthMethods: ['firefly', 'splitting'],
    pruneMethods: ['prune-taylor', 'prune-gauss-newton'],
  });
  await tick();
  assert.ok(host.types().includes('comparison'), "then every run's accuracy against parameters");
  // Then live events go straight through (batched per tick).
  host.posted = [];
  c.onRunEvent(metrics(4));
  c.onRunEvent(metrics(5));
  await tick();
  assert.deepEqual(host.posted, [{ type: 'events', runId: RUN, events: [metrics(4), metrics(5)] }]);
});

test('ready with saved state shows that run; with nothing at all, the newest run; with no runs, noRun', async () => {
  const host = new Host();
  const c = new MonitorController(host);
  await c.onMessage({ type: 'ready', state: { runId: '20261123-090000-old-beef' } });
  assert.equal((host.posted.find((m) => m.type === 'history') as { runId: string }).runId, '20261123-090000-old-beef');

  const h2 = new Host();
  h2.active = undefined;
  await new MonitorController(h2).onMessage({ type: 'ready' });
  assert.equal((h2.posted.find((m) => m.type === 'history') as { runId: string }).runId, RUN, 'newest start');

  const h3 = new Host();
  h3.active = undefined;
  h3.runs = [];
  await new MonitorController(h3).onMessage({ type: 'ready' });
  assert.deepEqual(h3.types(), ['capabilities', 'runs', 'noRun', 'comparison']);
});

test('switching runs: a slow older history never replaces a newer choice', async () => {
  const host = new Host();
  const c = new MonitorController(host, '20261123-090000-old-beef');
  await c.onMessage({ type: 'ready' });
  let open!: () => void;
  host.gate = new Promise((r) => (open = r));
  host.posted = [];
  const slow = c.onMessage({ type: 'selectRun', runId: RUN });
  await tick();
  const fast = c.onMessage({ type: 'selectRun', runId: '20261123-090000-old-beef' });
  await fast;
  open();
  await slow;
  const histories = host.posted.filter((m) => m.type === 'history') as { runId: string }[];
  assert.deepEqual(
    histories.map((h) => h.runId),
    ['20261123-090000-old-beef'],
  );
  assert.equal(c.runId, '20261123-090000-old-beef');
});

test('controls become requests and every one is answered', async () => {
  const host = new Host();
  const c = new MonitorController(host);
  await c.onMessage({ type: 'ready' });
  host.requests = [];
  host.posted = [];
  await c.onMessage({ type: 'pause', runId: RUN });
  await c.onMessage({ type: 'resume', runId: RUN });
  await c.onMessage({ type: 'grow', runId: RUN, method: 'firefly' });
  await c.onMessage({ type: 'prune', runId: RUN, method: 'prune-gauss-newton' });
  await c.onMessage({ type: 'stop', runId: RUN });
  await c.onMessage({ type: 'start' });
  assert.deepEqual(host.requests, [
    ['growthLab/pauseExperiment', { runId: RUN }],
    ['growthLab/resumeExperiment', { runId: RUN }],
    ['growthLab/grow', { runId: RUN, method: 'firefly' }],
    ['growthLab/prune', { runId: RUN, options: { method: 'prune-gauss-newton' } }],
    ['growthLab/stopExperiment', { runId: RUN }],
  ]);
  assert.equal(host.starts, 1);
  const results = host.posted.filter((m) => m.type === 'actionResult') as Extract<ExtensionToWebviewMessage, { type: 'actionResult' }>[];
  assert.deepEqual(
    results.map((r) => [r.action, r.ok]),
    [
      ['pause', true],
      ['resume', true],
      ['grow', true],
      ['prune', true],
      ['stop', true],
      ['start', true],
    ],
  );
  assert.equal(results[2].message, describeStep(grow));
  assert.match(results[2].message!, /\+2 \/ −0 neurons, 100 → 130 parameters/);
});

test('controls: backend errors, unknown methods and export are answered honestly', async () => {
  const host = new Host();
  const c = new MonitorController(host);
  await c.onMessage({ type: 'ready' });
  host.posted = [];
  host.failNext = new Error('run is not paused');
  await c.onMessage({ type: 'resume', runId: RUN });
  await c.onMessage({ type: 'grow', runId: RUN, method: 'no-such-method' });
  await c.onMessage({ type: 'export', runId: RUN });
  const results = host.posted.filter((m) => m.type === 'actionResult') as Extract<ExtensionToWebviewMessage, { type: 'actionResult' }>[];
  assert.deepEqual(
    results.map((r) => [r.action, r.ok]),
    [
      ['resume', false],
      ['grow', false],
      ['export', false],
    ],
  );
  assert.match(results[0].message!, /could not resume run .*: run is not paused/);
  assert.match(results[1].message!, /no growth method "no-such-method"/);
  assert.equal(results[2].message, EXPORT_NOT_AVAILABLE);
  assert.match(EXPORT_NOT_AVAILABLE, /not available yet/);
  assert.deepEqual(
    host.notices.map((n) => n[0]),
    ['error', 'error', 'info'],
  );
  assert.ok(!host.requests.some(([m]) => m === 'growthLab/grow'), 'an unknown method never reaches the backend');
});

/**
 * `ready`, then the comparison chart it starts in the background (every run's history, read page by
 * page) posted: what a test that clears `posted` afterwards must wait for.
 */
async function readyAndCompared(c: MonitorController, host: Host): Promise<void> {
  await c.onMessage({ type: 'ready' });
  await until('the comparison chart after ready', () => host.posted.some((m) => m.type === 'comparison'));
}

test('export runs the Export Model command when the extension has one', async () => {
  const host = new Host();
  const exported: string[] = [];
  host.exportRun = async (runId: string) => {
    exported.push(runId);
    return true;
  };
  const c = new MonitorController(host);
  await readyAndCompared(c, host);
  host.posted = [];
  await c.onMessage({ type: 'export', runId: RUN });
  assert.deepEqual(exported, [RUN]);
  assert.deepEqual(host.posted, [{ type: 'actionResult', action: 'export', runId: RUN, ok: true }]);
  assert.deepEqual(host.notices, []);
});

test('invalid webview messages are logged and do nothing', async () => {
  const host = new Host();
  const c = new MonitorController(host);
  await readyAndCompared(c, host);
  const n = host.requests.length;
  host.posted = [];
  await c.onMessage({ type: 'stop', runId: '../../' });
  await c.onMessage({ type: 'shell', cmd: 'rm -rf /' });
  await c.onMessage('stop');
  assert.equal(host.requests.length, n);
  assert.deepEqual(host.posted, []);
  assert.equal(host.logs.filter((l) => /invalid message/.test(l)).length, 3);
});

test('following: a newly active run is shown when the panel shows nothing live', async () => {
  const host = new Host();
  host.runs[0].status = 'completed';
  host.history[RUN].push({ type: 'status', time: 't', runId: RUN, status: 'completed' });
  const c = new MonitorController(host, RUN);
  await c.onMessage({ type: 'ready' });
  host.posted = [];
  host.history['20261123-110000-new-cafe'] = [metrics(1, '20261123-110000-new-cafe')];
  c.onActiveRunChanged('20261123-110000-new-cafe');
  await tick();
  await tick();
  assert.deepEqual((host.posted.find((m) => m.type === 'history') as { runId: string }).runId, '20261123-110000-new-cafe');
  // Now it shows a live run: another start does not take the panel away.
  host.posted = [];
  c.onActiveRunChanged('20261123-120000-other-dead');
  await tick();
  assert.deepEqual(
    host.posted.filter((m) => m.type === 'history'),
    [],
  );
});

// ---------------------------------------------------------------------------------------------
// the page
// ---------------------------------------------------------------------------------------------

test('monitorHtml: strict CSP with a nonce, only the bundled script and stylesheet', () => {
  const nonce = nonceFrom(new Uint8Array(16).map((_, i) => i * 7));
  assert.match(nonce, /^[0-9a-f]{32}$/);
  const html = monitorHtml({
    cspSource: 'https://file+.vscode-resource.vscode-cdn.net',
    nonce,
    scriptUri: 'https://x/dist/webview.js',
    styleUri: 'https://x/dist/webview.css',
  });
  const csp = monitorCsp('https://file+.vscode-resource.vscode-cdn.net', nonce);
  assert.ok(html.includes(`content="${csp}"`));
  assert.match(csp, /^default-src 'none'; /);
  assert.match(csp, new RegExp(`script-src 'nonce-${nonce}'`));
  assert.doesNotMatch(csp, /unsafe|\*|http:/);
  const scripts = [...html.matchAll(/<script([^>]*)>/g)].map((m) => m[1]);
  assert.deepEqual(scripts, [` nonce="${nonce}" src="https://x/dist/webview.js"`]);
  assert.equal([...html.matchAll(/<link /g)].length, 1);
  assert.doesNotMatch(html, /style="/);
  assert.throws(() => monitorHtml({ cspSource: 'x', nonce: 'short', scriptUri: 'a', styleUri: 'b' }), /nonce/);
});

test('with growthLab.review = ask, Grow now is handed to the proposal flow instead of growing directly', async () => {
  const host = new Host();
  const proposed: [string, string][] = [];
  host.proposeGrow = async (runId, method) => {
    proposed.push([runId, method]);
    return true;
  };
  const c = new MonitorController(host);
  await c.onMessage({ type: 'ready' });
  host.requests = [];
  host.posted = [];
  await c.onMessage({ type: 'grow', runId: RUN, method: 'firefly' });
  assert.deepEqual(proposed, [[RUN, 'firefly']]);
  assert.deepEqual(host.requests, [], 'no direct grow request');
  const r = host.posted.find((m) => m.type === 'actionResult') as Extract<ExtensionToWebviewMessage, { type: 'actionResult' }>;
  assert.equal(r.ok, true);
  assert.match(r.message!, /Proposed a grow with firefly: review the diff, then Accept or Reject/);
  // "auto": the host declines and the grow goes straight to the backend
  host.proposeGrow = async () => false;
  await c.onMessage({ type: 'grow', runId: RUN, method: 'firefly' });
  assert.deepEqual(host.requests, [['growthLab/grow', { runId: RUN, method: 'firefly' }]]);
});

// ---------------------------------------------------------------------------------------------
// Charts: viewport requests and exports (validated, answered from the extension's series store)
// ---------------------------------------------------------------------------------------------

const PNG_1PX = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

test('validateWebviewMessage: viewport, exportSeries and exportChart accepted as clean copies', () => {
  const vp = {
    type: 'viewport',
    runId: RUN,
    chart: 'loss',
    series: ['trainLoss', 'testLoss', 'trainLoss'],
    xAxis: 'flops',
    xMin: 10,
    xMax: 2e6,
    pixels: 640,
    smoothing: 0.6,
    seq: 3,
    evil: 1,
  };
  assert.deepEqual(ok(vp), {
    type: 'viewport',
    runId: RUN,
    chart: 'loss',
    series: ['trainLoss', 'testLoss'],
    xAxis: 'flops',
    xMin: 10,
    xMax: 2e6,
    pixels: 640,
    smoothing: 0.6,
    seq: 3,
  });
  assert.deepEqual(ok({ ...vp, xMin: undefined, xMax: null }), {
    type: 'viewport',
    runId: RUN,
    chart: 'loss',
    series: ['trainLoss', 'testLoss'],
    xAxis: 'flops',
    pixels: 640,
    smoothing: 0.6,
    seq: 3,
  });
  assert.deepEqual(ok({ type: 'exportSeries', format: 'csv', runIds: [RUN, RUN, 'other-run'] }), {
    type: 'exportSeries',
    format: 'csv',
    runIds: [RUN, 'other-run'],
  });
  assert.deepEqual(ok({ type: 'exportChart', format: 'png', runId: RUN, chart: 'loss', data: PNG_1PX }), {
    type: 'exportChart',
    format: 'png',
    runId: RUN,
    chart: 'loss',
    data: PNG_1PX,
  });
  assert.deepEqual(
    ok({ type: 'exportChart', format: 'svg', runId: RUN, chart: 'accuracy', data: '<svg xmlns="http://www.w3.org/2000/svg"></svg>' }).type,
    'exportChart',
  );
});

test('validateWebviewMessage: chart messages out of range or malformed are rejected', () => {
  const vp = { type: 'viewport', runId: RUN, chart: 'loss', series: ['trainLoss'], xAxis: 'step', pixels: 640, smoothing: 0, seq: 0 };
  const bad: unknown[] = [
    { ...vp, runId: '../x' },
    { ...vp, chart: 'Loss!' },
    { ...vp, chart: 'x'.repeat(40) },
    { ...vp, series: [] },
    { ...vp, series: ['eval'] },
    { ...vp, series: 'trainLoss' },
    { ...vp, xAxis: 'day' },
    { ...vp, xMin: 'a' },
    { ...vp, xMin: NaN },
    { ...vp, xMax: Infinity },
    { ...vp, xMin: 5, xMax: 5 },
    { ...vp, xMin: 6, xMax: 5 },
    { ...vp, pixels: 0 },
    { ...vp, pixels: 1.5 },
    { ...vp, pixels: 1e6 },
    { ...vp, smoothing: 1 },
    { ...vp, smoothing: -0.1 },
    { ...vp, smoothing: '0.5' },
    { ...vp, seq: -1 },
    { ...vp, seq: 0.5 },
    { type: 'exportSeries', format: 'xlsx', runIds: [RUN] },
    { type: 'exportSeries', format: 'csv', runIds: [] },
    { type: 'exportSeries', format: 'csv', runIds: ['../etc'] },
    { type: 'exportSeries', format: 'json', runIds: Array.from({ length: 65 }, (_, i) => `run-${i}`) },
    { type: 'exportChart', format: 'jpg', runId: RUN, chart: 'loss', data: PNG_1PX },
    { type: 'exportChart', format: 'png', runId: RUN, chart: 'loss', data: 'not base64!' },
    { type: 'exportChart', format: 'png', runId: RUN, chart: 'loss', data: 'R0lGODlhAQABAAAAACw=' },
    { type: 'exportChart', format: 'png', runId: RUN, chart: 'loss', data: '' },
    { type: 'exportChart', format: 'svg', runId: RUN, chart: 'loss', data: '<html><svg></svg></html>' },
    { type: 'exportChart', format: 'svg', runId: RUN, chart: 'loss', data: 42 },
  ];
  for (const m of bad) {
    const v = validateWebviewMessage(m);
    assert.equal(v.ok, false, JSON.stringify(m));
  }
});

test('viewport: the controller answers from the series it posted (history and live events), downsampled, with markers', async () => {
  const host = new Host();
  host.history[RUN] = [...Array.from({ length: 5000 }, (_, i) => metrics(i + 1)), { type: 'grow', time: 't', ...grow, step: 2500 }];
  const c = new MonitorController(host);
  await c.onMessage({ type: 'ready' });
  await tick();
  c.onRunEvent(metrics(5001));
  await tick();
  host.posted = [];
  await c.onMessage({
    type: 'viewport',
    runId: RUN,
    chart: 'loss',
    series: ['trainLoss'],
    xAxis: 'step',
    pixels: 100,
    smoothing: 0,
    seq: 4,
  });
  await tick();
  const d = host.posted.find((m) => m.type === 'chartData') as Extract<ExtensionToWebviewMessage, { type: 'chartData' }>;
  assert.ok(d, 'answered');
  assert.equal(d.seq, 4);
  assert.equal(d.series[0].total, 5001, 'the live event counts');
  assert.ok(d.series[0].drawn <= 2 * 100 + 4, `${d.series[0].drawn} points for 100 px`);
  assert.equal(d.series[0].xs[0], 1);
  assert.equal(d.series[0].xs[d.series[0].drawn - 1], 5001);
  assert.ok([...d.series[0].xs].includes(2500) && [...d.series[0].xs].includes(2499), "the grow step's points are kept");
  assert.deepEqual(d.markerXs, [2500]);
  // A run the panel was never sent is not answered.
  host.posted = [];
  await c.onMessage({
    type: 'viewport',
    runId: 'never-shown',
    chart: 'loss',
    series: ['trainLoss'],
    xAxis: 'step',
    pixels: 100,
    smoothing: 0,
    seq: 5,
  });
  assert.deepEqual(host.posted, []);
});

test('exports: the extension asks where to save and writes CSV, JSON, PNG bytes and SVG; cancel and missing save are reported', async () => {
  const host = new Host() as Host & { saveFile?: MonitorHost['saveFile'] };
  const saved: Parameters<NonNullable<MonitorHost['saveFile']>>[0][] = [];
  let answer: string | undefined = '/ws/out.csv';
  host.saveFile = async (f) => {
    saved.push(f);
    return answer;
  };
  const c = new MonitorController(host);
  await c.onMessage({ type: 'ready' });
  await tick();
  host.posted = [];
  await c.onMessage({ type: 'exportSeries', format: 'csv', runIds: [RUN, '20261123-090000-old-beef'] });
  assert.equal(saved[0].defaultName, '2-runs-series.csv');
  assert.deepEqual(saved[0].filters, { CSV: ['csv'] });
  assert.equal(
    saved[0].content,
    [
      'run_id,run_name,step,epoch,wall_time_s,params,flops_estimate,train_loss,test_loss,train_accuracy,test_accuracy,samples_per_second,learning_rate',
      `${RUN},mnist,1,1,0.001,10,,1,,,,1,`,
      `${RUN},mnist,2,1,0.002,10,,1,,,,1,`,
      '20261123-090000-old-beef,old,1,1,0.001,10,,1,,,,1,',
      '',
    ].join('\r\n'),
    'the shown run from the store, the other read with getRunHistory',
  );
  assert.deepEqual(host.posted.pop(), {
    type: 'exportResult',
    ok: true,
    message: 'Saved the series of 2 runs to /ws/out.csv.',
    path: '/ws/out.csv',
  });
  await c.onMessage({ type: 'exportChart', format: 'png', runId: RUN, chart: 'loss', data: PNG_1PX });
  assert.equal(saved[1].defaultName, 'mnist-loss.png');
  assert.deepEqual([...(saved[1].content as Uint8Array)], [...Buffer.from(PNG_1PX, 'base64')]);
  await c.onMessage({ type: 'exportSeries', format: 'json', runIds: [RUN] });
  assert.equal(JSON.parse(saved[2].content as string).runs[0].columns.step.join(), '1,2');
  answer = undefined;
  await c.onMessage({ type: 'exportChart', format: 'svg', runId: RUN, chart: 'params', data: '<svg></svg>' });
  assert.deepEqual(host.posted.pop(), { type: 'exportResult', ok: false, message: 'Not saved: no file was chosen for the params chart.' });
  host.saveFile = undefined;
  await c.onMessage({ type: 'exportSeries', format: 'json', runIds: [RUN] });
  assert.deepEqual(host.posted.pop(), { type: 'exportResult', ok: false, message: 'Growth Lab: saving files is not available here.' });
});

test('validateWebviewMessage: Compare runs messages (compareRuns, setRunColor)', () => {
  assert.deepEqual(validateWebviewMessage({ type: 'compareRuns', runIds: [RUN, RUN], extra: 1 }), {
    ok: true,
    message: { type: 'compareRuns', runIds: [RUN] },
  });
  assert.deepEqual(validateWebviewMessage({ type: 'compareRuns', runIds: [] }), { ok: true, message: { type: 'compareRuns', runIds: [] } });
  assert.deepEqual(validateWebviewMessage({ type: 'setRunColor', runId: RUN, color: 'purple' }), {
    ok: true,
    message: { type: 'setRunColor', runId: RUN, color: 'purple' },
  });
  assert.deepEqual(validateWebviewMessage({ type: 'setRunColor', runId: RUN, color: null }), {
    ok: true,
    message: { type: 'setRunColor', runId: RUN, color: null },
  });
  for (const bad of [
    { type: 'compareRuns', runIds: RUN },
    { type: 'compareRuns', runIds: [RUN, 7] },
    { type: 'compareRuns', runIds: ['../etc'] },
    { type: 'compareRuns', runIds: Array.from({ length: 25 }, (_, i) => `run-${i}`) },
    { type: 'setRunColor', runId: RUN, color: '#ff0000' },
    { type: 'setRunColor', runId: RUN, color: 'Blue' },
    { type: 'setRunColor', runId: RUN },
    { type: 'setRunColor', runId: '../x', color: 'blue' },
  ])
    assert.equal(validateWebviewMessage(bad).ok, false, JSON.stringify(bad));
});
