//! The n-gram family in the registry (`crate::families`).

use super::trainer::NgramTrainer;
use super::NgramConfig;
use crate::modelfile::ModelFile;
use crate::text::Dataset;
use crate::train::{Device, Family, MemoryEstimate, Trainer};
use crate::{Error, Result};
use serde_json::Value;

pub struct NgramFamily;

/// The family id `ngram`.
pub static NGRAM: NgramFamily = NgramFamily;

fn config(settings: &Value) -> Result<NgramConfig> {
    let c: NgramConfig = serde_json::from_value(settings.clone())?;
    c.validate()?;
    Ok(c)
}

impl Family for NgramFamily {
    fn id(&self) -> &'static str {
        "ngram"
    }
    fn normalize(&self, settings: &Value) -> Result<Value> {
        Ok(serde_json::to_value(config(settings)?).expect("json"))
    }
    /// Counts grow with the data, not with the settings: nothing to estimate beforehand.
    fn estimate(&self, _settings: &Value, _vocab_size: usize) -> Result<Option<MemoryEstimate>> {
        Ok(None)
    }
    /// Counting needs no device.
    fn trainer(&self, settings: &Value, _data: &Dataset, _seed: u64, _device: Device) -> Result<Box<dyn Trainer>> {
        Ok(Box::new(NgramTrainer::new(config(settings)?)?))
    }
    fn load(&self, file: &mut ModelFile, _data: &Dataset, _device: Device) -> Result<Box<dyn Trainer>> {
        let settings = crate::train::family::file_settings(file);
        let c = config(&settings).map_err(|e| Error::new("file-corrupt", format!("The model file is damaged: invalid settings ({e}).")))?;
        Ok(Box::new(NgramTrainer::load(file, &c)?))
    }
}
