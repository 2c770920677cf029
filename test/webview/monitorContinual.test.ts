/**
 * The monitor on a continual-learning run (recorded from a real split-MNIST run with every method,
 * test/webview/fixtures/continual-run.jsonl): accuracy-matrix heatmaps per method with the exact
 * values of the metrics events, average accuracy and parameters against tasks with one line per
 * method, the step charts hidden, theme colours followed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'path';
import type { Browser, Page } from 'playwright-core';
import type { MetricsParams, RunEvent, RunSummary } from '../../common/protocol';
import {
  until as untilMs,
  frames,
  openRecordedRun,
  readEvents,
  RESULTS,
  setTheme,
  type Served,
  startBrowser,
  stopBrowser,
} from './harness';

const until = <T>(what: string, f: () => Promise<T | undefined | false> | T | undefined | false, ms = 15000): Promise<T> =>
  untilMs(what, f, ms);
import { THEMES } from './themes';

const events = readEvents('continual-run');
const RUN = events[0].runId;
const metrics = events.filter((e): e is RunEvent & { type: 'metrics' } => e.type === 'metrics' && !!e.continual);
const METHODS = ['firefly-cl', 'finetune', 'ewc', 'progressive', 'individual'];
const LABEL: Record<string, string> = {
  'firefly-cl': 'Firefly CL',
  finetune: 'fine-tuning',
  ewc: 'EWC',
  progressive: 'Progressive Networks',
  individual: 'Individual',
};

let browser: Browser;
let server: Served;
let page: Page;
let settle: () => Promise<void>;

function summary(): RunSummary {
  const start = events.find((e) => e.type === 'start') as RunEvent & { type: 'start' };
  const last = metrics[metrics.length - 1];
  return {
    runId: RUN,
    name: start.config.name,
    status: 'completed',
    dataset: start.config.dataset.name,
    engine: start.config.engine,
    executionProvider: start.config.executionProvider,
    startedAt: start.time,
    epochs: start.config.training.epochs,
    epochsDone: last.epoch,
    params: last.params,
    growSteps: 0,
  };
}

type Inspect = {
  continual: {
    matrices: Record<string, (number | null)[][]>;
    accuracy: Record<string, { x: number; y: number }[]>;
    params: Record<string, { x: number; y: number }[]>;
    colors: string[];
  };
};
const inspect = (): Promise<Inspect> =>
  page.evaluate(() => (window as unknown as { growthLabMonitor: { inspect(): unknown } }).growthLabMonitor.inspect()) as Promise<Inspect>;

before(async () => {
  ({ server, browser } = await startBrowser());
  ({ page, settle } = await openRecordedRun(
    browser,
    server.origin,
    THEMES.find((t) => t.name === 'dark')!,
    events,
    summary(),
  ));
});

after(async () => {
  await stopBrowser(browser, server);
});

test("a continual run shows one accuracy-matrix heatmap per method with the events' exact values", async () => {
  const s = await until('continual matrices', async () => {
    const i = await inspect();
    return Object.keys(i.continual.matrices).length === 5 && i;
  });
  assert.deepEqual(Object.keys(s.continual.matrices), METHODS);
  for (const method of METHODS) {
    const mine = metrics.filter((m) => m.continual!.method === method) as MetricsParams[];
    assert.equal(mine.length, 5, method);
    // Row i: the accuracies after task i, as percentages with one decimal; later tasks empty.
    const expected = mine.map((m) =>
      Array.from({ length: 5 }, (_, j) => (j <= m.task! ? Number((m.continual!.accuracies[j] * 100).toFixed(1)) : null)),
    );
    assert.deepEqual(s.continual.matrices[method], expected, method);
    assert.deepEqual(
      s.continual.accuracy[LABEL[method]],
      mine.map((m) => ({ x: m.task! + 1, y: m.continual!.averageAccuracy })),
      method,
    );
    assert.deepEqual(
      s.continual.params[LABEL[method]],
      mine.map((m) => ({ x: m.task! + 1, y: m.params })),
      method,
    );
  }
  // Firefly CL's old tasks keep their accuracy: every column is constant down the matrix.
  const fire = s.continual.matrices['firefly-cl'];
  for (let j = 0; j < 5; j++) for (let i = j; i < 5; i++) assert.equal(fire[i][j], fire[j][j], `task ${j + 1} after task ${i + 1}`);
  // The step charts (whose x axis would mix the methods) are hidden; the section is visible.
  assert.equal(await page.locator('#continual').isVisible(), true);
  assert.equal(await page.locator('section.charts').isVisible(), false);
  // The summary speaks of the stream and tasks, not epochs.
  const summary = await page.locator('#summary').innerText();
  assert.match(summary, /Stream\s+split-mnist · 5 tasks/);
  assert.match(summary, /Methods\s+firefly-cl, finetune, ewc, progressive, individual/);
  assert.match(summary, /Tasks learnt\s+25 \/ 25/);
  assert.doesNotMatch(summary, /Epochs/);
  const header = await page.locator('figure.cl-matrix[data-method="finetune"] thead th').allInnerTexts();
  assert.deepEqual(header.slice(1), ['0/1', '2/3', '4/5', '6/7', '8/9']);
  await page.screenshot({ path: path.join(RESULTS, 'continual-dark.png'), fullPage: true });
});

test("heatmap cells and lines take the theme's colours, and follow a theme change", async () => {
  const cellColor = () =>
    page
      .locator('figure.cl-matrix[data-method="firefly-cl"] td.cl-cell')
      .first()
      .evaluate((td) => getComputedStyle(td).backgroundColor);
  const dark = THEMES.find((t) => t.name === 'dark')!;
  const light = THEMES.find((t) => t.name === 'light')!;
  const before = await inspect();
  assert.equal(before.continual.colors[0], dark.vars['--vscode-charts-blue']);
  const darkCell = await cellColor();
  await setTheme(page, light);
  await settle();
  await frames(page, 3);
  const afterTheme = await until('re-coloured lines', async () => {
    const i = await inspect();
    return i.continual.colors[0] === light.vars['--vscode-charts-blue'] && i;
  });
  assert.equal(afterTheme.continual.colors[1], light.vars['--vscode-charts-orange']);
  assert.notEqual(await cellColor(), darkCell, "cells mix the new theme's green");
  await page.screenshot({ path: path.join(RESULTS, 'continual-light.png'), fullPage: true });
});
