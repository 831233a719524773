// The Web Worker that hosts the wasm core and does all training, evaluation and generation,
// so the page's main thread never blocks. Protocol (docs/architecture.md):
//   page -> worker: { id, cmd, ...args }            control messages (pause, resume, stop, stopGeneration) have no id
//   worker -> page: { id, type: 'result', value } | { id, type: 'error', error: { message, code } }
//                   { id, type: 'progress', value } | { id, type: 'token', value }   (streamed)
//                   { type: 'ready', value: { version } }

// Relaxed SIMD (fused multiply-add) makes matmuls faster, but a module using it fails validation where
// it is unsupported; so probe with a tiny module (i8x16.relaxed_swizzle) and load the matching build.
const RELAXED_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 15, 1, 13, 0, 65, 1, 253, 15, 65, 2, 253, 15, 253, 128, 2, 11]);
const wasm = await (WebAssembly.validate(RELAXED_PROBE)
  ? import('./pkg-relaxed/lmplay.js').catch(() => import('./pkg/lmplay.js'))
  : import('./pkg/lmplay.js'));
const { Playground, freshSeed, version, kernels, estimateMemory, dataStats } = wasm;

let pg = null;
const training = { paused: false, stopped: false, resume: null };
const generation = { stopped: false };

// Aim for chunks of about this many milliseconds, so pause/stop react quickly.
const CHUNK_MS = 50;
// Tokens per generation chunk between checks for "stop".
const GEN_CHUNK = 16;

const post = (msg) => self.postMessage(msg);
const tick = () => new Promise((r) => setTimeout(r, 0));

function errorOf(e) {
  if (e instanceof Error) return { message: e.message, code: e.code || 'error' };
  return { message: String(e), code: 'error' };
}

function requireModel() {
  if (!pg) throw Object.assign(new Error('Train a model first.'), { code: 'not-trained' });
  return pg;
}

async function train({ id, corpus, config }) {
  pg?.free();
  pg = null;
  const fresh = new Playground();
  const stats = fresh.prepare(corpus, config);
  pg = fresh;
  post({ id, type: 'progress', value: { phase: 'prepared', stats, estimate: pg.estimate() } });
  Object.assign(training, { paused: false, stopped: false, resume: null });
  let budget = 1;
  const t0 = performance.now();
  let paused = 0; // ms spent paused, not counted as training time
  let last = null;
  for (;;) {
    if (training.stopped) break;
    if (training.paused) {
      post({ id, type: 'progress', value: { ...last, phase: 'paused' } });
      const p0 = performance.now();
      await new Promise((r) => { training.resume = r; });
      paused += performance.now() - p0;
      continue;
    }
    const start = performance.now();
    const p = pg.train(budget);
    const ms = performance.now() - start;
    budget = Math.max(1, Math.round(budget * Math.min(4, CHUNK_MS / Math.max(ms, 1))));
    last = { ...p, elapsed_ms: performance.now() - t0 - paused };
    post({ id, type: 'progress', value: last });
    if (p.done) break;
    await tick(); // let pause/stop messages in
  }
  return { report: pg.report(), stopped: training.stopped, elapsed_ms: performance.now() - t0 - paused };
}

async function generate({ id, prompt, sample }) {
  const m = requireModel();
  generation.stopped = false;
  m.generateStart(prompt, sample);
  let n = 0;
  for (;;) {
    const done = m.generateNext(GEN_CHUNK, (tok) => { post({ id, type: 'token', value: tok }); n += 1; });
    if (done || generation.stopped) break;
    await tick();
  }
  return { tokens: n, stopped: generation.stopped };
}

const handlers = {
  train,
  generate,
  pause() { training.paused = true; },
  resume() {
    training.paused = false;
    training.resume?.();
    training.resume = null;
  },
  stop() {
    training.stopped = true;
    training.resume?.();
    training.resume = null;
  },
  stopGeneration() { generation.stopped = true; },
  reset() { pg?.free(); pg = null; },
  /** The model file (safetensors) of the current model. */
  save() { return requireModel().save(); },
  /** Restores a model file; with the corpus it was trained on, validation and training continue. */
  load({ bytes, corpus }) {
    const fresh = new Playground();
    let info;
    try {
      info = fresh.load(bytes, corpus ?? undefined);
    } catch (e) {
      if (e.code !== 'vocab-mismatch' && e.code !== 'empty-corpus' && e.code !== 'corpus-too-small') { fresh.free(); throw e; }
      info = fresh.load(bytes, undefined); // a different corpus: keep the model, without validation data
    }
    pg?.free();
    pg = fresh;
    return { ...info, report: pg.report() };
  },
  /** Reads an ARPA file (KenLM's, SRILM's or ours) as the model; scores `valid` as validation text. */
  loadArpa({ text, config, valid }) {
    const fresh = new Playground();
    let report;
    try {
      report = fresh.loadArpa(text, config, valid);
    } catch (e) { fresh.free(); throw e; }
    pg?.free();
    pg = fresh;
    return { report, config: pg.config() };
  },
  exportArpa() { return requireModel().exportArpa(); },
  /** Memory estimate of a configuration on a corpus, before training (cached vocabulary size). */
  estimate({ corpus, config }) {
    const c = JSON.parse(config);
    const key = JSON.stringify([corpus.length, corpus.slice(0, 256), c.seed, c.data]);
    if (estimateCache.key !== key) {
      estimateCache.vocab = dataStats(corpus, config).vocab_size;
      estimateCache.key = key;
    }
    return estimateMemory(config, estimateCache.vocab) ?? null;
  },
  report() { return requireModel().report(); },
  view({ name, args }) { return requireModel().view(name, JSON.stringify(args || {})); },
  freshSeed() { return freshSeed(); },
};

const estimateCache = { key: null, vocab: 0 };

const ready = wasm.default().then(() => post({ type: 'ready', value: { version: version(), kernels: kernels() } }));

self.onmessage = async (ev) => {
  const msg = ev.data;
  try {
    await ready;
    const h = handlers[msg.cmd];
    if (!h) throw new Error(`unknown command ${msg.cmd}`);
    const value = await h(msg);
    if (msg.id !== undefined) post({ id: msg.id, type: 'result', value });
  } catch (e) {
    if (msg.id !== undefined) post({ id: msg.id, type: 'error', error: errorOf(e) });
    else console.error(e);
  }
};
