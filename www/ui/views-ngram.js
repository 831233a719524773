// Views of n-gram models (docs/architecture.md, "Views"): why a probability is what it is, how sparse
// the data is, why smoothing matters (perplexity by order), the count-of-counts and Zipf plots, and
// the interpolation weights, editable.
import { t, getLang } from '../lib/i18n.js';
import { lineChart, align } from '../lib/charts.js';
import { fmtInt, fmtPpl, fmtPct } from '../lib/format.js';
import { barList, field, form, table } from './widgets.js';
import { modelChartPng, barsPng } from './png.js';

const isNgram = (m) => m.family === 'ngram';
// A model read from an ARPA file has probabilities but no counts; one opened from a model file
// without its corpus has the counts but no text to measure sparseness or perplexities on.
const counted = (m) => isNgram(m) && m.source !== 'arpa';
const withText = (m) => isNgram(m) && !m.source;
const num = (x, digits = 4) => (x === null || x === undefined ? '—' : Number.isInteger(x) ? String(x) : Number(x).toPrecision(digits));
const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};
const chartBox = () => el('div', 'chart');
/**
 * A chart owned by the current render (destroyed when the view is redrawn), with its PNG button
 * (`name`: the file-name piece; `title`: the figure's title) above it.
 */
const chart = (app, box, { name, title, ...opts }) => {
  const c = lineChart(box, opts);
  app.viewCharts.push(c);
  box.before(modelChartPng(app, { title: () => title, chart: name, get: () => c, onError: (e) => box.dispatchEvent(new CustomEvent('view-error', { bubbles: true, detail: e })) }));
  return c;
};
const methodLabel = (m) => (m.method === 'addk' ? (m.k === 1 ? t('desc.laplace') : t('desc.addk', { k: m.k })) : t(`method.${m.method}`));

/** The backoff story in Chinese, from the trace's numbers (the core writes it in English). */
function summaryZh(r) {
  const top = r.levels[0];
  const gram = (l) => `“${[...l.context, r.token].join(' ')}”`;
  if (r.kind === 'backoff') {
    const used = r.levels.find((l) => l.seen && l.order > 0);
    if (!used) return t('views.zh_backoff_uniform');
    if (used === top) return t('views.zh_seen', { order: top.order, gram: gram(top), count: num(top.count) });
    return t('views.zh_backoff', { order: top.order, gram: gram(top), lower: used.order, lgram: gram(used), count: num(used.count) });
  }
  if (r.kind === 'interpolated') {
    const share = r.probability > 0 ? Math.round((100 * top.contribution) / r.probability) : 0;
    return top.seen
      ? t('views.zh_interp_seen', { order: top.order, gram: gram(top), count: num(top.count), pct: share })
      : t('views.zh_interp_unseen', { order: top.order, gram: gram(top) });
  }
  return t('views.zh_single', { count: num(top.count), ctx: num(top.context_count) });
}

const EXPLAIN = {
  id: 'explain',
  label: 'views.explain',
  applies: isNgram,
  render(panel, app) {
    const ctx = field('text', 'views.context', app.lastPrompt || '');
    const tok = field('text', 'views.token', '');
    const out = el('div');
    const run = async () => {
      if (!tok.input.value) {
        // Default to the most likely next token, so the view shows something at once.
        const next = await app.view('next', { context: ctx.input.value, k: 1 });
        tok.input.value = next.top[0]?.token ?? '';
      }
      const r = await app.view('explain', { context: ctx.input.value, token: tok.input.value });
      const head = el('p', 'explain-head', `P(${r.token} | ${r.context.join(' ') || '∅'}) = ${num(r.probability, 6)}`);
      const notes = [];
      if (r.oov) notes.push(el('p', 'warning', t('views.oov_token', { typed: r.typed })));
      if (r.normalized === false) notes.push(el('p', 'warning', t('views.unnormalized')));
      const rows = r.levels.map((l) => [
        l.order === 0 ? t('views.uniform') : `${l.order}`,
        l.order === 0 ? '—' : `${[...l.context, r.token].join(' ')}`,
        l.order === 0 ? '—' : `${num(l.count)}${l.count_kind === 'continuation' ? ` (${t('views.continuation')})` : ''}`,
        num(l.context_count),
        num(l.discount),
        num(l.lambda ?? l.lower_weight),
        num(l.estimate),
        num(l.contribution),
        l.seen ? '✓' : '✗',
        l.note || '',
      ]);
      // The core explains in English; in Chinese the page tells the story from the numbers instead.
      const zh = getLang() === 'zh';
      const cols = ['views.col_order', 'views.col_ngram', 'views.col_count', 'views.col_ctx', 'views.col_discount', 'views.col_weight', 'views.col_estimate', 'views.col_contribution', 'views.col_seen', 'views.col_note'];
      out.replaceChildren(head, ...notes, el('p', '', zh ? summaryZh(r) : r.summary), table(
        zh ? cols.slice(0, -1) : cols,
        zh ? rows.map((row) => row.slice(0, -1)) : rows,
      ));
    };
    panel.append(form([ctx, tok], 'views.show', run), out);
    return run;
  },
};

const SPARSENESS = {
  id: 'sparseness',
  label: 'views.sparseness',
  applies: withText,
  render(panel, app) {
    const run = async () => {
      const r = await app.view('sparseness', {});
      const rows = r.orders.map((o) => ({ label: t('views.order_n', { n: o.order }), value: o.share_unseen, note: `${fmtPct(o.share_unseen)} (${fmtInt(o.unseen)} / ${fmtInt(o.ngrams)})` }));
      const bars = barList(rows, { max: 1 });
      panel.append(
        el('p', 'hint', t('views.sparseness_hint')),
        barsPng(app, bars, rows, { title: t('views.sparseness'), chart: 'sparseness', max: 1 }),
        bars,
        table(['views.col_order', 'views.col_unseen_examples'], r.orders.map((o) => [String(o.order), o.examples.map((e) => e.join(' ')).join(' · ') || '—'])),
      );
    };
    return run;
  },
};

const PPL_BY_ORDER = {
  id: 'ppl-order',
  label: 'views.ppl_order',
  applies: withText,
  render(panel, app) {
    const box = chartBox();
    const tbl = el('div');
    const hint = el('p', 'hint', t('views.computing'));
    panel.append(hint, box, tbl);
    const run = async () => {
      const r = await app.view('ppl-by-order', { max_order: 6 });
      hint.textContent = t('views.ppl_order_hint');
      const series = r.methods.map((m) => ({ label: methodLabel(m) }));
      const data = align(r.methods.map((m) => m.points.map((p) => [p.order, Number.isFinite(p.perplexity) ? p.perplexity : null])));
      chart(app, box, { name: 'perplexity-by-order', title: t('views.ppl_order'), series, xLabel: t('views.order'), yLabel: t('views.perplexity_log'), logY: true, points: true, integerX: true }).setData(data);
      tbl.replaceChildren(table(
        ['views.col_method', ...r.orders.map((o) => `n = ${o}`)],
        r.methods.map((m) => [methodLabel(m), ...r.orders.map((o) => {
          const p = m.points.find((q) => q.order === o);
          if (!p) return '—';
          if (p.error) {
            const cell = el('span', '', `✗ ${t('views.method_failed')}`);
            cell.title = p.error;
            return cell;
          }
          return fmtPpl(p.perplexity ?? Infinity);
        })]),
      ));
      box.dataset.ready = 'true';
    };
    return run;
  },
};

const ZIPF = {
  id: 'zipf',
  label: 'views.zipf',
  applies: counted,
  render(panel, app) {
    const coc = chartBox();
    const zipf = chartBox();
    const params = el('div');
    panel.append(el('h3', '', t('views.coc_title')), el('p', 'hint', t('views.coc_hint')), coc,
      el('h3', '', t('views.zipf_title')), el('p', 'hint', t('views.zipf_hint')), zipf, params);
    const run = async () => {
      const r = await app.view('count-of-counts', {});
      chart(app, coc, { name: 'count-of-counts', title: t('views.coc_title'), series: r.orders.map((o) => ({ label: t('views.order_n', { n: o.order }) })), xLabel: t('views.count_r'), yLabel: t('views.n_r'), logX: true, logY: true, points: true })
        .setData(align(r.orders.map((o) => o.count_of_counts)));
      chart(app, zipf, { name: 'zipf', title: t('views.zipf_title'), series: [{ label: t('views.frequency') }], xLabel: t('views.rank'), yLabel: t('views.frequency'), logX: true, logY: true })
        .setData([r.zipf.points.map((p) => p.rank), r.zipf.points.map((p) => p.count)]);
      const ps = Array.isArray(r.params) ? r.params : [];
      params.replaceChildren();
      if (ps.length) {
        const keys = [...new Set(ps.flatMap((p) => Object.keys(p)))].filter((k) => k !== 'order');
        params.append(el('h3', '', t('views.learned_params')), table(['views.col_order', ...keys], ps.map((p) => [String(p.order), ...keys.map((k) => num(p[k]))])));
      }
    };
    return run;
  },
};

const INTERPOLATION = {
  id: 'lambdas',
  label: 'views.lambdas',
  applies: (m) => withText(m) && m.method === 'interpolation',
  render(panel, app) {
    const out = el('div');
    panel.append(el('p', 'hint', t('views.lambdas_hint')), out);
    const run = async (lambdas) => {
      const r = await app.view('interpolation', lambdas ? { lambdas } : {});
      const inputs = r.lambdas.map((l, i) => field('number', 'views.lambda_i', (r.custom?.lambdas?.[i] ?? l).toFixed(4), { min: 0, max: 1, step: 0.01 }));
      inputs.forEach((f, i) => { f.wrap.querySelector('label').textContent = `λ${i}${i === 0 ? ` (${t('views.uniform')})` : ''}`; });
      const learned = el('p', '', t('views.lambdas_learned', { lambdas: r.lambdas.map((l) => l.toFixed(3)).join(', '), ppl: fmtPpl(r.validation.perplexity ?? Infinity) }));
      const custom = r.custom ? el('p', 'explain-head', t('views.lambdas_custom', { lambdas: r.custom.lambdas.map((l) => l.toFixed(3)).join(', '), ppl: fmtPpl(r.custom.validation.perplexity ?? Infinity) })) : el('p');
      const em = r.em ? el('p', 'hint', t('views.lambdas_em', { n: r.em.iterations, tokens: fmtInt(r.em.heldout_tokens) })) : el('p');
      out.replaceChildren(learned, em, form(inputs, 'views.apply', () => run(inputs.map((f) => Number(f.input.value)))), custom);
    };
    return () => run(null);
  },
};

export const NGRAM_VIEWS = [EXPLAIN, SPARSENESS, PPL_BY_ORDER, ZIPF, INTERPOLATION];
