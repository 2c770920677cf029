/**
 * The backend's requests in one table: method name → handler, typed by RequestTypes (common/protocol),
 * so each handler's params and result are the protocol's. `handleRequest` is the one way in: it checks
 * the params' shape (invalidParams, -32602), calls the handler, and maps any error to its JSON-RPC code.
 */
import { ResponseError } from 'vscode-languageserver/node';
import { ErrorCodes, Methods, checkParams, type RequestMethod, type RequestParams, type RequestResult } from '../common/protocol';
import { RequestError, isUnexpectedError, toRequestError } from './requestErrors';
import type { RunManager } from './runManager';
import type { DownloadService } from './datasets/download';

export type RequestHandler<M extends RequestMethod> = (params: RequestParams<M>) => RequestResult<M> | Promise<RequestResult<M>>;
export type RequestHandlers = { readonly [M in RequestMethod]: RequestHandler<M> };

/** The handlers of every request; `manager` and `downloads` throw invalidState until the backend is initialized. */
export function requestHandlers(manager: () => RunManager, downloads: () => DownloadService = notInitialized): RequestHandlers {
  return {
    [Methods.startExperiment]: (p) => ({ runId: manager().start(p).runId }),
    [Methods.stopExperiment]: (p) => manager().control(p.runId, 'stop'),
    [Methods.pauseExperiment]: (p) => manager().control(p.runId, 'pause'),
    [Methods.resumeExperiment]: (p) => manager().control(p.runId, 'resume'),
    [Methods.getArchitecture]: (p) => manager().architecture(p.runId),
    [Methods.listRuns]: () => manager().listRuns(),
    [Methods.getRunHistory]: (p) => manager().historyPage(p),
    [Methods.grow]: (p) => manager().grow(p, 'grow'),
    [Methods.resumeRun]: (p) => ({ runId: manager().resumeRun(p.runId).runId }),
    [Methods.prune]: (p) => manager().grow(p, 'prune'),
    [Methods.export]: (p) => manager().export(p),
    [Methods.commitProposal]: (p) => manager().commitProposal(p),
    [Methods.rejectProposal]: (p) => manager().rejectProposal(p),
    [Methods.downloadDataset]: (p) => downloads().download(p),
    [Methods.cancelDownload]: (p) => downloads().cancel(p),
  };
}

function notInitialized(): never {
  throw new RequestError(ErrorCodes.invalidState, 'the backend is not initialized');
}

/**
 * Answers one request: the handler's result, or a ResponseError with the code of what went wrong.
 * `params` is what arrived (undefined when the request had none). Errors no layer throws on purpose
 * (answered as `internal`) are reported to `logError` with their stack.
 */
export async function handleRequest<M extends RequestMethod>(
  handlers: RequestHandlers,
  method: M,
  params: unknown,
  logError: (message: string) => void = () => undefined,
): Promise<RequestResult<M> | ResponseError<void>> {
  const wrong = checkParams(method, params);
  if (wrong) return new ResponseError(ErrorCodes.invalidParams, wrong);
  try {
    const handler = handlers[method] as RequestHandler<M>;
    return await handler(params as RequestParams<M>);
  } catch (e) {
    if (isUnexpectedError(e)) logError(`${method} failed: ${(e as Error)?.stack ?? e}`);
    const err = toRequestError(e, method);
    return new ResponseError(err.code, err.message);
  }
}
