//! Dropout (inverted): out = x ⊙ m with m = 1/(1 − p) or 0, the mask drawn on the device from a
//! counter-based hash of (seed, index) — the same on every backend, nothing uploaded per step, and the
//! same mask again for the same seed (a resumed run, a gradient check). Its backward is the product
//! with the same mask (`elementwise` Mul).

/// A well-mixed 32-bit hash (Chris Wellons' lowbias32), easy to write in WGSL too.
pub fn hash32(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x7feb_352d);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846c_a68b);
    x ^= x >> 16;
    x
}

/// The mask's rule for one element: mask[i] = 1/(1 − p) with probability 1 − p, else 0; element
/// i's draw is hash(seed ⊕ hash(i)). Fused ops (attention's probabilities) evaluate it where they
/// need it, forward and backward, instead of storing the mask.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Mask {
    keep: f32,
    threshold: u32,
    seed: u32,
}

impl Mask {
    pub fn new(p: f32, seed: u32) -> Mask {
        // Compare 24-bit uniforms, exact in f32.
        Mask { keep: 1.0 / (1.0 - p), threshold: (p as f64 * (1u32 << 24) as f64) as u32, seed }
    }
    /// (1/(1 − p), the 24-bit threshold): what a GPU kernel needs to draw the same mask.
    pub fn rule(&self) -> (f32, u32) {
        (self.keep, self.threshold)
    }
    /// mask[i]: 1/(1 − p) or 0.
    #[inline]
    pub fn at(&self, i: usize) -> f32 {
        let u = hash32(self.seed ^ hash32(i as u32)) >> 8;
        if u >= self.threshold { self.keep } else { 0.0 }
    }
}

/// mask[i] = `Mask::new(p, seed).at(i)` for every i.
pub fn dropout_mask(mask: &mut [f32], p: f32, seed: u32) {
    let rule = Mask::new(p, seed);
    for (i, m) in mask.iter_mut().enumerate() {
        *m = rule.at(i);
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use super::*;

    #[test]
    fn masks_drop_the_share_asked_for_and_keep_the_expectation() {
        let mut m = vec![0.0f32; 100_000];
        dropout_mask(&mut m, 0.3, 7);
        let dropped = m.iter().filter(|&&x| x == 0.0).count() as f64 / m.len() as f64;
        assert!((dropped - 0.3).abs() < 0.01, "{dropped}");
        let mean = m.iter().map(|&x| x as f64).sum::<f64>() / m.len() as f64;
        assert!((mean - 1.0).abs() < 0.02, "{mean}");
        let mut again = vec![0.0f32; 100_000];
        dropout_mask(&mut again, 0.3, 7);
        assert_eq!(m, again, "the same seed, the same mask");
        dropout_mask(&mut again, 0.3, 8);
        assert_ne!(m, again);
        dropout_mask(&mut again, 0.0, 8);
        assert!(again.iter().all(|&x| x == 1.0));
    }
}
