//! N-gram counts: the context trie (see [`super::trie`]) plus the raw count of every entry.
//!
//! Counting walks the stream once: at each predicted token it finds the context nodes of the
//! 0, 1, …, n − 1 previous tokens (one hash probe each) and emits one key per (context, token).
//! The keys are radix-sorted and run-length encoded into the CSR entry arrays, so no per-n-gram
//! hash map is ever built.

use super::radix;
use super::trie::{key, CtxId, Trie, TrieBuilder, ROOT};
use super::Progress;
use crate::modelfile::{ModelFile, NamedTensor, TensorData};
use crate::text::{TokenId, BOS};
use crate::{Error, Result};

#[derive(Clone, Debug)]
pub struct NgramCounts {
    trie: Trie,
    /// Raw count of every entry.
    counts: Vec<u32>,
    /// Σ of each context's followers' raw counts: c(h •).
    totals: Vec<u64>,
    /// Number of distinct n-grams of each order 1..=n (index 0 unused).
    grams_per_order: Vec<usize>,
}

impl std::ops::Deref for NgramCounts {
    type Target = Trie;
    fn deref(&self) -> &Trie {
        &self.trie
    }
}

impl NgramCounts {
    /// Counts every k-gram (k = 1..=order) ending at each predicted token of a boundary-marked stream.
    pub fn count(stream: &[TokenId], order: usize, progress: Progress) -> NgramCounts {
        let mut b = TrieBuilder::new(order);
        let vocab_bits = radix::bits_for(stream.iter().copied().max().unwrap_or(0) as u64 + 1);
        let mut keys: Vec<u64> = Vec::with_capacity(stream.len() * order);
        let mut sentence_start = 0usize;
        let report_every = (stream.len() / 50).max(1 << 16);
        for (i, &t) in stream.iter().enumerate() {
            if t == BOS {
                sentence_start = i;
                continue;
            }
            let mut ctx = ROOT;
            keys.push(t as u64);
            for j in 1..order.min(i - sentence_start + 1) {
                ctx = b.child(ctx, stream[i - j]);
                keys.push(((ctx as u64) << vocab_bits) | t as u64);
            }
            if i % report_every == 0 {
                progress("counting", i as f64 / stream.len() as f64);
            }
        }
        progress("counting", 1.0);
        let bits = vocab_bits + radix::bits_for(b.num_nodes() as u64);
        radix::sort(&mut keys, bits);
        progress("sorting", 1.0);
        // Run-length encode the sorted keys into entries and counts.
        let mask = (1u64 << vocab_bits) - 1;
        let mut entries = Vec::new();
        let mut counts = Vec::new();
        let mut i = 0;
        while i < keys.len() {
            let k = keys[i];
            let mut j = i + 1;
            while j < keys.len() && keys[j] == k {
                j += 1;
            }
            entries.push(key((k >> vocab_bits) as u32, (k & mask) as u32));
            counts.push((j - i) as u32);
            i = j;
        }
        drop(keys);
        let trie = b.finish(entries.into_iter());
        Self::from_trie(trie, counts)
    }

    /// The counts as model-file tensors (`ngram.trie.*` and `ngram.counts`; docs/formats.md).
    pub fn to_tensors(&self) -> Vec<NamedTensor> {
        let mut out: Vec<NamedTensor> = self
            .trie
            .parts()
            .into_iter()
            .map(|(name, v)| NamedTensor { name: format!("ngram.trie.{name}"), shape: vec![v.len()], data: TensorData::U32(v) })
            .collect();
        out.push(NamedTensor { name: "ngram.counts".into(), shape: vec![self.counts.len()], data: TensorData::U32(self.counts.clone()) });
        out
    }

    /// Counts read back from a model file, checked (a damaged file is a `file-corrupt` error).
    pub fn from_tensors(order: usize, file: &mut ModelFile) -> Result<NgramCounts> {
        let vocab_len = file.vocab.len();
        let corrupt = |why: String| Error::new("file-corrupt", format!("The model file is damaged: {why}."));
        let mut get = |name: &str| -> Result<Vec<u32>> {
            match file.take(name).map(|t| t.data) {
                Some(TensorData::U32(v)) => Ok(v),
                Some(_) => Err(corrupt(format!("tensor {name} has the wrong type"))),
                None => Err(corrupt(format!("tensor {name} is missing"))),
            }
        };
        let parts = [get("ngram.trie.parent")?, get("ngram.trie.word")?, get("ngram.trie.depth")?, get("ngram.trie.first")?, get("ngram.trie.words")?];
        let trie = Trie::from_parts(order, parts, vocab_len).map_err(corrupt)?;
        let counts = get("ngram.counts")?;
        if counts.len() != trie.num_entries() || counts.contains(&0) {
            return Err(corrupt("the counts do not match the n-grams".into()));
        }
        Ok(Self::from_trie(trie, counts))
    }

    fn from_trie(trie: Trie, counts: Vec<u32>) -> NgramCounts {
        let mut totals = vec![0u64; trie.num_contexts()];
        let mut grams_per_order = vec![0usize; trie.order + 1];
        for ctx in 0..trie.num_contexts() as CtxId {
            let r = trie.range(ctx);
            grams_per_order[trie.depth(ctx) + 1] += r.len();
            totals[ctx as usize] = counts[r].iter().map(|&c| c as u64).sum();
        }
        NgramCounts { trie, counts, totals, grams_per_order }
    }

    /// The counts of the order-`order` model: every context shorter than `order`. Lets one
    /// counting pass serve every order (the perplexity-against-order view).
    pub fn truncate(&self, order: usize) -> NgramCounts {
        let (trie, old) = self.trie.truncate(order);
        let counts = old.iter().map(|&e| self.counts[e as usize]).collect();
        Self::from_trie(trie, counts)
    }

    pub fn trie(&self) -> &Trie {
        &self.trie
    }

    /// c(h •): how often the context was followed by anything.
    #[inline]
    pub fn total(&self, ctx: CtxId) -> u64 {
        self.totals[ctx as usize]
    }

    /// Raw count of entry `e`.
    #[inline]
    pub fn raw(&self, e: usize) -> u32 {
        self.counts[e]
    }

    /// Raw counts of a context's followers, aligned with `followers(ctx)`.
    pub fn follower_counts(&self, ctx: CtxId) -> &[u32] {
        &self.counts[self.trie.range(ctx)]
    }

    /// Raw counts of all entries.
    pub fn entry_counts(&self) -> &[u32] {
        &self.counts
    }

    /// Raw count c(h w), 0 if unseen.
    pub fn count_of(&self, ctx: CtxId, w: TokenId) -> u32 {
        self.find(ctx, w).map_or(0, |e| self.counts[e])
    }

    /// Distinct n-grams of order k (1..=order).
    pub fn num_grams(&self, k: usize) -> usize {
        self.grams_per_order[k]
    }

    /// Predicted training tokens (the unigram total).
    pub fn num_tokens(&self) -> u64 {
        self.totals[ROOT as usize]
    }

    /// Count-of-counts of order k: `n[r]` = number of distinct k-grams seen exactly r times, for
    /// r < `n.len()` (larger counts are not tallied).
    pub fn count_of_counts(&self, k: usize, max_r: usize) -> Vec<u64> {
        count_of_counts(&self.trie, k, max_r, |e| self.counts[e])
    }

    /// Bytes held, for the memory report.
    pub fn heap_bytes(&self) -> usize {
        self.trie.heap_bytes() + self.counts.capacity() * 4 + self.totals.capacity() * 8
    }
}

/// Count-of-counts of the order-k entries under any count function (raw or continuation counts).
pub fn count_of_counts(trie: &Trie, k: usize, max_r: usize, count: impl Fn(usize) -> u32) -> Vec<u64> {
    let mut n = vec![0u64; max_r + 1];
    for ctx in 0..trie.num_contexts() as CtxId {
        if trie.depth(ctx) + 1 == k {
            for e in trie.range(ctx) {
                let r = count(e) as usize;
                if r <= max_r {
                    n[r] += 1;
                }
            }
        }
    }
    n
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
        let c = NgramCounts::count(&s, 3, &mut |_, _| {});
        assert_eq!(c.count_of(ROOT, A), 3);
        assert_eq!(c.count_of(ROOT, EOS), 2);
        assert_eq!(c.total(ROOT), 6);
        let ctx_s = c.extend(ROOT, BOS).unwrap();
        assert_eq!(c.count_of(ctx_s, A), 2);
        let ctx_a = c.extend(ROOT, A).unwrap();
        assert_eq!(c.followers(ctx_a), &[EOS, A, B][..]);
        assert_eq!(c.follower_counts(ctx_a), &[1, 1, 1][..]);
        // "<s> a" is a context of depth 2, seen before b and before a.
        let ctx_sa = c.extend(ctx_a, BOS).unwrap();
        assert_eq!(c.depth(ctx_sa), 2);
        assert_eq!(c.tokens(ctx_sa), vec![BOS, A]);
        assert_eq!(c.lookup(&[BOS, A]), Some(ctx_sa));
        assert_eq!(c.count_of(ctx_sa, B), 1);
        // No context reaches left of <s>: "</s> <s>" never exists.
        assert!(c.extend(ctx_s, EOS).is_none());
        assert_eq!(&*c.chain(&[BOS, A]), &[ROOT, ctx_a, ctx_sa]);
        assert_eq!((c.num_grams(1), c.num_grams(2), c.num_grams(3)), (3, 5, 4));
        // Unigram counts a 3, b 1, </s> 2.
        assert_eq!(c.count_of_counts(1, 4), vec![0, 1, 1, 1, 0]);
        // Every entry's lower-order entry is the same n-gram without its oldest token.
        let lower = c.lower_entries();
        let e = c.find(ctx_sa, B).unwrap();
        assert_eq!(lower[e] as usize, c.find(ctx_a, B).unwrap());
    }

    #[test]
    fn truncating_equals_counting_at_the_lower_order() {
        let s = [BOS, A, B, A, A, B, EOS, BOS, B, A, B, B, EOS, BOS, A, EOS];
        let full = NgramCounts::count(&s, 5, &mut |_, _| {});
        for order in 1..=5 {
            let t = full.truncate(order);
            let direct = NgramCounts::count(&s, order, &mut |_, _| {});
            assert_eq!(t.num_contexts(), direct.num_contexts(), "order {order}");
            for ctx in 0..direct.num_contexts() as CtxId {
                let toks = direct.tokens(ctx);
                let tc = t.lookup(&toks).unwrap();
                assert_eq!(t.followers(tc), direct.followers(ctx));
                assert_eq!(t.follower_counts(tc), direct.follower_counts(ctx));
                assert_eq!(t.total(tc), direct.total(ctx));
            }
            assert_eq!((1..=order).map(|k| t.num_grams(k)).collect::<Vec<_>>(), (1..=order).map(|k| direct.num_grams(k)).collect::<Vec<_>>());
        }
    }
}
