// The gradient-flow view's overlay (ui/views-recurrent.js): the last result of each model trained in
// this page session, keyed by the model's settings, turned into chart series and table rows.
import { t } from './i18n.js';
import { describeModel } from './describe.js';

/** The overlay's key for a model: its settings, independent of the page's language. */
export function modelKey(m) {
  return JSON.stringify([m.family, m.activation ?? null, m.layers, m.embed, m.hidden, m.bptt, m.dropout ?? null, Boolean(m.bidirectional)]);
}

/**
 * The chart's series and data from the stored results ({ model, layers }, in insertion order): one
 * series per model and layer, labelled by the model's description (and the layer where a model has
 * several); data is [distances, norms per series] on the union of the distances, null where a series
 * has none or the norm is not positive (a log scale cannot show it).
 */
export function gradflowSeries(results, describe = describeModel) {
  const series = [];
  const maps = [];
  for (const r of results) {
    const desc = describe(r.model);
    for (const l of r.layers) {
      series.push({ label: r.layers.length > 1 ? t('views.gf_layer', { model: desc, n: l.layer + 1 }) : desc });
      maps.push(new Map(l.norms.map((p) => [p.distance, Number.isFinite(p.norm) && p.norm > 0 ? p.norm : null])));
    }
  }
  const xs = [...new Set(maps.flatMap((m) => [...m.keys()]))].sort((a, b) => a - b);
  return { series, data: [xs, ...maps.map((m) => xs.map((x) => (m.has(x) ? m.get(x) : null)))] };
}
