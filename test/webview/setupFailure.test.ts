/**
 * A browser that is missing fails every webview test file at once, and each file's process exits by
 * itself: a failed setup leaves nothing running (a page server left listening once kept
 * citizen.test.ts alive forever after its before-hook failed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

test('with GROWTH_LAB_CHROMIUM pointing nowhere, every webview test fails naming it and every file exits', () => {
  const files = fs
    .readdirSync(__dirname)
    .filter((f) => f.endsWith('.test.ts') && f !== path.basename(__filename))
    .sort();
  assert.ok(files.length >= 5, `webview test files: ${files.join(', ')}`);
  // A test runner of its own: without the variable that marks a process as one of this runner's files.
  const { NODE_TEST_CONTEXT: _ctx, ...env } = process.env;
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-concurrency=1', ...files.map((f) => path.join(__dirname, f))],
    {
      cwd: path.resolve(__dirname, '..', '..'),
      env: { ...env, GROWTH_LAB_CHROMIUM: '/nonexistent/chromium' },
      encoding: 'utf8',
      timeout: 300_000, // a guard for the hang this test is about, far above the few seconds it takes
    },
  );
  const out = `${r.stdout}\n${r.stderr}`;
  // At the timeout spawnSync kills the runner (which then ends itself) and reports ETIMEDOUT.
  assert.equal(
    (r.error as NodeJS.ErrnoException | undefined)?.code,
    undefined,
    `the run had to be killed (a file did not exit):\n${out.slice(-3000)}`,
  );
  assert.equal(r.signal, null, out.slice(-3000));
  assert.equal(r.status, 1, out.slice(-3000));
  const tests = Number(/^# tests (\d+)$/m.exec(r.stdout)?.[1]);
  assert.ok(tests > 0, out.slice(-3000));
  assert.match(r.stdout, /^# pass 0$/m);
  assert.match(r.stdout, new RegExp(`^# fail ${tests}$`, 'm'));
  assert.match(r.stdout, /\/nonexistent\/chromium \(GROWTH_LAB_CHROMIUM\) is missing/);
});
