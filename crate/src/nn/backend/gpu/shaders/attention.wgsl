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
// @entry attention attention_online attention_backward_q attention_backward_kv
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

// @entry attention_backward_q attention_backward_kv
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


// @entry attention_backward_q attention_tiled_backward_q
@group(0) @binding(1) var<storage, read_write> dqkv: array<f32>;
@group(0) @binding(2) var<storage, read_write> relp: array<f32>;
@group(0) @binding(3) var<storage, read> dout: array<f32>;
@group(0) @binding(4) var<storage, read> out: array<f32>;
@group(0) @binding(5) var<storage, read> probs: array<f32>;
@group(0) @binding(6) var<storage, read> qkv: array<f32>;
@group(0) @binding(7) var<storage, read> wk: array<f32>;
@group(0) @binding(8) var<storage, read> wv: array<f32>;

// The relative tables' gradients, first pass (with relative positions): query row `row` leaves,
// for each clipped distance r, DS[r] = Σ ds_ij and Ã[r] = Σ a_ij·m_ij over its keys at that
// distance (one key for r < k, every key at distance ≥ k for r = k), in relp[row·2(k+1) …].
fn rel_clear(row: u32) {
    for (var r = 0u; r < 2u * p.rel_rows; r++) {
        relp[row * 2u * p.rel_rows + r] = 0.0;
    }
}
fn rel_add(row: u32, r: u32, ds: f32, a: f32) {
    let at = row * 2u * p.rel_rows + r;
    relp[at] = relp[at] + ds;
    relp[at + p.rel_rows] = relp[at + p.rel_rows] + a;
}

// @entry attention_backward_q

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
    if (p.rel_rows > 0u) {
        rel_clear(idx);
    }
    for (var j = first_key(i); j <= i; j = next_key(i, j)) {
        let a = prob(at, xb, i, j, h);
        if (a == 0.0) {
            continue;
        }
        let m = kept(at + j);
        let ds = a * (dattn(xb, go, i, j, h, m) - d_i) * p.scale;
        if (p.rel_rows > 0u) {
            rel_add(idx, rel_row(i, j), ds, a * m);
        }
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
@group(0) @binding(3) var<storage, read> relp: array<f32>;
@group(0) @binding(4) var<storage, read> dout: array<f32>;
@group(0) @binding(5) var<storage, read> qkv: array<f32>;

// The relative tables' gradients, second pass: dw^K_r = Σ_i DS_i[r]·q_i and dw^V_r = Σ_i Ã_i[r]·dout_i
// over every query row, from the rows' sums the dq pass left in relp. A thread per (r, element),
// the rows in the CPU's order: no atomics, the same result every time.
@compute @workgroup_size(64)
fn attention_backward_rel(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let idx = flat(wid, nwg, lid, 64u);
    if (idx >= p.rel_rows * p.dk) {
        return;
    }
    let r = idx / p.dk;
    let e = idx % p.dk;
    let n = 2u * p.rel_rows;
    var gk = 0.0;
    var gv = 0.0;
    for (var row = 0u; row < p.b * p.heads * p.tq; row++) {
        let q = query(row);
        gk += relp[row * n + r] * qkv[q.xb + q.i * 3u * p.c + q.h * p.dk + e];
        gv += relp[row * n + p.rel_rows + r] * dout[q.o + e];
    }
    dwk[idx] = dwk[idx] + gk;
    dwv[idx] = dwv[idx] + gv;
}

// @entry attention_tiled attention_tiled_backward_q attention_tiled_backward_kv
// The tiled kernels (FlashAttention's blocking), for d_k ≤ MAX_DK (gpu/mod.rs TILED_DK): a
// workgroup takes ROWS consecutive rows of one (batch, head) and walks the other side's rows in
// tiles staged through workgroup memory, so each key (or query) is read from storage once per
// workgroup instead of once per row; a thread keeps its own row and its sums in registers.
const ROWS: u32 = 64u;
const MAX_DK: u32 = 64u;
// Where row `lid` of this workgroup is: (batch·heads + head) and the row's index in that range. A
// workgroup past the last (a 2-D grid's rounding) returns whole, before any barrier.
struct Block { bh: u32, first: u32 }
fn block(wid: vec3<u32>, nwg: vec3<u32>, n: u32) -> Block {
    let blocks = (n + ROWS - 1u) / ROWS;
    let g = group_index(wid, nwg);
    return Block(g / blocks, (g % blocks) * ROWS);
}

// @entry attention_tiled attention_tiled_backward_q
// Keys and values staged together: up to 2048 floats each (16 KiB in all, WebGPU's default
// workgroup storage), so a tile has 2048 / d_k keys (at most 128).
var<workgroup> k_tile: array<f32, 2048>;
var<workgroup> v_tile: array<f32, 2048>;
fn key_tile() -> u32 {
    return min(128u, 2048u / p.dk);
}
// Stages keys j0 … j0 + n − 1 of batch base xb, head h; every thread of the workgroup calls it.
fn stage_keys(xb: u32, h: u32, j0: u32, n: u32, lid: u32) {
    for (var x = lid; x < n * p.dk; x += ROWS) {
        let at = xb + (j0 + x / p.dk) * 3u * p.c + p.c + h * p.dk + x % p.dk;
        k_tile[x] = qkv[at];
        v_tile[x] = qkv[at + p.c];
    }
}
// The score of query i (its row q, scaled later) against staged key jj at position j.
fn tile_score(q: ptr<function, array<f32, 64>>, jj: u32, i: u32, j: u32, h: u32) -> f32 {
    var s = 0.0;
    let k0 = jj * p.dk;
    for (var e = 0u; e < p.dk; e++) {
        s += (*q)[e] * k_tile[k0 + e];
    }
    if (p.rel_rows > 0u) {
        let r = rel_row(i, j) * p.dk;
        for (var e = 0u; e < p.dk; e++) {
            s += (*q)[e] * wk[r + e];
        }
    }
    return s * p.scale - slope(h) * f32(i - j);
}
// The last key position any row of the block reads, plus one.
fn keys_end(first: u32) -> u32 {
    return p.tk - p.tq + min(p.tq, first + ROWS);
}

// @entry attention_tiled
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read_write> probs: array<f32>;
@group(0) @binding(3) var<storage, read> qkv: array<f32>;
@group(0) @binding(4) var<storage, read> wk: array<f32>;
@group(0) @binding(5) var<storage, read> wv: array<f32>;

// Both forms in one pass with an online softmax (as attention_online): the memory-efficient one
// writes the row's log-sum-exp; the other writes each raw score into its probs row, then
// normalises the row in place at the end.
@compute @workgroup_size(64)
fn attention_tiled(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let blk = block(wid, nwg, p.tq);
    if (blk.bh >= p.b * p.heads) {
        return;
    }
    let qi = blk.first + lid;
    let live = qi < p.tq;
    let idx = blk.bh * p.tq + min(qi, p.tq - 1u);
    let q = query(idx);
    let i = q.i;
    var qv: array<f32, 64>;
    var acc: array<f32, 64>;
    let q0 = q.xb + i * 3u * p.c + q.h * p.dk;
    for (var e = 0u; e < p.dk; e++) {
        qv[e] = qkv[q0 + e];
        acc[e] = 0.0;
    }
    var m = neg_inf();
    var l = 0.0;
    let kt = key_tile();
    let end = keys_end(blk.first);
    for (var j0 = 0u; j0 < end; j0 += kt) {
        let n = min(kt, end - j0);
        stage_keys(q.xb, q.h, j0, n, lid);
        workgroupBarrier();
        if (live && j0 <= i) {
            for (var jj = 0u; jj < min(n, i + 1u - j0); jj++) {
                let j = j0 + jj;
                if (!allowed(i, j)) {
                    continue;
                }
                let s = tile_score(&qv, jj, i, j, q.h);
                if (p.lse == 0u) {
                    probs[q.at + j] = s;
                }
                let m_new = max(m, s);
                let corr = exp(m - m_new);
                let w = exp(s - m_new);
                l = l * corr + w;
                m = m_new;
                let a = w * kept(q.at + j);
                let v0 = jj * p.dk;
                let r = rel_row(i, j) * p.dk;
                for (var e = 0u; e < p.dk; e++) {
                    var v = v_tile[v0 + e];
                    if (p.rel_rows > 0u) {
                        v += wv[r + e];
                    }
                    acc[e] = acc[e] * corr + a * v;
                }
            }
        }
        workgroupBarrier();
    }
    if (!live) {
        return;
    }
    let inv = 1.0 / l;
    for (var e = 0u; e < p.dk; e++) {
        out[q.o + e] = acc[e] * inv;
    }
    if (p.lse == 1u) {
        probs[idx] = m + log(l);
        return;
    }
    for (var j = first_key(i); j <= i; j = next_key(i, j)) {
        probs[q.at + j] = exp(probs[q.at + j] - m) * inv;
    }
}

// @entry attention_tiled_backward_q
// dq_i += Σ_j ds_ij·(k_j + w^K_r) as attention_backward_q, with the keys and values staged.
@compute @workgroup_size(64)
fn attention_tiled_backward_q(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let blk = block(wid, nwg, p.tq);
    if (blk.bh >= p.b * p.heads) {
        return;
    }
    let qi = blk.first + lid;
    let live = qi < p.tq;
    let idx = blk.bh * p.tq + min(qi, p.tq - 1u);
    let q = query(idx);
    let i = q.i;
    var qv: array<f32, 64>;
    var go: array<f32, 64>;
    var dq: array<f32, 64>;
    let q0 = q.xb + i * 3u * p.c + q.h * p.dk;
    var d_i = 0.0;
    for (var e = 0u; e < p.dk; e++) {
        qv[e] = qkv[q0 + e];
        go[e] = dout[q.o + e];
        d_i += go[e] * out[q.o + e];
        dq[e] = 0.0;
    }
    var lse = 0.0;
    if (p.lse == 1u) {
        lse = probs[idx];
    }
    if (live && p.rel_rows > 0u) {
        rel_clear(idx);
    }
    let kt = key_tile();
    let end = keys_end(blk.first);
    for (var j0 = 0u; j0 < end; j0 += kt) {
        let n = min(kt, end - j0);
        stage_keys(q.xb, q.h, j0, n, lid);
        workgroupBarrier();
        if (live && j0 <= i) {
            for (var jj = 0u; jj < min(n, i + 1u - j0); jj++) {
                let j = j0 + jj;
                if (!allowed(i, j)) {
                    continue;
                }
                var a = 0.0;
                if (p.lse == 1u) {
                    a = exp(tile_score(&qv, jj, i, j, q.h) - lse);
                } else {
                    a = probs[q.at + j];
                }
                if (a == 0.0) {
                    continue;
                }
                let m = kept(q.at + j);
                let r = rel_row(i, j) * p.dk;
                let t0 = jj * p.dk;
                var da = 0.0;
                if (m != 0.0) {
                    for (var e = 0u; e < p.dk; e++) {
                        var v = v_tile[t0 + e];
                        if (p.rel_rows > 0u) {
                            v += wv[r + e];
                        }
                        da += go[e] * v;
                    }
                }
                let ds = a * (da * m - d_i) * p.scale;
                if (p.rel_rows > 0u) {
                    rel_add(idx, rel_row(i, j), ds, a * m);
                }
                for (var e = 0u; e < p.dk; e++) {
                    var k = k_tile[t0 + e];
                    if (p.rel_rows > 0u) {
                        k += wk[r + e];
                    }
                    dq[e] += ds * k;
                }
            }
        }
        workgroupBarrier();
    }
    if (!live) {
        return;
    }
    for (var e = 0u; e < p.dk; e++) {
        dqkv[q0 + e] = dqkv[q0 + e] + dq[e];
    }
}

// @entry attention_tiled_backward_kv
@group(0) @binding(1) var<storage, read_write> dqkv: array<f32>;
@group(0) @binding(2) var<storage, read> dout: array<f32>;
@group(0) @binding(3) var<storage, read> out: array<f32>;
@group(0) @binding(4) var<storage, read> probs: array<f32>;
@group(0) @binding(5) var<storage, read> qkv: array<f32>;
@group(0) @binding(6) var<storage, read> wk: array<f32>;
@group(0) @binding(7) var<storage, read> wv: array<f32>;

// Queries and their output gradients staged together, with each staged query's D_i and (the
// memory-efficient form) its log-sum-exp: 1920 + 1920 + 64 + 64 floats, under 16 KiB.
var<workgroup> q_tile: array<f32, 1920>;
var<workgroup> g_tile: array<f32, 1920>;
var<workgroup> d_tile: array<f32, 64>;
var<workgroup> l_tile: array<f32, 64>;

// dk_j += Σ_i ds_ij·q_i and dv_j += Σ_i ã_ij·dout_i as attention_backward_kv: a thread per key,
// the queries that read the block's keys staged in tiles.
@compute @workgroup_size(64)
fn attention_tiled_backward_kv(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let blk = block(wid, nwg, p.tk);
    if (blk.bh >= p.b * p.heads) {
        return;
    }
    let live = blk.first + lid < p.tk;
    let j = min(blk.first + lid, p.tk - 1u);
    let bi = blk.bh / p.heads;
    let h = blk.bh % p.heads;
    let xb = bi * p.tk * 3u * p.c;
    let k0 = xb + j * 3u * p.c + p.c + h * p.dk;
    let v0 = k0 + p.c;
    var kv: array<f32, 64>;
    var vv: array<f32, 64>;
    var dk: array<f32, 64>;
    var dv: array<f32, 64>;
    for (var e = 0u; e < p.dk; e++) {
        kv[e] = qkv[k0 + e];
        vv[e] = qkv[v0 + e];
        dk[e] = 0.0;
        dv[e] = 0.0;
    }
    let qt = min(64u, 1920u / p.dk);
    // The first query that can read the block's first key.
    let off = p.tk - p.tq;
    var start = 0u;
    if (blk.first > off) {
        start = blk.first - off;
    }
    for (var t0 = start; t0 < p.tq; t0 += qt) {
        let n = min(qt, p.tq - t0);
        for (var x = lid; x < n * p.dk; x += ROWS) {
            let qq = t0 + x / p.dk;
            let e = x % p.dk;
            q_tile[x] = qkv[xb + (off + qq) * 3u * p.c + h * p.dk + e];
            g_tile[x] = dout[(bi * p.tq + qq) * p.c + h * p.dk + e];
        }
        if (lid < n) {
            let go = (bi * p.tq + t0 + lid) * p.c + h * p.dk;
            var d = 0.0;
            for (var e = 0u; e < p.dk; e++) {
                d += dout[go + e] * out[go + e];
            }
            d_tile[lid] = d;
            if (p.lse == 1u) {
                l_tile[lid] = probs[blk.bh * p.tq + t0 + lid];
            }
        }
        workgroupBarrier();
        if (live) {
            for (var ii = 0u; ii < n; ii++) {
                let qi = t0 + ii;
                let i = off + qi;
                if (!allowed(i, j)) {
                    continue;
                }
                let at = (blk.bh * p.tq + qi) * p.tk;
                let t = ii * p.dk;
                let r = rel_row(i, j) * p.dk;
                var a = 0.0;
                if (p.lse == 1u) {
                    var s = 0.0;
                    for (var e = 0u; e < p.dk; e++) {
                        var k = kv[e];
                        if (p.rel_rows > 0u) {
                            k += wk[r + e];
                        }
                        s += q_tile[t + e] * k;
                    }
                    a = exp(s * p.scale - slope(h) * f32(i - j) - l_tile[ii]);
                } else {
                    a = probs[at + j];
                }
                if (a == 0.0) {
                    continue;
                }
                let m = kept(at + j);
                var da = 0.0;
                if (m != 0.0) {
                    for (var e = 0u; e < p.dk; e++) {
                        var v = vv[e];
                        if (p.rel_rows > 0u) {
                            v += wv[r + e];
                        }
                        da += g_tile[t + e] * v;
                    }
                }
                let ds = a * (da * m - d_tile[ii]) * p.scale;
                let dropped = a * m;
                for (var e = 0u; e < p.dk; e++) {
                    dk[e] += ds * q_tile[t + e];
                    dv[e] += dropped * g_tile[t + e];
                }
            }
        }
        workgroupBarrier();
    }
    if (!live) {
        return;
    }
    for (var e = 0u; e < p.dk; e++) {
        dqkv[k0 + e] = dqkv[k0 + e] + dk[e];
        dqkv[v0 + e] = dqkv[v0 + e] + dv[e];
    }
}
