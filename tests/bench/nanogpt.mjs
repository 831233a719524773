// nanoGPT's CPU recipe on tiny Shakespeare characters, trained in headless chromium on the wasm
// path through the page's session (tests/bench/bench-page.js `trainRun`), printed as JSON: wall
// time, tokens/s, our validation loss and nanoGPT's (estimate_loss: 200 batches of 12 random
// windows). The recipe: 4 layers, 4 heads, width 128, context 64, batch 12, learned positions, full
// attention, pre-LN, ReLU, tied; AdamW 1e-3, β = (0.9, 0.99), weight decay 0.1 on matrices only,
// clip 1.0, 100 warm-up steps then cosine to 1e-4; the first 90 % of the characters train, the last
// 10 % validate (nanoGPT's split).
//
//   node tests/bench/nanogpt.mjs [--steps 2000] [--eval-batches 200] [--seed 0] [--pkg pkg|pkg-relaxed]
//                                [--split-unit token|unit] [--out FILE]
//   (or ./build.sh nanogpt [the same flags], which builds the wasm first)
// The full run takes ≈ 15 min of both cores: run it on a quiet machine. Progress goes to stderr.
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, startBrowser } from '../harness/browser.mjs';

const argv = process.argv.slice(2);
const flag = (name, fallback) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
const steps = Number(flag('--steps', 2000));
const evalBatches = Number(flag('--eval-batches', 200));
const seed = Number(flag('--seed', 0));
const pkg = flag('--pkg', 'pkg');
const splitUnit = flag('--split-unit', 'token');
const out = flag('--out', null);
for (const [name, v] of [['--steps', steps], ['--eval-batches', evalBatches], ['--seed', seed]]) {
  if (!Number.isInteger(v) || v < (name === '--seed' ? 0 : 1)) throw new Error(`${name} must be a whole number (got ${v})`);
}
if (!['pkg', 'pkg-relaxed'].includes(pkg)) throw new Error(`--pkg is pkg or pkg-relaxed (got ${pkg})`);

const [layers, heads, width, context, batch] = [4, 4, 128, 64, 12];
const config = {
  seed,
  data: { tokenizer: { kind: 'char' }, boundary: 'none', split: 'tail', split_unit: splitUnit, valid_fraction: 0.1 },
  model: {
    family: 'transformer', layers, heads, width, context, dropout: 0, tied: true, norm: 'pre', activation: 'relu',
    positional: 'learned', attention: 'full',
    train: {
      optimizer: 'adamw', lr: 1e-3, beta1: 0.9, beta2: 0.99, weight_decay: 0.1, decay_matrices_only: true,
      clip: 1.0, warmup: 100, decay: 'cosine', min_lr_ratio: 0.1, batch, steps,
      // One curve point, at the end (8,192 tokens): train_s is training, not evaluation.
      eval_interval: steps, eval_tokens: 8192,
    },
  },
  eval: { protocol: 'windows', batches: evalBatches, batch_size: batch, window: context },
};
const corpus = fs.readFileSync(path.join(ROOT, 'tests/data/tinyshakespeare.txt'), 'utf8');

const env = await startBrowser();
try {
  const page = await env.browser.newPage();
  page.on('console', (m) => process.stderr.write(`${m.text()}\n`));
  page.on('pageerror', (e) => process.stderr.write(`pageerror: ${e.message}\n`));
  await page.goto(`${env.url}tests/bench/bench.html${pkg === 'pkg' ? '' : `?pkg=${pkg}`}`);
  await page.waitForFunction(() => window.benchReady);
  await page.evaluate(() => window.benchReady);
  const t0 = Date.now();
  const r = await page.evaluate(([c, j]) => window.trainRun(c, j), [corpus, JSON.stringify(config)]);
  const wall = (Date.now() - t0) / 1000;
  const v = r.report.validation;
  const result = {
    target: pkg === 'pkg' ? 'chromium' : 'chromium-relaxed',
    kernels: r.kernels,
    steps: r.progress.step,
    wall_s: wall,
    train_s: r.train_ms / 1000,
    tokens_per_s: (r.progress.step * batch * context) / (r.train_ms / 1000),
    validation_loss: v.bits_per_token * Math.LN2,
    validation_loss_windows: r.report.windows.loss,
    windows: r.report.windows,
    last_train_loss: r.progress.train_loss,
    eval_s: r.report_ms / 1000,
    prepare_s: r.prepare_ms / 1000,
    data: r.stats,
    config,
  };
  const json = JSON.stringify(result, null, 2);
  console.log(json);
  if (out) fs.writeFileSync(path.resolve(ROOT, out), `${json}\n`);
} finally {
  await env.close();
}
