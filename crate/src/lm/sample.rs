//! Generation: greedy, temperature, top-k and top-p (nucleus) sampling from any [`LanguageModel`],
//! seeded so the same seed and settings give the same text.

use super::{LanguageModel, OwnedStream, TokenStream};
use std::rc::Rc;
use crate::rng::Rng;
use crate::text::{Detokenizer, TokenId, Tokenizer, BOS, EOS};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(default)]
pub struct SampleConfig {
    /// Tokens to generate.
    pub length: usize,
    /// Divides the log-probabilities: < 1 sharpens, > 1 flattens. Ignored when `greedy`.
    pub temperature: f64,
    /// Keep only the k most likely tokens (0 = all).
    pub top_k: usize,
    /// Keep the smallest set of most likely tokens whose probability reaches p (1 = all).
    pub top_p: f64,
    /// Always take the most likely token.
    pub greedy: bool,
    pub seed: u64,
    /// How many top alternatives to report with each token (for the hover view).
    pub alternatives: usize,
}

impl Default for SampleConfig {
    fn default() -> Self {
        SampleConfig { length: 200, temperature: 1.0, top_k: 0, top_p: 1.0, greedy: false, seed: 0, alternatives: 5 }
    }
}

impl SampleConfig {
    pub fn validate(&self) -> Result<()> {
        if !(self.temperature > 0.0 && self.temperature.is_finite()) {
            return Err(Error::setting("temperature", "temperature must be a positive number"));
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return Err(Error::setting("top-p", "top-p must be in (0, 1]"));
        }
        if self.length > 100_000 {
            return Err(Error::setting("length", "at most 100,000 tokens can be generated at once"));
        }
        Ok(())
    }
}

#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Alternative {
    pub id: TokenId,
    pub token: String,
    pub prob: f64,
}

/// One generated token, with what the UI needs to tint and explain it.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Generated {
    pub id: TokenId,
    pub token: String,
    /// The text to append to the output: spacing + token, or a newline for `</s>`.
    pub text: String,
    /// The model's probability of this token (before temperature / top-k / top-p).
    pub prob: f64,
    pub alternatives: Vec<Alternative>,
}

/// Picks the next token from a distribution under the sampling settings.
pub fn pick(dist: &[f64], cfg: &SampleConfig, rng: &mut Rng) -> TokenId {
    let argmax = || {
        let mut best = 0;
        for (i, &p) in dist.iter().enumerate() {
            if p > dist[best] {
                best = i;
            }
        }
        best as TokenId
    };
    if cfg.greedy {
        return argmax();
    }
    // Candidates with their tempered weights p^(1/T), computed in log space relative to the max.
    let pmax = dist.iter().cloned().fold(0.0f64, f64::max);
    if pmax <= 0.0 {
        return argmax();
    }
    let mut cand: Vec<(TokenId, f64)> = dist
        .iter()
        .enumerate()
        .filter(|&(_, &p)| p > 0.0)
        .map(|(i, &p)| (i as TokenId, ((p.ln() - pmax.ln()) / cfg.temperature).exp()))
        .collect();
    if cfg.top_k > 0 || cfg.top_p < 1.0 {
        cand.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        if cfg.top_k > 0 {
            cand.truncate(cfg.top_k);
        }
        if cfg.top_p < 1.0 {
            let total: f64 = cand.iter().map(|c| c.1).sum();
            let mut acc = 0.0;
            let keep = cand.iter().position(|c| {
                acc += c.1;
                acc >= cfg.top_p * total * (1.0 - 1e-12)
            });
            cand.truncate(keep.map_or(cand.len(), |k| k + 1));
        }
    }
    let total: f64 = cand.iter().map(|c| c.1).sum();
    let mut r = rng.uniform() * total;
    for &(id, w) in &cand {
        if r < w {
            return id;
        }
        r -= w;
    }
    cand.last().map_or_else(argmax, |c| c.0)
}

/// The `n` most likely tokens of a distribution, most likely first.
pub fn top_tokens(dist: &[f64], n: usize) -> Vec<(TokenId, f64)> {
    let mut idx: Vec<(TokenId, f64)> = dist.iter().enumerate().map(|(i, &p)| (i as TokenId, p)).collect();
    let cmp = |a: &(TokenId, f64), b: &(TokenId, f64)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    if n < idx.len() && n > 0 {
        idx.select_nth_unstable_by(n - 1, cmp);
        idx.truncate(n);
    }
    idx.sort_unstable_by(cmp);
    idx.truncate(n);
    idx
}

/// Generation in chunks, so a caller (the page's worker) can stream tokens and stop between chunks.
/// The model's stream and the random stream carry over from chunk to chunk — each token is pushed
/// once, whatever the chunking — so any chunking gives the same text as one call.
pub struct Generator {
    cfg: SampleConfig,
    rng: Rng,
    stream: OwnedStream,
    dist: Vec<f64>,
    detok: Detokenizer,
    remaining: usize,
}

impl Generator {
    /// `prompt` starts with `<s>` (see `Dataset::encode_prompt`); a missing `<s>` is added.
    pub fn new(model: Rc<dyn LanguageModel>, prompt: &[TokenId], cfg: &SampleConfig) -> Result<Generator> {
        cfg.validate()?;
        let v = model.vocab().len();
        let mut stream = OwnedStream::new(model);
        if prompt.first() != Some(&BOS) {
            stream.stream().push(BOS);
        }
        prompt.iter().for_each(|&t| stream.stream().push(t));
        Ok(Generator {
            cfg: cfg.clone(),
            rng: Rng::derive(cfg.seed, "sample"),
            stream,
            dist: vec![0.0; v],
            detok: Detokenizer::after(prompt.last().copied()),
            remaining: cfg.length,
        })
    }

    pub fn remaining(&self) -> usize {
        self.remaining
    }

    /// Generates up to `n` more tokens, calling `on_token` for each (return false to stop early).
    /// Returns true when generation is finished.
    pub fn next_chunk(&mut self, tokenizer: &Tokenizer, n: usize, mut on_token: impl FnMut(Generated) -> bool) -> Result<bool> {
        let n = n.min(self.remaining);
        let (model, stream) = self.stream.split();
        let done = sample_tokens(model.vocab(), stream, tokenizer, &self.cfg, &mut self.rng, &mut self.dist, &mut self.detok, n, &mut on_token)?;
        self.remaining -= done.produced;
        if done.stopped {
            self.remaining = 0;
        }
        Ok(self.remaining == 0)
    }
}

struct Sampled {
    produced: usize,
    stopped: bool,
}

/// Samples up to `n` tokens from `stream`, pushing each one (and `<s>` after `</s>`).
#[allow(clippy::too_many_arguments)]
fn sample_tokens(
    vocab: &crate::text::Vocab,
    stream: &mut dyn TokenStream,
    tokenizer: &Tokenizer,
    cfg: &SampleConfig,
    rng: &mut Rng,
    dist: &mut [f64],
    detok: &mut Detokenizer,
    n: usize,
    on_token: &mut dyn FnMut(Generated) -> bool,
) -> Result<Sampled> {
    let mut produced = 0;
    while produced < n {
        stream.distribution(dist);
        let sum: f64 = dist.iter().sum();
        if !(sum > 0.0 && sum.is_finite()) {
            return Err(Error::new("bad-distribution", "the model produced no valid next-token distribution (NaN or all zeros)"));
        }
        if (sum - 1.0).abs() > 1e-9 {
            dist.iter_mut().for_each(|p| *p /= sum); // unnormalised scores (stupid backoff)
        }
        let id = pick(dist, cfg, rng);
        let token = vocab.token(id).to_string();
        let text = detok.push(tokenizer, vocab, id);
        let alternatives = top_tokens(dist, cfg.alternatives)
            .into_iter()
            .map(|(i, p)| Alternative { id: i, token: vocab.token(i).to_string(), prob: p })
            .collect();
        let keep_going = on_token(Generated { id, token, text, prob: dist[id as usize], alternatives });
        produced += 1;
        stream.push(id);
        if id == EOS {
            stream.push(BOS);
        }
        if !keep_going {
            return Ok(Sampled { produced, stopped: true });
        }
    }
    Ok(Sampled { produced, stopped: false })
}

/// Generates after `prompt` (which starts with `<s>`; see `Dataset::encode_prompt`), calling
/// `on_token` for each token; generation stops early when it returns false.
/// After `</s>` a new sentence starts with `<s>` automatically.
pub fn generate(
    model: &dyn LanguageModel,
    tokenizer: &Tokenizer,
    prompt: &[TokenId],
    cfg: &SampleConfig,
    mut on_token: impl FnMut(Generated) -> bool,
) -> Result<()> {
    cfg.validate()?;
    let mut stream = model.stream();
    if prompt.first() != Some(&BOS) {
        stream.push(BOS);
    }
    prompt.iter().for_each(|&t| stream.push(t));
    let mut rng = Rng::derive(cfg.seed, "sample");
    let mut dist = vec![0.0; model.vocab().len()];
    let mut detok = Detokenizer::after(prompt.last().copied());
    sample_tokens(model.vocab(), &mut *stream, tokenizer, cfg, &mut rng, &mut dist, &mut detok, cfg.length, &mut on_token)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use super::*;

    #[test]
    fn greedy_takes_the_argmax() {
        let cfg = SampleConfig { greedy: true, ..Default::default() };
        assert_eq!(pick(&[0.1, 0.6, 0.3], &cfg, &mut Rng::new(0)), 1);
    }

    #[test]
    fn top_k_one_is_greedy_and_top_p_cuts_the_tail() {
        let d = [0.5, 0.3, 0.15, 0.05];
        let mut rng = Rng::new(4);
        let k1 = SampleConfig { top_k: 1, ..Default::default() };
        assert!((0..50).all(|_| pick(&d, &k1, &mut rng) == 0));
        let p = SampleConfig { top_p: 0.8, ..Default::default() };
        let picks: Vec<_> = (0..500).map(|_| pick(&d, &p, &mut rng)).collect();
        assert!(picks.iter().all(|&t| t <= 1) && picks.contains(&1));
    }

    #[test]
    fn temperature_sharpens_and_sampling_matches_probabilities() {
        let d = [0.2, 0.8];
        let mut rng = Rng::new(9);
        let count = |cfg: &SampleConfig, rng: &mut Rng| (0..20_000).filter(|_| pick(&d, cfg, rng) == 1).count();
        let plain = count(&SampleConfig::default(), &mut rng);
        assert!((15_600..16_400).contains(&plain), "{plain}");
        let cold = count(&SampleConfig { temperature: 0.5, ..Default::default() }, &mut rng);
        // 0.8² / (0.8² + 0.2²) = 0.941
        assert!((18_500..19_100).contains(&cold), "{cold}");
    }

    #[test]
    fn top_tokens_orders_by_probability() {
        assert_eq!(top_tokens(&[0.1, 0.5, 0.4], 2), vec![(1, 0.5), (2, 0.4)]);
    }

    /// A model that counts the tokens its streams are fed: uniform over 4 ids, never `<s>`.
    struct Counting {
        vocab: crate::text::Vocab,
        pushes: std::cell::Cell<usize>,
    }
    struct CountingStream<'a>(&'a Counting);
    impl TokenStream for CountingStream<'_> {
        fn push(&mut self, _: TokenId) {
            self.0.pushes.set(self.0.pushes.get() + 1);
        }
        fn distribution(&mut self, out: &mut [f64]) {
            let q = 1.0 / (out.len() - 1) as f64;
            out.iter_mut().enumerate().for_each(|(i, p)| *p = if i as TokenId == BOS { 0.0 } else { q });
        }
        fn vocab_len(&self) -> usize {
            self.0.vocab.len()
        }
    }
    impl LanguageModel for Counting {
        fn vocab(&self) -> &crate::text::Vocab {
            &self.vocab
        }
        fn info(&self) -> super::super::ModelInfo {
            super::super::ModelInfo { family: "test".into(), description: String::new(), normalized: true, parameters: 0, context: Some(2), generative: true }
        }
        fn stream(&self) -> Box<dyn TokenStream + '_> {
            Box::new(CountingStream(self))
        }
    }

    /// Chunked generation keeps the model's stream: each token is pushed once, whatever the chunks
    /// (an RNN's state or a KV cache survives), and the text equals one uninterrupted call.
    #[test]
    fn generation_keeps_its_stream_between_chunks() {
        let model = Rc::new(Counting { vocab: crate::text::Vocab::from_tokens(["a".to_string()], true), pushes: Default::default() });
        let tok = crate::text::Tokenizer::new(crate::text::TokenizerKind::Char, false);
        let cfg = SampleConfig { length: 30, seed: 4, ..Default::default() };
        let prompt = [BOS, 3];
        let mut g = Generator::new(model.clone(), &prompt, &cfg).unwrap();
        let mut chunked = Vec::new();
        while !g.next_chunk(&tok, 7, |t| {
            chunked.push(t.id);
            true
        })
        .unwrap()
        {}
        let eos = chunked.iter().filter(|&&t| t == EOS).count();
        assert_eq!(model.pushes.get(), prompt.len() + 30 + eos, "each token pushed once (and <s> after each </s>)");
        let mut whole = Vec::new();
        generate(&*model, &tok, &prompt, &cfg, |t| {
            whole.push(t.id);
            true
        })
        .unwrap();
        assert_eq!(chunked, whole);
    }
}
