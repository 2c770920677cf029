/**
 * listRuns on a long run with and without the writer's digest.json: a 300,000-metrics run written through the
 * store, listed by a fresh store each time. Run: node --import tsx scripts/benchDigest.ts
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RunStore } from '../server/runs/runStore';
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'gl-dig-'));
const config: any = { name: 'big', dataset: { name: 'mnist' }, model: { layers: [] }, training: { epochs: 1 } };
const s = new RunStore(out);
const h = s.createRun(config);
h.append({
  type: 'start',
  time: '2026-12-01T10:00:00.000Z',
  runId: h.runId,
  config,
  architecture: { params: 100, layers: [] } as any,
  warnings: [],
});
for (let i = 1; i <= 300000; i++)
  h.append({
    type: 'metrics',
    time: '2026-12-01T10:00:00.000Z',
    runId: h.runId,
    epoch: 1,
    step: i,
    params: 100,
    trainLoss: 1 / i,
    trainAccuracy: 0.5,
  } as any);
h.append({ type: 'status', time: '2026-12-01T10:00:00.000Z', runId: h.runId, status: 'stopped' });
h.close();
const size = fs.statSync(path.join(h.dir, 'events.jsonl')).size;
for (const withDigest of [true, false, true, false]) {
  if (!withDigest) fs.renameSync(path.join(h.dir, 'digest.json'), path.join(out, 'd'));
  const st = new RunStore(out);
  const t = process.hrtime.bigint();
  st.listRuns();
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  console.log(`digest.json ${withDigest}: ${ms.toFixed(1)} ms, read ${st.digestBytesRead(h.runId)} of ${size} bytes`);
  if (!withDigest) fs.renameSync(path.join(out, 'd'), path.join(h.dir, 'digest.json'));
}
fs.rmSync(out, { recursive: true });
