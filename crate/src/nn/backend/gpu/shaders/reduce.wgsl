// Column sums (bias gradients), the sum of squares (the gradient norm) and the non-finite flag,
// without float atomics: a column per thread, or one workgroup over the whole tensor.

// @entry sum_rows
// out[j] (+)= Σ_r x[r][j], rows in order.
struct P { rows: u32, cols: u32, acc: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;

@compute @workgroup_size(256)
fn sum_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let j = flat(wid, nwg, lid, WG);
    if (j >= p.cols) {
        return;
    }
    var s = select(0.0, out[j], p.acc == 1u);
    for (var r = 0u; r < p.rows; r++) {
        s += x[r * p.cols + j];
    }
    out[j] = s;
}

// @entry sum_squares
// out[0] (+)= Σ x²: 256 strided partial sums, then a tree.
struct P { n: u32, acc: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
var<workgroup> part: array<f32, 256>;

@compute @workgroup_size(256)
fn sum_squares(@builtin(local_invocation_index) lid: u32) {
    var s = 0.0;
    for (var i = lid; i < p.n; i += 256u) {
        s += x[i] * x[i];
    }
    part[lid] = s;
    workgroupBarrier();
    for (var k = 128u; k > 0u; k >>= 1u) {
        if (lid < k) {
            part[lid] += part[lid + k];
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        out[0] = select(part[0], out[0] + part[0], p.acc == 1u);
    }
}

// @entry flag_nonfinite
// flag[0] = 1 if any x is NaN or ±∞ (left as it was otherwise).
struct P { n: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> flag: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
var<workgroup> bad: array<u32, 256>;

@compute @workgroup_size(256)
fn flag_nonfinite(@builtin(local_invocation_index) lid: u32) {
    var found = 0u;
    for (var i = lid; i < p.n; i += 256u) {
        found |= u32(is_nonfinite(x[i]));
    }
    bad[lid] = found;
    workgroupBarrier();
    for (var k = 128u; k > 0u; k >>= 1u) {
        if (lid < k) {
            bad[lid] |= bad[lid + k];
        }
        workgroupBarrier();
    }
    if (lid == 0u && bad[0] != 0u) {
        flag[0] = 1.0;
    }
}
