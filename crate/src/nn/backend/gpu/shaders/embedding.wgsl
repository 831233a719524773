// Embedding gather and its backward, a deterministic scatter-add without atomics.

// @entry embedding
// out[r][j] = table[ids[r]][j]
struct P { n: u32, d: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> table: array<f32>;
@group(0) @binding(3) var<storage, read> ids: array<u32>;

@compute @workgroup_size(256)
fn embedding(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat(wid, nwg, lid, WG);
    if (i < p.n) {
        out[i] = table[ids[i / p.d] * p.d + i % p.d];
    }
}

// @entry embedding_backward
// dtable[v] += Σ_{r: ids[r] = v} dout[r], rows in order: a workgroup per table row v, its threads
// over the columns (a segmented sum; no two threads write one element).
struct P { v: u32, d: u32, n: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> dtable: array<f32>;
@group(0) @binding(2) var<storage, read> dout: array<f32>;
@group(0) @binding(3) var<storage, read> ids: array<u32>;

@compute @workgroup_size(64)
fn embedding_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let v = group_index(wid, nwg);
    if (v >= p.v) {
        return;
    }
    for (var j = lid; j < p.d; j += 64u) {
        var acc = dtable[v * p.d + j];
        for (var r = 0u; r < p.n; r++) {
            if (ids[r] == v) {
                acc += dout[r * p.d + j];
            }
        }
        dtable[v * p.d + j] = acc;
    }
}
