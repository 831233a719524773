//! Where training batches come from. Three ways to cut a token stream, one per kind of model:
//!
//! * [`Batching::Positions`] — B predicted positions drawn uniformly with replacement; each row is
//!   one prediction from its own context (the fixed-window LM).
//! * [`Batching::Windows`] — B windows of T + 1 tokens at random offsets: T inputs, the next T tokens
//!   as targets (a Transformer, as nanoGPT samples).
//! * [`Batching::Lanes`] — the stream cut into B contiguous lanes, read T tokens at a time in order,
//!   so a recurrent model carries its hidden state (detached) from one window to the next: truncated
//!   BPTT. When the lanes wrap around, the batch says `reset`.
//!
//! The sampler's state (its random stream and its place in the lanes) goes into model files, so a
//! resumed run draws exactly the batches an uninterrupted one would.

use crate::rng::Rng;
use crate::text::{TokenId, BOS};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Batching {
    Positions,
    Windows { len: usize },
    Lanes { len: usize },
}

/// One batch: row b predicts `targets` from the tokens its model reads at `starts[b]`.
/// For `Positions`, `starts` are the predicted positions themselves and `len` is 1; otherwise row b
/// reads inputs `stream[starts[b] .. starts[b] + len]` and predicts `stream[starts[b] + 1 ..][..len]`.
#[derive(Debug, PartialEq)]
pub struct Batch<'a> {
    pub starts: &'a [u32],
    pub len: usize,
    /// Lanes only: the lanes wrapped, so carried state must start afresh.
    pub reset: bool,
    /// How many batches the sampler drew before this one: seeds what is random within a step
    /// (dropout masks), so a resumed run draws the same.
    pub index: u64,
}

impl Batch<'_> {
    /// Predicted tokens in the batch.
    pub fn tokens(&self) -> usize {
        self.starts.len() * self.len
    }
}

/// What a model file stores of the sampler.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SamplerState {
    pub rng: String,
    #[serde(default)]
    pub cursor: u32,
    #[serde(default)]
    pub drawn: u64,
}

pub struct Sampler {
    kind: Batching,
    rng: Rng,
    /// Positions: every predicted position of the stream.
    positions: Vec<u32>,
    /// Windows: how many start offsets there are. Lanes: the length of a lane.
    span: usize,
    /// Lanes: where the next window starts within each lane.
    cursor: u32,
    /// The next batch resets carried state whatever the cursor (after a restore).
    force_reset: bool,
    /// Batches drawn so far.
    drawn: u64,
    starts: Vec<u32>,
}

/// Positions of a stream that are predicted (every token but `<s>`).
pub fn predicted_positions(stream: &[TokenId]) -> Vec<u32> {
    stream.iter().enumerate().filter(|&(_, &t)| t != BOS).map(|(i, _)| i as u32).collect()
}

impl Sampler {
    /// A sampler of `batch` rows over `stream`; `rng` is the run's `Rng::derive(seed, "batches")`.
    pub fn new(kind: Batching, batch: usize, stream: &[TokenId], rng: Rng) -> Result<Sampler> {
        let too_short = |need: usize| {
            Error::new("corpus-too-small", format!("The training text has {} tokens; this model needs at least {need}. Use a longer corpus or a shorter sequence length.", stream.len()))
        };
        let (positions, span) = match kind {
            Batching::Positions => (predicted_positions(stream), 0),
            Batching::Windows { len } => {
                if stream.len() < len + 1 {
                    return Err(too_short(len + 1));
                }
                (Vec::new(), stream.len() - len)
            }
            Batching::Lanes { len } => {
                let lane = stream.len().saturating_sub(1) / batch.max(1);
                if lane < len {
                    return Err(too_short(batch * len + 1));
                }
                (Vec::new(), lane)
            }
        };
        Ok(Sampler { kind, rng, positions, span, cursor: 0, force_reset: false, drawn: 0, starts: vec![0; batch] })
    }

    /// Whether there is anything to train on (a model loaded without its corpus has not).
    pub fn is_empty(&self) -> bool {
        match self.kind {
            Batching::Positions => self.positions.is_empty(),
            _ => self.span == 0,
        }
    }

    /// The next batch; allocates nothing.
    pub fn next_batch(&mut self) -> Batch<'_> {
        let mut reset = false;
        let len = match self.kind {
            Batching::Positions => {
                for s in self.starts.iter_mut() {
                    *s = self.positions[self.rng.below(self.positions.len())];
                }
                1
            }
            Batching::Windows { len } => {
                for s in self.starts.iter_mut() {
                    *s = self.rng.below(self.span) as u32;
                }
                len
            }
            Batching::Lanes { len } => {
                if self.cursor as usize + len > self.span {
                    self.cursor = 0;
                }
                reset = self.cursor == 0 || std::mem::take(&mut self.force_reset);
                for (b, s) in self.starts.iter_mut().enumerate() {
                    *s = (b * self.span) as u32 + self.cursor;
                }
                self.cursor += len as u32;
                len
            }
        };
        self.drawn += 1;
        Batch { starts: &self.starts, len, reset, index: self.drawn - 1 }
    }

    pub fn state(&self) -> SamplerState {
        SamplerState { rng: self.rng.state(), cursor: self.cursor, drawn: self.drawn }
    }

    /// Continues a saved sampler. Carried state (a recurrent model's hidden state) is not in model
    /// files, so a restored `Lanes` sampler starts its next window with `reset`.
    pub fn restore(&mut self, s: &SamplerState) -> Result<()> {
        self.rng = Rng::from_state(&s.rng).ok_or_else(|| Error::new("file-corrupt", "The model file is damaged: invalid sampler state."))?;
        self.cursor = s.cursor;
        self.drawn = s.drawn;
        self.force_reset = true;
        Ok(())
    }

    /// Where the sampler is now (no allocation), to come back to with [`Sampler::rewind`].
    pub fn snapshot(&self) -> (Rng, u32, u64) {
        (self.rng.clone(), self.cursor, self.drawn)
    }

    /// Back to a snapshot, then `draws` batches on: after a failed step, the sampler stands where
    /// the steps that counted left it.
    pub fn rewind(&mut self, (rng, cursor, drawn): (Rng, u32, u64), draws: u64) {
        self.rng = rng;
        self.cursor = cursor;
        self.drawn = drawn;
        self.replay(draws);
    }

    /// Model files of format version 1 kept no sampler state: replay `draws` batches instead.
    pub fn replay(&mut self, draws: u64) {
        for _ in 0..draws {
            self.next_batch();
        }
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use super::*;

    fn stream(n: u32) -> Vec<TokenId> {
        (0..n).map(|i| if i % 5 == 0 { BOS } else { 3 + i }).collect()
    }

    #[test]
    fn positions_are_predicted_tokens_and_reproducible() {
        let s = stream(40);
        let mut a = Sampler::new(Batching::Positions, 8, &s, Rng::new(1)).unwrap();
        let mut b = Sampler::new(Batching::Positions, 8, &s, Rng::new(1)).unwrap();
        for _ in 0..5 {
            let (x, y) = (a.next_batch().starts.to_vec(), b.next_batch().starts.to_vec());
            assert_eq!(x, y);
            assert!(x.iter().all(|&p| s[p as usize] != BOS));
        }
    }

    #[test]
    fn windows_fit_the_stream() {
        let s = stream(30);
        let mut w = Sampler::new(Batching::Windows { len: 6 }, 16, &s, Rng::new(2)).unwrap();
        for _ in 0..20 {
            let b = w.next_batch();
            assert_eq!(b.len, 6);
            assert!(b.starts.iter().all(|&p| p as usize + 6 < s.len()));
        }
        assert_eq!(Sampler::new(Batching::Windows { len: 30 }, 1, &s, Rng::new(2)).err().unwrap().code, "corpus-too-small");
    }

    /// Lanes read consecutive windows, so carried state continues where it stopped; they wrap with a reset.
    #[test]
    fn lanes_continue_and_wrap_with_a_reset() {
        let s = stream(41); // lanes of 40 / 4 = 10 tokens
        let mut l = Sampler::new(Batching::Lanes { len: 4 }, 4, &s, Rng::new(3)).unwrap();
        let seen: Vec<(Vec<u32>, bool)> = (0..4).map(|_| {
            let b = l.next_batch();
            (b.starts.to_vec(), b.reset)
        }).collect();
        assert_eq!(seen[0], (vec![0, 10, 20, 30], true));
        assert_eq!(seen[1], (vec![4, 14, 24, 34], false));
        assert_eq!(seen[2], (vec![0, 10, 20, 30], true), "4 + 4 + 4 > 10: wrap");
        // The state round-trips, so a resumed run continues the same lanes.
        let saved = l.state();
        let want = l.next_batch().starts.to_vec();
        let mut back = Sampler::new(Batching::Lanes { len: 4 }, 4, &s, Rng::new(9)).unwrap();
        back.restore(&saved).unwrap();
        let b = back.next_batch();
        assert_eq!(b.starts.to_vec(), want);
        assert!(b.reset, "the carried state is not in the file: a restored sampler resets it");
    }

    #[test]
    fn a_resumed_sampler_draws_what_an_uninterrupted_one_would() {
        let s = stream(50);
        let mut a = Sampler::new(Batching::Positions, 4, &s, Rng::new(5)).unwrap();
        a.next_batch();
        let saved = a.state();
        let mut b = Sampler::new(Batching::Positions, 4, &s, Rng::new(5)).unwrap();
        b.restore(&saved).unwrap();
        assert_eq!(a.next_batch().starts.to_vec(), b.next_batch().starts.to_vec());
        let mut c = Sampler::new(Batching::Positions, 4, &s, Rng::new(5)).unwrap();
        c.replay(2);
        assert_eq!(a.next_batch().starts.to_vec(), c.next_batch().starts.to_vec());
    }
}
