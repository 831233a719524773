// Error messages for the page: core errors carry a stable `code`, translated here; unknown codes fall
// back to the message (docs/ui.md, "Every string is translated").
import { t } from './i18n.js';
import { fmtBytes, fmtInt } from './format.js';

/**
 * The localized text of an error. A core error with a message key (`e.key`, its figures in
 * `e.params`) is worded from `error.<code>.<key>`, inside the code's frame (`error.<code>` with the
 * worded message as {message}); otherwise the code's text, or the message itself.
 */
export function errorText(e) {
  const key = `error.${e?.code}`;
  let msg = e?.message || String(e);
  const detail = e?.key ? `${key}.${e.key}` : null;
  if (detail && t(detail) !== detail) msg = t(detail, figures(e.params || {}));
  return t(key) !== key ? t(key, { message: msg }) : msg;
}

/** A core error's figures as text: sizes in bytes (`*_bytes`) as KiB/MiB/GiB, counts grouped, and a
 * `reduce` hint worded (`error.reduce.<hint>`). */
export function figures(params) {
  const out = {};
  for (const [k, v] of Object.entries(params)) {
    if (k.endsWith('_bytes') && typeof v === 'number') out[k] = fmtBytes(v);
    else if (k === 'reduce') out[k] = t(`error.reduce.${v}`);
    else if (typeof v === 'number' && Number.isInteger(v)) out[k] = fmtInt(v);
    else out[k] = String(v);
  }
  return out;
}

/** Shows an error in an error box (`class="error" role="alert"`), or hides the box for null. */
export function showErrorIn(el, e) {
  el.hidden = !e;
  el.textContent = e ? errorText(e) : '';
}

/** A new error line for a part of the page; `show(e)` fills it, `show(null)` hides it. */
export function errorLine() {
  const el = document.createElement('div');
  el.className = 'error';
  el.setAttribute('role', 'alert');
  el.hidden = true;
  return { el, show: (e) => showErrorIn(el, e) };
}
