// Subword tokens in the page (issue 19): BPE trains in English and 中文, explains why per-token
// perplexities are not comparable, shows its merges step by step, and travels in model files and links.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startBrowser, openPage, screenshot, trainNow, clickTrain, paste } from '../harness/browser.mjs';

let env;
before(async () => { env = await startBrowser(); });
after(async () => { await env?.close(); });

const text = (page, sel) => page.$eval(sel, (el) => el.textContent);
const ppl = (page) => page.$eval('#r-ppl', (el) => Number(el.dataset.value));

async function chooseBpe(page, size) {
  await page.$eval('#data-settings', (d) => { d.open = true; });
  await page.selectOption('#tokenizer', 'bpe');
  await page.fill('#bpe-vocab', String(size));
  await page.$eval('#bpe-vocab', (el) => el.dispatchEvent(new Event('change', { bubbles: true })));
}

/** Moves the merges slider to k as a user's drag does, and waits for the summary of k. */
async function slide(page, k, summary) {
  await page.$eval('#merges-k', (el, v) => { el.value = String(v); el.dispatchEvent(new Event('input', { bubbles: true })); }, k);
  await page.waitForFunction((re) => new RegExp(re).test(document.querySelector('.bpe-summary').textContent), summary.source);
}

test('BPE trains on English, says bits per character are what compares, and replays its merges from bytes', async () => {
  const page = await openPage(env);
  assert.equal(await page.$eval('#bpe-vocab', (el) => el.hidden), true, 'only the chosen tokenizer\'s knobs show');
  await chooseBpe(page, 400);
  assert.equal(await page.$eval('#bpe-vocab', (el) => el.hidden), false);
  assert.equal(await page.$eval('#min-count', (el) => el.hidden), true, 'min count does not apply to BPE');
  await trainNow(page);
  assert.equal(await text(page, '#r-vocab'), '403');
  const bpc = Number(await text(page, '#r-bpc'));
  const bits = Number(await text(page, '#r-bits'));
  assert.ok(bpc > 0.5 && bpc < bits, `a subword holds several characters: ${bpc} bits/char < ${bits} bits/token`);
  assert.match(await page.$eval('#notes li[data-code="per-token"]', (el) => el.textContent), /Bits per character can/);

  await page.click('#tab-merges');
  await page.waitForSelector('.bpe-list tbody tr');
  assert.equal(await page.$$eval('.bpe-list tbody tr', (rows) => rows.length), 400 - 256);
  const first = await page.$$eval('.bpe-list tbody tr:first-child td', (tds) => tds.map((td) => td.textContent));
  assert.equal(first[0], '1');
  assert.ok(Number(first[3].replace(/,/g, '')) > 10, `the first merge is the most frequent pair: ${first}`);
  assert.match(await text(page, '.bpe-summary'), /^After 144 of 144 merges: /);
  // No merge: one token per byte, so this ASCII excerpt has as many tokens as characters.
  await slide(page, 0, /^After 0 of 144/);
  const [, chars, tokens] = (await text(page, '.bpe-summary')).match(/([\d,]+) characters → ([\d,]+) tokens/);
  assert.equal(chars, tokens);
  assert.equal(await page.$$eval('.bpe-list tr.later', (r) => r.length), 144, 'merges not applied are faded');
  // A Chinese character is three bytes: with no merge each is a chip that cuts it.
  await page.fill('#merges-text', '中文');
  await page.waitForFunction(() => document.querySelectorAll('.bpe-cut .bpe-tok.bytes').length === 6);
  assert.equal(await page.$eval('.bpe-cut .bpe-tok', (el) => el.textContent), '\\xE4');
  await slide(page, 144, /^After 144 of 144/);
  await screenshot(page, 'bpe-merges');

  // Flattened by a high temperature, the model picks bytes no English line had (0x80–0xFF), which
  // make no character: the output shows U+FFFD for them, and a note says why.
  assert.equal(await page.$eval('#gen-bytes', (el) => el.hidden), true);
  await page.fill('#temperature', '5');
  await page.click('#generate');
  await page.waitForFunction(() => !document.getElementById('generate').disabled && document.querySelectorAll('#output .tok').length >= 100);
  assert.ok((await text(page, '#output')).includes('\uFFFD'));
  assert.equal(await page.$eval('#gen-bytes', (el) => el.hidden), false);
  assert.match(await text(page, '#gen-bytes'), /bytes that make no character/);
  assert.deepEqual(page.errors, []);
});

test('BPE on 唐诗 in 中文: nothing is [UNK], whole characters come out, and the model file and a link carry the tokenizer', async () => {
  const page = await openPage(env);
  await page.click('#lang');
  await page.selectOption('#preset', 'tang300');
  await page.waitForFunction(() => document.getElementById('corpus').value.includes('李白'));
  await chooseBpe(page, 600);
  await page.fill('#p-order', '3');
  await page.selectOption('#p-method', 'witten-bell');
  await trainNow(page, 180000);
  assert.match(await text(page, '#r-oov'), /^0\.00\s?% \(0\)$/);
  assert.match(await page.$eval('#notes li[data-code="per-token"]', (el) => el.textContent), /每字符比特数可以比较/);
  const trained = await ppl(page);

  await page.fill('#prompt', '床前');
  await page.click('#generate');
  await page.waitForFunction(() => !document.getElementById('generate').disabled && document.getElementById('output').textContent.length > 10);
  const out = await text(page, '#output');
  assert.ok(/[\u4e00-\u9fff]{4}/.test(out), `generated: ${out}`);
  assert.ok(!/\\x[0-9A-F]{2}/.test(out), 'bytes are joined into characters, never shown as escapes');

  // The model file keeps the merges: opened alone, the tokenizer and the merges view are back.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-model')]);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lmplay-bpe-')), 'model.safetensors');
  await download.saveAs(file);
  const other = await openPage(env);
  await other.selectOption('#preset', 'tang300'); // its corpus: validation is rebuilt, so the perplexity is back too
  await other.waitForFunction(() => document.getElementById('corpus').value.includes('李白'));
  await other.setInputFiles('#import-model', file);
  await other.waitForFunction(() => document.getElementById('r-ppl').dataset.value !== '', null, { timeout: 60000 });
  assert.equal(await ppl(other), trained);
  await other.click('#tab-merges');
  await other.waitForSelector('.bpe-list tbody tr');
  assert.equal(await other.$$eval('.bpe-list tbody tr', (rows) => rows.length), 600 - 256);
  // 明 and 月 are frequent enough to be merged whole; 床 (rarer) stays cut into its bytes.
  await other.fill('#merges-text', '床前明月');
  await other.waitForFunction(() => [...document.querySelectorAll('.bpe-cut .bpe-tok')].map((c) => c.textContent).join('|').endsWith('|前|明|月'));
  assert.ok(await other.$eval('.bpe-cut .bpe-tok', (el) => el.classList.contains('bytes')));
  assert.deepEqual(other.errors, []);
  await other.context().close();

  // A share link names the preset and the tokenizer: it retrains to the same model.
  await page.click('#share');
  await page.waitForSelector('#share-dialog[open]');
  const url = await page.$eval('#share-url', (el) => el.value);
  const linked = await openPage(env, { hash: url.slice(url.indexOf('#')) });
  assert.equal(await linked.$eval('#tokenizer', (el) => el.value), 'bpe');
  assert.equal(await linked.$eval('#bpe-vocab', (el) => el.value), '600');
  await linked.click('#banner-train');
  await linked.waitForFunction(() => document.getElementById('r-ppl').dataset.value !== '', null, { timeout: 180000 });
  assert.equal(await ppl(linked), trained);
  assert.deepEqual(linked.errors, []);
  assert.deepEqual(page.errors, []);
});

test('a BPE size outside 256–8192 is refused in the user\'s language, keeping the corpus; a size the text cannot fill is explained', async () => {
  const page = await openPage(env);
  await page.click('#lang');
  await paste(page, '#corpus', 'the cat sat\nthe dog sat\n');
  await chooseBpe(page, 100);
  const err = await clickTrain(page);
  assert.match(err ?? '', /BPE 词表大小必须在 256（全部字节）到 8,?192 之间（现在是 100）/);
  // Not a whole number: the same message, not a parser's.
  await chooseBpe(page, 300.5);
  assert.match(await clickTrain(page) ?? '', /BPE 词表大小必须在 256（全部字节）到 8,?192 之间（现在是 300\.5）/);
  assert.equal(await page.$eval('#corpus', (el) => el.value), 'the cat sat\nthe dog sat\n');
  // A size this little text cannot fill: the merges view says how many merges there were.
  await paste(page, '#corpus', 'the cat sat on the mat\nthe dog sat on the log\n'.repeat(4));
  await chooseBpe(page, 8192);
  await page.selectOption('#p-method', 'witten-bell');
  await trainNow(page);
  await page.click('#tab-merges');
  await page.waitForSelector('.bpe-list tbody tr');
  assert.match(await text(page, '.bpe-list p.hint'), /^要求 7,936 个合并，只学到了 \d+ 个/);
  assert.deepEqual(page.errors, []);
});
