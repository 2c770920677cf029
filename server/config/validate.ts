/**
 * validateExperiment: checks an experiment (as parsed from a `*.growth.json`, or as received over
 * JSON-RPC) against experiment.schema.json and completes it with the defaults.
 */
import type { ExperimentConfig } from '../../common/protocol';
import { contextualDefaults, type DefaultOptions } from './defaults';
import { configError, ErrorSink, InvalidExperimentError, type ConfigError } from './errors';
import { sanitize } from './guard';
import { experimentSchema } from './schema';
import { walkSchema } from './walk';

export { formatErrors, InvalidExperimentError, type ConfigError, type ConfigErrorKeyword } from './errors';

export type ValidateOptions = DefaultOptions;
export type ValidationResult = { ok: true; config: ExperimentConfig } | { ok: false; errors: ConfigError[] };

/** Never throws; on failure returns every problem found (at most MAX_ERRORS plus a summary). */
export function validateExperiment(raw: unknown, options: ValidateOptions = {}): ValidationResult {
  try {
    const sink = new ErrorSink();
    const input = sanitize(raw, sink);
    const output = walkSchema(experimentSchema, experimentSchema, input, sink, {
      contextualDefault: contextualDefaults(input, options),
    });
    if (sink.count > 0) return { ok: false, errors: sink.result() };
    const config = output as ExperimentConfig & { $schema?: string };
    delete config.$schema; // editor-only
    return { ok: true, config };
  } catch (e) {
    // unreachable for JSON input; a getter or Proxy that throws could get here
    const why = e instanceof Error ? e.message : String(e);
    return { ok: false, errors: [configError([], `experiment could not be read: ${why.slice(0, 200)}`, 'json')] };
  }
}

/** validateExperiment for callers that want the config or an exception (InvalidExperimentError). */
export function resolveExperiment(raw: unknown, options: ValidateOptions = {}): ExperimentConfig {
  const r = validateExperiment(raw, options);
  if (!r.ok) throw new InvalidExperimentError(r.errors);
  return r.config;
}
