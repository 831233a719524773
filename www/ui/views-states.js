// The hidden-state heatmap of recurrent models (docs/ui.md, "Hidden states"): the core's
// `hidden-states` view over a text the user picks or types — units × time for h or one of the LSTM's
// or GRU's gates, per layer, on a canvas, with each token under its column. Hovering a row, or
// focusing the heatmap and moving with the arrow keys, picks a unit and colours the text by its
// activation (Karpathy's cell visualisations). Text is only ever inserted as text.
import { t } from '../lib/i18n.js';
import { family } from '../lib/models.js';
import { describeModel } from '../lib/describe.js';
import { LIGHT } from '../lib/export.js';
import { quantities, matrix, colorOf, css, colorStops, tokenLabel, liveliestUnit, unitExtremes, pixels, unitFromKey, TEXT } from '../lib/heatmap.js';
import { fmtPct } from '../lib/format.js';
import { pngButton } from './png.js';
import { el, table } from './widgets.js';
import { MAX_VIEW_TEXT } from '../lib/viewstate.js';

const isRecurrent = (m) => Boolean(family(m.family)?.recurrent);
const cssVar = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();
const SOURCES = ['valid', 'output', 'custom'];
/** How many tokens the core reads (crate/src/nn/models/recurrent.rs, MAX_STATE_TOKENS). */
const MAX_TOKENS = 200;

/** A labelled select: { wrap, select }. */
function selectField(id, labelKey, options, value) {
  const wrap = el('div', 'field');
  const label = el('label', '', t(labelKey));
  label.htmlFor = id;
  const select = document.createElement('select');
  select.id = id;
  for (const o of options) {
    const opt = el('option', '', o.label);
    opt.value = o.value;
    select.append(opt);
  }
  if (options.some((o) => o.value === value)) select.value = value;
  wrap.append(label, select);
  return { wrap, select };
}

/**
 * The geometry of a heatmap of T tokens × H units, in CSS pixels: columns wide enough for a token's
 * label, widened to fill `avail` pixels (up to 28 each); past the box, it scrolls.
 */
function geometry(T, H, words, avail) {
  const gutterW = 34;
  const cw = Math.max(words ? 16 : 13, Math.min(28, Math.floor((avail - gutterW) / Math.max(1, T))));
  const rh = Math.max(3, Math.min(12, Math.round(320 / H)));
  const gutter = gutterW;
  const labelH = words ? 76 : 18;
  // A margin above the first row: its unit number and the chosen unit's outline reach above it.
  const top = 7;
  return { cw, rh, gutter, labelH, top, width: gutter + T * cw, height: top + H * rh + labelH + 4 };
}

/**
 * Draws the heatmap (cells, unit numbers, tokens under their columns, the chosen unit's outline and,
 * while a token of the text is hovered, its column's).
 */
function drawHeatmap(ctx, { m, tokens, range, unit, geo, theme, words, column = null }) {
  const T = m.length;
  const H = T ? m[0].length : 0;
  const { cw, rh, gutter } = geo;
  ctx.clearRect(0, 0, geo.width, geo.height);
  if (!T || !H) return;
  ctx.save();
  ctx.translate(0, geo.top);
  const off = document.createElement('canvas');
  off.width = T;
  off.height = H;
  off.getContext('2d').putImageData(new ImageData(pixels(m, range), T, H), 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(off, gutter, 0, T * cw, H * rh);
  // Unit numbers every few rows, so they never overlap.
  const every = [1, 2, 5, 10, 20, 50, 100].find((k) => k * rh >= 13) ?? 200;
  ctx.fillStyle = theme.muted;
  ctx.font = `10px ${theme.font}`;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (let u = 0; u < H; u += every) ctx.fillText(String(u + 1), gutter - 4, u * rh + rh / 2);
  // Tokens under their columns: characters upright, words turned (and shortened).
  ctx.fillStyle = theme.fg;
  ctx.font = `12px ${theme.mono}`;
  tokens.forEach((tok, i) => {
    const x = gutter + i * cw + cw / 2;
    const label = tokenLabel(tok);
    if (!words) {
      ctx.textAlign = 'center';
      ctx.textBaseline = 'top';
      ctx.fillText(label, x, H * rh + 3);
    } else {
      ctx.save();
      ctx.translate(x, H * rh + 3);
      ctx.rotate(-Math.PI / 2);
      ctx.textAlign = 'right';
      ctx.textBaseline = 'middle';
      ctx.fillText(label.length > 10 ? `${label.slice(0, 9)}…` : label, 0, 0);
      ctx.restore();
    }
  });
  // The chosen unit.
  ctx.strokeStyle = theme.fg;
  ctx.lineWidth = 2;
  ctx.strokeRect(gutter - 1, unit * rh - 1, T * cw + 2, rh + 2);
  ctx.beginPath();
  ctx.moveTo(2, unit * rh + rh / 2);
  ctx.lineTo(8, unit * rh + rh / 2);
  ctx.stroke();
  if (column !== null) {
    ctx.lineWidth = 1.5;
    ctx.strokeRect(gutter + column * cw, 0, cw, H * rh);
  }
  ctx.restore();
}

const pageTheme = () => ({ fg: cssVar('--fg') || '#1d2330', muted: cssVar('--muted') || '#5d6677', font: 'system-ui, sans-serif', mono: cssVar('--mono') || 'monospace' });
const lightTheme = () => ({ ...pageTheme(), fg: LIGHT.fg, muted: LIGHT.muted });

const HIDDEN_STATES = {
  id: 'hidden-states',
  label: 'views.hidden_states',
  applies: isRecurrent,
  render(panel, app) {
    const model = app.state.modelSettings;
    const kind = app.state.settings?.data?.tokenizer?.kind;
    const words = kind !== 'char'; // labels turned under the heatmap
    const spaced = kind === 'word' || kind === 'whitespace'; // BPE tokens carry their own spaces
    app.viewState ??= {};
    const saved = app.viewState['hidden-states'] ?? {};
    const st = {
      source: SOURCES.includes(saved.source) ? saved.source : 'valid',
      text: typeof saved.text === 'string' ? saved.text : '',
      layer: Number.isInteger(saved.layer) && saved.layer >= 0 && saved.layer < (model.layers || 1) ? saved.layer : 0,
      show: typeof saved.show === 'string' ? saved.show : 'h',
    };
    const remember = () => { app.viewState['hidden-states'] = { ...st, text: st.text.slice(0, MAX_VIEW_TEXT) }; app.saveSoon(); };

    const source = selectField('hs-source', 'views.hs_source', SOURCES.map((s) => ({ value: s, label: t(`views.hs_source_${s}`) })), st.source);
    const textWrap = el('div', 'field hs-text-field');
    const textLabel = el('label', '', t('views.hs_text'));
    textLabel.htmlFor = 'hs-text';
    const text = document.createElement('textarea');
    text.id = 'hs-text';
    text.rows = 2;
    text.spellcheck = false;
    text.value = st.text;
    textWrap.append(textLabel, text);
    const layers = Array.from({ length: model.layers || 1 }, (_, k) => ({ value: String(k), label: t('views.hs_layer_n', { n: k + 1 }) }));
    const layer = selectField('hs-layer', 'views.hs_layer', layers, String(st.layer));
    layer.wrap.hidden = layers.length < 2;
    const show = selectField('hs-show', 'views.hs_show', [{ value: 'h', label: t('views.hs_q_h') }], st.show);
    const go = el('button', '', t('views.show'));
    go.type = 'submit';
    const f = el('form', 'view-form');
    f.append(source.wrap, layer.wrap, show.wrap, textWrap, go);

    const info = el('p', 'hint');
    const head = el('div', 'chart-head');
    const title = el('h3', '', t('views.hs_title'));
    const scroll = el('div', 'heatmap-scroll');
    const canvas = document.createElement('canvas');
    canvas.id = 'hs-heatmap';
    canvas.className = 'heatmap';
    canvas.tabIndex = 0;
    canvas.setAttribute('role', 'slider');
    canvas.setAttribute('aria-orientation', 'vertical');
    const desc = el('p', 'sr-only');
    desc.id = 'hs-heatmap-desc';
    canvas.setAttribute('aria-describedby', desc.id);
    scroll.append(canvas);
    const legend = el('div', 'hs-legend');
    const textTitle = el('h3', '', t('views.hs_text_title'));
    const colored = el('div', 'output tokens hs-colored');
    colored.id = 'hs-colored';
    colored.setAttribute('role', 'region');
    colored.setAttribute('aria-label', t('views.hs_text_title'));
    const satBox = el('div', 'hs-saturation');
    let result = null;
    let unit = 0;
    let current = null; // { m, q, tokens, geo }
    let column = null; // the token hovered in the text

    const quantity = () => {
      const l = result.layers[st.layer];
      const qs = quantities(l, model);
      return qs.find((q) => q.id === st.show) ?? qs[0];
    };
    const qLabel = (id) => t(`views.hs_q_${id}`);

    const png = pngButton(() => ({
      title: t('views.hs_png_title', { q: current ? qLabel(current.q.id) : '', layer: st.layer + 1 }),
      subtitle: `${describeModel(model)} · ${t('views.hs_unit', { n: unit + 1 })}`,
      chart: 'hidden-states',
      model,
      extra: `${current?.q.id ?? 'h'}-layer${st.layer + 1}`,
      colorbar: current ? { stops: colorStops(current.q.range), min: current.q.range[0], max: current.q.range[1], label: qLabel(current.q.id) } : null,
      plot: async () => {
        const scale = window.devicePixelRatio || 1; // as on screen: the PNG is the heatmap's size
        const c = document.createElement('canvas');
        c.width = Math.ceil(current.geo.width * scale);
        c.height = Math.ceil(current.geo.height * scale);
        const ctx = c.getContext('2d');
        ctx.fillStyle = LIGHT.bg;
        ctx.fillRect(0, 0, c.width, c.height);
        ctx.scale(scale, scale);
        drawHeatmap(ctx, { ...current, unit, theme: lightTheme(), words });
        return { canvas: c, scale };
      },
    }), { onError: (e) => panel.dispatchEvent(new CustomEvent('view-error', { bubbles: true, detail: e })) });
    png.id = 'hs-png';
    head.append(title, png);

    const paint = () => {
      const { m, q, tokens, geo } = current;
      const scale = window.devicePixelRatio || 1;
      canvas.width = Math.ceil(geo.width * scale);
      canvas.height = Math.ceil(geo.height * scale);
      canvas.style.width = `${geo.width}px`;
      canvas.style.height = `${geo.height}px`;
      const ctx = canvas.getContext('2d');
      ctx.setTransform(scale, 0, 0, scale, 0, 0);
      drawHeatmap(ctx, { m, tokens, range: q.range, unit, geo, theme: pageTheme(), words, column });
      // The text, coloured by the chosen unit.
      const spans = colored.querySelectorAll('.hs-tok');
      spans.forEach((s, i) => {
        const v = m[i][unit];
        s.style.backgroundColor = css(colorOf(v, q.range));
        s.style.color = TEXT;
        s.title = v.toFixed(3);
      });
      const { hi, lo } = unitExtremes(m, unit);
      const H = m[0]?.length ?? 0;
      canvas.setAttribute('aria-valuenow', String(unit + 1));
      canvas.setAttribute('aria-valuetext', t('views.hs_unit_text', {
        n: unit + 1, of: H,
        hi: hi.value.toFixed(2), hiTok: tokenLabel(tokens[hi.at] ?? ''),
        lo: lo.value.toFixed(2), loTok: tokenLabel(tokens[lo.at] ?? ''),
      }));
      canvas.dataset.unit = String(unit);
      canvas.dataset.column = column === null ? '' : String(column);
      colored.dataset.unit = String(unit);
    };

    const setUnit = (u) => {
      if (!current || u === unit) return;
      unit = u;
      paint();
    };

    const build = () => {
      const l = result.layers[st.layer];
      const qs = quantities(l, model);
      show.select.replaceChildren(...qs.map((q) => { const o = el('option', '', qLabel(q.id)); o.value = q.id; return o; }));
      const q = quantity();
      st.show = q.id;
      show.select.value = q.id;
      const m = matrix(l, q);
      const tokens = result.tokens;
      const geo = geometry(tokens.length, l.units, words, scroll.clientWidth || 300);
      lastWidth = scroll.clientWidth;
      const fresh = !current || current.layer !== st.layer || current.q.id !== q.id || current.tokens !== tokens;
      current = { m, q, tokens, geo, range: q.range, layer: st.layer };
      if (fresh) unit = liveliestUnit(m);
      canvas.setAttribute('aria-label', t('views.hs_heatmap_label', { q: qLabel(q.id), layer: st.layer + 1 }));
      canvas.setAttribute('aria-valuemin', '1');
      canvas.setAttribute('aria-valuemax', String(l.units));
      desc.textContent = t('views.hs_heatmap_desc', { q: qLabel(q.id), layer: st.layer + 1, units: l.units, tokens: tokens.length, lo: q.range[0], hi: q.range[1] });
      // The coloured text: one span per token; sentence ends break the line; words are spaced.
      const nodes = [];
      tokens.forEach((tok, i) => {
        const s = el('span', 'hs-tok', tok === '</s>' ? '↵' : tok === '<s>' ? '' : tok);
        s.dataset.i = String(i);
        nodes.push(s);
        if (tok === '</s>') nodes.push(document.createTextNode('\n'));
        else if (spaced && tok !== '<s>') nodes.push(document.createTextNode(' '));
      });
      colored.replaceChildren(...nodes);
      legend.replaceChildren(
        el('span', 'hint', `${q.range[0]}`),
        (() => { const b = el('span', 'hs-bar'); b.style.backgroundImage = `linear-gradient(to right, ${colorStops(q.range).join(', ')})`; return b; })(),
        el('span', 'hint', `${q.range[1]}`),
        el('span', 'hint', ` ${qLabel(q.id)}`),
      );
      // The share of saturated gate values on this text.
      const gated = result.layers.filter((x) => Object.keys(x.saturation || {}).length);
      const names = gated.length ? Object.keys(gated[0].saturation).sort() : [];
      const rows = gated.map((x) => [t('views.hs_layer_n', { n: x.layer + 1 }), ...names.map((g) => fmtPct(x.saturation[g]))]);
      const satTable = table(['views.hs_layer', ...names], rows);
      satTable.querySelectorAll('th').forEach((th, i) => { if (i > 0) th.textContent = qLabel(names[i - 1]); });
      satBox.replaceChildren(...(rows.length ? [el('p', 'hint', t('views.hs_sat_text')), satTable] : []));
      paint();
      canvas.dataset.ready = 'true';
      remember();
    };

    const textOf = () => {
      if (st.source === 'custom') return text.value;
      if (st.source === 'output') {
        const out = document.getElementById('output').textContent;
        if (!out) throw new Error(t('views.hs_no_output'));
        return out;
      }
      return null;
    };

    const run = async () => {
      st.text = text.value;
      const txt = textOf();
      if (txt !== null && !txt.trim()) throw new Error(t('views.hs_no_text'));
      result = await app.view('hidden-states', txt === null ? {} : { text: txt });
      current = null;
      info.textContent = t('views.hs_info', { n: result.tokens.length, max: MAX_TOKENS });
      if (panel.isConnected) build();
    };

    const syncSource = () => { textWrap.hidden = st.source !== 'custom'; };
    syncSource();
    source.select.addEventListener('change', () => { st.source = source.select.value; syncSource(); remember(); });
    layer.select.addEventListener('change', () => { st.layer = Number(layer.select.value); if (result) build(); });
    show.select.addEventListener('change', () => { st.show = show.select.value; if (result) build(); });
    text.addEventListener('change', () => { st.text = text.value; remember(); });
    f.addEventListener('submit', (e) => {
      e.preventDefault();
      f.dispatchEvent(new CustomEvent('view-submit', { bubbles: true }));
      Promise.resolve().then(run).catch((err) => f.dispatchEvent(new CustomEvent('view-error', { bubbles: true, detail: err })));
    });
    canvas.addEventListener('keydown', (e) => {
      if (!current) return;
      const u = unitFromKey(e.key, unit, current.m[0]?.length ?? 0);
      if (u === null) return;
      e.preventDefault();
      setUnit(u);
    });
    const pick = (e) => {
      if (!current) return;
      const r = canvas.getBoundingClientRect();
      const y = e.clientY - r.top - current.geo.top;
      const u = Math.floor(y / current.geo.rh);
      if (u >= 0 && u < (current.m[0]?.length ?? 0)) setUnit(u);
    };
    canvas.addEventListener('pointermove', pick);
    // Hovering a token of the text outlines its column.
    colored.addEventListener('pointerover', (e) => {
      const i = e.target.closest?.('.hs-tok')?.dataset.i;
      if (!current || i === undefined || Number(i) === column) return;
      column = Number(i);
      paint();
    });
    colored.addEventListener('pointerleave', () => { if (column !== null) { column = null; if (current) paint(); } });
    // Columns fill the box: lay the heatmap out again when the box changes width.
    let lastWidth = 0;
    const ro = new ResizeObserver(() => {
      const w = scroll.clientWidth;
      if (!panel.isConnected) { ro.disconnect(); return; }
      if (!current || Math.abs(w - lastWidth) < 8) return;
      lastWidth = w;
      const l = result.layers[st.layer];
      current.geo = geometry(result.tokens.length, l.units, words, w);
      paint();
    });
    ro.observe(scroll);
    canvas.addEventListener('pointerdown', pick);

    panel.append(el('p', 'hint', t('views.hs_hint')), f, info, head, scroll, desc, legend, textTitle, colored, satBox);
    return run;
  },
};

export const STATES_VIEWS = [HIDDEN_STATES];
