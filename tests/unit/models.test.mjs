// The model families as data: the recurrent families' knobs, defaults and formulas.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FAMILIES, FORMULAS, family, defaults, setParam, applies } from '../../www/lib/models.js';

/** The settings JSON the form sends for a family's defaults (only the knobs that apply). */
function defaultModel(id) {
  const f = family(id);
  const v = defaults(id);
  const out = { family: id };
  for (const p of f.params) if (applies(p, v)) setParam(out, p, v[p.id]);
  return out;
}

// RecurrentConfig::default() in crate/src/nn/models/recurrent.rs (TrainConfig's defaults otherwise).
const RECURRENT_TRAIN = {
  steps: 2000, batch: 32, optimizer: 'adam', lr: 0.002, weight_decay: 0, warmup: 100,
  decay: 'cosine', min_lr_ratio: 0.1, clip: 1, eval_interval: 100,
};

test('RNN, LSTM and GRU are neural families with the core\'s defaults', () => {
  assert.deepEqual(defaultModel('rnn'), { family: 'rnn', layers: 1, embed: 64, hidden: 128, bptt: 64, dropout: 0, bidirectional: false, activation: 'tanh', train: RECURRENT_TRAIN });
  for (const id of ['lstm', 'gru']) {
    assert.deepEqual(defaultModel(id), { family: id, layers: 1, embed: 64, hidden: 128, bptt: 64, dropout: 0, bidirectional: false, train: RECURRENT_TRAIN });
  }
  for (const id of ['fixed-window', 'rnn', 'lstm', 'gru']) assert.equal(family(id).neural, true, id);
  assert.ok(!family('ngram').neural);
});

test('the recurrent knobs have the core\'s ranges, and the RNN\'s σ only tanh or sigmoid', () => {
  for (const id of ['rnn', 'lstm', 'gru']) {
    const p = Object.fromEntries(family(id).params.map((x) => [x.id, x]));
    assert.deepEqual([p.layers.min, p.layers.max], [1, 8]);
    assert.deepEqual([p.embed.min, p.embed.max], [1, 4096]);
    assert.deepEqual([p.hidden.min, p.hidden.max], [1, 4096]);
    assert.deepEqual([p.bptt.min, p.bptt.max], [1, 1024]);
    assert.ok(p.dropout.min === 0 && p.dropout.max < 1, 'the core takes dropout in [0, 1)');
    assert.equal(p.activation?.options.map((o) => o.value).join(), id === 'rnn' ? 'tanh,sigmoid' : undefined);
  }
});

test('the fixed-window family keeps its knobs and defaults', () => {
  assert.deepEqual(defaultModel('fixed-window'), {
    family: 'fixed-window', context: 3, embed: 32, hidden: 128, activation: 'tanh',
    train: { steps: 2000, batch: 64, optimizer: 'adamw', lr: 0.003, weight_decay: 0.01, warmup: 100, decay: 'cosine', min_lr_ratio: 0.1, clip: 1, eval_interval: 100 },
  });
});

test('every family has a formula, none with \\begin{cases} (the CSP forbids its SVG brace)', () => {
  for (const f of FAMILIES) {
    const tex = f.formula(defaultModel(f.id));
    assert.ok(tex, f.id);
    assert.doesNotMatch(tex, /\\begin\{cases\}/, f.id);
  }
  for (const tex of Object.values(FORMULAS)) assert.doesNotMatch(tex, /\\begin\{cases\}/);
  assert.match(FORMULAS.lstm, /c_t &= f_t \\odot c_\{t-1\} \+ i_t \\odot g_t/);
  assert.match(FORMULAS.gru, /\(1 - z_t\) \\odot n_t \+ z_t \\odot h_\{t-1\}/);
});

test('the Transformer has every knob of TransformerConfig, with the core\'s defaults (nanoGPT\'s recipe)', () => {
  assert.deepEqual(defaultModel('transformer'), {
    family: 'transformer', layers: 4, heads: 4, width: 128, ffn: 0, context: 64, dropout: 0, tied: true,
    norm: 'pre', activation: 'relu', positional: 'learned', attention: 'full',
    train: { steps: 2000, batch: 12, optimizer: 'adamw', lr: 0.001, beta2: 0.99, weight_decay: 0.1, decay_matrices_only: true, warmup: 100, decay: 'cosine', min_lr_ratio: 0.1, clip: 1, eval_interval: 100 },
  });
  const p = Object.fromEntries(family('transformer').params.map((x) => [x.id, x]));
  assert.deepEqual(p.positional.options.map((o) => o.value), ['learned', 'sinusoidal', 'relative', 'alibi', 'rope', 'none']);
  assert.deepEqual(p.rel_clip.when, { positional: ['relative'] });
  assert.deepEqual([p.window.when, p.stride.when], [{ attention: ['sparse'] }, { attention: ['sparse'] }]);
  assert.ok(p.dropout.min === 0 && p.dropout.max < 1, 'the core takes dropout in [0, 1)');
});

test('the Transformer\'s formula follows its settings: the mask, the block, each positional encoding', async () => {
  const { transformerTex, POSITIONAL_TEX } = await import('../../www/lib/models.js');
  const base = transformerTex({});
  assert.match(base, /\\frac\{Q_i K_i\^\\top\}\{\\sqrt\{d_k\}\} \+ M/);
  assert.match(base, /M_\{ij\} = 0 \\text\{ if \} j \\le i,\\ \\text\{else \} -\\infty/);
  assert.match(base, /x \+ \\mathrm\{MultiHead\}\\big\(\\mathrm\{LN\}\(x\)\\big\)/);
  assert.match(transformerTex({ norm: 'post' }), /\\mathrm\{LN\}\\big\(x \+ \\mathrm\{MultiHead\}\(x\)\\big\)/);
  assert.match(transformerTex({ attention: 'sparse' }), /\\bmod s = 0/);
  assert.match(transformerTex({ activation: 'gelu' }), /\\mathrm\{GELU\}/);
  const linear = transformerTex({ attention: 'linear' });
  assert.match(linear, /\\phi\(x\) = \\mathrm\{elu\}\(x\) \+ 1/);
  assert.doesNotMatch(linear, /softmax\\!/, 'no softmax over scores');
  for (const [pos, tex] of Object.entries(POSITIONAL_TEX)) assert.ok(transformerTex({ positional: pos }).includes(tex), pos);
  assert.match(POSITIONAL_TEX.sinusoidal, /\\sin\\!\\big\(t \/ 10000\^\{2j\/d\}\\big\)/);
  assert.match(transformerTex({ positional: 'rope' }), /\\theta_l = 10000\^\{-2l\/d_k\}/);
  assert.match(POSITIONAL_TEX.relative, /\\mathrm\{clip\}\(i - j, -k, k\)/);
});

test('every setting a run can differ in has a label in the form, not a raw key (issue 19, defect 8)', async () => {
  const { settingLabel, flattenSettings } = await import('../../www/lib/models.js');
  for (const f of FAMILIES) {
    const model = { family: f.id };
    for (const p of f.params) setParam(model, p, p.default);
    const settings = { seed: 1, data: { tokenizer: { kind: 'char', lowercase: false }, boundary: 'line', min_count: 1, max_vocab: 0, bpe_vocab: 512, valid_fraction: 0.1, split: 'tail', split_unit: 'token' }, model };
    for (const key of Object.keys(flattenSettings(settings))) {
      const label = settingLabel(key);
      assert.ok(label, `${f.id}: ${key} has a label`);
    }
  }
  assert.equal(settingLabel('model.activation'), 'p.activation');
  assert.equal(settingLabel('model.family'), 'model.family');
  assert.equal(settingLabel('nonsense'), null);
});
