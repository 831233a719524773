//! Arguments of views, shared by every family's views.

use crate::text::{Dataset, TokenId};
use crate::{Error, Result};
use serde_json::Value;

pub fn str_arg<'a>(args: &'a Value, key: &str) -> Result<&'a str> {
    args.get(key).and_then(Value::as_str).ok_or_else(|| Error::setting("missing-arg", format!("missing text argument '{key}'")).with("name", key))
}

/// The id of a token the user typed: the token itself if it is in the vocabulary, else `[UNK]`.
pub fn token_id(data: &Dataset, token: &str) -> Result<TokenId> {
    // A BPE token's name, as the views show it (`\xE6` for a byte of a cut character), is that token.
    if let Some(id) = data.vocab.bpe().and(data.vocab.get(token)) {
        return Ok(id);
    }
    let mut toks = Vec::new();
    data.config.tokenizer.split(data.vocab.bpe(), token, |t| toks.push(t.to_string()));
    match toks.as_slice() {
        [] if crate::text::vocab::is_special(token) => Ok(data.vocab.id(token)),
        [one] => Ok(data.vocab.id(one)),
        _ if crate::text::vocab::is_special(token) => Ok(data.vocab.id(token)),
        _ => Err(Error::setting("not-one-token", format!("'{token}' is not a single token for this tokenizer")).with("token", token)),
    }
}
