//! The merges view: a BPE tokenizer's merges in the order they were learned, and a text cut into
//! tokens after the first k of them (k = 0 is bytes; k = all is the tokenizer the model uses).

use super::bpe::FIRST_MERGE;
use super::{Dataset, EOS};
use crate::{Error, Result};
use serde_json::{json, Value};

/// How much of the training text the view cuts when the user gives none.
const EXCERPT_LINES: usize = 12;
const EXCERPT_CHARS: usize = 1500;

/// Arguments: `text` (default: the start of the training text), `k` merges applied (default: all),
/// `list: false` to leave the merges out.
pub fn merges_view(data: &Dataset, args: &Value) -> Result<Value> {
    let bpe = data.vocab.bpe().ok_or_else(|| {
        Error::setting("no-view", "the merges view is for a BPE tokenizer: this model's tokens are not subwords").with("name", "merges")
    })?;
    let total = bpe.merges().len();
    let k = args.get("k").and_then(Value::as_u64).map_or(total, |k| (k as usize).min(total));
    let text = match args.get("text").and_then(Value::as_str) {
        Some(t) if !t.is_empty() => t.to_string(),
        _ => excerpt(data),
    };
    // The list is long (up to 8,192): a caller that has it already asks for the cut only.
    let list = args.get("list").and_then(Value::as_bool).unwrap_or(true);
    let merges: Vec<Value> = bpe
        .merges()
        .iter()
        .take(if list { total } else { 0 })
        .enumerate()
        .map(|(i, &(a, b))| {
            json!({ "rank": i + 1, "a": bpe.token_str(a), "b": bpe.token_str(b), "token": bpe.token_str(FIRST_MERGE + i as u32), "count": bpe.count(i) })
        })
        .collect();
    let lower = data.config.tokenizer.lowercase;
    let (mut n_tokens, mut n_chars) = (0, 0);
    // Cut as the model's text is: by line or sentence, a line break its own token without markers.
    let lines: Vec<Value> = super::dataset::pieces(&text, &data.config)
        .into_iter()
        .map(|(piece, newline)| {
            let piece = if lower { piece.to_lowercase() } else { piece.to_string() };
            let mut ids = bpe.encode_with(&piece, k);
            if newline {
                ids.push(b'\n' as u32);
            }
            n_tokens += ids.len();
            n_chars += piece.chars().count() + newline as usize;
            ids.iter().map(|&id| json!({ "id": id, "token": bpe.token_str(id), "bytes": bpe.token_bytes(id).len() })).collect::<Value>()
        })
        .collect();
    // What the settings asked for: fewer merges were learned when no pair occurred twice any more.
    let wanted = data.config.bpe_vocab.saturating_sub(FIRST_MERGE as usize);
    Ok(json!({ "merges": merges, "total": total, "wanted": wanted, "k": k, "text": text, "lines": lines, "tokens": n_tokens, "chars": n_chars }))
}

/// The start of the training text, decoded from its tokens (the dataset keeps ids, not text).
fn excerpt(data: &Dataset) -> String {
    let mut bytes = Vec::new();
    let mut lines = 0;
    for &t in &data.train {
        let b = if t == EOS { b"\n" } else { data.vocab.bytes(t).unwrap_or_default() };
        bytes.extend_from_slice(b);
        lines += b.iter().filter(|&&x| x == b'\n').count();
        if lines >= EXCERPT_LINES || bytes.len() >= EXCERPT_CHARS * 3 {
            break;
        }
    }
    let text = String::from_utf8_lossy(&bytes);
    text.chars().take(EXCERPT_CHARS).collect::<String>().trim_end().to_string()
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use super::*;
    use crate::text::{DataConfig, Tokenizer, TokenizerKind};

    #[test]
    fn the_view_steps_through_the_merges() {
        let cfg = DataConfig { tokenizer: Tokenizer::new(TokenizerKind::Bpe, false), bpe_vocab: 300, ..DataConfig::default() };
        let text = "the cat sat on the mat\nthe hat\n床前明月光\n疑是地上霜\n举头望明月\n低头思故乡\n".repeat(3);
        let d = Dataset::from_corpus(&text, &cfg, 1).unwrap();
        let all = merges_view(&d, &json!({})).unwrap();
        let total = all["total"].as_u64().unwrap() as usize;
        assert!(total > 10 && all["merges"].as_array().unwrap().len() == total);
        assert_eq!(all["merges"][0]["rank"], 1);
        assert_eq!(all["wanted"], 300 - 256);
        assert!(all["merges"][0]["count"].as_u64().unwrap() >= 2);
        assert!(!all["text"].as_str().unwrap().is_empty(), "an excerpt of the training text");
        let bytes = merges_view(&d, &json!({ "text": "the 明月", "k": 0 })).unwrap();
        assert_eq!(bytes["tokens"], 4 + 6, "no merge: one token per byte");
        assert_eq!(bytes["chars"], 6);
        assert_eq!(bytes["merges"].as_array().unwrap().len(), total);
        assert!(merges_view(&d, &json!({ "list": false })).unwrap()["merges"].as_array().unwrap().is_empty());
        let merged = merges_view(&d, &json!({ "text": "the 明月" })).unwrap();
        assert!(merged["tokens"].as_u64().unwrap() < 10);
        let joined: String = merged["lines"][0].as_array().unwrap().iter().map(|t| t["token"].as_str().unwrap()).collect();
        assert_eq!(joined, "the 明月", "whole characters name whole tokens");
        // Not a BPE model: a clear error.
        let words = Dataset::from_corpus(&text, &DataConfig::default(), 1).unwrap();
        assert_eq!(merges_view(&words, &json!({})).unwrap_err().code, "invalid-config");
    }
}
