//! Add and multiply with NumPy/PyTorch broadcasting, and scaling.
//! Shapes are aligned on the right; a dimension of size 1 (or a missing one) is repeated.
//! The backward of a broadcast input sums the output gradient over the repeated positions.

use super::Float;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Binary {
    Add,
    Mul,
}

/// Dimension `i` of the rank-`r` broadcast of `a` and `b`, or `None` if they are incompatible there.
fn broadcast_dim(a: &[usize], b: &[usize], r: usize, i: usize) -> Option<usize> {
    let da = if i + a.len() >= r { a[i + a.len() - r] } else { 1 };
    let db = if i + b.len() >= r { b[i + b.len() - r] } else { 1 };
    match (da, db) {
        (x, y) if x == y => Some(x),
        (1, y) => Some(y),
        (x, 1) => Some(x),
        _ => None,
    }
}

/// The broadcast shape of `a` and `b`, or `None` if they are incompatible.
pub fn broadcast_shape(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let r = a.len().max(b.len());
    (0..r).map(|i| broadcast_dim(a, b, r, i)).collect()
}

/// The most dimensions a broadcast op takes (tensors have at most 4); the index arithmetic lives in
/// fixed arrays of this size, so a broadcast op allocates nothing.
const MAX_RANK: usize = 8;

/// The broadcast shape of `a` and `b` in a fixed array, and its rank (panics if they do not broadcast).
fn broadcast_dims(a: &[usize], b: &[usize]) -> ([usize; MAX_RANK], usize) {
    let r = a.len().max(b.len());
    assert!(r <= MAX_RANK, "at most {MAX_RANK} dimensions");
    let mut out = [1; MAX_RANK];
    for (i, o) in out.iter_mut().enumerate().take(r) {
        *o = broadcast_dim(a, b, r, i).unwrap_or_else(|| panic!("shapes {a:?} and {b:?} do not broadcast"));
    }
    (out, r)
}

/// Strides of `shape` seen through the broadcast shape `out` (0 on repeated dimensions).
fn strides_in(shape: &[usize], out: &[usize]) -> [usize; MAX_RANK] {
    let r = out.len();
    let mut strides = [0; MAX_RANK];
    let mut s = 1;
    for i in (0..shape.len()).rev() {
        let o = i + r - shape.len();
        strides[o] = if shape[i] == 1 { 0 } else { s };
        s *= shape[i];
    }
    strides
}

/// Calls `f(out_index, a_index, b_index)` for every element of the broadcast output.
fn for_each_broadcast(a_shape: &[usize], b_shape: &[usize], mut f: impl FnMut(usize, usize, usize)) {
    let (dims, r) = broadcast_dims(a_shape, b_shape);
    let out = &dims[..r];
    let (sa, sb) = (strides_in(a_shape, out), strides_in(b_shape, out));
    let total: usize = out.iter().product();
    let mut idx = [0usize; MAX_RANK];
    let (mut ia, mut ib) = (0usize, 0usize);
    for o in 0..total {
        f(o, ia, ib);
        // Odometer increment of the multi-index, updating both input offsets.
        for d in (0..r).rev() {
            idx[d] += 1;
            ia += sa[d];
            ib += sb[d];
            if idx[d] < out[d] {
                break;
            }
            ia -= sa[d] * out[d];
            ib -= sb[d] * out[d];
            idx[d] = 0;
        }
    }
}

/// out[broadcast(a, b)] = a ∘ b.
pub fn binary_forward<F: Float>(op: Binary, out: &mut [F], a: &[F], a_shape: &[usize], b: &[F], b_shape: &[usize]) {
    // Equal shapes (the residual adds, dropout's masks): one flat loop per op, which vectorizes,
    // where the odometer below costs several times the arithmetic.
    if a_shape == b_shape {
        let n: usize = a_shape.iter().product();
        let pairs = out[..n].iter_mut().zip(a[..n].iter().zip(&b[..n]));
        match op {
            Binary::Add => pairs.for_each(|(o, (&x, &y))| *o = x + y),
            Binary::Mul => pairs.for_each(|(o, (&x, &y))| *o = x * y),
        }
        return;
    }
    for_each_broadcast(a_shape, b_shape, |o, i, j| {
        out[o] = match op {
            Binary::Add => a[i] + b[j],
            Binary::Mul => a[i] * b[j],
        }
    });
}

/// da += ∂L/∂a, db += ∂L/∂b (summed over broadcast positions).
#[allow(clippy::too_many_arguments)]
pub fn binary_backward<F: Float>(op: Binary, da: &mut [F], db: &mut [F], dout: &[F], a: &[F], a_shape: &[usize], b: &[F], b_shape: &[usize]) {
    for_each_broadcast(a_shape, b_shape, |o, i, j| match op {
        Binary::Add => {
            da[i] = da[i] + dout[o];
            db[j] = db[j] + dout[o];
        }
        Binary::Mul => {
            da[i] = da[i] + dout[o] * b[j];
            db[j] = db[j] + dout[o] * a[i];
        }
    });
}

/// out = s·x
pub fn scale_forward<F: Float>(out: &mut [F], x: &[F], s: F) {
    out.iter_mut().zip(x).for_each(|(o, &x)| *o = s * x);
}

/// dx += s·dout
pub fn scale_backward<F: Float>(dx: &mut [F], dout: &[F], s: F) {
    dx.iter_mut().zip(dout).for_each(|(d, &g)| *d = *d + s * g);
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use super::*;
    use crate::nn::ops::gradcheck::{check, rand, weighted, Grad};
    use crate::rng::Rng;

    #[test]
    fn broadcasting_rules() {
        assert_eq!(broadcast_shape(&[4, 3], &[3]), Some(vec![4, 3]));
        assert_eq!(broadcast_shape(&[2, 1, 3], &[4, 1]), Some(vec![2, 4, 3]));
        assert_eq!(broadcast_shape(&[2, 3], &[2]), None);
        let mut out = [0.0; 6];
        binary_forward(Binary::Add, &mut out, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3], &[10.0, 20.0, 30.0], &[3]);
        assert_eq!(out, [11.0, 22.0, 33.0, 14.0, 25.0, 36.0]);
        binary_forward(Binary::Mul, &mut out, &[1.0, 2.0], &[2, 1], &[1.0, 2.0, 3.0], &[1, 3]);
        assert_eq!(out, [1.0, 2.0, 3.0, 2.0, 4.0, 6.0]);
        // Equal shapes take the flat loop.
        binary_forward(Binary::Add, &mut out, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2], &[6.0, 5.0, 4.0, 3.0, 2.0, 1.0], &[3, 2]);
        assert_eq!(out, [7.0; 6]);
        binary_forward(Binary::Mul, &mut out, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[6], &[2.0; 6], &[6]);
        assert_eq!(out, [2.0, 4.0, 6.0, 8.0, 10.0, 12.0]);
    }

    #[test]
    fn binary_and_scale_backward_match_finite_differences() {
        let mut rng = Rng::new(2);
        for (sa, sb) in [(vec![3, 4], vec![3, 4]), (vec![2, 3, 4], vec![4]), (vec![2, 1, 4], vec![3, 1]), (vec![1], vec![2, 2])] {
            for op in [Binary::Add, Binary::Mul] {
                let out_shape = broadcast_shape(&sa, &sb).unwrap();
                let n_out: usize = out_shape.iter().product();
                let a = rand(&mut rng, sa.iter().product());
                let b = rand(&mut rng, sb.iter().product());
                let w = rand(&mut rng, n_out);
                let (mut da, mut db) = (Grad::random(&mut rng, a.len()), Grad::random(&mut rng, b.len()));
                binary_backward(op, &mut da, &mut db, &w, &a, &sa, &b, &sb);
                let f = |a: &[f64], b: &[f64]| {
                    let mut o = vec![0.0; n_out];
                    binary_forward(op, &mut o, a, &sa, b, &sb);
                    weighted(&w, &o)
                };
                check("binary da", &a, &da, |x| f(x, &b));
                check("binary db", &b, &db, |x| f(&a, x));
            }
        }
        let x = rand(&mut rng, 5);
        let w = rand(&mut rng, 5);
        let mut dx = Grad::random(&mut rng, 5);
        scale_backward(&mut dx, &w, -0.7);
        check("scale", &x, &dx, |x| {
            let mut o = vec![0.0; 5];
            scale_forward(&mut o, x, -0.7);
            weighted(&w, &o)
        });
    }
}
