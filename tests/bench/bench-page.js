// Loaded by the benchmark harness in headless chromium: exposes the wasm benchmarks to page.evaluate.
import init, { bench } from '../../www/pkg/lmplay.js';

window.benchReady = init().then(() => true);
window.runBench = async (name, argsJson) => {
  await window.benchReady;
  return bench(name, argsJson);
};
