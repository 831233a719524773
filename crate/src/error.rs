//! One error type for the whole core. Every message is written for the person at the page or the CLI:
//! it says what went wrong and what to do. `code` is stable, so the UI can translate known errors.

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    /// Stable machine-readable identifier, e.g. `empty-corpus`.
    pub code: &'static str,
    /// Human-readable explanation in English.
    pub message: String,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Error { code, message: message.into() }
    }
    /// An invalid setting: `what` names the setting.
    pub fn config(message: impl Into<String>) -> Self {
        Error::new("invalid-config", message)
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
