//! The one neural trainer: batching, the learning-rate schedule, clipping, the non-finite check,
//! evaluation, the loss history, save and resume — for every [`NeuralModel`]. And
//! [`NeuralFamily`], which puts any neural model in the registry.
//!
//! A chunk of training stays on the device. Each step's mean loss and Σg² go into a slot of a device
//! tensor, a device flag records a non-finite loss or gradient (and makes the optimizer skip the
//! update, so the model keeps its last good weights), validation losses go into slots too, and the
//! trainer reads all of it back once, at the end of the chunk (`Trainer::run` / `Trainer::finish`).

use super::backend::cpu::Cpu;
use super::backend::Backend;
use super::batches::{predicted_positions, Batch, Sampler, SamplerState};
use super::engine::Engine;
use super::model::{Network, NeuralModel};
use super::optim::{clip_grad_norm, schedule::learning_rate, Optimizer};
use super::params::ALIGN;
use super::tensor::{HostTensor, Shape, Tensor};
use crate::clock::now_ms;
use crate::lm::LanguageModel;
use crate::modelfile::{ModelFile, TensorData, TensorSource};
use crate::rng::Rng;
use crate::text::{Dataset, Vocab};
use crate::train::{family, Chunk, Device, Family, History, LossPoint, MemoryEstimate, Progress, Trainer};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::cell::RefCell;
use std::marker::PhantomData;
use std::rc::Rc;

/// Most optimizer steps in one chunk (one readback). The worker asks for chunks of about 50 ms.
pub const CHUNK_STEPS: usize = 256;

/// Saved training state (model files' `state` metadata).
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct TrainState {
    pub step: u64,
    pub tokens: u64,
    pub optimizer_steps: u64,
    pub elapsed_ms: f64,
    #[serde(default)]
    pub clipped_steps: u64,
    pub history: History,
    /// The batch sampler's random stream and place (absent in files of format version 1).
    #[serde(default)]
    pub sampler: Option<SamplerState>,
    /// What trained the model, in words ("cpu (simd128)", "gpu (NVIDIA …, webgpu)"); absent in
    /// older files. Informative: a model loads on any device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
}

/// The per-chunk device statistics: slot i of a tensor is at offset i·ALIGN (a bindable offset).
struct Stats {
    loss: Tensor,
    norm: Tensor,
    valid: Tensor,
    flag: Tensor,
}

fn slot(t: Tensor, i: usize) -> Tensor {
    Tensor { buf: t.buf, offset: t.offset + i * ALIGN, shape: Shape::new(&[1]) }
}

impl Stats {
    fn floats() -> u64 {
        (3 * CHUNK_STEPS * ALIGN + 1) as u64
    }
    fn new(eng: &mut Engine) -> Result<Stats> {
        let mut t = || eng.alloc(&[CHUNK_STEPS * ALIGN]);
        Ok(Stats { loss: t()?, norm: t()?, valid: t()?, flag: eng.alloc(&[1])? })
    }
}

/// A chunk recorded and waiting for its readback.
struct Pending {
    /// The sampler before the chunk, to rewind to if a step fails.
    sampler: (Rng, u32, u64),
    first: u64,
    steps: usize,
    tokens_per_step: u64,
    t0: f64,
}

/// The memory a model of this configuration needs: parameters, gradients, optimizer state,
/// activations with the trainer's statistics, and the backend's matmul scratch.
pub fn estimate<M: NeuralModel>(config: &M::Config, v: usize) -> MemoryEstimate {
    let layout = M::layout(config, v);
    let tc = M::train_config(config);
    let acts = M::activation_bytes(config, v) + Stats::floats() * 4;
    let scratch = (crate::nn::kernels::gemm::SCRATCH_FLOATS + crate::nn::backend::pack_cache::FLOATS) as u64 * 4;
    MemoryEstimate::new(layout.parameters(), layout.floats(), Optimizer::state_per_param(tc.optim.optimizer) as u64, acts, scratch)
}


impl<M: NeuralModel> Network<M> {
    /// Allocates the model on `be` (after checking its memory estimate) and, with a seed,
    /// initialises it from `Rng::derive(seed, "init")`; without one, the parameters are zero (to be
    /// loaded).
    pub fn new(config: M::Config, vocab: Vocab, be: Box<dyn Backend>, seed: Option<u64>) -> Result<Self> {
        M::validate(&config)?;
        let v = vocab.len();
        estimate::<M>(&config, v).check(M::REDUCE)?;
        let layout = M::layout(&config, v);
        let mut eng = Engine::new(be, layout, M::train_config(&config).optim)?;
        if let Some(seed) = seed {
            let mut rng = Rng::derive(seed, "init");
            let mut init: Vec<(String, HostTensor)> = eng
                .layout
                .entries
                .iter()
                .map(|e| (e.name.clone(), HostTensor::new(e.shape.dims(), M::init(&config, e, &mut rng))))
                .collect();
            eng.set_params(&mut init)?;
        }
        let model = M::new(config, &vocab, &mut eng)?;
        Ok(Network { model, vocab, engine: RefCell::new(eng) })
    }
}

/// One optimizer step, recorded on the device: zero the gradients, forward + backward, the mean loss
/// into `loss`, Σg² into `norm` (both 1-float slots), raise `flag` if either is not finite, clip,
/// update (skipped when `flag` is up).
#[allow(clippy::too_many_arguments)]
fn record_step<M: NeuralModel>(model: &M, eng: &mut Engine, stream: &[crate::text::TokenId], batch: &Batch, lr: f64, clip: f64, loss: Tensor, norm: Tensor, flag: Tensor) {
    eng.zero_grads();
    model.forward_backward(eng, stream, batch, loss);
    eng.be.flag_nonfinite(flag, loss);
    let Engine { be, params, grads, opt, .. } = eng;
    clip_grad_norm(be.as_mut(), grads, norm, clip, flag);
    opt.step(be.as_mut(), params, grads, lr, flag);
}

impl<M: NeuralModel> Network<M> {
    /// Mean loss and gradients (left in the engine) of one batch, without an update; for tests and parity.
    pub fn loss_and_gradients(&self, stream: &[crate::text::TokenId], batch: &Batch) -> f64 {
        let eng = &mut *self.engine.borrow_mut();
        eng.zero_grads();
        let loss = eng.alloc(&[1]).expect("one float");
        self.model.forward_backward(eng, stream, batch, loss);
        eng.be.read(loss)[0] as f64
    }

    /// One optimizer step on a given batch, read back at once: (loss, gradient norm). For tests and
    /// parity; the trainer records many steps and reads back once.
    pub fn train_step_now(&self, stream: &[crate::text::TokenId], batch: &Batch, lr: f64) -> Result<(f64, f64)> {
        let eng = &mut *self.engine.borrow_mut();
        let [loss, norm, flag] = [eng.alloc(&[1])?, eng.alloc(&[1])?, eng.alloc(&[1])?];
        record_step(&self.model, eng, stream, batch, lr, M::train_config(self.model.config()).clip, loss, norm, flag);
        if eng.be.read(flag)[0] != 0.0 {
            return Err(Error::new("nan-loss", "the loss or the gradient is not finite").keyed("nonfinite"));
        }
        Ok((eng.be.read(loss)[0] as f64, (eng.be.read(norm)[0] as f64).sqrt()))
    }
}

pub struct NeuralTrainer<M: NeuralModel> {
    pub net: Rc<Network<M>>,
    /// The step count set by `set_steps` ("train more"), over the model's config.
    steps: Option<u64>,
    /// On a backend that cannot be read synchronously (WebGPU in the browser): the same model on the
    /// CPU, whose weights every chunk's readback refreshes. It serves scoring, streams, views and
    /// saving, which read synchronously; the device model only trains.
    twin: Option<Rc<Network<M>>>,
    /// The twin holds the device's optimizer moments (fetched by `save_prefetch`) until the next chunk.
    moments_fresh: bool,
    sampler: Sampler,
    /// The fixed validation subset: the first `eval_tokens` predicted positions.
    valid: Vec<u32>,
    stats: Stats,
    pending: Option<Pending>,
    /// Host staging for a chunk (reserved once).
    lrs: Vec<f64>,
    evals: Vec<usize>,
    pub step: u64,
    pub tokens: u64,
    pub elapsed_ms: f64,
    pub clipped_steps: u64,
    pub history: History,
    /// A file's sampler state, kept as it was while there is no corpus to sample (so saving such a
    /// model again does not replace it with a placeholder's).
    file_sampler: Option<SamplerState>,
}

impl<M: NeuralModel> NeuralTrainer<M> {
    pub fn new(net: Network<M>, data: &Dataset, seed: u64) -> Result<Self> {
        let tc = *M::train_config(net.model.config());
        let sampler = Sampler::new(M::batching(net.model.config()), tc.batch, &data.train, Rng::derive(seed, "batches"));
        // A model loaded without its corpus has no text: it cannot train, but it can do everything else.
        let sampler = match sampler {
            Ok(s) => s,
            Err(_) if data.train.is_empty() => Sampler::new(super::batches::Batching::Positions, tc.batch, &[], Rng::new(0))?,
            Err(e) => return Err(e),
        };
        let mut valid = predicted_positions(&data.valid);
        if tc.eval_tokens > 0 {
            valid.truncate(tc.eval_tokens);
        }
        let stats = Stats::new(&mut net.engine.borrow_mut())?;
        Ok(NeuralTrainer {
            net: Rc::new(net),
            steps: None,
            twin: None,
            moments_fresh: false,
            sampler,
            valid,
            stats,
            pending: None,
            lrs: Vec::with_capacity(CHUNK_STEPS),
            evals: Vec::with_capacity(CHUNK_STEPS),
            step: 0,
            tokens: 0,
            elapsed_ms: 0.0,
            clipped_steps: 0,
            history: History::default(),
            file_sampler: None,
        })
    }

    /// Serves the synchronous reads from `twin`, a CPU copy of the model with the same weights.
    pub fn with_twin(mut self, twin: Option<Network<M>>) -> Self {
        self.twin = twin.map(Rc::new);
        self
    }

    /// The model that answers synchronous calls: the twin where there is one.
    fn served(&self) -> &Rc<Network<M>> {
        self.twin.as_ref().unwrap_or(&self.net)
    }

    /// The model's training settings, with the step count Continue may have raised (`set_steps`).
    fn train_config(&self) -> crate::nn::train::TrainConfig {
        let mut c = *M::train_config(self.net.model.config());
        if let Some(steps) = self.steps {
            c.steps = steps;
        }
        c
    }

    pub fn state(&self) -> TrainState {
        TrainState {
            step: self.step,
            tokens: self.tokens,
            optimizer_steps: self.net.engine.borrow().opt.t,
            elapsed_ms: self.elapsed_ms,
            clipped_steps: self.clipped_steps,
            history: self.history.clone(),
            sampler: if self.sampler.is_empty() { self.file_sampler.clone() } else { Some(self.sampler.state()) },
            device: Some(self.net.engine.borrow().be.describe()),
        }
    }

    /// Continues from a saved state: the sampler continues its stream (or, for a file without one,
    /// replays its draws), so a resumed run gives the same loss curve as an uninterrupted one.
    pub fn restore(&mut self, s: TrainState) -> Result<()> {
        let steps = self.train_config().steps;
        if s.step > steps {
            return Err(Error::new("file-corrupt", format!("The model file is damaged: it has trained {} of {steps} steps.", s.step)));
        }
        match &s.sampler {
            _ if self.sampler.is_empty() => self.file_sampler = s.sampler.clone(),
            Some(state) => self.sampler.restore(state)?,
            None => self.sampler.replay(s.step),
        }
        self.step = s.step;
        self.tokens = s.tokens;
        self.elapsed_ms = s.elapsed_ms;
        self.clipped_steps = s.clipped_steps;
        self.history = s.history;
        Ok(())
    }

    fn progress(&self, points: Vec<LossPoint>) -> Progress {
        let total = self.train_config().steps;
        let last = self.history.last();
        Progress {
            done: self.step >= total,
            phase: if self.step >= total { "done".into() } else { "training".into() },
            step: self.step,
            total_steps: total,
            tokens: self.tokens,
            train_loss: last.map(|p| p.train_loss),
            valid_loss: self.history.last_valid(),
            lr: last.map(|p| p.lr),
            grad_norm: last.map(|p| p.grad_norm),
            elapsed_ms: self.elapsed_ms,
            clipped_steps: self.clipped_steps,
            points,
        }
    }
}

impl<M: NeuralModel> Trainer for NeuralTrainer<M> {
    fn run(&mut self, data: &Dataset, budget: u64) -> Result<Chunk> {
        if self.pending.is_some() {
            return Err(Error::new("busy", "A training chunk is still waiting for its results."));
        }
        if self.sampler.is_empty() {
            return Err(Error::new("no-corpus", "There is no training text: a model loaded from a file continues training only when it is loaded with its corpus."));
        }
        let tc = self.train_config();
        let n = budget.min(CHUNK_STEPS as u64).min(tc.steps.saturating_sub(self.step)) as usize;
        let t0 = now_ms();
        let snapshot = self.sampler.snapshot();
        let net = &*self.net;
        let eng = &mut *net.engine.borrow_mut();
        let st = &self.stats;
        eng.be.fill(st.flag, 0.0);
        self.lrs.clear();
        self.evals.clear();
        let mut tokens_per_step = 0;
        for i in 0..n {
            let s = self.step + i as u64;
            let batch = self.sampler.next_batch();
            tokens_per_step = batch.tokens() as u64;
            let lr = learning_rate(tc.lr, s, tc.warmup, tc.steps, tc.decay, tc.min_lr_ratio);
            record_step(&net.model, eng, &data.train, &batch, lr, tc.clip, slot(st.loss, i), slot(st.norm, i), st.flag);
            self.lrs.push(lr);
            if ((s + 1).is_multiple_of(tc.eval_interval) || s + 1 == tc.steps) && !self.valid.is_empty() {
                let v = slot(st.valid, self.evals.len());
                eng.be.fill(v, 0.0);
                net.model.eval(eng, &data.valid, &self.valid, &mut |eng, l, _| eng.be.sum_rows(v, l, true));
                eng.be.scale(v, 1.0 / self.valid.len() as f32);
                self.evals.push(i);
            }
        }
        let first = |t: Tensor, k: usize| Tensor { shape: Shape::new(&[k * ALIGN]), ..t };
        let mut reads = vec![first(st.loss, n), first(st.norm, n), first(st.valid, self.evals.len()), st.flag];
        if self.twin.is_some() {
            // The new weights come back with the chunk's statistics: still one readback.
            reads.extend(&eng.params);
            self.moments_fresh = false;
        }
        let readback = eng.be.read_async(&reads);
        self.pending = Some(Pending { sampler: snapshot, first: self.step, steps: n, tokens_per_step, t0 });
        Ok(Chunk { readback })
    }

    fn finish(&mut self, _data: &Dataset, values: Vec<Vec<f32>>) -> Result<Progress> {
        let p = self.pending.take().ok_or_else(|| Error::new("no-chunk", "No training chunk is waiting for results."))?;
        let mut values = values;
        let weights = values.split_off(4.min(values.len()));
        let [losses, norms, valids, flag]: [Vec<f32>; 4] = values.try_into().map_err(|_| Error::new("readback", "a training chunk's readback is incomplete"))?;
        if let Some(twin) = &self.twin {
            let eng = &mut *twin.engine.borrow_mut();
            assert_eq!(weights.len(), eng.params.len(), "a chunk's readback brings every parameter part");
            for (part, w) in eng.params.clone().into_iter().zip(&weights) {
                eng.be.write(part, w);
            }
        }
        let at = |v: &[f32], i: usize| v[i * ALIGN] as f64;
        let bad = (flag[0] != 0.0).then(|| (0..p.steps).find(|&i| !at(&losses, i).is_finite() || !at(&norms, i).is_finite()).unwrap_or(0));
        let good = bad.unwrap_or(p.steps);
        let clip = self.train_config().clip;
        let mut points = Vec::with_capacity(good);
        for i in 0..good {
            let grad_norm = at(&norms, i).sqrt();
            if clip > 0.0 && grad_norm > clip {
                self.clipped_steps += 1;
            }
            let valid_loss = self.evals.iter().position(|&e| e == i).map(|k| at(&valids, k));
            let point = LossPoint { step: p.first + i as u64 + 1, train_loss: at(&losses, i), valid_loss, lr: self.lrs[i], grad_norm };
            self.history.push(point.clone());
            points.push(point);
        }
        self.step = p.first + good as u64;
        self.tokens += good as u64 * p.tokens_per_step;
        self.elapsed_ms += now_ms() - p.t0;
        if let Some(i) = bad {
            // The failed step and those after it changed nothing on the device: count them out, and
            // put the sampler where the steps that counted left it.
            self.net.engine.borrow_mut().opt.t -= (p.steps - i) as u64;
            self.sampler.rewind(p.sampler, i as u64);
            let (loss, lr) = (at(&losses, i), self.lrs[i]);
            let value = if loss.is_finite() { at(&norms, i).sqrt() } else { loss };
            let what = if loss.is_finite() { format!("the gradient norm became {value}") } else { format!("the training loss became {value}") };
            let step = p.first + i as u64 + 1;
            return Err(Error::new(
                "nan-loss",
                format!("Step {step}: {what} (learning rate {lr:.3e}). Training stopped, and the model keeps its weights from step {}: lower the learning rate, or clip the gradients.", step - 1),
            )
            .keyed(if loss.is_finite() { "norm" } else { "loss" })
            .with("step", step)
            .with("kept", step - 1)
            .with("value", value.to_string())
            .with("lr", format!("{lr:.3e}")));
        }
        Ok(self.progress(points))
    }

    fn model(&self) -> Option<Rc<dyn LanguageModel>> {
        Some(self.served().clone())
    }

    fn view(&self, name: &str, _args: &Value, _data: &Dataset) -> Option<Result<Value>> {
        match name {
            "history" => Some(Ok(json!({ "points": self.history }))),
            "memory" => self.estimate().map(|e| Ok(serde_json::to_value(e).expect("json"))),
            _ => {
                let net = self.served();
                net.model.view(&mut net.engine.borrow_mut(), name, _args, _data)
            }
        }
    }

    /// The parameters and the optimizer moments, each read from the device only when the writer
    /// reaches it (see `modelfile::write_from`).
    fn set_steps(&mut self, steps: u64) -> Result<()> {
        if self.pending.is_some() {
            return Err(Error::new("busy", "Wait for the training chunk to finish."));
        }
        if steps < self.step || steps == 0 || steps > 100_000_000 {
            return Err(Error::new("bad-steps", format!("Training can continue to between {} and 100,000,000 steps: it has taken {} ({steps} asked).", self.step.max(1), self.step))
                .keyed("range")
                .with("min", self.step.max(1))
                .with("done", self.step)
                .with("asked", steps));
        }
        self.steps = Some(steps);
        Ok(())
    }

    fn save(&self) -> Option<Result<(Box<dyn TensorSource + '_>, Value)>> {
        if self.pending.is_some() {
            return Some(Err(Error::new("busy", "Wait for the training chunk to finish before saving.")));
        }
        if self.twin.is_some() && !self.moments_fresh {
            return Some(Err(Error::new("busy", "Saving a model on the GPU first fetches its optimizer state (save_prefetch).")));
        }
        let state = serde_json::to_value(self.state()).expect("json");
        Some(Ok((Box::new(self.served().engine.borrow_mut()), state)))
    }

    fn save_prefetch(&mut self) -> Option<crate::train::Readback> {
        self.twin.as_ref()?;
        let eng = &mut *self.net.engine.borrow_mut();
        let moments: Vec<Tensor> = eng.opt.m.iter().chain(&eng.opt.v).copied().collect();
        Some(eng.be.read_async(&moments))
    }

    fn save_prefetched(&mut self, values: Vec<Vec<f32>>) {
        let Some(twin) = &self.twin else { return };
        let t = self.net.engine.borrow().opt.t;
        let eng = &mut *twin.engine.borrow_mut();
        let parts: Vec<Tensor> = eng.opt.m.iter().chain(&eng.opt.v).copied().collect();
        assert_eq!(parts.len(), values.len(), "every moment part");
        for (part, v) in parts.into_iter().zip(&values) {
            eng.be.write(part, v);
        }
        eng.opt.t = t;
        self.moments_fresh = true;
    }

    fn estimate(&self) -> Option<MemoryEstimate> {
        Some(estimate::<M>(self.net.model.config(), self.net.vocab.len()))
    }
}

/// Any neural model as a registry family.
pub struct NeuralFamily<M>(PhantomData<fn() -> M>);

impl<M> NeuralFamily<M> {
    pub const fn new() -> Self {
        NeuralFamily(PhantomData)
    }
}

impl<M> Default for NeuralFamily<M> {
    fn default() -> Self {
        Self::new()
    }
}

fn config<M: NeuralModel>(settings: &Value) -> Result<M::Config> {
    let c: M::Config = serde_json::from_value(settings.clone())?;
    M::validate(&c)?;
    Ok(c)
}

fn backend(device: Device) -> Result<Box<dyn Backend>> {
    device.take::<Box<dyn Backend>>().map_err(|d| Error::new("device-mismatch", format!("A neural model cannot compute on the device '{}'.", d.name())).keyed("neural").with("name", d.name()))
}

impl<M: NeuralModel> Family for NeuralFamily<M> {
    fn id(&self) -> &'static str {
        M::FAMILY
    }
    fn normalize(&self, settings: &Value) -> Result<Value> {
        Ok(serde_json::to_value(config::<M>(settings)?).expect("json"))
    }
    fn estimate(&self, settings: &Value, vocab_size: usize) -> Result<Option<MemoryEstimate>> {
        Ok(Some(estimate::<M>(&config::<M>(settings)?, vocab_size)))
    }
    fn trainer(&self, settings: &Value, data: &Dataset, seed: u64, device: Device) -> Result<Box<dyn Trainer>> {
        let (c, be) = (config::<M>(settings)?, backend(device)?);
        // The twin starts from the same seed: the same weights, with no readback.
        let twin = if be.reads_synchronously() { None } else { Some(Network::<M>::new(c.clone(), data.vocab.clone(), Box::new(Cpu::new()), Some(seed))?) };
        let net = Network::<M>::new(c, data.vocab.clone(), be, Some(seed))?;
        Ok(Box::new(NeuralTrainer::new(net, data, seed)?.with_twin(twin)))
    }
    fn load(&self, file: &mut ModelFile, data: &Dataset, device: Device) -> Result<Box<dyn Trainer>> {
        let damaged = |e: Error| Error::new("file-corrupt", format!("The model file is damaged: {}", e.message));
        let c = config::<M>(&family::file_settings(file)).map_err(damaged)?;
        let seed = file.config.get("seed").and_then(Value::as_u64).unwrap_or(0);
        let state: TrainState = serde_json::from_value(file.state.clone()).map_err(|e| Error::new("file-corrupt", format!("The model file is damaged: invalid training state ({e}).")))?;
        let be = backend(device)?;
        let twin = if be.reads_synchronously() { None } else { Some(Network::<M>::new(c.clone(), file.vocab.clone(), Box::new(Cpu::new()), None)?) };
        let net = Network::<M>::new(c, file.vocab.clone(), be, None)?;
        // Move every f32 tensor out of the file: nothing is copied twice.
        let mut tensors: Vec<(String, HostTensor)> = std::mem::take(&mut file.tensors)
            .into_iter()
            .filter_map(|t| match t.data {
                TensorData::F32(v) if t.shape.iter().product::<usize>() == v.len() => Some((t.name, HostTensor::new(&t.shape, v))),
                _ => None,
            })
            .collect();
        if let Some(twin) = &twin {
            let mut copy = tensors.clone();
            let mut eng = twin.engine.borrow_mut();
            eng.set_params(&mut copy)?;
            let _ = eng.set_moments(&mut copy, state.optimizer_steps);
        }
        {
            let mut eng = net.engine.borrow_mut();
            eng.set_params(&mut tensors)?;
            // A file without (complete) optimizer moments still loads; training restarts the moments.
            let _ = eng.set_moments(&mut tensors, state.optimizer_steps);
        }
        let mut t = NeuralTrainer::new(net, data, seed)?.with_twin(twin);
        // The twin holds the file's moments: it can save again before any training.
        t.moments_fresh = true;
        t.restore(state)?;
        Ok(Box::new(t))
    }
}
