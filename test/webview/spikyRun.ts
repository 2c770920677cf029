/**
 * A recorded-style run for the chart tests: the start and grow events of a recorded run
 * (fixtures/grown-run.jsonl) around 100,000 metrics events per series from a seeded generator
 * (the same numbers every time), with about 40 spikes per loss series, 6 to 12 times their level.
 */
import type { RunEvent } from '../../common/protocol';
import { readEvents } from './harness';

const N = 100_000;
const RUN = '20261123-130000-spiky-100k-5eed';
const recorded = readEvents('grown-run');
const template = {
  start: recorded.find((e) => e.type === 'start') as RunEvent & { type: 'start' },
  grows: recorded.filter((e): e is RunEvent & { type: 'grow' } => e.type === 'grow'),
};

/** Park–Miller: the same numbers on every run. */
function rng(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 48271) % 2147483647) / 2147483647;
}

export interface Synthetic {
  events: RunEvent[];
  trainLoss: number[];
  testLoss: number[];
  spikes: { series: 'trainLoss' | 'testLoss'; step: number; value: number }[];
  growSteps: number[];
}

export function syntheticRun(): Synthetic {
  const rand = rng(20261123);
  const events: RunEvent[] = [];
  const t0 = Date.parse('2026-11-23T13:00:00.000Z');
  const start = { ...template.start, runId: RUN, time: new Date(t0).toISOString() };
  events.push({ type: 'status', time: start.time, runId: RUN, status: 'running' }, start);
  const trainLoss: number[] = [],
    testLoss: number[] = [];
  const spikes: Synthetic['spikes'] = [];
  const growSteps: number[] = [];
  let params = template.start.architecture.params;
  for (let i = 0; i < N; i++) {
    const step = i + 1;
    let tl = 0.3 + 1.7 * Math.exp(-i / 15000) + 0.04 * (rand() - 0.5);
    let vl = 0.35 + 1.6 * Math.exp(-i / 15000) + 0.03 * (rand() - 0.5);
    // About 40 spikes per series, 6 to 12 times the level around them.
    if (rand() < 0.0004) {
      tl *= 6 + 6 * rand();
      spikes.push({ series: 'trainLoss', step, value: tl });
    }
    if (rand() < 0.0004) {
      vl *= 6 + 6 * rand();
      spikes.push({ series: 'testLoss', step, value: vl });
    }
    trainLoss.push(tl);
    testLoss.push(vl);
    events.push({
      type: 'metrics',
      time: new Date(t0 + i * 4).toISOString(),
      runId: RUN,
      epoch: 1 + Math.floor(i / 1500),
      step,
      trainLoss: tl,
      testLoss: vl,
      trainAccuracy: 0.95 - 0.85 * Math.exp(-i / 12000),
      testAccuracy: 0.93 - 0.83 * Math.exp(-i / 12000),
      params,
      samplesPerSecond: 2000 + 300 * Math.sin(i / 40) + 50 * rand(),
      engine: 'onnxruntime',
      executionProvider: 'cpu',
      elapsedMs: i * 4,
    } as RunEvent);
    if (step % 11_000 === 0 && growSteps.length < 8) {
      const g = template.grows[growSteps.length % template.grows.length];
      growSteps.push(step);
      params = g.after.params;
      events.push({ ...g, runId: RUN, step, epoch: 1 + Math.floor(i / 1500), time: new Date(t0 + i * 4 + 1).toISOString() });
    }
  }
  events.push({ type: 'status', time: new Date(t0 + N * 4).toISOString(), runId: RUN, status: 'completed' });
  return { events, trainLoss, testLoss, spikes, growSteps };
}

export const SPIKY = { N, RUN, template };
