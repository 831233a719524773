//! LSD radix sort of `u64` keys: counting n-grams sorts one key per (context, word) occurrence,
//! millions of them, and a radix sort over only the bits in use is several times faster than a
//! comparison sort, in wasm too.

const DIGIT: u32 = 11;

/// Sorts `keys` ascending, looking only at the low `bits` bits (the others must be zero).
pub fn sort(keys: &mut Vec<u64>, bits: u32) {
    let n = keys.len();
    if n < 256 {
        keys.sort_unstable();
        return;
    }
    let mut scratch = vec![0u64; n];
    let mut shift = 0;
    let buckets = 1usize << DIGIT;
    let mask = (buckets - 1) as u64;
    let mut swapped = false;
    while shift < bits {
        let (src, dst) = if swapped { (&scratch, &mut *keys) } else { (&*keys, &mut scratch) };
        let mut pos = vec![0usize; buckets + 1];
        for &k in src.iter() {
            pos[((k >> shift) & mask) as usize + 1] += 1;
        }
        for i in 0..buckets {
            pos[i + 1] += pos[i];
        }
        for &k in src.iter() {
            let d = ((k >> shift) & mask) as usize;
            dst[pos[d]] = k;
            pos[d] += 1;
        }
        swapped = !swapped;
        shift += DIGIT;
    }
    if swapped {
        *keys = scratch;
    }
}

/// Number of bits needed to hold values below `n` (at least 1).
pub fn bits_for(n: u64) -> u32 {
    (64 - n.saturating_sub(1).leading_zeros()).max(1)
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn sorts_like_sort_unstable() {
        let mut rng = Rng::new(1);
        for (n, bits) in [(10usize, 5u32), (1000, 7), (5000, 23), (3000, 64)] {
            let mut keys: Vec<u64> =
                (0..n).map(|_| if bits == 64 { rng.next_u64() } else { rng.next_u64() & ((1u64 << bits) - 1) }).collect();
            let mut want = keys.clone();
            want.sort_unstable();
            sort(&mut keys, bits);
            assert_eq!(keys, want);
        }
        assert_eq!((bits_for(1), bits_for(2), bits_for(1024), bits_for(1025)), (1, 1, 10, 11));
    }
}
