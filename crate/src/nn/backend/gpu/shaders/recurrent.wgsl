// The LSTM and GRU cells of one time step (nn/ops/recurrent.rs, PyTorch's gate layouts): a thread
// per (batch row, unit).

struct P { n: u32, hd: u32 }
@group(0) @binding(0) var<uniform> p: P;

// @entry lstm_cell
// gates [B × 4H] (activated i, f, g, o), c and h [B × H] from pre [B × 4H] and c_prev.
@group(0) @binding(1) var<storage, read_write> gates: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<storage, read_write> h: array<f32>;
@group(0) @binding(4) var<storage, read> pre: array<f32>;
@group(0) @binding(5) var<storage, read> c_prev: array<f32>;

@compute @workgroup_size(256)
fn lstm_cell(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let k = flat(wid, nwg, lid, WG);
    if (k >= p.n) {
        return;
    }
    let g0 = (k / p.hd) * 4u * p.hd + k % p.hd;
    let i = sigmoid(pre[g0]);
    let f = sigmoid(pre[g0 + p.hd]);
    let g = tanh_(pre[g0 + 2u * p.hd]);
    let o = sigmoid(pre[g0 + 3u * p.hd]);
    let cj = f * c_prev[k] + i * g;
    gates[g0] = i;
    gates[g0 + p.hd] = f;
    gates[g0 + 2u * p.hd] = g;
    gates[g0 + 3u * p.hd] = o;
    c[k] = cj;
    h[k] = o * tanh_(cj);
}

// @entry lstm_cell_backward
@group(0) @binding(1) var<storage, read_write> dpre: array<f32>;
@group(0) @binding(2) var<storage, read_write> dc_prev: array<f32>;
@group(0) @binding(3) var<storage, read> gates: array<f32>;
@group(0) @binding(4) var<storage, read> c: array<f32>;
@group(0) @binding(5) var<storage, read> c_prev: array<f32>;
@group(0) @binding(6) var<storage, read> dh: array<f32>;
@group(0) @binding(7) var<storage, read> dc: array<f32>;

@compute @workgroup_size(256)
fn lstm_cell_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let k = flat(wid, nwg, lid, WG);
    if (k >= p.n) {
        return;
    }
    let g0 = (k / p.hd) * 4u * p.hd + k % p.hd;
    let i = gates[g0];
    let f = gates[g0 + p.hd];
    let g = gates[g0 + 2u * p.hd];
    let o = gates[g0 + 3u * p.hd];
    let tc = tanh_(c[k]);
    let dct = dc[k] + dh[k] * o * (1.0 - tc * tc);
    dpre[g0] = dpre[g0] + dct * g * i * (1.0 - i);
    dpre[g0 + p.hd] = dpre[g0 + p.hd] + dct * c_prev[k] * f * (1.0 - f);
    dpre[g0 + 2u * p.hd] = dpre[g0 + 2u * p.hd] + dct * i * (1.0 - g * g);
    dpre[g0 + 3u * p.hd] = dpre[g0 + 3u * p.hd] + dh[k] * tc * o * (1.0 - o);
    dc_prev[k] = dc_prev[k] + dct * f;
}

// @entry gru_cell
// gates [B × 3H] (activated r, z, n) and h [B × H] from ih, hh [B × 3H] and h_prev.
@group(0) @binding(1) var<storage, read_write> gates: array<f32>;
@group(0) @binding(2) var<storage, read_write> h: array<f32>;
@group(0) @binding(3) var<storage, read> ih: array<f32>;
@group(0) @binding(4) var<storage, read> hh: array<f32>;
@group(0) @binding(5) var<storage, read> h_prev: array<f32>;

@compute @workgroup_size(256)
fn gru_cell(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let k = flat(wid, nwg, lid, WG);
    if (k >= p.n) {
        return;
    }
    let s = (k / p.hd) * 3u * p.hd + k % p.hd;
    let r = sigmoid(ih[s] + hh[s]);
    let z = sigmoid(ih[s + p.hd] + hh[s + p.hd]);
    let n = tanh_(ih[s + 2u * p.hd] + r * hh[s + 2u * p.hd]);
    gates[s] = r;
    gates[s + p.hd] = z;
    gates[s + 2u * p.hd] = n;
    h[k] = (1.0 - z) * n + z * h_prev[k];
}

// @entry gru_cell_backward
@group(0) @binding(1) var<storage, read_write> dih: array<f32>;
@group(0) @binding(2) var<storage, read_write> dhh: array<f32>;
@group(0) @binding(3) var<storage, read_write> dh_prev: array<f32>;
@group(0) @binding(4) var<storage, read> gates: array<f32>;
@group(0) @binding(5) var<storage, read> hh: array<f32>;
@group(0) @binding(6) var<storage, read> h_prev: array<f32>;
@group(0) @binding(7) var<storage, read> dh: array<f32>;

@compute @workgroup_size(256)
fn gru_cell_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let k = flat(wid, nwg, lid, WG);
    if (k >= p.n) {
        return;
    }
    let s = (k / p.hd) * 3u * p.hd + k % p.hd;
    let r = gates[s];
    let z = gates[s + p.hd];
    let n = gates[s + 2u * p.hd];
    let dn = dh[k] * (1.0 - z) * (1.0 - n * n);
    let dz = dh[k] * (h_prev[k] - n) * z * (1.0 - z);
    let dr = dn * hh[s + 2u * p.hd] * r * (1.0 - r);
    dih[s] = dih[s] + dr;
    dhh[s] = dhh[s] + dr;
    dih[s + p.hd] = dih[s + p.hd] + dz;
    dhh[s + p.hd] = dhh[s + p.hd] + dz;
    dih[s + 2u * p.hd] = dih[s + 2u * p.hd] + dn;
    dhh[s + 2u * p.hd] = dhh[s + 2u * p.hd] + dn * r;
    dh_prev[k] = dh_prev[k] + dh[k] * z;
}
