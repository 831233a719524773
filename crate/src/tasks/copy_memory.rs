//! Copy memory: a symbol, a run of filler, a marker, and the symbol again.
//!
//! ```text
//! c........:c        distance 10: the answer is 10 tokens after the symbol it copies
//! ```
//! Everything but the answer is predictable from the line so far except where the marker comes (the
//! distance is drawn at random), so the answer is the one place the model must remember.

use super::{Example, Task};
use crate::rng::Rng;

pub struct CopyMemory;
pub static COPY_MEMORY: CopyMemory = CopyMemory;

const SYMBOLS: [char; 8] = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
pub const FILLER: char = '.';
pub const MARKER: char = ':';

impl Task for CopyMemory {
    fn id(&self) -> &'static str {
        "copy-memory"
    }
    fn distances(&self) -> &'static [usize] {
        &[2, 5, 10, 20, 30, 40, 50]
    }
    fn answers(&self) -> &'static [char] {
        &SYMBOLS
    }
    /// The symbol at 0, filler, the marker at distance − 1, the answer at `distance`.
    fn example(&self, rng: &mut Rng, distance: usize) -> Example {
        assert!(distance >= 2);
        let s = SYMBOLS[rng.below(SYMBOLS.len())];
        let mut prefix = String::with_capacity(distance);
        prefix.push(s);
        prefix.extend(std::iter::repeat_n(FILLER, distance - 2));
        prefix.push(MARKER);
        Example { prefix, answer: s, distance }
    }
}
