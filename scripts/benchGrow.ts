/**
 * npm run bench:grow: time of one grow step per method at hidden widths 64, 256 and 1024 (an MLP on
 * MNIST), next to the time of one training epoch at the same width, in one run. Prints JSON.
 * Targets: a Firefly step costs less than one epoch; Firefly is at least 5x faster than exact
 * splitting at width 256 (Firefly paper, Figure 4b).
 */
import { loadDataset } from '../server/datasets';
import { OrtExecutor } from '../server/engine';
import { growContext, growthMethods, runGrowStep } from '../server/growth';
import { GrowableModel } from '../server/model/growable';
import { specFromConfig } from '../server/model/spec';
import { Rng } from '../server/random';
import { Trainer } from '../server/trainer/trainer';
import { trainingConfig } from '../test/unit/fixtures';

const args = process.argv.slice(2);
const widths = args.includes('--quick') ? [64] : [64, 256, 1024];
/** Exact splitting solves one eigenproblem of size 785 per neuron: skipped above this width unless --all. */
const SPLITTING_MAX_WIDTH = args.includes('--all') ? Infinity : 256;

const training = trainingConfig({ batchSize: 128, learningRate: 0.05 });

async function main() {
  const data = await loadDataset({ name: 'mnist' }, { seed: 1 });
  const ex = await OrtExecutor.create();
  const rows = [];
  for (const width of widths) {
    const spec = specFromConfig(
      { layers: [{ type: 'dense', units: width, activation: 'tanh' }], init: 'he' },
      data.inputShape,
      'classification',
      10,
    );
    const base = GrowableModel.create(spec, 1, ['momentum']);
    // one real training epoch at this width (timed), which also gives the methods a trained model
    const trainer = new Trainer(base, data, training, ex);
    const order = new Rng(1).permutation(data.train.n);
    await trainer.step(order, 0, 128);
    const t0 = performance.now();
    for (let s = 0; s < data.train.n; s += 128) await trainer.step(order, s, Math.min(128, data.train.n - s));
    const epochMs = performance.now() - t0;
    await trainer.dispose();
    const methods: Record<string, number | string> = {};
    for (const m of growthMethods()) {
      if (m.name === 'splitting' && width > SPLITTING_MAX_WIDTH) {
        methods[m.name] = `skipped above width ${SPLITTING_MAX_WIDTH} (use --all)`;
        continue;
      }
      const model = base.clone();
      const tr = new Trainer(model, data, training, ex);
      const ctx = growContext(tr, 7);
      const reason = m.unsupported?.(model);
      if (reason) {
        methods[m.name] = `unsupported: ${reason}`;
        await tr.dispose();
        continue;
      }
      const t1 = performance.now();
      await runGrowStep(ctx, m, {}, { runId: 'bench', step: 0, epoch: 0 });
      methods[m.name] = Math.round(performance.now() - t1);
      await tr.dispose();
    }
    const ff = methods.firefly,
      sp = methods.splitting;
    rows.push({
      width,
      epochMs: Math.round(epochMs),
      growStepMs: methods,
      fireflyStepOverEpoch: typeof ff === 'number' ? +(ff / epochMs).toFixed(2) : undefined,
      splittingOverFirefly: typeof ff === 'number' && typeof sp === 'number' ? +(sp / ff).toFixed(1) : undefined,
    });
  }
  const at256 = rows.find((r) => r.width === 256);
  process.stdout.write(
    JSON.stringify(
      {
        rows,
        targets: {
          fireflyStepBelowOneEpoch: rows.every((r) => r.fireflyStepOverEpoch === undefined || r.fireflyStepOverEpoch < 1),
          fireflyAtLeast5xFasterThanSplittingAt256:
            at256?.splittingOverFirefly === undefined ? 'not measured' : at256.splittingOverFirefly >= 5,
        },
      },
      null,
      2,
    ) + '\n',
  );
}

main().catch((e) => {
  process.stderr.write(`${e.stack ?? e}\n`);
  process.exitCode = 1;
});
