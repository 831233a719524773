// The form <-> run settings (the JSON the core's RunConfig reads; see docs/conventions.md).
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
      split: 'random',
    },
    model: {
      family: $('family').value,
      order: num('order'),
      method: $('method').value,
      k: num('k'),
    },
  };
}

/** Puts run settings into the form (missing fields keep their current values). */
export function applySettings(s) {
  const set = (id, v) => { if (v !== undefined && v !== null) $(id).value = v; };
  set('seed', s.seed);
  const d = s.data || {};
  set('tokenizer', d.tokenizer?.kind);
  if (d.tokenizer?.lowercase !== undefined) $('lowercase').checked = d.tokenizer.lowercase;
  set('boundary', d.boundary);
  set('min-count', d.min_count);
  set('max-vocab', d.max_vocab);
  if (d.valid_fraction !== undefined) set('valid-pct', Math.round(d.valid_fraction * 1000) / 10);
  const m = s.model || {};
  set('family', m.family);
  set('order', m.order);
  set('method', m.method);
  set('k', m.k);
  showMethodParams();
}

/** Shows only the inputs the chosen smoothing method uses. */
export function showMethodParams() {
  const method = $('method').value;
  for (const el of document.querySelectorAll('[data-param]')) {
    el.hidden = !el.dataset.param.split(' ').includes(method);
  }
}

/** Sampling settings from the generation panel. */
export function readSampling() {
  return {
    length: num('length'),
    temperature: num('temperature'),
    top_k: num('top-k'),
    top_p: 1,
    greedy: false,
    seed: num('gen-seed'),
    alternatives: 5,
  };
}
