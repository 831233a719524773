// Demo links in the page: the Share round trip, links saved by older versions, and broken links.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startBrowser, openPage, screenshot, paste, clickTrain } from '../harness/browser.mjs';

const FIXTURES = JSON.parse(fs.readFileSync(new URL('./fixtures/links-v1.json', import.meta.url), 'utf8'));

let env;
before(async () => { env = await startBrowser(); });
after(async () => { await env?.close(); });

const value = (page, id) => page.$eval(`#${id}`, (el) => (el.type === 'checkbox' ? el.checked : el.value));

async function trainAndWait(page) {
  const err = await clickTrain(page);
  assert.equal(err, null, err);
  return Number(await page.$eval('#r-ppl', (el) => el.dataset.value));
}

test('Share copies a link that restores corpus, settings, seed and view, and trains to the same result', async () => {
  const page = await openPage(env);
  await paste(page, '#corpus', 'the cat sat on the mat\nthe dog sat on the log\na cat saw a dog\nthe end of the story\nthe cat and the dog\n');
  await page.$eval('#data-settings', (d) => { d.open = true; });
  await page.selectOption('#tokenizer', 'word');
  await page.fill('#seed', '1234');
  await page.fill('#valid-pct', '40');
  await page.selectOption('#p-method', 'addk');
  await page.fill('#p-k', '0.25');
  await page.fill('#p-order', '2');
  await page.fill('#prompt', 'the cat');
  await page.fill('#temperature', '0.7');
  const ppl = await trainAndWait(page);
  await page.click('#tab-explain');
  await page.click('#share');
  await page.waitForSelector('#share-dialog[open]');
  const url = await page.$eval('#share-url', (el) => el.value);
  assert.match(url, /#v=1&s=/);
  assert.ok(url.length <= 2000);
  assert.match(await page.$eval('#share-msg', (el) => el.textContent), /^This link holds the corpus/);
  await screenshot(page, 'share-dialog');

  const other = await openPage(env, { hash: url.slice(url.indexOf('#')) });
  assert.equal(await value(other, 'corpus'), 'the cat sat on the mat\nthe dog sat on the log\na cat saw a dog\nthe end of the story\nthe cat and the dog\n');
  assert.equal(await value(other, 'preset'), 'custom');
  assert.equal(await value(other, 'seed'), '1234');
  assert.equal(await value(other, 'valid-pct'), '40');
  assert.equal(await value(other, 'p-method'), 'addk');
  assert.equal(await value(other, 'p-k'), '0.25');
  assert.equal(await value(other, 'prompt'), 'the cat');
  assert.equal(await value(other, 'temperature'), '0.7');
  assert.equal(await other.$eval('#banner', (el) => el.hidden), false);
  assert.equal(await other.$eval('#banner-train', (el) => el.hidden), false);
  assert.equal(await other.evaluate(() => location.hash), '', 'the hash is consumed');
  await other.click('#banner-train');
  await other.waitForFunction(() => document.getElementById('r-ppl').dataset.value !== '');
  assert.equal(Number(await other.$eval('#r-ppl', (el) => el.dataset.value)), ppl);
  assert.equal(await other.$eval('#tab-explain', (el) => el.getAttribute('aria-selected')), 'true');
  assert.deepEqual(page.errors, []);
  assert.deepEqual(other.errors, []);
});

test('a corpus too big for a link offers the settings with a preset instead', async () => {
  const page = await openPage(env);
  const big = Array.from({ length: 400 }, (_, i) => `line ${i} with some words ${(i * 7919) % 1000} and more ${(i * 104729) % 997}`).join('\n');
  await paste(page, '#corpus', big);
  await page.selectOption('#p-method', 'addk');
  await page.click('#train');
  await page.waitForFunction(() => document.getElementById('r-ppl').dataset.value !== '');
  await page.waitForFunction(() => !document.getElementById('generate').disabled);
  await page.click('#share');
  await page.waitForSelector('#share-dialog[open]');
  assert.match(await page.$eval('#share-msg', (el) => el.textContent), /does not fit/);
  assert.equal(await page.$eval('#share-copy', (el) => el.hidden), true);
  assert.equal(await page.$eval('#share-export', (el) => el.hidden), false, 'the model can be exported instead');
  await page.click('#share-settings');
  const url = await page.$eval('#share-url', (el) => el.value);
  assert.ok(url.length <= 2000, `${url.length}`);
  const other = await openPage(env, { hash: url.slice(url.indexOf('#')) });
  assert.equal(await value(other, 'preset'), 'shakespeare');
});

/** A model's settings as the form's knobs (by param id): `train.lr` is the knob `lr`. */
function knobs(model) {
  const { family: _, train = {}, ...rest } = model;
  return { ...rest, ...train };
}

for (const fx of FIXTURES) {
  test(`an old v1 link still opens: ${fx.name}`, async () => {
    const page = await openPage(env, { hash: fx.hash });
    const { config, sample, corpus } = fx.state;
    if (corpus.preset) assert.equal(await value(page, 'preset'), corpus.preset);
    else assert.equal(await value(page, 'corpus'), corpus.text);
    assert.equal(await value(page, 'seed'), String(config.seed));
    assert.equal(await value(page, 'tokenizer'), config.data.tokenizer.kind);
    assert.equal(await value(page, 'lowercase'), config.data.tokenizer.lowercase);
    assert.equal(await value(page, 'split'), config.data.split);
    assert.equal(await value(page, 'family'), config.model.family);
    for (const [id, v] of Object.entries(knobs(config.model))) assert.equal(await value(page, `p-${id}`), typeof v === 'boolean' ? v : String(v), id);
    assert.equal(await value(page, 'valid-pct'), String(Math.round(config.data.valid_fraction * 1000) / 10));
    assert.equal(await value(page, 'prompt'), sample.prompt);
    assert.equal(await value(page, 'greedy'), sample.greedy);
    if (fx.train) {
      await page.waitForFunction(() => document.getElementById('r-ppl').dataset.value !== '', null, { timeout: 60000 });
      assert.equal(await page.$eval('#tab-next', (el) => el.getAttribute('aria-selected')), 'true');
    } else {
      assert.equal(await page.$eval('#banner-train', (el) => el.hidden), false);
    }
    assert.deepEqual(page.errors, []);
  });
}

const BROKEN = {
  truncated: (h) => h.slice(0, Math.floor(h.length * 0.6)),
  tampered: (h) => h.replace(/s=(.{30})(.)/, (m, a, c) => `s=${a}${c === 'Q' ? 'R' : 'Q'}`),
  'unknown version': (h) => h.replace('v=1', 'v=99'),
  garbage: () => '#v=1&s=%3Cimg%20src%3Dx%20onerror%3D%22window.__pwned%3D1%22%3E',
  empty: () => '#v=1&s=',
};

for (const [name, mangle] of Object.entries(BROKEN)) {
  test(`a ${name} link gives a clear message and the default page`, async () => {
    const page = await openPage(env, { hash: mangle(FIXTURES[0].hash) });
    assert.equal(await page.$eval('#banner', (el) => el.hidden), false);
    assert.equal(await page.$eval('#banner', (el) => el.classList.contains('bad')), true);
    assert.match(await page.$eval('#banner-text', (el) => el.textContent), /could not be opened/);
    assert.equal(await value(page, 'preset'), 'shakespeare');
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    assert.equal(await page.evaluate(() => location.hash), '');
    if (name === 'tampered') await screenshot(page, 'share-broken-link');
    assert.deepEqual(page.errors, []);
  });
}

test('a link whose view choices are bad opens everything else and says which field it left out', async () => {
  const page = await openPage(env);
  // Made by hand (the page never encodes a bad state): FIXTURES[0]'s demo on the attention view, layer -1.
  const hash = await page.evaluate(async (state) => {
    const { toBase64Url } = await import('/www/lib/share.js');
    const cs = new Blob([new TextEncoder().encode(JSON.stringify(state))]).stream().pipeThrough(new CompressionStream('deflate'));
    return `#v=1&s=${toBase64Url(new Uint8Array(await new Response(cs).arrayBuffer()))}`;
  }, { ...FIXTURES[0].state, view: 'attention', view_state: { text: 'to be', layer: -1 } });
  const other = await openPage(env, { hash });
  assert.equal(await other.$eval('#banner', (el) => el.classList.contains('bad')), false);
  assert.match(await other.$eval('#banner-text', (el) => el.textContent), /^Opened a shared demo: .*Its choices for the view were not valid \(layer\): the view opens with its defaults\.$/);
  assert.equal(await value(other, 'corpus'), FIXTURES[0].state.corpus.text);
  assert.equal(await value(other, 'seed'), String(FIXTURES[0].state.config.seed));
  assert.deepEqual(other.errors, []);
});
