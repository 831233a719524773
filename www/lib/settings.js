// The form <-> run settings (the JSON the core's RunConfig reads; docs/conventions.md).
import { buildForm, readModel } from '../ui/modelform.js';

const $ = (id) => document.getElementById(id);
const num = (id) => Number($(id).value);

/** Reads the run settings from the form. */
export function readSettings() {
  return {
    seed: num('seed'),
    data: {
      tokenizer: { kind: $('tokenizer').value, lowercase: $('lowercase').checked },
      boundary: $('boundary').value,
      min_count: num('min-count'),
      max_vocab: num('max-vocab'),
      valid_fraction: num('valid-pct') / 100,
      split: $('split').value,
    },
    model: readModel(),
  };
}

/** Puts run settings into the form (missing fields keep their current values or defaults). */
export function applySettings(s = {}) {
  const set = (id, v) => { if (v !== undefined && v !== null) $(id).value = v; };
  set('seed', s.seed);
  const d = s.data || {};
  set('tokenizer', d.tokenizer?.kind);
  if (d.tokenizer?.lowercase !== undefined) $('lowercase').checked = Boolean(d.tokenizer.lowercase);
  set('boundary', d.boundary);
  set('min-count', d.min_count);
  set('max-vocab', d.max_vocab);
  set('split', d.split);
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
  const set = (id, v) => { if (v !== undefined && v !== null) $(id).value = v; };
  set('prompt', s.prompt);
  set('length', s.length);
  set('temperature', s.temperature);
  set('top-k', s.top_k);
  set('top-p', s.top_p);
  if (s.greedy !== undefined) $('greedy').checked = Boolean(s.greedy);
  set('gen-seed', s.seed);
}
