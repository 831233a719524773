// The n-gram family in the page: modified Kneser-Ney by default, its views, the same perplexity as
// the CLI, KenLM's discount error with its remedy, editable interpolation weights, ARPA files.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startBrowser, openPage, screenshot, paste, clickTrain, CLI } from '../harness/browser.mjs';

let env;
before(async () => { env = await startBrowser(); });
after(async () => { await env?.close(); });

const train = clickTrain;

function cli(args) {
  return JSON.parse(execFileSync(CLI, [...args, '--json'], { encoding: 'utf8', maxBuffer: 1 << 26 }));
}

function tmp(name, content) {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lmplay-')), name);
  fs.writeFileSync(file, content);
  return file;
}

async function showView(page, id, ready) {
  await page.click(`#tab-${id}`);
  await page.waitForFunction(ready, null, { timeout: 60000 });
  await screenshot(page, `ngram-view-${id}`, '#views-card');
}

test('modified Kneser-Ney is the default; its views explain it; the page agrees with the CLI', async () => {
  const page = await openPage(env);
  assert.equal(await page.$eval('#p-method', (el) => el.value), 'modified-kn');
  await page.$eval('#data-settings', (d) => { d.open = true; });
  await page.fill('#seed', '9');
  assert.equal(await train(page), null);
  const ppl = Number(await page.$eval('#r-ppl', (el) => el.dataset.value));
  const config = JSON.parse(await page.$eval('#results-card', (el) => el.dataset.config));
  const corpus = tmp('corpus.txt', await page.$eval('#corpus', (el) => el.value));
  const cfg = tmp('config.json', JSON.stringify(config));
  const ref = cli(['eval', '--corpus', corpus, '--config', cfg]);
  assert.ok(Math.abs(ppl - ref.perplexity) <= 1e-9 * ref.perplexity, `page ${ppl} vs CLI ${ref.perplexity}`);

  await page.fill('#prompt', 'I will');
  await page.$eval('#prompt', (el) => el.dispatchEvent(new Event('input')));
  await showView(page, 'explain', () => document.querySelectorAll('#view-panel table.data tbody tr').length >= 3);
  const orders = await page.$$eval('#view-panel table.data tbody tr td:first-child', (tds) => tds.map((td) => td.textContent));
  assert.deepEqual(orders.slice(0, 3), ['3', '2', '1']);
  assert.match(await page.$eval('#view-panel', (el) => el.textContent), /P\(.+ \| I will\)/);

  await showView(page, 'sparseness', () => document.querySelectorAll('#view-panel .bar-row').length === 3);
  const shares = await page.$$eval('#view-panel .bar-value', (els) => els.map((e) => parseFloat(e.textContent)));
  assert.ok(shares[0] < shares[1] && shares[1] < shares[2], `unseen shares grow with the order: ${shares}`);

  await showView(page, 'ppl-order', () => document.querySelector('#view-panel .chart')?.dataset.ready === 'true');
  const rows = await page.$$eval('#view-panel table.data tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
  const mle = rows.find((r) => /MLE/.test(r[0]));
  assert.ok(mle.slice(2).includes('∞'), `MLE is infinite once n-grams go unseen: ${mle}`);
  assert.ok(await page.$('#view-panel canvas'), 'a chart is drawn');

  await showView(page, 'zipf', () => document.querySelectorAll('#view-panel canvas').length === 2);
  assert.match(await page.$eval('#view-panel', (el) => el.textContent), /D1/);
  assert.deepEqual(page.errors, []);
});

test('KenLM refuses a corpus too small for its discounts; the page offers the fallback', async () => {
  const page = await openPage(env);
  await paste(page, '#corpus', 'the cat sat on the mat\nthe dog sat on the log\na cat saw a dog\nthe end\n');
  const err = await train(page);
  assert.match(err, /discount/i);
  await page.click('#error button');
  assert.equal(await page.$eval('#p-discount_fallback', (el) => el.checked), true);
  await page.waitForFunction(() => document.getElementById('r-ppl').dataset.value !== '');
  assert.equal(await page.$eval('#error', (el) => el.hidden), true);
});

test('interpolation weights are learned, shown and editable', async () => {
  const page = await openPage(env);
  await page.selectOption('#p-method', 'interpolation');
  assert.equal(await train(page), null);
  await showView(page, 'lambdas', () => document.querySelectorAll('#view-panel input[type=number]').length === 4);
  const learned = await page.$eval('#view-panel', (el) => el.textContent);
  assert.match(learned, /Learned λ = \(/);
  const inputs = await page.$$('#view-panel input[type=number]');
  for (const [i, v] of ['0.25', '0.25', '0.25', '0.25'].entries()) await inputs[i].fill(v);
  await page.click('#view-panel form button');
  await page.waitForFunction(() => /Your λ = \(0\.250, 0\.250, 0\.250, 0\.250\)/.test(document.getElementById('view-panel').textContent));
  await screenshot(page, 'ngram-view-lambdas-edited', '#views-card');
});

test('a view form shows its error on every submission, not only on the first render', async () => {
  const page = await openPage(env);
  await page.selectOption('#p-method', 'interpolation');
  assert.equal(await train(page), null);
  const alert = '#view-panel [role=alert]';
  // The next-token view: a "token" of two words is refused, each time it is submitted.
  await page.click('#tab-next');
  await page.waitForSelector('#view-panel .bar-row');
  assert.equal(await page.$eval(alert, (el) => el.hidden), true);
  for (let i = 0; i < 2; i++) {
    await page.locator('#view-panel form input').nth(2).fill('two words');
    await page.click('#view-panel form button');
    await page.waitForSelector(`${alert}:not([hidden])`);
    assert.match(await page.$eval(alert, (el) => el.textContent), /“two words” is not a single token/);
  }
  await page.locator('#view-panel form input').nth(2).fill('the');
  await page.click('#view-panel form button');
  await page.waitForSelector(`${alert}[hidden]`, { state: 'attached' });
  await page.waitForFunction(() => /P\(“the”\)/.test(document.getElementById('view-panel').textContent));
  // The interpolation weights: all zero is refused, each time.
  await page.click('#tab-lambdas');
  await page.waitForFunction(() => document.querySelectorAll('#view-panel input[type=number]').length === 4);
  for (let i = 0; i < 2; i++) {
    for (const input of await page.$$('#view-panel input[type=number]')) await input.fill('0');
    await page.click('#view-panel form button');
    await page.waitForSelector(`${alert}:not([hidden])`);
    assert.match(await page.$eval(alert, (el) => el.textContent), /not all 0/);
  }
  assert.deepEqual(page.errors, []);
});

test('Stop is not offered while an n-gram model trains (it cannot be interrupted), and says why; neural models keep it', async () => {
  const page = await openPage(env);
  // Record the Stop button whenever the controls change during training.
  await page.evaluate(() => {
    window.__stops = [];
    const stop = document.getElementById('stop');
    new MutationObserver(() => {
      if (!document.getElementById('train').disabled) return;
      const why = document.getElementById(stop.getAttribute('aria-describedby'));
      window.__stops.push({ disabled: stop.disabled, title: stop.title, why: why?.textContent ?? '' });
    }).observe(document.getElementById('model-card'), { attributes: true, subtree: true });
  });
  assert.equal(await train(page), null);
  const seen = await page.evaluate(() => window.__stops);
  assert.ok(seen.length > 0, 'the controls changed while training');
  for (const s of seen) {
    assert.equal(s.disabled, true, 'Stop is not offered');
    assert.match(s.title, /cannot be stopped/);
    assert.equal(s.why, s.title, 'screen readers get the reason');
  }
  assert.equal(await page.$eval('#stop', (el) => el.title), '');
  // A neural model can be stopped between its chunks.
  await page.selectOption('#family', 'fixed-window');
  await page.fill('#p-steps', '100000');
  await page.click('#train');
  await page.waitForFunction(() => /step \d/.test(document.getElementById('status').textContent));
  assert.equal(await page.$eval('#stop', (el) => el.disabled), false);
  assert.equal(await page.$eval('#stop', (el) => el.title), '');
  await page.click('#stop');
  await page.waitForFunction(() => /Stopped after/.test(document.getElementById('status').textContent));
  assert.deepEqual(page.errors, []);
});

test('stupid backoff is labelled unnormalised', async () => {
  const page = await openPage(env);
  await page.selectOption('#p-method', 'stupid-backoff');
  assert.equal(await train(page), null);
  const codes = await page.$$eval('#notes li', (lis) => lis.map((li) => li.dataset.code));
  assert.ok(codes.includes('unnormalized'), codes.join());
});

test('an exported ARPA file opens in the page and scores like the CLI; n-gram model files round-trip', async () => {
  const page = await openPage(env);
  await page.fill('#p-order', '4');
  assert.equal(await train(page), null);
  const ppl = await page.$eval('#r-ppl', (el) => el.dataset.value);
  const [arpaDl] = await Promise.all([page.waitForEvent('download'), page.click('#export-arpa')]);
  const arpa = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lmplay-')), arpaDl.suggestedFilename());
  await arpaDl.saveAs(arpa);
  assert.match(fs.readFileSync(arpa, 'utf8'), /\n\\data\\\nngram 1=\d+\n/);
  const [stDl] = await Promise.all([page.waitForEvent('download'), page.click('#export-model')]);
  const st = path.join(path.dirname(arpa), stDl.suggestedFilename());
  await stDl.saveAs(st);

  // A fresh page opens the ARPA file and scores the text in the corpus box, as the CLI does.
  const other = await openPage(env);
  await other.setInputFiles('#import-model', arpa);
  await other.waitForFunction(() => document.getElementById('r-ppl').dataset.value !== '' || !document.getElementById('error').hidden);
  assert.equal(await other.$eval('#error', (el) => el.hidden), true, await other.$eval('#error', (el) => el.textContent));
  const pagePpl = Number(await other.$eval('#r-ppl', (el) => el.dataset.value));
  const text = tmp('text.txt', await other.$eval('#corpus', (el) => el.value));
  const ref = cli(['eval', '--load-arpa', arpa, '--test', text, '--tokenizer', 'word']);
  assert.ok(Math.abs(pagePpl - ref.perplexity) <= 1e-9 * ref.perplexity, `page ${pagePpl} vs CLI ${ref.perplexity}`);
  assert.ok(await other.$('#tab-explain'));
  assert.equal(await other.$('#tab-sparseness'), null, 'no count views for an ARPA model');
  await other.click('#generate');
  await other.waitForFunction(() => document.querySelectorAll('#output .tok').length > 10);

  // A broken ARPA file is refused with the line at fault.
  const broken = tmp('broken.arpa', fs.readFileSync(arpa, 'utf8').replace(/\n-?\d+\.\d+\t/, '\nnot-a-number\t'));
  await other.setInputFiles('#import-model', broken);
  await other.waitForSelector('#error:not([hidden])');
  assert.match(await other.$eval('#error', (el) => el.textContent), /line \d+/);
  assert.equal(Number(await other.$eval('#r-ppl', (el) => el.dataset.value)), pagePpl, 'the loaded model is kept');

  // The model file restores the counted model with its views and the same perplexity.
  await other.setInputFiles('#import-model', st);
  await other.waitForFunction((p) => document.getElementById('r-ppl').dataset.value === p, ppl);
  await other.click('#tab-sparseness');
  await other.waitForSelector('#view-panel .bar-row');
  assert.deepEqual(other.errors, []);
});
