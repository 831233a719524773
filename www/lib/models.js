// The model families and their knobs, as data: the model form, the formulas and the settings JSON
// all come from here, so a new family or method is one entry (see docs/architecture.md).
// A param: { id, type: 'int' | 'number' | 'select' | 'checkbox', label (i18n key), default, placeholder (i18n key),
//   min, max, step, options: [{ value, label }], when: { otherParamId: [values] }, optional: true,
//   path: 'train.lr' (where it goes in the model JSON; default: its id) }.
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
  // No \begin{cases}: KaTeX draws its big brace as an SVG with a style attribute, which the CSP forbids.
  'ngram:katz': String.raw`P(w \mid h) = d_{c(hw)}\,\frac{c(h\,w)}{c(h)}\ \text{if } c(h\,w) > 0,\ \text{else } \alpha(h)\,P(w \mid h')`,
  'ngram:absolute': String.raw`P(w \mid h) = \frac{\max(c(h\,w) - D, 0)}{c(h)} + \frac{D\,N_{1+}(h\,\bullet)}{c(h)}\,P(w \mid h')`,
  'ngram:witten-bell': String.raw`P(w \mid h) = \frac{c(h\,w) + N_{1+}(h\,\bullet)\,P(w \mid h')}{c(h) + N_{1+}(h\,\bullet)}`,
  'ngram:kn': String.raw`P(w \mid h) = \frac{\max(c_{KN}(h\,w) - D, 0)}{\sum_{v} c_{KN}(h\,v)} + \gamma(h)\,P_{KN}(w \mid h')`,
  'ngram:modified-kn': String.raw`P(w \mid h) = \frac{c_{KN}(h\,w) - D(c_{KN}(h\,w))}{\sum_{v} c_{KN}(h\,v)} + \gamma(h)\,P(w \mid h'),\quad D \in \{D_1, D_2, D_{3+}\}`,
  'ngram:stupid-backoff': String.raw`S(w \mid h) = \frac{c(h\,w)}{c(h)}\ \text{if } c(h\,w) > 0,\ \text{else } \alpha\,S(w \mid h')`,
  'ngram:interpolation': String.raw`P(w \mid h) = \lambda_n\,P_{ML}(w \mid h) + (1 - \lambda_n)\,P(w \mid h')`,
  'fixed-window': String.raw`e = [E\,x_{t-n}; \dots; E\,x_{t-1}],\quad h = f(W e + b_1),\quad \hat y_t = \mathrm{softmax}(U h + b_2)`,
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
      { id: 'discount', type: 'number', label: 'p.discount', default: '', optional: true, placeholder: 'p.discount_auto', min: 0.01, max: 1, step: 0.01, when: { method: ['kn', 'absolute'] } },
      { id: 'gt_max', type: 'int', label: 'p.gt_max', default: 5, min: 1, max: 50, when: { method: ['katz'] } },
      { id: 'heldout', type: 'number', label: 'p.heldout', default: 0.1, min: 0.01, max: 0.5, step: 0.01, when: { method: ['interpolation'] } },
      { id: 'alpha', type: 'number', label: 'p.alpha', default: 0.4, min: 0.01, max: 1, step: 0.01, when: { method: ['stupid-backoff'] } },
      { id: 'discount_fallback', type: 'checkbox', label: 'p.discount_fallback', default: false, when: { method: ['modified-kn'] } },
    ],
  },
];

const OPTIMIZERS = [
  { value: 'adamw', label: 'opt.adamw' },
  { value: 'adam', label: 'opt.adam' },
  { value: 'sgd', label: 'opt.sgd' },
];

FAMILIES.push({
  id: 'fixed-window',
  label: 'family.fixed-window',
  neural: true,
  formula: () => FORMULAS['fixed-window'],
  params: [
    { id: 'context', type: 'int', label: 'p.context', default: 3, min: 1, max: 32 },
    { id: 'embed', type: 'int', label: 'p.embed', default: 32, min: 1, max: 1024 },
    { id: 'hidden', type: 'int', label: 'p.hidden', default: 128, min: 1, max: 4096 },
    { id: 'activation', type: 'select', label: 'p.activation', default: 'tanh', options: [
      { value: 'tanh', label: 'act.tanh' }, { value: 'relu', label: 'act.relu' },
      { value: 'sigmoid', label: 'act.sigmoid' }, { value: 'gelu', label: 'act.gelu' }] },
    { id: 'steps', path: 'train.steps', type: 'int', label: 'p.steps', default: 2000, min: 1, max: 1000000 },
    { id: 'batch', path: 'train.batch', type: 'int', label: 'p.batch', default: 64, min: 1, max: 4096 },
    { id: 'optimizer', path: 'train.optimizer', type: 'select', label: 'p.optimizer', default: 'adamw', options: OPTIMIZERS },
    { id: 'lr', path: 'train.lr', type: 'number', label: 'p.lr', default: 0.003, min: 1e-6, max: 10, step: 'any' },
    { id: 'momentum', path: 'train.momentum', type: 'number', label: 'p.momentum', default: 0.9, min: 0, max: 0.999, step: 0.01, when: { optimizer: ['sgd'] } },
    { id: 'weight_decay', path: 'train.weight_decay', type: 'number', label: 'p.weight_decay', default: 0.01, min: 0, max: 1, step: 'any', when: { optimizer: ['adamw', 'adam', 'sgd'] } },
    { id: 'warmup', path: 'train.warmup', type: 'int', label: 'p.warmup', default: 100, min: 0, max: 100000 },
    { id: 'decay', path: 'train.decay', type: 'select', label: 'p.decay', default: 'cosine', options: [
      { value: 'cosine', label: 'decay.cosine' }, { value: 'none', label: 'decay.none' }] },
    { id: 'min_lr_ratio', path: 'train.min_lr_ratio', type: 'number', label: 'p.min_lr_ratio', default: 0.1, min: 0, max: 1, step: 0.01, when: { decay: ['cosine'] } },
    { id: 'clip', path: 'train.clip', type: 'number', label: 'p.clip', default: 1, min: 0, max: 100, step: 'any' },
    { id: 'eval_interval', path: 'train.eval_interval', type: 'int', label: 'p.eval_interval', default: 100, min: 1, max: 100000 },
  ],
});

/** A param's value in a model settings object (following its path). */
export function getParam(model, p) {
  return (p.path || p.id).split('.').reduce((o, k) => (o == null ? undefined : o[k]), model);
}

/** Sets a param's value in a model settings object (creating nested objects). */
export function setParam(model, p, value) {
  const keys = (p.path || p.id).split('.');
  let o = model;
  for (const k of keys.slice(0, -1)) o = o[k] ??= {};
  o[keys[keys.length - 1]] = value;
}

export function family(id) {
  return FAMILIES.find((f) => f.id === id) || FAMILIES[0];
}

/** Whether a param applies given the other values. */
export function applies(param, values) {
  if (!param.when) return true;
  return Object.entries(param.when).every(([k, vs]) => vs.includes(values[k]));
}

/** Default values of a family's params, by param id. */
export function defaults(familyId) {
  const out = {};
  for (const p of family(familyId).params) out[p.id] = p.default;
  return out;
}
