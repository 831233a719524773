// Gate saturation over training (docs/ui.md, "Gate saturation"): the share of gate values below 0.1
// or above 0.9 on a fixed validation snippet, per layer and gate, sampled by the worker after
// training chunks (www/worker.js, saturationProbe) and drawn as a chart that grows with training.
import { t } from '../lib/i18n.js';
import { lineChart, color } from '../lib/charts.js';
import { fmtInt, fmtPct } from '../lib/format.js';
import { saturationSeries, addSample } from '../lib/saturation.js';
import { modelChartPng, besideHeading } from './png.js';

const $ = (id) => document.getElementById(id);
const DASHES = [undefined, [6, 4], [2, 3], [10, 3, 2, 3]];

export function setupSaturation(app) {
  app.saturation = [];
  app.satChart = null;
  besideHeading($('sat-wrap').querySelector('h3'), modelChartPng(app, { title: () => t('sat.title'), chart: 'gate-saturation', get: () => app.satChart, onError: (e) => app.showError(e) }));
  document.addEventListener('langchange', () => {
    app.satChart?.destroy(); // axis labels are set when a chart is made
    app.satChart = null;
    drawSaturation(app);
  });
}

/** Forgets the samples (a new model). */
export function resetSaturation(app) {
  app.saturation = [];
  app.satChart?.destroy();
  app.satChart = null;
  $('sat-wrap').hidden = true;
  $('sat-latest').textContent = '';
}

/** A sample from the worker: { step, layers: [{ layer, saturation: { gate: share } }] }. */
export function onSaturation(app, sample) {
  app.saturation = addSample(app.saturation, sample);
  drawSaturation(app);
}

/** The last sample, for the runs table ({ step, layers } or null). */
export const lastSaturation = (app) => app.saturation.at(-1) ?? null;

function drawSaturation(app) {
  const samples = app.saturation;
  if (!samples.length) return;
  $('sat-wrap').hidden = false;
  const { keys, data } = saturationSeries(samples);
  const layers = new Set(keys.map((k) => k.layer)).size;
  const gates = [...new Set(keys.map((k) => k.gate))];
  const series = keys.map((k) => ({
    label: layers > 1 ? t('sat.series', { n: k.layer + 1, gate: k.gate }) : t('sat.series_one', { gate: k.gate }),
    color: color(gates.indexOf(k.gate)),
    dash: DASHES[k.layer % DASHES.length],
  }));
  const box = $('sat-chart');
  if (!app.satChart || Number(box.dataset.series) !== series.length) {
    app.satChart?.destroy();
    app.satChart = lineChart(box, { series, xLabel: t('chart.step'), yLabel: t('sat.y'), points: samples.length < 40, yRange: [0, 100] });
    box.dataset.series = String(series.length);
  }
  app.satChart.setData([data[0], ...data.slice(1).map((ys) => ys.map((v) => (v === null ? null : 100 * v)))]); // percent
  box.dataset.points = String(samples.length);
  const last = samples.at(-1);
  $('sat-latest').textContent = t('sat.latest', {
    step: fmtInt(last.step),
    values: last.layers.map((l) => `${layers > 1 ? t('sat.layer', { n: l.layer + 1 }) : ''}${Object.keys(l.saturation).sort().map((g) => `${g} ${fmtPct(l.saturation[g])}`).join(', ')}`).join('; '),
  });
}
