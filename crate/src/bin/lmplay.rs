//! `lmplay`: the playground's core on the command line, for scripting, benchmarks and corpora too
//! big for a browser tab. `train`, `eval` and `sample` run exactly the code the page runs.

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    std::process::exit(cli::main());
}

#[cfg(not(target_arch = "wasm32"))]
mod cli {
    use clap::{Args, Parser, Subcommand};
    use lmplay::lm::sample::SampleConfig;
    use lmplay::ngram::smoothing::Method;
    use lmplay::ngram::NgramConfig;
    use lmplay::nn::models::fixed_window::FixedWindowConfig;
    use lmplay::nn::models::recurrent::RecurrentConfig;
    use lmplay::nn::models::transformer::{AttentionKind, NormPlacement, Positional, TransformerConfig};
    use lmplay::nn::train::TrainConfig;
    use lmplay::nn::ops::activation::Activation;
    use lmplay::nn::optim::{schedule::Decay, OptimizerKind};
    use lmplay::session::{ModelConfig, RunConfig, Session};
    use lmplay::lm::windows::{EvalConfig, EvalProtocol};
    use lmplay::text::{Boundary, SplitKind, SplitUnit, TokenizerKind};
    use lmplay::{Error, Result};
    use std::io::Write;

    #[derive(Parser)]
    #[command(name = "lmplay", version, about = "Train, evaluate and sample language models (LM Playground core)")]
    struct Cli {
        #[command(subcommand)]
        cmd: Cmd,
    }

    #[derive(Subcommand)]
    enum Cmd {
        /// Train a model and print its summary.
        Train(RunArgs),
        /// Train a model and print its validation / test perplexity.
        Eval(RunArgs),
        /// Train a model and generate text.
        Sample(SampleArgs),
        /// Train a model (or load an ARPA file) and print one of the page's views as JSON:
        /// next, explain, sparseness, ppl-by-order, count-of-counts, interpolation, params,
        /// long-range (accuracy against distance on a task's corpus).
        View(ViewArgs),
        /// Run one benchmark case natively and print its JSON (used by `./build.sh bench`).
        Bench(BenchArgs),
        /// Print a long-range task's corpus (copy-memory, temporal-order): the page's preset with the
        /// defaults. Score a model on it with `lmplay view long-range --args '{"task": "copy-memory"}'`.
        Task(TaskArgs),
    }

    #[derive(Args)]
    struct TaskArgs {
        /// copy-memory or temporal-order.
        name: String,
        #[arg(long, default_value_t = lmplay::tasks::PRESET_SEED)]
        seed: u64,
        /// Examples (lines).
        #[arg(long, default_value_t = lmplay::tasks::PRESET_LINES)]
        lines: usize,
    }

    #[derive(Args)]
    struct BenchArgs {
        /// Case name (see crate/src/bench.rs).
        name: String,
        /// Arguments as JSON; `"corpus_file": PATH` is read into `"corpus"`.
        #[arg(long, default_value = "{}")]
        args: String,
    }

    #[derive(Args)]
    struct RunArgs {
        /// One corpus, split into training and validation as the page does (seeded).
        #[arg(long, conflicts_with_all = ["train", "test"])]
        corpus: Option<String>,
        /// Training text (use with --test instead of --corpus).
        #[arg(long, requires = "test")]
        train: Option<String>,
        /// Test text scored by `eval` (with --train, --load or --load-arpa).
        #[arg(long)]
        test: Option<String>,
        /// Use the model in this ARPA file (KenLM's, SRILM's or ours) instead of training one.
        #[arg(long, conflicts_with_all = ["corpus", "train", "load"])]
        load_arpa: Option<String>,
        /// Also write the trained model as an ARPA file (backoff and interpolated methods).
        #[arg(long, value_name = "FILE")]
        arpa: Option<String>,
        /// Run settings as JSON (the page's format); the flags below override it.
        #[arg(long)]
        config: Option<String>,
        /// Model family.
        #[arg(long, value_parser = ["ngram", "fixed-window", "rnn", "lstm", "gru", "transformer"])]
        model: Option<String>,
        /// A saved model (safetensors) to evaluate or sample from instead of training one; with
        /// --corpus, its validation split is rebuilt from the saved settings.
        #[arg(long, conflicts_with = "train")]
        load: Option<String>,
        /// Save the trained model (safetensors) to this file.
        #[arg(long)]
        save: Option<String>,
        /// Fixed-window: context n (previous tokens seen); Transformer: context length T.
        #[arg(long)]
        context: Option<usize>,
        /// Transformer: attention heads.
        #[arg(long)]
        heads: Option<usize>,
        /// Transformer: width C (d_model).
        #[arg(long)]
        width: Option<usize>,
        /// Transformer: FFN hidden width (0 = 4·width).
        #[arg(long)]
        ffn: Option<usize>,
        /// Transformer: positional encoding — learned, sinusoidal, relative, alibi, rope or none.
        #[arg(long)]
        pos: Option<String>,
        /// Transformer: attention pattern — full, sparse or linear.
        #[arg(long)]
        attention: Option<String>,
        /// Transformer, sparse attention: the local window.
        #[arg(long)]
        window: Option<usize>,
        /// Transformer, sparse attention: the stride (0 = none).
        #[arg(long)]
        stride: Option<usize>,
        /// Transformer, relative positions: the clip distance k.
        #[arg(long)]
        rel_clip: Option<usize>,
        /// Transformer: LayerNorm placement — pre or post.
        #[arg(long)]
        norm: Option<String>,
        /// Transformer: an output layer of its own instead of the tied token embedding.
        #[arg(long)]
        untied: bool,
        /// Neural models: embedding size (d, E).
        #[arg(long)]
        embed: Option<usize>,
        /// Neural models: hidden units H (per layer).
        #[arg(long)]
        hidden: Option<usize>,
        /// RNN, LSTM, GRU, Transformer: stacked layers.
        #[arg(long)]
        layers: Option<usize>,
        /// RNN, LSTM, GRU: truncated-BPTT length T (tokens per window).
        #[arg(long)]
        bptt: Option<usize>,
        /// RNN, LSTM, GRU: dropout between stacked layers; Transformer: on the embeddings, the
        /// residual branches and the attention probabilities. While training only.
        #[arg(long)]
        dropout: Option<f64>,
        /// RNN, LSTM, GRU: add a right-to-left direction (reads the future: not a language model,
        /// cannot `sample`; its validation "perplexity" is flagged).
        #[arg(long)]
        bidirectional: bool,
        /// tanh, relu, sigmoid or gelu (the RNN: tanh or sigmoid).
        #[arg(long)]
        activation: Option<String>,
        /// Optimizer steps.
        #[arg(long)]
        steps: Option<u64>,
        /// Examples per step (the fixed-window model: predicted tokens; RNN, LSTM, GRU: lanes of T tokens).
        #[arg(long)]
        batch: Option<usize>,
        /// Peak learning rate.
        #[arg(long)]
        lr: Option<f64>,
        /// sgd, adam or adamw.
        #[arg(long)]
        optimizer: Option<String>,
        /// SGD momentum.
        #[arg(long)]
        momentum: Option<f64>,
        /// Linear warm-up steps.
        #[arg(long)]
        warmup: Option<u64>,
        /// cosine or none.
        #[arg(long)]
        decay: Option<String>,
        #[arg(long)]
        weight_decay: Option<f64>,
        /// Weight decay on matrices and embeddings only, not on biases and LayerNorms (true or false).
        #[arg(long)]
        decay_matrices_only: Option<bool>,
        /// Adam(W) β₁.
        #[arg(long)]
        beta1: Option<f64>,
        /// Adam(W) β₂.
        #[arg(long)]
        beta2: Option<f64>,
        /// The cosine decay's floor as a learning rate (sets min_lr_ratio = min_lr / lr).
        #[arg(long)]
        min_lr: Option<f64>,
        /// Clip gradients to this global norm (0 = off).
        #[arg(long)]
        clip: Option<f64>,
        /// Validation loss every N steps.
        #[arg(long)]
        eval_interval: Option<u64>,
        /// Validation tokens per evaluation (0 = all).
        #[arg(long)]
        eval_tokens: Option<usize>,
        /// No progress lines on stderr.
        #[arg(long)]
        quiet: bool,
        /// n-gram order n.
        #[arg(long)]
        order: Option<usize>,
        /// Smoothing method id: mle, addk, katz, absolute, witten-bell, kn, modified-kn (default),
        /// stupid-backoff, interpolation.
        #[arg(long)]
        smoothing: Option<String>,
        /// Add-k pseudo-count (addk).
        #[arg(long)]
        k: Option<f64>,
        /// Fixed discount D in (0, 1] (kn, absolute); default: n1/(n1 + 2 n2) per order.
        #[arg(long)]
        discount: Option<f64>,
        /// modified-kn: use fallback discounts where the closed-form ones are out of range
        /// (KenLM's --discount_fallback).
        #[arg(long)]
        discount_fallback: bool,
        /// The fallback D1,D2,D3+ (default 0.5,1,1.5).
        #[arg(long, value_delimiter = ',', num_args = 1..=3)]
        fallback_discounts: Option<Vec<f64>>,
        /// Stupid backoff's α (default 0.4).
        #[arg(long)]
        alpha: Option<f64>,
        /// Interpolation weights λ0 (uniform),λ1,…,λn; default: learned by EM on held-out data.
        #[arg(long, value_delimiter = ',')]
        lambdas: Option<Vec<f64>>,
        /// Share of the training units held out to learn the interpolation weights (default 0.1).
        #[arg(long)]
        heldout: Option<f64>,
        /// Katz: largest count that Good-Turing discounts (default 5).
        #[arg(long)]
        gt_max: Option<u32>,
        /// Report n-gram counting progress on stderr (default: when the training text is over 10 MB).
        #[arg(long, conflicts_with = "quiet")]
        progress: bool,
        /// char, word, whitespace or bpe (byte-level subwords learned on the training text).
        #[arg(long)]
        tokenizer: Option<String>,
        /// The BPE tokenizer's vocabulary size: 256 bytes and up to this − 256 merges (default 512).
        #[arg(long)]
        bpe_vocab: Option<usize>,
        #[arg(long)]
        lowercase: bool,
        /// line, sentence or none.
        #[arg(long)]
        boundary: Option<String>,
        #[arg(long)]
        min_count: Option<u64>,
        /// Largest vocabulary, specials included (0 = no limit).
        #[arg(long)]
        max_vocab: Option<usize>,
        /// Share of --corpus held out for validation.
        #[arg(long)]
        valid_fraction: Option<f64>,
        /// random, or tail (also: contiguous).
        #[arg(long)]
        split: Option<String>,
        /// What --valid-fraction counts: unit (whole lines or sentences, the default) or token (the
        /// last share of the tokens, nanoGPT's split of its characters; with --split tail).
        #[arg(long)]
        split_unit: Option<String>,
        /// stream (every validation token once, the default) or windows (also nanoGPT's
        /// estimate_loss: the mean loss of --eval-batches batches of random windows; seeded).
        #[arg(long)]
        eval_protocol: Option<String>,
        /// With --eval-protocol windows: batches (nanoGPT's eval_iters, default 200).
        #[arg(long)]
        eval_batches: Option<usize>,
        /// With --eval-protocol windows: windows per batch (default 12).
        #[arg(long)]
        eval_batch_size: Option<usize>,
        /// With --eval-protocol windows: tokens per window (default: the model's context).
        #[arg(long)]
        eval_window: Option<usize>,
        #[arg(long)]
        seed: Option<u64>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// cpu, gpu (Vulkan, software adapters too) or auto: the GPU where a hardware adapter exists
        /// and the model fits its limits, else the CPU (the page's rule).
        #[arg(long, default_value = "auto", value_parser = ["cpu", "gpu", "auto"])]
        device: String,
        #[arg(skip)]
        show_progress: std::cell::Cell<bool>,
        /// What ran the model, and why (printed with the results).
        #[arg(skip)]
        device_report: std::cell::RefCell<Option<lmplay::devices::DeviceReport>>,
    }

    #[derive(Args)]
    struct ViewArgs {
        /// The view's name.
        name: String,
        /// The view's arguments as JSON, e.g. '{"context": "to be", "token": "or"}'.
        #[arg(long = "args", default_value = "{}")]
        view_args: String,
        #[command(flatten)]
        run: RunArgs,
    }

    #[derive(Args)]
    struct SampleArgs {
        #[command(flatten)]
        run: RunArgs,
        #[arg(long, default_value = "")]
        prompt: String,
        #[arg(long, default_value_t = 200)]
        length: usize,
        #[arg(long, default_value_t = 1.0)]
        temperature: f64,
        #[arg(long, default_value_t = 0)]
        top_k: usize,
        #[arg(long, default_value_t = 1.0)]
        top_p: f64,
        #[arg(long)]
        greedy: bool,
        /// Sampling seed (defaults to --seed).
        #[arg(long)]
        sample_seed: Option<u64>,
        /// How many top alternatives to report with each token in --json output (0 is fastest).
        #[arg(long, default_value_t = 5)]
        alternatives: usize,
    }

    fn read(path: &str) -> Result<String> {
        std::fs::read_to_string(path).map_err(|e| Error::new("io", format!("cannot read {path}: {e}")))
    }

    fn parse_enum<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> Result<T> {
        serde_json::from_value(serde_json::Value::String(s.into()))
            .map_err(|_| Error::config(format!("unknown {what} '{s}'")))
    }

    impl RunArgs {
        fn config(&self) -> Result<RunConfig> {
            let mut c = match &self.config {
                Some(path) => RunConfig::from_json(&read(path)?)?,
                None => RunConfig::default(),
            };
            if let Some(s) = self.seed {
                c.seed = s;
            }
            let d = &mut c.data;
            if let Some(t) = &self.tokenizer {
                d.tokenizer.kind = TokenizerKind::parse(t)?;
            }
            d.tokenizer.lowercase |= self.lowercase;
            if let Some(b) = &self.boundary {
                d.boundary = parse_enum::<Boundary>("boundary", b)?;
            }
            if let Some(s) = &self.split {
                d.split = parse_enum::<SplitKind>("split", s)?;
            }
            if let Some(s) = &self.split_unit {
                d.split_unit = parse_enum::<SplitUnit>("split unit", s)?;
            }
            self.eval_flags(&mut c.eval)?;
            let d = &mut c.data;
            if let Some(m) = self.min_count {
                d.min_count = m;
            }
            if let Some(m) = self.max_vocab {
                d.max_vocab = m;
            }
            if let Some(v) = self.bpe_vocab {
                d.bpe_vocab = v;
            }
            if let Some(f) = self.valid_fraction {
                d.valid_fraction = f;
            }
            if let Some(family) = self.model.as_deref() {
                if family != c.model.family() {
                    lmplay::families::find(family)?;
                    c.model = ModelConfig::from_settings(family, serde_json::json!({}));
                }
            }
            // The flags of each family set fields of its typed settings.
            match c.model.family() {
                "ngram" => {
                    let mut n: NgramConfig = c.model.parse()?;
                    if let Some(o) = self.order {
                        n.order = o;
                    }
                    if let Some(m) = &self.smoothing {
                        n.smoothing.method = Method::parse(m)?;
                    }
                    let sm = &mut n.smoothing;
                    if let Some(k) = self.k {
                        sm.k = k;
                    }
                    if self.discount.is_some() {
                        sm.discount = self.discount;
                    }
                    sm.discount_fallback |= self.discount_fallback;
                    if let Some(f) = &self.fallback_discounts {
                        // Like lmplz: missing values repeat the last one given.
                        let f: Vec<f64> = (0..3).map(|i| f[i.min(f.len() - 1)]).collect();
                        sm.fallback_discounts = [f[0], f[1], f[2]];
                        sm.discount_fallback = true;
                    }
                    if let Some(a) = self.alpha {
                        sm.alpha = a;
                    }
                    if self.lambdas.is_some() {
                        sm.lambdas = self.lambdas.clone();
                    }
                    if let Some(h) = self.heldout {
                        sm.heldout = h;
                    }
                    if let Some(g) = self.gt_max {
                        sm.gt_max = g;
                    }
                    c.model = ModelConfig::new("ngram", &n);
                }
                "fixed-window" => {
                    let mut f: FixedWindowConfig = c.model.parse()?;
                    set(&mut f.context, self.context);
                    set(&mut f.embed, self.embed);
                    set(&mut f.hidden, self.hidden);
                    if let Some(a) = &self.activation {
                        f.activation = parse_enum::<Activation>("activation", a)?;
                    }
                    self.train_flags(&mut f.train)?;
                    c.model = ModelConfig::new("fixed-window", &f);
                }
                family @ ("rnn" | "lstm" | "gru") => {
                    let mut r: RecurrentConfig = c.model.parse()?;
                    set(&mut r.layers, self.layers);
                    set(&mut r.embed, self.embed);
                    set(&mut r.hidden, self.hidden);
                    set(&mut r.bptt, self.bptt);
                    set(&mut r.dropout, self.dropout);
                    r.bidirectional |= self.bidirectional;
                    if let Some(a) = &self.activation {
                        r.activation = parse_enum::<Activation>("activation", a)?;
                    }
                    self.train_flags(&mut r.train)?;
                    c.model = ModelConfig::new(family, &r);
                }
                "transformer" => {
                    let mut t: TransformerConfig = c.model.parse()?;
                    set(&mut t.layers, self.layers);
                    set(&mut t.heads, self.heads);
                    set(&mut t.width, self.width);
                    set(&mut t.ffn, self.ffn);
                    set(&mut t.context, self.context);
                    set(&mut t.dropout, self.dropout);
                    set(&mut t.window, self.window);
                    set(&mut t.stride, self.stride);
                    set(&mut t.rel_clip, self.rel_clip);
                    if self.untied {
                        t.tied = false;
                    }
                    if let Some(a) = &self.activation {
                        t.activation = parse_enum::<Activation>("activation", a)?;
                    }
                    if let Some(p) = &self.pos {
                        t.positional = parse_enum::<Positional>("pos", p)?;
                    }
                    if let Some(a) = &self.attention {
                        t.attention = parse_enum::<AttentionKind>("attention", a)?;
                    }
                    if let Some(n) = &self.norm {
                        t.norm = parse_enum::<NormPlacement>("norm", n)?;
                    }
                    self.train_flags(&mut t.train)?;
                    c.model = ModelConfig::new("transformer", &t);
                }
                _ => {}
            }
            Ok(c)
        }

        /// The training flags every neural family shares.
        fn train_flags(&self, t: &mut TrainConfig) -> Result<()> {
            set(&mut t.steps, self.steps);
            set(&mut t.batch, self.batch);
            set(&mut t.lr, self.lr);
            set(&mut t.optim.momentum, self.momentum);
            set(&mut t.warmup, self.warmup);
            set(&mut t.optim.weight_decay, self.weight_decay);
            set(&mut t.optim.decay_matrices_only, self.decay_matrices_only);
            set(&mut t.optim.beta1, self.beta1);
            set(&mut t.optim.beta2, self.beta2);
            if let Some(m) = self.min_lr {
                t.min_lr_ratio = m / t.lr;
            }
            set(&mut t.clip, self.clip);
            set(&mut t.eval_interval, self.eval_interval);
            set(&mut t.eval_tokens, self.eval_tokens);
            if let Some(o) = &self.optimizer {
                t.optim.optimizer = parse_enum::<OptimizerKind>("optimizer", o)?;
            }
            if let Some(d) = &self.decay {
                t.decay = parse_enum::<Decay>("decay", d)?;
            }
            Ok(())
        }

        /// The evaluation flags onto `e`.
        fn eval_flags(&self, e: &mut EvalConfig) -> Result<()> {
            if let Some(p) = &self.eval_protocol {
                e.protocol = parse_enum::<EvalProtocol>("evaluation protocol", p)?;
            }
            set(&mut e.batches, self.eval_batches);
            set(&mut e.batch_size, self.eval_batch_size);
            set(&mut e.window, self.eval_window);
            Ok(())
        }

        /// A trained session: loaded from --load or --load-arpa, or trained now (with progress lines on stderr).
        fn trained(&self) -> Result<Session> {
            if let Some(path) = &self.load {
                // A loaded model brings its own settings; flags that would change them cannot apply
                // (the evaluation flags can: they change no model).
                let mut config = self.config()?;
                config.eval = EvalConfig::default();
                if config.validated()? != RunConfig::default().validated()? {
                    return Err(Error::config(
                        "--load takes the model and data settings from the model file: drop the settings flags (and --config)",
                    ));
                }
                let bytes = std::fs::read(path).map_err(|e| Error::new("io", format!("cannot read {path}: {e}")))?;
                let corpus = self.corpus.as_deref().map(read).transpose()?;
                let mut s = self.on_device(|d| Session::load_on(&bytes, corpus.as_deref(), d))?;
                self.eval_flags(&mut s.config.eval)?;
                s.config.eval.validate()?;
                if let Some(test) = &self.test {
                    let text = read(test)?;
                    s.set_validation_text(&text); // its characters too, for bits per character
                }
                self.write_outputs(&s)?;
                return Ok(s);
            }
            let started = std::time::Instant::now();
            let mut s = self.session()?;
            if let Some(e) = s.estimate() {
                if !self.quiet {
                    eprintln!("memory: {} parameters, {} in all (budget {})", e.parameters, lmplay::train::memory::human(e.total_bytes), lmplay::train::memory::human(e.budget_bytes));
                }
            }
            loop {
                // Report about every 100 steps (or every chunk for count models, which finish at once).
                let p = s.train_step(100)?;
                if !self.quiet && p.total_steps > 1 {
                    let secs = p.elapsed_ms / 1000.0;
                    let valid = p.valid_loss.map_or(String::new(), |v| format!("  valid {v:.4}"));
                    eprintln!(
                        "step {:>6}/{}  loss {:.4}{valid}  lr {:.2e}  {:.0} tok/s",
                        p.step,
                        p.total_steps,
                        p.train_loss.unwrap_or(f64::NAN),
                        p.lr.unwrap_or(0.0),
                        p.tokens as f64 / secs.max(1e-9)
                    );
                }
                if p.done {
                    break;
                }
            }
            if self.show_progress.get() {
                eprintln!("lmplay: trained in {:.1} s", started.elapsed().as_secs_f64());
            }
            self.write_outputs(&s)?;
            Ok(s)
        }

        /// `--arpa FILE` and `--save FILE`, for a trained or a loaded model.
        fn write_outputs(&self, s: &Session) -> Result<()> {
            if let Some(path) = &self.arpa {
                let text = s.arpa()?;
                std::fs::write(path, text).map_err(|e| Error::new("io", format!("cannot write {path}: {e}")))?;
            }
            if let Some(path) = &self.save {
                let bytes = s.save()?;
                std::fs::write(path, &bytes).map_err(|e| Error::new("io", format!("cannot write {path}: {e}")))?;
                if !self.quiet {
                    eprintln!("saved {path} ({} bytes)", bytes.len());
                }
            }
            Ok(())
        }

        /// The session, before training (an ARPA model is ready at once).
        fn session(&self) -> Result<Session> {
            let config = self.config()?;
            let started = std::time::Instant::now();
            let mut s = match (&self.corpus, &self.train, &self.test, &self.load_arpa) {
                (_, _, test, Some(arpa)) => {
                    let mut s = Session::from_arpa(&read(arpa)?, config)?;
                    if let Some(test) = test {
                        s.set_validation_text(&read(test)?);
                    }
                    return Ok(s);
                }
                (Some(corpus), _, _, _) => {
                    let text = read(corpus)?;
                    self.announce(text.len());
                    self.on_device(|d| Session::with_device(&text, config.clone(), d))?
                }
                (None, Some(train), Some(test), _) => {
                    let text = read(train)?;
                    self.announce(text.len());
                    let test = read(test)?;
                    self.on_device(|d| Session::with_split_on(&text, &test, config.clone(), d))?
                }
                _ => return Err(Error::config("give --corpus FILE, or --train FILE and --test FILE, or --load-arpa FILE")),
            };
            if self.show_progress.get() {
                eprintln!("lmplay: tokenized in {:.1} s: {} training tokens, vocabulary {}", started.elapsed().as_secs_f64(), s.data.stats.train_tokens, s.data.stats.vocab_size);
                s.set_progress(progress_printer());
            }
            Ok(s)
        }

        /// Builds the session on the device `--device` picks (the page's Auto rule), and keeps the
        /// report of what runs and why.
        fn on_device(&self, build: impl Fn(lmplay::session::Device) -> Result<Session>) -> Result<Session> {
            let choice: lmplay::devices::DeviceChoice = self.device.parse()?;
            let (s, report) = lmplay::devices::Chosen::native(choice)?.session(build)?;
            if !self.quiet && (choice != lmplay::devices::DeviceChoice::Cpu || report.backend != "cpu") {
                eprintln!("device: {} ({})", report.backend, report.why);
            }
            *self.device_report.borrow_mut() = Some(report);
            Ok(s)
        }

        /// Decides whether to report progress for a training text of `bytes` bytes.
        fn announce(&self, bytes: usize) {
            let on = !self.quiet && (self.progress || bytes > 10 << 20);
            self.show_progress.set(on);
            if on {
                eprintln!("lmplay: reading and tokenizing {:.1} MB", bytes as f64 / (1 << 20) as f64);
            }
        }
    }

    /// Prints each phase's progress on stderr, every 5% or so.
    fn progress_printer() -> lmplay::session::ProgressHook {
        let started = std::time::Instant::now();
        let mut last: (&str, f64) = ("", -1.0);
        Box::new(move |phase, done| {
            if phase != last.0 || done >= last.1 + 0.05 || (done >= 1.0 && last.1 < 1.0) {
                eprintln!("lmplay: {phase:<12} {:>3.0}%  ({:.1} s)", (100.0 * done).floor(), started.elapsed().as_secs_f64());
                last = (phase, done);
            }
        })
    }

    fn set<T>(slot: &mut T, v: Option<T>) {
        if let Some(v) = v {
            *slot = v;
        }
    }

    fn fmt_ppl(x: f64) -> String {
        if x.is_infinite() {
            "∞".into()
        } else {
            format!("{x:.4}")
        }
    }

    fn run() -> Result<()> {
        let cli = Cli::parse();
        match cli.cmd {
            Cmd::Train(args) | Cmd::Eval(args) => {
                let s = args.trained()?;
                let r = s.report()?;
                if args.json {
                    let v = &r.validation;
                    let mut out = serde_json::json!({
                        "validation_loss": v.bits_per_token * std::f64::consts::LN_2,
                        "perplexity": v.perplexity,
                        "perplexity_excluding_oov": v.perplexity_excluding_oov,
                        "bits_per_token": v.bits_per_token,
                        "bits_per_char": r.bits_per_char,
                        "m": v.m,
                        "oov_tokens": v.oov_tokens,
                        "oov_rate": v.oov_rate,
                        "zero_probability_tokens": v.zero_probability_tokens,
                        "normalized": v.normalized,
                        "notes": v.notes,
                        "model": r.model,
                        "data": r.data,
                        "config": s.config,
                        "device": *args.device_report.borrow(),
                    });
                    if let Some(w) = &r.windows {
                        out["validation_loss_windows"] = serde_json::to_value(w).expect("json");
                    }
                    println!("{}", serde_json::to_string_pretty(&out).expect("json"));
                } else {
                    let v = &r.validation;
                    println!("model        {}", r.model.description);
                    println!("vocabulary   {} types", r.data.vocab_size);
                    println!("tokens       {} train, {} scored (m)", r.data.train_tokens, v.m);
                    println!("perplexity   {}", fmt_ppl(v.perplexity));
                    if let Some(b) = r.bits_per_char {
                        println!("bits/char    {b:.4} (comparable across tokenizers; per-token perplexity is not)");
                    }
                    if let Some(w) = &r.windows {
                        println!("window loss  {:.4} nats ({} batches × {} windows of {} tokens, nanoGPT's estimate)", w.loss, w.batches, w.batch_size, w.window);
                    }
                    println!("  excl. OOV  {}", fmt_ppl(v.perplexity_excluding_oov));
                    println!("OOV          {} tokens ({:.2}%)", v.oov_tokens, 100.0 * v.oov_rate);
                    for n in &v.notes {
                        println!("note         {}", n.message);
                    }
                }
            }
            Cmd::Bench(b) => {
                let mut args: serde_json::Value = serde_json::from_str(&b.args)?;
                if let Some(path) = args.get("corpus_file").and_then(|v| v.as_str()).map(str::to_string) {
                    args["corpus"] = serde_json::Value::String(read(&path)?);
                }
                let out = lmplay::bench::run(&b.name, &args)?;
                println!("{}", serde_json::to_string(&out).expect("json"));
            }
            Cmd::Task(a) => {
                print!("{}", lmplay::tasks::find(&a.name)?.corpus(a.seed, a.lines));
            }
            Cmd::View(v) => {
                let s = v.run.trained()?;
                let args: serde_json::Value = serde_json::from_str(&v.view_args)?;
                println!("{}", serde_json::to_string_pretty(&s.view(&v.name, &args)?).expect("json"));
            }
            Cmd::Sample(args) => {
                // A model that cannot generate (bidirectional) is refused before it trains.
                if args.run.load.is_none() && args.run.load_arpa.is_none() {
                    args.run.session()?.can_generate()?;
                }
                let s = args.run.trained()?;
                s.can_generate()?;
                let cfg = SampleConfig {
                    length: args.length,
                    temperature: args.temperature,
                    top_k: args.top_k,
                    top_p: args.top_p,
                    greedy: args.greedy,
                    seed: args.sample_seed.unwrap_or(s.config.seed),
                    alternatives: args.alternatives,
                };
                let mut tokens = Vec::new();
                let mut text = args.prompt.clone();
                let stdout = std::io::stdout();
                let mut out = stdout.lock();
                if !args.run.json {
                    let _ = write!(out, "{}", args.prompt);
                }
                s.generate(&args.prompt, &cfg, |g| {
                    text.push_str(&g.text);
                    if !args.run.json {
                        let _ = write!(out, "{}", g.text);
                        let _ = out.flush();
                    }
                    tokens.push(g);
                    true
                })?;
                if args.run.json {
                    let v = serde_json::json!({ "text": text, "tokens": tokens });
                    let _ = writeln!(out, "{}", serde_json::to_string_pretty(&v).expect("json"));
                } else {
                    let _ = writeln!(out);
                }
            }
        }
        Ok(())
    }

    pub fn main() -> i32 {
        match run() {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("lmplay: {e}");
                1
            }
        }
    }
}
