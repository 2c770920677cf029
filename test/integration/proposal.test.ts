// growthLab.review = ask: grow with {propose: true}, then commitProposal / rejectProposal against the real backend.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  ErrorCodes,
  Methods,
  type Architecture,
  type ExportResult,
  type GrowEventParams,
  type GrowResult,
  type RunEvent,
} from '../../common/protocol';
import { BackendClient } from './backendClient';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'growth-lab-proposal-'));
const client = new BackendClient();
after(() => {
  client.kill();
  fs.rmSync(work, { recursive: true, force: true });
});

async function exportWeights(runId: string, name: string): Promise<Buffer> {
  const r = await client.conn.sendRequest<ExportResult>(Methods.export, {
    runId,
    format: 'tfjs',
    path: path.join(work, 'exports', name),
    force: true,
  });
  const bin = r.files.find((f) => f.endsWith('.bin'));
  assert.ok(bin, r.files.join(', '));
  return fs.readFileSync(bin);
}

const arch = (runId: string) => client.conn.sendRequest<Architecture>(Methods.getArchitecture, { runId });

test('a proposed grow pauses the run; reject restores the weights bit for bit; commit applies them', async () => {
  await client.initialize(work);
  const config = {
    dataset: { name: 'mnist', trainSize: 3000, testSize: 300 },
    model: { layers: [{ type: 'dense', units: 16, activation: 'relu' }] },
    training: { epochs: 200, batchSize: 100 },
  };
  const { runId } = await client.conn.sendRequest<{ runId: string }>(Methods.startExperiment, { config });
  await client.until(() => client.metrics.find((m) => m.runId === runId), 30000, 'first metrics');
  await client.conn.sendRequest(Methods.pauseExperiment, { runId });
  await client.until(() => client.statusOf(runId, 'paused'), 5000, 'paused');

  const archBefore = await arch(runId);
  const weightsBefore = await exportWeights(runId, 'before');

  // Propose: the live model is grown, nothing is committed.
  const proposed = await client.conn.sendRequest<GrowResult>(Methods.grow, {
    runId,
    method: 'firefly',
    options: { neurons: 6 },
    propose: true,
  });
  assert.equal(typeof proposed.proposalId, 'string');
  assert.deepEqual(proposed.before, archBefore);
  assert.deepEqual(
    proposed.after.layers.map((l) => l.width),
    [22, 10],
  );
  assert.deepEqual(
    (await arch(runId)).layers.map((l) => l.width),
    [22, 10],
    'the live model holds the proposal',
  );
  await assert.rejects(
    client.conn.sendRequest(Methods.resumeExperiment, { runId }),
    (e: any) => e.code === ErrorCodes.invalidState && /proposal/.test(e.message),
  );
  await assert.rejects(
    client.conn.sendRequest(Methods.grow, { runId, method: 'firefly', propose: true }),
    (e: any) => e.code === ErrorCodes.growthFailed && /pending proposal/.test(e.message),
  );
  await assert.rejects(
    client.conn.sendRequest(Methods.rejectProposal, { runId, proposalId: 'nope' }),
    (e: any) => e.code === ErrorCodes.invalidState,
  );

  // Reject (staying paused so that nothing trains in between): identical architecture and weights.
  assert.deepEqual(await client.conn.sendRequest(Methods.rejectProposal, { runId, proposalId: proposed.proposalId, resume: false }), {
    ok: true,
  });
  assert.deepEqual(await arch(runId), archBefore);
  const weightsAfterReject = await exportWeights(runId, 'rejected');
  assert.equal(Buffer.compare(weightsAfterReject, weightsBefore), 0, 'weights identical after reject');
  let history = await client.conn.sendRequest<RunEvent[]>(Methods.getRunHistory, { runId });
  assert.equal(history.filter((e) => e.type === 'grow').length, 0, 'no grow event for a rejected proposal');
  assert.equal(client.growEvents.length, 0, 'no growEvent notification for a proposal');
  await assert.rejects(
    client.conn.sendRequest(Methods.commitProposal, { runId, proposalId: proposed.proposalId }),
    (e: any) => e.code === ErrorCodes.invalidState,
  );

  // Propose again and commit: the grow is kept, recorded and the run resumes.
  const second = await client.conn.sendRequest<GrowResult>(Methods.grow, {
    runId,
    method: 'net2net-wider',
    options: { neurons: 4 },
    propose: true,
  });
  const weightsProposed = await exportWeights(runId, 'proposed');
  const committed = await client.conn.sendRequest<GrowEventParams>(Methods.commitProposal, { runId, proposalId: second.proposalId });
  assert.deepEqual(committed.after, second.after);
  await client.until(() => client.growEvents.find((e) => e.runId === runId), 5000, 'growEvent after commit');
  assert.equal(weightsProposed.length, second.after.params * 4, 'the proposal export holds the grown weights');
  await client.until(
    () => client.metrics.find((m) => m.runId === runId && m.params === second.after.params),
    20000,
    'training resumed with the grown model',
  );
  assert.deepEqual(
    (await arch(runId)).layers.map((l) => l.width),
    [20, 10],
  );
  history = await client.conn.sendRequest<RunEvent[]>(Methods.getRunHistory, { runId });
  assert.equal(history.filter((e) => e.type === 'grow').length, 1);
  assert.ok(fs.readdirSync(path.join(work, '.growth-lab', 'runs', runId, 'checkpoints')).includes('grow-0001.ckpt'));

  // A pending proposal is undone when the run stops.
  const third = await client.conn.sendRequest<GrowResult>(Methods.grow, {
    runId,
    method: 'net2net-wider',
    options: { neurons: 2 },
    propose: true,
  });
  assert.ok(third.proposalId);
  await client.conn.sendRequest(Methods.stopExperiment, { runId });
  await client.until(() => client.statusOf(runId, 'stopped'), 10000, 'stopped');
  assert.deepEqual(
    (await arch(runId)).layers.map((l) => l.width),
    [20, 10],
  );
  assert.equal(await client.shutdown(), 0);
});
