/**
 * The monitor as a VS Code citizen, in real headless Chromium (same harness as monitor.test.ts: the
 * built bundle under the real CSP, the real MonitorController, a fake backend answering from
 * recorded runs): theme switches re-colour the charts and the architecture view with the new
 * variables' exact values; every chart has a summarising aria-label and a Table view; every control
 * is reachable with Tab; a hidden webview misses no event; "Compare runs" draws overlaid runs in the
 * colours the user fixed, and mean ± std bands when grouped.
 *
 * Run: npm run build --silent && node --import tsx --test test/webview/citizen.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'path';
import type { Browser, Page } from 'playwright-core';
import { MonitorController, type MonitorHost } from '../../extension/monitorController';
import type { StateStore } from '../../extension/compareRuns';
import type { RequestTypes, RunEvent, RunStatus, RunSummary } from '../../common/protocol';
import { stepChartA11yData, summarizeChart } from '../../webview/chartSummary';
import { RunModel } from '../../common/monitor/runModel';
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
import { THEMES, type TestTheme } from './themes';
import { historyPage } from '../helpers/historyPage';

const grown = readEvents('grown-run');
const baseline = readEvents('baseline-run');
const GROWN = grown[0].runId;
const BASELINE = baseline[0].runId;
const theme = (n: TestTheme['name']) => THEMES.find((t) => t.name === n)!;

/** A copy of `events` as another run (another seed of the same experiment): losses scaled by `f`. */
function variant(events: RunEvent[], runId: string, f: number): RunEvent[] {
  return events.map((e) => {
    const c = JSON.parse(JSON.stringify(e)) as RunEvent;
    (c as { runId: string }).runId = runId;
    if (c.type === 'metrics') c.trainLoss *= f;
    if (c.type === 'start') c.config = { ...c.config, seed: c.config.seed + 1 };
    return c;
  });
}
const GROWN2 = `${GROWN.slice(0, -4)}beef`;
const grown2 = variant(grown, GROWN2, 1.5);

function summaryOf(events: RunEvent[]): RunSummary {
  const start = events.find((e) => e.type === 'start') as RunEvent & { type: 'start' };
  const statuses = events.filter((e) => e.type === 'status') as (RunEvent & { type: 'status' })[];
  return {
    runId: start.runId,
    name: start.config.name,
    status: statuses[statuses.length - 1].status,
    dataset: start.config.dataset.name,
    engine: start.config.engine,
    executionProvider: start.config.executionProvider,
    startedAt: start.time,
    epochs: start.config.training.epochs,
    epochsDone: 0,
    params: 0,
    growSteps: events.filter((e) => e.type === 'grow').length,
  };
}

class Memento implements StateStore {
  readonly data = new Map<string, string>();
  get(key: string): unknown {
    const v = this.data.get(key);
    return v === undefined ? undefined : JSON.parse(v);
  }
  update(key: string, value: unknown): Promise<void> {
    this.data.set(key, JSON.stringify(value));
    return Promise.resolve();
  }
}

class FakeExtension extends ExtensionBridge {
  readonly histories = new Map<string, RunEvent[]>();
  readonly memento = new Memento();

  constructor() {
    super();
    this.controller = this.newController();
  }

  newController(): MonitorController {
    const host: MonitorHost = {
      post: (msg) => this.post(msg),
      request: async <M extends keyof RequestTypes>(method: M, params: RequestTypes[M][0]): Promise<RequestTypes[M][1]> => {
        const runId = (params as { runId?: string } | undefined)?.runId;
        if (method === 'growthLab/listRuns') return [...this.histories.values()].map(summaryOf) as never;
        if (method === 'growthLab/getRunHistory') {
          const h = this.histories.get(runId!);
          if (!h) throw new Error(`unknown run ${runId}`);
          return historyPage(h, params) as never;
        }
        return { ok: true } as never;
      },
      startExperiment: async () => undefined,
      growthMethods: () => ['firefly', 'splitting'],
      activeRunId: () => undefined,
      notify: () => undefined,
      log: () => undefined,
      errorText: (err) => String((err as Error)?.message ?? err),
      workspaceState: this.memento,
    };
    return new MonitorController(host, GROWN);
  }

  /**
   * At least three rounds, and until a round in which neither side posted a message: answers to the
   * page's requests post more messages after the first ones land.
   */
  override async settle(page: Page = this.page): Promise<void> {
    let rounds = 0;
    await until('the page and the extension to stop exchanging messages', async () => {
      const before = this.posted + this.fromWebview.length;
      await super.settle(page);
      return ++rounds >= 3 && this.posted + this.fromWebview.length === before;
    });
  }
}

let browser: Browser;
let server: Served;
let ext: FakeExtension;
let page: Page;
let problems: PageProblems;

type App = {
  stepCharts: { spec: { id: string }; chart: ChartLike }[];
  comparisonChart: { chart: ChartLike };
  scoresChart: { chart: { data: { datasets: { backgroundColor: unknown }[] } } };
  compareView: {
    chart: ChartLike;
    inspect(): { label: string; color: string; colorName: string; points: number; band?: string; runId?: string }[];
  };
  inspect(): { runId?: string; accepted: number; duplicates: number; markers: unknown[] };
  chartPanel: { inspect(): { settings: { xAxis: string; smoothing: number; logY: boolean } } };
};
type ChartLike = {
  data: { datasets: { label?: string; borderColor: unknown; data: unknown[] }[] };
  options: { scales: Record<string, { ticks: { color: unknown }; grid: { color: unknown }; title: { color: unknown } }> };
};

const app = <T>(f: (a: App) => T): Promise<T> => page.evaluate(`(${f.toString()})(window.growthLabMonitor.app)`) as Promise<T>;

/** "#rrggbb" or "#rrggbbaa" → what getComputedStyle gives for it. */
function cssRgb(hex: string): string {
  const h = hex.slice(1);
  const [r, g, b] = [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16));
  if (h.length === 8) {
    const a = parseInt(h.slice(6, 8), 16) / 255;
    return `rgba(${r}, ${g}, ${b}, ${+a.toFixed(2)})`;
  }
  return `rgb(${r}, ${g}, ${b})`;
}
const normalizeRgb = (c: string) =>
  c.replace(/rgba\((\d+), (\d+), (\d+), ([\d.]+)\)/, (_m, r, g, b, a) => `rgba(${r}, ${g}, ${b}, ${+Number(a).toFixed(2)})`);

before(async () => {
  ({ server, browser } = await startBrowser());
  ext = new FakeExtension();
  ext.histories.set(GROWN, grown.slice());
  ext.histories.set(BASELINE, baseline.slice());
  ext.histories.set(GROWN2, grown2.slice());
  ({ page, problems } = await openPage(browser, server.origin, theme('dark'), (m) => ext.onPosted(m)));
  ext.page = page;
  await page.goto(`${server.origin}/`);
  await until('history drawn', async () => (await app((a) => a.inspect().runId)) === GROWN);
  await ext.settle();
});

after(async () => {
  await stopBrowser(browser, server);
});

test('Compare runs: two overlaid runs are drawn in the colours the user fixed, and the colours persist', async () => {
  await page.locator(`#compare-run-${BASELINE}`).click();
  await page.locator(`#compare-run-${GROWN}`).click();
  await until('two runs overlaid', async () => (await app((a) => a.compareView.inspect())).length === 2);
  assert.deepEqual(ext.fromWebview.filter((m) => m.type === 'compareRuns').pop(), { type: 'compareRuns', runIds: [BASELINE, GROWN] });
  // Auto colours until the user fixes one: the theme's first chart colours.
  const dark = theme('dark').vars;
  let drawn = await app((a) => a.compareView.inspect());
  assert.deepEqual(
    drawn.map((d) => [d.runId, d.color]),
    [
      [BASELINE, dark['--vscode-charts-blue']],
      [GROWN, dark['--vscode-charts-orange']],
    ],
  );
  // The user picks purple for the baseline and yellow for the grown run (the colour pickers).
  for (const [runId, color] of [
    [BASELINE, 'purple'],
    [GROWN, 'yellow'],
  ] as const) {
    await page.evaluate(
      ({ id, c }) => {
        const s = document.getElementById(id) as HTMLElement & { value: string };
        s.value = c;
        s.dispatchEvent(new Event('change', { bubbles: true }));
      },
      { id: `compare-color-${runId}`, c: color },
    );
  }
  await ext.settle();
  drawn = await app((a) => a.compareView.inspect());
  assert.deepEqual(
    drawn.map((d) => [d.runId, d.color]),
    [
      [BASELINE, dark['--vscode-charts-purple']],
      [GROWN, dark['--vscode-charts-yellow']],
    ],
  );
  const baselineLosses = baseline.filter((e) => e.type === 'metrics').length;
  assert.equal(drawn[0].points, baselineLosses, 'every train-loss point of the baseline');
  assert.deepEqual(ext.memento.get('growthLab.monitor.compare'), {
    selected: [BASELINE, GROWN],
    colors: { [BASELINE]: 'purple', [GROWN]: 'yellow' },
  });
  // The swatch next to each run shows its colour (CSS from the same variable).
  const swatch = await page.evaluate(
    (id) => getComputedStyle(document.querySelector(`li[data-run-id="${id}"] .swatch`)!).backgroundColor,
    BASELINE,
  );
  assert.equal(swatch, cssRgb(dark['--vscode-charts-purple']));
  // A new controller (window reload) and a reloaded page: the same runs in the same colours.
  ext.controller.dispose();
  ext.controller = ext.newController();
  await page.reload();
  await until('compare restored', async () => (await app((a) => a.compareView.inspect())).length === 2);
  drawn = await app((a) => a.compareView.inspect());
  assert.deepEqual(
    drawn.map((d) => [d.runId, d.colorName, d.color]),
    [
      [BASELINE, 'purple', dark['--vscode-charts-purple']],
      [GROWN, 'yellow', dark['--vscode-charts-yellow']],
    ],
  );
  await page.locator('section.compare-section').screenshot({ path: path.join(RESULTS, 'compare-runs.png') });
});

test("Compare runs: grouped by a config field, each group is its mean line with a ± std band in its first run's colour", async () => {
  await page.locator(`#compare-run-${GROWN2}`).click();
  await until('three runs', async () => (await app((a) => a.compareView.inspect())).length === 3);
  await page.evaluate(() => {
    const s = document.getElementById('compare-group') as HTMLElement & { value: string };
    s.value = '=name';
    s.dispatchEvent(new Event('change', { bubbles: true }));
  });
  await frames(page, 2);
  const drawn = await app((a) => a.compareView.inspect());
  const dark = theme('dark').vars;
  // fashion-baseline: one run; fashion-grown: the grown run and its variant (seed + 1, losses × 1.5).
  assert.deepEqual(
    drawn.map((d) => [d.label, d.band ?? 'mean', d.colorName]),
    [
      ['name = fashion-baseline + std', 'upper', 'purple'],
      ['name = fashion-baseline − std', 'lower', 'purple'],
      ['name = fashion-baseline (mean of 1 run)', 'mean', 'purple'],
      ['name = fashion-grown + std', 'upper', 'yellow'],
      ['name = fashion-grown − std', 'lower', 'yellow'],
      ['name = fashion-grown (mean of 2 runs)', 'mean', 'yellow'],
    ],
  );
  assert.equal(drawn[5].color, dark['--vscode-charts-yellow']);
  // At the grown run's first step: mean of x and 1.5x = 1.25x, sample std of {x, 1.5x} = 0.5x / √2.
  const first = grown.find((e) => e.type === 'metrics') as RunEvent & { type: 'metrics' };
  const pts = await app((a) => a.compareView.chart.data.datasets.slice(3).map((d) => d.data[0] as { x: number; y: number }));
  const x = first.trainLoss;
  assert.equal(pts[2].x, first.step);
  assert.ok(Math.abs(pts[2].y - 1.25 * x) < 1e-12, `${pts[2].y} vs ${1.25 * x}`);
  assert.ok(Math.abs(pts[0].y - (1.25 * x + (0.5 * x) / Math.SQRT2)) < 1e-12);
  assert.ok(Math.abs(pts[1].y - (1.25 * x - (0.5 * x) / Math.SQRT2)) < 1e-12);
  await page.locator('section.compare-section').screenshot({ path: path.join(RESULTS, 'compare-runs-bands.png') });
  await page.evaluate(() => {
    const s = document.getElementById('compare-group') as HTMLElement & { value: string };
    s.value = '';
    s.dispatchEvent(new Event('change', { bubbles: true }));
  });
  await frames(page, 2);
});

test('theme switches re-colour the charts, the compare chart and the architecture view with the new variables', async () => {
  for (const name of ['light', 'high-contrast', 'dark'] as const) {
    const t = theme(name);
    await setTheme(page, t);
    await ext.settle();
    const v = t.vars;
    const charts = await app((a) =>
      a.stepCharts.map((c) => ({
        id: c.spec.id,
        datasets: c.chart.data.datasets.map((d) => d.borderColor),
        ticks: [c.chart.options.scales.x.ticks.color, c.chart.options.scales.y.ticks.color],
        grid: c.chart.options.scales.y.grid.color,
        title: c.chart.options.scales.y.title.color,
      })),
    );
    const expected: Record<string, string[]> = {
      loss: [v['--vscode-charts-blue'], v['--vscode-charts-orange']],
      accuracy: [v['--vscode-charts-blue'], v['--vscode-charts-orange']],
      params: [v['--vscode-charts-purple']],
      throughput: [v['--vscode-charts-yellow']],
    };
    for (const c of charts) {
      if (expected[c.id]) assert.deepEqual(c.datasets.slice(0, expected[c.id].length), expected[c.id], `${name}: ${c.id} datasets`);
      assert.deepEqual(c.ticks, [v['--vscode-foreground'], v['--vscode-foreground']], `${name}: ${c.id} ticks`);
      assert.equal(c.title, v['--vscode-descriptionForeground']);
      if (name === 'high-contrast') assert.equal(c.grid, v['--vscode-contrastBorder'], 'high contrast: grid in the contrast border colour');
    }
    const compare = await app((a) => ({
      colors: a.compareView.inspect().map((d) => d.color),
      ticks: a.compareView.chart.options.scales.x.ticks.color,
    }));
    assert.deepEqual(
      compare.colors,
      [v['--vscode-charts-purple'], v['--vscode-charts-yellow'], v['--vscode-charts-blue']],
      `${name}: compare chart`,
    );
    assert.equal(compare.ticks, v['--vscode-foreground']);
    const comparison = await app((a) => a.comparisonChart.chart.options.scales.y.ticks.color);
    assert.equal(comparison, v['--vscode-foreground']);
    const scores = await app((a) => a.scoresChart.chart.data.datasets.map((d) => d.backgroundColor));
    assert.equal(scores[0], v['--vscode-charts-green'], `${name}: selected candidates' bars`);
    // Architecture view: the latest grow event's kept / split / new neurons.
    const arch = await page.evaluate(() => {
      const fill = (sel: string) => {
        const el = document.querySelector(sel);
        return el ? getComputedStyle(el).fill : undefined;
      };
      return {
        kept: fill('svg.arch .neuron.kept'),
        split: fill('svg.arch .neuron.split'),
        new: fill('svg.arch .neuron.new'),
        link: (() => {
          const el = document.querySelector('svg.arch .split-link');
          return el ? getComputedStyle(el).stroke : undefined;
        })(),
      };
    });
    if (arch.kept) assert.equal(normalizeRgb(arch.kept), cssRgb(v['--vscode-descriptionForeground']), `${name}: kept neurons`);
    if (arch.split) assert.equal(arch.split, cssRgb(v['--vscode-charts-orange']), `${name}: split neurons`);
    if (arch.new) assert.equal(arch.new, cssRgb(v['--vscode-charts-green']), `${name}: new neurons`);
    if (arch.link) assert.equal(arch.link, cssRgb(v['--vscode-charts-orange']), `${name}: split links`);
    assert.ok(arch.kept && (arch.split || arch.new), `${name}: the architecture view shows the grow event`);
  }
});

test('every chart has role="img" and an aria-label summarising its data; the Table toggle shows the same data', async () => {
  const model = new RunModel(GROWN);
  model.addAll(grown);
  const labels = await page.evaluate(() =>
    Object.fromEntries(
      Array.from(document.querySelectorAll('canvas')).map((c) => [
        c.id,
        { role: c.getAttribute('role'), label: c.getAttribute('aria-label') },
      ]),
    ),
  );
  const specs = (await app((a) => a.stepCharts.map((c) => c.spec))) as unknown as Parameters<typeof stepChartA11yData>[0][];
  assert.equal(specs.length, 5);
  for (const spec of specs as (Parameters<typeof stepChartA11yData>[0] & { id: string })[]) {
    const d = stepChartA11yData(spec, model.series, model.grows);
    assert.equal(labels[`chart-${spec.id}`].role, 'img');
    assert.equal(labels[`chart-${spec.id}`].label, summarizeChart(d.title, d.series, d.options));
  }
  console.log(`# loss chart aria-label: ${labels['chart-loss'].label}`);
  console.log(`# scores chart aria-label: ${labels['chart-scores'].label}`);
  const grows = model.grows.filter((g) => g.kind !== 'prune').length;
  assert.match(
    labels['chart-loss'].label!,
    new RegExp(
      `^Loss: train loss [\\d.]+ → [\\d.]+ .*over [\\d,]+ steps, ${model.series.trainLoss.length} points; test loss .*; ${grows} grow events`,
    ),
  );
  for (const [id, v] of Object.entries(labels) as [string, { role: string | null; label: string | null }][]) {
    assert.equal(v.role, 'img', id);
    assert.ok(v.label && v.label.length > 10, `${id} has a label`);
  }
  // Charts drawn by other views are described from what they draw: the candidates' scores by bar.
  assert.match(labels['chart-scores'].label!, /^Candidate scores: selected \d+ bars?, .*; best rejected /);
  assert.match(labels['chart-layer-width'].label!, /^Width per layer[^:]*: .*→/);
  // Table view of the loss chart.
  const toggle = page.locator('#table-toggle-loss');
  assert.equal(await toggle.getAttribute('aria-pressed'), 'false');
  assert.equal(await page.locator('#table-loss').isHidden(), true);
  await toggle.focus();
  await page.keyboard.press('Enter');
  await frames(page, 1);
  assert.equal(await toggle.getAttribute('aria-pressed'), 'true');
  const table = await page.evaluate(() => {
    const t = document.querySelector('#table-loss table')!;
    return {
      caption: t.querySelector('caption')!.textContent,
      head: Array.from(t.querySelectorAll('thead th')).map((th) => [th.textContent, th.getAttribute('scope')]),
      rows: Array.from(t.querySelectorAll('tbody tr')).map((tr) => Array.from(tr.children).map((c) => c.textContent)),
    };
  });
  assert.deepEqual(table.head, [
    ['step', 'col'],
    ['train loss', 'col'],
    ['test loss', 'col'],
  ]);
  const steps = new Set([...model.series.trainLoss.xs, ...model.series.testLoss.xs]);
  assert.equal(table.rows.length, steps.size, 'one row per step (fewer than 200)');
  assert.match(table.caption!, new RegExp(`all ${steps.size} rows`));
  const firstStep = Math.min(...steps);
  assert.equal(table.rows[0][0], firstStep.toLocaleString('en-US'));
  assert.equal(table.rows[0][1], Number(model.series.trainLoss.ys[0].toPrecision(3)).toLocaleString('en-US', { maximumFractionDigits: 6 }));
  await page.locator('figure.chart:has(#chart-loss)').screenshot({ path: path.join(RESULTS, 'chart-table.png') });
  await page.keyboard.press('Enter');
  await frames(page, 1);
  assert.equal(await page.locator('#table-loss').isHidden(), true);
});

test('every enabled control is reachable with Tab', async () => {
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  await page.locator('body').click({ position: { x: 2, y: 2 } });
  const reached = new Set<string>();
  for (let i = 0; i < 250; i++) {
    await page.keyboard.press('Tab');
    const id = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      return el ? el.id || `${el.tagName.toLowerCase()}.${el.className}` : '';
    });
    reached.add(id);
  }
  const expected = await page.evaluate(() => {
    const sel = 'vscode-button, vscode-single-select, vscode-checkbox, vscode-textfield, button, input, select, [tabindex="0"]';
    return Array.from(document.querySelectorAll<HTMLElement & { disabled?: boolean }>(sel))
      .filter((e) => !e.disabled && !e.closest('[hidden]') && e.offsetParent !== null && !e.closest('vscode-single-select, #tip'))
      .map((e) => e.id || `${e.tagName.toLowerCase()}.${e.className}`);
  });
  const missing = expected.filter((id) => !reached.has(id));
  assert.deepEqual(missing, [], 'controls Tab never reached');
  console.log(`# Tab reached all ${expected.length} enabled controls`);
  for (const id of [
    'run-select',
    'btn-start',
    'btn-export',
    'table-toggle-loss',
    'table-toggle-scores',
    'table-toggle-layer-width',
    'table-toggle-compare',
    'compare-metric',
    'compare-group',
    `compare-run-${BASELINE}`,
    `compare-color-${BASELINE}`,
  ]) {
    assert.ok(reached.has(id), `${id} reachable (${expected.length} controls checked)`);
  }
});

test('Compare runs works from the keyboard: Space ticks a run, the colour picker opens with Enter and picks with the arrows', async () => {
  const n = ext.fromWebview.length;
  await page.locator(`#compare-run-${GROWN2}`).focus();
  await page.keyboard.press('Space'); // untick the variant
  await until('compareRuns posted', () => ext.fromWebview.slice(n).find((m) => m.type === 'compareRuns'));
  assert.deepEqual(
    ext.fromWebview.slice(n).find((m) => m.type === 'compareRuns'),
    { type: 'compareRuns', runIds: [BASELINE, GROWN] },
  );
  await ext.settle();
  await page.locator(`#compare-color-${GROWN}`).focus();
  await page.keyboard.press('Enter');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  const posted = await until('setRunColor posted', () => ext.fromWebview.slice(n).find((m) => m.type === 'setRunColor'));
  assert.equal((posted as { runId: string }).runId, GROWN);
  await ext.settle();
  const color = (posted as { color: string }).color;
  assert.equal(color, 'red', 'the option after yellow');
  const drawn = await app((a) => a.compareView.inspect());
  assert.equal(drawn.find((d) => d.runId === GROWN)?.color, theme('dark').vars[`--vscode-charts-${color}`]);
});

test('a hidden webview misses no event: events while hidden arrive after show, in order, none twice', async () => {
  // Stream a live run: the grown run's variant again as a new live run shown in the panel.
  const LIVE = `${GROWN.slice(0, -4)}1ive`;
  const live = variant(grown, LIVE, 1);
  const cut = live.findIndex((e) => e.type === 'grow') + 1;
  ext.histories.set(LIVE, live.slice(0, cut));
  await ext.controller.showRun(LIVE);
  await until('live run shown', async () => (await app((a) => a.inspect().runId)) === LIVE);
  await ext.settle();
  const s0 = await app((a) => a.inspect());
  ext.controller.setVisible(false);
  const hiddenPart = live.slice(cut, cut + 30);
  for (const e of hiddenPart) {
    ext.histories.get(LIVE)!.push(e);
    ext.controller.onRunEvent(e);
  }
  await ext.settle();
  const s1 = await app((a) => a.inspect());
  assert.equal(s1.accepted, s0.accepted, 'nothing reached the hidden page');
  ext.controller.setVisible(true);
  for (const e of live.slice(cut + 30)) {
    ext.histories.get(LIVE)!.push(e);
    ext.controller.onRunEvent(e);
  }
  await ext.settle();
  const s2 = await app((a) => a.inspect());
  const model = new RunModel(LIVE);
  model.addAll(live);
  assert.equal(s2.accepted, model.accepted, 'every event of the run, after show');
  assert.equal(s2.duplicates, s0.duplicates, 'none twice');
  assert.equal(s2.markers.length, model.grows.length);
  assert.deepEqual(problems.errors, []);
});

test('a page VS Code reloads on show restores its view settings from getState (tables, Compare runs metric and grouping, chart toolbar)', async () => {
  await page.locator('#table-toggle-accuracy').click();
  await page.locator('#chart-smoothing').fill('0.5');
  await page.locator('#chart-log-y').click();
  await page.evaluate(() => {
    const set = (id: string, v: string) => {
      const s = document.getElementById(id) as HTMLElement & { value: string };
      s.value = v;
      s.dispatchEvent(new Event('change', { bubbles: true }));
    };
    set('compare-metric', 'testAccuracy');
    set('compare-group', '=name');
  });
  await frames(page, 2);
  const state = await page.evaluate(() => JSON.parse(sessionStorage.getItem('vscode-webview-state')!));
  assert.deepEqual(state.ui, {
    tables: ['accuracy'],
    compareMetric: 'testAccuracy',
    compareGroup: '=name',
    compareRegex: '',
    chartXAxis: 'step',
    smoothing: 0.5,
    logY: true,
  });
  const readies = ext.fromWebview.filter((m) => m.type === 'ready').length;
  await page.reload();
  await until('ready again', () => ext.fromWebview.filter((m) => m.type === 'ready').length === readies + 1);
  assert.deepEqual(
    Object.keys((ext.fromWebview.filter((m) => m.type === 'ready').pop() as { state: object }).state),
    ['runId'],
    'the view settings stay in the page',
  );
  await until('compare restored', async () => (await app((a) => a.compareView.inspect())).length > 0);
  await ext.settle();
  assert.equal(await page.locator('#table-accuracy').isHidden(), false, 'the accuracy table is shown again');
  assert.equal(await page.locator('#table-toggle-accuracy').getAttribute('aria-pressed'), 'true');
  assert.ok((await page.locator('#table-accuracy table tbody tr').count()) > 0);
  const labels = (await app((a) => a.compareView.inspect())).map((d) => d.label);
  assert.ok(
    labels.some((l) => /^name = .*\(mean of/.test(l)),
    labels.join(' | '),
  );
  assert.match((await page.locator('#chart-compare').getAttribute('aria-label'))!, /^Runs compared, test accuracy: /);
  // The toolbar as it was left: smoothing 0.5 and a logarithmic y axis, applied to the charts.
  assert.deepEqual((await app((a) => a.chartPanel.inspect())).settings, { xAxis: 'step', smoothing: 0.5, logY: true });
  assert.equal(await page.locator('#chart-smoothing-value').innerText(), '0.50');
  assert.equal(await page.locator('#chart-smoothing').inputValue(), '0.5');
  assert.equal(await app((a) => (a.stepCharts[0].chart.options.scales.y as unknown as { type: string }).type), 'logarithmic');
  await page.locator('#chart-smoothing').fill('0');
  await page.locator('#chart-log-y').click();
  assert.deepEqual((await app((a) => a.chartPanel.inspect())).settings, { xAxis: 'step', smoothing: 0, logY: false });
  assert.deepEqual(problems.errors, []);
});
