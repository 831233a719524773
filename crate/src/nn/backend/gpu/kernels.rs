//! The WGSL kernels: one `.wgsl` file per concept (`shaders/`), each entry point a [`K`] with the
//! number of buffers it writes and reads. Every kernel binds its parameters at binding 0 (a
//! uniform slot with a dynamic offset, see `arena.rs`), then its outputs (read-write storage), then
//! its inputs (read-only storage), in the order the backend passes them.

/// The prelude every shader gets: index helpers, the dropout hash, safe tanh and the non-finite test.
const COMMON: &str = include_str!("shaders/common.wgsl");

macro_rules! kernels {
    ($($k:ident => ($file:literal, $entry:literal, $outs:literal, $ins:literal),)*) => {
        /// A compute pipeline: (shader file, entry point, outputs, inputs).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum K { $($k,)* }
        impl K {
            pub const ALL: &'static [K] = &[$(K::$k,)*];
            pub fn spec(self) -> (&'static str, &'static str, u32, u32) {
                match self { $(K::$k => (include_str!(concat!("shaders/", $file)), $entry, $outs, $ins),)* }
            }
            pub fn name(self) -> &'static str {
                match self { $(K::$k => concat!($file, ":", $entry),)* }
            }
        }
    };
}

kernels! {
    Fill => ("memory.wgsl", "fill", 1, 0),
    Copy => ("memory.wgsl", "copy_blocks", 1, 1),
    Transpose => ("memory.wgsl", "transpose", 1, 1),
    Matmul => ("matmul.wgsl", "matmul", 1, 2),
    MatmulVec4 => ("matmul.wgsl", "matmul_vec4", 1, 2),
    SplitKReduce => ("matmul.wgsl", "splitk_reduce", 1, 1),
    Binary => ("elementwise.wgsl", "binary", 1, 2),
    BinaryGrad => ("elementwise.wgsl", "binary_grad", 1, 2),
    AddRows => ("elementwise.wgsl", "add_rows", 1, 1),
    Scale => ("elementwise.wgsl", "scale", 1, 0),
    Axpy => ("elementwise.wgsl", "axpy", 1, 1),
    Act => ("activation.wgsl", "activation", 1, 1),
    ActBack => ("activation.wgsl", "activation_backward", 1, 3),
    Softmax => ("softmax.wgsl", "softmax", 1, 1),
    SoftmaxBack => ("softmax.wgsl", "softmax_backward", 1, 2),
    LogSoftmax => ("softmax.wgsl", "log_softmax", 1, 1),
    LogSoftmaxBack => ("softmax.wgsl", "log_softmax_backward", 1, 2),
    CrossEntropy => ("cross_entropy.wgsl", "cross_entropy", 2, 2),
    CrossEntropyBack => ("cross_entropy.wgsl", "cross_entropy_backward", 1, 2),
    LayerNorm => ("layernorm.wgsl", "layernorm", 3, 3),
    LayerNormBackDx => ("layernorm.wgsl", "layernorm_backward_dx", 1, 5),
    LayerNormBackDw => ("layernorm.wgsl", "layernorm_backward_dw", 2, 4),
    MaskColumns => ("mask.wgsl", "mask_columns", 1, 1),
    CausalMask => ("mask.wgsl", "causal_mask", 1, 0),
    Dropout => ("mask.wgsl", "dropout_mask", 1, 0),
    Lstm => ("recurrent.wgsl", "lstm_cell", 3, 2),
    LstmBack => ("recurrent.wgsl", "lstm_cell_backward", 2, 5),
    Gru => ("recurrent.wgsl", "gru_cell", 2, 3),
    GruBack => ("recurrent.wgsl", "gru_cell_backward", 3, 4),
    RnnSeq => ("recurrence.wgsl", "rnn_sequence", 2, 3),
    LstmSeq => ("recurrence.wgsl", "lstm_sequence", 4, 4),
    GruSeq => ("recurrence.wgsl", "gru_sequence", 3, 4),
    RnnSeqBack => ("recurrence.wgsl", "rnn_sequence_backward", 2, 2),
    LstmSeqBack => ("recurrence.wgsl", "lstm_sequence_backward", 3, 4),
    GruSeqBack => ("recurrence.wgsl", "gru_sequence_backward", 3, 5),
    Attention => ("attention.wgsl", "attention", 2, 3),
    AttentionOnline => ("attention.wgsl", "attention_online", 2, 3),
    AttentionBackQ => ("attention.wgsl", "attention_backward_q", 2, 6),
    AttentionBackKv => ("attention.wgsl", "attention_backward_kv", 1, 6),
    AttentionBackRel => ("attention.wgsl", "attention_backward_rel", 2, 3),
    AttentionTiled => ("attention.wgsl", "attention_tiled", 2, 3),
    AttentionTiledBackQ => ("attention.wgsl", "attention_tiled_backward_q", 2, 6),
    AttentionTiledBackKv => ("attention.wgsl", "attention_tiled_backward_kv", 1, 6),
    LinAttention => ("linear_attention.wgsl", "linear_attention", 2, 1),
    LinAttentionBackQk => ("linear_attention.wgsl", "linear_attention_backward_qk", 1, 4),
    LinAttentionBackV => ("linear_attention.wgsl", "linear_attention_backward_v", 1, 4),
    LinAttentionState => ("linear_attention.wgsl", "linear_attention_state", 1, 1),
    LinAttentionStep => ("linear_attention.wgsl", "linear_attention_step", 2, 1),
    Rope => ("rope.wgsl", "rope", 1, 2),
    RopeBack => ("rope.wgsl", "rope_backward", 1, 2),
    Embedding => ("embedding.wgsl", "embedding", 1, 2),
    EmbeddingBack => ("embedding.wgsl", "embedding_backward", 1, 2),
    SumRows => ("reduce.wgsl", "sum_rows", 1, 1),
    SumSquares => ("reduce.wgsl", "sum_squares", 1, 1),
    NonFinite => ("reduce.wgsl", "flag_nonfinite", 1, 1),
    Clip => ("optim.wgsl", "clip_by_norm", 1, 2),
    Sgd => ("optim.wgsl", "sgd", 2, 2),
    Adam => ("optim.wgsl", "adam", 3, 2),
}

/// The full WGSL of a kernel's module: the prelude, the file's shared part (before its first
/// `// @entry` line), then every section whose marker names this entry (`// @entry a b` starts a
/// section shared by entries a and b; it runs to the next marker). Sections declare their own
/// bindings, so entries of one file may bind differently.
pub fn source(k: K) -> String {
    let (file, entry, _, _) = k.spec();
    let mut parts = file.split("// @entry ");
    let mut out = format!("{COMMON}\n{}", parts.next().unwrap_or(""));
    let mut found = false;
    for section in parts {
        let names = section.lines().next().unwrap_or("");
        if names.split_whitespace().any(|n| n == entry) {
            out.push_str("\n// ");
            out.push_str(section);
            found = true;
        }
    }
    assert!(found, "{}: no `// @entry {entry}` section", k.name());
    out
}
