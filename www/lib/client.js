// A promise-based client for the training worker (www/worker.js). Every call settles: with the
// worker's answer, or with an error if the worker crashes. A crashed worker (a trap in the wasm
// core) is replaced by a fresh one, and `onCrash` tells the page.
export class WorkerClient {
  constructor(url) {
    this.url = url;
    this.nextId = 1;
    this.pending = new Map();
    this.onCrash = null;
    this.start();
  }

  start() {
    this.worker = new Worker(this.url, { type: 'module' });
    this.ready = new Promise((resolve, reject) => {
      this.onReady = resolve;
      this.onReadyFailed = reject;
    });
    this.ready.catch(() => {}); // observed by callers; avoid an unhandled rejection here
    this.worker.onmessage = (ev) => this.dispatch(ev.data);
    this.worker.onerror = (e) => this.crashed({ message: e.message || 'the worker failed', code: 'crashed' });
    this.worker.onmessageerror = () => this.crashed({ message: 'a message to the worker could not be read', code: 'crashed' });
  }

  dispatch(msg) {
    if (msg.type === 'ready') { this.onReady(msg.value); return; }
    if (msg.type === 'crashed') { this.crashed(msg.error); return; }
    const p = this.pending.get(msg.id);
    if (!p) return;
    if (msg.type === 'progress' || msg.type === 'token' || msg.type === 'probe') { p.onEvent?.(msg.type, msg.value); return; }
    this.pending.delete(msg.id);
    if (msg.type === 'result') p.resolve(msg.value);
    else p.reject(Object.assign(new Error(msg.error.message), { code: msg.error.code, key: msg.error.key, params: msg.error.params }));
  }

  /** Rejects every pending call, and (unless the wasm could not even load) starts a fresh worker. */
  crashed(error) {
    const err = Object.assign(new Error(error.message), { code: error.code });
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.onReadyFailed(err);
    this.worker.terminate();
    if (error.code !== 'wasm-load') this.start();
    this.onCrash?.(err);
  }

  /** Sends a command; `onEvent(type, value)` receives streamed progress and tokens. */
  call(cmd, args = {}, onEvent = null) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onEvent });
      this.worker.postMessage({ id, cmd, ...args });
    });
  }

  /** Fire-and-forget control messages (pause, resume, stop). */
  send(cmd) { this.worker.postMessage({ cmd }); }
}
