/**
 * npm run test:electron: the end-to-end scenarios in a downloaded VS Code (Electron) through
 * @vscode/test-electron 2.x (3.x needs Node 22). Machines without access to VS Code's download
 * servers get a clear message and exit code 1 instead of a hang; the same scenarios run in
 * code-server with `npm run test:e2e`.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { downloadAndUnzipVSCode, runTests } from '@vscode/test-electron';

const ROOT = path.resolve(__dirname, '..', '..');
const VSCODE_VERSION = '1.100.3';

async function main(): Promise<number> {
  let executable: string;
  try {
    executable = await downloadAndUnzipVSCode({ version: VSCODE_VERSION, timeout: 30000 });
  } catch (e) {
    process.stderr.write(
      `test:electron: could not download VS Code ${VSCODE_VERSION} (${(e as Error).message.split('\n')[0]}).\n` +
        "This suite needs a machine that can reach VS Code's download servers. The same scenarios run here in\n" +
        'code-server with `npm run test:e2e`.\n',
    );
    return 1;
  }
  const esbuild = await import('esbuild');
  const outDir = path.join(ROOT, '.cache', 'electron');
  await esbuild.build({
    entryPoints: [path.join(__dirname, 'suite.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile: path.join(outDir, 'suite.js'),
    external: ['vscode', 'mocha'],
    logLevel: 'error',
  });
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'growth-lab-electron-'));
  fs.writeFileSync(
    path.join(workspace, 'small.growth.json'),
    JSON.stringify(
      {
        name: 'electron-small',
        dataset: { name: 'mnist', trainSize: 3000, testSize: 500 },
        model: { layers: [{ type: 'dense', units: 16, activation: 'relu' }] },
        training: { epochs: 10000, batchSize: 100 },
        growth: { method: 'net2net-wider', schedule: { every: 1 }, maxGrowSteps: 1, options: { neurons: 8 } },
      },
      null,
      2,
    ),
  );
  await runTests({
    vscodeExecutablePath: executable,
    extensionDevelopmentPath: ROOT,
    extensionTestsPath: path.join(outDir, 'suite.js'),
    launchArgs: [workspace, '--disable-workspace-trust', '--skip-welcome', '--skip-release-notes'],
  });
  return 0;
}

main().then(
  (code) => (process.exitCode = code),
  (e) => {
    process.stderr.write(`test:electron failed: ${(e as Error).stack ?? e}\n`);
    process.exitCode = 1;
  },
);
