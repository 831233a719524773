// The runs comparison chart (ui/runs.js, docs/ui.md "Runs"): every ticked run of any family on one
// chart — training loss (smoothed) and validation loss by step, or the same as perplexity — and the
// runs without a curve (n-gram models are counted, not trained by steps) as a level line at their
// validation loss. No DOM here (unit-tested).
import { color } from './charts.js';

/** Most training points drawn per run (the smoothed curve is thinned evenly past it). */
export const MAX_TRAIN_POINTS = 400;

/** Bias-corrected exponential moving average of a noisy per-step loss (like TensorBoard's smoothing; the loss chart's too). */
export function smooth(ys, beta = 0.95) {
  let m = 0;
  return ys.map((y, i) => { m = beta * m + (1 - beta) * y; return m / (1 - beta ** (i + 1)); });
}

/** Every k-th point, and the last, so at most about `max` remain. */
export function thin(points, max) {
  if (points.length <= max) return points;
  const k = Math.ceil(points.length / max);
  return points.filter((_, i) => i % k === 0 || i === points.length - 1);
}

/** A run's validation loss in nats per token from its report (null if infinite or missing). */
export function levelOf(report) {
  const ppl = report?.validation?.perplexity;
  return Number.isFinite(ppl) && ppl > 0 ? Math.log(ppl) : null;
}

/**
 * The chart's series and data. `runs`: [{ label, curve: rows [step, train, valid | null] (may be
 * empty), level: validation loss (nats) for a run without a curve }], in the order to colour them.
 * `y`: 'loss' (nats/token) or 'ppl' (e^loss); `train`, `valid`: which curves to draw. `names`:
 * { train, valid, level } — the suffixes of the series' labels. Returns { series: [{ label, color,
 * dash, points, run, kind }], data: [xs, ys…] }, aligned on the union of the steps.
 */
export function comparisonSeries(runs, { y = 'loss', train = true, valid = true, names = { train: 'training', valid: 'validation', level: 'validation' } } = {}) {
  const f = y === 'ppl' ? Math.exp : (v) => v;
  const lines = [];
  let lo = Infinity;
  let hi = -Infinity;
  runs.forEach((r, i) => {
    const c = color(i);
    const curve = r.curve || [];
    if (curve.length) {
      lo = Math.min(lo, curve[0][0]);
      hi = Math.max(hi, curve.at(-1)[0]);
      if (train) {
        const ys = smooth(curve.map((p) => p[1]));
        const pts = thin(curve.map((p, j) => [p[0], f(ys[j])]), MAX_TRAIN_POINTS);
        lines.push({ s: { label: `${r.label} · ${names.train}`, color: c, dash: [6, 4], points: false, run: i, kind: 'train' }, pts });
      }
      const v = curve.filter((p) => p[2] !== null && p[2] !== undefined);
      if (valid && v.length) lines.push({ s: { label: `${r.label} · ${names.valid}`, color: c, points: true, run: i, kind: 'valid' }, pts: v.map((p) => [p[0], f(p[2])]) });
    } else if (valid && r.level !== null && r.level !== undefined) {
      lines.push({ s: { label: `${r.label} · ${names.level}`, color: c, dash: [2, 3], points: false, run: i, kind: 'level' }, level: f(r.level) });
    }
  });
  // Level lines span the steps of the curves (or 0…1 when no run has one).
  if (lo === Infinity) { lo = 0; hi = 1; }
  if (hi === lo) hi = lo + 1;
  for (const l of lines) if (l.level !== undefined) l.pts = [[lo, l.level], [hi, l.level]];
  const xs = [...new Set(lines.flatMap((l) => l.pts.map((p) => p[0])))].sort((a, b) => a - b);
  const data = [xs, ...lines.map((l) => {
    const m = new Map(l.pts.map((p) => [p[0], p[1]]));
    return xs.map((x) => (m.has(x) ? m.get(x) : null));
  })];
  return { series: lines.map((l) => l.s), data };
}

/**
 * Groups of runs by vocabulary (its fingerprint): [{ vocab, ids }], largest first. More than one
 * group means their losses and perplexities are not comparable.
 */
export function vocabGroups(runs) {
  const groups = new Map();
  for (const r of runs) {
    if (!groups.has(r.vocab)) groups.set(r.vocab, []);
    groups.get(r.vocab).push(r.id);
  }
  return [...groups].map(([vocab, ids]) => ({ vocab, ids })).sort((a, b) => b.ids.length - a.ids.length);
}
