// Model descriptions (lib/describe.js), as the runs table, the results and PNG subtitles show them:
// a Transformer run names its blocks, heads, width, context, encoding and attention pattern, with the
// knobs that tell two runs of one encoding or pattern apart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeModel } from '../../www/lib/describe.js';

const TF = { family: 'transformer', layers: 4, heads: 4, width: 128, context: 64, positional: 'learned', attention: 'full', norm: 'pre', window: 8, stride: 8, rel_clip: 16 };

test('a Transformer is described by its size, encoding, pattern and LayerNorm placement', () => {
  assert.equal(describeModel(TF), 'Transformer: 4 layers × 4 heads, d = 128, T = 64, learned absolute, full causal, pre-LN (GPT-2)');
  assert.equal(describeModel({ ...TF, layers: 1, attention: 'sparse', window: 4, stride: 2, norm: 'post' }),
    'Transformer: 1 layer × 4 heads, d = 128, T = 64, learned absolute, sparse attention (w = 4, s = 2), post-LN (original Transformer)');
  assert.equal(describeModel({ ...TF, positional: 'relative', rel_clip: 5 }), 'Transformer: 4 layers × 4 heads, d = 128, T = 64, relative (Shaw et al., k = 5), full causal, pre-LN (GPT-2)');
  assert.match(describeModel({ ...TF, positional: 'rope', attention: 'linear' }), /RoPE, linear \(elu \+ 1\),/);
  // Settings saved before a knob existed take its default.
  assert.match(describeModel({ family: 'transformer', layers: 2, heads: 2, width: 32, context: 32 }), /learned absolute, full causal, pre-LN/);
});
