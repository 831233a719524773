//! Every normalised method's next-token distribution sums to 1 over the predictable vocabulary
//! (`[UNK]` and `</s>` included, `<s>` never predicted), for orders 1..6, on seen and unseen
//! contexts, for char, word and whitespace tokens, English and Chinese; `distribution` agrees with
//! `prob`; stupid backoff is flagged as unnormalised and really is.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use crate::lm::LanguageModel;
use crate::ngram::smoothing::{Method, Smoothing};
use crate::ngram::{NgramConfig, NgramModel};
use crate::rng::Rng;
use crate::text::{Boundary, DataConfig, Dataset, TokenId, Tokenizer, TokenizerKind, BOS, EOS};

const SHAKESPEARE: &str = include_str!("../../../../tests/data/tinyshakespeare.txt");
const TANG: &str = include_str!("../../../../www/corpora/tang300.txt");

fn lines(text: &str, n: usize) -> String {
    text.lines().take(n).collect::<Vec<_>>().join("\n")
}

fn smoothings() -> Vec<Smoothing> {
    vec![
        Smoothing::of(Method::Mle),
        Smoothing { k: 0.5, ..Smoothing::of(Method::Addk) },
        Smoothing::of(Method::Katz),
        Smoothing::of(Method::Absolute),
        Smoothing { discount: Some(0.7), ..Smoothing::of(Method::Absolute) },
        Smoothing::of(Method::WittenBell),
        Smoothing::of(Method::Kn),
        // Small corpora make high orders' closed-form discounts fail; the fallback keeps them testable.
        Smoothing { discount_fallback: true, ..Smoothing::of(Method::ModifiedKn) },
        Smoothing::of(Method::Interpolation),
        Smoothing { lambdas: Some(vec![0.05, 0.1, 0.15, 0.2, 0.2, 0.15, 0.15]), ..Smoothing::of(Method::Interpolation) },
    ]
}

/// Contexts to test: half taken from the training stream (seen), half random tokens (mostly unseen).
fn contexts(d: &Dataset, order: usize, rng: &mut Rng, n: usize) -> Vec<Vec<TokenId>> {
    (0..n)
        .map(|trial| {
            let len = rng.below(order + 2);
            let mut h = vec![BOS];
            if trial % 2 == 0 {
                let start = rng.below(d.train.len());
                h.extend(d.train[start..].iter().take(len).copied().filter(|&t| t != BOS && t != EOS));
            } else {
                h.extend((0..len).map(|_| 3 + rng.below(d.vocab.len() - 3) as TokenId));
            }
            h
        })
        .collect()
}

fn check(name: &str, d: &Dataset, orders: std::ops::RangeInclusive<usize>) {
    let mut rng = Rng::new(5);
    let mut dist = vec![0.0; d.vocab.len()];
    for order in orders {
        for s in smoothings() {
            if s.lambdas.as_ref().is_some_and(|l| l.len() != order + 1) {
                continue;
            }
            let method = s.method;
            let cfg = NgramConfig { order, smoothing: s };
            let m = NgramModel::train(&d.train, &d.vocab, &cfg, &mut |_, _| {}).unwrap();
            assert!(m.info().normalized);
            for h in contexts(d, order, &mut rng, 16) {
                let mut st = m.stream();
                h.iter().for_each(|&t| st.push(t));
                st.distribution(&mut dist);
                let sum: f64 = dist.iter().sum();
                assert!((sum - 1.0).abs() < 1e-9, "{name} {method:?} order {order} context {h:?}: Σ = {sum}");
                assert_eq!(dist[BOS as usize], 0.0);
                if !d.vocab.predicts_eos() {
                    assert_eq!(dist[EOS as usize], 0.0);
                }
                // `distribution` and `prob` agree (every id for small vocabularies, a sample otherwise).
                let step = (d.vocab.len() / 64).max(1);
                for w in (0..d.vocab.len()).step_by(step) {
                    let p = m.prob(&h, w as TokenId);
                    assert!((p - dist[w]).abs() <= 1e-12 * p.max(1e-300) + 1e-15, "{name} {method:?} order {order}: P({w}) {p} vs {}", dist[w]);
                }
            }
        }
    }
}

fn dataset(text: &str, kind: TokenizerKind, boundary: Boundary) -> Dataset {
    let cfg = DataConfig { tokenizer: Tokenizer::new(kind, false), boundary, ..DataConfig::default() };
    Dataset::from_corpus(text, &cfg, 3).unwrap()
}

#[test]
fn every_method_sums_to_one_whitespace_tokens() {
    check("whitespace", &dataset(&lines(SHAKESPEARE, 1500), TokenizerKind::Whitespace, Boundary::Line), 1..=6);
}

#[test]
fn every_method_sums_to_one_word_tokens() {
    check("word", &dataset(&lines(SHAKESPEARE, 1500), TokenizerKind::Word, Boundary::Line), 1..=6);
}

#[test]
fn every_method_sums_to_one_char_tokens() {
    check("char", &dataset(&lines(SHAKESPEARE, 400), TokenizerKind::Char, Boundary::Line), 1..=6);
}

#[test]
fn every_method_sums_to_one_chinese_chars_without_boundaries() {
    check("tang", &dataset(&lines(TANG, 400), TokenizerKind::Char, Boundary::None), 1..=6);
}

#[test]
fn stupid_backoff_is_flagged_and_does_not_sum_to_one() {
    let d = dataset(&lines(SHAKESPEARE, 600), TokenizerKind::Word, Boundary::Line);
    let cfg = NgramConfig { order: 3, smoothing: Smoothing::of(Method::StupidBackoff) };
    let m = NgramModel::train(&d.train, &d.vocab, &cfg, &mut |_, _| {}).unwrap();
    assert!(!m.info().normalized);
    let mut dist = vec![0.0; d.vocab.len()];
    let mut st = m.stream();
    st.push(BOS);
    st.push(d.train[1]);
    st.distribution(&mut dist);
    let sum: f64 = dist.iter().sum();
    assert!(sum > 1.0 + 1e-6, "Σ = {sum}");
}
