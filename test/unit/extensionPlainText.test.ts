import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PLAIN_TEXT_MAX, plainText } from '../../extension/plainText';

test('plainText: markdown links and command: URIs are defused, icons and control characters removed, length capped', () => {
  assert.equal(plainText('click [here](command:workbench.action.terminal.new)'), 'click [here] (command :workbench.action.terminal.new)');
  assert.equal(plainText('[x]  (https://evil)'), '[x] (https://evil)');
  assert.equal(plainText('see COMMAND:growthLab.x'), 'see COMMAND :growthLab.x');
  assert.equal(plainText('$(warning) fake'), '$ (warning) fake');
  assert.equal(plainText('a\x00b\x1b[31mc\u202ed\u200be\ufeff'), 'ab[31mcde');
  assert.equal(plainText('line1\r\nline2\nline3\u2028x'), 'line1 line2 line3 x');
  assert.equal(plainText('line1\r\nline2', { newlines: true }), 'line1\nline2');
  assert.equal(plainText(undefined), '');
  assert.equal(plainText(42), '42');
  const long = plainText('y'.repeat(10_000));
  assert.equal(long.length, PLAIN_TEXT_MAX);
  assert.ok(long.endsWith('…'));
  assert.equal(plainText('ab🙂cd', { max: 4 }), 'ab…');
  assert.ok(!/\]\(/.test(plainText('[a](b)[c](command:d)')));
});

test('run notifications, the status bar and tree items show run-, file- and backend-derived text as plain text', async () => {
  const { runWarningMessage, runFailedMessage, runCompletedMessage, statusBarView } = await import('../../extension/runTracker');
  const { runNode, growNodes, treeItemText } = await import('../../extension/experimentsTree');
  const evil = '[Open](command:workbench.action.terminal.sendSequence?%7B%22text%22%3A%22rm%22%7D) $(check)\n\x1b';
  const run = { runId: 'run-1', name: evil, testAccuracy: 0.5 };
  for (const msg of [runWarningMessage(run, evil), runFailedMessage(run, evil), runCompletedMessage(run)]) {
    assert.ok(!msg.includes(']('), msg);
    assert.ok(!/command:/i.test(msg), msg);
    assert.ok(!msg.includes('$('), msg);
    assert.ok(!/[\n\x1b]/.test(msg), msg);
    assert.match(msg, /^Growth Lab: /);
  }
  assert.equal(runFailedMessage({ name: 'n', runId: 'r' }, undefined), 'Growth Lab: run n (r) failed.');
  assert.equal(runCompletedMessage({ name: 'n', runId: 'r', testAccuracy: 0.5 }), 'Growth Lab: run n (r) completed (test accuracy 50.0%).');
  const view = statusBarView({ runId: 'r', name: evil, status: 'running', warnings: [evil], message: evil })!;
  assert.match(view.text, /^\$\(pulse\) Growth Lab: \[Open\] \(command :/);
  assert.equal(view.text.match(/\$\(/g)!.length, 1, 'only our own icon');
  assert.ok(!view.tooltip.includes('](') && !/command:/i.test(view.tooltip));
  const summary = {
    runId: 'run-[x](command:y)',
    name: evil,
    status: 'failed',
    startedAt: '2026-01-01',
    epochs: 1,
    epochsDone: 1,
    params: 3,
    growSteps: 1,
    dataset: evil,
    engine: 'cpu',
    executionProvider: 'cpu',
  } as unknown as Parameters<typeof runNode>[0];
  const nodes = [
    runNode(summary),
    ...growNodes('r', [
      { kind: 'grow', method: evil, step: 1, epoch: 1, lossBefore: 1, lossAfter: 1, before: { params: 1 }, after: { params: 2 } } as never,
    ]),
  ];
  for (const n of nodes) {
    const t = treeItemText(n);
    for (const s of [t.label, t.description ?? '', t.tooltip ?? '']) {
      assert.ok(!s.includes(']('), s);
      assert.ok(!/command:/i.test(s), s);
      assert.ok(!s.includes('\x1b'), s);
    }
  }
});
