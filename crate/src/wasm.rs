//! The thin `#[wasm_bindgen]` facade the page's Web Worker calls. All logic lives in plain Rust
//! ([`Session`]); this file only converts between JS values and Rust types.
//! Settings cross the boundary as JSON text (the same JSON share links and the CLI's `--config` use);
//! results come back as plain JS objects. Errors are JS `Error`s with a stable `code` property.

use crate::devices::{Chosen, DeviceChoice, DeviceReport};
use crate::lm::sample::SampleConfig;
use crate::nn::backend::gpu::{GpuContext, NoGpu};
use crate::session::{RunConfig, Session};
use crate::Error;
use serde::Serialize;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

fn to_js<T: Serialize + ?Sized>(v: &T) -> Result<JsValue, JsValue> {
    v.serialize(&serde_wasm_bindgen::Serializer::new().serialize_maps_as_objects(true))
        .map_err(|e| JsValue::from(js_sys::Error::new(&e.to_string())))
}

fn to_js_error(e: Error) -> JsValue {
    let err = js_sys::Error::new(&e.message);
    let _ = js_sys::Reflect::set(&err, &"code".into(), &e.code.into());
    // The message's key and figures: the page words it in the user's language (www/lib/errors.js).
    if let Some(d) = &e.detail {
        let _ = js_sys::Reflect::set(&err, &"key".into(), &d.key.into());
        if let Ok(params) = to_js(&d.params) {
            let _ = js_sys::Reflect::set(&err, &"params".into(), &params);
        }
    }
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

/// A compute device for a model. Created asynchronously — a GPU device is (`requestAdapter`,
/// `requestDevice`) — by the worker, and handed to `prepare` or `load`, which take it over. Kinds:
/// `cpu` (wasm SIMD), `gpu` (WebGPU, also a software adapter) and `auto` (`crate::devices`: a
/// hardware WebGPU adapter where there is one and the model fits it, else the CPU).
#[wasm_bindgen]
pub struct Device {
    inner: Option<Chosen>,
}

thread_local! {
    /// The page's one GPU device, requested on first use and shared by every model after it.
    static GPU: RefCell<Option<std::result::Result<Rc<GpuContext>, NoGpu>>> = const { RefCell::new(None) };
}

async fn gpu_context() -> std::result::Result<Rc<GpuContext>, NoGpu> {
    if let Some(r) = GPU.with(|g| g.borrow().clone()) {
        return r;
    }
    let r = GpuContext::request().await.map(Rc::new);
    GPU.with(|g| *g.borrow_mut() = Some(r.clone()));
    r
}

#[wasm_bindgen]
impl Device {
    /// `await Device.create("auto")` (or `"cpu"`, `"gpu"`). `gpu` fails with `no-gpu` where the
    /// browser has no WebGPU adapter.
    pub async fn create(kind: String) -> Result<Device, JsValue> {
        let choice: DeviceChoice = kind.parse().map_err(to_js_error)?;
        let gpu = if choice == DeviceChoice::Cpu { Err(NoGpu("not asked".into())) } else { gpu_context().await };
        Ok(Device { inner: Some(Chosen::new(choice, gpu, true).map_err(to_js_error)?) })
    }

    pub fn name(&self) -> String {
        self.inner.as_ref().map_or("used".into(), |d| d.report.backend.clone())
    }

    /// `{ choice, backend, adapter, reason, why }`: what will run and why (before a model is built).
    pub fn report(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.as_ref().map(|d| &d.report))
    }
}

/// The browser's WebGPU adapter (`{ name, backend, device_type, software, … }`), or `null` with no
/// WebGPU: what the page shows beside its backend control.
#[wasm_bindgen(js_name = gpuAdapter)]
pub async fn gpu_adapter() -> Result<JsValue, JsValue> {
    to_js(&gpu_context().await.ok().map(|c| c.adapter.clone()))
}

/// `[[name, entry, wgsl], …]`: every GPU kernel's module, for a test that compiles them with the
/// browser's WGSL compiler.
#[wasm_bindgen(js_name = kernelSources)]
pub fn kernel_sources() -> Result<JsValue, JsValue> {
    to_js(&crate::nn::backend::gpu::Gpu::kernel_sources())
}

fn take_device(d: Option<Device>) -> Result<Chosen, JsValue> {
    match d {
        None => Chosen::new(DeviceChoice::Cpu, Err(NoGpu("not asked".into())), true).map_err(to_js_error),
        Some(mut d) => d.inner.take().ok_or_else(|| to_js_error(Error::new("device-used", "This device already belongs to a model; create another."))),
    }
}

/// A settled promise: what a synchronous result looks like to a caller that awaits every call.
fn promise(r: Result<JsValue, JsValue>) -> js_sys::Promise {
    match r {
        Ok(v) => js_sys::Promise::resolve(&v),
        Err(e) => js_sys::Promise::reject(&e),
    }
}

/// One playground session in the worker. Methods that may read from the device return Promises
/// (`train`, `report`, `score`, `view`, `generateNext`, `save`): on a GPU a readback completes only
/// after the queue drains. The session sits in an `Rc<RefCell<…>>` and is borrowed only between
/// awaits; the worker runs one call at a time (its lock), so borrows never collide.
#[wasm_bindgen]
pub struct Playground {
    session: Rc<RefCell<Option<Session>>>,
    /// What runs the model and why (`device()`).
    device: RefCell<Option<DeviceReport>>,
}

impl Default for Playground {
    fn default() -> Self {
        Self::new()
    }
}

fn not_trained() -> JsValue {
    to_js_error(Error::new("not-trained", "Train a model first."))
}

impl Playground {
    fn with<T>(&self, f: impl FnOnce(&Session) -> Result<T, JsValue>) -> Result<T, JsValue> {
        let s = self.session.try_borrow().map_err(|_| to_js_error(Error::new("busy", "The model is busy with another call.")))?;
        f(s.as_ref().ok_or_else(not_trained)?)
    }
    fn with_mut<T>(&self, f: impl FnOnce(&mut Session) -> Result<T, JsValue>) -> Result<T, JsValue> {
        let mut s = self.session.try_borrow_mut().map_err(|_| to_js_error(Error::new("busy", "The model is busy with another call.")))?;
        f(s.as_mut().ok_or_else(not_trained)?)
    }
}

#[wasm_bindgen]
impl Playground {
    #[wasm_bindgen(constructor)]
    pub fn new() -> Playground {
        Playground { session: Rc::new(RefCell::new(None)), device: RefCell::new(None) }
    }

    /// Tokenizes and splits the corpus under the settings (JSON) and builds the model on `device`
    /// (the CPU if none); returns the data statistics. A BPE tokenizer calls `on_merges(done, wanted)`
    /// as it learns its merges.
    pub fn prepare(&self, corpus: &str, config_json: &str, device: Option<Device>, on_merges: Option<js_sys::Function>) -> Result<JsValue, JsValue> {
        *self.session.borrow_mut() = None;
        let config: RunConfig = parse(config_json)?;
        let mut progress = |done: usize, wanted: usize| {
            if let Some(f) = &on_merges {
                let _ = f.call2(&JsValue::NULL, &JsValue::from(done as f64), &JsValue::from(wanted as f64));
            }
        };
        let (s, report) = take_device(device)?.session(|d| Session::with_device_progress(corpus, config.clone(), d, &mut progress)).map_err(to_js_error)?;
        *self.device.borrow_mut() = Some(report);
        let stats = to_js(&s.data.stats)?;
        *self.session.borrow_mut() = Some(s);
        Ok(stats)
    }

    /// Runs one chunk of training (at most `budget` steps); resolves to the progress. The chunk's
    /// results come back in one readback, awaited with no borrow of the session held.
    pub fn train(&self, budget: f64) -> js_sys::Promise {
        let cell = self.session.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let chunk = {
                let mut s = cell.borrow_mut();
                let s = s.as_mut().ok_or_else(|| to_js_error(Error::new("not-prepared", "No corpus loaded.")))?;
                s.start_chunk(budget.max(1.0) as u64).map_err(to_js_error)?
            };
            let values = chunk.readback.await;
            let p = cell.borrow_mut().as_mut().ok_or_else(not_trained)?.finish_chunk(values).map_err(to_js_error)?;
            to_js(&p)
        })
    }

    /// Sets the step count to train to ("train more": Continue after a stop or a finished run); the
    /// optimizer state and the loss curve are kept.
    #[wasm_bindgen(js_name = setSteps)]
    pub fn set_steps(&self, steps: f64) -> Result<(), JsValue> {
        self.with_mut(|s| s.set_steps(steps.max(0.0) as u64).map_err(to_js_error))
    }

    /// Whether a running training can be stopped between chunks (n-gram counting cannot).
    pub fn stoppable(&self) -> Result<bool, JsValue> {
        self.with(|s| Ok(s.stoppable()))
    }

    /// Model summary, data statistics and validation perplexity.
    pub fn report(&self) -> js_sys::Promise {
        promise(self.with(|s| to_js(&s.report().map_err(to_js_error)?)))
    }

    /// Starts a chunked generation after `prompt` (see `generateNext`).
    #[wasm_bindgen(js_name = generateStart)]
    pub fn generate_start(&self, prompt: &str, sample_json: &str) -> Result<(), JsValue> {
        let cfg: SampleConfig = parse(sample_json)?;
        self.with_mut(|s| s.start_generation(prompt, &cfg).map_err(to_js_error))
    }

    /// Generates up to `n` more tokens, calling `on_token(token)` for each; resolves to true when done.
    #[wasm_bindgen(js_name = generateNext)]
    pub fn generate_next(&self, n: u32, on_token: &js_sys::Function) -> js_sys::Promise {
        promise(self.with_mut(|s| {
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
            failure.map_or(Ok(JsValue::from_bool(done)), Err)
        }))
    }

    /// A named view of the trained model (`next`, `explain`, ...), with JSON arguments.
    pub fn view(&self, name: &str, args_json: &str) -> js_sys::Promise {
        promise(parse::<serde_json::Value>(args_json).and_then(|args| self.with(|s| to_js(&s.view(name, &args).map_err(to_js_error)?))))
    }

    /// Makes a model read from an ARPA file (KenLM's, SRILM's or an exported one) the session's model.
    /// Its vocabulary comes from the file; `valid_text` (may be empty) is tokenized by the settings
    /// (JSON) and becomes the validation text `report` scores. Returns the report.
    #[wasm_bindgen(js_name = loadArpa)]
    pub fn load_arpa(&self, arpa: &str, config_json: &str, valid_text: &str) -> Result<JsValue, JsValue> {
        *self.session.borrow_mut() = None;
        let config: RunConfig = parse(config_json)?;
        let mut s = Session::from_arpa(arpa, config).map_err(to_js_error)?;
        s.set_validation_text(valid_text);
        let report = to_js(&s.report().map_err(to_js_error)?)?;
        *self.session.borrow_mut() = Some(s);
        Ok(report)
    }

    /// The current model as ARPA text (backoff and interpolated n-gram models).
    #[wasm_bindgen(js_name = exportArpa)]
    pub fn export_arpa(&self) -> Result<String, JsValue> {
        self.with(|s| s.arpa().map_err(to_js_error))
    }

    /// Perplexity of a text under the current model (the same numbers as `report`'s validation).
    pub fn score(&self, text: &str) -> js_sys::Promise {
        promise(self.with(|s| to_js(&s.score(text).map_err(to_js_error)?)))
    }

    /// Memory the prepared model needs (parameters, gradients, optimizer state, activations, budget),
    /// or `null` for count models. `prepare` already refuses (code `model-too-large`) a model over budget.
    pub fn estimate(&self) -> Result<JsValue, JsValue> {
        self.with(|s| match s.estimate() {
            Some(e) => to_js(&e),
            None => Ok(JsValue::NULL),
        })
    }

    /// The trained (or training) model as a safetensors file (a `Uint8Array`), for a download. On
    /// WebGPU the optimizer moments are read back first (one awaited readback), the rest comes from
    /// the model's CPU twin.
    pub fn save(&self) -> js_sys::Promise {
        let cell = self.session.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let prefetch = cell.borrow_mut().as_mut().ok_or_else(not_trained)?.save_prefetch();
            if let Some(readback) = prefetch {
                let values = readback.await;
                cell.borrow_mut().as_mut().ok_or_else(not_trained)?.save_prefetched(values);
            }
            let bytes = cell.borrow().as_ref().ok_or_else(not_trained)?.save().map_err(to_js_error)?;
            Ok(js_sys::Uint8Array::from(&bytes[..]).into())
        })
    }

    /// `{ choice, backend, adapter, reason, why }` of the model's device (after `prepare` or `load`):
    /// under Auto, a model over the GPU's limits runs on the CPU, and `reason` says so.
    pub fn device(&self) -> Result<JsValue, JsValue> {
        to_js(&*self.device.borrow())
    }

    /// Restores a saved model (an uploaded file) onto `device` (the CPU if none). With `corpus` (the
    /// text it was trained on), the split is rebuilt from the saved settings, the validation report
    /// works and training can continue; without, the model can generate, score and show views.
    /// Returns `{ config, stats, model, history }`; `config` is the saved settings JSON text. Errors:
    /// `file-truncated`, `file-corrupt`, `file-wrong-format`, `file-version`, `vocab-mismatch`.
    pub fn load(&self, bytes: &[u8], corpus: Option<String>, device: Option<Device>) -> Result<JsValue, JsValue> {
        *self.session.borrow_mut() = None;
        let (s, report) = take_device(device)?.session(|d| Session::load_on(bytes, corpus.as_deref(), d)).map_err(to_js_error)?;
        *self.device.borrow_mut() = Some(report);
        let out = serde_json::json!({
            "config": serde_json::to_string(&s.config).expect("serializable"),
            "stats": s.data.stats,
            "model": s.model().map_err(to_js_error)?.info(),
            "history": s.view("history", &serde_json::json!({})).ok().map(|h| h["points"].clone()),
        });
        *self.session.borrow_mut() = Some(s);
        to_js(&out)
    }

    /// The settings of the current session as JSON.
    pub fn config(&self) -> Result<String, JsValue> {
        self.with(|s| Ok(serde_json::to_string(&s.config).expect("serializable")))
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

/// The attention patterns whose cost `attentionCost` measures.
#[wasm_bindgen(js_name = attentionPatterns)]
pub fn attention_patterns() -> Vec<String> {
    crate::nn::attention_cost::PATTERNS.iter().map(|s| s.to_string()).collect()
}

/// The cost lesson: one attention forward timed at a length (`nn::attention_cost`; JSON arguments
/// `pattern`, `t`, `width`, `heads`, `window`, `stride`) → `{ pattern, t, ms, repeats, bytes, scores }`.
#[wasm_bindgen(js_name = attentionCost)]
pub fn attention_cost(args_json: &str, device: Option<String>) -> js_sys::Promise {
    let args = parse::<crate::nn::attention_cost::CostArgs>(args_json);
    wasm_bindgen_futures::future_to_promise(async move {
        let args = args?;
        // The page's Compute choice, by the same rule as a model's (crate/src/devices.rs).
        let choice: DeviceChoice = device.as_deref().unwrap_or("cpu").parse().map_err(to_js_error)?;
        let gpu = if choice == DeviceChoice::Cpu { Err(NoGpu("not asked".into())) } else { gpu_context().await };
        let report = crate::devices::decide(choice, gpu.as_ref().map(|c| &c.adapter)).map_err(to_js_error)?;
        let be: Box<dyn crate::nn::backend::Backend> = match gpu {
            Ok(ctx) if report.backend == "gpu" => Box::new(crate::nn::backend::gpu::Gpu::async_only(ctx)),
            _ => Box::new(crate::nn::backend::cpu::Cpu::new()),
        };
        to_js(&crate::nn::attention_cost::measure_on(be, args).await.map_err(to_js_error)?)
    })
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
    let family = crate::families::find(config.model.family()).map_err(to_js_error)?;
    match family.estimate(&config.model.settings(), vocab_size.max(3.0) as usize).map_err(to_js_error)? {
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
