// Demo links: round trip, and every way a link can be broken.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeState, decodeHash, validateState, toBase64Url, LinkError } from '../../www/lib/share.js';

const STATE = {
  corpus: { text: '床前明月光，疑是地上霜。\nTo be, or not to be <script>alert(1)</script>\n' },
  config: { seed: 42, data: { tokenizer: { kind: 'char', lowercase: false }, boundary: 'line' }, model: { family: 'ngram', order: 3, method: 'modified-kn' } },
  sample: { prompt: '床', length: 50, temperature: 0.8, top_k: 0, top_p: 1, greedy: false, seed: 7 },
  view: 'explain',
};

async function code(hash) {
  try { await decodeHash(hash); } catch (e) { assert.ok(e instanceof LinkError, String(e)); return e.code; }
  return 'ok';
}

test('a state survives the round trip, with the train flag', async () => {
  const frag = await encodeState(STATE, { train: true });
  assert.match(frag, /^v=1&s=[A-Za-z0-9_-]+&train=1$/);
  const back = await decodeHash(`#${frag}`);
  assert.deepEqual(back.state, STATE);
  assert.equal(back.train, true);
  assert.equal((await decodeHash(`#${await encodeState(STATE)}`)).train, false);
});

test('no fragment, or an unrelated one, is not a demo', async () => {
  assert.equal(await decodeHash(''), null);
  assert.equal(await decodeHash('#section-2'), null);
});

test('truncated, tampered and foreign links are refused with a code', async () => {
  const frag = await encodeState(STATE);
  const payload = frag.slice('v=1&s='.length);
  assert.equal(await code(`#v=1&s=${payload.slice(0, payload.length - 7)}`), 'damaged');
  const flipped = payload.slice(0, 20) + (payload[20] === 'A' ? 'B' : 'A') + payload.slice(21);
  assert.equal(await code(`#v=1&s=${flipped}`), 'damaged');
  assert.equal(await code(`#v=1&s=${payload}%3Cscript%3E`), 'damaged');
  assert.equal(await code(`#v=2&s=${payload}`), 'version');
  assert.equal(await code(`#s=${payload}`), 'version');
  assert.equal(await code('#v=1&s='), 'truncated');
  assert.equal(await code('#v=1'), 'truncated');
});

test('well-formed payloads with bad contents are refused', async () => {
  const enc = async (obj) => {
    const cs = new Blob([new TextEncoder().encode(JSON.stringify(obj))]).stream().pipeThrough(new CompressionStream('deflate'));
    return `#v=1&s=${toBase64Url(new Uint8Array(await new Response(cs).arrayBuffer()))}`;
  };
  assert.equal(await code(await enc({ corpus: {}, config: STATE.config })), 'invalid');
  assert.equal(await code(await enc({ corpus: { preset: '../../etc' }, config: STATE.config })), 'invalid');
  assert.equal(await code(await enc({ ...STATE, config: { model: {} } })), 'invalid');
  assert.equal(await code(await enc({ ...STATE, view: '<img src=x onerror=alert(1)>' })), 'invalid');
  assert.equal(await code(await enc({ ...STATE, config: { ...STATE.config, __proto__x: 1, 'bad key': 2 } })), 'invalid');
  assert.equal(await code(await enc([1, 2])), 'invalid');
  // A decompression bomb: 2 MB of zeros compresses to a few KB.
  assert.equal(await code(await enc({ ...STATE, corpus: { text: '0'.repeat(2 << 20) } })), 'invalid');
});

test('validation keeps only known fields of plain types', () => {
  const s = validateState({ ...STATE, extra: 'dropped', sample: { ...STATE.sample } });
  assert.equal(s.extra, undefined);
  assert.throws(() => validateState({ ...STATE, sample: 'x' }), LinkError);
});

test('keys that reach prototypes are refused, and oversized states are not encoded', async () => {
  const bad = JSON.parse('{"corpus":{"preset":"shakespeare"},"config":{"__proto__":{"model":{"family":"ngram"}}}}');
  assert.throws(() => validateState(bad), LinkError);
  assert.throws(() => validateState({ ...STATE, config: { ...STATE.config, constructor: 1 } }), LinkError);
  await assert.rejects(encodeState({ ...STATE, corpus: { text: 'x'.repeat(1 << 21) } }), (e) => e.code === 'too-big');
});

test('a recurrent model\'s settings survive the round trip, nested training settings included', async () => {
  const lstm = {
    corpus: { preset: 'shakespeare' },
    config: {
      seed: 3,
      data: { tokenizer: { kind: 'char', lowercase: false }, boundary: 'line', min_count: 1, max_vocab: 0, valid_fraction: 0.1, split: 'random' },
      model: { family: 'lstm', layers: 2, embed: 16, hidden: 32, bptt: 16, train: { steps: 300, batch: 8, optimizer: 'adam', lr: 0.002, weight_decay: 0, warmup: 100, decay: 'cosine', min_lr_ratio: 0.1, clip: 1, eval_interval: 100 } },
    },
    sample: { prompt: 'ROMEO', length: 50, temperature: 1, top_k: 0, top_p: 1, greedy: false, seed: 1, alternatives: 5 },
    view: 'next',
  };
  assert.deepEqual((await decodeHash(`#${await encodeState(lstm)}`)).state, lstm);
  const rnn = { ...lstm, config: { ...lstm.config, model: { ...lstm.config.model, family: 'rnn', activation: 'sigmoid' } } };
  assert.deepEqual((await decodeHash(`#${await encodeState(rnn)}`)).state, rnn);
});

test('a view\'s own choices (the heatmap\'s text, layer, quantity) survive the round trip; bad ones are refused', async () => {
  const state = { ...STATE, view: 'hidden-states', view_state: { source: 'custom', text: 'to be <b>or</b> not', layer: 1, show: 'f' } };
  assert.deepEqual((await decodeHash(`#${await encodeState(state)}`)).state, state);
  assert.equal(await code(`#${await encodeState({ ...STATE })}`), 'ok');
  for (const bad of ['f', ['f'], { show: { deep: 1 } }, { __proto__x: 1, 'a-b': 2 }]) {
    assert.throws(() => validateState({ ...STATE, view_state: bad }), (e) => e.code === 'invalid', JSON.stringify(bad));
  }
});
