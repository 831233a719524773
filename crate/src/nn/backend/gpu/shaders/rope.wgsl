// Rotary position embedding of the q and k columns of a [B × T × 3C] qkv tensor (nn/ops/rope.rs),
// the first token of each row at position pos0. The (cos, sin) table [positions × d_k/2 × 2] is
// computed in f64 on the host once (gpu/mod.rs `rope_table`): f32 angles m·θ lose precision at
// long positions.

struct P { n: u32, t: u32, c: u32, dk: u32, pos0: u32 }
@group(0) @binding(0) var<uniform> p: P;

fn cos_sin(r: u32, col: u32) -> vec2<f32> {
    let m = p.pos0 + r % p.t;
    let pair = (col % p.dk) / 2u;
    let at = (m * (p.dk / 2u) + pair) * 2u;
    return vec2<f32>(table[at], table[at + 1u]);
}

// @entry rope
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> table: array<f32>;

@compute @workgroup_size(256)
fn rope(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat(wid, nwg, lid, WG);
    if (i >= p.n) {
        return;
    }
    let row = 3u * p.c;
    let col = i % row;
    if (col >= 2u * p.c) {
        out[i] = x[i];
        return;
    }
    let cs = cos_sin(i / row, col);
    if (col % 2u == 0u) {
        out[i] = x[i] * cs.x - x[i + 1u] * cs.y;
    } else {
        out[i] = x[i - 1u] * cs.y + x[i] * cs.x;
    }
}

// @entry rope_backward
// dx += the inverse rotation of dout (v columns: dx += dout).
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;
@group(0) @binding(2) var<storage, read> dout: array<f32>;
@group(0) @binding(3) var<storage, read> table: array<f32>;

@compute @workgroup_size(256)
fn rope_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = flat(wid, nwg, lid, WG);
    if (i >= p.n) {
        return;
    }
    let row = 3u * p.c;
    let col = i % row;
    if (col >= 2u * p.c) {
        dx[i] = dx[i] + dout[i];
        return;
    }
    let cs = cos_sin(i / row, col);
    if (col % 2u == 0u) {
        dx[i] = dx[i] + dout[i] * cs.x + dout[i + 1u] * cs.y;
    } else {
        dx[i] = dx[i] - dout[i - 1u] * cs.y + dout[i] * cs.x;
    }
}
