//! The vocabulary: token strings <-> ids. Ids 0, 1, 2 are always `[UNK]`, `<s>`, `</s>`;
//! the rest follow in order of decreasing training count (ties broken by the string), so the
//! same training text always gives the same ids.

use super::bpe::{Bpe, Merge};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

pub type TokenId = u32;

pub const UNK: TokenId = 0;
pub const BOS: TokenId = 1;
pub const EOS: TokenId = 2;
pub const UNK_STR: &str = "[UNK]";
pub const BOS_STR: &str = "<s>";
pub const EOS_STR: &str = "</s>";
pub const NUM_SPECIAL: usize = 3;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(try_from = "VocabFile", into = "VocabFile")]
pub struct Vocab {
    tokens: Vec<String>,
    index: FxHashMap<String, TokenId>,
    /// Whether `</s>` is a predicted token. False when the text has no boundaries
    /// (boundary mode `none`): then only `<s>` opens the stream and `</s>` never occurs.
    predicts_eos: bool,
    /// The subword tokenizer whose tokens these are (byte-level BPE): id 3 + i is its token i.
    bpe: Option<Bpe>,
}

/// How a vocabulary is stored (in model files, and in share links' settings). A BPE vocabulary is
/// stored as its merges (its tokens follow from them).
#[derive(Serialize, Deserialize)]
struct VocabFile {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    tokens: Vec<String>,
    predicts_eos: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    merges: Option<Vec<Merge>>,
}

impl TryFrom<VocabFile> for Vocab {
    type Error = String;
    fn try_from(f: VocabFile) -> Result<Self, String> {
        match f.merges {
            Some(m) => {
                let bpe = Bpe::from_merges(m).ok_or_else(|| "BPE merges out of order".to_string())?;
                let n = bpe.len();
                let v = Vocab::from_bpe(bpe, f.predicts_eos);
                // Training never makes two tokens of the same bytes, or one that spells a special:
                // merges that do would shift every id after them.
                if v.len() != NUM_SPECIAL + n {
                    return Err("BPE merges that repeat a token or spell a special one".to_string());
                }
                Ok(v)
            }
            None => Ok(Vocab::from_tokens(f.tokens, f.predicts_eos)),
        }
    }
}
impl From<Vocab> for VocabFile {
    fn from(v: Vocab) -> Self {
        match v.bpe {
            Some(b) => VocabFile { tokens: Vec::new(), predicts_eos: v.predicts_eos, merges: Some(b.merges().to_vec()) },
            None => VocabFile { tokens: v.tokens, predicts_eos: v.predicts_eos, merges: None },
        }
    }
}

/// Is this string one of the reserved special tokens?
pub fn is_special(s: &str) -> bool {
    s == UNK_STR || s == BOS_STR || s == EOS_STR
}

impl Vocab {
    /// A vocabulary from the ordinary (non-special) token strings, in id order.
    /// Duplicates and special strings among them are ignored.
    pub fn from_tokens(words: impl IntoIterator<Item = String>, predicts_eos: bool) -> Self {
        let mut v = Vocab {
            tokens: vec![UNK_STR.into(), BOS_STR.into(), EOS_STR.into()],
            index: FxHashMap::default(),
            predicts_eos,
            bpe: None,
        };
        for (i, s) in v.tokens.iter().enumerate() {
            v.index.insert(s.clone(), i as TokenId);
        }
        for w in words {
            if !v.index.contains_key(&w) {
                v.index.insert(w.clone(), v.tokens.len() as TokenId);
                v.tokens.push(w);
            }
        }
        v
    }

    /// The vocabulary of a byte-level BPE: the specials, then its 256 bytes and its merges in order,
    /// all of them whether the training text used them or not, so no text is ever `[UNK]`.
    pub fn from_bpe(bpe: Bpe, predicts_eos: bool) -> Self {
        let names = (0..bpe.len() as u32).map(|i| bpe.token_str(i).to_string());
        // Learned names never collide and never spell a special (the pre-split keeps `<`, `s` and `>`
        // apart); a file's merges are checked when read.
        let v = Vocab::from_tokens(names, predicts_eos);
        Vocab { bpe: Some(bpe), ..v }
    }

    /// The subword tokenizer, for a BPE vocabulary.
    pub fn bpe(&self) -> Option<&Bpe> {
        self.bpe.as_ref()
    }

    /// The bytes id stands for, for a BPE vocabulary (None for the specials and other vocabularies).
    pub fn bytes(&self, id: TokenId) -> Option<&[u8]> {
        let b = self.bpe.as_ref()?;
        (id as usize >= NUM_SPECIAL).then(|| b.token_bytes(id - NUM_SPECIAL as TokenId))
    }

    /// Builds a vocabulary from training counts: keeps tokens seen at least `min_count` times,
    /// most frequent first, and at most `max_size` entries in all (specials included; 0 = no limit).
    pub fn from_counts<'a>(
        counts: impl IntoIterator<Item = (&'a str, u64)>,
        min_count: u64,
        max_size: usize,
        predicts_eos: bool,
    ) -> Self {
        let mut kept: Vec<(&str, u64)> =
            counts.into_iter().filter(|&(s, c)| c >= min_count.max(1) && !is_special(s)).collect();
        kept.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        if max_size > 0 {
            kept.truncate(max_size.saturating_sub(NUM_SPECIAL));
        }
        Vocab::from_tokens(kept.into_iter().map(|(s, _)| s.to_string()), predicts_eos)
    }

    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        false // the specials are always there
    }

    /// The id of a token string; `[UNK]` for anything not in the vocabulary.
    pub fn id(&self, token: &str) -> TokenId {
        self.index.get(token).copied().unwrap_or(UNK)
    }

    pub fn get(&self, token: &str) -> Option<TokenId> {
        self.index.get(token).copied()
    }

    pub fn token(&self, id: TokenId) -> &str {
        &self.tokens[id as usize]
    }

    pub fn tokens(&self) -> &[String] {
        &self.tokens
    }

    pub fn predicts_eos(&self) -> bool {
        self.predicts_eos
    }

    /// A short fingerprint of the vocabulary (FNV-1a over the tokens, hex). Two models' perplexities
    /// are comparable only when their fingerprints are equal.
    pub fn fingerprint(&self) -> String {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for t in &self.tokens {
            for b in t.bytes().chain([0xff]) {
                h = (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
        if let Some(b) = &self.bpe {
            for &(a, c) in b.merges() {
                h = (h ^ ((a as u64) << 32 | c as u64)).wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
        h ^= self.predicts_eos as u64;
        format!("{h:016x}")
    }

    /// Can a model ever predict this id? `<s>` never is; `</s>` only when there are boundaries.
    pub fn is_predictable(&self, id: TokenId) -> bool {
        id != BOS && (id != EOS || self.predicts_eos)
    }

    /// How many ids can be predicted: the support of every next-token distribution.
    pub fn num_predictable(&self) -> usize {
        self.len() - 1 - usize::from(!self.predicts_eos)
    }
}

impl PartialEq for Vocab {
    fn eq(&self, other: &Self) -> bool {
        self.tokens == other.tokens && self.predicts_eos == other.predicts_eos && self.bpe == other.bpe
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use super::*;

    #[test]
    fn specials_come_first_then_by_count() {
        let v = Vocab::from_counts([("b", 2), ("a", 2), ("c", 5), ("d", 1)], 2, 0, true);
        assert_eq!(v.tokens(), ["[UNK]", "<s>", "</s>", "c", "a", "b"]);
        assert_eq!(v.id("d"), UNK);
        assert_eq!(v.id("zzz"), UNK);
        assert_eq!(v.id("c"), 3);
        assert_eq!(v.num_predictable(), 5);
    }

    #[test]
    fn max_size_counts_the_specials() {
        let v = Vocab::from_counts([("b", 2), ("a", 3), ("c", 5)], 1, 4, false);
        assert_eq!(v.tokens(), ["[UNK]", "<s>", "</s>", "c"]);
        assert!(!v.is_predictable(EOS) && !v.is_predictable(BOS) && v.is_predictable(UNK));
        assert_eq!(v.num_predictable(), 2);
    }

    #[test]
    fn special_strings_in_text_are_not_words() {
        let v = Vocab::from_counts([("<s>", 9), ("[UNK]", 9), ("x", 1)], 1, 0, true);
        assert_eq!(v.len(), 4);
    }

    #[test]
    fn serde_round_trip() {
        let v = Vocab::from_counts([("x", 1), ("中", 3)], 1, 0, true);
        let back: Vocab = serde_json::from_str(&serde_json::to_string(&v).unwrap()).unwrap();
        assert_eq!(back, v);
        assert_eq!(back.id("中"), 3);
    }

    /// A BPE vocabulary is stored as its merges, and comes back with the same tokens and ids.
    #[test]
    fn a_bpe_vocabulary_round_trips_through_its_merges() {
        let bpe = Bpe::train(["the cat", "the hat", "中文中文"], 262, |_, _| {});
        let v = Vocab::from_bpe(bpe.clone(), true);
        assert_eq!(v.len(), 3 + 262);
        assert_eq!(v.token(3 + 0x61), "a");
        assert_eq!(v.bytes(3 + 256), Some(bpe.token_bytes(256)));
        let json = serde_json::to_string(&v).unwrap();
        assert!(json.contains("merges") && !json.contains("tokens"), "{json}");
        let back: Vocab = serde_json::from_str(&json).unwrap();
        assert_eq!(back, v);
        assert_eq!(back.fingerprint(), v.fingerprint());
        assert_eq!(back.tokens(), v.tokens());
        assert!(serde_json::from_str::<Vocab>(r#"{"predicts_eos":true,"merges":[[97,300]]}"#).is_err());
        // Merges training cannot make: "abc" twice, or the special <s>.
        assert!(serde_json::from_str::<Vocab>(r#"{"predicts_eos":true,"merges":[[97,98],[98,99],[256,99],[97,257]]}"#).is_err());
        assert!(serde_json::from_str::<Vocab>(r#"{"predicts_eos":true,"merges":[[60,115],[256,62]]}"#).is_err());
        // Same tokens, other merges: another tokenizer ("abc" from ab+c or from a+bc).
        let ab_c = Vocab::from_bpe(Bpe::from_merges(vec![(97, 98), (98, 99), (256, 99)]).unwrap(), true);
        let a_bc = Vocab::from_bpe(Bpe::from_merges(vec![(97, 98), (98, 99), (97, 257)]).unwrap(), true);
        assert_eq!(ab_c.tokens(), a_bc.tokens());
        assert_ne!(ab_c, a_bc);
        assert_ne!(ab_c.fingerprint(), a_bc.fingerprint());
    }
}
