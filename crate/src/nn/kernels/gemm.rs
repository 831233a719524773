//! The packed, register-blocked sgemm driver (the BLIS / GotoBLAS loop nest), shared by the portable
//! and the simd128 flavours; they differ only in the [`MicroKernel`].
//!
//! ```text
//! for jc in n by NC:             B block  [KC × NC] packed into NR-wide column panels  (stays in L2)
//!   for pc in k by KC:
//!     pack B[pc.., jc..]
//!     for ic in m by MC:         A block  [MC × KC] packed into MR-tall row panels    (stays in L2)
//!       pack A[ic.., pc..]
//!       for each NR panel of B, each MR panel of A:
//!         micro-kernel: an MR × NR tile of C in registers, KC rank-1 updates   (panels in L1)
//! ```
//! Packing reads A and B through their strides, so transposed operands cost nothing extra, and pads
//! ragged edges with zeros, so the micro-kernel only ever sees full tiles; edge tiles of C go through a
//! small buffer on the stack. C rows are independent: a caller may split m into row blocks (see
//! `sgemm_rows`).
//!
//! The packed blocks live in caller-owned scratch ([`GemmScratch`], [`SCRATCH_FLOATS`] floats, allocated
//! once), so a call allocates nothing.

use super::{GemmScratch, MatRef, PackedB};

/// Depth of a packed panel: KC·(MR + NR) floats stay in L1 while a tile is computed.
pub const KC: usize = 256;
/// Rows of A packed at once (an L2-sized block).
pub const MC: usize = 96;
/// Columns of B packed at once.
pub const NC: usize = 2048;
/// Floats of packing scratch a call needs at most: a KC × NC block of B and an MC × KC block of A
/// (NC and MC are multiples of every micro-kernel's NR and MR, so padding never exceeds them).
pub const SCRATCH_FLOATS: usize = KC * (MC + NC);
/// The largest MR × NR tile a micro-kernel may use (the edge buffer is this size, on the stack).
const MAX_TILE: usize = 64;

/// Computes an MR × NR tile: `c[i*ldc + j] (+)= Σ_p a[i*ars + p*acs] · b[p*NR + j]` for p < kc.
/// `b` is a B panel (kc rows of NR values); `a` is an A panel (kc columns of MR values: ars = 1,
/// acs = MR) or, for a row-major A read in place, MR rows of A (ars = the row stride, acs = 1).
pub trait MicroKernel {
    const MR: usize;
    const NR: usize;
    /// # Safety
    /// `a` holds the MR × kc values at the strides, `b` kc·NR floats, and `c` an MR × NR tile with
    /// row stride `ldc`.
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile(kc: usize, a: *const f32, ars: usize, acs: usize, b: *const f32, c: *mut f32, ldc: usize, accumulate: bool);
}

/// Panels packed side by side: a group's runs of one row (B) or column (A) are adjacent in the
/// source, so they are read as one run, while GROUP output streams stay few enough for L1's ways
/// (the panels lie a power-of-two stride apart, so they share cache sets).
const GROUP: usize = 8;

/// `dst.copy_from_slice(src)` for a panel's short run: at the tile widths (4, 8) a fixed-size copy,
/// which compiles to vector loads and stores, where a slice copy of a runtime length is a call
/// (wasm's `memory.copy`, costly at 16–32 bytes).
#[inline(always)]
fn copy_run(dst: &mut [f32], src: &[f32]) {
    match dst.len() {
        8 => *<&mut [f32; 8]>::try_from(dst).unwrap() = *<&[f32; 8]>::try_from(src).unwrap(),
        4 => *<&mut [f32; 4]>::try_from(dst).unwrap() = *<&[f32; 4]>::try_from(src).unwrap(),
        _ => dst.copy_from_slice(src),
    }
}

/// The packing both operands share where a panel's line is contiguous in the source (B row-major:
/// a row; A transposed: a column). Source line l is `data[first + l·step ..][..len]`; it is cut into
/// panels of `w` values, panel q stored as `[line][w]` at q·lines·w, the last one zero-padded. The
/// full panels go GROUP at a time, line by line across the group, so each line is read as one run of
/// GROUP·w floats (panel by panel, the reads would stride through the source once per panel).
fn pack_runs(dst: &mut [f32], data: &[f32], first: usize, step: usize, lines: usize, len: usize, w: usize) {
    let full = len / w;
    for g0 in (0..full).step_by(GROUP) {
        let g1 = (g0 + GROUP).min(full);
        for l in 0..lines {
            let start = first + l * step;
            let line = &data[start + g0 * w..start + g1 * w];
            for (q, run) in (g0..g1).zip(line.chunks_exact(w)) {
                copy_run(&mut dst[q * lines * w + l * w..][..w], run);
            }
        }
    }
    let rest = len - full * w;
    if rest > 0 {
        let panel = &mut dst[full * lines * w..(full + 1) * lines * w];
        for (l, out) in panel.chunks_exact_mut(w).enumerate() {
            let start = first + l * step + full * w;
            out[..rest].copy_from_slice(&data[start..start + rest]);
            out[rest..].fill(0.0);
        }
    }
}

/// Packs `rows × cols` of `src` starting at (r0, c0) into MR-row panels: panel q holds rows
/// q·MR.. as `[col][MR]`, zero-padded to a multiple of MR rows. A transposed A (unit row stride: a
/// panel column is contiguous) is copied column by column, a row-major one row by row.
fn pack_a(dst: &mut [f32], src: MatRef, r0: usize, rows: usize, c0: usize, cols: usize, mr: usize) {
    if src.rs == 1 {
        // A transposed: column p of a panel is a contiguous run of MR (column p + c0 of A from row r0).
        pack_runs(dst, src.data, c0 * src.cs + r0, src.cs, cols, rows, mr);
        return;
    }
    for (q, panel) in dst.chunks_exact_mut(cols * mr).take(rows.div_ceil(mr)).enumerate() {
        let i0 = q * mr;
        let h = mr.min(rows - i0);
        if src.cs == 1 {
            for i in 0..h {
                let start = (r0 + i0 + i) * src.rs + c0;
                for (out, &v) in panel.chunks_exact_mut(mr).zip(&src.data[start..start + cols]) {
                    out[i] = v;
                }
            }
            if h < mr {
                panel.chunks_exact_mut(mr).for_each(|out| out[h..].fill(0.0));
            }
        } else {
            for p in 0..cols {
                let out = &mut panel[p * mr..(p + 1) * mr];
                for (i, o) in out.iter_mut().enumerate() {
                    *o = if i < h { src.at(r0 + i0 + i, c0 + p) } else { 0.0 };
                }
            }
        }
    }
}

/// Packs `rows × cols` of `src` at (r0, c0) into NR-column panels: panel q holds columns q·NR.. as
/// `[row][NR]`, zero-padded to a multiple of NR columns. A row-major B is copied row by row; a
/// transposed one (unit row stride: a panel column is contiguous, e.g. Wᵀ in dX = dY·Wᵀ, Kᵀ in the
/// attention scores) column by column, one bounds check per column.
fn pack_b(dst: &mut [f32], src: MatRef, r0: usize, rows: usize, c0: usize, cols: usize, nr: usize) {
    if src.cs == 1 {
        // B row-major: row p of a panel is a contiguous run of NR (row p + r0 of B from column c0).
        pack_runs(dst, src.data, r0 * src.rs + c0, src.rs, rows, cols, nr);
        return;
    }
    for (q, panel) in dst.chunks_exact_mut(rows * nr).take(cols.div_ceil(nr)).enumerate() {
        let j0 = q * nr;
        let w = nr.min(cols - j0);
        if src.rs == 1 {
            for j in 0..w {
                let start = (c0 + j0 + j) * src.cs + r0;
                for (out, &v) in panel.chunks_exact_mut(nr).zip(&src.data[start..start + rows]) {
                    out[j] = v;
                }
            }
            if w < nr {
                panel.chunks_exact_mut(nr).for_each(|out| out[w..].fill(0.0));
            }
        } else {
            for p in 0..rows {
                let out = &mut panel[p * nr..(p + 1) * nr];
                for (j, o) in out.iter_mut().enumerate() {
                    *o = if j < w { src.at(r0 + p, c0 + j0 + j) } else { 0.0 };
                }
            }
        }
    }
}

/// Floats of a k × n matrix packed whole ([`pack_b_whole`]) for NR-wide panels.
pub fn packed_b_floats(k: usize, n: usize, nr: usize) -> usize {
    n.div_ceil(nr) * nr * k
}

/// Where block (jc, pc) of a B packed whole starts: the jc blocks before it are full (NC columns, a
/// multiple of NR, times k), and within its jc block each KC-deep block is nc rounded up to NR wide.
fn block_offset(k: usize, jc: usize, nc: usize, pc: usize, nr: usize) -> usize {
    jc * k + nc.div_ceil(nr) * nr * pc
}

/// Packs all of B (k × n) at once, block by block in the order the loop nest reads them, so a B used
/// by many products (a recurrent weight, once per time step) is packed once: [`sgemm_packed`].
pub fn pack_b_whole(k: usize, n: usize, b: MatRef, dst: &mut [f32], nr: usize) {
    assert!(dst.len() >= packed_b_floats(k, n, nr), "packed B buffer is too small");
    if k == 0 || n == 0 {
        return;
    }
    assert!(b.data.len() > (k - 1) * b.rs + (n - 1) * b.cs, "B is too small");
    for jc in (0..n).step_by(NC) {
        let nc = NC.min(n - jc);
        for pc in (0..k).step_by(KC) {
            pack_b(&mut dst[block_offset(k, jc, nc, pc, nr)..], b, pc, KC.min(k - pc), jc, nc, nr);
        }
    }
}

/// B as the driver gets it: a matrix it packs block by block into the scratch, or packed whole.
#[derive(Clone, Copy)]
enum BSource<'a> {
    Matrix(MatRef<'a>),
    Packed(PackedB<'a>),
}

/// C[m×n] (+)= A[m×k]·B[k×n] with micro-kernel `K`, packing into `scratch`.
#[allow(clippy::too_many_arguments)]
pub fn sgemm<K: MicroKernel>(m: usize, n: usize, k: usize, a: MatRef, b: MatRef, c: &mut [f32], ldc: usize, accumulate: bool, scratch: &mut GemmScratch) {
    if m > 0 && n > 0 && k > 0 {
        assert!(b.data.len() > (k - 1) * b.rs + (n - 1) * b.cs, "B is too small");
    }
    drive::<K>(m, n, k, a, BSource::Matrix(b), c, ldc, accumulate, scratch)
}

/// The same product with B packed beforehand by [`pack_b_whole`] (same NR), reading its top-left
/// k × n: bit-identical to [`sgemm`] on that corner, without packing B.
#[allow(clippy::too_many_arguments)]
pub fn sgemm_packed<K: MicroKernel>(m: usize, n: usize, k: usize, a: MatRef, bp: PackedB, c: &mut [f32], ldc: usize, accumulate: bool, scratch: &mut GemmScratch) {
    assert!(k <= bp.k && n <= bp.n, "the product reads {k} × {n} of a packed {} × {}", bp.k, bp.n);
    assert!(bp.data.len() >= packed_b_floats(bp.k, bp.n, K::NR), "packed B is too small");
    drive::<K>(m, n, k, a, BSource::Packed(bp), c, ldc, accumulate, scratch)
}

#[allow(clippy::too_many_arguments)]
fn drive<K: MicroKernel>(m: usize, n: usize, k: usize, a: MatRef, b: BSource, c: &mut [f32], ldc: usize, accumulate: bool, scratch: &mut GemmScratch) {
    if m == 0 || n == 0 {
        return;
    }
    assert!(c.len() >= (m - 1) * ldc + n, "C is too small");
    if k == 0 {
        if !accumulate {
            (0..m).for_each(|i| c[i * ldc..i * ldc + n].fill(0.0));
        }
        return;
    }
    // The largest element A reads, checked once so the packing loops can index freely (B: by the caller).
    assert!(a.data.len() > (m - 1) * a.rs + (k - 1) * a.cs, "A is too small");
    let (mr, nr) = (K::MR, K::NR);
    assert!(mr * nr <= MAX_TILE && NC.is_multiple_of(nr) && MC.is_multiple_of(mr), "micro-kernel tile {mr}×{nr} does not fit the blocking");
    let (bpack, apack) = scratch.buf.split_at_mut(KC * NC);
    let apack = &mut apack[..KC * MC];
    let mut edge = [0.0f32; MAX_TILE];
    for jc in (0..n).step_by(NC) {
        let nc = NC.min(n - jc);
        for pc in (0..k).step_by(KC) {
            let kc = KC.min(k - pc);
            let acc = accumulate || pc > 0;
            let bblock: &[f32] = match b {
                BSource::Matrix(bm) => {
                    pack_b(bpack, bm, pc, kc, jc, nc, nr);
                    bpack
                }
                // Blocks and panels where the whole packed matrix put them (its own depth and width).
                BSource::Packed(p) => &p.data[block_offset(p.k, jc, NC.min(p.n - jc), pc, nr)..],
            };
            // A panel's stride in the block: its depth as packed (a packed B may be deeper than k).
            let stride = match b {
                BSource::Matrix(_) => kc,
                BSource::Packed(p) => KC.min(p.k - pc),
            };
            for ic in (0..m).step_by(MC) {
                let mc = MC.min(m - ic);
                // A row-major A is read in place (the micro-kernel broadcasts single values either way);
                // only a ragged last row panel is packed (zero-padded). Other strides are packed.
                let direct = a.cs == 1;
                let full = if direct { mc / mr * mr } else { 0 };
                if full < mc {
                    pack_a(apack, a, ic + full, mc - full, pc, kc, mr);
                }
                for jr in (0..nc).step_by(nr) {
                    let w = nr.min(nc - jr);
                    let bp = bblock[jr * stride..jr * stride + nr * kc].as_ptr();
                    for ir in (0..mc).step_by(mr) {
                        let h = mr.min(mc - ir);
                        let (ap, ars, acs) = if ir < full {
                            (a.data[(ic + ir) * a.rs + pc..].as_ptr(), a.rs, 1)
                        } else {
                            (apack[(ir - full) * kc..].as_ptr(), 1, mr)
                        };
                        let c0 = (ic + ir) * ldc + jc + jr;
                        // SAFETY: the panels hold kc·MR and kc·NR floats (packed above), or the MR rows
                        // of A in place lie inside it (size check); a full tile lies inside C by the
                        // size check; an edge tile goes through `edge` (MR × NR).
                        unsafe {
                            if h == mr && w == nr {
                                // Two call sites, so each inlined tile sees its A strides as constants
                                // where they are (1 in place, 1 and MR packed): fewer live registers in
                                // the k loop, which V8 would otherwise spill.
                                if ir < full {
                                    K::tile(kc, ap, ars, 1, bp, c.as_mut_ptr().add(c0), ldc, acc);
                                } else {
                                    K::tile(kc, ap, 1, mr, bp, c.as_mut_ptr().add(c0), ldc, acc);
                                }
                            } else {
                                if acc {
                                    for i in 0..h {
                                        edge[i * nr..i * nr + w].copy_from_slice(&c[c0 + i * ldc..c0 + i * ldc + w]);
                                    }
                                }
                                K::tile(kc, ap, ars, acs, bp, edge.as_mut_ptr(), nr, acc);
                                for i in 0..h {
                                    c[c0 + i * ldc..c0 + i * ldc + w].copy_from_slice(&edge[i * nr..i * nr + w]);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
