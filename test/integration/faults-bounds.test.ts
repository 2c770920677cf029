/**
 * Bounded memory, time and message size against hostile input (issue "A cloned repository is untrusted
 * input" / "Memory and time stay bounded"): broken JSON-RPC framing on the backend's stdin, imports whose
 * files declare more bytes than they hold, error messages built from huge inputs.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CLI } from './backendClient';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'growth-lab-faults-bounds-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));

/** Starts `growth-lab serve`, writes `input` to its stdin (left open), and resolves on its exit. */
function serveWith(input: Buffer | string): Promise<{ code: number | null; stderr: string; ms: number }> {
  const t0 = Date.now();
  const proc = spawn(process.execPath, [CLI, 'serve'], { stdio: ['pipe', 'pipe', 'pipe'], cwd: work });
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr += d));
  proc.stdout.resume();
  const timer = setTimeout(() => proc.kill('SIGKILL'), 20000);
  proc.stdin.on('error', () => undefined);
  proc.stdin.write(input);
  return new Promise((resolve) =>
    proc.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, ms: Date.now() - t0 });
    }),
  );
}

const framingCases: [string, string, RegExp][] = [
  ['garbage instead of headers', 'hello backend, this is not JSON-RPC\r\n\r\n', /header line without/],
  ['a header block without Content-Length', 'Content-Type: application/json\r\n\r\n{}', /without a Content-Length/],
  ['a Content-Length that is not a number', 'Content-Length: lots\r\n\r\n{}', /Content-Length is not a number/],
  [
    'a Content-Length of 4 GiB',
    `Content-Length: ${4 * 1024 ** 3}\r\n\r\n{"jsonrpc":"2.0"`,
    /Content-Length 4294967296 is over the limit of 67108864/,
  ],
  ['an endless header line', 'X'.repeat(100000), /header block longer than 8192 bytes/],
];
for (const [what, input, reason] of framingCases) {
  test(`framing: ${what} ends the backend with the reason on stderr`, async () => {
    const r = await serveWith(input);
    assert.equal(r.code, 2, `exit code (stderr: ${r.stderr.slice(-500)})`);
    assert.match(r.stderr, /malformed JSON-RPC framing on stdin/);
    assert.match(r.stderr, reason);
    assert.ok(r.ms < 15000, `exited in ${r.ms} ms`);
  });
}

test('framing: a well-formed message split across writes still works', async () => {
  const proc = spawn(process.execPath, [CLI, 'serve'], { stdio: ['pipe', 'pipe', 'pipe'], cwd: work });
  let stdout = '';
  proc.stdout.on('data', (d) => (stdout += d));
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'shutdown' });
  const msg = `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  for (const ch of msg) proc.stdin.write(ch);
  const exitBody = JSON.stringify({ jsonrpc: '2.0', method: 'exit' });
  const exited = new Promise<number | null>((r) => proc.once('exit', r));
  await new Promise<void>((r) => {
    const check = () => (stdout.includes('"id":1') ? r() : proc.stdout.once('data', check));
    check();
  });
  proc.stdin.write(`Content-Length: ${Buffer.byteLength(exitBody)}\r\n\r\n${exitBody}`);
  assert.equal(await exited, 0);
});
