//! Text in: tokenizers, the vocabulary and the train/validation data.
pub mod bpe;
pub mod bpe_view;
pub mod dataset;
pub mod detokenize;
pub mod tokenizer;
pub mod vocab;

pub use detokenize::Detokenizer;
pub use dataset::{Boundary, DataConfig, DataStats, Dataset, SplitKind, SplitUnit};
pub use tokenizer::{Tokenizer, TokenizerKind};
pub use vocab::{TokenId, Vocab, BOS, EOS, UNK};
