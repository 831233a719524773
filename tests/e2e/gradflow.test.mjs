// The "Vanishing gradients" view of recurrent models: a small sigmoid RNN's gradient norms against the
// distance on a log-scale chart with a table of the values; a small LSTM trained next on the same
// text joins the chart (one series per model); "clear" keeps only the current model; errors of a
// submission show; 中文; not offered for an n-gram model.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startBrowser, openPage, screenshot, setKnobs, trainNow, ROOT } from '../harness/browser.mjs';

let env;
before(async () => { env = await startBrowser(); });
after(async () => { await env?.close(); });

const SMALL = { layers: 1, embed: 8, hidden: 16, bptt: 24, batch: 4, steps: 30, eval_interval: 30 };


const series = (page) => page.$eval('#gf-chart', (el) => Number(el.dataset.series || 0));
const heads = (page) => page.$$eval('#view-panel .gf-values th', (ths) => ths.map((th) => th.textContent));

test('the gradient-flow view charts a sigmoid RNN, then overlays an LSTM; not offered for n-grams', async () => {
  const started = Date.now();
  const page = await openPage(env);
  await page.$eval('#data-settings', (d) => { d.open = true; });
  await page.selectOption('#tokenizer', 'char');
  await page.fill('#seed', '11');
  await page.selectOption('#family', 'rnn');
  await setKnobs(page, { ...SMALL, activation: 'sigmoid' });
  await trainNow(page);

  // Offered for the RNN; reachable from the keyboard (arrow keys on the tabs).
  await page.waitForSelector('#tab-gradient-flow');
  assert.equal(await page.$eval('#tab-gradient-flow', (el) => el.textContent), 'Vanishing gradients');
  await page.focus('#tab-next');
  while (await page.evaluate(() => document.activeElement.id) !== 'tab-gradient-flow') await page.keyboard.press('ArrowRight');
  await page.waitForSelector('#gf-chart[data-ready="true"]');
  assert.match(await page.$eval('#view-panel .hint', (el) => el.textContent), /‖∂J⁽ᵗ⁾\/∂h⁽ᵗ′⁾‖.*logarithmic/);
  const pos = page.locator('#view-panel form input[type=number]');
  assert.equal(await pos.inputValue(), '23', 'the position defaults to the last of the window');
  assert.equal(await pos.getAttribute('max'), '23');

  // Show from the keyboard: the chart (a uPlot canvas) and the table of values, one row per distance.
  await pos.fill('20');
  await pos.press('Enter');
  await page.waitForFunction(() => /J⁽20⁾ = /.test(document.querySelector('#view-panel .explain-head').textContent));
  await page.waitForSelector('#gf-chart .uplot canvas');
  assert.equal(await series(page), 1);
  const rows = await page.$$eval('#view-panel .gf-values tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
  assert.equal(rows.length, 21, 'distances 0 … 20');
  assert.deepEqual(rows.map((r) => r[0]), Array.from({ length: 21 }, (_, i) => String(i)));
  const norms = rows.map((r) => Number(r[1]));
  assert.ok(norms.every((x) => Number.isFinite(x) && x > 0), rows.map((r) => r[1]).join(' '));
  assert.ok(norms[20] < norms[0], `a sigmoid RNN's gradient decays: ${norms[0]} → ${norms[20]}`);
  assert.deepEqual(await heads(page), ['t − t′', 'RNN: 1 layer, d = 8, H = 16, T = 24, σ = sigmoid']);
  assert.equal(await page.$eval('#gf-chart', (el) => el.tabIndex), 0);
  assert.match(await page.$eval('#gf-chart', (el) => el.getAttribute('aria-label')), /log scale: 1 series/);
  assert.equal(await page.$eval('#gf-clear', (el) => el.disabled), true);

  // A position out of range: the error shows, every time.
  await pos.fill('99');
  await page.click('#view-panel form button');
  await page.waitForFunction(() => /from 1 to 23/.test(document.querySelector('#view-panel [role=alert]').textContent));
  await pos.fill('23');
  await page.click('#view-panel form button');
  await page.waitForFunction(() => document.querySelector('#view-panel [role=alert]').hidden);

  // An LSTM on the same text: when it finishes the view shows both models.
  await page.selectOption('#family', 'lstm');
  await setKnobs(page, SMALL);
  await trainNow(page);
  await page.waitForSelector('#tab-gradient-flow[aria-selected="true"]');
  await page.waitForFunction(() => document.getElementById('gf-chart')?.dataset.series === '2');
  await page.click('#view-panel form button');
  // One legend row per series (the x series has none with a static legend).
  await page.waitForFunction(() => document.querySelectorAll('#gf-chart .u-legend .u-series').length === 2);
  assert.deepEqual(await heads(page), ['t − t′', 'RNN: 1 layer, d = 8, H = 16, T = 24, σ = sigmoid', 'LSTM: 1 layer, d = 8, H = 16, T = 24']);
  assert.equal(await page.$$eval('#view-panel .gf-values tbody tr', (trs) => trs.length), 24);
  await page.$eval('#view-panel .gf-values', (d) => { d.open = true; });
  await screenshot(page, 'gradflow-rnn-lstm', '#views-card');

  // 中文: the tab, the labels; the series stay labelled by model.
  await page.click('#lang');
  await page.waitForFunction(() => document.getElementById('tab-gradient-flow')?.textContent === '梯度消失');
  await page.waitForFunction(() => document.getElementById('gf-chart')?.dataset.series === '2');
  assert.match(await page.$eval('#view-panel .hint', (el) => el.textContent), /对数刻度/);
  assert.match((await heads(page))[2], /^LSTM：1 层/);
  await page.click('#lang');

  // Clear keeps only the current model.
  await page.waitForSelector('#gf-clear:not([disabled])');
  await page.click('#gf-clear');
  assert.equal(await series(page), 1);
  assert.deepEqual(await heads(page), ['t − t′', 'LSTM: 1 layer, d = 8, H = 16, T = 24']);

  // An n-gram model has no such view.
  await page.selectOption('#family', 'ngram');
  await trainNow(page);
  await page.waitForSelector('#tab-next');
  assert.equal(await page.$('#tab-gradient-flow'), null);
  assert.deepEqual(page.errors, []);
  console.log(`# ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

test('the gradient-flow view passes an axe-core check', async () => {
  // axe is injected as a script, which the page's CSP (rightly) forbids; bypass it for the check only.
  const page = await openPage(env, { contextOptions: { bypassCSP: true } });
  await page.selectOption('#family', 'gru');
  await setKnobs(page, { ...SMALL, layers: 2, steps: 5 });
  await trainNow(page);
  await page.click('#tab-gradient-flow');
  await page.waitForFunction(() => document.getElementById('gf-chart')?.dataset.series === '2');
  assert.match(await page.$eval('#gf-chart', (el) => el.getAttribute('aria-label')), /2 series/);
  assert.deepEqual((await heads(page)).slice(1), ['GRU: 2 layers, d = 8, H = 16, T = 24 · layer 1', 'GRU: 2 layers, d = 8, H = 16, T = 24 · layer 2']);
  await page.addScriptTag({ content: fs.readFileSync(path.join(ROOT, 'node_modules/axe-core/axe.min.js'), 'utf8') });
  const res = await page.evaluate(() => window.axe.run('#views-card', { runOnly: ['wcag2a', 'wcag2aa', 'best-practice'] }));
  const serious = res.violations.filter((v) => ['serious', 'critical'].includes(v.impact));
  assert.deepEqual(serious.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`), []);
  assert.deepEqual(page.errors, []);
});
