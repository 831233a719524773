// The cost lesson (docs/ui.md, "Views"): the attention forward pass measured in the worker at
// sequence lengths T = 64 … 4096 for each pattern the core has, time and memory drawn on log-log
// charts whose fitted slopes say how the cost grows: ≈ 2 for full attention (T² scores), ≈ 1 for a
// pattern that reads a fixed number of keys per query.
import { t } from '../lib/i18n.js';
import { lineChart, color } from '../lib/charts.js';
import { family } from '../lib/models.js';
import { logLogFit, lengths } from '../lib/attention.js';
import { fmtBytes } from '../lib/format.js';
import { table, el, runForm } from './widgets.js';
import { modelChartPng } from './png.js';
import { COST_MAX_T, VIEW_STATES } from '../lib/viewstate.js';


function numberField(labelKey, value, attrs) {
  const wrap = el('div', 'field');
  const input = el('input');
  input.type = 'number';
  input.id = `cost-${attrs.name}`;
  input.value = value;
  Object.assign(input, attrs);
  const label = el('label', '', t(labelKey));
  label.htmlFor = input.id;
  wrap.append(label, input);
  return { wrap, input };
}

/** The fitted slope of each pattern's series as text: "full: 1.97". */
export function slopeText(points, key) {
  const fit = logLogFit(points.map((p) => p.t), points.map((p) => p[key]));
  return fit.slope === null ? '—' : fit.slope.toFixed(2);
}

const COST = {
  id: 'attention-cost',
  label: 'views.cost',
  applies: (m) => Boolean(family(m.family)?.attention) && m.source !== 'arpa',
  render(panel, app) {
    const model = app.state.modelSettings;
    app.cost ??= { results: null };
    // The lengths, width, window and stride chosen are saved with the page and go into share links
    // (lib/viewstate.js); the measurements are saved with the page only (main.js, savePage).
    app.viewState ??= {};
    const saved = app.viewState['attention-cost'] ?? {};
    const maxT = el('select');
    maxT.id = 'cost-max';
    for (const v of COST_MAX_T) {
      const o = el('option', '', String(v));
      o.value = String(v);
      maxT.append(o);
    }
    maxT.value = String(saved.max ?? 2048);
    const maxLabel = el('label', '', t('views.cost_max'));
    maxLabel.htmlFor = maxT.id;
    const maxWrap = el('div', 'field');
    maxWrap.append(maxLabel, maxT);
    const width = numberField('views.cost_width', saved.width ?? 32, { name: 'width', min: 2, max: 512, step: 2 });
    const window = numberField('p.window', saved.window ?? model.window ?? 8, { name: 'window', min: 1, max: 4096, step: 1 });
    const stride = numberField('p.stride', saved.stride ?? 0, { name: 'stride', min: 0, max: 4096, step: 1 });
    const fields = { max: maxT, width: width.input, window: window.input, stride: stride.input };
    // Only values the view accepts are kept (a half-typed number is not).
    const remember = () => {
      const vs = {};
      for (const [k, input] of Object.entries(fields)) {
        const v = Number(input.value);
        if (!VIEW_STATES['attention-cost'][k](v)) vs[k] = v;
      }
      app.viewState['attention-cost'] = vs;
      app.saveSoon();
    };
    for (const input of Object.values(fields)) input.addEventListener('change', remember);
    const { form: f, start, stop, status } = runForm([maxWrap, width.wrap, window.wrap, stride.wrap], 'cost', 'views.cost_run', 'views.cost_stop', () => run());
    stop.disabled = true;
    const timeBox = el('div', 'chart');
    timeBox.id = 'cost-time';
    const memBox = el('div', 'chart');
    memBox.id = 'cost-memory';
    const slopes = el('ul', 'cost-slopes');
    slopes.id = 'cost-slopes';
    const values = el('details', 'cost-values');
    for (const [box, key] of [[timeBox, 'views.cost_time_label'], [memBox, 'views.cost_memory_label']]) {
      box.tabIndex = 0;
      box.setAttribute('role', 'img');
      box.setAttribute('aria-label', t(key));
      box.setAttribute('aria-describedby', 'cost-slopes');
    }
    let charts = [];

    const draw = (res) => {
      for (const c of charts) { c.destroy(); app.viewCharts = app.viewCharts.filter((x) => x !== c); }
      charts = [];
      const pats = res.patterns;
      const ts = [...new Set(pats.flatMap((p) => p.points.map((q) => q.t)))].sort((a, b) => a - b);
      const col = (p, key) => ts.map((x) => p.points.find((q) => q.t === x)?.[key] ?? null);
      const label = (p, key) => t('views.cost_series', { pattern: t(`attn.${p.pattern}`), slope: slopeText(p.points, key) });
      for (const [box, key, y] of [[timeBox, 'ms', 'views.cost_ms'], [memBox, 'bytes', 'views.cost_bytes']]) {
        const series = pats.map((p, i) => ({ label: label(p, key), color: color(i) }));
        const c = lineChart(box, { series, xLabel: t('views.cost_t'), yLabel: t(y), logX: true, logY: true, decadesY: true, points: true, height: 260, xRange: ts.length > 1 ? [ts[0], ts.at(-1)] : null });
        c.setData([ts, ...pats.map((p) => col(p, key))]);
        charts.push(c);
        app.viewCharts.push(c);
        box.dataset.series = String(series.length);
        box.dataset.points = String(pats.reduce((n, p) => n + p.points.length, 0));
      }
      slopes.replaceChildren(...pats.map((p) => {
        const li = el('li', '', t('views.cost_slope_line', { pattern: t(`attn.${p.pattern}`), time: slopeText(p.points, 'ms'), memory: slopeText(p.points, 'bytes'), scores: slopeText(p.points, 'scores') }));
        li.dataset.pattern = p.pattern;
        li.dataset.timeSlope = slopeText(p.points, 'ms');
        li.dataset.memorySlope = slopeText(p.points, 'bytes');
        li.dataset.scoresSlope = slopeText(p.points, 'scores');
        return li;
      }));
      const rows = pats.flatMap((p) => p.points.map((q) => [t(`attn.${p.pattern}`), String(q.t), q.ms.toPrecision(3), fmtBytes(q.bytes), q.scores.toLocaleString('en-US')]));
      values.replaceChildren(el('summary', '', t('views.gf_values')), table(['views.cost_col_pattern', 'views.cost_t', 'views.cost_ms', 'views.cost_bytes', 'views.cost_col_scores'], rows));
      timeBox.dataset.ready = 'true';
    };

    const run = async () => {
      const args = {
        lengths: lengths(64, Number(maxT.value)),
        width: Number(width.input.value),
        window: Number(window.input.value),
        stride: Number(stride.input.value),
        // Measured where the page's models run (the Compute control).
        device: document.getElementById('device')?.value ?? 'cpu',
      };
      if (!Number.isInteger(args.width) || args.width < 2 || args.width % 2) throw new Error(t('views.cost_bad_width'));
      start.disabled = true;
      stop.disabled = false;
      const res = { patterns: [], args };
      app.cost.results = res;
      try {
        await app.worker.call('attentionCost', args, (_type, p) => {
          let s = res.patterns.find((x) => x.pattern === p.pattern);
          if (!s) { s = { pattern: p.pattern, points: [] }; res.patterns.push(s); }
          s.points.push({ t: p.t, ms: p.ms, bytes: p.bytes, scores: p.scores });
          status.textContent = t('views.cost_progress', { pattern: t(`attn.${p.pattern}`), t: p.t, ms: p.ms.toPrecision(3) });
          if (p.backend) status.dataset.backend = p.backend;
          if (panel.isConnected) draw(res);
        });
        status.textContent = t('views.cost_done') + (status.dataset.backend ? ` ${t('views.cost_on', { backend: status.dataset.backend })}` : '');
      } finally {
        start.disabled = false;
        stop.disabled = true;
        app.saveSoon();
      }
    };
    stop.addEventListener('click', () => app.worker.send('stopCost'));
    const onError = (e) => panel.dispatchEvent(new CustomEvent('view-error', { bubbles: true, detail: e }));
    const pngs = ['views.cost_time_title', 'views.cost_memory_title'].map((key, i) => {
      const b = modelChartPng(app, { title: () => t(key), chart: i ? 'attention-memory' : 'attention-time', get: () => charts[i], onError });
      b.id = i ? 'cost-memory-png' : 'cost-time-png';
      return b;
    });
    panel.append(el('p', 'hint', t('views.cost_hint')), f, status, el('h3', '', t('views.cost_time_title')), timeBox, pngs[0],
      el('h3', '', t('views.cost_memory_title')), memBox, pngs[1], slopes, values);
    if (app.cost.results?.patterns.length) draw(app.cost.results);
    return null; // measured on request only: a run takes seconds
  },
};

export const COST_VIEWS = [COST];
