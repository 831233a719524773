//! Branch-free f32 `exp`, `sigmoid` and `tanh` (Cephes' `expf` and `tanhf` polynomials) that LLVM
//! vectorizes across a loop, where the libm calls of the scalar ops cannot be: the LSTM cell spends
//! most of its time in them. Every operation is a plain f32 / i32 lane operation (compare-select,
//! magic-number rounding, exponent bits), so a loop over slices becomes SSE2 or wasm simd128 code.
//!
//! Accuracy (tested below against f64 over the whole range): `exp` within 2 ulp, `sigmoid` and
//! `tanh` within 3 ulp of the correctly rounded value (relative; tanh relative to |tanh x| also near 0).
//! NaN propagates. Beyond |x| ≈ 87 the exponent saturates: exp(x) is clamped to [e^−87, e^88], which
//! leaves sigmoid and tanh exact to f32 there (sigmoid(−100) gives 6e−39 instead of 4e−44: far below
//! any tolerance, and no Inf/NaN).

pub const LOG2E: f32 = std::f32::consts::LOG2_E;
/// ln 2 split in two (Cephes): n·LN2_HI is exact for |n| < 2⁹, so r = x − n·ln2 keeps its low bits.
pub const LN2_HI: f32 = 0.693_359_4;
pub const LN2_LO: f32 = -2.121_944_4e-4;
/// 1.5·2²³: adding it rounds a float below 2²² to an integer (to nearest even) in the low mantissa bits.
pub const MAGIC: f32 = 12_582_912.0;
pub const EXP_MIN: f32 = -87.0;
pub const EXP_MAX: f32 = 88.0;

/// Cephes' `expf` polynomial, highest power first (5e-1: Cephes' 5.0000001201e-1, the same f32).
pub const EXP_POLY: [f32; 6] = [1.987_569_1e-4, 1.398_199_9e-3, 8.333_452e-3, 4.166_579_6e-2, 1.666_666_5e-1, 5e-1];

/// e^x (Cephes `expf`): x = n·ln2 + r with |r| ≤ ln2/2, e^r by a degree-7 polynomial, 2ⁿ by
/// writing the exponent bits.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    // `if` rather than `f32::max`/`min`: a compare-select that keeps NaN (maps to minps / f32x4.pmin).
    let x = if x < EXP_MIN { EXP_MIN } else { x };
    let x = if x > EXP_MAX { EXP_MAX } else { x };
    let v = x * LOG2E + MAGIC;
    let n = v - MAGIC; // round(x·log2 e), |n| ≤ 127
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = EXP_POLY[0];
    for &c in &EXP_POLY[1..] {
        p = p * r + c;
    }
    let p = p * (r * r) + r + 1.0;
    // The integer n sits in v's low mantissa bits: 2ⁿ has exponent field n + 127.
    let k = (v.to_bits() as i32).wrapping_sub(MAGIC.to_bits() as i32);
    p * f32::from_bits((k.wrapping_add(127) << 23) as u32)
}

/// σ(x) = 1 / (1 + e^−x), the scalar op's formula with [`exp`].
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// tanh x (Cephes `tanhf`): an odd polynomial for |x| < 0.625 (so small x keeps its relative
/// accuracy), 1 − 2/(e^{2|x|} + 1) with x's sign above.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    let z = f32::from_bits(x.to_bits() & 0x7fff_ffff);
    let s = x * x;
    let mut p = -5.704_988_7e-3;
    p = p * s + 2.063_909e-2;
    p = p * s - 5.373_971_6e-2;
    p = p * s + 1.333_144_2e-1;
    p = p * s - 3.333_328e-1;
    let small = p * s * x + x;
    let big = 1.0 - 2.0 / (exp(z + z) + 1.0);
    let big = f32::from_bits(big.to_bits() | (x.to_bits() & 0x8000_0000));
    if z < 0.625 {
        small
    } else {
        big
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// Distance in ulp of `got` from the f64 value `want`, measured in ulp of `want` rounded to f32.
    fn ulps(got: f32, want: f64) -> f64 {
        let w = want as f32;
        let ulp = (f32::from_bits(w.abs().to_bits() + 1) - w.abs()) as f64;
        (got as f64 - want).abs() / ulp
    }

    fn grid() -> Vec<f32> {
        // Dense in [−20, 20], logarithmic toward 0 and out to ±200, and the edges of the clamp.
        let mut xs: Vec<f32> = (-200_000..=200_000).map(|i| i as f32 * 1e-4).collect();
        for e in -40..=8 {
            let m = 2f32.powi(e);
            xs.extend([m, -m, 1.37 * m, -1.37 * m]);
        }
        xs.extend([86.9, 87.0, 87.5, 88.0, -86.9, -87.0, 100.0, -100.0, 0.625, -0.625, 0.624_999_9, 0.0, -0.0]);
        xs
    }

    #[test]
    fn exp_is_within_2_ulp_of_f64_in_range() {
        let worst = grid().into_iter().filter(|x| (-87.0..=88.0).contains(x)).map(|x| ulps(super::exp(x), (x as f64).exp())).fold(0.0, f64::max);
        assert!(worst <= 2.0, "exp: {worst} ulp");
        assert_eq!(super::exp(1000.0), super::exp(88.0));
        assert!(super::exp(f32::NAN).is_nan() && super::exp(f32::NEG_INFINITY) > 0.0);
    }

    #[test]
    fn sigmoid_and_tanh_are_within_3_ulp_of_f64() {
        let (mut ws, mut wt) = (0.0f64, 0.0f64);
        for x in grid() {
            let xd = x as f64;
            if x > -87.0 {
                ws = ws.max(ulps(super::sigmoid(x), 1.0 / (1.0 + (-xd).exp())));
            }
            wt = wt.max(ulps(super::tanh(x), xd.tanh()));
        }
        assert!(ws <= 3.0 && wt <= 3.0, "sigmoid {ws} ulp, tanh {wt} ulp");
        assert_eq!((super::tanh(100.0), super::tanh(-100.0), super::sigmoid(100.0)), (1.0, -1.0, 1.0));
        assert!(super::sigmoid(-1e4) >= 0.0 && super::sigmoid(-1e4) < 1e-37);
        assert!(super::tanh(f32::NAN).is_nan() && super::sigmoid(f32::NAN).is_nan());
    }
}
