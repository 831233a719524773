// Steps/s, tokens/s and the ETA come from this training's own steps and time, also when a model file
// continues training from a later step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { trainingRates } from '../../www/lib/progress.js';

test('a fresh training: rates over its steps and time', () => {
  const r = trainingRates({ step: 500, total_steps: 3000, tokens: 16000, elapsed_ms: 4900, session: { steps: 500, tokens: 16000, ms: 5000 } });
  assert.equal(r.sps, 100);
  assert.equal(r.tps, 3200);
  assert.equal(r.eta, 25);
  assert.equal(r.elapsed, 4.9);
});

test('a continued training: the cumulative step is not divided by this session\'s time', () => {
  // The file stopped at step 2000 after 20 s; this session trained 100 more steps in 1 s.
  const r = trainingRates({ step: 2100, total_steps: 3000, tokens: 2100 * 32, elapsed_ms: 21000, session: { steps: 100, tokens: 3200, ms: 1000 } });
  assert.equal(r.sps, 100);
  assert.equal(r.tps, 3200);
  assert.equal(r.eta, 9);
  assert.equal(r.elapsed, 21, 'the model\'s whole training time');
});

test('nothing to divide yet, or done: no rate, no ETA', () => {
  assert.deepEqual(trainingRates({ step: 0, total_steps: 10, tokens: 0, elapsed_ms: 0, session: { steps: 0, tokens: 0, ms: 0 } }), { elapsed: 0, sps: null, tps: null, eta: null });
  assert.equal(trainingRates({ step: 10, total_steps: 10, tokens: 320, elapsed_ms: 100, done: true, session: { steps: 10, tokens: 320, ms: 100 } }).eta, null);
});

test('an n-gram model (one step, no time from the core): tokens/s from the wall time', () => {
  const r = trainingRates({ step: 1, total_steps: 1, tokens: 50000, elapsed_ms: 500, done: true, session: { steps: 1, tokens: 50000, ms: 500 } });
  assert.equal(r.tps, 100000);
  assert.equal(r.eta, null);
});
