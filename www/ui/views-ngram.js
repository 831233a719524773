// Views of n-gram models: why a probability is what it is, order by order.
import { t } from '../lib/i18n.js';
import { field, form, table } from './widgets.js';

const isNgram = (m) => m.family === 'ngram';
const num = (x, digits = 4) => (x === null || x === undefined ? '—' : Number.isInteger(x) ? String(x) : Number(x).toPrecision(digits));

const EXPLAIN = {
  id: 'explain',
  label: 'views.explain',
  applies: isNgram,
  render(panel, app) {
    const ctx = field('text', 'views.context', app.lastPrompt || '');
    const tok = field('text', 'views.token', '');
    const out = document.createElement('div');
    const run = async () => {
      if (!tok.input.value) {
        // Default to the most likely next token, so the view shows something at once.
        const next = await app.view('next', { context: ctx.input.value, k: 1 });
        tok.input.value = next.top[0]?.token ?? '';
      }
      const r = await app.view('explain', { context: ctx.input.value, token: tok.input.value });
      const head = document.createElement('p');
      head.className = 'explain-head';
      head.textContent = `P(${r.token} | ${r.context.join(' ') || '∅'}) = ${num(r.probability, 6)}`;
      const summary = document.createElement('p');
      summary.textContent = r.summary;
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
      out.replaceChildren(head, summary, table(
        ['views.col_order', 'views.col_ngram', 'views.col_count', 'views.col_ctx', 'views.col_discount', 'views.col_weight', 'views.col_estimate', 'views.col_contribution', 'views.col_seen', 'views.col_note'],
        rows,
      ));
    };
    panel.append(form([ctx, tok], 'views.show', run), out);
    return run;
  },
};

export const NGRAM_VIEWS = [EXPLAIN];
