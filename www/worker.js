// The Web Worker that hosts the wasm core and does all training, evaluation and generation,
// so the page's main thread never blocks. Protocol (see docs/architecture.md):
//   page -> worker: { id, cmd, ...args }
//   worker -> page: { id, type: 'result', value } | { id, type: 'error', error: { message, code } }
//                   { id, type: 'progress', value } | { id, type: 'token', value }   (streamed)
//                   { type: 'ready', value: { version } }
import init, { Playground, freshSeed, version } from './pkg/lmplay.js';

const pg = { current: null };
const training = { id: null, paused: false, stopped: false, resume: null };

// Aim for chunks of about this many milliseconds, so pause/stop react quickly.
const CHUNK_MS = 50;

function post(msg) { self.postMessage(msg); }

function errorOf(e) {
  if (e instanceof Error) return { message: e.message, code: e.code || 'error' };
  return { message: String(e), code: 'error' };
}

async function train({ id, corpus, config }) {
  pg.current = pg.current || new Playground();
  const stats = pg.current.prepare(corpus, config);
  post({ id, type: 'progress', value: { phase: 'prepared', stats } });
  Object.assign(training, { id, paused: false, stopped: false });
  let budget = 1;
  const t0 = performance.now();
  for (;;) {
    if (training.stopped) break;
    if (training.paused) {
      post({ id, type: 'progress', value: { phase: 'paused' } });
      await new Promise((r) => { training.resume = r; });
      continue;
    }
    const start = performance.now();
    const p = pg.current.train(budget);
    const ms = performance.now() - start;
    // Adapt the chunk size towards CHUNK_MS.
    budget = Math.max(1, Math.round(budget * Math.min(4, CHUNK_MS / Math.max(ms, 1))));
    post({ id, type: 'progress', value: { ...p, elapsed_ms: performance.now() - t0 } });
    if (p.done) break;
    await new Promise((r) => setTimeout(r, 0)); // let pause/stop messages in
  }
  training.id = null;
  return pg.current.report();
}

const handlers = {
  train,
  pause() { training.paused = true; },
  resume() {
    training.paused = false;
    if (training.resume) { training.resume(); training.resume = null; }
  },
  stop() {
    training.stopped = true;
    if (training.resume) { training.resume(); training.resume = null; }
  },
  report() { return pg.current.report(); },
  generate({ id, prompt, sample }) {
    let n = 0;
    pg.current.generate(prompt, sample, (tok) => {
      post({ id, type: 'token', value: tok });
      n += 1;
      return true;
    });
    return { tokens: n };
  },
  view({ name, args }) { return pg.current.view(name, JSON.stringify(args || {})); },
  freshSeed() { return freshSeed(); },
};

let ready = init().then(() => post({ type: 'ready', value: { version: version() } }));

self.onmessage = async (ev) => {
  const msg = ev.data;
  try {
    await ready;
    const h = handlers[msg.cmd];
    if (!h) throw new Error(`unknown command ${msg.cmd}`);
    if (!pg.current && !['train', 'freshSeed', 'pause', 'resume', 'stop'].includes(msg.cmd)) {
      throw Object.assign(new Error('Train a model first.'), { code: 'not-trained' });
    }
    const value = await h(msg);
    if (msg.id !== undefined) post({ id: msg.id, type: 'result', value });
  } catch (e) {
    post({ id: msg.id, type: 'error', error: errorOf(e) });
  }
};
