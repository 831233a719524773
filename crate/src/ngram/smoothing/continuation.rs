//! Kneser-Ney's adjusted counts, exactly as KenLM's `lmplz` defines them (adjust_counts.cc):
//! the highest order keeps raw counts; a lower-order n-gram h w gets its *continuation count*
//! N1+(• h w), the number of distinct words seen to its left; n-grams that start with `<s>`
//! cannot be extended to the left and keep their raw counts.

use crate::ngram::counts::{count_of_counts, NgramCounts};
use crate::ngram::trie::{CtxId, ROOT};
use crate::text::BOS;

/// Does this context's followers use continuation counts?
pub fn is_continuation(c: &NgramCounts, ctx: CtxId) -> bool {
    c.depth(ctx) + 1 < c.order && !(ctx != ROOT && c.oldest(ctx) == BOS)
}

/// The adjusted count of every entry. `lower` is [`crate::ngram::trie::Trie::lower_entries`].
pub fn adjusted_counts(c: &NgramCounts, lower: &[u32]) -> Vec<u32> {
    let mut a = vec![0u32; c.num_entries()];
    // Each entry with a non-empty context is one distinct left extension of its lower entry.
    for e in c.range(ROOT).end..c.num_entries() {
        a[lower[e] as usize] += 1;
    }
    for ctx in 0..c.num_contexts() as CtxId {
        if !is_continuation(c, ctx) {
            for e in c.range(ctx) {
                a[e] = c.raw(e);
            }
        }
    }
    a
}

/// n_r of the adjusted counts of each order 1..=n, for r = 0..=4 (index 0 of the outer Vec unused).
pub fn adjusted_count_of_counts(c: &NgramCounts, adjusted: &[u32]) -> Vec<[u64; 5]> {
    (0..=c.order)
        .map(|k| {
            if k == 0 {
                return [0; 5];
            }
            let n = count_of_counts(c, k, 4, |e| adjusted[e]);
            [n[0], n[1], n[2], n[3], n[4]]
        })
        .collect()
}
