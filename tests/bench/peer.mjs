// Ours against PyTorch, in alternation: node tests/bench/peer.mjs --python VENV/bin/python
//   [--only transformer|lstm] [--rounds 8] [--threads 1]
//
// On a shared machine whose speed drifts by ±30 % within minutes, two benchmarks run minutes apart
// do not compare. This runs short rounds of each side back to back (the order flipped every round):
// ours is the case of cases.mjs in headless Chromium with the relaxed-SIMD module (what Chromium users
// get), PyTorch eager is pytorch_peer.py --serve with the same model (its process and model stay up,
// so every round is warm), timed with the same statistic as ours. It prints each round and the
// medians of tokens/s and of the per-round ratio ours / PyTorch, the figure docs/benchmarks.md
// quotes. Needs a PyTorch install; not in the suite.
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { spawn } from 'node:child_process';
import { CASES } from './cases.mjs';
import { ROOT, startBrowser } from '../harness/browser.mjs';

const argv = process.argv.slice(2);
const opt = (name, dflt) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : dflt);
const python = opt('--python', null);
if (!python) {
  console.error('usage: node tests/bench/peer.mjs --python VENV/bin/python [--only transformer|lstm] [--rounds 8] [--threads 1]');
  process.exit(2);
}
const rounds = Number(opt('--rounds', 8));
const threads = opt('--threads', '1');
const models = opt('--only', null) ? [opt('--only')] : ['transformer', 'lstm'];
const caseOf = { transformer: 'transformer-train-char', lstm: 'lstm-train-char' };
// Ours is the median of `repeats` runs of `steps` steps after one warm-up run (bench.rs): PyTorch
// gets the same statistic, the median of as many chunks of as many steps after as many warm-up steps.
const stat = (model) => CASES.find((x) => x.id === caseOf[model]).args;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const py = spawn(python, [path.join(ROOT, 'tests/bench/pytorch_peer.py'), '--serve', '--threads', threads], { stdio: ['pipe', 'pipe', 'inherit'] });
const lines = readline.createInterface({ input: py.stdout })[Symbol.asyncIterator]();
const nextLine = async () => {
  const { value, done } = await lines.next();
  if (done) throw new Error('pytorch_peer.py exited');
  return JSON.parse(value);
};
const hello = await nextLine();
const torchRound = async (model) => {
  const { steps, repeats } = stat(model);
  py.stdin.write(`${model} ${steps * repeats} ${steps} ${steps}\n`);
  return (await nextLine()).tokens_per_s;
};

const env = await startBrowser();
const page = await (await env.browser.newContext()).newPage();
await page.goto(`${env.url}tests/bench/bench.html?pkg=pkg-relaxed`);
await page.waitForFunction(() => window.benchReady);
await page.evaluate(() => window.benchReady);
const oursRound = async (model) => {
  const c = CASES.find((x) => x.id === caseOf[model]);
  const { corpus_file, ...rest } = c.args;
  const args = { ...rest, corpus: fs.readFileSync(path.join(ROOT, corpus_file), 'utf8') };
  const r = await page.evaluate(([n, a]) => window.runBench(n, a), [c.name, JSON.stringify(args)]);
  return (typeof r === 'string' ? JSON.parse(r) : r).tokens_per_s;
};

const report = { torch: hello.torch, threads: Number(threads), rounds, models: {} };
for (const model of models) {
  const ours = [], theirs = [], ratio = [];
  for (let r = 0; r < rounds; r++) {
    let o, t;
    if (r % 2 === 0) {
      o = await oursRound(model);
      t = await torchRound(model);
    } else {
      t = await torchRound(model);
      o = await oursRound(model);
    }
    ours.push(o);
    theirs.push(t);
    ratio.push(o / t);
    console.log(`${model} round ${r + 1}: ours ${o.toFixed(0)} tokens/s, PyTorch ${t.toFixed(0)}, ratio ${(o / t).toFixed(3)}`);
  }
  report.models[model] = { ours_tokens_per_s: median(ours), pytorch_tokens_per_s: median(theirs), ratio_median: median(ratio), ratios: ratio };
  console.log(`${model}: median ours ${median(ours).toFixed(0)}, PyTorch ${median(theirs).toFixed(0)} (${threads} thread), ratio median ${median(ratio).toFixed(3)} [${Math.min(...ratio).toFixed(3)} … ${Math.max(...ratio).toFixed(3)}]`);
}
console.log(JSON.stringify(report));
py.stdin.end();
await env.close();
