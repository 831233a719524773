// Softmax and log-softmax over the last axis, and their backward passes: a workgroup of ROW_WG
// threads per row (the reductions in common.wgsl). −∞ entries get probability 0 and no gradient.

struct P { rows: u32, cols: u32 }
@group(0) @binding(0) var<uniform> p: P;

// @entry softmax
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;

@compute @workgroup_size(64)
fn softmax(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let row = group_index(wid, nwg);
    if (row >= p.rows) {
        return;
    }
    let base = row * p.cols;
    var m = neg_inf();
    for (var j = lid; j < p.cols; j += ROW_WG) {
        m = max(m, x[base + j]);
    }
    m = reduce_max(m, lid);
    var s = 0.0;
    for (var j = lid; j < p.cols; j += ROW_WG) {
        let e = exp(x[base + j] - m);
        y[base + j] = e;
        s += e;
    }
    let inv = 1.0 / reduce_sum(s, lid);
    for (var j = lid; j < p.cols; j += ROW_WG) {
        y[base + j] = y[base + j] * inv;
    }
}

// @entry softmax_backward
// dx += y·(dy − ⟨y, dy⟩)
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;

@compute @workgroup_size(64)
fn softmax_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let row = group_index(wid, nwg);
    if (row >= p.rows) {
        return;
    }
    let base = row * p.cols;
    var d = 0.0;
    for (var j = lid; j < p.cols; j += ROW_WG) {
        d += y[base + j] * dy[base + j];
    }
    d = reduce_sum(d, lid);
    for (var j = lid; j < p.cols; j += ROW_WG) {
        dx[base + j] = dx[base + j] + y[base + j] * (dy[base + j] - d);
    }
}

// @entry log_softmax
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;

@compute @workgroup_size(64)
fn log_softmax(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let row = group_index(wid, nwg);
    if (row >= p.rows) {
        return;
    }
    let base = row * p.cols;
    var m = neg_inf();
    for (var j = lid; j < p.cols; j += ROW_WG) {
        m = max(m, x[base + j]);
    }
    m = reduce_max(m, lid);
    var s = 0.0;
    for (var j = lid; j < p.cols; j += ROW_WG) {
        s += exp(x[base + j] - m);
    }
    let lse = m + log(reduce_sum(s, lid));
    for (var j = lid; j < p.cols; j += ROW_WG) {
        y[base + j] = x[base + j] - lse;
    }
}

// @entry log_softmax_backward
// dx += dy − e^y·Σdy (where y ≠ −∞)
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;

@compute @workgroup_size(64)
fn log_softmax_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let row = group_index(wid, nwg);
    if (row >= p.rows) {
        return;
    }
    let base = row * p.cols;
    var s = 0.0;
    for (var j = lid; j < p.cols; j += ROW_WG) {
        s += dy[base + j];
    }
    s = reduce_sum(s, lid);
    for (var j = lid; j < p.cols; j += ROW_WG) {
        let v = y[base + j];
        if (!is_neg_inf(v)) {
            dx[base + j] = dx[base + j] + dy[base + j] - exp(v) * s;
        }
    }
}
