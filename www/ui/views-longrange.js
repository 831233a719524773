// The long-range tasks' view (docs/ui.md, "Accuracy by distance"): the core's `long-range` view scores
// fresh examples of the task the model was trained on, for any family (through its stream), and
// the page draws accuracy against distance with the chance level, overlaying the last result of each
// model trained in this page session (in memory only): an RNN falls to chance where an LSTM holds.
import { t } from '../lib/i18n.js';
import { lineChart } from '../lib/charts.js';
import { longRangeKey, longRangeSeries, pct } from '../lib/longrange.js';
import { describeModel } from '../lib/describe.js';
import { field, form, table } from './widgets.js';

const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};

const LONG_RANGE = {
  id: 'long-range',
  label: 'lr.label',
  // Offered for a model trained on a task preset (any family).
  applies: (_model, app) => Boolean(app?.task?.()),
  render(panel, app) {
    if (!app.longRange) app.longRange = new Map();
    const model = app.state.modelSettings;
    const task = app.task();
    const examples = field('number', 'lr.examples', 100, { min: 1, max: 1000, step: 1, required: true });
    const info = el('p', 'explain-head');
    const box = el('div', 'chart');
    box.id = 'lr-chart';
    box.tabIndex = 0;
    box.setAttribute('role', 'img');
    const summary = el('p', 'sr-only');
    summary.id = 'lr-chart-desc';
    box.setAttribute('aria-describedby', summary.id);
    const values = el('details', 'lr-values');
    const clear = el('button', '', t('lr.clear'));
    clear.type = 'button';
    clear.id = 'lr-clear';
    let plot = null;

    const draw = () => {
      const results = [...app.longRange.values()];
      const { series, data, models } = longRangeSeries(results, task, { describe: describeModel, chanceLabel: (p) => t('lr.chance', { p: pct(p) }) });
      plot?.destroy();
      app.viewCharts = app.viewCharts.filter((c) => c !== plot);
      plot = lineChart(box, { series, xLabel: t('lr.distance'), yLabel: t('lr.accuracy'), integerX: true, points: true, height: 300 });
      app.viewCharts.push(plot);
      plot.setData(data);
      box.dataset.series = String(models);
      box.dataset.ready = 'true';
      box.setAttribute('aria-label', t('lr.chart_label', { n: models }));
      summary.textContent = t('lr.chart_desc', { task: t(`preset.${task}`), models: series.filter((s) => !s.chance).map((s) => s.label).join('; ') });
      const rows = data[0].map((x, i) => [String(x), ...data.slice(1).map((ys) => pct(ys[i]))]);
      const tbl = table(['lr.col_distance', ...series.map(() => 'lr.col_accuracy')], rows);
      // The column heads are the series' labels (model text: textContent).
      tbl.querySelectorAll('th').forEach((th, i) => { if (i > 0) th.textContent = series[i - 1].label; });
      values.replaceChildren(el('summary', '', t('lr.values')), tbl);
      clear.disabled = models <= 1;
    };

    const run = async () => {
      const n = Number(examples.input.value);
      if (!Number.isInteger(n) || n < 1 || n > 1000) throw new Error(t('lr.bad_examples'));
      const r = await app.view('long-range', { task, examples: n });
      const key = longRangeKey(model);
      // The newest result of a model goes last, so the current model is the last series.
      app.longRange.delete(key);
      app.longRange.set(key, { model: { ...model }, task: r.task, chance: r.chance, distances: r.distances });
      const far = r.distances[r.distances.length - 1];
      info.textContent = t('lr.summary', { model: describeModel(model), acc: pct(far.accuracy), d: far.distance, chance: pct(r.chance) });
      if (box.isConnected) draw();
    };

    clear.addEventListener('click', () => {
      const key = longRangeKey(model);
      for (const k of [...app.longRange.keys()]) if (k !== key) app.longRange.delete(k);
      draw();
      clear.disabled = true;
    });

    const f = form([examples], 'views.show', run);
    f.noValidate = true;
    panel.append(el('p', 'hint', t('lr.hint')), f, info, box, summary, values, clear);
    if ([...app.longRange.values()].some((r) => r.task === task)) draw();
    return run;
  },
};

export const LONG_RANGE_VIEWS = [LONG_RANGE];
