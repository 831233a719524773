//! The CPU backend's cache of packed matmul operands. A recurrent layer multiplies by the same W_hh
//! at every time step (64 products forward, 64 backward, each [32 × 128]·[128 × 512]), and packing
//! B costs as much as a sixth of such a small product: the cache packs a B once and reuses it while
//! its buffer is unchanged.
//!
//! A packed B is keyed by where it lives and how it is read (buffer, offset, k, n, transposed) and by
//! its buffer's version, which the backend bumps on every write to the buffer, so a stale entry can
//! never match. A B is admitted only when it missed unchanged among the last few misses: a weight
//! does (one token of generation reads W_ih, W_hh and U in turn), an activation (rewritten before
//! it is read again) does not, so activations do not churn the slots. The slots are
//! allocated with the backend (counted in its memory and in the trainer's estimate): nothing is
//! allocated per step.

/// Slots, replaced least recently used first (a recurrent layer's training step uses two: W_hhᵀ
/// forward, W_hh backward; a token of generation three).
const SLOTS: usize = 4;
/// Misses remembered for admission.
const RECENT: usize = 4;
/// Floats per slot: W_hh of H ≤ 256 (4H × H) in either orientation. Larger B are packed per call.
pub const SLOT_FLOATS: usize = 1 << 18;
/// Floats the cache holds, for the memory estimate.
pub const FLOATS: usize = SLOTS * SLOT_FLOATS;

/// Which B, read how, at which version of its buffer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Key {
    pub buf: u32,
    pub offset: usize,
    pub k: usize,
    pub n: usize,
    pub tb: bool,
    pub version: u64,
}

struct Slot {
    key: Option<Key>,
    used: u64,
    data: Vec<f32>,
}

pub struct PackCache {
    slots: Vec<Slot>,
    recent: [Option<Key>; RECENT],
    clock: u64,
    hits: u64,
}

impl PackCache {
    pub fn new() -> Self {
        PackCache { slots: (0..SLOTS).map(|_| Slot { key: None, used: 0, data: vec![0.0; SLOT_FLOATS] }).collect(), recent: [None; RECENT], clock: 0, hits: 0 }
    }

    pub fn bytes(&self) -> u64 {
        self.slots.iter().map(|s| s.data.len() as u64 * 4).sum()
    }

    /// Products served from a packed copy so far (tests check that the cache is used).
    pub fn hits(&self) -> u64 {
        self.hits
    }

    /// The packed B for `key` (`floats` long): a hit; or packed now by `pack` into the least recently
    /// used slot, when `key` is among the recent misses. `None`: the caller packs per call.
    pub fn get(&mut self, key: Key, floats: usize, pack: impl FnOnce(&mut [f32])) -> Option<&[f32]> {
        if floats > SLOT_FLOATS {
            return None;
        }
        self.clock += 1;
        let now = self.clock;
        if let Some(i) = self.slots.iter().position(|s| s.key == Some(key)) {
            self.slots[i].used = now;
            self.hits += 1;
            return Some(&self.slots[i].data[..floats]);
        }
        if !self.recent.contains(&Some(key)) {
            self.recent[(now as usize) % RECENT] = Some(key);
            return None;
        }
        let slot = self.slots.iter_mut().min_by_key(|s| s.used).expect("slots");
        pack(&mut slot.data[..floats]);
        (slot.key, slot.used) = (Some(key), now);
        Some(&slot.data[..floats])
    }
}

impl Default for PackCache {
    fn default() -> Self {
        Self::new()
    }
}
