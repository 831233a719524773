//! The n-gram views: sparseness and count-of-counts by hand, perplexity against order consistent
//! with directly trained models, and the interpolation weights (EM and hand-set).

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use crate::ngram::tests::by_hand::{close, data, model};
use crate::lm::eval::perplexity;
use crate::ngram::counts::NgramCounts;
use crate::ngram::smoothing::interpolation::{em, split_heldout};
use crate::ngram::smoothing::{Method, Smoothing};
use crate::ngram::{views, NgramConfig, NgramModel};
use crate::session::{ModelConfig, RunConfig, Session};
use crate::text::{Tokenizer, TokenizerKind, BOS};
use serde_json::json;

const SHAKESPEARE: &str = include_str!("../../../tests/data/tinyshakespeare.txt");

#[test]
fn sparseness_by_hand() {
    // Validation "a b a": <s> a b a </s>. Orders 1..3 of a trigram model trained on "a b / b a b":
    // unigrams a, b, a, </s> all seen; bigrams <s> a, a b, b a seen, a </s> unseen;
    // trigrams (positions with two tokens before them) <s> a b seen, a b a and b a </s> unseen.
    let d = data("a b a\n");
    let m = model(&d, 3, Smoothing::of(Method::WittenBell));
    let v = views::sparseness(m.counts(), &d.valid, &d.vocab);
    let o = &v["orders"];
    assert_eq!((o[0]["ngrams"].as_u64(), o[0]["unseen"].as_u64()), (Some(4), Some(0)));
    assert_eq!((o[1]["ngrams"].as_u64(), o[1]["unseen"].as_u64()), (Some(4), Some(1)));
    assert_eq!((o[2]["ngrams"].as_u64(), o[2]["unseen"].as_u64()), (Some(3), Some(2)));
    assert_eq!(o[1]["examples"], json!([["a", "</s>"]]));
    assert_eq!(o[2]["examples"], json!([["a", "b", "a"], ["b", "a", "</s>"]]));
    assert!(close(o[2]["share_unseen"].as_f64().unwrap(), 2.0 / 3.0));
}

#[test]
fn count_of_counts_by_hand() {
    // Unigram counts a 2, b 3, </s> 2; bigram counts 1, 1, 2, 1, 2. Zipf: b 3, then </s> and a 2.
    let d = data("a b\n");
    let m = model(&d, 2, Smoothing::of(Method::WittenBell));
    let v = views::count_of_counts(&m);
    assert_eq!(v["orders"][0]["count_of_counts"], json!([[2, 2], [3, 1]]));
    assert_eq!(v["orders"][1]["count_of_counts"], json!([[1, 3], [2, 2]]));
    assert_eq!((v["orders"][1]["distinct"].as_u64(), v["orders"][1]["singletons"].as_u64()), (Some(5), Some(3)));
    let zipf: Vec<(u64, &str)> =
        v["zipf"]["points"].as_array().unwrap().iter().map(|p| (p["count"].as_u64().unwrap(), p["token"].as_str().unwrap())).collect();
    assert_eq!(zipf, [(3, "b"), (2, "</s>"), (2, "a")]);
}

fn shakespeare_session(method: Smoothing, order: usize) -> Session {
    let corpus: String = SHAKESPEARE.lines().take(1200).collect::<Vec<_>>().join("\n");
    let mut cfg = RunConfig::default();
    cfg.data.tokenizer = Tokenizer::new(TokenizerKind::Whitespace, false);
    cfg.model = ModelConfig::new("ngram", &NgramConfig { order, smoothing: method });
    let mut s = Session::new(&corpus, cfg).unwrap();
    s.train_to_end().unwrap();
    s
}

#[test]
fn perplexity_by_order_matches_directly_trained_models() {
    let s = shakespeare_session(Smoothing::of(Method::WittenBell), 3);
    let v = s.view("ppl-by-order", &json!({ "max_order": 4 })).unwrap();
    assert_eq!(v["orders"], json!([1, 2, 3, 4]));
    let methods = v["methods"].as_array().unwrap();
    assert_eq!(methods.iter().map(|m| m["method"].as_str().unwrap()).collect::<Vec<_>>(), ["witten-bell", "mle", "addk"]);
    assert_eq!(methods[2]["label"], "add-one (Laplace)");
    let trained = s.report().unwrap().validation.perplexity;
    assert!(close(methods[0]["points"][2]["perplexity"].as_f64().unwrap(), trained));
    // Add-one at order 2, trained directly.
    let d = &s.data;
    let add1 = NgramModel::train(&d.train, &d.vocab, &NgramConfig { order: 2, smoothing: Smoothing { k: 1.0, ..Smoothing::of(Method::Addk) } }, &mut |_, _| {}).unwrap();
    assert!(close(methods[2]["points"][1]["perplexity"].as_f64().unwrap(), perplexity(&add1, &d.valid).perplexity));
    // MLE gives OOV tokens probability 0: infinite perplexity, which JSON carries as null.
    assert!(d.stats.valid_oov_tokens > 0);
    assert!(methods[1]["points"][0]["perplexity"].is_null());
    // Smoothing matters more as the order grows: Witten-Bell beats add-one at every order ≥ 2.
    let (wb, add1) = (methods[0]["points"].as_array().unwrap(), methods[2]["points"].as_array().unwrap());
    for (w, a) in wb.iter().zip(add1).skip(1) {
        assert!(w["perplexity"].as_f64() < a["perplexity"].as_f64());
    }
}

#[test]
fn perplexity_by_order_reports_failing_orders() {
    let s = shakespeare_session(Smoothing::of(Method::ModifiedKn), 2);
    let v = s.view("ppl-by-order", &json!({ "max_order": 6 })).unwrap();
    let points = v["methods"][0]["points"].as_array().unwrap();
    assert_eq!(points.len(), 6);
    assert!(points[1]["perplexity"].is_number());
    // 1,200 lines are too few for closed-form discounts of 6-grams.
    assert_eq!(points[5]["code"], "bad-discount");
}

#[test]
fn em_finds_the_best_unigram_weight() {
    // Order 1: P = λ1·P_ML(w) + (1 − λ1)/|V|, one free weight. EM's answer must be the maximum of the
    // held-out likelihood found by a grid search.
    let s = shakespeare_session(Smoothing::of(Method::WittenBell), 1);
    let d = &s.data;
    let (fit, held) = split_heldout(&d.train, 0.1);
    let counts = NgramCounts::count(&fit, 1, &mut |_, _| {});
    let learned = em(&counts, &held, &d.vocab);
    let report = learned.em.as_ref().unwrap();
    assert!(report.converged);
    assert!(report.heldout_perplexity.windows(2).all(|w| w[1] <= w[0] * (1.0 + 1e-12)), "EM never gets worse");
    let u = 1.0 / d.vocab.num_predictable() as f64;
    let p_ml: Vec<f64> = held.iter().filter(|&&t| t != BOS).map(|&t| counts.count_of(0, t) as f64 / counts.num_tokens() as f64).collect();
    let loglik = |l: f64| p_ml.iter().map(|p| (l * p + (1.0 - l) * u).ln()).sum::<f64>();
    let best = (1..10_000).map(|i| i as f64 / 10_000.0).max_by(|a, b| loglik(*a).total_cmp(&loglik(*b))).unwrap();
    assert!((learned.lambdas[1] - best).abs() < 2e-4, "EM λ1 {} vs grid {best}", learned.lambdas[1]);
    assert!(close(learned.lambdas.iter().sum::<f64>(), 1.0));
}

#[test]
fn interpolation_view_reports_lambdas_and_scores_hand_set_ones() {
    let s = shakespeare_session(Smoothing::of(Method::Interpolation), 3);
    let v = s.view("interpolation", &json!({})).unwrap();
    let lambdas: Vec<f64> = serde_json::from_value(v["lambdas"].clone()).unwrap();
    assert_eq!(lambdas.len(), 4);
    assert!(close(lambdas.iter().sum(), 1.0));
    assert!(v["em"]["iterations"].as_u64().unwrap() > 1);
    assert!(close(v["validation"]["perplexity"].as_f64().unwrap(), s.report().unwrap().validation.perplexity));
    // Hand-set weights: the view's perplexity equals a model trained with them.
    let mine = [0.05, 0.25, 0.4, 0.3];
    let v = s.view("interpolation", &json!({ "lambdas": mine })).unwrap();
    let direct = shakespeare_session(Smoothing { lambdas: Some(mine.to_vec()), ..Smoothing::of(Method::Interpolation) }, 3);
    assert!(close(v["custom"]["validation"]["perplexity"].as_f64().unwrap(), direct.report().unwrap().validation.perplexity));
    assert!(s.view("interpolation", &json!({ "lambdas": [0.5, 0.5] })).is_err());
    // Other methods have no interpolation view.
    assert!(shakespeare_session(Smoothing::of(Method::WittenBell), 2).view("interpolation", &json!({})).is_err());
}

#[test]
fn explain_view_says_when_a_typed_token_is_out_of_vocabulary() {
    let s = shakespeare_session(Smoothing::of(Method::Kn), 3);
    let v = s.view("explain", &json!({ "context": "I pray", "token": "zzqx" })).unwrap();
    assert_eq!((v["oov"].as_bool(), v["token"].as_str(), v["typed"].as_str()), (Some(true), Some("[UNK]"), Some("zzqx")));
    assert!(v["summary"].as_str().unwrap().starts_with("'zzqx' is not in the training vocabulary, so it is scored as [UNK]."));
    let v = s.view("explain", &json!({ "context": "I pray", "token": "you" })).unwrap();
    assert_eq!(v["oov"], false);
    assert_eq!(v["levels"].as_array().unwrap().len(), 4);
}
