// The runs table: a page of run summaries at a time (curves read only for ticked runs), comparison
// across pages, the bound on what is kept (oldest unpinned runs dropped), and runs stored by the
// previous version of the database.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startBrowser, openPage, clickTrain, screenshot, ROOT } from '../harness/browser.mjs';

let env;
before(async () => { env = await startBrowser(); });
after(async () => { await env?.close(); });

/** Adds `n` made-up runs through the page's store (lib/store.js); run i has perplexity 10 + i; the last has the model file `model`. */
function seedRuns(page, n, { from = 1, pin = [], model = null } = {}) {
  return page.evaluate(async ({ n, from, pin, model }) => {
    const store = await import('/www/lib/store.js');
    const dropped = [];
    for (let i = from; i < from + n; i++) {
      const curve = [[1, 3, 3.5], [2, 2.5, null], [3, 2, 2.8 - i / 1000]];
      const { run, dropped: d } = await store.addRun({
        date: Date.now(),
        corpus: { preset: 'shakespeare', chars: 1000 },
        settings: { seed: i, model: { family: 'ngram', order: 3, method: 'addk', k: 1 } },
        report: { model: { description: `run ${i}` }, data: { vocab_size: 50 }, validation: { perplexity: 10 + i, perplexity_excluding_oov: 9, m: 100 } },
        vocab: 'v1',
        curve,
        elapsedMs: 10,
        stopped: false,
        backend: 'test',
      }, model && i === from + n - 1 ? new Uint8Array(model) : null);
      dropped.push(...d);
      if (pin.includes(i)) await store.setPinned(run.id, true);
    }
    return dropped;
  }, { n, from, pin, model });
}

const rowIds = (page) => page.$$eval('#runs tbody tr[data-run]', (rows) => rows.map((r) => Number(r.dataset.run)));
const pagerText = (page) => page.$eval('#runs-page', (el) => el.textContent);

/** The object stores each IndexedDB read touches from now on, in `window.__reads`. */
function watchReads(page) {
  return page.evaluate(() => {
    window.__reads = [];
    for (const m of ['get', 'getAll', 'openCursor']) {
      const orig = IDBObjectStore.prototype[m];
      IDBObjectStore.prototype[m] = function (...args) {
        window.__reads.push({ store: this.name, key: m === 'get' ? args[0] : null });
        return orig.apply(this, args);
      };
    }
  });
}

test('the runs table shows 20 summaries a page, newest first, turned from the keyboard, and compares ticked runs across pages', async () => {
  const page = await openPage(env);
  await seedRuns(page, 45);
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  await page.waitForFunction(() => document.querySelectorAll('#runs tbody tr[data-run]').length === 20);
  assert.deepEqual(await rowIds(page), Array.from({ length: 20 }, (_, i) => 45 - i));
  assert.equal(await pagerText(page), 'Page 1 of 3 · 45 runs');
  assert.equal(await page.$eval('#runs-newer', (el) => el.disabled), true);
  // The table reads summaries only: curves live in their own store, read for ticked runs alone.
  await watchReads(page);
  await page.focus('#runs-older');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.getElementById('runs-page').textContent === 'Page 2 of 3 · 45 runs');
  assert.deepEqual(await rowIds(page), Array.from({ length: 20 }, (_, i) => 25 - i));
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.getElementById('runs-page').textContent === 'Page 3 of 3 · 45 runs');
  assert.deepEqual(await rowIds(page), [5, 4, 3, 2, 1]);
  assert.equal(await page.$eval('#runs-older', (el) => el.disabled), true);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'runs-newer', 'the focus stays on the pager');
  assert.deepEqual((await page.evaluate(() => window.__reads)).filter((r) => r.store !== 'runs'), []);
  // Tick a run here and one two pages back: both are compared and drawn; only their curves are read.
  await page.click('#runs tbody tr[data-run="3"] input[type=checkbox]');
  await page.waitForSelector('#runs-chart:not([hidden])');
  await page.focus('#runs-newer');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.getElementById('runs-page').textContent === 'Page 2 of 3 · 45 runs');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.getElementById('runs-page').textContent === 'Page 1 of 3 · 45 runs');
  await page.click('#runs tbody tr[data-run="44"] input[type=checkbox]');
  await page.waitForFunction(() => document.querySelectorAll('#runs-compare th[scope=col]').length === 3);
  assert.deepEqual(await page.$$eval('#runs-compare th[scope=col]', (ths) => ths.map((th) => th.textContent)), ['', '#44', '#3']);
  assert.match(await page.$eval('#runs-compare', (el) => el.textContent), /Seed.*44.*3/s);
  const curveReads = (await page.evaluate(() => window.__reads)).filter((r) => r.store === 'curves');
  assert.deepEqual([...new Set(curveReads.map((r) => r.key))].sort(), [3, 44]);
  assert.equal(await page.$eval('#runs-chart', (el) => el.hidden), false);
  // In Chinese.
  await page.click('#lang');
  await page.waitForFunction(() => document.getElementById('runs-page').textContent === '第 1 页，共 3 页 · 45 次训练');
  assert.equal(await page.$eval('#runs-older', (el) => el.textContent), '较旧 →');
  assert.equal(await page.$eval('#runs-pager', (el) => el.getAttribute('aria-label')), '训练记录分页');
  assert.deepEqual(page.errors, []);
});

test('at most MAX_RUNS runs are kept: the oldest unpinned ones are dropped with their curves and models', async () => {
  const page = await openPage(env);
  const max = await page.evaluate(async () => (await import('/www/lib/store.js')).MAX_RUNS);
  // Runs 1 and 2 are pinned; run 3 has a model file.
  await seedRuns(page, 3, { pin: [1, 2], model: [1, 2, 3, 4] });
  const dropped = await seedRuns(page, max + 2, { from: 4 });
  assert.deepEqual(dropped, [3, 4, 5, 6, 7]);
  const left = await page.evaluate(() => new Promise((resolve) => {
    indexedDB.open('lm-playground').onsuccess = (e) => {
      const tx = e.target.result.transaction(['runs', 'curves', 'models']);
      const out = {};
      for (const s of ['runs', 'curves', 'models']) tx.objectStore(s).getAllKeys().onsuccess = (ev) => { out[s] = ev.target.result; };
      tx.oncomplete = () => resolve(out);
    };
  }));
  assert.equal(left.runs.length, max);
  assert.deepEqual(left.runs.slice(0, 3), [1, 2, 8]);
  assert.deepEqual(left.curves, left.runs);
  assert.deepEqual(left.models, []);
  // A real training run is recorded on top: the table shows it first, and the count stays bounded.
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  await page.selectOption('#p-method', 'addk');
  assert.equal(await clickTrain(page), null);
  await page.waitForFunction((id) => document.querySelector('#runs tbody tr[data-run]')?.dataset.run === String(id), max + 6);
  assert.match(await pagerText(page), new RegExp(`^Page 1 of ${max / 20} · ${max} runs$`));
  // Pinning from the keyboard, shown as a pressed toggle, stored with the run.
  const pin = '#runs tbody tr[data-run="9"] button[aria-pressed]';
  await page.click('#runs-older');
  await page.waitForFunction(() => document.getElementById('runs-page').textContent.startsWith('Page 2 '));
  for (let i = 0; i < 8 && !(await page.$(pin)); i++) {
    await page.click('#runs-older');
    await page.waitForFunction((k) => document.getElementById('runs-page').textContent.startsWith(`Page ${k} `), i + 3);
  }
  assert.equal(await page.$eval(pin, (el) => el.getAttribute('aria-pressed')), 'false');
  await page.focus(pin);
  await page.keyboard.press('Enter');
  await page.waitForFunction((sel) => document.querySelector(sel)?.getAttribute('aria-pressed') === 'true', pin);
  assert.equal(await page.evaluate(async () => (await (await import('/www/lib/store.js')).getRun(9)).pinned), true);
  assert.deepEqual(page.errors, []);
});

test('runs stored by the previous database version (curves inside the runs) are listed and compared', async () => {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  await page.goto(`${env.url}README.md`); // the same origin, without the page
  await page.evaluate(() => new Promise((resolve, reject) => {
    const req = indexedDB.open('lm-playground', 1);
    req.onupgradeneeded = () => {
      const d = req.result;
      d.createObjectStore('kv');
      const runs = d.createObjectStore('runs', { keyPath: 'id', autoIncrement: true });
      d.createObjectStore('models');
      for (const i of [1, 2]) {
        runs.add({
          date: Date.now(), corpus: { preset: 'shakespeare', chars: 1000 }, settings: { seed: i, model: { family: 'fixed-window' } },
          report: { model: { description: `old ${i}` }, data: { vocab_size: 50 }, validation: { perplexity: 5 + i, perplexity_excluding_oov: 5, m: 10 } },
          vocab: 'v', curve: [[1, 3, 3.2], [2, 2, 2.5 + i / 10]], elapsedMs: 5, stopped: false, backend: 'old', modelStored: false, modelNote: '', modelBytes: 0,
        });
      }
    };
    req.onsuccess = () => { req.result.close(); resolve(); };
    req.onerror = () => reject(req.error);
  }));
  await page.goto(env.url);
  await page.waitForSelector('body[data-ready="true"]');
  await page.waitForFunction(() => document.querySelectorAll('#runs tbody tr[data-run]').length === 2);
  await page.click('#runs tbody tr[data-run="1"] input[type=checkbox]');
  await page.click('#runs tbody tr[data-run="2"] input[type=checkbox]');
  await page.waitForSelector('#runs-chart:not([hidden]) canvas');
  const db = await page.evaluate(async () => {
    const store = await import('/www/lib/store.js');
    return { curve: await store.getCurve(1), run: await store.getRun(1) };
  });
  assert.deepEqual(db.curve, [[1, 3, 3.2], [2, 2, 2.5 + 1 / 10]]);
  assert.equal(db.run.curve, undefined, 'the summary no longer holds the curve');
  assert.equal(db.run.hasCurve, true);
  await context.close();
});

test('the paged runs table with pinned runs passes an axe-core check, in light and dark mode', async () => {
  for (const colorScheme of ['light', 'dark']) {
    // axe is injected as a script, which the page's CSP (rightly) forbids; bypass it for the check only.
    const page = await openPage(env, { contextOptions: { bypassCSP: true, colorScheme } });
    await seedRuns(page, 25, { pin: [24] });
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    await page.waitForSelector('#runs-pager:not([hidden])');
    await page.click('#runs tbody tr[data-run="25"] input[type=checkbox]');
    await page.click('#runs tbody tr[data-run="24"] input[type=checkbox]');
    await page.waitForSelector('#runs-compare:not([hidden]) table');
    await screenshot(page, `runs-paged-${colorScheme}`, '#runs-card');
    await page.addScriptTag({ content: fs.readFileSync(path.join(ROOT, 'node_modules/axe-core/axe.min.js'), 'utf8') });
    const res = await page.evaluate(() => window.axe.run(document.getElementById('runs-card'), { runOnly: ['wcag2a', 'wcag2aa', 'best-practice'] }));
    const serious = res.violations.filter((v) => ['serious', 'critical'].includes(v.impact));
    assert.deepEqual(serious.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`), []);
    await page.context().close();
  }
});
