// The first working playground, end to end: paste a corpus, train a trigram add-k model in the
// worker, check the page's perplexity against the native CLI's, generate, and stay responsive.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startBrowser, openPage, screenshot, paste, ROOT, clickTrain, CLI } from '../harness/browser.mjs';

const SHAKESPEARE = fs.readFileSync(path.join(ROOT, 'tests/data/tinyshakespeare.txt'), 'utf8');

let env;
before(async () => { env = await startBrowser(); });
after(async () => { await env?.close(); });

async function setSettings(page, s) {
  await page.$eval('#data-settings', (d) => { d.open = true; });
  for (const [id, v] of Object.entries(s)) {
    const tag = await page.$eval(`#${id}`, (el) => el.tagName);
    if (tag === 'SELECT') await page.selectOption(`#${id}`, String(v));
    else await page.fill(`#${id}`, String(v));
  }
}

async function trainAndRead(page) {
  const err = await clickTrain(page);
  assert.equal(err, null, `training failed: ${err}`);
  return page.evaluate(() => ({
    ppl: Number(document.getElementById('r-ppl').dataset.value),
    config: JSON.parse(document.getElementById('results-card').dataset.config),
    m: document.getElementById('r-m').textContent,
  }));
}

test('paste, train a trigram add-k model, match the CLI, generate, stay responsive', async () => {
  const page = await openPage(env);
  await paste(page, '#corpus', SHAKESPEARE);
  assert.equal(await page.$eval('#preset', (el) => el.value), 'custom');
  await setSettings(page, { tokenizer: 'word', 'p-order': 3, 'p-method': 'addk', 'p-k': 0.5, seed: 7 });

  // Measure the main thread's longest stall while the worker trains.
  await page.evaluate(() => {
    window.__maxGap = 0;
    let last = performance.now();
    window.__probe = setInterval(() => {
      const now = performance.now();
      window.__maxGap = Math.max(window.__maxGap, now - last);
      last = now;
    }, 10);
  });
  const t0 = Date.now();
  const { ppl, config } = await trainAndRead(page);
  const trainMs = Date.now() - t0;
  const maxGap = await page.evaluate(() => { clearInterval(window.__probe); return window.__maxGap; });
  assert.ok(maxGap < 250, `main thread stalled for ${maxGap.toFixed(0)} ms during ${trainMs} ms of training`);

  // The native CLI on the same corpus and settings computes the same perplexity.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lmplay-'));
  fs.writeFileSync(path.join(dir, 'corpus.txt'), SHAKESPEARE);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  const cli = JSON.parse(execFileSync(CLI, ['eval', '--corpus', path.join(dir, 'corpus.txt'), '--config', path.join(dir, 'config.json'), '--json'], { encoding: 'utf8' }));
  assert.ok(Number.isFinite(ppl) && ppl > 1, `page perplexity ${ppl}`);
  assert.ok(Math.abs(ppl - cli.perplexity) <= 1e-9 * cli.perplexity, `page ${ppl} vs CLI ${cli.perplexity}`);
  assert.equal(config.model.order, 3);
  assert.equal(config.model.method, 'addk');

  // Generation streams text into the output box.
  await page.fill('#prompt', 'ROMEO:');
  await page.fill('#length', '60');
  await page.click('#generate');
  await page.waitForFunction(() => !document.getElementById('generate').disabled, null, { timeout: 30000 });
  const out = await page.$eval('#output', (el) => el.textContent);
  assert.ok(out.startsWith('ROMEO:') && out.length > 'ROMEO:'.length + 20, `generated: ${out}`);

  await screenshot(page, 'playground-trained');
  assert.deepEqual(page.errors, []);
});

test('errors from the core appear in the page', async () => {
  const page = await openPage(env);
  await page.fill('#corpus', '   \n\n');
  await page.click('#train');
  await page.waitForSelector('#error:not([hidden])');
  const msg = await page.$eval('#error', (el) => el.textContent);
  assert.match(msg, /corpus is empty/);
  assert.equal(await page.$eval('#train', (el) => el.disabled), false);
});

test('Chinese poems train at the character level; an MLE model explains its infinite perplexity', async () => {
  const page = await openPage(env);
  await page.selectOption('#preset', 'tang300');
  await page.waitForFunction(() => document.getElementById('corpus').value.includes('李白'));
  await setSettings(page, { tokenizer: 'char', 'p-order': 2, 'p-method': 'mle', seed: 3 });
  const { ppl } = await trainAndRead(page);
  assert.equal(ppl, Infinity);
  assert.equal(await page.$eval('#r-ppl', (el) => el.textContent), '∞');
  const notes = await page.$$eval('#notes li', (lis) => lis.map((li) => li.dataset.code));
  assert.ok(notes.includes('zero-probability'), notes.join());
  await page.fill('#prompt', '床前');
  await page.click('#generate');
  await page.waitForFunction(() => !document.getElementById('generate').disabled && document.getElementById('output').textContent.length > 10);
  await screenshot(page, 'playground-tang300');
});
