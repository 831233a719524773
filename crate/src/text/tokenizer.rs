//! Tokenizers: text line -> token strings, and token strings -> display text.
//!
//! * `char`: one token per Unicode scalar value, so 中文, emoji and accents all work.
//! * `word`: Unicode word segmentation (UAX #29). Whitespace is dropped, punctuation is its own
//!   token and every CJK ideograph is its own token.
//! * `whitespace`: tokens are exactly the whitespace-separated pieces, for pre-tokenized corpora
//!   (WikiText, the KenLM fixtures).
//! * `bpe`: byte-level BPE subwords learned on the training text ([`super::bpe`]); the merges live
//!   with the vocabulary, so splitting needs them.

use super::bpe::Bpe;
use serde::{Deserialize, Serialize};
use unicode_segmentation::UnicodeSegmentation;

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum TokenizerKind {
    Char,
    #[default]
    Word,
    Whitespace,
    Bpe,
}

impl TokenizerKind {
    pub fn parse(s: &str) -> crate::Result<Self> {
        match s {
            "char" => Ok(Self::Char),
            "word" => Ok(Self::Word),
            "whitespace" => Ok(Self::Whitespace),
            "bpe" => Ok(Self::Bpe),
            _ => Err(crate::Error::setting("tokenizer", format!(
                "unknown tokenizer '{s}': choose char, word, whitespace or bpe"
            ))
            .with("name", s)),
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Tokenizer {
    pub kind: TokenizerKind,
    /// Lowercase the text before splitting (Unicode-aware; for all kinds).
    #[serde(default)]
    pub lowercase: bool,
}

impl Tokenizer {
    pub fn new(kind: TokenizerKind, lowercase: bool) -> Self {
        Tokenizer { kind, lowercase }
    }

    /// Splits one line (no newline inside) and hands each token to `emit`. A BPE tokenizer without
    /// its merges splits into bytes.
    pub fn tokenize_with(&self, line: &str, emit: impl FnMut(&str)) {
        self.split(None, line, emit)
    }

    /// The same with the BPE merges (the vocabulary's, see `Vocab::bpe`) for the `bpe` kind.
    pub fn split(&self, bpe: Option<&Bpe>, line: &str, mut emit: impl FnMut(&str)) {
        let lowered;
        let line = if self.lowercase {
            lowered = line.to_lowercase();
            lowered.as_str()
        } else {
            line
        };
        match self.kind {
            TokenizerKind::Char => {
                let mut buf = [0u8; 4];
                for c in line.chars() {
                    emit(c.encode_utf8(&mut buf));
                }
            }
            TokenizerKind::Whitespace => line.split_whitespace().for_each(emit),
            TokenizerKind::Bpe => match bpe {
                Some(b) => b.encode(line).into_iter().for_each(|id| emit(b.token_str(id))),
                None => line.bytes().for_each(|x| emit(&super::bpe::token_string(&[x]))),
            },
            TokenizerKind::Word => {
                for seg in line.split_word_bounds() {
                    if seg.chars().all(char::is_whitespace) {
                        continue;
                    }
                    if seg.chars().any(is_cjk_ideograph) && seg.chars().count() > 1 {
                        split_ideographs(seg, &mut emit);
                    } else {
                        emit(seg);
                    }
                }
            }
        }
    }

    pub fn tokenize(&self, line: &str) -> Vec<String> {
        let mut out = Vec::new();
        self.tokenize_with(line, |t| out.push(t.to_string()));
        out
    }

    /// Whether a line break is a token of its own when there are no sentence markers: characters
    /// and bytes (BPE) cover every character of the text; words leave whitespace out.
    pub fn keeps_newlines(&self) -> bool {
        matches!(self.kind, TokenizerKind::Char | TokenizerKind::Bpe)
    }

    /// The text to append when `next` follows `prev` in generated output (`prev` is `None`
    /// at the start of a line). Characters join directly; words get a space except around
    /// punctuation and between CJK characters; whitespace tokens are joined by one space.
    pub fn joiner(&self, prev: Option<&str>, next: &str) -> &'static str {
        let Some(prev) = prev else { return "" };
        match self.kind {
            TokenizerKind::Char | TokenizerKind::Bpe => "", // BPE joins bytes: see `Detokenizer`
            TokenizerKind::Whitespace => " ",
            TokenizerKind::Word => {
                let p = prev.chars().next_back();
                let n = next.chars().next();
                let (Some(p), Some(n)) = (p, n) else { return "" };
                if is_cjk(p) || is_cjk(n) || attaches_left(n) || attaches_right(p) {
                    ""
                } else {
                    " "
                }
            }
        }
    }
}

/// Splits a segment that mixes ideographs with other characters so each ideograph stands alone.
fn split_ideographs(seg: &str, emit: &mut impl FnMut(&str)) {
    let mut start = 0;
    for (i, c) in seg.char_indices() {
        if is_cjk_ideograph(c) {
            if start < i {
                emit(&seg[start..i]);
            }
            emit(&seg[i..i + c.len_utf8()]);
            start = i + c.len_utf8();
        }
    }
    if start < seg.len() {
        emit(&seg[start..]);
    }
}

/// CJK unified ideographs (with extensions) and compatibility ideographs.
pub fn is_cjk_ideograph(c: char) -> bool {
    matches!(c as u32,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2A6DF
        | 0x2A700..=0x2EBEF | 0x2F800..=0x2FA1F | 0x30000..=0x3134F | 0x3007)
}

/// Scripts written without spaces between words: ideographs, kana, CJK and full-width punctuation.
fn is_cjk(c: char) -> bool {
    is_cjk_ideograph(c)
        || matches!(c as u32, 0x3000..=0x30FF | 0xFF00..=0xFFEF | 0x31F0..=0x31FF)
}

/// Punctuation written against the word before it.
fn attaches_left(c: char) -> bool {
    matches!(c, '.' | ',' | ';' | ':' | '!' | '?' | ')' | ']' | '}' | '%' | '\'' | '"' | '»' | '”' | '’' | '…')
}

/// Punctuation written against the word after it.
fn attaches_right(c: char) -> bool {
    matches!(c, '(' | '[' | '{' | '«' | '“' | '‘' | '¿' | '¡' | '$' | '#' | '@')
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use super::*;

    fn toks(kind: TokenizerKind, lower: bool, s: &str) -> Vec<String> {
        Tokenizer::new(kind, lower).tokenize(s)
    }

    #[test]
    fn char_level_uses_scalar_values() {
        assert_eq!(toks(TokenizerKind::Char, false, "中文 é😀"), ["中", "文", " ", "é", "😀"]);
        // A combining accent is its own scalar value.
        assert_eq!(toks(TokenizerKind::Char, false, "e\u{301}"), ["e", "\u{301}"]);
    }

    #[test]
    fn word_level_splits_punctuation_and_ideographs() {
        assert_eq!(
            toks(TokenizerKind::Word, false, "Hello, world! Don't stop."),
            ["Hello", ",", "world", "!", "Don't", "stop", "."]
        );
        assert_eq!(toks(TokenizerKind::Word, false, "西陸蟬聲唱，南冠"), ["西", "陸", "蟬", "聲", "唱", "，", "南", "冠"]);
        assert_eq!(toks(TokenizerKind::Word, false, "用GPU训练"), ["用", "GPU", "训", "练"]);
        assert_eq!(toks(TokenizerKind::Word, false, "I ❤️ 🦀s"), ["I", "❤️", "🦀", "s"]);
        assert_eq!(toks(TokenizerKind::Word, true, "The CAT"), ["the", "cat"]);
    }

    #[test]
    fn whitespace_level_keeps_pieces() {
        assert_eq!(toks(TokenizerKind::Whitespace, false, " First  Citizen:\tyes "), ["First", "Citizen:", "yes"]);
    }

    #[test]
    fn joiner_spaces_words_but_not_punctuation_or_cjk() {
        let t = Tokenizer::new(TokenizerKind::Word, false);
        assert_eq!(t.joiner(None, "Hi"), "");
        assert_eq!(t.joiner(Some("Hi"), ","), "");
        assert_eq!(t.joiner(Some(","), "you"), " ");
        assert_eq!(t.joiner(Some("("), "a"), "");
        assert_eq!(t.joiner(Some("西"), "陸"), "");
        assert_eq!(Tokenizer::new(TokenizerKind::Char, false).joiner(Some("a"), "b"), "");
    }
}
