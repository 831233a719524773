// Loaded before the rest of the page: starts the training worker (and so the wasm download and
// compile) while the page's other modules are still loading. main.js takes the worker from here.
import { WorkerClient } from './lib/client.js';

export const worker = new WorkerClient(new URL('./worker.js', import.meta.url));
