/**
 * The one mapping from what can go wrong inside the backend to a JSON-RPC error code and message. The
 * run manager throws its own RequestErrors (unknown run, wrong state, capacity) and lets the errors of
 * the layers below pass through (run store, training, growth, model, export, experiment validation);
 * `toRequestError` turns any of them into a RequestError, for the stdio server and the command line alike.
 */
import { ErrorCodes, Methods, type RequestMethod } from '../common/protocol';
import type { ConfigError } from './config/errors';
import { formatErrors } from './config/validate';
import { ExportError } from './export';
import { DownloadError } from './datasets/download';
import { MAX_MESSAGE_CHARS, boundMessage } from './messages';
import { GrowthError } from './growth';
import { ModelSpecError } from './model/spec';
import { RunStoreError } from './runs';
import { RunFailure } from './training/experiment';

/** An error with a JSON-RPC code (ErrorCodes), turned into a ResponseError by the transport. */
export class RequestError extends Error {
  override readonly name = 'RequestError';
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** An experiment that does not pass validation: every error, each naming the field, the value and the rule. */
export class InvalidExperimentError extends Error {
  override readonly name = 'InvalidExperimentError';
  constructor(
    readonly errors: ConfigError[],
    readonly configPath?: string,
  ) {
    super(`invalid experiment${configPath ? ` ${configPath}` : ''}:\n${formatErrors(errors)}`);
  }
}

/**
 * The code and message `err` is answered with when `method` (a request method, or a command-line
 * command) fails with it. Errors nothing here knows are `internal`, their message prefixed with the
 * method; callers log their stack.
 */
export function toRequestError(err: unknown, method: RequestMethod | string): RequestError {
  const e = mapError(err, method);
  // The last guard: whatever a layer built from its input, the answer stays short (server/messages.ts).
  return e.message.length > MAX_MESSAGE_CHARS ? new RequestError(e.code, boundMessage(e.message)) : e;
}

function mapError(err: unknown, method: RequestMethod | string): RequestError {
  if (err instanceof RequestError) return err;
  if (err instanceof InvalidExperimentError) return new RequestError(ErrorCodes.invalidExperiment, err.message);
  if (err instanceof RunStoreError) return new RequestError(RUN_STORE_CODES[err.kind] ?? ErrorCodes.internal, err.message);
  // A run that cannot do this now (stopped, paused for a proposal, no checkpoint to resume from...).
  if (err instanceof RunFailure) return new RequestError(ErrorCodes.invalidState, err.message);
  if (err instanceof ExportError) {
    return err.kind === 'exists'
      ? new RequestError(ErrorCodes.exportExists, `${err.message} (set force to overwrite)`)
      : new RequestError(ErrorCodes.exportFailed, err.message);
  }
  // A proposal that is not pending is a matter of the run's state, not of growing.
  if (err instanceof GrowthError)
    return new RequestError(PROPOSAL_METHODS.has(method) ? ErrorCodes.invalidState : ErrorCodes.growthFailed, err.message);
  // A model the spec rules refuse: while exporting it cannot be written, otherwise it cannot be grown so.
  if (err instanceof ModelSpecError)
    return new RequestError(method === Methods.export ? ErrorCodes.exportFailed : ErrorCodes.growthFailed, err.message);
  if (err instanceof DownloadError) {
    const code =
      err.kind === 'cancelled' ? ErrorCodes.downloadCancelled : err.kind === 'busy' ? ErrorCodes.invalidState : ErrorCodes.downloadFailed;
    return new RequestError(code, err.message);
  }
  const message = err instanceof Error ? err.message : String(err);
  return new RequestError(ErrorCodes.internal, `${method} failed: ${message}`);
}

/** Whether `err` is none of the errors the layers throw on purpose (a bug: worth its stack in the log). */
export function isUnexpectedError(err: unknown): boolean {
  return !KNOWN_ERRORS.some((type) => err instanceof type);
}

const KNOWN_ERRORS = [
  RequestError,
  InvalidExperimentError,
  RunStoreError,
  RunFailure,
  ExportError,
  GrowthError,
  ModelSpecError,
  DownloadError,
];

const RUN_STORE_CODES: Partial<Record<RunStoreError['kind'], number>> = {
  invalidRunId: ErrorCodes.unknownRun,
  unknownRun: ErrorCodes.unknownRun,
  invalidState: ErrorCodes.invalidState,
};

const PROPOSAL_METHODS = new Set<string>([Methods.commitProposal, Methods.rejectProposal]);
