//! The registry of model families (layer 5): the one place that lists them. The session, the page
//! and the CLI find a family by its id here and never name one themselves.

use crate::train::Family;
use crate::{Error, Result};

/// Every family, by id.
pub static FAMILIES: &[&dyn Family] = &[
    &crate::ngram::family::NGRAM,
    &crate::nn::models::fixed_window::FAMILY,
    &crate::nn::models::recurrent::RNN,
    &crate::nn::models::recurrent::LSTM,
    &crate::nn::models::recurrent::GRU,
    &crate::nn::models::transformer::FAMILY,
];

/// The family with this id.
pub fn find(id: &str) -> Result<&'static dyn Family> {
    FAMILIES.iter().copied().find(|f| f.id() == id).ok_or_else(|| {
        let known: Vec<&str> = FAMILIES.iter().map(|f| f.id()).collect();
        Error::new("unknown-family", format!("There is no model family '{id}'. The families are: {}.", known.join(", "))).keyed("unknown").with("name", id).with("known", known.join(", "))
    })
}
