/** run.lock: a live owner blocks, a gone one is reclaimed, and a reused process id is told apart by its start time. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LOCK_FILE, acquireRunLock, lockedElsewhere, processStart } from '../../server/runs/runLock';

const roots: string[] = [];
after(() => {
  for (const dir of roots) fs.rmSync(dir, { recursive: true, force: true });
});
const tempDir = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'growth-lab-lock-'));
  roots.push(dir);
  return dir;
};
const writeLock = (dir: string, owner: object) => fs.writeFileSync(path.join(dir, LOCK_FILE), `${JSON.stringify(owner)}\n`);

test('the lock records when its process started, where the system says', (t) => {
  const dir = tempDir();
  const release = acquireRunLock(dir, 'run-a');
  const lock = JSON.parse(fs.readFileSync(path.join(dir, LOCK_FILE), 'utf8'));
  assert.equal(lock.pid, process.pid);
  if (process.platform === 'linux') assert.match(lock.started, /^[0-9a-f-]{36}:\d+$/);
  else t.diagnostic('no /proc here: the lock holds the pid only');
  release();
  assert.equal(fs.existsSync(path.join(dir, LOCK_FILE)), false);
});

test('a live owner holds the run; the same pid with another start time is a reused id, and the lock is reclaimed', async (t) => {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  try {
    const pid = child.pid!;
    const dir = tempDir();
    const started = processStart(pid);
    writeLock(dir, { pid, token: 't', ...(started ? { started } : {}) });
    assert.equal(lockedElsewhere(dir), pid);
    assert.throws(() => acquireRunLock(dir, 'run-b'), new RegExp(`being trained by another process \\(pid ${pid}`));
    if (started === undefined) {
      t.diagnostic('no /proc here: pid reuse cannot be told apart, so that half is skipped');
      return;
    }
    const [boot, ticks] = started.split(':');
    writeLock(dir, { pid, token: 't', started: `${boot}:${Number(ticks) + 1}` });
    assert.equal(lockedElsewhere(dir), undefined, 'another process under a reused pid does not hold the run');
    const release = acquireRunLock(dir, 'run-b');
    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, LOCK_FILE), 'utf8')).pid, process.pid);
    release();
  } finally {
    child.kill();
  }
});

test('a lock whose process is gone is reclaimed', async () => {
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  const pid = child.pid!;
  await new Promise((resolve) => child.on('exit', resolve));
  const dir = tempDir();
  writeLock(dir, { pid, token: 't' });
  assert.equal(lockedElsewhere(dir), undefined);
  acquireRunLock(dir, 'run-c')();
});
