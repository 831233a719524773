//! The recurrent family through the stack: gradients through time against finite differences,
//! streams that carry the state against a full re-run, training, model files, memory.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use crate::lm::LanguageModel;
use crate::nn::backend::cpu::Cpu;
use crate::nn::batches::Batch;
use crate::nn::model::Network;
use crate::nn::models::recurrent::{CellKind, GruCell, LstmCell, Recurrent, RecurrentConfig, RnnCell};
use crate::nn::ops::activation::Activation;
use crate::nn::trainer::estimate;
use crate::session::{ModelConfig, RunConfig, Session};
use crate::text::{DataConfig, TokenId, Tokenizer, TokenizerKind, Vocab, BOS, EOS};
use crate::train::LossPoint;

fn small(layers: usize, act: Activation) -> RecurrentConfig {
    let mut c = RecurrentConfig { layers, embed: 6, hidden: 8, bptt: 5, activation: act, ..Default::default() };
    c.train.batch = 3;
    c.train.steps = 40;
    c.train.warmup = 0;
    c.train.eval_interval = 10;
    c.train.lr = 1e-2;
    c
}

pub(super) fn vocab() -> Vocab {
    Vocab::from_tokens((0..9).map(|i| format!("t{i}")), true)
}

/// A stream with sentence boundaries, so some targets are `<s>` (never predicted).
pub(super) fn stream(n: usize) -> Vec<TokenId> {
    let mut rng = crate::rng::Rng::new(4);
    let mut s = vec![BOS];
    while s.len() < n {
        let t = 3 + rng.below(9) as TokenId;
        s.push(t);
        if rng.below(6) == 0 {
            s.extend([EOS, BOS]);
        }
    }
    s.truncate(n);
    s
}

/// ∂loss/∂θ by the backward pass against central differences of the loss itself, for a sample of
/// entries of every parameter, through a whole BPTT window (and a second one from the carried state).
fn gradients_through_time<K: CellKind>(layers: usize, act: Activation) {
    // Odd sizes (per-step slots padded: every step on its own) and sizes whose steps are contiguous
    // (B·E, B·H and B·G·H multiples of 64 floats: the input side runs over all steps at once).
    gradients_with::<K>(small(layers, act), &[0, 10, 20]);
    let c = RecurrentConfig { embed: 8, hidden: 8, train: crate::nn::train::TrainConfig { batch: 8, ..small(layers, act).train }, ..small(layers, act) };
    gradients_with::<K>(c.clone(), &[0, 10, 20, 30, 40, 50, 60, 70]);
    // With dropout between layers: the same batch draws the same mask, so the loss is a function.
    if layers > 1 {
        gradients_with::<K>(RecurrentConfig { dropout: 0.5, ..small(layers, act) }, &[0, 10, 20]);
        gradients_with::<K>(RecurrentConfig { dropout: 0.3, ..c }, &[0, 10, 20, 30, 40, 50, 60, 70]);
    }
}

fn gradients_with<K: CellKind>(c: RecurrentConfig, starts: &[u32]) {
    let layers = c.layers;
    let net = Network::<Recurrent<K>>::new(c, vocab(), Box::new(Cpu::checked()), Some(5)).unwrap();
    let s = stream(81);
    for window in 0..2u32 {
        let b: Vec<u32> = starts.iter().map(|&x| x + window * 5).collect();
        let batch = Batch { starts: &b, len: 5, reset: window == 0, index: window as u64 };
        // The carried state before this window, to restore before each probe.
        let state = net.model.carried(&mut net.engine.borrow_mut());
        let set_state = |st: &(Vec<Vec<f32>>, Vec<Vec<f32>>)| net.model.set_carried(&mut net.engine.borrow_mut(), st);
        net.loss_and_gradients(&s, &batch);
        let after = net.model.carried(&mut net.engine.borrow_mut());
        let grads = net.engine.borrow_mut().grads_named();
        let params = net.engine.borrow_mut().params_named();
        let mut rng = crate::rng::Rng::new(9);
        for ((name, g), (_, p)) in grads.iter().zip(&params) {
            for _ in 0..4 {
                let i = rng.below(p.data.len());
                let probe = |delta: f32| {
                    let mut w = params.clone();
                    w.iter_mut().find(|(n, _)| n == name).unwrap().1.data[i] += delta;
                    net.engine.borrow_mut().set_params(&mut w).unwrap();
                    set_state(&state);
                    net.loss_and_gradients(&s, &batch)
                };
                let h = 1e-2;
                let numeric = (probe(h) - probe(-h)) / (2.0 * h as f64);
                let analytic = g.data[i] as f64;
                assert!((analytic - numeric).abs() <= 2e-3 + 0.03 * numeric.abs(), "{} {layers} layers window {window}: d/d{name}[{i}] analytic {analytic} vs numeric {numeric}", K::NAME);
            }
        }
        net.engine.borrow_mut().set_params(&mut params.clone()).unwrap();
        set_state(&after);
    }
}

#[test]
fn rnn_gradients_through_time_match_finite_differences() {
    gradients_through_time::<RnnCell>(1, Activation::Tanh);
    gradients_through_time::<RnnCell>(2, Activation::Sigmoid);
}

#[test]
fn lstm_gradients_through_time_match_finite_differences() {
    gradients_through_time::<LstmCell>(1, Activation::Tanh);
    gradients_through_time::<LstmCell>(2, Activation::Tanh);
}

#[test]
fn gru_gradients_through_time_match_finite_differences() {
    gradients_through_time::<GruCell>(1, Activation::Tanh);
    gradients_through_time::<GruCell>(2, Activation::Tanh);
}

/// Bidirectional: both directions through time (the reverse one from zero at the window's end, the
/// forward one from the carried state), [h_fwd; h_bwd] into the layer above, with and without dropout.
#[test]
fn bidirectional_gradients_through_time_match_finite_differences() {
    let bi = |layers, act| RecurrentConfig { bidirectional: true, ..small(layers, act) };
    gradients_with::<RnnCell>(bi(2, Activation::Tanh), &[0, 10, 20]);
    gradients_with::<LstmCell>(bi(1, Activation::Tanh), &[0, 10, 20]);
    gradients_with::<LstmCell>(RecurrentConfig { dropout: 0.4, ..bi(2, Activation::Tanh) }, &[0, 10, 20]);
    gradients_with::<GruCell>(bi(2, Activation::Tanh), &[0, 10, 20]);
    // Contiguous steps (the input side over all steps at once).
    let c = RecurrentConfig { embed: 8, hidden: 8, train: crate::nn::train::TrainConfig { batch: 8, ..small(2, Activation::Tanh).train }, ..bi(2, Activation::Tanh) };
    gradients_with::<GruCell>(c.clone(), &[0, 10, 20, 30, 40, 50, 60, 70]);
    gradients_with::<LstmCell>(c, &[0, 10, 20, 30, 40, 50, 60, 70]);
}

/// The course's warning, as a test: trained as a next-token model, a bidirectional LSTM's loss
/// collapses (it reads the token it predicts), far below a unidirectional one's on the same text; it
/// says it is not a language model, refuses to generate, and its perplexity carries the warning.
#[test]
fn a_bidirectional_model_sees_the_future_and_cannot_generate() {
    let corpus = "the quick brown fox jumps over the lazy dog while a cat sleeps on the warm mat\n".repeat(2)
        + &(0..40).map(|i| format!("line {i}: {}\n", (0..12).map(|j| ((i * 7 + j * 13) % 26) as u8 as char).map(|c| (b'a' + c as u8) as char).collect::<String>())).collect::<String>();
    let train = |bidirectional| {
        let mut c = RecurrentConfig { bidirectional, hidden: 32, embed: 16, bptt: 16, ..Default::default() };
        c.train.batch = 8;
        c.train.steps = 300;
        c.train.lr = 1e-2;
        c.train.eval_interval = 100;
        let mut s = Session::new(&corpus, run_config("lstm", c)).unwrap();
        let p = s.train_to_end().unwrap();
        let hist: Vec<LossPoint> = serde_json::from_value(s.view("history", &serde_json::json!({})).unwrap()["points"].clone()).unwrap();
        let tail: f64 = hist[hist.len() - 10..].iter().map(|p| p.train_loss).sum::<f64>() / 10.0;
        (s, tail, p)
    };
    let (uni, uni_loss, _) = train(false);
    let (bi, bi_loss, _) = train(true);
    eprintln!("training loss: bidirectional {bi_loss:.3}, unidirectional {uni_loss:.3}");
    assert!(bi_loss < 0.3 * uni_loss && bi_loss < 0.5, "bidirectional {bi_loss} vs unidirectional {uni_loss}");
    assert!(uni.model().unwrap().info().generative);
    let info = bi.model().unwrap().info();
    assert!(!info.generative && info.description.starts_with("bidirectional LSTM"), "{info:?}");
    let r = bi.report().unwrap();
    assert!(r.validation.notes.iter().any(|n| n.code == "not-generative"));
    assert!(uni.report().unwrap().validation.notes.iter().all(|n| n.code != "not-generative"));
    let sample = crate::lm::sample::SampleConfig { length: 10, ..Default::default() };
    assert_eq!(bi.generate("the", &sample, |_| true).unwrap_err().code, "not-generative");
    let mut bi = bi;
    assert_eq!(bi.start_generation("the", &sample).unwrap_err().code, "not-generative");
    assert_eq!(bi.can_generate().unwrap_err().code, "not-generative");
    // The saved model says the same after loading.
    let loaded = Session::load(&bi.save().unwrap(), None).unwrap();
    assert!(!loaded.model().unwrap().info().generative);
    // The recurrent views show its forward directions; its stream is a distribution.
    let gf = bi.view("gradient-flow", &serde_json::json!({})).unwrap();
    assert_eq!(gf["layers"].as_array().unwrap().len(), 1);
    let hs = bi.view("hidden-states", &serde_json::json!({ "text": "the cat" })).unwrap();
    assert!(hs["layers"][0]["h"].as_array().unwrap().iter().all(|row| row.as_array().unwrap().len() == 32));
    let next = bi.view("next", &serde_json::json!({ "context": "the", "k": 64 })).unwrap();
    let total: f64 = next["top"].as_array().unwrap().iter().map(|x| x["prob"].as_f64().unwrap()).sum();
    assert!((total - 1.0).abs() < 1e-4, "{total}");
}

/// A stream carries its hidden state token by token; its distributions are exactly those of a full
/// re-run over the prefix (the batched scoring, which reads the whole stream in BPTT windows).
fn stream_matches_a_full_rerun<K: CellKind>() {
    let net = Network::<Recurrent<K>>::new(small(2, Activation::Tanh), vocab(), Box::new(Cpu::checked()), Some(8)).unwrap();
    // With sentence boundaries, and without (the first token is predicted from the empty history).
    for s in [stream(23), stream(24)[1..].to_vec()] {
        one_stream(&net, &s);
    }
}

fn one_stream<K: CellKind>(net: &Network<Recurrent<K>>, s: &[TokenId]) {
    let batched = net.score(s);
    let mut st = net.stream();
    let mut d = vec![0.0; net.vocab.len()];
    let mut streamed = Vec::new();
    for &t in s {
        if t != BOS {
            st.distribution(&mut d);
            assert!((d.iter().sum::<f64>() - 1.0).abs() < 1e-5 && d[BOS as usize] == 0.0);
            streamed.push(d[t as usize].log2());
        }
        st.push(t);
    }
    assert_eq!(batched.len(), streamed.len());
    for (a, b) in batched.iter().zip(&streamed) {
        assert!((a - b).abs() < 1e-5, "{}: {a} vs {b}", K::NAME);
    }
}

#[test]
fn streams_carry_the_state_like_a_full_rerun() {
    stream_matches_a_full_rerun::<RnnCell>();
    stream_matches_a_full_rerun::<LstmCell>();
    stream_matches_a_full_rerun::<GruCell>();
}

const CORPUS: &str = "the cat sat on the mat\nthe dog sat on the log\na cat and a dog\nthe mat and the log\n";

fn run_config(family: &str, c: RecurrentConfig) -> RunConfig {
    RunConfig {
        seed: 5,
        data: DataConfig { tokenizer: Tokenizer::new(TokenizerKind::Char, false), ..Default::default() },
        model: ModelConfig::new(family, &c),
        ..Default::default()
    }
}

#[test]
fn every_cell_trains_resumes_and_generates() {
    for family in ["rnn", "lstm", "gru"] {
        let corpus = CORPUS.repeat(4);
        let mut s = Session::new(&corpus, run_config(family, small(1, Activation::Tanh))).unwrap();
        let mut points = Vec::new();
        loop {
            let p = s.train_step(7).unwrap();
            points.extend(p.points);
            if p.done {
                break;
            }
        }
        let first: f64 = points[..5].iter().map(|p| p.train_loss).sum::<f64>() / 5.0;
        let last: f64 = points[35..].iter().map(|p| p.train_loss).sum::<f64>() / 5.0;
        assert!(last < first - 0.3, "{family}: {first} → {last}");
        assert!(s.report().unwrap().validation.perplexity.is_finite());
        assert_eq!(s.model().unwrap().info().family, family);
        // Half-way to a file and back: the same curve (the lanes' place is saved; the carried state
        // restarts, which the same run does too when it is resumed).
        let mut half = Session::new(&corpus, run_config(family, small(1, Activation::Tanh))).unwrap();
        half.train_step(20).unwrap();
        let mut resumed = Session::load(&half.save().unwrap(), Some(&corpus)).unwrap();
        let p = resumed.train_to_end().unwrap();
        assert_eq!(p.step, 40);
        let hist: Vec<LossPoint> = serde_json::from_value(resumed.view("history", &serde_json::json!({})).unwrap()["points"].clone()).unwrap();
        assert_eq!(hist[..20], points[..20], "{family}");
        let mut text = String::new();
        s.start_generation("the", &crate::lm::sample::SampleConfig { length: 30, ..Default::default() }).unwrap();
        while !s.generate_chunk(7, |g| {
            text.push_str(&g.text);
            true
        })
        .unwrap()
        {}
        assert!(!text.is_empty());
    }
}

#[test]
fn the_estimate_is_what_gets_allocated() {
    for (family, gates, dropout, bidirectional) in [("rnn", 1, 0.0, false), ("lstm", 4, 0.0, false), ("gru", 3, 0.0, false), ("lstm", 4, 0.25, false), ("gru", 3, 0.25, false), ("rnn", 1, 0.0, true), ("lstm", 4, 0.25, true), ("gru", 3, 0.0, true)] {
        let c = RecurrentConfig { dropout, bidirectional, ..small(2, Activation::Tanh) };
        let v = vocab();
        let alloc = |be: Cpu| -> u64 {
            match gates {
                1 => Network::<Recurrent<RnnCell>>::new(c.clone(), v.clone(), Box::new(be), Some(1)).unwrap().engine.borrow().be.allocated_bytes(),
                4 => Network::<Recurrent<LstmCell>>::new(c.clone(), v.clone(), Box::new(be), Some(1)).unwrap().engine.borrow().be.allocated_bytes(),
                _ => Network::<Recurrent<GruCell>>::new(c.clone(), v.clone(), Box::new(be), Some(1)).unwrap().engine.borrow().be.allocated_bytes(),
            }
        };
        let e = match gates {
            1 => estimate::<Recurrent<RnnCell>>(&c, v.len()),
            4 => estimate::<Recurrent<LstmCell>>(&c, v.len()),
            _ => estimate::<Recurrent<GruCell>>(&c, v.len()),
        };
        let stats = (3 * crate::nn::trainer::CHUNK_STEPS * crate::nn::params::ALIGN + 1) as u64 * 4;
        assert_eq!(e.total_bytes - stats, alloc(Cpu::new()), "{family}");
    }
}

/// Dropout is on in training only: evaluation and streams see the whole network, and a dropped
/// training step differs from an undropped one.
#[test]
fn dropout_acts_in_training_only() {
    let c = RecurrentConfig { dropout: 0.5, ..small(2, Activation::Tanh) };
    let with = Network::<Recurrent<LstmCell>>::new(c.clone(), vocab(), Box::new(Cpu::checked()), Some(3)).unwrap();
    let without = Network::<Recurrent<LstmCell>>::new(RecurrentConfig { dropout: 0.0, ..c }, vocab(), Box::new(Cpu::checked()), Some(3)).unwrap();
    let s = stream(40);
    assert_eq!(with.score(&s), without.score(&s));
    let batch = Batch { starts: &[0, 10, 20], len: 5, reset: true, index: 3 };
    let (a, b) = (with.loss_and_gradients(&s, &batch), without.loss_and_gradients(&s, &batch));
    assert!((a - b).abs() > 1e-6, "{a} vs {b}");
    assert_eq!(with.loss_and_gradients(&s, &batch), a, "the same batch draws the same mask");
}

/// The vanishing-gradient view: ‖∂J⁽ᵗ⁾/∂h⁽ᵗ'⁾‖ for every distance t − t′, per layer. For the course's
/// sigmoid RNN (σ′ ≤ 1/4) the gradient from 20 steps back is orders of magnitude below the nearest;
/// the view checks against the backward it reuses (a gradient the finite-difference tests cover).
#[test]
fn the_gradient_flow_view_shows_gradients_vanish() {
    let corpus = "to be or not to be that is the question whether tis nobler in the mind to suffer\n".repeat(8);
    let mut c = small(2, Activation::Sigmoid);
    c.bptt = 32;
    let s = Session::new(&corpus, run_config("rnn", c)).unwrap();
    let v = s.view("gradient-flow", &serde_json::json!({ "position": 25 })).unwrap();
    assert_eq!(v["position"], 25);
    let layers = v["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 2);
    for l in layers {
        let norms: Vec<f64> = l["norms"].as_array().unwrap().iter().map(|p| p["norm"].as_f64().unwrap()).collect();
        assert_eq!(norms.len(), 26);
        assert!(norms.iter().all(|n| n.is_finite() && *n >= 0.0));
        assert!(norms[0] > 0.0);
        assert!(norms[20] < norms[0] * 1e-3, "distance 20: {} vs distance 0: {}", norms[20], norms[0]);
    }
    // The LSTM's and the GRU's exist too, and an n-gram model has no such view.
    for family in ["lstm", "gru"] {
        let s = Session::new(&corpus, run_config(family, small(1, Activation::Tanh))).unwrap();
        assert_eq!(s.view("gradient-flow", &serde_json::json!({})).unwrap()["layers"][0]["norms"].as_array().unwrap().len(), 5);
    }
}

/// Inside the model: h per token and layer (and the gates), and the share of saturated gate values.
#[test]
fn the_hidden_state_view_reads_the_model_token_by_token() {
    let corpus = CORPUS.repeat(4);
    for family in ["rnn", "lstm", "gru"] {
        let s = Session::new(&corpus, run_config(family, small(2, Activation::Tanh))).unwrap();
        let v = s.view("hidden-states", &serde_json::json!({ "text": "the cat sat" })).unwrap();
        let tokens = v["tokens"].as_array().unwrap().len();
        assert!(tokens >= 11, "{family}: {tokens}");
        for l in v["layers"].as_array().unwrap() {
            let h = l["h"].as_array().unwrap();
            assert_eq!(h.len(), tokens);
            assert!(h.iter().all(|row| row.as_array().unwrap().len() == 8));
            let gates = l["gates"]["values"].as_array().unwrap();
            match family {
                "rnn" => assert!(gates.is_empty() && l["saturation"].as_object().unwrap().is_empty()),
                "lstm" => {
                    assert_eq!(gates[0].as_array().unwrap().len(), 32);
                    let sat = l["saturation"].as_object().unwrap();
                    assert_eq!(sat.keys().cloned().collect::<Vec<_>>(), ["f", "i", "o"]);
                    assert!(sat.values().all(|x| (0.0..=1.0).contains(&x.as_f64().unwrap())));
                }
                _ => assert_eq!(gates[0].as_array().unwrap().len(), 24),
            }
        }
        // Without the values: the same saturation, no arrays (what the worker samples during training).
        let lean = s.view("hidden-states", &serde_json::json!({ "text": "the cat sat", "values": false })).unwrap();
        for (l, full) in lean["layers"].as_array().unwrap().iter().zip(v["layers"].as_array().unwrap()) {
            assert_eq!(l["saturation"], full["saturation"], "{family}");
            assert!(l["h"].as_array().unwrap().is_empty() && l["gates"]["values"].as_array().unwrap().is_empty());
            assert_eq!(l["gates"]["names"], full["gates"]["names"]);
        }
        // The state after a token depends on the tokens before it only: a prefix gives the same rows.
        let prefix = s.view("hidden-states", &serde_json::json!({ "text": "the c" })).unwrap();
        let n = prefix["tokens"].as_array().unwrap().len() - 1; // the prefix's own </s> differs
        for k in 0..2 {
            assert_eq!(prefix["layers"][k]["h"].as_array().unwrap()[..n], v["layers"][k]["h"].as_array().unwrap()[..n], "{family} layer {k}");
        }
    }
}
