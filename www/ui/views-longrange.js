// The long-range tasks' view (docs/ui.md, "Accuracy by distance"): the core's `long-range` view scores
// fresh examples of the task the model was trained on, for any family (through its stream), and
// the page draws accuracy against distance with the chance level, overlaying the last result of each
// model trained in this page session (in memory only): an RNN falls to chance where an LSTM holds.
import { t } from '../lib/i18n.js';
import { lineChart } from '../lib/charts.js';
import { longRangeKey, longRangeSeries, pct } from '../lib/longrange.js';
import { describeModel } from '../lib/describe.js';
import { field, form } from './widgets.js';
import { overlayParts, fillValues, onClearOthers } from './overlay.js';
import { pngButton, chartParts } from './png.js';

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
    const { info, box, summary, values, clear } = overlayParts('lr', 'lr.clear');
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
      fillValues(values, { summaryKey: 'lr.values', xHead: 'lr.col_distance', yHead: 'lr.col_accuracy', series, data, fmt: pct });
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

    onClearOthers(clear, app.longRange, longRangeKey(model), draw);

    const f = form([examples], 'views.show', run);
    f.noValidate = true;
    const png = pngButton(() => ({
      title: t('lr.label'),
      subtitle: `${t(`preset.${task}`)} · ${info.textContent}`,
      chart: 'accuracy-by-distance',
      model,
      ...chartParts(() => plot),
    }), { onError: (e) => panel.dispatchEvent(new CustomEvent('view-error', { bubbles: true, detail: e })) });
    png.id = 'lr-png';
    panel.append(el('p', 'hint', t('lr.hint')), f, info, png, box, summary, values, clear);
    if ([...app.longRange.values()].some((r) => r.task === task)) draw();
    return run;
  },
};

export const LONG_RANGE_VIEWS = [LONG_RANGE];
