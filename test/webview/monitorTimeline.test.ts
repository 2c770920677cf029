/**
 * The architecture timeline and layer details in real headless Chromium: the built bundle on the
 * extension's page (strict CSP), the real MonitorController with a fake backend answering from a run
 * recorded from the real backend (fixtures/grown-run.jsonl: an MLP 24-12 grown and pruned six times).
 * The scrubber is moved with the keyboard and the pointer; the widths the architecture view shows,
 * the per-layer charts and the layer details (clicked, or Enter/Space on a focused layer) are checked
 * against exact values.
 *
 * Run: npm run build --silent && node --import tsx --test test/webview/monitorTimeline.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'path';
import type { Browser, Page } from 'playwright-core';
import type { RunEvent, RunSummary } from '../../common/protocol';
import { until, frames, openRecordedRun, readEvents, RESULTS, type PageProblems, type Served, startBrowser, stopBrowser } from './harness';
import { THEMES } from './themes';

const events = readEvents('grown-run');
const RUN = events[0].runId;
const grows = events.filter((e): e is RunEvent & { type: 'grow' } => e.type === 'grow');
const lastStep = Math.max(...events.filter((e) => e.type === 'metrics').map((e) => (e as { step: number }).step));

/** Widths per layer (in network order) at the start and after each grow event of the recorded run. */
const EXPECTED: { step: number; label: string; widths: [string, number][]; shown: string[] }[] = [
  {
    step: 0,
    label: 'start',
    widths: [
      ['dense_1', 24],
      ['dense_2', 12],
      ['output', 10],
    ],
    shown: ['24', '12', '10'],
  },
  {
    step: 3092,
    label: 'step 3092 · grow splitting',
    widths: [
      ['dense_1', 30],
      ['dense_2', 12],
      ['output', 10],
    ],
    shown: ['24 → 30', '12', '10'],
  },
  {
    step: 4579,
    label: 'step 4579 · grow net2net-wider',
    widths: [
      ['dense_1', 30],
      ['dense_2', 16],
      ['output', 10],
    ],
    shown: ['30', '12 → 16', '10'],
  },
  {
    step: 6225,
    label: 'step 6225 · grow net2net-deeper',
    widths: [
      ['dense_1', 30],
      ['dense_2', 16],
      ['residual_1', 16],
      ['output', 10],
    ],
    shown: ['30', '16', '16', '10'],
  },
  {
    step: 7708,
    label: 'step 7708 · prune prune-taylor',
    widths: [
      ['dense_1', 25],
      ['dense_2', 11],
      ['residual_1', 16],
      ['output', 10],
    ],
    shown: ['30 → 25', '16 → 11', '16', '10'],
  },
  {
    step: 9157,
    label: 'step 9157 · grow gauss-newton',
    widths: [
      ['dense_1', 24],
      ['dense_2', 13],
      ['residual_1', 16],
      ['output', 10],
    ],
    shown: ['25 → 24', '11 → 13', '16', '10'],
  },
  {
    step: 10668,
    label: 'step 10668 · grow random-split-new',
    widths: [
      ['dense_1', 26],
      ['dense_2', 15],
      ['residual_1', 16],
      ['output', 10],
    ],
    shown: ['24 → 26', '13 → 15', '16', '10'],
  },
];

function summary(): RunSummary {
  const start = events.find((e) => e.type === 'start') as RunEvent & { type: 'start' };
  return {
    runId: RUN,
    name: start.config.name,
    status: 'completed',
    dataset: start.config.dataset.name,
    startedAt: start.time,
    epochs: start.config.training.epochs,
    epochsDone: start.config.training.epochs,
    params: grows[grows.length - 1].after.params,
    growSteps: grows.length,
  } as RunSummary;
}

let browser: Browser;
let server: Served;
let page: Page;
let problems: PageProblems;
let settle: () => Promise<void>;

type Timeline = {
  positions: number;
  position: number;
  step?: number;
  label?: string;
  widths: Record<string, number>;
  widthChart: { label: string; points: [number, number | null][] }[];
  paramsChart: { label: string; points: [number, number | null][] }[];
};
const timeline = (): Promise<Timeline> =>
  page.evaluate(
    () => (window as unknown as { growthLabMonitor: { inspect(): { timeline: unknown } } }).growthLabMonitor.inspect().timeline,
  ) as Promise<Timeline>;

/** What the architecture view shows: each layer's id, data-width and the width label under it. */
async function shownLayers(): Promise<{ id: string; width: string; label: string }[]> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll('#arch svg g.layer')).map((g) => ({
      id: g.getAttribute('data-layer')!,
      width: g.getAttribute('data-width')!,
      label: g.querySelectorAll('text.layer-sub')[0]?.textContent ?? '',
    })),
  );
}

async function detail(): Promise<Record<string, string>> {
  return page.evaluate(() =>
    Object.fromEntries(
      Array.from(document.querySelectorAll('#layer-detail dd[data-field]')).map((dd) => [
        (dd as HTMLElement).dataset.field!,
        dd.textContent ?? '',
      ]),
    ),
  );
}

before(async () => {
  ({ server, browser } = await startBrowser());
  ({ page, problems, settle } = await openRecordedRun(
    browser,
    server.origin,
    THEMES.find((t) => t.name === 'dark')!,
    events,
    summary(),
    ['splitting'],
  ));
  await until('the run with its seven timeline positions', async () => (await timeline())?.positions === 7);
  await settle();
  await frames(page, 2);
});

after(async () => {
  await stopBrowser(browser, server);
});

test('the scrubber follows the latest grow event and has a label per position', async () => {
  const t = await timeline();
  assert.equal(t.position, 6);
  assert.equal(t.label, EXPECTED[6].label);
  const input = page.locator('#arch-scrubber');
  assert.equal(await input.getAttribute('max'), '6');
  assert.equal(await input.inputValue(), '6');
  assert.equal(await input.getAttribute('aria-valuetext'), 'step 10668 · grow random-split-new (7 of 7)');
  assert.equal(await page.locator('label[for="arch-scrubber"]').innerText(), 'Architecture at');
  assert.deepEqual(await page.locator('#arch-ticks .tick').allInnerTexts(), ['start', '3092', '4579', '6225', '7708', '9157', '10668']);
});

test('scrubbing with the keyboard to each grow event shows the exact layer widths', async () => {
  const input = page.locator('#arch-scrubber');
  await input.focus();
  await page.keyboard.press('Home');
  for (let k = 0; k < EXPECTED.length; k++) {
    if (k > 0) await page.keyboard.press('ArrowRight');
    await frames(page, 2);
    const e = EXPECTED[k];
    const t = await timeline();
    assert.equal(t.position, k);
    assert.equal(t.step, e.step);
    assert.deepEqual(t.widths, Object.fromEntries(e.widths), `position ${k}`);
    const shown = await shownLayers();
    assert.deepEqual(
      shown.map((l) => [l.id, Number(l.width)]),
      e.widths,
      `position ${k}: layers drawn`,
    );
    assert.deepEqual(
      shown.map((l) => l.label),
      e.shown,
      `position ${k}: width labels`,
    );
    assert.equal(await page.locator('#arch-scrubber-value').innerText(), `${e.label} (${k + 1} of 7)`);
    assert.equal(await page.locator('#arch-ticks .tick.current').innerText(), k === 0 ? 'start' : String(e.step));
    if (k === 0) {
      assert.equal(await page.locator('#arch-title').innerText(), 'Architecture at the start of the run');
      assert.equal(await page.locator('#timeline button[aria-pressed="true"]').count(), 0);
    } else {
      assert.equal(
        await page.locator('#arch-title').innerText(),
        `Architecture after ${grows[k - 1].kind === 'prune' ? 'pruning' : 'growing'} with ${grows[k - 1].method} (step ${e.step})`,
      );
      // the grow events list and its detail follow the scrubber
      assert.equal(await page.locator('#timeline button[aria-pressed="true"]').getAttribute('data-index'), String(k - 1));
      assert.match(await page.locator('#detail-title').innerText(), new RegExp(`${grows[k - 1].method} at step ${e.step}`));
    }
    // the highlighted neurons are this event's: split and new counts of its diff
    const split = await page.locator('#arch rect.neuron.split').count();
    assert.equal(split, k === 0 ? 0 : grows[k - 1].diff.reduce((a, d) => a + (d.inserted ? 0 : d.split.length), 0));
  }
  await page.keyboard.press('ArrowRight');
  await frames(page, 2);
  assert.equal((await timeline()).position, 6, 'the last position stays the last');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'arch-scrubber', 'the scrubber keeps the focus');
});

test('the width and parameter charts: one line per layer against step, exact values', async () => {
  const t = await timeline();
  const end = (xs: [number, number | null][]) =>
    lastStep > 10668 ? [...xs, [lastStep, xs[xs.length - 1][1]] as [number, number | null]] : xs;
  const steps = EXPECTED.map((e) => e.step);
  const line = (ys: (number | null)[]) => end(steps.map((s, i) => [s, ys[i]] as [number, number | null]));
  assert.deepEqual(t.widthChart, [
    { label: 'dense_1', points: line([24, 30, 30, 30, 25, 24, 26]) },
    { label: 'dense_2', points: line([12, 12, 16, 16, 11, 13, 15]) },
    { label: 'residual_1', points: line([null, null, null, 16, 16, 16, 16]) },
    { label: 'output', points: line([10, 10, 10, 10, 10, 10, 10]) },
  ]);
  assert.deepEqual(
    t.paramsChart.map((d) => d.label),
    ['dense_1', 'dense_2', 'residual_1', 'output'],
  );
  assert.deepEqual(
    t.paramsChart[0].points.slice(0, 7).map((p) => p[1]),
    [18840, 23550, 23550, 23550, 19625, 18840, 20410],
  );
  assert.deepEqual(
    t.paramsChart[2].points.slice(0, 7).map((p) => p[1]),
    [null, null, null, 544, 379, 445, 511],
  );
  for (const id of ['chart-layer-width', 'chart-layer-params']) assert.equal(await page.locator(`#${id}`).getAttribute('role'), 'img');
  assert.equal(
    await page.locator('#chart-layer-width').getAttribute('aria-label'),
    'Width per layer against step: dense_1 24 → 26, dense_2 12 → 15, residual_1 16 → 16, output 10 → 10',
  );
  assert.equal(
    await page.locator('#chart-layer-params').getAttribute('aria-label'),
    'Parameters per layer against step: dense_1 18,840 → 20,410, dense_2 300 → 405, residual_1 544 → 511, output 130 → 160',
  );
  assert.equal(await page.locator('#arch svg').getAttribute('role'), 'group', 'the layers inside are buttons, not parts of an image');
});

test('clicking a tick label moves the scrubber there', async () => {
  await page.locator('#arch-ticks .tick', { hasText: '3092' }).click();
  await frames(page, 2);
  assert.equal((await timeline()).position, 1);
  assert.equal(await page.locator('#arch-scrubber').inputValue(), '1');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'arch-scrubber');
});

test('clicking a layer shows its type, shapes, parameters, share, FLOPs and where its neurons came from', async () => {
  // at step 3092 (splitting): dense_1 went 24 → 30 by splitting six neurons
  await page.locator('#arch g.layer[data-layer="dense_1"]').click();
  await frames(page, 2);
  assert.equal(await page.locator('#layer-detail .layer-detail-title').innerText(), 'Layer dense_1');
  assert.deepEqual(await detail(), {
    type: 'dense · tanh',
    width: '30',
    inputShape: '1×28×28',
    outputShape: '30',
    params: '23,550 (97.9% of all)', // 784·30 + 30 of 24,052
    flops: '23,520 (98.0% of all)', // 784·30 of 24,000
    'origin-kept': '18: 0–10, 13–15, 17–18, 22–23',
    'origin-split': '12: #11 → 11, 24; #12 → 12, 25; #16 → 16, 26; #19 → 19, 27; #20 → 20, 28; #21 → 21, 29',
  });
  assert.equal(await page.locator('#arch g.layer.selected').getAttribute('data-layer'), 'dense_1');
  assert.equal(await page.locator('#arch g.layer[data-layer="dense_1"]').getAttribute('aria-pressed'), 'true');
  // the detail follows the scrubber: at the start dense_1 had 24 neurons and no grow event
  await page.locator('#arch-scrubber').focus();
  await page.keyboard.press('Home');
  await frames(page, 2);
  assert.deepEqual(await detail(), {
    type: 'dense · tanh',
    width: '24',
    inputShape: '1×28×28',
    outputShape: '24',
    params: '18,840 (97.8% of all)',
    flops: '18,816 (97.9% of all)',
  });
  // random-split-new (last position): dense_2 has a brand-new neuron #14 and #3 split
  await page.keyboard.press('End');
  await frames(page, 2);
  await page.locator('#arch g.layer[data-layer="dense_2"]').click();
  await frames(page, 2);
  assert.deepEqual(await detail(), {
    type: 'dense · tanh',
    width: '15',
    inputShape: '26',
    outputShape: '15',
    params: '405 (1.9% of all)',
    flops: '390 (1.8% of all)', // 26·15 + 15 of 21,486; 26·15 of 21,404
    'origin-kept': '12: 0–2, 4–12',
    'origin-split': '2: #3 → 3, 13',
    'origin-new': '1: 14',
  });
});

test('Enter and Space on a focused layer show its details (keyboard only)', async () => {
  // Tab from the scrubber reaches the layers of the architecture view
  await page.locator('#arch-scrubber').focus();
  let reached = '';
  for (let i = 0; i < 20 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await page.evaluate(
      () => (document.activeElement?.closest('#arch g.layer') as Element | null)?.getAttribute('data-layer') ?? '',
    );
  }
  assert.equal(reached, 'dense_1', 'Tab reaches the first layer');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-layer')), 'output');
  await page.keyboard.press('Enter');
  await frames(page, 2);
  assert.deepEqual(await detail(), {
    type: 'output',
    width: '10',
    inputShape: '15',
    outputShape: '10',
    params: '160 (0.7% of all)',
    flops: '150 (0.7% of all)',
  });
  // Space on the residual layer, scrubbed to net2net-deeper where it was inserted
  await page.locator('#arch-scrubber').focus();
  await page.keyboard.press('Home');
  for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowRight');
  await frames(page, 2);
  await page.locator('#arch g.layer[data-layer="residual_1"]').focus();
  await page.keyboard.press(' ');
  await frames(page, 2);
  assert.deepEqual(await detail(), {
    type: 'residual · tanh',
    width: '16',
    inputShape: '16',
    outputShape: '16',
    params: '544 (2.2% of all)',
    flops: '512 (2.1% of all)', // 2·16·16 + 16 + 16 of 24,760; 2·16·16 of 24,672
    'origin-inserted': 'all 16 new: the layer was inserted by this step',
  });
  // before it existed: the detail says so
  await page.locator('#arch-scrubber').focus();
  await page.keyboard.press('ArrowLeft');
  await frames(page, 2);
  assert.match(await page.locator('#layer-detail').innerText(), /residual_1 is not part of the network at this point/);
});

test('the grow detail table has parameter and FLOP deltas per layer; no CSP problem; screenshot', async () => {
  await page.locator('#arch-scrubber').focus();
  await page.keyboard.press('Home');
  await page.keyboard.press('ArrowRight');
  await frames(page, 2);
  const rows = await page.evaluate(() =>
    Array.from(document.querySelectorAll('#detail-layers tr')).map((tr) => Array.from(tr.children).map((c) => c.textContent)),
  );
  assert.deepEqual(rows, [
    ['layer', 'before', 'after', 'kept', 'split', 'new', 'removed', 'params Δ', 'FLOPs Δ'],
    ['dense_1', '24', '30', '18', '12', '0', '0', '+4,710', '+4,704'],
    ['dense_2', '12', '12', '12', '0', '0', '0', '+72', '+72'],
    ['output', '10', '10', '10', '0', '0', '0', '0', '0'],
  ]);
  const stats = await page.locator('#detail-stats').innerText();
  assert.match(stats, /0\.5266 → 0\.5265/);
  assert.match(stats, /Max output change\s+0\.0165/);
  const violations = await page.evaluate(() => (window as unknown as { __cspViolations: unknown[] }).__cspViolations);
  assert.deepEqual(violations, []);
  assert.deepEqual(problems.errors, []);
  await page.locator('.arch-section').screenshot({ path: path.join(RESULTS, 'architecture-timeline.png') });
});
