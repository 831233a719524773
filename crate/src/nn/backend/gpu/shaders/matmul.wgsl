// out = op(A)·op(B) (or += with acc), batched over workgroup_id.z: A [m×k] (or [k×m] with ta),
// B [k×n] (or [n×k] with tb). A 64×64 tile of out per workgroup of 16×16 threads, each thread a
// 4×4 register tile (rows ty + 16i, columns tx + 16j); K in steps of 16 through workgroup memory,
// loaded so that neighbouring threads read neighbouring addresses in either orientation. Ragged
// edges load zeros and store nothing.

// @entry matmul
struct P { m: u32, n: u32, k: u32, ta: u32, tb: u32, acc: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;

const TM: u32 = 64u;
const TN: u32 = 64u;
const TK: u32 = 16u;
var<workgroup> As: array<f32, 1024>; // [TK][TM]
var<workgroup> Bs: array<f32, 1024>; // [TK][TN]

fn load_a(base: u32, row: u32, kk: u32) -> f32 {
    if (row >= p.m || kk >= p.k) {
        return 0.0;
    }
    if (p.ta == 1u) {
        return a[base + kk * p.m + row];
    }
    return a[base + row * p.k + kk];
}

fn load_b(base: u32, kk: u32, col: u32) -> f32 {
    if (col >= p.n || kk >= p.k) {
        return 0.0;
    }
    if (p.tb == 1u) {
        return b[base + col * p.k + kk];
    }
    return b[base + kk * p.n + col];
}

@compute @workgroup_size(16, 16)
fn matmul(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let batch = wid.z;
    let row0 = wid.y * TM;
    let col0 = wid.x * TN;
    let tx = lid3.x;
    let ty = lid3.y;
    let abase = batch * p.m * p.k;
    let bbase = batch * p.k * p.n;
    var acc: array<f32, 16>;
    for (var t = 0u; t < p.k; t += TK) {
        for (var e = 0u; e < 4u; e++) {
            let idx = li + e * 256u;
            // A's contiguous direction is k (row-major) or m (transposed).
            var kk = idx % TK;
            var mm = idx / TK;
            if (p.ta == 1u) {
                kk = idx / TM;
                mm = idx % TM;
            }
            As[kk * TM + mm] = load_a(abase, row0 + mm, t + kk);
            var kb = idx / TN;
            var nn = idx % TN;
            if (p.tb == 1u) {
                kb = idx % TK;
                nn = idx / TK;
            }
            Bs[kb * TN + nn] = load_b(bbase, t + kb, col0 + nn);
        }
        workgroupBarrier();
        for (var kk = 0u; kk < TK; kk++) {
            var av: array<f32, 4>;
            var bv: array<f32, 4>;
            for (var i = 0u; i < 4u; i++) {
                av[i] = As[kk * TM + ty + 16u * i];
                bv[i] = Bs[kk * TN + tx + 16u * i];
            }
            for (var i = 0u; i < 4u; i++) {
                for (var j = 0u; j < 4u; j++) {
                    acc[i * 4u + j] += av[i] * bv[j];
                }
            }
        }
        workgroupBarrier();
    }
    let obase = batch * p.m * p.n;
    for (var i = 0u; i < 4u; i++) {
        let r = row0 + ty + 16u * i;
        for (var j = 0u; j < 4u; j++) {
            let c = col0 + tx + 16u * j;
            if (r < p.m && c < p.n) {
                let o = obase + r * p.n + c;
                if (p.acc == 1u) {
                    out[o] = out[o] + acc[i * 4u + j];
                } else {
                    out[o] = acc[i * 4u + j];
                }
            }
        }
    }
}
