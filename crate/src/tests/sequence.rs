//! The shared trainer on batches of B sequences × T tokens, with a test-only model: a neural bigram
//! (logits = E[x], one table, no hidden layer). It exercises `Windows` and `Lanes` batching, the
//! per-token loss accounting, evaluation and save/resume on the generic trainer, the paths the
//! recurrent and Transformer families will use.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use crate::nn::backend::cpu::Cpu;
use crate::nn::batches::{Batch, Batching};
use crate::nn::engine::Engine;
use crate::nn::model::{Network, NeuralModel};
use crate::nn::params::{Entry, Layout};
use crate::nn::tensor::{Ids, Tensor};
use crate::nn::train::TrainConfig;
use crate::nn::trainer::NeuralTrainer;
use crate::rng::Rng;
use crate::text::{DataConfig, Dataset, Tokenizer, TokenizerKind, TokenId, Vocab, BOS};
use crate::train::{train_chunk, Trainer};
use crate::Result;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, Default)]
struct BigramConfig {
    lanes: bool,
    len: usize,
    train: TrainConfig,
}

struct Bigram {
    config: BigramConfig,
    rows: usize,
    logits: Tensor,
    probs: Tensor,
    dlogits: Tensor,
    losses: Tensor,
    inputs: Ids,
    targets: Ids,
    table: Tensor,
    dtable: Tensor,
    /// Batches seen with `reset` (what a recurrent model would clear its state on).
    resets: std::cell::Cell<usize>,
}

impl Bigram {
    fn load(&self, eng: &mut Engine, pairs: impl Iterator<Item = (TokenId, TokenId)>) -> usize {
        eng.ids.clear();
        let pairs: Vec<(TokenId, TokenId)> = pairs.collect();
        eng.ids.extend(pairs.iter().map(|p| p.0));
        eng.upload_ids(self.inputs);
        eng.ids.clear();
        eng.ids.extend(pairs.iter().map(|p| p.1));
        eng.upload_ids(self.targets);
        pairs.len()
    }
    fn forward(&self, eng: &mut Engine, rows: usize) -> Tensor {
        let r = |t: Tensor| t.first_rows(rows);
        eng.be.embedding(r(self.logits), self.table, self.inputs.first(rows));
        eng.be.cross_entropy(r(self.losses), r(self.probs), r(self.logits), self.targets.first(rows));
        r(self.losses)
    }
}

impl NeuralModel for Bigram {
    const FAMILY: &'static str = "test-bigram";
    type Config = BigramConfig;
    type State = TokenId;
    fn validate(_: &BigramConfig) -> Result<()> {
        Ok(())
    }
    fn train_config(c: &BigramConfig) -> &TrainConfig {
        &c.train
    }
    fn describe(_: &BigramConfig) -> String {
        "neural bigram (test)".into()
    }
    fn context(_: &BigramConfig) -> Option<usize> {
        Some(1)
    }
    fn batching(c: &BigramConfig) -> Batching {
        if c.lanes { Batching::Lanes { len: c.len } } else { Batching::Windows { len: c.len } }
    }
    fn layout(_: &BigramConfig, v: usize) -> Layout {
        let mut l = Layout::default();
        l.push("table", &[v, v]);
        l
    }
    fn init(_: &BigramConfig, e: &Entry, rng: &mut Rng) -> Vec<f32> {
        (0..e.shape.numel()).map(|_| 0.1 * rng.normal() as f32).collect()
    }
    fn activation_bytes(c: &BigramConfig, v: usize) -> u64 {
        let rows = (c.train.batch * c.len).max(256) as u64;
        (rows * (3 * v as u64 + 1) + 2 * rows) * 4
    }
    fn new(config: BigramConfig, vocab: &Vocab, eng: &mut Engine) -> Result<Self> {
        let (v, rows) = (vocab.len(), (config.train.batch * config.len).max(256));
        Ok(Bigram {
            rows,
            logits: eng.alloc(&[rows, v])?,
            probs: eng.alloc(&[rows, v])?,
            dlogits: eng.alloc(&[rows, v])?,
            losses: eng.alloc(&[rows, 1])?,
            inputs: eng.alloc_ids(rows),
            targets: eng.alloc_ids(rows),
            table: eng.param("table"),
            dtable: eng.grad("table"),
            resets: Default::default(),
            config,
        })
    }
    fn config(&self) -> &BigramConfig {
        &self.config
    }
    fn forward_backward(&self, eng: &mut Engine, stream: &[TokenId], batch: &Batch, loss: Tensor) {
        if batch.reset {
            self.resets.set(self.resets.get() + 1);
        }
        // Row (b, t) reads stream[s + t] and predicts stream[s + t + 1].
        let rows = self.load(eng, batch.starts.iter().flat_map(|&s| (0..batch.len).map(move |t| (stream[s as usize + t], stream[s as usize + t + 1]))));
        assert_eq!(rows, batch.tokens());
        let losses = self.forward(eng, rows);
        eng.be.fill(self.dlogits.first_rows(rows), 0.0);
        eng.be.cross_entropy_backward(self.dlogits.first_rows(rows), self.probs.first_rows(rows), self.targets.first(rows), 1.0 / rows as f32);
        eng.be.embedding_backward(self.dtable, self.dlogits.first_rows(rows), self.inputs.first(rows));
        eng.be.sum_rows(loss, losses, false);
        eng.be.scale(loss, 1.0 / rows as f32);
    }
    fn eval(&self, eng: &mut Engine, stream: &[TokenId], positions: &[u32], sink: &mut dyn FnMut(&mut Engine, Tensor, &[u32])) {
        for chunk in positions.chunks(self.rows) {
            let rows = self.load(eng, chunk.iter().map(|&p| (if p == 0 { BOS } else { stream[p as usize - 1] }, stream[p as usize])));
            let l = self.forward(eng, rows);
            sink(eng, l, chunk);
        }
    }
    fn start(&self, _: &mut Engine) -> TokenId {
        BOS
    }
    fn push(&self, _: &mut Engine, s: &mut TokenId, t: TokenId) {
        *s = t;
    }
    fn distribution(&self, eng: &mut Engine, s: &mut TokenId, out: &mut [f64]) {
        eng.be.write_ids(self.inputs.first(1), &[*s]);
        let r = |t: Tensor| t.first_rows(1);
        eng.be.embedding(r(self.logits), self.table, self.inputs.first(1));
        eng.be.softmax(r(self.probs), r(self.logits));
        for (o, p) in out.iter_mut().zip(eng.be.read(r(self.probs))) {
            *o = p as f64;
        }
    }
}

fn data() -> Dataset {
    let corpus = "abcabcabd abcabc\nbcabcab cabcabca\n".repeat(20);
    let cfg = DataConfig { tokenizer: Tokenizer::new(TokenizerKind::Char, false), ..Default::default() };
    Dataset::from_corpus(&corpus, &cfg, 1).unwrap()
}

fn trainer(lanes: bool, data: &Dataset) -> NeuralTrainer<Bigram> {
    let mut c = BigramConfig { lanes, len: 8, train: TrainConfig { batch: 4, steps: 60, warmup: 0, lr: 0.1, eval_interval: 20, ..Default::default() } };
    c.train.optim.weight_decay = 0.0;
    let net = Network::<Bigram>::new(c, data.vocab.clone(), Box::new(Cpu::checked()), Some(3)).unwrap();
    NeuralTrainer::new(net, data, 7).unwrap()
}

/// Both sequence batchings learn the bigrams, count B·T tokens a step, and evaluate.
#[test]
fn sequence_batches_train_through_the_shared_trainer() {
    let d = data();
    for lanes in [false, true] {
        let mut t = trainer(lanes, &d);
        let p = train_chunk(&mut t, &d, 60).unwrap();
        assert_eq!((p.step, p.tokens), (60, 60 * 4 * 8), "lanes {lanes}");
        let first = p.points[..5].iter().map(|p| p.train_loss).sum::<f64>() / 5.0;
        let last = p.points[55..].iter().map(|p| p.train_loss).sum::<f64>() / 5.0;
        assert!(last < first - 0.3, "lanes {lanes}: {first} → {last}");
        assert_eq!(p.points.iter().filter(|p| p.valid_loss.is_some()).count(), 3);
        if lanes {
            // Lanes of (len − 1) / 4 tokens read 8 at a time: the state resets when they wrap.
            let lane = (d.train.len() - 1) / 4;
            let wraps = 60 / (lane / 8);
            assert!((wraps..=wraps + 1).contains(&t.net.model.resets.get()), "{} resets, lane {lane}", t.net.model.resets.get());
        } else {
            assert_eq!(t.net.model.resets.get(), 0);
        }
    }
}

/// A sequence run saved part-way and resumed continues the same curve (the lanes' place is in
/// the file; carried state restarts with a reset).
#[test]
fn a_resumed_sequence_run_continues_the_same_batches() {
    let d = data();
    let mut whole = trainer(true, &d);
    let a = train_chunk(&mut whole, &d, 60).unwrap().points;
    let mut half = trainer(true, &d);
    train_chunk(&mut half, &d, 30).unwrap();
    let state = half.state();
    let weights = half.net.engine.borrow_mut().params_named();
    let (moments, t) = half.net.engine.borrow_mut().moments_named();
    let mut resumed = trainer(true, &d);
    {
        let mut eng = resumed.net.engine.borrow_mut();
        eng.set_params(&mut weights.clone()).unwrap();
        eng.set_moments(&mut moments.clone(), t).unwrap();
    }
    resumed.restore(state).unwrap();
    let resets = resumed.net.model.resets.get();
    let b = train_chunk(&mut resumed, &d, 30).unwrap().points;
    assert_eq!(b[0].step, 31);
    assert!(resumed.net.model.resets.get() > resets, "the first window after a restore resets");
    // The same batches: the losses agree to rounding (the same model, the same data).
    for (x, y) in a[30..].iter().zip(&b) {
        assert_eq!(x.step, y.step);
        assert!((x.train_loss - y.train_loss).abs() < 1e-5, "step {}: {} vs {}", x.step, x.train_loss, y.train_loss);
    }
    let _ = resumed.model().unwrap();
}
