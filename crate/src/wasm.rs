//! The thin `#[wasm_bindgen]` facade the page's Web Worker calls. All logic lives in plain Rust
//! ([`Session`]); this file only converts between JS values and Rust types.
//! Settings cross the boundary as JSON text (the same JSON share links and the CLI's `--config` use);
//! results come back as plain JS objects. Errors are JS `Error`s with a stable `code` property.

use crate::lm::sample::SampleConfig;
use crate::session::{RunConfig, Session};
use crate::Error;
use serde::Serialize;
use wasm_bindgen::prelude::*;

fn to_js<T: Serialize + ?Sized>(v: &T) -> Result<JsValue, JsValue> {
    v.serialize(&serde_wasm_bindgen::Serializer::new().serialize_maps_as_objects(true))
        .map_err(|e| JsValue::from(js_sys::Error::new(&e.to_string())))
}

fn to_js_error(e: Error) -> JsValue {
    let err = js_sys::Error::new(&e.message);
    let _ = js_sys::Reflect::set(&err, &"code".into(), &e.code.into());
    err.into()
}

fn parse<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, JsValue> {
    serde_json::from_str(json).map_err(|e| to_js_error(Error::from(e)))
}

#[wasm_bindgen(start)]
pub fn start() {
    // A panic aborts the module (it traps). Hand its message to the host first: the worker reports
    // it to the page, which starts a fresh worker. `lmplayPanic` is defined by www/worker.js.
    std::panic::set_hook(Box::new(|info| {
        let msg: JsValue = info.to_string().into();
        web_sys::console::error_1(&msg);
        let global = js_sys::global();
        if let Ok(f) = js_sys::Reflect::get(&global, &"lmplayPanic".into()) {
            if let Some(f) = wasm_bindgen::JsCast::dyn_ref::<js_sys::Function>(&f) {
                let _ = f.call1(&global, &msg);
            }
        }
    }));
}

/// One playground session in the worker.
#[wasm_bindgen]
pub struct Playground {
    session: Option<Session>,
}

impl Default for Playground {
    fn default() -> Self {
        Self::new()
    }
}

#[wasm_bindgen]
impl Playground {
    #[wasm_bindgen(constructor)]
    pub fn new() -> Playground {
        Playground { session: None }
    }

    fn session(&self) -> Result<&Session, JsValue> {
        self.session.as_ref().ok_or_else(|| to_js_error(Error::new("not-trained", "Train a model first.")))
    }

    /// Tokenizes and splits the corpus under the settings (JSON); returns the data statistics.
    pub fn prepare(&mut self, corpus: &str, config_json: &str) -> Result<JsValue, JsValue> {
        self.session = None;
        let config: RunConfig = parse(config_json)?;
        let s = Session::new(corpus, config).map_err(to_js_error)?;
        let stats = to_js(&s.data.stats)?;
        self.session = Some(s);
        Ok(stats)
    }

    /// Runs one chunk of training (at most `budget` steps); returns the progress.
    pub fn train(&mut self, budget: f64) -> Result<JsValue, JsValue> {
        let s = self.session.as_mut().ok_or_else(|| to_js_error(Error::new("not-prepared", "No corpus loaded.")))?;
        let p = s.train_step(budget.max(1.0) as u64).map_err(to_js_error)?;
        to_js(&p)
    }

    /// Model summary, data statistics and validation perplexity.
    pub fn report(&self) -> Result<JsValue, JsValue> {
        to_js(&self.session()?.report().map_err(to_js_error)?)
    }

    /// Starts a chunked generation after `prompt` (see `generateNext`).
    #[wasm_bindgen(js_name = generateStart)]
    pub fn generate_start(&mut self, prompt: &str, sample_json: &str) -> Result<(), JsValue> {
        let cfg: SampleConfig = parse(sample_json)?;
        let s = self.session.as_mut().ok_or_else(|| to_js_error(Error::new("not-trained", "Train a model first.")))?;
        s.start_generation(prompt, &cfg).map_err(to_js_error)
    }

    /// Generates up to `n` more tokens, calling `on_token(token)` for each; returns true when done.
    #[wasm_bindgen(js_name = generateNext)]
    pub fn generate_next(&mut self, n: u32, on_token: &js_sys::Function) -> Result<bool, JsValue> {
        let s = self.session.as_mut().ok_or_else(|| to_js_error(Error::new("not-trained", "Train a model first.")))?;
        let mut failure = None;
        let done = s
            .generate_chunk(n as usize, |g| match to_js(&g).and_then(|v| on_token.call1(&JsValue::NULL, &v)) {
                Ok(_) => true,
                Err(e) => {
                    failure = Some(e);
                    false
                }
            })
            .map_err(to_js_error)?;
        failure.map_or(Ok(done), Err)
    }

    /// A named view of the trained model (`next`, `explain`, ...), with JSON arguments.
    pub fn view(&self, name: &str, args_json: &str) -> Result<JsValue, JsValue> {
        let args: serde_json::Value = parse(args_json)?;
        to_js(&self.session()?.view(name, &args).map_err(to_js_error)?)
    }

    /// Makes a model read from an ARPA file (KenLM's, SRILM's or an exported one) the session's model.
    /// Its vocabulary comes from the file; `valid_text` (may be empty) is tokenized by the settings
    /// (JSON) and becomes the validation text `report` scores. Returns the report.
    #[wasm_bindgen(js_name = loadArpa)]
    pub fn load_arpa(&mut self, arpa: &str, config_json: &str, valid_text: &str) -> Result<JsValue, JsValue> {
        self.session = None;
        let config: RunConfig = parse(config_json)?;
        let mut s = Session::from_arpa(arpa, config).map_err(to_js_error)?;
        s.set_validation_text(valid_text);
        let report = to_js(&s.report().map_err(to_js_error)?)?;
        self.session = Some(s);
        Ok(report)
    }

    /// The current model as ARPA text (backoff and interpolated n-gram models).
    #[wasm_bindgen(js_name = exportArpa)]
    pub fn export_arpa(&self) -> Result<String, JsValue> {
        self.session()?.arpa().map_err(to_js_error)
    }

    /// Perplexity of a text under the current model (the same numbers as `report`'s validation).
    pub fn score(&self, text: &str) -> Result<JsValue, JsValue> {
        to_js(&self.session()?.score(text).map_err(to_js_error)?)
    }

    /// Memory the prepared model needs (parameters, gradients, optimizer state, activations, budget),
    /// or `null` for count models. `prepare` already refuses (code `model-too-large`) a model over budget.
    pub fn estimate(&self) -> Result<JsValue, JsValue> {
        match self.session()?.estimate() {
            Some(e) => to_js(&e),
            None => Ok(JsValue::NULL),
        }
    }

    /// The trained (or training) model as a safetensors file, for a download.
    pub fn save(&self) -> Result<Vec<u8>, JsValue> {
        self.session()?.save().map_err(to_js_error)
    }

    /// Restores a saved model (an uploaded file). With `corpus` (the text it was trained on), the split is
    /// rebuilt from the saved settings, the validation report works and training can continue; without,
    /// the model can generate, score and show views. Returns `{ config, stats, model, progress }`;
    /// `config` is the saved settings JSON text. Errors: `file-truncated`, `file-corrupt`,
    /// `file-wrong-format`, `file-version`, `vocab-mismatch`.
    pub fn load(&mut self, bytes: &[u8], corpus: Option<String>) -> Result<JsValue, JsValue> {
        self.session = None;
        let s = Session::load(bytes, corpus.as_deref()).map_err(to_js_error)?;
        let out = serde_json::json!({
            "config": serde_json::to_string(&s.config).expect("serializable"),
            "stats": s.data.stats,
            "model": s.model().map_err(to_js_error)?.info(),
            "history": s.view("history", &serde_json::json!({})).ok().map(|h| h["points"].clone()),
        });
        self.session = Some(s);
        to_js(&out)
    }

    /// The settings of the current session as JSON.
    pub fn config(&self) -> Result<String, JsValue> {
        Ok(serde_json::to_string(&self.session()?.config).expect("serializable"))
    }
}

/// A fresh random seed (from `crypto.getRandomValues`), small enough to be a JS number.
#[wasm_bindgen(js_name = freshSeed)]
pub fn fresh_seed() -> f64 {
    crate::rng::fresh_seed() as f64
}

/// Runs one benchmark case (see `crate::bench`) with JSON arguments; returns its JSON result.
#[wasm_bindgen]
pub fn bench(name: &str, args_json: &str) -> Result<JsValue, JsValue> {
    let args: serde_json::Value = parse(args_json)?;
    to_js(&crate::bench::run(name, &args).map_err(to_js_error)?)
}

/// Memory a model configuration (settings JSON) needs for a vocabulary of `vocab_size` ids, before
/// anything is prepared; `null` for count models.
/// Tokenizes and splits a corpus under the settings and returns its statistics, without building a
/// model: the page uses the vocabulary size for a memory estimate while the user turns the knobs.
#[wasm_bindgen(js_name = dataStats)]
pub fn data_stats(corpus: &str, config_json: &str) -> Result<JsValue, JsValue> {
    let config: RunConfig = parse(config_json)?;
    let d = crate::text::Dataset::from_corpus(corpus, &config.data, config.seed).map_err(to_js_error)?;
    to_js(&d.stats)
}

#[wasm_bindgen(js_name = estimateMemory)]
pub fn estimate_memory(config_json: &str, vocab_size: f64) -> Result<JsValue, JsValue> {
    let config: RunConfig = parse(config_json)?;
    match config.model.estimate(vocab_size.max(3.0) as usize) {
        Some(e) => to_js(&e),
        None => Ok(JsValue::NULL),
    }
}

/// The kernel flavour this module runs (`simd128`, or `relaxed-simd` for the relaxed build).
#[wasm_bindgen]
pub fn kernels() -> String {
    crate::nn::kernels::best().name.into()
}

#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").into()
}
