// The gradient-flow overlay: one series per model and layer, labelled by the model, aligned on the
// distances, with non-positive norms left out (the y axis is logarithmic).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { modelKey, gradflowSeries } from '../../www/lib/gradflow.js';

const rnn = { family: 'rnn', activation: 'sigmoid', layers: 1, embed: 8, hidden: 16, bptt: 24 };
const lstm = { family: 'lstm', layers: 2, embed: 8, hidden: 16, bptt: 24 };

test('models are keyed by their settings', () => {
  assert.equal(modelKey(rnn), modelKey({ ...rnn }));
  assert.notEqual(modelKey(rnn), modelKey({ ...rnn, activation: 'tanh' }));
  assert.notEqual(modelKey(rnn), modelKey(lstm));
  assert.notEqual(modelKey(lstm), modelKey({ ...lstm, bidirectional: true }));
});

test('one series per model and layer, aligned on the distances', () => {
  const results = [
    { model: rnn, layers: [{ layer: 0, norms: [{ distance: 0, norm: 1 }, { distance: 1, norm: 0.1 }, { distance: 2, norm: 0 }] }] },
    { model: lstm, layers: [
      { layer: 0, norms: [{ distance: 0, norm: 2 }, { distance: 1, norm: 1.5 }] },
      { layer: 1, norms: [{ distance: 0, norm: 3 }, { distance: 1, norm: 2.5 }, { distance: 2, norm: 2 }, { distance: 3, norm: 1 }] },
    ] },
  ];
  const { series, data } = gradflowSeries(results, (m) => m.family.toUpperCase());
  assert.deepEqual(series.map((s) => s.label), ['RNN', 'LSTM · layer 1', 'LSTM · layer 2']);
  assert.deepEqual(data, [[0, 1, 2, 3], [1, 0.1, null, null], [2, 1.5, null, null], [3, 2.5, 2, 1]]);
});
