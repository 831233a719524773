//! The run settings (layer 5): everything that defines a run. Together with the corpus they
//! reproduce it exactly; they are what share links and model files store, and what the CLI's
//! `--config` reads. The model part is a family id plus that family's own settings, kept as JSON
//! and interpreted only by the family (found through `crate::families`).

use crate::families;
use crate::lm::windows::EvalConfig;
use crate::text::DataConfig;
use crate::{Error, Result};
use serde::de::{DeserializeOwned, Deserializer};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Which model to train: `{"family": "ngram", "order": 3, …}` in JSON.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelConfig {
    family: String,
    settings: Map<String, Value>,
}

impl ModelConfig {
    /// A model of `family` with typed settings (serialized to the family's JSON).
    pub fn new(family: &str, settings: &impl Serialize) -> ModelConfig {
        Self::from_settings(family, serde_json::to_value(settings).expect("settings serialize"))
    }

    /// A model of `family` with settings given as JSON (an object; anything else means no settings).
    pub fn from_settings(family: &str, settings: Value) -> ModelConfig {
        ModelConfig { family: family.to_string(), settings: settings.as_object().cloned().unwrap_or_default() }
    }

    /// The family id, as in the JSON tag and model files.
    pub fn family(&self) -> &str {
        &self.family
    }

    /// Sets a neural family's `train.steps` (Continue to a new step count); false if it has none.
    pub fn set_train_steps(&mut self, steps: u64) -> bool {
        match self.settings.get_mut("train").and_then(Value::as_object_mut) {
            Some(train) => {
                train.insert("steps".into(), steps.into());
                true
            }
            None => false,
        }
    }

    /// The family's settings (without the `family` tag).
    pub fn settings(&self) -> Value {
        Value::Object(self.settings.clone())
    }

    /// The settings as the family's typed config.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T> {
        Ok(serde_json::from_value(self.settings())?)
    }

    /// The same settings with every default filled in, checked by the family.
    pub fn normalized(&self) -> Result<ModelConfig> {
        Ok(Self::from_settings(&self.family, families::find(&self.family)?.normalize(&self.settings())?))
    }
}

impl Default for ModelConfig {
    /// The default model: an n-gram model with the default settings.
    fn default() -> Self {
        ModelConfig { family: "ngram".into(), settings: Map::new() }
    }
}

impl Serialize for ModelConfig {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.settings.len() + 1))?;
        m.serialize_entry("family", &self.family)?;
        for (k, v) in &self.settings {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for ModelConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        let mut settings = Map::<String, Value>::deserialize(d)?;
        let family = match settings.remove("family") {
            Some(Value::String(f)) => f,
            Some(_) => return Err(D::Error::custom("the model's `family` must be a text")),
            None => return Err(D::Error::missing_field("family")),
        };
        Ok(ModelConfig { family, settings })
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(default)]
pub struct RunConfig {
    /// Seeds the split, initialisation, batches and sampling.
    pub seed: u64,
    pub data: DataConfig,
    pub model: ModelConfig,
    /// Which validation losses to report (default: every validation token once, only); left out of
    /// the JSON when it is the default.
    #[serde(skip_serializing_if = "EvalConfig::is_default")]
    pub eval: EvalConfig,
}

impl RunConfig {
    pub fn from_json(s: &str) -> Result<RunConfig> {
        Ok(serde_json::from_str(s)?)
    }

    /// Checks what every family shares — the seed must survive a JS number (the page, share links),
    /// so the CLI and the page always split and sample alike — and that the family knows its
    /// settings; returns the settings with every default filled in.
    pub fn validated(&self) -> Result<RunConfig> {
        if self.seed > crate::rng::MAX_SEED {
            return Err(Error::setting("seed", format!(
                "the seed must be at most {} (2^53 − 1), so the page can use it too (got {})",
                crate::rng::MAX_SEED,
                self.seed
            ))
            .with("max", crate::rng::MAX_SEED)
            .with("got", self.seed));
        }
        self.eval.validate()?;
        Ok(RunConfig { model: self.model.normalized()?, ..self.clone() })
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use super::*;
    use crate::ngram::NgramConfig;

    #[test]
    fn config_json_round_trip_and_defaults() {
        let c = RunConfig::from_json(r#"{"seed": 7, "model": {"family": "ngram", "order": 4, "method": "addk", "k": 0.5}}"#).unwrap();
        assert_eq!(c.seed, 7);
        let n: NgramConfig = c.model.parse().unwrap();
        assert_eq!((n.order, n.smoothing.k), (4, 0.5));
        assert_eq!(c.data, DataConfig::default());
        let back = RunConfig::from_json(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(back, c);
        let full = c.validated().unwrap();
        assert_eq!(full.model.parse::<NgramConfig>().unwrap(), n);
        assert!(full.model.settings().get("method").is_some());
        let bad = RunConfig::from_json(r#"{"model": {"family": "ngram", "method": "nope"}}"#).unwrap();
        assert_eq!(bad.validated().unwrap_err().code, "invalid-json");
        let unknown = RunConfig::from_json(r#"{"model": {"family": "hmm"}}"#).unwrap();
        assert_eq!(unknown.validated().unwrap_err().code, "unknown-family");
        assert!(RunConfig::from_json(r#"{"model": {"order": 3}}"#).is_err());
    }
}
