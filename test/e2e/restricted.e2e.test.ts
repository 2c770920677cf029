/**
 * End-to-end in Restricted Mode: the packaged extension in a real VS Code (code-server) that opens the
 * workspace untrusted. A cloned repository's run is listed and its monitor drawn (reading works);
 * starting an experiment is refused with the Restricted Mode message and writes nothing.
 * GROWTH_LAB_E2E as in extension.e2e.test.ts.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import type { ExperimentConfig } from '../../common/protocol';
import { restrictedModeMessage } from '../../extension/workspaceTrust';
import { RunStore } from '../../server/runs/runStore';
import { VsCode, packageExtension, setupCodeServer } from './codeServer';

const required = process.env.GROWTH_LAB_E2E === 'required';
const setup = setupCodeServer();
const skip = setup.bin ? false : `end-to-end tests skipped: ${setup.reason}`;
if (skip && required) throw new Error(`GROWTH_LAB_E2E=required but ${skip}`);
if (skip) process.stderr.write(`${skip}\n`);

let vscode: VsCode;
let failed = false;
let runId = '';
const EXPERIMENT = 'cloned.growth.json';

/** A finished run as a cloned repository would ship it, written by the real run store. */
function shipRun(workspace: string): string {
  const config = {
    name: 'cloned',
    dataset: { name: 'mnist', trainSize: 100, testSize: 50 },
    model: { layers: [{ type: 'dense', units: 8, activation: 'relu' }] },
    training: { epochs: 3 },
  } as unknown as ExperimentConfig;
  fs.writeFileSync(path.join(workspace, EXPERIMENT), JSON.stringify(config, null, 2));
  const store = new RunStore(path.join(workspace, '.growth-lab'));
  const run = store.createRun(config, { configPath: path.join(workspace, EXPERIMENT) });
  const time = (s: number) => `2026-12-01T10:00:0${s}.000Z`;
  const architecture = { inputShape: [784], outputSize: 10, layers: [], params: 6370, flops: 6370 };
  run.append({ type: 'start', time: time(0), runId: run.runId, config, architecture, warnings: [] });
  for (let epoch = 1; epoch <= 3; epoch++) {
    for (let k = 1; k <= 4; k++) {
      const step = (epoch - 1) * 4 + k;
      run.append({
        type: 'metrics',
        time: time(epoch),
        runId: run.runId,
        epoch,
        step,
        trainLoss: 2 / step,
        trainAccuracy: 0.5,
        ...(k === 4 ? { testLoss: 1 / epoch, testAccuracy: 0.6 + epoch / 10 } : {}),
        params: 6370,
        samplesPerSecond: 1000,
        engine: 'onnxruntime',
        executionProvider: 'cpu',
        elapsedMs: step * 10,
      });
    }
  }
  run.append({ type: 'status', time: time(4), runId: run.runId, status: 'completed' });
  run.close();
  return run.runId;
}

/** Every path under the workspace's .growth-lab folder. */
function runFiles(workspace: string): string[] {
  const root = path.join(workspace, '.growth-lab');
  return (fs.readdirSync(root, { recursive: true }) as string[]).sort();
}

before(async () => {
  if (skip) return;
  vscode = new VsCode(setup.bin!, { restricted: true });
  runId = shipRun(vscode.workspace);
  vscode.install(packageExtension());
  await vscode.start();
});

after(async () => {
  if (skip || !vscode) return;
  if (failed) process.stderr.write(`\nVS Code logs:\n${vscode.logs()}\n`);
  await vscode.stop();
});

async function step<T>(name: string, f: () => Promise<T>): Promise<T> {
  try {
    const r = await f();
    await vscode.screenshot(`restricted-${name}`);
    return r;
  } catch (e) {
    failed = true;
    await vscode.screenshot(`restricted-${name}-failed`).catch(() => undefined);
    throw e;
  }
}

test('Restricted Mode: the workspace opens untrusted, and the side panel lists the shipped run', { skip }, async () => {
  await step('side-panel', async () => {
    await vscode.waitFor(async () => /Restricted Mode/.test(await vscode.statusBarText()), 60000, 'the Restricted Mode indicator');
    await vscode.page.locator('.activitybar .action-item a[aria-label^="Growth Lab"]').first().click();
    const experiment = vscode.page.locator('.sidebar .monaco-list-row', { hasText: EXPERIMENT }).first();
    await experiment.waitFor({ timeout: 60000 });
    // Expand it (a click on the label opens the file): the run is under it. A click that lands while the
    // tree is still being refreshed can leave the row collapsed, so click until it says it is expanded.
    const run = vscode.page.locator('.sidebar .monaco-list-row', { hasText: runId }).first();
    await vscode.waitFor(
      async () => {
        if ((await experiment.getAttribute('aria-expanded')) !== 'true') await experiment.locator('.monaco-tl-twistie').click();
        return run.isVisible();
      },
      30000,
      'the shipped run under its experiment',
    );
  });
});

test('Restricted Mode: the monitor draws the run from its files', { skip }, async () => {
  await step('monitor', async () => {
    await vscode.page.locator('.sidebar .monaco-list-row', { hasText: runId }).first().click();
    const frame = await vscode.webviewFrame('#chart-loss', 60000);
    await vscode.waitFor(
      async () => {
        const s = (await frame.evaluate(() =>
          (window as unknown as { growthLabMonitor: { inspect(): unknown } }).growthLabMonitor.inspect(),
        )) as { runId?: string; charts: Record<string, { datasets: { total: number }[] }> };
        return s.runId === runId && s.charts.loss?.datasets.some((d) => d.total === 12) ? s : undefined;
      },
      60000,
      'the run history in the loss chart (12 steps)',
    );
  });
});

test('Restricted Mode: Start Experiment is refused with the Restricted Mode message, and nothing is written', { skip }, async () => {
  const before = runFiles(vscode.workspace);
  await step('start-refused', async () => {
    await vscode.openFile(EXPERIMENT);
    await vscode.command('Growth Lab: Start Experiment');
    const message = restrictedModeMessage('startExperiment');
    await vscode.page
      .locator('.notifications-toasts .notification-toast', { hasText: 'is disabled in Restricted Mode' })
      .first()
      .waitFor({ timeout: 30000 });
    const text = (await vscode.page.locator('.notifications-toasts').innerText()).replace(/\s+/g, ' ');
    assert.ok(text.includes(message.slice(0, 60)), text);
  });
  assert.deepEqual(runFiles(vscode.workspace), before, 'no run was created');
});
