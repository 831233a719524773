//! One playground run (layer 6): the settings, the tokenized data, and the model being trained.
//! The CLI and the wasm facade both drive this, so the page and `lmplay` compute the same numbers.
//! Families are found through the registry (`crate::families`): nothing here names one, except
//! the ARPA reader, which makes a session out of a file rather than settings.

pub use crate::config::{ModelConfig, RunConfig};
use crate::families;
use crate::lm::eval::{perplexity, Perplexity};
use crate::lm::sample::{generate, Generated, Generator, SampleConfig};
use crate::lm::windows::{window_loss, EvalProtocol, WindowLoss};
use crate::lm::{LanguageModel, ModelInfo};
use crate::modelfile::{self, FileMeta};
use crate::ngram::arpa::ArpaModel;
use crate::ngram::trainer::ArpaTrainer;
use crate::ngram::NgramConfig;
use crate::nn::backend::{cpu::Cpu, Backend};
use crate::text::{DataStats, Dataset};
pub use crate::train::{Device, MemoryEstimate, Progress, ProgressHook};
use crate::train::args::{str_arg, token_id};
use crate::train::{train_chunk, Chunk, Trainer};
use crate::{Error, Result};
use serde::Serialize;
use serde_json::{json, Value};
use std::rc::Rc;

/// The device a session computes on when its caller names none: the CPU with the target's fastest
/// kernels. The page's worker creates its own device (possibly asynchronously) and passes it in.
pub fn cpu_device() -> Device {
    Device::new("cpu", Box::new(Cpu::new()) as Box<dyn Backend>)
}

/// Summary after training: what the page shows under the Train button.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Report {
    pub model: ModelInfo,
    pub data: DataStats,
    pub validation: Perplexity,
    /// Validation bits per character: l·m over the characters the tokens cover. Per-token
    /// perplexities of different tokenizers are not comparable (a token is a byte, a character, a
    /// subword or a word); this is. None without validation text.
    pub bits_per_char: Option<f64>,
    /// nanoGPT's validation loss over random windows (`lm::windows`), when the run asks for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub windows: Option<WindowLoss>,
}

pub struct Session {
    pub config: RunConfig,
    pub data: Dataset,
    trainer: Box<dyn Trainer>,
    /// Generation in progress (chunked, for the page); it keeps the model's stream between chunks.
    generator: Option<Generator>,
}

impl Session {
    /// Tokenizes and splits one corpus (seeded), ready to train on the CPU.
    pub fn new(corpus: &str, config: RunConfig) -> Result<Session> {
        Self::with_device(corpus, config, cpu_device())
    }

    /// The same, computing on `device`.
    pub fn with_device(corpus: &str, config: RunConfig, device: Device) -> Result<Session> {
        Self::with_device_progress(corpus, config, device, &mut |_, _| {})
    }

    /// The same, reporting `progress(merges done, merges wanted)` while a BPE tokenizer learns.
    pub fn with_device_progress(corpus: &str, config: RunConfig, device: Device, progress: &mut dyn FnMut(usize, usize)) -> Result<Session> {
        let config = config.validated()?;
        let data = Dataset::from_corpus_with(corpus, &config.data, config.seed, progress)?;
        Self::with_data(data, config, device)
    }

    /// Uses a separate training and test text, as `lmplay eval --train a --test b` does.
    pub fn with_split(train: &str, test: &str, config: RunConfig) -> Result<Session> {
        Self::with_split_on(train, test, config, cpu_device())
    }

    /// The same, computing on `device`.
    pub fn with_split_on(train: &str, test: &str, config: RunConfig, device: Device) -> Result<Session> {
        let config = config.validated()?;
        let data = Dataset::from_split(train, test, &config.data)?;
        Self::with_data(data, config, device)
    }

    fn with_data(data: Dataset, config: RunConfig, device: Device) -> Result<Session> {
        // A neural family checks its memory estimate before allocating anything.
        let trainer = families::find(config.model.family())?.trainer(&config.model.settings(), &data, config.seed, device)?;
        Ok(Session { config, data, trainer, generator: None })
    }

    /// What the model needs in memory (neural models), for the page to show before training.
    pub fn estimate(&self) -> Option<MemoryEstimate> {
        self.trainer.estimate()
    }

    /// What saving must first read from an asynchronous device (WebGPU in the browser): await it and
    /// pass the values to [`Session::save_prefetched`], then [`Session::save`]. `None` elsewhere.
    pub fn save_prefetch(&mut self) -> Option<crate::train::Readback> {
        self.trainer.save_prefetch()
    }
    pub fn save_prefetched(&mut self, values: Vec<Vec<f32>>) {
        self.trainer.save_prefetched(values)
    }

    /// The model as a safetensors file (docs/formats.md).
    pub fn save(&self) -> Result<Vec<u8>> {
        let (mut tensors, state) = self
            .trainer
            .save()
            .ok_or_else(|| Error::new("cannot-save", format!("saving {} models is not supported", self.config.model.family())))??;
        let config = serde_json::to_value(&self.config).expect("json");
        let meta = FileMeta { family: self.config.model.family(), config: &config, vocab: &self.data.vocab, stats: &self.data.stats, state: &state };
        modelfile::write_from(meta, tensors.as_mut())
    }

    /// Restores a saved model: it can score, generate and show views at once. With the corpus it was
    /// trained on (`corpus`), the data split is rebuilt from the saved settings and seed, validation
    /// perplexity is available, and training can continue where it stopped; without one, the
    /// session has the vocabulary only.
    pub fn load(bytes: &[u8], corpus: Option<&str>) -> Result<Session> {
        Self::load_on(bytes, corpus, cpu_device())
    }

    /// The same, computing on `device`.
    pub fn load_on(bytes: &[u8], corpus: Option<&str>, device: Device) -> Result<Session> {
        let mut file = modelfile::read(bytes)?;
        let damaged = |why: String| Error::new("file-corrupt", format!("The model file is damaged: {why}."));
        let config: RunConfig = serde_json::from_value(file.config.clone()).map_err(|e| damaged(format!("invalid settings ({e})")))?;
        if file.family != config.model.family() {
            return Err(damaged("its family does not match its settings".into()));
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
        let trainer = families::find(&file.family)?.load(&mut file, &data, device)?;
        Ok(Session { config, data, trainer, generator: None })
    }

    /// A session whose model is read from an ARPA file (its vocabulary comes from the file); text is
    /// tokenized by `config.data`. Score text with [`Session::score`] or [`Session::set_validation_text`].
    pub fn from_arpa(arpa: &str, mut config: RunConfig) -> Result<Session> {
        let model = ArpaModel::parse(arpa)?;
        config.model = ModelConfig::new("ngram", &NgramConfig { order: model.order(), ..NgramConfig::default() });
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
        Ok(perplexity(&*model, &Dataset::encode_text(&self.data.config, model.vocab(), text)))
    }

    /// Replaces the validation text (e.g. the test text scored by an imported ARPA model).
    pub fn set_validation_text(&mut self, text: &str) {
        self.data.set_valid(text);
    }

    /// One chunk of training, for synchronous callers: records up to `budget` steps, waits for the
    /// chunk's one readback and reports.
    pub fn train_step(&mut self, budget: u64) -> Result<Progress> {
        train_chunk(self.trainer.as_mut(), &self.data, budget)
    }

    /// The first half of a chunk for asynchronous callers (the worker): records the work and hands
    /// back the readback to await — with no borrow of the session held — before [`Session::finish_chunk`].
    pub fn start_chunk(&mut self, budget: u64) -> Result<Chunk> {
        self.trainer.run(&self.data, budget)
    }

    /// The second half: the awaited readback's values in, the progress out.
    pub fn finish_chunk(&mut self, values: Vec<Vec<f32>>) -> Result<Progress> {
        self.trainer.finish(&self.data, values)
    }

    /// The data and the trainer, for tests that drive chunks by hand.
    #[cfg(all(test, not(target_arch = "wasm32")))]
    pub(crate) fn parts_for_tests(&mut self) -> (&Dataset, &mut dyn Trainer) {
        (&self.data, self.trainer.as_mut())
    }

    /// Trains to `steps` optimizer steps from here on ("train more"): the trainer's count and the
    /// config a saved file carries. The optimizer state and the loss history are kept.
    pub fn set_steps(&mut self, steps: u64) -> Result<()> {
        self.trainer.set_steps(steps)?;
        self.config.model.set_train_steps(steps);
        Ok(())
    }

    /// Whether training can be interrupted between chunks (n-gram counting cannot).
    pub fn stoppable(&self) -> bool {
        self.trainer.stoppable()
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

    pub fn model(&self) -> Result<Rc<dyn LanguageModel>> {
        self.trainer.model().ok_or_else(|| Error::new("not-trained", "Train a model first."))
    }

    /// Ok if the model can generate text; the reason why not otherwise.
    pub fn can_generate(&self) -> Result<()> {
        self.generative_model().map(|_| ())
    }

    /// The model, if it can generate: one that reads ahead (bidirectional) cannot.
    fn generative_model(&self) -> Result<Rc<dyn LanguageModel>> {
        let model = self.model()?;
        if !model.info().generative {
            return Err(Error::new(
                "not-generative",
                "This model cannot generate text: it is bidirectional, so every prediction it was trained to make \
                 read the token it predicts (its backward direction reads the text from the end). It never learned \
                 P(next token | text so far), which generation needs. Train a unidirectional model to generate.",
            ));
        }
        Ok(model)
    }

    /// Validation perplexity and the numbers behind it (and nanoGPT's window loss if asked for).
    pub fn report(&self) -> Result<Report> {
        let model = self.model()?;
        let windows = match self.config.eval.protocol {
            EvalProtocol::Windows => Some(window_loss(&*model, &self.data.valid, &self.config.eval, self.config.seed)?),
            EvalProtocol::Stream => None,
        };
        let validation = perplexity(&*model, &self.data.valid);
        let chars = self.data.stats.valid_chars;
        let bits_per_char = (chars > 0 && validation.m > 0).then(|| validation.bits_per_token * validation.m as f64 / chars as f64);
        Ok(Report { model: model.info(), data: self.data.stats.clone(), validation, bits_per_char, windows })
    }

    /// Generates after a prompt, handing each token to `on_token` (return false to stop).
    pub fn generate(&self, prompt: &str, cfg: &SampleConfig, on_token: impl FnMut(Generated) -> bool) -> Result<()> {
        let model = self.generative_model()?;
        let prompt = Dataset::encode_prompt(&self.data.config, &self.data.vocab, prompt);
        generate(&*model, &self.data.config.tokenizer, &prompt, cfg, on_token)
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
        let mut detok = crate::text::Detokenizer::default();
        for &t in &stream_ids {
            if t == crate::text::BOS {
                s.push(t);
                detok.push(tok, vocab, t);
                continue;
            }
            s.distribution(&mut dist);
            let p = dist[t as usize];
            let token = vocab.token(t);
            // A BPE token that ends inside a character shows nothing: the token completing it shows it.
            let shown = detok.push(tok, vocab, t);
            let alternatives: Vec<Value> = crate::lm::sample::top_tokens(&dist, 3)
                .into_iter()
                .map(|(id, q)| json!({ "id": id, "token": vocab.token(id), "prob": q }))
                .collect();
            out.push(json!({
                "id": t, "token": token, "text": shown, "prob": p,
                "surprisal": -p.log2(), "oov": t == crate::text::UNK, "partial": detok.is_pending(), "alternatives": alternatives,
            }));
            s.push(t);
        }
        let ppl = perplexity(&*model, &stream_ids);
        Ok(json!({ "tokens": out, "perplexity": ppl.perplexity, "m": ppl.m, "truncated": truncated }))
    }

    /// Starts a chunked generation (see [`Session::generate_chunk`]).
    pub fn start_generation(&mut self, prompt: &str, cfg: &SampleConfig) -> Result<()> {
        let model = self.generative_model()?;
        let prompt = Dataset::encode_prompt(&self.data.config, &self.data.vocab, prompt);
        self.generator = Some(Generator::new(model, &prompt, cfg)?);
        Ok(())
    }

    /// Generates up to `n` more tokens of the generation started last; returns true when it is done.
    /// The model's stream carries over between chunks (each token is pushed once).
    pub fn generate_chunk(&mut self, n: usize, on_token: impl FnMut(Generated) -> bool) -> Result<bool> {
        let g = self.generator.as_mut().ok_or_else(|| Error::new("no-generation", "Start a generation first."))?;
        let done = g.next_chunk(&self.data.config.tokenizer, n, on_token)?;
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
            "merges" => crate::text::bpe_view::merges_view(&self.data, args),
            // Accuracy against distance on a long-range task (any model: through its stream).
            "long-range" => {
                let task = crate::tasks::find(args.get("task").and_then(Value::as_str).unwrap_or("copy-memory"))?;
                let n = args.get("examples").and_then(Value::as_u64).map_or(crate::tasks::accuracy::DEFAULT_EXAMPLES, |n| n as usize);
                let seed = args.get("seed").and_then(Value::as_u64).unwrap_or(7);
                let r = crate::tasks::accuracy::accuracy_by_distance(&*model, &self.data.config, task, n, seed)?;
                Ok(serde_json::to_value(r).expect("json"))
            }
            _ => self
                .trainer
                .view(name, args, &self.data)
                .unwrap_or_else(|| Err(Error::setting("no-view", format!("no view named '{name}' for this model")).with("name", name))),
        }
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use super::*;

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
