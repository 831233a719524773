// tanh, ReLU, sigmoid and GELU (tanh approximation), as nn/ops/activation.rs; codes 0–3.

const GELU_K: f32 = 0.7978845608028654; // √(2/π)

fn act(code: u32, x: f32) -> f32 {
    switch code {
        case 0u: { return tanh_(x); }
        case 1u: { return max(x, 0.0); }
        case 2u: { return sigmoid(x); }
        default: { return 0.5 * x * (1.0 + tanh_(GELU_K * (x + 0.044715 * x * x * x))); }
    }
}

fn act_grad(code: u32, x: f32, y: f32, dy: f32) -> f32 {
    switch code {
        case 0u: { return (1.0 - y * y) * dy; }
        case 1u: { return select(0.0, dy, x > 0.0); }
        case 2u: { return y * (1.0 - y) * dy; }
        default: {
            let t = tanh_(GELU_K * (x + 0.044715 * x * x * x));
            let du = GELU_K * (1.0 + 3.0 * 0.044715 * x * x);
            return (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du) * dy;
        }
    }
}

// @entry activation
struct P { n: u32, code: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;

@compute @workgroup_size(256)
fn activation(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat(wid, nwg, lid, WG);
    if (i < p.n) {
        y[i] = act(p.code, x[i]);
    }
}

// @entry activation_backward
// dx = f'(x)·dy, or += with acc.
struct P { n: u32, code: u32, acc: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> y: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;

@compute @workgroup_size(256)
fn activation_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat(wid, nwg, lid, WG);
    if (i >= p.n) {
        return;
    }
    let g = act_grad(p.code, x[i], y[i], dy[i]);
    if (p.acc == 1u) {
        dx[i] = dx[i] + g;
    } else {
        dx[i] = g;
    }
}
