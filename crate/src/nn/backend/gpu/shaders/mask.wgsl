// Column masks, the causal mask of attention scores and dropout masks (nn/ops/mask.rs, dropout.rs).

// @entry mask_columns
struct P { n: u32, cols: u32, fill: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> mask: array<f32>;

@compute @workgroup_size(256)
fn mask_columns(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat(wid, nwg, lid, WG);
    if (i < p.n && mask[i % p.cols] != 0.0) {
        x[i] = p.fill;
    }
}

// @entry causal_mask
// x[b][i][j] = fill for j > i on [batch × t × t].
struct P { n: u32, t: u32, fill: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;

@compute @workgroup_size(256)
fn causal_mask(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat(wid, nwg, lid, WG);
    if (i < p.n && i % p.t > (i / p.t) % p.t) {
        x[i] = p.fill;
    }
}

// @entry dropout_mask
struct P { n: u32, keep: f32, threshold: u32, seed: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> m: array<f32>;

@compute @workgroup_size(256)
fn dropout_mask(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat(wid, nwg, lid, WG);
    if (i < p.n) {
        m[i] = dropout_at(p.seed, i, p.threshold, p.keep);
    }
}
