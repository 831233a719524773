// Tokens tinted by probability, with a tooltip of the alternatives (hover, or focus with the arrow keys).
// Token text is always inserted as text, never as HTML.
import { t } from '../lib/i18n.js';

const info = new WeakMap();

// Upper edges (in bits of surprisal) of the tint buckets 0 … 4; anything above is bucket 5.
const EDGES = [1, 2, 4, 7, 10];

/** Tint bucket 0 (likely) … 5 (surprising), by surprisal −log₂ p. */
export function bucket(prob) {
  const bits = prob > 0 ? -Math.log2(prob) : Infinity;
  const i = EDGES.findIndex((b) => bits < b);
  return i < 0 ? EDGES.length : i;
}

/** A span for one token: { text, token, prob, alternatives: [{ token, prob }] }. */
export function tokenSpan(tok) {
  const span = document.createElement('span');
  span.className = `tok p${bucket(tok.prob)}`;
  span.textContent = tok.text;
  // A BPE token that ends inside a character shows no text (the token completing it shows the
  // character); a dot keeps it visible, so it can be hovered, without entering the copied text.
  if (!tok.text) span.classList.add('partial');
  span.tabIndex = -1;
  info.set(span, tok);
  return span;
}

function fmtP(p) {
  if (p === 0) return '0';
  return p >= 0.001 ? p.toFixed(3) : p.toExponential(1);
}

/** A token as the tooltip names it: a line break as ↵ and spaces as ␣ (a BPE token's leading space). */
function shown(token) { return token === '\n' ? '↵' : token.replace(/ /g, '␣'); }

function show(span) {
  const tok = info.get(span);
  const tip = document.getElementById('tooltip');
  if (!tok || !tip) return;
  const head = document.createElement('div');
  head.className = 'tip-head';
  const bits = tok.prob > 0 ? (-Math.log2(tok.prob)).toFixed(2) : '∞';
  head.textContent = `“${shown(tok.token)}”  P = ${fmtP(tok.prob)}  (${t('tokens.bits', { bits })})`;
  const list = document.createElement('ol');
  for (const a of tok.alternatives || []) {
    const li = document.createElement('li');
    li.textContent = `${shown(a.token)} — ${fmtP(a.prob)}`;
    if (a.token === tok.token) li.className = 'chosen';
    list.append(li);
  }
  const label = document.createElement('div');
  label.className = 'tip-sub';
  label.textContent = t('tokens.alternatives');
  tip.replaceChildren(head, label, list);
  tip.hidden = false;
  const r = span.getBoundingClientRect();
  const x = Math.min(window.scrollX + r.left, window.scrollX + document.documentElement.clientWidth - tip.offsetWidth - 8);
  tip.style.left = `${Math.max(4, x)}px`;
  tip.style.top = `${window.scrollY + r.bottom + 6}px`;
}

function hide() {
  const tip = document.getElementById('tooltip');
  if (tip) tip.hidden = true;
}

/** Makes a container of token spans explorable by mouse and keyboard. */
export function makeExplorable(box) {
  box.tabIndex = 0;
  box.addEventListener('mouseover', (e) => { if (e.target.classList?.contains('tok')) show(e.target); });
  box.addEventListener('mouseleave', hide);
  box.addEventListener('focusin', (e) => { if (e.target.classList?.contains('tok')) show(e.target); });
  box.addEventListener('focusout', hide);
  box.addEventListener('keydown', (e) => {
    const toks = [...box.querySelectorAll('.tok')];
    if (!toks.length) return;
    const i = toks.indexOf(document.activeElement);
    let j = null;
    if (e.key === 'ArrowRight') j = Math.min(toks.length - 1, i + 1);
    else if (e.key === 'ArrowLeft') j = Math.max(0, i < 0 ? 0 : i - 1);
    else if (e.key === 'Home') j = 0;
    else if (e.key === 'End') j = toks.length - 1;
    else if (e.key === 'Escape') { hide(); box.focus(); return; }
    if (j !== null) { e.preventDefault(); toks[j].focus(); }
  });
}
