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
  // Issue 3: 5-gram modified Kneser-Ney, timed by phase, with scoring throughput and peak memory.
  ...[
    ['word', 'word', 'word level (word tokenizer, 90/10 random split)', {}],
    ['char', 'char', 'char level (90/10 random split; fallback discounts: char unigrams have out-of-range D3+, in KenLM too)', {}, { discount_fallback: true }],
    // The fixture split KenLM's lmplz timing was taken on: whitespace tokens, the first 90% of lines.
    ['kenlm', 'whitespace', 'KenLM fixture split (whitespace tokens, first 90% of lines = train-full)', { split: 'tail' }],
  ].map(([id, kind, what, data, model = {}]) => ({
    id: `ngram-mkn5-${id}`,
    title: `5-gram modified-kn, tiny Shakespeare, ${what}`,
    name: 'ngram-estimate',
    args: {
      corpus_file: 'tests/data/tinyshakespeare.txt',
      repeats: 5,
      config: { seed: 1, data: { tokenizer: { kind }, ...data }, model: { family: 'ngram', order: 5, method: 'modified-kn', ...model } },
    },
    targets: ['native', 'node', 'chromium'],
    figures: (r) => ({
      'count+estimate ms': r.count_estimate_ms,
      'tokenize ms': r.tokenize_ms,
      'end-to-end ms': r.end_to_end_ms,
      '+ARPA ms': r.arpa_ms,
      'score Mtok/s': r.score_tokens_per_s / 1e6,
      'peak MB': r.peak_memory_bytes / 2 ** 20,
      'train tokens': r.train_tokens,
    }),
  })),
];
