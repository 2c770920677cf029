/** The backend's runs: starts experiments, routes control requests, and reads history from disk. */
import * as fs from 'fs';
import * as path from 'path';
import type { Architecture, GrowEventParams, RunEvent, RunSummary, StartExperimentParams } from '../common/protocol';
import { GrowthError } from './growth';
import { ModelSpecError } from './model/spec';
import { DEFAULT_MAX_CONCURRENT_RUNS, ErrorCodes } from '../common/protocol';
import { validateExperiment, formatErrors } from './config/validate';
import { experimentNameFromPath } from './config/defaults';
import { RunStore, RunStoreError } from './runs';
import { ExperimentRun, RunFailure, RunListener } from './training/experiment';
import { architectureOf } from './model/spec';
import { noSingleArchitecture } from './training/continualRun';
import type { ModelSpec } from './model/spec';
import type { ExportParams, ExportResult } from '../common/protocol';
import { EXPORT_FORMATS } from '../common/protocol';
import { ExportError, ExportSource, defaultExportDir, exportModel, isExportFormat, readEventsQuietly, resolveExportDir, sourceFromStore } from './export';

/** An error with a JSON-RPC code, turned into a ResponseError by the transport. */
export class RequestError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

export class RunManager {
  private readonly runs = new Map<string, ExperimentRun>();
  private readonly stores = new Map<string, RunStore>();
  private readonly runStore = new Map<string, RunStore>();

  /**
   * `defaults` are the client's settings (growthLab.engine, growthLab.executionProvider): they apply to
   * experiments that do not choose for themselves.
   */
  constructor(
    readonly defaultOutDir: string,
    private readonly listener: RunListener,
    private readonly defaults: { engine?: string; executionProvider?: string; maxConcurrentRuns?: number; maxParams?: number } = {},
  ) {
    this.store(defaultOutDir);
  }

  private store(outDir: string): RunStore {
    const dir = path.resolve(outDir);
    let s = this.stores.get(dir);
    if (!s) {
      s = new RunStore(dir, { isLive: (id) => this.runs.get(id)?.active ?? false });
      this.stores.set(dir, s);
    }
    return s;
  }

  start(p: StartExperimentParams): ExperimentRun {
    if (!p || typeof p !== 'object') throw new RequestError(ErrorCodes.invalidExperiment, 'startExperiment needs {config}');
    for (const key of ['configPath', 'outDir'] as const) {
      const v: unknown = p[key];
      if (v !== undefined && (typeof v !== 'string' || !v || v.length > 4096 || v.includes('\0'))) {
        throw new RequestError(ErrorCodes.invalidExperiment, `${key} must be a non-empty path string (at most 4096 characters), got ${typeof v === 'string' ? `${v.length} characters` : JSON.stringify(v)?.slice(0, 80) ?? typeof v}`);
      }
    }
    const name = p.configPath ? experimentNameFromPath(p.configPath) : undefined;
    const v = validateExperiment(this.withDefaults(p.config), { name });
    if (!v.ok) throw new RequestError(ErrorCodes.invalidExperiment, `invalid experiment${p.configPath ? ` ${p.configPath}` : ''}:\n${formatErrors(v.errors)}`);
    this.checkCapacity();
    const store = this.store(p.outDir ?? this.defaultOutDir);
    const run = new ExperimentRun({ config: v.config, configPath: p.configPath, store, listener: this.listener, maxParams: this.defaults.maxParams });
    this.runs.set(run.runId, run);
    this.runStore.set(run.runId, store);
    void run.start();
    return run;
  }

  private withDefaults(config: unknown): unknown {
    if (!config || typeof config !== 'object' || Array.isArray(config)) return config;
    const c = config as Record<string, unknown>;
    return {
      ...(this.defaults.engine && !('engine' in c) ? { engine: this.defaults.engine } : {}),
      ...(this.defaults.executionProvider && !('executionProvider' in c) ? { executionProvider: this.defaults.executionProvider } : {}),
      ...c,
    };
  }

  /** Continue a run that is not live from its latest intact checkpoint (same run folder, same step numbering). */
  resumeRun(runId: unknown): ExperimentRun {
    const id = this.checkId(runId);
    if (this.runs.get(id)?.active) throw new RequestError(ErrorCodes.invalidState, `run ${id} is ${this.runs.get(id)!.status}; resume it with resumeExperiment`);
    const store = this.requireStore(id);
    const summary = this.wrap(() => store.listRuns()).find((r) => r.runId === id);
    if (summary?.status === 'completed') throw new RequestError(ErrorCodes.invalidState, `run ${id} has completed; there is nothing to resume`);
    let run: ExperimentRun;
    try {
      this.checkCapacity();
      run = this.wrap(() => new ExperimentRun({ resume: { runId: id }, config: undefined as never, store, listener: this.listener, maxParams: this.defaults.maxParams }));
    } catch (e) {
      if (e instanceof RunFailure) throw new RequestError(ErrorCodes.invalidState, e.message);
      throw e;
    }
    this.runs.set(id, run);
    this.runStore.set(id, store);
    void run.start();
    return run;
  }

  /** Refuse a new run while growthLab.maxConcurrentRuns runs are training or paused. */
  private checkCapacity(): void {
    const max = this.defaults.maxConcurrentRuns ?? DEFAULT_MAX_CONCURRENT_RUNS;
    const active = [...this.runs.values()].filter((r) => r.active);
    if (active.length >= max) {
      throw new RequestError(ErrorCodes.invalidState, `${active.length} runs are already active (${active.map((r) => r.runId).join(', ')}) and growthLab.maxConcurrentRuns is ${max}: stop one or raise the setting`);
    }
  }

  live(runId: unknown): ExperimentRun {
    const id = this.checkId(runId);
    const r = this.runs.get(id);
    if (!r) {
      if (this.findStore(id)) throw new RequestError(ErrorCodes.invalidState, `run ${id} is not running in this backend`);
      throw new RequestError(ErrorCodes.unknownRun, `unknown run "${id}"`);
    }
    return r;
  }

  control(runId: unknown, action: 'pause' | 'resume' | 'stop'): void {
    const r = this.live(runId);
    try {
      r[action]();
    } catch (e) {
      if (e instanceof RunFailure) throw new RequestError(ErrorCodes.invalidState, e.message);
      throw e;
    }
  }

  architecture(runId: unknown): Architecture {
    const id = this.checkId(runId);
    const r = this.runs.get(id);
    if (r) {
      try {
        return r.architecture();
      } catch {
        /* not built yet: fall through to what is on disk */
      }
    }
    const store = this.requireStore(id);
    const ckpt = this.wrap(() => store.readLatestCheckpoint(id));
    if (ckpt?.checkpoint.meta.continual) throw new RequestError(ErrorCodes.invalidState, noSingleArchitecture(id));
    if (ckpt) return architectureOf((ckpt.checkpoint.meta as { spec: ModelSpec }).spec);
    const start = this.history(id).find((e) => e.type === 'start');
    if (start && start.type === 'start') return start.architecture;
    throw new RequestError(ErrorCodes.invalidState, `run ${id} has no architecture yet`);
  }

  async grow(p: { runId?: unknown; method?: unknown; options?: unknown; propose?: unknown }, kind: 'grow' | 'prune'): Promise<GrowEventParams & { proposalId?: string }> {
    const run = this.live(p?.runId);
    if (p.propose !== undefined && typeof p.propose !== 'boolean') throw new RequestError(ErrorCodes.invalidState, 'propose must be a boolean');
    if (p.method !== undefined && typeof p.method !== 'string') throw new RequestError(ErrorCodes.invalidState, 'method must be a string');
    if (p.options !== undefined && (typeof p.options !== 'object' || p.options === null || Array.isArray(p.options))) {
      throw new RequestError(ErrorCodes.invalidState, 'options must be an object');
    }
    const options = { ...((p.options as Record<string, unknown>) ?? {}) };
    const method = kind === 'prune' ? (options.method as string | undefined) : (p.method as string | undefined);
    delete options.method;
    try {
      return await run.requestGrow(kind, method, options, kind === 'grow' && p.propose === true);
    } catch (e) {
      if (e instanceof RunFailure) throw new RequestError(ErrorCodes.invalidState, e.message);
      if (e instanceof GrowthError || e instanceof ModelSpecError) throw new RequestError(ErrorCodes.growthFailed, e.message);
      throw e;
    }
  }

  /** Commit (keep) or reject (undo) a run's pending grow proposal; the run resumes either way. */
  proposal(p: { runId?: unknown; proposalId?: unknown; resume?: unknown } | undefined, action: 'commit' | 'reject'): GrowEventParams | { ok: true } {
    const run = this.live(p?.runId);
    if (typeof p?.proposalId !== 'string') throw new RequestError(ErrorCodes.invalidState, 'proposalId must be a string');
    if (p.resume !== undefined && typeof p.resume !== 'boolean') throw new RequestError(ErrorCodes.invalidState, 'resume must be a boolean');
    const resume = p.resume !== false;
    try {
      if (action === 'commit') return run.commitProposal(p.proposalId, resume);
      run.rejectProposal(p.proposalId, resume);
      return { ok: true };
    } catch (e) {
      if (e instanceof RunFailure || e instanceof GrowthError) throw new RequestError(ErrorCodes.invalidState, e.message);
      throw e;
    }
  }

  listRuns(): RunSummary[] {
    const all = [...this.stores.values()].flatMap((s) => this.wrap(() => s.listRuns()));
    return all.sort((a, b) => (a.startedAt < b.startedAt ? 1 : a.startedAt > b.startedAt ? -1 : 0));
  }

  history(runId: unknown): RunEvent[] {
    const id = this.checkId(runId);
    const store = this.requireStore(id);
    return this.wrap(() => store.readEvents(id).events);
  }

  /**
   * Writes a run's model in `format`: a live run's current weights, else its latest checkpoint. The
   * folder is `path` (absolute, or relative to the run's outDir and inside it), default
   * `<outDir>/exports/<runId>/`; existing files need `force`.
   */
  async export(p: Partial<ExportParams> | undefined): Promise<ExportResult> {
    const id = this.checkId(p?.runId);
    const store = this.requireStore(id);
    if (!isExportFormat(p?.format)) throw new RequestError(ErrorCodes.exportFailed, `format must be one of ${EXPORT_FORMATS.join(', ')}, got ${JSON.stringify(p?.format)}`);
    if (p.force !== undefined && typeof p.force !== 'boolean') throw new RequestError(ErrorCodes.exportFailed, 'force must be a boolean');
    try {
      const dir = resolveExportDir(store.outDir, p.path, defaultExportDir(store.outDir, id));
      const run = this.runs.get(id);
      const live = run?.active ? run.modelSnapshot() : undefined;
      const src: ExportSource = live
        ? {
          runId: id, name: run!.config.name, spec: live.spec, tensors: live.tensors,
          origin: { kind: 'live', epoch: live.epoch, step: live.step, growSteps: live.growSteps }, events: readEventsQuietly(store, id),
        }
        : this.wrap(() => sourceFromStore(store, id));
      return await exportModel(src, { format: p.format, dir, force: p.force === true });
    } catch (e) {
      if (e instanceof ExportError) {
        throw new RequestError(e.kind === 'exists' ? ErrorCodes.exportExists : ErrorCodes.exportFailed, e.kind === 'exists' ? `${e.message} (set force to overwrite)` : e.message);
      }
      if (e instanceof ModelSpecError) throw new RequestError(ErrorCodes.exportFailed, e.message);
      throw e;
    }
  }

  async shutdown(): Promise<void> {
    for (const r of this.runs.values()) if (r.active) r.stop();
    await Promise.all([...this.runs.values()].map((r) => r.done));
  }

  private checkId(runId: unknown): string {
    if (typeof runId !== 'string' || !runId) throw new RequestError(ErrorCodes.unknownRun, 'runId must be a non-empty string');
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(runId)) throw new RequestError(ErrorCodes.unknownRun, `invalid run id "${runId.slice(0, 120)}"`);
    return runId;
  }

  private findStore(id: string): RunStore | undefined {
    const known = this.runStore.get(id);
    if (known) return known;
    for (const s of this.stores.values()) if (fs.existsSync(path.join(s.runsDir, id))) return s;
    return undefined;
  }

  private requireStore(id: string): RunStore {
    const s = this.findStore(id);
    if (!s) throw new RequestError(ErrorCodes.unknownRun, `unknown run "${id}"`);
    return s;
  }

  private wrap<T>(f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof RunStoreError) {
        const code = e.kind === 'invalidRunId' || e.kind === 'unknownRun' ? ErrorCodes.unknownRun : e.kind === 'invalidState' ? ErrorCodes.invalidState : ErrorCodes.internal;
        throw new RequestError(code, e.message);
      }
      throw e;
    }
  }
}
