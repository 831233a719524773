//! One error type for the whole core. Every message is written for the person at the page or the CLI:
//! it says what went wrong and what to do. `code` is stable, so the UI can translate known errors.

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    /// Stable machine-readable identifier, e.g. `empty-corpus`.
    pub code: &'static str,
    /// Human-readable explanation in English.
    pub message: String,
    /// Which message of its code this is, and its figures: the page words it in the user's language
    /// (`error.<code>.<key>` in www/i18n, with `params` as placeholders) and the CLI prints `message`.
    /// `None` where the code alone says it all.
    pub detail: Option<Detail>,
}

/// A message's key and its figures (see [`Error::detail`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Detail {
    pub key: &'static str,
    pub params: serde_json::Map<String, serde_json::Value>,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Error { code, message: message.into(), detail: None }
    }
    /// An invalid setting, for tools that never reach the page (the CLI, benchmarks): English only.
    /// What the page can send uses [`Error::setting`].
    pub fn config(message: impl Into<String>) -> Self {
        Error::new("invalid-config", message)
    }
    /// An invalid setting the page can send: `key` names the message (`error.invalid-config.<key>`
    /// in www/i18n), its figures added with [`Error::with`].
    pub fn setting(key: &'static str, message: impl Into<String>) -> Self {
        Error::new("invalid-config", message).keyed(key)
    }
    /// Names this error's message for translation (see [`Error::detail`]).
    pub fn keyed(mut self, key: &'static str) -> Self {
        self.detail = Some(Detail { key, params: serde_json::Map::new() });
        self
    }
    /// Adds a figure of the message (a placeholder of its translations).
    pub fn with(mut self, name: &str, value: impl Into<serde_json::Value>) -> Self {
        if let Some(d) = &mut self.detail {
            d.params.insert(name.to_string(), value.into());
        }
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::new("invalid-json", format!("invalid settings: {e}"))
    }
}
