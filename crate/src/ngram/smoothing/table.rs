//! The backoff table: one probability per seen n-gram, one weight per seen context and a dense
//! unigram table. P(w | h) = p(h w) if the n-gram h w exists, else weight(h) · P(w | h'), where h'
//! drops h's oldest token, ending in the unigram table. This is the ARPA model, and every method
//! but add-k is computed into one, so scoring is one or two binary searches per token.

use crate::ngram::explain::Level;
use crate::ngram::trie::{CtxId, Trie, ROOT};
use crate::text::{TokenId, Vocab};

#[derive(Clone, Debug, Default)]
pub struct BackoffTable {
    /// P(w | h) of every entry (h, w) of the trie.
    pub prob: Vec<f64>,
    /// Weight of each context when backing off from it: Katz's α(h), an interpolated method's
    /// γ(h), stupid backoff's constant. Index 0 (the root) weighs the uniform distribution.
    pub bow: Vec<f64>,
    /// P(w) for every id: the end of every backoff chain.
    pub unigram: Vec<f64>,
}

impl BackoffTable {
    /// P(w | the longest context of `chain`).
    #[inline]
    pub fn prob(&self, trie: &Trie, chain: &[CtxId], w: TokenId) -> f64 {
        let mut scale = 1.0;
        for &ctx in chain[1..].iter().rev() {
            if let Some(e) = trie.find(ctx, w) {
                return scale * self.prob[e];
            }
            scale *= self.bow[ctx as usize];
            if scale == 0.0 {
                return 0.0;
            }
        }
        scale * self.unigram[w as usize]
    }

    /// P(· | the longest context of `chain`) for every id, in O(|V| + followers on the chain).
    pub fn distribution(&self, trie: &Trie, chain: &[CtxId], out: &mut [f64]) {
        // −1 marks "not yet set": the longest context that has w decides P(w).
        out.fill(-1.0);
        let mut scale = 1.0;
        let words = trie.entry_words();
        for &ctx in chain[1..].iter().rev() {
            for e in trie.range(ctx) {
                let p = &mut out[words[e] as usize];
                if *p < 0.0 {
                    *p = scale * self.prob[e];
                }
            }
            scale *= self.bow[ctx as usize];
        }
        for (p, &u) in out.iter_mut().zip(&self.unigram) {
            if *p < 0.0 {
                *p = scale * u;
            }
        }
    }

    /// An interpolated model from each entry's own term ρ(h, w) (in `rho`) and each context's
    /// weight γ(h) for the lower order (in `gamma`): P(w | h) = ρ(h, w) + γ(h) · P(w | h'), with
    /// the uniform distribution over V below the unigrams (γ(root) is its weight).
    /// `lower` maps each entry to the same n-gram one order lower ([`Trie::lower_entries`]).
    pub fn interpolate(trie: &Trie, vocab: &Vocab, mut rho: Vec<f64>, gamma: Vec<f64>, lower: &[u32]) -> BackoffTable {
        let unigram = uniform_mix(vocab, gamma[ROOT as usize], trie, &rho);
        let words = trie.entry_words();
        for e in trie.range(ROOT) {
            rho[e] = unigram[words[e] as usize];
        }
        // Parents have smaller ids than their children and entries are laid out by context id,
        // so every lower-order entry is final before it is used.
        for ctx in 1..trie.num_contexts() as CtxId {
            let g = gamma[ctx as usize];
            for e in trie.range(ctx) {
                rho[e] += g * rho[lower[e] as usize];
            }
        }
        BackoffTable { prob: rho, bow: gamma, unigram }
    }
}

/// Unigram table γ·u(w) + ρ(w), where u is uniform over the predictable vocabulary.
fn uniform_mix(vocab: &Vocab, gamma_root: f64, trie: &Trie, rho: &[f64]) -> Vec<f64> {
    let u = 1.0 / vocab.num_predictable() as f64;
    let mut unigram: Vec<f64> =
        (0..vocab.len()).map(|w| if vocab.is_predictable(w as TokenId) { gamma_root * u } else { 0.0 }).collect();
    let words = trie.entry_words();
    for e in trie.range(ROOT) {
        unigram[words[e] as usize] += rho[e];
    }
    unigram
}

/// The uniform distribution's level (order 0) of a trace, with probability u(w) = `u`.
pub fn uniform_level(u: f64, note: &str) -> Level {
    Level { order: 0, count_kind: "none", estimate: u, probability: u, seen: true, note: note.into(), ..Level::default() }
}

/// Fills `probability` and `contribution` of an interpolated trace. `levels` run from the longest
/// context down to the unigram, each with its own term ρ in `estimate` and its context's γ in
/// `lower_weight` (`None` when the context was never seen: the order is skipped, weight 1); the
/// uniform level 0 with u(w) is appended.
pub fn finish_interpolated(mut levels: Vec<Level>, uniform: f64) -> Vec<Level> {
    levels.push(uniform_level(uniform, "the uniform distribution over the vocabulary"));
    // Bottom-up: P_k = ρ_k + γ_k · P_{k−1}.
    let mut p = uniform;
    for l in levels.iter_mut().rev().skip(1) {
        if let Some(g) = l.lower_weight {
            p = l.estimate + g * p;
        }
        l.probability = p;
    }
    // Top-down: each order's share of the final probability.
    let mut w = 1.0;
    for l in levels.iter_mut() {
        l.contribution = w * l.estimate;
        w *= l.lower_weight.unwrap_or(1.0);
    }
    levels
}

/// Fills `probability` and `contribution` of a backoff trace: `levels` from the longest context
/// down to the unigram and then (where the method has one) the uniform level 0; each level holds
/// its discounted estimate in `estimate` if the n-gram was seen (`seen`), else its backoff weight
/// in `lower_weight`. The first seen level decides.
pub fn finish_backoff(mut levels: Vec<Level>) -> Vec<Level> {
    let mut p = 0.0;
    for l in levels.iter_mut().rev() {
        p = if l.seen { l.estimate } else { l.lower_weight.unwrap_or(1.0) * p };
        l.probability = p;
    }
    let mut w = 1.0;
    let mut used = false;
    for l in levels.iter_mut() {
        if used {
            l.contribution = 0.0;
        } else if l.seen {
            l.contribution = w * l.estimate;
            used = true;
        } else {
            l.contribution = 0.0;
            w *= l.lower_weight.unwrap_or(1.0);
        }
    }
    levels
}
