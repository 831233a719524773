//! A model's resident state on its backend: the parameters, their gradients and the optimizer
//! moments in flat parts with named views (`nn::params`), plus host scratch reused by every step.
//! Every neural model owns one, so every model allocates, saves and loads the same way.

use super::backend::Backend;
use super::optim::{OptimConfig, Optimizer};
use super::params::{self, Layout};
use super::tensor::{HostTensor, Ids, Shape, Tensor};
use crate::modelfile::{NamedTensor, TensorSource, TensorSpec};
use crate::text::TokenId;
use crate::{Error, Result};

pub struct Engine {
    pub be: Box<dyn Backend>,
    pub layout: Layout,
    /// One tensor per layout part.
    pub params: Vec<Tensor>,
    pub grads: Vec<Tensor>,
    pub opt: Optimizer,
    /// Token ids staged on the host before `write_ids` (sized once: a step allocates nothing).
    pub ids: Vec<TokenId>,
}

fn corrupt(why: String) -> Error {
    Error::new("file-mismatch", why)
}

impl Engine {
    /// Allocates parameters (zeroed), gradients and optimizer state for `layout` on `be`.
    pub fn new(mut be: Box<dyn Backend>, layout: Layout, optim: OptimConfig) -> Result<Engine> {
        layout.check()?;
        let limit = be.max_buffer_floats();
        if let Some(&big) = layout.parts.iter().find(|&&n| n > limit) {
            let name = layout.entries.iter().max_by_key(|e| e.shape.numel()).map_or("parameters", |e| e.name.as_str());
            return Err(params::too_big_for(&format!("{name} (in a part of the parameters)"), big as u64, limit as u64));
        }
        let part = |be: &mut Box<dyn Backend>| layout.parts.iter().map(|&n| Tensor { buf: be.alloc(n), offset: 0, shape: Shape::new(&[n]) }).collect::<Vec<_>>();
        let params = part(&mut be);
        let grads = part(&mut be);
        let opt = Optimizer::for_layout(be.as_mut(), optim, &layout);
        Ok(Engine { be, layout, params, grads, opt, ids: Vec::new() })
    }

    fn view(&self, parts: &[Tensor], name: &str) -> Tensor {
        let e = self.layout.get(name).unwrap_or_else(|| panic!("no parameter '{name}' in the layout"));
        Tensor { buf: parts[e.part].buf, offset: e.offset, shape: e.shape }
    }

    /// The named parameter.
    pub fn param(&self, name: &str) -> Tensor {
        self.view(&self.params, name)
    }

    /// The gradient of the named parameter.
    pub fn grad(&self, name: &str) -> Tensor {
        self.view(&self.grads, name)
    }

    /// A new activation tensor in a buffer of its own (so no op ever reads the buffer it writes).
    pub fn alloc(&mut self, dims: &[usize]) -> Result<Tensor> {
        let shape = Shape::new(dims);
        let limit = params::MAX_PART_FLOATS.min(self.be.max_buffer_floats());
        if shape.numel() > limit {
            return Err(params::too_big_for("activations", shape.numel() as u64, limit as u64));
        }
        Ok(Tensor { buf: self.be.alloc(shape.numel()), offset: 0, shape })
    }

    /// The column mask of a model's logits, made once: 1 for the vocabulary entries it may never
    /// predict (`<s>`, and `</s>` when the data has no boundaries), 0 for the others.
    pub fn unpredictable_mask(&mut self, vocab: &crate::text::Vocab) -> Result<Tensor> {
        let mask = self.alloc(&[vocab.len()])?;
        let m: Vec<f32> = (0..vocab.len() as TokenId).map(|id| if vocab.is_predictable(id) { 0.0 } else { 1.0 }).collect();
        self.be.write(mask, &m);
        Ok(mask)
    }

    /// A new id buffer of `len` ids.
    pub fn alloc_ids(&mut self, len: usize) -> Ids {
        self.ids.reserve(len.saturating_sub(self.ids.len()));
        Ids { buf: self.be.alloc_ids(len), offset: 0, len }
    }

    /// Uploads the staged ids (`self.ids`) into `dst`.
    pub fn upload_ids(&mut self, dst: Ids) {
        let n = self.ids.len();
        self.be.write_ids(dst.first(n), &self.ids);
    }

    pub fn zero_grads(&mut self) {
        for &g in &self.grads {
            self.be.fill(g, 0.0);
        }
    }

    /// Writes named parameters (every layout entry, with its shape). Checks them all before writing
    /// any, so a bad file changes nothing.
    pub fn set_params(&mut self, tensors: &mut Vec<(String, HostTensor)>) -> Result<()> {
        let targets = self.params.clone();
        self.write_named(&targets, "", tensors)
    }

    fn write_named(&mut self, parts: &[Tensor], prefix: &str, tensors: &mut Vec<(String, HostTensor)>) -> Result<()> {
        for e in &self.layout.entries {
            let name = format!("{prefix}{}", e.name);
            match tensors.iter().find(|(n, _)| *n == name) {
                None => return Err(corrupt(format!("the model file has no tensor '{name}'"))),
                Some((_, t)) if t.shape != e.shape.dims() => {
                    return Err(corrupt(format!("tensor '{name}' has shape {:?}, the configuration needs {:?}", t.shape, e.shape.dims())))
                }
                Some(_) => {}
            }
        }
        for e in self.layout.entries.clone() {
            let name = format!("{prefix}{}", e.name);
            let i = tensors.iter().position(|(n, _)| *n == name).expect("checked");
            let (_, t) = tensors.swap_remove(i);
            self.be.write(Tensor { buf: parts[e.part].buf, offset: e.offset, shape: e.shape }, &t.data);
        }
        Ok(())
    }

    fn read_named(&mut self, parts: &[Tensor], prefix: &str) -> Vec<(String, HostTensor)> {
        let entries = self.layout.entries.clone();
        entries
            .iter()
            .map(|e| {
                let t = Tensor { buf: parts[e.part].buf, offset: e.offset, shape: e.shape };
                (format!("{prefix}{}", e.name), HostTensor::new(e.shape.dims(), self.be.read(t)))
            })
            .collect()
    }

    /// The parameters by name, in layout order; each read once from the device.
    pub fn params_named(&mut self) -> Vec<(String, HostTensor)> {
        let p = self.params.clone();
        self.read_named(&p, "")
    }

    /// The gradients of the last backward pass, by parameter name.
    pub fn grads_named(&mut self) -> Vec<(String, HostTensor)> {
        let g = self.grads.clone();
        self.read_named(&g, "")
    }

    /// Optimizer state as named tensors (`optim.m/<name>`, `optim.v/<name>`) and its step count.
    pub fn moments_named(&mut self) -> (Vec<(String, HostTensor)>, u64) {
        let (m, v) = (self.opt.m.clone(), self.opt.v.clone());
        let mut out = self.read_named(&m, "optim.m/");
        if !v.is_empty() {
            out.extend(self.read_named(&v, "optim.v/"));
        }
        (out, self.opt.t)
    }

    /// Restores the optimizer state, all of it or none: if any moment is missing or has the wrong
    /// shape, nothing is written, the moments stay zero and the step count restarts, and the error
    /// says why.
    pub fn set_moments(&mut self, tensors: &mut Vec<(String, HostTensor)>, t: u64) -> Result<()> {
        let (m, v) = (self.opt.m.clone(), self.opt.v.clone());
        // Check both sets before writing either.
        for (prefix, parts) in [("optim.m/", &m), ("optim.v/", &v)] {
            if parts.is_empty() {
                continue;
            }
            for e in &self.layout.entries {
                let name = format!("{prefix}{}", e.name);
                if !tensors.iter().any(|(n, t)| *n == name && t.shape == e.shape.dims()) {
                    self.opt.t = 0;
                    return Err(corrupt(format!("the optimizer state '{name}' is missing or has the wrong shape")));
                }
            }
        }
        self.write_named(&m, "optim.m/", tensors)?;
        if !v.is_empty() {
            self.write_named(&v, "optim.v/", tensors)?;
        }
        self.opt.t = t;
        Ok(())
    }
}

/// An engine is a model file's tensor source: the parameters by name and the optimizer moments
/// (`optim.m/<name>`, `optim.v/<name>`), each read from the device when the writer asks for it.
impl TensorSource for std::cell::RefMut<'_, Engine> {
    fn specs(&self) -> Vec<TensorSpec> {
        let prefixes: &[&str] = if self.opt.v.is_empty() { &["", "optim.m/"] } else { &["", "optim.m/", "optim.v/"] };
        prefixes
            .iter()
            .flat_map(|p| self.layout.entries.iter().map(move |e| TensorSpec { name: format!("{p}{}", e.name), shape: e.shape.dims().to_vec(), dtype: "F32" }))
            .collect()
    }
    fn fetch(&mut self, name: &str) -> NamedTensor {
        let (parts, base) = match name.split_once('/') {
            Some(("optim.m", n)) => (self.opt.m.clone(), n),
            Some(("optim.v", n)) => (self.opt.v.clone(), n),
            _ => (self.params.clone(), name),
        };
        let e = self.layout.get(base).expect("a tensor of the specs").clone();
        let data = self.be.read(Tensor { buf: parts[e.part].buf, offset: e.offset, shape: e.shape });
        NamedTensor::f32(name, e.shape.dims(), data)
    }
}
