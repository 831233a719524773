//! One Transformer block, forward and backward, pre-LN or post-LN:
//!
//! ```text
//! pre-LN:  s1 = x + drop(Attn(LN₁(x)))          y = s1 + drop(FFN(LN₂(s1)))
//! post-LN: s1 = x + drop(Attn(x)),  m = LN₁(s1)   y = LN₂(m + drop(FFN(m)))
//! Attn(u)  = concat(head_1 … head_H)·W_Oᵀ + b_O,  head_h = drop(softmax(Q_h K_hᵀ/√d_k + mask)) V_h,
//!            [Q | K | V] = u·W_QKVᵀ + b_QKV   (the per-head projections W_h^Q, W_h^K, W_h^V are
//!            row blocks of W_QKV: [3C × C], nn.Linear's layout)
//! FFN(u)   = W₂·f(W₁u + b₁) + b₂,  f = ReLU | GELU
//! ```
//! drop: inverted dropout with the config's p, while training only (nanoGPT's `resid_dropout` and
//! `attn_dropout`). The branches' masks are stored; the probabilities' is drawn again by the fused
//! attention op's backward (`AttnDropout`). Linear attention forms no probabilities: only its
//! branch output is dropped.
//! Names are nanoGPT's (`transformer.h.{l}.ln_1`, `attn.c_attn`, `attn.c_proj`, `ln_2`, `mlp.c_fc`,
//! `mlp.c_proj`), so exported weights load in its `GPT` module; Shaw's tables are `attn.rel_k` and
//! `attn.rel_v`. Every tensor lives in a buffer of its own (GPU buffer rules); the gradients of the
//! block's activations are shared by all blocks (the backward runs one block at a time).

use super::config::{AttentionKind, NormPlacement, Positional, TransformerConfig};
use crate::nn::backend::Backend;
use crate::nn::engine::Engine;
use crate::nn::ops::attention::{AttnDropout, AttnSpec};
use crate::nn::ops::dropout::hash32;
use crate::nn::ops::elementwise::Binary;
use crate::nn::tensor::{Shape, Tensor};
use crate::Result;

pub fn name(l: usize, what: &str) -> String {
    format!("transformer.h.{l}.{what}")
}

/// What every block has, by name suffix and shape (for the layout and initialisation).
pub fn entries(c: &TransformerConfig) -> Vec<(&'static str, Vec<usize>)> {
    let (w, f) = (c.width, c.ffn_width());
    let mut e = vec![
        ("ln_1.weight", vec![w]),
        ("ln_1.bias", vec![w]),
        ("attn.c_attn.weight", vec![3 * w, w]),
        ("attn.c_attn.bias", vec![3 * w]),
        ("attn.c_proj.weight", vec![w, w]),
        ("attn.c_proj.bias", vec![w]),
    ];
    if c.positional == Positional::Relative {
        e.push(("attn.rel_k", vec![c.rel_clip + 1, c.head_dim()]));
        e.push(("attn.rel_v", vec![c.rel_clip + 1, c.head_dim()]));
    }
    e.extend([
        ("ln_2.weight", vec![w]),
        ("ln_2.bias", vec![w]),
        ("mlp.c_fc.weight", vec![f, w]),
        ("mlp.c_fc.bias", vec![f]),
        ("mlp.c_proj.weight", vec![w, f]),
        ("mlp.c_proj.bias", vec![w]),
    ]);
    e
}

/// A block's parameters (or their gradients) by role.
#[derive(Clone, Copy)]
pub struct BlockParams {
    pub ln1: [Tensor; 2],
    pub attn: [Tensor; 2],
    pub proj: [Tensor; 2],
    pub rel: Option<[Tensor; 2]>,
    pub ln2: [Tensor; 2],
    pub fc: [Tensor; 2],
    pub fc2: [Tensor; 2],
}

impl BlockParams {
    pub fn new(l: usize, relative: bool, view: impl Fn(&str) -> Tensor) -> BlockParams {
        let v = |w: &str| view(&name(l, w));
        let pair = |a: &str| [v(&format!("{a}.weight")), v(&format!("{a}.bias"))];
        BlockParams {
            ln1: pair("ln_1"),
            attn: pair("attn.c_attn"),
            proj: pair("attn.c_proj"),
            rel: relative.then(|| [v("attn.rel_k"), v("attn.rel_v")]),
            ln2: pair("ln_2"),
            fc: pair("mlp.c_fc"),
            fc2: pair("mlp.c_proj"),
        }
    }
}

/// A LayerNorm's output and saved statistics.
#[derive(Clone, Copy)]
pub struct Norm {
    pub out: Tensor,
    pub mean: Tensor,
    pub rstd: Tensor,
}

impl Norm {
    pub fn new(eng: &mut Engine, rows: usize, c: usize) -> Result<Norm> {
        Ok(Norm { out: eng.alloc(&[rows, c])?, mean: eng.alloc(&[rows])?, rstd: eng.alloc(&[rows])? })
    }
    pub fn floats(rows: u64, c: u64) -> u64 {
        rows * c + 2 * rows
    }
    fn rows(&self, n: usize) -> Norm {
        Norm { out: self.out.first_rows(n), mean: self.mean.first_rows(n), rstd: self.rstd.first_rows(n) }
    }
    pub fn forward(&self, be: &mut dyn Backend, rows: usize, x: Tensor, p: [Tensor; 2]) {
        let n = self.rows(rows);
        be.layernorm(n.out, n.mean, n.rstd, x, p[0], p[1]);
    }
    /// dx += ∂/∂x, dweight, dbias += theirs, from dout.
    #[allow(clippy::too_many_arguments)]
    fn backward(&self, be: &mut dyn Backend, rows: usize, dx: Tensor, g: [Tensor; 2], dout: Tensor, x: Tensor, p: [Tensor; 2]) {
        let n = self.rows(rows);
        be.layernorm_backward(dx, g[0], g[1], dout, x, p[0], n.mean, n.rstd);
    }
}

/// A block's activations for up to `rows` rows; `probs` holds B·H·Tq·Tk scores.
pub struct BlockActs {
    pub ln1: Norm,
    pub ln2: Norm,
    pub qkv: Tensor,
    /// RoPE: the rotated qkv (what attention reads, and what a KV cache keeps).
    pub qkvr: Option<Tensor>,
    pub att: Tensor,
    pub probs: Tensor,
    pub proj: Tensor,
    pub s1: Tensor,
    pub fc: Tensor,
    pub act: Tensor,
    pub mlp: Tensor,
    pub s2: Tensor,
    /// Dropout: the masks and dropped copies of the attention and FFN branches.
    pub drop: Option<[Tensor; 4]>,
    /// Linear attention: the running state (d_k² + d_k floats); `probs` then holds the
    /// denominators [B × H × Tq].
    pub scratch: Option<Tensor>,
}

impl BlockActs {
    pub fn new(eng: &mut Engine, c: &TransformerConfig, rows: usize, probs: usize, dropout: bool) -> Result<BlockActs> {
        let (w, f) = (c.width, c.ffn_width());
        Ok(BlockActs {
            ln1: Norm::new(eng, rows, w)?,
            ln2: Norm::new(eng, rows, w)?,
            qkv: eng.alloc(&[rows, 3 * w])?,
            qkvr: if c.positional == Positional::Rope { Some(eng.alloc(&[rows, 3 * w])?) } else { None },
            att: eng.alloc(&[rows, w])?,
            probs: eng.alloc(&[probs])?,
            proj: eng.alloc(&[rows, w])?,
            s1: eng.alloc(&[rows, w])?,
            fc: eng.alloc(&[rows, f])?,
            act: eng.alloc(&[rows, f])?,
            mlp: eng.alloc(&[rows, w])?,
            s2: eng.alloc(&[rows, w])?,
            drop: if dropout { Some([eng.alloc(&[rows, w])?, eng.alloc(&[rows, w])?, eng.alloc(&[rows, w])?, eng.alloc(&[rows, w])?]) } else { None },
            scratch: if c.attention == AttentionKind::Linear { Some(eng.alloc(&[c.head_dim() * c.head_dim() + c.head_dim()])?) } else { None },
        })
    }
    pub fn floats(c: &TransformerConfig, rows: u64, probs: u64, dropout: bool) -> u64 {
        let (w, f) = (c.width as u64, c.ffn_width() as u64);
        let rope = if c.positional == Positional::Rope { 3 * w } else { 0 };
        let drop = if dropout { 4 * w } else { 0 };
        let dk = c.head_dim() as u64;
        let scratch = if c.attention == AttentionKind::Linear { dk * dk + dk } else { 0 };
        2 * Norm::floats(rows, w) + rows * (3 * w + rope + 5 * w + 2 * f + drop) + probs + scratch
    }
    /// The block's output for `rows` rows.
    pub fn output(&self, norm: NormPlacement, rows: usize) -> Tensor {
        match norm {
            NormPlacement::Pre => self.s2.first_rows(rows),
            NormPlacement::Post => self.ln2.out.first_rows(rows),
        }
    }
    /// The tensor attention reads (RoPE'd if so).
    pub fn attn_input(&self) -> Tensor {
        self.qkvr.unwrap_or(self.qkv)
    }
}

/// The gradients of one block's activations, shared by every block.
pub struct BlockGrads {
    ds2: Tensor,
    dmlp: Tensor,
    dact: Tensor,
    dfc: Tensor,
    dn2: Tensor,
    ds1: Tensor,
    dproj: Tensor,
    datt: Tensor,
    dqkvr: Tensor,
    dqkv: Tensor,
    dn1: Tensor,
}

impl BlockGrads {
    pub fn new(eng: &mut Engine, c: &TransformerConfig, rows: usize) -> Result<BlockGrads> {
        let (w, f) = (c.width, c.ffn_width());
        let mut t = |n: usize| eng.alloc(&[rows, n]);
        Ok(BlockGrads { ds2: t(w)?, dmlp: t(w)?, dact: t(f)?, dfc: t(f)?, dn2: t(w)?, ds1: t(w)?, dproj: t(w)?, datt: t(w)?, dqkvr: t(3 * w)?, dqkv: t(3 * w)?, dn1: t(w)? })
    }
    pub fn floats(c: &TransformerConfig, rows: u64) -> u64 {
        let (w, f) = (c.width as u64, c.ffn_width() as u64);
        rows * (7 * w + 2 * f + 6 * w)
    }
}

/// The shapes of one pass: `b` sequences of `t` new tokens, the first at position `pos0`.
#[derive(Clone, Copy)]
pub struct Pass {
    pub b: usize,
    pub t: usize,
    pub pos0: usize,
    /// The attention view's pass: the probabilities are kept for the maps even where training
    /// keeps only their log-sum-exps (`AttnSpec::lse`).
    pub maps: bool,
}

impl Pass {
    fn rows(&self) -> usize {
        self.b * self.t
    }
}

fn seq(x: Tensor, b: usize, t: usize, w: usize) -> Tensor {
    assert!(b * t * w <= x.len());
    Tensor { shape: Shape::new(&[b, t, w]), ..x }
}

/// The attention op's spec for a pass: with a dropout seed (training), dropout p on the attention
/// probabilities too (nanoGPT's `attn_dropout`, the same p), its mask drawn from the layer's seed.
pub fn attn_spec(c: &TransformerConfig, spec: &AttnSpec, seed: Option<u32>, pass: Pass) -> AttnSpec {
    let dropout = seed.filter(|_| c.dropout > 0.0).map(|seed| AttnDropout { p: c.dropout as f32, seed: hash32(seed ^ 0x68e3_1da4) });
    AttnSpec { dropout, lse: spec.lse && !pass.maps, ..*spec }
}

/// The attention probabilities of a pass as `Backend::attention` takes them: [B × H × Tq × Tk], or
/// [B × H × Tq] log-sum-exps in the memory-efficient form.
fn probs_of(probs: Tensor, s: &AttnSpec, pass: Pass, tk: usize) -> Tensor {
    let dims: &[usize] = if s.lse { &[pass.b, s.heads, pass.t] } else { &[pass.b, s.heads, pass.t, tk] };
    Tensor { shape: Shape::new(dims), ..probs }
}

/// What a stream's step reads besides its own row.
#[derive(Clone, Copy)]
pub enum Memory {
    /// A KV cache: the qkv rows of positions < pos0, to which the new rows are appended.
    Kv(Tensor),
    /// Linear attention's running state [H × (d_k² + d_k)], to which the new token is added.
    State(Tensor),
}

/// Forward of block `p` on input `x` ([rows × C]). With `memory` (a stream's step: one sequence,
/// positions < pos0 already read), attention reads the KV cache (the new rows' qkv appended) or the
/// running state (one token added); otherwise it reads the pass's own rows. `seed`: dropout.
#[allow(clippy::too_many_arguments)]
pub fn forward(be: &mut dyn Backend, c: &TransformerConfig, spec: &AttnSpec, p: &BlockParams, a: &BlockActs, x: Tensor, pass: Pass, memory: Option<Memory>, seed: Option<u32>) {
    let rows = pass.rows();
    let w = c.width;
    let r = |t: Tensor| t.first_rows(rows);
    let pre = c.norm == NormPlacement::Pre;
    // Attention branch.
    let u = if pre {
        a.ln1.forward(be, rows, x, p.ln1);
        r(a.ln1.out)
    } else {
        x
    };
    be.matmul(r(a.qkv), u, p.attn[0], false, true, false); // u·W_QKVᵀ: [rows × 3C]
    be.add_rows(r(a.qkv), p.attn[1]);
    if let Some(qr) = a.qkvr {
        be.rope(seq(qr, pass.b, pass.t, 3 * w), seq(a.qkv, pass.b, pass.t, 3 * w), spec.heads, pass.pos0);
    }
    let (keys, tk) = match memory {
        Some(Memory::Kv(cache)) => {
            be.copy_rows(cache, pass.pos0, a.attn_input(), 0, pass.t);
            (seq(cache, 1, pass.pos0 + pass.t, 3 * w), pass.pos0 + pass.t)
        }
        _ => (seq(a.attn_input(), pass.b, pass.t, 3 * w), pass.t),
    };
    match (memory, a.scratch) {
        (Some(Memory::State(state)), _) => {
            assert_eq!(rows, 1, "a linear-attention step reads one token");
            be.linear_attention_step(r(a.att), state, r(a.attn_input()), spec.heads);
        }
        (_, Some(scratch)) => {
            let den = Tensor { shape: Shape::new(&[pass.b * spec.heads * pass.t]), ..a.probs };
            be.linear_attention(seq(a.att, pass.b, pass.t, w), den, scratch, keys, spec.heads);
        }
        (_, None) => {
            let s = attn_spec(c, spec, seed, pass);
            be.attention(seq(a.att, pass.b, pass.t, w), probs_of(a.probs, &s, pass, tk), keys, p.rel, &s);
        }
    }
    be.matmul(r(a.proj), r(a.att), p.proj[0], false, true, false); // concat(heads)·W_Oᵀ
    be.add_rows(r(a.proj), p.proj[1]);
    let proj = match (&a.drop, seed) {
        (Some([m1, d1, _, _]), Some(seed)) => {
            be.dropout_mask(r(*m1), c.dropout as f32, seed);
            be.binary(Binary::Mul, r(*d1), r(a.proj), r(*m1));
            r(*d1)
        }
        _ => r(a.proj),
    };
    be.binary(Binary::Add, r(a.s1), x, proj);
    // FFN branch.
    let (m, f_in) = if pre {
        a.ln2.forward(be, rows, r(a.s1), p.ln2);
        (r(a.s1), r(a.ln2.out))
    } else {
        a.ln1.forward(be, rows, r(a.s1), p.ln1);
        (r(a.ln1.out), r(a.ln1.out))
    };
    be.matmul(r(a.fc), f_in, p.fc[0], false, true, false); // [rows × F]
    be.add_rows(r(a.fc), p.fc[1]);
    be.activation(c.activation, r(a.act), r(a.fc));
    be.matmul(r(a.mlp), r(a.act), p.fc2[0], false, true, false); // [rows × C]
    be.add_rows(r(a.mlp), p.fc2[1]);
    let mlp = match (&a.drop, seed) {
        (Some([_, _, m2, d2]), Some(seed)) => {
            be.dropout_mask(r(*m2), c.dropout as f32, hash32(seed ^ 0x5bd1_e995));
            be.binary(Binary::Mul, r(*d2), r(a.mlp), r(*m2));
            r(*d2)
        }
        _ => r(a.mlp),
    };
    be.binary(Binary::Add, r(a.s2), m, mlp);
    if !pre {
        a.ln2.forward(be, rows, r(a.s2), p.ln2);
    }
}

/// Backward of the last forward of block `p` (a whole pass, no cache): from dy (the gradient of its
/// output) into dx (overwritten: it is this block's input gradient) and the parameter gradients `g`
/// (accumulated). `seed`: the forward's (dropout's masks).
#[allow(clippy::too_many_arguments)]
pub fn backward(be: &mut dyn Backend, c: &TransformerConfig, spec: &AttnSpec, p: &BlockParams, g: &BlockParams, a: &BlockActs, d: &BlockGrads, x: Tensor, dx: Tensor, dy: Tensor, pass: Pass, seed: Option<u32>) {
    let dropped = seed.is_some();
    let rows = pass.rows();
    let w = c.width;
    let r = |t: Tensor| t.first_rows(rows);
    let pre = c.norm == NormPlacement::Pre;
    let zero = |be: &mut dyn Backend, t: Tensor| be.fill(r(t), 0.0);
    // y → s2.
    let ds2 = if pre {
        dy
    } else {
        zero(be, d.ds2);
        a.ln2.backward(be, rows, r(d.ds2), g.ln2, dy, r(a.s2), p.ln2);
        r(d.ds2)
    };
    // FFN branch.
    let dmlp = match (&a.drop, dropped) {
        (Some([_, _, m2, _]), true) => {
            be.binary(Binary::Mul, r(d.dmlp), ds2, r(*m2));
            r(d.dmlp)
        }
        _ => ds2,
    };
    be.sum_rows(g.fc2[1], dmlp, true);
    be.linear_backward(r(d.dact), g.fc2[0], dmlp, r(a.act), p.fc2[0], false);
    be.activation_backward(c.activation, r(d.dfc), r(a.fc), r(a.act), r(d.dact), false);
    be.sum_rows(g.fc[1], r(d.dfc), true);
    if pre {
        // s2 = s1 + FFN(LN₂(s1)).
        be.linear_backward(r(d.dn2), g.fc[0], r(d.dfc), r(a.ln2.out), p.fc[0], false);
        be.copy_rows(r(d.ds1), 0, ds2, 0, rows);
        a.ln2.backward(be, rows, r(d.ds1), g.ln2, r(d.dn2), r(a.s1), p.ln2);
    } else {
        // s2 = m + FFN(m), m = LN₁(s1).
        be.copy_rows(r(d.dn2), 0, ds2, 0, rows);
        be.linear_backward(r(d.dn2), g.fc[0], r(d.dfc), r(a.ln1.out), p.fc[0], true);
        zero(be, d.ds1);
        a.ln1.backward(be, rows, r(d.ds1), g.ln1, r(d.dn2), r(a.s1), p.ln1);
    }
    // Attention branch: s1 = x + proj.
    let dproj = match (&a.drop, dropped) {
        (Some([m1, _, _, _]), true) => {
            be.binary(Binary::Mul, r(d.dproj), r(d.ds1), r(*m1));
            r(d.dproj)
        }
        _ => r(d.ds1),
    };
    be.sum_rows(g.proj[1], dproj, true);
    be.linear_backward(r(d.datt), g.proj[0], dproj, r(a.att), p.proj[0], false);
    let s3 = |t: Tensor| seq(t, pass.b, pass.t, 3 * w);
    let dqkv_attn = if a.qkvr.is_some() { d.dqkvr } else { d.dqkv };
    zero(be, dqkv_attn);
    match a.scratch {
        Some(scratch) => {
            let den = Tensor { shape: Shape::new(&[pass.b * spec.heads * pass.t]), ..a.probs };
            be.linear_attention_backward(s3(dqkv_attn), scratch, seq(d.datt, pass.b, pass.t, w), seq(a.att, pass.b, pass.t, w), den, s3(a.attn_input()), spec.heads);
        }
        None => {
            let s = attn_spec(c, spec, seed, pass);
            be.attention_backward(s3(dqkv_attn), g.rel, seq(d.datt, pass.b, pass.t, w), seq(a.att, pass.b, pass.t, w), probs_of(a.probs, &s, pass, pass.t), s3(a.attn_input()), p.rel, &s)
        }
    }
    if a.qkvr.is_some() {
        zero(be, d.dqkv);
        be.rope_backward(s3(d.dqkv), s3(d.dqkvr), spec.heads, pass.pos0);
    }
    be.sum_rows(g.attn[1], r(d.dqkv), true);
    be.copy_rows(dx, 0, r(d.ds1), 0, rows);
    if pre {
        be.linear_backward(r(d.dn1), g.attn[0], r(d.dqkv), r(a.ln1.out), p.attn[0], false);
        a.ln1.backward(be, rows, dx, g.ln1, r(d.dn1), x, p.ln1);
    } else {
        be.linear_backward(dx, g.attn[0], r(d.dqkv), x, p.attn[0], true);
    }
}
