// ./build.sh bench: runs every case of cases.mjs on its targets, prints a table and writes JSON
// (default bench-results/bench.json; see docs/benchmarks.md for the format).
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import { CASES } from './cases.mjs';
import { ROOT, startBrowser } from '../harness/browser.mjs';

const argv = process.argv.slice(2);
const outFile = path.resolve(ROOT, argv.includes('--out') ? argv[argv.indexOf('--out') + 1] : 'bench-results/bench.json');
const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : null;

function withCorpus(args) {
  if (!args.corpus_file) return args;
  const { corpus_file, ...rest } = args;
  return { ...rest, corpus: fs.readFileSync(path.join(ROOT, corpus_file), 'utf8') };
}

const runners = {
  native(c) {
    const args = c.args.corpus_file ? { ...c.args, corpus_file: path.join(ROOT, c.args.corpus_file) } : c.args;
    const out = execFileSync(path.join(ROOT, 'target/release/lmplay'), ['bench', c.name, '--args', JSON.stringify(args)], { encoding: 'utf8', maxBuffer: 1 << 26 });
    return JSON.parse(out);
  },
  async node(c) {
    const mod = await import(path.join(ROOT, 'www/pkg/lmplay.js'));
    await mod.default({ module_or_path: fs.readFileSync(path.join(ROOT, 'www/pkg/lmplay_bg.wasm')) });
    return mod.bench(c.name, JSON.stringify(withCorpus(c.args)));
  },
  async chromium(c, env) {
    const page = env.page;
    return page.evaluate(([n, a]) => window.runBench(n, a), [c.name, JSON.stringify(withCorpus(c.args))]);
  },
  // The relaxed-SIMD module (www/pkg-relaxed): node 20 needs a flag, so it runs in a child process.
  'node-relaxed'(c) {
    const out = execFileSync(process.execPath, ['--experimental-wasm-relaxed-simd', path.join(ROOT, 'tests/bench/node-wasm.mjs'), 'pkg-relaxed', c.name, JSON.stringify(withCorpus(c.args))], { encoding: 'utf8', maxBuffer: 1 << 26 });
    return JSON.parse(out);
  },
  // Cases that need the page's asynchronous API (a WebGPU device, awaited readbacks).
  async 'chromium-webgpu'(c, env) {
    return env.page.evaluate(([n, a]) => window.runBrowserCase(n, a), [c.name, JSON.stringify(withCorpus(c.args))]);
  },
  async 'chromium-relaxed'(c, env) {
    return env.relaxedPage.evaluate(([n, a]) => window.runBench(n, a), [c.name, JSON.stringify(withCorpus(c.args))]);
  },
};

const results = [];
let env = null;
const cases = CASES.filter((c) => !only || c.id.includes(only));
if (cases.some((c) => c.targets.includes('chromium') || c.targets.includes('chromium-webgpu')) || !only || 'page-load'.includes(only)) {
  env = await startBrowser();
  const context = await env.browser.newContext();
  env.page = await context.newPage();
  await env.page.goto(`${env.url}tests/bench/bench.html`);
  await env.page.waitForFunction(() => window.benchReady);
  await env.page.evaluate(() => window.benchReady);
  if (cases.some((c) => c.targets.includes('chromium-relaxed'))) {
    env.relaxedPage = await context.newPage();
    await env.relaxedPage.goto(`${env.url}tests/bench/bench.html?pkg=pkg-relaxed`);
    await env.relaxedPage.waitForFunction(() => window.benchReady);
    await env.relaxedPage.evaluate(() => window.benchReady);
  }
}

// The page itself: time to an interactive page (served from localhost) and the wasm's gzipped size.
if (!only || 'page-load'.includes(only)) {
  const zlib = await import('node:zlib');
  const wasm = fs.readFileSync(path.join(ROOT, 'www/pkg/lmplay_bg.wasm'));
  const gz = zlib.gzipSync(wasm, { level: 9 }).length;
  const times = [];
  for (let i = 0; i < 7; i++) {
    const ctx = await env.browser.newContext();
    const page = await ctx.newPage();
    const t0 = Date.now();
    await page.goto(env.url);
    await page.waitForSelector('body[data-ready="true"]');
    times.push(Date.now() - t0);
    await ctx.close();
  }
  times.sort((a, b) => a - b);
  const figures = { 'median ms to ready': times[3], 'wasm KB gz': gz / 1024, 'wasm KB': wasm.length / 1024 };
  results.push({ id: 'page-load', title: 'Page load to interactive (localhost) and wasm size', target: 'chromium', figures, result: { times_ms: times, wasm_bytes: wasm.length, wasm_gzip_bytes: gz } });
  process.stderr.write(`bench page-load [chromium] … ${JSON.stringify(figures)}\n`);
}

for (const c of cases) {
  for (const target of c.targets) {
    process.stderr.write(`bench ${c.id} [${target}] … `);
    try {
      const r = await runners[target](c, env);
      const figures = c.figures(r);
      results.push({ id: c.id, title: c.title, target, figures, result: r });
      process.stderr.write(`${Object.entries(figures).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}\n`);
    } catch (e) {
      results.push({ id: c.id, title: c.title, target, error: String(e.message || e) });
      process.stderr.write(`FAILED: ${e.message}\n`);
    }
  }
}
await env?.close();

function fmt(v) {
  if (typeof v !== 'number') return String(v);
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(3);
}

// The table: one row per case and target.
const rows = results.map((r) => [r.id, r.target, r.error ? `ERROR ${r.error}` : Object.entries(r.figures).map(([k, v]) => `${k}: ${fmt(v)}`).join('  ')]);
const w = [0, 1].map((i) => Math.max(...rows.map((r) => r[i].length), 6));
console.log(`${'case'.padEnd(w[0])}  ${'target'.padEnd(w[1])}  figures`);
for (const r of rows) console.log(`${r[0].padEnd(w[0])}  ${r[1].padEnd(w[1])}  ${r[2]}`);

// CHROMIUM_EXTRA (tests/harness/browser.mjs): extra chromium flags of this run, recorded with it.
const machine = { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, platform: `${os.platform()} ${os.arch()}`, chromium_extra: process.env.CHROMIUM_EXTRA || null };
fs.mkdirSync(path.dirname(outFile), { recursive: true });
fs.writeFileSync(outFile, JSON.stringify({ date: new Date().toISOString(), machine, results }, null, 2));
console.log(`\nJSON: ${path.relative(ROOT, outFile)}`);
if (results.some((r) => r.error)) process.exitCode = 1;
