// The prelude of every kernel (gpu/kernels.rs puts it first in each module).

const WG: u32 = 256u;
const ROW_WG: u32 = 64u;

// Workgroups are laid out as (x, y) with x ≤ 65,535 (gpu/mod.rs `grid`): back to one index.
fn group_index(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.y * nwg.x + wid.x;
}
fn flat(wid: vec3<u32>, nwg: vec3<u32>, lid: u32, size: u32) -> u32 {
    return group_index(wid, nwg) * size + lid;
}

// NaN or ±∞, by the exponent bits: WGSL lets a compiler assume floats are finite, so `x != x`
// could be folded away.
fn is_nonfinite(x: f32) -> bool {
    return (bitcast<u32>(x) & 0x7f800000u) == 0x7f800000u;
}
// The start of a running maximum: the lowest finite f32 (a constant −∞ is rejected by Tint, which
// evaluates constant expressions and refuses non-finite ones).
fn neg_inf() -> f32 {
    return -3.4028234e38;
}
fn is_neg_inf(x: f32) -> bool {
    return bitcast<u32>(x) == 0xff800000u;
}

// tanh without overflow for large |x| (some drivers' builtin returns NaN there).
fn tanh_(x: f32) -> f32 {
    let e = exp(-2.0 * abs(x));
    let t = (1.0 - e) / (1.0 + e);
    return select(-t, t, x >= 0.0);
}
fn sigmoid(x: f32) -> f32 {
    return 1.0 / (1.0 + exp(-x));
}

// nn/ops/dropout.rs: Chris Wellons' lowbias32, and element i's mask value.
fn hash32(x0: u32) -> u32 {
    var x = x0;
    x ^= x >> 16u;
    x *= 0x7feb352du;
    x ^= x >> 15u;
    x *= 0x846ca68bu;
    x ^= x >> 16u;
    return x;
}
fn dropout_at(seed: u32, i: u32, threshold: u32, keep: f32) -> f32 {
    let u = hash32(seed ^ hash32(i)) >> 8u;
    return select(0.0, keep, u >= threshold);
}

// Workgroup reductions for the row kernels (ROW_WG threads, uniform control flow).
var<workgroup> red: array<f32, 64>;
fn reduce_sum(v: f32, lid: u32) -> f32 {
    red[lid] = v;
    workgroupBarrier();
    for (var s = 32u; s > 0u; s >>= 1u) {
        if (lid < s) {
            red[lid] += red[lid + s];
        }
        workgroupBarrier();
    }
    let r = red[0];
    workgroupBarrier();
    return r;
}
fn reduce_max(v: f32, lid: u32) -> f32 {
    red[lid] = v;
    workgroupBarrier();
    for (var s = 32u; s > 0u; s >>= 1u) {
        if (lid < s) {
            red[lid] = max(red[lid], red[lid + s]);
        }
        workgroupBarrier();
    }
    let r = red[0];
    workgroupBarrier();
    return r;
}
