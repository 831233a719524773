// The "PNG" button beside every chart and heatmap (docs/ui.md, "PNG export"): a keyboard-reachable
// button that draws the figure (title, plot, legend) and downloads it under a meaningful name.
import { t } from '../lib/i18n.js';
import { composeFigure, pngBlob, download, pngName, barsPlot } from '../lib/export.js';
import { describeModel } from '../lib/describe.js';

/**
 * A button that exports a figure. `spec()` returns (or resolves to) { title, subtitle?, chart: the
 * file-name piece, model? (settings, for the name), extra? (more of the name), plot: async () =>
 * { canvas, scale }, legend?: [{ label, color, dash }], colorbar? }. Failures show in the button's
 * title and go to `onError` (the view's or page's error line).
 */
export function pngButton(spec, { onError = null } = {}) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'small png-export';
  b.textContent = t('export.png');
  const label = () => {
    const s = spec();
    b.setAttribute('aria-label', t('export.png_of', { chart: s.title }));
  };
  label();
  b.addEventListener('focus', label);
  b.addEventListener('mouseenter', label);
  b.addEventListener('click', async () => {
    b.disabled = true;
    try {
      const s = await spec();
      const { canvas, scale } = await s.plot();
      const fig = composeFigure({ plot: canvas, scale, title: s.title, subtitle: s.subtitle, legend: s.legend || [], colorbar: s.colorbar || null });
      download(await pngBlob(fig), pngName(s.chart, { model: s.model, extra: s.extra }));
      b.dataset.exported = String(Number(b.dataset.exported || 0) + 1);
    } catch (e) {
      if (onError) onError(e); else console.error(e);
    } finally {
      b.disabled = false;
    }
  });
  return b;
}

/** The plot of a `lineChart` (lib/charts.js) and its legend, for `pngButton`. */
export const chartParts = (chart) => ({ plot: () => chart().snapshot(), legend: chart()?.legend() ?? [] });

/**
 * The PNG button of a chart of the current model: titled `title()`, with the model's description
 * under the title and its settings in the file name; `get()` is the `lineChart`.
 */
export function modelChartPng(app, { title, chart, get, onError }) {
  return pngButton(() => ({
    title: title(),
    subtitle: describeModel(app.state.modelSettings),
    chart,
    model: app.state.modelSettings,
    ...chartParts(get),
  }), { onError });
}

/** The PNG button of a bar list (`bars`, drawn from `rows`) of the current model. */
export function barsPng(app, bars, rows, { title, chart, max = null }) {
  const model = app.state.modelSettings;
  return pngButton(() => ({
    title,
    subtitle: describeModel(model),
    chart,
    model,
    plot: () => barsPlot(rows, { width: Math.max(300, bars.clientWidth || 600), max }),
  }), { onError: (e) => bars.dispatchEvent(new CustomEvent('view-error', { bubbles: true, detail: e })) });
}

/** Puts `button` on the right of `heading` (both in one row). */
export function besideHeading(heading, button) {
  const row = document.createElement('div');
  row.className = 'chart-head';
  heading.replaceWith(row);
  row.append(heading, button);
  return row;
}
