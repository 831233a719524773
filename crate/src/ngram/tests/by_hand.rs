//! Hand-computed values for every method on a tiny corpus. Training lines "a b" and "b a b":
//! stream `<s> a b </s> <s> b a b </s>`, vocabulary {[UNK], <s>, </s>, b, a}, so |V| = 4
//! predictable tokens ([UNK], </s>, a, b) and the uniform distribution gives each 1/4.
//!
//! Unigram counts (predicted tokens): a 2, b 3, </s> 2; N = 7.
//! Bigram counts: <s> a 1, <s> b 1, a b 2, b a 1, b </s> 2; c(<s> •) = 2, c(a •) = 2, c(b •) = 3.
//! Continuation counts N1+(• w) (distinct left neighbours, `<s>` included): a 2 (<s>, b),
//! b 2 (<s>, a), </s> 1 (b); Σ = 5.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use crate::lm::eval::perplexity;
use crate::lm::LanguageModel;
use crate::ngram::smoothing::{Method, Smoothing};
use crate::ngram::{NgramConfig, NgramModel};
use crate::text::{Boundary, DataConfig, Dataset, Tokenizer, TokenizerKind, BOS, EOS, UNK};

pub fn data(valid: &str) -> Dataset {
    let cfg = DataConfig { tokenizer: Tokenizer::new(TokenizerKind::Whitespace, false), ..DataConfig::default() };
    Dataset::from_split("a b\nb a b\n", valid, &cfg).unwrap()
}

pub fn model(d: &Dataset, order: usize, smoothing: Smoothing) -> NgramModel {
    NgramModel::train(&d.train, &d.vocab, &NgramConfig { order, smoothing }, &mut |_, _| {}).unwrap()
}

fn addk(k: f64) -> Smoothing {
    Smoothing { k, ..Smoothing::of(Method::Addk) }
}

pub fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12 * b.abs().max(1.0)
}

#[test]
fn bigram_mle_by_hand() {
    let d = data("a b\n");
    let (a, b) = (d.vocab.id("a"), d.vocab.id("b"));
    let m = model(&d, 2, Smoothing::of(Method::Mle));
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
    let m = model(&d, 2, addk(1.0));
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
fn add_k_by_hand() {
    // k = 0.5: P(b | a) = (2 + 0.5) / (2 + 0.5 · 4) = 0.625; an unseen context is uniform.
    let d = data("a b\n");
    let (a, b) = (d.vocab.id("a"), d.vocab.id("b"));
    let m = model(&d, 2, addk(0.5));
    assert!(close(m.prob(&[BOS, a], b), 0.625));
    assert!(close(m.prob(&[BOS, a], UNK), 0.125));
    assert!(close(m.prob(&[BOS, UNK], b), 0.25));
}

#[test]
fn oov_is_scored_as_unk_and_mle_zero_is_infinite() {
    let d = data("a c\n");
    assert_eq!(d.valid, vec![BOS, d.vocab.id("a"), UNK, EOS]);
    let add1 = perplexity(&model(&d, 2, addk(1.0)), &d.valid);
    // 1/3 · P([UNK]|a) = 1/6 · P(</s>|[UNK]) = uniform 1/4 → 1/72 over 3 tokens.
    assert!(close(add1.perplexity, 72f64.powf(1.0 / 3.0)));
    assert!(close(add1.perplexity_excluding_oov, 12f64.sqrt()));
    assert_eq!((add1.m, add1.oov_tokens), (3, 1));
    assert!(close(add1.oov_rate, 1.0 / 3.0));
    let mle = perplexity(&model(&d, 2, Smoothing::of(Method::Mle)), &d.valid);
    assert_eq!(mle.perplexity, f64::INFINITY);
    assert!(!mle.perplexity.is_nan());
    assert_eq!(mle.zero_probability_tokens, 1);
    assert_eq!(mle.notes[0].code, "zero-probability");
    assert!(mle.notes[0].message.contains("'[UNK]' after '<s> a'"), "{}", mle.notes[0].message);
}

#[test]
fn unigram_mle_by_hand() {
    let d = data("b\n");
    let m = model(&d, 1, Smoothing::of(Method::Mle));
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
    for s in [Smoothing::of(Method::Mle), addk(1.0), Smoothing::of(Method::WittenBell)] {
        let r = perplexity(&model(&d, 2, s), &d.valid);
        assert!(close(r.perplexity, 1.0), "{}", r.perplexity);
        assert!(r.notes.iter().any(|n| n.code == "unk-only"));
    }
}

#[test]
fn explanation_names_the_counts() {
    let d = data("a b\n");
    let m = model(&d, 2, addk(1.0));
    let e = m.explain(&[BOS, d.vocab.id("a")], d.vocab.id("b"));
    assert_eq!(e.context, ["a"]);
    assert_eq!(e.levels[0].count, 2.0);
    assert_eq!(e.levels[0].context_count, 2.0);
    assert!(close(e.probability, 0.5));
    let e = model(&d, 3, Smoothing::of(Method::Mle)).explain(&[BOS, UNK, UNK], EOS);
    assert!(e.summary.contains("never occurred"), "{}", e.summary);
}

#[test]
fn explanation_tells_the_backoff_story() {
    // Trigram "b a </s>" was never seen, though its context "b a" was (once, before b); the bigram
    // "a </s>" was never seen either; the unigram "</s>" was, 2 times.
    let d = data("a b\n");
    let (a, b) = (d.vocab.id("a"), d.vocab.id("b"));
    let m = model(&d, 3, Smoothing::of(Method::WittenBell));
    let e = m.explain(&[BOS, b, a], EOS);
    assert_eq!(e.levels.iter().map(|l| l.seen).collect::<Vec<_>>(), [false, false, true, true]);
    assert!(e.summary.starts_with("The trigram 'b a </s>' was never seen, although its context occurred once. The bigram 'a </s>' was unseen too. Its probability comes from the lower orders: the unigram '</s>', seen twice"), "{}", e.summary);
    assert!(close(e.levels.iter().map(|l| l.contribution).sum::<f64>(), e.probability));
    // A context never seen at all.
    let e = m.explain(&[BOS, UNK, UNK], a);
    assert!(e.summary.contains("not even its context '[UNK] [UNK]'"), "{}", e.summary);
    assert_eq!(e.levels[0].lower_weight, None);
}

#[test]
fn modified_kneser_ney_refuses_out_of_range_discounts_like_kenlm() {
    // Bigram counts 1, 1, 2, 1, 2: n1 = 3, n2 = 2, n3 = 0, so D2 = 2 − 3·Y·n3/n2 is fine but D3+
    // needs n3 > 0: KenLM's message, and no model.
    let d = data("a b\n");
    let cfg = NgramConfig { order: 2, smoothing: Smoothing::of(Method::ModifiedKn) };
    let e = NgramModel::train(&d.train, &d.vocab, &cfg, &mut |_, _| {}).err().unwrap();
    assert_eq!(e.code, "bad-discount");
    assert!(
        e.message.starts_with("Could not calculate Kneser-Ney discounts for 1-grams with adjusted count 4 because we didn't observe any 1-grams with adjusted count 3; Is this small or artificial data?"),
        "{}",
        e.message
    );
}

#[test]
fn modified_kneser_ney_with_fallback_by_hand() {
    // Both orders fall back to D1 = 0.5, D2 = 1, D3+ = 1.5.
    // Unigrams (continuation counts a 2, b 2, </s> 1; Σ 5): ρ(a) = ρ(b) = (2 − 1)/5 = 0.2,
    // ρ(</s>) = (1 − 0.5)/5 = 0.1, γ(root) = (2·D2 + 1·D1)/5 = 0.5, so with u = 1/4:
    // P(a) = P(b) = 0.2 + 0.5/4 = 0.325, P(</s>) = 0.225, P([UNK]) = 0.125.
    // Context a ({b: 2}): P(b | a) = (2 − 1)/2 + (1/2)·0.325 = 0.6625, P([UNK] | a) = 0.0625.
    // Context b ({a: 1, </s>: 2}): γ = (0.5 + 1)/3 = 0.5, P(</s> | b) = 1/3 + 0.5·0.225 = 0.4458…
    // Context <s> ({a: 1, b: 1}): γ = 0.5, P(a | <s>) = 0.5/2 + 0.5·0.325 = 0.4125.
    let d = data("a b\n");
    let (a, b) = (d.vocab.id("a"), d.vocab.id("b"));
    let s = Smoothing { discount_fallback: true, ..Smoothing::of(Method::ModifiedKn) };
    let m = model(&d, 2, s);
    assert!(close(m.prob(&[BOS, UNK], a), 0.325));
    assert!(close(m.prob(&[BOS, UNK], EOS), 0.225));
    assert!(close(m.prob(&[BOS, UNK], UNK), 0.125));
    assert!(close(m.prob(&[BOS, a], b), 0.6625));
    assert!(close(m.prob(&[BOS, a], UNK), 0.0625));
    assert!(close(m.prob(&[BOS, b], EOS), 1.0 / 3.0 + 0.1125));
    assert!(close(m.prob(&[BOS], a), 0.4125));
    let r = perplexity(&m, &d.valid);
    assert!(close(r.perplexity, (0.4125f64 * 0.6625 * (1.0 / 3.0 + 0.1125)).powf(-1.0 / 3.0)));
    assert!(m.info().description.contains("fallback discounts for order 1, 2"), "{}", m.info().description);
    let p = m.estimator().params();
    assert_eq!((p["orders"][1]["D1"].as_f64(), p["orders"][1]["n3"].as_u64()), (Some(0.5), Some(0)));
    assert_eq!(p["fallback"].as_array().unwrap().len(), 2);
    assert!(p["fallback"][1]["message"].as_str().unwrap().starts_with("Could not calculate Kneser-Ney discounts for 2-grams"));
    // The trace shows the continuation count of b and the uniform level that feeds [UNK].
    let e = m.explain(&[BOS, a], b);
    assert_eq!((e.levels[0].order, e.levels[0].count, e.levels[0].count_kind), (2, 2.0, "raw"));
    assert_eq!((e.levels[1].order, e.levels[1].count, e.levels[1].count_kind), (1, 2.0, "continuation"));
    assert_eq!(e.levels[0].discount, Some(1.0));
    assert!(close(e.levels[0].lower_weight.unwrap(), 0.5));
    assert_eq!(e.levels[2].order, 0);
    assert!(close(e.levels.iter().map(|l| l.contribution).sum::<f64>(), 0.6625));
}

#[test]
fn modified_kneser_ney_trigram_continuation_counts() {
    // Order 3: bigrams that do not start with <s> get continuation counts: "a b" is preceded by
    // <s> and b → 2; "b a" by <s> → 1. "<s> a" keeps its raw count 1. Trigrams are raw.
    let d = data("a b\n");
    let (a, b) = (d.vocab.id("a"), d.vocab.id("b"));
    let s = Smoothing { discount_fallback: true, ..Smoothing::of(Method::ModifiedKn) };
    let m = model(&d, 3, s);
    let e = m.explain(&[BOS, b, a], b);
    let kinds: Vec<_> = e.levels.iter().map(|l| (l.order, l.count, l.count_kind)).collect();
    assert_eq!(kinds, [(3, 1.0, "raw"), (2, 2.0, "continuation"), (1, 2.0, "continuation"), (0, 0.0, "none")]);
    let e = m.explain(&[BOS], a);
    assert_eq!((e.levels[0].order, e.levels[0].count, e.levels[0].count_kind), (2, 1.0, "raw"));
}

#[test]
fn kneser_ney_fixed_discount_by_hand() {
    // D = 0.5 at both orders. Unigrams: ρ(a) = ρ(b) = 1.5/5 = 0.3, ρ(</s>) = 0.1, γ(root) = 0.5·3/5 = 0.3,
    // P(a) = 0.3 + 0.3/4 = 0.375, P([UNK]) = 0.075. Context a: P(b | a) = 1.5/2 + (0.5/2)·0.375 = 0.84375.
    let d = data("a b\n");
    let (a, b) = (d.vocab.id("a"), d.vocab.id("b"));
    let m = model(&d, 2, Smoothing { discount: Some(0.5), ..Smoothing::of(Method::Kn) });
    assert!(close(m.prob(&[BOS, UNK], a), 0.375));
    assert!(close(m.prob(&[BOS, UNK], UNK), 0.075));
    assert!(close(m.prob(&[BOS, a], b), 0.84375));
    assert!(close(m.prob(&[BOS, a], UNK), 0.25 * 0.075));
    // Without a given D each order estimates n1/(n1 + 2 n2): unigram continuation counts 2, 2, 1
    // → 1/(1 + 4) = 0.2; bigram counts 1, 1, 2, 1, 2 → 3/(3 + 4) = 3/7.
    let est = model(&d, 2, Smoothing::of(Method::Kn));
    let p = est.estimator().params();
    assert!(close(p["orders"][0]["D"].as_f64().unwrap(), 0.2));
    assert!(close(p["orders"][1]["D"].as_f64().unwrap(), 3.0 / 7.0));
}

#[test]
fn absolute_discounting_by_hand() {
    // D = 0.5, raw counts. Unigrams (N = 7): ρ(a) = 1.5/7, ρ(b) = 2.5/7, γ(root) = 0.5·3/7;
    // P(b) = 2.5/7 + (1.5/7)/4 = 2.875/7. Context a: P(b | a) = 1.5/2 + 0.25 · 2.875/7.
    let d = data("a b\n");
    let (a, b) = (d.vocab.id("a"), d.vocab.id("b"));
    let m = model(&d, 2, Smoothing { discount: Some(0.5), ..Smoothing::of(Method::Absolute) });
    assert!(close(m.prob(&[BOS, UNK], b), 2.875 / 7.0));
    assert!(close(m.prob(&[BOS, UNK], UNK), 0.375 / 7.0));
    assert!(close(m.prob(&[BOS, a], b), 0.75 + 0.25 * 2.875 / 7.0));
    // Estimated D: unigram counts 2, 3, 2 have no singletons, so D = 0.5 (documented); bigrams 3/7.
    let p = model(&d, 2, Smoothing::of(Method::Absolute)).estimator().params();
    assert!(close(p["orders"][0]["D"].as_f64().unwrap(), 0.5));
    assert!(close(p["orders"][1]["D"].as_f64().unwrap(), 3.0 / 7.0));
}

#[test]
fn witten_bell_by_hand() {
    // Unigrams: N = 7, N1+ = 3 types: P(w) = (c(w) + 3/4) / 10, so P(a) = 0.275, P(b) = 0.375,
    // P([UNK]) = 0.075. Context a (c = 2, one type): P(b | a) = (2 + 1·0.375)/3 = 0.7916…;
    // context b (c = 3, two types): P(</s> | b) = (2 + 2·0.275)/5 = 0.51.
    let d = data("a b\n");
    let (a, b) = (d.vocab.id("a"), d.vocab.id("b"));
    let m = model(&d, 2, Smoothing::of(Method::WittenBell));
    assert!(close(m.prob(&[BOS, UNK], a), 0.275));
    assert!(close(m.prob(&[BOS, UNK], UNK), 0.075));
    assert!(close(m.prob(&[BOS, a], b), 2.375 / 3.0));
    assert!(close(m.prob(&[BOS, b], EOS), 0.51));
    let e = m.explain(&[BOS, b], EOS);
    assert!(close(e.levels[0].lower_weight.unwrap(), 0.4));
}

#[test]
fn stupid_backoff_by_hand_is_unnormalised() {
    // S(b | a) = 2/2 = 1; S(a | a) = 0.4 · 2/7 (a was never seen after a); S([UNK] | a) = 0.4 · 0.4/4.
    // After a the scores sum to 1 + 1.6/7 + 0.04 > 1. An unseen context is one step down: × 0.4.
    let d = data("a b\n");
    let (a, b) = (d.vocab.id("a"), d.vocab.id("b"));
    let m = model(&d, 2, Smoothing::of(Method::StupidBackoff));
    assert!(close(m.prob(&[BOS, a], b), 1.0));
    assert!(close(m.prob(&[BOS, a], a), 0.8 / 7.0));
    assert!(close(m.prob(&[BOS, a], UNK), 0.04));
    assert!(close(m.prob(&[BOS, UNK], b), 0.4 * 3.0 / 7.0));
    let mut s = m.stream();
    s.push(BOS);
    s.push(a);
    let mut dist = vec![0.0; d.vocab.len()];
    s.distribution(&mut dist);
    assert!(close(dist.iter().sum::<f64>(), 1.0 + 1.6 / 7.0 + 0.04));
    assert!(!m.info().normalized);
    let r = perplexity(&m, &d.valid);
    assert!(!r.normalized && r.notes.iter().any(|n| n.code == "unnormalized"));
    assert!(!m.explain(&[BOS, a], b).normalized);
    assert_eq!(m.to_arpa().unwrap_err().code, "not-arpa");
}

#[test]
fn interpolation_with_hand_set_lambdas() {
    // λ0 (uniform) = 0.1, λ1 = 0.3, λ2 = 0.6: P(b | a) = 0.6·2/2 + 0.3·3/7 + 0.1/4.
    // An unseen context drops its order and renormalises: P(b | [UNK]) = (0.3·3/7 + 0.1/4) / 0.4.
    let d = data("a b\n");
    let (a, b) = (d.vocab.id("a"), d.vocab.id("b"));
    let m = model(&d, 2, Smoothing { lambdas: Some(vec![0.1, 0.3, 0.6]), ..Smoothing::of(Method::Interpolation) });
    assert!(close(m.prob(&[BOS, a], b), 0.6 + 0.3 * 3.0 / 7.0 + 0.025));
    assert!(close(m.prob(&[BOS, a], UNK), 0.025));
    assert!(close(m.prob(&[BOS, UNK], b), (0.3 * 3.0 / 7.0 + 0.025) / 0.4));
    let e = m.explain(&[BOS, a], b);
    let lambdas: Vec<f64> = e.levels.iter().map(|l| l.lambda.unwrap()).collect();
    assert!(lambdas.iter().zip([0.6, 0.3, 0.1]).all(|(x, y)| close(*x, y)), "{lambdas:?}");
    // Weights are normalised, and n + 1 of them are needed.
    let w = model(&d, 2, Smoothing { lambdas: Some(vec![1.0, 3.0, 6.0]), ..Smoothing::of(Method::Interpolation) });
    assert!(close(w.prob(&[BOS, a], b), m.prob(&[BOS, a], b)));
    let bad = NgramConfig { order: 2, smoothing: Smoothing { lambdas: Some(vec![0.3, 0.7]), ..Smoothing::of(Method::Interpolation) } };
    assert!(bad.validate().unwrap_err().message.contains("give 3 interpolation weights"));
}

/// One line with six words seen once, two seen twice and one seen three times (and `</s>` once):
/// unigram count-of-counts n1 = 7, n2 = 2, n3 = 1.
fn katz_data() -> Dataset {
    let cfg = DataConfig { tokenizer: Tokenizer::new(TokenizerKind::Whitespace, false), ..DataConfig::default() };
    Dataset::from_split("c d e f g h x x y y z z z\n", "c x z q\n", &cfg).unwrap()
}

#[test]
fn katz_good_turing_by_hand() {
    // n1 = 7, n2 = 2, n3 = 1, n4 = 0, so k = 2 is the largest valid threshold:
    // A = 3·n3/n1 = 3/7; r*(1) = 2·n2/n1 = 4/7, d1 = (4/7 − 3/7)/(1 − 3/7) = 1/4;
    // r*(2) = 3·n3/n2 = 3/2, d2 = (3/4 − 3/7)/(4/7) = 9/16; the count 3 is trusted.
    // N = 14: p*(singleton) = 1/4 · 1/14 = 1/56, p*(x) = 9/16 · 2/14 = 9/112, p*(z) = 3/14.
    // Seen mass 7/56 + 18/112 + 3/14 = 1/2; the only unseen token of V is [UNK], which gets the other 1/2.
    let d = katz_data();
    let m = model(&d, 1, Smoothing::of(Method::Katz));
    let p = |w: &str| m.prob(&[BOS], d.vocab.id(w));
    assert!(close(p("c"), 1.0 / 56.0));
    assert!(close(p("x"), 9.0 / 112.0));
    assert!(close(p("z"), 3.0 / 14.0));
    assert!(close(m.prob(&[BOS], EOS), 1.0 / 56.0));
    assert!(close(m.prob(&[BOS], UNK), 0.5));
    let g = m.estimator().params();
    let o1 = &g["orders"][0];
    assert_eq!(o1["threshold"], 2);
    assert!(close(o1["d1"].as_f64().unwrap(), 0.25) && close(o1["d2"].as_f64().unwrap(), 9.0 / 16.0));
    // Bigrams: 13 distinct, "z z" twice, the rest once: n3 = 0 and A = 2·n2/n1 = 2/13 gives d1 = 0,
    // so Good-Turing cannot discount this order, and every context would keep all its mass. SRILM's
    // fix: the denominator becomes c(h •) + 1. Context z (z 2, </s> 1): p*(z | z) = 2/4, p*(</s> | z) = 1/4,
    // α(z) = (1/4) / (1 − P(z) − P(</s>)) = (1/4) / (1 − 12/56 − 1/56) = 14/43.
    // Context x (x 1, y 1): p* = 1/3 each, α(x) = (1/3) / (1 − 2 · 9/112) = 56/141, P([UNK] | x) = 56/141 · 1/2.
    let m2 = model(&d, 2, Smoothing::of(Method::Katz));
    let (x, y, z) = (d.vocab.id("x"), d.vocab.id("y"), d.vocab.id("z"));
    assert!(close(m2.prob(&[BOS, z], z), 0.5));
    assert!(close(m2.prob(&[BOS, z], EOS), 0.25));
    assert!(close(m2.prob(&[BOS, z], x), 14.0 / 43.0 * 9.0 / 112.0));
    assert!(close(m2.prob(&[BOS, x], y), 1.0 / 3.0));
    assert!(close(m2.prob(&[BOS, x], UNK), 28.0 / 141.0));
    // After an unseen context the unigram Katz estimate is used as it is.
    assert!(close(m2.prob(&[BOS, UNK], UNK), 0.5));
    let g = m2.estimator().params();
    assert_eq!(g["orders"][1]["threshold"], 0);
    assert!(m2.explain(&[BOS, x], UNK).levels[0].note.contains("denominator is c(h) + 1 = 3"));
}

#[test]
fn katz_backoff_weight_by_hand() {
    // Lines "d", "b a", "b b b b c a". Bigram counts: <s> d 1, d </s> 1, <s> b 2, b a 1, a </s> 2,
    // b b 3, b c 1, c a 1: n1 = 5, n2 = 2, n3 = 1, so k = 2 with A = 3/5, d1 = (4/5 − 3/5)/(2/5) = 1/2,
    // d2 = (3/4 − 3/5)/(2/5) = 3/8, and the count 3 is trusted. Unigrams d 1, </s> 3, b 5, a 2, c 1
    // (N = 12) cannot be discounted (A ≥ 1 for every k), which would leave nothing for [UNK], so the
    // denominator is 13: P(w) = c(w)/13 and P([UNK]) = 1/13.
    // Context b (a 1, b 3, c 1; c(b •) = 5): p*(a | b) = 1/2 · 1/5, p*(b | b) = 3/5, p*(c | b) = 1/10;
    // α(b) = (1 − 0.8) / (1 − (2 + 5 + 1)/13) = 0.52, so P(d | b) = 0.52/13 = 0.04, P(</s> | b) = 0.12.
    // Context <s> (d 1, b 2): p*(d) = 1/2 · 1/3, p*(b) = 3/8 · 2/3 = 1/4; α(<s>) = (7/12)/(1 − 6/13) = 13/12,
    // so P(a | <s>) = 13/12 · 2/13 = 1/6 and P(</s> | <s>) = 1/4.
    let cfg = DataConfig { tokenizer: Tokenizer::new(TokenizerKind::Whitespace, false), ..DataConfig::default() };
    let d = Dataset::from_split("d\nb a\nb b b b c a\n", "b d\n", &cfg).unwrap();
    let m = model(&d, 2, Smoothing::of(Method::Katz));
    let id = |w: &str| d.vocab.id(w);
    let (a, b, c, dd) = (id("a"), id("b"), id("c"), id("d"));
    assert!(close(m.prob(&[BOS, UNK], b), 5.0 / 13.0));
    assert!(close(m.prob(&[BOS, UNK], UNK), 1.0 / 13.0));
    assert!(close(m.prob(&[BOS, b], a), 0.1));
    assert!(close(m.prob(&[BOS, b], b), 0.6));
    assert!(close(m.prob(&[BOS, b], c), 0.1));
    assert!(close(m.prob(&[BOS, b], dd), 0.04));
    assert!(close(m.prob(&[BOS, b], EOS), 0.12));
    assert!(close(m.prob(&[BOS, b], UNK), 0.04));
    assert!(close(m.prob(&[BOS], dd), 1.0 / 6.0));
    assert!(close(m.prob(&[BOS], b), 0.25));
    assert!(close(m.prob(&[BOS], a), 1.0 / 6.0));
    assert!(close(m.prob(&[BOS], EOS), 0.25));
    let e = m.explain(&[BOS, b], dd);
    assert!(close(e.levels[0].lower_weight.unwrap(), 0.52));
    assert!(!e.levels[0].seen && e.levels[1].seen);
    assert!(e.summary.contains("Backing off to the unigram 'd', seen once, with weight 0.5200"), "{}", e.summary);
}

#[test]
fn knobs_out_of_range_are_clear_errors_not_panics() {
    use crate::ngram::smoothing::{Method, Smoothing};
    let katz = Smoothing { gt_max: 1_000_000_000, ..Smoothing::of(Method::Katz) };
    let e = katz.validate(3).unwrap_err();
    assert_eq!(e.code, "invalid-config");
    assert!(e.message.contains("between 1 and 100"), "{}", e.message);
    assert!(Smoothing { gt_max: 0, ..Smoothing::of(Method::Katz) }.validate(3).is_err());
    assert!(Smoothing { gt_max: 7, ..Smoothing::of(Method::Katz) }.validate(3).is_ok());
}
