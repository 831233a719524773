//! The WebGPU backend: the second implementation of [`Backend`], with GPU buffers and WGSL compute
//! kernels (`shaders/`), through wgpu — WebGPU in the browser, Vulkan natively. The CPU backend is
//! its oracle: `tests.rs` runs every op on both and compares.
//!
//! * **Buffers.** One wgpu buffer per `alloc` (the models allocate everything before training, so a
//!   step creates none), its size rounded up to 256 bytes. A tensor binds as the range (offset,
//!   len) of its buffer: offsets are multiples of 256 bytes (the buffer rules of `backend/mod.rs`),
//!   so two outputs in one buffer (a LayerNorm's dweight and dbias) never alias.
//! * **Recording.** Ops are recorded into one command encoder (one compute pass while dispatches
//!   follow each other) and submitted only when something is read back, or when an arena is full.
//!   A training chunk is therefore one submit, or a few.
//! * **Host data inside a recording** (`arena.rs`): each dispatch's parameters go into their own
//!   256-byte slot of a uniform arena, and a `write` while ops are recorded goes into an upload
//!   arena and is copied into place by a command in the encoder. Both arenas reach the GPU by
//!   `queue.write_buffer` before the submit, so every step sees its own batch, learning rate and
//!   seeds — `queue.write_buffer` on the tensor itself would land before *all* of the chunk's steps.
//! * **Bind groups** are cached by (kernel, bound ranges): a step reuses last step's.
//! * **Reads.** Natively `read` submits, maps and waits. In the browser a synchronous read cannot
//!   happen (`map_async` resolves on the event loop), so `read` there is a bug and panics; the
//!   page's reads go through `read_async`.

pub mod context;
mod arena;
mod kernels;
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;

use super::recurrence::{self, Cell as CellOp, Recurrence, RecurrenceGrads, Seq};
use super::{Backend, SgdStep, Strides};
use crate::nn::kernels::AdamStep;
use crate::nn::ops::{activation::Activation, attention::AttnSpec, attention::Pattern, elementwise::Binary};
use crate::nn::tensor::{BufferId, Ids, Tensor};
use crate::text::TokenId;
use arena::Arena;
pub use context::{AdapterSummary, GpuContext, NoGpu};
use kernels::K;
use rustc_hash::FxHashMap;
use std::cell::Cell;
use std::rc::Rc;

/// Threads per workgroup of the one-thread-per-element kernels (the shaders' `WG`).
const WG: u32 = 256;
/// The largest d_k linear attention runs with on the GPU: a thread keeps a column of the running
/// state in registers (`linear_attention.wgsl`'s `MAX_DK`).
pub const MAX_LINEAR_DK: usize = 128;
/// The widest head the tiled attention kernels take (`MAX_DK` in shaders/attention.wgsl: a thread
/// keeps its row in registers); wider heads run the untiled kernels.
pub const TILED_DK: usize = 64;
/// Rows per workgroup of the tiled attention kernels (`ROWS` in shaders/attention.wgsl).
const TILED_ROWS: usize = 64;

/// A bound buffer range: (buffer, id buffer?, byte offset, byte size).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Bind {
    buf: u32,
    ids: bool,
    offset: u64,
    size: u64,
}

/// A kernel's parameter words (u32 or f32 bits), at most 32: the shader's `P` struct, in order.
#[derive(Default)]
struct Words {
    w: [u32; 32],
    n: usize,
}

impl Words {
    fn u(mut self, v: usize) -> Self {
        assert!(v <= u32::MAX as usize, "a size over 2³² on the GPU");
        self.w[self.n] = v as u32;
        self.n += 1;
        self
    }
    fn b(self, v: bool) -> Self {
        self.u(v as usize)
    }
    fn f(mut self, v: f32) -> Self {
        self.w[self.n] = v.to_bits();
        self.n += 1;
        self
    }
}

fn words() -> Words {
    Words::default()
}

/// Workgroups for `n` threads of `per` each: (x, y, 1) with x ≤ 65,535 (the per-dimension limit);
/// the shaders flatten (x, y) back into one index.
fn grid(n: usize, per: u32) -> (u32, u32, u32) {
    let groups = n.div_ceil(per as usize).max(1);
    if groups <= 65_535 {
        (groups as u32, 1, 1)
    } else {
        (65_535, groups.div_ceil(65_535) as u32, 1)
    }
}

/// The parameters of a fused recurrence kernel (`shaders/recurrence.wgsl`), `None` for an empty
/// pass. Its sequences are addressed with two strides: one for the G·H-wide ones, one for the H-wide.
/// How many K slices a product of `tiles` 64×64 output tiles gets: enough for about 32 workgroups
/// when the output is a few tiles and K is long (each slice at least 256 deep), none otherwise; the
/// scratch of partial products stays under 16 Mi floats.
fn split_k(tiles: usize, mn: usize, k: usize) -> usize {
    if tiles >= 16 || k < 512 {
        return 1;
    }
    (32 / tiles).min(k / 256).min(16).min((16 << 20) / mn.max(1)).max(1)
}

/// Batch rows per workgroup of the fused recurrence kernels (`ROWS` in recurrence.wgsl).
const SEQ_ROWS: usize = 4;

fn sequence_words(r: &Recurrence, g: Option<&RecurrenceGrads>) -> Option<Words> {
    if r.b == 0 || r.t == 0 {
        return None;
    }
    assert!(r.b.div_ceil(SEQ_ROWS) <= 65_535, "recurrence: {} rows is over one dispatch's workgroups", r.b);
    let (hd, gh) = (r.h.width, r.cell.gates() * r.h.width);
    assert_eq!(r.w_hh.shape.dims(), &[gh, hd], "recurrence: W_hh");
    let wide: Vec<Seq> = [Some(r.pre), r.hh, r.gates, g.map(|g| g.dpre), g.and_then(|g| g.dhh)].into_iter().flatten().collect();
    let narrow: Vec<Seq> = [Some(r.h), r.c, g.map(|g| g.dh), g.and_then(|g| g.dc)].into_iter().flatten().collect();
    for (seqs, width) in [(&wide, gh), (&narrow, hd)] {
        for q in seqs {
            assert!(q.width == width && q.stride == seqs[0].stride && q.rows >= r.b, "recurrence: sequences of one width share a layout");
        }
    }
    let act = match r.cell {
        CellOp::Rnn(Activation::Tanh) | CellOp::Lstm | CellOp::Gru => 0,
        CellOp::Rnn(Activation::Sigmoid) => 1,
        CellOp::Rnn(a) => panic!("recurrence: the RNN's σ is tanh or sigmoid, not {}", a.name()),
    };
    Some(words().u(r.b).u(r.t).u(hd).u(r.reverse as usize).u(wide[0].stride).u(narrow[0].stride).u(act).u(r.b_hh.is_some() as usize))
}

struct Pipelines {
    layouts: FxHashMap<(u32, u32), wgpu::BindGroupLayout>,
    pipes: FxHashMap<K, wgpu::ComputePipeline>,
}

pub struct Gpu {
    ctx: Rc<GpuContext>,
    bufs: Vec<wgpu::Buffer>,
    ids: Vec<wgpu::Buffer>,
    /// A small buffer bound where a kernel's optional operand is absent.
    dummy: wgpu::Buffer,
    pipelines: Pipelines,
    groups: FxHashMap<(K, [Bind; 8]), wgpu::BindGroup>,
    arena: Arena,
    encoder: Option<wgpu::CommandEncoder>,
    pass: Option<wgpu::ComputePass<'static>>,
    /// RoPE's (cos, sin) table for d_k: [positions × d_k/2 × 2], computed in f64 on the host once.
    rope: Option<(usize, usize, wgpu::Buffer)>,
    bytes: u64,
    /// GPU objects made so far: (storage buffers, bind groups, pipelines). After a warm-up a training
    /// step makes none (a test checks): they are pooled with the model and cached.
    made: Rc<Cell<(u64, u64, u64)>>,
    /// Whether `read` may block (natively yes, in the browser never).
    sync_reads: bool,
    reads: Rc<Cell<(u64, u64)>>,
    submits: Rc<Cell<u64>>,
    dispatches: Rc<Cell<u64>>,
    /// Split-K's partial products (see `scratch`).
    scratch: Option<wgpu::Buffer>,
}

/// The binding index of the backend's scratch buffer (u32::MAX: the dummy, − 1: RoPE's table).
const SCRATCH: u32 = u32::MAX - 2;

impl Gpu {
    pub fn new(ctx: Rc<GpuContext>) -> Gpu {
        let dummy = ctx.device.create_buffer(&wgpu::BufferDescriptor { label: Some("dummy"), size: 256, usage: wgpu::BufferUsages::STORAGE, mapped_at_creation: false });
        let arena = Arena::new(&ctx.device);
        Gpu {
            ctx,
            bufs: Vec::new(),
            ids: Vec::new(),
            dummy,
            pipelines: Pipelines { layouts: FxHashMap::default(), pipes: FxHashMap::default() },
            groups: FxHashMap::default(),
            arena,
            encoder: None,
            pass: None,
            rope: None,
            bytes: 0,
            made: Rc::default(),
            sync_reads: !cfg!(target_arch = "wasm32"),
            reads: Rc::default(),
            submits: Rc::default(),
            dispatches: Rc::default(),
            scratch: None,
        }
    }

    /// A backend that refuses synchronous reads, as in the browser: natively, it runs the page's
    /// read design (the CPU twin, awaited readbacks) in `cargo test`.
    pub fn async_only(ctx: Rc<GpuContext>) -> Gpu {
        Gpu { sync_reads: false, ..Gpu::new(ctx) }
    }

    /// Natively: a backend on the default Vulkan adapter.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn native() -> Result<Gpu, NoGpu> {
        Ok(Gpu::new(Rc::new(GpuContext::request_blocking()?)))
    }

    pub fn adapter(&self) -> &AdapterSummary {
        &self.ctx.adapter
    }
    /// (synchronous reads, batched readbacks) so far, like `Cpu::read_counts`.
    pub fn read_counts(&self) -> Rc<Cell<(u64, u64)>> {
        self.reads.clone()
    }
    /// A live count of (storage buffers, bind groups, pipelines) created so far.
    pub fn made(&self) -> Rc<Cell<(u64, u64, u64)>> {
        self.made.clone()
    }
    fn count(&self, f: impl FnOnce(&mut (u64, u64, u64))) {
        let mut m = self.made.get();
        f(&mut m);
        self.made.set(m);
    }
    /// Command buffers submitted so far.
    pub fn submit_count(&self) -> Rc<Cell<u64>> {
        self.submits.clone()
    }

    /// A binding of `floats` floats of the backend's own scratch (split-K's partial products), grown
    /// when a product needs more: a model's first step sizes it, so later steps make none.
    fn scratch(&mut self, floats: usize) -> Bind {
        let bytes = (floats as u64 * 4).max(4);
        if self.scratch.as_ref().is_none_or(|s| s.size() < bytes) {
            self.flush(); // recorded dispatches may still bind the old one
            let buf = self.new_buffer(bytes, "scratch");
            self.scratch = Some(buf);
            self.groups.retain(|(_, key), _| key.iter().all(|b| b.buf != SCRATCH));
        }
        Bind { buf: SCRATCH, ids: false, offset: 0, size: bytes }
    }

    /// Compute dispatches recorded so far: what makes a small model's step GPU-bound or not.
    pub fn dispatch_count(&self) -> Rc<Cell<u64>> {
        self.dispatches.clone()
    }

    fn new_buffer(&mut self, bytes: u64, label: &str) -> wgpu::Buffer {
        let size = bytes.max(4).next_multiple_of(256);
        assert!(size <= self.ctx.adapter.max_binding_bytes, "a buffer of {size} bytes is over this GPU's binding limit ({} bytes)", self.ctx.adapter.max_binding_bytes);
        self.bytes += size;
        self.count(|m| m.0 += 1);
        self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    fn bind(&self, t: Tensor) -> Bind {
        assert!(t.offset.is_multiple_of(crate::nn::params::ALIGN), "GPU: tensor offset {} is not a multiple of 256 bytes", t.offset);
        let end = (t.offset + t.len()) as u64 * 4;
        assert!(end <= self.bufs[t.buf.0 as usize].size(), "GPU: a tensor past its buffer's end");
        Bind { buf: t.buf.0, ids: false, offset: t.offset as u64 * 4, size: (t.len() as u64 * 4).max(4) }
    }
    fn bind_ids(&self, t: Ids) -> Bind {
        assert!(t.offset.is_multiple_of(crate::nn::params::ALIGN), "GPU: id offset {} is not a multiple of 256 bytes", t.offset);
        Bind { buf: t.buf.0, ids: true, offset: t.offset as u64 * 4, size: (t.len as u64 * 4).max(4) }
    }
    /// The dummy binding for an absent operand.
    const NONE: Bind = Bind { buf: u32::MAX, ids: false, offset: 0, size: 256 };

    fn buffer(&self, b: &Bind) -> &wgpu::Buffer {
        if b.buf == u32::MAX {
            &self.dummy
        } else if b.buf == SCRATCH {
            self.scratch.as_ref().expect("a scratch buffer")
        } else if b.buf == u32::MAX - 1 {
            &self.rope.as_ref().expect("a RoPE table").2
        } else if b.ids {
            &self.ids[b.buf as usize]
        } else {
            &self.bufs[b.buf as usize]
        }
    }

    fn layout(&mut self, outs: u32, ins: u32) -> wgpu::BindGroupLayout {
        let device = &self.ctx.device;
        self.pipelines
            .layouts
            .entry((outs, ins))
            .or_insert_with(|| {
                let storage = |binding: u32, read_only: bool| wgpu::BindGroupLayoutEntry {
                    binding,
                    visibility: wgpu::ShaderStages::COMPUTE,
                    ty: wgpu::BindingType::Buffer { ty: wgpu::BufferBindingType::Storage { read_only }, has_dynamic_offset: false, min_binding_size: None },
                    count: None,
                };
                let mut entries = vec![wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::COMPUTE,
                    ty: wgpu::BindingType::Buffer { ty: wgpu::BufferBindingType::Uniform, has_dynamic_offset: true, min_binding_size: wgpu::BufferSize::new(arena::PARAM_BYTES) },
                    count: None,
                }];
                entries.extend((0..outs).map(|i| storage(1 + i, false)));
                entries.extend((0..ins).map(|i| storage(1 + outs + i, true)));
                device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor { label: None, entries: &entries })
            })
            .clone()
    }

    fn pipeline(&mut self, k: K) -> wgpu::ComputePipeline {
        if let Some(p) = self.pipelines.pipes.get(&k) {
            return p.clone();
        }
        let (_, entry, outs, ins) = k.spec();
        let layout = self.layout(outs, ins);
        let device = &self.ctx.device;
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor { label: Some(k.name()), source: wgpu::ShaderSource::Wgsl(kernels::source(k).into()) });
        let pl = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor { label: None, bind_group_layouts: &[Some(&layout)], immediate_size: 0 });
        let pipe = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(k.name()),
            layout: Some(&pl),
            module: &module,
            entry_point: Some(entry),
            compilation_options: Default::default(),
            cache: None,
        });
        self.pipelines.pipes.insert(k, pipe.clone());
        self.count(|m| m.2 += 1);
        pipe
    }

    /// Every kernel's (name, entry point, WGSL module): what a browser test compiles with the
    /// browser's own WGSL compiler (Tint is stricter than naga in places).
    pub fn kernel_sources() -> Vec<(&'static str, &'static str, String)> {
        K::ALL.iter().map(|&k| (k.name(), k.spec().1, kernels::source(k))).collect()
    }

    /// Builds every pipeline now (a page warms up before its first step; tests check they compile).
    pub fn compile_all(&mut self) {
        for &k in K::ALL {
            self.pipeline(k);
        }
    }

    fn encoder(&mut self) -> &mut wgpu::CommandEncoder {
        self.encoder.get_or_insert_with(|| self.ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("lmplay") }))
    }

    /// Records one dispatch of `k` over `groups` workgroups.
    fn run(&mut self, k: K, outs: &[Bind], ins: &[Bind], p: Words, groups: (u32, u32, u32)) {
        let (_, _, n_out, n_in) = k.spec();
        assert_eq!((outs.len(), ins.len()), (n_out as usize, n_in as usize), "{}: bindings", k.name());
        if !self.arena.has_param_room() {
            self.flush();
        }
        let pipe = self.pipeline(k);
        let offset = self.arena.push_params(&p.w[..p.n]);
        let mut key = [Gpu::NONE; 8];
        for (slot, b) in key.iter_mut().zip(outs.iter().chain(ins)) {
            *slot = *b;
        }
        if !self.groups.contains_key(&(k, key)) {
            let layout = self.layout(n_out, n_in);
            let mut entries = vec![wgpu::BindGroupEntry {
                binding: 0,
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding { buffer: self.arena.params_buffer(), offset: 0, size: wgpu::BufferSize::new(arena::PARAM_BYTES) }),
            }];
            for (i, b) in outs.iter().chain(ins).enumerate() {
                entries.push(wgpu::BindGroupEntry {
                    binding: 1 + i as u32,
                    resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding { buffer: self.buffer(b), offset: b.offset, size: wgpu::BufferSize::new(b.size) }),
                });
            }
            let group = self.ctx.device.create_bind_group(&wgpu::BindGroupDescriptor { label: None, layout: &layout, entries: &entries });
            self.count(|m| m.1 += 1);
            self.groups.insert((k, key), group);
        }
        if self.pass.is_none() {
            let pass = self.encoder().begin_compute_pass(&wgpu::ComputePassDescriptor { label: None, timestamp_writes: None }).forget_lifetime();
            self.pass = Some(pass);
        }
        let group = &self.groups[&(k, key)];
        let pass = self.pass.as_mut().expect("an open pass");
        pass.set_pipeline(&pipe);
        pass.set_bind_group(0, group, &[offset]);
        pass.dispatch_workgroups(groups.0, groups.1, groups.2);
        self.dispatches.set(self.dispatches.get() + 1);
    }

    /// Submits what is recorded: the arenas' host data first (`queue.write_buffer`), then the commands.
    fn flush(&mut self) {
        self.pass = None;
        if let Some(enc) = self.encoder.take() {
            self.arena.upload(&self.ctx.queue);
            self.ctx.queue.submit([enc.finish()]);
            self.submits.set(self.submits.get() + 1);
        }
        self.arena.reset();
    }

    /// Host → a buffer range: at once when nothing is recorded, else through the upload arena and a
    /// copy in the encoder, so that it lands between the ops recorded before and after it.
    fn upload(&mut self, dst: Bind, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if self.encoder.is_some() && !self.arena.has_upload_room(bytes.len()) {
            self.flush();
        }
        if self.encoder.is_none() {
            let buf = self.buffer(&dst);
            self.ctx.queue.write_buffer(buf, dst.offset, bytes);
            return;
        }
        let at = self.arena.push_upload(bytes);
        self.pass = None;
        let enc = self.encoder.as_mut().expect("recording");
        let buf = if dst.ids { &self.ids[dst.buf as usize] } else { &self.bufs[dst.buf as usize] };
        enc.copy_buffer_to_buffer(self.arena.upload_buffer(), at, buf, dst.offset, bytes.len() as u64);
    }

    /// Copies ranges into one mappable buffer and submits: (staging, each range's place in it).
    fn stage_reads(&mut self, srcs: &[Tensor]) -> (wgpu::Buffer, Vec<(u64, usize)>) {
        let mut places = Vec::with_capacity(srcs.len());
        let mut size = 0u64;
        for t in srcs {
            places.push((size, t.len()));
            size += (t.len() as u64 * 4).next_multiple_of(256);
        }
        let staging = self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: size.max(256),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        self.pass = None;
        for (t, &(at, len)) in srcs.iter().zip(&places) {
            if len > 0 {
                let src = self.bind(*t);
                let buf = self.bufs[t.buf.0 as usize].clone();
                self.encoder().copy_buffer_to_buffer(&buf, src.offset, &staging, at, len as u64 * 4);
            }
        }
        self.encoder();
        self.flush();
        (staging, places)
    }

    fn rope_table(&mut self, dk: usize, positions: usize) -> Bind {
        let fits = matches!(&self.rope, Some((d, p, _)) if *d == dk && *p >= positions);
        if !fits {
            let p = positions.next_power_of_two().max(64);
            let mut table = vec![0f32; p * dk];
            for m in 0..p {
                for i in 0..dk / 2 {
                    let (s, c) = (m as f64 * crate::nn::ops::rope::theta(i, dk)).sin_cos();
                    table[(m * dk / 2 + i) * 2] = c as f32;
                    table[(m * dk / 2 + i) * 2 + 1] = s as f32;
                }
            }
            // Made between recordings (or the recording is submitted first): a new buffer's first
            // write goes straight to the queue.
            self.flush();
            let buf = self.new_buffer(table.len() as u64 * 4, "rope");
            self.ctx.queue.write_buffer(&buf, 0, bytemuck_f32(&table));
            self.rope = Some((dk, p, buf));
            // Only the bind groups of the old table go (the others stay cached).
            self.groups.retain(|(_, key), _| key.iter().all(|b| b.buf != u32::MAX - 1));
        }
        let (_, p, _) = self.rope.as_ref().expect("made above");
        Bind { buf: u32::MAX - 1, ids: false, offset: 0, size: (*p * dk) as u64 * 4 }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
/// The tests' device, one per test thread (creating a Vulkan device takes a while on lavapipe).
pub(crate) fn test_context() -> Option<Rc<GpuContext>> {
    thread_local! {
        // Never dropped: a device torn down in a thread-local destructor aborts the process.
        static CTX: std::mem::ManuallyDrop<Option<Rc<GpuContext>>> = std::mem::ManuallyDrop::new(match GpuContext::request_blocking() {
            Ok(c) => Some(Rc::new(c)),
            Err(e) => { eprintln!("NOTICE: no GPU adapter ({e}): the GPU kernel tests are skipped"); None }
        });
    }
    static SAID: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    let ctx = CTX.with(|c| (**c).clone());
    if let Some(c) = &ctx {
        SAID.get_or_init(|| eprintln!("GPU tests on adapter '{}' ({}, {})", c.adapter.name, c.adapter.backend, c.adapter.device_type));
    }
    ctx
}

fn bytemuck_f32(x: &[f32]) -> &[u8] {
    // SAFETY: f32 has no padding and any byte pattern is a valid u8.
    unsafe { std::slice::from_raw_parts(x.as_ptr().cast(), std::mem::size_of_val(x)) }
}

fn bytemuck_u32(x: &[u32]) -> &[u8] {
    // SAFETY: as above.
    unsafe { std::slice::from_raw_parts(x.as_ptr().cast(), std::mem::size_of_val(x)) }
}

fn floats(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

/// (B, Tq, C) of an attention call: out is [B × Tq × C] (rank 3), qkv [B × Tk × 3C].
fn attn_dims(out: Tensor, qkv: Tensor) -> (usize, usize, usize) {
    let d = out.shape.dims();
    assert!(d.len() == 3 && qkv.shape.rank() == 3 && qkv.shape.last() == 3 * d[2] && qkv.shape.dims()[0] == d[0], "attention: out {:?}, qkv {:?}", out.shape, qkv.shape);
    (d[0], d[1], d[2])
}

/// The attention kernels' shared parameters (`attention.wgsl`'s `P`).
fn attn_words(s: &AttnSpec, b: usize, tq: usize, tk: usize, c: usize) -> Words {
    let (window, stride) = match s.pattern {
        Pattern::Full => (0, 0),
        Pattern::Sparse { window, stride } => (window, stride),
    };
    let mask = s.mask();
    let (keep, threshold, seed) = match s.dropout {
        Some(d) => {
            let m = crate::nn::ops::dropout::Mask::new(d.p, d.seed);
            let (keep, threshold) = m.rule();
            (keep, threshold, d.seed)
        }
        None => (1.0, 0, 0),
    };
    words()
        .u(b)
        .u(tq)
        .u(tk)
        .u(c)
        .u(s.heads)
        .u(c / s.heads)
        .b(matches!(s.pattern, Pattern::Sparse { .. }))
        .u(window)
        .u(stride)
        .b(s.alibi)
        .u(s.rel.map_or(0, |k| k + 1))
        .b(mask.is_some())
        .f(keep)
        .u(threshold as usize)
        .u(seed as usize)
        .f(1.0 / ((c / s.heads) as f32).sqrt())
        .b(s.lse)
}

fn act_code(a: Activation) -> usize {
    match a {
        Activation::Tanh => 0,
        Activation::Relu => 1,
        Activation::Sigmoid => 2,
        Activation::Gelu => 3,
    }
}

/// Right-aligned 4-d dims of a shape (1 for missing leading dims).
fn dims4(d: &[usize]) -> [usize; 4] {
    let mut out = [1; 4];
    out[4 - d.len()..].copy_from_slice(d);
    out
}

impl Backend for Gpu {
    fn name(&self) -> &'static str {
        "gpu"
    }
    fn describe(&self) -> String {
        format!("gpu ({}, {})", self.ctx.adapter.name, self.ctx.adapter.backend)
    }

    fn alloc(&mut self, len: usize) -> BufferId {
        let b = self.new_buffer(len as u64 * 4, "tensor");
        self.bufs.push(b);
        BufferId(self.bufs.len() as u32 - 1)
    }
    fn alloc_ids(&mut self, len: usize) -> BufferId {
        let b = self.new_buffer(len as u64 * 4, "ids");
        self.ids.push(b);
        BufferId(self.ids.len() as u32 - 1)
    }
    fn write(&mut self, dst: Tensor, src: &[f32]) {
        assert_eq!(dst.len(), src.len(), "write: {} values into {:?}", src.len(), dst.shape);
        let b = self.bind(dst);
        self.upload(b, bytemuck_f32(src));
    }
    fn write_ids(&mut self, dst: Ids, src: &[TokenId]) {
        assert_eq!(dst.len, src.len());
        let b = self.bind_ids(dst);
        self.upload(b, bytemuck_u32(src));
    }
    fn reads_synchronously(&self) -> bool {
        self.sync_reads
    }
    fn max_buffer_floats(&self) -> usize {
        let a = &self.ctx.adapter;
        (a.max_binding_bytes.min(a.max_buffer_bytes) / 4).min(crate::nn::params::MAX_PART_FLOATS as u64) as usize
    }
    fn read(&mut self, src: Tensor) -> Vec<f32> {
        assert!(self.sync_reads, "a synchronous read of a {:?} tensor on WebGPU: the browser cannot wait for the GPU (read_async, or the model's CPU twin)", src.shape);
        let (r, a) = self.reads.get();
        self.reads.set((r + 1, a));
        #[cfg(target_arch = "wasm32")]
        unreachable!("no synchronous reads in wasm");
        #[cfg(not(target_arch = "wasm32"))]
        self.read_now(&[src]).pop().expect("one tensor")
    }
    fn read_async(&mut self, srcs: &[Tensor]) -> crate::train::Readback {
        let (r, a) = self.reads.get();
        self.reads.set((r, a + 1));
        #[cfg(not(target_arch = "wasm32"))]
        {
            crate::train::readback::ready(self.read_now(srcs))
        }
        #[cfg(target_arch = "wasm32")]
        {
            let (staging, places) = self.stage_reads(srcs);
            let done = Rc::new(std::cell::RefCell::new((None::<bool>, None::<std::task::Waker>)));
            let d = done.clone();
            staging.map_async(wgpu::MapMode::Read, .., move |r| {
                let mut s = d.borrow_mut();
                s.0 = Some(r.is_ok());
                if let Some(w) = s.1.take() {
                    w.wake();
                }
            });
            Box::pin(std::future::poll_fn(move |cx| {
                let mut s = done.borrow_mut();
                match s.0 {
                    None => {
                        s.1 = Some(cx.waker().clone());
                        std::task::Poll::Pending
                    }
                    Some(ok) => {
                        assert!(ok, "the GPU could not map a readback buffer");
                        let view = staging.get_mapped_range(..).expect("a mapped readback");
                        let out = places.iter().map(|&(at, len)| floats(&view[at as usize..at as usize + len * 4])).collect();
                        drop(view);
                        staging.unmap();
                        std::task::Poll::Ready(out)
                    }
                }
            }))
        }
    }
    fn fill(&mut self, x: Tensor, value: f32) {
        if x.is_empty() {
            return;
        }
        let b = self.bind(x);
        self.run(K::Fill, &[b], &[], words().u(x.len()).f(value), grid(x.len(), WG));
    }
    fn allocated_bytes(&self) -> u64 {
        self.bytes
    }

    fn matmul(&mut self, out: Tensor, a: Tensor, b: Tensor, ta: bool, tb: bool, accumulate: bool) {
        let rank = out.shape.rank();
        let batch = if rank == 3 { out.shape.dims()[0] } else { 1 };
        let (m, n) = (out.shape.rows() / batch, out.shape.last());
        let (ar, ac) = (a.shape.rows() / batch, a.shape.last());
        let k = if ta { ar } else { ac };
        assert_eq!(if ta { ac } else { ar }, m, "matmul: A is {:?}, out {:?}", a.shape, out.shape);
        let (br, bc) = (b.shape.rows() / batch, b.shape.last());
        assert_eq!((if tb { bc } else { br }, if tb { br } else { bc }), (k, n), "matmul: B is {:?}, A {:?}", b.shape, a.shape);
        if out.is_empty() {
            return;
        }
        let (o, ab, bb) = (self.bind(out), self.bind(a), self.bind(b));
        // 16-byte loads where both operands' contiguous dimension is a multiple of 4.
        let vec4 = (if ta { m } else { k }).is_multiple_of(4) && (if tb { k } else { n }).is_multiple_of(4);
        let kern = if vec4 { K::MatmulVec4 } else { K::Matmul };
        let tiles = n.div_ceil(64) * m.div_ceil(64);
        let slices = if batch == 1 { split_k(tiles, m * n, k) } else { 1 };
        if slices > 1 {
            let kslice = k.div_ceil(slices).next_multiple_of(16);
            let slices = k.div_ceil(kslice);
            let part = self.scratch(slices * m * n);
            let p = words().u(m).u(n).u(k).b(ta).b(tb).b(false).u(1).u(kslice);
            self.run(kern, &[part], &[ab, bb], p, (n.div_ceil(64) as u32, m.div_ceil(64) as u32, slices as u32));
            let p = words().u(m).u(n).u(k).b(ta).b(tb).b(accumulate).u(slices).u(kslice);
            self.run(K::SplitKReduce, &[o], &[part], p, grid(m * n, WG));
            return;
        }
        let p = words().u(m).u(n).u(k).b(ta).b(tb).b(accumulate).u(0).u(k);
        self.run(kern, &[o], &[ab, bb], p, (n.div_ceil(64) as u32, m.div_ceil(64) as u32, batch as u32));
    }

    fn binary(&mut self, op: Binary, out: Tensor, a: Tensor, b: Tensor) {
        let (da, db, dout) = (dims4(a.shape.dims()), dims4(b.shape.dims()), dims4(out.shape.dims()));
        for i in 0..4 {
            assert!((da[i] == dout[i] || da[i] == 1) && (db[i] == dout[i] || db[i] == 1), "binary: {:?} and {:?} into {:?}", a.shape, b.shape, out.shape);
        }
        let n = out.len();
        if n == 0 {
            return;
        }
        let (o, a, b) = (self.bind(out), self.bind(a), self.bind(b));
        let mut p = words().u(matches!(op, Binary::Mul) as usize).u(n);
        for d in dout.iter().chain(&da).chain(&db) {
            p = p.u(*d);
        }
        self.run(K::Binary, &[o], &[a, b], p, grid(n, WG));
    }
    fn binary_backward(&mut self, op: Binary, da: Tensor, db: Tensor, dout: Tensor, a: Tensor, b: Tensor) {
        let (sa, sb, so) = (dims4(a.shape.dims()), dims4(b.shape.dims()), dims4(dout.shape.dims()));
        let mul = matches!(op, Binary::Mul) as usize;
        // d x += Σ over x's broadcast axes of dout (· the other operand for Mul).
        for (dx, sx, other, so_other) in [(da, sa, b, sb), (db, sb, a, sa)] {
            if dx.is_empty() {
                continue;
            }
            let (g, d, y) = (self.bind(dx), self.bind(dout), self.bind(other));
            let mut p = words().u(mul).u(dx.len());
            for v in so.iter().chain(&sx).chain(&so_other) {
                p = p.u(*v);
            }
            self.run(K::BinaryGrad, &[g], &[d, y], p, grid(dx.len(), WG));
        }
    }
    fn add_rows(&mut self, x: Tensor, bias: Tensor) {
        assert_eq!(x.shape.last(), bias.len());
        if x.is_empty() {
            return;
        }
        let (xb, bb) = (self.bind(x), self.bind(bias));
        self.run(K::AddRows, &[xb], &[bb], words().u(x.len()).u(bias.len()), grid(x.len(), WG));
    }
    fn scale(&mut self, x: Tensor, s: f32) {
        if x.is_empty() {
            return;
        }
        let xb = self.bind(x);
        self.run(K::Scale, &[xb], &[], words().u(x.len()).f(s), grid(x.len(), WG));
    }
    fn axpy(&mut self, y: Tensor, s: f32, x: Tensor) {
        assert_eq!(y.len(), x.len());
        if y.is_empty() {
            return;
        }
        let (yb, xb) = (self.bind(y), self.bind(x));
        self.run(K::Axpy, &[yb], &[xb], words().u(y.len()).f(s), grid(y.len(), WG));
    }
    fn activation(&mut self, act: Activation, y: Tensor, x: Tensor) {
        if y.is_empty() {
            return;
        }
        let (yb, xb) = (self.bind(y), self.bind(x));
        self.run(K::Act, &[yb], &[xb], words().u(y.len()).u(act_code(act)), grid(y.len(), WG));
    }
    fn activation_backward(&mut self, act: Activation, dx: Tensor, x: Tensor, y: Tensor, dy: Tensor, accumulate: bool) {
        if dx.is_empty() {
            return;
        }
        let (g, xb, yb, dyb) = (self.bind(dx), self.bind(x), self.bind(y), self.bind(dy));
        self.run(K::ActBack, &[g], &[xb, yb, dyb], words().u(dx.len()).u(act_code(act)).b(accumulate), grid(dx.len(), WG));
    }

    fn softmax(&mut self, y: Tensor, x: Tensor) {
        self.rows(K::Softmax, &[y], &[x], x.shape.last(), x.shape.rows());
    }
    fn softmax_backward(&mut self, dx: Tensor, y: Tensor, dy: Tensor) {
        self.rows(K::SoftmaxBack, &[dx], &[y, dy], y.shape.last(), y.shape.rows());
    }
    fn log_softmax(&mut self, y: Tensor, x: Tensor) {
        self.rows(K::LogSoftmax, &[y], &[x], x.shape.last(), x.shape.rows());
    }
    fn log_softmax_backward(&mut self, dx: Tensor, y: Tensor, dy: Tensor) {
        self.rows(K::LogSoftmaxBack, &[dx], &[y, dy], y.shape.last(), y.shape.rows());
    }
    fn cross_entropy(&mut self, losses: Tensor, probs: Tensor, logits: Tensor, targets: Ids) {
        let (c, rows) = (logits.shape.last(), logits.shape.rows());
        assert_eq!(targets.len, rows);
        if rows == 0 {
            return;
        }
        let (l, p, x, t) = (self.bind(losses), self.bind(probs), self.bind(logits), self.bind_ids(targets));
        self.run(K::CrossEntropy, &[l, p], &[x, t], words().u(rows).u(c), grid(rows, 1));
    }
    fn cross_entropy_backward(&mut self, dlogits: Tensor, probs: Tensor, targets: Ids, scale: f32) {
        let (c, rows) = (probs.shape.last(), probs.shape.rows());
        assert_eq!(targets.len, rows);
        if rows == 0 {
            return;
        }
        let (d, p, t) = (self.bind(dlogits), self.bind(probs), self.bind_ids(targets));
        self.run(K::CrossEntropyBack, &[d], &[p, t], words().u(rows * c).u(c).f(scale), grid(rows * c, WG));
    }
    fn layernorm(&mut self, out: Tensor, mean: Tensor, rstd: Tensor, x: Tensor, weight: Tensor, bias: Tensor) {
        let (c, rows) = (x.shape.last(), x.shape.rows());
        if rows == 0 {
            return;
        }
        let b = [out, mean, rstd, x, weight, bias].map(|t| self.bind(t));
        self.run(K::LayerNorm, &b[..3], &b[3..], words().u(rows).u(c), grid(rows, 1));
    }
    fn layernorm_backward(&mut self, dx: Tensor, dweight: Tensor, dbias: Tensor, dout: Tensor, x: Tensor, weight: Tensor, mean: Tensor, rstd: Tensor) {
        let (c, rows) = (x.shape.last(), x.shape.rows());
        if rows == 0 {
            return;
        }
        let [dxb, dwb, dbb, d, xb, wb, mb, rb] = [dx, dweight, dbias, dout, x, weight, mean, rstd].map(|t| self.bind(t));
        self.run(K::LayerNormBackDx, &[dxb], &[d, xb, wb, mb, rb], words().u(rows).u(c), grid(rows, 1));
        // The parameters' gradients sum over rows: a thread per column, rows in order (deterministic).
        self.run(K::LayerNormBackDw, &[dwb, dbb], &[d, xb, mb, rb], words().u(rows).u(c), grid(c, WG));
    }
    fn mask_columns(&mut self, x: Tensor, mask: Tensor, fill: f32) {
        assert_eq!(x.shape.last(), mask.len());
        if x.is_empty() {
            return;
        }
        let (xb, mb) = (self.bind(x), self.bind(mask));
        self.run(K::MaskColumns, &[xb], &[mb], words().u(x.len()).u(mask.len()).f(fill), grid(x.len(), WG));
    }
    fn causal_mask(&mut self, x: Tensor, fill: f32) {
        if x.is_empty() {
            return;
        }
        let xb = self.bind(x);
        self.run(K::CausalMask, &[xb], &[], words().u(x.len()).u(x.shape.last()).f(fill), grid(x.len(), WG));
    }
    fn dropout_mask(&mut self, mask: Tensor, p: f32, seed: u32) {
        if mask.is_empty() {
            return;
        }
        let (keep, threshold) = crate::nn::ops::dropout::Mask::new(p, seed).rule();
        let mb = self.bind(mask);
        self.run(K::Dropout, &[mb], &[], words().u(mask.len()).f(keep).u(threshold as usize).u(seed as usize), grid(mask.len(), WG));
    }

    fn lstm_cell(&mut self, gates: Tensor, c: Tensor, h: Tensor, pre: Tensor, c_prev: Tensor) {
        let hd = c.shape.last();
        if c.is_empty() {
            return;
        }
        let b = [gates, c, h, pre, c_prev].map(|t| self.bind(t));
        self.run(K::Lstm, &b[..3], &b[3..], words().u(c.len()).u(hd), grid(c.len(), WG));
    }
    fn lstm_cell_backward(&mut self, dpre: Tensor, dc_prev: Tensor, gates: Tensor, c: Tensor, c_prev: Tensor, dh: Tensor, dc: Tensor) {
        let hd = c.shape.last();
        if c.is_empty() {
            return;
        }
        let b = [dpre, dc_prev, gates, c, c_prev, dh, dc].map(|t| self.bind(t));
        self.run(K::LstmBack, &b[..2], &b[2..], words().u(c.len()).u(hd), grid(c.len(), WG));
    }
    fn gru_cell(&mut self, gates: Tensor, h: Tensor, ih: Tensor, hh: Tensor, h_prev: Tensor) {
        let hd = h.shape.last();
        if h.is_empty() {
            return;
        }
        let b = [gates, h, ih, hh, h_prev].map(|t| self.bind(t));
        self.run(K::Gru, &b[..2], &b[2..], words().u(h.len()).u(hd), grid(h.len(), WG));
    }
    fn gru_cell_backward(&mut self, dih: Tensor, dhh: Tensor, dh_prev: Tensor, gates: Tensor, hh: Tensor, h_prev: Tensor, dh: Tensor) {
        let hd = dh.shape.last();
        if dh.is_empty() {
            return;
        }
        let b = [dih, dhh, dh_prev, gates, hh, h_prev, dh].map(|t| self.bind(t));
        self.run(K::GruBack, &b[..3], &b[3..], words().u(dh.len()).u(hd), grid(dh.len(), WG));
    }

    fn fuses_recurrence(&self) -> bool {
        true
    }
    fn recurrence(&mut self, r: &Recurrence) {
        if !r.fusable(None) {
            return recurrence::forward_steps(self, r);
        }
        let Some(p) = sequence_words(r, None) else { return };
        let (pre, h, w, h0) = (self.bind(r.pre.slots(r.t)), self.bind(r.h.slots(r.t)), self.bind(r.w_hh), self.bind(r.h0));
        let bias = r.b_hh.map_or(Gpu::NONE, |t| self.bind(t));
        let groups = (r.b.div_ceil(SEQ_ROWS) as u32, 1, 1);
        match r.cell {
            CellOp::Rnn(_) => self.run(K::RnnSeq, &[pre, h], &[w, bias, h0], p, groups),
            CellOp::Lstm => {
                let (gates, c, c0) = (self.bind(r.gates.expect("lstm: gates").slots(r.t)), self.bind(r.c.expect("lstm: c").slots(r.t)), self.bind(r.c0.expect("lstm: c0")));
                self.run(K::LstmSeq, &[pre, gates, c, h], &[w, bias, h0, c0], p, groups)
            }
            CellOp::Gru => {
                let (hh, gates) = (self.bind(r.hh.expect("gru: hh").slots(r.t)), self.bind(r.gates.expect("gru: gates").slots(r.t)));
                self.run(K::GruSeq, &[hh, gates, h], &[pre, w, bias, h0], p, groups)
            }
        }
    }
    fn recurrence_backward(&mut self, r: &Recurrence, g: &RecurrenceGrads) {
        if !r.fusable(Some(g)) {
            return recurrence::backward_steps(self, r, g);
        }
        let Some(p) = sequence_words(r, Some(g)) else { return };
        let t = r.t;
        let (dpre, dh, h, w) = (self.bind(g.dpre.slots(t)), self.bind(g.dh.slots(t)), self.bind(r.h.slots(t)), self.bind(r.w_hh));
        let groups = (r.b.div_ceil(SEQ_ROWS) as u32, 1, 1);
        match r.cell {
            CellOp::Rnn(_) => self.run(K::RnnSeqBack, &[dpre, dh], &[h, w], p, groups),
            CellOp::Lstm => {
                let (dc, gates, c, c0) = (self.bind(g.dc.expect("lstm: dc").slots(t)), self.bind(r.gates.expect("lstm: gates").slots(t)), self.bind(r.c.expect("lstm: c").slots(t)), self.bind(r.c0.expect("lstm: c0")));
                self.run(K::LstmSeqBack, &[dpre, dh, dc], &[gates, c, c0, w], p, groups)
            }
            CellOp::Gru => {
                let (dhh, gates, hh, h0) = (self.bind(g.dhh.expect("gru: dhh").slots(t)), self.bind(r.gates.expect("gru: gates").slots(t)), self.bind(r.hh.expect("gru: hh").slots(t)), self.bind(r.h0));
                self.run(K::GruSeqBack, &[dpre, dhh, dh], &[gates, hh, h, h0, w], p, groups)
            }
        }
    }

    fn attention(&mut self, out: Tensor, probs: Tensor, qkv: Tensor, rel: Option<[Tensor; 2]>, spec: &AttnSpec) {
        let (b, tq, c) = attn_dims(out, qkv);
        let tk = qkv.shape.rows() / b;
        assert_eq!(probs.len(), b * spec.heads * tq * if spec.lse { 1 } else { tk }, "attention: probs {:?}", probs.shape);
        if out.is_empty() {
            return;
        }
        let (o, p, x) = (self.bind(out), self.bind(probs), self.bind(qkv));
        let (wk, wv) = rel.map_or((Gpu::NONE, Gpu::NONE), |[k, v]| (self.bind(k), self.bind(v)));
        let bh = b * spec.heads;
        if c / spec.heads <= TILED_DK {
            // A workgroup per 64 query rows of one (batch, head).
            let groups = bh * tq.div_ceil(TILED_ROWS);
            self.run(K::AttentionTiled, &[o, p], &[x, wk, wv], attn_words(spec, b, tq, tk, c), grid(groups, 1));
            return;
        }
        let kern = if spec.lse { K::AttentionOnline } else { K::Attention };
        self.run(kern, &[o, p], &[x, wk, wv], attn_words(spec, b, tq, tk, c), grid(bh * tq, 64));
    }
    fn attention_backward(&mut self, dqkv: Tensor, drel: Option<[Tensor; 2]>, dout: Tensor, out: Tensor, probs: Tensor, qkv: Tensor, rel: Option<[Tensor; 2]>, spec: &AttnSpec) {
        let (b, tq, c) = attn_dims(out, qkv);
        let tk = qkv.shape.rows() / b;
        if out.is_empty() {
            return;
        }
        let [dx, d, o, p, x] = [dqkv, dout, out, probs, qkv].map(|t| self.bind(t));
        let (wk, wv) = rel.map_or((Gpu::NONE, Gpu::NONE), |[k, v]| (self.bind(k), self.bind(v)));
        let ins = [d, o, p, x, wk, wv];
        let bh = b * spec.heads;
        // With relative positions the dq pass also leaves each query row's sums per clipped
        // distance (2(k + 1) floats) in the scratch, for the tables' second pass.
        // (Without, the binding is still a writable buffer: the dummy is bound read-only too.)
        let relp = self.scratch(spec.rel.map_or(1, |kmax| bh * tq * 2 * (kmax + 1)));
        let words = || attn_words(spec, b, tq, tk, c);
        if c / spec.heads <= TILED_DK {
            // The tiled twins: a workgroup per 64 queries (dq) or keys (dk, dv) of one (batch, head).
            self.run(K::AttentionTiledBackQ, &[dx, relp], &ins, words(), grid(bh * tq.div_ceil(TILED_ROWS), 1));
            self.run(K::AttentionTiledBackKv, &[dx], &ins, words(), grid(bh * tk.div_ceil(TILED_ROWS), 1));
        } else {
            // A thread per query row (dq), per key row (dk, dv, summing over the queries that read it).
            self.run(K::AttentionBackQ, &[dx, relp], &ins, words(), grid(bh * tq, 64));
            self.run(K::AttentionBackKv, &[dx], &ins, words(), grid(bh * tk, 64));
        }
        if let (Some([dwk, dwv]), Some(kmax)) = (drel, spec.rel) {
            // The tables: a thread per (row, element), summing the query rows in order.
            let (gk, gv) = (self.bind(dwk), self.bind(dwv));
            self.run(K::AttentionBackRel, &[gk, gv], &[relp, d, x], words(), grid((kmax + 1) * (c / spec.heads), 64));
        }
    }
    fn linear_attention(&mut self, out: Tensor, den: Tensor, _scratch: Tensor, qkv: Tensor, heads: usize) {
        let (b, tq, c) = attn_dims(out, qkv);
        let tk = qkv.shape.rows() / b;
        let dk = c / heads;
        assert!(dk <= MAX_LINEAR_DK, "linear attention on the GPU takes d_k ≤ {MAX_LINEAR_DK} (this model has {dk})");
        assert!(den.len() >= b * heads * tq, "linear attention: den too small");
        if out.is_empty() {
            return;
        }
        let [o, dn, x] = [out, den, qkv].map(|t| self.bind(t));
        self.run(K::LinAttention, &[o, dn], &[x], words().u(b).u(tq).u(tk).u(c).u(heads).u(dk), grid(b * heads * dk, 64));
    }
    fn linear_attention_backward(&mut self, dqkv: Tensor, _scratch: Tensor, dout: Tensor, out: Tensor, den: Tensor, qkv: Tensor, heads: usize) {
        let (b, t, c) = attn_dims(out, qkv);
        assert_eq!(qkv.shape.rows(), b * t, "linear attention backward: a whole window");
        let dk = c / heads;
        assert!(dk <= MAX_LINEAR_DK, "linear attention on the GPU takes d_k ≤ {MAX_LINEAR_DK} (this model has {dk})");
        if out.is_empty() {
            return;
        }
        let [dx, d, o, dn, x] = [dqkv, dout, out, den, qkv].map(|t| self.bind(t));
        let p = || words().u(b).u(t).u(t).u(c).u(heads).u(dk);
        self.run(K::LinAttentionBackQk, &[dx], &[d, o, dn, x], p(), grid(b * heads * dk, 64));
        self.run(K::LinAttentionBackV, &[dx], &[d, o, dn, x], p(), grid(b * heads * dk, 64));
    }
    fn linear_attention_state(&mut self, state: Tensor, qkv: Tensor, heads: usize) {
        let c = qkv.shape.last() / 3;
        let dk = c / heads;
        assert!(dk <= MAX_LINEAR_DK, "linear attention on the GPU takes d_k ≤ {MAX_LINEAR_DK}");
        assert_eq!(state.len(), heads * (dk * dk + dk), "linear attention state: [H × (d_k² + d_k)]");
        let tk = qkv.len() / (3 * c);
        let (s, x) = (self.bind(state), self.bind(qkv));
        self.run(K::LinAttentionState, &[s], &[x], words().u(1).u(tk).u(tk).u(c).u(heads).u(dk), (heads as u32, 1, 1));
    }
    fn linear_attention_step(&mut self, out: Tensor, state: Tensor, qkv: Tensor, heads: usize) {
        let c = out.shape.last();
        let dk = c / heads;
        assert!(dk <= MAX_LINEAR_DK, "linear attention on the GPU takes d_k ≤ {MAX_LINEAR_DK}");
        assert!(qkv.len() == 3 * c && out.len() == c, "linear attention step: one row");
        assert_eq!(state.len(), heads * (dk * dk + dk), "linear attention step: state [H × (d_k² + d_k)]");
        let (o, s, x) = (self.bind(out), self.bind(state), self.bind(qkv));
        self.run(K::LinAttentionStep, &[o, s], &[x], words().u(1).u(1).u(1).u(c).u(heads).u(dk), (heads as u32, 1, 1));
    }
    fn rope(&mut self, out: Tensor, x: Tensor, heads: usize, pos0: usize) {
        let d = x.shape.dims();
        assert!(d.len() == 3 && d[2].is_multiple_of(3), "rope: qkv is {:?}", x.shape);
        let (t, c) = (d[1], d[2] / 3);
        if x.is_empty() {
            return;
        }
        let table = self.rope_table(c / heads, pos0 + t);
        let (o, xb) = (self.bind(out), self.bind(x));
        self.run(K::Rope, &[o], &[xb, table], words().u(x.len()).u(t).u(c).u(c / heads).u(pos0), grid(x.len(), WG));
    }
    fn rope_backward(&mut self, dx: Tensor, dout: Tensor, heads: usize, pos0: usize) {
        let d = dout.shape.dims();
        assert!(d.len() == 3 && d[2].is_multiple_of(3), "rope: qkv is {:?}", dout.shape);
        let (t, c) = (d[1], d[2] / 3);
        if dout.is_empty() {
            return;
        }
        let table = self.rope_table(c / heads, pos0 + t);
        let (g, db) = (self.bind(dx), self.bind(dout));
        self.run(K::RopeBack, &[g], &[db, table], words().u(dout.len()).u(t).u(c).u(c / heads).u(pos0), grid(dout.len(), WG));
    }
    fn copy_rows(&mut self, dst: Tensor, dst_row: usize, src: Tensor, src_row: usize, rows: usize) {
        let w = dst.shape.last();
        assert_eq!(w, src.shape.last(), "copy_rows: widths differ");
        assert!((dst_row + rows) * w <= dst.len() && (src_row + rows) * w <= src.len(), "copy_rows: rows out of range");
        self.copy2d(dst, dst_row * w, w, src, src_row * w, w, rows, w);
    }

    fn embedding(&mut self, out: Tensor, table: Tensor, ids: Ids) {
        let d = table.shape.last();
        assert_eq!(out.len(), ids.len * d, "embedding: out {:?} for {} ids of width {d}", out.shape, ids.len);
        if out.is_empty() {
            return;
        }
        let (o, t, i) = (self.bind(out), self.bind(table), self.bind_ids(ids));
        self.run(K::Embedding, &[o], &[t, i], words().u(out.len()).u(d), grid(out.len(), WG));
    }
    fn embedding_backward(&mut self, dtable: Tensor, dout: Tensor, ids: Ids) {
        let d = dtable.shape.last();
        assert_eq!(dout.len(), ids.len * d, "embedding_backward: dout {:?} for {} ids of width {d}", dout.shape, ids.len);
        if dout.is_empty() {
            return;
        }
        // A segmented sum without atomics: a workgroup per table row, its threads over the row's
        // columns, adding the rows of dout whose id is this one, in order (deterministic).
        let (g, db, i) = (self.bind(dtable), self.bind(dout), self.bind_ids(ids));
        let v = dtable.shape.rows();
        self.run(K::EmbeddingBack, &[g], &[db, i], words().u(v).u(d).u(ids.len), grid(v, 1));
    }
    fn copy_blocks(&mut self, dst: Tensor, d: Strides, src: Tensor, s: Strides, dims: [usize; 3]) {
        let [blocks, rows, len] = dims;
        let n = blocks * rows * len;
        if n == 0 {
            return;
        }
        assert!(d.end(dims) <= dst.len() && s.end(dims) <= src.len(), "copy_blocks: out of range");
        let (db, sb) = (self.bind(dst), self.bind(src));
        let p = words().u(n).u(len).u(rows).u(d.at).u(d.row).u(d.block).u(s.at).u(s.row).u(s.block);
        self.run(K::Copy, &[db], &[sb], p, grid(n, WG));
    }
    fn concat(&mut self, out: Tensor, parts: &[Tensor]) {
        let (outer, total) = (out.shape.rows(), out.shape.last());
        if outer == 0 {
            return;
        }
        assert!(parts.iter().all(|p| p.len() % outer == 0), "concat: every part needs {outer} rows");
        assert_eq!(parts.iter().map(|p| p.len() / outer).sum::<usize>(), total, "concat: parts do not fill {:?}", out.shape);
        let mut start = 0;
        for &p in parts {
            let inner = p.len() / outer;
            self.copy2d(out, start, total, p, 0, inner, outer, inner);
            start += inner;
        }
    }
    fn slice(&mut self, out: Tensor, x: Tensor, start: usize) {
        let (outer, total, len) = (x.shape.rows(), x.shape.last(), out.shape.last());
        self.copy2d(out, 0, len, x, start, total, outer, len);
    }
    fn transpose(&mut self, out: Tensor, x: Tensor) {
        let d = x.shape.dims();
        let (rows, cols) = (d[d.len() - 2], d[d.len() - 1]);
        if x.is_empty() {
            return;
        }
        let (o, xb) = (self.bind(out), self.bind(x));
        self.run(K::Transpose, &[o], &[xb], words().u(x.len()).u(rows).u(cols), grid(x.len(), WG));
    }

    fn sum_rows(&mut self, out: Tensor, x: Tensor, accumulate: bool) {
        assert_eq!(out.len(), x.shape.last());
        if out.is_empty() {
            return;
        }
        let (o, xb) = (self.bind(out), self.bind(x));
        self.run(K::SumRows, &[o], &[xb], words().u(x.shape.rows()).u(out.len()).b(accumulate), grid(out.len(), WG));
    }
    fn sum_squares(&mut self, out: Tensor, x: Tensor, accumulate: bool) {
        let (o, xb) = (self.bind(out), self.bind(x));
        self.run(K::SumSquares, &[o], &[xb], words().u(x.len()).b(accumulate), (1, 1, 1));
    }
    fn flag_nonfinite(&mut self, flag: Tensor, x: Tensor) {
        let (f, xb) = (self.bind(flag), self.bind(x));
        self.run(K::NonFinite, &[f], &[xb], words().u(x.len()), (1, 1, 1));
    }

    fn clip_by_norm(&mut self, x: Tensor, sumsq: Tensor, max_norm: f32, skip: Tensor) {
        if x.is_empty() {
            return;
        }
        let [xb, s, k] = [x, sumsq, skip].map(|t| self.bind(t));
        self.run(K::Clip, &[xb], &[s, k], words().u(x.len()).f(max_norm), grid(x.len(), WG));
    }
    fn sgd(&mut self, p: Tensor, g: Tensor, momentum: Tensor, s: &SgdStep, skip: Tensor) {
        if p.is_empty() {
            return;
        }
        let [pb, mb, gb, k] = [p, momentum, g, skip].map(|t| self.bind(t));
        let w = words().u(p.len()).f(s.lr).f(s.momentum).f(s.weight_decay).b(s.first);
        self.run(K::Sgd, &[pb, mb], &[gb, k], w, grid(p.len(), WG));
    }
    fn adam(&mut self, p: Tensor, g: Tensor, m: Tensor, v: Tensor, s: &AdamStep, skip: Tensor) {
        if p.is_empty() {
            return;
        }
        let [pb, mb, vb, gb, k] = [p, m, v, g, skip].map(|t| self.bind(t));
        let w = words().u(p.len()).f(s.step_size).f(s.sqrt_bias2).f(s.one_minus_beta1).f(s.beta2).f(s.one_minus_beta2).f(s.eps).f(s.decay);
        self.run(K::Adam, &[pb, mb, vb], &[gb, k], w, grid(p.len(), WG));
    }
}

impl Gpu {
    /// A row-wise kernel: a workgroup of `ROW_WG` threads per row.
    fn rows(&mut self, k: K, outs: &[Tensor], ins: &[Tensor], cols: usize, rows: usize) {
        if rows == 0 || cols == 0 {
            return;
        }
        // Fixed arrays, not vectors: a step allocates nothing on the host.
        let (mut o, mut i) = ([Gpu::NONE; 2], [Gpu::NONE; 2]);
        for (b, &t) in o.iter_mut().zip(outs) {
            *b = self.bind(t);
        }
        for (b, &t) in i.iter_mut().zip(ins) {
            *b = self.bind(t);
        }
        self.run(k, &o[..outs.len()], &i[..ins.len()], words().u(rows).u(cols), grid(rows, 1));
    }

    /// dst[r·ds + d0 + j] = src[r·ss + s0 + j] for r < rows, j < cols: concat, slice and copy_rows.
    #[allow(clippy::too_many_arguments)]
    fn copy2d(&mut self, dst: Tensor, d0: usize, ds: usize, src: Tensor, s0: usize, ss: usize, rows: usize, cols: usize) {
        self.copy_blocks(dst, Strides { at: d0, block: 0, row: ds }, src, Strides { at: s0, block: 0, row: ss }, [1, rows, cols]);
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn read_now(&mut self, srcs: &[Tensor]) -> Vec<Vec<f32>> {
        let (staging, places) = self.stage_reads(srcs);
        let ok = Rc::new(Cell::new(None::<bool>));
        let done = std::sync::Arc::new(std::sync::Mutex::new(None::<bool>));
        let d = done.clone();
        staging.map_async(wgpu::MapMode::Read, .., move |r| *d.lock().expect("lock") = Some(r.is_ok()));
        self.ctx.device.poll(wgpu::PollType::wait_indefinitely()).expect("the GPU device was lost");
        ok.set(*done.lock().expect("lock"));
        assert_eq!(ok.get(), Some(true), "the GPU could not map a readback buffer");
        let view = staging.get_mapped_range(..).expect("a mapped readback");
        let out = places.iter().map(|&(at, len)| floats(&view[at as usize..at as usize + len * 4])).collect();
        drop(view);
        staging.unmap();
        out
    }
}
