// The Transformer views' data (ui/views-transformer.js): attention matrices as pixels, their colour
// scale, keyboard moves on a heatmap, the positional maps, and the least-squares slope of the cost
// lesson's log-log lines. No DOM here (unit-tested).

/** The colour scale's ends: white (0) to a deep blue (the largest value shown). */
const LO = [255, 255, 255];
const HI = [25, 60, 170];
/** A diverging scale's negative end (similarities, biases below 0). */
const NEG = [200, 60, 40];

/**
 * The colour of v on [lo, hi]: white at 0 (or lo ≥ 0) towards blue, and towards red below 0. With
 * `scale` 'cyclic' (angles): a hue wheel, so lo and hi — 0 and 2π — are the same colour.
 */
export function colorOf(v, lo, hi, scale = 'linear') {
  if (!Number.isFinite(v)) return [235, 235, 235]; // masked: −∞ before the softmax
  if (scale === 'cyclic') return hue(hi > lo ? (v - lo) / (hi - lo) : 0);
  if (lo < 0) {
    const m = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
    const a = Math.min(1, Math.abs(v) / m);
    const end = v < 0 ? NEG : HI;
    return LO.map((c, i) => Math.round(c + (end[i] - c) * a));
  }
  const a = hi > lo ? Math.min(1, Math.max(0, (v - lo) / (hi - lo))) : 0;
  return LO.map((c, i) => Math.round(c + (HI[i] - c) * a));
}

/** A point f (turns, wrapping) of a hue wheel at a moderate saturation and lightness (HSL → RGB). */
function hue(f) {
  const h = (((f % 1) + 1) % 1) * 6;
  const [s, l] = [0.55, 0.62];
  const c = (1 - Math.abs(2 * l - 1)) * s;
  const x = c * (1 - Math.abs((h % 2) - 1));
  const [r, g, b] = [[c, x, 0], [x, c, 0], [0, c, x], [0, x, c], [x, 0, c], [c, 0, x]][Math.floor(h) % 6];
  const m = l - c / 2;
  return [r, g, b].map((v) => Math.round((v + m) * 255));
}

export const css = ([r, g, b]) => `rgb(${r}, ${g}, ${b})`;

/** The colour bar's stops, low to high. */
export function colorStops(lo, hi, n = 9, scale = 'linear') {
  return Array.from({ length: n }, (_, i) => css(colorOf(lo + ((hi - lo) * i) / (n - 1), lo, hi, scale)));
}

/** The range of a matrix's finite values ([min, max]); attention uses [0, 1] (rows sum to 1). */
export function rangeOf(m) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const row of m) for (const v of row) if (Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  return lo <= hi ? [lo, hi] : [0, 1];
}

/** A [rows][cols] matrix as RGBA pixels (row-major; an ImageData's data). */
export function pixels(m, lo, hi, scale = 'linear') {
  const R = m.length;
  const C = R ? m[0].length : 0;
  const px = new Uint8ClampedArray(R * C * 4);
  for (let i = 0; i < R; i++) {
    for (let j = 0; j < C; j++) {
      const [r, g, b] = colorOf(m[i][j], lo, hi, scale);
      const o = (i * C + j) * 4;
      px[o] = r; px[o + 1] = g; px[o + 2] = b; px[o + 3] = 255;
    }
  }
  return px;
}

/** A token as an axis label: whitespace and the sentence markers made visible. */
export function tokenLabel(tok) {
  if (tok === '\n' || tok === '</s>') return '↵';
  if (tok === ' ') return '␣';
  if (tok === '\t') return '⇥';
  if (tok === '<s>') return '▸';
  return tok;
}

/** The cell a key moves to from (i, j) in an R × C heatmap; null for keys the heatmap ignores. */
export function moveCell(key, i, j, R, C) {
  const d = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] }[key];
  if (d) return [Math.min(R - 1, Math.max(0, i + d[0])), Math.min(C - 1, Math.max(0, j + d[1]))];
  if (key === 'Home') return [i, 0];
  if (key === 'End') return [i, C - 1];
  if (key === 'PageUp') return [0, j];
  if (key === 'PageDown') return [R - 1, j];
  return null;
}

/** For each query row, the key it attends to most: [{ query, key, weight }]. */
export function strongest(m) {
  return m.map((row, i) => {
    let k = 0;
    for (let j = 1; j < row.length; j++) if (row[j] > row[k]) k = j;
    return { query: i, key: k, weight: row[k] };
  });
}

/**
 * Least squares of log y on log x over the points with x, y > 0: { slope, intercept, n } (natural
 * logs; slope null with fewer than two points). On a log-log chart the slope is the exponent:
 * time ∝ Tᵏ.
 */
export function logLogFit(xs, ys) {
  const pts = xs.map((x, i) => [x, ys[i]]).filter(([x, y]) => x > 0 && y > 0 && Number.isFinite(x) && Number.isFinite(y));
  const n = pts.length;
  if (n < 2) return { slope: null, intercept: null, n };
  const lx = pts.map((p) => Math.log(p[0]));
  const ly = pts.map((p) => Math.log(p[1]));
  const mx = lx.reduce((a, b) => a + b, 0) / n;
  const my = ly.reduce((a, b) => a + b, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) { sxx += (lx[i] - mx) ** 2; sxy += (lx[i] - mx) * (ly[i] - my); }
  if (sxx === 0) return { slope: null, intercept: null, n };
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx, n };
}

/** The sequence lengths of the cost lesson: powers of two from `from` to `to`. */
export function lengths(from = 64, to = 4096) {
  const out = [];
  for (let t = from; t <= to; t *= 2) out.push(t);
  return out;
}

/** Positions 0 … n − 1 as labels. */
const positions = (n) => Array.from({ length: n }, (_, i) => i);
const symmetric = (m) => { const [lo, hi] = rangeOf(m); const a = Math.max(Math.abs(lo), Math.abs(hi)) || 1; return [-a, a]; };

/**
 * The heatmaps of the core's `positional` view, by its `kind`: [{ kind, rows, cols, values, range,
 * params }] — `kind` names the strings (views.pos_map_<kind>, views.pos_about_<kind>,
 * views.pos_cell_<kind>). Sinusoidal: the matrix p(pos, i); learned: the cosine similarity of the
 * position embeddings; RoPE: the angles m·θ_i folded into [0, 2π) (what the rotation sees), on a
 * cyclic scale (`scale`); ALiBi: each head's bias (null above the diagonal: masked), every head on one
 * scale; relative: each layer's w^K and w^V tables.
 * NoPE gives [].
 */
export function positionalMaps(r) {
  const out = [];
  if (r.matrix) out.push({ kind: 'sinusoidal', rows: positions(r.matrix.length), cols: positions(r.matrix[0]?.length ?? 0), values: r.matrix, range: [-1, 1] });
  if (r.similarity) out.push({ kind: 'similarity', rows: positions(r.similarity.length), cols: positions(r.similarity.length), values: r.similarity, range: [-1, 1] });
  if (r.angles) {
    const tau = 2 * Math.PI;
    const folded = r.angles.map((row) => row.map((a) => ((a % tau) + tau) % tau));
    out.push({ kind: 'rope', rows: positions(folded.length), cols: positions(folded[0]?.length ?? 0), values: folded, range: [0, tau], scale: 'cyclic' });
  }
  // ALiBi's heads share one scale (the steepest head's lowest bias): their slopes are the point.
  const lowest = Math.min(-1e-9, ...(r.bias || []).map((b) => rangeOf(b)[0]));
  for (const [h, bias] of (r.bias || []).entries()) {
    out.push({ kind: 'alibi', rows: positions(bias.length), cols: positions(bias.length), values: bias, range: [lowest, 0], params: { head: h + 1, slope: Number(r.slopes?.[h] ?? 0).toPrecision(3) } });
  }
  for (const l of r.kind === 'relative' ? r.layers || [] : []) {
    for (const [kind, m] of [['relative_k', l.w_k], ['relative_v', l.w_v]]) {
      out.push({ kind, rows: positions(m.length), cols: positions(m[0]?.length ?? 0), values: m, range: symmetric(m), params: { layer: l.layer + 1 } });
    }
  }
  return out;
}
