// English and 中文 for the whole UI. Static text carries `data-i18n="key"` (text) or
// `data-i18n-attr="attr:key;attr2:key2"` (attributes); code calls `t(key, params)`.
// The choice is remembered in localStorage; the default follows the browser's languages.
import en from '../i18n/en.js';
import zh from '../i18n/zh.js';

export const DICTS = { en, zh };
const KEY = 'lmp.lang';
let lang = 'en';

export function detectLang() {
  let stored = null;
  try { stored = localStorage.getItem(KEY); } catch { /* storage may be blocked */ }
  if (stored && DICTS[stored]) return stored;
  const prefs = navigator.languages?.length ? navigator.languages : [navigator.language || 'en'];
  for (const p of prefs) {
    const l = String(p).toLowerCase();
    if (l.startsWith('zh')) return 'zh';
    if (l.startsWith('en')) return 'en';
  }
  return 'en';
}

export function getLang() { return lang; }

/** The string for `key` in the current language, with `{name}` placeholders filled from params. */
export function t(key, params = {}) {
  const s = DICTS[lang][key] ?? DICTS.en[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (m, k) => (params[k] !== undefined ? String(params[k]) : m));
}

/** Translates every tagged element under `root`. */
export function applyI18n(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-attr]')) {
    for (const pair of el.dataset.i18nAttr.split(';')) {
      const [attr, key] = pair.split(':');
      el.setAttribute(attr, t(key));
    }
  }
  if (root === document) {
    document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
    document.title = t('title');
  }
}

export function setLang(l, { remember = true } = {}) {
  lang = DICTS[l] ? l : 'en';
  if (remember) {
    try { localStorage.setItem(KEY, lang); } catch { /* ignore */ }
  }
  applyI18n();
  document.dispatchEvent(new CustomEvent('langchange', { detail: lang }));
}
