// The views' own choices in share links and the saved page (lib/viewstate.js, lib/share.js): each
// Transformer view's state survives a link; a bad value is refused naming its field, and a link with
// bad view choices still opens everything else; the saved page drops only what does not check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeState, decodeHash, validateState, LinkError } from '../../www/lib/share.js';
import { checkViewState, cleanViewStates, cleanCost, cleanComparison, ViewStateError, MAX_VIEW_TEXT } from '../../www/lib/viewstate.js';

const BASE = {
  corpus: { preset: 'shakespeare' },
  config: { seed: 9, data: { tokenizer: { kind: 'char', lowercase: false } }, model: { family: 'transformer', layers: 2, heads: 2, width: 32, positional: 'alibi', attention: 'sparse', window: 4, stride: 4 } },
  sample: { prompt: 'ROMEO', length: 50 },
};

const GOOD = {
  attention: { text: 'To be, <b>or</b> not', kind: 'head', layer: 1, head: 0 },
  positional: { steps: 40 },
  'attention-cost': { max: 1024, width: 64, window: 8, stride: 4 },
};

test('each Transformer view\'s choices survive the link exactly', async () => {
  for (const [view, vs] of Object.entries(GOOD)) {
    const state = { ...BASE, view, view_state: vs };
    const back = await decodeHash(`#${await encodeState(state)}`);
    assert.deepEqual(back.state, state, view);
    assert.equal(back.dropped, null);
  }
  // The other selections of the attention view; every field is optional.
  for (const vs of [{ text: '', kind: 'average', layer: 0 }, { kind: 'rollout' }, {}]) {
    assert.deepEqual(validateState({ ...BASE, view: 'attention', view_state: vs }).view_state, vs);
  }
});

const BAD = [
  ['attention', { kind: 'heads' }, 'kind', /must be one of head, average, rollout/],
  ['attention', { layer: -1 }, 'layer', /whole number from 0 to 255/],
  ['attention', { head: 1.5 }, 'head', /whole number/],
  ['attention', { layer: '1' }, 'layer', /whole number/],
  ['attention', { text: 7 }, 'text', /text of at most/],
  ['attention', { colour: 'red' }, 'colour', /not a setting of this view/],
  ['positional', { steps: 0 }, 'steps', /from 1 to 100000/],
  ['attention-cost', { max: 300 }, 'max', /one of 512, 1024, 2048, 4096/],
  ['attention-cost', { width: 33 }, 'width', /even number/],
  ['attention-cost', { stride: -1 }, 'stride', /from 0 to 4096/],
  ['hidden-states', { source: 'elsewhere' }, 'source', /one of valid, output, custom/],
  ['hidden-states', { show: '<img>' }, 'show', /short lower-case name/],
];

test('a bad value of a view is refused with a message naming the view and the field', () => {
  for (const [view, vs, field, why] of BAD) {
    assert.throws(() => checkViewState(view, vs), (e) => e instanceof ViewStateError && e.field === field && why.test(e.message), `${view} ${JSON.stringify(vs)}`);
    assert.throws(() => validateState({ ...BASE, view, view_state: vs }), (e) => {
      assert.ok(e instanceof LinkError);
      assert.equal(e.code, 'view-state');
      assert.equal(e.field, field);
      assert.match(e.message, new RegExp(`the ${view} view's ${field} `));
      return true;
    });
  }
});

test('a view keeps at most MAX_VIEW_TEXT characters of its text', () => {
  assert.deepEqual(checkViewState('attention', { text: 'x'.repeat(MAX_VIEW_TEXT) }), { text: 'x'.repeat(MAX_VIEW_TEXT) });
  assert.throws(() => checkViewState('attention', { text: 'x'.repeat(MAX_VIEW_TEXT + 1) }), (e) => e.field === 'text' && /at most 10000 characters/.test(e.message));
});

test('a link with bad view choices opens everything else, and says which field it left out', async () => {
  // Made by hand: the page itself never encodes a bad state.
  const raw = async (obj) => {
    const cs = new Blob([new TextEncoder().encode(JSON.stringify(obj))]).stream().pipeThrough(new CompressionStream('deflate'));
    const bytes = new Uint8Array(await new Response(cs).arrayBuffer());
    return `#v=1&s=${btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')}&train=1`;
  };
  for (const [view, vs, field] of BAD) {
    const back = await decodeHash(await raw({ ...BASE, view, view_state: vs }));
    assert.deepEqual(back.state, { ...BASE, view }, 'corpus, settings, generation settings and view kept');
    assert.equal(back.train, true);
    assert.equal(back.dropped.code, 'view-state');
    assert.equal(back.dropped.field, field);
  }
  // A state of the wrong shape (not an object of plain values) still makes the link invalid.
  await assert.rejects(decodeHash(await raw({ ...BASE, view: 'attention', view_state: { text: { deep: 1 } } })), (e) => e.code === 'invalid');
  await assert.rejects(encodeState({ ...BASE, view: 'attention', view_state: { layer: -1 } }), (e) => e.code === 'view-state');
});

test('the saved page keeps each view\'s choices that check and drops the others', () => {
  const warn = console.warn;
  const warned = [];
  console.warn = (...a) => warned.push(a.join(' '));
  try {
    const views = cleanViewStates({ ...GOOD, 'hidden-states': { layer: 99 }, next: { context: 'the' }, junk: 'x' });
    assert.deepEqual(views, { ...GOOD, next: { context: 'the' } });
    assert.equal(warned.length, 1);
    assert.match(warned[0], /hidden-states view's layer/);
  } finally {
    console.warn = warn;
  }
  assert.deepEqual(cleanViewStates(undefined), {});
  assert.deepEqual(cleanViewStates([1]), {});
});

test('the cost lesson\'s and the comparison\'s measurements are restored only when well-formed', () => {
  const cost = { patterns: [{ pattern: 'full', points: [{ t: 64, ms: 0.5, bytes: 4096, scores: 2080 }, { t: 128, ms: 1.9, bytes: 16384, scores: 8256 }] }], args: { width: 32 } };
  assert.deepEqual(cleanCost(cost), cost);
  assert.equal(cleanCost({ patterns: [{ pattern: 'full', points: [{ t: 64, ms: null, bytes: 1, scores: 1 }] }] }), null);
  assert.equal(cleanCost({ patterns: [{ pattern: '<b>', points: [] }] }), null);
  assert.equal(cleanCost(null), null);
  const enc = ['learned', 'rope'];
  const cmp = { steps: 20, runs: [{ positional: 'learned', points: [[10, 3.1], [20, 2.9]], done: true }, { positional: 'rope', points: [[10, 3.2]], done: false, error: 'stopped' }] };
  assert.deepEqual(cleanComparison(cmp, enc), cmp);
  assert.equal(cleanComparison({ ...cmp, runs: [{ positional: 'mystery', points: [], done: true }] }, enc), null);
  assert.equal(cleanComparison({ ...cmp, runs: [{ positional: 'rope', points: [[1]], done: true }] }, enc), null);
  assert.equal(cleanComparison({ ...cmp, steps: '20' }, enc), null);
});
