//! Accuracy against distance, for any [`LanguageModel`] through its stream alone (n-gram,
//! fixed-window, recurrent, Transformer alike): for each distance, fresh examples of the task (a seed
//! apart from the corpus's), each read from an empty history; the model is right when its most
//! probable next token after the prefix is the answer.

use super::Task;
use crate::lm::LanguageModel;
use crate::rng::Rng;
use crate::text::{DataConfig, Dataset};
use crate::{Error, Result};
use serde::Serialize;

/// Examples per distance, unless asked otherwise; at most [`MAX_EXAMPLES`].
pub const DEFAULT_EXAMPLES: usize = 100;
pub const MAX_EXAMPLES: usize = 1000;

#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct AtDistance {
    pub distance: usize,
    /// Share of examples whose most probable next token is the answer.
    pub accuracy: f64,
    /// Mean probability the model gives the answer.
    pub probability: f64,
    pub examples: usize,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Accuracy {
    pub task: &'static str,
    /// 1 / the number of possible answers: what guessing among them scores.
    pub chance: f64,
    pub distances: Vec<AtDistance>,
}

/// Measures `model` on `examples` fresh examples per distance (seeded by `seed`), text encoded as
/// `data` encodes prompts.
pub fn accuracy_by_distance(model: &dyn LanguageModel, data: &DataConfig, task: &dyn Task, examples: usize, seed: u64) -> Result<Accuracy> {
    if !(1..=MAX_EXAMPLES).contains(&examples) {
        return Err(Error::setting("examples", format!("the examples per distance must be between 1 and {MAX_EXAMPLES}")).with("max", MAX_EXAMPLES));
    }
    let vocab = model.vocab();
    // A model trained on other text has no ids for the answers: its accuracy would say nothing.
    let ids: Vec<_> = task.answers().iter().map(|c| vocab.get(&c.to_string())).collect();
    if ids.iter().any(Option::is_none) || data.tokenizer.kind != crate::text::TokenizerKind::Char {
        return Err(Error::new(
            "not-a-task-model",
            format!("This model was not trained on the {} task (it needs character tokens and the task's symbols): pick the task's preset and train.", task.id()),
        )
        .keyed("task")
        .with("task", task.id()));
    }
    let mut rng = Rng::derive(seed, "long-range evaluation");
    let mut dist = vec![0.0; vocab.len()];
    let mut out = Vec::with_capacity(task.distances().len());
    for &d in task.distances() {
        let (mut right, mut prob) = (0usize, 0.0f64);
        for _ in 0..examples {
            let e = task.example(&mut rng, d);
            let answer = vocab.id(&e.answer.to_string()) as usize;
            let mut s = model.stream();
            for t in Dataset::encode_prompt(data, vocab, &e.prefix) {
                s.push(t);
            }
            s.distribution(&mut dist);
            // The first most probable id, so a tie (an untrained model) is not counted as right by luck of order.
            let best = dist.iter().enumerate().fold(0, |b, (i, &p)| if p > dist[b] { i } else { b });
            right += usize::from(best == answer);
            prob += dist[answer];
        }
        out.push(AtDistance { distance: d, accuracy: right as f64 / examples as f64, probability: prob / examples as f64, examples });
    }
    Ok(Accuracy { task: task.id(), chance: task.chance(), distances: out })
}
