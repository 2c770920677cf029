/**
 * Inline architecture diff review: grow events' before/after architectures as virtual YAML
 * documents under the `growth-lab:` scheme, opened side by side with `vscode.diff`. activate()
 * registers it as the scheme's content provider.
 */
import * as vscode from 'vscode';
import type { GrowEventParams } from '../common/protocol';
import {
  BoundedStore,
  REVIEW_SCHEME,
  parseReviewPath,
  reviewDocument,
  reviewKey,
  reviewPath,
  reviewTitle,
  type ReviewSide,
} from './architectureYaml';

interface StoredEvent {
  event: GrowEventParams;
  proposalId?: string;
}

export class ReviewDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly events = new BoundedStore<StoredEvent>(200);
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  /** Remembers an event (a growEvent notification, a grow/prune answer or a proposal) and returns its key. */
  add(event: GrowEventParams, proposalId?: string): string {
    const key = reviewKey(event, proposalId);
    this.events.set(key, { event, proposalId });
    return key;
  }

  get(key: string): StoredEvent | undefined {
    return this.events.get(key);
  }

  uri(key: string, side: ReviewSide): vscode.Uri {
    return vscode.Uri.from({ scheme: REVIEW_SCHEME, path: reviewPath(key, side) });
  }

  /** The key of a review document's URI (either side), if it is one of ours. */
  keyOf(uri: vscode.Uri | undefined): string | undefined {
    if (!uri || uri.scheme !== REVIEW_SCHEME) return undefined;
    return parseReviewPath(uri.path)?.key;
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    const parsed = parseReviewPath(uri.path);
    const stored = parsed && this.events.get(parsed.key);
    if (!parsed || !stored) return '# This grow event is no longer available (the window was reloaded or too many events came since).\n';
    return reviewDocument(stored.event, parsed.side, stored.proposalId !== undefined);
  }

  /** Opens the before/after diff of an event (stored first when new). */
  async open(event: GrowEventParams, proposalId?: string): Promise<void> {
    const key = this.add(event, proposalId);
    await vscode.commands.executeCommand(
      'vscode.diff',
      this.uri(key, 'before'),
      this.uri(key, 'after'),
      reviewTitle(event, proposalId !== undefined),
      { preview: true },
    );
  }

  dispose(): void {
    this.changed.dispose();
  }
}
