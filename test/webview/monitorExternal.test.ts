/**
 * An external run in the monitor, in real headless Chromium: the event log a torchrun export's train.py
 * wrote under real `torchrun --nproc_per_node 2` (fixtures/torchrun-job.jsonl, recorded with
 * `recordFixtures.ts torchrun`), served by a fake backend that, like the real one, answers getRunHistory
 * from the file as it grows. The panel shows the job read-only (no pause, stop, grow, prune or export),
 * and follows it live: events appended after the page opened are drawn without any notification.
 *
 * Run: npm run build --silent && node --import tsx --test test/webview/monitorExternal.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { MonitorController, type MonitorHost } from '../../extension/monitorController';
import type { RequestTypes, RunEvent, RunSummary } from '../../common/protocol';
import { historyPage } from '../helpers/historyPage';
import { digestEvents, summarizeRun } from '../../server/runs/runSummary';
import { frames, openPage, postToPage, readEvents, until, type PageProblems, type Served, startBrowser, stopBrowser } from './harness';
import { THEMES } from './themes';

const job = readEvents('torchrun-job');
const RUN = job[0].runId;
const metrics = job.filter((e): e is RunEvent & { type: 'metrics' } => e.type === 'metrics');
/** What the file held when the panel opened: the start, "running" and the first two epochs with their checkpoints. */
const opened = job.slice(0, job.indexOf(metrics[1]) + 2);

let server: Served | undefined;
let browser: Browser | undefined;
let page: Page;
let problems: PageProblems;
/** events.jsonl as the fake backend sees it now. */
const file: RunEvent[] = opened.slice();

/** What the real backend's listRuns says of the file as it is now (runSummary.ts: an external job keeps its own status). */
function summary(): RunSummary {
  const start = job[0] as RunEvent & { type: 'start' };
  return summarizeRun({ runId: RUN, config: start.config, digest: digestEvents(file), external: 'torchrun' }, false);
}

const inspect = (): Promise<{ runId?: string; charts: Record<string, { datasets: { label: string; total: number }[] }> }> =>
  page.evaluate(() => (window as unknown as { growthLabMonitor: { inspect(): unknown } }).growthLabMonitor.inspect()) as never;

const lossPoints = async () => (await inspect()).charts.loss?.datasets[0]?.total ?? 0;

before(async () => {
  ({ server, browser } = await startBrowser());
  let chain: Promise<unknown> = Promise.resolve();
  const host: MonitorHost = {
    post: (msg) => (chain = chain.then(() => postToPage(page, msg)).catch(() => undefined)),
    request: async <M extends keyof RequestTypes>(method: M, params: RequestTypes[M][0]): Promise<RequestTypes[M][1]> => {
      if (method === 'growthLab/listRuns') return [summary()] as RequestTypes[M][1];
      if (method === 'growthLab/getRunHistory' && (params as { runId: string }).runId === RUN)
        return historyPage(file, params) as RequestTypes[M][1];
      throw new Error(`unexpected request ${method}`);
    },
    startExperiment: async () => undefined,
    growthMethods: () => ['firefly'],
    activeRunId: () => undefined,
    notify: () => undefined,
    log: () => undefined,
    errorText: (err) => String((err as Error)?.message ?? err),
  };
  const controller = new MonitorController(host, RUN);
  const o = await openPage(
    browser,
    server.origin,
    THEMES.find((t) => t.name === 'dark')!,
    (m) => {
      if ((m as { type?: unknown }).type === 'ready') controller.reset();
      void controller.onMessage(m);
    },
  );
  ({ page, problems } = o);
  await page.goto(`${server.origin}/`);
});

after(async () => {
  await stopBrowser(browser, server);
});

test('the recorded torchrun job is drawn, marked external and read-only', async () => {
  await until('the history drawn', async () => (await inspect()).runId === RUN && (await lossPoints()) === 2, 15000);
  const badge = await page.evaluate(() => document.getElementById('run-status')!.textContent);
  assert.match(badge!, /running · external torchrun job, read-only/);
  const enabled = await page.evaluate(() =>
    Object.fromEntries(
      ['pause', 'resume', 'stop', 'grow', 'prune', 'export'].map((a) => [
        a,
        !(document.getElementById(`btn-${a}`) as HTMLButtonElement).disabled,
      ]),
    ),
  );
  assert.deepEqual(enabled, { pause: false, resume: false, stop: false, grow: false, prune: false, export: false });
  assert.deepEqual(problems.errors, []);
});

test('events the job appends later are followed live, to its completion', async () => {
  file.push(...job.slice(opened.length));
  await until('every epoch drawn', async () => (await lossPoints()) === metrics.length, 20000);
  // the accuracy chart redraws on its own frame, which may come after the loss chart's
  const testPoints = async () => (await inspect()).charts.accuracy.datasets.find((d) => /test/i.test(d.label))!.total;
  const tested = metrics.filter((m) => m.testAccuracy !== undefined).length;
  await until('every test accuracy drawn', async () => (await testPoints()) === tested, 10000);
  assert.equal(await testPoints(), tested);
  await until(
    'the completed status',
    async () => /completed/.test((await page.evaluate(() => document.getElementById('run-status')!.textContent))!),
    10000,
  );
  await frames(page, 2);
  assert.deepEqual(problems.errors, []);
});
