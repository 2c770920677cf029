/**
 * Wall time of one continual method on split-cifar-100's first tasks with the experiment's default
 * conv net, the paper's thin VGG-16 at a quarter of VGG-16's widths (thinVgg16([3, 32, 32], 0.25)),
 * for docs/continual-learning.md ("How long it takes on a CPU"). Any CIFAR-100 binary folder works
 * (train.bin, test.bin); the figures in the docs come from a generated one.
 *
 *   node --import tsx scripts/timeSplitCifar100.ts --data DIR [--method finetune] [--tasks 2]
 *        [--train 500] [--test 100] [--epochs 1,3] [--batch 32] [--lr 0.002] [--threads 2]
 *
 * Prints one line per task and a line per `--epochs` value with the wall time of the first `--tasks`
 * tasks. Firefly CL runs with its default settings (FIREFLY_CL_DEFAULTS; initialWidth the net's widths).
 */
import { CONTINUAL_METHODS, type ContinualMethod, loadStream, makeLearner, runContinual, thinVgg16 } from '../server/continual';
import { OrtExecutor } from '../server/engine';
import { Rng } from '../server/random';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : def;
}

async function main(): Promise<void> {
  const data = arg('data', '');
  if (!data) throw new Error('--data: the CIFAR-100 binary folder (train.bin, test.bin)');
  const method = arg('method', 'finetune') as ContinualMethod;
  if (!CONTINUAL_METHODS.includes(method)) throw new Error(`--method: one of ${CONTINUAL_METHODS.join(', ')}`);
  const tasks = Number(arg('tasks', '2'));
  const executor = await OrtExecutor.create({ threads: Number(arg('threads', '2')) });
  const s = await loadStream('split-cifar-100', {
    seed: 1,
    path: data,
    baseDir: process.cwd(),
    tasks: 10,
    trainPerTask: Number(arg('train', '500')),
    testPerTask: Number(arg('test', '100')),
  });
  const stream = { ...s, tasks: s.tasks.slice(0, tasks) };
  for (const epochs of arg('epochs', '1,3').split(',').map(Number)) {
    const settings = {
      hidden: [],
      epochs,
      batchSize: Number(arg('batch', '32')),
      learningRate: Number(arg('lr', '0.002')),
      init: 'uniform' as const,
      optimizerState: 'keep' as const,
      conv: thinVgg16([3, 32, 32], 0.25),
    };
    const learner = makeLearner(method, { executor, features: s.features, classes: s.classesPerTask, tasks, rng: new Rng(1), settings });
    const r = await runContinual(learner, stream, (t) =>
      console.log(`${method} epochs ${epochs} task ${t.task + 1}: ${t.seconds.toFixed(1)} s, ${t.parameters} parameters`),
    );
    console.log(`${method} epochs ${epochs}: ${r.seconds.toFixed(1)} s for ${tasks} tasks of ${stream.tasks[0].train.n} training images`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
