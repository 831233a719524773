//! nanoGPT's evaluation protocol (`lm::windows`): a hand-computed mean on a model of known
//! behaviour, windows inside the split, seeded reproducibility, an untrained Transformer at ≈ ln V,
//! one window = one training pass, and the session / CLI settings.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use crate::lm::windows::{window_loss, EvalConfig, EvalProtocol};
use crate::lm::{LanguageModel, ModelInfo, TokenStream};
use crate::nn::backend::cpu::Cpu;
use crate::nn::batches::Batch;
use crate::nn::model::Network;
use crate::nn::models::transformer::{Positional, Transformer, TransformerConfig};
use crate::rng::Rng;
use crate::session::{ModelConfig, RunConfig, Session};
use crate::text::{Boundary, DataConfig, SplitKind, SplitUnit, TokenId, Tokenizer, TokenizerKind, Vocab, BOS};
use std::cell::Cell;

/// P(next = the last token read) = 1/2, the rest shared evenly by the other predictable tokens;
/// uniform with no history. It records the longest history it was asked about.
struct Repeat {
    vocab: Vocab,
    context: usize,
    longest: Cell<usize>,
}

struct RepeatStream<'a> {
    m: &'a Repeat,
    history: Vec<TokenId>,
}

impl LanguageModel for Repeat {
    fn vocab(&self) -> &Vocab {
        &self.vocab
    }
    fn info(&self) -> ModelInfo {
        ModelInfo { family: "repeat".into(), description: String::new(), normalized: true, parameters: 0, context: Some(self.context), generative: true }
    }
    fn stream(&self) -> Box<dyn TokenStream + '_> {
        Box::new(RepeatStream { m: self, history: Vec::new() })
    }
}

impl TokenStream for RepeatStream<'_> {
    fn push(&mut self, token: TokenId) {
        self.history.push(token);
    }
    fn distribution(&mut self, out: &mut [f64]) {
        let v = &self.m.vocab;
        self.m.longest.set(self.m.longest.get().max(self.history.len()));
        let n = v.num_predictable() as f64;
        let last = self.history.last().copied().filter(|&t| v.is_predictable(t));
        for (id, o) in out.iter_mut().enumerate() {
            let id = id as TokenId;
            *o = match (v.is_predictable(id), last) {
                (false, _) => 0.0,
                (true, None) => 1.0 / n,
                (true, Some(l)) if l == id => 0.5,
                (true, Some(_)) => 0.5 / (n - 1.0),
            };
        }
    }
    fn vocab_len(&self) -> usize {
        self.m.vocab.len()
    }
}

fn vocab() -> Vocab {
    Vocab::from_tokens((0..5).map(|i| format!("t{i}")), true)
}

/// A stream without boundaries: `<s>` then tokens with repeats.
fn stream(n: usize, seed: u64) -> Vec<TokenId> {
    let mut rng = Rng::new(seed);
    let mut s = vec![BOS];
    while s.len() < n {
        let t = if rng.below(3) == 0 { *s.last().unwrap() } else { 3 + rng.below(5) as TokenId };
        s.push(if t == BOS { 3 } else { t });
    }
    s
}

#[test]
fn the_window_loss_is_the_mean_over_batches_of_each_windows_targets() {
    let m = Repeat { vocab: vocab(), context: 4, longest: Cell::new(0) };
    let s = stream(30, 1);
    let cfg = EvalConfig { protocol: EvalProtocol::Windows, batches: 3, batch_size: 2, window: 0 };
    let got = window_loss(&m, &s, &cfg, 7).unwrap();
    // By hand: the same draws; target y_k = s[i + k + 1] after x_0 … x_k (x_k = s[i + k]).
    let n = m.vocab.num_predictable() as f64;
    let mut rng = Rng::derive(7, "eval-windows");
    let mut want = 0.0;
    for _ in 0..3 {
        let mut sum = 0.0;
        for _ in 0..2 {
            let i = rng.below(s.len() - 4);
            for k in 0..4 {
                let p = if s[i + k + 1] == s[i + k] && s[i + k] != BOS { 0.5 } else if s[i + k] == BOS { 1.0 / n } else { 0.5 / (n - 1.0) };
                sum -= f64::ln(p);
            }
        }
        want += sum / 8.0;
    }
    want /= 3.0;
    assert!((got.loss - want).abs() < 1e-12, "{} vs {want}", got.loss);
    assert_eq!((got.window, got.scored, got.batches, got.batch_size), (4, 24, 3, 2));
    assert!((got.perplexity - want.exp()).abs() < 1e-9);
    // Every window is T + 1 tokens inside the split: at most T tokens of history.
    assert_eq!(m.longest.get(), 4);
    // Seeded: the same seed gives the same number, another seed another one.
    assert_eq!(window_loss(&m, &s, &cfg, 7).unwrap(), got);
    assert_ne!(window_loss(&m, &s, &cfg, 8).unwrap().loss, got.loss);
    // A split of exactly T + 1 tokens has one window; one token less has none.
    let one = window_loss(&m, &s[3..8], &EvalConfig { batches: 1, batch_size: 1, ..cfg.clone() }, 0).unwrap();
    assert_eq!(one.scored, 4);
    assert_eq!(window_loss(&m, &s[3..7], &cfg, 0).unwrap_err().code, "split-too-small");
    let explicit = window_loss(&m, &s, &EvalConfig { window: 2, ..cfg.clone() }, 7).unwrap();
    assert_eq!((explicit.window, explicit.scored), (2, 12));
}

fn tiny(context: usize) -> TransformerConfig {
    let mut c = TransformerConfig { layers: 2, heads: 2, width: 8, ffn: 12, context, positional: Positional::Learned, ..Default::default() };
    c.train.batch = 3;
    c
}

/// An untrained Transformer (weights N(0, 0.02²)) is close to uniform: loss ≈ ln V (V predictable
/// tokens); and a window is one training-shaped pass: its loss is the training loss of that window.
#[test]
fn an_untrained_transformer_scores_ln_v_and_a_window_is_a_training_pass() {
    let net = Network::<Transformer>::new(tiny(6), vocab(), Box::new(Cpu::checked()), Some(3)).unwrap();
    let s = stream(40, 2);
    let cfg = EvalConfig { protocol: EvalProtocol::Windows, batches: 4, batch_size: 3, window: 0 };
    let w = window_loss(&net, &s, &cfg, 0).unwrap();
    let ln_v = (net.vocab.num_predictable() as f64).ln();
    assert_eq!((w.window, w.scored), (6, 72));
    assert!((w.loss - ln_v).abs() < 0.05, "{} vs ln V = {ln_v}", w.loss);
    let window = &s[10..17];
    let one = window_loss(&net, window, &EvalConfig { batches: 1, batch_size: 1, ..cfg }, 0).unwrap();
    let train = net.loss_and_gradients(window, &Batch { starts: &[0], len: 6, reset: false, index: 0 });
    assert!((one.loss - train).abs() < 1e-5, "{} vs {train}", one.loss);
}

const TEXT: &str = "to be or not to be that is the question\nwhether tis nobler in the mind to suffer\nthe slings and arrows of outrageous fortune\n";

/// The run's settings carry the protocol (left out of the JSON when off); the report has the window
/// loss next to the usual one; with a token split the validation split is the last share of the
/// characters.
#[test]
fn a_session_reports_the_window_loss_when_asked() {
    let data = DataConfig { tokenizer: Tokenizer::new(TokenizerKind::Char, false), boundary: Boundary::None, split: SplitKind::Tail, split_unit: SplitUnit::Token, valid_fraction: 0.25, ..DataConfig::default() };
    let mut c = tiny(8);
    c.train.steps = 2;
    let config = RunConfig { data, model: ModelConfig::new("transformer", &c), ..RunConfig::default() };
    assert!(!serde_json::to_string(&config).unwrap().contains("\"eval\""));
    let mut s = Session::new(TEXT, config.clone()).unwrap();
    s.train_to_end().unwrap();
    assert!(s.report().unwrap().windows.is_none());
    assert_eq!(s.data.stats.valid_tokens, TEXT.chars().count() - (TEXT.chars().count() as f64 * 0.75).floor() as usize);
    let on = RunConfig { eval: EvalConfig { protocol: EvalProtocol::Windows, batches: 5, ..EvalConfig::default() }, ..config };
    let json = serde_json::to_string(&on).unwrap();
    assert!(json.contains("\"eval\""));
    assert_eq!(RunConfig::from_json(&json).unwrap(), on);
    let mut s = Session::new(TEXT, on.clone()).unwrap();
    s.train_to_end().unwrap();
    let r = s.report().unwrap();
    let w = r.windows.unwrap();
    assert_eq!((w.batches, w.batch_size, w.window, w.scored), (5, 12, 8, 5 * 12 * 8));
    assert!(w.loss.is_finite() && w.loss > 0.0);
    let bad = RunConfig { eval: EvalConfig { batches: 0, ..on.eval.clone() }, ..on };
    assert_eq!(Session::new(TEXT, bad).err().unwrap().code, "invalid-config");
}
