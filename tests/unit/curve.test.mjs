// The loss curve: every step once and in order, however often a message repeats points.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendPoints, fromHistory, thin, MAX_CURVE_POINTS } from '../../www/lib/curve.js';

const pts = (from, to, valid = () => null) => Array.from({ length: to - from + 1 }, (_, i) => ({ step: from + i, train_loss: 1 / (from + i), valid_loss: valid(from + i) }));

test('points are appended as [step, train, valid | null]', () => {
  const c = appendPoints([], pts(1, 3, (s) => (s === 3 ? 0.5 : undefined)));
  assert.deepEqual(c, [[1, 1, null], [2, 0.5, null], [3, 1 / 3, 0.5]]);
});

test('points repeated by a later message (a paused status) are not appended twice', () => {
  let c = appendPoints([], pts(1, 10));
  c = appendPoints(c, pts(1, 10)); // the same chunk again
  c = appendPoints(c, pts(8, 15)); // overlapping
  assert.deepEqual(c.map((r) => r[0]), Array.from({ length: 15 }, (_, i) => i + 1));
});

test('a model file\'s history becomes a curve; continued training appends after it', () => {
  const c = appendPoints(fromHistory(pts(1, 100)), pts(101, 110));
  assert.equal(c.length, 110);
  assert.ok(c.every((r, i) => i === 0 || r[0] > c[i - 1][0]));
});

test('long curves are thinned but keep validation points and the last point', () => {
  const long = Array.from({ length: MAX_CURVE_POINTS + 1 }, (_, i) => [i + 1, 1, i % 1000 === 1 ? 0.5 : null]);
  const c = thin(long);
  assert.ok(c.length < MAX_CURVE_POINTS);
  assert.equal(c.filter((r) => r[2] !== null).length, long.filter((r) => r[2] !== null).length);
  assert.equal(c[c.length - 1][0], MAX_CURVE_POINTS + 1);
});
