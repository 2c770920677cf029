// The notification bus: the backend's notifications fan out to every subscriber, in subscription order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MetricsParams, RunStatusParams } from '../../common/protocol';
import { NotificationBus } from '../../extension/notificationBus';

const status: RunStatusParams = { runId: 'r1', status: 'running' };
const metrics = {
  runId: 'r1',
  epoch: 1,
  step: 10,
  trainLoss: 0.5,
  params: 100,
  samplesPerSecond: 1,
  engine: 'onnxruntime',
  executionProvider: 'cpu',
  elapsedMs: 5,
} as MetricsParams;

test('bus: each event reaches its listeners in the order they subscribed, with its payload', () => {
  const bus = new NotificationBus();
  const seen: string[] = [];
  bus.on('runStatus', (p) => seen.push(`tracker ${p.status}`));
  bus.on('metrics', (p) => seen.push(`tracker step ${p.step}`));
  bus.on('runStatus', (p) => seen.push(`view ${p.runId}`));
  bus.on('backendReady', () => seen.push('ready'));
  bus.emit('runStatus', status);
  bus.emit('metrics', metrics);
  bus.emit('backendReady');
  bus.emit('backendCrashed'); // no listener: nothing happens
  assert.deepEqual(seen, ['tracker running', 'view r1', 'tracker step 10', 'ready']);
});

test('bus: a disposed subscription hears nothing more; the others still do', () => {
  const bus = new NotificationBus();
  const seen: string[] = [];
  const a = bus.on('growEvent', () => seen.push('a'));
  bus.on('growEvent', () => seen.push('b'));
  a.dispose();
  a.dispose(); // twice is harmless
  bus.emit('growEvent', {} as never);
  assert.deepEqual(seen, ['b']);
  bus.clear();
  bus.emit('growEvent', {} as never);
  assert.deepEqual(seen, ['b']);
});

test('bus: a listener that throws does not keep the event from the next ones; onError gets it', () => {
  const bus = new NotificationBus();
  const errors: string[] = [];
  bus.onError = (event, err) => errors.push(`${event}: ${(err as Error).message}`);
  const seen: string[] = [];
  bus.on('runStatus', () => {
    throw new Error('boom');
  });
  bus.on('runStatus', (p) => seen.push(p.runId));
  bus.emit('runStatus', status);
  assert.deepEqual(seen, ['r1']);
  assert.deepEqual(errors, ['runStatus: boom']);
});

test('bus: a listener subscribing or unsubscribing during an emit changes the next emit, not this one', () => {
  const bus = new NotificationBus();
  const seen: string[] = [];
  const first = bus.on('backendCrashed', () => {
    seen.push('first');
    first.dispose();
    bus.on('backendCrashed', () => seen.push('late'));
  });
  bus.on('backendCrashed', () => seen.push('second'));
  bus.emit('backendCrashed');
  bus.emit('backendCrashed');
  assert.deepEqual(seen, ['first', 'second', 'second', 'late']);
});
