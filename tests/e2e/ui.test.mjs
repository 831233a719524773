// The page's promises to its users: it remembers, it speaks Chinese, it fits a phone, it is
// usable with assistive technology, and text is never HTML.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startBrowser, openPage, screenshot, paste, ROOT, clickTrain } from '../harness/browser.mjs';

let env;
before(async () => { env = await startBrowser(); });
after(async () => { await env?.close(); });

async function train(page) {
  const err = await clickTrain(page);
  assert.equal(err, null, err);
}

test('corpus, settings and runs survive a reload (IndexedDB)', async () => {
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await openPage(env, { context });
  await paste(page, '#corpus', 'alpha beta gamma\nbeta gamma delta\ngamma delta alpha\ndelta alpha beta\n');
  await page.selectOption('#p-method', 'addk');
  await page.fill('#p-order', '2');
  // nanoGPT's split (the last tokens, mid-line too): the core's split_unit "token", restored as itself.
  await page.$eval('#split', (el) => { el.closest('details').open = true; });
  await page.selectOption('#split', 'tail-chars');
  await page.fill('#prompt', 'beta');
  await page.$eval('#prompt', (el) => el.dispatchEvent(new Event('change')));
  await train(page);
  assert.equal(await page.$$eval('#runs tbody tr', (rows) => rows.length), 1);
  const ppl = await page.$eval('#r-ppl', (el) => el.dataset.value);
  // The page saves its state shortly after a change: make one and wait for the save.
  const saves = await page.evaluate(() => Number(document.body.dataset.saves || 0));
  await page.fill('#length', '77');
  await page.$eval('#length', (el) => el.dispatchEvent(new Event('change')));
  await page.waitForFunction((n) => Number(document.body.dataset.saves || 0) > n, saves);
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  assert.equal(await page.$eval('#corpus', (el) => el.value), 'alpha beta gamma\nbeta gamma delta\ngamma delta alpha\ndelta alpha beta\n');
  assert.equal(await page.$eval('#preset', (el) => el.value), 'custom');
  assert.equal(await page.$eval('#p-method', (el) => el.value), 'addk');
  assert.equal(await page.$eval('#p-order', (el) => el.value), '2');
  assert.equal(await page.$eval('#split', (el) => el.value), 'tail-chars');
  assert.equal(await page.$eval('#prompt', (el) => el.value), 'beta');
  assert.equal(await page.$eval('#length', (el) => el.value), '77');
  await page.waitForFunction(() => document.querySelectorAll('#runs tbody tr').length === 1);
  assert.match(await page.$eval('#runs tbody tr', (tr) => tr.textContent), /2-gram/);
  // The trained model is back too (issue 19, defect 9): its results, and it generates.
  assert.equal(await page.$eval('#r-ppl', (el) => el.dataset.value), ppl);
  assert.match(await page.$eval('#status', (el) => el.textContent), /^Back where you were: the model of run #\d+ is loaded/);
  assert.equal(await page.$eval('#generate', (el) => el.disabled), false);
  assert.equal(await page.$eval('#length', (el) => el.value), '77', 'the form is the page\'s, not the file\'s');
  await context.close();
});

test('the UI switches to 中文 and back, and remembers the choice', async () => {
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
  const page = await openPage(env, { context });
  assert.equal(await page.$eval('#train', (el) => el.textContent), 'Train');
  await page.click('#lang');
  assert.equal(await page.$eval('#train', (el) => el.textContent), '训练');
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'zh-CN');
  assert.equal(await page.$eval('#p-method option[value="mle"]', (el) => el.textContent), '最大似然（不平滑）');
  await screenshot(page, 'ui-zh');
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  assert.equal(await page.$eval('#train', (el) => el.textContent), '训练');
  await page.click('#lang');
  assert.equal(await page.$eval('#train', (el) => el.textContent), 'Train');
  await context.close();
});

test('a Chinese browser gets the Chinese UI by default', async () => {
  const page = await openPage(env, { contextOptions: { locale: 'zh-CN' } });
  assert.equal(await page.$eval('h1 [data-i18n=title]', (el) => el.textContent), '语言模型游乐场');
});

test('the page fits a phone-sized screen', async () => {
  const page = await openPage(env, { viewport: { width: 390, height: 844 } });
  await page.selectOption('#p-method', 'addk');
  await train(page);
  const { scroll, width } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
  assert.ok(scroll <= width, `horizontal overflow: ${scroll} > ${width}`);
  await screenshot(page, 'ui-phone');
});

test('the main controls pass an axe-core accessibility check', async () => {
  // axe is injected as a script, which the page's CSP (rightly) forbids; bypass it for the check only.
  const page = await openPage(env, { contextOptions: { bypassCSP: true } });
  await page.selectOption('#p-method', 'addk');
  await train(page);
  await page.addScriptTag({ content: fs.readFileSync(path.join(ROOT, 'node_modules/axe-core/axe.min.js'), 'utf8') });
  const res = await page.evaluate(() => window.axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'best-practice'] }));
  const serious = res.violations.filter((v) => ['serious', 'critical'].includes(v.impact));
  assert.deepEqual(serious.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`), []);
});

test('every control can be reached and used from the keyboard', async () => {
  const page = await openPage(env);
  await page.selectOption('#p-method', 'addk');
  // Tab to the Train button and press Enter.
  await page.focus('#p-order');
  let guard = 0;
  while (await page.evaluate(() => document.activeElement.id) !== 'train' && guard++ < 30) await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'train');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.getElementById('r-ppl').dataset.value !== '');
  await page.waitForFunction(() => !document.getElementById('generate').disabled);
  await page.focus('#generate');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelectorAll('#output .tok').length > 5);
  await page.waitForFunction(() => !document.getElementById('generate').disabled);
  // Arrow keys walk the tinted tokens and show the tooltip.
  await page.focus('#output');
  await page.keyboard.press('ArrowRight');
  assert.equal(await page.evaluate(() => document.activeElement.classList.contains('tok')), true);
  assert.equal(await page.$eval('#tooltip', (el) => el.hidden), false);
  // The view tabs move with the arrow keys.
  await page.focus('#tab-next');
  await page.keyboard.press('ArrowRight');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'tab-explain');
});

test('a corpus holding <script> and <img onerror> is shown as text and nothing runs', async () => {
  const page = await openPage(env);
  const evil = '<script>window.__xss = 1</script> hello\n<img src=x onerror="window.__xss = 2"> world\n<b>bold</b> <svg onload="window.__xss=3"></svg>\nplain line here\n';
  await paste(page, '#corpus', evil.repeat(3));
  await page.$eval('#data-settings', (d) => { d.open = true; });
  await page.selectOption('#tokenizer', 'whitespace');
  await page.selectOption('#p-method', 'addk');
  await page.fill('#p-order', '2');
  await train(page);
  await page.fill('#prompt', '<script>window.__xss=4</script>');
  await page.fill('#length', '60');
  await page.click('#generate');
  await page.waitForFunction(() => document.querySelectorAll('#output .tok').length >= 60);
  await page.click('#score-box summary');
  await page.fill('#score-text', '<img src=x onerror="window.__xss=5"> hello');
  await page.click('#score');
  await page.waitForFunction(() => document.querySelectorAll('#score-out .tok').length > 0);
  await page.click('#tab-next');
  await page.waitForSelector('.bar-row');
  assert.equal(await page.evaluate(() => window.__xss), undefined);
  assert.equal(await page.$$eval('main img, main script, main svg, main b', (els) => els.length), 0);
  const out = await page.$eval('#output', (el) => el.textContent);
  assert.ok(out.includes('<script>window.__xss=4</script>'), out);
  assert.match(await page.$eval('#score-out', (el) => el.textContent), /<img/);
  assert.match(await page.$eval('.bars', (el) => el.textContent), /<|hello|world|plain/);
  await screenshot(page, 'ui-xss-as-text');
  assert.deepEqual(page.errors, []);
});

test('a file too big for the page is refused with a message, and the text is kept', async () => {
  const page = await openPage(env);
  const before = await page.$eval('#corpus', (el) => el.value);
  const big = Buffer.alloc(32 * 1024 * 1024 + 10, 'ab\n');
  await page.setInputFiles('#file', { name: 'huge.txt', mimeType: 'text/plain', buffer: big });
  await page.waitForSelector('#error:not([hidden])');
  assert.match(await page.$eval('#error', (el) => el.textContent), /huge\.txt has 33,554,442 characters; the page handles up to 33,554,432/);
  assert.equal(await page.$eval('#corpus', (el) => el.value), before);
  // A normal file is loaded, and its name shown.
  await page.setInputFiles('#file', { name: 'small.txt', mimeType: 'text/plain', buffer: Buffer.from('one two\nthree four\n') });
  await page.waitForFunction(() => document.getElementById('corpus').value === 'one two\nthree four\n');
  assert.equal(await page.$eval('#preset', (el) => el.value), 'custom');
  assert.match(await page.$eval('#attribution', (el) => el.textContent), /small\.txt/);
});

test('a binary file is refused as a corpus with a message, and the text is kept, in English and 中文', async () => {
  const page = await openPage(env);
  const before = await page.$eval('#corpus', (el) => el.value);
  // A PNG's signature and header: not UTF-8. Before the check it became replacement and NUL characters, and trained.
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52, ...Array(200).fill(0)]);
  await page.setInputFiles('#file', { name: 'cat.png', mimeType: 'image/png', buffer: png });
  await page.waitForSelector('#error:not([hidden])');
  assert.match(await page.$eval('#error', (el) => el.textContent), /cat\.png is not a text file: it is not valid UTF-8\. .*Your current text is unchanged/);
  assert.equal(await page.$eval('#corpus', (el) => el.value), before);
  await page.setInputFiles('#file', { name: 'nul.txt', mimeType: 'text/plain', buffer: Buffer.from('text\0with NUL bytes\n') });
  await page.waitForFunction(() => /NUL/.test(document.getElementById('error').textContent));
  assert.equal(await page.$eval('#corpus', (el) => el.value), before);
  await page.click('#lang');
  await page.waitForFunction(() => document.documentElement.lang === 'zh-CN');
  await page.setInputFiles('#file', { name: 'cat.png', mimeType: 'image/png', buffer: png });
  await page.waitForFunction(() => /不是文本文件/.test(document.getElementById('error').textContent));
  assert.match(await page.$eval('#error', (el) => el.textContent), /cat\.png 不是文本文件：它不是有效的 UTF-8。/);
  assert.equal(await page.$eval('#corpus', (el) => el.value), before);
  assert.deepEqual(page.errors, []);
});

test('ticked runs are compared side by side, and different vocabularies are flagged', async () => {
  const page = await openPage(env);
  await page.selectOption('#p-method', 'addk');
  await train(page);
  await page.$eval('#data-settings', (d) => { d.open = true; });
  await page.fill('#min-count', '3');
  await page.$eval('#min-count', (el) => el.dispatchEvent(new Event('change')));
  await train(page);
  await page.fill('#min-count', '1');
  await page.fill('#p-order', '2');
  await train(page);
  await page.waitForFunction(() => document.querySelectorAll('#runs tbody tr').length === 3);
  // Newest first: order 2 (min count 1), then min count 3, then the first run. Ticking redraws the table.
  const tick = async (row) => {
    const n = await page.$$eval('#runs tbody input:checked', (els) => els.length);
    await page.click(`#runs tbody tr:nth-child(${row}) input[type=checkbox]`);
    await page.waitForFunction((k) => document.querySelectorAll('#runs tbody input:checked').length === k, n + 1);
  };
  await tick(1);
  await tick(3);
  await page.waitForSelector('#runs-compare:not([hidden]) table');
  const same = await page.$eval('#runs-compare', (el) => el.textContent);
  // Settings by their labels in the form, never raw keys (issue 19, defect 8).
  assert.match(same, /Order n/);
  assert.doesNotMatch(same, /Min count/);
  assert.doesNotMatch(same, /\b(model|data)\.[a-z]/);
  assert.equal(await page.$eval('#runs-warning', (el) => el.hidden), true, 'same vocabulary: comparable');
  await tick(2);
  await page.waitForFunction(() => !document.getElementById('runs-warning').hidden);
  assert.match(await page.$eval('#runs-warning', (el) => el.textContent), /not comparable/);
  assert.match(await page.$eval('#runs-compare', (el) => el.textContent), /Min count \(rarer → \[UNK\]\)/);
  assert.ok(await page.$('#runs .flag'));
  await screenshot(page, 'ui-runs-compared', '#runs-card');
});

test('a run that cannot be deleted says so, every time', async () => {
  const page = await openPage(env);
  await page.selectOption('#p-method', 'addk');
  await train(page);
  await page.waitForSelector('#runs tbody tr[data-run]');
  // The browser's storage refuses to delete.
  await page.evaluate(() => {
    IDBObjectStore.prototype.delete = function () { throw new DOMException('the test refuses', 'InvalidStateError'); };
  });
  for (let i = 0; i < 2; i++) {
    await page.click('#runs tbody tr[data-run] button:text-is("Delete")');
    await page.waitForSelector('#runs-error:not([hidden])');
    assert.match(await page.$eval('#runs-error', (el) => el.textContent), /^Run \d+ could not be deleted \(the test refuses\)\.$/);
    assert.equal(await page.$eval('#runs-error', (el) => el.getAttribute('role')), 'alert');
    await page.evaluate(() => { document.getElementById('runs-error').hidden = true; });
  }
  assert.equal(await page.$$eval('#runs tbody tr[data-run]', (rows) => rows.length), 1);
  await page.click('#lang');
  await page.click('#runs tbody tr[data-run] button:text-is("删除")');
  await page.waitForSelector('#runs-error:not([hidden])');
  assert.match(await page.$eval('#runs-error', (el) => el.textContent), /^无法删除第 \d+ 次训练（the test refuses）。$/);
  assert.deepEqual(page.errors, []);
});

test('dark mode follows the system setting', async () => {
  const page = await openPage(env, { contextOptions: { colorScheme: 'dark' } });
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.equal(bg, 'rgb(18, 21, 27)');
  await page.selectOption('#p-method', 'addk');
  await train(page);
  await screenshot(page, 'ui-dark');
});

test('every formula renders under the CSP without errors', async () => {
  const page = await openPage(env);
  const methods = await page.$$eval('#p-method option', (os) => os.map((o) => o.value));
  for (const m of methods) {
    await page.selectOption('#p-method', m);
    await page.waitForFunction(() => document.querySelector('#formula .katex'));
  }
  // Each neural family's own formula (the MathML annotation holds its TeX).
  for (const [fam, mark] of [['fixed-window', 'x_{t-n}'], ['rnn', 'W_e'], ['lstm', 'c_{t-1}'], ['gru', 'b_{hn}']]) {
    await page.selectOption('#family', fam);
    await page.waitForFunction((m) => document.getElementById('formula').textContent.includes(m) && /softmax/.test(document.getElementById('formula').textContent), mark);
  }
  assert.deepEqual(page.errors, []);
});

test('if the worker crashes, the page says so, starts a new one and keeps the inputs', async () => {
  const page = await openPage(env);
  await page.selectOption('#p-method', 'addk');
  await train(page);
  const corpus = await page.$eval('#corpus', (el) => el.value);
  // Do in the worker what it does after a trap in the wasm core (www/worker.js, handle()).
  const [worker] = page.workers();
  await worker.evaluate(() => {
    self.postMessage({ type: 'crashed', error: { message: 'a test panic', code: 'crashed' } });
    self.close();
  });
  await page.waitForSelector('#error:not([hidden])');
  assert.match(await page.$eval('#error', (el) => el.textContent), /internal error and was reset \(a test panic\)/);
  assert.equal(await page.$eval('#r-ppl', (el) => el.dataset.value), '');
  assert.equal(await page.$eval('#corpus', (el) => el.value), corpus);
  // The fresh worker trains.
  await page.waitForFunction(() => !document.getElementById('train').disabled);
  await train(page);
  assert.notEqual(await page.$eval('#r-ppl', (el) => el.dataset.value), '');
});
