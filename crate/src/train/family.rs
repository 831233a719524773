//! A model family as the session sees it: settings in, a [`Trainer`] out, from scratch or from a
//! model file. The registry (`crate::families`) lists every family; the session never names one.

use super::{MemoryEstimate, Trainer};
use crate::modelfile::ModelFile;
use crate::text::Dataset;
use crate::Result;
use serde_json::Value;
use std::any::Any;

/// A compute device, created by whoever owns the run (the session natively, the worker in the page,
/// where a GPU device is created asynchronously) and handed to the model, which never builds one.
/// Opaque at this layer: a neural family takes out its backend (`nn::backend::Backend`); count models
/// ignore it.
pub struct Device {
    name: &'static str,
    inner: Box<dyn Any>,
}

impl Device {
    pub fn new<T: Any>(name: &'static str, inner: T) -> Device {
        Device { name, inner: Box::new(inner) }
    }
    pub fn name(&self) -> &'static str {
        self.name
    }
    /// The device as a `T`, or the device back if it is something else.
    pub fn take<T: Any>(self) -> std::result::Result<T, Device> {
        let name = self.name;
        self.inner.downcast::<T>().map(|b| *b).map_err(|inner| Device { name, inner })
    }
}

/// One model family: its id (the `family` tag of the settings and model files) and how to build it.
pub trait Family: Sync {
    fn id(&self) -> &'static str;
    /// Parses and checks the family's settings (the model part of the run settings, without its
    /// `family` tag) and returns them with every default filled in.
    fn normalize(&self, settings: &Value) -> Result<Value>;
    /// What a model with these settings needs in memory for a vocabulary of `vocab_size` ids
    /// (`None` for count models, whose size depends on the data).
    fn estimate(&self, settings: &Value, vocab_size: usize) -> Result<Option<MemoryEstimate>>;
    /// A trainer for these (normalized) settings on `data`, seeded, computing on `device`.
    fn trainer(&self, settings: &Value, data: &Dataset, seed: u64, device: Device) -> Result<Box<dyn Trainer>>;
    /// A trainer restored from a model file of this family; `data` is its rebuilt split (empty streams
    /// when the file was loaded without its corpus).
    fn load(&self, file: &mut ModelFile, data: &Dataset, device: Device) -> Result<Box<dyn Trainer>>;
}

/// The model settings stored in a model file (its run settings' `model`, without the `family` tag).
pub fn file_settings(file: &ModelFile) -> Value {
    let mut m = file.config.get("model").cloned().unwrap_or(Value::Null);
    if let Some(o) = m.as_object_mut() {
        o.remove("family");
    }
    m
}
