// The hidden-state heatmap's data and colours (ui/views-states.js): from the core's `hidden-states`
// view — per layer h and the gates per token — the quantities a user can pick, the units × time
// matrix of one, its colour scale and what a unit does over the text. No DOM here (unit-tested).

/** Gates by the core's names: sigmoid gates (0…1) and the tanh candidates (−1…1). */
const GATE_RANGE = { i: [0, 1], f: [0, 1], o: [0, 1], r: [0, 1], z: [0, 1], g: [-1, 1], n: [-1, 1] };

/**
 * What can be shown for a layer: `h` (range −1…1, or 0…1 for a sigmoid RNN) and each gate.
 * [{ id, gate: index or -1, range }].
 */
export function quantities(layer, model = {}) {
  const out = [{ id: 'h', gate: -1, range: model.activation === 'sigmoid' ? [0, 1] : [-1, 1] }];
  (layer.gates?.names || []).forEach((name, gate) => out.push({ id: name, gate, range: GATE_RANGE[name] ?? [0, 1] }));
  return out;
}

/** The values of quantity `q` of a layer: per token, one value per unit ([T][H]). */
export function matrix(layer, q) {
  if (q.gate < 0) return layer.h;
  const H = layer.units;
  return layer.gates.values.map((row) => row.slice(q.gate * H, (q.gate + 1) * H));
}

// The colour scale's ends: light enough that dark text on any of them has a contrast of at least
// 4.5 : 1 (the coloured text keeps one dark text colour, in light and dark mode alike).
export const NEG = [100, 140, 235];
export const POS = [235, 110, 80];
export const SEQ = [80, 185, 120];
export const TEXT = '#1d2330';

/** The colour of value v on a range: white at 0 (or the low end), towards NEG/POS (or SEQ). */
export function colorOf(v, [lo, hi]) {
  if (!Number.isFinite(v)) return [255, 255, 255];
  let a;
  let end;
  if (lo < 0) {
    a = Math.min(1, Math.abs(v) / Math.max(Math.abs(lo), hi));
    end = v < 0 ? NEG : POS;
  } else {
    a = Math.min(1, Math.max(0, (v - lo) / (hi - lo)));
    end = SEQ;
  }
  return end.map((c) => Math.round(255 + (c - 255) * a));
}

export const css = ([r, g, b]) => `rgb(${r}, ${g}, ${b})`;

/** The colour bar's stops for a range, left (low) to right (high). */
export function colorStops(range) {
  const [lo, hi] = range;
  return Array.from({ length: 9 }, (_, i) => css(colorOf(lo + ((hi - lo) * i) / 8, range)));
}

/** Relative luminance (WCAG) of an sRGB colour. */
export function luminance(rgb) {
  const [r, g, b] = rgb.map((c) => { const s = c / 255; return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4; });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** A token as a column label: whitespace and the sentence markers made visible. */
export function tokenLabel(tok) {
  if (tok === '\n' || tok === '</s>') return '↵';
  if (tok === ' ') return '␣';
  if (tok === '\t') return '⇥';
  if (tok === '<s>') return '▸';
  if (tok === '[UNK]') return '�';
  return tok;
}

/** Per unit: its variance over the text; the default unit is the one that varies most. */
export function liveliestUnit(m) {
  if (!m.length) return 0;
  const H = m[0].length;
  let best = 0;
  let bestVar = -1;
  for (let u = 0; u < H; u++) {
    let s = 0;
    let s2 = 0;
    for (const row of m) { s += row[u]; s2 += row[u] * row[u]; }
    const v = s2 / m.length - (s / m.length) ** 2;
    if (v > bestVar) { bestVar = v; best = u; }
  }
  return best;
}

/** What unit u does over the text: its highest and lowest value and where ({ value, at }). */
export function unitExtremes(m, u) {
  let hi = { value: -Infinity, at: 0 };
  let lo = { value: Infinity, at: 0 };
  m.forEach((row, i) => {
    if (row[u] > hi.value) hi = { value: row[u], at: i };
    if (row[u] < lo.value) lo = { value: row[u], at: i };
  });
  return { hi, lo };
}

/** Every value of the matrix as RGBA pixels, units as rows and tokens as columns (an ImageData's data). */
export function pixels(m, range) {
  const T = m.length;
  const H = T ? m[0].length : 0;
  const px = new Uint8ClampedArray(T * H * 4);
  for (let t = 0; t < T; t++) {
    for (let u = 0; u < H; u++) {
      const [r, g, b] = colorOf(m[t][u], range);
      const o = (u * T + t) * 4;
      px[o] = r; px[o + 1] = g; px[o + 2] = b; px[o + 3] = 255;
    }
  }
  return px;
}

/** The key unit a keyboard key moves to, from unit u of H (null: not a key the heatmap uses). */
export function unitFromKey(key, u, H) {
  const to = { ArrowUp: u - 1, ArrowLeft: u - 1, ArrowDown: u + 1, ArrowRight: u + 1, PageUp: u - 10, PageDown: u + 10, Home: 0, End: H - 1 }[key];
  return to === undefined ? null : Math.min(H - 1, Math.max(0, to));
}
