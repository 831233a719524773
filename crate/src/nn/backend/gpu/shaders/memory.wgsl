// Fills, strided copies (concat, slice, copy_rows) and transposes.

// @entry fill
struct P { n: u32, value: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;

@compute @workgroup_size(256)
fn fill(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat(wid, nwg, lid, WG);
    if (i < p.n) {
        x[i] = p.value;
    }
}

// @entry copy_blocks
// dst[d0 + i·db + r·ds + j] = src[s0 + i·sb + r·ss + j] for i < blocks, r < rows, j < cols (n =
// blocks·rows·cols): concat, slice, and per-step slots to batch-major rows and back.
struct P { n: u32, cols: u32, rows: u32, d0: u32, ds: u32, db: u32, s0: u32, ss: u32, sb: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<storage, read> src: array<f32>;

@compute @workgroup_size(256)
fn copy_blocks(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let e = flat(wid, nwg, lid, WG);
    if (e >= p.n) {
        return;
    }
    let j = e % p.cols;
    let r = (e / p.cols) % p.rows;
    let i = e / (p.cols * p.rows);
    dst[p.d0 + i * p.db + r * p.ds + j] = src[p.s0 + i * p.sb + r * p.ss + j];
}

// @entry transpose
// out[b][j][i] = x[b][i][j] over [batch × rows × cols].
struct P { n: u32, rows: u32, cols: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;

@compute @workgroup_size(256)
fn transpose(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat(wid, nwg, lid, WG);
    if (i >= p.n) {
        return;
    }
    let rc = p.rows * p.cols;
    let b = i / rc;
    let r = (i % rc) / p.cols;
    let c = i % p.cols;
    out[b * rc + c * p.rows + r] = x[i];
}
