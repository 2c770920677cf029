/**
 * Grow and prune requests from outside the training loop (protocol or schedule), queued until the
 * next batch boundary, and the one proposal that may wait for review (growthLab.review = ask): a
 * grow applied to the live model whose pre-grow copy is kept until it is committed or rejected.
 */
import type { GrowEventParams } from '../../common/protocol';
import { GrowthError, type GrowOptions } from '../growth/types';
import type { GrowableModel } from '../model/growable';

export type GrowOutcome = GrowEventParams & { proposalId?: string };

/** A grow or prune requested from outside the loop (protocol or schedule). */
export interface GrowRequest {
  kind: 'grow' | 'prune';
  method: string;
  options: GrowOptions;
  /** Apply to the live model but keep the pre-grow copy until commitProposal / rejectProposal. */
  propose?: boolean;
  resolve(e: GrowOutcome): void;
  reject(e: Error): void;
}

/** A grow applied to the live model but not committed (growthLab.review = ask). */
export interface PendingProposal {
  id: string;
  backup: GrowableModel;
  event: GrowEventParams;
}

export class GrowRequests {
  private readonly queue: GrowRequest[] = [];
  private proposal: PendingProposal | undefined;
  private proposalCounter = 0;

  constructor(private readonly runId: string) {}

  /** The proposal waiting for review, if any. */
  get pending(): PendingProposal | undefined {
    return this.proposal;
  }

  /** Refuses a new request while a proposal waits, and a second proposal while one is being computed. */
  assertAccepts(propose: boolean): void {
    if (this.proposal) throw this.pendingError(this.proposal);
    if (propose && this.queue.some((r) => r.propose)) throw new GrowthError(`run ${this.runId} already has a proposal being computed`);
  }

  push(r: GrowRequest): void {
    this.queue.push(r);
  }

  /** Runs the queued requests in order; one queued before a proposal was made is refused (never grow on an uncommitted model). */
  async drain(run: (r: GrowRequest) => Promise<GrowOutcome>): Promise<void> {
    while (this.queue.length) {
      const r = this.queue.shift()!;
      if (this.proposal) {
        r.reject(this.pendingError(this.proposal));
        continue;
      }
      try {
        r.resolve(await run(r));
      } catch (e) {
        r.reject(e as Error);
      }
    }
  }

  /** Keeps a grow uncommitted with the model's pre-grow copy; returns the proposal's id. */
  propose(backup: GrowableModel, event: GrowEventParams): string {
    const id = `p${++this.proposalCounter}`;
    this.proposal = { id, backup, event };
    return id;
  }

  /** Removes and returns the pending proposal `id` (to commit or reject it). */
  take(id: unknown): PendingProposal {
    const p = this.proposal;
    if (!p) throw new GrowthError(`run ${this.runId} has no pending proposal`);
    if (id !== p.id) throw new GrowthError(`run ${this.runId} has no proposal "${String(id)}" (pending: ${p.id})`);
    this.proposal = undefined;
    return p;
  }

  /** Drops the pending proposal, if any, and returns it (the run stops). */
  discard(): PendingProposal | undefined {
    const p = this.proposal;
    this.proposal = undefined;
    return p;
  }

  /** Refuses every request still queued (the run ended). */
  rejectAll(error: (r: GrowRequest) => Error): void {
    for (const r of this.queue.splice(0)) r.reject(error(r));
  }

  private pendingError(p: PendingProposal): GrowthError {
    return new GrowthError(`run ${this.runId} has a pending proposal (${p.id}): commit or reject it first`);
  }
}
