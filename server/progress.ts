/** Human-readable progress for the CLI: a redrawn bar on a terminal, plain lines otherwise. */
import type { GrowEventParams, MetricsParams, RunStatusParams } from '../common/protocol';
import type { RunSummaryResult } from './training/experiment';

const pct = (v: number | undefined) => (v === undefined ? '—' : `${(100 * v).toFixed(2)}%`);
const num = (v: number) => (v >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : v >= 1e3 ? `${(v / 1e3).toFixed(1)}k` : `${Math.round(v)}`);

export class ProgressPrinter {
  private barShown = false;
  constructor(
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
    private readonly quiet: boolean,
    private readonly epochs: number,
  ) {}

  private get tty(): boolean {
    return !!this.out.isTTY;
  }

  private line(s: string): void {
    if (this.barShown) this.out.write('\r\x1b[2K');
    this.barShown = false;
    this.out.write(s + '\n');
  }

  metrics(m: MetricsParams): void {
    if (this.quiet) return;
    const c = m.continual;
    if (c && m.task !== undefined) {
      const row = c.accuracies.map((a) => (a * 100).toFixed(1)).join(' ');
      this.line(
        `${c.method} task ${m.task + 1}/${c.tasks} (${c.taskName})  average acc ${pct(c.averageAccuracy)}  forgetting ${(c.forgetting * 100).toFixed(2)} points  params ${m.params.toLocaleString('en-US')}  accuracies [${row}]`,
      );
      return;
    }
    if (m.testAccuracy !== undefined || m.testLoss !== undefined) {
      this.line(
        `epoch ${m.epoch}/${this.epochs}  train loss ${m.trainLoss.toFixed(4)}  train acc ${pct(m.trainAccuracy)}  test loss ${m.testLoss?.toFixed(4) ?? '—'}  test acc ${pct(m.testAccuracy)}  ${num(m.samplesPerSecond)} samples/s`,
      );
      return;
    }
    if (!this.tty) return;
    const width = 24;
    const frac = Math.min(1, (m.epoch - 1) / this.epochs);
    const filled = Math.round(frac * width);
    this.out.write(
      `\r\x1b[2Kepoch ${m.epoch}/${this.epochs} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] step ${m.step}  loss ${m.trainLoss.toFixed(4)}  ${num(m.samplesPerSecond)} samples/s`,
    );
    this.barShown = true;
  }

  status(s: RunStatusParams): void {
    if (this.quiet) return;
    if (s.status === 'running' && !s.message) return;
    this.line(`[${s.status}] ${s.message ?? ''}${s.warnings?.length ? `  (warnings: ${s.warnings.join('; ')})` : ''}`);
  }

  grow(e: GrowEventParams): void {
    if (this.quiet) return;
    const widths = (a: GrowEventParams['before']) => a.layers.map((l) => l.width ?? '·').join('-');
    this.line(
      `${e.kind} (${e.method}) at epoch ${e.epoch}: ${widths(e.before)} -> ${widths(e.after)}, params ${e.before.params.toLocaleString('en-US')} -> ${e.after.params.toLocaleString('en-US')}, loss ${e.lossBefore.toFixed(4)} -> ${e.lossAfter.toFixed(4)}, ${e.durationMs} ms`,
    );
  }

  summary(r: RunSummaryResult, runDir: string): void {
    this.line(
      `${r.status === 'completed' ? 'done' : r.status}: test accuracy ${pct(r.finalTestAccuracy)}, params ${r.params.toLocaleString('en-US')}, ${(r.wallMs / 1000).toFixed(1)} s on ${r.engine} (${r.executionProvider})`,
    );
    this.line(`run saved in ${runDir}`);
  }
}
