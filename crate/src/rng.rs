//! Seeded, portable randomness. Every random choice (data split, initialisation, batches, sampling)
//! draws from an [`Rng`] derived from the run's seed, so one seed reproduces a run on every platform.
//! Each consumer derives its own stream with [`Rng::derive`], so e.g. changing the sampling settings
//! never changes the split. The OS entropy source is used only by [`fresh_seed`].

use rand_core::{Rng as _, SeedableRng};
use rand_pcg::Pcg64Mcg;

#[derive(Clone, Debug, PartialEq)]
pub struct Rng(Pcg64Mcg);

/// Largest seed the UI shows and accepts: seeds must survive a round trip through a JS number.
pub const MAX_SEED: u64 = (1 << 53) - 1;

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(Pcg64Mcg::seed_from_u64(seed))
    }

    /// An independent stream for one purpose (`"split"`, `"init"`, `"sample"`, ...) of one seed.
    pub fn derive(seed: u64, purpose: &str) -> Self {
        // FNV-1a over the label, mixed with the seed by splitmix64: stable across versions and platforms.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in purpose.bytes() {
            h = (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
        }
        Rng::new(splitmix64(seed ^ h))
    }

    /// The generator's state as text, to store in a model file: a resumed run continues the same
    /// stream without replaying its draws.
    pub fn state(&self) -> String {
        serde_json::to_string(&self.0).expect("json")
    }

    /// A generator restored from [`Rng::state`]; `None` if the text is not such a state.
    pub fn from_state(s: &str) -> Option<Rng> {
        serde_json::from_str(s).ok().map(Rng)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in [0, n), without modulo bias (Lemire's method). `n` must be > 0.
    pub fn below(&mut self, n: usize) -> usize {
        assert!(n > 0, "Rng::below(0)");
        let n = n as u64;
        loop {
            let m = (self.next_u64() as u128) * (n as u128);
            let lo = m as u64;
            if lo >= n.wrapping_neg() % n {
                return (m >> 64) as usize;
            }
        }
    }

    /// Standard normal sample (Box-Muller; one of the pair is discarded for simplicity and determinism).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // (0, 1]
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Fisher-Yates shuffle.
    pub fn shuffle<T>(&mut self, xs: &mut [T]) {
        for i in (1..xs.len()).rev() {
            let j = self.below(i + 1);
            xs.swap(i, j);
        }
    }
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A fresh seed from the operating system (or `crypto.getRandomValues` in the browser),
/// in [0, MAX_SEED] so it can be shown, typed back and shared.
pub fn fresh_seed() -> u64 {
    getrandom::u64().unwrap_or(0x5eed) & MAX_SEED
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use super::*;

    #[test]
    fn same_seed_same_stream() {
        let a: Vec<u64> = (0..5).scan(Rng::new(7), |r, _| Some(r.next_u64())).collect();
        let b: Vec<u64> = (0..5).scan(Rng::new(7), |r, _| Some(r.next_u64())).collect();
        assert_eq!(a, b);
        assert_ne!(Rng::derive(7, "split").next_u64(), Rng::derive(7, "sample").next_u64());
    }

    #[test]
    fn a_saved_state_continues_the_stream() {
        let mut r = Rng::derive(3, "batches");
        r.next_u64();
        let mut back = Rng::from_state(&r.state()).unwrap();
        assert_eq!((0..4).map(|_| back.next_u64()).collect::<Vec<_>>(), (0..4).map(|_| r.next_u64()).collect::<Vec<_>>());
        assert!(Rng::from_state("{}").is_none());
    }

    #[test]
    fn below_is_in_range_and_uniformish() {
        let mut r = Rng::new(1);
        let mut hist = [0usize; 3];
        for _ in 0..30_000 {
            hist[r.below(3)] += 1;
        }
        for h in hist {
            assert!((9_000..11_000).contains(&h), "{hist:?}");
        }
    }

    #[test]
    fn normal_has_unit_variance() {
        let mut r = Rng::new(3);
        let xs: Vec<f64> = (0..20_000).map(|_| r.normal()).collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64;
        assert!(mean.abs() < 0.03 && (var - 1.0).abs() < 0.05, "{mean} {var}");
    }

    #[test]
    fn fresh_seed_fits_a_js_number() {
        assert!(fresh_seed() <= MAX_SEED);
    }
}
