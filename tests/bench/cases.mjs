// The benchmark table: each case runs crate/src/bench.rs's `name` with `args` on the listed targets
// (native CLI, wasm in node, wasm in headless chromium). `corpus_file` is read by the harness.
// `figures(result)` picks what the table shows; the whole result goes into the JSON.
export const CASES = [
  // Issue 19: learning byte-level BPE merges (the page's Subwords tokenizer) on the whole of tiny
  // Shakespeare, with counts kept up to date (the product) and recounted after each merge (minbpe's).
  ...[[1024, 'incremental'], [1024, 'recount'], [8192, 'incremental']].map(([vocab, method]) => ({
    id: `bpe-train-${vocab}-${method}`,
    title: `BPE merges to a vocabulary of ${vocab}, ${method === 'recount' ? 'recounting every pair per merge' : 'counts kept up to date'}, tiny Shakespeare (1.1 M characters)`,
    name: 'bpe-train',
    args: { corpus_file: 'tests/data/tinyshakespeare.txt', vocab, method, repeats: 3 },
    targets: ['native', 'node', 'chromium'],
    figures: (r) => ({ 'median ms': r.median_ms, merges: r.merges, 'merges/s': r.merges / r.median_ms * 1000 }),
  })),
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
  // Neural engine: single-thread sgemm C[m×n] = A[m×k]·B[k×n] with the target's best kernel flavour
  // (native: portable packed kernel; wasm: simd128), and fixed-window LM training throughput.
  ...[64, 128, 256, 512].map((n) => ({
    id: `sgemm-${n}`,
    title: `sgemm ${n}×${n}·${n}×${n}, single thread`,
    name: 'sgemm',
    args: { m: n, n, k: n },
    targets: ['native', 'node', 'chromium', 'node-relaxed', 'chromium-relaxed'],
    figures: (r) => ({ 'GFLOP/s': r.gflops, kernel: r.flavour }),
  })),
  ...[
    ['model-64x128x512', 64, 512, 128, 'model-shaped: 64×128·128×512'],
    ['fw-hidden', 64, 128, 96, 'fixed-window hidden layer (B = 64, n·d = 96, H = 128): 64×96·96×128'],
    ['fw-output-char', 64, 68, 128, 'fixed-window output layer, char vocabulary (V = 68): 64×128·128×68'],
    ['fw-output-word', 64, 12000, 128, 'fixed-window output layer, word vocabulary (V ≈ 12k): 64×128·128×12000'],
  ].map(([id, m, n, k, title]) => ({
    id: `sgemm-${id}`,
    title: `sgemm ${title}`,
    name: 'sgemm',
    args: { m, n, k },
    targets: ['native', 'node', 'chromium', 'node-relaxed', 'chromium-relaxed'],
    figures: (r) => ({ 'GFLOP/s': r.gflops, kernel: r.flavour }),
  })),
  {
    id: 'sgemm-512-portable-wasm',
    title: 'sgemm 512, the portable (autovectorized) kernel compiled to wasm, for comparison with simd128',
    name: 'sgemm',
    args: { m: 512, n: 512, k: 512, flavour: 'portable' },
    targets: ['node'],
    figures: (r) => ({ 'GFLOP/s': r.gflops, kernel: r.flavour }),
  },
  {
    id: 'fixed-window-train-char',
    title: 'fixed-window LM training, char level, tiny Shakespeare (n = 3, d = 32, H = 128, batch 64, AdamW)',
    name: 'fixed-window-train',
    args: { corpus_file: 'tests/data/tinyshakespeare.txt', steps: 200, repeats: 3, config: { data: { tokenizer: { kind: 'char' } }, model: { family: 'fixed-window' } } },
    targets: ['native', 'node', 'chromium', 'chromium-relaxed'],
    figures: (r) => ({ 'tokens/s': r.tokens_per_s, 'steps/s': r.steps_per_s, V: r.vocab_size }),
  },
  {
    id: 'fixed-window-train-word',
    title: 'fixed-window LM training, word level, tiny Shakespeare (page defaults: n = 3, d = 32, H = 128, batch 64, AdamW)',
    name: 'fixed-window-train',
    args: { corpus_file: 'tests/data/tinyshakespeare.txt', steps: 20, repeats: 3, config: { model: { family: 'fixed-window' } } },
    targets: ['native', 'node', 'chromium', 'chromium-relaxed'],
    figures: (r) => ({ 'tokens/s': r.tokens_per_s, 'steps/s': r.steps_per_s, V: r.vocab_size }),
  },
  // The recurrent family (issue "The recurrent family"): a character-level LSTM, 1 layer, H = 128,
  // E = 64, BPTT 64, batch 32, Adam; tokens/s counts batch × BPTT tokens per step.
  {
    id: 'lstm-train-char',
    title: 'LSTM training, char level, tiny Shakespeare (1 layer, H = 128, E = 64, BPTT 64, batch 32, Adam)',
    name: 'lstm-train',
    args: { corpus_file: 'tests/data/tinyshakespeare.txt', steps: 10, repeats: 3, sample_tokens: 2000, config: { data: { tokenizer: { kind: 'char' }, split: 'tail' }, model: { family: 'lstm' } } },
    targets: ['native', 'node', 'chromium', 'chromium-relaxed'],
    figures: (r) => ({ 'tokens/s': r.tokens_per_s, 'steps/s': r.steps_per_s, 'sample tok/s': r.sample_tokens_per_s, V: r.vocab_size }),
  },
  // The machine's peak 128-bit f32 rate on one thread (12 independent chains of acc·m + c): what an
  // sgemm micro-kernel could at best reach; `fma` only where the target has a fused multiply-add.
  {
    id: 'simd-peak',
    title: 'peak f32x4 throughput, one thread (multiply + add; fused where available)',
    name: 'simd-peak',
    args: { repeats: 5 },
    targets: ['native', 'chromium', 'chromium-relaxed'],
    figures: (r) => ({ 'mul+add GFLOP/s': r.mul_add_gflops, 'fma GFLOP/s': r.fma_gflops ?? 'n/a' }),
  },
  // The Transformer family (issue "The Transformer family"): nanoGPT's CPU configuration on tiny
  // Shakespeare characters — 4 layers, 4 heads, width 128, context 64, batch 12, learned positions,
  // AdamW (0.9, 0.99), weight decay 0.1 on matrices, clip 1.0; tokens/s counts batch × context
  // tokens per step. (The 2000-step quality run is the CLI's `lmplay train --model transformer …`.)
  {
    id: 'transformer-train-char',
    title: 'Transformer training, char level, tiny Shakespeare (4 layers, 4 heads, width 128, context 64, batch 12, AdamW)',
    name: 'transformer-train',
    args: { corpus_file: 'tests/data/tinyshakespeare.txt', steps: 10, repeats: 3, config: { data: { tokenizer: { kind: 'char' }, boundary: 'none', split: 'tail' }, model: { family: 'transformer' } } },
    targets: ['native', 'node', 'chromium', 'chromium-relaxed'],
    figures: (r) => ({ 'tokens/s': r.tokens_per_s, 'steps/s': r.steps_per_s, V: r.vocab_size }),
  },
  // The GPU backend natively, on the Vulkan adapter wgpu finds (lavapipe on a machine without a GPU:
  // those figures prove the harness only), each beside the CPU backend's figure on the same case.
  ...[256, 512, 1024, 2048, 4096].flatMap((n) => ['cpu', 'gpu'].map((device) => ({
    id: `backend-matmul-${n}-${device}`,
    title: `Backend::matmul ${n}×${n}·${n}×${n} on the ${device.toUpperCase()} backend`,
    name: 'gpu-matmul',
    args: { m: n, n, k: n, device, repeats: n >= 2048 ? 1 : 3 },
    targets: ['native'],
    figures: (r) => ({ 'GFLOP/s': r.gflops, device: r.device.adapter?.name ?? 'cpu' }),
  }))),
  ...['cpu', 'gpu'].map((device) => ({
    id: `attention-${device}`,
    title: `attention forward + backward against T (4 heads, width 128) on the ${device.toUpperCase()} backend`,
    name: 'attention',
    args: { t: [64, 128, 256, 512], patterns: ['full', 'fused', 'linear'], repeats: 3, device },
    targets: ['native'],
    figures: (r) => Object.fromEntries(r.patterns.flatMap((p) => p.points.map((q) => [`${p.pattern} T=${q.t} ms`, q.ms]))),
  })),
  ...['cpu', 'gpu'].flatMap((device) => [
    {
      id: `transformer-train-char-${device}`,
      title: `Transformer training (nanoGPT CPU config) on the ${device.toUpperCase()} backend`,
      name: 'transformer-train',
      args: { corpus_file: 'tests/data/tinyshakespeare.txt', steps: 5, repeats: 3, device, config: { data: { tokenizer: { kind: 'char' }, boundary: 'none', split: 'tail' }, model: { family: 'transformer' } } },
      targets: ['native'],
      figures: (r) => ({ 'tokens/s': r.tokens_per_s, 'steps/s': r.steps_per_s, device: r.device.adapter?.name ?? 'cpu' }),
    },
    {
      id: `lstm-train-char-${device}`,
      title: `LSTM training (char, H = 128, BPTT 64, batch 32) on the ${device.toUpperCase()} backend`,
      name: 'lstm-train',
      args: { corpus_file: 'tests/data/tinyshakespeare.txt', steps: 5, repeats: 3, device, config: { data: { tokenizer: { kind: 'char' }, split: 'tail' }, model: { family: 'lstm' } } },
      targets: ['native'],
      figures: (r) => ({ 'tokens/s': r.tokens_per_s, 'steps/s': r.steps_per_s, device: r.device.adapter?.name ?? 'cpu' }),
    },
  ]),
  // The same on the page's WebGPU path in headless Chromium (SwiftShader there: a software adapter,
  // so the figures prove the harness, as lavapipe's do natively), beside the page's CPU path.
  ...['cpu', 'gpu'].flatMap((device) => [
    {
      id: `transformer-train-char-webgpu-${device}`,
      title: `Transformer training (nanoGPT CPU config) in Chromium, Compute = ${device.toUpperCase()}`,
      name: 'train-timed',
      args: { corpus_file: 'tests/data/tinyshakespeare.txt', warm: 1, steps: 2, device, config: { data: { tokenizer: { kind: 'char' }, boundary: 'none', split: 'tail' }, model: { family: 'transformer' } } },
      targets: ['chromium-webgpu'],
      figures: (r) => ({ 'tokens/s': r.tokens_per_s, 'steps/s': r.steps_per_s, device: r.device.adapter?.name ?? 'cpu' }),
    },
    {
      id: `lstm-train-char-webgpu-${device}`,
      title: `LSTM training (char, H = 128, BPTT 64, batch 32) in Chromium, Compute = ${device.toUpperCase()}`,
      name: 'train-timed',
      args: { corpus_file: 'tests/data/tinyshakespeare.txt', warm: 1, steps: 3, device, config: { data: { tokenizer: { kind: 'char' }, split: 'tail' }, model: { family: 'lstm' } } },
      targets: ['chromium-webgpu'],
      figures: (r) => ({ 'tokens/s': r.tokens_per_s, 'steps/s': r.steps_per_s, device: r.device.adapter?.name ?? 'cpu' }),
    },
    {
      id: `attention-webgpu-${device}`,
      title: `the cost lesson's attention forward against T (4 heads, width 128) in Chromium, Compute = ${device.toUpperCase()}`,
      name: 'attention-cost',
      args: { t: [64, 128, 256], patterns: ['full', 'fused', 'linear'], width: 128, heads: 4, device },
      targets: ['chromium-webgpu'],
      figures: (r) => Object.fromEntries(r.patterns.flatMap((p) => p.points.map((q) => [`${p.pattern} T=${q.t} ms`, q.ms]))),
    },
  ]),
];
