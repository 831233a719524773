// Views of recurrent models (docs/ui.md, "Views"): the vanishing-gradient lesson, measured. The core's
// `gradient-flow` view gives ‖∂J⁽ᵗ⁾/∂h⁽ᵗ′⁾‖ for every distance t − t′ back from one position t; the
// page draws it on a log scale and overlays the last result of each model trained in this page
// session (in memory only), so a sigmoid RNN and an LSTM trained on the same text compare on one chart.
import { t } from '../lib/i18n.js';
import { lineChart } from '../lib/charts.js';
import { modelKey, gradflowSeries } from '../lib/gradflow.js';
import { describeModel } from '../lib/describe.js';
import { family } from '../lib/models.js';
import { field, form, table } from './widgets.js';
import { pngButton, chartParts } from './png.js';

// Decided by the family's `recurrent` flag (lib/models.js), never by its id.
const isRecurrent = (m) => Boolean(family(m.family)?.recurrent);
const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};
const fmt = (x) => (x === null ? '—' : x.toExponential(3));

const GRADIENT_FLOW = {
  id: 'gradient-flow',
  label: 'views.gradient_flow',
  applies: isRecurrent,
  render(panel, app) {
    if (!app.gradflow) app.gradflow = new Map();
    const model = app.state.modelSettings;
    const last = Math.max(1, (model.bptt || 2) - 1);
    const pos = field('number', 'views.gf_position', last, { min: 1, max: last, step: 1, required: true });
    const info = el('p', 'explain-head');
    const box = el('div', 'chart');
    box.id = 'gf-chart';
    box.tabIndex = 0;
    box.setAttribute('role', 'img');
    const summary = el('p', 'sr-only');
    summary.id = 'gf-chart-desc';
    box.setAttribute('aria-describedby', summary.id);
    const values = el('details', 'gf-values');
    const clear = el('button', '', t('views.gf_clear'));
    clear.type = 'button';
    clear.id = 'gf-clear';
    let plot = null;

    const draw = () => {
      const results = [...app.gradflow.values()];
      const { series, data } = gradflowSeries(results);
      plot?.destroy();
      app.viewCharts = app.viewCharts.filter((c) => c !== plot);
      plot = lineChart(box, { series, xLabel: t('views.gf_distance'), yLabel: t('views.gf_norm'), logY: true, decadesY: true, integerX: true, height: 320 });
      app.viewCharts.push(plot);
      plot.setData(data);
      box.dataset.series = String(series.length);
      box.dataset.ready = 'true';
      box.setAttribute('aria-label', t('views.gf_chart_label', { n: series.length }));
      summary.textContent = t('views.gf_chart_desc', { models: results.map((r) => describeModel(r.model)).join('; ') });
      const rows = data[0].map((x, i) => [String(x), ...data.slice(1).map((ys) => fmt(ys[i]))]);
      const tbl = table(['views.gf_col_distance', ...series.map(() => 'views.gf_col_norm')], rows);
      // The column heads are the series' labels (model text: textContent).
      tbl.querySelectorAll('th').forEach((th, i) => { if (i > 0) th.textContent = series[i - 1].label; });
      values.replaceChildren(el('summary', '', t('views.gf_values')), tbl);
      clear.disabled = results.length <= 1;
    };

    const run = async () => {
      const position = Number(pos.input.value);
      if (!Number.isInteger(position) || position < 1 || position > last) {
        throw new Error(t('views.gf_bad_position', { max: last }));
      }
      const r = await app.view('gradient-flow', { position });
      const key = modelKey(model);
      // The newest result of a model goes last, so the current model is the last series.
      app.gradflow.delete(key);
      app.gradflow.set(key, { model: { ...model }, layers: r.layers, position: r.position });
      const target = r.tokens[r.position + 1] ?? '';
      info.textContent = t('views.gf_loss', { t: r.position, loss: Number(r.loss).toFixed(3), token: target === '\n' ? '↵' : target });
      if (box.isConnected) draw();
    };

    clear.addEventListener('click', () => {
      const key = modelKey(model);
      for (const k of [...app.gradflow.keys()]) if (k !== key) app.gradflow.delete(k);
      draw();
      clear.disabled = true;
    });

    // The page checks the position itself, so an out-of-range one shows in the view's error line.
    const f = form([pos], 'views.show', run);
    f.noValidate = true;
    const png = pngButton(() => ({
      title: t('views.gradient_flow'),
      subtitle: `${info.textContent} · ${t('views.gf_norm')}`,
      chart: 'gradient-flow',
      model,
      ...chartParts(() => plot),
    }), { onError: (e) => panel.dispatchEvent(new CustomEvent('view-error', { bubbles: true, detail: e })) });
    png.id = 'gf-png';
    panel.append(
      el('p', 'hint', t('views.gf_hint')),
      f,
      info, png, box, summary, values, clear,
    );
    // Earlier results show at once, before this model's is computed.
    if (app.gradflow.size) draw();
    return run;
  },
};

export const RECURRENT_VIEWS = [GRADIENT_FLOW];
