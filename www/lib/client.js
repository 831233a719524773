// A promise-based client for the training worker (www/worker.js).
export class WorkerClient {
  constructor(url) {
    this.worker = new Worker(url, { type: 'module' });
    this.nextId = 1;
    this.pending = new Map();
    this.ready = new Promise((resolve, reject) => {
      this.worker.addEventListener('error', (e) => reject(new Error(e.message || 'the worker failed to start')), { once: true });
      this.onReady = resolve;
    });
    this.worker.onmessage = (ev) => this.dispatch(ev.data);
  }

  dispatch(msg) {
    if (msg.type === 'ready') { this.onReady(msg.value); return; }
    const p = this.pending.get(msg.id);
    if (!p) return;
    if (msg.type === 'progress' || msg.type === 'token') { p.onEvent?.(msg.type, msg.value); return; }
    this.pending.delete(msg.id);
    if (msg.type === 'result') p.resolve(msg.value);
    else p.reject(Object.assign(new Error(msg.error.message), { code: msg.error.code }));
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
