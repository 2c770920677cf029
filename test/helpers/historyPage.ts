/**
 * What the backend answers to getRunHistory for a run holding `events`: the page `[offset, offset + limit)`
 * when the params ask for one (as `extension/runHistory.ts` always does), else everything from `offset`.
 * The fake extension hosts of the tests answer with it so that they page as the real backend does.
 */
export function historyPage<T>(events: readonly T[], params: unknown): T[] {
  const p = (params ?? {}) as { offset?: number; limit?: number };
  const offset = p.offset ?? 0;
  return p.limit === undefined ? events.slice(offset) : events.slice(offset, offset + p.limit);
}
