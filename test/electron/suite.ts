/**
 * Mocha suite run inside VS Code's extension host by @vscode/test-electron: the end-to-end scenarios
 * through the VS Code API (the code-server suite, test/e2e, drives the same through the UI).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import Mocha from 'mocha';

const EXTENSION_ID = 'growth-lab.growth-lab';

async function until<T>(what: string, f: () => T | undefined | false, ms = 60000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function check(ok: unknown, message: string): void {
  if (!ok) throw new Error(message);
}

function workspaceDir(): string {
  const ws = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  check(ws, 'the test workspace is open');
  return ws!;
}

function runEvents(): { runId: string; lines: string[] } | undefined {
  const runs = path.join(workspaceDir(), '.growth-lab', 'runs');
  if (!fs.existsSync(runs)) return undefined;
  const runId = fs.readdirSync(runs)[0];
  if (!runId) return undefined;
  const file = path.join(runs, runId, 'events.jsonl');
  return fs.existsSync(file) ? { runId, lines: fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) } : undefined;
}

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', timeout: 180000, color: false });
  const add = (title: string, fn: () => Promise<void>) => mocha.suite.addTest(new Mocha.Test(title, fn));

  add('the extension activates in a workspace with an experiment', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    check(ext, `${EXTENSION_ID} is installed`);
    await ext!.activate();
    check(ext!.isActive, 'the extension is active');
    const commands = await vscode.commands.getCommands(true);
    for (const c of ['growthLab.startExperiment', 'growthLab.stopExperiment', 'growthLab.openMonitor', 'growthLab.exportModel'])
      check(commands.includes(c), `${c} is registered`);
  });

  add('Start Experiment on the open *.growth.json trains and records metrics', async () => {
    const doc = await vscode.workspace.openTextDocument(path.join(workspaceDir(), 'small.growth.json'));
    await vscode.window.showTextDocument(doc);
    await vscode.commands.executeCommand('growthLab.startExperiment');
    await until('metrics in events.jsonl', () => runEvents()?.lines.some((l) => l.includes('"type":"metrics"')));
  });

  add('the scheduled grow is recorded and the monitor opens', async () => {
    await until('a grow event', () => runEvents()?.lines.some((l) => l.includes('"type":"grow"') && l.includes('net2net-wider')));
    await vscode.commands.executeCommand('growthLab.openMonitor');
    await until(
      'the Growth Monitor tab',
      () => vscode.window.tabGroups.all.some((g) => g.tabs.some((t) => /Growth Monitor/.test(t.label))),
      30000,
    );
  });

  add('Stop Experiment stops the run', async () => {
    await vscode.commands.executeCommand('growthLab.stopExperiment');
    await until('the stopped status', () => runEvents()?.lines.some((l) => l.includes('"status":"stopped"')), 30000);
  });

  return new Promise((resolve, reject) =>
    mocha.run((failures) => (failures ? reject(new Error(`${failures} end-to-end tests failed`)) : resolve())),
  );
}
