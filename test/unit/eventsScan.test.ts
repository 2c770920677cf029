/**
 * The chunked events.jsonl readers (scanEventsFile for listRuns' digest, readEventsPage for paged
 * getRunHistory) against the whole-file reader they replace: same events, same warnings, same digest,
 * across 1 MiB chunk boundaries, multi-byte UTF-8, CRLF, blank, corrupt and torn lines.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { RunEvent } from '../../common/protocol';
import { readEventsFile, readEventsPage, scanEventsFile } from '../../server/runs/eventsFile';
import { digestEvent, digestEvents, emptyDigest } from '../../server/runs/runSummary';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'growth-lab-scan-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function history(n: number, torn: boolean): string {
  const runId = 'r1';
  const time = (i: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString();
  const arch = (params: number) => ({ params, layers: [] });
  const lines: string[] = [
    JSON.stringify({ type: 'start', time: time(0), runId, config: { name: 'é – ünïcode ✓' }, architecture: arch(10) }),
  ];
  for (let i = 1; i <= n; i++) {
    if (i % 997 === 0) lines.push('{"type":"metrics","broken');
    else if (i % 1009 === 0) lines.push('');
    else if (i % 389 === 0)
      lines.push(
        JSON.stringify({
          type: 'grow',
          time: time(i),
          runId,
          kind: 'grow',
          method: 'width ✓',
          epoch: 1,
          step: i,
          before: arch(i),
          after: arch(i + 1),
        }),
      );
    else if (i % 1201 === 0)
      lines.push(
        JSON.stringify({ type: 'status', time: time(i), runId, status: i % 2 ? 'paused' : 'running', message: 'ü'.repeat(i % 50) }) + '\r',
      );
    else
      lines.push(
        JSON.stringify({
          type: 'metrics',
          time: time(i),
          runId,
          epoch: Math.ceil(i / 1000),
          step: i,
          params: 11,
          testAccuracy: ((i * 7919) % 1000) / 1000,
          note: 'ß'.repeat(i % 13),
        }),
      );
  }
  lines.push(JSON.stringify({ type: 'status', time: time(n + 1), runId, status: 'stopped' }));
  return lines.join('\n') + (torn ? '\n{"type":"metr' : '\n');
}

for (const [n, torn] of [
  [0, false],
  [50, true],
  [30_000, false],
  [30_000, true],
] as const) {
  test(`${n} events${torn ? ', torn last line' : ''}: scan and pages equal the whole-file read`, async () => {
    const file = path.join(dir, `events-${n}-${torn}.jsonl`);
    fs.writeFileSync(file, history(n, torn));
    const whole = readEventsFile(file);
    const folded = emptyDigest();
    const warnings = scanEventsFile(file, (e) => digestEvent(folded, e));
    assert.deepEqual(folded, digestEvents(whole.events), 'same digest');
    assert.deepEqual(warnings, whole.warnings, 'same warnings');
    const all = await readEventsPage(file, { offset: 0, stopAfter: Infinity });
    assert.deepEqual(all.events, whole.events);
    assert.deepEqual(all.warnings, whole.warnings);
    const pages: RunEvent[] = [];
    for (let offset = 0; ; offset += 7_001) {
      const p = await readEventsPage(file, { offset, limit: 7_001, stopAfter: 100 });
      pages.push(...p.events);
      if (p.events.length < 7_001) break;
    }
    assert.deepEqual(pages, whole.events, 'pages concatenated are the history');
    const capped = await readEventsPage(file, { offset: 0, stopAfter: 100 });
    assert.equal(capped.overflow, whole.events.length > 100);
  });
}

test('a missing file is an empty history for both', async () => {
  const file = path.join(dir, 'missing.jsonl');
  assert.deepEqual(
    scanEventsFile(file, () => assert.fail()),
    [],
  );
  assert.deepEqual((await readEventsPage(file, { offset: 0, stopAfter: 10 })).events, []);
});
