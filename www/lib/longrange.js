// The long-range view's overlay (ui/views-longrange.js): the last accuracy-by-distance result of each
// model trained in this page session on a task, turned into chart series (and the chance level) and
// table rows.

/** The overlay's key for a model: its settings (any family), independent of the page's language. */
export function longRangeKey(m) {
  return JSON.stringify(Object.keys(m).sort().map((k) => [k, m[k]]));
}

/**
 * Chart series and data from the stored results ({ model, task, chance, distances: [{ distance,
 * accuracy }] }, in insertion order) of one task: a series per model, labelled by `describe(model)`,
 * then the chance level (dashed). data is [distances, accuracy per model, chance], on the union of the
 * distances, null where a model has none.
 */
export function longRangeSeries(results, task, { describe, chanceLabel }) {
  const rs = results.filter((r) => r.task === task);
  const xs = [...new Set(rs.flatMap((r) => r.distances.map((d) => d.distance)))].sort((a, b) => a - b);
  const chance = rs.length ? rs[rs.length - 1].chance : null;
  const series = rs.map((r) => ({ label: describe(r.model) }));
  const data = [xs, ...rs.map((r) => {
    const by = new Map(r.distances.map((d) => [d.distance, d.accuracy]));
    return xs.map((x) => (by.has(x) ? by.get(x) : null));
  })];
  if (chance !== null) {
    series.push({ label: chanceLabel(chance), dash: [6, 4], color: '#6c757d', chance: true });
    data.push(xs.map(() => chance));
  }
  return { series, data, chance, models: rs.length };
}

/** A share as a percentage with no more digits than it needs: 0.125 → "12.5%". */
export function pct(x) {
  return x === null || x === undefined ? '—' : `${Number((100 * x).toFixed(1))}%`;
}
