// The worker and its wasm: which build it loads (and the fallback when the relaxed-SIMD build is
// broken), and commands that overlap while a training is paused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBrowser, openPage, clickTrain } from '../harness/browser.mjs';

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
