// The positional encodings of a Transformer (docs/ui.md, "Views"): what the trained model's encoding
// looks like (the sinusoidal matrix, the learned embeddings' similarity, RoPE's angles, ALiBi's
// biases), and a comparison runner: the six encodings trained one after another in the worker on the
// same text and seed, their validation losses against the step on one chart.
import { t } from '../lib/i18n.js';
import { lineChart, color } from '../lib/charts.js';
import { family, POSITIONAL } from '../lib/models.js';
import { positionalMaps } from '../lib/attention.js';
import { heatmap } from './matrix.js';
import { pngButton, modelChartPng } from './png.js';
import { describeModel } from '../lib/describe.js';
import { table, el, runForm } from './widgets.js';
import { VIEW_STATES } from '../lib/viewstate.js';

const applies = (m) => Boolean(family(m.family)?.attention) && m.source !== 'arpa';

/** The encoding's own picture, for the trained model. */
function renderMaps(box, r, model) {
  const maps = positionalMaps(r);
  if (!maps.length) { box.replaceChildren(el('p', 'hint', t('views.pos_nothing'))); return; }
  box.replaceChildren(...maps.map((m, k) => {
    const title = t(`views.pos_map_${m.kind}`, m.params || {});
    const section = el('section', 'pos-map');
    const describe = (i, j, v) => t(`views.pos_cell_${m.kind}`, { i: m.rows[i], j: m.cols[j], v: v.toFixed(3) });
    const hm = heatmap(m.values, { rows: m.rows, cols: m.cols, range: m.range, scale: m.scale, describe, label: t('views.pos_map_label', { title, rows: m.rows.length, cols: m.cols.length }), id: `pos-map-${k}`, fmt: (v) => v.toFixed(2) });
    const png = pngButton(() => ({ title, subtitle: describeModel(model), chart: `positional-${m.kind}`, model, extra: m.params?.head ? `h${m.params.head}` : '', plot: hm.plot, colorbar: hm.colorbar }),
      { onError: (e) => box.dispatchEvent(new CustomEvent('view-error', { bubbles: true, detail: e })) });
    section.append(el('h3', '', title), el('p', 'hint', t(`views.pos_about_${m.kind}`)), hm.el, png);
    return section;
  }));
}

/** The comparison's chart and table from its runs ({ positional, points: [[step, loss]], error? }). */
function drawComparison(box, tableBox, app, runs) {
  for (const c of app.compareCharts || []) { c.destroy(); app.viewCharts = app.viewCharts.filter((x) => x !== c); }
  const steps = [...new Set(runs.flatMap((r) => r.points.map((p) => p[0])))].sort((a, b) => a - b);
  const series = runs.map((r) => ({ label: t(`pos.${r.positional}`), color: color(POSITIONAL.indexOf(r.positional)) }));
  const chart = lineChart(box, { series, xLabel: t('chart.step'), yLabel: t('views.cmp_valid'), points: true, height: 280 });
  chart.setData([steps, ...runs.map((r) => { const m = new Map(r.points); return steps.map((s) => m.get(s) ?? null); })]);
  app.compareCharts = [chart];
  app.viewCharts.push(chart);
  box.dataset.series = String(runs.length);
  box.dataset.done = String(runs.filter((r) => r.done).length);
  const rows = runs.map((r) => [t(`pos.${r.positional}`), r.error ? r.error : (r.points.length ? r.points[r.points.length - 1][1].toFixed(4) : '—'), t(r.done ? 'views.cmp_finished' : app.compare?.running ? 'views.cmp_running' : 'views.cmp_stopped')]);
  tableBox.replaceChildren(table(['views.cmp_col_pos', 'views.cmp_col_loss', 'views.cmp_col_state'], rows));
}

const POSITIONAL_VIEW = {
  id: 'positional',
  label: 'views.positional',
  applies,
  render(panel, app) {
    const model = app.state.modelSettings;
    const maps = el('div', 'pos-maps');
    maps.id = 'pos-maps';

    // The comparison runner: the form's steps for each run would often be thousands; default to fewer.
    const steps = el('input');
    steps.type = 'number';
    steps.id = 'cmp-steps';
    steps.min = 1;
    steps.max = 100000;
    app.viewState ??= {};
    // The steps chosen are saved with the page and go into share links (lib/viewstate.js).
    steps.value = String(app.viewState.positional?.steps ?? app.compare?.steps ?? Math.min(300, model.train?.steps ?? 300));
    steps.addEventListener('change', () => {
      const n = Number(steps.value);
      if (!VIEW_STATES.positional.steps(n)) { app.viewState.positional = { steps: n }; app.saveSoon(); }
    });
    const stepsLabel = el('label', '', t('views.cmp_steps'));
    stepsLabel.htmlFor = steps.id;
    const field = el('div', 'field');
    field.append(stepsLabel, steps);
    const { form: f, start: run, stop, status } = runForm([field], 'cmp', 'views.cmp_run', 'views.cmp_stop', () => compare());
    const chartBox = el('div', 'chart');
    chartBox.id = 'cmp-chart';
    chartBox.tabIndex = 0;
    chartBox.setAttribute('role', 'img');
    chartBox.setAttribute('aria-label', t('views.cmp_chart_label'));
    chartBox.setAttribute('aria-describedby', 'cmp-table');
    const tableBox = el('div');
    tableBox.id = 'cmp-table';
    const busy = () => app.state.training || app.compare?.running;
    const buttons = () => { run.disabled = Boolean(busy()); stop.disabled = !app.compare?.running; };
    buttons();
    // The chart and its PNG appear with the comparison's first run: no empty axes before.
    const shown = (on) => { chartBox.hidden = !on; png.hidden = !on; };
    const redraw = () => {
      if (!chartBox.isConnected) return;
      shown(true);
      drawComparison(chartBox, tableBox, app, app.compare.runs);
      buttons();
    };

    const compare = async () => {
      if (busy()) return;
      const n = Number(steps.value);
      if (!Number.isInteger(n) || n < 1) throw new Error(t('views.cmp_bad_steps'));
      const settings = app.state.settings;
      app.compare = { steps: n, runs: [], running: true, redraw };
      buttons();
      try {
        await app.worker.call('comparePositional', {
          corpus: document.getElementById('corpus').value,
          config: JSON.stringify(settings),
          encodings: POSITIONAL,
          steps: n,
          device: document.getElementById('device').value,
        }, (_type, p) => {
          let r = app.compare.runs.find((x) => x.positional === p.positional);
          if (!r) { r = { positional: p.positional, points: [], done: false }; app.compare.runs.push(r); }
          for (const q of p.points || []) r.points.push(q);
          if (p.error) r.error = p.error.message;
          if (p.done) r.done = true;
          status.textContent = t('views.cmp_progress', { pos: t(`pos.${p.positional}`), step: p.step ?? 0, steps: n });
          app.compare.redraw();
        });
        status.textContent = t('views.cmp_done');
      } finally {
        app.compare.running = false;
        app.compare.redraw();
        app.saveSoon(); // the page keeps the comparison's losses (main.js, savePage)
      }
    };
    stop.addEventListener('click', () => app.worker.send('stop'));
    const png = modelChartPng(app, { title: () => t('views.cmp_title'), chart: 'positional-comparison', get: () => app.compareCharts?.[0],
      onError: (e) => panel.dispatchEvent(new CustomEvent('view-error', { bubbles: true, detail: e })) });
    png.id = 'cmp-png';
    shown(Boolean(app.compare?.runs.length));
    panel.append(
      el('h3', '', t('views.pos_title', { pos: t(`pos.${model.positional}`) })), maps,
      el('h3', '', t('views.cmp_title')), el('p', 'hint', t('views.cmp_hint')), f, status, chartBox, png, tableBox,
    );
    if (app.compare) { app.compare.redraw = redraw; if (app.compare.runs.length) redraw(); }
    return async () => renderMaps(maps, await app.view('positional', {}), model);
  },
};

export const POSITIONAL_VIEWS = [POSITIONAL_VIEW];
