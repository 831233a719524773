// The WebGPU backend in the page, on headless Chromium's SwiftShader adapter (a real WebGPU device,
// in software): the Compute control says what runs and why, in English and 中文; a Transformer and
// an LSTM train on the GPU, generate, show their views, save, and open again on the CPU with the
// same perplexity; and the GPU's run ends where the CPU's does.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startBrowser, openPage, setKnobs, trainNow, paste } from '../harness/browser.mjs';

// The preset's first 8,000 characters: SwiftShader runs every kernel in software, and the preset's whole
// validation split, read at every evaluation, was most of these tests' time.
const CORPUS = fs.readFileSync(new URL('../../www/corpora/shakespeare.txt', import.meta.url), 'utf8').slice(0, 8000);

let env;
before(async () => { env = await startBrowser(); });
after(async () => { await env?.close(); });

const ppl = async (page) => Number(await page.$eval('#r-ppl', (el) => el.dataset.value));
const text = (page, id) => page.$eval(`#${id}`, (el) => el.textContent);

async function setup(page, family, knobs) {
  await paste(page, '#corpus', CORPUS);
  await page.$eval('#data-settings', (d) => { d.open = true; });
  await page.selectOption('#tokenizer', 'char');
  await page.fill('#seed', '7');
  await page.selectOption('#family', family);
  await setKnobs(page, knobs);
}

/** The words under the Compute control, once the worker has looked for an adapter. */
async function deviceWords(page) {
  await page.waitForFunction(() => document.getElementById('device-status').textContent !== '');
  return text(page, 'device-status');
}

test('the Compute control says what runs and why: Auto passes over a software adapter, GPU forces it', async () => {
  const page = await openPage(env);
  assert.equal(await page.$eval('#device', (el) => el.value), 'auto', 'Auto is the default');
  const hasGpu = await page.evaluate(() => Boolean(navigator.gpu));
  assert.ok(hasGpu, 'chromium runs with --enable-unsafe-webgpu');
  assert.match(await deviceWords(page), /^Auto: the CPU runs the model \(wasm SIMD\): the only WebGPU adapter, .+, is a software one/);
  await page.selectOption('#device', 'gpu');
  assert.match(await deviceWords(page), /^The GPU runs the model \(WebGPU: .+\), as chosen\.$/);
  await page.click('#lang');
  assert.match(await text(page, 'device-status'), /^按你的选择，由 GPU（WebGPU：.+）运行模型。$/);
  assert.equal(await page.$eval('#device option[value="auto"]', (el) => el.textContent), '自动');
  assert.deepEqual(page.errors, []);
});

/** Trains on `device`, then returns the perplexity, the badge and the Compute words. */
async function trainOn(page, device) {
  await page.selectOption('#device', device);
  await trainNow(page, 300000);
  return { ppl: await ppl(page), badge: await text(page, 'backend'), words: await deviceWords(page) };
}

/** Downloads the model file and opens it in a fresh page on the CPU: its perplexity. */
async function reopenOnCpu(page) {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-model')]);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lmplay-gpu-')), 'model.safetensors');
  await download.saveAs(file);
  const other = await openPage(env);
  await paste(other, '#corpus', CORPUS); // its corpus: the split is rebuilt, so the perplexity is back
  await other.selectOption('#device', 'cpu');
  await other.setInputFiles('#import-model', file);
  await other.waitForFunction(() => document.getElementById('r-ppl').dataset.value !== '', null, { timeout: 60000 });
  const reopened = await ppl(other);
  assert.deepEqual(other.errors, []);
  await other.context().close();
  return reopened;
}

for (const [family, knobs, view, ready] of [
  ['transformer', { layers: 1, heads: 2, width: 16, ffn: 32, context: 16, batch: 4, steps: 40, lr: 0.005, warmup: 0, eval_interval: 20 }, 'attention', '#att-grid .att-thumb'],
  ['lstm', { layers: 1, embed: 8, hidden: 16, bptt: 16, batch: 4, steps: 40, lr: 0.005, eval_interval: 20 }, 'hidden-states', '#hs-heatmap'],
]) {
  test(`a ${family} trains on WebGPU, generates, shows its views, reopens on the CPU, and ends where the CPU's run does`, async () => {
    const page = await openPage(env);
    await setup(page, family, knobs);
    const gpu = await trainOn(page, 'gpu');
    assert.match(gpu.badge, /^WebGPU · /);
    assert.match(gpu.words, /as chosen/);
    // It generates (from the model's CPU twin, refreshed by every training chunk).
    await page.fill('#length', '20');
    await page.click('#generate');
    await page.waitForFunction(() => document.querySelectorAll('#output .tok').length >= 20, null, { timeout: 60000 });
    await page.waitForFunction(() => !document.getElementById('generate').disabled);
    // Its view draws.
    await page.click(`#tab-${view}`);
    await page.waitForSelector(ready, { timeout: 60000 });
    // The same model file opens on the CPU with the same perplexity.
    const reopened = await reopenOnCpu(page);
    assert.ok(Math.abs(reopened - gpu.ppl) <= 1e-4 * gpu.ppl, `reopened on the CPU: ${reopened}, on the GPU: ${gpu.ppl}`);
    // The same settings on the CPU: the same run, up to float rounding.
    const cpu = await trainOn(page, 'cpu');
    assert.match(cpu.badge, /^wasm /);
    assert.ok(Math.abs(cpu.ppl - gpu.ppl) <= 5e-3 * cpu.ppl, `${family}: perplexity on the CPU ${cpu.ppl}, on WebGPU ${gpu.ppl}`);
    console.log(`# ${family}: perplexity after 40 steps, WebGPU (SwiftShader) ${gpu.ppl.toFixed(4)}, CPU ${cpu.ppl.toFixed(4)}, reopened ${reopened.toFixed(4)}`);
    // The runs table records where each ran.
    await page.waitForFunction(() => document.querySelectorAll('#runs tbody tr[data-run]').length === 2);
    assert.match(await page.$eval('#runs tbody', (el) => el.textContent), /WebGPU/);
    assert.deepEqual(page.errors, []);
  });
}

test('every WGSL kernel compiles with the browser\'s own compiler (Tint), and builds a pipeline', async () => {
  const page = await openPage(env);
  const errors = await page.evaluate(async () => {
    const wasm = await import('./www/pkg/lmplay.js');
    await wasm.default();
    const adapter = await navigator.gpu.requestAdapter();
    const device = await adapter.requestDevice();
    const out = [];
    const sources = wasm.kernelSources();
    for (const [name, entry, code] of sources) {
      const module = device.createShaderModule({ code });
      const info = await module.getCompilationInfo();
      for (const m of info.messages.filter((x) => x.type === 'error')) out.push(`${name} ${m.lineNum}:${m.linePos} ${m.message}`);
      device.pushErrorScope('validation');
      device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: entry } });
      const err = await device.popErrorScope();
      if (err) out.push(`${name}: ${err.message.split('\n')[0]}`);
    }
    return { out, n: sources.length };
  });
  assert.ok(errors.n >= 40, `${errors.n} kernels`);
  assert.deepEqual(errors.out, []);
});

test('the cost lesson measures on the GPU when Compute says GPU, and says so', async () => {
  const page = await openPage(env);
  await setup(page, 'transformer', { layers: 1, heads: 2, width: 16, ffn: 32, context: 16, batch: 4, steps: 5, warmup: 0 });
  await page.selectOption('#device', 'gpu');
  await trainNow(page, 300000);
  await page.click('#tab-attention-cost');
  await page.selectOption('#cost-max', '512');
  await page.click('#cost-run');
  await page.waitForFunction(() => !document.getElementById('cost-run').disabled && document.querySelectorAll('#cost-slopes li').length === 4, null, { timeout: 300000 });
  assert.equal(await page.$eval('#cost-time', (el) => el.dataset.points), String(4 * 4), 'T = 64 … 512 for full, sparse, linear and fused attention');
  assert.match(await page.$eval('#view-panel', (el) => el.textContent), /Measured on: gpu \(.+, webgpu\)/);
  assert.deepEqual(page.errors, []);
});
