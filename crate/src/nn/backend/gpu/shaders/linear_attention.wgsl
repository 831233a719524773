// Causal linear attention, φ = elu + 1, in prefix-sum form (nn/ops/linear_attention.rs): per head
// S_i = Σ_{j≤i} φ(k_j)v_jᵀ, z_i = Σ_{j≤i} φ(k_j), out_i = S_iᵀφ(q_i) / φ(q_i)ᵀz_i. A thread keeps
// one column (or row) of the running d_k × d_k state in registers, so the T steps of a head run in
// parallel over its d_k columns with nothing shared: d_k ≤ MAX_DK (gpu/mod.rs `MAX_LINEAR_DK`).
// The order of every accumulation is the CPU's, so a stream's step equals the window's forward.

const MAX_DK: u32 = 128u;

struct P { b: u32, tq: u32, tk: u32, c: u32, heads: u32, dk: u32 }
@group(0) @binding(0) var<uniform> p: P;

fn phi(x: f32) -> f32 {
    return select(exp(x), x + 1.0, x > 0.0);
}
fn dphi(x: f32) -> f32 {
    return select(exp(x), 1.0, x > 0.0);
}

// @entry linear_attention
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read_write> den: array<f32>;
@group(0) @binding(3) var<storage, read> qkv: array<f32>;

// A thread per (batch, head, column e): S[·][e] and (redundantly) z.
@compute @workgroup_size(64)
fn linear_attention(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let idx = flat(wid, nwg, lid, 64u);
    if (idx >= p.b * p.heads * p.dk) {
        return;
    }
    let bi = idx / (p.heads * p.dk);
    let h = (idx / p.dk) % p.heads;
    let e = idx % p.dk;
    let row = 3u * p.c;
    let xb = bi * p.tk * row;
    var s: array<f32, MAX_DK>;
    var z: array<f32, MAX_DK>;
    for (var j = 0u; j < p.tk; j++) {
        let k0 = xb + j * row + p.c + h * p.dk;
        let v = qkv[k0 + p.c + e];
        for (var d = 0u; d < p.dk; d++) {
            let a = phi(qkv[k0 + d]);
            z[d] += a;
            s[d] += a * v;
        }
        if (j + p.tq < p.tk) {
            continue;
        }
        let qi = j + p.tq - p.tk;
        let q0 = xb + j * row + h * p.dk;
        var o = 0.0;
        var dn = 0.0;
        for (var d = 0u; d < p.dk; d++) {
            let bq = phi(qkv[q0 + d]);
            dn += bq * z[d];
            o += bq * s[d];
        }
        out[(bi * p.tq + qi) * p.c + h * p.dk + e] = o / dn;
        if (e == 0u) {
            den[(bi * p.heads + h) * p.tq + qi] = dn;
        }
    }
}

// @entry linear_attention_backward_qk linear_attention_backward_v
@group(0) @binding(1) var<storage, read_write> dqkv: array<f32>;
@group(0) @binding(2) var<storage, read> dout: array<f32>;
@group(0) @binding(3) var<storage, read> out: array<f32>;
@group(0) @binding(4) var<storage, read> den: array<f32>;
@group(0) @binding(5) var<storage, read> qkv: array<f32>;

// (den_i, ∂L/∂den_i = −⟨dout_i, out_i⟩/den_i) of row i of batch bi, head h.
fn grads(bi: u32, h: u32, i: u32) -> vec2<f32> {
    let dn = den[(bi * p.heads + h) * p.tk + i];
    let o = (bi * p.tk + i) * p.c + h * p.dk;
    var d = 0.0;
    for (var e = 0u; e < p.dk; e++) {
        d += dout[o + e] * out[o + e];
    }
    return vec2<f32>(dn, -d / dn);
}

// @entry linear_attention_backward_qk
// A thread per (batch, head, row d): row d of S forward (dφ(q_i)[d] = S_i[d]·∂num_i + z_i[d]·∂den_i),
// then row d of G_j = Σ_{i≥j} φ(q_i)∂num_iᵀ backward (dφ(k_j)[d] = G_j[d]·v_j + g_j[d]).
@compute @workgroup_size(64)
fn linear_attention_backward_qk(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let idx = flat(wid, nwg, lid, 64u);
    if (idx >= p.b * p.heads * p.dk) {
        return;
    }
    let bi = idx / (p.heads * p.dk);
    let h = (idx / p.dk) % p.heads;
    let d = idx % p.dk;
    let row = 3u * p.c;
    let xb = bi * p.tk * row;
    var s: array<f32, MAX_DK>;
    var z = 0.0;
    for (var i = 0u; i < p.tk; i++) {
        let k0 = xb + i * row + p.c + h * p.dk;
        let a = phi(qkv[k0 + d]);
        z += a;
        for (var e = 0u; e < p.dk; e++) {
            s[e] += a * qkv[k0 + p.c + e];
        }
        let g = grads(bi, h, i);
        let go = (bi * p.tk + i) * p.c + h * p.dk;
        var acc = 0.0;
        for (var e = 0u; e < p.dk; e++) {
            acc += s[e] * dout[go + e];
        }
        let db = acc / g.x + z * g.y;
        let qa = xb + i * row + h * p.dk + d;
        dqkv[qa] = dqkv[qa] + db * dphi(qkv[qa]);
    }
    for (var e = 0u; e < p.dk; e++) {
        s[e] = 0.0;
    }
    z = 0.0;
    for (var jj = 0u; jj < p.tk; jj++) {
        let j = p.tk - 1u - jj;
        let g = grads(bi, h, j);
        let go = (bi * p.tk + j) * p.c + h * p.dk;
        let bq = phi(qkv[xb + j * row + h * p.dk + d]);
        z += bq * g.y;
        for (var e = 0u; e < p.dk; e++) {
            s[e] += bq * dout[go + e] / g.x;
        }
        let ka = xb + j * row + p.c + h * p.dk + d;
        let va = xb + j * row + 2u * p.c + h * p.dk;
        var da = 0.0;
        for (var e = 0u; e < p.dk; e++) {
            da += s[e] * qkv[va + e];
        }
        da += z;
        dqkv[ka] = dqkv[ka] + da * dphi(qkv[ka]);
    }
}

// @entry linear_attention_backward_v
// A thread per (batch, head, column e): column e of G backward, dv_j[e] += Σ_d φ(k_j)[d]·G_j[d][e].
@compute @workgroup_size(64)
fn linear_attention_backward_v(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let idx = flat(wid, nwg, lid, 64u);
    if (idx >= p.b * p.heads * p.dk) {
        return;
    }
    let bi = idx / (p.heads * p.dk);
    let h = (idx / p.dk) % p.heads;
    let e = idx % p.dk;
    let row = 3u * p.c;
    let xb = bi * p.tk * row;
    var s: array<f32, MAX_DK>;
    for (var jj = 0u; jj < p.tk; jj++) {
        let j = p.tk - 1u - jj;
        let g = grads(bi, h, j);
        let go = (bi * p.tk + j) * p.c + h * p.dk;
        let q0 = xb + j * row + h * p.dk;
        let k0 = q0 + p.c;
        var acc = 0.0;
        for (var d = 0u; d < p.dk; d++) {
            s[d] += phi(qkv[q0 + d]) * dout[go + e] / g.x;
            acc += phi(qkv[k0 + d]) * s[d];
        }
        let va = k0 + p.c + e;
        dqkv[va] = dqkv[va] + acc;
    }
}

// @entry linear_attention_state
@group(0) @binding(1) var<storage, read_write> state: array<f32>;
@group(0) @binding(2) var<storage, read> qkv: array<f32>;

// A stream's state from a window, state [H × (d_k² + d_k)] overwritten: a workgroup per head, a
// thread per column.
@compute @workgroup_size(128)
fn linear_attention_state(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) e: u32) {
    let h = wid.x;
    if (e >= p.dk) {
        return;
    }
    let row = 3u * p.c;
    var s: array<f32, MAX_DK>;
    var z: array<f32, MAX_DK>;
    for (var j = 0u; j < p.tk; j++) {
        let k0 = j * row + p.c + h * p.dk;
        let v = qkv[k0 + p.c + e];
        for (var d = 0u; d < p.dk; d++) {
            let a = phi(qkv[k0 + d]);
            z[d] += a;
            s[d] += a * v;
        }
    }
    let base = h * (p.dk * p.dk + p.dk);
    for (var d = 0u; d < p.dk; d++) {
        state[base + d * p.dk + e] = s[d];
        if (e == 0u) {
            state[base + p.dk * p.dk + d] = z[d];
        }
    }
}

// @entry linear_attention_step
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read_write> state: array<f32>;
@group(0) @binding(3) var<storage, read> qkv: array<f32>;

// One token of a stream: every thread reads its column and z, a barrier, then each writes its
// column back (thread 0 also z) and its output.
@compute @workgroup_size(128)
fn linear_attention_step(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) e: u32) {
    let h = wid.x;
    let base = h * (p.dk * p.dk + p.dk);
    let k0 = p.c + h * p.dk;
    var s: array<f32, MAX_DK>;
    var z: array<f32, MAX_DK>;
    let live = e < p.dk;
    if (live) {
        let v = qkv[k0 + p.c + e];
        for (var d = 0u; d < p.dk; d++) {
            let a = phi(qkv[k0 + d]);
            z[d] = state[base + p.dk * p.dk + d] + a;
            s[d] = state[base + d * p.dk + e] + a * v;
        }
    }
    storageBarrier();
    if (live) {
        var o = 0.0;
        var dn = 0.0;
        for (var d = 0u; d < p.dk; d++) {
            let bq = phi(qkv[h * p.dk + d]);
            dn += bq * z[d];
            o += bq * s[d];
            state[base + d * p.dk + e] = s[d];
            if (e == 0u) {
                state[base + p.dk * p.dk + d] = z[d];
            }
        }
        out[h * p.dk + e] = o / dn;
    }
}
