//! N-gram counts in a context trie.
//!
//! Contexts are nodes of a trie that grows to the *left*: node `w1 w2 … wk` is the child of its
//! suffix `w2 … wk` by the word `w1`. Walking from the empty context towards older tokens gives,
//! in one pass, every context a query needs from the shortest to the longest (the backoff chain).
//! An n-gram is a (context node, next word) pair; the followers of each context are stored
//! contiguously and sorted by word (CSR), so a context's whole next-word table is one slice.
//!
//! A context never reaches left of `<s>`: `<s>` is where a sentence's history begins.

use crate::text::{TokenId, BOS};
use rustc_hash::FxHashMap;

pub type CtxId = u32;
pub const ROOT: CtxId = 0;

#[derive(Clone, Debug)]
pub struct CtxNode {
    /// The context without its oldest token.
    pub parent: CtxId,
    /// The oldest token.
    pub word: TokenId,
    /// Number of tokens in the context (0 for the root).
    pub depth: u32,
    /// Followers are `words[first..first + len]`.
    pub first: u32,
    pub len: u32,
    /// Σ of the followers' raw counts: c(h •).
    pub total: u64,
}

#[derive(Clone, Debug)]
pub struct NgramCounts {
    pub order: usize,
    nodes: Vec<CtxNode>,
    index: FxHashMap<u64, CtxId>,
    words: Vec<TokenId>,
    counts: Vec<u32>,
    /// Number of distinct n-grams of each order 1..=n (index 0 unused).
    grams_per_order: Vec<usize>,
}

fn key(a: u32, b: u32) -> u64 {
    ((a as u64) << 32) | b as u64
}

/// Progress callback: fraction of the stream counted.
pub type Progress<'a> = &'a mut dyn FnMut(f64);

impl NgramCounts {
    /// Counts every k-gram (k = 1..=order) ending at each predicted token of a boundary-marked stream.
    pub fn count(stream: &[TokenId], order: usize, progress: Progress) -> NgramCounts {
        assert!(order >= 1);
        let mut nodes = vec![CtxNode { parent: ROOT, word: BOS, depth: 0, first: 0, len: 0, total: 0 }];
        let mut index: FxHashMap<u64, CtxId> = FxHashMap::default();
        let mut grams: FxHashMap<u64, u32> = FxHashMap::default();
        let mut sentence_start = 0usize;
        let report_every = (stream.len() / 100).max(10_000);
        for (i, &t) in stream.iter().enumerate() {
            if t == BOS {
                sentence_start = i;
                continue;
            }
            let mut ctx = ROOT;
            *grams.entry(key(ctx, t)).or_insert(0) += 1;
            for j in 1..order {
                if i < sentence_start + j {
                    break;
                }
                let w = stream[i - j];
                let next = nodes.len() as CtxId;
                let child = *index.entry(key(ctx, w)).or_insert(next);
                if child == next {
                    nodes.push(CtxNode { parent: ctx, word: w, depth: j as u32, first: 0, len: 0, total: 0 });
                }
                ctx = child;
                *grams.entry(key(ctx, t)).or_insert(0) += 1;
            }
            if i % report_every == 0 {
                progress(i as f64 / stream.len() as f64);
            }
        }
        // Lay the followers out by context, sorted by word.
        let mut entries: Vec<(u64, u32)> = grams.into_iter().collect();
        entries.sort_unstable_by_key(|e| e.0);
        let mut words = Vec::with_capacity(entries.len());
        let mut counts = Vec::with_capacity(entries.len());
        let mut grams_per_order = vec![0usize; order + 1];
        for (i, &(k, c)) in entries.iter().enumerate() {
            let ctx = (k >> 32) as usize;
            let node = &mut nodes[ctx];
            if node.len == 0 {
                node.first = i as u32;
            }
            node.len += 1;
            node.total += c as u64;
            grams_per_order[node.depth as usize + 1] += 1;
            words.push(k as u32);
            counts.push(c);
        }
        progress(1.0);
        NgramCounts { order, nodes, index, words, counts, grams_per_order }
    }

    pub fn node(&self, ctx: CtxId) -> &CtxNode {
        &self.nodes[ctx as usize]
    }

    pub fn num_contexts(&self) -> usize {
        self.nodes.len()
    }

    /// Distinct n-grams of order k (1..=order).
    pub fn num_grams(&self, k: usize) -> usize {
        self.grams_per_order[k]
    }

    /// All n-gram entries of all orders.
    pub fn num_entries(&self) -> usize {
        self.words.len()
    }

    /// The child context `w + ctx`, if it was ever seen.
    pub fn extend(&self, ctx: CtxId, oldest: TokenId) -> Option<CtxId> {
        self.index.get(&key(ctx, oldest)).copied()
    }

    /// The chain of seen contexts for a history (oldest token first): the root, then the last
    /// token, the last two, … up to `order - 1` tokens or the longest one seen in training.
    /// The history must not reach left of its sentence's `<s>`.
    pub fn chain(&self, history: &[TokenId]) -> Vec<CtxId> {
        let mut chain = vec![ROOT];
        let mut ctx = ROOT;
        for &w in history.iter().rev().take(self.order - 1) {
            match self.extend(ctx, w) {
                Some(c) => {
                    ctx = c;
                    chain.push(c)
                }
                None => break,
            }
        }
        chain
    }

    /// A context's followers: the words seen after it and their raw counts.
    pub fn followers(&self, ctx: CtxId) -> (&[TokenId], &[u32]) {
        let n = &self.nodes[ctx as usize];
        let r = n.first as usize..(n.first + n.len) as usize;
        (&self.words[r.clone()], &self.counts[r])
    }

    /// Index of the n-gram (ctx, w) among all entries, if seen.
    pub fn find(&self, ctx: CtxId, w: TokenId) -> Option<usize> {
        let n = &self.nodes[ctx as usize];
        let (ws, _) = self.followers(ctx);
        ws.binary_search(&w).ok().map(|i| n.first as usize + i)
    }

    /// Raw count c(h w), 0 if unseen.
    pub fn count_of(&self, ctx: CtxId, w: TokenId) -> u32 {
        self.find(ctx, w).map_or(0, |i| self.counts[i])
    }

    /// The entry arrays, for estimators that keep per-n-gram values aligned with them.
    pub fn entry_words(&self) -> &[TokenId] {
        &self.words
    }
    pub fn entry_counts(&self) -> &[u32] {
        &self.counts
    }

    /// The context's tokens, oldest first.
    pub fn tokens(&self, mut ctx: CtxId) -> Vec<TokenId> {
        let mut out = Vec::new();
        while ctx != ROOT {
            let n = &self.nodes[ctx as usize];
            out.push(n.word);
            ctx = n.parent;
        }
        out
    }

    /// Bytes held, for the memory report.
    pub fn heap_bytes(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<CtxNode>()
            + self.index.capacity() * 16
            + self.words.capacity() * 4
            + self.counts.capacity() * 4
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use super::*;
    use crate::text::EOS;

    // ids: 3 = a, 4 = b
    const A: TokenId = 3;
    const B: TokenId = 4;

    #[test]
    fn counts_every_order_within_sentences() {
        // <s> a b </s> <s> a a </s>
        let s = [BOS, A, B, EOS, BOS, A, A, EOS];
        let c = NgramCounts::count(&s, 3, &mut |_| {});
        assert_eq!(c.count_of(ROOT, A), 3);
        assert_eq!(c.count_of(ROOT, EOS), 2);
        assert_eq!(c.node(ROOT).total, 6);
        let ctx_s = c.extend(ROOT, BOS).unwrap();
        assert_eq!(c.count_of(ctx_s, A), 2);
        let ctx_a = c.extend(ROOT, A).unwrap();
        assert_eq!(c.followers(ctx_a), (&[EOS, A, B][..], &[1, 1, 1][..]));
        // "<s> a" is a context of depth 2, seen before b and before a.
        let ctx_sa = c.extend(ctx_a, BOS).unwrap();
        assert_eq!(c.node(ctx_sa).depth, 2);
        assert_eq!(c.tokens(ctx_sa), vec![BOS, A]);
        assert_eq!(c.count_of(ctx_sa, B), 1);
        // No context reaches left of <s>: "</s> <s>" never exists.
        assert!(c.extend(ctx_s, EOS).is_none());
        assert_eq!(c.chain(&[BOS, A]), vec![ROOT, ctx_a, ctx_sa]);
        assert_eq!((c.num_grams(1), c.num_grams(2), c.num_grams(3)), (3, 5, 4));
    }
}
