//! Host data recorded with the ops of one submit. `queue.write_buffer` lands before the whole
//! submit, so a value that changes from step to step inside a chunk (a batch of token ids, the
//! learning rate, Adam's step, a dropout seed) cannot be written into one place: each dispatch's
//! parameters get their own uniform slot, and a `write` while ops are recorded gets its own range
//! of the upload arena, copied into place by a command in the encoder. Both arenas are host vectors
//! written to their GPU buffers right before the submit, and start over after it.

/// Bytes of one dispatch's parameters (the shaders' `P` structs: at most 32 words).
pub const PARAM_BYTES: u64 = 128;
/// Slots are this far apart: the minimum uniform-buffer offset alignment WebGPU guarantees.
const SLOT: usize = 256;
/// Dispatches per submit before the arena is full and the recording is submitted.
const SLOTS: usize = 8192;
/// Bytes of host writes per submit (larger writes submit first and go straight to the queue).
const UPLOAD_BYTES: usize = 4 << 20;

pub struct Arena {
    params: wgpu::Buffer,
    params_host: Vec<u8>,
    upload: wgpu::Buffer,
    upload_host: Vec<u8>,
}

impl Arena {
    pub fn new(device: &wgpu::Device) -> Arena {
        let buf = |label, size, usage| device.create_buffer(&wgpu::BufferDescriptor { label: Some(label), size: size as u64, usage: usage | wgpu::BufferUsages::COPY_DST, mapped_at_creation: false });
        Arena {
            params: buf("params", SLOTS * SLOT, wgpu::BufferUsages::UNIFORM),
            params_host: Vec::with_capacity(SLOTS * SLOT),
            upload: buf("upload", UPLOAD_BYTES, wgpu::BufferUsages::COPY_SRC),
            upload_host: Vec::with_capacity(UPLOAD_BYTES),
        }
    }
    pub fn params_buffer(&self) -> &wgpu::Buffer {
        &self.params
    }
    pub fn upload_buffer(&self) -> &wgpu::Buffer {
        &self.upload
    }
    pub fn has_param_room(&self) -> bool {
        self.params_host.len() < SLOTS * SLOT
    }
    /// Appends a dispatch's parameter words; returns the slot's dynamic offset.
    pub fn push_params(&mut self, words: &[u32]) -> u32 {
        let at = self.params_host.len();
        for w in words {
            self.params_host.extend_from_slice(&w.to_le_bytes());
        }
        self.params_host.resize(at + SLOT, 0);
        at as u32
    }
    pub fn has_upload_room(&self, bytes: usize) -> bool {
        self.upload_host.len() + bytes.next_multiple_of(4) <= UPLOAD_BYTES
    }
    /// Appends host data to copy from; returns its offset in the upload buffer.
    pub fn push_upload(&mut self, bytes: &[u8]) -> u64 {
        let at = self.upload_host.len();
        self.upload_host.extend_from_slice(bytes);
        self.upload_host.resize(at + bytes.len().next_multiple_of(4), 0);
        at as u64
    }
    /// Writes both arenas to the GPU (before the submit that reads them).
    pub fn upload(&self, queue: &wgpu::Queue) {
        if !self.params_host.is_empty() {
            queue.write_buffer(&self.params, 0, &self.params_host);
        }
        if !self.upload_host.is_empty() {
            queue.write_buffer(&self.upload, 0, &self.upload_host);
        }
    }
    pub fn reset(&mut self) {
        self.params_host.clear();
        self.upload_host.clear();
    }
}
