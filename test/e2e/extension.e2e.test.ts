/**
 * End-to-end: the packaged extension in a real VS Code (code-server), driven through its UI.
 * GROWTH_LAB_E2E=required (set by .ci/run) turns "this machine cannot run it" into a failure;
 * GROWTH_LAB_E2E=skip leaves these tests out.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { VsCode, packageExtension, setupCodeServer } from './codeServer';

const required = process.env.GROWTH_LAB_E2E === 'required';
const setup = setupCodeServer();
const skip = setup.bin ? false : `end-to-end tests skipped: ${setup.reason}`;
if (skip && required) throw new Error(`GROWTH_LAB_E2E=required but ${skip}`);
if (skip) process.stderr.write(`${skip}\n`);

let vscode: VsCode;
let failed = false;
const EXPERIMENT = 'small.growth.json';

type Inspect = {
  runId?: string;
  charts: Record<string, { datasets: { label: string; total: number }[]; markers: { step: number }[] }>;
  markers: { step: number; method: string; added: number; removed: number; kind: string }[];
  arch?: { counts: Record<string, number> };
};

before(async () => {
  if (skip) return;
  vscode = new VsCode(setup.bin!);
  fs.writeFileSync(
    path.join(vscode.workspace, EXPERIMENT),
    JSON.stringify(
      {
        name: 'e2e-small',
        dataset: { name: 'mnist', trainSize: 3000, testSize: 500 },
        model: { layers: [{ type: 'dense', units: 16, activation: 'relu' }] },
        training: { epochs: 10000, batchSize: 100 }, // long enough to still be training when stopped
        growth: { method: 'net2net-wider', schedule: { every: 1 }, maxGrowSteps: 1, options: { neurons: 8 } },
      },
      null,
      2,
    ),
  );
  vscode.install(packageExtension());
  await vscode.start();
});

after(async () => {
  if (skip) return;
  if (!vscode) return; // the before hook failed before it existed
  if (failed) process.stderr.write(`\nVS Code logs:\n${vscode.logs()}\n`);
  await vscode.stop();
});

async function step<T>(name: string, f: () => Promise<T>): Promise<T> {
  try {
    const r = await f();
    await vscode.screenshot(name);
    return r;
  } catch (e) {
    failed = true;
    await vscode.screenshot(`${name}-failed`).catch(() => undefined);
    throw e;
  }
}

test('the extension activates and the Growth Lab side panel shows the experiment', { skip }, async () => {
  await step('side-panel', async () => {
    await vscode.page.locator('.activitybar .action-item a[aria-label^="Growth Lab"]').first().click();
    await vscode.page.locator('.sidebar .monaco-list-row', { hasText: EXPERIMENT }).first().waitFor({ timeout: 60000 });
  });
});

test('start an experiment from the command palette; the status bar shows the run', { skip }, async () => {
  await step('experiment-open', () => vscode.openFile(EXPERIMENT));
  await step('started', async () => {
    await vscode.command('Growth Lab: Start Experiment');
    const text = await vscode.waitFor(
      async () => {
        const t = await vscode.statusBarText();
        return /Growth Lab: e2e-small/.test(t) && /epoch \d+/.test(t) ? t : undefined;
      },
      90000,
      'the run in the status bar',
    );
    assert.match(text, /params/);
  });
});

test('the monitor webview shows charts with points and a grow marker, and the new neurons', { skip }, async () => {
  const frame = await step('monitor', async () => {
    await vscode.command('Growth Lab: Open Monitor');
    const f = await vscode.webviewFrame('#chart-loss', 60000);
    await vscode.waitFor(
      async () => {
        const s = (await f.evaluate(() =>
          (window as unknown as { growthLabMonitor: { inspect(): unknown } }).growthLabMonitor.inspect(),
        )) as Inspect;
        return s.markers.length >= 1 && s.charts.loss?.datasets.some((d) => d.total > 5) ? s : undefined;
      },
      120000,
      'points and a grow marker',
    );
    return f;
  });
  const s = (await frame.evaluate(() =>
    (window as unknown as { growthLabMonitor: { inspect(): unknown } }).growthLabMonitor.inspect(),
  )) as Inspect;
  assert.equal(s.markers[0].method, 'net2net-wider');
  assert.equal(s.markers[0].added, 8);
  assert.equal(s.charts.loss.markers.length, 1);
  assert.ok(s.charts.params.datasets[0].total > 5);
  // the architecture view highlights the eight replicated neurons and their parents
  assert.equal(s.arch?.counts.split, 16);
  assert.match(await frame.locator('#arch-title').innerText(), /net2net-wider/);
  // The charts' points are the extension's answer to their viewport (Float64Arrays through VS Code's postMessage).
  const drawn = (await vscode.waitFor(
    async () => {
      const st = (await frame.evaluate(() =>
        (window as unknown as { growthLabMonitor: { inspect(): unknown } }).growthLabMonitor.inspect(),
      )) as { charts: Record<string, { source?: string; badge?: string; datasets: { total: number; drawn: number }[] }> };
      return st.charts.loss?.source === 'extension' ? st.charts.loss : undefined;
    },
    60000,
    'loss chart drawn from the extension',
  )) as { badge?: string; datasets: { total: number; drawn: number }[] };
  const sum = (k: 'total' | 'drawn') => drawn.datasets.reduce((a, d) => a + d[k], 0).toLocaleString('en-US');
  assert.equal(drawn.badge, `${sum('drawn')} of ${sum('total')} points`);
  // Remote workspaces (code-server here, Remote-SSH, Codespaces): every resource of the monitor comes
  // through VS Code's webview resource URIs, none from a server on the user's localhost.
  const resources = (await frame.evaluate(() => [
    ...Array.from(document.querySelectorAll('script[src]'), (e) => (e as HTMLScriptElement).src),
    ...Array.from(document.querySelectorAll('link[href]'), (e) => (e as HTMLLinkElement).href),
    ...Array.from(document.querySelectorAll('img[src]'), (e) => (e as HTMLImageElement).src),
    ...performance.getEntriesByType('resource').map((e) => e.name),
  ])) as string[];
  assert.ok(
    resources.some((u) => /webview\.js/.test(u)),
    `the monitor's script among ${resources.join(', ')}`,
  );
  const local = resources.filter((u) => /^[a-z]+:\/\/(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?\//i.test(u));
  assert.deepEqual(local, [], 'no monitor resource loaded from a localhost URL');
});

test('the architecture timeline scrubbed to the first grow event shows the widened layer', { skip }, async () => {
  await step('timeline-first-grow', async () => {
    const frame = await vscode.webviewFrame('#arch-scrubber', 60000);
    const layers = () =>
      frame.evaluate(() =>
        Array.from(document.querySelectorAll('#arch svg g.layer')).map((g) => [
          g.getAttribute('data-layer'),
          Number(g.getAttribute('data-width')),
          g.querySelector('text.layer-sub')?.textContent ?? '',
        ]),
      );
    const scrubber = frame.locator('#arch-scrubber');
    // the start: dense 16 (relu) and the 10 classes, as the experiment file says
    await scrubber.press('Home');
    await vscode.waitFor(
      async () => (await frame.locator('#arch-scrubber-value').innerText()).startsWith('start'),
      10000,
      'the scrubber at the start',
    );
    // The drawing follows the scrubber on the next animation frame.
    const drawn = async (want: unknown[][], what: string) => {
      await vscode
        .waitFor(async () => JSON.stringify(await layers()) === JSON.stringify(want) || undefined, 10000, what)
        .catch(() => undefined);
      assert.deepEqual(await layers(), want, what);
    };
    await drawn(
      [
        ['dense_1', 16, '16'],
        ['output', 10, '10'],
      ],
      'the network at the start',
    );
    // the first grow event: net2net-wider with 8 new neurons, 16 → 24
    await scrubber.press('ArrowRight');
    const label = await vscode.waitFor(
      async () => {
        const t = await frame.locator('#arch-scrubber-value').innerText();
        return /net2net-wider/.test(t) ? t : undefined;
      },
      10000,
      'the scrubber at the first grow event',
    );
    assert.match(label, /^step \d+ · grow net2net-wider \(2 of \d+\)$/);
    await drawn(
      [
        ['dense_1', 24, '16 → 24'],
        ['output', 10, '10'],
      ],
      'the network after the first grow',
    );
    assert.match(await frame.locator('#arch-title').innerText(), /net2net-wider/);
  });
});

test('the monitor hidden behind another tab and shown again misses no metric, and draws none twice', { skip }, async () => {
  await step('monitor-hidden-shown', async () => {
    const runId = fs.readdirSync(path.join(vscode.workspace, '.growth-lab', 'runs'))[0];
    const eventsFile = path.join(vscode.workspace, '.growth-lab', 'runs', runId, 'events.jsonl');
    const fileSteps = (): number[] =>
      fs
        .readFileSync(eventsFile, 'utf8')
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as { type: string; step: number })
        .filter((e) => e.type === 'metrics')
        .map((e) => e.step);
    const hasMonitorFrame = async (): Promise<boolean> => {
      for (const f of vscode.page.frames()) if (await f.$('#chart-loss').catch(() => null)) return true;
      return false;
    };
    // The experiment file's tab in front: the monitor's tab goes behind it (same editor group).
    await vscode.page.locator('.tab', { hasText: EXPERIMENT }).first().click();
    await vscode.page.locator('.tab.active', { hasText: EXPERIMENT }).first().waitFor({ timeout: 20000 });
    await vscode.waitFor(async () => !(await hasMonitorFrame()), 30000, "the hidden monitor's page discarded (no retainContextWhenHidden)");
    const hiddenAt = fileSteps().length;
    await vscode.waitFor(() => fileSteps().length >= hiddenAt + 3 || undefined, 120000, 'metrics written while the monitor is hidden');
    await vscode.command('Growth Lab: Open Monitor');
    const frame = await vscode.webviewFrame('#chart-loss', 60000);
    const shown = await vscode.waitFor(
      async () => {
        const s = await frame.evaluate(() => {
          const m = (window as unknown as { growthLabMonitor: { app: { model?: { series: { trainLoss: { xs: number[] } } } } } })
            .growthLabMonitor.app.model;
          return m ? { xs: Array.from(m.series.trainLoss.xs) } : undefined;
        });
        return s && s.xs.length >= hiddenAt + 3 ? s : undefined;
      },
      60000,
      'the shown monitor past the metrics written while hidden',
    );
    const last = shown.xs[shown.xs.length - 1];
    const expected = fileSteps()
      .filter((x) => x <= last)
      .sort((a, b) => a - b);
    assert.deepEqual(shown.xs, expected, 'every metric of the run up to the last drawn, once, in step order');
  });
});

test('Grow network (Firefly) from the command palette opens the diff review, the right side wider', { skip }, async () => {
  await step('grow-diff', async () => {
    // focus an editor, not the monitor's webview (a focused webview can close a quick pick)
    await vscode.openFile(EXPERIMENT);
    await vscode.command('Growth Lab: Grow Network');
    await vscode.pick('Firefly wider', '(method)');
    const budget = (await vscode.quickInput('(budget)')).locator('input.input');
    await budget.fill('0.5');
    await vscode.waitFor(async () => (await budget.inputValue()) === '0.5' || undefined, 10000, 'the budget typed');
    await vscode.page.keyboard.press('Enter');
    const diff = vscode.page.locator('.monaco-diff-editor').first();
    await diff.waitFor({ state: 'visible', timeout: 120000 });
    const widths = async (side: 'original' | 'modified') => {
      const text = await diff.locator(`.editor.${side} .view-lines`).innerText();
      return [...text.replace(/\u00a0/g, ' ').matchAll(/width: (\d+)/g)].map((m) => Number(m[1]));
    };
    const [before, after] = await vscode.waitFor(
      async () => {
        const b = await widths('original'),
          a = await widths('modified');
        return b.length > 0 && a.length > 0 ? [b, a] : undefined;
      },
      30000,
      'widths on both sides of the diff',
    );
    assert.equal(before[0], 24, `before: ${before.join(', ')}`);
    assert.ok(after[0] > before[0], `after ${after[0]} wider than before ${before[0]}`);
    assert.equal(after[after.length - 1], 10, 'the output layer keeps its 10 classes');
  });
});

test('Export Model writes the files; stop the run; the run is listed after a reload', { skip }, async () => {
  await step('exported', async () => {
    await vscode.command('Growth Lab: Export Model');
    // the run is asked for (1/3) only when several runs exist; otherwise the format (2/3) comes first
    const first = await vscode.waitFor(
      async () =>
        /\(([12])\/3\)/.exec(
          await vscode.page
            .locator('.quick-input-widget .quick-input-title')
            .first()
            .innerText()
            .catch(() => ''),
        )?.[1],
      30000,
      'the first export quick pick',
    );
    if (first === '1') await vscode.pick(/e2e-small/, '(1/3)');
    await vscode.pick('ONNX', '(2/3)');
    await vscode.pick(/default/, '(3/3)');
    await vscode.waitFor(
      () => {
        const dir = path.join(vscode.workspace, '.growth-lab', 'exports');
        if (!fs.existsSync(dir)) return undefined;
        return fs.readdirSync(dir).some((r) => fs.existsSync(path.join(dir, r, 'model.onnx')));
      },
      60000,
      'model.onnx',
    );
  });
  const runId = fs.readdirSync(path.join(vscode.workspace, '.growth-lab', 'runs'))[0];
  await step('stopped', async () => {
    await vscode.command('Growth Lab: Stop Experiment');
    // the run is asked for only when several runs could be stopped
    const runPicker = vscode.page.locator('.quick-input-widget .quick-input-title', { hasText: 'Stop Experiment' });
    await vscode.waitFor(
      async () => {
        const events = fs.readFileSync(path.join(vscode.workspace, '.growth-lab', 'runs', runId, 'events.jsonl'), 'utf8');
        if (/"status":"stopped"/.test(events)) return true;
        if (await runPicker.isVisible().catch(() => false)) await vscode.pick(/e2e-small/, 'Stop Experiment');
        return undefined;
      },
      30000,
      'the stopped status in events.jsonl',
    );
  });
  await step('reloaded', async () => {
    await vscode.open();
    await vscode.command('Growth Lab: Open Monitor');
    const f = await vscode.webviewFrame('#run-select', 60000);
    await vscode.waitFor(
      async () => (await f.locator('#run-select').innerHTML()).includes(runId),
      60000,
      'the run in the monitor after a reload',
    );
  });
});
