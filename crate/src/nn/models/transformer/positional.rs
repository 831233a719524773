//! The six positional encodings, each by its formula. Two are added to the token embedding before
//! the first block; three act inside attention (`nn::ops::attention`, `nn::ops::rope`); one is nothing.
//!
//! ```text
//! learned:     x_0(pos) = E[w_pos] + P[pos]                          P: [T × C], trained
//! sinusoidal:  x_0(pos) = √C·E[w_pos] + p(pos)  p(pos, 2j) = sin(pos / 10000^{2j/C}),
//!                                             p(pos, 2j+1) = cos(pos / 10000^{2j/C})
//! relative:    score_ij = q_iᵀ(k_j + w^K_{r_ij})/√d_k,  out_i = Σ_j a_ij (v_j + w^V_{r_ij}),
//!              r_ij = clip(i − j, −k, k)                             w^K, w^V: [(k+1) × d_k] per layer
//! alibi:       score_ij = q_iᵀk_j/√d_k − m_h·(i − j),  m_h = 2^{−8(h+1)/H}
//! rope:        q_m, k_n rotated by mθ_i, nθ_i in each pair (2i, 2i+1), θ_i = 10000^{−2i/d_k},
//!              so q_mᵀk_n depends on m − n only
//! none:        x_0(pos) = E[w_pos]; the causal mask alone breaks the symmetry (NoPE)
//! ```
//! Positions count from the start of the window the model reads (0 … T − 1).

use super::config::Positional;

/// p(pos, ·) for pos < `t`: [t × c] row-major.
pub fn sinusoidal_table(t: usize, c: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; t * c];
    for pos in 0..t {
        for j in 0..c.div_ceil(2) {
            let angle = pos as f64 / 10000f64.powf(2.0 * j as f64 / c as f64);
            out[pos * c + 2 * j] = angle.sin() as f32;
            if 2 * j + 1 < c {
                out[pos * c + 2 * j + 1] = angle.cos() as f32;
            }
        }
    }
    out
}

/// Whether the encoding is a table added to the token embeddings.
pub fn is_additive(p: Positional) -> bool {
    matches!(p, Positional::Learned | Positional::Sinusoidal)
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use super::*;

    #[test]
    fn the_sinusoids_follow_the_formula() {
        let p = sinusoidal_table(5, 6);
        assert_eq!(p[0..6], [0.0, 1.0, 0.0, 1.0, 0.0, 1.0]);
        let want = (3.0f64 / 10000f64.powf(2.0 / 6.0)).sin() as f32;
        assert_eq!(p[3 * 6 + 2], want);
        assert_eq!(p[3 * 6 + 1], 3.0f64.cos() as f32);
    }
}
