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
  // The recurrent families (the course's notation); layers stack, each layer's h_t the next one's input.
  rnn: String.raw`h_t = \sigma(W_e\,e_t + W_h\,h_{t-1} + b_1),\quad \hat y_t = \mathrm{softmax}(U h_t + b_2)`,
  lstm: String.raw`\begin{aligned}
    i_t, f_t, o_t &= \sigma(W_{i,f,o}\,[x_t; h_{t-1}] + b_{i,f,o})\\
    g_t &= \tanh(W_g\,[x_t; h_{t-1}] + b_g)\\
    c_t &= f_t \odot c_{t-1} + i_t \odot g_t,\quad h_t = o_t \odot \tanh(c_t)\\
    \hat y_t &= \mathrm{softmax}(U h_t + b_2)
  \end{aligned}`,
  gru: String.raw`\begin{aligned}
    r_t, z_t &= \sigma(W_{r,z}\,[x_t; h_{t-1}] + b_{r,z})\\
    n_t &= \tanh(W_n x_t + b_n + r_t \odot (U_n h_{t-1} + b_{hn}))\\
    h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1},\quad \hat y_t = \mathrm{softmax}(U h_t + b_2)
  \end{aligned}`,
  // A bidirectional recurrent model (added under the cell's equations): a second stack reads right to left.
  bidirectional: String.raw`h^{\mathrm{bwd}}_t = \mathrm{cell}(x_t,\, h^{\mathrm{bwd}}_{t+1}),\quad \hat y_t = \mathrm{softmax}(U\,[h^{\mathrm{fwd}}_t; h^{\mathrm{bwd}}_t] + b_2)`,
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

/** The training knobs of a neural family, with that family's defaults (`d`) and batch label. */
function trainParams(d, batchLabel = 'p.batch') {
  return [
    { id: 'steps', path: 'train.steps', type: 'int', label: 'p.steps', default: d.steps, min: 1, max: 1000000 },
    { id: 'batch', path: 'train.batch', type: 'int', label: batchLabel, default: d.batch, min: 1, max: 4096, ...(d.batchHelp && { help: d.batchHelp }) },
    { id: 'optimizer', path: 'train.optimizer', type: 'select', label: 'p.optimizer', default: d.optimizer, options: OPTIMIZERS },
    { id: 'lr', path: 'train.lr', type: 'number', label: 'p.lr', default: d.lr, min: 1e-6, max: 10, step: 'any' },
    { id: 'momentum', path: 'train.momentum', type: 'number', label: 'p.momentum', default: 0.9, min: 0, max: 0.999, step: 0.01, when: { optimizer: ['sgd'] } },
    { id: 'weight_decay', path: 'train.weight_decay', type: 'number', label: 'p.weight_decay', default: d.weight_decay, min: 0, max: 1, step: 'any', when: { optimizer: ['adamw', 'adam', 'sgd'] } },
    { id: 'warmup', path: 'train.warmup', type: 'int', label: 'p.warmup', default: 100, min: 0, max: 100000 },
    { id: 'decay', path: 'train.decay', type: 'select', label: 'p.decay', default: 'cosine', options: [
      { value: 'cosine', label: 'decay.cosine' }, { value: 'none', label: 'decay.none' }] },
    { id: 'min_lr_ratio', path: 'train.min_lr_ratio', type: 'number', label: 'p.min_lr_ratio', default: 0.1, min: 0, max: 1, step: 0.01, when: { decay: ['cosine'] } },
    { id: 'clip', path: 'train.clip', type: 'number', label: 'p.clip', default: d.clip, min: 0, max: 100, step: 'any' },
    { id: 'eval_interval', path: 'train.eval_interval', type: 'int', label: 'p.eval_interval', default: 100, min: 1, max: 100000 },
  ];
}

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
    ...trainParams({ steps: 2000, batch: 64, optimizer: 'adamw', lr: 0.003, weight_decay: 0.01, clip: 1 }),
  ],
});

// The recurrent families (crate/src/nn/models/recurrent.rs, `RecurrentConfig`): the same knobs, the
// vanilla RNN's σ besides. Training reads the corpus as B parallel streams ("lanes"), T tokens a step,
// each window starting from the state the previous one ended with (truncated BPTT).
const RECURRENT_TRAIN = { steps: 2000, batch: 32, batchHelp: 'help.lanes', optimizer: 'adam', lr: 0.002, weight_decay: 0, clip: 1 };
for (const id of ['rnn', 'lstm', 'gru']) {
  FAMILIES.push({
    id,
    label: `family.${id}`,
    help: `help.${id}`,
    neural: true,
    recurrent: true,
    formula: (m) => (m.bidirectional ? String.raw`\begin{gathered}${FORMULAS[id]}\\ ${FORMULAS.bidirectional}\end{gathered}` : FORMULAS[id]),
    params: [
      { id: 'layers', type: 'int', label: 'p.layers', default: 1, min: 1, max: 8, help: 'help.layers' },
      { id: 'embed', type: 'int', label: 'p.embed', default: 64, min: 1, max: 4096 },
      { id: 'hidden', type: 'int', label: 'p.hidden', default: 128, min: 1, max: 4096 },
      { id: 'bptt', type: 'int', label: 'p.bptt', default: 64, min: 1, max: 1024, help: 'help.bptt' },
      { id: 'dropout', type: 'number', label: 'p.dropout', default: 0, min: 0, max: 0.9, step: 0.05, help: 'help.dropout' },
      { id: 'bidirectional', type: 'checkbox', label: 'p.bidirectional', default: false, help: 'help.bidirectional' },
      ...(id === 'rnn' ? [{ id: 'activation', type: 'select', label: 'p.sigma', default: 'tanh', options: [
        { value: 'tanh', label: 'act.tanh' }, { value: 'sigmoid', label: 'act.sigmoid' }] }] : []),
      ...trainParams(RECURRENT_TRAIN, 'p.lanes'),
    ],
  });
}

// The Transformer (crate/src/nn/models/transformer/config.rs, `TransformerConfig`): a decoder-only
// stack of L blocks, multi-head causal self-attention and an FFN, with a choice of six positional
// encodings and of the attention pattern. Its formula is built from the choices (`transformerTex`).
export const POSITIONAL = ['learned', 'sinusoidal', 'relative', 'alibi', 'rope', 'none'];
export const ATTENTION = ['full', 'sparse', 'linear'];
const TRANSFORMER_TRAIN = { steps: 2000, batch: 12, batchHelp: 'help.tf_batch', optimizer: 'adamw', lr: 0.001, weight_decay: 0.1, clip: 1 };
FAMILIES.push({
  id: 'transformer',
  label: 'family.transformer',
  help: 'help.transformer',
  neural: true,
  attention: true,
  memoryOver: 'memory.over_transformer',
  formula: (m) => transformerTex(m),
  params: [
    { id: 'layers', type: 'int', label: 'p.tf_layers', default: 4, min: 1, max: 64 },
    { id: 'heads', type: 'int', label: 'p.heads', default: 4, min: 1, max: 64, help: 'help.heads' },
    { id: 'width', type: 'int', label: 'p.width', default: 128, min: 1, max: 4096 },
    { id: 'ffn', type: 'int', label: 'p.ffn', default: 0, min: 0, max: 16384, help: 'help.ffn' },
    { id: 'context', type: 'int', label: 'p.tf_context', default: 64, min: 1, max: 4096 },
    { id: 'dropout', type: 'number', label: 'p.tf_dropout', default: 0, min: 0, max: 0.9, step: 0.05, help: 'help.tf_dropout' },
    { id: 'tied', type: 'checkbox', label: 'p.tied', default: true, help: 'help.tied' },
    { id: 'norm', type: 'select', label: 'p.norm', default: 'pre', options: [
      { value: 'pre', label: 'norm.pre' }, { value: 'post', label: 'norm.post' }] },
    { id: 'activation', type: 'select', label: 'p.ffn_activation', default: 'relu', options: [
      { value: 'relu', label: 'act.relu' }, { value: 'gelu', label: 'act.gelu' }] },
    { id: 'positional', type: 'select', label: 'p.positional', default: 'learned', help: 'help.positional',
      options: POSITIONAL.map((value) => ({ value, label: `pos.${value}` })) },
    { id: 'rel_clip', type: 'int', label: 'p.rel_clip', default: 16, min: 1, max: 4096, when: { positional: ['relative'] } },
    { id: 'attention', type: 'select', label: 'p.attention', default: 'full', help: 'help.attention',
      options: ATTENTION.map((value) => ({ value, label: `attn.${value}` })) },
    { id: 'window', type: 'int', label: 'p.window', default: 8, min: 1, max: 4096, when: { attention: ['sparse'] } },
    { id: 'stride', type: 'int', label: 'p.stride', default: 8, min: 0, max: 4096, when: { attention: ['sparse'] } },
    ...trainParams(TRANSFORMER_TRAIN),
  ],
});
// nanoGPT's β₂ = 0.99 and decay groups (the core's defaults for a Transformer; the other families keep
// Adam's 0.999 and decay every parameter).
{
  const ps = FAMILIES[FAMILIES.length - 1].params;
  ps.splice(ps.findIndex((p) => p.id === 'momentum'), 0,
    { id: 'beta2', path: 'train.beta2', type: 'number', label: 'p.beta2', default: 0.99, min: 0, max: 0.9999, step: 'any', when: { optimizer: ['adamw', 'adam'] } });
  // nanoGPT's parameter groups: weight decay on matrices and embeddings, not on biases and LayerNorms.
  ps.splice(ps.findIndex((p) => p.id === 'weight_decay') + 1, 0,
    { id: 'decay_matrices_only', path: 'train.decay_matrices_only', type: 'checkbox', label: 'p.decay_matrices_only', default: true, help: 'help.decay_matrices_only', when: { optimizer: ['adamw', 'adam', 'sgd'] } });
}

/** The positional encoding's formula (the course's notation). */
// Each line short enough for a narrow card (about 400 px at 1366 px: the browser test measures it):
// long ones go on to a new row of the `aligned` block (`\\ &`).
export const POSITIONAL_TEX = {
  learned: String.raw`x^{(0)}_t = E\,w_t + P_t,\quad P \in \mathbb{R}^{T \times d}\ \text{learned}`,
  sinusoidal: String.raw`x^{(0)}_t = \sqrt{d}\,E\,w_t + p_t\\ &p(t, 2j) = \sin\!\big(t / 10000^{2j/d}\big)\\ &p(t, 2j{+}1) = \cos\!\big(t / 10000^{2j/d}\big)`,
  relative: String.raw`r_{ij} = \mathrm{clip}(i - j, -k, k)\\ &s_{ij} = \frac{q_i^\top (k_j + w^K_{r_{ij}})}{\sqrt{d_k}}\\ &o_i = \sum_j a_{ij}\,(v_j + w^V_{r_{ij}})`,
  alibi: String.raw`s_{ij} = \frac{q_i^\top k_j}{\sqrt{d_k}} - m_h\,(i - j)\\ &m_h = 2^{-8h/m}\ \ (h = 1 \dots m)`,
  rope: String.raw`q_i \leftarrow R_{i}\,q_i,\ k_j \leftarrow R_{j}\,k_j\\ &R_t = \mathrm{rot}(t\,\theta_l)\ \text{on pairs } (2l, 2l{+}1)\\ &\theta_l = 10000^{-2l/d_k}\ \Rightarrow\ q_i^\top k_j \text{ depends on } i - j`,
  none: String.raw`x^{(0)}_t = E\,w_t\\ &\text{(no positions: only the causal mask}\\ &\text{tells them apart)}`,
};

/** The Transformer's formula for its settings: attention, the mask, the block, the positions. */
export function transformerTex(m = {}) {
  const mask = m.attention === 'sparse'
    ? String.raw`M_{ij} = 0 \text{ if } j \le i \text{ and}\\ &\quad \big(i - j < w \text{ or } (i - j) \bmod s = 0\big)\\ &M_{ij} = -\infty \text{ otherwise}`
    : String.raw`M_{ij} = 0 \text{ if } j \le i,\ \text{else } -\infty`;
  const f = m.activation === 'gelu' ? String.raw`\mathrm{GELU}` : String.raw`\mathrm{ReLU}`;
  // Linear attention (Katharopoulos et al.): no T × T scores, a running d_k × d_k state per head.
  const head = m.attention === 'linear'
    ? String.raw`\mathrm{head}_i &= \Big[\frac{\phi(q_t)^\top S_t}{\phi(q_t)^\top z_t}\Big]_t,\quad \phi(x) = \mathrm{elu}(x) + 1\\ &S_t = \sum_{j \le t} \phi(k_j)\,v_j^\top,\ z_t = \sum_{j \le t} \phi(k_j)`
    : String.raw`\mathrm{head}_i &= \mathrm{softmax}\!\Big(\frac{Q_i K_i^\top}{\sqrt{d_k}} + M\Big)\,V_i\\ &${mask}`;
  const block = m.norm === 'post'
    ? String.raw`x \leftarrow \mathrm{LN}\big(x + \mathrm{MultiHead}(x)\big)\\ &x \leftarrow \mathrm{LN}\big(x + \mathrm{FFN}(x)\big)`
    : String.raw`x \leftarrow x + \mathrm{MultiHead}\big(\mathrm{LN}(x)\big)\\ &x \leftarrow x + \mathrm{FFN}\big(\mathrm{LN}(x)\big)`;
  // A final LayerNorm before the LM head (nanoGPT's ln_f); tied: the head is the token embedding E.
  const out = String.raw`\hat y_t = \mathrm{softmax}\big(${m.tied === false ? 'U' : 'E'}\,\mathrm{LN}_f(x^{(L)}_t)\big)`;
  return String.raw`\begin{aligned}
    Q_i &= W_i^{Q\top} Q,\ K_i = W_i^{K\top} K,\ V_i = W_i^{V\top} V\\
    ${head}\\
    \mathrm{MultiHead} &= W^\top[\mathrm{head}_1; \dots; \mathrm{head}_m]\\
    &${block}\\
    \mathrm{FFN}(x) &= W_2\,${f}(W_1 x + b_1) + b_2\\
    &${out}\\
    &${POSITIONAL_TEX[m.positional] ?? POSITIONAL_TEX.learned}
  \end{aligned}`;
}

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

/** The run settings outside a family's params, by their dotted key (as the runs comparison lists them). */
const SETTING_LABELS = {
  seed: 'data.seed',
  'data.tokenizer.kind': 'data.tokenizer',
  'data.tokenizer.lowercase': 'data.lowercase',
  'data.boundary': 'data.boundary',
  'data.min_count': 'data.min_count',
  'data.max_vocab': 'data.max_vocab',
  'data.bpe_vocab': 'data.bpe_vocab',
  'data.valid_fraction': 'data.valid',
  'data.split': 'data.split',
  'data.split_unit': 'data.split',
  'model.family': 'model.family',
};

/**
 * The i18n key of a setting's label from its dotted key in the run settings ('model.train.lr' →
 * 'p.lr'), or null for a key the form does not show.
 */
export function settingLabel(key) {
  if (SETTING_LABELS[key]) return SETTING_LABELS[key];
  if (!key.startsWith('model.')) return null;
  const path = key.slice('model.'.length);
  for (const f of FAMILIES) for (const p of f.params) if ((p.path || p.id) === path) return p.label;
  return null;
}

/** Flattens settings to dotted keys: { data: { min_count: 2 } } → { 'data.min_count': '2' }. */
export function flattenSettings(obj, prefix = '', out = {}) {
  for (const [k, v] of Object.entries(obj || {})) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object' && !Array.isArray(v)) flattenSettings(v, key, out);
    else out[key] = Array.isArray(v) ? v.join(', ') : String(v);
  }
  return out;
}
