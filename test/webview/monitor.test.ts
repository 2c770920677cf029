/**
 * The Growth Monitor webview in real headless Chromium: the built bundle on the page the extension
 * generates (strict CSP, nonce), driven by the real MonitorController with a fake backend that
 * answers from event streams recorded from real runs (test/webview/fixtures, see recordFixtures.ts).
 *
 * Run: npm run test:webview   (needs /usr/bin/chromium: apt-get install -y chromium)
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import type { Browser, Page } from 'playwright-core';
import { MonitorController, type MonitorHost } from '../../extension/monitorController';
import type { GrowEventParams, MetricsParams, RequestTypes, RunEvent, RunStatus, RunSummary } from '../../common/protocol';
import {
  ExtensionBridge,
  until,
  frames,
  openPage,
  readEvents,
  RESULTS,
  setTheme,
  type PageProblems,
  type Served,
  startBrowser,
  stopBrowser,
} from './harness';
import { THEMES } from './themes';
import { historyPage } from '../helpers/historyPage';

const grown = readEvents('grown-run');
const baseline = readEvents('baseline-run');
const GROWN = grown[0].runId;
const BASELINE = baseline[0].runId;
const growEvents = grown.filter((e): e is RunEvent & { type: 'grow' } => e.type === 'grow');
const metricsOf = (events: RunEvent[]) => events.filter((e): e is RunEvent & { type: 'metrics' } => e.type === 'metrics');
const dark = THEMES.find((t) => t.name === 'dark')!;

/** The live run: its history up to just after the second grow step; the rest is streamed. */
const cut = grown.indexOf(growEvents[1]) + 1;
const liveHistory = grown.slice(0, cut);
const liveRest = grown.slice(cut);

function summaryOf(events: RunEvent[], status?: RunStatus): RunSummary {
  const start = events.find((e) => e.type === 'start') as RunEvent & { type: 'start' };
  const ms = metricsOf(events);
  const last = ms[ms.length - 1];
  const statuses = events.filter((e) => e.type === 'status') as (RunEvent & { type: 'status' })[];
  const acc = ms.map((m) => m.testAccuracy).filter((v): v is number => v !== undefined);
  return {
    runId: start.runId,
    name: start.config.name,
    status: status ?? statuses[statuses.length - 1].status,
    dataset: start.config.dataset.name,
    engine: start.config.engine,
    executionProvider: start.config.executionProvider,
    startedAt: start.time,
    epochs: start.config.training.epochs,
    epochsDone: last?.epoch ?? 0,
    params: last?.params ?? 0,
    bestTestAccuracy: acc.length ? Math.max(...acc) : undefined,
    lastTestAccuracy: acc[acc.length - 1],
    growSteps: events.filter((e) => e.type === 'grow').length,
  };
}

/** The extension side: the real MonitorController, a fake backend answering from the fixtures. */
class FakeExtension extends ExtensionBridge {
  readonly requests: { method: string; params: unknown }[] = [];
  readonly notices: { level: string; message: string }[] = [];
  starts = 0;
  readonly histories = new Map<string, RunEvent[]>();
  statusOf = new Map<string, RunStatus>();
  growDelayMs = 0;

  constructor() {
    super();
    const host: MonitorHost = {
      post: (msg) => this.post(msg),
      request: async <M extends keyof RequestTypes>(method: M, params: RequestTypes[M][0]): Promise<RequestTypes[M][1]> => {
        this.requests.push({ method, params });
        return (await this.answer(method, params)) as RequestTypes[M][1];
      },
      startExperiment: async () => {
        this.starts++;
      },
      growthMethods: () => ['splitting', 'net2net-wider', 'net2net-deeper', 'firefly', 'gauss-newton', 'random-split-new'],
      // The status bar's active run: the running one.
      activeRunId: () => [...this.statusOf].find(([, st]) => st === 'running' || st === 'paused')?.[0],
      notify: (level, message) => {
        this.notices.push({ level, message });
      },
      log: () => undefined,
      errorText: (err) => String((err as Error)?.message ?? err),
    };
    this.controller = new MonitorController(host);
  }

  private async answer(method: string, params: unknown): Promise<unknown> {
    const runId = (params as { runId?: string } | undefined)?.runId;
    switch (method) {
      case 'growthLab/listRuns':
        return [...this.histories].map(([id, events]) => summaryOf(events, this.statusOf.get(id)));
      case 'growthLab/getRunHistory': {
        const h = this.histories.get(runId!);
        if (!h) throw new Error(`unknown run ${runId}`);
        return historyPage(h, params);
      }
      case 'growthLab/pauseExperiment':
      case 'growthLab/resumeExperiment':
      case 'growthLab/stopExperiment': {
        const status: RunStatus = method.endsWith('pauseExperiment')
          ? 'paused'
          : method.endsWith('resumeExperiment')
            ? 'running'
            : 'stopped';
        this.live({ type: 'status', time: new Date().toISOString(), runId: runId!, status });
        return { ok: true };
      }
      case 'growthLab/grow':
      case 'growthLab/prune': {
        await new Promise((r) => setTimeout(r, this.growDelayMs)); // the grow step's duration (scenario)
        const kind = method.endsWith('grow') ? 'grow' : 'prune';
        const e = growEvents.find((g) => g.kind === kind)!;
        const { type: _t, time: _time, ...g } = e;
        return g as GrowEventParams;
      }
      default:
        throw new Error(`unexpected request ${method}`);
    }
  }

  /** A backend notification, as MonitorManager forwards it. */
  live(e: RunEvent): void {
    if (e.type === 'status') this.statusOf.set(e.runId, e.status);
    const h = this.histories.get(e.runId);
    if (h) h.push(e);
    this.controller.onRunEvent(e);
  }
}

let browser: Browser;
let server: Served;
let ext: FakeExtension;
let page: Page;
let problems: PageProblems;

type Inspect = {
  runId?: string;
  accepted: number;
  duplicates: number;
  charts: Record<
    string,
    {
      datasets: { label: string; total: number; drawn: number }[];
      markers: { index: number; step: number; px: number }[];
      area: { left: number; right: number; top: number; bottom: number };
      xMin: number;
      xMax: number;
    }
  >;
  comparison: { label: string; points: number }[];
  markers: { step: number; method: string; added: number; removed: number; kind: string }[];
  arch?: { counts: Record<string, number>; ignored: string[] };
  busy: string[];
  stats: { renders: number; renderMs: number[]; messages: number; events: number };
  theme: string;
};

const inspect = (p: Page = page): Promise<Inspect> =>
  p.evaluate(() => (window as unknown as { growthLabMonitor: { inspect(): unknown } }).growthLabMonitor.inspect()) as Promise<Inspect>;

async function enabled(p: Page = page): Promise<Record<string, boolean>> {
  return p.evaluate(() =>
    Object.fromEntries(
      ['start', 'pause', 'resume', 'stop', 'grow', 'prune', 'export'].map((a) => [
        a,
        !(document.getElementById(`btn-${a}`) as HTMLElement & { disabled: boolean }).disabled,
      ]),
    ),
  );
}

/** The counts each step chart must show for `events`. */
function expectedCounts(events: RunEvent[]): Record<string, number[]> {
  const ms = metricsOf(events);
  const n = (f: (m: MetricsParams) => number | undefined) => ms.filter((m) => Number.isFinite(f(m))).length;
  return {
    loss: [n((m) => m.trainLoss), n((m) => m.testLoss)],
    accuracy: [n((m) => m.trainAccuracy), n((m) => m.testAccuracy)],
    params: [n((m) => m.params)],
    throughput: [n((m) => m.samplesPerSecond)],
    lr: [n((m) => m.learningRate)],
  };
}

function chartCounts(s: Inspect): Record<string, number[]> {
  return Object.fromEntries(Object.entries(s.charts).map(([id, c]) => [id, c.datasets.map((d) => d.total)]));
}

before(async () => {
  ({ server, browser } = await startBrowser());
  ext = new FakeExtension();
  ext.histories.set(GROWN, liveHistory.slice());
  ext.histories.set(BASELINE, baseline.slice());
  ext.statusOf.set(GROWN, 'running');
  ({ page, problems } = await openPage(browser, server.origin, dark, (m) => ext.onPosted(m)));
  ext.page = page;
});

after(async () => {
  await stopBrowser(browser, server);
});

test('the page loads under the strict CSP, posts ready, and gets the run history before live events', async () => {
  // A live event before the page is ready is not posted (the history will contain it).
  ext.controller.onRunEvent(liveRest[0]);
  await page.goto(`${server.origin}/`);
  await until('ready', () => ext.fromWebview.find((m) => m.type === 'ready'));
  await until('history drawn', async () => (await inspect()).runId === GROWN);
  await ext.settle();
  const csp = await page.evaluate(() => document.querySelector('meta[http-equiv="Content-Security-Policy"]')!.getAttribute('content')!);
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'nonce-[0-9a-f]{32}'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
  const violations = await page.evaluate(() => (window as unknown as { __cspViolations: unknown[] }).__cspViolations);
  assert.deepEqual(violations, [], 'no CSP violations');
  assert.deepEqual(problems.errors, [], 'no page errors');
  assert.deepEqual(
    [...new Set(server.requests)].sort(),
    ['/', '/dist/webview.css', '/dist/webview.js'],
    'the page loads only the bundled assets',
  );
  assert.deepEqual(ext.fromWebview[0], { type: 'ready' }, 'a fresh page has no saved state');
  // Saved for the serializer: the run shown.
  assert.deepEqual(await page.evaluate(() => JSON.parse(sessionStorage.getItem('vscode-webview-state')!)), { runId: GROWN });
});

test('every chart has one point per recorded metric', async () => {
  const s = await inspect();
  assert.deepEqual(chartCounts(s), expectedCounts(liveHistory));
  for (const c of Object.values(s.charts))
    for (const d of c.datasets) assert.equal(d.drawn, d.total, `${d.label}: few points are drawn as they are`);
  assert.equal(s.accepted, liveHistory.length);
  // All runs: both runs' test accuracy against parameters.
  await until('comparison', async () => (await inspect()).comparison.length === 2);
  const cmp = (await inspect()).comparison;
  const acc = (ev: RunEvent[]) => metricsOf(ev).filter((m) => m.testAccuracy !== undefined).length;
  assert.deepEqual(cmp.map((c) => c.points).sort(), [acc(liveHistory), acc(baseline)].sort());
  assert.equal(await page.locator('#summary').getByText('fashion-mnist').count(), 1);
});

test('grow markers sit at the grow steps; hovering one shows method, neurons and loss', async () => {
  const s = await inspect();
  const grows = liveHistory.filter((e) => e.type === 'grow') as GrowEventParams[];
  for (const id of ['loss', 'accuracy', 'params', 'throughput']) {
    const c = s.charts[id];
    assert.deepEqual(
      c.markers.map((m) => m.step),
      grows.map((g) => g.step),
      `${id}: one marker per grow event`,
    );
    for (const m of c.markers) {
      const expected = c.area.left + ((m.step - c.xMin) / (c.xMax - c.xMin)) * (c.area.right - c.area.left);
      assert.ok(Math.abs(m.px - expected) < 1, `${id}: marker at step ${m.step} drawn at x=${m.px}, expected ${expected}`);
    }
  }
  // The marker line is really on the canvas: its colour fills most of that pixel column, and not the next ones.
  const loss = s.charts.loss;
  const columns = await page.evaluate(
    ({ xs, top, bottom, color }) => {
      const canvas = document.getElementById('chart-loss') as HTMLCanvasElement;
      const ctx = canvas.getContext('2d')!;
      const rgb = [1, 3, 5].map((i) => parseInt(color.slice(i, i + 2), 16));
      return xs.map((x) => {
        const data = ctx.getImageData(Math.round(x), Math.ceil(top) + 8, 1, Math.floor(bottom - top) - 10).data;
        let hits = 0;
        for (let i = 0; i < data.length; i += 4)
          if (Math.abs(data[i] - rgb[0]) + Math.abs(data[i + 1] - rgb[1]) + Math.abs(data[i + 2] - rgb[2]) < 60 && data[i + 3] > 200)
            hits++;
        return hits / (data.length / 4);
      });
    },
    {
      xs: loss.markers.flatMap((m) => [m.px, m.px + 9]),
      top: loss.area.top,
      bottom: loss.area.bottom,
      color: dark.vars['--vscode-charts-green'],
    },
  );
  for (let i = 0; i < columns.length; i += 2) {
    assert.ok(columns[i] > 0.4, `marker ${i / 2} covers ${columns[i]} of its column`);
    assert.ok(columns[i + 1] < 0.1, `no marker colour 9 px to the right (${columns[i + 1]})`);
  }
  // Hover.
  const box = (await page.locator('#chart-loss').boundingBox())!;
  const m0 = loss.markers[1];
  await page.mouse.move(box.x + m0.px, box.y + (loss.area.top + loss.area.bottom) / 2);
  await until('marker tooltip', () => page.locator('#tip').isVisible());
  const tip = await page.locator('#tip').innerText();
  const g = grows[1];
  assert.match(tip, new RegExp(`Grow: ${g.method}`));
  const added = g.diff.reduce((a, d) => a + d.added.length + d.split.length - new Set(d.split.map((x) => x.parent)).size, 0);
  const removed = g.diff.reduce((a, d) => a + d.removed.length, 0);
  assert.match(tip, new RegExp(`neurons \\+${added} / −${removed}`));
  assert.match(tip, new RegExp(`loss ${g.lossBefore.toPrecision(4)} → ${g.lossAfter.toPrecision(4)}`));
  await page.mouse.move(box.x + 5, box.y + 5);
  await until('tooltip hidden', async () => !(await page.locator('#tip').isVisible()));
});

/** What the DOM highlights, as "layer:index" (split: "layer:index<parent") per class. */
async function highlighted(): Promise<Record<string, string[]>> {
  return page.evaluate(() => {
    const out: Record<string, string[]> = { kept: [], split: [], new: [], removed: [], inserted: [] };
    for (const r of Array.from(document.querySelectorAll('#arch rect.neuron'))) {
      const st = r.getAttribute('data-state')!;
      const key = `${r.getAttribute('data-layer')}:${r.getAttribute('data-index')}${st === 'split' ? `<${r.getAttribute('data-parent')}` : ''}`;
      out[st].push(key);
    }
    for (const k of Object.keys(out)) out[k].sort();
    return out;
  });
}

/** The same, computed straight from the event (independently of the webview's code). */
function expectedHighlights(g: GrowEventParams): Record<string, string[]> {
  const out: Record<string, string[]> = { kept: [], split: [], new: [], removed: [], inserted: [] };
  const before = new Set(g.before.layers.map((l) => l.id));
  for (const l of g.after.layers) {
    if (l.width === undefined) continue;
    const d = g.diff.find((x) => x.id === l.id);
    const inserted = !!d?.inserted || !before.has(l.id);
    const split = new Map((d?.split ?? []).map((s) => [s.index, s.parent]));
    const added = new Set(d?.added ?? []);
    for (let i = 0; i < l.width; i++) {
      if (inserted) out.inserted.push(`${l.id}:${i}`);
      else if (split.has(i)) out.split.push(`${l.id}:${i}<${split.get(i)}`);
      else if (added.has(i)) out.new.push(`${l.id}:${i}`);
      else out.kept.push(`${l.id}:${i}`);
    }
    if (!inserted) for (const r of d?.removed ?? []) out.removed.push(`${l.id}:${r}`);
  }
  for (const k of Object.keys(out)) out[k].sort();
  return out;
}

test('the architecture view highlights exactly the neurons each grow event names', async () => {
  // Show every recorded step: give the panel the whole (finished) run once, then go back to the live one.
  ext.histories.set(GROWN, grown.slice());
  await ext.controller.showRun(GROWN);
  await until('full history', async () => (await inspect()).markers.length === growEvents.length);
  const seen = new Set<string>();
  for (let i = 0; i < growEvents.length; i++) {
    await page.locator(`#timeline button[data-index="${i}"]`).click();
    await ext.settle();
    const g = growEvents[i];
    const got = await highlighted();
    assert.deepEqual(got, expectedHighlights(g), `event ${i} (${g.method})`);
    for (const [k, v] of Object.entries(got)) if (k !== 'kept' && v.length) seen.add(k);
    // Split copies are linked to the copy that kept the parent's neuron.
    const links = await page.locator('#arch path.split-link').count();
    const expectedLinks = g.diff.reduce((a, d) => a + d.split.length - new Set(d.split.map((s) => s.parent)).size, 0);
    assert.equal(links, expectedLinks, `event ${i}: split links`);
    assert.equal(await page.locator('#timeline button[aria-pressed="true"]').getAttribute('data-index'), String(i));
    assert.match(await page.locator('#detail-title').innerText(), new RegExp(g.method));
    assert.equal(
      await page.locator('#detail-layers tr').count(),
      1 + g.after.layers.filter((l) => l.width !== undefined || g.diff.some((d) => d.id === l.id)).length,
    );
  }
  assert.deepEqual([...seen].sort(), ['inserted', 'new', 'removed', 'split'], 'the recorded run exercises every highlight');
  ext.histories.set(GROWN, liveHistory.slice());
  await ext.controller.showRun(GROWN);
  await until('live history again', async () => (await inspect()).markers.length === 2);
});

test('controls post the right messages and apply only to the states they fit', async () => {
  await ext.settle();
  assert.deepEqual(await enabled(), { start: true, pause: true, resume: false, stop: true, grow: true, prune: true, export: true });
  const sent = () => ext.fromWebview.filter((m) => m.type !== 'ready' && m.type !== 'selectRun' && m.type !== 'viewport');
  const before = sent().length;

  await page.locator('#btn-pause').click();
  await until('paused', async () => (await enabled()).resume);
  assert.deepEqual(await enabled(), { start: true, pause: false, resume: true, stop: true, grow: true, prune: true, export: true });
  await page.locator('#btn-resume').click();
  await until('running', async () => (await enabled()).pause);

  // Grow now with a method from the picker (a real click on the option).
  await page.locator('#grow-method').click();
  await page.locator('#grow-method').getByRole('option', { name: 'net2net-wider', exact: true }).click();
  ext.growDelayMs = 400;
  await page.locator('#btn-grow').click();
  await frames(page, 2);
  assert.equal((await enabled()).grow, false, 'Grow now waits for the answer');
  await until('grow answered', async () => (await enabled()).grow);
  assert.match(await page.locator('#notice').innerText(), /Grew with splitting/);
  ext.growDelayMs = 0;
  await page.locator('#btn-prune').click();
  await until('prune answered', () => ext.requests.some((r) => r.method === 'growthLab/prune'));
  await page.locator('#btn-export').click();
  await until('export answered', async () => /not available yet/.test(await page.locator('#notice').innerText()));
  await page.locator('#btn-start').click();
  await until('start', () => ext.starts === 1);

  assert.deepEqual(sent().slice(before), [
    { type: 'pause', runId: GROWN },
    { type: 'resume', runId: GROWN },
    { type: 'grow', runId: GROWN, method: 'net2net-wider' },
    { type: 'prune', runId: GROWN, method: 'prune-taylor' },
    { type: 'export', runId: GROWN },
    { type: 'start' },
  ]);
  assert.deepEqual(
    ext.requests.filter((r) => !/listRuns|getRunHistory/.test(r.method)).map((r) => [r.method, r.params]),
    [
      ['growthLab/pauseExperiment', { runId: GROWN }],
      ['growthLab/resumeExperiment', { runId: GROWN }],
      ['growthLab/grow', { runId: GROWN, method: 'net2net-wider' }],
      ['growthLab/prune', { runId: GROWN, options: { method: 'prune-taylor' } }],
    ],
  );
  assert.deepEqual(
    ext.notices.map((n) => n.level),
    ['info'],
    'export: one "not available yet" notification, nothing else',
  );
  assert.match(ext.notices[0].message, /not available yet/);
});

test('live events at 20 per second are all drawn, none twice', async () => {
  await ext.settle();
  const s0 = await inspect();
  // A notification that raced the history read: already in the history, sent again.
  for (const e of liveHistory.slice(-3)) ext.controller.onRunEvent(e);
  const t0 = Date.now();
  for (const e of liveRest) {
    ext.live(e);
    await new Promise((r) => setTimeout(r, 50)); // the scenario's rate (20 events per second), not a wait
  }
  const seconds = (Date.now() - t0) / 1000;
  await ext.settle();
  await until('all live events drawn', async () => (await inspect()).markers.length === growEvents.length);
  // The charts' points come from the extension's answer to their (rate-limited) viewport requests.
  const want = JSON.stringify(expectedCounts(grown));
  await until('the last chart data', async () => JSON.stringify(chartCounts(await inspect())) === want).catch(() => undefined);
  const s = await inspect();
  assert.deepEqual(chartCounts(s), expectedCounts(grown), 'every metric of the run, once');
  assert.equal(
    s.duplicates - s0.duplicates,
    metricsOf(liveHistory.slice(-3)).length + liveHistory.slice(-3).filter((e) => e.type === 'grow').length,
  );
  assert.ok(s.stats.renders - s0.stats.renders >= 10, `redrawn as events came (${s.stats.renders - s0.stats.renders} redraws)`);
  console.log(
    `# streamed ${liveRest.length} events in ${seconds.toFixed(1)} s (${(liveRest.length / seconds).toFixed(1)}/s): ${s.stats.renders - s0.stats.renders} redraws`,
  );
  // The run ended (its last event is the completed status): only Start and Export apply now.
  assert.deepEqual(await enabled(), { start: true, pause: false, resume: false, stop: false, grow: false, prune: false, export: true });
  // (The charts' viewport requests for the last live data may still go out; controls post nothing.)
  const controlPosts = () => ext.fromWebview.filter((m) => m.type !== 'viewport').length;
  const n = controlPosts();
  await page.locator('#btn-pause').click({ force: true });
  await page.locator('#btn-grow').click({ force: true });
  await frames(page, 2);
  assert.equal(controlPosts(), n, 'disabled controls post nothing');
});

test('reloading the page (as after a window reload) redraws the same charts', async () => {
  ext.histories.set(GROWN, grown.slice());
  const before = await inspect();
  const readyCount = ext.fromWebview.filter((m) => m.type === 'ready').length;
  await page.reload();
  await until('ready again', () => ext.fromWebview.filter((m) => m.type === 'ready').length === readyCount + 1);
  assert.deepEqual(ext.fromWebview.filter((m) => m.type === 'ready').pop(), { type: 'ready', state: { runId: GROWN } });
  await until('redrawn', async () => (await inspect()).markers.length === growEvents.length);
  await ext.settle();
  const want = JSON.stringify(chartCounts(before));
  await until("the charts' data", async () => JSON.stringify(chartCounts(await inspect())) === want).catch(() => undefined);
  const afterReload = await inspect();
  assert.deepEqual(chartCounts(afterReload), chartCounts(before));
  for (const id of Object.keys(before.charts)) {
    assert.deepEqual(afterReload.charts[id].markers, before.charts[id].markers, `${id}: same markers at the same pixels`);
    assert.deepEqual(afterReload.charts[id].datasets, before.charts[id].datasets);
  }
  assert.deepEqual(await highlighted(), expectedHighlights(growEvents[growEvents.length - 1]));
});

test('switching runs with the run picker shows the other run', async () => {
  await page.locator('#run-select').click();
  await page
    .locator('#run-select')
    .getByRole('option', { name: /fashion-baseline/ })
    .click();
  await until('baseline shown', async () => (await inspect()).runId === BASELINE);
  await ext.settle();
  const s = await inspect();
  assert.deepEqual(ext.fromWebview.filter((m) => m.type === 'selectRun').pop(), { type: 'selectRun', runId: BASELINE });
  assert.deepEqual(chartCounts(s), expectedCounts(baseline));
  assert.equal(s.markers.length, 0);
  assert.equal(await page.locator('#timeline li.empty').count(), 1);
  // and back
  await ext.controller.showRun(GROWN);
  await until('grown shown', async () => (await inspect()).runId === GROWN);
});

test('themes: light, dark and high contrast (screenshots in test-results/webview/)', async () => {
  const lossBox = (await page.locator('#chart-loss').boundingBox())!;
  for (const theme of THEMES) {
    await setTheme(page, theme);
    await ext.settle();
    const s = await inspect();
    assert.equal(s.theme, theme.name);
    const colors = await page.evaluate(() => ({
      bg: getComputedStyle(document.body).backgroundColor,
      fg: getComputedStyle(document.body).color,
    }));
    const hex = (c: string) =>
      `#${c
        .match(/\d+/g)!
        .slice(0, 3)
        .map((v) => Number(v).toString(16).padStart(2, '0'))
        .join('')}`;
    assert.equal(hex(colors.bg), theme.vars['--vscode-editor-background']);
    assert.equal(hex(colors.fg), theme.vars['--vscode-foreground'].slice(0, 7));
    // Hover the latest marker so that the screenshot shows its tooltip.
    const m = s.charts.loss.markers[s.charts.loss.markers.length - 1];
    await page.mouse.move(lossBox.x + m.px, lossBox.y + (s.charts.loss.area.top + s.charts.loss.area.bottom) / 2);
    await until('tooltip', () => page.locator('#tip').isVisible());
    await page.screenshot({ path: path.join(RESULTS, `monitor-${theme.name}.png`), fullPage: true });
  }
  // The pruning step (removed neurons) in the dark theme.
  await setTheme(page, dark);
  const prune = growEvents.findIndex((g) => g.diff.some((d) => d.removed.length > 0) && g.diff.some((d) => d.split.length > 0));
  await page.locator(`#timeline button[data-index="${prune}"]`).click();
  await ext.settle();
  await page.locator('.arch-section').screenshot({ path: path.join(RESULTS, 'monitor-dark-architecture-removed.png') });
  const deeper = growEvents.findIndex((g) => g.diff.some((d) => d.inserted));
  await page.locator(`#timeline button[data-index="${deeper}"]`).click();
  await ext.settle();
  await page.locator('.arch-section').screenshot({ path: path.join(RESULTS, 'monitor-dark-architecture-inserted.png') });
  for (const name of ['light', 'dark', 'high-contrast']) assert.ok(fs.statSync(path.join(RESULTS, `monitor-${name}.png`)).size > 10000);
  assert.deepEqual(problems.errors, []);
});

test('100,000 points per series stay responsive (frame time reported)', async () => {
  const N = 100_000;
  const runId = '20261123-120000-synthetic-100k-beef';
  const perf = await page.evaluate(
    async ({ N, runId, template }) => {
      const start = template.start as unknown as Record<string, unknown>;
      const grow = template.grow as unknown as Record<string, unknown>;
      const events: unknown[] = [
        { ...start, runId },
        { type: 'status', time: '2026-11-23T12:00:00.000Z', runId, status: 'running' },
      ];
      const metric = (i: number) => ({
        type: 'metrics',
        time: '2026-11-23T12:00:01.000Z',
        runId,
        epoch: 1 + Math.floor(i / 10000),
        step: i + 1,
        trainLoss: 2 * Math.exp(-i / 20000) + 0.05 * Math.sin(i / 7) + (i % 997 === 0 ? 0.5 : 0),
        trainAccuracy: 1 - Math.exp(-i / 15000) * 0.9,
        testLoss: 2.1 * Math.exp(-i / 20000) + 0.08,
        testAccuracy: 0.95 - Math.exp(-i / 15000) * 0.85,
        params: 19270 + Math.floor(i / 10000) * 500,
        samplesPerSecond: 20000 + 3000 * Math.sin(i / 50),
        engine: 'onnxruntime',
        executionProvider: 'cpu',
        elapsedMs: i * 3,
      });
      for (let i = 0; i < N; i++) {
        events.push(metric(i));
        if ((i + 1) % 10000 === 0 && i + 1 < N) events.push({ ...grow, runId, step: i + 1, durationMs: i });
      }
      const w = window as unknown as { growthLabMonitor: { app: { stats: { renderMs: number[]; renders: number } } } };
      const stats = w.growthLabMonitor.app.stats;
      const nextFrame = () => new Promise<number>((r) => requestAnimationFrame(r));
      // 1. The whole history at once.
      const r0 = stats.renders;
      const t0 = performance.now();
      window.postMessage({ type: 'history', runId, events }, '*');
      while (stats.renders === r0) await nextFrame();
      const firstDraw = performance.now() - t0;
      const firstRenderMs = stats.renderMs[stats.renderMs.length - 1];
      // 2. Live: 10 updates per second for 3 s, with the pointer moving over the loss chart.
      const canvas = document.getElementById('chart-loss') as HTMLCanvasElement;
      const rect = canvas.getBoundingClientRect();
      const rendersBefore = stats.renders;
      const frameGaps: number[] = [];
      let last = performance.now();
      let running = true;
      const measure = (t: number) => {
        frameGaps.push(t - last);
        last = t;
        if (running) requestAnimationFrame(measure);
      };
      requestAnimationFrame(measure);
      let step = N;
      for (let k = 0; k < 30; k++) {
        const batch = [];
        for (let j = 0; j < 10; j++) batch.push(metric(step++));
        window.postMessage({ type: 'events', runId, events: batch }, '*');
        canvas.dispatchEvent(
          new MouseEvent('mousemove', {
            clientX: rect.left + rect.width * (0.1 + 0.8 * (k / 30)),
            clientY: rect.top + rect.height / 2,
            bubbles: true,
          }),
        );
        await new Promise((r) => setTimeout(r, 100)); // the scenario's rate (10 updates per second)
      }
      running = false;
      const live = stats.renderMs.slice(-(stats.renders - rendersBefore));
      const sorted = (a: number[]) => [...a].sort((x, y) => x - y);
      const q = (a: number[], p: number) => sorted(a)[Math.min(a.length - 1, Math.floor(p * a.length))];
      return {
        points: N,
        firstDraw,
        firstRenderMs,
        liveRenders: live.length,
        renderMedian: q(live, 0.5),
        renderP95: q(live, 0.95),
        renderMax: Math.max(...live),
        frameGapMedian: q(frameGaps, 0.5),
        frameGapP95: q(frameGaps, 0.95),
        frameGapMax: Math.max(...frameGaps),
        frames: frameGaps.length,
      };
    },
    { N, runId, template: { start: grown.find((e) => e.type === 'start'), grow: growEvents[0] } },
  );
  const s = await inspect();
  assert.equal(s.charts.loss.datasets[0].total, N + 300, 'every point is kept');
  const width = s.charts.loss.area.right - s.charts.loss.area.left;
  for (const c of Object.values(s.charts))
    for (const d of c.datasets)
      assert.ok(d.drawn <= 4 * Math.ceil(width) + 4, `${d.label}: ${d.drawn} drawn points for ${Math.round(width)} px`);
  assert.equal(s.markers.length, 9);
  const r = (v: number) => Math.round(v * 10) / 10;
  const report = Object.fromEntries(Object.entries(perf).map(([k, v]) => [k, r(v as number)]));
  fs.writeFileSync(
    path.join(RESULTS, 'frame-time.json'),
    JSON.stringify({ ...report, drawnPointsLoss: s.charts.loss.datasets[0].drawn, chartWidthPx: Math.round(width) }, null, 2),
  );
  console.log(`# 100,000 points per series: ${JSON.stringify(report)}`);
  await page.evaluate(() => window.scrollTo(0, 0));
  await frames(page, 2);
  await page.screenshot({ path: path.join(RESULTS, 'monitor-100k-dark.png'), fullPage: false });
  assert.deepEqual(problems.errors, []);
});
