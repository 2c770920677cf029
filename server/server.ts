/**
 * The training backend: JSON-RPC over stdio through vscode-languageserver (real LSP initialize /
 * shutdown / exit). Only the protocol writes to stdout; logs go to stderr.
 */
import * as path from 'path';
import {
  createConnection,
  ErrorCodes as JsonRpcErrorCodes,
  ResponseError,
  StreamMessageReader,
  StreamMessageWriter,
  TextDocuments,
  TextDocumentSyncKind,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import type { InitializationOptions } from '../common/protocol';
import { ErrorCodes, NATIVE_TFJS_DIR, Notifications, isRequestMethod } from '../common/protocol';
import { addNativeTfjsDir } from './engine/tfjsExecutor';
import { growthLabCapabilities } from './capabilities';
import { experimentDiagnostics } from './config/diagnostics';
import { experimentNameFromPath } from './config/defaults';
import { FramingGuard } from './framingGuard';
import { RunManager } from './runManager';
import { DownloadService } from './datasets/download';
import { RequestError } from './requestErrors';
import { handleRequest, requestHandlers } from './requestHandlers';
import { experimentCodeLenses, experimentCompletions, experimentHover, experimentSemanticDiagnostics } from './language/experimentLanguage';
import { fileURLToPath } from 'url';

/** Send everything console.* prints to stderr so that stdout carries protocol messages only. */
export function keepStdoutClean(): void {
  const toErr = (...a: unknown[]) =>
    process.stderr.write(a.map((x) => (typeof x === 'string' ? x : require('util').inspect(x))).join(' ') + '\n');
  console.log = console.info = console.debug = console.warn = toErr;
}

export function runServer(): void {
  keepStdoutClean();
  // Framing is checked before the reader sees it: garbage or a huge Content-Length ends the backend with
  // the reason on stderr instead of leaving it silently waiting (see framingGuard.ts).
  const guard = new FramingGuard((reason) => {
    process.stderr.write(`Growth Lab backend: ${reason}; closing the connection\n`);
    process.stdin.unpipe(guard);
    process.stdin.destroy();
    const stopped = manager ? manager.shutdown().catch(() => undefined) : Promise.resolve();
    void Promise.race([stopped, new Promise((r) => setTimeout(r, 5000).unref())]).finally(() => process.exit(2));
  });
  process.stdin.pipe(guard);
  const connection = createConnection(new StreamMessageReader(guard), new StreamMessageWriter(process.stdout));
  const documents = new TextDocuments(TextDocument);
  let manager: RunManager | undefined;
  let downloads: DownloadService | undefined;
  /** Datasets that cannot load here (from the capabilities), for completion docs. */
  let unavailableDatasets = new Map<string, string>();
  const log = (msg: string) => connection.console.log(msg);

  process.on('uncaughtException', (e) => {
    process.stderr.write(`Growth Lab backend: uncaught error: ${e.stack ?? e}\n`);
    try {
      connection.console.error(`uncaught error: ${e.message}`);
    } catch {
      /* connection gone */
    }
  });
  process.on('unhandledRejection', (e) => {
    process.stderr.write(`Growth Lab backend: unhandled rejection: ${(e as Error)?.stack ?? e}\n`);
  });

  connection.onInitialize(async (params) => {
    const opts = (params.initializationOptions ?? {}) as InitializationOptions;
    if (opts.storageDir) addNativeTfjsDir(path.join(opts.storageDir, NATIVE_TFJS_DIR));
    const folder = params.workspaceFolders?.[0]?.uri;
    const workspaceDir =
      opts.workspaceDir ?? (folder?.startsWith('file://') ? decodeURIComponent(new URL(folder).pathname) : undefined) ?? process.cwd();
    manager = new RunManager(
      path.join(workspaceDir, '.growth-lab'),
      {
        metrics: (m) => void connection.sendNotification(Notifications.metrics, m),
        status: (s) => {
          void connection.sendNotification(Notifications.runStatus, s);
          log(
            `run ${s.runId}: ${s.status}${s.message ? ` (${s.message})` : ''}${s.warnings?.length ? ` warnings: ${s.warnings.join('; ')}` : ''}`,
          );
        },
        grow: (e) => {
          void connection.sendNotification(Notifications.growEvent, e);
          log(
            `run ${e.runId}: ${e.kind} by ${e.method}: ${e.before.params} -> ${e.after.params} parameters, loss ${e.lossBefore.toFixed(4)} -> ${e.lossAfter.toFixed(4)} (${e.durationMs} ms)`,
          );
        },
      },
      {
        engine: opts.engine,
        executionProvider: opts.executionProvider,
        maxConcurrentRuns: opts.maxConcurrentRuns,
        maxParams: opts.maxParams,
        maxActivationMemoryMB: opts.maxActivationMemoryMB,
      },
    );
    downloads = new DownloadService(workspaceDir, (p) => void connection.sendNotification(Notifications.downloadProgress, p));
    const growthLab = await growthLabCapabilities(opts.engine ?? 'onnxruntime', [workspaceDir, path.join(workspaceDir, 'data')]);
    unavailableDatasets = new Map(growthLab.datasets.filter((d) => !d.available).map((d) => [d.name, d.reason ?? 'not available']));
    return {
      capabilities: {
        textDocumentSync: TextDocumentSyncKind.Incremental,
        completionProvider: { triggerCharacters: ['"', ':'] },
        hoverProvider: true,
        codeLensProvider: { resolveProvider: false },
        experimental: { growthLab },
      },
      serverInfo: { name: 'growth-lab', version: growthLab.version },
    };
  });

  const need = () => {
    if (!manager) throw new RequestError(ErrorCodes.invalidState, 'the backend is not initialized');
    return manager;
  };
  // Every growthLab request through the one table. A single handler for the methods no LSP handler takes
  // sees the params exactly as sent (a per-method handler would get the cancellation token in place of
  // missing params, and positional params spread out).
  const needDownloads = () => {
    if (!downloads) throw new RequestError(ErrorCodes.invalidState, 'the backend is not initialized');
    return downloads;
  };
  const handlers = requestHandlers(need, needDownloads);
  connection.onRequest((method, params) => {
    if (!isRequestMethod(method)) return new ResponseError(JsonRpcErrorCodes.MethodNotFound, `Unhandled method ${method}`);
    return handleRequest(handlers, method, params, (message) => process.stderr.write(`${message}\n`));
  });

  connection.onShutdown(async () => {
    await downloads?.cancelAll();
    await manager?.shutdown();
  });

  const isExperiment = (uri: string) => uri.endsWith('.growth.json');
  const validate = (doc: TextDocument) => {
    if (!isExperiment(doc.uri)) return;
    const name = experimentNameFromPath(decodeURIComponent(doc.uri));
    const text = doc.getText();
    const diagnostics = experimentDiagnostics(text, { name });
    try {
      diagnostics.push(...experimentSemanticDiagnostics(text, { name, filePath: filePathOf(doc.uri) }));
    } catch (e) {
      process.stderr.write(`semantic diagnostics of ${doc.uri} failed: ${(e as Error).stack ?? e}\n`);
    }
    void connection.sendDiagnostics({ uri: doc.uri, version: doc.version, diagnostics });
  };
  const filePathOf = (uri: string): string | undefined => {
    try {
      return uri.startsWith('file:') ? fileURLToPath(uri) : undefined;
    } catch {
      return undefined;
    }
  };
  const experimentDoc = (uri: string) => (isExperiment(uri) ? documents.get(uri) : undefined);
  connection.onCompletion((p) => {
    const doc = experimentDoc(p.textDocument.uri);
    return doc ? experimentCompletions(doc.getText(), doc.offsetAt(p.position), { unavailableDatasets }) : [];
  });
  connection.onHover((p) => {
    const doc = experimentDoc(p.textDocument.uri);
    return doc ? (experimentHover(doc.getText(), doc.offsetAt(p.position)) ?? null) : null;
  });
  connection.onCodeLens((p) => {
    const doc = experimentDoc(p.textDocument.uri);
    return doc ? experimentCodeLenses(doc.getText(), p.textDocument.uri) : [];
  });
  documents.onDidOpen((e) => validate(e.document));
  documents.onDidChangeContent((e) => validate(e.document));
  documents.onDidClose((e) => {
    if (isExperiment(e.document.uri)) void connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
  });
  documents.listen(connection);
  connection.listen();
}
