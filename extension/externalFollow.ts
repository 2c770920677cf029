/**
 * Following an external run live (a torchrun job's train.py writing events.jsonl, perhaps on the remote
 * host VS Code is attached to): the backend sends no notifications for it, so the monitor asks for the
 * events after the ones it has, every `everyMs`, while the job says it is running and the panel shows it.
 */
import type { RunEvent, RunHistoryParams } from '../common/protocol';

export const EXTERNAL_FOLLOW_MS = 2000;
const PAGE = 1000;

export interface ExternalFollowHost {
  readPage(params: RunHistoryParams): Promise<RunEvent[]>;
  /** New events of the followed run, in order. */
  onEvents(runId: string, events: RunEvent[]): void;
  log(message: string): void;
}

export class ExternalRunFollower {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private runId: string | undefined;
  private known = 0;
  private generation = 0;

  constructor(
    private readonly host: ExternalFollowHost,
    private readonly everyMs = EXTERNAL_FOLLOW_MS,
  ) {}

  /** Follows `runId` from event `known` on (the length of the history already shown); replaces any earlier follow. */
  follow(runId: string, known: number): void {
    this.stop();
    this.runId = runId;
    this.known = known;
    this.schedule(++this.generation);
  }

  stop(): void {
    this.generation++;
    this.runId = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  get following(): string | undefined {
    return this.runId;
  }

  private schedule(generation: number): void {
    this.timer = setTimeout(() => void this.poll(generation), this.everyMs);
  }

  private async poll(generation: number): Promise<void> {
    this.timer = undefined;
    const runId = this.runId;
    if (!runId || generation !== this.generation) return;
    let ended = false;
    try {
      for (;;) {
        const page = await this.host.readPage({ runId, offset: this.known, limit: PAGE });
        if (generation !== this.generation) return;
        if (page.length === 0) break;
        this.known += page.length;
        this.host.onEvents(runId, page);
        const last = [...page].reverse().find((e) => e.type === 'status');
        if (last && last.type === 'status') ended = last.status !== 'running';
        if (page.length < PAGE) break;
      }
    } catch (err) {
      this.host.log(`monitor: following external run ${runId} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (generation !== this.generation) return;
    if (ended) this.stop();
    else this.schedule(generation);
  }
}
