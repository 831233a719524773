// The long-range view's overlay and the bidirectional model's generation switch (pure logic).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { longRangeKey, longRangeSeries, pct } from '../../www/lib/longrange.js';
import { generative } from '../../www/ui/bidirectional.js';

const lstm = { family: 'lstm', layers: 1, embed: 8, hidden: 16, bptt: 24, train: { steps: 300 } };
const ngram = { family: 'ngram', order: 3, method: 'modified-kn' };
const at = (pairs) => pairs.map(([distance, accuracy]) => ({ distance, accuracy, probability: accuracy, examples: 10 }));

test('a model\'s key is its settings, whatever their order', () => {
  assert.equal(longRangeKey(lstm), longRangeKey({ train: { steps: 300 }, bptt: 24, hidden: 16, embed: 8, layers: 1, family: 'lstm' }));
  assert.notEqual(longRangeKey(lstm), longRangeKey({ ...lstm, bidirectional: true }));
  assert.notEqual(longRangeKey(lstm), longRangeKey(ngram));
});

test('one series per model of the task, on the union of distances, then the dashed chance line', () => {
  const results = [
    { model: ngram, task: 'copy-memory', chance: 0.125, distances: at([[2, 1], [5, 0.1]]) },
    { model: lstm, task: 'copy-memory', chance: 0.125, distances: at([[5, 0.9], [10, 0.8]]) },
    { model: lstm, task: 'temporal-order', chance: 0.25, distances: at([[4, 1]]) },
  ];
  const { series, data, chance, models } = longRangeSeries(results, 'copy-memory', { describe: (m) => m.family, chanceLabel: (p) => `chance ${p}` });
  assert.equal(models, 2);
  assert.equal(chance, 0.125);
  assert.deepEqual(series.map((s) => s.label), ['ngram', 'lstm', 'chance 0.125']);
  assert.ok(series[2].dash && series[2].chance);
  assert.deepEqual(data, [[2, 5, 10], [1, 0.1, null], [null, 0.9, 0.8], [0.125, 0.125, 0.125]]);
  const none = longRangeSeries(results, 'other', { describe: String, chanceLabel: String });
  assert.deepEqual([none.series, none.data, none.models], [[], [[]], 0]);
});

test('percentages', () => {
  assert.equal(pct(0.125), '12.5%');
  assert.equal(pct(1), '100%');
  assert.equal(pct(null), '—');
});

test('generation: the core\'s word once trained, the settings while training', () => {
  const bi = { family: 'lstm', bidirectional: true };
  assert.equal(generative({ trained: false, modelSettings: bi, report: { model: { generative: true } } }), false, 'a stale report is ignored while training');
  assert.equal(generative({ trained: true, modelSettings: bi, report: { model: { generative: false } } }), false);
  assert.equal(generative({ trained: true, modelSettings: { family: 'lstm' }, report: { model: { generative: true } } }), true);
  assert.equal(generative({ trained: false, modelSettings: { family: 'lstm' } }), true);
  assert.equal(generative({ trained: false, modelSettings: null }), true);
});
