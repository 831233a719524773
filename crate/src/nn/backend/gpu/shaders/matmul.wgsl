// out = op(A)·op(B) (or += with acc), batched over workgroup_id.z: A [m×k] (or [k×m] with ta),
// B [k×n] (or [n×k] with tb). A 64×64 tile of out per workgroup of 16×16 threads, each thread a
// 4×4 register tile (rows ty + 16i, columns tx + 16j); K in steps of 16 through workgroup memory,
// loaded so that neighbouring threads read neighbouring addresses in either orientation. Ragged
// edges load zeros and store nothing.
//
// Split-K (`split` = 1, one matrix): workgroup z takes K's slice [z·kslice, (z+1)·kslice) and writes
// its partial product to slot z of a scratch [S × m × n]; `splitk_reduce` then sums the slots in
// order (deterministic, no atomics). It keeps a GPU busy when m·n is a few tiles and K is long: a
// weight gradient [128 × 128] summed over B·T = 2,048 rows is 4 tiles.

struct P { m: u32, n: u32, k: u32, ta: u32, tb: u32, acc: u32, split: u32, kslice: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

const TM: u32 = 64u;
const TN: u32 = 64u;
const TK: u32 = 16u;
var<workgroup> As: array<f32, 1024>; // [TK][TM]
var<workgroup> Bs: array<f32, 1024>; // [TK][TN]

// What workgroup z computes: (A's and B's offsets, out's offset, K's range).
struct Job { abase: u32, bbase: u32, obase: u32, k0: u32, k1: u32 }
fn job(z: u32) -> Job {
    if (p.split == 1u) {
        return Job(0u, 0u, z * p.m * p.n, z * p.kslice, min(p.k, (z + 1u) * p.kslice));
    }
    return Job(z * p.m * p.k, z * p.k * p.n, z * p.m * p.n, 0u, p.k);
}

// acc += As·Bs over one K step, for this thread's 4×4 tile.
fn tile_fma(acc: ptr<function, array<f32, 16>>, tx: u32, ty: u32) {
    for (var kk = 0u; kk < TK; kk++) {
        var av: array<f32, 4>;
        var bv: array<f32, 4>;
        for (var i = 0u; i < 4u; i++) {
            av[i] = As[kk * TM + ty + 16u * i];
            bv[i] = Bs[kk * TN + tx + 16u * i];
        }
        for (var i = 0u; i < 4u; i++) {
            for (var j = 0u; j < 4u; j++) {
                (*acc)[i * 4u + j] += av[i] * bv[j];
            }
        }
    }
}

fn store(acc: ptr<function, array<f32, 16>>, obase: u32, row0: u32, col0: u32, tx: u32, ty: u32) {
    for (var i = 0u; i < 4u; i++) {
        let r = row0 + ty + 16u * i;
        for (var j = 0u; j < 4u; j++) {
            let c = col0 + tx + 16u * j;
            if (r < p.m && c < p.n) {
                let o = obase + r * p.n + c;
                if (p.acc == 1u && p.split == 0u) {
                    out[o] = out[o] + (*acc)[i * 4u + j];
                } else {
                    out[o] = (*acc)[i * 4u + j];
                }
            }
        }
    }
}

// @entry matmul
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;

fn load_a(base: u32, row: u32, kk: u32, k1: u32) -> f32 {
    if (row >= p.m || kk >= k1) {
        return 0.0;
    }
    if (p.ta == 1u) {
        return a[base + kk * p.m + row];
    }
    return a[base + row * p.k + kk];
}

fn load_b(base: u32, kk: u32, col: u32, k1: u32) -> f32 {
    if (col >= p.n || kk >= k1) {
        return 0.0;
    }
    if (p.tb == 1u) {
        return b[base + col * p.k + kk];
    }
    return b[base + kk * p.n + col];
}

@compute @workgroup_size(16, 16)
fn matmul(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let jb = job(wid.z);
    let row0 = wid.y * TM;
    let col0 = wid.x * TN;
    var acc: array<f32, 16>;
    for (var t = jb.k0; t < jb.k1; t += TK) {
        for (var e = 0u; e < 4u; e++) {
            let idx = li + e * 256u;
            // A's contiguous direction is k (row-major) or m (transposed).
            var kk = idx % TK;
            var mm = idx / TK;
            if (p.ta == 1u) {
                kk = idx / TM;
                mm = idx % TM;
            }
            As[kk * TM + mm] = load_a(jb.abase, row0 + mm, t + kk, jb.k1);
            var kb = idx / TN;
            var nn = idx % TN;
            if (p.tb == 1u) {
                kb = idx % TK;
                nn = idx / TK;
            }
            Bs[kb * TN + nn] = load_b(jb.bbase, t + kb, col0 + nn, jb.k1);
        }
        workgroupBarrier();
        tile_fma(&acc, lid3.x, lid3.y);
        workgroupBarrier();
    }
    store(&acc, jb.obase, row0, col0, lid3.x, lid3.y);
}

// @entry matmul_vec4
// The same with 16-byte loads, one per thread per matrix and K step, where both operands' contiguous
// dimension (k, or m / n when transposed) is a multiple of 4: a vec4 then never straddles a row's
// end or K's (slices are multiples of 16).
@group(0) @binding(2) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> b: array<vec4<f32>>;

@compute @workgroup_size(16, 16)
fn matmul_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let jb = job(wid.z);
    let row0 = wid.y * TM;
    let col0 = wid.x * TN;
    var acc: array<f32, 16>;
    for (var t = jb.k0; t < jb.k1; t += TK) {
        // A: 16 × 64 floats = 256 vec4s, one per thread.
        if (p.ta == 1u) {
            let kk = li / 16u; // [k × m]: 16 vec4s along m per k
            let mm = (li % 16u) * 4u;
            var v = vec4<f32>(0.0);
            if (t + kk < jb.k1 && row0 + mm < p.m) {
                v = a[(jb.abase + (t + kk) * p.m + row0 + mm) / 4u];
            }
            As[kk * TM + mm] = v.x;
            As[kk * TM + mm + 1u] = v.y;
            As[kk * TM + mm + 2u] = v.z;
            As[kk * TM + mm + 3u] = v.w;
        } else {
            let mm = li / 4u; // [m × k]: 4 vec4s along k per row
            let kk = (li % 4u) * 4u;
            var v = vec4<f32>(0.0);
            if (row0 + mm < p.m && t + kk < jb.k1) {
                v = a[(jb.abase + (row0 + mm) * p.k + t + kk) / 4u];
            }
            As[kk * TM + mm] = v.x;
            As[(kk + 1u) * TM + mm] = v.y;
            As[(kk + 2u) * TM + mm] = v.z;
            As[(kk + 3u) * TM + mm] = v.w;
        }
        if (p.tb == 1u) {
            let nn = li / 4u; // [n × k]
            let kk = (li % 4u) * 4u;
            var v = vec4<f32>(0.0);
            if (col0 + nn < p.n && t + kk < jb.k1) {
                v = b[(jb.bbase + (col0 + nn) * p.k + t + kk) / 4u];
            }
            Bs[kk * TN + nn] = v.x;
            Bs[(kk + 1u) * TN + nn] = v.y;
            Bs[(kk + 2u) * TN + nn] = v.z;
            Bs[(kk + 3u) * TN + nn] = v.w;
        } else {
            let kk = li / 16u; // [k × n]
            let nn = (li % 16u) * 4u;
            var v = vec4<f32>(0.0);
            if (t + kk < jb.k1 && col0 + nn < p.n) {
                v = b[(jb.bbase + (t + kk) * p.n + col0 + nn) / 4u];
            }
            Bs[kk * TN + nn] = v.x;
            Bs[kk * TN + nn + 1u] = v.y;
            Bs[kk * TN + nn + 2u] = v.z;
            Bs[kk * TN + nn + 3u] = v.w;
        }
        workgroupBarrier();
        tile_fma(&acc, lid3.x, lid3.y);
        workgroupBarrier();
    }
    store(&acc, jb.obase, row0, col0, lid3.x, lid3.y);
}

// @entry splitk_reduce
// out (+)= Σ_z part[z][i], z in order, for i < m·n (`split` holds the number of slices).
@group(0) @binding(2) var<storage, read> part: array<f32>;

@compute @workgroup_size(256)
fn splitk_reduce(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat(wid, nwg, lid, WG);
    let mn = p.m * p.n;
    if (i >= mn) {
        return;
    }
    var s = 0.0;
    for (var z = 0u; z < p.split; z++) {
        s += part[z * mn + i];
    }
    if (p.acc == 1u) {
        out[i] = out[i] + s;
    } else {
        out[i] = s;
    }
}
