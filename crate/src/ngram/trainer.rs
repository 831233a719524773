//! The n-gram family's [`Trainer`]s: one that counts and estimates (in a single step), and one that
//! holds a model read from an ARPA file. They also serve the family's views (docs/architecture.md).

use super::arpa::ArpaModel;
use super::counts::NgramCounts;
use super::smoothing::{check_lambdas, Learned, Method};
use super::{views, NgramConfig, NgramModel, MAX_ORDER};
use crate::lm::LanguageModel;
use crate::modelfile::{ModelFile, TensorSource};
use crate::train::args::{str_arg, token_id};
use crate::train::{readback, Chunk, Progress, ProgressHook, Trainer};
use std::rc::Rc;
use std::sync::Arc;
use crate::text::vocab::UNK_STR;
use crate::text::{Dataset, UNK};
use crate::{Error, Result};
use serde_json::Value;

/// Views that need the training and validation text as well as the counts.
const DATA_VIEWS: &[&str] = &["sparseness", "ppl-by-order", "interpolation"];

/// Views that need the training counts, so an ARPA model cannot serve them.
const COUNT_VIEWS: &[&str] = &["sparseness", "ppl-by-order", "count-of-counts", "interpolation"];

fn done(data: &Dataset) -> Progress {
    Progress {
        done: true,
        phase: "done".into(),
        step: 1,
        total_steps: 1,
        tokens: data.stats.train_tokens as u64,
        ..Progress::default()
    }
}

/// The `explain` view: `{context, token}` typed by the user; a token outside the vocabulary is
/// explained as `[UNK]`, and the summary says so.
fn explain_view(data: &Dataset, args: &Value, explain: impl Fn(&[u32], u32) -> Value) -> Result<Value> {
    let history = Dataset::encode_prompt(&data.config, &data.vocab, str_arg(args, "context")?);
    let typed = str_arg(args, "token")?;
    let w = token_id(data, typed)?;
    let mut v = explain(&history, w);
    let oov = w == UNK && typed != UNK_STR;
    if oov {
        let summary = v["summary"].as_str().unwrap_or_default();
        v["summary"] = format!("'{typed}' is not in the training vocabulary, so it is scored as [UNK]. {summary}").into();
    }
    v["typed"] = typed.into();
    v["oov"] = oov.into();
    Ok(v)
}

pub struct NgramTrainer {
    config: NgramConfig,
    model: Option<Rc<NgramModel>>,
    progress: Option<ProgressHook>,
}

impl NgramTrainer {
    pub fn new(config: NgramConfig) -> Result<Self> {
        config.validate()?;
        Ok(NgramTrainer { config, model: None, progress: None })
    }

    /// A trainer whose model is already estimated (read from a model file).
    pub fn with_model(model: NgramModel) -> Self {
        NgramTrainer { config: model.config.clone(), model: Some(Rc::new(model)), progress: None }
    }

    /// Reads an n-gram model back from a model file: the counts are loaded, not recounted, and
    /// the estimator is rebuilt from them (with the saved interpolation weights, if any).
    pub fn load(file: &mut ModelFile, config: &NgramConfig) -> Result<Self> {
        let counts = NgramCounts::from_tensors(config.order, file)?;
        let s = &config.smoothing;
        let learned = if s.method == Method::Interpolation && s.lambdas.is_none() {
            let p = &file.state["params"];
            let l: Learned = serde_json::from_value(serde_json::json!({ "lambdas": p["lambdas"], "em": p["em"] }))
                .map_err(|e| Error::new("file-corrupt", format!("The model file is damaged: invalid interpolation weights ({e}).")))?;
            check_lambdas(&l.lambdas, config.order).map_err(|e| Error::new("file-corrupt", format!("The model file is damaged: {e}")))?;
            Some(l)
        } else {
            None
        };
        let model = NgramModel::from_counts(Arc::new(counts), file.vocab.clone(), config.clone(), learned.as_ref())?;
        Ok(Self::with_model(model))
    }
}

impl Trainer for NgramTrainer {
    /// Counts and estimates in one synchronous call: it cannot be interrupted (see `stoppable`).
    fn run(&mut self, data: &Dataset, _budget: u64) -> Result<Chunk> {
        if self.model.is_none() {
            let mut quiet = |_: &'static str, _: f64| {};
            let progress: super::Progress = match &mut self.progress {
                Some(f) => f.as_mut(),
                None => &mut quiet,
            };
            self.model = Some(Rc::new(NgramModel::train(&data.train, &data.vocab, &self.config, progress)?));
        }
        Ok(Chunk { readback: readback::ready(Vec::new()) })
    }

    fn finish(&mut self, data: &Dataset, _values: Vec<Vec<f32>>) -> Result<Progress> {
        Ok(done(data))
    }

    fn model(&self) -> Option<Rc<dyn LanguageModel>> {
        self.model.clone().map(|m| m as Rc<dyn LanguageModel>)
    }

    fn stoppable(&self) -> bool {
        false
    }

    fn set_progress(&mut self, hook: ProgressHook) {
        self.progress = Some(hook);
    }

    fn arpa(&self) -> Option<Result<String>> {
        self.model.as_ref().map(|m| m.to_arpa())
    }

    /// The counts (the estimator is rebuilt from them on load) and the method's learned
    /// parameters (interpolation weights, discounts) as state.
    fn save(&self) -> Option<Result<(Box<dyn TensorSource + '_>, Value)>> {
        let m = self.model.as_ref()?;
        Some(Ok((Box::new(m.counts().to_tensors()), serde_json::json!({ "params": m.estimator().params() }))))
    }

    fn view(&self, name: &str, args: &Value, data: &Dataset) -> Option<Result<Value>> {
        let model = self.model.as_ref()?;
        // A model file opened without its corpus has the counts but no text to compare them with.
        if data.train.is_empty() && DATA_VIEWS.contains(&name) {
            return Some(Err(Error::new(
                "no-corpus",
                format!("The '{name}' view needs the text the model was trained on; open the model file with its corpus."),
            )));
        }
        Some(match name {
            "explain" => explain_view(data, args, |h, w| serde_json::to_value(model.explain(h, w)).expect("serializable")),
            "sparseness" => Ok(views::sparseness(model.counts(), &data.valid, &data.vocab)),
            "ppl-by-order" => {
                let max = args.get("max_order").and_then(Value::as_u64).map_or(6, |m| m as usize);
                if !(1..=MAX_ORDER).contains(&max) {
                    return Some(Err(Error::setting("max-order", format!("max_order must be between 1 and {MAX_ORDER}")).with("max", MAX_ORDER)));
                }
                views::ppl_by_order(&data.train, &data.valid, &data.vocab, &model.config.smoothing, max)
            }
            "count-of-counts" => Ok(views::count_of_counts(model)),
            "interpolation" => views::interpolation(model, &data.valid, args),
            "params" => Ok(model.estimator().params()),
            _ => return None,
        })
    }
}

/// A model read from an ARPA file: nothing to train.
pub struct ArpaTrainer {
    model: Rc<ArpaModel>,
}

impl ArpaTrainer {
    pub fn new(model: ArpaModel) -> Self {
        ArpaTrainer { model: Rc::new(model) }
    }
}

impl Trainer for ArpaTrainer {
    fn run(&mut self, _data: &Dataset, _budget: u64) -> Result<Chunk> {
        Ok(Chunk { readback: readback::ready(Vec::new()) })
    }

    fn finish(&mut self, data: &Dataset, _values: Vec<Vec<f32>>) -> Result<Progress> {
        Ok(done(data))
    }

    fn model(&self) -> Option<Rc<dyn LanguageModel>> {
        Some(self.model.clone())
    }

    fn stoppable(&self) -> bool {
        false
    }

    fn arpa(&self) -> Option<Result<String>> {
        Some(Ok(self.model.to_arpa()))
    }

    fn view(&self, name: &str, args: &Value, data: &Dataset) -> Option<Result<Value>> {
        match name {
            "explain" => {
                Some(explain_view(data, args, |h, w| serde_json::to_value(self.model.explain(h, w)).expect("serializable")))
            }
            _ if COUNT_VIEWS.contains(&name) => Some(Err(Error::new(
                "no-counts",
                format!("The '{name}' view needs the training counts, which an ARPA file does not contain."),
            ))),
            _ => None,
        }
    }
}
