//! Hand-computed values on a tiny corpus. Training lines "a b" and "b a b":
//! stream `<s> a b </s> <s> b a b </s>`, vocabulary {[UNK], <s>, </s>, b, a}, so |V| = 4
//! predictable tokens ([UNK], </s>, a, b).
//! Bigram counts: <s> a 1, <s> b 1, a b 2, b a 1, b </s> 2; c(<s>·) = 2, c(a·) = 2, c(b·) = 3.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::smoothing::{Method, Smoothing};
use super::*;
use crate::lm::eval::perplexity;
use crate::rng::Rng;
use crate::text::{Boundary, DataConfig, Dataset, Tokenizer, TokenizerKind, EOS, UNK};

fn data(valid: &str) -> Dataset {
    let cfg = DataConfig { tokenizer: Tokenizer::new(TokenizerKind::Whitespace, false), ..DataConfig::default() };
    Dataset::from_split("a b\nb a b\n", valid, &cfg).unwrap()
}

fn model(d: &Dataset, order: usize, method: Method, k: f64) -> NgramModel {
    let cfg = NgramConfig { order, smoothing: Smoothing { method, k } };
    NgramModel::train(&d.train, &d.vocab, &cfg, &mut |_| {}).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12 * b.abs().max(1.0)
}

#[test]
fn bigram_mle_by_hand() {
    let d = data("a b\n");
    let (a, b) = (d.vocab.id("a"), d.vocab.id("b"));
    let m = model(&d, 2, Method::Mle, 0.0);
    assert!(close(m.prob(&[BOS], a), 0.5));
    assert!(close(m.prob(&[BOS, a], b), 1.0));
    assert!(close(m.prob(&[BOS, a, b], EOS), 2.0 / 3.0));
    assert!(close(m.prob(&[BOS, b], a), 1.0 / 3.0));
    assert_eq!(m.prob(&[BOS, a], UNK), 0.0);
    // Validation "a b": P = 1/2 · 1 · 2/3 = 1/3 over m = 3 tokens: PPL = 3^(1/3).
    let r = perplexity(&m, &d.valid);
    assert_eq!(r.m, 3);
    assert!(close(r.perplexity, 3f64.powf(1.0 / 3.0)), "{}", r.perplexity);
    assert!(r.notes.is_empty());
}

#[test]
fn bigram_add_one_by_hand() {
    let d = data("a b\n");
    let (a, b) = (d.vocab.id("a"), d.vocab.id("b"));
    let m = model(&d, 2, Method::Addk, 1.0);
    assert!(close(m.prob(&[BOS], a), 2.0 / 6.0));
    assert!(close(m.prob(&[BOS, a], b), 3.0 / 6.0));
    assert!(close(m.prob(&[BOS, a, b], EOS), 3.0 / 7.0));
    assert!(close(m.prob(&[BOS, a, b], b), 1.0 / 7.0));
    // 1/3 · 1/2 · 3/7 = 1/14 over 3 tokens.
    let r = perplexity(&m, &d.valid);
    assert!(close(r.perplexity, 14f64.powf(1.0 / 3.0)), "{}", r.perplexity);
    assert_eq!(m.info().description, "2-gram, add-one (Laplace)");
}

#[test]
fn oov_is_scored_as_unk_and_mle_zero_is_infinite() {
    let d = data("a c\n");
    assert_eq!(d.valid, vec![BOS, d.vocab.id("a"), UNK, EOS]);
    let add1 = perplexity(&model(&d, 2, Method::Addk, 1.0), &d.valid);
    // 1/3 · P([UNK]|a) = 1/6 · P(</s>|[UNK]) = uniform 1/4 → 1/72 over 3 tokens.
    assert!(close(add1.perplexity, 72f64.powf(1.0 / 3.0)));
    assert!(close(add1.perplexity_excluding_oov, 12f64.sqrt()));
    assert_eq!((add1.m, add1.oov_tokens), (3, 1));
    assert!(close(add1.oov_rate, 1.0 / 3.0));
    let mle = perplexity(&model(&d, 2, Method::Mle, 0.0), &d.valid);
    assert_eq!(mle.perplexity, f64::INFINITY);
    assert!(!mle.perplexity.is_nan());
    assert_eq!(mle.zero_probability_tokens, 1);
    assert_eq!(mle.notes[0].code, "zero-probability");
    assert!(mle.notes[0].message.contains("'[UNK]' after '<s> a'"), "{}", mle.notes[0].message);
}

#[test]
fn unigram_mle_by_hand() {
    let d = data("b\n");
    let m = model(&d, 1, Method::Mle, 0.0);
    // Predicted training tokens: a ×2, b ×3, </s> ×2.
    assert!(close(m.prob(&[BOS, 9], d.vocab.id("b")), 3.0 / 7.0));
    assert!(close(perplexity(&m, &d.valid).perplexity, (7.0 * 7.0 / 6.0f64).sqrt()));
}

#[test]
fn only_unk_vocabulary_gives_perplexity_one_with_a_note() {
    let cfg = DataConfig {
        tokenizer: Tokenizer::new(TokenizerKind::Word, false),
        boundary: Boundary::None,
        max_vocab: 3,
        ..DataConfig::default()
    };
    let d = Dataset::from_corpus("the cat sat\non the mat\nand so on\nagain and again\n", &cfg, 1).unwrap();
    assert_eq!(d.vocab.num_predictable(), 1);
    for (method, k) in [(Method::Mle, 0.0), (Method::Addk, 1.0)] {
        let r = perplexity(&model(&d, 2, method, k), &d.valid);
        assert!(close(r.perplexity, 1.0), "{method:?} {}", r.perplexity);
        assert!(r.notes.iter().any(|n| n.code == "unk-only"));
    }
}

#[test]
fn distributions_sum_to_one_on_random_contexts() {
    let text = "the cat sat on the mat\nthe dog sat on the log\na cat and a dog\nthe end\n";
    let cfg = DataConfig { tokenizer: Tokenizer::new(TokenizerKind::Word, false), ..DataConfig::default() };
    let d = Dataset::from_split(text, "the cat\n", &cfg).unwrap();
    let mut rng = Rng::new(5);
    for order in 1..=6 {
        for (method, k) in [(Method::Mle, 0.0), (Method::Addk, 0.5)] {
            let m = model(&d, order, method, k);
            for trial in 0..40 {
                // Half the contexts come from the training stream (seen), half are random (mostly unseen).
                let len = rng.below(order + 2);
                let mut h = vec![BOS];
                if trial % 2 == 0 {
                    let start = rng.below(d.train.len());
                    h.extend(d.train[start..].iter().take(len).copied().filter(|&t| t != BOS && t != EOS));
                } else {
                    h.extend((0..len).map(|_| 3 + rng.below(d.vocab.len() - 3) as TokenId));
                }
                let mut s = m.stream();
                h.iter().for_each(|&t| s.push(t));
                let mut dist = vec![0.0; d.vocab.len()];
                s.distribution(&mut dist);
                let sum: f64 = dist.iter().sum();
                assert!((sum - 1.0).abs() < 1e-9, "{method:?} order {order} ctx {h:?}: {sum}");
                assert_eq!(dist[BOS as usize], 0.0);
                for (w, &p) in dist.iter().enumerate() {
                    assert!(close(p, m.prob(&h, w as TokenId)), "distribution and prob disagree");
                }
            }
        }
    }
}

#[test]
fn explanation_names_the_counts() {
    let d = data("a b\n");
    let m = model(&d, 2, Method::Addk, 1.0);
    let e = m.explain(&[BOS, d.vocab.id("a")], d.vocab.id("b"));
    assert_eq!(e.context, ["a"]);
    assert_eq!(e.levels[0].count, 2.0);
    assert_eq!(e.levels[0].context_count, 2.0);
    assert!(close(e.probability, 0.5));
    let e = model(&d, 3, Method::Mle, 0.0).explain(&[BOS, UNK, UNK], EOS);
    assert!(e.summary.contains("never occurred"), "{}", e.summary);
}
