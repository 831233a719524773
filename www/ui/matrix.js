// A labelled matrix heatmap (attention maps, positional encodings): a canvas with its row and column
// labels as text (textContent, never drawn HTML), a colour bar, a keyboard cursor that names the cell
// under it in a live region, and the plot of its PNG export (ui/png.js) with the labels drawn in.
import { pixels, colorStops, css, colorOf, moveCell, tokenLabel } from '../lib/attention.js';
import { el } from './widgets.js';

/** Draws matrix `m` at one pixel a cell into `canvas` (CSS scales it up, pixelated). */
export function paint(canvas, m, lo, hi, scale = 'linear') {
  const R = m.length;
  const C = R ? m[0].length : 0;
  canvas.width = Math.max(1, C);
  canvas.height = Math.max(1, R);
  if (!R || !C) return;
  canvas.getContext('2d').putImageData(new ImageData(pixels(m, lo, hi, scale), C, R), 0, 0);
}

/**
 * A heatmap of `m` ([rows][cols]) in a new element. `rows`, `cols`: labels (tokens or numbers);
 * `range`: [lo, hi]; `scale`: 'linear' or 'cyclic' (angles); `describe(i, j, v)`: the cell in words; `label`: the chart's accessible name;
 * `fmt`: a value as text. Returns { el, canvas, plot (for `pngButton`), colorbar }.
 */
export function heatmap(m, { rows, cols, range, scale = 'linear', describe, label, fmt = (v) => v.toFixed(3), maxPx = 560, id = '' }) {
  const [lo, hi] = range;
  const R = m.length;
  const C = R ? m[0].length : 0;
  const cell = Math.max(3, Math.min(24, Math.floor(maxPx / Math.max(R, C, 1))));
  const wrap = el('div', 'mx');
  const grid = el('div', 'mx-grid');
  const colLabels = el('div', 'mx-cols');
  const rowLabels = el('div', 'mx-rows');
  // Labels stay readable (10 px or more): where the cells are narrower, every k-th token is
  // labelled, and the cursor's row and column show theirs (`mark`).
  const { every, px } = axisLabels(cell);
  const spans = [];
  for (const [box, labels] of [[colLabels, cols], [rowLabels, rows]]) {
    box.setAttribute('aria-hidden', 'true'); // the cursor and the lists below say the same in words
    const list = labels.map((l, i) => {
      const s = el('span', '', i % every === 0 ? tokenLabel(String(l)) : '');
      s.style.flexBasis = `${cell}px`;
      s.style.fontSize = `${px}px`;
      box.append(s);
      return s;
    });
    spans.push({ list, labels });
  }
  colLabels.dataset.every = String(every); // how often the columns are labelled (tests, tools)
  const marked = [];
  const mark = (i, j) => {
    for (const { s, text } of marked.splice(0)) { s.textContent = text; s.classList.remove('on'); }
    for (const [{ list, labels }, k] of [[spans[1], i], [spans[0], j]]) {
      const s = list[k];
      if (!s) continue;
      marked.push({ s, text: s.textContent });
      s.textContent = tokenLabel(String(labels[k]));
      s.classList.add('on');
    }
  };
  const canvas = el('canvas', 'mx-canvas');
  if (id) canvas.id = id;
  paint(canvas, m, lo, hi, scale);
  canvas.style.width = `${C * cell}px`;
  canvas.style.height = `${R * cell}px`;
  canvas.tabIndex = 0;
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', label);
  canvas.dataset.rows = String(R);
  canvas.dataset.cols = String(C);
  const cursor = el('div', 'mx-cursor');
  cursor.hidden = true;
  cursor.style.width = `${cell}px`;
  cursor.style.height = `${cell}px`;
  const box = el('div', 'mx-plot');
  box.append(canvas, cursor);
  grid.append(el('div', 'mx-corner'), colLabels, rowLabels, box);
  const said = el('p', 'mx-said');
  said.setAttribute('aria-live', 'polite');
  const bar = el('div', 'mx-bar');
  const stops = el('span', 'mx-bar-stops');
  stops.style.backgroundImage = `linear-gradient(to right, ${colorStops(lo, hi, 9, scale).join(', ')})`;
  bar.append(el('span', '', fmt(lo)), stops, el('span', '', fmt(hi)));
  bar.setAttribute('aria-hidden', 'true');
  wrap.append(grid, bar, said);

  let at = null;
  const show = (i, j) => {
    at = [i, j];
    mark(i, j);
    cursor.hidden = false;
    cursor.style.left = `${j * cell}px`;
    cursor.style.top = `${i * cell}px`;
    said.textContent = describe(i, j, m[i][j]);
    said.dataset.cell = `${i},${j}`;
  };
  canvas.addEventListener('keydown', (e) => {
    const next = moveCell(e.key, at?.[0] ?? 0, at?.[1] ?? 0, R, C);
    if (!next) return;
    e.preventDefault();
    show(...(at ? next : [0, 0]));
  });
  canvas.addEventListener('focus', () => { if (!at && R && C) show(R - 1, 0); });
  canvas.addEventListener('mousemove', (e) => {
    const r = canvas.getBoundingClientRect();
    const i = Math.floor(((e.clientY - r.top) / r.height) * R);
    const j = Math.floor(((e.clientX - r.left) / r.width) * C);
    if (i >= 0 && i < R && j >= 0 && j < C) show(i, j);
  });

  // The PNG (ui/png.js): this matrix at a readable size with its labels; the title and colour bar are
  // added by the figure.
  const plot = async () => ({ canvas: figure(m, { rows, cols, lo, hi, scale }), scale: 1 });
  const colorbar = { stops: colorStops(lo, hi, 9, scale), min: fmt(lo), max: fmt(hi) };
  return { el: wrap, canvas, plot, colorbar };
}

/**
 * For cells of `cell` pixels: label every `every`-th token, at `px` pixels between `min` and `max`
 * (readable either way; the page's axes use 10–12 px, the PNG 11–13 px).
 */
export function axisLabels(cell, min = 10, max = 12) {
  const px = Math.max(min, Math.min(max, cell - 2));
  return { every: Math.max(1, Math.ceil((px + 1) / cell)), px };
}

/** The matrix at a readable size (up to ~900 px) with its row and column labels, on white. */
function figure(m, { rows, cols, lo, hi, scale }) {
  const R = m.length;
  const C = R ? m[0].length : 0;
  const cell = Math.max(4, Math.min(24, Math.floor(900 / Math.max(R, C, 1))));
  const font = 'system-ui, "Noto Sans CJK SC", sans-serif';
  // Readable labels in the PNG too: every k-th token where the cells are narrow.
  const { every, px: labelPx } = axisLabels(cell, 11, 13);
  const probe = document.createElement('canvas').getContext('2d');
  probe.font = `${labelPx}px ${font}`;
  const width = (l) => probe.measureText(tokenLabel(String(l))).width;
  const labelW = Math.ceil(Math.max(0, ...rows.map(width), ...cols.map(width))) + 6;
  const pad = 12;
  const x0 = pad + labelW;
  const top = labelW + 4;
  const c = document.createElement('canvas');
  c.width = x0 + C * cell + pad;
  c.height = top + R * cell + 4;
  const ctx = c.getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, c.width, c.height);
  for (let i = 0; i < R; i++) {
    for (let j = 0; j < C; j++) {
      ctx.fillStyle = css(colorOf(m[i][j], lo, hi, scale));
      ctx.fillRect(x0 + j * cell, top + i * cell, cell, cell);
    }
  }
  if (labelW) {
    ctx.fillStyle = '#1d2330';
    ctx.font = `${labelPx}px ${font}`;
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'right';
    rows.forEach((l, i) => { if (i % every === 0) ctx.fillText(tokenLabel(String(l)), x0 - 4, top + (i + 0.5) * cell); });
    ctx.textAlign = 'left';
    cols.forEach((l, j) => {
      if (j % every !== 0) return;
      ctx.save();
      ctx.translate(x0 + (j + 0.5) * cell, top - 4);
      ctx.rotate(-Math.PI / 2);
      ctx.fillText(tokenLabel(String(l)), 0, 0);
      ctx.restore();
    });
  }
  return c;
}
