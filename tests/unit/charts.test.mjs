// The pure parts of the heatmap, gate saturation, the runs comparison chart and PNG export
// (www/lib/heatmap.js, saturation.js, compare.js, export.js); their drawing is in tests/e2e/charts.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { slug, modelSlug, pngName, wrapText, legendLayout, pngSize } from '../../www/lib/export.js';
import { quantities, matrix, colorOf, luminance, colorStops, tokenLabel, liveliestUnit, unitExtremes, pixels, unitFromKey, NEG, POS, SEQ } from '../../www/lib/heatmap.js';
import { addSample, saturationSeries, MAX_SAMPLES } from '../../www/lib/saturation.js';
import { comparisonSeries, levelOf, thin, smooth, vocabGroups, MAX_TRAIN_POINTS } from '../../www/lib/compare.js';

test('PNG file names say what the figure shows, in safe characters', () => {
  const date = new Date(2026, 11, 1, 9, 5, 7);
  assert.equal(pngName('loss', { model: { family: 'lstm', layers: 2, hidden: 128 }, date }), 'lmplay-loss-lstm-2x128-20261201-090507.png');
  assert.equal(pngName('zipf', { model: { family: 'ngram', order: 3, method: 'modified-kn' }, date }), 'lmplay-zipf-ngram-3-modified-kn-20261201-090507.png');
  assert.equal(pngName('hidden-states', { model: { family: 'rnn', layers: 1, hidden: 8, activation: 'sigmoid' }, extra: 'f-layer2', date }), 'lmplay-hidden-states-rnn-1x8-sigmoid-f-layer2-20261201-090507.png');
  assert.equal(pngName('runs-loss', { date }), 'lmplay-runs-loss-20261201-090507.png');
  assert.equal(modelSlug({ family: 'fixed-window', context: 5 }), 'fixed-window-5');
  assert.equal(slug('../../etc/passwd <b>'), 'etc-passwd-b');
  assert.equal(slug('困惑度'), '');
  assert.ok(slug('x'.repeat(100)).length <= 48);
});

test('titles wrap to the figure; legend items flow into rows', () => {
  const measure = (s) => s.length * 10;
  assert.deepEqual(wrapText('one two three four', 100, measure), ['one two', 'three four']);
  assert.deepEqual(wrapText('困惑度随步数的变化', 40, measure), ['困惑度随', '步数的变', '化']);
  assert.deepEqual(wrapText('a\nb', 100, measure), ['a', 'b']);
  const items = [{ label: 'aaaa' }, { label: 'bbbb' }, { label: 'cccc' }];
  // Each item: swatch 22 + gap 6 + 40 = 68, then 16 of spacing.
  const { placed, rows } = legendLayout(items, 160, measure);
  assert.equal(rows, 2);
  assert.deepEqual(placed.map((p) => [p.x, p.row]), [[0, 0], [84, 0], [0, 1]]);
  assert.equal(legendLayout([], 100, measure).rows, 0);
});

test('pngSize reads a PNG header and refuses anything else', () => {
  const png = (w, h) => {
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(w, 0);
    ihdr.writeUInt32BE(h, 4);
    ihdr[8] = 8; ihdr[9] = 6;
    const len = Buffer.alloc(4);
    len.writeUInt32BE(13);
    return new Uint8Array(Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), len, Buffer.from('IHDR'), ihdr, Buffer.alloc(4), zlib.deflateSync(Buffer.alloc(1))]));
  };
  assert.deepEqual(pngSize(png(640, 311)), { width: 640, height: 311 });
  assert.equal(pngSize(new TextEncoder().encode('<html>not a png</html>')), null);
  const bad = png(1, 1);
  bad[12] = 0x58;
  assert.equal(pngSize(bad), null);
});

test('the heatmap offers h and every gate, each on its range', () => {
  const lstm = { units: 2, h: [[0.5, -0.5]], gates: { names: ['i', 'f', 'g', 'o'], width: 8, values: [[1, 2, 3, 4, 5, 6, 7, 8]] } };
  const qs = quantities(lstm, { family: 'lstm' });
  assert.deepEqual(qs.map((q) => [q.id, q.range]), [['h', [-1, 1]], ['i', [0, 1]], ['f', [0, 1]], ['g', [-1, 1]], ['o', [0, 1]]]);
  assert.deepEqual(matrix(lstm, qs[0]), [[0.5, -0.5]]);
  assert.deepEqual(matrix(lstm, qs[2]), [[3, 4]], 'f: the second block of H values');
  assert.deepEqual(matrix(lstm, qs[4]), [[7, 8]]);
  const rnn = { units: 2, h: [[0.1, 0.9]], gates: { names: [], width: 0, values: [] } };
  assert.deepEqual(quantities(rnn, { family: 'rnn', activation: 'sigmoid' }).map((q) => [q.id, q.range]), [['h', [0, 1]]]);
  assert.deepEqual(quantities(rnn, { family: 'rnn', activation: 'tanh' })[0].range, [-1, 1]);
  assert.deepEqual(quantities({ units: 1, h: [], gates: { names: ['r', 'z', 'n'] } }, {}).map((q) => q.range), [[-1, 1], [0, 1], [0, 1], [-1, 1]]);
});

test('colours: white at zero, the ends at ±1, and dark text readable on every one (WCAG 4.5 : 1)', () => {
  assert.deepEqual(colorOf(0, [-1, 1]), [255, 255, 255]);
  assert.deepEqual(colorOf(-1, [-1, 1]), NEG);
  assert.deepEqual(colorOf(1, [-1, 1]), POS);
  assert.deepEqual(colorOf(5, [-1, 1]), POS, 'clamped');
  assert.deepEqual(colorOf(0, [0, 1]), [255, 255, 255]);
  assert.deepEqual(colorOf(1, [0, 1]), SEQ);
  assert.deepEqual(colorOf(NaN, [0, 1]), [255, 255, 255]);
  const text = luminance([0x1d, 0x23, 0x30]);
  for (const range of [[-1, 1], [0, 1]]) {
    for (let v = range[0]; v <= range[1]; v += 0.05) {
      const contrast = (luminance(colorOf(v, range)) + 0.05) / (text + 0.05);
      assert.ok(contrast >= 4.5, `${v}: ${contrast}`);
    }
  }
  assert.equal(colorStops([-1, 1]).length, 9);
  assert.equal(colorStops([-1, 1])[4], 'rgb(255, 255, 255)');
});

test('units: the liveliest by default, extremes, keys, pixels', () => {
  const m = [[0, 0.1, -1], [0, 0.2, 1], [0, 0.1, -1]]; // 3 tokens × 3 units
  assert.equal(liveliestUnit(m), 2);
  assert.equal(liveliestUnit([]), 0);
  assert.deepEqual(unitExtremes(m, 1), { hi: { value: 0.2, at: 1 }, lo: { value: 0.1, at: 0 } });
  assert.equal(unitFromKey('ArrowDown', 0, 3), 1);
  assert.equal(unitFromKey('ArrowUp', 0, 3), 0, 'stays in range');
  assert.equal(unitFromKey('End', 0, 3), 2);
  assert.equal(unitFromKey('PageDown', 0, 30), 10);
  assert.equal(unitFromKey('Home', 2, 3), 0);
  assert.equal(unitFromKey('a', 1, 3), null);
  const px = pixels(m, [-1, 1]);
  assert.equal(px.length, 3 * 3 * 4);
  // Row u, column t at (u·T + t)·4: unit 2 at token 1 is +1 (POS).
  assert.deepEqual([...px.slice((2 * 3 + 1) * 4, (2 * 3 + 1) * 4 + 4)], [...POS, 255]);
  assert.equal(tokenLabel(' '), '␣');
  assert.equal(tokenLabel('</s>'), '↵');
  assert.equal(tokenLabel('<b>'), '<b>', 'drawn as text on the canvas');
});

test('saturation samples: in order, one per step, a new model starts over, thinned', () => {
  const s = (step, f = 0.5) => ({ step, layers: [{ layer: 0, saturation: { f, i: 0.1, o: 0.2 } }, { layer: 1, saturation: { f: 0.3, i: 0.4, o: 0.6 } }] });
  let list = [s(1), s(5)];
  list = addSample(list, s(5, 0.9));
  assert.deepEqual(list.map((x) => [x.step, x.layers[0].saturation.f]), [[1, 0.5], [5, 0.9]]);
  assert.deepEqual(addSample(list, s(2)).map((x) => x.step), [2], 'an earlier step: a new model');
  let long = [];
  for (let i = 1; i <= MAX_SAMPLES + 1; i++) long = addSample(long, s(i));
  assert.ok(long.length <= MAX_SAMPLES);
  assert.equal(long[0].step, 1);
  assert.equal(long.at(-1).step, MAX_SAMPLES + 1);
  const { keys, data } = saturationSeries([s(1), s(5)]);
  assert.deepEqual(keys.map((k) => `${k.layer}${k.gate}`), ['0f', '0i', '0o', '1f', '1i', '1o']);
  assert.deepEqual(data[0], [1, 5]);
  assert.deepEqual(data[6], [0.6, 0.6]);
});

test('the comparison chart: curves by step, an n-gram as a level line, perplexity = e^loss', () => {
  const neural = { label: '#2 LSTM', curve: [[1, 4, null], [2, 3, 3.5], [3, 2, null], [4, 2, 2.5]] };
  const ngram = { label: '#1 3-gram', curve: [], level: levelOf({ validation: { perplexity: Math.E ** 3 } }) };
  assert.ok(Math.abs(ngram.level - 3) < 1e-12);
  const { series, data } = comparisonSeries([ngram, neural], { names: { train: 'tr', valid: 'va', level: 'lv' } });
  assert.deepEqual(series.map((x) => [x.label, x.kind, x.run]), [['#1 3-gram · lv', 'level', 0], ['#2 LSTM · tr', 'train', 1], ['#2 LSTM · va', 'valid', 1]]);
  assert.deepEqual(data[0], [1, 2, 3, 4]);
  assert.deepEqual(data[1], [3, null, null, 3], 'the level spans the curves’ steps');
  assert.deepEqual(data[2], smooth([4, 3, 2, 2]));
  assert.deepEqual(data[3], [null, 3.5, null, 2.5]);
  assert.equal(series[1].color, series[2].color, 'one colour per run');
  assert.notEqual(series[0].color, series[1].color);
  const ppl = comparisonSeries([ngram, neural], { y: 'ppl', train: false });
  assert.deepEqual(ppl.series.map((x) => x.kind), ['level', 'valid']);
  assert.ok(Math.abs(ppl.data[1][0] - Math.E ** 3) < 1e-9);
  assert.ok(Math.abs(ppl.data[2][1] - Math.exp(3.5)) < 1e-9);
  // Only n-gram runs: a level line over 0 … 1; an infinite perplexity draws nothing.
  const alone = comparisonSeries([ngram, { label: '#3 MLE', curve: [], level: levelOf({ validation: { perplexity: Infinity } }) }]);
  assert.deepEqual(alone.data, [[0, 1], [3, 3]]);
  assert.equal(comparisonSeries([neural], { train: false, valid: false }).series.length, 0);
  // Long curves are thinned (the last step kept).
  const curve = Array.from({ length: 5000 }, (_, i) => [i + 1, 2, null]);
  const big = comparisonSeries([{ label: 'x', curve }], { valid: false });
  assert.ok(big.data[0].length <= MAX_TRAIN_POINTS + 1);
  assert.equal(big.data[0].at(-1), 5000);
  assert.deepEqual(thin([1, 2, 3], 10), [1, 2, 3]);
});

test('vocabulary groups: the runs that share a vocabulary, largest group first', () => {
  assert.deepEqual(vocabGroups([{ id: 3, vocab: 'b' }, { id: 2, vocab: 'a' }, { id: 1, vocab: 'a' }]), [{ vocab: 'a', ids: [2, 1] }, { vocab: 'b', ids: [3] }]);
  assert.equal(vocabGroups([{ id: 1, vocab: 'a' }]).length, 1);
});
