/**
 * A run's whole history read page by page: the backend answers at most HISTORY_PAGE_MAX events per
 * getRunHistory call (and refuses an unpaged call over that), so long runs are read in pages and joined.
 */
import { HISTORY_PAGE_MAX, type RunEvent, type RunHistoryParams } from '../common/protocol';

export type HistoryPageReader = (params: RunHistoryParams) => Promise<RunEvent[]>;

export async function readRunHistory(readPage: HistoryPageReader, runId: string, pageSize: number = HISTORY_PAGE_MAX): Promise<RunEvent[]> {
  const events: RunEvent[] = [];
  for (;;) {
    const page = await readPage({ runId, offset: events.length, limit: pageSize });
    // A backend that does not page answers everything at once: that is the whole history.
    if (page.length > pageSize && events.length === 0) return page;
    if (page.length > pageSize) throw new Error(`getRunHistory answered ${page.length} events for a page of ${pageSize}`);
    for (const e of page) events.push(e);
    if (page.length < pageSize) return events;
  }
}
