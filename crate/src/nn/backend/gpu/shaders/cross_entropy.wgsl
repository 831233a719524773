// Fused softmax + cross-entropy (nn/ops/cross_entropy.rs): probs = softmax(logits) and
// losses[r] = −ln probs[r][t_r]; its backward dlogits += scale·(probs − onehot).

// @entry cross_entropy
struct P { rows: u32, cols: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> losses: array<f32>;
@group(0) @binding(2) var<storage, read_write> probs: array<f32>;
@group(0) @binding(3) var<storage, read> logits: array<f32>;
@group(0) @binding(4) var<storage, read> targets: array<u32>;

@compute @workgroup_size(64)
fn cross_entropy(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let row = group_index(wid, nwg);
    if (row >= p.rows) {
        return;
    }
    let base = row * p.cols;
    var m = neg_inf();
    for (var j = lid; j < p.cols; j += ROW_WG) {
        m = max(m, logits[base + j]);
    }
    m = reduce_max(m, lid);
    var s = 0.0;
    for (var j = lid; j < p.cols; j += ROW_WG) {
        let e = exp(logits[base + j] - m);
        probs[base + j] = e;
        s += e;
    }
    let inv = 1.0 / reduce_sum(s, lid);
    for (var j = lid; j < p.cols; j += ROW_WG) {
        probs[base + j] = probs[base + j] * inv;
    }
    if (lid == 0u) {
        // The target's probability from the same operations, not read back from `probs` (another
        // thread wrote it).
        let t = targets[row];
        losses[row] = -log(exp(logits[base + t] - m) * inv);
    }
}

// @entry cross_entropy_backward
struct P { n: u32, cols: u32, scale: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> dlogits: array<f32>;
@group(0) @binding(2) var<storage, read> probs: array<f32>;
@group(0) @binding(3) var<storage, read> targets: array<u32>;

@compute @workgroup_size(256)
fn cross_entropy_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat(wid, nwg, lid, WG);
    if (i >= p.n) {
        return;
    }
    let ind = select(0.0, 1.0, i % p.cols == targets[i / p.cols]);
    dlogits[i] = dlogits[i] + p.scale * (probs[i] - ind);
}
