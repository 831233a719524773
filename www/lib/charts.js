// Line charts (uPlot), themed from the page's CSS variables, resized with their container.
import uPlot from '../vendor/uplot/uPlot.esm.js';
import { LIGHT } from './export.js';

const PALETTE = ['#2f5bd3', '#d3542f', '#2a9d5c', '#9b4dca', '#c79100', '#0f8b8d', '#b5179e', '#6c757d'];

export function color(i) { return PALETTE[i % PALETTE.length]; }

const SUP = { '-': '⁻', 0: '⁰', 1: '¹', 2: '²', 3: '³', 4: '⁴', 5: '⁵', 6: '⁶', 7: '⁷', 8: '⁸', 9: '⁹' };
/** 10 to the power k, as text: 10⁻⁵. */
export function pow10(k) { return k === 0 ? '1' : `10${String(k).replace(/./g, (c) => SUP[c])}`; }

/**
 * For a log axis spanning many orders of magnitude: ticks and grid lines only at powers of ten (every
 * few decades, so at most ~6 labels), labelled 10ᵏ.
 */
function decadeFilter(u, splits) {
  const isDecade = (v) => Math.abs(Math.log10(v) - Math.round(Math.log10(v))) < 1e-6;
  const ks = splits.filter(isDecade).map((v) => Math.round(Math.log10(v)));
  if (ks.length < 2) return splits; // less than a decade: uPlot's own ticks
  const every = Math.ceil((Math.max(...ks) - Math.min(...ks) + 1) / 6);
  return splits.map((v) => (isDecade(v) && Math.round(Math.log10(v)) % every === 0 ? v : null));
}
const decades = (ax) => ({
  ...ax,
  size: 64,
  filter: decadeFilter,
  grid: { ...ax.grid, filter: decadeFilter },
  ticks: { ...ax.ticks, filter: decadeFilter },
  values: (u, splits) => splits.map((v) => {
    if (v == null) return '';
    const k = Math.round(Math.log10(v));
    return Math.abs(Math.log10(v) - k) < 1e-6 ? pow10(k) : String(Number(v.toPrecision(3)));
  }),
});

/** The smallest value a log y axis draws. */
export const LOG_FLOOR = 1e-15;

/** A line's dash pattern as the CSS border style of its legend swatch. */
export function markerStyle(dash) {
  if (!dash?.length) return 'solid';
  if (dash.length > 2) return 'double';
  return dash[0] >= 5 ? 'dashed' : 'dotted';
}

function cssVar(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }

/**
 * A line chart in `el`. `series`: [{ label, color?, dash? }]; data: [xs, ys1, ys2, ...] (null = gap).
 * `decadesY` (with `logY`): y ticks only at powers of ten, labelled 10ᵏ. `yRange`, `xRange`: [min, max] fixed.
 * Returns { setData(data), setSeries(series, data), legend(), snapshot(), destroy() }. Updates are
 * batched per animation frame. `snapshot()` draws the chart again, at its size, in the light theme
 * (for PNG export: lib/export.js) and resolves to { canvas, scale }.
 */
export function lineChart(el, { series, xLabel = '', yLabel = '', logX = false, logY = false, height = 240, points = false, integerX = false, decadesY = false, yRange = null, xRange = null }) {
  let plot = null;
  let pending = null;
  let current = { series, data: [[], ...series.map(() => [])] };
  const build = (ser, data, target, width, theme) => {
    const axis = (label) => ({ label, stroke: theme.fg, grid: { stroke: theme.grid, width: 1 }, ticks: { stroke: theme.grid } });
    return new uPlot({
      width,
      height,
      // `xRange` pins the x axis to the data (a log axis otherwise rounds out to the next decade).
      scales: { x: { time: false, distr: logX ? 3 : 1, ...(xRange ? { range: () => xRange } : {}) }, y: { distr: logY ? 3 : 1, ...(yRange ? { range: yRange } : {}) } },
      // The x axis' extent, for tests and tools (the axes are drawn on the canvas).
      hooks: { setScale: [(u, key) => { if (key === 'x' && target === el) { el.dataset.xMin = String(u.scales.x.min); el.dataset.xMax = String(u.scales.x.max); } }] },
      axes: [{ ...axis(xLabel), ...(integerX ? { incrs: [1, 2, 5, 10, 20, 50, 100] } : {}) }, decadesY ? decades(axis(yLabel)) : { ...axis(yLabel), size: 64 }],
      // The legend's swatches draw each line's style too (solid, dashed, dotted, double): series that
      // share a colour — a gate in two layers — stay apart.
      legend: { live: false, markers: { width: 3, dash: (_u, i) => markerStyle(ser[i - 1]?.dash) } },
      cursor: { drag: { x: false, y: false } },
      series: [{ label: xLabel }, ...ser.map((s, i) => ({
        label: s.label,
        stroke: s.color || color(i),
        width: 2,
        dash: s.dash,
        points: { show: s.points ?? points },
        spanGaps: true,
      }))],
    }, data, target);
  };
  // uPlot's log ticks end at 10⁻¹⁶ (below it their search never ends, "Invalid array length"): a log
  // axis draws only what it can; the views' tables keep the exact values.
  const drawable = (data) => (logY ? [data[0], ...data.slice(1).map((ys) => ys.map((y) => (y === null || y >= LOG_FLOOR ? y : null)))] : data);
  const make = (ser, data) => {
    plot?.destroy();
    current = { series: ser, data };
    plot = build(ser, drawable(data), el, Math.max(200, el.clientWidth || 300), { fg: cssVar('--muted') || '#666', grid: cssVar('--line') || '#ddd' });
  };
  make(series, current.data);
  const ro = new ResizeObserver(() => plot && plot.setSize({ width: Math.max(200, el.clientWidth), height }));
  ro.observe(el);
  return {
    setData(data) {
      pending = data;
      current = { ...current, data };
      requestAnimationFrame(() => { if (pending && plot) plot.setData(drawable(pending)); pending = null; });
    },
    setSeries(ser, data) { make(ser, data); },
    legend() { return current.series.map((s, i) => ({ label: s.label, color: s.color || color(i), dash: s.dash })); },
    async snapshot() {
      const stage = document.createElement('div');
      stage.className = 'export-stage';
      document.body.append(stage);
      const width = Math.max(200, el.clientWidth || 300);
      const u = build(current.series, drawable(current.data), stage, width, { fg: LIGHT.fg, grid: LIGHT.line });
      await new Promise((r) => setTimeout(r, 0)); // uPlot draws in a microtask
      const canvas = document.createElement('canvas');
      canvas.width = u.ctx.canvas.width;
      canvas.height = u.ctx.canvas.height;
      canvas.getContext('2d').drawImage(u.ctx.canvas, 0, 0);
      u.destroy();
      stage.remove();
      return { canvas, scale: canvas.width / width };
    },
    destroy() { ro.disconnect(); plot?.destroy(); plot = null; },
  };
}

/** Aligns series given as [[x, y], …] on the union of their x values (null where a series has none). */
export function align(seriesPoints) {
  const xs = [...new Set(seriesPoints.flatMap((pts) => pts.map((p) => p[0])))].sort((a, b) => a - b);
  return [xs, ...seriesPoints.map((pts) => {
    const m = new Map(pts.map((p) => [p[0], p[1]]));
    return xs.map((x) => (m.has(x) ? m.get(x) : null));
  })];
}
