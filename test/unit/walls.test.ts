/**
 * The walls between the parts hold: a file planted with a wrong import is reported by the linter
 * (eslint.config.mjs) with the rule that forbids it, and by the engine's own tsconfig. The planted
 * files are removed whatever happens.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ESLint } from 'eslint';

const ROOT = path.resolve(__dirname, '../..');
const TAG = `__planted_${process.pid}`;

/** Writes files (path relative to the repository root → source), runs `body`, and deletes them. */
async function withPlanted<T>(files: Record<string, string>, body: (paths: string[]) => Promise<T>): Promise<T> {
  const paths = Object.keys(files).map((f) => path.join(ROOT, f));
  try {
    Object.entries(files).forEach(([f, src], i) => fs.writeFileSync(paths[i], src));
    return await body(paths);
  } finally {
    for (const p of paths) fs.rmSync(p, { force: true });
  }
}

interface Finding {
  file: string;
  ruleId: string | null;
  message: string;
}

async function lint(paths: string[]): Promise<Finding[]> {
  const eslint = new ESLint({ cwd: ROOT });
  const results = await eslint.lintFiles(paths);
  return results.flatMap((r) => r.messages.map((m) => ({ file: path.relative(ROOT, r.filePath), ruleId: m.ruleId, message: m.message })));
}

function findingsFor(all: Finding[], file: string): Finding[] {
  return all.filter((f) => f.file === file);
}

test('lint walls: wrong-direction imports and cycles are reported with the rule that forbids them', async () => {
  const planted = {
    engine: `server/engine/${TAG}.ts`,
    webview: `webview/${TAG}.ts`,
    common: `common/${TAG}.ts`,
    growth: `server/growth/${TAG}.ts`,
    extension: `extension/${TAG}.ts`,
    server: `server/${TAG}.ts`,
    cycleA: `server/engine/${TAG}_a.ts`,
    cycleB: `server/engine/${TAG}_b.ts`,
  };
  const files = {
    [planted.engine]: "import type { TrainingConfig } from '../../common/protocol';\nexport type T = TrainingConfig;\n",
    [planted.webview]: "import * as vscode from 'vscode';\nexport const w = vscode;\n",
    [planted.common]: "import { Rng } from '../server/random';\nimport * as fs from 'fs';\nexport const c = [Rng, fs];\n",
    [planted.growth]: "import { createExecutor } from '../training/executors';\nexport const g = createExecutor;\n",
    [planted.extension]: "import * as ui from '../webview/uiState';\nexport const e = ui;\n",
    [planted.server]: "import * as vscode from 'vscode';\nimport * as ext from '../extension/settings';\nexport const s = [vscode, ext];\n",
    [planted.cycleA]: `import { b } from './${TAG}_b';\nexport const a = () => b;\n`,
    [planted.cycleB]: `import { a } from './${TAG}_a';\nexport const b = () => a;\n`,
  };
  const all = await withPlanted(files, (paths) => lint(paths));
  const rules = (file: string) => findingsFor(all, file).map((f) => f.ruleId);
  const messages = (file: string) =>
    findingsFor(all, file)
      .map((f) => f.message)
      .join('\n');

  // The engine imports nothing outside server/engine/, not even the protocol.
  assert.deepEqual(rules(planted.engine), ['import-x/no-restricted-paths'], messages(planted.engine));
  assert.match(
    messages(planted.engine),
    /"\.\.\/\.\.\/common\/protocol" imported in restricted zone\. The engine imports nothing outside server\/engine\//,
  );
  // Only extension/ imports 'vscode'.
  assert.deepEqual(rules(planted.webview), ['no-restricted-imports'], messages(planted.webview));
  assert.match(messages(planted.webview), /'vscode' import is restricted.*Only extension\/ may import 'vscode'/);
  // common/ imports only common/: no other part, no Node built-in, no package.
  assert.deepEqual(rules(planted.common).sort(), ['import-x/no-nodejs-modules', 'import-x/no-restricted-paths', 'no-restricted-imports']);
  assert.match(messages(planted.common), /common\/ imports only common\/\./);
  assert.match(messages(planted.common), /'fs' import is restricted.*no packages/);
  // growth/ sits below training/.
  assert.deepEqual(rules(planted.growth), ['import-x/no-restricted-paths'], messages(planted.growth));
  assert.match(messages(planted.growth), /server\/growth\/ must not import server\/training\//);
  // The extension never imports the webview.
  assert.deepEqual(rules(planted.extension), ['import-x/no-restricted-paths'], messages(planted.extension));
  assert.match(messages(planted.extension), /The extension never imports the webview/);
  // The backend imports neither 'vscode' nor the extension.
  assert.deepEqual(rules(planted.server).sort(), ['import-x/no-restricted-paths', 'no-restricted-imports']);
  // Import cycles are reported on both sides.
  assert.deepEqual(rules(planted.cycleA), ['import-x/no-cycle'], messages(planted.cycleA));
  assert.deepEqual(rules(planted.cycleB), ['import-x/no-cycle'], messages(planted.cycleB));
  assert.match(messages(planted.cycleA), /Dependency cycle/);
});

test('lint walls: the same imports in their own part pass', async () => {
  const planted = {
    engine: `server/engine/${TAG}_ok.ts`,
    extension: `extension/${TAG}_ok.ts`,
    server: `server/${TAG}_ok.ts`,
  };
  const all = await withPlanted(
    {
      [planted.engine]: "import type { OptimizerSettings } from './optimizers';\nexport type T = OptimizerSettings;\n",
      [planted.extension]:
        "import * as vscode from 'vscode';\nimport type { TrainingConfig } from '../common/protocol';\nexport const e = vscode;\nexport type T = TrainingConfig;\n",
      [planted.server]:
        "import type { TrainingConfig } from '../common/protocol';\nimport { OrtExecutor } from './engine';\nexport const s = OrtExecutor;\nexport type T = TrainingConfig;\n",
    },
    (paths) => lint(paths),
  );
  assert.deepEqual(all, []);
});

test('compiler walls: the engine project refuses a file from outside server/engine/ (TS6307)', async () => {
  const file = `server/engine/${TAG}_tsc.ts`;
  const out = await withPlanted(
    { [file]: "import type { TrainingConfig } from '../../common/protocol';\nexport type T = TrainingConfig;\n" },
    () =>
      new Promise<{ code: number | null; stdout: string }>((resolve) => {
        const tsc = require.resolve('typescript/bin/tsc');
        execFile(process.execPath, [tsc, '-p', 'server/engine', '--pretty', 'false'], { cwd: ROOT }, (err, stdout) => {
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout });
        });
      }),
  );
  assert.notEqual(out.code, 0, out.stdout);
  assert.match(
    out.stdout,
    new RegExp(
      `${TAG}_tsc\\.ts\\(1,\\d+\\): error TS6307: File '.*common/protocol/index\\.ts' is not listed within the file list of project`,
    ),
  );
});
