/** A JSON-RPC client for the real backend process over stdio (what the extension does, minus VS Code). */
import { ChildProcess, spawn } from 'child_process';
import * as path from 'path';
import { createMessageConnection, MessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import type { GrowEventParams, InitializationOptions, MetricsParams, RunStatusParams } from '../../common/protocol';
import { Notifications } from '../../common/protocol';

export const ROOT = path.resolve(__dirname, '..', '..');
export const CLI = path.join(ROOT, 'dist', 'cli.js');

export class BackendClient {
  readonly proc: ChildProcess;
  readonly conn: MessageConnection;
  readonly metrics: MetricsParams[] = [];
  readonly statuses: RunStatusParams[] = [];
  readonly growEvents: GrowEventParams[] = [];
  readonly diagnostics: { uri: string; diagnostics: any[] }[] = [];
  stderr = '';
  private waiters: (() => void)[] = [];

  constructor(env: NodeJS.ProcessEnv = {}) {
    this.proc = spawn(process.execPath, [CLI, 'serve'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    this.proc.stderr!.on('data', (d) => (this.stderr += d));
    this.conn = createMessageConnection(new StreamMessageReader(this.proc.stdout!), new StreamMessageWriter(this.proc.stdin!));
    this.conn.onNotification(Notifications.metrics, (m: MetricsParams) => this.push(() => this.metrics.push(m)));
    this.conn.onNotification(Notifications.runStatus, (s: RunStatusParams) => this.push(() => this.statuses.push(s)));
    this.conn.onNotification(Notifications.growEvent, (e: GrowEventParams) => this.push(() => this.growEvents.push(e)));
    this.conn.onNotification('textDocument/publishDiagnostics', (d) => this.push(() => this.diagnostics.push(d)));
    this.conn.onNotification('window/logMessage', () => undefined);
    this.conn.listen();
  }

  private push(f: () => void): void {
    f();
    const w = this.waiters;
    this.waiters = [];
    w.forEach((r) => r());
  }

  /** Resolve when `cond` holds (checked on every notification), or reject after `ms`. */
  until<T>(cond: () => T | undefined | false, ms = 60000, what = 'condition'): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; stderr:\n${this.stderr.slice(-2000)}`)), ms);
      const check = () => {
        const v = cond();
        if (v) {
          clearTimeout(timer);
          resolve(v);
        } else this.waiters.push(check);
      };
      check();
    });
  }

  statusOf(runId: string, status: string): RunStatusParams | undefined {
    return this.statuses.find((s) => s.runId === runId && s.status === status);
  }

  async initialize(workspaceDir: string, options: Omit<InitializationOptions, 'workspaceDir'> = {}): Promise<any> {
    const initializationOptions: InitializationOptions = { ...options, workspaceDir };
    const r = await this.conn.sendRequest('initialize', { processId: process.pid, rootUri: null, capabilities: {}, initializationOptions });
    await this.conn.sendNotification('initialized', {});
    return r;
  }

  async shutdown(): Promise<number | null> {
    const exited = new Promise<number | null>((r) => this.proc.once('exit', (code) => r(code)));
    await this.conn.sendRequest('shutdown');
    await this.conn.sendNotification('exit');
    const code = await exited;
    this.conn.dispose();
    return code;
  }

  kill(): void {
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
  }
}
