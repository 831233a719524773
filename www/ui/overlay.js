// The parts an overlay view shares (gradient flow, accuracy by distance): a chart box described for
// screen readers, a table of the plotted values, and "Clear the other models". The views keep the
// last result of each model trained in this page session in a Map and draw them all on one chart.
import { t } from '../lib/i18n.js';
import { table } from './widgets.js';

const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};

/** The chart box `${prefix}-chart` with its description, the values' <details> and the clear button. */
export function overlayParts(prefix, clearKey) {
  const info = el('p', 'explain-head');
  const box = el('div', 'chart');
  box.id = `${prefix}-chart`;
  box.tabIndex = 0;
  box.setAttribute('role', 'img');
  const summary = el('p', 'sr-only');
  summary.id = `${prefix}-chart-desc`;
  box.setAttribute('aria-describedby', summary.id);
  const values = el('details', `${prefix}-values`);
  const clear = el('button', '', t(clearKey));
  clear.type = 'button';
  clear.id = `${prefix}-clear`;
  return { info, box, summary, values, clear };
}

/** Fills `values` with the plotted numbers: a row per x, a column per series (labels as text). */
export function fillValues(values, { summaryKey, xHead, yHead, series, data, fmt }) {
  const rows = data[0].map((x, i) => [String(x), ...data.slice(1).map((ys) => fmt(ys[i]))]);
  const tbl = table([xHead, ...series.map(() => yHead)], rows);
  // The column heads are the series' labels (model text: textContent).
  tbl.querySelectorAll('th').forEach((th, i) => { if (i > 0) th.textContent = series[i - 1].label; });
  values.replaceChildren(el('summary', '', t(summaryKey)), tbl);
}

/** "Clear the other models": keeps only `key`'s result in `results`, then redraws. */
export function onClearOthers(clear, results, key, draw) {
  clear.addEventListener('click', () => {
    for (const k of [...results.keys()]) if (k !== key) results.delete(k);
    draw();
    clear.disabled = true;
  });
}
