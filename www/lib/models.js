// The model families and their knobs, as data: the model form, the formulas and the settings JSON
// all come from here, so a new family or method is one entry (see docs/architecture.md).
// A param: { id, type: 'int' | 'number' | 'select' | 'checkbox', label (i18n key), default,
//   min, max, step, options: [{ value, label }], when: { otherParamId: [values] }, optional: true }.
// `optional` number params may be left empty (the core then estimates them).

export const SMOOTHING = [
  { value: 'modified-kn', label: 'method.modified-kn' },
  { value: 'kn', label: 'method.kn' },
  { value: 'absolute', label: 'method.absolute' },
  { value: 'witten-bell', label: 'method.witten-bell' },
  { value: 'katz', label: 'method.katz' },
  { value: 'interpolation', label: 'method.interpolation' },
  { value: 'addk', label: 'method.addk' },
  { value: 'mle', label: 'method.mle' },
  { value: 'stupid-backoff', label: 'method.stupid-backoff' },
];

// Formulas in TeX, by family or `ngram:<method>`.
export const FORMULAS = {
  'ngram:mle': String.raw`P(w \mid h) = \frac{c(h\,w)}{c(h)}`,
  'ngram:addk': String.raw`P(w \mid h) = \frac{c(h\,w) + k}{c(h) + k\,|V|}`,
  'ngram:katz': String.raw`P(w \mid h) = \begin{cases} d_{c(hw)}\,\dfrac{c(h\,w)}{c(h)} & c(h\,w) > 0 \\ \alpha(h)\,P(w \mid h') & \text{otherwise} \end{cases}`,
  'ngram:absolute': String.raw`P(w \mid h) = \frac{\max(c(h\,w) - D, 0)}{c(h)} + \frac{D\,N_{1+}(h\,\bullet)}{c(h)}\,P(w \mid h')`,
  'ngram:witten-bell': String.raw`P(w \mid h) = \frac{c(h\,w) + N_{1+}(h\,\bullet)\,P(w \mid h')}{c(h) + N_{1+}(h\,\bullet)}`,
  'ngram:kn': String.raw`P(w \mid h) = \frac{\max(c_{KN}(h\,w) - D, 0)}{\sum_{v} c_{KN}(h\,v)} + \gamma(h)\,P_{KN}(w \mid h')`,
  'ngram:modified-kn': String.raw`P(w \mid h) = \frac{c_{KN}(h\,w) - D(c_{KN}(h\,w))}{\sum_{v} c_{KN}(h\,v)} + \gamma(h)\,P(w \mid h'),\quad D \in \{D_1, D_2, D_{3+}\}`,
  'ngram:stupid-backoff': String.raw`S(w \mid h) = \begin{cases} \dfrac{c(h\,w)}{c(h)} & c(h\,w) > 0 \\ \alpha\,S(w \mid h') & \text{otherwise} \end{cases}`,
  'ngram:interpolation': String.raw`P(w \mid h) = \lambda_n\,P_{ML}(w \mid h) + (1 - \lambda_n)\,P(w \mid h')`,
  perplexity: String.raw`\mathrm{PPL} = 2^{l},\quad l = -\frac{1}{m}\sum_{i=1}^{m} \log_2 P(x_i \mid x_{<i})`,
};

export const FAMILIES = [
  {
    id: 'ngram',
    label: 'family.ngram',
    formula: (m) => FORMULAS[`ngram:${m.method}`],
    params: [
      { id: 'order', type: 'int', label: 'p.order', default: 3, min: 1, max: 6 },
      { id: 'method', type: 'select', label: 'p.method', default: 'modified-kn', options: SMOOTHING },
      { id: 'k', type: 'number', label: 'p.k', default: 0.1, min: 1e-6, step: 'any', when: { method: ['addk'] } },
      { id: 'discount', type: 'number', label: 'p.discount', default: 0.75, min: 0.01, max: 0.99, step: 0.01, when: { method: ['kn', 'absolute'] } },
      { id: 'alpha', type: 'number', label: 'p.alpha', default: 0.4, min: 0.01, max: 1, step: 0.01, when: { method: ['stupid-backoff'] } },
      { id: 'discount_fallback', type: 'checkbox', label: 'p.discount_fallback', default: false, when: { method: ['modified-kn'] } },
    ],
  },
];

export function family(id) {
  return FAMILIES.find((f) => f.id === id) || FAMILIES[0];
}

/** Whether a param applies given the other values. */
export function applies(param, values) {
  if (!param.when) return true;
  return Object.entries(param.when).every(([k, vs]) => vs.includes(values[k]));
}

/** Default model settings of a family. */
export function defaults(familyId) {
  const f = family(familyId);
  const out = { family: f.id };
  for (const p of f.params) out[p.id] = p.default;
  return out;
}
