/**
 * npm run demo: an MNIST MLP grown by Firefly from 16 hidden units, next to a fixed 784-256-10 network
 * trained for the same number of epochs, both through the CLI (`growth-lab run --json`). Prints each
 * run's progress, then both test accuracies and parameter counts.
 */
import { spawn } from 'child_process';
import * as path from 'path';
import * as readline from 'readline';

const ROOT = path.resolve(__dirname, '..');
const BIN = path.join(ROOT, 'bin', 'growth-lab.js');

interface Summary {
  status: string;
  finalTestAccuracy: number;
  params: number;
  wallMs: number;
  growEvents: number;
  architecture: { layers: { width?: number }[] };
  message?: string;
}

function run(file: string, label: string): Promise<Summary> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'run', path.join(ROOT, 'examples', file), '--json'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let summary: Summary | undefined;
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      const e = JSON.parse(line);
      if (e.type === 'metrics' && e.testAccuracy !== undefined) {
        console.log(
          `${label}  epoch ${String(e.epoch).padStart(2)}  test acc ${(100 * e.testAccuracy).toFixed(2)}%  params ${e.params.toLocaleString('en-US')}`,
        );
      } else if (e.type === 'grow') {
        const w = (a: { layers: { width?: number }[] }) => a.layers.map((l) => l.width).join('-');
        console.log(
          `${label}  grow (${e.method}): ${w(e.before)} -> ${w(e.after)}  loss ${e.lossBefore.toFixed(4)} -> ${e.lossAfter.toFixed(4)}  ${e.durationMs} ms`,
        );
      } else if (e.type === 'summary') summary = e;
    });
    child.on('exit', (code) =>
      summary && code === 0 ? resolve(summary) : reject(new Error(`${file}: exit ${code} ${summary?.message ?? ''}`)),
    );
  });
}

async function main() {
  const grown = await run('mnist-firefly.growth.json', 'firefly');
  const fixed = await run('mnist.growth.json', 'fixed  ');
  const widths = (s: Summary) => `784-${s.architecture.layers.map((l) => l.width).join('-')}`;
  const gap = 100 * (fixed.finalTestAccuracy - grown.finalTestAccuracy);
  console.log('');
  console.log(
    `grown by Firefly : ${widths(grown)}  test accuracy ${(100 * grown.finalTestAccuracy).toFixed(2)}%  params ${grown.params.toLocaleString('en-US')}  ${grown.growEvents} grow step${grown.growEvents === 1 ? '' : 's'}  ${(grown.wallMs / 1000).toFixed(1)} s`,
  );
  console.log(
    `fixed network    : ${widths(fixed)}  test accuracy ${(100 * fixed.finalTestAccuracy).toFixed(2)}%  params ${fixed.params.toLocaleString('en-US')}  ${(fixed.wallMs / 1000).toFixed(1)} s`,
  );
  console.log(
    `difference       : ${gap.toFixed(2)} points with ${((100 * grown.params) / fixed.params).toFixed(0)}% of the parameters (${gap <= 0.3 && grown.params < fixed.params ? 'within 0.3 points, fewer parameters' : 'NOT within 0.3 points with fewer parameters'})`,
  );
}

main().catch((e) => {
  console.error(e.message);
  process.exitCode = 1;
});
