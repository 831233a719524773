//! One playground run: the settings, the tokenized data, and the model being trained.
//! The CLI and the wasm facade both drive this, so the page and `lmplay` compute the same numbers.

use crate::lm::eval::{perplexity, Perplexity};
use crate::lm::sample::{generate, Generated, Generator, SampleConfig};
use crate::lm::{LanguageModel, ModelInfo};
use crate::modelfile::{self, ModelFile, NamedTensor};
use crate::ngram::arpa::ArpaModel;
use crate::ngram::trainer::{ArpaTrainer, NgramTrainer};
use crate::ngram::NgramConfig;
use crate::nn::memory::MemoryEstimate;
use crate::nn::models::fixed_window::{self, FixedWindowConfig, FixedWindowModel, FixedWindowTrainer};
use crate::nn::train::LossPoint;
use crate::text::{DataConfig, DataStats, Dataset, TokenId};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Which model to train, with its settings. The tag `family` is the model family id.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "family", rename_all = "kebab-case")]
pub enum ModelConfig {
    Ngram(NgramConfig),
    /// The fixed-window neural LM (`nn::models::fixed_window`).
    FixedWindow(FixedWindowConfig),
}

impl ModelConfig {
    /// The family id, as in the JSON tag and model files.
    pub fn family(&self) -> &'static str {
        match self {
            ModelConfig::Ngram(_) => "ngram",
            ModelConfig::FixedWindow(_) => fixed_window::FAMILY,
        }
    }

    /// Memory a neural model needs for a vocabulary of `vocab_size` ids (None for count models).
    pub fn estimate(&self, vocab_size: usize) -> Option<MemoryEstimate> {
        match self {
            ModelConfig::Ngram(_) => None,
            ModelConfig::FixedWindow(c) => Some(c.estimate(vocab_size)),
        }
    }
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig::Ngram(NgramConfig::default())
    }
}

/// Everything that defines a run. Together with the corpus it reproduces the run exactly;
/// it is what share links and model files store.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(default)]
pub struct RunConfig {
    /// Seeds the split, initialisation, batches and sampling.
    pub seed: u64,
    pub data: DataConfig,
    pub model: ModelConfig,
}

impl RunConfig {
    pub fn from_json(s: &str) -> Result<RunConfig> {
        Ok(serde_json::from_str(s)?)
    }

    /// Checks what every family shares: the seed must survive a JS number (the page, share links),
    /// so the CLI and the page always split and sample alike.
    pub fn validate(&self) -> Result<()> {
        if self.seed > crate::rng::MAX_SEED {
            return Err(Error::config(format!(
                "the seed must be at most {} (2^53 − 1), so the page can use it too (got {})",
                crate::rng::MAX_SEED,
                self.seed
            )));
        }
        Ok(())
    }
}

/// Where training stands, reported after every chunk of work.
#[derive(Serialize, Clone, Debug, PartialEq, Default)]
pub struct Progress {
    pub done: bool,
    /// What is happening now, e.g. `counting`.
    pub phase: String,
    pub step: u64,
    pub total_steps: u64,
    /// Training tokens processed so far.
    pub tokens: u64,
    /// Training loss (nats per token) of the latest step.
    pub train_loss: Option<f64>,
    /// The latest validation loss (nats per token), measured every `eval_interval` steps.
    pub valid_loss: Option<f64>,
    /// Learning rate of the latest step (neural models).
    pub lr: Option<f64>,
    /// Global gradient norm of the latest step, before clipping (neural models).
    pub grad_norm: Option<f64>,
    /// Milliseconds spent training so far (for steps/s and tokens/s).
    pub elapsed_ms: f64,
    /// Every step since the previous report: the points to append to the loss curve.
    pub points: Vec<LossPoint>,
}

/// Trains one model family. The session calls `step` repeatedly so the caller (the worker)
/// can pause, resume and stop between chunks.
pub trait Trainer {
    /// Does at most `budget` units of work (optimizer steps for neural models).
    fn step(&mut self, data: &Dataset, budget: u64) -> Result<Progress>;
    /// The model, once one exists (n-gram: after counting; neural: from initialisation on).
    fn model(&self) -> Option<&dyn LanguageModel>;
    /// Family-specific views (e.g. the n-gram "why this probability" trace); `None` if unknown.
    fn view(&self, _name: &str, _args: &Value, _data: &Dataset) -> Option<Result<Value>> {
        None
    }
    /// Receives progress reports from inside long steps (the CLI prints them; the page ignores them).
    fn set_progress(&mut self, _hook: ProgressHook) {}
    /// The model as an ARPA file, for families that have one (n-gram backoff models).
    fn arpa(&self) -> Option<Result<String>> {
        None
    }
    /// Tensors and training state for a model file; `None` if this family cannot be saved yet.
    fn save(&self) -> Option<(Vec<NamedTensor>, Value)> {
        None
    }
}

impl Trainer for FixedWindowTrainer {
    fn step(&mut self, data: &Dataset, budget: u64) -> Result<Progress> {
        FixedWindowTrainer::step(self, data, budget)
    }
    fn model(&self) -> Option<&dyn LanguageModel> {
        Some(&self.model)
    }
    fn view(&self, name: &str, args: &Value, data: &Dataset) -> Option<Result<Value>> {
        FixedWindowTrainer::view(self, name, args, data)
    }
    fn save(&self) -> Option<(Vec<NamedTensor>, Value)> {
        let (opt, _) = self.model.optimizer_state();
        let tensors = self
            .model
            .tensors()
            .into_iter()
            .chain(opt)
            .map(|(name, t)| NamedTensor::f32(name, &t.shape, t.data))
            .collect();
        Some((tensors, serde_json::to_value(self.state()).expect("json")))
    }
}

/// A progress callback: the phase (`counting`, `sorting`, `estimating`, …) and the fraction done.
pub type ProgressHook = Box<dyn FnMut(&'static str, f64)>;

pub(crate) fn str_arg<'a>(args: &'a Value, key: &str) -> Result<&'a str> {
    args.get(key).and_then(Value::as_str).ok_or_else(|| Error::config(format!("missing text argument '{key}'")))
}

/// The id of a token the user typed: the token itself if it is in the vocabulary, else `[UNK]`.
pub(crate) fn token_id(data: &Dataset, token: &str) -> Result<TokenId> {
    let toks = data.config.tokenizer.tokenize(token);
    match toks.as_slice() {
        [] if crate::text::vocab::is_special(token) => Ok(data.vocab.id(token)),
        [one] => Ok(data.vocab.id(one)),
        _ if crate::text::vocab::is_special(token) => Ok(data.vocab.id(token)),
        _ => Err(Error::config(format!("'{token}' is not a single token for this tokenizer"))),
    }
}

/// Summary after training: what the page shows under the Train button.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Report {
    pub model: ModelInfo,
    pub data: DataStats,
    pub validation: Perplexity,
}

pub struct Session {
    pub config: RunConfig,
    pub data: Dataset,
    trainer: Box<dyn Trainer>,
    /// Generation in progress (chunked, for the page).
    generator: Option<Generator>,
}

impl Session {
    /// Tokenizes and splits one corpus (seeded), ready to train.
    pub fn new(corpus: &str, config: RunConfig) -> Result<Session> {
        config.validate()?;
        let data = Dataset::from_corpus(corpus, &config.data, config.seed)?;
        Self::with_data(data, config)
    }

    /// Uses a separate training and test text, as `lmplay eval --train a --test b` does.
    pub fn with_split(train: &str, test: &str, config: RunConfig) -> Result<Session> {
        config.validate()?;
        let data = Dataset::from_split(train, test, &config.data)?;
        Self::with_data(data, config)
    }

    fn with_data(data: Dataset, config: RunConfig) -> Result<Session> {
        let trainer: Box<dyn Trainer> = match &config.model {
            ModelConfig::Ngram(c) => Box::new(NgramTrainer::new(c.clone())?),
            // Checks the memory estimate before allocating anything.
            ModelConfig::FixedWindow(c) => Box::new(FixedWindowTrainer::new(c.clone(), &data, config.seed)?),
        };
        Ok(Session { config, data, trainer, generator: None })
    }

    /// What the model needs in memory (neural models), for the page to show before training.
    pub fn estimate(&self) -> Option<MemoryEstimate> {
        self.config.model.estimate(self.data.vocab.len())
    }

    /// The model as a safetensors file (docs/formats.md).
    pub fn save(&self) -> Result<Vec<u8>> {
        let (tensors, state) = self
            .trainer
            .save()
            .ok_or_else(|| Error::new("cannot-save", format!("saving {} models is not supported yet", self.config.model.family())))?;
        modelfile::write(&ModelFile {
            family: self.config.model.family().into(),
            config: self.config.clone(),
            vocab: self.data.vocab.clone(),
            stats: self.data.stats.clone(),
            state,
            tensors,
        })
    }

    /// Restores a saved model: it can score, generate and show views at once. With the corpus it was
    /// trained on (`corpus`), the data split is rebuilt from the saved settings and seed, validation
    /// perplexity is available, and training can continue where it stopped; without one, the
    /// session has the vocabulary only.
    pub fn load(bytes: &[u8], corpus: Option<&str>) -> Result<Session> {
        let file = modelfile::read(bytes)?;
        let config = file.config.clone();
        if file.family != config.model.family() {
            return Err(Error::new("file-corrupt", "The model file is damaged: its family does not match its settings."));
        }
        let data = match corpus {
            Some(text) => {
                let d = Dataset::from_corpus(text, &config.data, config.seed)?;
                if d.vocab != file.vocab {
                    return Err(Error::new(
                        "vocab-mismatch",
                        "This corpus gives a different vocabulary than the one the model was trained with; load the model without it, or with its own corpus.",
                    ));
                }
                d
            }
            None => Dataset { config: config.data.clone(), vocab: file.vocab.clone(), train: Vec::new(), valid: Vec::new(), stats: file.stats.clone() },
        };
        let trainer: Box<dyn Trainer> = match &config.model {
            ModelConfig::FixedWindow(c) => {
                let mut model = FixedWindowModel::empty(c.clone(), file.vocab.clone())?;
                let tensors: Vec<(String, crate::nn::tensor::HostTensor)> = file
                    .tensors
                    .iter()
                    .filter_map(|t| match &t.data {
                        modelfile::TensorData::F32(v) => Some((t.name.clone(), crate::nn::tensor::HostTensor::new(&t.shape, v.clone()))),
                        _ => None,
                    })
                    .collect();
                model.set_tensors(&tensors)?;
                let state: fixed_window::TrainState =
                    serde_json::from_value(file.state.clone()).map_err(|e| Error::new("file-corrupt", format!("The model file is damaged: invalid training state ({e}).")))?;
                if model.set_optimizer_state(&tensors, state.optimizer_steps).is_err() {
                    // A file without optimizer moments still loads; training would restart the moments.
                    model.set_optimizer_state(&[], 0).ok();
                }
                let mut t = FixedWindowTrainer::with_model(model, &data, config.seed)?;
                t.restore(state);
                Box::new(t)
            }
            ModelConfig::Ngram(c) => Box::new(NgramTrainer::load(&file, c)?),
        };
        Ok(Session { config, data, trainer, generator: None })
    }

    /// A session whose model is read from an ARPA file (its vocabulary comes from the file); text is
    /// tokenized by `config.data`. Score text with [`Session::score`] or [`Session::set_validation_text`].
    pub fn from_arpa(arpa: &str, mut config: RunConfig) -> Result<Session> {
        let model = ArpaModel::parse(arpa)?;
        config.model = ModelConfig::Ngram(NgramConfig { order: model.order(), ..NgramConfig::default() });
        let data = Dataset::empty(&config.data, model.vocab().clone());
        Ok(Session { config, data, trainer: Box::new(ArpaTrainer::new(model)), generator: None })
    }

    /// The trained model as an ARPA file (backoff and interpolated n-gram models).
    pub fn arpa(&self) -> Result<String> {
        self.model()?;
        self.trainer
            .arpa()
            .unwrap_or_else(|| Err(Error::new("not-arpa", "This kind of model cannot be written as an ARPA file.")))
    }

    /// Sends progress reports of long training steps to `hook`.
    pub fn set_progress(&mut self, hook: ProgressHook) {
        self.trainer.set_progress(hook);
    }

    /// Perplexity of a text under the model, the text encoded like validation text.
    pub fn score(&self, text: &str) -> Result<Perplexity> {
        let model = self.model()?;
        Ok(perplexity(model, &Dataset::encode_text(&self.data.config, model.vocab(), text)))
    }

    /// Replaces the validation text (e.g. the test text scored by an imported ARPA model).
    pub fn set_validation_text(&mut self, text: &str) {
        self.data.set_valid(text);
    }

    /// One chunk of training.
    pub fn train_step(&mut self, budget: u64) -> Result<Progress> {
        self.trainer.step(&self.data, budget)
    }

    /// Trains to the end.
    pub fn train_to_end(&mut self) -> Result<Progress> {
        loop {
            let p = self.train_step(u64::MAX)?;
            if p.done {
                return Ok(p);
            }
        }
    }

    pub fn model(&self) -> Result<&dyn LanguageModel> {
        self.trainer.model().ok_or_else(|| Error::new("not-trained", "Train a model first."))
    }

    /// Validation perplexity and the numbers behind it.
    pub fn report(&self) -> Result<Report> {
        let model = self.model()?;
        Ok(Report { model: model.info(), data: self.data.stats.clone(), validation: perplexity(model, &self.data.valid) })
    }

    /// Generates after a prompt, handing each token to `on_token` (return false to stop).
    pub fn generate(&self, prompt: &str, cfg: &SampleConfig, on_token: impl FnMut(Generated) -> bool) -> Result<()> {
        let model = self.model()?;
        let prompt = Dataset::encode_prompt(&self.data.config, &self.data.vocab, prompt);
        generate(model, &self.data.config.tokenizer, &prompt, cfg, on_token)
    }

    /// Per-token probabilities of a text under the model (the page tints tokens by surprisal).
    /// The text is encoded like validation text; at most `SURPRISAL_MAX_TOKENS` tokens are scored.
    pub fn surprisal(&self, text: &str) -> Result<Value> {
        const SURPRISAL_MAX_TOKENS: usize = 5000;
        let model = self.model()?;
        let vocab = model.vocab();
        let tok = &self.data.config.tokenizer;
        let mut stream_ids = Dataset::encode_text(&self.data.config, vocab, text);
        let truncated = stream_ids.len() > SURPRISAL_MAX_TOKENS;
        stream_ids.truncate(SURPRISAL_MAX_TOKENS);
        let mut s = model.stream();
        let mut dist = vec![0.0; vocab.len()];
        let mut out = Vec::new();
        let mut prev: Option<TokenId> = None;
        for &t in &stream_ids {
            if t == crate::text::BOS {
                s.push(t);
                prev = None;
                continue;
            }
            s.distribution(&mut dist);
            let p = dist[t as usize];
            let token = vocab.token(t);
            let shown = if t == crate::text::EOS {
                "\n".to_string()
            } else {
                format!("{}{}", tok.joiner(prev.map(|p| vocab.token(p)), token), token)
            };
            let alternatives: Vec<Value> = crate::lm::sample::top_tokens(&dist, 3)
                .into_iter()
                .map(|(id, q)| json!({ "id": id, "token": vocab.token(id), "prob": q }))
                .collect();
            out.push(json!({
                "id": t, "token": token, "text": shown, "prob": p,
                "surprisal": -p.log2(), "oov": t == crate::text::UNK, "alternatives": alternatives,
            }));
            s.push(t);
            prev = Some(t);
        }
        let ppl = perplexity(model, &stream_ids);
        Ok(json!({ "tokens": out, "perplexity": ppl.perplexity, "m": ppl.m, "truncated": truncated }))
    }

    /// Starts a chunked generation (see [`Session::generate_chunk`]).
    pub fn start_generation(&mut self, prompt: &str, cfg: &SampleConfig) -> Result<()> {
        self.model()?;
        let prompt = Dataset::encode_prompt(&self.data.config, &self.data.vocab, prompt);
        self.generator = Some(Generator::new(&prompt, cfg)?);
        Ok(())
    }

    /// Generates up to `n` more tokens of the generation started last; returns true when it is done.
    pub fn generate_chunk(&mut self, n: usize, on_token: impl FnMut(Generated) -> bool) -> Result<bool> {
        let model = self.trainer.model().ok_or_else(|| Error::new("not-trained", "Train a model first."))?;
        let g = self.generator.as_mut().ok_or_else(|| Error::new("no-generation", "Start a generation first."))?;
        let done = g.next_chunk(model, &self.data.config.tokenizer, n, on_token)?;
        if done {
            self.generator = None;
        }
        Ok(done)
    }

    /// Named views of the trained model for the page; family-specific ones come from the trainer.
    pub fn view(&self, name: &str, args: &Value) -> Result<Value> {
        let model = self.model()?;
        match name {
            "next" => {
                let history = Dataset::encode_prompt(&self.data.config, &self.data.vocab, str_arg(args, "context")?);
                let k = args.get("k").and_then(Value::as_u64).unwrap_or(10) as usize;
                let mut s = model.stream();
                history.iter().for_each(|&t| s.push(t));
                let mut dist = vec![0.0; model.vocab().len()];
                s.distribution(&mut dist);
                let top: Vec<Value> = crate::lm::sample::top_tokens(&dist, k)
                    .into_iter()
                    .map(|(id, p)| json!({ "id": id, "token": model.vocab().token(id), "prob": p }))
                    .collect();
                let named = match args.get("token").and_then(Value::as_str) {
                    Some(t) if !t.is_empty() => {
                        let id = token_id(&self.data, t)?;
                        json!({ "id": id, "token": model.vocab().token(id), "prob": dist[id as usize] })
                    }
                    _ => Value::Null,
                };
                Ok(json!({ "top": top, "token": named }))
            }
            "surprisal" => self.surprisal(str_arg(args, "text")?),
            _ => self
                .trainer
                .view(name, args, &self.data)
                .unwrap_or_else(|| Err(Error::config(format!("no view named '{name}' for this model")))),
        }
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use super::*;

    #[test]
    fn config_json_round_trip_and_defaults() {
        let c = RunConfig::from_json(r#"{"seed": 7, "model": {"family": "ngram", "order": 4, "method": "addk", "k": 0.5}}"#).unwrap();
        assert_eq!(c.seed, 7);
        let ModelConfig::Ngram(n) = &c.model else { panic!("ngram") };
        assert_eq!((n.order, n.smoothing.k), (4, 0.5));
        assert_eq!(c.data, DataConfig::default());
        let back = RunConfig::from_json(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(back, c);
        assert_eq!(RunConfig::from_json(r#"{"model": {"family": "ngram", "method": "nope"}}"#).unwrap_err().code, "invalid-json");
    }

    #[test]
    fn seeds_beyond_a_js_number_are_refused() {
        let c = RunConfig { seed: (1 << 53) + 1, ..RunConfig::default() };
        let e = Session::new("a b\nc d\n", c).err().unwrap();
        assert_eq!(e.code, "invalid-config");
        assert!(Session::new("a b\nc d\n", RunConfig { seed: (1 << 53) - 1, ..RunConfig::default() }).is_ok());
    }

    #[test]
    fn odd_unicode_survives_every_tokenizer() {
        use crate::text::{Boundary, TokenizerKind};
        // NUL, BOM, zero-width joiner sequences, combining marks, RTL, CRLF line ends, lone CR,
        // astral-plane ideographs, private use, a line of only invisible characters.
        let corpus = "a\u{0}b \u{FEFF}start\r\n👩\u{200D}💻 codes\r\ne\u{301}\u{302} ok\nשָׁלוֹם עולם\n𠀀𠀁 \u{E000}\r\n\u{200B}\u{200B}\nend here\n"
            .repeat(4);
        for kind in [TokenizerKind::Char, TokenizerKind::Word, TokenizerKind::Whitespace] {
            for boundary in [Boundary::Line, Boundary::Sentence, Boundary::None] {
                // So small a corpus needs modified Kneser-Ney's fallback discounts.
                let mut c = RunConfig::from_json(r#"{"model": {"family": "ngram", "discount_fallback": true}}"#).unwrap();
                c.data.tokenizer.kind = kind;
                c.data.boundary = boundary;
                let mut s = Session::new(&corpus, c).unwrap();
                s.train_to_end().unwrap();
                let r = s.report().unwrap();
                assert!(r.validation.perplexity.is_finite(), "{kind:?} {boundary:?}");
                let mut out = String::new();
                s.generate("👩\u{200D}", &SampleConfig { length: 20, ..Default::default() }, |g| {
                    out.push_str(&g.text);
                    true
                })
                .unwrap();
                assert!(s.surprisal("\u{0}\u{FEFF}e\u{301}").is_ok());
            }
        }
    }

    #[test]
    fn session_trains_reports_and_generates_reproducibly() {
        let corpus = "to be or not to be\nthat is the question\nwhether tis nobler in the mind\nto suffer\n".repeat(5);
        // So small a corpus needs modified Kneser-Ney's fallback discounts.
        let config = RunConfig::from_json(r#"{"model": {"family": "ngram", "discount_fallback": true}}"#).unwrap();
        let mut s = Session::new(&corpus, config.clone()).unwrap();
        assert!(s.report().is_err());
        assert!(s.train_to_end().unwrap().done);
        let r = s.report().unwrap();
        assert!(r.validation.perplexity.is_finite() && r.validation.perplexity > 1.0);
        let run = |seed| {
            let mut out = String::new();
            let cfg = SampleConfig { length: 30, seed, ..Default::default() };
            s.generate("to", &cfg, |g| {
                out.push_str(&g.text);
                true
            })
            .unwrap();
            out
        };
        assert_eq!(run(3), run(3));
        // Chunked generation gives the same text as one call.
        let mut chunked = String::new();
        let cfg = SampleConfig { length: 30, seed: 3, ..Default::default() };
        let mut s2 = Session::new(&corpus, config).unwrap();
        s2.train_to_end().unwrap();
        s2.start_generation("to", &cfg).unwrap();
        while !s2.generate_chunk(7, |g| {
            chunked.push_str(&g.text);
            true
        })
        .unwrap()
        {}
        assert_eq!(chunked, run(3));
        let next = s.view("next", &json!({"context": "to", "k": 3, "token": "be"})).unwrap();
        assert_eq!(next["top"].as_array().unwrap().len(), 3);
        assert_eq!(next["token"]["token"], "be");
        let sur = s.view("surprisal", &json!({"text": "to be\nor not"})).unwrap();
        let toks = sur["tokens"].as_array().unwrap();
        assert_eq!(toks.len(), 6); // to be </s> or not </s>
        assert_eq!(toks[1]["text"], " be");
        assert_eq!(toks[2]["text"], "\n");
        assert_eq!(sur["m"], 6);
        let why = s.view("explain", &json!({"context": "to", "token": "be"})).unwrap();
        assert_eq!(why["token"], "be");
    }
}
