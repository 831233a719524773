//! Neural language models. Each implements `nn::model::NeuralModel`; `nn::model::Network` makes it a
//! `lm::LanguageModel` (so perplexity, sampling and the views work unchanged) and `nn::trainer`
//! trains it.

pub mod fixed_window;
pub mod recurrent;
pub mod transformer;
