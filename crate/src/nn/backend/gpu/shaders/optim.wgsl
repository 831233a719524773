// Clipping by global norm, SGD with momentum and Adam(W): one thread per parameter, each doing
// nothing while the step's skip flag is up (a non-finite loss or gradient, decided on the device).

// @entry clip_by_norm
// x ← x·min(1, max_norm/(√sumsq + 1e-6)) (torch.nn.utils.clip_grad_norm_).
struct P { n: u32, max_norm: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> sumsq: array<f32>;
@group(0) @binding(3) var<storage, read> skip: array<f32>;

@compute @workgroup_size(256)
fn clip_by_norm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat(wid, nwg, lid, WG);
    if (i >= p.n || skip[0] != 0.0) {
        return;
    }
    let coef = p.max_norm / (sqrt(sumsq[0]) + 1e-6);
    if (coef < 1.0) {
        x[i] = coef * x[i];
    }
}

// @entry sgd
// PyTorch's SGD (dampening 0, no Nesterov): g += wd·p; buf = μ·buf + g (g on the first step); p −= lr·buf.
struct P { n: u32, lr: f32, momentum: f32, wd: f32, first: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> buf: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read> skip: array<f32>;

@compute @workgroup_size(256)
fn sgd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat(wid, nwg, lid, WG);
    if (i >= p.n || skip[0] != 0.0) {
        return;
    }
    let gi = g[i] + p.wd * w[i];
    var b = gi;
    if (p.momentum != 0.0 && p.first == 0u) {
        b = p.momentum * buf[i] + gi;
    }
    buf[i] = b;
    w[i] = w[i] - p.lr * b;
}

// @entry adam
// nn/kernels/scalar.rs `adam`: the bias corrections folded into step_size and sqrt_bias2; AdamW's
// decoupled decay as p·decay.
struct P { n: u32, step_size: f32, sqrt_bias2: f32, one_minus_beta1: f32, beta2: f32, one_minus_beta2: f32, eps: f32, decay: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<storage, read> g: array<f32>;
@group(0) @binding(5) var<storage, read> skip: array<f32>;

@compute @workgroup_size(256)
fn adam(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat(wid, nwg, lid, WG);
    if (i >= p.n || skip[0] != 0.0) {
        return;
    }
    let gi = g[i];
    let mi = m[i] + p.one_minus_beta1 * (gi - m[i]);
    let vi = v[i] * p.beta2 + p.one_minus_beta2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    let denom = sqrt(vi) / p.sqrt_bias2 + p.eps;
    w[i] = w[i] * p.decay - p.step_size * (mi / denom);
}
