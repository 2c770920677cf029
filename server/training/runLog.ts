/**
 * A run's record: every event goes to the run folder's events file and, for status, metrics and
 * grows, to the listener. A failed write never interrupts training: the first one is kept and the
 * run ends as failed at its next check (throwIfFailed).
 */
import type { GrowEventParams, MetricsParams, RunStatusParams } from '../../common/protocol';
import type { Checkpoint, RunHandle } from '../runs';
import { RunFailure, type RunListener } from './runTypes';

export class RunLog {
  private appendError: Error | undefined;

  constructor(
    private readonly handle: RunHandle,
    private readonly listener: RunListener,
  ) {}

  /** Append an event to the events file (a failure is kept for throwIfFailed). */
  append(e: Parameters<RunHandle['append']>[0]): void {
    try {
      this.handle.append(e);
    } catch (err) {
      this.appendError ??= err as Error;
    }
  }

  status(s: RunStatusParams): void {
    this.append({ type: 'status', time: new Date().toISOString(), ...s });
    this.listener.status(s);
  }

  metrics(m: MetricsParams): void {
    this.append({ type: 'metrics', time: new Date().toISOString(), ...m });
    this.listener.metrics(m);
  }

  grow(event: GrowEventParams): void {
    this.append({ type: 'grow', time: new Date().toISOString(), ...event });
    this.listener.grow?.(event);
  }

  /** Write a checkpoint file and its event; `epoch` is the task index for continual runs. */
  checkpoint(runId: string, tag: 'epoch' | 'grow' | 'task', index: number, checkpoint: Checkpoint, epoch: number, step: number): void {
    const file = this.handle.writeCheckpoint(tag, index, checkpoint);
    this.append({ type: 'checkpoint', time: new Date().toISOString(), runId, epoch, step, file });
  }

  throwIfFailed(): void {
    if (this.appendError) throw new RunFailure(`cannot write the run's events: ${this.appendError.message}`);
  }

  close(): void {
    this.handle.close();
  }
}
