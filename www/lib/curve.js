// The loss curve the page draws and stores with a run: rows [step, train loss, validation loss | null].

/** Most points a loss curve keeps: beyond it every other training point is dropped (validation points stay). */
export const MAX_CURVE_POINTS = 8000;

/** Halves the training-only points of a curve that is over MAX_CURVE_POINTS. */
export function thin(curve) {
  if (curve.length <= MAX_CURVE_POINTS) return curve;
  return curve.filter((c, i) => i % 2 === 0 || c[2] !== null || i === curve.length - 1);
}

/**
 * Appends the core's loss points ({ step, train_loss, valid_loss }) to `curve` and returns the curve.
 * Steps are appended in order and only once: a point at or before the curve's last step (a message
 * that repeats points) is skipped.
 */
export function appendPoints(curve, points = []) {
  let last = curve.length ? curve[curve.length - 1][0] : -Infinity;
  for (const q of points) {
    if (!(q.step > last)) continue;
    curve.push([q.step, q.train_loss, q.valid_loss ?? null]);
    last = q.step;
  }
  return thin(curve);
}

/** A curve from a model file's history (the same rows, thinned). */
export function fromHistory(points) { return appendPoints([], points || []); }
