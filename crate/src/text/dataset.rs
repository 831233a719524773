//! From raw text to the token streams models train and are evaluated on.
//!
//! The text is cut into *units* (lines or sentences, see [`Boundary`]), the units are split into
//! training and validation sets with a seeded shuffle (or the last ones held out; or, with
//! [`SplitUnit::Token`], the last share of the *tokens*, cutting one unit in two, as nanoGPT cuts its
//! characters), the vocabulary is built on the training units only, and each split becomes one
//! boundary-marked stream of ids:
//! `<s> w w w </s> <s> w w </s> ...` (or `<s> w w w ...` with no boundaries).

use super::bpe::Bpe;
use super::tokenizer::{Tokenizer, TokenizerKind};
use super::vocab::{TokenId, Vocab, BOS, EOS, UNK};
use crate::rng::Rng;
use crate::{Error, Result};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use unicode_segmentation::UnicodeSegmentation;

/// Where `<s>` and `</s>` go.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Boundary {
    /// Every non-empty line is a sentence: `<s> line </s>`. Blank lines are dropped.
    #[default]
    Line,
    /// Every line is further cut into Unicode (UAX #29) sentences, each `<s> ... </s>`.
    Sentence,
    /// No sentence markers: each split is one stream opened by a single `<s>`. With the char
    /// tokenizer, the newline is an ordinary token `"\n"`.
    None,
}

/// How units are divided between training and validation.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum SplitKind {
    /// A seeded random choice of units goes to validation.
    #[default]
    Random,
    /// The last units go to validation (like nanoGPT), independent of the seed; also spelled
    /// `contiguous`.
    #[serde(alias = "contiguous")]
    Tail,
}

/// What the validation share counts: whole units, or tokens (a contiguous split only).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum SplitUnit {
    /// The share of the units (lines or sentences) goes to validation, each unit whole.
    #[default]
    Unit,
    /// The last share of the tokens goes to validation: training takes the first
    /// ⌊n·(1 − valid_fraction)⌋ of the n tokens, the unit holding the cut is cut in two. With the
    /// char tokenizer and no boundaries these are nanoGPT's `data[:int(n*0.9)]` / `data[int(n*0.9):]`.
    Token,
}

impl SplitUnit {
    fn is_unit(&self) -> bool {
        *self == SplitUnit::Unit
    }
}

/// Tokenization, boundaries, vocabulary and split. Defaults are those of the page.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(default)]
pub struct DataConfig {
    pub tokenizer: Tokenizer,
    pub boundary: Boundary,
    /// Training tokens seen fewer times than this become `[UNK]`.
    pub min_count: u64,
    /// Largest vocabulary, the three specials included (0 = no limit).
    pub max_vocab: usize,
    /// Share of units held out for validation.
    pub valid_fraction: f64,
    pub split: SplitKind,
    /// What `valid_fraction` counts (left out of the JSON when it is the default, units).
    #[serde(skip_serializing_if = "SplitUnit::is_unit")]
    pub split_unit: SplitUnit,
    /// The BPE tokenizer's vocabulary size: its 256 bytes and up to `bpe_vocab − 256` merges learned
    /// on the training text (the three specials come on top). Left out of the JSON at its default.
    #[serde(skip_serializing_if = "is_default_bpe_vocab")]
    pub bpe_vocab: usize,
}

const DEFAULT_BPE_VOCAB: usize = 512;
fn is_default_bpe_vocab(v: &usize) -> bool {
    *v == DEFAULT_BPE_VOCAB
}

/// The BPE vocabulary sizes the page and the CLI accept (www/lib/settings.js checks the same range).
pub const BPE_VOCAB: std::ops::RangeInclusive<usize> = 256..=8192;

impl Default for DataConfig {
    fn default() -> Self {
        DataConfig {
            tokenizer: Tokenizer::default(),
            boundary: Boundary::Line,
            min_count: 1,
            max_vocab: 0,
            valid_fraction: 0.1,
            split: SplitKind::Random,
            split_unit: SplitUnit::Unit,
            bpe_vocab: DEFAULT_BPE_VOCAB,
        }
    }
}

impl DataConfig {
    pub fn validate(&self) -> Result<()> {
        if !(self.valid_fraction > 0.0 && self.valid_fraction < 1.0) {
            return Err(Error::setting("valid-share", format!(
                "the validation share must be between 0 and 1 (got {})",
                self.valid_fraction
            ))
            .with("got", self.valid_fraction));
        }
        if self.split_unit == SplitUnit::Token && self.split != SplitKind::Tail {
            return Err(Error::setting("split-unit", "a split by tokens is contiguous: use it with the tail (contiguous) split"));
        }
        if self.tokenizer.kind == TokenizerKind::Bpe {
            if !BPE_VOCAB.contains(&self.bpe_vocab) {
                return Err(Error::setting("bpe-vocab", format!(
                    "the BPE vocabulary size must be between {} (the bytes) and {} (got {})",
                    BPE_VOCAB.start(), BPE_VOCAB.end(), self.bpe_vocab
                ))
                .with("min", *BPE_VOCAB.start())
                .with("max", *BPE_VOCAB.end())
                .with("got", self.bpe_vocab));
            }
            if self.min_count > 1 || self.max_vocab != 0 {
                return Err(Error::setting("bpe-knobs", "a BPE vocabulary holds every byte and every merge, so nothing is [UNK]: min count and max vocabulary do not apply (set the BPE vocabulary size instead)"));
            }
        }
        if self.max_vocab != 0 && self.max_vocab < 3 {
            return Err(Error::setting("max-vocab", "the vocabulary must allow at least [UNK], <s> and </s> (max size ≥ 3)"));
        }
        Ok(())
    }
}

/// Counts shown next to a trained model.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct DataStats {
    pub vocab_size: usize,
    /// `Vocab::fingerprint`: perplexities are comparable only between equal fingerprints.
    pub vocab_fingerprint: String,
    pub train_units: usize,
    pub valid_units: usize,
    /// Predicted tokens (everything but `<s>`) in each split.
    pub train_tokens: usize,
    pub valid_tokens: usize,
    /// Training tokens that became `[UNK]` because of min-count / max-size.
    pub train_unk_tokens: usize,
    /// Validation tokens outside the vocabulary.
    pub valid_oov_tokens: usize,
    /// Characters of the text each split covers, one line break counted per unit (its `</s>` or its
    /// newline token): bits per character divide by this, which no tokenizer changes.
    #[serde(default)]
    pub train_chars: usize,
    #[serde(default)]
    pub valid_chars: usize,
}

/// A tokenized corpus, ready for every model.
#[derive(Clone, Debug)]
pub struct Dataset {
    pub config: DataConfig,
    pub vocab: Vocab,
    /// Boundary-marked id streams.
    pub train: Vec<TokenId>,
    pub valid: Vec<TokenId>,
    pub stats: DataStats,
}

/// Units of text as provisional ids, before the vocabulary exists.
struct Units {
    ids: Vec<u32>,
    /// Unit i is `ids[starts[i]..starts[i + 1]]`.
    starts: Vec<usize>,
    /// Unit i covers `chars[i]` characters of the text, its line break included.
    chars: Vec<usize>,
}

impl Units {
    fn len(&self) -> usize {
        self.starts.len() - 1
    }
    fn unit(&self, i: usize) -> &[u32] {
        &self.ids[self.starts[i]..self.starts[i + 1]]
    }
}

/// A piece of text that becomes a unit, and whether its line break is a token of its own.
pub(crate) type Piece<'t> = (&'t str, bool);

/// The text cut into lines or sentences (see [`Boundary`]).
pub(crate) fn pieces<'t>(text: &'t str, cfg: &DataConfig) -> Vec<Piece<'t>> {
    let mut out = Vec::new();
    for line in text.lines() {
        match cfg.boundary {
            Boundary::Line => out.push((line, false)),
            Boundary::Sentence => out.extend(line.unicode_sentences().map(|s| (s, false))),
            Boundary::None => out.push((line, cfg.tokenizer.keeps_newlines())),
        }
    }
    out
}

/// The pieces as units of provisional ids (`bpe`: the merges, for the BPE tokenizer); pieces with
/// no token are dropped.
fn cut_units(pieces: &[Piece], cfg: &DataConfig, bpe: Option<&Bpe>, types: &mut Vec<String>, index: &mut FxHashMap<String, u32>) -> Units {
    let mut units = Units { ids: Vec::new(), starts: vec![0], chars: Vec::new() };
    let mut push_unit = |units: &mut Units, piece: &str, newline: bool| {
        let before = units.ids.len();
        let mut emit = |tok: &str| {
            let id = match index.get(tok) {
                Some(&id) => id,
                None => {
                    let id = types.len() as u32;
                    types.push(tok.to_string());
                    index.insert(tok.to_string(), id);
                    id
                }
            };
            units.ids.push(id);
        };
        cfg.tokenizer.split(bpe, piece, &mut emit);
        if newline {
            emit("\n");
        }
        if units.ids.len() > before {
            units.starts.push(units.ids.len());
            units.chars.push(piece.chars().count() + 1);
        }
    };
    for &(piece, newline) in pieces {
        push_unit(&mut units, piece, newline);
    }
    units
}

fn empty_corpus() -> Error {
    Error::new("empty-corpus", "The corpus is empty: paste some text, drop a .txt file or pick a preset.")
}

/// Which of `n` units validate: a seeded random share, or the last ones.
fn choose_valid(n: usize, cfg: &DataConfig, seed: u64) -> Result<Vec<bool>> {
    if n == 0 {
        return Err(empty_corpus());
    }
    if n < 2 {
        return Err(Error::new(
            "corpus-too-small",
            "The corpus has only one line or sentence, but validation needs at least one more. Add text, or cut it into sentences.",
        ));
    }
    let n_valid = ((n as f64 * cfg.valid_fraction).round() as usize).clamp(1, n - 1);
    let mut is_valid = vec![false; n];
    match cfg.split {
        SplitKind::Random => {
            let mut order: Vec<usize> = (0..n).collect();
            Rng::derive(seed, "split").shuffle(&mut order);
            order[..n_valid].iter().for_each(|&i| is_valid[i] = true);
        }
        SplitKind::Tail => is_valid[n - n_valid..].iter_mut().for_each(|v| *v = true),
    }
    Ok(is_valid)
}

/// The lines BPE learns its merges from (lowercased if asked: as they are tokenized).
fn bpe_lines<'t>(pieces: &[Piece<'t>], cfg: &DataConfig) -> Vec<std::borrow::Cow<'t, str>> {
    pieces.iter().map(|&(p, _)| if cfg.tokenizer.lowercase { p.to_lowercase().into() } else { p.into() }).collect()
}

/// The boundary-marked id stream of the chosen units (see the module comment).
fn to_stream(units: &Units, idx: &[usize], map: &[TokenId], bounded: bool) -> Vec<TokenId> {
    let mut out = Vec::with_capacity(units.starts[units.len()] + 2 * idx.len() + 1);
    if !bounded {
        out.push(BOS);
    }
    for &i in idx {
        if bounded {
            out.push(BOS);
        }
        out.extend(units.unit(i).iter().map(|&t| map[t as usize]));
        if bounded {
            out.push(EOS);
        }
    }
    out
}

impl Dataset {
    /// Cuts one corpus into training and validation units (seeded) and tokenizes both.
    pub fn from_corpus(text: &str, cfg: &DataConfig, seed: u64) -> Result<Dataset> {
        Self::from_corpus_with(text, cfg, seed, &mut |_, _| {})
    }

    /// The same, reporting `progress(merges done, merges wanted)` while BPE learns its merges.
    pub fn from_corpus_with(text: &str, cfg: &DataConfig, seed: u64, progress: &mut dyn FnMut(usize, usize)) -> Result<Dataset> {
        cfg.validate()?;
        let pieces = pieces(text, cfg);
        if cfg.tokenizer.kind == TokenizerKind::Bpe {
            return Self::from_corpus_bpe(pieces, cfg, seed, progress);
        }
        let (mut types, mut index) = (Vec::new(), FxHashMap::default());
        let mut units = cut_units(&pieces, cfg, None, &mut types, &mut index);
        if cfg.split_unit == SplitUnit::Token {
            return Self::split_tokens(cfg, &types, &mut units);
        }
        let n = units.len();
        let is_valid = choose_valid(n, cfg, seed)?;
        let train: Vec<usize> = (0..n).filter(|&i| !is_valid[i]).collect();
        let valid: Vec<usize> = (0..n).filter(|&i| is_valid[i]).collect();
        Ok(Self::assemble(cfg, &types, &units, &train, &units, &valid, None))
    }

    /// BPE learns its merges on the training pieces only, so the split comes first: by units as
    /// for the other tokenizers, or, for a split by tokens, by characters (the tokens are not known
    /// before the merges are): the first ⌊n·(1 − f)⌋ of the n characters train.
    fn from_corpus_bpe(mut pieces: Vec<Piece>, cfg: &DataConfig, seed: u64, progress: &mut dyn FnMut(usize, usize)) -> Result<Dataset> {
        pieces.retain(|&(p, newline)| !p.is_empty() || newline); // a BPE unit is never empty otherwise
        let mut cut_inside = false;
        let (train, valid): (Vec<Piece>, Vec<Piece>) = if cfg.split_unit == SplitUnit::Token {
            let len = |&(p, nl): &Piece| p.chars().count() + nl as usize;
            let total: usize = pieces.iter().map(len).sum();
            if total == 0 {
                return Err(empty_corpus());
            }
            if total < 2 {
                return Err(Error::new("corpus-too-small", "The corpus has only one character, but validation needs at least one more. Add text."));
            }
            let cut = ((total as f64 * (1.0 - cfg.valid_fraction)).floor() as usize).clamp(1, total - 1);
            let (mut seen, mut k) = (0, 0);
            while seen + len(&pieces[k]) <= cut {
                seen += len(&pieces[k]);
                k += 1;
            }
            let mut valid = pieces.split_off(k);
            if seen < cut {
                // The piece holding the cut becomes two: its head trains, its tail validates.
                let (p, nl) = valid[0];
                let at = p.char_indices().nth(cut - seen).map_or(p.len(), |(i, _)| i);
                pieces.push((&p[..at], false));
                valid[0] = (&p[at..], nl);
                cut_inside = true;
            }
            (pieces, valid)
        } else {
            let is_valid = choose_valid(pieces.len(), cfg, seed)?;
            let (mut train, mut valid) = (Vec::new(), Vec::new());
            for (piece, v) in pieces.into_iter().zip(is_valid) {
                if v { valid.push(piece) } else { train.push(piece) }
            }
            (train, valid)
        };
        let lines = bpe_lines(&train, cfg);
        let bpe = Bpe::train(lines.iter().map(|l| l.as_ref()), cfg.bpe_vocab, progress);
        let (mut types, mut index) = (Vec::new(), FxHashMap::default());
        let mut tr = cut_units(&train, cfg, Some(&bpe), &mut types, &mut index);
        let va = cut_units(&valid, cfg, Some(&bpe), &mut types, &mut index);
        if cut_inside && cfg.boundary == Boundary::None {
            *tr.chars.last_mut().expect("a training unit") -= 1; // the head of a cut line has no line break
        }
        let vocab = Vocab::from_bpe(bpe, cfg.boundary != Boundary::None);
        Ok(Self::assemble(cfg, &types, &tr, &(0..tr.len()).collect::<Vec<_>>(), &va, &(0..va.len()).collect::<Vec<_>>(), Some(vocab)))
    }

    /// The contiguous split by tokens ([`SplitUnit::Token`]): the first ⌊n·(1 − f)⌋ tokens train.
    fn split_tokens(cfg: &DataConfig, types: &[String], units: &mut Units) -> Result<Dataset> {
        let total = units.ids.len();
        if total == 0 {
            return Err(empty_corpus());
        }
        if total < 2 {
            return Err(Error::new("corpus-too-small", "The corpus has only one token, but validation needs at least one more. Add text."));
        }
        let cut = ((total as f64 * (1.0 - cfg.valid_fraction)).floor() as usize).clamp(1, total - 1);
        // The unit holding the cut becomes two: its head trains, its tail validates.
        let k = units.starts.partition_point(|&s| s < cut);
        if units.starts[k] != cut {
            // Its characters are shared in proportion to its tokens (exact for characters).
            let (start, end) = (units.starts[k - 1], units.starts[k]);
            let c = units.chars[k - 1];
            let head = (c as f64 * (cut - start) as f64 / (end - start) as f64).round() as usize;
            units.chars[k - 1] = head;
            units.chars.insert(k, c - head);
            units.starts.insert(k, cut);
        }
        let train: Vec<usize> = (0..k).collect();
        let valid: Vec<usize> = (k..units.len()).collect();
        Ok(Self::assemble(cfg, types, units, &train, units, &valid, None))
    }

    /// Uses a given training text and test text (no split): the CLI's `--train a --test b`.
    pub fn from_split(train_text: &str, valid_text: &str, cfg: &DataConfig) -> Result<Dataset> {
        cfg.validate()?;
        let (train_pieces, valid_pieces) = (pieces(train_text, cfg), pieces(valid_text, cfg));
        let bpe = (cfg.tokenizer.kind == TokenizerKind::Bpe).then(|| {
            let lines = bpe_lines(&train_pieces, cfg);
            Bpe::train(lines.iter().map(|l| l.as_ref()), cfg.bpe_vocab, |_, _| {})
        });
        let (mut types, mut index) = (Vec::new(), FxHashMap::default());
        let tr = cut_units(&train_pieces, cfg, bpe.as_ref(), &mut types, &mut index);
        let va = cut_units(&valid_pieces, cfg, bpe.as_ref(), &mut types, &mut index);
        if tr.len() == 0 {
            return Err(Error::new("empty-corpus", "The training text is empty."));
        }
        if va.len() == 0 {
            return Err(Error::new("empty-corpus", "The test text is empty."));
        }
        let tr_idx: Vec<usize> = (0..tr.len()).collect();
        let va_idx: Vec<usize> = (0..va.len()).collect();
        let vocab = bpe.map(|b| Vocab::from_bpe(b, cfg.boundary != Boundary::None));
        Ok(Self::assemble(cfg, &types, &tr, &tr_idx, &va, &va_idx, vocab))
    }

    /// `types` maps provisional ids (shared by both unit sets) to strings. The vocabulary is built
    /// from the training counts unless one is given (BPE's).
    fn assemble(cfg: &DataConfig, types: &[String], tr: &Units, tr_idx: &[usize], va: &Units, va_idx: &[usize], vocab: Option<Vocab>) -> Dataset {
        let bounded = cfg.boundary != Boundary::None;
        let vocab = vocab.unwrap_or_else(|| {
            let mut counts = vec![0u64; types.len()];
            for &i in tr_idx {
                tr.unit(i).iter().for_each(|&t| counts[t as usize] += 1);
            }
            Vocab::from_counts(types.iter().zip(&counts).map(|(s, &c)| (s.as_str(), c)), cfg.min_count, cfg.max_vocab, bounded)
        });
        let map: Vec<TokenId> = types.iter().map(|s| vocab.id(s)).collect();
        let stream = |units: &Units, idx: &[usize]| to_stream(units, idx, &map, bounded);
        let train = stream(tr, tr_idx);
        let valid = stream(va, va_idx);
        let predicted = |s: &[TokenId]| s.iter().filter(|&&t| t != BOS).count();
        let unk = |s: &[TokenId]| s.iter().filter(|&&t| t == UNK).count();
        let stats = DataStats {
            vocab_size: vocab.len(),
            vocab_fingerprint: vocab.fingerprint(),
            train_units: tr_idx.len(),
            valid_units: va_idx.len(),
            train_tokens: predicted(&train),
            valid_tokens: predicted(&valid),
            train_unk_tokens: unk(&train),
            valid_oov_tokens: unk(&valid),
            train_chars: tr_idx.iter().map(|&i| tr.chars[i]).sum(),
            valid_chars: va_idx.iter().map(|&i| va.chars[i]).sum(),
        };
        Dataset { config: cfg.clone(), vocab, train, valid, stats }
    }

    /// A dataset without text for a model that brings its own vocabulary (an ARPA file).
    pub fn empty(cfg: &DataConfig, vocab: Vocab) -> Dataset {
        let stats = DataStats { vocab_size: vocab.len(), vocab_fingerprint: vocab.fingerprint(), ..DataStats::default() };
        Dataset { config: cfg.clone(), vocab, train: Vec::new(), valid: Vec::new(), stats }
    }

    /// Replaces the validation split by a text, encoded with this dataset's settings and vocabulary.
    pub fn set_valid(&mut self, text: &str) {
        let (valid, chars) = Self::encode_units(&self.config, &self.vocab, text);
        self.valid = valid;
        self.stats.valid_chars = chars;
        self.stats.valid_units = self.valid.iter().filter(|&&t| t == BOS).count();
        self.stats.valid_tokens = self.valid.iter().filter(|&&t| t != BOS).count();
        self.stats.valid_oov_tokens = self.valid.iter().filter(|&&t| t == UNK).count();
    }

    /// Encodes a whole text the way validation text is encoded: a boundary-marked stream.
    pub fn encode_text(cfg: &DataConfig, vocab: &Vocab, text: &str) -> Vec<TokenId> {
        Self::encode_units(cfg, vocab, text).0
    }

    /// The stream and the characters it covers.
    fn encode_units(cfg: &DataConfig, vocab: &Vocab, text: &str) -> (Vec<TokenId>, usize) {
        let (mut types, mut index) = (Vec::new(), FxHashMap::default());
        let units = cut_units(&pieces(text, cfg), cfg, vocab.bpe(), &mut types, &mut index);
        let map: Vec<TokenId> = types.iter().map(|s| vocab.id(s)).collect();
        let idx: Vec<usize> = (0..units.len()).collect();
        (to_stream(&units, &idx, &map, cfg.boundary != Boundary::None), units.chars.iter().sum())
    }

    /// Encodes a prompt for generation: its lines become closed sentences, the last one stays open.
    /// The result starts with `<s>` and never ends with `</s>`.
    pub fn encode_prompt(cfg: &DataConfig, vocab: &Vocab, prompt: &str) -> Vec<TokenId> {
        let mut out = vec![BOS];
        let lines: Vec<&str> = prompt.split('\n').collect();
        for (i, line) in lines.iter().enumerate() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            cfg.tokenizer.split(vocab.bpe(), line, |t| out.push(vocab.id(t)));
            let last = i + 1 == lines.len();
            if !last {
                if vocab.predicts_eos() {
                    if out.last() != Some(&BOS) {
                        out.push(EOS);
                        out.push(BOS);
                    }
                } else if cfg.tokenizer.keeps_newlines() {
                    out.push(vocab.id("\n"));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use super::*;
    use crate::text::vocab::{EOS_STR, UNK_STR};

    fn cfg(kind: TokenizerKind) -> DataConfig {
        DataConfig { tokenizer: Tokenizer::new(kind, false), ..DataConfig::default() }
    }

    fn decode(v: &Vocab, s: &[TokenId]) -> Vec<String> {
        s.iter().map(|&t| v.token(t).to_string()).collect()
    }

    #[test]
    fn explicit_split_marks_boundaries_and_unk() {
        let d = Dataset::from_split("a b\n\nb c\n", "a d\n", &cfg(TokenizerKind::Whitespace)).unwrap();
        assert_eq!(decode(&d.vocab, &d.train), ["<s>", "a", "b", "</s>", "<s>", "b", "c", "</s>"]);
        assert_eq!(d.vocab.tokens()[3..], ["b", "a", "c"]);
        assert_eq!(decode(&d.vocab, &d.valid), ["<s>", "a", UNK_STR, EOS_STR]);
        assert_eq!(d.stats.train_tokens, 6);
        assert_eq!(d.stats.valid_tokens, 3);
        assert_eq!(d.stats.valid_oov_tokens, 1);
        assert_eq!(d.stats.vocab_size, 6);
    }

    #[test]
    fn split_is_seeded_and_disjoint() {
        let text: String = (0..100).map(|i| format!("line {i}\n")).collect();
        let c = cfg(TokenizerKind::Whitespace);
        let a = Dataset::from_corpus(&text, &c, 1).unwrap();
        let b = Dataset::from_corpus(&text, &c, 1).unwrap();
        let other = Dataset::from_corpus(&text, &c, 2).unwrap();
        assert_eq!(a.train, b.train);
        assert_eq!(a.valid, b.valid);
        // Held-out numbers are missing from the training vocabulary, so the vocabularies differ.
        assert_ne!(a.vocab, other.vocab);
        assert_eq!(a.stats.valid_oov_tokens, 10);
        assert_eq!((a.stats.train_units, a.stats.valid_units), (90, 10));
    }

    #[test]
    fn tail_split_takes_the_end() {
        let c = DataConfig { split: SplitKind::Tail, valid_fraction: 0.5, ..cfg(TokenizerKind::Whitespace) };
        let d = Dataset::from_corpus("a\nb\nc\nd\n", &c, 0).unwrap();
        assert_eq!(decode(&d.vocab, &d.train), ["<s>", "a", "</s>", "<s>", "b", "</s>"]);
    }

    /// nanoGPT's split: the first ⌊0.9·n⌋ characters train, the rest validate, the cut inside a line.
    #[test]
    fn a_token_split_cuts_the_tokens_where_nanogpt_cuts_its_characters() {
        let text = "abcd\nefgh\nab\n"; // 13 characters
        let c = DataConfig { boundary: Boundary::None, split: SplitKind::Tail, split_unit: SplitUnit::Token, valid_fraction: 0.25, ..cfg(TokenizerKind::Char) };
        let d = Dataset::from_corpus(text, &c, 0).unwrap();
        let cut = (13.0f64 * 0.75).floor() as usize; // 9: "abcd\nefgh" | "\nab\n"
        let chars: Vec<String> = text.chars().map(String::from).collect();
        assert_eq!(decode(&d.vocab, &d.train)[1..], chars[..cut]);
        assert_eq!(decode(&d.vocab, &d.valid)[1..], chars[cut..]);
        assert_eq!((d.stats.train_tokens, d.stats.valid_tokens), (9, 4));
        // With line boundaries the cut line becomes two sentences; units still split whole lines.
        let lines = DataConfig { boundary: Boundary::Line, split_unit: SplitUnit::Token, ..c.clone() };
        let d = Dataset::from_corpus("a b c d\ne f\n", &DataConfig { tokenizer: Tokenizer::new(TokenizerKind::Whitespace, false), ..lines }, 0).unwrap();
        assert_eq!(decode(&d.vocab, &d.train), ["<s>", "a", "b", "c", "d", "</s>"]);
        assert_eq!((d.stats.valid_units, d.stats.valid_tokens), (1, 3)); // <s> e f </s> (e, f unseen: [UNK])
        let d = Dataset::from_corpus("a b c d e f g h\n", &DataConfig { tokenizer: Tokenizer::new(TokenizerKind::Whitespace, false), boundary: Boundary::Line, ..c.clone() }, 0).unwrap();
        assert_eq!(decode(&d.vocab, &d.train), ["<s>", "a", "b", "c", "d", "e", "f", "</s>"]);
        assert_eq!(d.stats.valid_tokens, 3); // g h </s>
        // Only contiguous; the JSON leaves the default out, so old settings read the same.
        assert_eq!(Dataset::from_corpus(text, &DataConfig { split: SplitKind::Random, ..c.clone() }, 0).unwrap_err().code, "invalid-config");
        assert!(!serde_json::to_string(&DataConfig::default()).unwrap().contains("split_unit"));
        let back: DataConfig = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn empty_and_single_line_corpora_are_clear_errors() {
        let c = cfg(TokenizerKind::Word);
        assert_eq!(Dataset::from_corpus("  \n\n ", &c, 0).unwrap_err().code, "empty-corpus");
        assert_eq!(Dataset::from_corpus("just one line", &c, 0).unwrap_err().code, "corpus-too-small");
        let s = DataConfig { boundary: Boundary::Sentence, ..c };
        assert!(Dataset::from_corpus("One. Two. Three.", &s, 0).is_ok());
    }

    #[test]
    fn no_boundaries_char_level_keeps_newlines() {
        let c = DataConfig { boundary: Boundary::None, split: SplitKind::Tail, valid_fraction: 0.34, ..cfg(TokenizerKind::Char) };
        let d = Dataset::from_corpus("ab\n\ncd\n", &c, 0).unwrap();
        assert_eq!(decode(&d.vocab, &d.train), ["<s>", "a", "b", "\n", "\n"]);
        assert!(!d.vocab.predicts_eos());
    }

    #[test]
    fn prompt_encoding() {
        let d = Dataset::from_split("a b\n", "a\n", &cfg(TokenizerKind::Whitespace)).unwrap();
        let p = Dataset::encode_prompt(&d.config, &d.vocab, "a\nb zz");
        assert_eq!(decode(&d.vocab, &p), ["<s>", "a", "</s>", "<s>", "b", UNK_STR]);
        assert_eq!(decode(&d.vocab, &Dataset::encode_prompt(&d.config, &d.vocab, "")), ["<s>"]);
    }
}
