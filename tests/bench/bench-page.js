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

// The cases that need the page's asynchronous API (WebGPU: creating a device and reading back are
// awaited), by name, with JSON arguments; `device` is the Compute choice ('cpu' or 'gpu').
window.runBrowserCase = async (name, argsJson) => {
  await window.benchReady;
  const a = JSON.parse(argsJson);
  if (name === 'train-timed') {
    // A warm-up chunk (pipelines, buffers, the first readback), then `steps` steps in one chunk,
    // timed to its awaited readback.
    const pg = new mod.Playground();
    pg.prepare(a.corpus, JSON.stringify(a.config), await mod.Device.create(a.device));
    const p0 = await pg.train(a.warm ?? 1);
    const t0 = performance.now();
    const p1 = await pg.train(a.steps);
    const ms = performance.now() - t0;
    const device = pg.device();
    pg.free();
    return { ms, steps: p1.step - p0.step, tokens_per_s: (p1.tokens - p0.tokens) / (ms / 1000), steps_per_s: (p1.step - p0.step) / (ms / 1000), device };
  }
  if (name === 'attention-cost') {
    // The cost lesson's measurement (forward passes, each awaited to completion) on the device.
    const patterns = [];
    for (const pattern of a.patterns) {
      const points = [];
      for (const t of a.t) points.push(await mod.attentionCost(JSON.stringify({ pattern, t, width: a.width, heads: a.heads }), a.device));
      patterns.push({ pattern, points });
    }
    return { patterns, device: patterns[0]?.points[0]?.backend ?? null };
  }
  throw new Error(`unknown browser case '${name}'`);
};
