/**
 * The one run-id rule. Run ids double as folder names, so every id that comes from outside (a request,
 * a webview message, a folder name) is checked with it before it touches a path: [A-Za-z0-9._-] only,
 * no leading dot (so no "." / ".." / hidden folders), 1 to 100 characters.
 */

export const MAX_RUN_ID_LENGTH = 100;
export const RUN_ID_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}$/;

export function isRunId(id: unknown): id is string {
  return typeof id === 'string' && RUN_ID_PATTERN.test(id);
}
