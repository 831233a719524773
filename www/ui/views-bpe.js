// The merges view of a BPE tokenizer (crate/src/text/bpe_view.rs): the merges in the order they were
// learned, and a text cut into tokens after the first k of them (0: bytes; all: the model's tokenizer).
// Token names are inserted as text, never as HTML.
import { t } from '../lib/i18n.js';
import { fmtInt } from '../lib/format.js';
import { el, table } from './widgets.js';

const isBpe = (_model, app) => app.state.settings?.data?.tokenizer?.kind === 'bpe';

/** A token's name as shown: a space as ␣, a line break as ↵, a tab as ⇥ (\xHH stays: bytes of a cut character). */
export function shownToken(name) {
  return name.replace(/ /g, '␣').replace(/\n/g, '↵').replace(/\t/g, '⇥');
}

/** Whether a token's name holds bytes of a character it cuts (`\xE4`, not the text `\\x`). */
export function cutsCharacter(name) {
  return /(^|[^\\])(\\\\)*\\x[0-9A-F]{2}/.test(name);
}

/** One chip per token, alternately shaded so their edges show. */
function chips(tokens) {
  return tokens.map((tok, i) => {
    const c = el('span', `bpe-tok ${i % 2 ? 'odd' : 'even'}`, shownToken(tok.token));
    if (cutsCharacter(tok.token)) {
      c.classList.add('bytes');
      c.title = t('merges.bytes_title', { n: tok.bytes });
    }
    return c;
  });
}

const MERGES = {
  id: 'merges',
  label: 'views.merges',
  applies: isBpe,
  render(panel, app) {
    app.viewState ??= {};
    const saved = app.viewState.merges ?? {};
    const textLabel = el('label', null, t('merges.text'));
    textLabel.htmlFor = 'merges-text';
    const text = document.createElement('textarea');
    text.id = 'merges-text';
    text.rows = 3;
    text.spellcheck = false;
    text.value = typeof saved.text === 'string' ? saved.text : '';
    const kLabel = el('label', null, t('merges.k'));
    kLabel.htmlFor = 'merges-k';
    const k = document.createElement('input');
    k.type = 'range';
    k.id = 'merges-k';
    k.min = '0';
    const kOut = el('output', 'bpe-k');
    kOut.htmlFor = 'merges-k';
    const summary = el('p', 'bpe-summary');
    summary.setAttribute('aria-live', 'polite');
    const cut = el('div', 'bpe-cut');
    const list = el('div', 'bpe-list');
    const controls = el('div', 'bpe-controls');
    controls.append(textLabel, text, kLabel, el('span', 'inline'));
    controls.lastChild.append(k, kOut);
    panel.append(el('p', 'hint', t('merges.intro')), controls, summary, cut, el('h3', null, t('merges.list')), list);

    let total = null;
    let rows = [];
    const run = async () => {
      const first = total === null;
      const args = { text: text.value, list: first };
      if (!first) args.k = Number(k.value);
      else if (Number.isInteger(saved.k)) args.k = saved.k;
      const r = await app.view('merges', args);
      if (first) {
        total = r.total;
        k.max = String(r.total);
        k.value = String(r.k);
        // Fewer merges than asked: none asked for (the bytes alone), or no pair occurred twice any more.
        const short = r.total < r.wanted ? el('p', 'hint', t('merges.short', { total: fmtInt(r.total), wanted: fmtInt(r.wanted) })) : '';
        if (!r.total) list.replaceChildren(el('p', 'hint', t(r.wanted ? 'merges.none' : 'merges.bytes_only')));
        else {
          const body = r.merges.map((m) => [fmtInt(m.rank), `${shownToken(m.a)} + ${shownToken(m.b)}`, shownToken(m.token), m.count === null ? '—' : fmtInt(m.count)]);
          list.replaceChildren(short, table(['merges.col_rank', 'merges.col_pair', 'merges.col_token', 'merges.col_count'], body));
          rows = [...list.querySelectorAll('tbody tr')];
        }
      }
      kOut.textContent = `${fmtInt(r.k)} / ${fmtInt(r.total)}`;
      // Merges not applied yet are faded in the list.
      rows.forEach((tr, i) => tr.classList.toggle('later', i >= r.k));
      const ratio = r.tokens ? (r.chars / r.tokens).toFixed(2) : '—';
      summary.textContent = t('merges.summary', { k: fmtInt(r.k), total: fmtInt(r.total), chars: fmtInt(r.chars), tokens: fmtInt(r.tokens), ratio });
      cut.replaceChildren(...r.lines.map((line) => {
        const d = el('div', 'bpe-line');
        d.append(...chips(line));
        return d;
      }));
      app.viewState.merges = { text: text.value, k: r.k };
    };
    let timer = null;
    const soon = () => { clearTimeout(timer); timer = setTimeout(() => run().catch((e) => panel.dispatchEvent(new CustomEvent('view-error', { bubbles: true, detail: e }))), 120); };
    k.addEventListener('input', soon);
    text.addEventListener('input', soon);
    return run;
  },
};

export const BPE_VIEWS = [MERGES];
