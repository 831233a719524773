//! The context trie shared by counted models and ARPA files.
//!
//! Contexts are nodes of a trie that grows to the *left*: node `w1 w2 … wk` is the child of its
//! suffix `w2 … wk` by the word `w1`. Walking from the empty context towards older tokens gives,
//! in one pass, every context a query needs from the shortest to the longest (the backoff chain).
//! An n-gram is a (context node, next word) pair, an *entry*; the followers of each context are
//! stored contiguously and sorted by word (CSR), so a context's whole next-word table is one slice
//! and a lookup is a binary search. Per-node data is kept as parallel arrays (no per-node `Vec`s).
//!
//! A context never reaches left of `<s>`: `<s>` is where a sentence's history begins.

use crate::text::TokenId;
use rustc_hash::FxHashMap;

pub type CtxId = u32;
pub const ROOT: CtxId = 0;

/// Longest chain a query can have: the root plus `MAX_ORDER - 1` contexts.
pub const MAX_CHAIN: usize = super::MAX_ORDER;

pub(crate) fn key(a: u32, b: u32) -> u64 {
    ((a as u64) << 32) | b as u64
}

#[derive(Clone, Debug, Default)]
pub struct Trie {
    /// n: contexts hold at most n − 1 tokens.
    pub order: usize,
    /// The context without its oldest token.
    parent: Vec<CtxId>,
    /// The oldest token of the context.
    word: Vec<TokenId>,
    /// Tokens in the context (0 for the root).
    depth: Vec<u8>,
    /// Followers of node i are entries `first[i]..first[i + 1]` (one sentinel at the end).
    first: Vec<u32>,
    /// (parent, oldest word) → child.
    index: FxHashMap<u64, CtxId>,
    /// The next word of every entry, grouped by context and sorted by word within one.
    words: Vec<TokenId>,
}

/// The seen contexts of one history, shortest first: `ids[0]` is the root, `ids[d]` the context of
/// the last d tokens. Fixed size, so queries allocate nothing.
#[derive(Clone, Copy, Debug)]
pub struct Chain {
    ids: [CtxId; MAX_CHAIN],
    len: usize,
}

impl std::ops::Deref for Chain {
    type Target = [CtxId];
    fn deref(&self) -> &[CtxId] {
        &self.ids[..self.len]
    }
}

/// Grows the nodes of a trie; entries are added all at once by [`TrieBuilder::finish`].
pub struct TrieBuilder {
    order: usize,
    parent: Vec<CtxId>,
    word: Vec<TokenId>,
    depth: Vec<u8>,
    index: FxHashMap<u64, CtxId>,
}

impl TrieBuilder {
    pub fn new(order: usize) -> Self {
        assert!((1..=super::MAX_ORDER).contains(&order));
        TrieBuilder { order, parent: vec![ROOT], word: vec![0], depth: vec![0], index: FxHashMap::default() }
    }

    /// The child `w + ctx`, created if new.
    #[inline]
    pub fn child(&mut self, ctx: CtxId, w: TokenId) -> CtxId {
        let next = self.parent.len() as CtxId;
        let child = *self.index.entry(key(ctx, w)).or_insert(next);
        if child == next {
            self.parent.push(ctx);
            self.word.push(w);
            self.depth.push(self.depth[ctx as usize] + 1);
        }
        child
    }

    pub fn num_nodes(&self) -> usize {
        self.parent.len()
    }

    /// Lays out the entries: `entries` are `key(ctx, word)`, sorted and without duplicates.
    pub fn finish(self, entries: impl ExactSizeIterator<Item = u64>) -> Trie {
        let n = self.parent.len();
        let mut words = Vec::with_capacity(entries.len());
        let mut first = vec![0u32; n + 1];
        for k in entries {
            first[(k >> 32) as usize + 1] += 1;
            words.push(k as u32);
        }
        for i in 0..n {
            first[i + 1] += first[i];
        }
        Trie { order: self.order, parent: self.parent, word: self.word, depth: self.depth, first, index: self.index, words }
    }
}

impl Trie {
    pub fn num_contexts(&self) -> usize {
        self.parent.len()
    }

    /// All entries (n-grams) of all orders.
    pub fn num_entries(&self) -> usize {
        self.words.len()
    }

    #[inline]
    pub fn depth(&self, ctx: CtxId) -> usize {
        self.depth[ctx as usize] as usize
    }

    #[inline]
    pub fn parent(&self, ctx: CtxId) -> CtxId {
        self.parent[ctx as usize]
    }

    /// The oldest token of a context (meaningless for the root).
    #[inline]
    pub fn oldest(&self, ctx: CtxId) -> TokenId {
        self.word[ctx as usize]
    }

    /// Entry indices of a context's followers.
    #[inline]
    pub fn range(&self, ctx: CtxId) -> std::ops::Range<usize> {
        self.first[ctx as usize] as usize..self.first[ctx as usize + 1] as usize
    }

    /// The words seen after a context, sorted.
    #[inline]
    pub fn followers(&self, ctx: CtxId) -> &[TokenId] {
        &self.words[self.range(ctx)]
    }

    /// The next word of every entry.
    pub fn entry_words(&self) -> &[TokenId] {
        &self.words
    }

    /// Index of the entry (ctx, w), if it exists.
    #[inline]
    pub fn find(&self, ctx: CtxId, w: TokenId) -> Option<usize> {
        let r = self.range(ctx);
        self.words[r.clone()].binary_search(&w).ok().map(|i| r.start + i)
    }

    /// The child context `oldest + ctx`, if it exists.
    #[inline]
    pub fn extend(&self, ctx: CtxId, oldest: TokenId) -> Option<CtxId> {
        self.index.get(&key(ctx, oldest)).copied()
    }

    /// The chain of existing contexts for a history (oldest token first): the root, then the last
    /// token, the last two, … up to `order - 1` tokens or the longest one that exists.
    /// The history must not reach left of its sentence's `<s>`.
    pub fn chain(&self, history: &[TokenId]) -> Chain {
        let mut c = Chain { ids: [ROOT; MAX_CHAIN], len: 1 };
        let mut ctx = ROOT;
        for &w in history.iter().rev().take(self.order - 1) {
            match self.extend(ctx, w) {
                Some(next) => {
                    ctx = next;
                    c.ids[c.len] = next;
                    c.len += 1;
                }
                None => break,
            }
        }
        c
    }

    /// The context node of exactly these tokens (oldest first), if it exists.
    pub fn lookup(&self, tokens: &[TokenId]) -> Option<CtxId> {
        tokens.iter().rev().try_fold(ROOT, |ctx, &w| self.extend(ctx, w))
    }

    /// The context's tokens, oldest first.
    pub fn tokens(&self, mut ctx: CtxId) -> Vec<TokenId> {
        let mut out = Vec::with_capacity(self.depth(ctx));
        while ctx != ROOT {
            out.push(self.oldest(ctx));
            ctx = self.parent(ctx);
        }
        out
    }

    /// For every entry (h, w) with h ≠ root, the index of (h', w) where h' drops h's oldest token:
    /// the same n-gram one order lower. It always exists, because counts are suffix-closed.
    /// Entries of the root get `u32::MAX`.
    pub fn lower_entries(&self) -> Vec<u32> {
        let mut out = vec![u32::MAX; self.words.len()];
        for ctx in 1..self.num_contexts() as CtxId {
            let lower = self.parent(ctx);
            let lw = &self.words[self.range(lower)];
            let base = self.first[lower as usize];
            // Both lists are sorted: search only to the right of the previous hit.
            let mut from = 0;
            for e in self.range(ctx) {
                let i = from + lw[from..].binary_search(&self.words[e]).expect("n-gram counts are suffix-closed");
                out[e] = base + i as u32;
                from = i + 1;
            }
        }
        out
    }

    /// Keeps only contexts shorter than `order` (so the trie of an order-`order` model), renumbered.
    pub fn truncate(&self, order: usize) -> (Trie, Vec<u32>) {
        assert!(order >= 1 && order <= self.order);
        let n = self.num_contexts();
        let mut new_id = vec![u32::MAX; n];
        let mut b = TrieBuilder::new(order);
        let mut kept = vec![ROOT];
        new_id[0] = ROOT;
        for i in 1..n {
            if (self.depth[i] as usize) < order {
                // Parents were created before their children, so they are already renumbered.
                let p = new_id[self.parent[i] as usize];
                new_id[i] = b.child(p, self.word[i]);
                kept.push(i as CtxId);
            }
        }
        // New ids follow the old order, so `kept` is already in new-id order and entries stay sorted.
        let mut old_entries = Vec::new();
        let mut keys = Vec::new();
        for &old in &kept {
            let nid = new_id[old as usize];
            for e in self.range(old) {
                old_entries.push(e as u32);
                keys.push(key(nid, self.words[e]));
            }
        }
        (b.finish(keys.into_iter()), old_entries)
    }

    /// The arrays that define the trie, for a model file: parent, oldest word, depth, first entry,
    /// entry words (the index is rebuilt on load).
    pub fn parts(&self) -> [(&'static str, Vec<u32>); 5] {
        [
            ("parent", self.parent.clone()),
            ("word", self.word.clone()),
            ("depth", self.depth.iter().map(|&d| d as u32).collect()),
            ("first", self.first.clone()),
            ("words", self.words.clone()),
        ]
    }

    /// Rebuilds a trie from [`Trie::parts`], checking every invariant the queries rely on, so a
    /// damaged or forged file is an error, never a panic: parents before children, depths that
    /// add up and stay below the order, ids inside the vocabulary, followers sorted, and counts
    /// suffix-closed (every n-gram's lower-order n-gram exists).
    pub fn from_parts(order: usize, parts: [Vec<u32>; 5], vocab_len: usize) -> std::result::Result<Trie, String> {
        let [parent, word, depth, first, words] = parts;
        let n = parent.len();
        if !(1..=super::MAX_ORDER).contains(&order) {
            return Err(format!("order {order} is out of range"));
        }
        if n == 0 || word.len() != n || depth.len() != n || first.len() != n + 1 {
            return Err("the trie arrays have inconsistent lengths".into());
        }
        if depth[0] != 0 || first[0] != 0 || first[n] as usize != words.len() {
            return Err("the trie's root or entry table is inconsistent".into());
        }
        let mut index = FxHashMap::default();
        for i in 1..n {
            let p = parent[i] as usize;
            if p >= i || depth[i] != depth[p] + 1 || depth[i] as usize >= order || word[i] as usize >= vocab_len {
                return Err(format!("context {i} is inconsistent"));
            }
            if index.insert(key(parent[i], word[i]), i as CtxId).is_some() {
                return Err(format!("context {i} is duplicated"));
            }
        }
        for i in 0..n {
            if first[i] > first[i + 1] {
                return Err("the entry table is not in order".into());
            }
            let ws = &words[first[i] as usize..first[i + 1] as usize];
            if ws.windows(2).any(|w| w[0] >= w[1]) || ws.iter().any(|&w| w as usize >= vocab_len) {
                return Err(format!("the followers of context {i} are invalid"));
            }
        }
        let trie = Trie { order, parent, word, depth: depth.iter().map(|&d| d as u8).collect(), first, index, words };
        for ctx in 1..n as CtxId {
            let lower = trie.followers(trie.parent(ctx));
            if trie.followers(ctx).iter().any(|w| lower.binary_search(w).is_err()) {
                return Err(format!("context {ctx} has an n-gram whose lower order is missing"));
            }
        }
        Ok(trie)
    }

    /// Bytes held, for the memory report.
    pub fn heap_bytes(&self) -> usize {
        self.parent.capacity() * 4
            + self.word.capacity() * 4
            + self.depth.capacity()
            + self.first.capacity() * 4
            + self.index.capacity() * 13
            + self.words.capacity() * 4
    }
}
