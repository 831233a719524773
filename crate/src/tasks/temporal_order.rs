//! Temporal order (Hochreiter & Schmidhuber's task, for a character model): two marked symbols, X or
//! Y, among random distractors; after the marker, the answer names their order.
//!
//! ```text
//! X.....Y...=c        the order XY is answered `b` (XX a, XY b, YX c, YY d); distance: answer − first mark
//! ```
//! The second mark comes at a random place in the second half, so the model must keep the first one
//! until the end; the distractors (digits) are random, unlike copy memory's constant filler.

use super::{Example, Task};
use crate::rng::Rng;

pub struct TemporalOrder;
pub static TEMPORAL_ORDER: TemporalOrder = TemporalOrder;

const ANSWERS: [char; 4] = ['a', 'b', 'c', 'd'];
const DISTRACTORS: [char; 4] = ['0', '1', '2', '3'];
pub const MARKER: char = '=';

impl Task for TemporalOrder {
    fn id(&self) -> &'static str {
        "temporal-order"
    }
    fn distances(&self) -> &'static [usize] {
        &[4, 8, 16, 24, 32, 40]
    }
    fn answers(&self) -> &'static [char] {
        &ANSWERS
    }
    /// The first mark at 0, the second at a random place in (d/2, d − 1), the marker at d − 1.
    fn example(&self, rng: &mut Rng, distance: usize) -> Example {
        assert!(distance >= 4);
        let (a, b) = (rng.below(2), rng.below(2));
        let second = distance / 2 + rng.below(distance - 1 - distance / 2);
        let mark = |i: usize| if i == 0 { 'X' } else { 'Y' };
        let mut prefix = String::with_capacity(distance);
        for i in 0..distance - 1 {
            prefix.push(match i {
                0 => mark(a),
                i if i == second => mark(b),
                _ => DISTRACTORS[rng.below(DISTRACTORS.len())],
            });
        }
        prefix.push(MARKER);
        Example { prefix, answer: ANSWERS[2 * a + b], distance }
    }
}
