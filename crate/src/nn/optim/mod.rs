//! Optimizers over a flat parameter buffer: SGD with momentum, Adam and AdamW (PyTorch's formulas),
//! gradient clipping by global norm, and the learning-rate schedule. The state (momentum or the two
//! Adam moments) lives in backend buffers with the parameters' layout, so a step is one pass and never
//! leaves the device.

pub mod schedule;

use super::backend::{Backend, SgdStep};
use super::kernels::AdamStep;
use super::tensor::{Shape, Tensor};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// SGD with momentum; `weight_decay` is an L2 term added to the gradient.
    Sgd,
    /// Adam; `weight_decay` is an L2 term added to the gradient (as `torch.optim.Adam`).
    Adam,
    /// AdamW; `weight_decay` is decoupled: p ← p·(1 − lr·wd).
    #[default]
    Adamw,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
#[serde(default)]
pub struct OptimConfig {
    pub optimizer: OptimizerKind,
    pub momentum: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    /// Weight decay only on parameters of two or more dimensions (matrices, embeddings), never on
    /// biases and LayerNorm parameters: nanoGPT's parameter groups. Default false (all parameters).
    pub decay_matrices_only: bool,
}

impl Default for OptimConfig {
    fn default() -> Self {
        OptimConfig { optimizer: OptimizerKind::Adamw, momentum: 0.9, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.01, decay_matrices_only: false }
    }
}

/// An optimizer with its state for a model's parameter parts (see `nn::params`).
pub struct Optimizer {
    pub config: OptimConfig,
    /// Steps taken.
    pub t: u64,
    /// SGD: the momentum buffers; Adam(W): the first moments m. One per parameter part.
    pub m: Vec<Tensor>,
    /// Adam(W): the second moments v (empty for SGD).
    pub v: Vec<Tensor>,
    /// With `decay_matrices_only`: runs (part, start, end, decayed) of the parts, each updated with
    /// or without weight decay; empty: every part whole, decayed.
    segments: Vec<(usize, usize, usize, bool)>,
}

impl Optimizer {
    /// State for parameter parts of `parts` floats each.
    pub fn new(be: &mut dyn Backend, config: OptimConfig, parts: &[usize]) -> Self {
        let alloc = |be: &mut dyn Backend| parts.iter().map(|&n| Tensor { buf: be.alloc(n), offset: 0, shape: Shape::new(&[n]) }).collect::<Vec<_>>();
        let m = alloc(be);
        let v = if config.optimizer == OptimizerKind::Sgd { Vec::new() } else { alloc(be) };
        Optimizer { config, t: 0, m, v, segments: Vec::new() }
    }

    /// State for a model's layout: with `decay_matrices_only`, the parameters split into runs of
    /// decayed (2+ dimensions) and undecayed entries, merged where they are contiguous.
    pub fn for_layout(be: &mut dyn Backend, config: OptimConfig, layout: &crate::nn::params::Layout) -> Self {
        let mut opt = Self::new(be, config, &layout.parts);
        if config.decay_matrices_only {
            for e in &layout.entries {
                let (start, end, decay) = (e.offset, e.offset + crate::nn::params::aligned(e.shape.numel()), e.shape.rank() >= 2);
                match opt.segments.last_mut() {
                    Some(last) if last.0 == e.part && last.2 == start && last.3 == decay => last.2 = end,
                    _ => opt.segments.push((e.part, start, end, decay)),
                }
            }
        }
        opt
    }

    /// Floats of state per parameter.
    pub fn state_per_param(kind: OptimizerKind) -> usize {
        if kind == OptimizerKind::Sgd { 1 } else { 2 }
    }

    /// One update of `params` from `grads` (matching parts) at learning rate `lr`, skipped on the
    /// device when `skip[0] ≠ 0`. With `l2`-style weight decay the gradient buffer is modified
    /// (g += wd·p), as PyTorch does internally.
    pub fn step(&mut self, be: &mut dyn Backend, params: &[Tensor], grads: &[Tensor], lr: f64, skip: Tensor) {
        self.t += 1;
        let wd = self.config.weight_decay;
        if self.segments.is_empty() {
            for i in 0..params.len() {
                self.update(be, params[i], grads[i], self.m[i], self.v.get(i).copied(), lr, wd, skip);
            }
            return;
        }
        for &(part, start, end, decay) in &self.segments {
            let view = |t: Tensor| Tensor { buf: t.buf, offset: t.offset + start, shape: Shape::new(&[end - start]) };
            let v = self.v.get(part).map(|&v| view(v));
            self.update(be, view(params[part]), view(grads[part]), view(self.m[part]), v, lr, if decay { wd } else { 0.0 }, skip);
        }
    }

    /// One update of one run of parameters with weight decay `wd`.
    #[allow(clippy::too_many_arguments)]
    fn update(&self, be: &mut dyn Backend, p: Tensor, g: Tensor, m: Tensor, v: Option<Tensor>, lr: f64, wd: f64, skip: Tensor) {
        let c = self.config;
        match (c.optimizer, v) {
            (OptimizerKind::Sgd, _) | (_, None) => {
                let s = SgdStep { lr: lr as f32, momentum: c.momentum as f32, weight_decay: wd as f32, first: self.t == 1 };
                be.sgd(p, g, m, &s, skip);
            }
            (kind, Some(v)) => {
                let decoupled = kind == OptimizerKind::Adamw;
                if !decoupled && wd != 0.0 {
                    be.axpy(g, wd as f32, p);
                }
                let s = AdamStep::new(lr, c.beta1, c.beta2, c.eps, if decoupled { wd } else { 0.0 }, self.t);
                be.adam(p, g, m, v, &s, skip);
            }
        }
    }
}

/// Σg² over every gradient part into `sumsq` (1 float), then, with `max_norm` > 0, clips them to that
/// global L2 norm (torch.nn.utils.clip_grad_norm_) — all on the device, skipped when `skip[0] ≠ 0`.
pub fn clip_grad_norm(be: &mut dyn Backend, grads: &[Tensor], sumsq: Tensor, max_norm: f64, skip: Tensor) {
    for (i, &g) in grads.iter().enumerate() {
        be.sum_squares(sumsq, g, i > 0);
    }
    be.flag_nonfinite(skip, sumsq);
    if max_norm > 0.0 {
        for &g in grads {
            be.clip_by_norm(g, sumsq, max_norm as f32, skip);
        }
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use super::*;
    use crate::nn::backend::cpu::Cpu;

    /// Two steps of each optimizer on one parameter, against the formulas computed by hand in f64.
    #[test]
    fn optimizers_match_hand_computed_steps() {
        for kind in [OptimizerKind::Sgd, OptimizerKind::Adam, OptimizerKind::Adamw] {
            let mut be = Cpu::new();
            let config = OptimConfig { optimizer: kind, weight_decay: 0.1, ..Default::default() };
            let mut opt = Optimizer::new(&mut be, config, &[1]);
            let one = Shape::new(&[1]);
            let p = Tensor { buf: be.alloc(1), offset: 0, shape: one };
            let g = Tensor { buf: be.alloc(1), offset: 0, shape: one };
            let skip = Tensor { buf: be.alloc(1), offset: 0, shape: one };
            be.write(p, &[2.0]);
            let (lr, grads) = (0.1, [0.5, -0.25]);
            let (mut pw, mut m, mut v, mut buf) = (2.0f64, 0.0f64, 0.0f64, 0.0f64);
            for (t, &gr) in grads.iter().enumerate() {
                be.write(g, &[gr as f32]);
                opt.step(&mut be, &[p], &[g], lr, skip);
                let t = t as i32 + 1;
                match kind {
                    OptimizerKind::Sgd => {
                        let gi = gr + 0.1 * pw;
                        buf = if t == 1 { gi } else { 0.9 * buf + gi };
                        pw -= lr * buf;
                    }
                    _ => {
                        let gi = if kind == OptimizerKind::Adam { gr + 0.1 * pw } else { gr };
                        if kind == OptimizerKind::Adamw {
                            pw *= 1.0 - lr * 0.1;
                        }
                        m = 0.9 * m + 0.1 * gi;
                        v = 0.999 * v + 0.001 * gi * gi;
                        let (mh, vh) = (m / (1.0 - 0.9f64.powi(t)), v / (1.0 - 0.999f64.powi(t)));
                        pw -= lr * mh / (vh.sqrt() + 1e-8);
                    }
                }
                let got = be.read(p)[0] as f64;
                assert!((got - pw).abs() < 1e-6, "{kind:?} step {t}: {got} vs {pw}");
            }
        }
    }

    /// nanoGPT's groups: a matrix is decayed, a bias beside it in the same part is not.
    #[test]
    fn decay_can_spare_biases_and_norms() {
        let mut layout = crate::nn::params::Layout::default();
        layout.push("w", &[2, 2]);
        layout.push("b", &[2]);
        let config = OptimConfig { optimizer: OptimizerKind::Adamw, weight_decay: 0.5, decay_matrices_only: true, ..Default::default() };
        let mut be = Cpu::new();
        let mut opt = Optimizer::for_layout(&mut be, config, &layout);
        let n = layout.parts[0];
        let p = Tensor { buf: be.alloc(n), offset: 0, shape: Shape::new(&[n]) };
        let g = Tensor { buf: be.alloc(n), offset: 0, shape: Shape::new(&[n]) };
        let skip = Tensor { buf: be.alloc(1), offset: 0, shape: Shape::new(&[1]) };
        be.fill(p, 1.0);
        opt.step(&mut be, &[p], &[g], 0.1, skip); // zero gradient: only the decay moves p
        let after = be.read(p);
        let b = layout.get("b").unwrap().offset;
        assert!((after[0] - 0.95).abs() < 1e-6 && (after[3] - 0.95).abs() < 1e-6, "{after:?}");
        assert_eq!(after[b..b + 2], [1.0, 1.0]);
    }
}
