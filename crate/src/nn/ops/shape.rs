//! Concatenation and slicing along an axis, and transposition of the last two dimensions.
//! Reshape needs no op: buffers are flat and row-major, so a reshape only changes the shape you read
//! them with (e.g. the fixed-window model reads [B·n × d] gathered embeddings as [B × n·d]).
//!
//! An axis is described by `outer` (product of the dimensions before it) and each part's `inner`
//! (its size along the axis times the product of the dimensions after it).

use super::Float;

/// out = concat(parts) along the axis: out[o] = part₀[o] ‖ part₁[o] ‖ …  for each of the `outer` blocks.
pub fn concat_forward<F: Float>(out: &mut [F], parts: &[&[F]], outer: usize) {
    let total: usize = parts.iter().map(|p| p.len() / outer).sum();
    let mut off = 0;
    for p in parts {
        concat_part_forward(out, p, outer, total, off);
        off += p.len() / outer;
    }
}

/// One part of a concatenation: out[:, start .. start+inner] = part, where `total` is out's inner
/// size and inner = len(part)/outer. Calling it for each part in turn is `concat_forward` without
/// gathering the parts first (a backend copies straight from each part's buffer).
pub fn concat_part_forward<F: Float>(out: &mut [F], part: &[F], outer: usize, total: usize, start: usize) {
    let inner = part.len() / outer;
    for o in 0..outer {
        out[o * total + start..o * total + start + inner].copy_from_slice(&part[o * inner..(o + 1) * inner]);
    }
}

/// dparts[i] += the slice of dout that came from part i.
pub fn concat_backward<F: Float>(dparts: &mut [&mut [F]], dout: &[F], outer: usize) {
    let total = dout.len() / outer;
    let mut off = 0;
    for p in dparts.iter_mut() {
        let inner = p.len() / outer;
        for o in 0..outer {
            let src = &dout[o * total + off..o * total + off + inner];
            p[o * inner..(o + 1) * inner].iter_mut().zip(src).for_each(|(d, &g)| *d = *d + g);
        }
        off += inner;
    }
}

/// out = x[:, start .. start+len, ...] along the axis; `total` is x's inner size, out's is `len`.
pub fn slice_forward<F: Float>(out: &mut [F], x: &[F], outer: usize, total: usize, start: usize, len: usize) {
    for o in 0..outer {
        out[o * len..(o + 1) * len].copy_from_slice(&x[o * total + start..o * total + start + len]);
    }
}

/// dx[:, start..start+len] += dout
pub fn slice_backward<F: Float>(dx: &mut [F], dout: &[F], outer: usize, total: usize, start: usize, len: usize) {
    for o in 0..outer {
        let d = &mut dx[o * total + start..o * total + start + len];
        d.iter_mut().zip(&dout[o * len..(o + 1) * len]).for_each(|(d, &g)| *d = *d + g);
    }
}

/// out[b] = x[b]ᵀ: [batch × rows × cols] → [batch × cols × rows] (e.g. splitting heads).
pub fn transpose_forward<F: Float>(out: &mut [F], x: &[F], rows: usize, cols: usize) {
    for (o, x) in out.chunks_exact_mut(rows * cols).zip(x.chunks_exact(rows * cols)) {
        for i in 0..rows {
            for j in 0..cols {
                o[j * rows + i] = x[i * cols + j];
            }
        }
    }
}

/// dx[b] += dout[b]ᵀ
pub fn transpose_backward<F: Float>(dx: &mut [F], dout: &[F], rows: usize, cols: usize) {
    for (d, g) in dx.chunks_exact_mut(rows * cols).zip(dout.chunks_exact(rows * cols)) {
        for i in 0..rows {
            for j in 0..cols {
                d[i * cols + j] = d[i * cols + j] + g[j * rows + i];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use super::*;
    use crate::nn::ops::gradcheck::{check, rand, weighted, Grad};
    use crate::rng::Rng;

    #[test]
    fn values_and_backward() {
        // concat [[1,2],[3,4]] and [[5],[6]] along the last axis.
        let mut out = [0.0; 6];
        concat_forward(&mut out, &[&[1.0, 2.0, 3.0, 4.0], &[5.0, 6.0]], 2);
        assert_eq!(out, [1.0, 2.0, 5.0, 3.0, 4.0, 6.0]);
        let mut s = [0.0; 2];
        slice_forward(&mut s, &out, 2, 3, 2, 1);
        assert_eq!(s, [5.0, 6.0]);
        let mut t = [0.0; 6];
        transpose_forward(&mut t, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, 3);
        assert_eq!(t, [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);

        let mut rng = Rng::new(10);
        let (a, b) = (rand(&mut rng, 6), rand(&mut rng, 4));
        let w = rand(&mut rng, 10);
        let (mut da, mut db) = (Grad::random(&mut rng, 6), Grad::random(&mut rng, 4));
        concat_backward(&mut [&mut da[..], &mut db[..]], &w, 2);
        let cat = |a: &[f64], b: &[f64]| {
            let mut o = vec![0.0; 10];
            concat_forward(&mut o, &[a, b], 2);
            weighted(&w, &o)
        };
        check("concat a", &a, &da, |x| cat(x, &b));
        check("concat b", &b, &db, |x| cat(&a, x));

        let x = rand(&mut rng, 12);
        let w = rand(&mut rng, 4);
        let mut dx = Grad::random(&mut rng, 12);
        slice_backward(&mut dx, &w, 2, 6, 3, 2);
        check("slice", &x, &dx, |x| {
            let mut o = vec![0.0; 4];
            slice_forward(&mut o, x, 2, 6, 3, 2);
            weighted(&w, &o)
        });
        let w = rand(&mut rng, 12);
        let mut dx = Grad::random(&mut rng, 12);
        transpose_backward(&mut dx, &w, 3, 2);
        check("transpose", &x, &dx, |x| {
            let mut o = vec![0.0; 12];
            transpose_forward(&mut o, x, 3, 2);
            weighted(&w, &o)
        });
    }
}
