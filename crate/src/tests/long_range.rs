//! Long-range tasks through whole sessions: the evaluator works for any family (it reads the
//! model's stream only), and it measures what each model can know.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use crate::lm::{LanguageModel, ModelInfo, TokenStream};
use crate::session::{RunConfig, Session};
use crate::tasks::accuracy::accuracy_by_distance;
use crate::tasks::find;
use crate::text::{DataConfig, TokenId, Tokenizer, TokenizerKind, Vocab, BOS};
use serde_json::json;

fn char_config(model: &str) -> RunConfig {
    let mut c = RunConfig::from_json(&format!(r#"{{"model": {model}}}"#)).unwrap();
    c.data = DataConfig { tokenizer: Tokenizer::new(TokenizerKind::Char, false), ..Default::default() };
    c
}

/// A trigram model sees two tokens back: at distance 2 (`s:` → s) it is always right, from 5 on
/// it can only guess among the symbols (chance 1/8) — what the page's chart shows for an n-gram model.
#[test]
fn an_ngram_model_copies_only_what_its_window_holds() {
    let task = find("copy-memory").unwrap();
    let corpus = task.corpus(2, 1500);
    let mut s = Session::new(&corpus, char_config(r#"{"family": "ngram", "order": 3, "method": "witten-bell"}"#)).unwrap();
    s.train_to_end().unwrap();
    let v = s.view("long-range", &json!({ "task": "copy-memory", "examples": 200 })).unwrap();
    assert_eq!(v["task"], "copy-memory");
    assert_eq!(v["chance"], 0.125);
    let d = v["distances"].as_array().unwrap();
    assert_eq!(d.len(), task.distances().len());
    assert_eq!(d[0]["distance"], 2);
    assert_eq!(d[0]["accuracy"], 1.0);
    for p in &d[1..] {
        let a = p["accuracy"].as_f64().unwrap();
        assert!(a < 0.3, "distance {}: accuracy {a}", p["distance"]);
        assert_eq!(p["examples"], 200);
    }
    // Seeded: the same examples and numbers again.
    assert_eq!(v, s.view("long-range", &json!({ "task": "copy-memory", "examples": 200 })).unwrap());
    assert_eq!(s.view("long-range", &json!({ "task": "nope" })).unwrap_err().code, "unknown-task");
    assert_eq!(s.view("long-range", &json!({ "examples": 0 })).unwrap_err().code, "invalid-config");
}

/// A model trained on words has no character ids for the answers: refused, not scored as 0.
#[test]
fn a_model_of_other_text_is_refused() {
    let mut c = RunConfig::from_json(r#"{"model": {"family": "ngram", "order": 2, "method": "witten-bell"}}"#).unwrap();
    c.data.tokenizer = Tokenizer::new(TokenizerKind::Word, false);
    let mut s = Session::new(&"the cat sat\non the mat\n".repeat(4), c).unwrap();
    s.train_to_end().unwrap();
    assert_eq!(s.view("long-range", &json!({})).unwrap_err().code, "not-a-task-model");
}

/// A model that remembers perfectly: the first symbol after `<s>` (copy memory's answer).
struct Oracle(Vocab);
struct OracleStream<'a>(&'a Vocab, Option<TokenId>);
impl LanguageModel for Oracle {
    fn vocab(&self) -> &Vocab {
        &self.0
    }
    fn info(&self) -> ModelInfo {
        ModelInfo { family: "oracle".into(), description: String::new(), normalized: true, parameters: 0, context: None, generative: true }
    }
    fn stream(&self) -> Box<dyn TokenStream + '_> {
        Box::new(OracleStream(&self.0, None))
    }
}
impl TokenStream for OracleStream<'_> {
    fn push(&mut self, t: TokenId) {
        if t == BOS {
            self.1 = None;
        } else {
            self.1.get_or_insert(t);
        }
    }
    fn distribution(&mut self, out: &mut [f64]) {
        out.fill(0.0);
        out[self.1.unwrap_or(self.0.id(".")) as usize] = 1.0;
    }
    fn vocab_len(&self) -> usize {
        self.0.len()
    }
}

#[test]
fn a_perfect_memory_is_always_right_at_every_distance() {
    let task = find("copy-memory").unwrap();
    let vocab = Vocab::from_tokens("abcdefgh.:".chars().map(String::from), true);
    let data = DataConfig { tokenizer: Tokenizer::new(TokenizerKind::Char, false), ..Default::default() };
    let r = accuracy_by_distance(&Oracle(vocab), &data, task, 50, 1).unwrap();
    assert!(r.distances.iter().all(|d| d.accuracy == 1.0 && d.probability == 1.0 && d.examples == 50), "{r:?}");
}
