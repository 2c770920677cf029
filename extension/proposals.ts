/**
 * growthLab.review = ask: a grow is proposed (growthLab/grow with propose: true), the run pauses and
 * the architecture diff opens with Accept / Reject (editor title actions and a notification).
 */
import * as vscode from 'vscode';
import { ErrorCodes, Methods, type GrowEventParams } from '../common/protocol';
import { parseReviewKey } from './architectureYaml';
import type { Backend } from './backend';
import { backendErrorText } from './experimentFile';
import type { ReviewDocuments } from './review';
import { plainText } from './plainText';

const ACCEPT = 'Accept';
const REJECT = 'Reject';
const SHOW_DIFF = 'Show diff';
export const PROPOSAL_CONTEXT_KEY = 'growthLab.proposalPending';

interface Pending {
  runId: string;
  proposalId: string;
  event: GrowEventParams;
}

export class ProposalManager {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly backend: Backend,
    private readonly reviews: ReviewDocuments,
    private readonly errorWithLogs: (message: string) => void,
    private readonly runName: (runId: string) => string,
  ) {}

  /** Grow with `propose: true`, open the diff and ask. */
  async propose(runId: string, method: string, options: Record<string, unknown>): Promise<void> {
    const name = this.runName(runId);
    let result;
    try {
      result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Growth Lab: proposing a ${method} grow of ${name}…` },
        () => this.backend.request(Methods.grow, { runId, method, options, propose: true }),
      );
    } catch (err) {
      this.errorWithLogs(`Growth Lab: could not grow ${name}: ${backendErrorText(err)}`);
      return;
    }
    const { proposalId, ...event } = result;
    if (!proposalId) {
      // An older backend committed the grow directly.
      await this.reviews.open(event);
      return;
    }
    this.pending.set(runId, { runId, proposalId, event });
    this.updateContext();
    await this.reviews.open(event, proposalId);
    void this.ask(runId);
  }

  private async ask(runId: string): Promise<void> {
    const p = this.pending.get(runId);
    if (!p) return;
    const e = p.event;
    const choice = await vscode.window.showInformationMessage(
      plainText(
        `Growth Lab: ${this.runName(runId)} paused with a proposed ${e.method} grow: ${e.before.params.toLocaleString('en-US')} → ${e.after.params.toLocaleString('en-US')} parameters. Accept it?`,
      ),
      ACCEPT,
      REJECT,
      SHOW_DIFF,
    );
    if (choice === ACCEPT) await this.decide('commit', runId);
    else if (choice === REJECT) await this.decide('reject', runId);
    else if (choice === SHOW_DIFF) {
      await this.reviews.open(e, p.proposalId);
      void this.ask(runId);
    }
  }

  /** The run a command argument (an editor's URI, a run id, {runId}) or the active diff refers to. */
  private target(arg: unknown): string | undefined {
    if (typeof arg === 'string' && this.pending.has(arg)) return arg;
    const runId = (arg as { runId?: unknown } | undefined)?.runId;
    if (typeof runId === 'string' && this.pending.has(runId)) return runId;
    const uri = arg instanceof vscode.Uri ? arg : vscode.window.activeTextEditor?.document.uri;
    const key = this.reviews.keyOf(uri);
    const parsed = key ? parseReviewKey(key) : undefined;
    if (parsed?.proposalId && this.pending.get(parsed.runId)?.proposalId === parsed.proposalId) return parsed.runId;
    if (this.pending.size === 1) return [...this.pending.keys()][0];
    return undefined;
  }

  async command(action: 'commit' | 'reject', arg?: unknown): Promise<void> {
    const runId = this.target(arg);
    if (!runId) {
      void vscode.window.showInformationMessage(
        this.pending.size ? "Growth Lab: open the proposal's diff to accept or reject it." : 'Growth Lab: no grow proposal is pending.',
      );
      return;
    }
    await this.decide(action, runId);
  }

  private async decide(action: 'commit' | 'reject', runId: string): Promise<void> {
    const p = this.pending.get(runId);
    if (!p) return;
    const name = this.runName(runId);
    try {
      if (action === 'commit') await this.backend.request(Methods.commitProposal, { runId, proposalId: p.proposalId });
      else await this.backend.request(Methods.rejectProposal, { runId, proposalId: p.proposalId });
      vscode.window.setStatusBarMessage(
        plainText(`Growth Lab: ${action === 'commit' ? 'accepted' : 'rejected'} the ${p.event.method} grow of ${name}; training resumes`),
        4000,
      );
      this.pending.delete(runId);
    } catch (err) {
      this.errorWithLogs(`Growth Lab: could not ${action} the proposal of ${name}: ${backendErrorText(err)}`);
      // Unknown run or no such proposal (the run ended, the backend restarted): nothing is pending any more.
      const code = (err as { code?: unknown }).code;
      if (code === ErrorCodes.invalidState || code === ErrorCodes.unknownRun) this.pending.delete(runId);
    } finally {
      this.updateContext();
    }
  }

  /** A run ended or the backend restarted: its proposal is gone. */
  forget(runId?: string): void {
    if (runId === undefined) this.pending.clear();
    else this.pending.delete(runId);
    this.updateContext();
  }

  private updateContext(): void {
    void vscode.commands.executeCommand('setContext', PROPOSAL_CONTEXT_KEY, this.pending.size > 0);
  }
}
