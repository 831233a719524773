// PNG export of charts and heatmaps (docs/ui.md, "PNG export"): the plot drawn again in the light
// theme onto a white figure with its title above and its legend (or colour bar) below, so the
// picture stands alone; downloaded under a name that says what it shows.

/** The light theme every exported figure uses, whatever the page's colour scheme. */
export const LIGHT = { fg: '#1d2330', muted: '#5d6677', line: '#dde1e8', bg: '#ffffff' };

const FONT = 'system-ui, -apple-system, "Segoe UI", "PingFang SC", "Noto Sans CJK SC", sans-serif';
const PAD = 12;
const TITLE_PX = 15;
const SUB_PX = 12;
const LEGEND_PX = 12;
const SWATCH = 22;

/** A piece of a file name: ASCII letters, digits and dashes only (no path, no spaces). */
export function slug(s, max = 48) {
  return String(s ?? '')
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, max)
    .replace(/-+$/, '');
}

/** A model's settings as a short file-name piece: `lstm-2x128`, `ngram-3-modified-kn`, `fixed-window-5`. */
export function modelSlug(m) {
  if (!m) return '';
  const parts = [m.family];
  if (m.layers) parts.push(`${m.layers}x${m.hidden ?? m.width}`);
  else if (m.context) parts.push(m.context);
  if (m.order) parts.push(m.order);
  if (m.method) parts.push(m.method);
  if (m.activation && m.family === 'rnn') parts.push(m.activation);
  return slug(parts.join('-'));
}

/** `lmplay-<chart>[-<model>][-<extra>]-<YYYYMMDD-HHMMSS>.png` (like the model files), from the chart and what it shows. */
export function pngName(chart, { model = null, extra = '', date = new Date() } = {}) {
  const pad = (n) => String(n).padStart(2, '0');
  const stamp = `${date.getFullYear()}${pad(date.getMonth() + 1)}${pad(date.getDate())}-${pad(date.getHours())}${pad(date.getMinutes())}${pad(date.getSeconds())}`;
  const parts = ['lmplay', slug(chart), modelSlug(model), slug(extra)].filter(Boolean);
  return `${parts.join('-')}-${stamp}.png`;
}

/**
 * Lines of text that fit `width`, breaking at spaces (or anywhere, for text without spaces, e.g.
 * Chinese). `measure(s)` is the drawn width of s.
 */
export function wrapText(text, width, measure) {
  const lines = [];
  for (const para of String(text).split('\n')) {
    let line = '';
    const words = para.includes(' ') ? para.split(/(?<= )/) : [...para];
    for (const w of words) {
      if (line && measure(line + w) > width) { lines.push(line.trimEnd()); line = w.trimStart(); } else line += w;
    }
    lines.push(line.trimEnd());
  }
  return lines;
}

/**
 * Places legend items ({ label }) in rows that fit `width`: each item is a swatch, a gap and its
 * label. Returns [{ item, x, row }] (x in the same unit as `width`) and the number of rows.
 */
export function legendLayout(items, width, measure, { swatch = SWATCH, gap = 6, spacing = 16 } = {}) {
  const placed = [];
  let x = 0;
  let row = 0;
  for (const item of items) {
    const w = swatch + gap + measure(item.label);
    if (x > 0 && x + w > width) { x = 0; row += 1; }
    placed.push({ item, x, row });
    x += w + spacing;
  }
  return { placed, rows: items.length ? row + 1 : 0 };
}

/**
 * The figure: a canvas as wide as `plot` (a canvas drawn at `scale` device pixels per CSS pixel),
 * white, with `title` (and `subtitle`) above the plot and below it the `legend` — [{ label, color,
 * dash? }] — or a `colorbar` — { stops: [css colour…] left to right, min, max (labels) }.
 */
export function composeFigure({ plot, scale = 1, title = '', subtitle = '', legend = [], colorbar = null }) {
  const W = plot.width;
  const inner = W / scale - 2 * PAD;
  const probe = document.createElement('canvas').getContext('2d');
  const font = (px, weight = '') => `${weight} ${px}px ${FONT}`.trim();
  const measure = (f) => (s) => { probe.font = f; return probe.measureText(s).width; };
  const titleLines = title ? wrapText(title, inner, measure(font(TITLE_PX, '600'))) : [];
  const subLines = subtitle ? wrapText(subtitle, inner, measure(font(SUB_PX))) : [];
  const { placed, rows } = legendLayout(legend, inner, measure(font(LEGEND_PX)));
  const head = titleLines.length * TITLE_PX * 1.35 + subLines.length * SUB_PX * 1.4 + (title || subtitle ? 6 : 0);
  const foot = (rows ? rows * LEGEND_PX * 1.7 + 6 : 0) + (colorbar ? 34 : 0);
  const H = Math.ceil((PAD + head) * scale) + plot.height + Math.ceil((foot + PAD) * scale);

  const canvas = document.createElement('canvas');
  canvas.width = W;
  canvas.height = H;
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = LIGHT.bg;
  ctx.fillRect(0, 0, W, H);
  ctx.save();
  ctx.scale(scale, scale);
  ctx.textBaseline = 'top';
  let y = PAD;
  ctx.fillStyle = LIGHT.fg;
  ctx.font = font(TITLE_PX, '600');
  for (const l of titleLines) { ctx.fillText(l, PAD, y); y += TITLE_PX * 1.35; }
  ctx.fillStyle = LIGHT.muted;
  ctx.font = font(SUB_PX);
  for (const l of subLines) { ctx.fillText(l, PAD, y); y += SUB_PX * 1.4; }
  if (title || subtitle) y += 6;
  ctx.restore();
  const plotTop = Math.ceil(y * scale);
  ctx.drawImage(plot, 0, plotTop);

  ctx.save();
  ctx.scale(scale, scale);
  ctx.textBaseline = 'middle';
  y = (plotTop + plot.height) / scale + 6;
  ctx.font = font(LEGEND_PX);
  for (const { item, x, row } of placed) {
    const cy = y + row * LEGEND_PX * 1.7 + LEGEND_PX * 0.6;
    ctx.strokeStyle = item.color;
    ctx.lineWidth = 2.5;
    ctx.setLineDash(item.dash || []);
    ctx.beginPath();
    ctx.moveTo(PAD + x, cy);
    ctx.lineTo(PAD + x + SWATCH, cy);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = LIGHT.fg;
    ctx.fillText(item.label, PAD + x + SWATCH + 6, cy);
  }
  if (colorbar) {
    const top = y + (rows ? rows * LEGEND_PX * 1.7 : 0);
    const barW = Math.min(inner, 240);
    const grad = ctx.createLinearGradient(PAD, 0, PAD + barW, 0);
    colorbar.stops.forEach((c, i) => grad.addColorStop(i / Math.max(1, colorbar.stops.length - 1), c));
    ctx.fillStyle = grad;
    ctx.fillRect(PAD, top, barW, 12);
    ctx.strokeStyle = LIGHT.line;
    ctx.lineWidth = 1;
    ctx.strokeRect(PAD, top, barW, 12);
    ctx.fillStyle = LIGHT.fg;
    ctx.textBaseline = 'top';
    ctx.fillText(String(colorbar.min), PAD, top + 15);
    const maxText = String(colorbar.max);
    ctx.fillText(maxText, PAD + barW - ctx.measureText(maxText).width, top + 15);
    if (colorbar.label) ctx.fillText(colorbar.label, PAD + barW + 10, top);
  }
  ctx.restore();
  return canvas;
}

/**
 * A bar list (ui/widgets.js `barList`: rows { label, value, note? }) drawn on a canvas `width` CSS
 * pixels wide, for the figure: label, bar (its share of `max`), value. Resolves like a chart's
 * snapshot: { canvas, scale }.
 */
export function barsPlot(rows, { width, max = null, fmt = (v) => v.toPrecision(3), scale = globalThis.devicePixelRatio || 1, color = '#2f5bd3' }) {
  const top = max ?? Math.max(...rows.map((r) => r.value), 1e-12);
  const rowH = 20;
  const canvas = document.createElement('canvas');
  canvas.width = Math.ceil(width * scale);
  canvas.height = Math.ceil((rows.length * rowH + 8) * scale);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = LIGHT.bg;
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.scale(scale, scale);
  ctx.font = `12px ui-monospace, Menlo, Consolas, "Noto Sans Mono CJK SC", monospace`;
  ctx.textBaseline = 'middle';
  const labelW = Math.min(160, width * 0.3);
  const valueW = Math.min(140, width * 0.25);
  const trackW = Math.max(20, width - 2 * PAD - labelW - valueW - 16);
  const fit = (text, w) => {
    let s = text;
    while (s.length > 1 && ctx.measureText(s).width > w) s = s.slice(0, -1);
    return s === text ? s : `${s.slice(0, -1)}…`;
  };
  rows.forEach((r, i) => {
    const y = 4 + i * rowH + rowH / 2;
    ctx.fillStyle = LIGHT.fg;
    ctx.textAlign = 'left';
    ctx.fillText(fit(r.label === '\n' ? '↵' : String(r.label), labelW - 6), PAD, y);
    ctx.fillStyle = '#eef0f4';
    ctx.fillRect(PAD + labelW, y - 6, trackW, 12);
    ctx.fillStyle = color;
    ctx.fillRect(PAD + labelW, y - 6, Math.max(1, (trackW * r.value) / top), 12);
    ctx.fillStyle = LIGHT.muted;
    ctx.textAlign = 'right';
    ctx.fillText(fit(r.note ?? fmt(r.value), valueW), width - PAD, y);
  });
  return Promise.resolve({ canvas, scale });
}

/** A canvas as PNG bytes. */
export function pngBlob(canvas) {
  return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('the PNG could not be made'))), 'image/png'));
}

/** Hands a file to the browser's downloads (model files too: ui/files.js). */
export function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/** Width and height of PNG bytes, or null if they are not a PNG (signature, then the IHDR chunk). */
export function pngSize(bytes) {
  const sig = [137, 80, 78, 71, 13, 10, 26, 10];
  if (bytes.length < 24 || sig.some((b, i) => bytes[i] !== b)) return null;
  const type = String.fromCharCode(...bytes.slice(12, 16));
  if (type !== 'IHDR') return null;
  const u32 = (o) => ((bytes[o] << 24) | (bytes[o + 1] << 16) | (bytes[o + 2] << 8) | bytes[o + 3]) >>> 0;
  return { width: u32(16), height: u32(20) };
}
