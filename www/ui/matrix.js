// A labelled matrix heatmap (attention maps, positional encodings): a canvas with its row and column
// labels as text (textContent, never drawn HTML), a colour bar, a keyboard cursor that names the cell
// under it in a live region, and a PNG export that draws the labels into the picture.
import { t } from '../lib/i18n.js';
import { pixels, colorStops, css, colorOf, moveCell, tokenLabel } from '../lib/attention.js';
import { el } from './widgets.js';
import { download } from './files.js';


/** Draws matrix `m` at one pixel a cell into `canvas` (CSS scales it up, pixelated). */
export function paint(canvas, m, lo, hi) {
  const R = m.length;
  const C = R ? m[0].length : 0;
  canvas.width = Math.max(1, C);
  canvas.height = Math.max(1, R);
  if (!R || !C) return;
  canvas.getContext('2d').putImageData(new ImageData(pixels(m, lo, hi), C, R), 0, 0);
}

/**
 * A heatmap of `m` ([rows][cols]) in a new element. `rows`, `cols`: labels (tokens or numbers);
 * `range`: [lo, hi]; `describe(i, j, v)`: the cell in words; `label`: the chart's accessible name;
 * `title`: the PNG's title; `fmt`: a value as text. Returns { el, canvas, png() (a Blob promise) }.
 */
export function heatmap(m, { rows, cols, range, describe, label, title, fmt = (v) => v.toFixed(3), maxPx = 560, id = '' }) {
  const [lo, hi] = range;
  const R = m.length;
  const C = R ? m[0].length : 0;
  const cell = Math.max(3, Math.min(20, Math.floor(maxPx / Math.max(R, C, 1))));
  const wrap = el('div', 'mx');
  const grid = el('div', 'mx-grid');
  const colLabels = el('div', 'mx-cols');
  const rowLabels = el('div', 'mx-rows');
  const showLabels = cell >= 8;
  for (const [box, labels] of [[colLabels, cols], [rowLabels, rows]]) {
    box.setAttribute('aria-hidden', 'true'); // the cursor and the lists below say the same in words
    if (!showLabels) continue; // too small to read: the cursor names the tokens
    for (const l of labels) {
      const s = el('span', '', tokenLabel(String(l)));
      s.style.flexBasis = `${cell}px`;
      s.style.fontSize = `${Math.min(12, cell - 2)}px`;
      box.append(s);
    }
  }
  const canvas = el('canvas', 'mx-canvas');
  if (id) canvas.id = id;
  paint(canvas, m, lo, hi);
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
  const plot = el('div', 'mx-plot');
  plot.append(canvas, cursor);
  grid.append(el('div', 'mx-corner'), colLabels, rowLabels, plot);
  const said = el('p', 'mx-said');
  said.setAttribute('aria-live', 'polite');
  const bar = el('div', 'mx-bar');
  const stops = el('span', 'mx-bar-stops');
  stops.style.backgroundImage = `linear-gradient(to right, ${colorStops(lo, hi).join(', ')})`;
  bar.append(el('span', '', fmt(lo)), stops, el('span', '', fmt(hi)));
  bar.setAttribute('aria-hidden', 'true');
  wrap.append(grid, bar, said);

  let at = null;
  const show = (i, j) => {
    at = [i, j];
    cursor.hidden = false;
    cursor.style.left = `${j * cell}px`;
    cursor.style.top = `${i * cell}px`;
    said.textContent = describe(i, j, m[i][j]);
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

  const png = () => figure(m, { rows, cols, lo, hi, title, fmt }).then((c) => new Promise((res, rej) => c.toBlob((b) => (b ? res(b) : rej(new Error(t('views.png_failed')))), 'image/png')));
  return { el: wrap, canvas, png };
}

/** The PNG figure: a white page with the title, the matrix at a readable size, its labels and colour bar. */
async function figure(m, { rows, cols, lo, hi, title, fmt }) {
  const R = m.length;
  const C = R ? m[0].length : 0;
  const cell = Math.max(4, Math.min(24, Math.floor(900 / Math.max(R, C, 1))));
  const font = 'system-ui, "Noto Sans CJK SC", sans-serif';
  const pad = 16;
  const probe = document.createElement('canvas').getContext('2d');
  const labelPx = Math.min(13, cell - 2);
  probe.font = `${labelPx}px ${font}`;
  const labelW = cell >= 8 ? Math.ceil(Math.max(0, ...rows.map((l) => probe.measureText(tokenLabel(String(l))).width), ...cols.map((l) => probe.measureText(tokenLabel(String(l))).width))) + 6 : 0;
  const W = pad * 2 + labelW + C * cell;
  const top = pad + 26 + labelW;
  const H = top + R * cell + 50;
  const c = document.createElement('canvas');
  c.width = Math.max(W, 320);
  c.height = H;
  const ctx = c.getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, c.width, H);
  ctx.fillStyle = '#1d2330';
  ctx.font = `600 15px ${font}`;
  ctx.textBaseline = 'top';
  ctx.fillText(title, pad, pad);
  const x0 = pad + labelW;
  for (let i = 0; i < R; i++) {
    for (let j = 0; j < C; j++) {
      ctx.fillStyle = css(colorOf(m[i][j], lo, hi));
      ctx.fillRect(x0 + j * cell, top + i * cell, cell, cell);
    }
  }
  if (labelW) {
    ctx.fillStyle = '#1d2330';
    ctx.font = `${labelPx}px ${font}`;
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'right';
    rows.forEach((l, i) => ctx.fillText(tokenLabel(String(l)), x0 - 4, top + (i + 0.5) * cell));
    cols.forEach((l, j) => {
      ctx.save();
      ctx.translate(x0 + (j + 0.5) * cell, top - 4);
      ctx.rotate(-Math.PI / 2);
      ctx.textAlign = 'left';
      ctx.fillText(tokenLabel(String(l)), 0, 0);
      ctx.restore();
    });
  }
  const by = top + R * cell + 14;
  const grad = ctx.createLinearGradient(x0, 0, x0 + 200, 0);
  colorStops(lo, hi).forEach((s, i, all) => grad.addColorStop(i / (all.length - 1), s));
  ctx.fillStyle = grad;
  ctx.fillRect(x0, by, 200, 12);
  ctx.fillStyle = '#1d2330';
  ctx.font = `12px ${font}`;
  ctx.textAlign = 'left';
  ctx.textBaseline = 'top';
  ctx.fillText(fmt(lo), x0, by + 15);
  ctx.textAlign = 'right';
  ctx.fillText(fmt(hi), x0 + 200, by + 15);
  return c;
}

/** A "PNG" button that downloads `png()` as `name` (the view's error line shows a failure). */
export function pngButton(png, name, titleText) {
  const b = el('button', 'small', t('views.png'));
  b.type = 'button';
  b.setAttribute('aria-label', t('views.png_of', { chart: titleText }));
  b.addEventListener('click', async () => {
    b.disabled = true;
    try {
      download(await png(), name, 'image/png');
      b.dataset.exported = String(Number(b.dataset.exported || 0) + 1);
    } catch (e) {
      b.dispatchEvent(new CustomEvent('view-error', { bubbles: true, detail: e }));
    } finally {
      b.disabled = false;
    }
  });
  return b;
}

/** `lmplay-<what>-<YYYYMMDD-HHMMSS>.png`, `what` reduced to ASCII letters, digits and dashes. */
export function pngName(what, date = new Date()) {
  const pad = (n) => String(n).padStart(2, '0');
  const stamp = `${date.getFullYear()}${pad(date.getMonth() + 1)}${pad(date.getDate())}-${pad(date.getHours())}${pad(date.getMinutes())}${pad(date.getSeconds())}`;
  const slug = String(what).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60);
  return `lmplay-${slug}-${stamp}.png`;
}
