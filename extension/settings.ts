/**
 * The extension's settings (pure: no VS Code imports, unit-tested). `growthLab.*` in package.json.
 */
import {
  DEFAULT_MAX_CONCURRENT_RUNS,
  DEFAULT_MAX_PARAMS,
  ENGINE_NAMES,
  EXECUTION_PROVIDERS,
  type EngineName,
  type ExecutionProviderName,
} from '../common/protocol';

export const SETTINGS_SECTION = 'growthLab';
/** Settings that only take effect when the backend starts. */
export const BACKEND_SETTINGS = [
  'engine',
  'executionProvider',
  'nodePath',
  'maxConcurrentRuns',
  'maxParams',
  'maxActivationMemoryMB',
] as const;
/** Settings the extension reads when it needs them (no backend restart). */
export const CLIENT_SETTINGS = ['review'] as const;

/** growthLab.review: `auto` grows and continues; `ask` proposes a grow and waits for Accept or Reject. */
export type ReviewMode = 'auto' | 'ask';
export const REVIEW_MODES: readonly ReviewMode[] = ['auto', 'ask'];
export const DEFAULT_REVIEW_MODE: ReviewMode = 'auto';

export function reviewMode(config: { get(key: string): unknown }): ReviewMode {
  const v = config.get('review');
  return (REVIEW_MODES as readonly unknown[]).includes(v) ? (v as ReviewMode) : DEFAULT_REVIEW_MODE;
}

export interface Settings {
  engine: EngineName;
  executionProvider: ExecutionProviderName;
  /** Node executable to run the backend with; empty: VS Code's own Node. */
  nodePath: string;
  maxConcurrentRuns: number;
  maxParams: number;
  /** 0: half of the machine's memory (the backend decides). */
  maxActivationMemoryMB: number;
}

export const DEFAULT_SETTINGS: Settings = {
  engine: 'onnxruntime',
  executionProvider: 'cpu',
  nodePath: '',
  maxConcurrentRuns: DEFAULT_MAX_CONCURRENT_RUNS,
  maxParams: DEFAULT_MAX_PARAMS,
  maxActivationMemoryMB: 0,
};

const positiveInt = (v: unknown, fallback: number) => (typeof v === 'number' && Number.isInteger(v) && v >= 1 ? v : fallback);

/** Reads the settings from anything with `get(key)` (a WorkspaceConfiguration), falling back to defaults on bad values. */
export function normalizeSettings(config: { get(key: string): unknown }): Settings {
  const engine = config.get('engine');
  const provider = config.get('executionProvider');
  const nodePath = config.get('nodePath');
  return {
    engine: (ENGINE_NAMES as readonly unknown[]).includes(engine) ? (engine as EngineName) : DEFAULT_SETTINGS.engine,
    executionProvider: (EXECUTION_PROVIDERS as readonly unknown[]).includes(provider)
      ? (provider as ExecutionProviderName)
      : DEFAULT_SETTINGS.executionProvider,
    nodePath: typeof nodePath === 'string' ? nodePath.trim() : '',
    maxConcurrentRuns: positiveInt(config.get('maxConcurrentRuns'), DEFAULT_SETTINGS.maxConcurrentRuns),
    maxParams: positiveInt(config.get('maxParams'), DEFAULT_SETTINGS.maxParams),
    maxActivationMemoryMB: positiveInt(config.get('maxActivationMemoryMB'), DEFAULT_SETTINGS.maxActivationMemoryMB),
  };
}
