/**
 * The backend process: a vscode-languageclient over stdio running `dist/cli.js serve`, restarted
 * on crashes under the crash-window policy. Its notifications and lifecycle go to the notification
 * bus (notificationBus.ts); the crash policy's giving up goes to `onGaveUp`.
 */
import * as fs from 'fs';
import * as vscode from 'vscode';
import {
  CloseAction,
  ErrorAction,
  LanguageClient,
  RevealOutputChannelOn,
  State,
  TransportKind,
  type CloseHandlerResult,
  type ErrorHandler,
  type ErrorHandlerResult,
  type LanguageClientOptions,
  type ServerOptions,
} from 'vscode-languageclient/node';
import {
  Notifications,
  type DownloadProgressParams,
  type GrowEventParams,
  type GrowthLabCapabilities,
  type InitializationOptions,
  type MetricsParams,
  type RequestTypes,
  type RunStatusParams,
} from '../common/protocol';
import { CrashPolicy, crashLimitMessage } from './crashPolicy';
import { EXPERIMENT_GLOB } from './experimentFile';
import type { NotificationBus } from './notificationBus';
import { normalizeSettings, SETTINGS_SECTION, type Settings } from './settings';

export function readSettings(): Settings {
  return normalizeSettings(vscode.workspace.getConfiguration(SETTINGS_SECTION));
}

export const CLIENT_ID = 'growthLab';
export const CLIENT_NAME = 'Growth Lab';

export class Backend implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private starting: Promise<LanguageClient> | undefined;
  private readonly crashes = new CrashPolicy();
  private disposed = false;

  constructor(
    private readonly context: vscode.ExtensionContext,
    readonly output: vscode.OutputChannel,
    private readonly bus: NotificationBus,
    /** The crash policy gave up; the backend stays stopped. */
    private readonly onGaveUp: (message: string) => void,
  ) {}

  get cliPath(): string {
    return this.context.asAbsolutePath('dist/cli.js');
  }

  /** The backend's capabilities from its initialize result, once started. */
  get capabilities(): GrowthLabCapabilities | undefined {
    const experimental = this.client?.initializeResult?.capabilities.experimental as { growthLab?: GrowthLabCapabilities } | undefined;
    return experimental?.growthLab;
  }

  isRunning(): boolean {
    return this.client?.isRunning() ?? false;
  }

  /** The running client, starting the backend first when needed. */
  async ensureStarted(): Promise<LanguageClient> {
    if (this.disposed) throw new Error('Growth Lab is shutting down');
    if (this.client?.isRunning()) return this.client;
    if (this.starting) return this.starting;
    this.starting = this.startNew().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  /** Stops the backend (if any), forgets the crash history and starts a fresh one with the current settings. */
  async restart(): Promise<void> {
    if (this.starting) await this.starting.catch(() => undefined);
    await this.stop();
    this.crashes.reset();
    await this.ensureStarted();
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    try {
      // dispose() stops a running client; a client stopped by the crash policy only needs disposing.
      await client.dispose(3000);
    } catch (err) {
      this.log(`stopping the backend failed: ${(err as Error).message ?? err}`);
    }
  }

  async request<M extends keyof RequestTypes>(method: M, params: RequestTypes[M][0]): Promise<RequestTypes[M][1]> {
    const client = await this.ensureStarted();
    return client.sendRequest<RequestTypes[M][1]>(method, params);
  }

  log(line: string): void {
    this.output.appendLine(`[extension ${new Date().toISOString()}] ${line}`);
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    await this.stop();
  }

  private serverOptions(): ServerOptions {
    const cli = this.cliPath;
    const { nodePath } = readSettings();
    if (nodePath) {
      // An external Node (needed for native addons such as tfjs-node that do not load in VS Code's runtime).
      // transport stdio: the client talks over the process's stdin/stdout and passes `--stdio`.
      return { command: nodePath, args: [cli, 'serve'], transport: TransportKind.stdio };
    }
    return {
      run: { module: cli, args: ['serve'], transport: TransportKind.stdio },
      debug: { module: cli, args: ['serve'], transport: TransportKind.stdio, options: { execArgv: ['--nolazy', '--inspect=6012'] } },
    };
  }

  private clientOptions(): LanguageClientOptions {
    const settings = readSettings();
    const errorHandler: ErrorHandler = {
      error: (_error, _message, count): ErrorHandlerResult => ({
        action: (count ?? 0) <= 3 ? ErrorAction.Continue : ErrorAction.Shutdown,
      }),
      closed: (): CloseHandlerResult => {
        this.bus.emit('backendCrashed');
        const decision = this.crashes.recordCrash(Date.now());
        const recent = this.crashes.recentCrashes(Date.now());
        if (decision === 'restart') {
          return {
            action: CloseAction.Restart,
            message: `Growth Lab backend stopped unexpectedly (${recent} crash${recent === 1 ? '' : 'es'} within ${this.crashes.windowMs / 60000} minutes); restarting it.`,
            handled: true,
          };
        }
        const message = crashLimitMessage(this.crashes.maxCrashes, this.crashes.windowMs);
        this.onGaveUp(message);
        return { action: CloseAction.DoNotRestart, message, handled: true };
      },
    };
    return {
      documentSelector: [
        { scheme: 'file', language: 'json', pattern: EXPERIMENT_GLOB },
        { scheme: 'file', language: 'jsonc', pattern: EXPERIMENT_GLOB },
      ],
      outputChannel: this.output,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      // Hovers and completion docs are the backend's markdown: never trusted (no command: links run), no HTML.
      markdown: { isTrusted: false, supportHtml: false },
      errorHandler,
      initializationOptions: <InitializationOptions>{
        engine: settings.engine,
        executionProvider: settings.executionProvider,
        maxConcurrentRuns: settings.maxConcurrentRuns,
        maxParams: settings.maxParams,
        maxActivationMemoryMB: settings.maxActivationMemoryMB,
        storageDir: this.context.globalStorageUri.fsPath,
        workspaceDir: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath,
      },
    };
  }

  private async startNew(): Promise<LanguageClient> {
    await this.stop();
    if (!fs.existsSync(this.cliPath)) {
      throw new Error(`${this.cliPath} is missing: run \`npm run build\` in the extension's folder first`);
    }
    try {
      await vscode.workspace.fs.createDirectory(this.context.globalStorageUri);
    } catch {
      // the backend reports a storage folder it cannot use
    }
    const client = new LanguageClient(CLIENT_ID, CLIENT_NAME, this.serverOptions(), this.clientOptions());
    client.onNotification(Notifications.runStatus, (p: RunStatusParams) => this.bus.emit('runStatus', p));
    client.onNotification(Notifications.metrics, (p: MetricsParams) => this.bus.emit('metrics', p));
    client.onNotification(Notifications.growEvent, (p: GrowEventParams) => this.bus.emit('growEvent', p));
    client.onNotification(Notifications.downloadProgress, (p: DownloadProgressParams) => this.bus.emit('downloadProgress', p));
    client.onDidChangeState((e) => {
      if (e.newState === State.Running && this.client === client) this.bus.emit('backendReady');
    });
    this.client = client;
    const { nodePath, engine, executionProvider } = readSettings();
    this.log(
      `starting the backend: ${nodePath || "VS Code's Node"} ${this.cliPath} serve (engine ${engine}, execution provider ${executionProvider})`,
    );
    try {
      await client.start();
    } catch (err) {
      if (this.client === client) this.client = undefined;
      await client.dispose(1000).catch(() => undefined);
      const hint = nodePath ? ` (growthLab.nodePath is "${nodePath}")` : '';
      throw new Error(`the backend could not start${hint}: ${(err as Error)?.message ?? err}`);
    }
    const caps = this.capabilities;
    if (caps) {
      const list = <N extends string>(items: { name: N; available: boolean; reason?: string }[]): string =>
        items.map((a) => (a.available ? a.name : `${a.name} (unavailable${a.reason ? `: ${a.reason}` : ''})`)).join(', ');
      this.log(
        `backend ${caps.version} ready: engine ${caps.engine}; engines ${list(caps.engines)}; providers ${list(caps.executionProviders)}; datasets ${list(caps.datasets)}`,
      );
    }
    return client;
  }
}
