// The form <-> run settings (the JSON the core's RunConfig reads; docs/conventions.md).
import { buildForm, readModel } from '../ui/modelform.js';
import { t } from './i18n.js';

const $ = (id) => document.getElementById(id);
const num = (id) => Number($(id).value);

/** Largest seed: it must survive a round trip through a JS number (docs/conventions.md, "Seeds"). */
export const MAX_SEED = Number.MAX_SAFE_INTEGER;

/** The seed field as an integer; a clear error for anything else. */
export function readSeed() {
  const raw = $('seed').value.trim();
  const seed = Number(raw);
  if (raw === '' || !Number.isSafeInteger(seed) || seed < 0) {
    throw Object.assign(new Error(t('error.seed', { max: MAX_SEED })), { code: 'seed' });
  }
  return seed;
}

/** The BPE size the core accepts (crate/src/text/dataset.rs, BPE_VOCAB). */
export const BPE_VOCAB = { min: 256, max: 8192 };

/** The BPE size field as an integer; anything else is the core's own range error, worded by the page. */
export function readBpeVocab() {
  const raw = $('bpe-vocab').value.trim();
  const v = Number(raw);
  if (raw === '' || !Number.isInteger(v) || v < BPE_VOCAB.min || v > BPE_VOCAB.max) {
    throw Object.assign(new Error(`the BPE vocabulary size must be an integer from ${BPE_VOCAB.min} to ${BPE_VOCAB.max}`), {
      code: 'invalid-config', key: 'bpe-vocab', params: { ...BPE_VOCAB, got: raw || '—' },
    });
  }
  return v;
}

/** Shows the knobs of the chosen tokenizer: BPE's vocabulary size, or the others' min count and max size. */
export function showTokenizerKnobs() {
  const bpe = $('tokenizer').value === 'bpe';
  for (const el of document.querySelectorAll('[data-bpe-only]')) el.hidden = !bpe;
  for (const el of document.querySelectorAll('[data-not-bpe]')) el.hidden = bpe;
}

/** Reads the run settings from the form (throws on an invalid seed). */
export function readSettings() {
  return {
    seed: readSeed(),
    data: {
      tokenizer: { kind: $('tokenizer').value, lowercase: $('lowercase').checked },
      boundary: $('boundary').value,
      // BPE's vocabulary is every byte and merge: min count and max size do not apply (and are hidden);
      // the other tokenizers have no BPE size. Each sends only its own knobs.
      ...($('tokenizer').value === 'bpe' ? { bpe_vocab: readBpeVocab() } : { min_count: num('min-count'), max_vocab: num('max-vocab') }),
      valid_fraction: num('valid-pct') / 100,
      // 'tail-chars' is the tail split counted in tokens (nanoGPT's: the last 10 % of the characters).
      ...($('split').value === 'tail-chars' ? { split: 'tail', split_unit: 'token' } : { split: $('split').value }),
    },
    model: readModel(),
  };
}

/**
 * Sets a form control from untrusted settings (a link, storage, a model file): a select only to one of
 * its options, a number input only to a finite number, a checkbox only to a boolean.
 */
export function setControl(el, v) {
  if (v === undefined || v === null || !el) return;
  if (el.type === 'checkbox') { if (typeof v === 'boolean') el.checked = v; return; }
  if (el.tagName === 'SELECT') { if ([...el.options].some((o) => o.value === String(v))) el.value = String(v); return; }
  if (el.type === 'number') { if (Number.isFinite(Number(v)) && String(v).trim() !== '') el.value = String(v); return; }
  el.value = String(v);
}

/** Puts run settings into the form (missing or invalid fields keep their current values or defaults). */
export function applySettings(s = {}) {
  const set = (id, v) => setControl($(id), v);
  set('seed', s.seed);
  const d = s.data || {};
  set('tokenizer', d.tokenizer?.kind);
  set('lowercase', d.tokenizer?.lowercase);
  set('boundary', d.boundary);
  set('min-count', d.min_count);
  set('max-vocab', d.max_vocab);
  set('bpe-vocab', d.bpe_vocab);
  showTokenizerKnobs();
  set('split', d.split === 'tail' && d.split_unit === 'token' ? 'tail-chars' : d.split);
  if (typeof d.valid_fraction === 'number') set('valid-pct', Math.round(d.valid_fraction * 1000) / 10);
  const m = s.model || {};
  buildForm(m.family || $('family').value || 'ngram', m);
}

/** Sampling settings from the generation panel. */
export function readSampling() {
  return {
    length: num('length'),
    temperature: num('temperature'),
    top_k: num('top-k'),
    top_p: num('top-p'),
    greedy: $('greedy').checked,
    seed: num('gen-seed'),
    alternatives: 5,
  };
}

export function applySampling(s = {}) {
  const set = (id, v) => setControl($(id), v);
  set('prompt', s.prompt);
  set('length', s.length);
  set('temperature', s.temperature);
  set('top-k', s.top_k);
  set('top-p', s.top_p);
  set('greedy', s.greedy);
  set('gen-seed', s.seed);
}
