//! Neural language models. Each implements `lm::LanguageModel` (so perplexity, sampling and the
//! views work unchanged) and comes with a `session::Trainer`.

pub mod fixed_window;
