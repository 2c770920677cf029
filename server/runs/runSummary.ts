/**
 * Turns a run's config and event history into the RunSummary that `listRuns` reports. Pure: no file access.
 */
import type { ExperimentConfig, RunEvent, RunStatus, RunSummary } from '../../common/protocol';

/** What a summary needs from events.jsonl (independent of whether the run is live now). */
export interface RunDigest {
  /** Time of the start event, else of the first event. */
  startedAt?: string;
  /** Time of the last event of any kind. */
  lastEventAt?: string;
  /** The last status event's status and time. */
  status?: RunStatus;
  statusAt?: string;
  /** Highest epoch reported by a metrics event (metrics carry the 1-based epoch they report on). */
  epochsDone: number;
  /** Parameter count after the latest metrics, grow or start event. */
  params?: number;
  bestTestAccuracy?: number;
  lastTestAccuracy?: number;
  /** Number of grow events (grow and prune steps). */
  growSteps: number;
  /** The config recorded in the start event (a fallback when config.json is unreadable). */
  startConfig?: ExperimentConfig;
}

export function digestEvents(events: readonly RunEvent[]): RunDigest {
  const d = emptyDigest();
  for (const e of events) digestEvent(d, e);
  return d;
}

export function emptyDigest(): RunDigest {
  return { epochsDone: 0, growSteps: 0 };
}

/** Folds one event into `d` (so a digest can be built while the file is read, without the array). */
export function digestEvent(d: RunDigest, e: RunEvent): void {
  const time = typeof e.time === 'string' ? e.time : undefined;
  if (time) {
    d.startedAt ??= time;
    d.lastEventAt = time;
  }
  switch (e.type) {
    case 'start':
      if (time) d.startedAt = time;
      d.startConfig = e.config;
      if (isNum(e.architecture?.params)) d.params = e.architecture.params;
      break;
    case 'metrics':
      if (isNum(e.epoch) && e.epoch > d.epochsDone) d.epochsDone = e.epoch;
      if (isNum(e.params)) d.params = e.params;
      if (isNum(e.testAccuracy)) {
        d.lastTestAccuracy = e.testAccuracy;
        if (d.bestTestAccuracy === undefined || e.testAccuracy > d.bestTestAccuracy) d.bestTestAccuracy = e.testAccuracy;
      }
      break;
    case 'status':
      d.status = e.status;
      d.statusAt = time;
      break;
    case 'grow':
      d.growSteps++;
      if (isNum(e.after?.params)) d.params = e.after.params;
      break;
    case 'checkpoint':
      break;
  }
}

export interface RunFacts {
  runId: string;
  config: ExperimentConfig;
  digest: RunDigest;
  configPath?: string;
  /** When the run folder was made (run.json), for runs whose events say nothing. */
  createdAt?: string;
  /** run.json names a tool outside Growth Lab that writes this run (e.g. "torchrun"). */
  external?: string;
}

const ACTIVE: ReadonlySet<RunStatus> = new Set<RunStatus>(['running', 'paused']);

/**
 * A run whose last status is running/paused (or that has none) but that is not live in this process was
 * left behind by a backend that stopped without saying so: it is reported as failed and stale.
 */
export function summarizeRun(facts: RunFacts, live: boolean): RunSummary {
  const { runId, config, digest } = facts;
  let status: RunStatus | undefined = digest.status ?? (live ? 'running' : undefined);
  let stale = false;
  // An external job (a torchrun export's train.py, perhaps on another machine) is not this backend's to
  // judge: its status is what its events say.
  if (facts.external !== undefined && status === undefined) status = 'running';
  if (status === undefined || (ACTIVE.has(status) && !live && facts.external === undefined)) {
    status = 'failed';
    stale = true;
  }
  const summary: RunSummary = {
    runId,
    name: typeof config.name === 'string' ? config.name.slice(0, 200) : runId,
    status,
    // config.json is untrusted: only strings and finite numbers of it reach the extension.
    dataset: str(config.dataset?.name) as RunSummary['dataset'],
    engine: str(config.engine) as RunSummary['engine'],
    executionProvider: str(config.executionProvider) as RunSummary['executionProvider'],
    startedAt: digest.startedAt ?? facts.createdAt ?? '',
    epochs: isNum(config.training?.epochs) ? config.training.epochs : 0,
    epochsDone: digest.epochsDone,
    params: digest.params ?? 0,
    growSteps: digest.growSteps,
  };
  const endedAt = stale ? (digest.lastEventAt ?? facts.createdAt) : ACTIVE.has(status) ? undefined : digest.statusAt;
  if (endedAt !== undefined) summary.endedAt = endedAt;
  if (digest.bestTestAccuracy !== undefined) summary.bestTestAccuracy = digest.bestTestAccuracy;
  if (digest.lastTestAccuracy !== undefined) summary.lastTestAccuracy = digest.lastTestAccuracy;
  if (facts.configPath !== undefined) summary.configPath = facts.configPath;
  if (stale) summary.stale = true;
  if (facts.external !== undefined) summary.external = facts.external;
  return summary;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v.slice(0, 200) : undefined;
}

function isNum(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}
