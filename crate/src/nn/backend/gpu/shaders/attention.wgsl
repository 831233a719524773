// Fused multi-head causal attention (nn/ops/attention.rs) over a [B × Tk × 3C] qkv tensor whose
// last Tq rows are the queries: scores with Shaw's relative tables and ALiBi inside, the causal or
// sparse (window + stride) pattern, softmax, dropout on the probabilities (the CPU's mask at the
// same indices), P·V. Every pass visits a query's allowed keys in the CPU's order (the strided
// columns before the window, then the window). The backward uses D_i = ⟨dout_i, out_i⟩ and runs as
// three gathers, none of which needs float atomics: dq per query, dk and dv per key, the relative
// tables' gradients per (row, element). The memory-efficient form (`lse`, FlashAttention's
// algorithm): the forward keeps each row's log-sum-exp instead of its probabilities, with an online
// softmax (the running maximum rescales the sum and the output as keys arrive), and the backward
// recomputes a_ij = exp(s_ij − lse_i): O(T) memory instead of O(T²), the same O(T²) work.

struct P {
    b: u32, tq: u32, tk: u32, c: u32, heads: u32, dk: u32,
    sparse: u32, window: u32, stride: u32, alibi: u32, rel_rows: u32,
    drop: u32, keep: f32, threshold: u32, seed: u32, scale: f32, lse: u32,
}
@group(0) @binding(0) var<uniform> p: P;

// Where a query row's data lives: batch bi, head h, query qi at position i; xb = the batch's first
// qkv float, at = its probs row, o = its output (and dout) slice.
struct Query { bi: u32, h: u32, qi: u32, i: u32, xb: u32, at: u32, o: u32 }
fn query(idx: u32) -> Query {
    let bi = idx / (p.heads * p.tq);
    let h = (idx / p.tq) % p.heads;
    let qi = idx % p.tq;
    let at = ((bi * p.heads + h) * p.tq + qi) * p.tk;
    return Query(bi, h, qi, p.tk - p.tq + qi, bi * p.tk * 3u * p.c, at, (bi * p.tq + qi) * p.c + h * p.dk);
}

fn lo_of(i: u32) -> u32 {
    if (p.sparse == 1u && i + 1u > p.window) {
        return i + 1u - p.window;
    }
    return 0u;
}
// Pattern::keys as an iterator: first_key(i), then next_key(i, j) while j ≤ i.
fn first_key(i: u32) -> u32 {
    let lo = lo_of(i);
    if (p.sparse == 1u && p.stride > 0u && i % p.stride < lo) {
        return i % p.stride;
    }
    return lo;
}
fn next_key(i: u32, j: u32) -> u32 {
    let lo = lo_of(i);
    if (j < lo) {
        return min(j + p.stride, lo);
    }
    return j + 1u;
}
fn allowed(i: u32, j: u32) -> bool {
    if (j > i) {
        return false;
    }
    if (p.sparse == 0u) {
        return true;
    }
    return i - j < p.window || (p.stride > 0u && (i - j) % p.stride == 0u);
}
fn slope(h: u32) -> f32 {
    if (p.alibi == 1u) {
        return exp2(-8.0 * f32(h + 1u) / f32(p.heads));
    }
    return 0.0;
}
fn rel_row(i: u32, j: u32) -> u32 {
    return min(i - j, p.rel_rows - 1u);
}
fn kept(at: u32) -> f32 {
    if (p.drop == 1u) {
        return dropout_at(p.seed, at, p.threshold, p.keep);
    }
    return 1.0;
}
// The score of query position i (row q0 of qkv) against key position j, head h.
fn score(xb: u32, i: u32, j: u32, h: u32) -> f32 {
    let row = 3u * p.c;
    let q0 = xb + i * row + h * p.dk;
    let k0 = xb + j * row + p.c + h * p.dk;
    var s = 0.0;
    for (var e = 0u; e < p.dk; e++) {
        s += qkv[q0 + e] * qkv[k0 + e];
    }
    if (p.rel_rows > 0u) {
        let r = rel_row(i, j) * p.dk;
        var t = 0.0;
        for (var e = 0u; e < p.dk; e++) {
            t += qkv[q0 + e] * wk[r + e];
        }
        s += t;
    }
    return s * p.scale - slope(h) * f32(i - j);
}
// @entry attention attention_online
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read_write> probs: array<f32>;
@group(0) @binding(3) var<storage, read> qkv: array<f32>;
@group(0) @binding(4) var<storage, read> wk: array<f32>;
@group(0) @binding(5) var<storage, read> wv: array<f32>;

// @entry attention_online
// A thread per (batch, head, query row), visiting the row's keys once: m the running maximum, l the
// running Σ exp(s − m), out the running Σ exp(s − m)·m_ij·(v_j + w^V_r); a new maximum rescales
// both. probs[row] = m + ln l at the end.
@compute @workgroup_size(64)
fn attention_online(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let idx = flat(wid, nwg, lid, 64u);
    if (idx >= p.b * p.heads * p.tq) {
        return;
    }
    let q = query(idx);
    let h = q.h;
    let i = q.i;
    let xb = q.xb;
    let o = q.o;
    for (var e = 0u; e < p.dk; e++) {
        out[o + e] = 0.0;
    }
    var m = neg_inf();
    var l = 0.0;
    for (var j = first_key(i); j <= i; j = next_key(i, j)) {
        let s = score(xb, i, j, h);
        let m_new = max(m, s);
        let corr = exp(m - m_new);
        let w = exp(s - m_new);
        l = l * corr + w;
        m = m_new;
        let a = w * kept(q.at + j);
        let v0 = xb + j * 3u * p.c + 2u * p.c + h * p.dk;
        let r = rel_row(i, j) * p.dk;
        for (var e = 0u; e < p.dk; e++) {
            var v = qkv[v0 + e];
            if (p.rel_rows > 0u) {
                v += wv[r + e];
            }
            out[o + e] = out[o + e] * corr + a * v;
        }
    }
    let inv = 1.0 / l;
    for (var e = 0u; e < p.dk; e++) {
        out[o + e] = out[o + e] * inv;
    }
    probs[idx] = m + log(l);
}

// @entry attention

// A thread per (batch, head, query row): its probs row is its own, so the scores, their
// exponentials and the probabilities are written and re-read in place.
@compute @workgroup_size(64)
fn attention(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let idx = flat(wid, nwg, lid, 64u);
    if (idx >= p.b * p.heads * p.tq) {
        return;
    }
    let q = query(idx);
    let h = q.h;
    let i = q.i;
    let xb = q.xb;
    let at = q.at;
    var mx = neg_inf();
    for (var j = first_key(i); j <= i; j = next_key(i, j)) {
        let v = score(xb, i, j, h);
        probs[at + j] = v;
        mx = max(mx, v);
    }
    var sum = 0.0;
    for (var j = first_key(i); j <= i; j = next_key(i, j)) {
        let e = exp(probs[at + j] - mx);
        probs[at + j] = e;
        sum += e;
    }
    let inv = 1.0 / sum;
    let o = q.o;
    for (var e = 0u; e < p.dk; e++) {
        out[o + e] = 0.0;
    }
    for (var j = first_key(i); j <= i; j = next_key(i, j)) {
        let a0 = probs[at + j] * inv;
        probs[at + j] = a0;
        let a = a0 * kept(at + j);
        if (a == 0.0) {
            continue;
        }
        let v0 = xb + j * 3u * p.c + 2u * p.c + h * p.dk;
        for (var e = 0u; e < p.dk; e++) {
            out[o + e] = out[o + e] + a * qkv[v0 + e];
        }
        if (p.rel_rows > 0u) {
            let r = rel_row(i, j) * p.dk;
            for (var e = 0u; e < p.dk; e++) {
                out[o + e] = out[o + e] + a * wv[r + e];
            }
        }
    }
}

// @entry attention_backward_q attention_backward_kv attention_backward_rel
// ∂L/∂a_ij (dropout's mask m applied): m·⟨dout_i, v_j + w^V_r⟩, 0 for a dropped pair.
fn dattn(xb: u32, go: u32, i: u32, j: u32, h: u32, m: f32) -> f32 {
    if (m == 0.0) {
        return 0.0;
    }
    let v0 = xb + j * 3u * p.c + 2u * p.c + h * p.dk;
    var da = 0.0;
    for (var e = 0u; e < p.dk; e++) {
        da += dout[go + e] * qkv[v0 + e];
    }
    if (p.rel_rows > 0u) {
        let r = rel_row(i, j) * p.dk;
        var t = 0.0;
        for (var e = 0u; e < p.dk; e++) {
            t += dout[go + e] * wv[r + e];
        }
        da += t;
    }
    return da * m;
}
// a_ij of the row whose probs row starts at `at`: stored, or (lse) recomputed from its log-sum-exp.
fn prob(at: u32, xb: u32, i: u32, j: u32, h: u32) -> f32 {
    if (p.lse == 1u) {
        return exp(score(xb, i, j, h) - probs[at / p.tk]);
    }
    return probs[at + j];
}
// D_i = ⟨dout_i, out_i⟩ for the output slice at o.
fn d_of(o: u32) -> f32 {
    var d = 0.0;
    for (var e = 0u; e < p.dk; e++) {
        d += dout[o + e] * out[o + e];
    }
    return d;
}


// @entry attention_backward_q
@group(0) @binding(1) var<storage, read_write> dqkv: array<f32>;
@group(0) @binding(2) var<storage, read> dout: array<f32>;
@group(0) @binding(3) var<storage, read> out: array<f32>;
@group(0) @binding(4) var<storage, read> probs: array<f32>;
@group(0) @binding(5) var<storage, read> qkv: array<f32>;
@group(0) @binding(6) var<storage, read> wk: array<f32>;
@group(0) @binding(7) var<storage, read> wv: array<f32>;

// dq_i += Σ_j ds_ij·(k_j + w^K_r), ds = a·(∂L/∂a − D_i)/√d_k: a thread per (batch, head, query).
@compute @workgroup_size(64)
fn attention_backward_q(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let idx = flat(wid, nwg, lid, 64u);
    if (idx >= p.b * p.heads * p.tq) {
        return;
    }
    let q = query(idx);
    let h = q.h;
    let i = q.i;
    let xb = q.xb;
    let at = q.at;
    let go = q.o;
    let d_i = d_of(go);
    let q0 = xb + i * 3u * p.c + h * p.dk;
    for (var j = first_key(i); j <= i; j = next_key(i, j)) {
        let a = prob(at, xb, i, j, h);
        if (a == 0.0) {
            continue;
        }
        let ds = a * (dattn(xb, go, i, j, h, kept(at + j)) - d_i) * p.scale;
        let k0 = xb + j * 3u * p.c + p.c + h * p.dk;
        for (var e = 0u; e < p.dk; e++) {
            var kv = qkv[k0 + e];
            if (p.rel_rows > 0u) {
                kv += wk[rel_row(i, j) * p.dk + e];
            }
            dqkv[q0 + e] = dqkv[q0 + e] + ds * kv;
        }
    }
}

// @entry attention_backward_kv
@group(0) @binding(1) var<storage, read_write> dqkv: array<f32>;
@group(0) @binding(2) var<storage, read> dout: array<f32>;
@group(0) @binding(3) var<storage, read> out: array<f32>;
@group(0) @binding(4) var<storage, read> probs: array<f32>;
@group(0) @binding(5) var<storage, read> qkv: array<f32>;
@group(0) @binding(6) var<storage, read> wk: array<f32>;
@group(0) @binding(7) var<storage, read> wv: array<f32>;

// dk_j += Σ_i ds_ij·q_i and dv_j += Σ_i ã_ij·dout_i over the queries that read key j: a thread
// per (batch, head, key).
@compute @workgroup_size(64)
fn attention_backward_kv(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let idx = flat(wid, nwg, lid, 64u);
    if (idx >= p.b * p.heads * p.tk) {
        return;
    }
    let bi = idx / (p.heads * p.tk);
    let h = (idx / p.tk) % p.heads;
    let j = idx % p.tk;
    let xb = bi * p.tk * 3u * p.c;
    let k0 = xb + j * 3u * p.c + p.c + h * p.dk;
    let v0 = k0 + p.c;
    for (var qi = 0u; qi < p.tq; qi++) {
        let i = p.tk - p.tq + qi;
        if (!allowed(i, j)) {
            continue;
        }
        let at = ((bi * p.heads + h) * p.tq + qi) * p.tk;
        let a = prob(at, xb, i, j, h);
        if (a == 0.0) {
            continue;
        }
        let go = (bi * p.tq + qi) * p.c + h * p.dk;
        let m = kept(at + j);
        let ds = a * (dattn(xb, go, i, j, h, m) - d_of(go)) * p.scale;
        let q0 = xb + i * 3u * p.c + h * p.dk;
        let dropped = a * m;
        for (var e = 0u; e < p.dk; e++) {
            dqkv[k0 + e] = dqkv[k0 + e] + ds * qkv[q0 + e];
            dqkv[v0 + e] = dqkv[v0 + e] + dropped * dout[go + e];
        }
    }
}

// @entry attention_backward_rel
@group(0) @binding(1) var<storage, read_write> dwk: array<f32>;
@group(0) @binding(2) var<storage, read_write> dwv: array<f32>;
@group(0) @binding(3) var<storage, read> dout: array<f32>;
@group(0) @binding(4) var<storage, read> out: array<f32>;
@group(0) @binding(5) var<storage, read> probs: array<f32>;
@group(0) @binding(6) var<storage, read> qkv: array<f32>;
@group(0) @binding(7) var<storage, read> wk: array<f32>;
@group(0) @binding(8) var<storage, read> wv: array<f32>;

// dw^K_r += Σ ds_ij·q_i and dw^V_r += Σ ã_ij·dout_i over every pair whose clipped distance is r:
// a thread per (r, element), so the sums need no atomics and come out the same every time.
@compute @workgroup_size(64)
fn attention_backward_rel(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let idx = flat(wid, nwg, lid, 64u);
    if (idx >= p.rel_rows * p.dk) {
        return;
    }
    let r = idx / p.dk;
    let e = idx % p.dk;
    let kmax = p.rel_rows - 1u;
    var gk = 0.0;
    var gv = 0.0;
    for (var bi = 0u; bi < p.b; bi++) {
        let xb = bi * p.tk * 3u * p.c;
        for (var h = 0u; h < p.heads; h++) {
            for (var qi = 0u; qi < p.tq; qi++) {
                let i = p.tk - p.tq + qi;
                if (r > i) {
                    continue;
                }
                let at = ((bi * p.heads + h) * p.tq + qi) * p.tk;
                let go = (bi * p.tq + qi) * p.c + h * p.dk;
                let q = qkv[xb + i * 3u * p.c + h * p.dk + e];
                let d_i = d_of(go);
                // r < kmax: the one key at distance r; r = kmax: every key at distance ≥ kmax.
                var j_end = i - r;
                if (r == kmax) {
                    j_end = 0u;
                }
                for (var j = i - r; ; j--) {
                    if (allowed(i, j)) {
                        let a = prob(at, xb, i, j, h);
                        if (a != 0.0) {
                            let m = kept(at + j);
                            let ds = a * (dattn(xb, go, i, j, h, m) - d_i) * p.scale;
                            gk += ds * q;
                            gv += a * m * dout[go + e];
                        }
                    }
                    if (j == j_end) {
                        break;
                    }
                }
            }
        }
    }
    dwk[idx] = dwk[idx] + gk;
    dwv[idx] = dwv[idx] + gv;
}
