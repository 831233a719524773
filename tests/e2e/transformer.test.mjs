// The Transformer in the page: its knobs and formula; a small model trained a few hundred steps on
// the Shakespeare preset with each of the six positional encodings beats the bigram model, shows a
// heatmap for every head (redrawn live while it trains), its positional encoding, and generates; the
// comparison runner trains all six in the worker; the cost lesson measures and charts; a share link
// keeps it; the views pass axe-core and work from the keyboard, in English and 中文.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startBrowser, openPage, screenshot, setKnobs, trainNow, axeViolations } from '../harness/browser.mjs';

let env;
before(async () => { env = await startBrowser(); });
after(async () => { await env?.close(); });

/** A Transformer small enough to train 300 steps in seconds, big enough to beat a bigram model. */
const SMALL = { layers: 2, heads: 2, width: 32, ffn: 128, context: 32, batch: 16, steps: 600, lr: 0.005, warmup: 50, eval_interval: 200 };
const ENCODINGS = ['learned', 'sinusoidal', 'relative', 'alibi', 'rope', 'none'];

const value = (page, id) => page.$eval(`#${id}`, (el) => (el.type === 'checkbox' ? el.checked : el.value));
const ppl = async (page) => Number(await page.$eval('#r-ppl', (el) => el.dataset.value));
const shown = (page, id) => page.$eval(`#${id}`, (el) => !el.hidden);

/** Waits until the page's state is on disk: a change of a field starts a save of all of it. */
async function saved(page) {
  const n = await page.evaluate(() => Number(document.body.dataset.saves || 0));
  await page.$eval('#length', (el) => el.dispatchEvent(new Event('change')));
  await page.waitForFunction((k) => Number(document.body.dataset.saves || 0) > k, n);
}

async function setData(page, seed = '9') {
  await page.$eval('#data-settings', (d) => { d.open = true; });
  await page.selectOption('#tokenizer', 'char');
  await page.fill('#seed', seed);
}


test('the Transformer\'s knobs follow its choices and its formula follows the positional encoding', async () => {
  const page = await openPage(env);
  await page.selectOption('#family', 'transformer');
  // The core's defaults: nanoGPT's CPU configuration and recipe.
  const defaults = { layers: '4', heads: '4', width: '128', context: '64', batch: '12', lr: '0.001', beta2: '0.99', weight_decay: '0.1', tied: true, decay_matrices_only: true };
  for (const [id, v] of Object.entries(defaults)) assert.equal(await value(page, `p-${id}`), v, id);
  assert.deepEqual(await page.$$eval('#p-attention option', (os) => os.map((o) => o.value)), ['full', 'sparse', 'linear']);
  assert.deepEqual(await page.$$eval('#p-positional option', (os) => os.map((o) => o.value)), ENCODINGS);
  assert.equal(await shown(page, 'p-rel_clip'), false);
  assert.equal(await shown(page, 'p-window'), false);
  await page.waitForFunction(() => /MultiHead/.test(document.getElementById('formula').textContent) && /softmax/.test(document.getElementById('formula').textContent));
  await setKnobs(page, { positional: 'relative', attention: 'sparse' });
  assert.equal(await shown(page, 'p-rel_clip'), true);
  assert.equal(await shown(page, 'p-window'), true);
  assert.equal(await shown(page, 'p-stride'), true);
  await page.waitForFunction(() => /clip/.test(document.getElementById('formula').textContent) && /mod/.test(document.getElementById('formula').textContent));
  await setKnobs(page, { positional: 'sinusoidal' });
  await page.waitForFunction(() => /sin/.test(document.getElementById('formula').textContent) && /cos/.test(document.getElementById('formula').textContent));
  await page.waitForFunction(() => /Memory:/.test(document.getElementById('memory').textContent));
  // Heads that do not divide the width are flagged as they are typed, before Train (issue 19, defect 8).
  await setKnobs(page, { heads: 3 });
  await page.waitForFunction(() => /multiple of the number of heads \(3\)/.test(document.getElementById('memory').textContent));
  assert.equal(await page.$eval('#memory', (el) => el.classList.contains('warning')), true);
  await setKnobs(page, { heads: 4 });
  await page.waitForFunction(() => /Memory:/.test(document.getElementById('memory').textContent));
  assert.equal(await page.$eval('#memory', (el) => el.classList.contains('warning')), false);
  await page.click('#lang');
  assert.equal(await page.$eval('#family option[value="transformer"]', (el) => el.textContent), 'Transformer（仅解码器，GPT）');
  assert.match(await page.$eval('label[for="p-positional"]', (el) => el.textContent), /位置编码/);
  assert.deepEqual(page.errors, []);
});

test('a small Transformer with each positional encoding beats the bigram model and generates', async () => {
  const started = Date.now();
  const page = await openPage(env);
  await setData(page);
  // The bigram model on the same text and split.
  await page.fill('#p-order', '2');
  await trainNow(page);
  const bigram = await ppl(page);

  await page.selectOption('#family', 'transformer');
  await setKnobs(page, SMALL);
  const results = {};
  for (const positional of ENCODINGS) {
    await setKnobs(page, { positional });
    await page.click('#train');
    await page.waitForFunction(() => document.getElementById('r-ppl').dataset.value !== '' || !document.getElementById('error').hidden, null, { timeout: 180000 });
    assert.equal(await page.$eval('#error', (el) => (el.hidden ? null : el.textContent)), null);
    await page.waitForFunction(() => !document.getElementById('train').disabled);
    results[positional] = await ppl(page);
    assert.match(await page.$eval('#r-model', (el) => el.textContent), /^Transformer: 2 layers × 2 heads, d = 32, T = 32/);

    // It generates text.
    await page.fill('#length', '30');
    await page.click('#generate');
    await page.waitForFunction(() => document.querySelectorAll('#output .tok').length >= 30);
    await page.waitForFunction(() => !document.getElementById('generate').disabled);
    assert.ok((await page.$eval('#output', (el) => el.textContent)).length >= 30);
  }
  await page.waitForFunction(() => document.querySelectorAll('#runs tbody tr[data-run]').length === 7);
  assert.match(await page.$eval('#runs tbody tr[data-run]', (el) => el.textContent), /Transformer: 2 layers/);
  const summary = `bigram ${bigram.toFixed(2)}; ${ENCODINGS.map((p) => `${p} ${results[p].toFixed(2)}`).join(', ')}`;
  console.log(`# ${summary}; ${((Date.now() - started) / 1000).toFixed(1)} s`);
  // Every encoding, sinusoidal included (its token embedding is √C·E[w], as Vaswani et al.: without
  // the factor, amplitude-1 sinusoids drowned N(0, 0.02²) embeddings and it stayed above the bigram).
  for (const p of ENCODINGS) assert.ok(results[p] < bigram, `${p}: ${summary}`);
  assert.deepEqual(page.errors, []);
});

test('the comparison runner trains the six encodings in the worker and charts them; the model stays', async () => {
  const page = await openPage(env);
  await setData(page, '4');
  await page.selectOption('#family', 'transformer');
  await setKnobs(page, { ...SMALL, steps: 20, eval_interval: 10 });
  await trainNow(page);
  const mine = await ppl(page);
  await page.click('#tab-positional');
  // No empty chart before a comparison has run (issue 19, defect 8).
  await page.waitForSelector('#cmp-run');
  assert.equal(await page.$eval('#cmp-chart', (el) => el.hidden), true);
  assert.equal(await page.$eval('#cmp-png', (el) => el.hidden), true);
  await page.fill('#cmp-steps', '20');
  await page.click('#cmp-run');
  await page.waitForFunction(() => document.getElementById('cmp-chart')?.dataset.done === '6', null, { timeout: 180000 });
  assert.equal(await page.$eval('#cmp-chart', (el) => el.dataset.series), '6');
  const rows = await page.$$eval('#cmp-table tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
  assert.deepEqual(rows.map((r) => r[0]), ['learned absolute', 'sinusoidal', 'relative (Shaw et al.)', 'ALiBi', 'RoPE', 'none (NoPE)']);
  for (const r of rows) assert.ok(Number.isFinite(Number(r[1])) && Number(r[1]) > 0, r.join(' '));
  await page.waitForSelector('#cmp-chart .uplot canvas');
  await page.waitForFunction(() => !document.getElementById('cmp-run').disabled);
  // The page's own model is untouched: it still generates and reports its perplexity.
  assert.equal(await ppl(page), mine);
  await page.click('#generate');
  await page.waitForFunction(() => document.querySelectorAll('#output .tok').length > 5);
  // The comparison's losses are kept with the page: after a reload, they show with the next model.
  await saved(page);
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  await trainNow(page);
  await page.click('#tab-positional');
  await page.waitForFunction(() => document.getElementById('cmp-chart')?.dataset.done === '6');
  assert.deepEqual(await page.$$eval('#cmp-table tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent))), rows);
  assert.deepEqual(page.errors, []);
});

test('the cost lesson measures attention against T in the worker and draws log-log lines with their slopes', async () => {
  const page = await openPage(env, { contextOptions: { bypassCSP: true } });
  await setData(page, '2');
  await page.selectOption('#family', 'transformer');
  await setKnobs(page, { ...SMALL, steps: 5 });
  await trainNow(page);
  await page.click('#tab-attention-cost');
  await page.selectOption('#cost-max', '512');
  await page.click('#cost-run');
  await page.waitForFunction(() => !document.getElementById('cost-run').disabled && document.querySelectorAll('#cost-slopes li').length === 4, null, { timeout: 120000 });
  assert.equal(await page.$eval('#cost-time', (el) => el.dataset.points), String(4 * 4), 'T = 64 … 512 for full, sparse, linear and fused attention');
  await page.waitForSelector('#cost-time .uplot canvas');
  await page.waitForSelector('#cost-memory .uplot canvas');
  // The T axis ends where the data does (issue 19, defect 8: it ran on to the next decade).
  for (const id of ['cost-time', 'cost-memory']) {
    assert.deepEqual(await page.$eval(`#${id}`, (el) => [Number(el.dataset.xMin), Number(el.dataset.xMax)]), [64, 512], id);
  }
  const slopes = await page.$$eval('#cost-slopes li', (lis) => lis.map((li) => [li.dataset.pattern, Number(li.dataset.timeSlope), Number(li.dataset.memorySlope)]));
  for (const [p, time, mem] of slopes) assert.ok(Number.isFinite(time) && Number.isFinite(mem), `${p}: ${time} ${mem}`);
  // Memory is exact: full attention's T × T scores dominate (128T + T² floats at d = 32); linear
  // attention's state does not grow with T (129T floats and a constant).
  const full = slopes.find((s) => s[0] === 'full');
  const linear = slopes.find((s) => s[0] === 'linear');
  assert.ok(full[2] > 1.4 && full[2] < 2, `${full[2]}`);
  assert.ok(linear[2] > 0.9 && linear[2] < 1.05, `${linear[2]}`);
  // The fused (FlashAttention) form keeps a log-sum-exp per row, not the T × T matrix: linear memory.
  const fused = slopes.find((s) => s[0] === 'fused');
  assert.ok(fused[2] > 0.9 && fused[2] < 1.05, `${fused[2]}`);
  // Sparse attention saves memory too: it keeps no T × T matrix, only the rows' statistics (issue 19).
  const sparse = slopes.find((s) => s[0] === 'sparse');
  assert.ok(sparse[2] > 0.9 && sparse[2] < 1.05, `${sparse[2]}`);
  assert.equal(await page.$eval('#cost-slopes li[data-pattern="linear"]', (el) => el.dataset.scoresSlope), '—', 'linear attention forms no scores');
  await page.$eval('#view-panel .cost-values', (d) => { d.open = true; });
  await screenshot(page, 'transformer-cost', '#views-card');
  assert.deepEqual(await axeViolations(page, '#views-card'), []);
  // The measurements are kept with the page: after a reload they are drawn again, with their slopes.
  await saved(page);
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  await trainNow(page);
  await page.click('#tab-attention-cost');
  assert.equal(await value(page, 'cost-max'), '512');
  await page.waitForFunction(() => document.querySelectorAll('#cost-slopes li').length === 4);
  assert.deepEqual(await page.$$eval('#cost-slopes li', (lis) => lis.map((li) => [li.dataset.pattern, Number(li.dataset.timeSlope), Number(li.dataset.memorySlope)])), slopes);
  assert.deepEqual(page.errors, []);
});

/** Opens a view's tab and waits for it to draw (`ready`), or for the core to say it has no such view. */
async function openView(page, tab, ready) {
  await page.click(`#tab-${tab}`);
  await page.waitForFunction((sel) => document.querySelector(sel) || /no view named/.test(document.querySelector('#view-panel [role=alert]')?.textContent || ''), ready, { timeout: 60000 });
  return Boolean(await page.$(ready));
}

test('the attention maps: every layer and head, head averages, rollout, live while training, keyboard, PNG, axe-core; the positional encodings', async (t) => {
  const page = await openPage(env, { contextOptions: { bypassCSP: true } });
  await setData(page, '6');
  await page.selectOption('#family', 'transformer');
  await setKnobs(page, { ...SMALL, steps: 40, eval_interval: 20, attention: 'sparse', window: 4, stride: 4 });
  await trainNow(page);
  if (!(await openView(page, 'attention', '#att-grid .att-thumb'))) {
    t.skip('the core has no attention view yet');
    return;
  }
  assert.equal(await page.$eval('#att-grid', (el) => el.dataset.heads), '4');
  assert.equal(await page.$$eval('#att-grid .att-thumb', (bs) => bs.length), 4 + 2 + 1, 'heads, an average per layer, the rollout');
  assert.equal(await page.$$eval('#att-grid .att-thumb canvas', (cs) => cs.filter((c) => c.width > 1 && c.height === c.width).length), 7);
  // A text of our own.
  await page.fill('#att-text', 'To be, or not');
  await page.click('#view-panel .att-form button[type=submit]');
  // The text as the model reads it: its line between <s> and </s>, the tokens as text on the axes.
  await page.waitForFunction(() => document.getElementById('att-map')?.dataset.rows === '15');
  assert.deepEqual(await page.$$eval('.mx-rows span', (ss) => ss.map((s) => s.textContent)), [...'▸To␣be,␣or␣not↵']);
  assert.deepEqual(await page.$$eval('.mx-cols span', (ss) => ss.map((s) => s.textContent)), [...'▸To␣be,␣or␣not↵']);
  assert.equal(await page.$$eval('.att-strongest li', (lis) => lis.length), 15);
  // The keyboard cursor reads cells: focus starts at the last query's first key.
  await page.focus('#att-map');
  assert.match(await page.$eval('.mx-said', (el) => el.textContent), /^Query “↵” \(token 15\) → key “▸” \(token 1\): [01]\.\d{3}$/);
  // Sparse (window 4, stride 4): query 14 does not read key 3 (distance 11), and nothing reads the future.
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  assert.equal(await page.$eval('.mx-said', (el) => el.textContent), 'Query “t” (token 14) → key “o” (token 3): 0.000');
  await page.keyboard.press('End');
  assert.match(await page.$eval('.mx-said', (el) => el.textContent), /key “↵” \(token 15\): in the future, masked$/);
  // Thumbnails are buttons: Enter picks one; the rollout too.
  await page.focus('#att-grid .att-thumb[data-kind="average"]');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /average/.test(document.querySelector('.att-title').textContent));
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#view-panel .att-big .png-export')]);
  assert.match(download.suggestedFilename(), /^lmplay-attention-transformer-2x32-average-l1-\d{8}-\d{6}\.png$/);
  assert.deepEqual([...fs.readFileSync(await download.path()).subarray(0, 4)], [137, 80, 78, 71]);
  await page.click('#att-grid .att-thumb[data-kind="rollout"]');
  await page.waitForFunction(() => /rollout/.test(document.querySelector('.att-title').textContent));
  await screenshot(page, 'transformer-attention', '#views-card');
  assert.deepEqual(await axeViolations(page, '#views-card'), []);

  // Live: the maps show while the next model trains, redrawn after its chunks; only live views then.
  await setKnobs(page, { steps: 300 });
  await page.click('#train');
  await page.waitForFunction(() => Number(document.getElementById('att-grid')?.dataset.draws || 0) >= 3 && document.getElementById('train').disabled, null, { timeout: 60000 });
  assert.equal(await page.$('#tab-next'), null, 'only live views while training');
  await page.click('#stop');
  await page.waitForFunction(() => !document.getElementById('train').disabled);
  assert.equal(await page.$eval('#att-text', (el) => el.value), 'To be, or not', 'the same data keeps the text');

  // On another corpus the typed text is dropped: in the new model's vocabulary it would be [UNK]s
  // (issue 19, defect 8).
  await page.selectOption('#preset', 'tang300');
  await page.waitForFunction(() => /[\u4e00-\u9fff]/.test(document.getElementById('corpus').value.slice(0, 200)));
  await setKnobs(page, { steps: 5 });
  await trainNow(page);
  assert.ok(await openView(page, 'attention', '#att-grid .att-thumb'));
  assert.equal(await page.$eval('#att-text', (el) => el.value), '');
  await page.selectOption('#preset', 'shakespeare');
  await page.waitForFunction(() => /Citizen/.test(document.getElementById('corpus').value.slice(0, 200)));

  // Each encoding's own picture of the trained model (none has nothing to draw).
  for (const positional of ENCODINGS) {
    await setKnobs(page, { positional, steps: 5 });
    await trainNow(page);
    const sel = positional === 'none' ? '#pos-maps .hint' : '#pos-maps canvas';
    assert.ok(await openView(page, 'positional', sel), `the positional view of ${positional}`);
    if (positional === 'learned') assert.deepEqual(await axeViolations(page, '#views-card'), []);
  }
  await page.click('#lang');
  await page.waitForFunction(() => document.getElementById('tab-attention')?.textContent === '注意力');
  await page.click('#lang');
  assert.deepEqual(page.errors, []);
});

test('linear attention trains and shows its implied maps; a share link keeps the Transformer; its description is translated', async () => {
  const page = await openPage(env);
  await setData(page, '6');
  await page.selectOption('#family', 'transformer');
  await page.waitForFunction(() => /ReLU/.test(document.getElementById('formula').textContent));
  await setKnobs(page, { ...SMALL, steps: 5, positional: 'sinusoidal', attention: 'linear' });
  await page.waitForFunction(() => /elu/.test(document.getElementById('formula').textContent));
  assert.equal(await shown(page, 'p-window'), false);
  await trainNow(page);
  assert.match(await page.$eval('#r-model', (el) => el.textContent), /sinusoidal, linear \(elu \+ 1\), pre-LN/);
  assert.ok(await openView(page, 'attention', '#att-grid .att-thumb'));
  assert.equal(await page.$eval('#att-grid', (el) => el.dataset.heads), '4');
  await setKnobs(page, { ...SMALL, steps: 5, positional: 'alibi', attention: 'sparse', window: 4, stride: 4, norm: 'post' });
  await trainNow(page);
  assert.match(await page.$eval('#r-model', (el) => el.textContent), /^Transformer: 2 layers × 2 heads, d = 32, T = 32, ALiBi, sparse attention \(w = 4, s = 4\), post-LN/);
  await page.click('#lang');
  assert.match(await page.$eval('#r-model', (el) => el.textContent), /^Transformer：2 层 × 2 头，d = 32，T = 32，ALiBi，稀疏注意力（w = 4，s = 4），后置 LN/);
  await page.click('#lang');
  await page.click('#share');
  await page.waitForSelector('#share-dialog[open]');
  const url = await page.$eval('#share-url', (el) => el.value);
  await page.click('#share-close');
  const shared = await openPage(env, { hash: url.slice(url.indexOf('#')) });
  assert.equal(await value(shared, 'family'), 'transformer');
  for (const [id, v] of Object.entries({ positional: 'alibi', attention: 'sparse', window: '4', stride: '4', heads: '2', width: '32', norm: 'post', steps: '5' })) {
    assert.equal(await value(shared, `p-${id}`), v, id);
  }
  assert.deepEqual(shared.errors, []);
  await shared.context().close();
  assert.deepEqual(page.errors, []);
});

test('a share link and a reload restore the attention view exactly: its text, layer, head and mode; the other views\' choices', async () => {
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await openPage(env, { context });
  await setData(page, '5');
  await page.selectOption('#family', 'transformer');
  await setKnobs(page, { ...SMALL, steps: 5, positional: 'relative', rel_clip: 6 });
  await trainNow(page);
  // The runs table names the run's key settings, as for every family.
  await page.waitForFunction(() => document.querySelectorAll('#runs tbody tr[data-run]').length === 1);
  assert.match(await page.$eval('#runs tbody tr[data-run]', (el) => el.textContent), /Transformer: 2 layers × 2 heads, d = 32, T = 32, relative \(Shaw et al\., k = 6\), full causal, pre-LN/);
  assert.ok(await openView(page, 'attention', '#att-grid .att-thumb'));
  const text = 'To be, <b>or</b> not';
  await page.fill('#att-text', text);
  await page.click('#view-panel .att-form button[type=submit]');
  await page.waitForFunction((n) => document.getElementById('att-map')?.dataset.rows === String(n), text.length + 2);
  // Thumbnails: layer 1's two heads and average, then layer 2's; the rollout last.
  await page.click('#att-grid .att-row:nth-child(2) .att-thumb[data-kind="head"]:nth-of-type(2)');
  await page.waitForFunction(() => document.querySelector('.att-title').textContent === 'Layer 2, head 2');
  await page.click('#share');
  await page.waitForSelector('#share-dialog[open]');
  const url = await page.$eval('#share-url', (el) => el.value);
  await page.click('#share-close');

  /** The attention view as shown: its text, the title of the map and the thumbnail pressed. */
  const shownState = (p) => p.evaluate(() => ({
    text: document.getElementById('att-text').value,
    title: document.querySelector('.att-title').textContent,
    pressed: [...document.querySelectorAll('#att-grid .att-thumb')].findIndex((b) => b.getAttribute('aria-pressed') === 'true'),
    rows: document.getElementById('att-map').dataset.rows,
    markup: document.querySelectorAll('#view-panel b').length,
  }));
  const before = await shownState(page);
  assert.deepEqual(before, { text, title: 'Layer 2, head 2', pressed: 4, rows: String(text.length + 2), markup: 0 });

  const shared = await openPage(env, { hash: url.slice(url.indexOf('#')) });
  await shared.click('#banner-train');
  await shared.waitForFunction(() => document.getElementById('tab-attention')?.getAttribute('aria-selected') === 'true' && document.getElementById('r-ppl').dataset.value !== '', null, { timeout: 60000 });
  await shared.waitForFunction((n) => document.getElementById('att-map')?.dataset.rows === n, before.rows);
  assert.deepEqual(await shownState(shared), before, 'the link restores the text and the map chosen');
  assert.deepEqual(shared.errors, []);
  await shared.context().close();

  // The saved page: another mode (layer 1's head average) and the other views' choices survive a reload.
  await page.click('#att-grid .att-row:nth-child(1) .att-thumb[data-kind="average"]');
  await page.waitForFunction(() => document.querySelector('.att-title').textContent === 'Layer 1, average of the heads');
  await page.click('#tab-attention-cost');
  await page.selectOption('#cost-max', '512');
  await page.fill('#cost-width', '16');
  await page.$eval('#cost-width', (el) => el.dispatchEvent(new Event('change', { bubbles: true })));
  await page.click('#tab-positional');
  await page.fill('#cmp-steps', '25');
  await page.$eval('#cmp-steps', (el) => el.dispatchEvent(new Event('change', { bubbles: true })));
  await page.click('#tab-attention');
  await saved(page);
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  await trainNow(page);
  await page.waitForFunction(() => document.getElementById('tab-attention')?.getAttribute('aria-selected') === 'true');
  await page.waitForFunction((n) => document.getElementById('att-map')?.dataset.rows === n, before.rows);
  assert.deepEqual(await shownState(page), { ...before, title: 'Layer 1, average of the heads', pressed: 2 });
  await page.click('#tab-attention-cost');
  assert.equal(await value(page, 'cost-max'), '512');
  assert.equal(await value(page, 'cost-width'), '16');
  await page.click('#tab-positional');
  assert.equal(await value(page, 'cmp-steps'), '25');
  assert.deepEqual(page.errors, []);
  await context.close();
});

// The formula's TeX is the same in both languages (lib/models.js), so English alone is measured.
test('the Transformer\'s formula fits a 1366 px screen for every attention and encoding', async () => {
  const page = await openPage(env, { viewport: { width: 1366, height: 768 } });
  await page.selectOption('#family', 'transformer');
  const over = [];
  for (const attention of ['full', 'sparse', 'linear']) {
    for (const positional of ENCODINGS) {
      await setKnobs(page, { attention, positional, norm: 'post' });
      await page.waitForFunction(() => document.querySelector('#formula .katex'));
      const [sw, cw] = await page.$eval('#formula', (el) => [el.scrollWidth, el.clientWidth]);
      if (sw > cw + 1) over.push(`${attention} ${positional}: ${sw} > ${cw}`);
    }
  }
  assert.deepEqual(over, []);
  assert.deepEqual(page.errors, []);
});

test('an attention map of 64 tokens has readable axes: the panel\'s width, every k-th label where cells are narrow, the token under the cursor', async () => {
  const page = await openPage(env, { viewport: { width: 1366, height: 900 } });
  await setData(page, '6');
  await page.selectOption('#family', 'transformer');
  await setKnobs(page, { ...SMALL, context: 64, steps: 5 });
  await trainNow(page);
  assert.ok(await openView(page, 'attention', '#att-grid .att-thumb'));
  const text = 'First Citizen: Before we proceed any further, hear me speak no';
  assert.equal(text.length, 62);
  const show = async () => {
    await page.fill('#att-text', text);
    await page.click('#view-panel .att-form button[type=submit]');
    await page.waitForFunction(() => document.getElementById('att-map')?.dataset.rows === '64');
  };
  await show();
  // The map uses the panel's width: every token labelled, in a readable size (issue 19, defect 4).
  assert.ok(await page.$eval('#att-map', (el) => el.getBoundingClientRect().width) >= 700, 'the map uses the space');
  const fonts = () => page.$$eval('.mx-cols span', (ss) => ss.filter((s) => s.textContent).map((s) => parseFloat(getComputedStyle(s).fontSize)));
  let shown = await fonts();
  assert.equal(shown.length, 64);
  assert.ok(shown.every((px) => px >= 10), shown.join(','));
  // Narrow: every k-th token is labelled, still readable, and the cursor's column shows its token.
  await page.setViewportSize({ width: 560, height: 900 });
  await show();
  await page.waitForFunction(() => Number(document.querySelector('#view-panel .mx-cols')?.dataset.every) > 1);
  shown = await fonts();
  assert.ok(shown.length < 64 && shown.length >= 16, `${shown.length} labels`);
  assert.ok(shown.every((px) => px >= 10), shown.join(','));
  const every = await page.$eval('#view-panel .mx-cols', (el) => Number(el.dataset.every));
  await page.locator('#att-map').scrollIntoViewIfNeeded();
  const box = await page.locator('#att-map').boundingBox();
  const cell = box.width / 64;
  await page.mouse.move(box.x + 1.5 * cell, box.y + box.height - cell / 2);
  await page.waitForFunction(() => document.querySelector('#view-panel .mx-cols span.on')?.textContent === 'F');
  assert.equal(1 % every === 0, false, 'column 1 had no label of its own');
  assert.match(await page.$eval('.mx-said', (el) => el.textContent), /key “F” \(token 2\)/);
  // The PNG keeps readable labels (every k-th, at 11 px or more): it downloads.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#att-png')]);
  assert.deepEqual([...fs.readFileSync(await download.path()).subarray(0, 4)], [137, 80, 78, 71]);
  assert.deepEqual(page.errors, []);
});
