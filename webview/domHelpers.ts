/** Small DOM helpers the panel's sections share: definition-list items, a picker's options, the notice line. */
import type { DefItem } from './panelText';

/** A <dt>/<dd> pair (`title`: the value's tooltip). */
export function definitionItem(term: string, value: string, title?: string): DocumentFragment {
  const f = document.createDocumentFragment();
  const dt = document.createElement('dt');
  dt.textContent = term;
  const dd = document.createElement('dd');
  dd.textContent = value;
  if (title) dd.title = title;
  f.append(dt, dd);
  return f;
}

/** The <dt>/<dd> pairs of items, for `replaceChildren`. */
export function definitionItems(items: readonly DefItem[]): DocumentFragment[] {
  return items.map((i) => definitionItem(i.term, i.value, i.title));
}

/** A vscode-single-select's options (left alone when neither they nor the value changed). */
export function setOptions(
  select: HTMLElement,
  items: { value: string; label: string }[],
  value: string | undefined,
  emptyLabel: string,
): void {
  const s = select as HTMLElement & { value: string; disabled: boolean };
  const key = JSON.stringify([items, value]);
  if (s.dataset.key === key) return;
  s.dataset.key = key;
  const options = items.length ? items : [{ value: '', label: emptyLabel }];
  s.replaceChildren(
    ...options.map((i) => {
      const o = document.createElement('vscode-option') as HTMLElement & { value: string };
      o.setAttribute('value', i.value);
      o.textContent = i.label;
      if (i.value === value) o.setAttribute('selected', '');
      return o;
    }),
  );
  if (value !== undefined) s.value = value;
}

/** Shows the notice line (an error in the error colour). */
export function showNotice(n: HTMLElement, text: string, error: boolean): void {
  n.textContent = text;
  n.classList.toggle('error', error);
  n.hidden = false;
}
