// The benchmark table: each case runs crate/src/bench.rs's `name` with `args` on the listed targets
// (native CLI, wasm in node, wasm in headless chromium). `corpus_file` is read by the harness.
// `figures(result)` picks what the table shows; the whole result goes into the JSON.
export const CASES = [
  {
    id: 'ngram-train-word-3',
    title: '3-gram add-k, word level, tiny Shakespeare (count + estimate)',
    name: 'ngram-train',
    args: { corpus_file: 'tests/data/tinyshakespeare.txt', config: { model: { family: 'ngram', order: 3, method: 'addk', k: 0.1 } } },
    targets: ['native', 'node', 'chromium'],
    figures: (r) => ({ 'median ms': r.median_ms, 'Mtok/s': r.train_tokens / r.median_ms / 1000 }),
  },
];
