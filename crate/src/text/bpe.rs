//! Byte-level BPE, trained on the user's corpus (minbpe's `RegexTokenizer`, with GPT-2's pre-split).
//!
//! A line is cut into chunks by GPT-2's pattern ([`pre_split`]); a chunk is its UTF-8 bytes, ids
//! 0‥255; training merges the most frequent adjacent pair into a new id (256, 257, …) until the
//! vocabulary has `vocab_size` entries or no pair occurs twice; merges never cross chunks. Every byte
//! is a token, so nothing is ever unknown: a character the corpus never had (a rare 汉字, an emoji)
//! falls back to its bytes. One token may hold part of a character; a whole line decodes exactly.
//!
//! The rules are written so an independent script reproduces them (tests/reference/bpe.py, whose
//! fixtures the tests below match exactly): ties between equally frequent pairs go to the smallest
//! pair (a, b); pairs are counted at every position, overlapping ones included ("aaa" has (a, a)
//! twice), and replaced left to right without overlap; encoding merges, among a chunk's pairs, the one
//! learned earliest, until none is a merge.

use rustc_hash::FxHashMap;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use unicode_general_category::{get_general_category, GeneralCategory as G};

/// A learned merge: the pair of ids that becomes id 256 + its index.
pub type Merge = (u32, u32);

/// The first id a merge creates (ids below are bytes).
pub const FIRST_MERGE: u32 = 256;

/// A trained byte-level BPE: its merges, in order, and every token's bytes.
#[derive(Clone, Debug)]
pub struct Bpe {
    merges: Vec<Merge>,
    /// (a, b) → the merge's index (its rank: lower is learned earlier).
    ranks: FxHashMap<Merge, u32>,
    /// Every id's bytes: 256 single bytes, then each merge's two parts joined.
    bytes: Vec<Vec<u8>>,
    /// Every id's name in the vocabulary ([`token_string`]).
    strings: Vec<String>,
    /// How often each merge's pair occurred when it was learned (empty when read from a file).
    counts: Vec<u64>,
}

/// Two tokenizers are equal when their merges are: the rest follows from them.
impl PartialEq for Bpe {
    fn eq(&self, other: &Self) -> bool {
        self.merges == other.merges
    }
}

impl Bpe {
    /// Trains on `lines` (no newline inside) up to `vocab_size` tokens (bytes included, so at most
    /// `vocab_size − 256` merges), calling `progress(done, wanted)` after each merge.
    pub fn train<'a>(lines: impl IntoIterator<Item = &'a str>, vocab_size: usize, mut progress: impl FnMut(usize, usize)) -> Bpe {
        let wanted = vocab_size.saturating_sub(FIRST_MERGE as usize);
        let (merges, counts) = learn(distinct_chunks(lines), wanted, &mut progress);
        Bpe { counts, ..Bpe::from_merges(merges).expect("merges learned in order") }
    }

    /// The tokenizer of a list of merges (a model file's): merge i may only join ids below 256 + i.
    pub fn from_merges(merges: Vec<Merge>) -> Option<Bpe> {
        let mut bytes: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
        let mut ranks = FxHashMap::default();
        for (i, &(a, b)) in merges.iter().enumerate() {
            if a as usize >= bytes.len() || b as usize >= bytes.len() || ranks.insert((a, b), i as u32).is_some() {
                return None;
            }
            let joined = [bytes[a as usize].as_slice(), bytes[b as usize].as_slice()].concat();
            bytes.push(joined);
        }
        let strings = bytes.iter().map(|b| token_string(b)).collect();
        Some(Bpe { merges, ranks, bytes, strings, counts: Vec::new() })
    }

    pub fn merges(&self) -> &[Merge] {
        &self.merges
    }

    /// How often merge i's pair occurred in the training text when it was learned (None after a
    /// model file was read: files keep the merges only).
    pub fn count(&self, i: usize) -> Option<u64> {
        self.counts.get(i).copied()
    }

    /// Token `id`'s name in the vocabulary (see [`token_string`]).
    pub fn token_str(&self, id: u32) -> &str {
        &self.strings[id as usize]
    }

    /// How many tokens: 256 bytes and the merges.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        false // the 256 bytes are always there
    }

    /// The bytes of token `id` (part of a character, possibly).
    pub fn token_bytes(&self, id: u32) -> &[u8] {
        &self.bytes[id as usize]
    }

    /// A line's token ids: each chunk of its pre-split, merged by rank.
    pub fn encode(&self, line: &str) -> Vec<u32> {
        self.encode_with(line, self.merges.len())
    }

    /// The same with only the first `k` merges (the merges view steps through them).
    pub fn encode_with(&self, line: &str, k: usize) -> Vec<u32> {
        let mut out = Vec::new();
        for chunk in pre_split(line) {
            let mut ids: Vec<u32> = chunk.bytes().map(u32::from).collect();
            while ids.len() >= 2 {
                let ranked = |w: &[u32]| self.ranks.get(&(w[0], w[1])).filter(|&&r| (r as usize) < k).map(|&r| (r, (w[0], w[1])));
                let best = ids.windows(2).filter_map(ranked).min();
                let Some((rank, pair)) = best else { break };
                replace(&mut ids, pair, FIRST_MERGE + rank);
            }
            out.extend(ids);
        }
        out
    }

    /// The bytes of a sequence of ids (valid UTF-8 when the ids are a whole line's).
    pub fn decode(&self, ids: &[u32]) -> Vec<u8> {
        ids.iter().flat_map(|&id| self.token_bytes(id).iter().copied()).collect()
    }
}

/// A token's name in the vocabulary, one-to-one with its bytes: the text where the bytes are whole
/// characters, `\xE4`-style escapes for the bytes of a character cut by the token, and `\\` for a
/// backslash (so that no text can be mistaken for an escape). "中" is three bytes: a vocabulary
/// too small to hold it names its tokens `\xE4\xB8` and `\xAD`.
pub fn token_string(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                out.push_str("\\\\");
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    out
}

/// Each distinct chunk of the lines' pre-split once, as byte ids, with how often it occurs: merges are
/// counted per chunk, weighted by its frequency.
pub fn distinct_chunks<'a>(lines: impl IntoIterator<Item = &'a str>) -> Vec<(Vec<u32>, u64)> {
    let mut freq: FxHashMap<&[u8], u64> = FxHashMap::default();
    for line in lines {
        for chunk in pre_split(line) {
            *freq.entry(chunk.as_bytes()).or_default() += 1;
        }
    }
    freq.into_iter().map(|(b, f)| (b.iter().map(|&x| x as u32).collect(), f)).collect()
}

/// Learns up to `wanted` merges: each time the most frequent adjacent pair (the smallest among
/// equals), until no pair occurs twice. The pair counts are kept up to date rather than recounted: a
/// merge recounts only the chunks that hold its pair (`holders`), and a max-heap whose entries are
/// dropped when their count is no longer current finds the next pair. The result is that of
/// recounting everything after each merge ([`learn_by_recounting`], which the tests compare it with).
pub fn learn(mut chunks: Vec<(Vec<u32>, u64)>, wanted: usize, progress: &mut dyn FnMut(usize, usize)) -> (Vec<Merge>, Vec<u64>) {
    let mut counts: FxHashMap<Merge, u64> = FxHashMap::default();
    let mut holders: FxHashMap<Merge, Vec<u32>> = FxHashMap::default();
    let hold = |holders: &mut FxHashMap<Merge, Vec<u32>>, p: Merge, i: u32| {
        let h = holders.entry(p).or_default();
        if h.last() != Some(&i) {
            h.push(i);
        }
    };
    for (i, (ids, f)) in chunks.iter().enumerate() {
        for w in ids.windows(2) {
            *counts.entry((w[0], w[1])).or_default() += f;
            hold(&mut holders, (w[0], w[1]), i as u32);
        }
    }
    let mut heap: BinaryHeap<(u64, Reverse<Merge>)> = counts.iter().map(|(&p, &c)| (c, Reverse(p))).collect();
    let (mut merges, mut merge_counts) = (Vec::with_capacity(wanted), Vec::with_capacity(wanted));
    let mut touched: Vec<Merge> = Vec::new();
    // The merge that last recounted each chunk (a chunk is listed once per pair, but may hold it twice).
    let mut recounted = vec![u32::MAX; chunks.len()];
    while merges.len() < wanted {
        // Entries are (count, pair) when pushed; one whose count has changed since is stale.
        let current = std::iter::from_fn(|| heap.pop()).find(|&(c, Reverse(p))| counts.get(&p) == Some(&c));
        let Some((n, Reverse(pair))) = current else { break };
        if n < 2 {
            break;
        }
        let round = merges.len() as u32;
        let id = FIRST_MERGE + round;
        merges.push(pair);
        merge_counts.push(n);
        for i in holders.remove(&pair).unwrap_or_default() {
            let (ids, f) = &mut chunks[i as usize];
            if std::mem::replace(&mut recounted[i as usize], round) == round || !ids.windows(2).any(|w| (w[0], w[1]) == pair) {
                continue; // done already, or an earlier merge took the pair away
            }
            for w in ids.windows(2) {
                *counts.get_mut(&(w[0], w[1])).expect("counted") -= *f;
                touched.push((w[0], w[1]));
            }
            replace(ids, pair, id);
            for w in ids.windows(2) {
                let p = (w[0], w[1]);
                *counts.entry(p).or_default() += *f;
                touched.push(p);
                if p.0 == id || p.1 == id {
                    hold(&mut holders, p, i); // the only pairs a merge can create
                }
            }
        }
        touched.sort_unstable();
        touched.dedup();
        for p in touched.drain(..) {
            match counts.get(&p).copied() {
                Some(0) => {
                    counts.remove(&p);
                }
                Some(c) => heap.push((c, Reverse(p))),
                None => {}
            }
        }
        progress(merges.len(), wanted);
    }
    (merges, merge_counts)
}

/// The plain algorithm (minbpe's): recount every pair after each merge. The reference `learn` is
/// tested against, and its benchmark's baseline (`lmplay bench bpe-train`, `"method": "recount"`).
pub fn learn_by_recounting(mut chunks: Vec<(Vec<u32>, u64)>, wanted: usize) -> (Vec<Merge>, Vec<u64>) {
    let (mut merges, mut merge_counts) = (Vec::new(), Vec::new());
    while merges.len() < wanted {
        let mut counts: FxHashMap<Merge, u64> = FxHashMap::default();
        for (ids, f) in &chunks {
            for w in ids.windows(2) {
                *counts.entry((w[0], w[1])).or_default() += f;
            }
        }
        let Some((&pair, &n)) = counts.iter().max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0))) else { break };
        if n < 2 {
            break;
        }
        let id = FIRST_MERGE + merges.len() as u32;
        merges.push(pair);
        merge_counts.push(n);
        chunks.iter_mut().for_each(|(ids, _)| replace(ids, pair, id));
    }
    (merges, merge_counts)
}

/// Replaces `pair` by `id` left to right, without overlap: (a, a) in a a a gives id a.
fn replace(ids: &mut Vec<u32>, pair: Merge, id: u32) {
    let (mut r, mut w) = (0, 0);
    while r < ids.len() {
        if r + 1 < ids.len() && (ids[r], ids[r + 1]) == pair {
            ids[w] = id;
            r += 2;
        } else {
            ids[w] = ids[r];
            r += 1;
        }
        w += 1;
    }
    ids.truncate(w);
}

fn is_letter(c: char) -> bool {
    matches!(get_general_category(c), G::UppercaseLetter | G::LowercaseLetter | G::TitlecaseLetter | G::ModifierLetter | G::OtherLetter)
}
fn is_number(c: char) -> bool {
    matches!(get_general_category(c), G::DecimalNumber | G::LetterNumber | G::OtherNumber)
}
/// Neither whitespace, nor a letter, nor a number: `[^\s\p{L}\p{N}]`.
fn is_other(c: char) -> bool {
    !c.is_whitespace() && !is_letter(c) && !is_number(c)
}

/// GPT-2's pre-split of a line, the pattern
/// `'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
/// with its alternatives tried in order at each position (and the lookahead's backtracking): a
/// contraction; an optional space and a run of letters, of numbers, or of other characters; a run of
/// whitespace less its last character when a non-space follows (that one joins the next word); any
/// whitespace left. The chunks concatenate back to the line.
pub fn pre_split(line: &str) -> Vec<&str> {
    let cs: Vec<(usize, char)> = line.char_indices().collect();
    let at = |i: usize| if i < cs.len() { cs[i].0 } else { line.len() };
    let ch = |i: usize| cs.get(i).map(|&(_, c)| c);
    let run = |mut j: usize, f: &dyn Fn(char) -> bool| {
        while ch(j).is_some_and(f) {
            j += 1;
        }
        j
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i].1;
        let end = 'found: {
            // 's 'd 'm 't 'll 've 're
            if c == '\'' {
                match (ch(i + 1), ch(i + 2)) {
                    (Some('s' | 'd' | 'm' | 't'), _) => break 'found i + 2,
                    (Some('l'), Some('l')) | (Some('v'), Some('e')) | (Some('r'), Some('e')) => break 'found i + 3,
                    _ => {}
                }
            }
            // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`
            for class in [is_letter as fn(char) -> bool, is_number, is_other] {
                let start = if c == ' ' && ch(i + 1).is_some_and(class) { i + 1 } else { i };
                if ch(start).is_some_and(class) {
                    break 'found run(start, &class);
                }
            }
            // `\s+(?!\S)`, then `\s+`
            let j = run(i, &char::is_whitespace);
            if j == cs.len() || j - i == 1 {
                break 'found j;
            }
            j - 1
        };
        out.push(&line[at(i)..at(end)]);
        i = end;
    }
    out
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use super::*;
    use serde_json::Value;

    fn fixture() -> Value {
        serde_json::from_str(include_str!("../../../tests/reference/fixtures/bpe.json")).unwrap()
    }

    #[test]
    fn the_pre_split_follows_gpt2s_pattern() {
        assert_eq!(pre_split("Hello world"), ["Hello", " world"]);
        assert_eq!(pre_split("a  b"), ["a", " ", " b"]);
        assert_eq!(pre_split("\t\tx"), ["\t", "\t", "x"]);
        assert_eq!(pre_split(" 'tis I'll"), [" '", "tis", " I", "'ll"]);
        assert_eq!(pre_split("IT'S"), ["IT", "'", "S"]);
        assert_eq!(pre_split("end  "), ["end", "  "]);
        assert_eq!(pre_split("2026, 3.14?!"), ["2026", ",", " 3", ".", "14", "?!"]);
        assert_eq!(pre_split("床前明月光，疑是地上霜。"), ["床前明月光", "，", "疑是地上霜", "。"]);
        assert_eq!(pre_split("Ⅻ e\u{301}"), ["Ⅻ", " e", "\u{301}"]);
        assert_eq!(pre_split(""), Vec::<&str>::new());
    }

    /// Every case of the independent Python reference (tests/reference/bpe.py): the same merges, in
    /// the same order, and the same ids for every encoded line, which decode back to it.
    #[test]
    fn training_and_encoding_match_the_python_reference() {
        let fx = fixture();
        for case in fx["cases"].as_array().unwrap() {
            let name = case["name"].as_str().unwrap();
            let lines: Vec<&str> = case["train"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect();
            let mut steps = 0;
            let bpe = Bpe::train(lines.iter().copied(), case["vocab_size"].as_u64().unwrap() as usize, |done, _| steps = done);
            let want: Vec<Merge> = case["merges"].as_array().unwrap().iter().map(|m| (m[0].as_u64().unwrap() as u32, m[1].as_u64().unwrap() as u32)).collect();
            assert_eq!(bpe.merges(), want.as_slice(), "{name}: merges");
            assert_eq!(steps, want.len(), "{name}: progress");
            for e in case["encode"].as_array().unwrap() {
                let text = e["text"].as_str().unwrap();
                let ids: Vec<u32> = e["ids"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect();
                assert_eq!(bpe.encode(text), ids, "{name}: {text:?}");
                assert_eq!(bpe.decode(&ids), text.as_bytes(), "{name}: decoding {text:?}");
            }
            assert_eq!(Bpe::from_merges(want).unwrap(), bpe, "{name}: rebuilt from its merges");
        }
    }

    /// Keeping the counts up to date learns what recounting learns, merge for merge, on real text in
    /// English and 中文 (runs of one byte, "aaaa", exercise overlapping pairs), to the last merge.
    #[test]
    fn incremental_counts_learn_what_recounting_learns() {
        let english: Vec<&str> = include_str!("../../../www/corpora/shakespeare.txt").lines().take(1500).collect();
        let tang: Vec<&str> = include_str!("../../../www/corpora/tang300.txt").lines().take(400).collect();
        let runs = ["aaaa aaa aaaaa", "abababab aaaa", "zzzzzzzz zz"];
        for (name, lines, wanted) in [("english", english, 400), ("tang", tang, 300), ("runs", runs.to_vec(), 100)] {
            let chunks = distinct_chunks(lines.iter().copied());
            let mut steps = 0;
            let fast = learn(chunks.clone(), wanted, &mut |d, _| steps = d);
            let slow = learn_by_recounting(chunks, wanted);
            assert_eq!(fast, slow, "{name}");
            assert_eq!(steps, slow.0.len(), "{name}: progress");
            assert!(name == "runs" || slow.0.len() == wanted, "{name}: {} merges", slow.0.len());
        }
    }

    #[test]
    fn a_character_never_seen_falls_back_to_its_bytes() {
        let bpe = Bpe::train(["low lower lowest", "low low"], 300, |_, _| {});
        let ids = bpe.encode("low 🦀");
        assert!(ids.iter().all(|&id| (id as usize) < bpe.len()));
        assert_eq!(bpe.decode(&ids), "low 🦀".as_bytes());
        assert!(ids.ends_with(&[0xa6, 0x80]), "the crab's last bytes, one token each: {ids:?}");
    }

    #[test]
    fn token_names_are_text_or_escaped_bytes_and_never_collide() {
        assert_eq!(token_string(" the".as_bytes()), " the");
        assert_eq!(token_string(&"中".as_bytes()[..2]), "\\xE4\\xB8");
        assert_eq!(token_string(&"a中".as_bytes()[..2]), "a\\xE4");
        assert_eq!(token_string(b"\\xE4"), "\\\\xE4", "the text \\xE4 is not the byte E4");
        let bpe = Bpe::train(["中文中文 中国", "\\x \\x"], 400, |_, _| {});
        let names: std::collections::HashSet<&str> = (0..bpe.len() as u32).map(|i| bpe.token_str(i)).collect();
        assert_eq!(names.len(), bpe.len());
        assert_eq!(bpe.count(0), Some(3), "中 occurs three times: a pair of its bytes is merged first");
    }

    #[test]
    fn encoding_with_the_first_k_merges() {
        let bpe = Bpe::train(["low lower lowest"], 300, |_, _| {});
        assert_eq!(bpe.encode_with("low", 0), [108, 111, 119]);
        assert_eq!(bpe.encode_with("low", bpe.merges().len()), bpe.encode("low"));
        assert_eq!(bpe.encode("low").len(), 1);
    }

    #[test]
    fn merges_out_of_order_are_refused() {
        assert!(Bpe::from_merges(vec![(97, 256)]).is_none(), "a merge of an id not yet made");
        assert!(Bpe::from_merges(vec![(97, 98), (97, 98)]).is_none(), "the same pair twice");
        assert_eq!(Bpe::from_merges(vec![(97, 98), (256, 99)]).unwrap().token_bytes(257), b"abc");
    }
}
