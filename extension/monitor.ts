/**
 * The Growth Monitor panel (VS Code side): the WebviewPanel and its serializer (the panel comes back
 * after a window reload showing the same run; activate() registers it), opened by the
 * `growthLab.openMonitor` command (commands/views.ts), and the backend's notifications (from the
 * notification bus) forwarded to the page. Routing and ordering live in the pure MonitorController.
 */
import { randomBytes } from 'crypto';
import * as vscode from 'vscode';
import { SETTINGS_SECTION, reviewMode } from './settings';
import { MONITOR_VIEW_TYPE, validateWebviewMessage, type RunEvent } from '../common/protocol';
import type { Backend } from './backend';
import { COMMANDS } from './commands';
import type { Ctx } from './ctx';
import { backendErrorText } from './experimentFile';
import { MonitorController, type MonitorHost } from './monitorController';
import { monitorHtml, nonceFrom } from './monitorHtml';
import type { RunTracker } from './runTracker';
import { plainText } from './plainText';
import { requestRefusal } from './workspaceTrust';

const TITLE = 'Growth Monitor';

/** Webview options of the monitor page (panel and side-panel view): scripts on, nothing but its own assets. */
export function monitorWebviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
  return {
    enableScripts: true,
    enableCommandUris: false,
    enableForms: false,
    // Only the bundled webview assets (dist/webview/webview.js and .css) are loaded from here.
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview')],
  };
}

/** The monitor page with a fresh nonce and the bundled assets' webview URIs. */
export function monitorPage(webview: vscode.Webview, extensionUri: vscode.Uri): string {
  const dist = vscode.Uri.joinPath(extensionUri, 'dist', 'webview');
  return monitorHtml({
    cspSource: webview.cspSource,
    nonce: nonceFrom(randomBytes(16)),
    scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.js')).toString(),
    styleUri: webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.css')).toString(),
  });
}

/** What the monitor page's controller may do in VS Code (shared by the panel and the side-panel view). */
export function monitorHost(webview: vscode.Webview, be: Backend, tracker: RunTracker, workspaceState?: vscode.Memento): MonitorHost {
  return {
    workspaceState,
    post: (msg) => webview.postMessage(msg),
    // Restricted Mode: the page's grow, prune and resume buttons are refused like the commands.
    request: (method, params) => {
      const refusal = requestRefusal(method, vscode.workspace.isTrusted);
      return refusal ? Promise.reject(new Error(refusal)) : be.request(method, params);
    },
    startExperiment: () => vscode.commands.executeCommand(COMMANDS.startExperiment),
    proposeGrow: async (runId, method) => {
      // Untrusted: not proposed; the grow request is then refused with the Restricted Mode message.
      if (!vscode.workspace.isTrusted || reviewMode(vscode.workspace.getConfiguration(SETTINGS_SECTION)) !== 'ask') return false;
      await vscode.commands.executeCommand(COMMANDS.growNetwork, { runId, method });
      return true;
    },
    // Export runs the Export Model command (it asks for the format and the folder).
    exportRun: async (runId) => {
      await vscode.commands.executeCommand(COMMANDS.exportModel, runId);
      return true;
    },
    // Chart and data exports: the page cannot write files; VS Code's save dialog picks where.
    saveFile: async (file) => {
      const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
      const uri = await vscode.window.showSaveDialog({
        title: file.title,
        defaultUri: folder ? vscode.Uri.joinPath(folder, file.defaultName) : undefined,
        filters: file.filters,
        saveLabel: 'Save',
      });
      if (!uri) return undefined;
      await vscode.workspace.fs.writeFile(uri, typeof file.content === 'string' ? new TextEncoder().encode(file.content) : file.content);
      return uri.fsPath;
    },
    growthMethods: () => be.capabilities?.growthMethods,
    activeRunId: () => tracker.active?.runId,
    notify: (level, message) => {
      const text = plainText(message);
      if (level === 'error') void vscode.window.showErrorMessage(text);
      else if (level === 'warning') void vscode.window.showWarningMessage(text);
      else void vscode.window.showInformationMessage(text);
    },
    log: (line) => be.log(line),
    errorText: backendErrorText,
  };
}

/**
 * What the panel and the side-panel view share: one MonitorController per page, the active run
 * followed, the backend's notifications forwarded (the controller keeps the shown run's).
 */
export abstract class MonitorSurface implements vscode.Disposable {
  protected controller: MonitorController | undefined;
  protected readonly disposables: vscode.Disposable[] = [];
  private pageDisposables: vscode.Disposable[] = [];
  private lastActive: string | undefined;

  constructor(protected readonly ctx: Ctx) {
    const { tracker, bus } = ctx;
    const unsubscribe = tracker.onDidChange(() => {
      const active = tracker.active?.runId;
      if (active === this.lastActive) return;
      this.lastActive = active;
      this.controller?.onActiveRunChanged(active);
    });
    this.disposables.push(
      { dispose: unsubscribe },
      bus.on('metrics', (p) => this.forward({ type: 'metrics', time: new Date().toISOString(), ...p })),
      bus.on('runStatus', (p) => this.forward({ type: 'status', time: new Date().toISOString(), ...p })),
      bus.on('growEvent', (p) => this.forward({ type: 'grow', time: new Date().toISOString(), ...p })),
      // The backend (re)started: its methods may have changed.
      bus.on('backendReady', () => this.controller?.onBackendReady()),
    );
  }

  private forward(e: RunEvent): void {
    this.controller?.onRunEvent(e);
  }

  /**
   * Gives a page (the panel's or the view's) its controller, replacing the previous page's: its
   * messages are validated and routed (a reloaded page posts `ready` again and starts over from its
   * history); while it is hidden the controller keeps what it posts and replays it on show (a hidden
   * webview receives no message; without retainContextWhenHidden the page reloads on show).
   */
  protected connect(
    webview: vscode.Webview,
    runId: string | undefined,
    page: { visible(): boolean; onVisibility: vscode.Event<unknown>; onDispose: vscode.Event<void> },
    disposed?: () => void,
  ): MonitorController {
    this.releasePage();
    const host = monitorHost(webview, this.ctx.backend, this.ctx.tracker, this.ctx.extension.workspaceState);
    const controller = new MonitorController(host, runId);
    this.controller = controller;
    if (!page.visible()) controller.setVisible(false); // e.g. restored in a background tab
    this.lastActive = this.ctx.tracker.active?.runId;
    this.pageDisposables.push(
      webview.onDidReceiveMessage((raw: unknown) => {
        const v = validateWebviewMessage(raw);
        if (v.ok && v.message.type === 'ready') controller.reset();
        void controller.onMessage(raw);
      }),
      page.onVisibility(() => controller.setVisible(page.visible())),
      page.onDispose(() => {
        if (this.controller !== controller) return;
        this.releasePage();
        disposed?.();
      }),
    );
    webview.html = monitorPage(webview, this.ctx.extension.extensionUri);
    return controller;
  }

  /** Disposes the current page's controller and listeners. */
  protected releasePage(): void {
    this.controller?.dispose();
    this.controller = undefined;
    for (const d of this.pageDisposables.splice(0)) d.dispose();
  }

  dispose(): void {
    this.releasePage();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

/** The Growth Monitor panel; activate() registers it as the serializer of MONITOR_VIEW_TYPE panels. */
export class MonitorManager extends MonitorSurface implements vscode.WebviewPanelSerializer {
  private panel: vscode.WebviewPanel | undefined;

  /** A panel restored after a window reload, showing the run its page state names. */
  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
    const v = validateWebviewMessage({ type: 'ready', state });
    this.adopt(panel, v.ok && v.message.type === 'ready' ? v.message.state?.runId : undefined);
  }

  /** Opens (or reveals) the panel; with a run id, shows that run. */
  open(runId?: string): void {
    if (this.panel) {
      this.panel.reveal(undefined, false);
      if (runId) void this.controller?.showRun(runId);
      return;
    }
    const panel = vscode.window.createWebviewPanel(MONITOR_VIEW_TYPE, TITLE, vscode.ViewColumn.Active, this.webviewOptions());
    this.adopt(panel, runId);
  }

  private webviewOptions(): vscode.WebviewPanelOptions & vscode.WebviewOptions {
    return { ...monitorWebviewOptions(this.ctx.extension.extensionUri), retainContextWhenHidden: false };
  }

  private adopt(panel: vscode.WebviewPanel, runId: string | undefined): void {
    this.disposePanel();
    this.panel = panel;
    panel.title = TITLE;
    panel.iconPath = vscode.Uri.joinPath(this.ctx.extension.extensionUri, 'extension', 'media', 'icon.png');
    panel.webview.options = this.webviewOptions();
    this.connect(
      panel.webview,
      runId,
      { visible: () => panel.visible, onVisibility: panel.onDidChangeViewState, onDispose: panel.onDidDispose },
      () => {
        if (this.panel === panel) this.panel = undefined;
      },
    );
  }

  private disposePanel(): void {
    const p = this.panel;
    this.panel = undefined;
    this.releasePage();
    p?.dispose();
  }

  override dispose(): void {
    this.disposePanel();
    super.dispose();
  }
}
