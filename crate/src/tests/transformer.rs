//! The Transformer through the stack: every gradient against finite differences (each positional
//! encoding, each attention pattern, pre- and post-LN, dropout), KV-cache and running-state streams
//! against a full re-run, the memory estimate against what is allocated, training, model files, generation.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use crate::lm::LanguageModel;
use crate::nn::backend::cpu::Cpu;
use crate::nn::batches::Batch;
use crate::nn::model::Network;
use crate::nn::models::transformer::{AttentionKind, NormPlacement, Positional, Transformer, TransformerConfig};
use crate::nn::ops::activation::Activation;
use crate::nn::trainer::estimate;
use crate::session::{ModelConfig, RunConfig, Session};
use crate::text::{DataConfig, TokenId, Tokenizer, TokenizerKind, Vocab, BOS, EOS};
use crate::train::LossPoint;

pub const ALL_POSITIONAL: [Positional; 6] = [Positional::Learned, Positional::Sinusoidal, Positional::Relative, Positional::Alibi, Positional::Rope, Positional::None];

fn small(pos: Positional) -> TransformerConfig {
    let mut c = TransformerConfig { layers: 2, heads: 2, width: 8, ffn: 12, context: 6, positional: pos, rel_clip: 2, window: 2, stride: 3, ..Default::default() };
    c.train.batch = 3;
    c.train.steps = 40;
    c.train.warmup = 0;
    c.train.eval_interval = 10;
    c.train.lr = 1e-2;
    c.train.optim.weight_decay = 0.0;
    c
}

fn vocab() -> Vocab {
    Vocab::from_tokens((0..9).map(|i| format!("t{i}")), true)
}

/// A stream with sentence boundaries, so some targets are `<s>` (never predicted).
fn stream(n: usize) -> Vec<TokenId> {
    let mut rng = crate::rng::Rng::new(4);
    let mut s = vec![BOS];
    while s.len() < n {
        s.push(3 + rng.below(9) as TokenId);
        if rng.below(6) == 0 {
            s.extend([EOS, BOS]);
        }
    }
    s.truncate(n);
    s
}

/// Parameters of a trained-looking size (N(0, 0.3²), LayerNorm weights near 1), so that every
/// gradient is large enough for the finite differences to mean something.
fn randomise(net: &Network<Transformer>, seed: u64) {
    let mut rng = crate::rng::Rng::new(seed);
    let mut p = net.engine.borrow_mut().params_named();
    for (name, t) in p.iter_mut() {
        let base = if name.contains("ln_") && name.ends_with("weight") { 1.0 } else { 0.0 };
        t.data.iter_mut().for_each(|x| *x = (base + 0.3 * rng.normal()) as f32);
    }
    net.engine.borrow_mut().set_params(&mut p).unwrap();
}

/// ∂loss/∂θ from the backward pass against central differences of the loss, for a sample of
/// entries of every parameter.
fn gradients_match(c: TransformerConfig) {
    // GELU: smooth, so the differences never straddle a kink (ReLU's backward is checked as an op,
    // and once here with the learned encoding).
    let c = if c.activation == Activation::Relu && c.positional != Positional::Learned { TransformerConfig { activation: Activation::Gelu, ..c } } else { c };
    let what = format!("{:?} {:?} {:?} dropout {} tied {}", c.positional, c.attention, c.norm, c.dropout, c.tied);
    let net = Network::<Transformer>::new(c, vocab(), Box::new(Cpu::checked()), Some(5)).unwrap();
    randomise(&net, 6);
    let s = stream(40);
    let starts = [0u32, 11, 30];
    let batch = Batch { starts: &starts, len: 6, reset: false, index: 2 };
    net.loss_and_gradients(&s, &batch);
    let grads = net.engine.borrow_mut().grads_named();
    let params = net.engine.borrow_mut().params_named();
    let mut rng = crate::rng::Rng::new(9);
    let mut biggest = 0.0f64;
    for ((name, g), (_, p)) in grads.iter().zip(&params) {
        for _ in 0..4 {
            let i = rng.below(p.data.len());
            let probe = |delta: f32| {
                let mut w = params.clone();
                w.iter_mut().find(|(n, _)| n == name).unwrap().1.data[i] += delta;
                net.engine.borrow_mut().set_params(&mut w).unwrap();
                net.loss_and_gradients(&s, &batch)
            };
            let h = 1e-2;
            let numeric = (probe(h) - probe(-h)) / (2.0 * h as f64);
            let analytic = g.data[i] as f64;
            biggest = biggest.max(numeric.abs());
            assert!((analytic - numeric).abs() <= 2e-3 + 0.03 * numeric.abs(), "{what}: d/d{name}[{i}] analytic {analytic} vs numeric {numeric}");
        }
    }
    assert!(biggest > 0.05, "{what}: the gradients are too small to check ({biggest})");
}

#[test]
fn gradients_match_finite_differences_for_every_positional_encoding() {
    for pos in ALL_POSITIONAL {
        gradients_match(small(pos));
    }
}

#[test]
fn gradients_match_finite_differences_for_every_variant() {
    let sparse = TransformerConfig { attention: AttentionKind::Sparse, ..small(Positional::Learned) };
    gradients_match(sparse.clone());
    gradients_match(TransformerConfig { positional: Positional::Rope, ..sparse });
    gradients_match(TransformerConfig { norm: NormPlacement::Post, activation: Activation::Gelu, ..small(Positional::Learned) });
    gradients_match(TransformerConfig { norm: NormPlacement::Post, positional: Positional::Relative, activation: Activation::Gelu, ..small(Positional::Learned) });
    gradients_match(TransformerConfig { tied: false, ..small(Positional::Alibi) });
    gradients_match(TransformerConfig { attention: AttentionKind::Linear, ..small(Positional::Sinusoidal) });
    gradients_match(TransformerConfig { attention: AttentionKind::Linear, norm: NormPlacement::Post, ..small(Positional::None) });
    // Dropout (embeddings, both branches, the attention probabilities): the same batch draws the
    // same masks, so the loss is a function of the weights.
    gradients_match(TransformerConfig { dropout: 0.3, activation: Activation::Gelu, ..small(Positional::Learned) });
    gradients_match(TransformerConfig { dropout: 0.3, attention: AttentionKind::Sparse, ..small(Positional::Alibi) });
    gradients_match(TransformerConfig { dropout: 0.3, ..small(Positional::Relative) });
    gradients_match(TransformerConfig { dropout: 0.3, attention: AttentionKind::Linear, activation: Activation::Gelu, ..small(Positional::Learned) });
}

/// Dropout is training's only: with p = 0.3 the training pass differs from p = 0's, while scoring
/// and streams (evaluation, generation, the views' passes) give the same bits as p = 0 with the same
/// weights. Training passes give the attention op a dropout spec with the model's p (nanoGPT's one p).
#[test]
fn dropout_applies_to_training_passes_only() {
    use crate::nn::models::transformer::block::{attn_spec, Pass};
    use crate::nn::ops::attention::{AttnSpec, Pattern};
    let pass = Pass { b: 2, t: 8, pos0: 0, maps: false };
    let spec = AttnSpec { heads: 2, pattern: Pattern::Full, alibi: false, rel: None, dropout: None, lse: false };
    let c = TransformerConfig { dropout: 0.3, attention: AttentionKind::Sparse, ..small(Positional::Alibi) };
    assert_eq!(attn_spec(&c, &spec, Some(4), pass).dropout.map(|d| d.p), Some(0.3));
    assert_ne!(attn_spec(&c, &spec, Some(4), pass).dropout, attn_spec(&c, &spec, Some(5), pass).dropout, "a seed per pass and layer");
    assert_eq!(attn_spec(&c, &spec, None, pass), spec, "no seed (evaluation): no dropout");
    let dropped = Network::<Transformer>::new(c.clone(), vocab(), Box::new(Cpu::checked()), Some(5)).unwrap();
    let plain = Network::<Transformer>::new(TransformerConfig { dropout: 0.0, ..c }, vocab(), Box::new(Cpu::checked()), Some(5)).unwrap();
    randomise(&dropped, 6);
    randomise(&plain, 6);
    let s = stream(40);
    let starts = [0u32, 11, 30];
    let batch = Batch { starts: &starts, len: 6, reset: false, index: 2 };
    assert_ne!(dropped.loss_and_gradients(&s, &batch), plain.loss_and_gradients(&s, &batch));
    let bits = |v: Vec<f64>| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(dropped.score(&s)), bits(plain.score(&s)));
    let (mut a, mut b) = (dropped.stream(), plain.stream());
    let (mut da, mut db) = (vec![0.0; dropped.vocab.len()], vec![0.0; plain.vocab.len()]);
    for &t in &s[..12] {
        a.push(t);
        b.push(t);
        a.distribution(&mut da);
        b.distribution(&mut db);
        assert_eq!(bits(da.clone()), bits(db.clone()));
    }
}

/// KV-cache streams give exactly the next-token distributions of a full re-run (the batched
/// scoring, which reads the stream in the same windows), across the slides of a full context.
#[test]
fn kv_cache_streams_equal_a_full_rerun() {
    for pos in ALL_POSITIONAL {
        for attention in [AttentionKind::Full, AttentionKind::Sparse, AttentionKind::Linear] {
            let c = TransformerConfig { attention, ..small(pos) };
            if c.validate().is_err() {
                continue; // linear attention takes no score bias
            }
            let net = Network::<Transformer>::new(c, vocab(), Box::new(Cpu::checked()), Some(8)).unwrap();
            randomise(&net, 3);
            // With sentence boundaries, and without (the first token is predicted from `<s>`); 23
            // tokens cross several slides of a 6-token context.
            for s in [stream(23), stream(24)[1..].to_vec()] {
                let batched = net.score(&s);
                let mut st = net.stream();
                let mut d = vec![0.0; net.vocab.len()];
                let mut streamed = Vec::new();
                for &t in &s {
                    if t != BOS {
                        st.distribution(&mut d);
                        assert!((d.iter().sum::<f64>() - 1.0).abs() < 1e-5 && d[BOS as usize] == 0.0);
                        streamed.push(d[t as usize].log2());
                    }
                    st.push(t);
                }
                assert_eq!(batched.len(), streamed.len());
                for (k, (a, b)) in batched.iter().zip(&streamed).enumerate() {
                    assert!((a - b).abs() < 1e-5, "{pos:?} {attention:?} token {k}: {a} vs {b}");
                }
            }
        }
    }
}

/// A linear-attention step reads only the running state (O(H·d_k²) per block, fixed-size tensors
/// allocated at creation), never the prefix: with every block's qkv rows of the prefix overwritten
/// by NaN between pushes, its distributions stay those of an undisturbed stream, up to the window's
/// slide (whose re-read rebuilds the state from a fresh pass). A KV-cache stream, which does read
/// the prefix, is broken by the same poison, so the check can fail.
#[test]
fn linear_attention_steps_read_the_running_state_not_the_prefix() {
    for attention in [AttentionKind::Linear, AttentionKind::Full] {
        let net = Network::<Transformer>::new(TransformerConfig { attention, ..small(Positional::Learned) }, vocab(), Box::new(Cpu::checked()), Some(8)).unwrap();
        randomise(&net, 5);
        let s = stream(6); // one context: no slide
        let run = |poison: bool| {
            let mut st = net.stream();
            let mut d = vec![0.0; net.vocab.len()];
            let mut out = Vec::new();
            for &t in &s {
                st.push(t);
                if poison {
                    let eng = &mut *net.engine.borrow_mut();
                    for rows in net.model.prefix_rows() {
                        eng.be.write(rows, &vec![f32::NAN; rows.len()]);
                    }
                }
                st.distribution(&mut d);
                out.push(d.clone());
            }
            out
        };
        let (clean, poisoned) = (run(false), run(true));
        let same = clean.iter().zip(&poisoned).all(|(a, b)| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-9));
        assert_eq!(same, attention == AttentionKind::Linear, "{attention:?}");
    }
}

/// Two streams at once share the device's cache (or running state): each re-reads its window when it
/// finds the other's.
#[test]
fn interleaved_streams_do_not_disturb_each_other() {
    for c in [small(Positional::Rope), TransformerConfig { attention: AttentionKind::Linear, ..small(Positional::Learned) }] {
        interleaved_streams(c);
    }
}

fn interleaved_streams(c: TransformerConfig) {
    let net = Network::<Transformer>::new(c, vocab(), Box::new(Cpu::checked()), Some(8)).unwrap();
    randomise(&net, 4);
    let (a, b) = (stream(15), stream(16)[3..].to_vec());
    let alone = |s: &[TokenId]| {
        let mut st = net.stream();
        let mut d = vec![0.0; net.vocab.len()];
        s.iter().map(|&t| { st.push(t); st.distribution(&mut d); d.clone() }).collect::<Vec<_>>()
    };
    let (wa, wb) = (alone(&a), alone(&b));
    let (mut sa, mut sb) = (net.stream(), net.stream());
    let mut d = vec![0.0; net.vocab.len()];
    for k in 0..a.len().min(b.len()) {
        sa.push(a[k]);
        sb.push(b[k]);
        sa.distribution(&mut d);
        assert!(d.iter().zip(&wa[k]).all(|(x, y)| (x - y).abs() < 1e-6), "stream a, token {k}");
        sb.distribution(&mut d);
        assert!(d.iter().zip(&wb[k]).all(|(x, y)| (x - y).abs() < 1e-6), "stream b, token {k}");
    }
}

#[test]
fn the_estimate_is_what_gets_allocated() {
    let variants = [
        small(Positional::Learned),
        small(Positional::Sinusoidal),
        small(Positional::Rope),
        TransformerConfig { positional: Positional::Relative, dropout: 0.2, tied: false, ..small(Positional::Relative) },
        TransformerConfig { norm: NormPlacement::Post, attention: AttentionKind::Sparse, ..small(Positional::None) },
        TransformerConfig { attention: AttentionKind::Linear, dropout: 0.1, ..small(Positional::Learned) },
    ];
    for c in variants {
        let v = vocab();
        let net = Network::<Transformer>::new(c.clone(), v.clone(), Box::new(Cpu::new()), Some(1)).unwrap();
        let e = estimate::<Transformer>(&c, v.len());
        let stats = (3 * crate::nn::trainer::CHUNK_STEPS * crate::nn::params::ALIGN + 1) as u64 * 4;
        assert_eq!(e.total_bytes - stats, net.engine.borrow().be.allocated_bytes(), "{:?}", c.positional);
    }
}

const CORPUS: &str = "the cat sat on the mat\nthe dog sat on the log\na cat and a dog\nthe mat and the log\n";

fn run_config(c: &TransformerConfig) -> RunConfig {
    RunConfig { seed: 5, data: DataConfig { tokenizer: Tokenizer::new(TokenizerKind::Char, false), ..Default::default() }, model: ModelConfig::new("transformer", c), ..Default::default() }
}

#[test]
fn trains_resumes_and_generates_with_every_positional_encoding() {
    let corpus = CORPUS.repeat(4);
    for pos in ALL_POSITIONAL {
        let mut c = small(pos);
        c.width = 16;
        c.context = 8;
        c.train.batch = 4;
        c.train.lr = 3e-2;
        let mut s = Session::new(&corpus, run_config(&c)).unwrap();
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
        // 40 steps of a tiny model: the sinusoids (amplitude 1) swamp the 0.02-scale embeddings at
        // first, so that one learns the slowest (2.56 → 2.36 here).
        assert!(last < first - 0.15, "{pos:?}: {first} → {last}");
        assert!(s.report().unwrap().validation.perplexity.is_finite());
        assert_eq!(s.model().unwrap().info().family, "transformer");
        // Half-way to a file and back: the same curve.
        let mut half = Session::new(&corpus, run_config(&c)).unwrap();
        half.train_step(20).unwrap();
        let mut resumed = Session::load(&half.save().unwrap(), Some(&corpus)).unwrap();
        assert_eq!(resumed.train_to_end().unwrap().step, 40);
        let hist: Vec<LossPoint> = serde_json::from_value(resumed.view("history", &serde_json::json!({})).unwrap()["points"].clone()).unwrap();
        assert_eq!(hist, points, "{pos:?}");
        let mut text = String::new();
        s.start_generation("the", &crate::lm::sample::SampleConfig { length: 30, ..Default::default() }).unwrap();
        while !s.generate_chunk(7, |g| {
            text.push_str(&g.text);
            true
        })
        .unwrap()
        {}
        assert!(!text.is_empty(), "{pos:?}");
    }
}

/// The page's views: every block's and head's attention (rows are distributions over earlier
/// tokens), the head average and the rollout; the positional encoding of each kind.
#[test]
fn the_attention_and_positional_views() {
    let corpus = CORPUS.repeat(4);
    for pos in ALL_POSITIONAL {
        let mut c = small(pos);
        c.context = 8;
        let s = Session::new(&corpus, run_config(&c)).unwrap();
        let v = s.view("attention", &serde_json::json!({ "text": "the cat sat" })).unwrap();
        let n = v["tokens"].as_array().unwrap().len();
        assert_eq!(n, 8, "the first T tokens");
        let layers = v["layers"].as_array().unwrap();
        assert_eq!(layers.len(), 2);
        let rows = |m: &serde_json::Value| -> Vec<Vec<f64>> { m.as_array().unwrap().iter().map(|r| r.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()).collect() };
        for l in layers {
            assert_eq!(l["heads"].as_array().unwrap().len(), 2);
            for m in l["heads"].as_array().unwrap().iter().chain([&l["average"]]) {
                for (i, r) in rows(m).iter().enumerate() {
                    assert!((r.iter().sum::<f64>() - 1.0).abs() < 1e-3 && r[i + 1..].iter().all(|&x| x == 0.0), "{pos:?}");
                }
            }
        }
        for (i, r) in rows(&v["rollout"]).iter().enumerate() {
            assert!((r.iter().sum::<f64>() - 1.0).abs() < 1e-3 && r[i + 1..].iter().all(|&x| x == 0.0));
        }
        let p = s.view("positional", &serde_json::json!({})).unwrap();
        assert_eq!(p["kind"], pos.name());
        match pos {
            Positional::Sinusoidal => assert_eq!(p["matrix"].as_array().unwrap().len(), 8),
            Positional::Learned => assert_eq!(rows(&p["similarity"])[3][3], 1.0),
            Positional::Rope => assert_eq!(p["angles"].as_array().unwrap()[2].as_array().unwrap()[0], 2.0),
            Positional::Alibi => assert_eq!(p["bias"][0][3][1], -0.125, "−m_0·(3 − 1), m_0 = 2^(−8/2)"),
            Positional::Relative => assert_eq!(p["layers"][1]["w_k"].as_array().unwrap().len(), 3),
            Positional::None => assert!(p["formula"].is_string()),
        }
    }
    // Sparse: the pairs outside the pattern (which the op leaves unwritten, over buffers that
    // training passes filled) show as 0, the rest are distributions.
    let c = TransformerConfig { context: 8, attention: AttentionKind::Sparse, ..small(Positional::Learned) };
    let pattern = c.pattern();
    let s = Session::new(&CORPUS.repeat(4), run_config(&c)).unwrap();
    let v = s.view("attention", &serde_json::json!({ "text": "the cat sat" })).unwrap();
    for head in v["layers"].as_array().unwrap().iter().flat_map(|l| l["heads"].as_array().unwrap()) {
        for (i, r) in head.as_array().unwrap().iter().enumerate() {
            let r: Vec<f64> = r.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
            assert!((r.iter().sum::<f64>() - 1.0).abs() < 1e-3);
            assert!(r.iter().enumerate().all(|(j, &x)| pattern.allowed(i, j) == (x != 0.0)), "row {i}: {r:?}");
        }
    }
}

/// Linear attention trains, and its attention view shows the implied matrix φ(q_i)·φ(k_j)/Σ.
#[test]
fn linear_attention_trains_and_has_an_attention_view() {
    let corpus = CORPUS.repeat(4);
    let mut c = TransformerConfig { attention: AttentionKind::Linear, ..small(Positional::Learned) };
    c.width = 16;
    c.context = 8;
    c.train.batch = 4;
    c.train.lr = 3e-2;
    let mut s = Session::new(&corpus, run_config(&c)).unwrap();
    let p = s.train_to_end().unwrap();
    let pts: Vec<LossPoint> = serde_json::from_value(s.view("history", &serde_json::json!({})).unwrap()["points"].clone()).unwrap();
    assert!(pts[35..].iter().map(|p| p.train_loss).sum::<f64>() / 5.0 < pts[..5].iter().map(|p| p.train_loss).sum::<f64>() / 5.0 - 0.3, "{p:?}");
    let v = s.view("attention", &serde_json::json!({ "text": "the cat" })).unwrap();
    for row in v["layers"][1]["heads"][0].as_array().unwrap() {
        assert!((row.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).sum::<f64>() - 1.0).abs() < 1e-3);
    }
    assert!(Session::new(&corpus, run_config(&TransformerConfig { attention: AttentionKind::Linear, ..small(Positional::Rope) })).is_err());
}
