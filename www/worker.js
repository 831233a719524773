// The Web Worker that hosts the wasm core and does all training, evaluation and generation,
// so the page's main thread never blocks. Protocol (docs/architecture.md):
//   page -> worker: { id, cmd, ...args }     control messages (pause, resume, stop, stopGeneration) have no id
//   worker -> page: { id, type: 'result', value } | { id, type: 'error', error: { message, code, key?, params? } }
//                   { id, type: 'progress', value } | { id, type: 'token', value }   (streamed)
//                   { type: 'ready', value: { version, kernels } }
//                   { type: 'crashed', error }   the wasm module trapped: this worker is finished
//
// There is no top-level await: messages that arrive while the wasm loads are queued, never dropped.

const queue = [];
self.onmessage = (ev) => queue.push(ev);

// Relaxed SIMD (fused multiply-add) makes matmuls faster, but a module using it fails validation where
// it is unsupported; so probe with a tiny module (i8x16.relaxed_swizzle) and load the matching build.
const RELAXED_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 15, 1, 13, 0, 65, 1, 253, 15, 65, 2, 253, 15, 253, 128, 2, 11]);

// The core's panic hook calls this (crate/src/wasm.rs) just before the module traps.
let lastPanic = null;
self.lmplayPanic = (message) => { lastPanic = message; };

let wasm = null;
let pg = null;
const training = { paused: false, stopped: false, resume: null, done: Promise.resolve() };
const generation = { stopped: false, done: Promise.resolve() };

// Aim for chunks of about this many milliseconds, so pause/stop react quickly.
const CHUNK_MS = 50;
// Tokens per generation chunk between checks for "stop".
const GEN_CHUNK = 16;

/**
 * At most one call into the wasm core is in flight at a time. Its methods are about to return promises
 * (a GPU device reads back asynchronously), and two interleaved calls must never share the module. Every
 * call goes through `core(fn)` and is awaited: one training chunk, one generation chunk, one view, one
 * save — never a whole training, so the page can generate and open views while a training is paused.
 * Control messages (pause, resume, stop, stopGeneration) only set flags and take effect at once.
 */
let coreTail = Promise.resolve();
/**
 * The compute device for a new model: created here, in the worker, and handed to the core, which
 * takes it over (a model never builds its own). Asynchronous, because creating a GPU device is.
 * `kind`: 'auto' (a hardware WebGPU adapter where the model fits it, else the CPU), 'cpu' (wasm
 * SIMD) or 'gpu' (WebGPU, a software adapter too). The core checks `navigator.gpu` itself.
 */
function createDevice(kind = 'auto') {
  return wasm.Device.create(['auto', 'cpu', 'gpu'].includes(kind) ? kind : 'auto');
}

function core(fn) {
  const call = coreTail.then(() => fn());
  coreTail = call.then(() => {}, () => {});
  return call;
}

const post = (msg) => self.postMessage(msg);
const tick = () => new Promise((r) => setTimeout(r, 0));

function errorOf(e) {
  // The core's message key and figures travel too: the page words the error in its language.
  if (e instanceof Error) return { message: e.message, code: e.code || 'error', ...(e.key ? { key: e.key, params: e.params || {} } : {}) };
  return { message: String(e), code: 'error' };
}

function requireModel() {
  if (!pg) throw Object.assign(new Error('Train a model first.'), { code: 'not-trained' });
  return pg;
}

/**
 * Where the model stood before the first chunk of a continued training: that chunk's points are its
 * steps (one per step), and every step trains on the same number of tokens (a batch).
 */
function startOf(p) {
  const step = p.step - (p.points?.length ?? 0);
  return { step, tokens: p.step > 0 ? Math.round((p.tokens * step) / p.step) : 0 };
}

/**
 * Gate saturation over training (docs/ui.md, "Gate saturation"): after a chunk, the core's
 * `hidden-states` view without its arrays (`values: false`) — one forward pass over the first 200
 * tokens of the validation text, a fixed snippet — posted as `{ type: 'probe', value: { kind:
 * 'saturation', step, layers } }`. Sampled so it costs at most ~5% of the training time: the next
 * sample waits 19 times as long as the last one took (and at least SAT_GAP_MS); the last chunk is
 * always sampled, so the chart ends at the trained model. A model without gates (an RNN) answers
 * with no saturation once and is not asked again.
 */
const SAT_GAP_MS = 100;
function saturationProbe(id, enabled) {
  let off = !enabled;
  let nextAt = 0;
  return async (p, final) => {
    if (off || (!final && performance.now() < nextAt)) return;
    const t0 = performance.now();
    let r;
    try {
      r = await core(() => pg.view('hidden-states', '{"values":false}'));
    } catch {
      off = true; // e.g. no validation text: nothing to sample, and training goes on
      return;
    }
    const cost = performance.now() - t0;
    nextAt = performance.now() + Math.max(SAT_GAP_MS, 19 * cost);
    const layers = r.layers.map((l) => ({ layer: l.layer, saturation: l.saturation }));
    if (layers.every((l) => !Object.keys(l.saturation || {}).length)) { off = true; return; }
    post({ id, type: 'probe', value: { kind: 'saturation', step: p.step, layers, ms: cost } });
  };
}

/**
 * Runs training chunks on the current model until done, stopped or an error. `fresh`: the model has
 * not trained yet (else it continues a model file). Each progress message carries the core's
 * cumulative `step`, `tokens` and `elapsed_ms` (the model's training time, kept across model files;
 * the wall time here where the core does not measure it) and `session`: the steps, tokens and
 * milliseconds (pauses excluded) of this training alone, which rates and the ETA are computed from.
 */
async function trainLoop(id, { fresh, probes = {} }) {
  Object.assign(training, { paused: false, stopped: false, resume: null });
  const saturation = saturationProbe(id, Boolean(probes.saturation));
  let budget = 1;
  const t0 = performance.now();
  let paused = 0; // ms spent paused, not counted as training time
  const sessionMs = () => performance.now() - t0 - paused;
  let base = fresh ? { step: 0, tokens: 0 } : null;
  let last = null;
  for (;;) {
    if (training.stopped) break;
    if (training.paused) {
      // A status message: where training stands, without the last chunk's loss points (sent already).
      post({ id, type: 'progress', value: { ...last, points: [], phase: 'paused' } });
      const p0 = performance.now();
      await new Promise((r) => { training.resume = r; });
      paused += performance.now() - p0;
      continue;
    }
    const start = performance.now();
    const p = await core(() => pg.train(budget));
    const ms = performance.now() - start;
    budget = Math.max(1, Math.round(budget * Math.min(4, CHUNK_MS / Math.max(ms, 1))));
    base ??= startOf(p);
    const session = { steps: p.step - base.step, tokens: p.tokens - base.tokens, ms: sessionMs() };
    last = { ...p, elapsed_ms: p.elapsed_ms || session.ms, session };
    post({ id, type: 'progress', value: last });
    if (p.done) break;
    await saturation(p, false);
    await tick(); // let pause/stop messages in
  }
  if (last) await saturation(last, true);
  const report = await core(() => pg.report());
  return {
    report,
    stopped: training.stopped,
    elapsed_ms: last ? last.elapsed_ms : sessionMs(),
    session: last ? last.session : { steps: 0, tokens: 0, ms: sessionMs() },
  };
}

/** Only one training at a time: a new one stops the old and waits for it. */
async function exclusiveTraining(run) {
  await stopTraining();
  let finished;
  training.done = new Promise((r) => { finished = r; });
  try {
    return await run();
  } finally {
    finished();
  }
}

async function stopTraining() {
  training.stopped = true;
  training.resume?.();
  training.resume = null;
  await training.done;
}

/** BPE's merges as they are learned, at most every 100 ms (and the last one). */
function mergesProgress(id) {
  let last = 0;
  return (done, wanted) => {
    const now = Date.now();
    if (now - last < 100 && done < wanted) return;
    last = now;
    post({ id, type: 'progress', value: { phase: 'merges', done, wanted } });
  };
}

async function train({ id, corpus, config, probes, device }) {
  return exclusiveTraining(async () => {
    await replaceModel(null);
    const fresh = await core(() => new wasm.Playground());
    let stats;
    try {
      stats = await core(async () => fresh.prepare(corpus, config, await createDevice(device), mergesProgress(id)));
    } catch (e) { await core(() => fresh.free()); throw e; }
    pg = fresh;
    const estimate = await core(() => pg.estimate());
    const stoppable = await core(() => pg.stoppable());
    const dev = await core(() => pg.device());
    post({ id, type: 'progress', value: { phase: 'prepared', stats, estimate, stoppable, device: dev } });
    return trainLoop(id, { fresh: true, probes });
  });
}

async function generate({ id, prompt, sample }) {
  await stopGenerating();
  const m = requireModel();
  generation.stopped = false;
  let finished;
  generation.done = new Promise((r) => { finished = r; });
  try {
    await core(() => m.generateStart(prompt, sample));
    let n = 0;
    for (;;) {
      if (generation.stopped || m !== pg) break;
      const done = await core(() => m.generateNext(GEN_CHUNK, (tok) => { post({ id, type: 'token', value: tok }); n += 1; }));
      if (done || generation.stopped || m !== pg) break;
      await tick();
    }
    return { tokens: n, stopped: generation.stopped };
  } finally {
    finished();
  }
}

/** Stops a running generation and waits for it, before the model it uses is replaced or freed. */
async function stopGenerating() {
  generation.stopped = true;
  await generation.done;
}

/** Replaces the current Playground once nothing uses it; the old one is freed. */
async function replaceModel(next) {
  await stopGenerating();
  const old = pg;
  pg = next;
  if (old) await core(() => old.free()).catch(() => { /* already consumed: nothing to free */ });
}

/**
 * The positional-encoding comparison: the same settings, text and seed with each encoding in turn,
 * each a model of its own (the page's model is untouched), trained in chunks through the lock like
 * any training and freed when done. A new training or `stop` ends it. Streams per chunk
 * { positional, step, points: [[step, valid_loss]…], done, error? }.
 */
async function comparePositional({ id, corpus, config, encodings, steps, device }) {
  return exclusiveTraining(async () => {
    Object.assign(training, { paused: false, stopped: false, resume: null });
    const base = JSON.parse(config);
    const interval = Math.max(1, Math.round(steps / 10));
    for (const positional of encodings) {
      if (training.stopped) break;
      const c = { ...base, model: { ...base.model, positional, train: { ...base.model.train, steps, eval_interval: interval } } };
      const run = await core(() => new wasm.Playground());
      try {
        await core(async () => run.prepare(corpus, JSON.stringify(c), await createDevice(device)));
        let budget = 1;
        for (;;) {
          if (training.stopped) break;
          const start = performance.now();
          const p = await core(() => run.train(budget));
          budget = Math.max(1, Math.round(budget * Math.min(4, CHUNK_MS / Math.max(performance.now() - start, 1))));
          const points = (p.points || []).filter((q) => q.valid_loss != null).map((q) => [q.step, q.valid_loss]);
          post({ id, type: 'progress', value: { positional, step: p.step, points, done: p.done } });
          if (p.done) break;
          await tick();
        }
      } catch (e) {
        if (e instanceof WebAssembly.RuntimeError) throw e;
        post({ id, type: 'progress', value: { positional, step: 0, points: [], done: true, error: errorOf(e) } });
      } finally {
        await core(() => run.free()).catch(() => {});
      }
    }
    return { stopped: training.stopped };
  });
}

const cost = { stopped: false };
/** Longest a pattern's point may take before its longer lengths are skipped (ms). */
const COST_POINT_MS = 2500;

/**
 * The cost lesson: the core times the attention forward at each length for each pattern (one call
 * each, through the lock); a pattern stops growing T once a point took longer than COST_POINT_MS.
 * Streams { pattern, t, ms, bytes, scores } per point.
 */
async function attentionCost({ id, lengths, width, window, stride, device }) {
  cost.stopped = false;
  const patterns = await core(() => wasm.attentionPatterns());
  const slow = new Set();
  for (const t of lengths) {
    for (const pattern of patterns) {
      if (cost.stopped) return { stopped: true };
      if (slow.has(pattern)) continue;
      const r = await core(() => wasm.attentionCost(JSON.stringify({ pattern, t, width, window, stride }), device));
      post({ id, type: 'progress', value: { pattern, t, ms: r.ms, bytes: r.bytes, scores: r.scores, backend: r.backend } });
      if (r.ms * (r.repeats || 1) > COST_POINT_MS) slow.add(pattern);
      await tick();
    }
  }
  return { stopped: false };
}

const estimateCache = { key: null, vocab: 0 };

/** FNV-1a over the UTF-16 code units: a cheap key for "the same corpus". */
function hashText(s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

const handlers = {
  train,
  /** Trains the current model further (a model file loaded with its corpus, with steps left). */
  /** Trains the current model further, to `steps` (the page's Steps) when given. */
  async continueTraining({ id, probes, steps }) {
    const model = requireModel();
    if (steps) await core(() => model.setSteps(steps));
    return exclusiveTraining(() => trainLoop(id, { fresh: false, probes }));
  },
  generate,
  comparePositional,
  attentionCost,
  stopCost() { cost.stopped = true; },
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
  async reset() {
    await stopTraining();
    await replaceModel(null);
  },
  /** The browser's WebGPU adapter ({ name, software, … }) or null: shown beside the backend control. */
  adapter() { return core(() => wasm.gpuAdapter()); },
  /** The model file (safetensors) of the current model. */
  save() { return core(() => requireModel().save()); },
  /** Restores a model file; with the corpus it was trained on, validation and training continue. */
  async load({ bytes, corpus, device }) {
    const fresh = await core(() => new wasm.Playground());
    let info;
    let withCorpus = true;
    try {
      info = await core(async () => fresh.load(bytes, corpus ?? undefined, await createDevice(device)));
    } catch (e) {
      if (e.code !== 'vocab-mismatch' && e.code !== 'empty-corpus' && e.code !== 'corpus-too-small') { await core(() => fresh.free()); throw e; }
      try {
        info = await core(async () => fresh.load(bytes, undefined, await createDevice(device))); // a different corpus: keep the model, without its data
        withCorpus = false;
      } catch (e2) { await core(() => fresh.free()); throw e2; }
    }
    await stopTraining();
    await replaceModel(fresh);
    return { ...info, withCorpus, report: await core(() => fresh.report()), device: await core(() => fresh.device()) };
  },
  /** Reads an ARPA file (KenLM's, SRILM's or ours) as the model; scores `valid` as validation text. */
  async loadArpa({ text, config, valid }) {
    const fresh = await core(() => new wasm.Playground());
    let report;
    try {
      report = await core(() => fresh.loadArpa(text, config, valid));
    } catch (e) { await core(() => fresh.free()); throw e; }
    await stopTraining();
    await replaceModel(fresh);
    return { report, config: await core(() => fresh.config()) };
  },
  exportArpa() { return core(() => requireModel().exportArpa()); },
  /** Memory estimate of a configuration on a corpus, before training (cached vocabulary size). */
  async estimate({ corpus, config }) {
    const c = JSON.parse(config);
    const key = JSON.stringify([corpus.length, hashText(corpus), c.seed, c.data]);
    if (estimateCache.key !== key) {
      // BPE's vocabulary is its size setting (and the specials): no need to learn the merges here.
      const bpe = c.data?.tokenizer?.kind === 'bpe' && Number.isInteger(c.data.bpe_vocab);
      estimateCache.vocab = bpe ? c.data.bpe_vocab + 3 : (await core(() => wasm.dataStats(corpus, config))).vocab_size;
      estimateCache.key = key;
    }
    return (await core(() => wasm.estimateMemory(config, estimateCache.vocab))) ?? null;
  },
  report() { return core(() => requireModel().report()); },
  view({ name, args }) { return core(() => requireModel().view(name, JSON.stringify(args || {}))); },
  freshSeed() { return core(() => wasm.freshSeed()); },
};

async function handle(ev) {
  const msg = ev.data;
  try {
    const h = handlers[msg.cmd];
    if (!h) throw new Error(`unknown command ${msg.cmd}`);
    const value = await h(msg);
    if (msg.id !== undefined) post({ id: msg.id, type: 'result', value });
  } catch (e) {
    if (e instanceof WebAssembly.RuntimeError) {
      // A trap (a Rust panic) leaves the module in an unknown state: report it and stop; the page
      // starts a fresh worker.
      post({ type: 'crashed', error: { message: lastPanic || e.message, code: 'crashed' } });
      self.close();
      return;
    }
    if (msg.id !== undefined) post({ id: msg.id, type: 'error', error: errorOf(e) });
    else console.error(e);
  }
}

/**
 * Loads the relaxed-SIMD build where relaxed SIMD validates, else the plain one. The relaxed build is
 * only an optimisation: if it fails to import, compile, instantiate or start, the plain build is loaded.
 */
async function loadWasm() {
  if (WebAssembly.validate(RELAXED_PROBE)) {
    try {
      const mod = await import('./pkg-relaxed/lmplay.js');
      await mod.default();
      return mod;
    } catch (e) {
      console.warn('the relaxed-SIMD module could not be loaded; using the plain SIMD module', e);
    }
  }
  const mod = await import('./pkg/lmplay.js');
  await mod.default();
  return mod;
}

loadWasm()
  .then(async (mod) => {
    wasm = mod;
    post({ type: 'ready', value: { version: await mod.version(), kernels: await mod.kernels() } });
    self.onmessage = handle;
    for (const ev of queue.splice(0)) handle(ev);
  })
  .catch((e) => post({ type: 'crashed', error: { message: `the WebAssembly module could not be loaded: ${e.message}`, code: 'wasm-load' } }));
