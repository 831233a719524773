// The Transformer views' data: colours, pixels, keyboard moves, head average, rollout, the cost
// lesson's log-log slope, the positional maps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { colorOf, pixels, moveCell, logLogFit, lengths, strongest, positionalMaps, tokenLabel } from '../../www/lib/attention.js';

test('colours run from white at 0 to blue at the top; negatives turn red; masked cells are grey', () => {
  assert.deepEqual(colorOf(0, 0, 1), [255, 255, 255]);
  assert.deepEqual(colorOf(1, 0, 1), [25, 60, 170]);
  assert.deepEqual(colorOf(2, 0, 1), [25, 60, 170], 'clamped');
  assert.deepEqual(colorOf(-1, -1, 1), [200, 60, 40]);
  assert.deepEqual(colorOf(null, 0, 1), [235, 235, 235]);
  assert.deepEqual(colorOf(-Infinity, 0, 1), [235, 235, 235]);
  const px = pixels([[0, 1], [1, 0]], 0, 1);
  assert.equal(px.length, 16);
  assert.deepEqual([...px.slice(4, 8)], [25, 60, 170, 255]);
});

test('the heatmap cursor moves with the arrow keys, Home/End and PageUp/PageDown, inside the matrix', () => {
  assert.deepEqual(moveCell('ArrowRight', 0, 0, 3, 3), [0, 1]);
  assert.deepEqual(moveCell('ArrowLeft', 0, 0, 3, 3), [0, 0]);
  assert.deepEqual(moveCell('ArrowDown', 2, 1, 3, 3), [2, 1]);
  assert.deepEqual(moveCell('End', 1, 0, 3, 4), [1, 3]);
  assert.deepEqual(moveCell('PageUp', 2, 2, 3, 3), [0, 2]);
  assert.equal(moveCell('a', 0, 0, 3, 3), null);
});

test('the strongest key of each query row', () => {
  assert.deepEqual(strongest([[1, 0], [0.5, 0.5]]), [{ query: 0, key: 0, weight: 1 }, { query: 1, key: 0, weight: 0.5 }]);
});

test('the log-log fit finds the exponent of a power law', () => {
  const ts = lengths(64, 4096);
  assert.deepEqual(ts, [64, 128, 256, 512, 1024, 2048, 4096]);
  const fit = logLogFit(ts, ts.map((t) => 3e-6 * t * t));
  assert.ok(Math.abs(fit.slope - 2) < 1e-9, fit.slope);
  assert.ok(Math.abs(logLogFit(ts, ts.map((t) => 0.01 * t)).slope - 1) < 1e-9);
  assert.equal(logLogFit([64], [1]).slope, null);
  assert.equal(logLogFit([64, 128], [0, 0]).slope, null, 'zeros cannot be on a log scale');
});

test('tokens are labelled with visible whitespace', () => {
  assert.deepEqual([' ', '\n', '<s>', 'a'].map(tokenLabel), ['␣', '↵', '▸', 'a']);
});

test('the positional maps of each encoding, from the core\'s view', () => {
  assert.deepEqual(positionalMaps({ kind: 'none' }), []);
  const sin = positionalMaps({ kind: 'sinusoidal', matrix: [[0, 1], [0.84, 0.54]] });
  assert.deepEqual(sin.map((m) => [m.kind, m.rows.length, m.cols.length, m.range]), [['sinusoidal', 2, 2, [-1, 1]]]);
  const rope = positionalMaps({ kind: 'rope', angles: [[0, 0], [1, 0.01], [7, 0.02]] })[0];
  assert.ok(Math.abs(rope.values[2][0] - (7 - 2 * Math.PI)) < 1e-12, 'folded into [0, 2π)');
  const alibi = positionalMaps({ kind: 'alibi', slopes: [0.25, 0.0625], bias: [[[0, null], [-0.25, 0]], [[0, null], [-0.0625, 0]]] });
  assert.deepEqual(alibi.map((m) => [m.kind, m.params.head, m.range[1]]), [['alibi', 1, 0], ['alibi', 2, 0]]);
  assert.equal(alibi[0].range[0], -0.25);
  // The heads share one colour scale, so the gentler slope looks lighter (issue 19, defect 5).
  assert.deepEqual(alibi[1].range, alibi[0].range);
  // RoPE's angles wrap: a cyclic scale, where 0 and 2π are one colour (defect 8).
  assert.equal(rope.scale, 'cyclic');
  const [lo, hi] = rope.range;
  assert.deepEqual(colorOf(lo, lo, hi, 'cyclic'), colorOf(hi, lo, hi, 'cyclic'));
  assert.notDeepEqual(colorOf(Math.PI, lo, hi, 'cyclic'), colorOf(0, lo, hi, 'cyclic'));
  const mid = colorOf(Math.PI / 2, lo, hi, 'cyclic');
  assert.ok(mid.every((c) => c >= 0 && c <= 255 && Number.isInteger(c)), String(mid));
  const rel = positionalMaps({ kind: 'relative', layers: [{ layer: 0, w_k: [[0.5, -1]], w_v: [[0.1, 0.2]] }] });
  assert.deepEqual(rel.map((m) => [m.kind, m.params.layer, m.range]), [['relative_k', 1, [-1, 1]], ['relative_v', 1, [-0.2, 0.2]]]);
  assert.deepEqual(positionalMaps({ kind: 'learned', similarity: [[1, 0.2], [0.2, 1]] })[0].kind, 'similarity');
});
