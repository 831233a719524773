// Views of a Transformer (docs/ui.md, "Views"): the attention maps of every layer and head for a
// text, their head average and the rollout across layers, redrawn after each training chunk so a
// learner watches heads specialise; the positional encodings and their comparison
// (views-positional.js); the cost of attention against the sequence length (views-cost.js).
import { t } from '../lib/i18n.js';
import { family } from '../lib/models.js';
import { strongest, tokenLabel } from '../lib/attention.js';
import { heatmap, paint } from './matrix.js';
import { pngButton } from './png.js';
import { describeModel } from '../lib/describe.js';
import { el, onSubmitted } from './widgets.js';
import { POSITIONAL_VIEWS } from './views-positional.js';
import { COST_VIEWS } from './views-cost.js';
import { MAX_VIEW_TEXT } from '../lib/viewstate.js';

// Decided by the family's `attention` flag (lib/models.js), never by its id.
export const hasAttention = (m) => Boolean(family(m.family)?.attention) && m.source !== 'arpa';

/** A map with the future (j > i, masked by causality) as null, drawn grey. */
const causal = (m) => m.map((row, i) => row.map((v, j) => (j > i ? null : v)));

/** The map a selection ({ kind: 'head' | 'average' | 'rollout', layer, head }, `within` the model) names. */
function pick(ms, sel) {
  if (sel.kind === 'rollout') return ms.rollout;
  const l = ms.layers[sel.layer];
  return sel.kind === 'average' ? l.average : l.heads[sel.head];
}

function selName(sel) {
  if (sel.kind === 'rollout') return t('views.att_rollout');
  if (sel.kind === 'average') return t('views.att_average_of', { layer: sel.layer + 1 });
  return t('views.att_head_of', { layer: sel.layer + 1, head: sel.head + 1 });
}

/** The view's state from its saved form ({ text, kind, layer, head }; any of them missing). */
function fromSaved(saved = {}) {
  const kind = ['head', 'average', 'rollout'].includes(saved.kind) ? saved.kind : 'head';
  const index = (v) => (Number.isInteger(v) && v >= 0 ? v : 0);
  const sel = kind === 'rollout' ? { kind } : kind === 'average' ? { kind, layer: index(saved.layer) } : { kind, layer: index(saved.layer), head: index(saved.head) };
  return { text: typeof saved.text === 'string' ? saved.text : '', sel };
}

/** A selection within the model shown: a saved layer or head past its size becomes its last. */
function within(sel, ms) {
  if (sel.kind === 'rollout') return sel;
  const layer = Math.min(sel.layer, ms.layers.length - 1);
  if (sel.kind === 'average') return { kind: sel.kind, layer };
  return { kind: sel.kind, layer, head: Math.min(sel.head, ms.layers[layer].heads.length - 1) };
}

/** The saved form: flat, plain values (share links keep a view's state one level deep). */
const toSaved = (st) => ({ text: st.text.slice(0, MAX_VIEW_TEXT), ...st.sel });

const ATTENTION = {
  id: 'attention',
  label: 'views.attention',
  applies: hasAttention,
  live: true,
  render(panel, app) {
    const model = app.state.modelSettings;
    // The text and the map chosen are saved with the page and go into share links (lib/viewstate.js).
    app.viewState ??= {};
    const st = fromSaved(app.viewState.attention);
    const remember = () => { app.viewState.attention = toSaved(st); app.saveSoon(); };
    const text = el('textarea', 'att-text');
    text.id = 'att-text';
    text.rows = 2;
    text.value = st.text;
    text.placeholder = t('views.att_text_placeholder');
    const label = el('label', '', t('views.att_text'));
    label.htmlFor = text.id;
    const samples = el('div', 'att-samples');
    samples.setAttribute('role', 'group');
    samples.setAttribute('aria-label', t('views.att_samples'));
    const show = el('button', '', t('views.show'));
    show.type = 'submit';
    const f = el('form', 'view-form att-form');
    const field = el('div', 'field att-field');
    field.append(label, text);
    f.append(field, show);
    const info = el('p', 'hint');
    const grid = el('div', 'att-grid');
    grid.id = 'att-grid';
    grid.setAttribute('role', 'group');
    grid.setAttribute('aria-label', t('views.att_grid'));
    const head = el('h3', 'att-title');
    const big = el('div', 'att-big');
    const list = el('details', 'att-list');
    let last = null;

    const draw = (r) => {
      const ms = r; // the core's: layers [{ heads, average }], rollout
      const toks = r.tokens;
      st.sel = within(st.sel, ms);
      // Thumbnails: one row per layer, its heads and their average; then the rollout. Each is a button.
      const thumbs = [];
      const thumb = (m, sel) => {
        const b = el('button', 'att-thumb');
        b.type = 'button';
        const c = el('canvas');
        paint(c, causal(m), 0, 1);
        b.append(c, el('span', 'att-thumb-label', sel.kind === 'head' ? String(sel.head + 1) : sel.kind === 'average' ? t('views.att_avg') : t('views.att_roll')));
        b.setAttribute('aria-label', selName(sel));
        const on = sel.kind === st.sel.kind && (sel.kind === 'rollout' || (sel.layer === st.sel.layer && (sel.kind === 'average' || sel.head === st.sel.head)));
        b.setAttribute('aria-pressed', String(on));
        b.dataset.kind = sel.kind;
        b.addEventListener('click', () => { st.sel = sel; remember(); draw(last); grid.querySelector('[aria-pressed="true"]')?.focus(); });
        thumbs.push(b);
        return b;
      };
      grid.replaceChildren(...ms.layers.map((l, layer) => {
        const row = el('div', 'att-row');
        row.append(el('span', 'att-row-label', t('views.att_layer', { n: layer + 1 })),
          ...l.heads.map((m, h) => thumb(m, { kind: 'head', layer, head: h })),
          thumb(l.average, { kind: 'average', layer }));
        return row;
      }), (() => {
        const row = el('div', 'att-row');
        row.append(el('span', 'att-row-label', t('views.att_across')), thumb(ms.rollout, { kind: 'rollout' }));
        return row;
      })());
      grid.dataset.heads = String(ms.layers.reduce((n, l) => n + l.heads.length, 0));
      // Redrawn after training chunks: tests and curious users can count the draws.
      grid.dataset.draws = String(Number(grid.dataset.draws || 0) + 1);
      const m = causal(pick(ms, st.sel));
      const name = selName(st.sel);
      head.textContent = name;
      const describe = (i, j, v) => (v === null ? t('views.att_cell_future', { q: tokenLabel(toks[i]), i: i + 1, k: tokenLabel(toks[j]), j: j + 1 }) : t('views.att_cell', { q: tokenLabel(toks[i]), i: i + 1, k: tokenLabel(toks[j]), j: j + 1, v: v.toFixed(3) }));
      // The map uses the panel's width (up to 1,100 px), so 64 tokens get readable labels.
      const room = Math.min(1100, (big.clientWidth || panel.clientWidth || 640) - 90);
      const hm = heatmap(m, { rows: toks, cols: toks, range: [0, 1], describe, label: t('views.att_map_label', { name, n: toks.length }), id: 'att-map', maxPx: Math.max(320, room) });
      const sel = { ...st.sel };
      const png = pngButton(() => ({
        title: name,
        subtitle: `${describeModel(model)} · ${t('views.att_png_sub')}`,
        chart: 'attention',
        model,
        extra: [sel.kind, sel.layer === undefined ? '' : `l${sel.layer + 1}`, sel.head === undefined ? '' : `h${sel.head + 1}`].filter(Boolean).join('-'),
        plot: hm.plot,
        colorbar: hm.colorbar,
      }), { onError: (e) => panel.dispatchEvent(new CustomEvent('view-error', { bubbles: true, detail: e })) });
      png.id = 'att-png';
      big.replaceChildren(hm.el, png);
      // In words, for screen readers and for reading: which earlier token each token attends to most.
      const ol = el('ol', 'att-strongest');
      for (const s of strongest(m)) ol.append(el('li', '', t('views.att_strongest', { q: tokenLabel(toks[s.query]), k: tokenLabel(toks[s.key]), j: s.key + 1, v: s.weight.toFixed(2) })));
      list.replaceChildren(el('summary', '', t('views.att_strongest_title')), ol);
    };

    const run = async ({ live = false } = {}) => {
      if (!live && st.text !== text.value) { st.text = text.value; remember(); }
      const r = await app.view('attention', st.text ? { text: st.text } : {});
      last = r;
      if (!panel.isConnected) return;
      info.textContent = t('views.att_info', { n: r.tokens.length, layers: r.layers.length, heads: r.layers[0]?.heads.length ?? 0 });
      draw(r);
    };
    onSubmitted(f, () => run());
    // Texts to pick: the prompt, and a line of the corpus (the model's own kind of text).
    const corpusLine = (document.getElementById('corpus')?.value || '').split('\n').map((s) => s.trim()).find((s) => s.length >= 12) || '';
    for (const [key, value] of [['views.att_sample_valid', ''], ['views.att_sample_prompt', app.lastPrompt || ''], ['views.att_sample_corpus', corpusLine.slice(0, Math.min(model.context || 64, 64))]]) {
      if (key !== 'views.att_sample_valid' && !value) continue;
      const b = el('button', 'small', t(key));
      b.type = 'button';
      b.addEventListener('click', () => { text.value = value; f.requestSubmit(); });
      samples.append(b);
    }
    panel.append(el('p', 'hint', t('views.att_hint')), f, samples, info, grid, head, big, list);
    return run;
  },
};

export const TRANSFORMER_VIEWS = [ATTENTION, ...POSITIONAL_VIEWS, ...COST_VIEWS];
