//! ARPA files: the standard text format of backoff n-gram models (KenLM, SRILM, IRSTLM).
//!
//! ```text
//! \data\
//! ngram 1=N1
//! ngram 2=N2
//!
//! \1-grams:
//! log10 P(w)   w   [log10 backoff(w)]
//! \2-grams:
//! log10 P(w2 | w1)   w1 w2   [log10 backoff(w1 w2)]
//! \end\
//! ```
//!
//! P(w | h) = P(h w) if the n-gram h w is listed, else backoff(h) · P(w | h'), h' dropping h's oldest
//! word (a missing backoff is log10 1 = 0). Writing: every backoff-structured estimator's
//! [`BackoffTable`] is exactly this; `[UNK]` is written `<unk>`, `<s>` gets log10 probability 0 as
//! in KenLM (it is never predicted), a probability of 0 is written -99, and every n-gram below the
//! highest order gets a backoff column (0 when it is not a context). Numbers are written with the
//! shortest decimal that reads back to the same `f64`, so a round trip is exact.
//!
//! Reading: any text before `\data\` is ignored (KenLM wants it to start with `#`); `<unk>` becomes
//! `[UNK]`, and a file without `<unk>` gives it log10 probability -100, as KenLM's `query` does;
//! -99 or less reads as probability 0.
//! Errors name the line.

use super::smoothing::table::{finish_backoff, BackoffTable};
use super::smoothing::{Trace, TraceKind};
use super::trie::{key, CtxId, Trie, TrieBuilder, ROOT};
use crate::lm::{LanguageModel, ModelInfo, TokenStream};
use crate::ngram::explain::{self, Explanation, Level};
use crate::text::{TokenId, Vocab, BOS, UNK};
use crate::{Error, Result};
use std::fmt::Write as _;

/// How `<unk>` is spelled in ARPA files.
pub const ARPA_UNK: &str = "<unk>";
/// log10 P(`<unk>`) when a file has no `<unk>` (KenLM's substitute).
pub const MISSING_UNK_LOG10: f64 = -100.0;
/// log10 of a probability of 0 (SRILM's convention); this or less reads back as 0.
pub const LOG10_ZERO: f64 = -99.0;

/// 10^x, with SRILM's -99 for log10 0 read as 0.
fn exp10(x: f64) -> f64 {
    if x <= LOG10_ZERO {
        0.0
    } else {
        10f64.powf(x)
    }
}

fn log10(p: f64) -> f64 {
    if p > 0.0 {
        p.log10()
    } else {
        LOG10_ZERO
    }
}

fn arpa_word(vocab: &Vocab, id: TokenId) -> &str {
    if id == UNK {
        ARPA_UNK
    } else {
        vocab.token(id)
    }
}

/// Writes a backoff model as an ARPA file. `header` becomes `#` comment lines before `\data\`.
pub fn write(trie: &Trie, table: &BackoffTable, vocab: &Vocab, header: &str) -> String {
    let n = trie.order;
    let mut by_order: Vec<Vec<CtxId>> = vec![Vec::new(); n + 1];
    for ctx in 1..trie.num_contexts() as CtxId {
        if !trie.range(ctx).is_empty() {
            by_order[trie.depth(ctx) + 1].push(ctx);
        }
    }
    let mut out = String::with_capacity(64 * trie.num_entries() + 1024);
    for line in header.lines() {
        let _ = writeln!(out, "# {line}");
    }
    if !header.is_empty() {
        out.push('\n');
    }
    out.push_str("\\data\\\n");
    let _ = writeln!(out, "ngram 1={}", vocab.len());
    for (k, ctxs) in by_order.iter().enumerate().skip(2) {
        let _ = writeln!(out, "ngram {k}={}", ctxs.iter().map(|&c| trie.range(c).len()).sum::<usize>());
    }
    // The backoff of each n-gram is the weight of the context with exactly its tokens. Context
    // X = t1 … td is the n-gram (t1 … t(d−1), td): its prefix node is t1 + prefix(t2 … td), found
    // with one probe per node since parents come first.
    let mut prefix = vec![ROOT; trie.num_contexts()];
    let mut newest = vec![0 as TokenId; trie.num_contexts()];
    let mut entry_bow = vec![0.0f64; trie.num_entries()];
    let mut unigram_bow = vec![0.0f64; vocab.len()];
    for x in 1..trie.num_contexts() as CtxId {
        let p = trie.parent(x);
        let (xi, pi) = (x as usize, p as usize);
        if p == ROOT {
            newest[xi] = trie.oldest(x);
            prefix[xi] = ROOT;
            if let Some(u) = unigram_bow.get_mut(newest[xi] as usize) {
                *u = log10(table.bow[xi]);
            }
            continue;
        }
        newest[xi] = newest[pi];
        let Some(pre) = trie.extend(prefix[pi], trie.oldest(x)) else { continue };
        prefix[xi] = pre;
        if let Some(e) = trie.find(pre, newest[xi]) {
            entry_bow[e] = log10(table.bow[xi]);
        }
    }
    let _ = write!(out, "\n\\1-grams:\n");
    for id in 0..vocab.len() as TokenId {
        // <s> is never predicted; KenLM writes log10 P(<s>) = 0.
        let p = if id == BOS { 0.0 } else { log10(table.unigram[id as usize]) };
        let _ = write!(out, "{p}\t{}", arpa_word(vocab, id));
        if n > 1 {
            let _ = write!(out, "\t{}", unigram_bow[id as usize]);
        }
        out.push('\n');
    }
    let words = trie.entry_words();
    for (k, ctxs) in by_order.iter().enumerate().skip(2) {
        let _ = write!(out, "\n\\{k}-grams:\n");
        for &ctx in ctxs {
            let tokens = trie.tokens(ctx);
            let prefix: Vec<&str> = tokens.iter().map(|&t| arpa_word(vocab, t)).collect();
            let prefix = prefix.join(" ");
            for e in trie.range(ctx) {
                let _ = write!(out, "{}\t{prefix} {}", log10(table.prob[e]), arpa_word(vocab, words[e]));
                if k < n {
                    let _ = write!(out, "\t{}", entry_bow[e]);
                }
                out.push('\n');
            }
        }
    }
    out.push_str("\n\\end\\\n");
    out
}

/// One n-gram line of an ARPA file.
#[derive(Clone, Debug, PartialEq)]
pub struct Gram<'a> {
    pub words: Vec<&'a str>,
    pub log10_prob: f64,
    pub log10_backoff: Option<f64>,
    pub line: usize,
}

/// An ARPA file's n-grams, by order (`orders[k - 1]` holds the k-grams).
#[derive(Clone, Debug, Default)]
pub struct ArpaFile<'a> {
    pub orders: Vec<Vec<Gram<'a>>>,
}

fn err(line: usize, msg: impl std::fmt::Display) -> Error {
    Error::new("arpa-parse", format!("ARPA line {line}: {msg}"))
}

fn number(s: &str, line: usize, what: &str) -> Result<f64> {
    match s.parse::<f64>() {
        Ok(x) if !x.is_nan() => Ok(x),
        _ => Err(err(line, format!("expected a {what} (a log10 number), found '{s}'"))),
    }
}

/// Parses the text of an ARPA file.
pub fn parse(text: &str) -> Result<ArpaFile<'_>> {
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim_end_matches('\r'))).peekable();
    let mut last = 0;
    // Preamble: anything up to \data\.
    loop {
        match lines.next() {
            Some((_, l)) if l.trim() == "\\data\\" => break,
            Some((i, _)) => last = i,
            None => return Err(err(last.max(1), "no \\data\\ line: this is not an ARPA file")),
        }
    }
    // Counts: "ngram k=N".
    let mut declared: Vec<(usize, usize)> = Vec::new(); // (count, line)
    while let Some(&(i, l)) = lines.peek() {
        let t = l.trim();
        if t.starts_with('\\') {
            break;
        }
        lines.next();
        last = i;
        if t.is_empty() {
            continue;
        }
        let rest = t.strip_prefix("ngram").ok_or_else(|| err(i, format!("expected 'ngram k=count', found '{t}'")))?;
        let (k, c) = rest.trim().split_once('=').ok_or_else(|| err(i, format!("expected 'ngram k=count', found '{t}'")))?;
        let k: usize = k.trim().parse().map_err(|_| err(i, format!("bad n-gram order '{}'", k.trim())))?;
        let c: usize = c.trim().parse().map_err(|_| err(i, format!("bad n-gram count '{}'", c.trim())))?;
        if k != declared.len() + 1 {
            return Err(err(i, format!("expected the count of {}-grams, found one for {k}-grams", declared.len() + 1)));
        }
        declared.push((c, i));
    }
    if declared.is_empty() {
        return Err(err(last + 1, "the \\data\\ section declares no n-gram counts"));
    }
    if declared.len() > super::MAX_ORDER {
        return Err(err(declared[super::MAX_ORDER].1, format!("orders above {} are not supported", super::MAX_ORDER)));
    }
    let mut file = ArpaFile::default();
    for (k0, &(count, decl_line)) in declared.iter().enumerate() {
        let k = k0 + 1;
        // Section header, after blank lines.
        let header = loop {
            match lines.next() {
                Some((i, l)) if l.trim().is_empty() => last = i,
                Some(h) => break h,
                None => return Err(err(last + 1, format!("the file ends before the \\{k}-grams: section"))),
            }
        };
        if header.1.trim() != format!("\\{k}-grams:") {
            return Err(err(header.0, format!("expected \\{k}-grams:, found '{}'", header.1.trim())));
        }
        last = header.0;
        // The declared count is untrusted: reserve no more than the text could hold (≥ 4 bytes a line).
        let mut grams = Vec::with_capacity(count.min(text.len() / 4));
        while let Some(&(i, l)) = lines.peek() {
            if l.trim_start().starts_with('\\') {
                break;
            }
            lines.next();
            last = i;
            let fields: Vec<&str> = l.split_whitespace().collect();
            if fields.is_empty() {
                continue;
            }
            if fields.len() != k + 1 && fields.len() != k + 2 {
                return Err(err(
                    i,
                    format!(
                        "a {k}-gram line needs a log10 probability, {k} word{} and an optional backoff weight; found {} fields",
                        if k == 1 { "" } else { "s" },
                        fields.len()
                    ),
                ));
            }
            let log10_prob = number(fields[0], i, "probability")?;
            let log10_backoff = if fields.len() == k + 2 { Some(number(fields[k + 1], i, "backoff weight")?) } else { None };
            grams.push(Gram { words: fields[1..=k].to_vec(), log10_prob, log10_backoff, line: i });
        }
        if grams.len() != count {
            return Err(err(
                last,
                format!("line {decl_line} declares {count} {k}-grams but the \\{k}-grams: section has {}", grams.len()),
            ));
        }
        file.orders.push(grams);
    }
    loop {
        match lines.next() {
            Some((_, l)) if l.trim() == "\\end\\" => break,
            Some((i, l)) if l.trim().is_empty() => last = i,
            Some((i, l)) => return Err(err(i, format!("expected \\end\\, found '{}'", l.trim()))),
            None => return Err(err(last + 1, "the file ends without \\end\\")),
        }
    }
    Ok(file)
}

/// A model read from an ARPA file: the same trie as counted models, with the file's numbers.
pub struct ArpaModel {
    vocab: Vocab,
    trie: Trie,
    table: BackoffTable,
    grams: usize,
}

impl ArpaModel {
    /// Reads an ARPA file.
    pub fn parse(text: &str) -> Result<ArpaModel> {
        let file = parse(text)?;
        let n = file.orders.len();
        let unigrams = &file.orders[0];
        let mut seen = rustc_hash::FxHashSet::default();
        for g in unigrams {
            if !seen.insert(g.words[0]) {
                return Err(err(g.line, format!("the unigram '{}' is listed twice", g.words[0])));
            }
        }
        let words = unigrams.iter().map(|g| g.words[0]).filter(|&w| w != ARPA_UNK && !crate::text::vocab::is_special(w));
        let vocab = Vocab::from_tokens(words.map(str::to_string), true);
        let id = |w: &str, line: usize| -> Result<TokenId> {
            if w == ARPA_UNK {
                return Ok(UNK);
            }
            match vocab.get(w) {
                Some(t) if seen.contains(w) => Ok(t),
                _ => Err(err(line, format!("'{w}' is not among the 1-grams"))),
            }
        };
        let mut unigram = vec![0.0; vocab.len()];
        unigram[UNK as usize] = 10f64.powf(MISSING_UNK_LOG10);
        let mut b = TrieBuilder::new(n);
        let mut bows: Vec<(CtxId, f64)> = Vec::new();
        let mut entries: Vec<(u64, f64, usize)> = Vec::new();
        let mut ids = Vec::with_capacity(n);
        for grams in &file.orders {
            for g in grams {
                ids.clear();
                for w in &g.words {
                    ids.push(id(w, g.line)?);
                }
                let (&w, ctx_ids) = ids.split_last().expect("k ≥ 1 words");
                let ctx = ctx_ids.iter().rev().fold(ROOT, |c, &t| b.child(c, t));
                let p = exp10(g.log10_prob);
                if ctx == ROOT {
                    unigram[w as usize] = if w == BOS { 0.0 } else { p };
                }
                if w != BOS {
                    entries.push((key(ctx, w), p, g.line));
                }
                if let (Some(bo), true) = (g.log10_backoff, ids.len() < n) {
                    let node = ids.iter().rev().fold(ROOT, |c, &t| b.child(c, t));
                    bows.push((node, exp10(bo)));
                }
            }
        }
        entries.sort_unstable_by_key(|e| e.0);
        if let Some(d) = entries.windows(2).find(|p| p[0].0 == p[1].0) {
            return Err(err(d[1].2, "this n-gram is listed twice"));
        }
        let mut bow = vec![1.0; b.num_nodes()];
        for (node, w) in bows {
            bow[node as usize] = w;
        }
        let prob = entries.iter().map(|e| e.1).collect();
        let grams = file.orders.iter().map(Vec::len).sum();
        let trie = b.finish(entries.iter().map(|e| e.0));
        Ok(ArpaModel { vocab, trie, table: BackoffTable { prob, bow, unigram }, grams })
    }

    pub fn order(&self) -> usize {
        self.trie.order
    }

    pub fn trie(&self) -> &Trie {
        &self.trie
    }

    pub fn table(&self) -> &BackoffTable {
        &self.table
    }

    /// P(w | history).
    pub fn prob(&self, history: &[TokenId], w: TokenId) -> f64 {
        if !self.vocab.is_predictable(w) {
            return 0.0;
        }
        let ctx = super::context(history, self.order());
        self.table.prob(&self.trie, &self.trie.chain(ctx), w)
    }

    /// The model written back as an ARPA file.
    pub fn to_arpa(&self) -> String {
        write(&self.trie, &self.table, &self.vocab, "")
    }

    /// The backoff trace of P(w | history) as the file stores it: the longest listed n-gram decides,
    /// weighted by the backoffs of the longer contexts.
    pub fn explain(&self, history: &[TokenId], w: TokenId) -> Explanation {
        let ctx = super::context(history, self.order());
        let chain = self.trie.chain(ctx);
        let strs = |ts: &[TokenId]| ts.iter().map(|&t| self.vocab.token(t).to_string()).collect::<Vec<_>>();
        let mut levels: Vec<Level> = (0..=ctx.len())
            .rev()
            .map(|depth| {
                let order = depth + 1;
                let context = strs(&ctx[ctx.len() - depth..]);
                let Some(&c) = chain.get(depth) else {
                    return Level { order, context, count_kind: "none", note: "context not in the file: skipped".into(), ..Level::default() };
                };
                let e = if c == ROOT { None } else { self.trie.find(c, w) };
                let p = if c == ROOT { self.table.unigram[w as usize] } else { e.map_or(0.0, |e| self.table.prob[e]) };
                Level {
                    order,
                    context,
                    count_kind: "none",
                    lower_weight: (c != ROOT).then(|| self.table.bow[c as usize]),
                    estimate: p,
                    seen: c == ROOT || e.is_some(),
                    ..Level::default()
                }
            })
            .collect();
        levels = finish_backoff(levels);
        let trace = Trace {
            levels,
            kind: TraceKind::Backoff,
            note: "An ARPA file stores one probability per listed n-gram and one backoff weight per context; how \
                   the numbers were estimated is not in the file."
                .into(),
        };
        let token = self.vocab.token(w).to_string();
        let probability = self.prob(history, w);
        let story = explain::story(trace.kind, &trace.levels, &token, probability);
        Explanation {
            method: "arpa".into(),
            kind: trace.kind,
            context: strs(ctx),
            token,
            probability,
            normalized: true,
            levels: trace.levels,
            summary: format!("{story} {}", trace.note),
        }
    }
}

impl LanguageModel for ArpaModel {
    fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    fn info(&self) -> ModelInfo {
        ModelInfo {
            family: "ngram".into(),
            description: format!("{}-gram from an ARPA file ({} n-grams)", self.order(), self.grams),
            normalized: true,
            parameters: self.grams as u64,
            context: Some(self.order() - 1),
            generative: true,
        }
    }

    fn stream(&self) -> Box<dyn TokenStream + '_> {
        Box::new(ArpaStream { model: self, history: Vec::with_capacity(self.order()) })
    }
}

struct ArpaStream<'a> {
    model: &'a ArpaModel,
    history: Vec<TokenId>,
}

impl TokenStream for ArpaStream<'_> {
    fn push(&mut self, token: TokenId) {
        if token == BOS {
            self.history.clear();
        }
        self.history.push(token);
        let keep = self.model.order() - 1;
        if self.history.len() > keep {
            self.history.drain(..self.history.len() - keep);
        }
    }

    fn distribution(&mut self, out: &mut [f64]) {
        let m = self.model;
        let ctx = super::context(&self.history, m.order());
        m.table.distribution(&m.trie, &m.trie.chain(ctx), out);
    }

    fn log2_prob(&mut self, token: TokenId) -> f64 {
        self.model.prob(&self.history, token).log2()
    }

    fn vocab_len(&self) -> usize {
        self.model.vocab.len()
    }
}
