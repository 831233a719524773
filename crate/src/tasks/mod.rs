//! Long-range tasks (layer 3): synthetic corpora where the right next token depends on a token far
//! back, and an evaluator that measures, for any [`LanguageModel`], how often it gets that token right
//! as the distance grows. The page offers them as presets next to the text corpora; a vanilla RNN
//! fails as the distance grows where an LSTM or a GRU succeeds (docs/conventions.md, "Long-range
//! tasks", has the measured numbers).
//!
//! Every task is character-level text, one example per line, made by a seeded generator, so a preset
//! file, a share link and the CLI (`lmplay task NAME`) all give the same corpus.

pub mod accuracy;
pub mod copy_memory;
pub mod temporal_order;

use crate::rng::Rng;
use crate::{Error, Result};

/// One probe: after reading `prefix`, the model should predict `answer` (one character), which is
/// fixed by a token `distance` tokens before it.
#[derive(Clone, Debug, PartialEq)]
pub struct Example {
    pub prefix: String,
    pub answer: char,
    pub distance: usize,
}

/// A long-range task.
pub trait Task: Sync {
    /// The preset's id (`copy-memory`), in links, the page and the CLI.
    fn id(&self) -> &'static str;
    /// The distances the corpus draws from and the evaluator measures, ascending.
    fn distances(&self) -> &'static [usize];
    /// The characters an answer is drawn from, uniformly: a model that knows the task but not the
    /// token far back is right 1 in `answers().len()` times (the chance level).
    fn answers(&self) -> &'static [char];
    /// One example at `distance` (a line: `prefix` then `answer`).
    fn example(&self, rng: &mut Rng, distance: usize) -> Example;

    fn chance(&self) -> f64 {
        1.0 / self.answers().len() as f64
    }

    /// The corpus: `lines` examples, one a line, distances drawn uniformly from [`Task::distances`].
    fn corpus(&self, seed: u64, lines: usize) -> String {
        let mut rng = Rng::derive(seed, self.id());
        let d = self.distances();
        let mut out = String::new();
        for _ in 0..lines {
            let distance = d[rng.below(d.len())];
            let e = self.example(&mut rng, distance);
            out.push_str(&e.prefix);
            out.push(e.answer);
            out.push('\n');
        }
        out
    }
}

/// The preset's size and seed: the committed files www/corpora/<id>.txt are `corpus(PRESET_SEED,
/// PRESET_LINES)` (a test checks they still are).
pub const PRESET_SEED: u64 = 1;
pub const PRESET_LINES: usize = 4000;

/// Every task, by id.
pub static TASKS: &[&dyn Task] = &[&copy_memory::COPY_MEMORY, &temporal_order::TEMPORAL_ORDER];

/// The task with this id.
pub fn find(id: &str) -> Result<&'static dyn Task> {
    TASKS.iter().copied().find(|t| t.id() == id).ok_or_else(|| {
        let known: Vec<&str> = TASKS.iter().map(|t| t.id()).collect();
        Error::new("unknown-task", format!("There is no long-range task '{id}'. The tasks are: {}.", known.join(", "))).keyed("unknown").with("name", id).with("known", known.join(", "))
    })
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use super::*;

    #[test]
    fn corpora_are_seeded_and_every_answer_is_the_token_far_back() {
        for task in TASKS {
            let a = task.corpus(3, 500);
            assert_eq!(a, task.corpus(3, 500), "{}", task.id());
            assert_ne!(a, task.corpus(4, 500), "{}", task.id());
            let mut seen = std::collections::BTreeSet::new();
            for line in a.lines() {
                let chars: Vec<char> = line.chars().collect();
                let d = chars.len() - 1;
                assert!(task.distances().contains(&d), "{}: {line}", task.id());
                seen.insert(d);
                let answer = chars[d];
                assert!(task.answers().contains(&answer));
                if task.id() == "copy-memory" {
                    assert_eq!(chars[0], answer, "{line}");
                    assert_eq!(chars[d - 1], copy_memory::MARKER);
                    assert!(chars[1..d - 1].iter().all(|&c| c == copy_memory::FILLER));
                } else {
                    // The marks are the first character and one in the second half; the answer names their order.
                    let marks: Vec<usize> = (0..d).filter(|&i| matches!(chars[i], 'X' | 'Y')).collect();
                    assert_eq!(marks.len(), 2, "{line}");
                    assert!(marks[0] == 0 && marks[1] >= d / 2 && marks[1] < d - 1, "{line}");
                    let code = 2 * usize::from(chars[0] == 'Y') + usize::from(chars[marks[1]] == 'Y');
                    assert_eq!(answer, task.answers()[code], "{line}");
                }
            }
            assert_eq!(seen.len(), task.distances().len(), "{}: every distance occurs", task.id());
        }
        assert_eq!(find("nope").err().unwrap().code, "unknown-task");
    }

    /// The page's presets are the generator's output (regenerate: `lmplay task NAME > www/corpora/NAME.txt`).
    #[test]
    fn the_preset_files_are_the_generators_output() {
        let files = [
            ("copy-memory", include_str!("../../../www/corpora/copy-memory.txt")),
            ("temporal-order", include_str!("../../../www/corpora/temporal-order.txt")),
        ];
        for (id, text) in files {
            assert!(text == find(id).unwrap().corpus(PRESET_SEED, PRESET_LINES), "www/corpora/{id}.txt is stale");
        }
    }
}
