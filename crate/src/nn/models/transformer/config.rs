//! The Transformer's settings, with documented defaults (nanoGPT's `GPTConfig` in spirit; the
//! defaults are nanoGPT's CPU configuration for shakespeare_char and its recipe).

use crate::nn::ops::activation::Activation;
use crate::nn::ops::attention::Pattern;
use crate::nn::train::TrainConfig;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// How the model knows where a token is (`positional.rs` has each formula).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Positional {
    /// A learned absolute embedding per position, added to the token embedding (GPT-2).
    #[default]
    Learned,
    /// The fixed sinusoids of Vaswani et al., added to the token embedding.
    Sinusoidal,
    /// Shaw et al.'s relative position representations inside every attention layer.
    Relative,
    /// ALiBi: a per-head linear distance penalty on the attention scores.
    Alibi,
    /// Rotary embeddings of the queries and keys.
    Rope,
    /// No positional information (NoPE): only the causal mask tells positions apart.
    None,
}

impl Positional {
    pub fn name(self) -> &'static str {
        match self {
            Positional::Learned => "learned",
            Positional::Sinusoidal => "sinusoidal",
            Positional::Relative => "relative",
            Positional::Alibi => "alibi",
            Positional::Rope => "rope",
            Positional::None => "none",
        }
    }
}

/// Which attention pattern every layer uses.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum AttentionKind {
    /// Every earlier position (the causal mask).
    #[default]
    Full,
    /// A local window of `window` positions plus every `stride`-th one before it.
    Sparse,
    /// Causal linear attention, φ(x) = elu(x) + 1, in prefix-sum form: O(T·d_k²) instead of O(T²·d_k).
    Linear,
}

/// Where the LayerNorms sit.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum NormPlacement {
    /// x + Attn(LN(x)), then x + FFN(LN(x)) (GPT-2; trains without warm-up tricks).
    #[default]
    Pre,
    /// LN(x + Attn(x)), then LN(x + FFN(x)) (the original Transformer).
    Post,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(default)]
pub struct TransformerConfig {
    /// L: blocks. Default 4.
    pub layers: usize,
    /// H: attention heads per block (d_k = width / H). Default 4.
    pub heads: usize,
    /// C = d_model: the residual stream's width. Default 128.
    pub width: usize,
    /// The FFN's hidden width (0 = 4·width, the usual choice). Default 0.
    pub ffn: usize,
    /// T: the context length (tokens the model reads at once; training windows). Default 64.
    pub context: usize,
    /// Dropout on the embeddings, on both residual branches and on the attention probabilities
    /// (linear attention has none), while training. Default 0.
    pub dropout: f64,
    /// Tie the output layer to the token embedding (logits = LN(x)·Eᵀ). Default true.
    pub tied: bool,
    /// `pre` (default) or `post` LayerNorm.
    pub norm: NormPlacement,
    /// The FFN's nonlinearity: `relu` (default, the course's) or `gelu` (GPT-2's, tanh form).
    pub activation: Activation,
    /// `learned` (default), `sinusoidal`, `relative`, `alibi`, `rope` or `none`.
    pub positional: Positional,
    /// Relative positions: the clip distance k of r_ij = clip(i − j, −k, k). Default 16.
    pub rel_clip: usize,
    /// `full` (default), `sparse` or `linear`.
    pub attention: AttentionKind,
    /// Sparse attention: the local window (positions, itself included). Default 8.
    pub window: usize,
    /// Sparse attention: the stride of the strided pattern (0 = none). Default 8.
    pub stride: usize,
    /// `batch` is windows of `context` tokens per step. Default: nanoGPT's recipe — AdamW at 1e-3,
    /// β = (0.9, 0.99), weight decay 0.1 on matrices only, clip 1.0, 100 warm-up steps, cosine to 1e-4, batch 12.
    pub train: TrainConfig,
}

impl Default for TransformerConfig {
    fn default() -> Self {
        let mut train = TrainConfig { batch: 12, lr: 1e-3, clip: 1.0, warmup: 100, min_lr_ratio: 0.1, ..TrainConfig::default() };
        train.optim.beta2 = 0.99;
        train.optim.weight_decay = 0.1;
        train.optim.decay_matrices_only = true;
        TransformerConfig {
            layers: 4,
            heads: 4,
            width: 128,
            ffn: 0,
            context: 64,
            dropout: 0.0,
            tied: true,
            norm: NormPlacement::Pre,
            activation: Activation::Relu,
            positional: Positional::Learned,
            rel_clip: 16,
            attention: AttentionKind::Full,
            window: 8,
            stride: 8,
            train,
        }
    }
}

impl TransformerConfig {
    /// The FFN's hidden width.
    pub fn ffn_width(&self) -> usize {
        if self.ffn == 0 { 4 * self.width } else { self.ffn }
    }
    pub fn head_dim(&self) -> usize {
        self.width / self.heads.max(1)
    }
    pub fn pattern(&self) -> Pattern {
        match self.attention {
            AttentionKind::Full | AttentionKind::Linear => Pattern::Full,
            AttentionKind::Sparse => Pattern::Sparse { window: self.window, stride: self.stride },
        }
    }

    pub fn validate(&self) -> Result<()> {
        if !(1..=64).contains(&self.layers) || !(1..=64).contains(&self.heads) {
            return Err(Error::setting("tf-layers-heads", "a Transformer needs 1–64 layers and 1–64 heads"));
        }
        if !(1..=4096).contains(&self.width) || !self.width.is_multiple_of(self.heads) {
            return Err(Error::setting("tf-width", format!("the width ({}) must be 1–4096 and a multiple of the number of heads ({})", self.width, self.heads)).with("width", self.width).with("heads", self.heads));
        }
        if self.positional == Positional::Rope && !self.head_dim().is_multiple_of(2) {
            return Err(Error::setting("tf-rope-even", "RoPE rotates pairs of dimensions: width / heads must be even"));
        }
        if !(1..=16_384).contains(&self.ffn_width()) || !(1..=4096).contains(&self.context) {
            return Err(Error::setting("tf-ffn-context", "the FFN width must be 1–16384 and the context 1–4096 tokens"));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Error::setting("dropout", "dropout must be in [0, 1)"));
        }
        if !(1..=4096).contains(&self.rel_clip) {
            return Err(Error::setting("tf-rel-clip", "the relative clip distance k must be 1–4096"));
        }
        if self.attention == AttentionKind::Linear && !matches!(self.positional, Positional::Learned | Positional::Sinusoidal | Positional::None) {
            return Err(Error::setting("tf-linear-bias", "linear attention never forms the scores, so it takes no score bias: use learned, sinusoidal or no positions with it"));
        }
        if self.attention == AttentionKind::Sparse && self.window == 0 {
            return Err(Error::setting("sparse-window", "sparse attention needs a local window of at least 1 position"));
        }
        self.train.validate()
    }
}
