/**
 * The page's view settings kept with VS Code's getState/setState: without retainContextWhenHidden
 * VS Code discards a hidden webview and reloads it when shown, so which charts show their table and
 * how "Compare runs" and the charts' toolbar are set are saved as they change and restored on load (the run shown is saved
 * by the app itself; the extension never sees this part of the state).
 */
import type { MonitorUiState, MonitorWebviewState } from '../common/protocol';
import { restoredTables, TABLE_TOGGLE_EVENT } from './chartA11y';
import { CHART_UI_EVENT } from './chartPanel';
import { COMPARE_UI_EVENT } from './compare';

interface StateApi {
  getState(): unknown;
  setState(state: MonitorWebviewState): void;
}

function readUi(api: StateApi): MonitorUiState {
  const s = api.getState() as MonitorWebviewState | undefined;
  const ui = s && typeof s === 'object' && s.ui && typeof s.ui === 'object' ? s.ui : {};
  return {
    tables: Array.isArray(ui.tables) ? ui.tables.filter((t): t is string => typeof t === 'string') : [],
    compareMetric: typeof ui.compareMetric === 'string' ? ui.compareMetric : undefined,
    compareGroup: typeof ui.compareGroup === 'string' ? ui.compareGroup : undefined,
    compareRegex: typeof ui.compareRegex === 'string' ? ui.compareRegex : undefined,
    chartXAxis: typeof ui.chartXAxis === 'string' ? ui.chartXAxis : undefined,
    smoothing: typeof ui.smoothing === 'number' && Number.isFinite(ui.smoothing) ? ui.smoothing : undefined,
    logY: typeof ui.logY === 'boolean' ? ui.logY : undefined,
  };
}

function saveUi(api: StateApi, patch: Partial<MonitorUiState>): void {
  const s = (api.getState() as MonitorWebviewState | undefined) ?? {};
  api.setState({ ...s, ui: { ...readUi(api), ...patch } });
}

/** Restores the saved settings (returns them; the Table toggles pick theirs up when created) and saves every change. */
export function bindUiState(root: HTMLElement, api: StateApi): MonitorUiState {
  const ui = readUi(api);
  restoredTables.clear();
  for (const id of ui.tables ?? []) restoredTables.add(id);
  root.addEventListener(TABLE_TOGGLE_EVENT, (e) => {
    const { id, on } = (e as CustomEvent<{ id: string; on: boolean }>).detail;
    const tables = new Set(readUi(api).tables);
    if (on) tables.add(id);
    else tables.delete(id);
    saveUi(api, { tables: [...tables] });
  });
  root.addEventListener(COMPARE_UI_EVENT, (e) => saveUi(api, (e as CustomEvent<Partial<MonitorUiState>>).detail));
  root.addEventListener(CHART_UI_EVENT, (e) => saveUi(api, (e as CustomEvent<Partial<MonitorUiState>>).detail));
  return ui;
}
