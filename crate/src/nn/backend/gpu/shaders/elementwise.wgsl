// Broadcast add and multiply (NumPy rules, shapes right-aligned to 4 dims) and their gradients,
// a bias added to every row, scaling and axpy.

// Flat index of a 4-d index in a tensor of dims d, reading dims of size 1 at 0 (broadcast).
fn at4(idx: vec4<u32>, d: vec4<u32>) -> u32 {
    let j = select(idx, vec4<u32>(0u), d == vec4<u32>(1u));
    return ((j.x * d.y + j.y) * d.z + j.z) * d.w + j.w;
}
fn unflat(i: u32, d: vec4<u32>) -> vec4<u32> {
    return vec4<u32>(i / (d.y * d.z * d.w), (i / (d.z * d.w)) % d.y, (i / d.w) % d.z, i % d.w);
}

// @entry binary
struct P { mul: u32, n: u32, o0: u32, o1: u32, o2: u32, o3: u32, a0: u32, a1: u32, a2: u32, a3: u32, b0: u32, b1: u32, b2: u32, b3: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;

@compute @workgroup_size(256)
fn binary(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat(wid, nwg, lid, WG);
    if (i >= p.n) {
        return;
    }
    let idx = unflat(i, vec4<u32>(p.o0, p.o1, p.o2, p.o3));
    let x = a[at4(idx, vec4<u32>(p.a0, p.a1, p.a2, p.a3))];
    let y = b[at4(idx, vec4<u32>(p.b0, p.b1, p.b2, p.b3))];
    out[i] = select(x + y, x * y, p.mul == 1u);
}

// @entry binary_grad
// dx[ix] += Σ over the output positions that read ix of dout (· the other operand y for mul), in
// output order: a thread per element of x, looping over x's broadcast axes.
struct P { mul: u32, n: u32, o0: u32, o1: u32, o2: u32, o3: u32, x0: u32, x1: u32, x2: u32, x3: u32, y0: u32, y1: u32, y2: u32, y3: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;
@group(0) @binding(2) var<storage, read> dout: array<f32>;
@group(0) @binding(3) var<storage, read> y: array<f32>;

@compute @workgroup_size(256)
fn binary_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat(wid, nwg, lid, WG);
    if (i >= p.n) {
        return;
    }
    let od = vec4<u32>(p.o0, p.o1, p.o2, p.o3);
    let xd = vec4<u32>(p.x0, p.x1, p.x2, p.x3);
    let yd = vec4<u32>(p.y0, p.y1, p.y2, p.y3);
    let xi = unflat(i, xd);
    // The repeated axes: size 1 in x, larger in the output.
    let rep = select(vec4<u32>(1u), od, (xd == vec4<u32>(1u)) & (od != vec4<u32>(1u)));
    let total = rep.x * rep.y * rep.z * rep.w;
    var acc = 0.0;
    for (var r = 0u; r < total; r++) {
        let ri = unflat(r, rep);
        let oi = select(xi, ri, rep != vec4<u32>(1u));
        let g = dout[at4(oi, od)];
        if (p.mul == 1u) {
            acc += g * y[at4(oi, yd)];
        } else {
            acc += g;
        }
    }
    dx[i] = dx[i] + acc;
}

// @entry add_rows
struct P { n: u32, cols: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;

@compute @workgroup_size(256)
fn add_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat(wid, nwg, lid, WG);
    if (i < p.n) {
        x[i] = x[i] + bias[i % p.cols];
    }
}

// @entry scale
struct P { n: u32, s: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;

@compute @workgroup_size(256)
fn scale(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat(wid, nwg, lid, WG);
    if (i < p.n) {
        x[i] = p.s * x[i];
    }
}

// @entry axpy
struct P { n: u32, s: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;

@compute @workgroup_size(256)
fn axpy(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat(wid, nwg, lid, WG);
    if (i < p.n) {
        y[i] = y[i] + p.s * x[i];
    }
}
