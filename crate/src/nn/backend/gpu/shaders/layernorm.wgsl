// LayerNorm over the last axis (nn/ops/layernorm.rs, ε = 1e-5), saving the mean and 1/σ per row.
// Forward and dx: a workgroup per row; dweight and dbias: a thread per column summing the rows in
// order (two passes instead of float atomics, so the result is deterministic).

struct P { rows: u32, cols: u32 }
@group(0) @binding(0) var<uniform> p: P;

// @entry layernorm
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read_write> mean: array<f32>;
@group(0) @binding(3) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(4) var<storage, read> x: array<f32>;
@group(0) @binding(5) var<storage, read> weight: array<f32>;
@group(0) @binding(6) var<storage, read> bias: array<f32>;

@compute @workgroup_size(64)
fn layernorm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let row = group_index(wid, nwg);
    if (row >= p.rows) {
        return;
    }
    let base = row * p.cols;
    let c = f32(p.cols);
    var s = 0.0;
    for (var j = lid; j < p.cols; j += ROW_WG) {
        s += x[base + j];
    }
    let m = reduce_sum(s, lid) / c;
    var v = 0.0;
    for (var j = lid; j < p.cols; j += ROW_WG) {
        let d = x[base + j] - m;
        v += d * d;
    }
    let r = 1.0 / sqrt(reduce_sum(v, lid) / c + 1e-5);
    for (var j = lid; j < p.cols; j += ROW_WG) {
        out[base + j] = (x[base + j] - m) * r * weight[j] + bias[j];
    }
    if (lid == 0u) {
        mean[row] = m;
        rstd[row] = r;
    }
}

// @entry layernorm_backward_dx
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;
@group(0) @binding(2) var<storage, read> dout: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read> weight: array<f32>;
@group(0) @binding(5) var<storage, read> mean: array<f32>;
@group(0) @binding(6) var<storage, read> rstd: array<f32>;

@compute @workgroup_size(64)
fn layernorm_backward_dx(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let row = group_index(wid, nwg);
    if (row >= p.rows) {
        return;
    }
    let base = row * p.cols;
    let m = mean[row];
    let r = rstd[row];
    var a = 0.0;
    var b = 0.0;
    for (var j = lid; j < p.cols; j += ROW_WG) {
        let dn = dout[base + j] * weight[j];
        a += dn;
        b += dn * (x[base + j] - m) * r;
    }
    let dnorm_mean = reduce_sum(a, lid) / f32(p.cols);
    let dnorm_norm_mean = reduce_sum(b, lid) / f32(p.cols);
    for (var j = lid; j < p.cols; j += ROW_WG) {
        let xhat = (x[base + j] - m) * r;
        let dn = dout[base + j] * weight[j];
        dx[base + j] = dx[base + j] + r * (dn - dnorm_mean - xhat * dnorm_norm_mean);
    }
}

// @entry layernorm_backward_dw
@group(0) @binding(1) var<storage, read_write> dweight: array<f32>;
@group(0) @binding(2) var<storage, read_write> dbias: array<f32>;
@group(0) @binding(3) var<storage, read> dout: array<f32>;
@group(0) @binding(4) var<storage, read> x: array<f32>;
@group(0) @binding(5) var<storage, read> mean: array<f32>;
@group(0) @binding(6) var<storage, read> rstd: array<f32>;

@compute @workgroup_size(256)
fn layernorm_backward_dw(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let j = flat(wid, nwg, lid, WG);
    if (j >= p.cols) {
        return;
    }
    var dw = dweight[j];
    var db = dbias[j];
    for (var r = 0u; r < p.rows; r++) {
        let g = dout[r * p.cols + j];
        db += g;
        dw += (x[r * p.cols + j] - mean[r]) * rstd[r] * g;
    }
    dweight[j] = dw;
    dbias[j] = db;
}
