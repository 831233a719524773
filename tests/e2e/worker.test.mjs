// The worker and its wasm: which build it loads (and the fallback when the relaxed-SIMD build is
// broken), and commands that overlap while a training is paused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBrowser, openPage, clickTrain, waitForResult } from '../harness/browser.mjs';

let env;
before(async () => { env = await startBrowser(); });
after(async () => { await env?.close(); });

const backend = (page) => page.$eval('#backend', (el) => el.textContent);

test('the page loads the relaxed-SIMD build where the browser has relaxed SIMD, and says so', async () => {
  const page = await openPage(env);
  assert.match(await backend(page), /^wasm simd128\+relaxed · v\d/);
  assert.deepEqual(page.errors, []);
});

// A module that is not wasm at all (fails to compile), and a valid module that imports a function
// nobody provides (fails to instantiate).
const BROKEN = {
  'garbage bytes': Buffer.from('this is not a WebAssembly module'),
  'a module that cannot be instantiated': Buffer.from([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 2, 7, 1, 1, 120, 1, 121, 0, 0]),
};

for (const [what, body] of Object.entries(BROKEN)) {
  test(`a relaxed-SIMD build that fails to load (${what}) falls back to the plain build`, async () => {
    const context = await env.browser.newContext({ viewport: { width: 1280, height: 900 } });
    let served = 0;
    await context.route('**/pkg-relaxed/lmplay_bg.wasm', (route) => {
      served += 1;
      return route.fulfill({ status: 200, contentType: 'application/wasm', body });
    });
    const page = await openPage(env, { context });
    assert.ok(served > 0, 'the broken module was requested');
    assert.match(await backend(page), /^wasm simd128 · v\d/);
    assert.equal(await page.$eval('#error', (el) => el.hidden), true, await page.$eval('#error', (el) => el.textContent));
    // The page works on the plain build: an n-gram model and a few neural steps.
    await page.selectOption('#p-method', 'addk');
    assert.equal(await clickTrain(page), null);
    await page.selectOption('#family', 'fixed-window');
    await page.fill('#p-steps', '20');
    assert.equal(await clickTrain(page), null);
    assert.ok(Number(await page.$eval('#r-ppl', (el) => el.dataset.value)) > 1);
    assert.deepEqual(page.errors, []);
    await context.close();
  });
}

/**
 * Makes every method of the wasm `Playground` asynchronous, as the GPU build's will be (each answers
 * after a few milliseconds), and counts the calls in flight in `self.__core` of the worker.
 */
async function asyncCore(page) {
  const [worker] = page.workers();
  await worker.evaluate(async () => {
    self.__core = { inFlight: 0, max: 0, calls: 0 };
    for (const file of ['pkg/lmplay.js', 'pkg-relaxed/lmplay.js']) {
      const mod = await import(new URL(file, self.location.href).href);
      const proto = mod.Playground.prototype;
      for (const name of ['prepare', 'train', 'report', 'view', 'score', 'generateStart', 'generateNext', 'save', 'load', 'estimate', 'config', 'exportArpa', 'loadArpa']) {
        const sync = proto[name];
        proto[name] = async function (...args) {
          const c = self.__core;
          c.inFlight += 1;
          c.calls += 1;
          c.max = Math.max(c.max, c.inFlight);
          try {
            await new Promise((r) => setTimeout(r, 3));
            return sync.apply(this, args);
          } finally {
            c.inFlight -= 1;
          }
        };
      }
    }
  });
  return worker;
}

test('with an asynchronous core, overlapping commands during a paused training all answer, one core call at a time', async () => {
  const page = await openPage(env);
  const worker = await asyncCore(page);
  await page.selectOption('#family', 'fixed-window');
  await page.$eval('#data-settings', (d) => { d.open = true; });
  await page.selectOption('#tokenizer', 'char');
  await page.fill('#p-steps', '2000');
  await page.click('#train');
  await page.waitForFunction(() => !document.getElementById('pause').disabled && /step \d/.test(document.getElementById('status').textContent));
  await page.click('#pause');
  await page.waitForFunction(() => /Paused/.test(document.getElementById('status').textContent));
  // Views, a report, a generation and a score, all at once, straight to the worker.
  const r = await page.evaluate(async () => {
    const { worker: w } = await import('/www/boot.js');
    const { readSampling } = await import('/www/lib/settings.js');
    const next = () => w.call('view', { name: 'next', args: { context: 'the ', k: 5 } });
    let streamed = 0;
    const [a, b, report, gen, surprisal, c] = await Promise.all([
      next(),
      next(),
      w.call('report'),
      w.call('generate', { prompt: 'the', sample: JSON.stringify({ ...readSampling(), length: 40 }) }, () => { streamed += 1; }),
      w.call('view', { name: 'surprisal', args: { text: 'to be or not' } }),
      next(),
    ]);
    return { a, b, c, report, gen, streamed, surprisal, after: await next() };
  });
  assert.equal(r.a.top.length, 5);
  assert.deepEqual(r.b, r.a);
  assert.deepEqual(r.c, r.a);
  assert.deepEqual(r.after, r.a);
  assert.ok(r.report.validation.perplexity > 1);
  assert.equal(r.gen.tokens, 40);
  assert.equal(r.streamed, 40);
  assert.ok(r.surprisal.tokens.length > 5);
  // The page's own controls while paused: a view and a generation.
  await page.click('#tab-next');
  await page.waitForSelector('#view-panel .bar-row');
  await page.fill('#length', '20');
  await page.click('#generate');
  await page.waitForFunction(() => document.querySelectorAll('#output .tok').length === 20);
  await page.waitForFunction(() => !document.getElementById('generate').disabled);
  // Training resumes and finishes on the asynchronous core.
  await page.click('#resume');
  assert.equal(await waitForResult(page), null);
  assert.ok(Number(await page.$eval('#r-ppl', (el) => el.dataset.value)) > 1);
  const core = await worker.evaluate(() => self.__core);
  assert.equal(core.max, 1, 'one call into the core at a time');
  assert.ok(core.calls > 20, `${core.calls} calls went through the asynchronous core`);
  assert.deepEqual(page.errors, []);
});
