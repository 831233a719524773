//! Token ids back to text, one token at a time (generation streams it; the surprisal view tints it).
//!
//! Words and characters join by the tokenizer's rule ([`Tokenizer::joiner`]). BPE tokens are bytes:
//! a token may end inside a character (中 is three bytes), so the bytes wait until their character is
//! whole; a token that only starts a character shows nothing, and the one that completes it shows
//! the character. `</s>` is a line break.

use super::tokenizer::Tokenizer;
use super::vocab::{TokenId, Vocab, BOS, EOS};

#[derive(Clone, Debug, Default)]
pub struct Detokenizer {
    /// The last token of the current line (None at a line's start).
    prev: Option<TokenId>,
    /// BPE bytes of a character not yet whole.
    pending: Vec<u8>,
}

impl Detokenizer {
    /// Text that continues after `prev` (the last token of a prompt, if any).
    pub fn after(prev: Option<TokenId>) -> Self {
        Detokenizer { prev: prev.filter(|&t| t != BOS && t != EOS), pending: Vec::new() }
    }

    /// The text token `id` adds.
    pub fn push(&mut self, tokenizer: &Tokenizer, vocab: &Vocab, id: TokenId) -> String {
        if id == BOS {
            self.prev = None;
            return String::new();
        }
        if id == EOS {
            let mut out = self.flush();
            out.push('\n');
            self.prev = None;
            return out;
        }
        let out = match vocab.bytes(id) {
            Some(bytes) => {
                self.pending.extend_from_slice(bytes);
                self.take_whole()
            }
            None => {
                let token = vocab.token(id);
                let mut out = self.flush();
                out.push_str(tokenizer.joiner(self.prev.map(|p| vocab.token(p)), token));
                out.push_str(token);
                out
            }
        };
        self.prev = Some(id);
        out
    }

    /// Whether bytes wait for the rest of their character.
    pub fn is_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The whole characters at the front of the pending bytes (U+FFFD for bytes that can never be
    /// part of one); an unfinished character at the end stays.
    fn take_whole(&mut self) -> String {
        let mut out = String::new();
        let mut used = 0;
        for chunk in self.pending.utf8_chunks() {
            out.push_str(chunk.valid());
            used += chunk.valid().len();
            let bad = chunk.invalid();
            if bad.is_empty() {
                continue;
            }
            let at_end = used + bad.len() == self.pending.len();
            if at_end && std::str::from_utf8(bad).err().is_some_and(|e| e.error_len().is_none()) {
                break; // the start of a character: wait for its other bytes
            }
            out.push(char::REPLACEMENT_CHARACTER);
            used += bad.len();
        }
        self.pending.drain(..used);
        out
    }

    /// Whatever waits, as U+FFFD (a line or the text ended inside a character).
    fn flush(&mut self) -> String {
        let out = if self.pending.is_empty() { String::new() } else { char::REPLACEMENT_CHARACTER.to_string() };
        self.pending.clear();
        out
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use super::*;
    use crate::text::bpe::Bpe;
    use crate::text::TokenizerKind;

    #[test]
    fn bpe_bytes_wait_for_their_character() {
        let v = Vocab::from_bpe(Bpe::from_merges(vec![(0xE4, 0xB8)]).unwrap(), true);
        let tok = Tokenizer::new(TokenizerKind::Bpe, false);
        let id = |b: u32| b + 3;
        let mut d = Detokenizer::default();
        // 中 = E4 B8 AD: the merged E4 B8 shows nothing, AD completes it.
        assert_eq!(d.push(&tok, &v, 256 + 3), "");
        assert!(d.is_pending());
        assert_eq!(d.push(&tok, &v, id(0xAD)), "中");
        assert_eq!(d.push(&tok, &v, id(b'a' as u32)), "a");
        // A stray continuation byte can never start a character; a line ending inside one is U+FFFD.
        assert_eq!(d.push(&tok, &v, id(0xAD)), "\u{FFFD}");
        assert_eq!(d.push(&tok, &v, id(0xE4)), "");
        assert_eq!(d.push(&tok, &v, id(b'b' as u32)), "\u{FFFD}b");
        assert_eq!(d.push(&tok, &v, id(0xF0)), "");
        assert_eq!(d.push(&tok, &v, EOS), "\u{FFFD}\n");
        assert!(!d.is_pending());
    }

    #[test]
    fn words_join_by_the_tokenizers_rule() {
        let v = Vocab::from_tokens(["Hi".to_string(), ",".to_string(), "you".to_string()], true);
        let tok = Tokenizer::new(TokenizerKind::Word, false);
        let mut d = Detokenizer::after(Some(BOS));
        let text: String = [3, 4, 5, EOS, 5].iter().map(|&t| d.push(&tok, &v, t)).collect();
        assert_eq!(text, "Hi, you\nyou");
    }
}
