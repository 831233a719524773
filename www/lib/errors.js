// Error messages for the page: core errors carry a stable `code`, translated here; unknown codes fall
// back to the message (docs/ui.md, "Every string is translated").
import { t } from './i18n.js';

/** The localized text of an error. */
export function errorText(e) {
  const key = `error.${e?.code}`;
  const msg = e?.message || String(e);
  return t(key) !== key ? t(key, { message: msg }) : msg;
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
