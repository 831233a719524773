// Loaded by the benchmark harness in headless chromium: exposes the wasm benchmarks to page.evaluate.
// `?pkg=pkg-relaxed` loads the relaxed-SIMD module instead of www/pkg.
const pkg = new URLSearchParams(location.search).get('pkg') === 'pkg-relaxed' ? 'pkg-relaxed' : 'pkg';
const mod = await import(`../../www/${pkg}/lmplay.js`);

window.benchReady = mod.default().then(() => true);
window.runBench = async (name, argsJson) => {
  await window.benchReady;
  return mod.bench(name, argsJson);
};
