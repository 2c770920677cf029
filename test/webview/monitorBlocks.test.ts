/**
 * The architecture view of a 23-layer VGG-19 in real headless Chromium: the built bundle on the
 * extension's page (strict CSP), the real MonitorController with a fake backend. The run's events are
 * the recorded fixtures/grown-run.jsonl with its architectures replaced by VGG-19 summaries (16
 * channels everywhere, then one Firefly grow widening conv2d_6 and conv2d_7 to 20): the view draws only
 * architectures and diffs. Checked: the stages are collapsed boxes except the one that grew, which is
 * drawn layer by layer, marked and described; clicking, Enter and Space expand and collapse; scrubbing to
 * the start shows every stage collapsed.
 *
 * Run: npm run build --silent && node --import tsx --test test/webview/monitorBlocks.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import type { RunEvent, RunSummary } from '../../common/protocol';
import * as path from 'path';
import { until, frames, openRecordedRun, readEvents, RESULTS, type PageProblems, type Served, startBrowser, stopBrowser } from './harness';
import { THEMES } from './themes';
import { vgg19Architecture, vgg19GrowEvent } from '../helpers/vggArchitecture';

const recorded = readEvents('grown-run');
const RUN = recorded[0].runId;
const GROW_STEP = 3092;
const grow = vgg19GrowEvent(RUN, GROW_STEP, [6, 7]);
const events: RunEvent[] = [];
for (const e of recorded) {
  if (e.type === 'grow') continue;
  if (e.type === 'start') {
    events.push({ ...e, architecture: vgg19Architecture() });
    continue;
  }
  if (e.type === 'metrics' && e.step > GROW_STEP && !events.some((x) => x.type === 'grow'))
    events.push({ type: 'grow', time: e.time, ...grow });
  events.push(e);
}

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
    params: grow.after.params,
    growSteps: 1,
  } as RunSummary;
}

let browser: Browser;
let server: Served;
let page: Page;
let problems: PageProblems;

interface Shown {
  layers: string[];
  blocks: { id: string; expanded: string; grown: boolean; label: string }[];
}
async function shown(): Promise<Shown> {
  return page.evaluate(() => ({
    layers: Array.from(document.querySelectorAll('#arch svg g.layer')).map((g) => g.getAttribute('data-layer')!),
    blocks: Array.from(document.querySelectorAll('#arch svg g.block')).map((g) => ({
      id: g.getAttribute('data-block')!,
      expanded: g.getAttribute('aria-expanded')!,
      grown: g.classList.contains('grown'),
      label: g.getAttribute('aria-label')!,
    })),
  }));
}
const block = (id: string): string => `#arch svg g.block[data-block="${id}"]`;

before(async () => {
  ({ server, browser } = await startBrowser());
  let settle: () => Promise<void>;
  ({ page, problems, settle } = await openRecordedRun(
    browser,
    server.origin,
    THEMES.find((t) => t.name === 'dark')!,
    events,
    summary(),
  ));
  await until('the VGG-19 drawn with its stages', async () => (await shown()).blocks.length === 5);
  await settle();
});

after(async () => {
  await stopBrowser(browser, server);
});

test('after the grow: the stage that grew is drawn layer by layer and marked, the other four are one box each', async () => {
  const s = await shown();
  assert.deepEqual(s.layers, ['conv2d_5', 'conv2d_6', 'conv2d_7', 'conv2d_8', 'maxpool_3', 'flatten_1', 'output']);
  assert.deepEqual(s.blocks.map((b) => [b.id, b.expanded, b.grown]).sort(), [
    ['block:conv2d_1', 'false', false],
    ['block:conv2d_13', 'false', false],
    ['block:conv2d_3', 'false', false],
    ['block:conv2d_5', 'true', true],
    ['block:conv2d_9', 'false', false],
  ]);
  const grown = s.blocks.find((b) => b.grown)!;
  assert.match(
    grown.label,
    /^stage 3: 5 layers \(conv2d_5 to maxpool_3\), \d+ parameters; this step changed conv2d_6 16 → 20, conv2d_7 16 → 20\. Collapse$/,
  );
  const widths = await page.locator('#arch svg g.layer[data-layer="conv2d_6"] text.layer-sub').first().textContent();
  assert.equal(widths, '16 → 20');
  assert.equal(
    await page
      .locator(`${block('block:conv2d_1')} text.layer-sub`)
      .first()
      .textContent(),
    '3 layers · 16 wide',
  );
  await page.locator('#arch').screenshot({ path: path.join(RESULTS, 'architecture-blocks.png') });
  assert.deepEqual(problems.errors, []);
});

test('a click expands a collapsed stage; Enter on the focused stage collapses it again, Space expands it', async () => {
  await page.locator(`${block('block:conv2d_1')} rect`).click();
  await until('stage 1 expanded', async () => (await shown()).layers.includes('conv2d_1'));
  let s = await shown();
  assert.deepEqual(s.layers.slice(0, 3), ['conv2d_1', 'conv2d_2', 'maxpool_1']);
  assert.equal(s.blocks.find((b) => b.id === 'block:conv2d_1')!.expanded, 'true');
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-block')), 'block:conv2d_1', 'focus stays on the block');
  await page.keyboard.press('Enter');
  await until('stage 1 collapsed', async () => !(await shown()).layers.includes('conv2d_1'));
  s = await shown();
  assert.equal(s.blocks.find((b) => b.id === 'block:conv2d_1')!.expanded, 'false');
  await page.keyboard.press(' ');
  await until('stage 1 expanded by Space', async () => (await shown()).layers.includes('conv2d_1'));
  // a layer inside an expanded block is still a layer button: its details open
  await page.locator('#arch svg g.layer[data-layer="conv2d_2"] rect.layer-box').click();
  await until(
    'conv2d_2 selected',
    async () => (await page.locator('#arch svg g.layer.selected').getAttribute('data-layer')) === 'conv2d_2',
  );
});

test('scrubbed to the start: every stage collapsed, none marked; back at the grow: the grown stage open again', async () => {
  const input = page.locator('#arch-scrubber');
  await input.focus();
  await page.keyboard.press('Home');
  await until('the start shown', async () => (await shown()).blocks.every((b) => b.expanded === 'false'));
  let s = await shown();
  assert.deepEqual(s.layers, ['flatten_1', 'output']);
  assert.ok(s.blocks.every((b) => !b.grown));
  await page.keyboard.press('End');
  await until('the grow shown', async () => (await shown()).blocks.some((b) => b.grown));
  await frames(page, 2);
  s = await shown();
  assert.deepEqual(
    s.blocks.filter((b) => b.expanded === 'true').map((b) => b.id),
    ['block:conv2d_5'],
  );
  assert.deepEqual(problems.errors, []);
});
