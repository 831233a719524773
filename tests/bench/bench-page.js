// Loaded by the benchmark harness in headless chromium: exposes the wasm benchmarks to page.evaluate.
// `?pkg=pkg-relaxed` loads the relaxed-SIMD module instead of www/pkg.
const pkg = new URLSearchParams(location.search).get('pkg') === 'pkg-relaxed' ? 'pkg-relaxed' : 'pkg';
const mod = await import(`../../www/${pkg}/lmplay.js`);

window.benchReady = mod.default().then(() => true);
window.runBench = async (name, argsJson) => {
  await window.benchReady;
  return mod.bench(name, argsJson);
};

// One whole training run through the page's session (the wasm `Playground` the worker drives):
// prepare, train in chunks of `chunk` steps until done, then the report. Progress goes to the
// console (the driving script forwards it); returns the timings, the last progress and the report.
window.trainRun = async (corpus, configJson, chunk = 50) => {
  await window.benchReady;
  const pg = new mod.Playground();
  const t0 = performance.now();
  const stats = pg.prepare(corpus, configJson);
  const t1 = performance.now();
  let p;
  do {
    p = await pg.train(chunk);
    console.log(JSON.stringify({ step: p.step, total_steps: p.total_steps, train_loss: p.train_loss, valid_loss: p.valid_loss, lr: p.lr, elapsed_ms: p.elapsed_ms }));
  } while (!p.done);
  const t2 = performance.now();
  const report = await pg.report();
  const t3 = performance.now();
  pg.free();
  return { stats, progress: p, report, prepare_ms: t1 - t0, train_ms: t2 - t1, report_ms: t3 - t2, kernels: mod.kernels() };
};
