// The hidden-state heatmap, gate saturation over training, the runs comparison chart of every family
// and PNG export: an LSTM's heatmap with its gates, a unit picked by hover and by keys colours the
// text (as text, never HTML); its saturation chart has points; the heatmap and the loss chart
// download as PNGs of their size; an n-gram and a neural run share one comparison chart, with a
// warning when their vocabularies differ; 中文; a phone-width page; axe-core.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startBrowser, openPage, screenshot, setKnobs, trainNow, ROOT, ARTIFACTS } from '../harness/browser.mjs';
import { pngSize } from '../../www/lib/export.js';

let env;
before(async () => { env = await startBrowser(); });
after(async () => { await env?.close(); });

const SMALL = { layers: 2, embed: 8, hidden: 16, bptt: 16, batch: 8, steps: 120, lr: 0.01, warmup: 10, eval_interval: 40 };

async function charLstm(page, knobs = SMALL) {
  await page.$eval('#data-settings', (d) => { d.open = true; });
  await page.selectOption('#tokenizer', 'char');
  await page.fill('#seed', '5');
  await page.selectOption('#family', 'lstm');
  await setKnobs(page, knobs);
}

/**
 * Presses a PNG button (a click, or Enter on the focused button with `keyboard`); returns the
 * download's file name and the PNG's width and height.
 */
async function downloadPng(page, selector, { keyboard = false } = {}) {
  const press = keyboard ? page.focus(selector).then(() => page.keyboard.press('Enter')) : page.click(selector);
  const [download] = await Promise.all([page.waitForEvent('download'), press]);
  const bytes = fs.readFileSync(await download.path());
  // Kept with the screenshots, to look at (e.g. png-hidden-states.png).
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  fs.writeFileSync(path.join(ARTIFACTS, `png-${download.suggestedFilename().replace(/^lmplay-|-lstm.*|-ngram.*|-\d{8}-\d{6}\.png$/g, '')}.png`), bytes);
  return { name: download.suggestedFilename(), size: pngSize(bytes) };
}

const unitOf = (page) => page.$eval('#hs-heatmap', (el) => Number(el.dataset.unit));
const tint = (page, i) => page.$eval(`#hs-colored .hs-tok[data-i="${i}"]`, (el) => el.style.backgroundColor);

async function axe(page, selector) {
  await page.addScriptTag({ content: fs.readFileSync(path.join(ROOT, 'node_modules/axe-core/axe.min.js'), 'utf8') });
  const res = await page.evaluate((sel) => window.axe.run(sel, { runOnly: ['wcag2a', 'wcag2aa', 'best-practice'] }), selector);
  return res.violations.filter((v) => ['serious', 'critical'].includes(v.impact)).map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
}

test('an LSTM: gate saturation grows with training; the heatmap of h and the gates; a unit colours the text; PNGs; axe', async () => {
  const started = Date.now();
  // axe is injected as a script, which the page's CSP (rightly) forbids; bypass it for the check only.
  const page = await openPage(env, { contextOptions: { bypassCSP: true, acceptDownloads: true } });
  await charLstm(page);
  await trainNow(page);

  // Gate saturation: sampled during training, a series per layer and gate (i, f, o), ending at the last step.
  await page.waitForSelector('#sat-wrap:not([hidden]) #sat-chart canvas');
  assert.ok(await page.$eval('#sat-chart', (el) => Number(el.dataset.points)) >= 2, 'at least the first and the last sample');
  assert.equal(await page.$eval('#sat-chart', (el) => el.dataset.series), '6');
  assert.match(await page.$eval('#sat-latest', (el) => el.textContent), /^At step 120: layer 1: f \d+(\.\d+)?%, i \d+(\.\d+)?%, o \d+(\.\d+)?%; layer 2: f/);
  assert.equal(await page.$$eval('#sat-chart .u-legend .u-series', (s) => s.length), 6);
  // Each legend swatch draws its line's style: a layer's gates share a colour with the other layer's,
  // so the swatches must differ by dash (issue 19, defect 8).
  const swatches = await page.$$eval('#sat-chart .u-legend .u-series', (s) => s.map((x) => {
    const m = x.querySelector('.u-marker');
    return `${x.textContent.trim()}|${getComputedStyle(m).borderTopColor}|${getComputedStyle(m).borderTopStyle}`;
  }));
  assert.equal(new Set(swatches.map((x) => x.split('|').slice(1).join('|'))).size, 6, swatches.join('; '));

  // The loss chart as a PNG: the chart's width, taller (its title and legend), named for what it shows.
  const loss = await downloadPng(page, '#loss-wrap .png-export');
  const lossCanvas = await page.$eval('#loss-chart canvas', (c) => ({ width: c.width, height: c.height }));
  assert.match(loss.name, /^lmplay-loss-lstm-2x16-\d{8}-\d{6}\.png$/);
  assert.equal(loss.size.width, lossCanvas.width);
  assert.ok(loss.size.height > lossCanvas.height + 30, `${loss.size.height} vs ${lossCanvas.height}`);
  assert.match(await page.$eval('#loss-wrap .png-export', (b) => b.getAttribute('aria-label')), /^Loss: save as PNG$/);

  // The vanishing-gradients chart exports too.
  await page.click('#tab-gradient-flow');
  await page.waitForSelector('#gf-chart[data-ready="true"] canvas');
  const gf = await downloadPng(page, '#gf-png');
  assert.match(gf.name, /^lmplay-gradient-flow-lstm-2x16-\d{8}-\d{6}\.png$/);
  assert.equal(gf.size.width, await page.$eval('#gf-chart canvas', (c) => c.width));

  // The heatmap: h of layer 1 on the validation text, a token under each column.
  await page.click('#tab-hidden-states');
  await page.waitForSelector('#hs-heatmap[data-ready="true"]');
  assert.deepEqual(await page.$$eval('#hs-show option', (os) => os.map((o) => o.value)), ['h', 'i', 'f', 'g', 'o']);
  assert.deepEqual(await page.$$eval('#hs-layer option', (os) => os.map((o) => o.textContent)), ['layer 1', 'layer 2']);
  const tokens = await page.$$eval('#hs-colored .hs-tok', (s) => s.length);
  assert.ok(tokens > 20 && tokens <= 200, `${tokens} tokens`);
  assert.match(await page.$eval('#view-panel .hint:nth-of-type(2)', (el) => el.textContent), new RegExp(`^${tokens} tokens`));
  const canvas = await page.$eval('#hs-heatmap', (c) => ({ width: c.width, height: c.height, label: c.getAttribute('aria-label'), role: c.getAttribute('role'), max: c.getAttribute('aria-valuemax') }));
  assert.equal(canvas.role, 'slider');
  assert.equal(canvas.max, '16');
  assert.match(canvas.label, /hidden state h, layer 1/);
  assert.ok(canvas.width >= 34 + tokens * 13, `${canvas.width} px for ${tokens} tokens`);
  assert.match(await page.$eval('#hs-heatmap-desc', (el) => el.textContent), new RegExp(`16 units of layer 1; columns: the ${tokens} tokens`));

  // Keyboard: focus the heatmap, arrow keys move the unit, and the text is coloured by it.
  await page.focus('#hs-heatmap');
  const u0 = await unitOf(page);
  const colours0 = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => tint(page, i)));
  await page.keyboard.press(u0 === 15 ? 'ArrowUp' : 'ArrowDown');
  const u1 = await unitOf(page);
  assert.equal(Math.abs(u1 - u0), 1);
  assert.equal(await page.$eval('#hs-heatmap', (el) => el.getAttribute('aria-valuenow')), String(u1 + 1));
  assert.match(await page.$eval('#hs-heatmap', (el) => el.getAttribute('aria-valuetext')), new RegExp(`^Unit ${u1 + 1} of 16: highest -?\\d\\.\\d\\d at “.+”, lowest`));
  const colours1 = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => tint(page, i)));
  // The first unit's outline and label are whole: the heatmap keeps a margin above its first row
  // (issue 19, defect 8: both were cut at the canvas' top edge).
  await page.keyboard.press('Home');
  assert.equal(await unitOf(page), 0);
  const top = await page.$eval('#hs-heatmap', (c) => {
    const scale = c.width / c.getBoundingClientRect().width;
    const x = Math.round(60 * scale);
    const px = c.getContext('2d').getImageData(x, 0, 1, c.height).data;
    for (let y = 0; y < c.height; y++) if (px[4 * y + 3] > 0) return { y, dark: px[4 * y] + px[4 * y + 1] + px[4 * y + 2] < 3 * 128 };
    return null;
  });
  assert.ok(top && top.y > 0 && top.dark, `the topmost painted pixel is the outline, below the edge: ${JSON.stringify(top)}`);
  await page.keyboard.press(u1 === 0 ? 'Home' : 'End');
  while ((await unitOf(page)) !== u1) await page.keyboard.press((await unitOf(page)) < u1 ? 'ArrowDown' : 'ArrowUp');
  assert.notDeepEqual(colours1, colours0, 'another unit, other colours');
  await page.keyboard.press('Home');
  assert.equal(await unitOf(page), 0);
  await page.keyboard.press('End');
  assert.equal(await unitOf(page), 15);
  // Hover: the row under the pointer is the unit.
  const box = await page.locator('#hs-heatmap').boundingBox();
  const rh = Math.max(3, Math.min(12, Math.round(320 / 16)));
  await page.mouse.move(box.x + 60, box.y + 7 + 3 * rh + rh / 2); // below the 7 px top margin
  await page.waitForFunction(() => document.getElementById('hs-heatmap').dataset.unit === '3');
  // Hovering a token of the text outlines its column.
  await page.hover('#hs-colored .hs-tok[data-i="4"]');
  await page.waitForFunction(() => document.getElementById('hs-heatmap').dataset.column === '4');

  // A gate: the forget gate of layer 2, on the sigmoid scale (0 … 1).
  await page.selectOption('#hs-layer', '1');
  await page.selectOption('#hs-show', 'f');
  await page.waitForFunction(() => /forget gate f, layer 2/.test(document.getElementById('hs-heatmap').getAttribute('aria-label')));
  assert.match(await page.$eval('#hs-heatmap-desc', (el) => el.textContent), /from 0 to 1/);
  assert.ok(await page.$$eval('#view-panel .hs-saturation tbody tr', (trs) => trs.length) === 2, 'saturation on this text, per layer');

  // The user's own text, with markup in it: shown as text, never as HTML.
  await page.selectOption('#hs-source', 'custom');
  await page.fill('#hs-text', 'to be <b>or</b> not');
  await page.click('#view-panel form button[type=submit]');
  await page.waitForFunction(() => document.querySelectorAll('#hs-colored .hs-tok').length < 30);
  assert.equal(await page.$$eval('#hs-colored b, #view-panel b', (x) => x.length), 0);
  // (<, > and b are not in this corpus's characters: the model reads them as [UNK], shown as text too.)
  assert.match(await page.$eval('#hs-colored', (el) => el.textContent), /^to be \[UNK\]b\[UNK\]or\[UNK\]\[UNK\]b\[UNK\] not/);
  await page.waitForFunction(() => /forget gate f, layer 2/.test(document.getElementById('hs-heatmap').getAttribute('aria-label')));

  // The heatmap as a PNG: the heatmap's width, with its title and colour bar below.
  const heat = await downloadPng(page, '#hs-png');
  const hs = await page.$eval('#hs-heatmap', (c) => ({ width: c.width, height: c.height }));
  assert.match(heat.name, /^lmplay-hidden-states-lstm-2x16-f-layer2-\d{8}-\d{6}\.png$/);
  assert.equal(heat.size.width, hs.width);
  assert.ok(heat.size.height > hs.height + 40);
  await screenshot(page, 'charts-heatmap', '#views-card');

  // What is chosen goes into the share link and the saved page.
  await page.click('#share');
  const url = await page.$eval('#share-url', (el) => el.value);
  await page.keyboard.press('Escape');
  const shared = await page.evaluate(async (u) => {
    const { decodeHash } = await import('/www/lib/share.js');
    return (await decodeHash(new URL(u).hash)).state;
  }, url);
  assert.equal(shared.view, 'hidden-states');
  assert.deepEqual(shared.view_state, { source: 'custom', text: 'to be <b>or</b> not', layer: 1, show: 'f' });

  // The runs table keeps the last saturation sample; 中文.
  await page.click('#runs tbody tr[data-run] input[type=checkbox]');
  await page.waitForSelector('#runs-compare:not([hidden]), #runs-chart:not([hidden])');
  await page.click('#lang');
  await page.waitForFunction(() => document.getElementById('tab-hidden-states')?.textContent === '隐藏状态');
  await page.waitForSelector('#hs-heatmap[data-ready="true"]');
  assert.match(await page.$eval('#hs-heatmap', (el) => el.getAttribute('aria-label')), /第 2 层遗忘门 f的热图/);
  assert.equal(await page.$eval('#sat-wrap h3', (el) => el.textContent), '门饱和度');
  assert.match(await page.$eval('#sat-latest', (el) => el.textContent), /^第 120 步：/);
  await page.click('#lang');
  await page.waitForSelector('#hs-heatmap[data-ready="true"]');

  assert.deepEqual(await axe(page, '#views-card'), []);
  assert.deepEqual(await axe(page, '#results-card'), []);
  assert.deepEqual(page.errors, []);
  console.log(`# ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

test('the comparison chart: an n-gram level line and a neural curve, loss and perplexity, the vocabulary warning, PNG', async () => {
  const page = await openPage(env, { contextOptions: { bypassCSP: true, acceptDownloads: true } });
  await page.$eval('#data-settings', (d) => { d.open = true; });
  await page.selectOption('#tokenizer', 'char');
  await page.fill('#seed', '5');
  await trainNow(page); // the default family: a 3-gram
  // Bar lists export too: the next-token distribution, drawn at the list's width.
  await page.waitForSelector('#view-panel .bars .bar-row');
  const bars = await downloadPng(page, '#view-panel .png-export');
  assert.match(bars.name, /^lmplay-next-token-ngram-3-modified-kn-\d{8}-\d{6}\.png$/);
  assert.equal(bars.size.width, await page.$eval('#view-panel .bars', (el) => Math.ceil(Math.max(300, el.clientWidth) * devicePixelRatio)));
  // And the n-gram views' charts: count of counts and Zipf, a button each.
  await page.click('#tab-zipf');
  await page.waitForFunction(() => document.querySelectorAll('#view-panel .chart canvas').length === 2);
  assert.equal(await page.$$eval('#view-panel .png-export', (b) => b.length), 2);
  const zipf = await downloadPng(page, '#view-panel .png-export >> nth=1');
  assert.match(zipf.name, /^lmplay-zipf-ngram-3-modified-kn-\d{8}-\d{6}\.png$/);
  assert.equal(zipf.size.width, await page.$$eval('#view-panel .chart canvas', (cs) => cs[1].width));
  await page.click('#tab-next');
  await page.selectOption('#family', 'lstm');
  await setKnobs(page, { ...SMALL, layers: 1, steps: 60, eval_interval: 20 });
  await trainNow(page);
  await page.waitForFunction(() => document.querySelectorAll('#runs tbody tr[data-run]').length === 2);
  for (const k of [1, 2]) {
    await page.click(`#runs tbody tr[data-run]:nth-child(${k}) input[type=checkbox]`);
    await page.waitForFunction((n) => document.querySelectorAll('#runs tbody input:checked').length === n, k);
  }
  await page.waitForFunction(() => document.getElementById('runs-chart').dataset.kinds === 'level train valid');
  assert.equal(await page.$eval('#runs-chart', (el) => el.dataset.series), '3');
  const legend = await page.$$eval('#runs-chart .u-legend .u-series', (s) => s.map((x) => x.textContent.trim()));
  assert.equal(legend.length, 3);
  assert.ok(legend.some((l) => /^#\d+ LSTM: 1 layer.* · training \(smoothed\)$/.test(l)), legend.join(' | '));
  assert.ok(legend.some((l) => /^#\d+ LSTM: 1 layer.* · validation$/.test(l)), legend.join(' | '));
  assert.ok(legend.some((l) => /^#\d+ 3-gram, .* · validation \(no curve\)$/.test(l)), legend.join(' | '));
  assert.equal(await page.$eval('#runs-cmp-warning', (el) => el.hidden), true, 'same vocabulary, same split');
  assert.match(await page.$eval('#runs-cmp-note', (el) => el.textContent), /have no curve.*level line/);
  assert.match(await page.$eval('#runs-compare', (el) => el.textContent), /Gate saturation \(last\)/);

  // Perplexity: a log axis; from the keyboard.
  await page.focus('#runs-y-ppl');
  await page.keyboard.press('Space');
  assert.equal(await page.$eval('#runs-y-ppl', (el) => el.checked), true);
  await page.waitForFunction(() => document.getElementById('runs-chart').dataset.y === 'ppl');
  await page.waitForFunction(() => document.getElementById('runs-chart').dataset.series === '3');
  const ppl = await downloadPng(page, '#runs-cmp .png-export', { keyboard: true });
  assert.match(ppl.name, /^lmplay-runs-perplexity-\d{8}-\d{6}\.png$/);
  assert.equal(ppl.size.width, await page.$eval('#runs-chart canvas', (c) => c.width));
  await page.uncheck('#runs-show-train');
  await page.waitForFunction(() => document.getElementById('runs-chart').dataset.kinds === 'level valid');

  // A word-level n-gram: another vocabulary, so the chart warns.
  await page.selectOption('#family', 'ngram');
  await page.selectOption('#tokenizer', 'word');
  await trainNow(page);
  await page.waitForFunction(() => document.querySelectorAll('#runs tbody tr[data-run]').length === 3);
  await page.click('#runs tbody tr[data-run]:first-child input[type=checkbox]');
  await page.waitForFunction(() => !document.getElementById('runs-cmp-warning').hidden);
  assert.match(await page.$eval('#runs-cmp-warning', (el) => el.textContent), /different vocabularies \(#\d+, #\d+ \| #\d+\)/);
  await screenshot(page, 'charts-compare', '#runs-card');
  assert.deepEqual(await axe(page, '#runs-card'), []);
  assert.deepEqual(page.errors, []);
});

test('on a phone (390 px): the heatmap scrolls in its box, nothing else overflows, the controls are usable', async () => {
  const page = await openPage(env, { viewport: { width: 390, height: 844 }, contextOptions: { isMobile: true, hasTouch: true } });
  await charLstm(page, { ...SMALL, layers: 1, steps: 20, eval_interval: 20 });
  await trainNow(page);
  await page.click('#tab-hidden-states');
  await page.waitForSelector('#hs-heatmap[data-ready="true"]');
  const widths = await page.evaluate(() => ({
    doc: document.documentElement.scrollWidth,
    scroll: document.querySelector('.heatmap-scroll').clientWidth,
    canvas: document.getElementById('hs-heatmap').getBoundingClientRect().width,
  }));
  assert.ok(widths.doc <= 390, `the page is ${widths.doc} px wide`);
  assert.ok(widths.canvas > widths.scroll, 'the heatmap is wider than its box, which scrolls');
  for (const sel of ['#hs-source', '#hs-show', '#hs-png', '#view-panel form button[type=submit]', '#sat-wrap .png-export', '#loss-wrap .png-export']) {
    const b = await page.locator(sel).boundingBox();
    assert.ok(b && b.x >= 0 && b.x + b.width <= 390 && b.height >= 20, `${sel}: ${JSON.stringify(b)}`);
  }
  // A tap picks a unit.
  await page.locator('#hs-heatmap').scrollIntoViewIfNeeded();
  const box = await page.locator('#hs-heatmap').boundingBox();
  await page.touchscreen.tap(box.x + 50, box.y + 7 + 2); // the first row, below the 7 px top margin
  await page.waitForFunction(() => document.getElementById('hs-heatmap').dataset.unit === '0');
  await screenshot(page, 'charts-phone');
  assert.deepEqual(page.errors, []);
});
