//! Subword tokens through whole sessions: BPE learns on the training text only, never gives
//! `[UNK]`, trains every family in English and 中文, generates whole characters, and its model
//! files carry the merges.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use crate::lm::sample::SampleConfig;
use crate::session::{RunConfig, Session};
use crate::text::{Boundary, DataConfig, Dataset, SplitKind, SplitUnit, Tokenizer, TokenizerKind};
use serde_json::json;

const ENGLISH: &str = "the cat sat on the mat\nthe dog sat on the log\na cat and a dog\nthe mat and the log\nthe hat on the cat\n";
const CHINESE: &str = "床前明月光\n疑是地上霜\n举头望明月\n低头思故乡\n白日依山尽\n黄河入海流\n欲穷千里目\n更上一层楼\n";

fn bpe(vocab: usize) -> DataConfig {
    DataConfig { tokenizer: Tokenizer::new(TokenizerKind::Bpe, false), bpe_vocab: vocab, ..DataConfig::default() }
}

fn config(model: serde_json::Value, data: DataConfig) -> RunConfig {
    let mut c = RunConfig::from_json(&json!({ "seed": 3, "model": model }).to_string()).unwrap();
    c.data = data;
    c
}

/// Merges come from the training lines only: a word that occurs only in validation lines is never
/// one token, and an emoji no line had is its bytes, not `[UNK]`.
#[test]
fn merges_are_learned_on_the_training_split_and_nothing_is_unknown() {
    let mut text = ENGLISH.repeat(4);
    text.push_str("zyzzyva zyzzyva zyzzyva 🦀\n");
    let c = DataConfig { split: SplitKind::Tail, valid_fraction: 0.05, ..bpe(400) };
    let d = Dataset::from_corpus(&text, &c, 1).unwrap();
    assert_eq!(d.stats.valid_units, 1);
    assert_eq!(d.stats.valid_oov_tokens, 0);
    assert_eq!(d.vocab.len(), 3 + 256 + d.vocab.bpe().unwrap().merges().len());
    assert!(d.vocab.get("zy").is_none() && d.vocab.get(" zyzzyva").is_none(), "no merge from validation text");
    assert!(d.vocab.get(" the").is_some() || d.vocab.get("the").is_some());
    // The validation stream decodes back to its line.
    let bytes: Vec<u8> = d.valid.iter().filter_map(|&t| d.vocab.bytes(t)).flatten().copied().collect();
    assert_eq!(String::from_utf8(bytes).unwrap(), "zyzzyva zyzzyva zyzzyva 🦀");
    // Characters per split: each line and its break.
    assert_eq!(d.stats.valid_chars, "zyzzyva zyzzyva zyzzyva 🦀".chars().count() + 1);
    assert_eq!(d.stats.train_chars, ENGLISH.repeat(4).chars().count());
    // Seeded and deterministic: the same settings give the same tokenizer.
    assert_eq!(Dataset::from_corpus(&text, &c, 1).unwrap().vocab, d.vocab);
}

/// A split by tokens cuts BPE's text by characters (the tokens come after the merges).
#[test]
fn a_token_split_cuts_bpe_text_by_characters() {
    let c = DataConfig { boundary: Boundary::None, split: SplitKind::Tail, split_unit: SplitUnit::Token, valid_fraction: 0.25, ..bpe(300) };
    let text = "abcd\nefgh\nab\n"; // 13 characters: the first 9 train
    let d = Dataset::from_corpus(text, &c, 0).unwrap();
    let decode = |s: &[u32]| String::from_utf8(s.iter().filter_map(|&t| d.vocab.bytes(t)).flatten().copied().collect()).unwrap();
    assert_eq!(decode(&d.train), "abcd\nefgh");
    assert_eq!(decode(&d.valid), "\nab\n");
    assert_eq!((d.stats.train_chars, d.stats.valid_chars), (9, 4));
}

#[test]
fn bad_bpe_settings_are_refused_by_name() {
    let e = Dataset::from_corpus(ENGLISH, &bpe(100), 0).unwrap_err();
    assert_eq!((e.code, e.detail.map(|d| d.key)), ("invalid-config", Some("bpe-vocab")));
    let e = Dataset::from_corpus(ENGLISH, &DataConfig { min_count: 2, ..bpe(300) }, 0).unwrap_err();
    assert_eq!(e.detail.map(|d| d.key), Some("bpe-knobs"));
    assert_eq!(TokenizerKind::parse("bpe").unwrap(), TokenizerKind::Bpe);
}

/// Every family trains on subword tokens, in English and in 中文, and what it generates is whole
/// characters (bytes wait for the rest of their character).
#[test]
fn every_family_trains_and_generates_on_bpe_tokens() {
    let models = [
        json!({ "family": "ngram", "order": 3, "method": "kn" }),
        json!({ "family": "fixed-window", "context": 3, "embed": 8, "hidden": 16, "train": { "steps": 30, "batch": 8 } }),
        json!({ "family": "lstm", "embed": 8, "hidden": 12, "bptt": 8, "train": { "steps": 30, "batch": 4 } }),
        json!({ "family": "transformer", "layers": 1, "heads": 2, "width": 8, "ffn": 16, "context": 12, "train": { "steps": 30, "batch": 4 } }),
    ];
    for (corpus, vocab) in [(ENGLISH.repeat(6), 320), (CHINESE.repeat(6), 300)] {
        for m in &models {
            let mut s = Session::new(&corpus, config(m.clone(), bpe(vocab))).unwrap();
            s.train_to_end().unwrap();
            let r = s.report().unwrap();
            assert!(r.validation.perplexity.is_finite(), "{m}: {}", r.validation.perplexity);
            assert_eq!(r.validation.oov_tokens, 0);
            let bpc = r.bits_per_char.unwrap();
            assert!((bpc - r.validation.bits_per_token * r.validation.m as f64 / r.data.valid_chars as f64).abs() < 1e-12);
            let mut text = String::new();
            let cfg = SampleConfig { length: 40, seed: 2, ..Default::default() };
            s.generate("", &cfg, |g| {
                text.push_str(&g.text);
                true
            })
            .unwrap();
            assert!(!text.is_empty(), "{m}");
            if corpus.starts_with('床') {
                assert!(text.chars().any(|c| CHINESE.contains(c) && c != '\n'), "{m}: {text:?}");
            }
        }
    }
}

/// A model file keeps the merges: loaded without its corpus it tokenizes, scores and generates as
/// the trained session does; with its corpus the rebuilt tokenizer must be the same one.
#[test]
fn model_files_carry_the_merges() {
    let model = json!({ "family": "ngram", "order": 2, "method": "witten-bell" });
    for (corpus, other, text, prompt) in [
        (CHINESE.repeat(5), ENGLISH.repeat(5), "举头望明月，低头思故乡🌙", "明月"),
        (ENGLISH.repeat(5), CHINESE.repeat(5), "the cat and the zyzzyva 🦀", "the"),
    ] {
        let mut s = Session::new(&corpus, config(model.clone(), bpe(290))).unwrap();
        s.train_to_end().unwrap();
        let bytes = s.save().unwrap();
        let bare = Session::load(&bytes, None).unwrap();
        assert_eq!(bare.data.vocab, s.data.vocab);
        assert_eq!(bare.view("surprisal", &json!({ "text": text })).unwrap(), s.view("surprisal", &json!({ "text": text })).unwrap());
        let shown: String = s.view("surprisal", &json!({ "text": text })).unwrap()["tokens"].as_array().unwrap().iter().map(|t| t["text"].as_str().unwrap().to_string()).collect();
        assert_eq!(shown, format!("{text}\n"), "the tinted tokens spell the text, whole characters only");
        let gen = |s: &Session| {
            let mut out = String::new();
            s.generate(prompt, &SampleConfig { length: 20, seed: 4, ..Default::default() }, |g| {
                out.push_str(&g.text);
                true
            })
            .unwrap();
            out
        };
        assert_eq!(gen(&bare), gen(&s));
        assert!(Session::load(&bytes, Some(&corpus)).is_ok());
        assert_eq!(Session::load(&bytes, Some(&other)).err().unwrap().code, "vocab-mismatch");
        assert_eq!(bare.view("merges", &json!({ "text": prompt })).unwrap()["total"], s.view("merges", &json!({})).unwrap()["total"]);
    }
}

/// The views take a BPE token by the name they show (`\xE6`: a byte of a cut character); ARPA, whose
/// words cannot hold spaces or line breaks and which has no place for merges, is refused.
#[test]
fn bpe_names_are_tokens_in_the_views_and_arpa_refuses_them() {
    let mut s = Session::new(&CHINESE.repeat(5), config(json!({ "family": "ngram", "order": 2, "method": "witten-bell" }), bpe(270))).unwrap();
    s.train_to_end().unwrap();
    let v = s.view("next", &json!({ "context": "床前", "k": 5, "token": "\\xE6" })).unwrap();
    assert_eq!(v["token"]["token"], "\\xE6");
    assert_eq!(v["token"]["id"], 3 + 0xE6);
    let typed = s.view("next", &json!({ "context": "床前", "token": "🦀" })).unwrap_err();
    assert_eq!(typed.code, "invalid-config", "the crab is four byte tokens: {typed:?}");
    assert_eq!(s.arpa().unwrap_err().code, "not-arpa-bpe");
}

/// Bits per character do not depend on what a token is: for characters without sentence markers
/// they are the bits per token; and the same text scored by two tokenizers is divided by the same count.
#[test]
fn bits_per_character_divide_by_the_text_not_the_tokens() {
    let chars = DataConfig { tokenizer: Tokenizer::new(TokenizerKind::Char, false), boundary: Boundary::None, split: SplitKind::Tail, ..DataConfig::default() };
    let model = json!({ "family": "ngram", "order": 3, "method": "witten-bell" });
    let corpus = ENGLISH.repeat(5);
    let mut s = Session::new(&corpus, config(model.clone(), chars.clone())).unwrap();
    s.train_to_end().unwrap();
    let r = s.report().unwrap();
    assert!((r.bits_per_char.unwrap() - r.validation.bits_per_token).abs() < 1e-12);
    let sub = DataConfig { tokenizer: Tokenizer::new(TokenizerKind::Bpe, false), ..chars };
    let mut b = Session::new(&corpus, config(model, sub)).unwrap();
    b.train_to_end().unwrap();
    let rb = b.report().unwrap();
    assert_eq!(rb.data.valid_chars, r.data.valid_chars);
    assert!(rb.validation.m < r.validation.m, "subwords: fewer tokens for the same text");
}
