/**
 * Entry point of the Growth Monitor webview (bundled by scripts/build.mjs into dist/webview.js, its
 * styles into dist/webview.css). Talks to the extension only through the protocol module's messages:
 * it posts `ready` (with the state VS Code kept for it) once it listens, and the extension answers
 * with the run's full history before any live event.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import './monitor.css';
import type { ExtensionToWebviewMessage, MonitorWebviewState } from '../common/protocol';
import { MonitorApp, type VsCodeApi } from './app';

declare function acquireVsCodeApi(): VsCodeApi;

declare global {
  interface Window {
    /** Read-only view of the panel's state for tests and diagnosis. */
    growthLabMonitor?: { app: MonitorApp; inspect: MonitorApp['inspect'] };
    litNonce?: string;
  }
}

// Lit falls back to <style> elements where constructable stylesheets are missing: give them the nonce.
const script = document.currentScript as HTMLScriptElement | null;
if (script?.nonce) window.litNonce = script.nonce;

const vscode = acquireVsCodeApi();
const app = new MonitorApp(document.getElementById('app') ?? document.body, vscode);
window.growthLabMonitor = { app, inspect: () => app.inspect() };

const KNOWN = new Set<ExtensionToWebviewMessage['type']>([
  'runs',
  'history',
  'events',
  'capabilities',
  'comparison',
  'actionResult',
  'noRun',
  'chartData',
  'exportResult',
  'compare',
]);

window.addEventListener('message', (e: MessageEvent) => {
  const msg = e.data as ExtensionToWebviewMessage | undefined;
  if (!msg || typeof msg !== 'object' || !KNOWN.has(msg.type)) return;
  app.handle(msg);
});

const saved = vscode.getState() as MonitorWebviewState | undefined;
vscode.postMessage({ type: 'ready', state: saved && typeof saved.runId === 'string' ? { runId: saved.runId } : undefined });
