/** What the benches share: training steps per second on a Trainer, measured the same way everywhere. */
import { Rng } from '../server/random';
import type { Trainer } from '../server/trainer/trainer';

/**
 * Samples per second of `trainer.step` at `batch` over at least `seconds` (and `minSteps` steps), after
 * `warmup` steps (session build, first-run allocations); rows are taken in one seeded order, cycling.
 */
export async function samplesPerSecond(trainer: Trainer, batch: number, seconds: number, warmup = 3, minSteps = 2): Promise<number> {
  const rows = trainer.data.train.n;
  const order = new Rng(1).permutation(rows);
  let pos = 0;
  const step = async () => {
    if (pos + batch > rows) pos = 0;
    await trainer.step(order, pos, batch);
    pos += batch;
  };
  for (let i = 0; i < warmup; i++) await step();
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000 || n < minSteps) {
    await step();
    n++;
  }
  return (n * batch * 1000) / (performance.now() - t0);
}
