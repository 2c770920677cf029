/**
 * The backend's runs: starts experiments, routes control requests, and reads history from disk. The stdio
 * server and the command line both go through it, so settings (engine, execution provider,
 * maxConcurrentRuns, maxParams) and capacity checks apply the same way to both. Params arrive typed
 * (checked against their shapes at the boundary); the values are checked here. Errors of the layers
 * below pass through, and requestErrors.ts maps every error to its JSON-RPC code.
 */
import * as fs from 'fs';
import * as path from 'path';
import type {
  Architecture,
  ExportParams,
  ExportResult,
  GrowEventParams,
  GrowParams,
  GrowResult,
  OkResult,
  ProposalParams,
  PruneParams,
  RunEvent,
  RunHistoryParams,
  RunSummary,
  StartExperimentParams,
} from '../common/protocol';
import { DEFAULT_MAX_CONCURRENT_RUNS, EXPORT_FORMATS, ErrorCodes, HISTORY_PAGE_MAX, RUN_ID_PATTERN } from '../common/protocol';
import { validateExperiment } from './config/validate';
import { experimentNameFromPath } from './config/defaults';
import { CHECKPOINTS_DIR, RunStore } from './runs';
import { ExperimentRun, RunListener } from './training/experiment';
import { architectureOf } from './model/spec';
import { noSingleArchitecture } from './training/continualRun';
import { validateCheckpoint } from './training/modelSetup';
import type { ModelSpec } from './model/spec';
import {
  ExportOrigin,
  ExportSource,
  defaultExportDir,
  exportModel,
  isExportFormat,
  readEventsQuietly,
  resolveExportDir,
  sourceFromStore,
} from './export';
import { InvalidExperimentError, RequestError } from './requestErrors';

export { RequestError } from './requestErrors';

/** The client's settings; each applies to what does not choose for itself. */
export interface RunManagerDefaults {
  engine?: string;
  executionProvider?: string;
  maxConcurrentRuns?: number;
  maxParams?: number;
  /** growthLab.maxActivationMemoryMB (0 or unset: half of the machine's memory). */
  maxActivationMemoryMB?: number;
}

/** Architectures of finished runs kept (the earliest cached dropped first). */
const ARCH_CACHE_RUNS = 256;

/**
 * What identifies a checkpoint folder's contents without reading them: every entry's name, size, mtime
 * and inode (lstat, not followed). Undefined when it cannot be listed (then nothing is cached).
 */
function checkpointsKey(dir: string): string | undefined {
  try {
    return fs
      .readdirSync(dir)
      .sort()
      .map((f) => {
        const st = fs.lstatSync(path.join(dir, f));
        return `${f}:${st.size}:${st.mtimeMs}:${st.ino}`;
      })
      .join('/');
  } catch {
    return undefined;
  }
}

/** Paths longer than this, empty or with a NUL byte are refused before they reach the file system. */
const MAX_PATH_LENGTH = 4096;

export class RunManager {
  private readonly runs = new Map<string, ExperimentRun>();
  private readonly stores = new Map<string, RunStore>();
  private readonly runStore = new Map<string, RunStore>();
  /** Architectures of runs that are not live, by run id, with the checkpoint folder they were read from. */
  private readonly archCache = new Map<string, { key: string; arch: Architecture }>();

  /**
   * `defaults` are the client's settings (growthLab.engine, growthLab.executionProvider: for experiments
   * that do not choose for themselves; growthLab.maxConcurrentRuns, growthLab.maxParams: limits). The
   * command line passes none, so the protocol's defaults apply (DEFAULT_MAX_CONCURRENT_RUNS, DEFAULT_MAX_PARAMS).
   */
  constructor(
    readonly defaultOutDir: string,
    private readonly listener: RunListener,
    private readonly defaults: RunManagerDefaults = {},
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

  /** Validates the experiment (with the defaults), checks capacity, and starts training in the background. */
  start(p: StartExperimentParams): ExperimentRun {
    for (const key of ['configPath', 'outDir'] as const) {
      const v = p[key];
      if (v !== undefined && (!v || v.length > MAX_PATH_LENGTH || v.includes('\0'))) {
        throw new RequestError(
          ErrorCodes.invalidExperiment,
          `${key} must be a non-empty path string (at most ${MAX_PATH_LENGTH} characters), got ${v.length} characters`,
        );
      }
    }
    const name = p.configPath ? experimentNameFromPath(p.configPath) : undefined;
    const v = validateExperiment(this.withDefaults(p.config), { name });
    if (!v.ok) throw new InvalidExperimentError(v.errors, p.configPath);
    this.checkCapacity();
    const store = this.store(p.outDir ?? this.defaultOutDir);
    const run = new ExperimentRun({
      config: v.config,
      configPath: p.configPath,
      store,
      listener: this.listener,
      maxParams: this.defaults.maxParams,
      maxActivationMemoryMB: this.defaults.maxActivationMemoryMB,
    });
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
  resumeRun(runId: string): ExperimentRun {
    const id = this.checkId(runId);
    if (this.runs.get(id)?.active)
      throw new RequestError(ErrorCodes.invalidState, `run ${id} is ${this.runs.get(id)!.status}; resume it with resumeExperiment`);
    const store = this.requireStore(id);
    const summary = store.runSummary(id);
    if (summary?.external !== undefined)
      throw new RequestError(
        ErrorCodes.invalidState,
        `run ${id} is an external ${summary.external} job; it is followed here but not resumed (continue it with its own train.py --resume)`,
      );
    if (summary?.status === 'completed')
      throw new RequestError(ErrorCodes.invalidState, `run ${id} has completed; there is nothing to resume`);
    if (summary?.unreadable !== undefined)
      throw new RequestError(ErrorCodes.invalidState, `run ${id} cannot be resumed: ${summary.unreadable}`);
    if (summary?.runningElsewhere !== undefined)
      throw new RequestError(
        ErrorCodes.invalidState,
        `run ${id} is being trained by another process (pid ${summary.runningElsewhere}); it cannot be resumed here until that one ends`,
      );
    this.checkCapacity();
    // config.json is as untrusted as any experiment file: validated exactly as a new experiment is, and
    // its relative paths resolve against the experiment file's folder, as on the first start.
    const configPath = summary?.configPath && path.isAbsolute(summary.configPath) ? summary.configPath : undefined;
    const v = validateExperiment(store.readConfig(id), { name: configPath ? experimentNameFromPath(configPath) : undefined });
    if (!v.ok) throw new InvalidExperimentError(v.errors, path.join(store.runsDir, id, 'config.json'));
    const run = new ExperimentRun({
      resume: { runId: id, config: v.config },
      config: undefined as never,
      configPath,
      store,
      listener: this.listener,
      maxParams: this.defaults.maxParams,
      maxActivationMemoryMB: this.defaults.maxActivationMemoryMB,
    });
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
      throw new RequestError(
        ErrorCodes.invalidState,
        `${active.length} runs are already active (${active.map((r) => r.runId).join(', ')}) and growthLab.maxConcurrentRuns is ${max}: stop one or raise the setting`,
      );
    }
  }

  live(runId: string): ExperimentRun {
    const id = this.checkId(runId);
    const r = this.runs.get(id);
    if (!r) {
      if (this.findStore(id)) throw new RequestError(ErrorCodes.invalidState, `run ${id} is not running in this backend`);
      throw new RequestError(ErrorCodes.unknownRun, `unknown run "${id}"`);
    }
    return r;
  }

  control(runId: string, action: 'pause' | 'resume' | 'stop'): OkResult {
    this.live(runId)[action]();
    return { ok: true };
  }

  architecture(runId: string): Architecture {
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
    // A finished run's checkpoint can be large: read it once per change of its checkpoint folder.
    const key = checkpointsKey(path.join(store.runDir(id), CHECKPOINTS_DIR));
    const cached = this.archCache.get(id);
    if (cached && key !== undefined && cached.key === key) return cached.arch;
    const ckpt = store.readLatestCheckpoint(id);
    if (ckpt?.checkpoint.meta.continual) throw new RequestError(ErrorCodes.invalidState, noSingleArchitecture(id));
    if (ckpt) {
      validateCheckpoint(ckpt.checkpoint, ckpt.file); // untrusted: checked as resuming checks it
      const arch = architectureOf((ckpt.checkpoint.meta as { spec: ModelSpec }).spec);
      if (key !== undefined) {
        this.archCache.delete(id);
        this.archCache.set(id, { key, arch });
        if (this.archCache.size > ARCH_CACHE_RUNS) this.archCache.delete(this.archCache.keys().next().value!);
      }
      return arch;
    }
    const start = this.history(id).find((e) => e.type === 'start');
    if (start && start.type === 'start') return start.architecture;
    throw new RequestError(ErrorCodes.invalidState, `run ${id} has no architecture yet`);
  }

  /** Grow (or, with kind 'prune', shrink) a live run's model now; `propose` keeps the grow pending. */
  async grow(p: GrowParams | PruneParams, kind: 'grow' | 'prune'): Promise<GrowResult> {
    const run = this.live(p.runId);
    const options: Record<string, unknown> = { ...(p.options ?? {}) };
    const method = kind === 'prune' ? (options.method as string | undefined) : (p as GrowParams).method;
    delete options.method;
    return run.requestGrow(kind, method, options, kind === 'grow' && (p as GrowParams).propose === true);
  }

  /** Keep a run's pending grow proposal (the grow event, now recorded); the run resumes unless `resume: false`. */
  commitProposal(p: ProposalParams): GrowEventParams {
    return this.live(p.runId).commitProposal(p.proposalId, p.resume !== false);
  }

  /** Undo a run's pending grow proposal (the pre-grow model exactly); the run resumes unless `resume: false`. */
  rejectProposal(p: ProposalParams): OkResult {
    this.live(p.runId).rejectProposal(p.proposalId, p.resume !== false);
    return { ok: true };
  }

  listRuns(): RunSummary[] {
    const all = [...this.stores.values()].flatMap((s) => s.listRuns());
    return all.sort((a, b) => (a.startedAt < b.startedAt ? 1 : a.startedAt > b.startedAt ? -1 : 0));
  }

  history(runId: string): RunEvent[] {
    const id = this.checkId(runId);
    return this.requireStore(id).readEvents(id).events;
  }

  /**
   * getRunHistory: the events [offset, offset + limit) (default: from 0, all), read in chunks so no page
   * needs the whole file in memory. Without `limit`, an answer of more than HISTORY_PAGE_MAX events is
   * refused (invalidParams) telling the client to page, rather than built.
   */
  async historyPage(p: RunHistoryParams): Promise<RunEvent[]> {
    const id = this.checkId(p.runId);
    const offset = p.offset ?? 0;
    const page = await this.requireStore(id).readEventsPage(id, { offset, limit: p.limit, stopAfter: HISTORY_PAGE_MAX });
    if (page.overflow) {
      throw new RequestError(
        ErrorCodes.invalidParams,
        `run ${id} has more than ${HISTORY_PAGE_MAX} events from offset ${offset}; page through them with {offset, limit} (limit at most ${HISTORY_PAGE_MAX})`,
      );
    }
    return page.events;
  }

  /**
   * Writes a run's model in `format`: a live run's current weights, else its latest checkpoint. The
   * folder is `path` (absolute, or relative to the run's outDir and inside it), default
   * `<outDir>/exports/<runId>/`; existing files need `force`.
   */
  async export(p: ExportParams): Promise<ExportResult> {
    return (await this.exportWithOrigin(p)).result;
  }

  /** `export`, and where the weights came from (the live model, or which checkpoint). */
  async exportWithOrigin(p: ExportParams): Promise<{ result: ExportResult; origin: ExportOrigin }> {
    const id = this.checkId(p.runId);
    const store = this.requireStore(id);
    if (!isExportFormat(p.format))
      throw new RequestError(
        ErrorCodes.exportFailed,
        `format must be one of ${EXPORT_FORMATS.join(', ')}, got ${JSON.stringify(p.format)}`,
      );
    const dir = resolveExportDir(store.outDir, p.path, defaultExportDir(store.outDir, id));
    const run = this.runs.get(id);
    const live = run?.active ? run.modelSnapshot() : undefined;
    const src: ExportSource = live
      ? {
          runId: id,
          name: run!.config.name,
          spec: live.spec,
          tensors: live.tensors,
          origin: { kind: 'live', epoch: live.epoch, step: live.step, growSteps: live.growSteps },
          events: readEventsQuietly(store, id),
        }
      : sourceFromStore(store, id);
    let torchrun: { config: unknown; configPath?: string; runsDir: string } | undefined;
    if (p.format === 'torchrun') {
      const summary = store.runSummary(id);
      const configPath = summary?.configPath && path.isAbsolute(summary.configPath) ? summary.configPath : undefined;
      torchrun = { config: run ? run.config : store.readConfig(id), configPath, runsDir: store.runsDir };
    }
    return { result: await exportModel(src, { format: p.format, dir, force: p.force === true, torchrun }), origin: src.origin };
  }

  async shutdown(): Promise<void> {
    for (const r of this.runs.values()) if (r.active) r.stop();
    await Promise.all([...this.runs.values()].map((r) => r.done));
  }

  /** A run id that is a string but could never name a run folder (the one rule, common/protocol/runId.ts) is unknownRun. */
  private checkId(runId: string): string {
    if (!runId) throw new RequestError(ErrorCodes.unknownRun, 'runId must be a non-empty string');
    if (!RUN_ID_PATTERN.test(runId)) throw new RequestError(ErrorCodes.unknownRun, `invalid run id "${runId.slice(0, 120)}"`);
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
}
