// "Look inside": a tab per view of the trained model. Each view declares the families (and n-gram
// methods) it applies to and renders itself into the panel; the active view's id is part of share links.
import { t } from '../lib/i18n.js';
import { NGRAM_VIEWS } from './views-ngram.js';
import { RECURRENT_VIEWS } from './views-recurrent.js';
import { STATES_VIEWS } from './views-states.js';
import { LONG_RANGE_VIEWS } from './views-longrange.js';
import { TRANSFORMER_VIEWS } from './views-transformer.js';
import { BPE_VIEWS } from './views-bpe.js';
import { barList, field, form } from './widgets.js';
import { errorLine } from '../lib/errors.js';
import { barsPng } from './png.js';
import { notGenerativeFlag } from './bidirectional.js';

const $ = (id) => document.getElementById(id);

/** The generic next-token view works for every model. */
const NEXT = {
  id: 'next',
  label: 'views.next',
  applies: () => true,
  render(panel, app) {
    const ctx = field('text', 'views.context', app.lastPrompt || '');
    const k = field('number', 'views.k', 10, { min: 1, max: 50 });
    const tok = field('text', 'views.token_prob', '');
    const out = document.createElement('div');
    const run = async () => {
      const r = await app.view('next', { context: ctx.input.value, k: Number(k.input.value), token: tok.input.value });
      const rows = r.top.map((x) => ({ label: x.token, value: x.prob }));
      const named = document.createElement('p');
      if (r.token) named.textContent = t('views.named_prob', { token: r.token.token, prob: r.token.prob.toPrecision(4) });
      const bars = barList(rows);
      const png = barsPng(app, bars, rows, { title: t('views.next_png', { context: ctx.input.value || '∅' }), chart: 'next-token' });
      out.replaceChildren(png, bars, named);
    };
    const flag = notGenerativeFlag(app.state);
    if (flag) panel.append(flag);
    panel.append(form([ctx, k, tok], 'views.show', run), out);
    return run;
  },
};

export const VIEWS = [NEXT, ...BPE_VIEWS, ...NGRAM_VIEWS, ...RECURRENT_VIEWS, ...STATES_VIEWS, ...LONG_RANGE_VIEWS, ...TRANSFORMER_VIEWS];

export function setupViews(app) {
  app.activeView = 'next';
  const tabs = $('view-tabs');
  tabs.addEventListener('keydown', (e) => {
    const all = [...tabs.querySelectorAll('[role=tab]')];
    const i = all.indexOf(document.activeElement);
    if (i < 0) return;
    let j = null;
    if (e.key === 'ArrowRight') j = (i + 1) % all.length;
    if (e.key === 'ArrowLeft') j = (i - 1 + all.length) % all.length;
    if (j !== null) {
      e.preventDefault();
      all[j].click(); // re-renders the tabs
      document.getElementById(all[j].id)?.focus();
    }
  });
  document.addEventListener('langchange', () => renderViews(app));
}

/** Rebuilds the tabs for the current model and shows the active view. */
export function renderViews(app) {
  const tabs = $('view-tabs');
  const panel = $('view-panel');
  const model = app.state.modelSettings;
  // While a model trains, only the views that declare `live` (cheap, redrawn after each chunk) show.
  const running = app.state.live && !app.state.paused && !app.state.trained;
  const usable = app.state.trained || (app.state.live && (app.state.paused || VIEWS.some((v) => v.live && v.applies(model, app))));
  app.liveView = null;
  if (!usable || !model) {
    for (const c of app.viewCharts || []) c.destroy();
    app.viewCharts = [];
    tabs.replaceChildren();
    const p = document.createElement('p');
    p.className = 'hint';
    p.textContent = t('views.train_first');
    panel.replaceChildren(p);
    return;
  }
  const views = VIEWS.filter((v) => v.applies(model, app) && (!running || v.live));
  if (!views.some((v) => v.id === app.activeView)) app.activeView = views[0].id;
  tabs.replaceChildren(...views.map((v) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.role = 'tab';
    b.id = `tab-${v.id}`;
    b.textContent = t(v.label);
    b.setAttribute('aria-selected', String(v.id === app.activeView));
    b.tabIndex = v.id === app.activeView ? 0 : -1;
    b.addEventListener('click', () => { app.activeView = v.id; renderViews(app); app.saveSoon(); });
    return b;
  }));
  const view = views.find((v) => v.id === app.activeView);
  panel.setAttribute('aria-labelledby', `tab-${view.id}`);
  // Each render gets its own box: a slow view that finishes after the user switched tabs writes into a
  // detached box, never into another view. Its charts are destroyed on the next render.
  for (const c of app.viewCharts || []) c.destroy();
  app.viewCharts = [];
  // Errors of the first render and of every later submission of the view's forms show in the box.
  const box = document.createElement('div');
  const error = errorLine();
  box.append(error.el);
  box.addEventListener('view-submit', () => error.show(null));
  box.addEventListener('view-error', (e) => error.show(e.detail));
  panel.replaceChildren(box);
  const run = view.render(box, app);
  if (run) run().catch((e) => { if (box.isConnected) error.show(e); });
  if (view.live && run) app.liveView = { box, run, busy: false, last: 0 };
}

/**
 * After a training chunk: redraws the active view if it is a live one, at most every `LIVE_MS` and
 * never two at once (each is one call into the worker between chunks).
 */
const LIVE_MS = 400;
export function liveUpdate(app) {
  const v = app.liveView;
  if (!v || v.busy || !v.box.isConnected || performance.now() - v.last < LIVE_MS) return;
  v.busy = true;
  v.last = performance.now();
  v.run({ live: true }).catch(() => { /* the next chunk tries again; a finished training re-renders */ }).finally(() => { v.busy = false; });
}
