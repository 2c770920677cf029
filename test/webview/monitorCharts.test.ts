/**
 * "Charts that never lie" in real headless Chromium: the built bundle under the real CSP, driven by
 * the real MonitorController (whose SeriesStore downsamples for each chart's visible range) with a
 * fake backend. The run is recorded-style: the start and grow events of a recorded run
 * (fixtures/grown-run.jsonl) around 100,000 metrics events per series from a seeded generator, with
 * spikes. Checked at the full range and after wheel zooms, a keyboard zoom and a drag pan: every
 * spike above 5× the median is drawn, the grow markers are there, the badge counts right. The time
 * from a zoom to the frame that draws the extension's answer is measured and reported (not asserted).
 *
 * Run: npm run build --silent && node --import tsx --test test/webview/monitorCharts.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import type { Browser, Page } from 'playwright-core';
import { MonitorController, type MonitorHost, type SaveFileRequest } from '../../extension/monitorController';
import type { RequestTypes, RunEvent, RunSummary } from '../../common/protocol';
import { emaSmooth } from '../../common/monitor/smoothing';
import {
  ExtensionBridge,
  until as untilMs,
  frames,
  openPage,
  readEvents,
  RESULTS,
  type PageProblems,
  type Served,
  startBrowser,
  stopBrowser,
} from './harness';
import { historyPage } from '../helpers/historyPage';

const until = <T>(what: string, f: () => Promise<T | undefined | false> | T | undefined | false, ms = 20000): Promise<T> =>
  untilMs(what, f, ms);
import { THEMES } from './themes';
import { SPIKY, syntheticRun } from './spikyRun';

const { N, RUN, template } = SPIKY;
const run = syntheticRun();
/** A second (recorded) run, to overlay in Compare runs and export with the shown one. */
const baseline = readEvents('baseline-run');
const BASELINE = baseline[0].runId;
const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
};
const medians = { trainLoss: median(run.trainLoss), testLoss: median(run.testLoss) };
const bigSpikes = run.spikes.filter((s) => s.value > 5 * medians[s.series]);

function summary(): RunSummary {
  return {
    runId: RUN,
    name: template.start.config.name,
    status: 'completed',
    dataset: template.start.config.dataset.name,
    engine: 'onnxruntime',
    executionProvider: 'cpu',
    startedAt: '2026-11-23T13:00:00.000Z',
    epochs: 67,
    epochsDone: 67,
    params: template.grows[7 % template.grows.length].after.params,
    growSteps: run.growSteps.length,
  };
}

class FakeExtension extends ExtensionBridge {
  readonly saved: SaveFileRequest[] = [];

  constructor() {
    super();
    const host: MonitorHost = {
      // Histories go over as JSON text (fast to hand to the page); chartData keeps its Float64Arrays.
      post: (msg) =>
        msg.type === 'history' || msg.type === 'events'
          ? this.post(msg, (page) => page.evaluate((json) => window.postMessage(JSON.parse(json), '*'), JSON.stringify(msg)))
          : this.post(msg),
      request: async <M extends keyof RequestTypes>(method: M, params: RequestTypes[M][0]): Promise<RequestTypes[M][1]> => {
        if (method === 'growthLab/listRuns')
          return [
            summary(),
            { ...summary(), runId: BASELINE, name: 'fashion-baseline', startedAt: '2026-11-23T11:00:00.000Z', growSteps: 0 },
          ] as RequestTypes[M][1];
        if (method === 'growthLab/getRunHistory' && (params as { runId: string }).runId === RUN)
          return historyPage(run.events, params) as RequestTypes[M][1];
        if (method === 'growthLab/getRunHistory' && (params as { runId: string }).runId === BASELINE)
          return historyPage(baseline, params) as RequestTypes[M][1];
        throw new Error(`unexpected request ${method}`);
      },
      startExperiment: async () => undefined,
      growthMethods: () => ['splitting'],
      activeRunId: () => undefined,
      notify: () => undefined,
      log: () => undefined,
      errorText: (err) => String((err as Error)?.message ?? err),
      // The save dialog: "the user picks" a path under test-results.
      saveFile: async (file) => {
        this.saved.push(file);
        return path.join(RESULTS, `export-${file.defaultName}`);
      },
    };
    this.controller = new MonitorController(host);
  }
}

interface ChartState {
  datasets: { label: string; total: number; drawn: number }[];
  markers: { index: number; step: number; px: number }[];
  area: { left: number; right: number; top: number; bottom: number };
  xMin: number;
  xMax: number;
  source: string;
  settled: boolean;
  seq?: number;
  zoom?: { min: number; max: number };
  badge: string;
  smoothedDrawn: number[];
  yType?: string;
  settings: { xAxis: string; smoothing: number; logY: boolean };
}

let browser: Browser;
let server: Served;
let ext: FakeExtension;
let page: Page;
let problems: PageProblems;

const chartState = (id: string): Promise<ChartState> =>
  page.evaluate(
    (cid) =>
      (window as unknown as { growthLabMonitor: { inspect(): { charts: Record<string, unknown> } } }).growthLabMonitor.inspect().charts[
        cid
      ],
    id,
  ) as Promise<ChartState>;

/** The raw points the chart holds for series i (what the canvas draws). */
const rawPoints = (id: string, i: number): Promise<{ x: number; y: number }[]> =>
  page.evaluate(
    ({ cid, i }) => {
      const app = (
        window as unknown as {
          growthLabMonitor: { app: { stepCharts: { spec: { id: string }; rawPoints(i: number): { x: number; y: number }[] }[] } };
        }
      ).growthLabMonitor.app;
      return app.stepCharts.find((c) => c.spec.id === cid)!.rawPoints(i);
    },
    { cid: id, i },
  );

/** Waits until the chart draws the extension's answer for its current view. */
async function drawnByExtension(id: string): Promise<ChartState> {
  await ext.settle();
  // Settled: the answer to the chart's last request is drawn, and no newer request follows (a new
  // zoom can change the y labels' width, hence the plot's width, which asks once more).
  for (;;) {
    const s = await until(`${id} drawn from the extension's answer`, async () => {
      const st = await chartState(id);
      return st.settled ? st : undefined;
    });
    await ext.settle();
    await frames(page, 2);
    const again = await chartState(id);
    if (again.settled && again.seq === s.seq) return again;
  }
}

const en = (v: number) => v.toLocaleString('en-US');

/** Every big spike inside the visible range is among the chart's points, the markers sit at the grow steps, the badge adds up. */
async function checkView(
  label: string,
): Promise<{ spikesChecked: number; spikesAsOwnPoint: number; drawn: number; visibleMin: number; visibleMax: number }> {
  const s = await drawnByExtension('loss');
  const lo = s.xMin,
    hi = s.xMax;
  let checked = 0,
    exact = 0;
  for (const [i, series] of (['trainLoss', 'testLoss'] as const).entries()) {
    const pts = await rawPoints('loss', i);
    const have = new Map(pts.map((p) => [p.x, p.y]));
    // One bucket per pixel: a spike is drawn when its own point is, or when a taller point shares its pixel column.
    const column = (hi - lo) / Math.round(s.area.right - s.area.left);
    for (const sp of bigSpikes.filter((b) => b.series === series && b.step >= lo && b.step <= hi)) {
      const mine = have.get(sp.step) === sp.value;
      const covered = mine || pts.some((p) => Math.abs(p.x - sp.step) <= column && p.y >= sp.value);
      assert.ok(
        covered,
        `${label}: ${series} spike at step ${sp.step} (${sp.value.toFixed(2)}, ${(sp.value / medians[series]).toFixed(1)}× the median) is drawn`,
      );
      checked++;
      if (mine) exact++;
    }
    // About 2 points per pixel: never more than 2 per pixel plus the kept ends and grow neighbours.
    const width = s.area.right - s.area.left;
    assert.ok(
      pts.length <= 2 * Math.round(width) + 2 + 2 * run.growSteps.length,
      `${label}: ${pts.length} points for ${Math.round(width)} px`,
    );
  }
  const inView = run.growSteps.filter((g) => g >= lo && g <= hi);
  assert.deepEqual(
    s.markers.map((m) => m.step),
    inView,
    `${label}: one marker per grow step in view`,
  );
  assert.deepEqual(
    s.datasets.map((d) => d.total),
    [N, N],
    `${label}: totals`,
  );
  const drawn = s.datasets.reduce((a, d) => a + d.drawn, 0);
  const pts0 = (await rawPoints('loss', 0)).length,
    pts1 = (await rawPoints('loss', 1)).length;
  assert.equal(drawn, pts0 + pts1, `${label}: the counts are the points on the chart`);
  assert.equal(s.badge, `${en(drawn)} of ${en(2 * N)} points`, `${label}: badge`);
  assert.equal(await page.locator('#points-loss').innerText(), `${en(drawn)} of ${en(2 * N)} points`);
  return { spikesChecked: checked, spikesAsOwnPoint: exact, drawn, visibleMin: lo, visibleMax: hi };
}

before(async () => {
  ({ server, browser } = await startBrowser());
  ext = new FakeExtension();
  ({ page, problems } = await openPage(
    browser,
    server.origin,
    THEMES.find((t) => t.name === 'dark')!,
    (m) => ext.onPosted(m),
  ));
  ext.page = page;
});

after(async () => {
  await stopBrowser(browser, server);
});

test("the recorded-style run: 100,000 points per series with spikes, drawn from the extension's downsampling", async () => {
  assert.ok(bigSpikes.length >= 40, `${bigSpikes.length} spikes above 5× the median`);
  const t0 = Date.now();
  await page.goto(`${server.origin}/`);
  await until(
    'history shown',
    async () =>
      (await page.evaluate(
        () => (window as unknown as { growthLabMonitor: { inspect(): { runId?: string } } }).growthLabMonitor.inspect().runId,
      )) === RUN,
    60000,
  );
  for (const id of ['loss', 'accuracy', 'params', 'throughput']) {
    const s = await drawnByExtension(id);
    for (const d of s.datasets) assert.equal(d.total, N, `${id}: ${d.label} has every point`);
  }
  console.log(`# history of ${run.events.length} events shown and drawn in ${Date.now() - t0} ms (includes the harness' transfer)`);
  const views = [await checkView('full range')];
  const v = ext.fromWebview.filter((m) => m.type === 'viewport');
  assert.ok(v.length >= 4, 'each chart asked for its view');
  assert.deepEqual(problems.errors, []);
  console.log(`# full range: ${JSON.stringify(views[0])}`);
});

test('wheel zoom, keyboard zoom and drag pan: spikes, markers and badge right at every level; frame after a zoom measured', async () => {
  const box = (await page.locator('#chart-loss').boundingBox())!;
  const s0 = await chartState('loss');
  const at = (step: number) => box.x + s0.area.left + ((step - s0.xMin) / (s0.xMax - s0.xMin)) * (s0.area.right - s0.area.left);
  const midY = box.y + (s0.area.top + s0.area.bottom) / 2;
  // 1. Wheel zoom around the 4th grow step (3 notches).
  await page.mouse.move(at(run.growSteps[3]), midY);
  // Plain wheel scrolls the page; Alt + wheel zooms (as in TensorBoard).
  await page.mouse.wheel(0, -100);
  await frames(page, 2);
  assert.equal((await chartState('loss')).zoom, undefined, 'a plain wheel does not zoom');
  await page.keyboard.down('Alt');
  for (let k = 0; k < 3; k++) {
    await page.mouse.wheel(0, -100);
    await frames(page, 1);
  }
  const z1 = await checkView('wheel zoom ×3');
  assert.ok(z1.visibleMax - z1.visibleMin < 0.6 * N, `zoomed in (${z1.visibleMin}..${z1.visibleMax})`);
  assert.ok(z1.visibleMin <= run.growSteps[3] && run.growSteps[3] <= z1.visibleMax, 'the step under the pointer stays in view');
  // 2. Deeper, around a spike: the spike is drawn at this zoom too.
  const spike =
    bigSpikes.find((b) => b.series === 'trainLoss' && b.step > z1.visibleMin + 1000 && b.step < z1.visibleMax - 1000) ?? bigSpikes[0];
  const s1 = await chartState('loss');
  const at1 = (step: number) => box.x + s1.area.left + ((step - s1.xMin) / (s1.xMax - s1.xMin)) * (s1.area.right - s1.area.left);
  await page.mouse.move(at1(spike.step), midY);
  for (let k = 0; k < 6; k++) {
    await page.mouse.wheel(0, -100);
    await frames(page, 1);
  }
  await page.keyboard.up('Alt');
  const z2 = await checkView('wheel zoom ×9');
  assert.ok(z2.visibleMax - z2.visibleMin < 0.15 * N, `zoomed in further (${z2.visibleMin}..${z2.visibleMax})`);
  // 3. Keyboard: + on the focused canvas zooms in once more.
  await page.locator('#chart-loss').focus();
  await page.keyboard.press('+');
  const z3 = await checkView('keyboard zoom');
  assert.ok(z3.visibleMax - z3.visibleMin < z2.visibleMax - z2.visibleMin);
  // 4. Drag pan to the left (later steps come into view).
  const s3 = await chartState('loss');
  await page.mouse.move(box.x + s3.area.left + 200, midY);
  await page.mouse.down();
  await page.mouse.move(box.x + s3.area.left + 40, midY, { steps: 5 });
  await page.mouse.up();
  const z4 = await checkView('drag pan');
  assert.ok(z4.visibleMin > z3.visibleMin, 'panned towards later steps');
  const total = [z1, z2, z3, z4].reduce((a, z) => a + z.spikesChecked, 0);
  assert.ok(total >= 4, `spikes were in view while zoomed (${total})`);
  console.log(`# zoom levels: ${JSON.stringify([z1, z2, z3, z4])}`);

  // The frame after a zoom: from the wheel event to the frame that draws the extension's answer.
  const timings: { firstFrameMs: number; firstRenderMs: number; toAnswerMs: number; renderMs: number }[] = [];
  for (let k = 0; k < 5; k++) {
    const t = await page.evaluate(
      async (dir) => {
        const w = window as unknown as {
          growthLabMonitor: {
            app: { stats: { renderMs: number[] }; stepCharts: { spec: { id: string }; inspect(): { source: string } }[] };
          };
        };
        const app = w.growthLabMonitor.app;
        const chart = app.stepCharts.find((c) => c.spec.id === 'loss')!;
        const canvas = document.getElementById('chart-loss') as HTMLCanvasElement;
        const r = canvas.getBoundingClientRect();
        const renders = (app.stats as unknown as { renders: number }).renders;
        const t0 = performance.now();
        canvas.dispatchEvent(
          new WheelEvent('wheel', {
            deltaY: dir,
            altKey: true,
            clientX: r.left + r.width / 2,
            clientY: r.top + r.height / 2,
            bubbles: true,
            cancelable: true,
          }),
        );
        // The first frame after the zoom (the new range, drawn from the panel's copy until the answer comes).
        while ((app.stats as unknown as { renders: number }).renders === renders) await new Promise((res) => requestAnimationFrame(res));
        const firstFrameMs = performance.now() - t0;
        const firstRenderMs = app.stats.renderMs[app.stats.renderMs.length - 1];
        for (;;) {
          await new Promise((res) => requestAnimationFrame(res));
          if (chart.inspect().source === 'extension') break;
          if (performance.now() - t0 > 10000) throw new Error('no answer');
        }
        return {
          firstFrameMs,
          firstRenderMs,
          toAnswerMs: performance.now() - t0,
          renderMs: app.stats.renderMs[app.stats.renderMs.length - 1],
        };
      },
      k % 2 ? 100 : -100,
    );
    timings.push(t);
  }
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  const r1 = (v: number) => Math.round(v * 10) / 10;
  // The extension's own part: one viewport answer for the full range of 100,000 points per series.
  const req = ext.fromWebview.filter((m) => m.type === 'viewport' && m.chart === 'loss').pop() as Parameters<
    typeof ext.controller.series.view
  >[0];
  const tv = performance.now();
  for (let k = 0; k < 10; k++) ext.controller.series.view({ ...req, xMin: undefined, xMax: undefined, seq: 0 });
  const report = {
    firstFrameAfterZoomMedianMs: r1(med(timings.map((t) => t.firstFrameMs))),
    firstFrameRenderMedianMs: r1(med(timings.map((t) => t.firstRenderMs))),
    zoomToExtensionAnswerDrawnMedianMs: r1(med(timings.map((t) => t.toAnswerMs))),
    answerFrameRenderMedianMs: r1(med(timings.map((t) => t.renderMs))),
    extensionViewMsFullRange: r1((performance.now() - tv) / 10),
    samplesToAnswerMs: timings.map((t) => Math.round(t.toAnswerMs)),
  };
  console.log(`# frame after a zoom: ${JSON.stringify(report)}`);
  fs.writeFileSync(path.join(RESULTS, 'zoom-frame-time.json'), JSON.stringify(report, null, 2));
  await page.locator('.charts').screenshot({ path: path.join(RESULTS, 'charts-zoomed-100k.png') });

  // Reset: the button, then 0 on the keyboard after another zoom.
  assert.equal(await page.locator('#btn-reset-loss').evaluate((b) => (b as HTMLElement & { disabled: boolean }).disabled), false);
  await page.locator('#btn-reset-loss').click();
  const full = await checkView('reset');
  assert.equal((await chartState('loss')).zoom, undefined);
  assert.equal(full.visibleMin, 0);
  await page.locator('#chart-loss').focus();
  await page.keyboard.press('+');
  await until('zoomed', async () => (await chartState('loss')).zoom);
  await page.keyboard.press('0');
  await until('reset by keyboard', async () => !(await chartState('loss')).zoom);
  assert.deepEqual(problems.errors, []);
});

test('smoothing: the debiased EMA of the full series over the faint raw line, whose spikes stay drawn', async () => {
  await page.locator('#chart-smoothing').focus();
  await page.locator('#chart-smoothing').fill('0.9');
  await until('smoothing applied', async () => (await chartState('loss')).settings.smoothing === 0.9);
  const s = await drawnByExtension('loss');
  assert.ok(s.smoothedDrawn[0] > 0, 'a smoothed line is drawn');
  const smoothed = await page.evaluate(() => {
    const app = (
      window as unknown as {
        growthLabMonitor: {
          app: { stepCharts: { spec: { id: string }; chart: { data: { datasets: { data: { x: number; y: number }[] }[] } } }[] };
        };
      }
    ).growthLabMonitor.app;
    return app.stepCharts.find((c) => c.spec.id === 'loss')!.chart.data.datasets[0].data;
  });
  const expected = emaSmooth(run.trainLoss, 0.9);
  for (const p of [smoothed[0], smoothed[Math.floor(smoothed.length / 2)], smoothed[smoothed.length - 1]]) {
    assert.equal(p.y, expected[p.x - 1], `smoothed value at step ${p.x}`);
  }
  await checkView('smoothing 0.9');
  assert.equal(await page.locator('#chart-smoothing-value').innerText(), '0.90');
  await page.locator('#chart-smoothing').fill('0');
  await until('smoothing off', async () => (await chartState('loss')).settings.smoothing === 0);
});

test('log-scale y and the x axis by epoch, wall time, parameters and FLOPs', async () => {
  await page.locator('#chart-log-y').click();
  await until('log y', async () => (await chartState('loss')).yType === 'logarithmic');
  await page.locator('#chart-log-y').click();
  await until('linear y', async () => (await chartState('loss')).yType !== 'logarithmic');
  for (const [axis, name] of [
    ['epoch', 'Epoch'],
    ['time', 'Wall time'],
    ['flops', 'FLOPs (estimate)'],
    ['params', 'Parameters'],
    ['step', 'Step'],
  ] as const) {
    await page.locator('#chart-x-axis').click();
    await page.locator('#chart-x-axis').getByRole('option', { name, exact: true }).click();
    await until(`x axis ${axis}`, async () => (await chartState('loss')).settings.xAxis === axis);
    const s = await drawnByExtension('loss');
    assert.deepEqual(
      s.datasets.map((d) => d.total),
      [N, N],
    );
    const last = ext.fromWebview.filter((m) => m.type === 'viewport' && m.chart === 'loss').pop() as { xAxis: string };
    assert.equal(last.xAxis, axis);
    if (axis !== 'params') assert.equal(s.markers.length, run.growSteps.length, `${axis}: every grow marker placed`);
    if (axis === 'time') assert.ok(Math.abs(s.xMax - ((N - 1) * 4) / 1000) < 1, `wall time in seconds (${s.xMax})`);
    if (axis === 'epoch') assert.ok(s.xMax > 66 && s.xMax < 68, `epochs (${s.xMax})`);
  }
});

test("export: PNG and SVG of the chart with its legend, CSV and JSON of the run's full series, saved by the extension", async () => {
  await page.locator('#btn-png-loss').click();
  await until('png saved', () => ext.saved.some((f) => f.defaultName.endsWith('.png')));
  const png = ext.saved.find((f) => f.defaultName.endsWith('.png'))!;
  assert.equal(png.defaultName, `${template.start.config.name}-loss.png`);
  const bytes = png.content as Uint8Array;
  assert.deepEqual([...bytes.slice(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG file');
  fs.writeFileSync(path.join(RESULTS, 'export-loss.png'), bytes);
  await until('saved notice', async () => /Saved the loss chart to/.test(await page.locator('#notice').innerText()));

  await page.locator('#btn-svg-loss').click();
  await until('svg saved', () => ext.saved.some((f) => f.defaultName.endsWith('.svg')));
  const svg = ext.saved.find((f) => f.defaultName.endsWith('.svg'))!.content as string;
  fs.writeFileSync(path.join(RESULTS, 'export-loss.svg'), svg);
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.doesNotMatch(svg, /<image|data:image/);
  const legend = svg.match(/<g class="legend">[\s\S]*?<\/g>/)![0];
  assert.deepEqual(
    [...legend.matchAll(/>([^<]+)<\/text>/g)].map((m) => m[1]),
    ['train loss', 'test loss'],
  );
  assert.equal(
    (svg.match(/<g class="markers"[\s\S]*?<\/g>/)![0].match(/<line/g) ?? []).length,
    run.growSteps.length,
    'grow markers in the SVG',
  );
  const s = await chartState('loss');
  const paths = svg.match(/<path d="[^"]+"/g) ?? [];
  assert.equal(paths.length, 2);
  assert.equal((paths[0].match(/[ML]/g) ?? []).length, s.datasets[0].drawn, 'the SVG line has the drawn points');

  await page.locator('#btn-export-csv').click();
  await until('csv saved', () => ext.saved.some((f) => f.defaultName.endsWith('.csv')));
  const csv = (ext.saved.find((f) => f.defaultName.endsWith('.csv'))!.content as string).split('\r\n');
  assert.equal(
    csv[0],
    'run_id,run_name,step,epoch,wall_time_s,params,flops_estimate,train_loss,test_loss,train_accuracy,test_accuracy,samples_per_second,learning_rate',
  );
  assert.equal(csv.length, N + 2, 'header, one row per metrics event, final line break');
  const m0 = run.events.find((e) => e.type === 'metrics') as RunEvent & { type: 'metrics' };
  assert.equal(csv[1].split(',').slice(0, 3).join(','), `${RUN},${template.start.config.name},1`);
  assert.equal(Number(csv[1].split(',')[7]), m0.trainLoss, 'values read back exactly');

  await page.locator('#btn-export-json').click();
  await until('json saved', () => ext.saved.some((f) => f.defaultName.endsWith('.json')));
  const json = JSON.parse(ext.saved.find((f) => f.defaultName.endsWith('.json'))!.content as string) as {
    runs: { runId: string; columns: Record<string, (number | null)[]>; growEvents: { step: number }[] }[];
  };
  assert.equal(json.runs.length, 1);
  assert.equal(json.runs[0].runId, RUN);
  assert.deepEqual(json.runs[0].columns.trainLoss, run.trainLoss);
  assert.deepEqual(
    json.runs[0].growEvents.map((g) => g.step),
    run.growSteps,
  );
  const exports = ext.fromWebview
    .filter((m) => m.type === 'exportSeries' || m.type === 'exportChart')
    .map((m) => (m.type === 'exportSeries' ? `${m.type}:${m.format}:${m.runIds.join()}` : `${m.type}:${m.format}:${m.chart}`));
  assert.deepEqual(exports, ['exportChart:png:loss', 'exportChart:svg:loss', `exportSeries:csv:${RUN}`, `exportSeries:json:${RUN}`]);
  assert.deepEqual(problems.errors, []);
});

test('live data: 10 updates per second re-ask the extension at most 4 times a second per chart; every point counted', async () => {
  await page.locator('#chart-x-axis').click();
  await page.locator('#chart-x-axis').getByRole('option', { name: 'Step', exact: true }).click();
  await drawnByExtension('loss');
  const before = await page.evaluate(() => {
    const app = (window as unknown as { growthLabMonitor: { app: { stats: { renders: number } } } }).growthLabMonitor.app;
    return app.stats.renders;
  });
  const requestsBefore = ext.fromWebview.filter((m) => m.type === 'viewport').length;
  const t0 = Date.now();
  let step = N;
  for (let k = 0; k < 30; k++) {
    for (let j = 0; j < 10; j++) {
      step++;
      ext.controller.onRunEvent({
        type: 'metrics',
        time: new Date().toISOString(),
        runId: RUN,
        epoch: 68,
        step,
        trainLoss: 0.3,
        testLoss: 0.35,
        trainAccuracy: 0.9,
        testAccuracy: 0.88,
        params: 24000,
        samplesPerSecond: 2000,
        engine: 'onnxruntime',
        executionProvider: 'cpu',
        elapsedMs: step * 4,
      } as RunEvent);
    }
    await new Promise((r) => setTimeout(r, 100)); // the scenario's rate (10 updates per second), not a wait
  }
  const seconds = (Date.now() - t0) / 1000;
  const s = await until('every live point drawn', async () => {
    const st = await drawnByExtension('loss');
    return st.datasets[0].total === N + 300 ? st : undefined;
  });
  assert.deepEqual(
    s.datasets.map((d) => d.total),
    [N + 300, N + 300],
  );
  assert.equal(s.badge, `${en(s.datasets[0].drawn + s.datasets[1].drawn)} of ${en(2 * (N + 300))} points`);
  const requests = ext.fromWebview.filter((m) => m.type === 'viewport').length - requestsBefore;
  assert.ok(requests <= 5 * (Math.ceil(seconds / 0.25) + 2), `${requests} viewport requests in ${seconds.toFixed(1)} s for 5 charts`);
  const perf = await page.evaluate((r0) => {
    const app = (window as unknown as { growthLabMonitor: { app: { stats: { renders: number; renderMs: number[] } } } }).growthLabMonitor
      .app;
    const live = app.stats.renderMs.slice(-(app.stats.renders - r0));
    const sorted = [...live].sort((a, b) => a - b);
    return {
      renders: live.length,
      renderMedianMs: sorted[Math.floor(sorted.length / 2)],
      renderP95Ms: sorted[Math.floor(sorted.length * 0.95)],
    };
  }, before);
  console.log(
    `# live, 300 points at 10 updates/s on 100,000 per series: ${JSON.stringify({ ...perf, viewportRequests: requests, seconds })}`,
  );
  assert.deepEqual(problems.errors, []);
});

test('export data takes every selected run: the shown one and the runs overlaid in Compare runs', async () => {
  await page.locator(`#compare-run-${BASELINE}`).click();
  await until('compare selection', () => ext.fromWebview.some((m) => m.type === 'compareRuns' && m.runIds.includes(BASELINE)));
  await ext.settle();
  const n = ext.saved.length;
  await page.locator('#btn-export-csv').click();
  await until('csv saved', () => ext.saved.length > n);
  const file = ext.saved[ext.saved.length - 1];
  assert.equal(file.defaultName, '2-runs-series.csv');
  const rows = (file.content as string).split('\r\n').slice(1, -1);
  const baselineMetrics = baseline.filter((e) => e.type === 'metrics').length;
  assert.equal(rows.filter((r) => r.startsWith(`${RUN},`)).length, N + 300, 'the shown run, live points included');
  assert.equal(rows.filter((r) => r.startsWith(`${BASELINE},`)).length, baselineMetrics, 'the overlaid run, read with getRunHistory');
  const last = ext.fromWebview.filter((m) => m.type === 'exportSeries').pop();
  assert.deepEqual(last, { type: 'exportSeries', format: 'csv', runIds: [RUN, BASELINE] });
  assert.deepEqual(problems.errors, []);
});
