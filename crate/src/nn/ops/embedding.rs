//! Embedding lookup (gather) and its backward (scatter-add). Gathering the n context tokens of each
//! example into consecutive rows *is* their concatenation: [B·n × d] and [B × n·d] are the same memory.

use super::Float;
use crate::text::TokenId;

/// out[i] = table[ids[i]]; table: [V × d], out: [len(ids) × d].
pub fn embedding_forward<F: Float>(out: &mut [F], table: &[F], ids: &[TokenId], d: usize) {
    for (o, &id) in out.chunks_exact_mut(d).zip(ids) {
        o.copy_from_slice(&table[id as usize * d..(id as usize + 1) * d]);
    }
}

/// dtable[ids[i]] += dout[i] (a token used several times collects every contribution).
pub fn embedding_backward<F: Float>(dtable: &mut [F], dout: &[F], ids: &[TokenId], d: usize) {
    for (g, &id) in dout.chunks_exact(d).zip(ids) {
        let row = &mut dtable[id as usize * d..(id as usize + 1) * d];
        row.iter_mut().zip(g).for_each(|(r, &g)| *r = *r + g);
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
    fn backward_matches_finite_differences() {
        let mut rng = Rng::new(7);
        let (v, d) = (5, 3);
        let ids = [4, 0, 4, 2];
        let table = rand(&mut rng, v * d);
        let w = rand(&mut rng, ids.len() * d);
        let mut dt = Grad::random(&mut rng, v * d);
        embedding_backward(&mut dt, &w, &ids, d);
        check("embedding", &table, &dt, |t| {
            let mut o = vec![0.0; ids.len() * d];
            embedding_forward(&mut o, t, &ids, d);
            weighted(&w, &o)
        });
        assert!((d..2 * d).all(|i| dt.untouched(i))); // id 1 unused
    }
}
