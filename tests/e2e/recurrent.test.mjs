// The recurrent families (RNN, LSTM, GRU) in the page: an LSTM on the Shakespeare preset trains with a
// live loss curve, generates while paused, beats the unigram model, shows its formula, saves and loads
// as a file, lists in the runs table and round-trips through a share link; a GRU and a sigmoid RNN train.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startBrowser, openPage, screenshot, waitForResult, setKnobs, trainNow, ROOT } from '../harness/browser.mjs';

let env;
before(async () => { env = await startBrowser(); });
after(async () => { await env?.close(); });

/** Small settings: an LSTM that learns something on the char-level Shakespeare excerpt in seconds. */
const SMALL = { layers: 1, embed: 16, hidden: 32, bptt: 16, batch: 8, steps: 300, lr: 0.01, warmup: 20, eval_interval: 100 };

const value = (page, id) => page.$eval(`#${id}`, (el) => (el.type === 'checkbox' ? el.checked : el.value));
const ppl = async (page) => Number(await page.$eval('#r-ppl', (el) => el.dataset.value));

async function setData(page, seed = '7') {
  await page.$eval('#data-settings', (d) => { d.open = true; });
  await page.selectOption('#tokenizer', 'char');
  await page.fill('#seed', seed);
}


/** The loss curve of the newest stored run. */
function newestCurve(page) {
  return page.evaluate(() => new Promise((resolve, reject) => {
    const req = indexedDB.open('lm-playground');
    req.onsuccess = () => {
      const all = req.result.transaction('curves').objectStore('curves').getAll();
      all.onsuccess = () => resolve(all.result[all.result.length - 1]);
      all.onerror = () => reject(all.error);
    };
    req.onerror = () => reject(req.error);
  }));
}

test('an LSTM trains, generates while paused, beats the unigram model, saves, loads and shares', async () => {
  const started = Date.now();
  const page = await openPage(env);
  assert.equal(await value(page, 'preset'), 'shakespeare');
  await setData(page);
  await page.selectOption('#family', 'lstm');
  // The LSTM's formula, and its own knobs with the core's defaults.
  await page.waitForFunction(() => /odot/.test(document.getElementById('formula').textContent) && /c_t/.test(document.getElementById('formula').textContent));
  assert.equal(await value(page, 'p-bptt'), '64');
  assert.equal(await value(page, 'p-batch'), '32');
  assert.equal(await value(page, 'p-optimizer'), 'adam');
  assert.equal(await page.$('#p-activation'), null, 'an LSTM has no σ to choose');
  assert.match(await page.$eval('#family-help', (el) => el.textContent), /forget/);
  assert.equal(await page.$eval('#p-bptt', (el) => el.getAttribute('aria-describedby')), 'p-bptt-help');
  // 3000 steps: 300 of this small LSTM take a quarter of a second, less than a click can take to reach
  // the worker, so the pause below lost the race to the end of training (in CI and here).
  const knobs = { ...SMALL, steps: 3000, eval_interval: 1000 };
  await setKnobs(page, knobs);
  await page.waitForFunction(() => /Memory:/.test(document.getElementById('memory').textContent));

  // Train; pause part-way (as soon as the first steps are in) and generate from the half-trained
  // model; resume.
  await page.click('#train');
  await page.waitForFunction(() => document.getElementById('progress').value > 0 && !document.getElementById('pause').disabled);
  assert.equal(await page.$eval('#stop', (el) => el.disabled), false, 'a recurrent model can be stopped');
  await page.click('#pause');
  await page.waitForFunction(() => /Paused/.test(document.getElementById('status').textContent));
  await page.fill('#length', '30');
  await page.click('#generate');
  await page.waitForFunction(() => document.querySelectorAll('#output .tok').length === 30);
  await page.waitForFunction(() => !document.getElementById('resume').disabled);
  await page.click('#resume');
  assert.equal(await waitForResult(page, 120000), null);
  const lstmPpl = await ppl(page);
  const vocab = await page.$eval('#r-vocab', (el) => el.textContent);
  assert.match(await page.$eval('#r-model', (el) => el.textContent), /^LSTM: 1 layer, d = 16, H = 32, T = 16$/);
  await screenshot(page, 'recurrent-lstm-trained');

  // The loss curve: a training loss every step, validation points at the interval and after the last.
  await page.waitForFunction(() => document.querySelectorAll('#runs tbody tr[data-run]').length === 1);
  const curve = await newestCurve(page);
  assert.equal(curve.length, knobs.steps);
  assert.ok(curve.every((c) => Number.isFinite(c[1])));
  const valid = curve.filter((c) => c[2] != null).map((c) => c[0]);
  assert.deepEqual(valid, [1000, 2000, 3000]);
  assert.ok(curve[curve.length - 1][2] < curve[valid[0] - 1][2] + 0.5, 'validation loss does not blow up');
  assert.equal(await page.$eval('#loss-wrap', (el) => el.hidden), false);
  assert.match(await page.$eval('#runs tbody tr[data-run]', (el) => el.textContent), /LSTM: 1 layer/);

  // Generation from the trained model: text, rendered as text.
  await page.fill('#prompt', 'ROMEO:');
  await page.fill('#length', '40');
  await page.click('#generate');
  await page.waitForFunction(() => document.querySelectorAll('#output .tok').length >= 40);
  await page.waitForFunction(() => !document.getElementById('generate').disabled);
  assert.ok((await page.$eval('#output', (el) => el.textContent)).length >= 40);
  assert.ok(await page.$$eval('#output > *', (els) => els.every((e) => e.tagName === 'SPAN' && !e.children.length)), 'tokens are text in spans');
  assert.match(await page.$eval('#output', (el) => el.textContent), /^ROMEO:/);

  // The model file: download, open in a fresh page, same model and perplexity, generates.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-model')]);
  assert.match(download.suggestedFilename(), /^lmplay-lstm-.*\.safetensors$/);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lmplay-')), download.suggestedFilename());
  await download.saveAs(file);

  // The share link holds the LSTM and its settings.
  await page.click('#share');
  await page.waitForSelector('#share-dialog[open]');
  const url = await page.$eval('#share-url', (el) => el.value);
  assert.ok(url.length <= 2000, `${url.length}`);
  await page.click('#share-close');
  const sharedConfig = JSON.parse(await page.$eval('#results-card', (el) => el.dataset.config));

  // Chinese: the family, its help text, the description.
  await page.click('#lang');
  assert.equal(await page.$eval('#family option[value="lstm"]', (el) => el.textContent), 'LSTM 语言模型');
  assert.match(await page.$eval('#family-help', (el) => el.textContent), /遗忘门/);
  assert.match(await page.$eval('label[for="p-bptt"]', (el) => el.textContent), /BPTT 长度 T/);
  assert.match(await page.$eval('#r-model', (el) => el.textContent), /^LSTM：1 层，d = 16，H = 32，T = 16$/);
  assert.deepEqual(page.errors, []);

  const other = await openPage(env);
  await other.setInputFiles('#import-model', file);
  await other.waitForFunction(() => document.getElementById('r-ppl').dataset.value !== '' || !document.getElementById('error').hidden);
  assert.equal(await other.$eval('#error', (el) => el.hidden), true, await other.$eval('#error', (el) => el.textContent));
  assert.equal(await value(other, 'family'), 'lstm');
  assert.equal(await value(other, 'p-hidden'), '32');
  assert.equal(await value(other, 'p-bptt'), '16');
  assert.equal(await ppl(other), lstmPpl);
  assert.equal(await other.$eval('#loss-wrap', (el) => el.hidden), false);
  await other.click('#generate');
  await other.waitForFunction(() => document.querySelectorAll('#output .tok').length > 10);
  assert.deepEqual(other.errors, []);
  await other.context().close();

  const shared = await openPage(env, { hash: url.slice(url.indexOf('#')) });
  assert.equal(await value(shared, 'family'), 'lstm');
  for (const [id, v] of Object.entries(knobs)) assert.equal(await value(shared, `p-${id}`), String(v), id);
  assert.equal(await value(shared, 'seed'), '7');
  assert.equal(await value(shared, 'tokenizer'), 'char');
  await shared.waitForFunction(() => /odot/.test(document.getElementById('formula').textContent));
  assert.match(await shared.$eval('#banner-text', (el) => el.textContent), /LSTM language model/);
  assert.deepEqual(await shared.evaluate(() => import('./www/lib/settings.js').then((m) => m.readSettings())), sharedConfig);
  assert.deepEqual(shared.errors, []);
  await shared.context().close();

  // The unigram model on the same corpus, split and vocabulary.
  await page.click('#lang');
  await page.selectOption('#family', 'ngram');
  await page.fill('#p-order', '1');
  await page.selectOption('#p-method', 'addk');
  await page.fill('#p-k', '0.01');
  await page.$eval('#p-k', (el) => el.dispatchEvent(new Event('change', { bubbles: true })));
  await trainNow(page);
  const unigramPpl = await ppl(page);
  assert.equal(await page.$eval('#r-vocab', (el) => el.textContent), vocab, 'the same vocabulary');
  assert.ok(lstmPpl < unigramPpl * 0.8, `LSTM ${lstmPpl} vs unigram ${unigramPpl}`);
  assert.deepEqual(page.errors, []);
  console.log(`# LSTM perplexity ${lstmPpl.toFixed(2)}, unigram ${unigramPpl.toFixed(2)}; ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

test('a GRU and a sigmoid RNN train for a few steps, each with its formula and description', async () => {
  const page = await openPage(env);
  await setData(page, '3');
  await page.selectOption('#family', 'gru');
  await page.waitForFunction(() => /z_t/.test(document.getElementById('formula').textContent) && /n_t/.test(document.getElementById('formula').textContent));
  await setKnobs(page, { ...SMALL, layers: 2, steps: 20, eval_interval: 10 });
  await trainNow(page);
  assert.ok(Number.isFinite(await ppl(page)));
  assert.match(await page.$eval('#r-model', (el) => el.textContent), /^GRU: 2 layers, d = 16, H = 32, T = 16$/);

  // Switching between the recurrent cells keeps the knobs they share.
  await page.selectOption('#family', 'rnn');
  assert.equal(await value(page, 'p-layers'), '2');
  assert.equal(await value(page, 'p-hidden'), '32');
  assert.equal(await value(page, 'p-steps'), '20');
  assert.deepEqual(await page.$$eval('#p-activation option', (os) => os.map((o) => o.value)), ['tanh', 'sigmoid']);
  await page.waitForFunction(() => /sigma/.test(document.getElementById('formula').textContent) && /W_e/.test(document.getElementById('formula').textContent));
  await setKnobs(page, { activation: 'sigmoid', layers: 1 });
  await trainNow(page);
  assert.ok(Number.isFinite(await ppl(page)));
  assert.match(await page.$eval('#r-model', (el) => el.textContent), /^RNN: 1 layer, d = 16, H = 32, T = 16, σ = sigmoid$/);
  const config = JSON.parse(await page.$eval('#results-card', (el) => el.dataset.config));
  assert.equal(config.model.family, 'rnn');
  assert.equal(config.model.activation, 'sigmoid');
  await page.waitForFunction(() => document.querySelectorAll('#runs tbody tr[data-run]').length === 2);
  assert.deepEqual(page.errors, []);
});

test('a stopped LSTM saved to a file opens with "Continue training" and trains on', async () => {
  const page = await openPage(env);
  await setData(page, '5');
  await page.selectOption('#family', 'lstm');
  await setKnobs(page, { ...SMALL, steps: 4000 });
  await page.click('#train');
  // Stopped as soon as the first steps are in (see the pause above: a later stop can lose the race).
  await page.waitForFunction(() => document.getElementById('progress').value > 0);
  await page.click('#stop');
  assert.equal(await waitForResult(page, 60000), null);
  await page.waitForFunction(() => /Stopped after/.test(document.getElementById('status').textContent));
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-model')]);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lmplay-')), 'stopped-lstm.safetensors');
  await download.saveAs(file);
  await page.context().close();

  const other = await openPage(env);
  await other.setInputFiles('#import-model', file);
  await other.waitForSelector('#continue:not([hidden])');
  await other.click('#continue');
  await other.waitForFunction(() => /Trained in/.test(document.getElementById('status').textContent), null, { timeout: 60000 });
  assert.equal(await other.$eval('#continue', (el) => el.hidden), true);
  assert.ok(Number.isFinite(await ppl(other)));
  assert.deepEqual(other.errors, []);
});

test('the recurrent knobs are labelled, described and reachable from the keyboard', async () => {
  const page = await openPage(env, { contextOptions: { bypassCSP: true } });
  await page.focus('#family');
  // Keyboard only: pick the LSTM in the family select.
  while (await value(page, 'family') !== 'lstm') await page.keyboard.press('ArrowDown');
  await page.waitForSelector('#p-bptt');
  const order = [];
  for (let guard = 0; guard < 40 && await page.evaluate(() => document.activeElement.id) !== 'train'; guard++) {
    await page.keyboard.press('Tab');
    order.push(await page.evaluate(() => document.activeElement.id));
  }
  for (const id of ['p-layers', 'p-embed', 'p-hidden', 'p-bptt', 'p-batch', 'p-lr', 'train']) assert.ok(order.includes(id), `${id} in ${order}`);
  await page.addScriptTag({ content: fs.readFileSync(path.join(ROOT, 'node_modules/axe-core/axe.min.js'), 'utf8') });
  const res = await page.evaluate(() => window.axe.run('#model-card', { runOnly: ['wcag2a', 'wcag2aa', 'best-practice'] }));
  const serious = res.violations.filter((v) => ['serious', 'critical'].includes(v.impact));
  assert.deepEqual(serious.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`), []);
});
