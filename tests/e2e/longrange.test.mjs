// Long-range tasks and the bidirectional demonstration in the page.
// 1. The copy-memory preset: a vanilla RNN and an LSTM train on it; "Accuracy by distance" charts both
//    with the chance level and a table of the values; the keyboard reaches it; 中文; the runs table and a
//    share link keep the preset and the view; on a phone the chart fits.
// 2. A bidirectional LSTM: its loss collapses next to a unidirectional one's, the results explain why,
//    its perplexity is flagged, Generate is off with the reason; 中文; the knob is in the share link.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBrowser, openPage, screenshot, setKnobs, trainNow, waitForResult, CLI } from '../harness/browser.mjs';
import fs from 'node:fs';
import { pngSize } from '../../www/lib/export.js';

let env;
before(async () => { env = await startBrowser(); });
after(async () => { await env?.close(); });

const value = (page, id) => page.$eval(`#${id}`, (el) => (el.type === 'checkbox' ? el.checked : el.value));
const ppl = async (page) => Number(await page.$eval('#r-ppl', (el) => el.dataset.value));
const series = (page) => page.$eval('#lr-chart', (el) => Number(el.dataset.series || 0));
const heads = (page) => page.$$eval('#view-panel .lr-values th', (ths) => ths.map((th) => th.textContent));
const rows = (page) => page.$$eval('#view-panel .lr-values tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));

async function pickPreset(page, id) {
  await page.selectOption('#preset', id);
  await page.waitForFunction((id) => document.getElementById('corpus').value.length > 50000 && document.getElementById('preset').value === id, id);
  await page.$eval('#data-settings', (d) => { d.open = true; });
  await page.selectOption('#tokenizer', 'char');
}

const LSTM = { layers: 1, embed: 16, hidden: 32, bptt: 64, batch: 16, steps: 300, lr: 0.01, warmup: 20, eval_interval: 100 };

test('the copy-memory preset: an RNN and an LSTM, accuracy against distance with the chance level', async () => {
  const started = Date.now();
  const page = await openPage(env);
  await pickPreset(page, 'copy-memory');
  assert.match(await page.$eval('#attribution', (el) => el.textContent), /lmplay task copy-memory/);
  assert.match(await value(page, 'corpus'), /^[a-h]\.*:[a-h]\n/);

  await page.selectOption('#family', 'rnn');
  await setKnobs(page, { ...LSTM, steps: 60 });
  await trainNow(page);
  // Offered for a model trained on a task; reachable from the keyboard.
  await page.waitForSelector('#tab-long-range');
  assert.equal(await page.$eval('#tab-long-range', (el) => el.textContent), 'Accuracy by distance');
  await page.focus('#tab-next');
  while (await page.evaluate(() => document.activeElement.id) !== 'tab-long-range') await page.keyboard.press('ArrowRight');
  await page.waitForSelector('#lr-chart[data-ready="true"]');
  assert.equal(await series(page), 1);
  assert.match(await page.$eval('#view-panel .hint', (el) => el.textContent), /chance level/);

  await page.selectOption('#family', 'lstm');
  await setKnobs(page, LSTM);
  await trainNow(page, 300000);
  await page.waitForSelector('#tab-long-range[aria-selected="true"]');
  await page.waitForFunction(() => document.getElementById('lr-chart')?.dataset.series === '2');
  await page.waitForSelector('#lr-chart .uplot canvas');
  // The two models and the dashed chance line in the legend.
  assert.equal(await page.$$eval('#lr-chart .u-legend .u-series', (els) => els.length), 3);
  const h = await heads(page);
  assert.deepEqual(h, ['Distance', 'RNN: 1 layer, d = 16, H = 32, T = 64, σ = tanh', 'LSTM: 1 layer, d = 16, H = 32, T = 64', 'chance (12.5%)']);
  const r = await rows(page);
  assert.deepEqual(r.map((x) => x[0]), ['2', '5', '10', '20', '30', '40', '50']);
  assert.ok(r.every((x) => x[3] === '12.5%'));
  const acc = (s) => Number(s.replace('%', '')) / 100;
  assert.ok(r.every((x) => acc(x[1]) >= 0 && acc(x[1]) <= 1 && acc(x[2]) >= 0 && acc(x[2]) <= 1), JSON.stringify(r));
  // (So small a model, so few steps, learns the filler first; the RNN-fails-LSTM-holds numbers, at the
  // defaults and 1,000 steps, are measured natively: docs/conventions.md, "Long-range tasks".)
  assert.match(await page.$eval('#view-panel .explain-head', (el) => el.textContent), /^LSTM: .* at distance 50 \(chance 12\.5%\)/);
  assert.match(await page.$eval('#lr-chart', (el) => el.getAttribute('aria-label')), /2 models and the chance level/);
  await page.$eval('#view-panel .lr-values', (d) => { d.open = true; });
  await screenshot(page, 'longrange-rnn-lstm', '#views-card');
  // The chart exports as a PNG, like every chart.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#lr-png')]);
  assert.match(download.suggestedFilename(), /^lmplay-accuracy-by-distance-.*\.png$/);
  const png = pngSize(fs.readFileSync(await download.path()));
  assert.ok(png && png.width > 200 && png.height > 200, JSON.stringify(png));

  // 中文.
  await page.click('#lang');
  await page.waitForFunction(() => document.getElementById('tab-long-range')?.textContent === '按距离的准确率');
  await page.waitForFunction(() => document.getElementById('lr-chart')?.dataset.series === '2');
  assert.match(await page.$eval('#view-panel .hint', (el) => el.textContent), /机会水平/);
  assert.equal((await heads(page))[3], '机会水平（12.5%）');
  await page.click('#lang');
  // Back in English: wait for the page to re-render in it (the runs table too) before reading it.
  await page.waitForFunction(() => document.getElementById('tab-long-range')?.textContent === 'Accuracy by distance');

  // The runs table names the preset; a share link keeps the preset and the view.
  await page.waitForFunction(() => document.querySelectorAll('#runs tbody tr[data-run]').length === 2);
  await page.waitForFunction(() => /copy memory/.test(document.querySelector('#runs tbody tr[data-run]')?.textContent ?? ''), null, { timeout: 10000 }).catch(() => {});
  assert.match(await page.$eval('#runs tbody tr[data-run]', (el) => el.textContent), /copy memory/);
  await page.click('#share');
  await page.waitForSelector('#share-dialog[open]');
  const url = await page.$eval('#share-url', (el) => el.value);
  await page.click('#share-close');
  const shared = await openPage(env, { hash: url.slice(url.indexOf('#')) });
  assert.equal(await value(shared, 'preset'), 'copy-memory');
  assert.match(await value(shared, 'corpus'), /^[a-h]\.*:[a-h]\n/);
  assert.equal(await value(shared, 'family'), 'lstm');
  assert.deepEqual(shared.errors, []);
  await shared.context().close();

  // Clear keeps the current model only.
  await page.click('#lr-clear');
  assert.equal(await series(page), 1);
  assert.deepEqual(page.errors, []);
  console.log(`# ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

test('on a phone the accuracy chart fits the screen', async () => {
  const page = await openPage(env, { viewport: { width: 390, height: 844 } });
  await pickPreset(page, 'temporal-order');
  await page.selectOption('#family', 'gru');
  await setKnobs(page, { ...LSTM, steps: 20 });
  await trainNow(page);
  await page.click('#tab-long-range');
  await page.waitForSelector('#lr-chart[data-ready="true"] .uplot canvas');
  assert.equal((await heads(page))[2], 'chance (25%)');
  assert.deepEqual((await rows(page)).map((x) => x[0]), ['4', '8', '16', '24', '32', '40']);
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1), 'no horizontal scrolling');
  const box = await page.$eval('#lr-chart', (el) => el.getBoundingClientRect().right);
  assert.ok(box <= 390, `the chart ends at ${box}`);
  // Not offered for a model of a text corpus.
  await page.selectOption('#preset', 'shakespeare');
  await page.waitForFunction(() => document.getElementById('preset').value === 'shakespeare');
  await setKnobs(page, { steps: 5 });
  await trainNow(page);
  await page.waitForSelector('#tab-next');
  assert.equal(await page.$('#tab-long-range'), null);
  assert.deepEqual(page.errors, []);
});

const SMALL = { layers: 1, embed: 16, hidden: 32, bptt: 16, batch: 8, steps: 200, lr: 0.01, warmup: 20, eval_interval: 100 };

test('a bidirectional LSTM sees the future: its loss collapses, the page says why and will not generate', async () => {
  const page = await openPage(env);
  await page.$eval('#data-settings', (d) => { d.open = true; });
  await page.selectOption('#tokenizer', 'char');
  await page.selectOption('#family', 'lstm');
  await setKnobs(page, SMALL);
  assert.equal(await value(page, 'p-bidirectional'), false);
  await trainNow(page);
  const uni = await ppl(page);
  assert.equal(await page.$eval('#bidi-callout', (el) => el.hidden), true);
  assert.equal(await page.$eval('#gen-why', (el) => el.hidden), true);
  assert.equal(await page.$eval('#generate', (el) => el.disabled), false);

  // From the keyboard: Space ticks the knob; its help names the reason; the formula gains h^bwd.
  await page.focus('#p-bidirectional');
  await page.keyboard.press('Space');
  assert.equal(await value(page, 'p-bidirectional'), true);
  assert.equal(await page.$eval('#p-bidirectional', (el) => el.getAttribute('aria-describedby')), 'p-bidirectional-help');
  assert.match(await page.$eval('#p-bidirectional-help', (el) => el.textContent), /cannot generate/);
  await page.waitForFunction(() => /bwd/.test(document.getElementById('formula').textContent));
  await trainNow(page);
  const bi = await ppl(page);
  assert.ok(bi < 0.5 * uni, `the bidirectional "perplexity" ${bi} collapses below the unidirectional ${uni}`);
  assert.match(await page.$eval('#r-model', (el) => el.textContent), /^bidirectional LSTM/);
  assert.equal(await page.$eval('#bidi-callout', (el) => el.hidden), false);
  assert.match(await page.$eval('#bidi-callout', (el) => el.textContent), /Why is the loss so low\?.*cannot assign P\(x₁\.\.x_T\)/);
  assert.ok(await page.$('#notes li[data-code="not-generative"]'), 'the perplexity carries the warning');
  assert.equal(await page.$eval('#generate', (el) => el.disabled), true);
  assert.match(await page.$eval('#gen-why', (el) => el.textContent), /Generation is off/);
  // Every probability it shows is flagged the same way: the surprisal of the user's own text and the
  // next-token view.
  await page.$eval('#score-box', (d) => { d.open = true; });
  await page.fill('#score-text', 'to be or not');
  await page.click('#score');
  await page.waitForFunction(() => document.getElementById('score-ppl').textContent !== '');
  assert.equal(await page.$eval('#score-ppl', (el) => el.dataset.code), 'not-generative');
  assert.match(await page.$eval('#score-ppl', (el) => el.textContent), /^Not a perplexity/);
  await page.click('#tab-next');
  await page.waitForSelector('#view-panel [data-code="not-generative"]');
  assert.match(await page.$eval('#view-panel [data-code="not-generative"]', (el) => el.textContent), /^Not a language model/);
  // Both runs are in the table, to compare.
  await page.waitForFunction(() => document.querySelectorAll('#runs tbody tr[data-run]').length === 2);
  assert.match(await page.$eval('#runs tbody tr[data-run]', (el) => el.textContent), /bidirectional LSTM/);
  await screenshot(page, 'bidirectional-results', '#results-card');

  // 中文.
  await page.click('#lang');
  await page.waitForFunction(() => /为什么损失这么低/.test(document.getElementById('bidi-callout').textContent));
  assert.match(await page.$eval('#gen-why', (el) => el.textContent), /不能生成/);
  assert.match(await page.$eval('#notes li[data-code="not-generative"]', (el) => el.textContent), /不是困惑度/);
  await page.click('#lang');

  // The share link keeps the knob.
  await page.click('#share');
  await page.waitForSelector('#share-dialog[open]');
  const url = await page.$eval('#share-url', (el) => el.value);
  // A preset is named, not copied (issue 19, defect 8).
  assert.match(await page.$eval('#share-msg', (el) => el.textContent), /^This link names the .* corpus \(a preset: its text is not copied\)/);
  await page.click('#share-close');
  const shared = await openPage(env, { hash: url.slice(url.indexOf('#')) });
  assert.equal(await value(shared, 'p-bidirectional'), true);
  assert.deepEqual(shared.errors, []);
  await shared.context().close();

  // Unticked again, the next model generates, and the notes about the last one leave as soon as its
  // training starts: they belong to the model they describe.
  await page.uncheck('#p-bidirectional');
  await page.$eval('#p-bidirectional', (el) => el.dispatchEvent(new Event('change', { bubbles: true })));
  await setKnobs(page, { steps: 100000 });
  await page.click('#train');
  await page.waitForFunction(() => !document.getElementById('pause').disabled);
  for (const id of ['bidi-callout', 'gen-why']) assert.equal(await page.$eval(`#${id}`, (el) => el.hidden), true, `#${id} during the next run`);
  assert.equal(await page.$eval('#score-ppl', (el) => el.textContent), '', 'the last model\'s score is cleared');
  await page.click('#stop');
  assert.equal(await waitForResult(page), null);
  await page.waitForFunction(() => !document.getElementById('train').disabled);
  assert.equal(await page.$eval('#generate', (el) => el.disabled), false);
  assert.equal(await page.$eval('#bidi-callout', (el) => el.hidden), true);
  await page.click('#score');
  await page.waitForFunction(() => document.getElementById('score-ppl').textContent !== '');
  assert.match(await page.$eval('#score-ppl', (el) => el.textContent), /^Perplexity of this text/);
  assert.equal(await page.$eval('#score-ppl', (el) => el.dataset.code), undefined);
  await page.click('#tab-next');
  await page.waitForSelector('#view-panel button');
  assert.equal(await page.$('#view-panel [data-code="not-generative"]'), null);
  assert.deepEqual(page.errors, []);
});

test('the CLI writes the presets, scores a model by distance and refuses to sample a bidirectional one', async () => {
  const { execFileSync, spawnSync } = await import('node:child_process');
  const fs = await import('node:fs');
  const path = await import('node:path');
  const { ROOT } = await import('../harness/browser.mjs');
  const bin = CLI;
  for (const id of ['copy-memory', 'temporal-order']) {
    assert.equal(execFileSync(bin, ['task', id], { encoding: 'utf8', maxBuffer: 1 << 24 }), fs.readFileSync(path.join(ROOT, `www/corpora/${id}.txt`), 'utf8'), id);
  }
  const corpus = path.join(ROOT, 'www/corpora/copy-memory.txt');
  const v = JSON.parse(execFileSync(bin, ['view', 'long-range', '--corpus', corpus, '--tokenizer', 'char', '--model', 'ngram', '--order', '3', '--smoothing', 'witten-bell', '--args', '{"task": "copy-memory", "examples": 50}', '--quiet'], { encoding: 'utf8' }));
  assert.equal(v.chance, 0.125);
  assert.deepEqual(v.distances.map((d) => d.distance), [2, 5, 10, 20, 30, 40, 50]);
  assert.equal(v.distances[0].accuracy, 1, 'a trigram sees "s:" → s');
  const r = spawnSync(bin, ['sample', '--corpus', corpus, '--tokenizer', 'char', '--model', 'lstm', '--bidirectional', '--steps', '1', '--prompt', 'a'], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '', 'nothing is generated, not even the prompt');
  assert.match(r.stderr, /cannot generate text: it is bidirectional/);
});
