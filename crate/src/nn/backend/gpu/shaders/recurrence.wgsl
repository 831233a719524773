// A recurrent layer through time in one dispatch (nn/backend/recurrence.rs): a workgroup per ROWS
// batch rows walks the T steps in reading order (the backward against it), each thread owning the
// units u ≡ lid (mod SEQ_WG) of those rows, with a storage barrier between steps so that step s reads
// the whole h (or dpre) of the step before. Each weight read serves the workgroup's ROWS rows. The
// loop over per-step ops this replaces is three or four dispatches per step.
//
// Sequences are bound whole: step s, row r, column j at s·stride + r·width + j (gs: the stride of
// the G·H-wide sequences pre, hh, gates, dpre, dhh; hs: of the H-wide h, c, dh, dc). The state
// before the first step is h0 / c0 [≥ B × H]. The backward drops the gradient of that state (it is
// detached).

const SEQ_WG: u32 = 128u;
const ROWS: u32 = 4u;

struct P { b: u32, t: u32, hd: u32, reverse: u32, gs: u32, hs: u32, act: u32, bias: u32 }
@group(0) @binding(0) var<uniform> p: P;

// The step read j-th, and whether it has a step before it in reading order.
fn nth(j: u32) -> u32 {
    return select(j, p.t - 1u - j, p.reverse != 0u);
}

// @entry rnn_sequence lstm_sequence gru_sequence
// h_{s₋} at unit k of row r for the step read j-th (h0 before the first): every entry binds h and h0.
fn h_prev(j: u32, r: u32, k: u32) -> f32 {
    if (j == 0u) {
        return h0[r * p.hd + k];
    }
    return h[nth(j - 1u) * p.hs + r * p.hd + k];
}

// @entry rnn_sequence_backward lstm_sequence_backward gru_sequence_backward
// The recurrence of the backward, after step s's cell (j > 0): dh_{s₋} += dgate_s·W_hh for this
// thread's units of the workgroup's rows, dgate [B × G·H] being dpre (RNN, LSTM) or dhh (GRU).
fn carry_back(j: u32, s: u32, r0: u32, nr: u32, lid: u32, g: u32) {
    let hd = p.hd;
    let ps = nth(j - 1u);
    for (var u = lid; u < hd; u += SEQ_WG) {
        var acc = array<f32, ROWS>();
        for (var q = 0u; q < g * hd; q++) {
            let w = w_hh[q * hd + u];
            for (var k = 0u; k < nr; k++) {
                acc[k] += dgate[s * p.gs + (r0 + k) * g * hd + q] * w;
            }
        }
        for (var k = 0u; k < nr; k++) {
            let pk = ps * p.hs + (r0 + k) * hd + u;
            dh[pk] = dh[pk] + acc[k];
        }
    }
}

// @entry rnn_sequence
// pre_s += h₋·W_hhᵀ + b_hh;  h_s = σ(pre_s)  (act 0: tanh, 1: sigmoid).
@group(0) @binding(1) var<storage, read_write> pre: array<f32>;
@group(0) @binding(2) var<storage, read_write> h: array<f32>;
@group(0) @binding(3) var<storage, read> w_hh: array<f32>;
@group(0) @binding(4) var<storage, read> b_hh: array<f32>;
@group(0) @binding(5) var<storage, read> h0: array<f32>;

@compute @workgroup_size(128)
fn rnn_sequence(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let r0 = wid.x * ROWS;
    let nr = min(ROWS, p.b - r0);
    let hd = p.hd;
    for (var j = 0u; j < p.t; j++) {
        let s = nth(j);
        for (var u = lid; u < hd; u += SEQ_WG) {
            var acc = array<f32, ROWS>();
            for (var k = 0u; k < hd; k++) {
                let w = w_hh[u * hd + k];
                for (var q = 0u; q < nr; q++) {
                    acc[q] += h_prev(j, r0 + q, k) * w;
                }
            }
            for (var q = 0u; q < nr; q++) {
                let r = r0 + q;
                let g = s * p.gs + r * hd + u;
                var x = pre[g] + acc[q];
                if (p.bias != 0u) {
                    x += b_hh[u];
                }
                pre[g] = x;
                h[s * p.hs + r * hd + u] = select(tanh_(x), sigmoid(x), p.act == 1u);
            }
        }
        storageBarrier();
    }
}

// @entry lstm_sequence
// pre_s += h₋·W_hhᵀ + b_hh;  gates (i, f, g, o), c_s, h_s from pre_s and c₋.
@group(0) @binding(1) var<storage, read_write> pre: array<f32>;
@group(0) @binding(2) var<storage, read_write> gates: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var<storage, read_write> h: array<f32>;
@group(0) @binding(5) var<storage, read> w_hh: array<f32>;
@group(0) @binding(6) var<storage, read> b_hh: array<f32>;
@group(0) @binding(7) var<storage, read> h0: array<f32>;
@group(0) @binding(8) var<storage, read> c0: array<f32>;

@compute @workgroup_size(128)
fn lstm_sequence(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let r0 = wid.x * ROWS;
    let nr = min(ROWS, p.b - r0);
    let hd = p.hd;
    for (var j = 0u; j < p.t; j++) {
        let s = nth(j);
        for (var u = lid; u < hd; u += SEQ_WG) {
            var acc = array<vec4<f32>, ROWS>();
            for (var k = 0u; k < hd; k++) {
                let w = vec4<f32>(w_hh[u * hd + k], w_hh[(hd + u) * hd + k], w_hh[(2u * hd + u) * hd + k], w_hh[(3u * hd + u) * hd + k]);
                for (var q = 0u; q < nr; q++) {
                    acc[q] += h_prev(j, r0 + q, k) * w;
                }
            }
            for (var q = 0u; q < nr; q++) {
                let r = r0 + q;
                let g0 = s * p.gs + r * 4u * hd + u;
                var x = vec4<f32>(pre[g0], pre[g0 + hd], pre[g0 + 2u * hd], pre[g0 + 3u * hd]) + acc[q];
                if (p.bias != 0u) {
                    x += vec4<f32>(b_hh[u], b_hh[hd + u], b_hh[2u * hd + u], b_hh[3u * hd + u]);
                }
                pre[g0] = x.x;
                pre[g0 + hd] = x.y;
                pre[g0 + 2u * hd] = x.z;
                pre[g0 + 3u * hd] = x.w;
                let i = sigmoid(x.x);
                let f = sigmoid(x.y);
                let gg = tanh_(x.z);
                let o = sigmoid(x.w);
                gates[g0] = i;
                gates[g0 + hd] = f;
                gates[g0 + 2u * hd] = gg;
                gates[g0 + 3u * hd] = o;
                var cp = c0[r * hd + u];
                if (j > 0u) {
                    cp = c[nth(j - 1u) * p.hs + r * hd + u];
                }
                let cj = f * cp + i * gg;
                let k = s * p.hs + r * hd + u;
                c[k] = cj;
                h[k] = o * tanh_(cj);
            }
        }
        storageBarrier();
    }
}

// @entry gru_sequence
// hh_s = h₋·W_hhᵀ + b_hh;  gates (r, z, n) and h_s from ih = pre_s, hh_s and h₋.
@group(0) @binding(1) var<storage, read_write> hh: array<f32>;
@group(0) @binding(2) var<storage, read_write> gates: array<f32>;
@group(0) @binding(3) var<storage, read_write> h: array<f32>;
@group(0) @binding(4) var<storage, read> pre: array<f32>;
@group(0) @binding(5) var<storage, read> w_hh: array<f32>;
@group(0) @binding(6) var<storage, read> b_hh: array<f32>;
@group(0) @binding(7) var<storage, read> h0: array<f32>;

@compute @workgroup_size(128)
fn gru_sequence(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let r0 = wid.x * ROWS;
    let nr = min(ROWS, p.b - r0);
    let hd = p.hd;
    for (var j = 0u; j < p.t; j++) {
        let s = nth(j);
        for (var u = lid; u < hd; u += SEQ_WG) {
            var acc = array<vec3<f32>, ROWS>();
            for (var k = 0u; k < hd; k++) {
                let w = vec3<f32>(w_hh[u * hd + k], w_hh[(hd + u) * hd + k], w_hh[(2u * hd + u) * hd + k]);
                for (var q = 0u; q < nr; q++) {
                    acc[q] += h_prev(j, r0 + q, k) * w;
                }
            }
            for (var q = 0u; q < nr; q++) {
                let r = r0 + q;
                let hv = acc[q] + vec3<f32>(b_hh[u], b_hh[hd + u], b_hh[2u * hd + u]);
                let g0 = s * p.gs + r * 3u * hd + u;
                hh[g0] = hv.x;
                hh[g0 + hd] = hv.y;
                hh[g0 + 2u * hd] = hv.z;
                let rr = sigmoid(pre[g0] + hv.x);
                let z = sigmoid(pre[g0 + hd] + hv.y);
                let n = tanh_(pre[g0 + 2u * hd] + rr * hv.z);
                gates[g0] = rr;
                gates[g0 + hd] = z;
                gates[g0 + 2u * hd] = n;
                h[s * p.hs + r * hd + u] = (1.0 - z) * n + z * h_prev(j, r, u);
            }
        }
        storageBarrier();
    }
}

// @entry rnn_sequence_backward
// dpre_s = dh_s ⊙ σ'(h_s) (dpre bound as dgate);  dh₋ += dpre_s·W_hh.
@group(0) @binding(1) var<storage, read_write> dgate: array<f32>;
@group(0) @binding(2) var<storage, read_write> dh: array<f32>;
@group(0) @binding(3) var<storage, read> h: array<f32>;
@group(0) @binding(4) var<storage, read> w_hh: array<f32>;

@compute @workgroup_size(128)
fn rnn_sequence_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let r0 = wid.x * ROWS;
    let nr = min(ROWS, p.b - r0);
    let hd = p.hd;
    for (var jj = 0u; jj < p.t; jj++) {
        let j = p.t - 1u - jj;
        let s = nth(j);
        for (var u = lid; u < hd; u += SEQ_WG) {
            for (var q = 0u; q < nr; q++) {
                let r = r0 + q;
                let k = s * p.hs + r * hd + u;
                let y = h[k];
                let d = select(1.0 - y * y, y * (1.0 - y), p.act == 1u);
                dgate[s * p.gs + r * hd + u] = dh[k] * d;
            }
        }
        storageBarrier();
        if (j > 0u) {
            carry_back(j, s, r0, nr, lid, 1u);
        }
    }
}

// @entry lstm_sequence_backward
// dpre_s (bound as dgate) and dc₋ from dh_s, dc_s (the cell's backward);  dh₋ += dpre_s·W_hh.
@group(0) @binding(1) var<storage, read_write> dgate: array<f32>;
@group(0) @binding(2) var<storage, read_write> dh: array<f32>;
@group(0) @binding(3) var<storage, read_write> dc: array<f32>;
@group(0) @binding(4) var<storage, read> gates: array<f32>;
@group(0) @binding(5) var<storage, read> c: array<f32>;
@group(0) @binding(6) var<storage, read> c0: array<f32>;
@group(0) @binding(7) var<storage, read> w_hh: array<f32>;

@compute @workgroup_size(128)
fn lstm_sequence_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let r0 = wid.x * ROWS;
    let nr = min(ROWS, p.b - r0);
    let hd = p.hd;
    for (var jj = 0u; jj < p.t; jj++) {
        let j = p.t - 1u - jj;
        let s = nth(j);
        for (var u = lid; u < hd; u += SEQ_WG) {
            for (var q = 0u; q < nr; q++) {
                let r = r0 + q;
                let k = s * p.hs + r * hd + u;
                let g0 = s * p.gs + r * 4u * hd + u;
                let i = gates[g0];
                let f = gates[g0 + hd];
                let g = gates[g0 + 2u * hd];
                let o = gates[g0 + 3u * hd];
                let tc = tanh_(c[k]);
                let dct = dc[k] + dh[k] * o * (1.0 - tc * tc);
                var cp = c0[r * hd + u];
                if (j > 0u) {
                    cp = c[nth(j - 1u) * p.hs + r * hd + u];
                }
                dgate[g0] = dct * g * i * (1.0 - i);
                dgate[g0 + hd] = dct * cp * f * (1.0 - f);
                dgate[g0 + 2u * hd] = dct * i * (1.0 - g * g);
                dgate[g0 + 3u * hd] = dh[k] * tc * o * (1.0 - o);
                if (j > 0u) {
                    let pk = nth(j - 1u) * p.hs + r * hd + u;
                    dc[pk] = dc[pk] + dct * f;
                }
            }
        }
        storageBarrier();
        if (j > 0u) {
            carry_back(j, s, r0, nr, lid, 4u);
        }
    }
}

// @entry gru_sequence_backward
// dih_s (into dpre), dhh_s (into dgate) and dh₋ += dh_s ⊙ z from the cell's backward;
// dh₋ += dhh_s·W_hh.
@group(0) @binding(1) var<storage, read_write> dpre: array<f32>;
@group(0) @binding(2) var<storage, read_write> dgate: array<f32>;
@group(0) @binding(3) var<storage, read_write> dh: array<f32>;
@group(0) @binding(4) var<storage, read> gates: array<f32>;
@group(0) @binding(5) var<storage, read> hh: array<f32>;
@group(0) @binding(6) var<storage, read> h: array<f32>;
@group(0) @binding(7) var<storage, read> h0: array<f32>;
@group(0) @binding(8) var<storage, read> w_hh: array<f32>;

@compute @workgroup_size(128)
fn gru_sequence_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let r0 = wid.x * ROWS;
    let nr = min(ROWS, p.b - r0);
    let hd = p.hd;
    for (var jj = 0u; jj < p.t; jj++) {
        let j = p.t - 1u - jj;
        let s = nth(j);
        for (var u = lid; u < hd; u += SEQ_WG) {
            for (var q = 0u; q < nr; q++) {
                let r = r0 + q;
                let k = s * p.hs + r * hd + u;
                let g0 = s * p.gs + r * 3u * hd + u;
                let rr = gates[g0];
                let z = gates[g0 + hd];
                let n = gates[g0 + 2u * hd];
                var hp = h0[r * hd + u];
                if (j > 0u) {
                    hp = h[nth(j - 1u) * p.hs + r * hd + u];
                }
                let dn = dh[k] * (1.0 - z) * (1.0 - n * n);
                let dz = dh[k] * (hp - n) * z * (1.0 - z);
                let dr = dn * hh[g0 + 2u * hd] * rr * (1.0 - rr);
                dpre[g0] = dr;
                dgate[g0] = dr;
                dpre[g0 + hd] = dz;
                dgate[g0 + hd] = dz;
                dpre[g0 + 2u * hd] = dn;
                dgate[g0 + 2u * hd] = dn * rr;
                if (j > 0u) {
                    let pk = nth(j - 1u) * p.hs + r * hd + u;
                    dh[pk] = dh[pk] + dh[k] * z;
                }
            }
        }
        storageBarrier();
        if (j > 0u) {
            carry_back(j, s, r0, nr, lid, 3u);
        }
    }
}
