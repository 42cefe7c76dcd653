//! The number formats a weight can be stored in, and the pure functions that convert to and from them.
//!
//! Every scheme sees a weight as a matrix: `rows` = the size of axis 0 of its PyTorch shape (the output
//! channel of a Linear `[out, in]`, a Conv1d `[out, in/groups, k]` and an LSTM `[4H, in]`; the *input* channel
//! of a ConvTranspose1d `[in, out/groups, k]`, which is how PyTorch lays that one out), `cols` = the product of
//! the other axes. Scales are per row (INT8) or per block of a row (INT4), never across rows.
//!
//! * [`Int8Tensor`]: symmetric, one `f32` scale per row, `scale = max|w_row| / 127`,
//!   `q = round(w / scale)` clamped to `−127..=127` (−128 is never produced), `w ≈ q · scale`.
//! * [`Int4Tensor`]: symmetric, blocks of [`INT4_BLOCK`] consecutive values of a row (a row whose length is
//!   not a multiple of 32 ends in one short block), one `f16` scale per block, `q ∈ −7..=7` (−8 is never
//!   produced, so the range is symmetric and 0 is exact), two values per byte.
//! * [`Bf16Tensor`]: bfloat16, rounded to nearest, ties to even (`half`).
//! * `f32`: the values as they are.
//!
//! The error of every scheme is at most half a quantization step: `scale / 2` for INT8 and INT4 (with the
//! *stored* scale: an INT4 scale is rounded *up* to the next `f16` so that the largest value still fits in
//! ±7), half a unit in the last place for BF16. A row (or block) of zeros gets scale 0 and dequantizes to
//! zeros; dequantization only multiplies, so no scale yields NaN.
//!
//! The functions expect finite input; [`crate::QuantizedModel::quantize`] rejects NaN and infinities by key first.

use half::{bf16, f16};

/// Values per INT4 scale block (along a row).
pub const INT4_BLOCK: usize = 32;
/// Largest INT8 magnitude (the range is symmetric: −127..=127).
pub const INT8_MAX: f32 = 127.0;
/// Largest INT4 magnitude (the range is symmetric: −7..=7).
pub const INT4_MAX: f32 = 7.0;

/// `(rows, cols)` of a weight: axis 0 and the product of the others. A 0-D or 1-D shape is one row.
pub fn rows_cols(shape: &[usize]) -> (usize, usize) {
    match shape {
        [] => (1, 1),
        [n] => (1, *n),
        [r, rest @ ..] => (*r, rest.iter().product()),
    }
}

fn max_abs(values: &[f32]) -> f32 {
    values.iter().fold(0f32, |m, v| m.max(v.abs()))
}

/// A symmetric per-row INT8 tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct Int8Tensor {
    /// The logical (PyTorch) shape.
    pub shape: Vec<usize>,
    /// Row-major values, `q[r * cols + c]`.
    pub q: Vec<i8>,
    /// One scale per row (axis 0).
    pub scale: Vec<f32>,
}

impl Int8Tensor {
    /// Quantizes a row-major tensor of `shape`.
    pub fn quantize(shape: &[usize], data: &[f32]) -> Self {
        let (rows, cols) = rows_cols(shape);
        assert_eq!(rows * cols, data.len(), "data does not fill shape {shape:?}");
        let mut q = Vec::with_capacity(data.len());
        let mut scale = Vec::with_capacity(rows);
        for row in data.chunks(cols.max(1)).take(rows) {
            let s = max_abs(row) / INT8_MAX;
            scale.push(s);
            if s == 0.0 {
                q.extend(std::iter::repeat_n(0i8, row.len()));
            } else {
                q.extend(row.iter().map(|&w| (w / s).round().clamp(-INT8_MAX, INT8_MAX) as i8));
            }
        }
        Self { shape: shape.to_vec(), q, scale }
    }

    /// `(rows, cols)` of the logical shape.
    pub fn rows_cols(&self) -> (usize, usize) {
        rows_cols(&self.shape)
    }

    /// The f32 values `q · scale`.
    pub fn dequantize(&self) -> Vec<f32> {
        let (_, cols) = self.rows_cols();
        if cols == 0 {
            return Vec::new();
        }
        self.q.chunks(cols).zip(&self.scale).flat_map(|(row, &s)| row.iter().map(move |&q| f32::from(q) * s)).collect()
    }

    /// Bytes on disk (values and scales).
    pub fn stored_bytes(&self) -> usize {
        self.q.len() + 4 * self.scale.len()
    }
}

/// A symmetric per-block INT4 tensor, two values per byte.
#[derive(Debug, Clone, PartialEq)]
pub struct Int4Tensor {
    /// The logical (PyTorch) shape.
    pub shape: Vec<usize>,
    /// Values per scale block along a row ([`INT4_BLOCK`] when written by this crate).
    pub block: usize,
    /// `rows × ceil(cols / 2)` bytes: each row packed on its own (an odd row ends in a zero high nibble);
    /// value `2i` of a row in the low nibble of byte `i`, value `2i + 1` in the high nibble, each stored as
    /// `q + 8` (so `0x8` is 0, `0x1` is −7, `0xF` is +7).
    pub packed: Vec<u8>,
    /// `rows × ceil(cols / block)` scales, row-major.
    pub scale: Vec<f16>,
}

/// The smallest `f16` that is ≥ `x` (for finite, non-negative `x` within `f16` range).
fn f16_at_least(x: f32) -> f16 {
    let h = f16::from_f32(x);
    if h.to_f32() >= x { h } else { f16::from_bits(h.to_bits() + 1) }
}

impl Int4Tensor {
    /// Quantizes a row-major tensor of `shape` in blocks of `block` values per row. A block whose scale would
    /// overflow `f16` (|w| > 458 000) is clamped to the largest finite `f16` scale.
    pub fn quantize(shape: &[usize], data: &[f32], block: usize) -> Self {
        assert!(block > 0, "INT4 block size must be positive");
        let (rows, cols) = rows_cols(shape);
        assert_eq!(rows * cols, data.len(), "data does not fill shape {shape:?}");
        let row_bytes = cols.div_ceil(2);
        let blocks = cols.div_ceil(block);
        let mut packed = vec![0u8; rows * row_bytes];
        let mut scale = Vec::with_capacity(rows * blocks);
        for r in 0..rows {
            let row = &data[r * cols..(r + 1) * cols];
            let out = &mut packed[r * row_bytes..(r + 1) * row_bytes];
            for (b, chunk) in row.chunks(block).enumerate() {
                let s = f16_at_least(max_abs(chunk) / INT4_MAX).min(f16::MAX);
                scale.push(s);
                let s = s.to_f32();
                for (i, &w) in chunk.iter().enumerate() {
                    let q = if s == 0.0 { 0.0 } else { (w / s).round().clamp(-INT4_MAX, INT4_MAX) };
                    let nibble = (q as i8 + 8) as u8;
                    let c = b * block + i;
                    out[c / 2] |= if c.is_multiple_of(2) { nibble } else { nibble << 4 };
                }
            }
        }
        Self { shape: shape.to_vec(), block, packed, scale }
    }

    /// `(rows, cols)` of the logical shape.
    pub fn rows_cols(&self) -> (usize, usize) {
        rows_cols(&self.shape)
    }

    /// Scale blocks per row.
    pub fn blocks_per_row(&self) -> usize {
        self.rows_cols().1.div_ceil(self.block)
    }

    /// The value at column `c` of packed row `row` (`−8..=7`; this crate writes only `−7..=7`).
    pub fn value(row: &[u8], c: usize) -> i8 {
        let byte = row[c / 2];
        let nibble = if c.is_multiple_of(2) { byte & 0x0F } else { byte >> 4 };
        nibble as i8 - 8
    }

    /// The f32 values `q · scale`.
    pub fn dequantize(&self) -> Vec<f32> {
        let (rows, cols) = self.rows_cols();
        let (row_bytes, blocks) = (cols.div_ceil(2), self.blocks_per_row());
        let mut out = Vec::with_capacity(rows * cols);
        for r in 0..rows {
            let row = &self.packed[r * row_bytes..(r + 1) * row_bytes];
            let scales = &self.scale[r * blocks..(r + 1) * blocks];
            out.extend((0..cols).map(|c| f32::from(Self::value(row, c)) * scales[c / self.block].to_f32()));
        }
        out
    }

    /// Bytes on disk (packed values and scales).
    pub fn stored_bytes(&self) -> usize {
        self.packed.len() + 2 * self.scale.len()
    }
}

/// A bfloat16 tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct Bf16Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<bf16>,
}

impl Bf16Tensor {
    /// Rounds each value to the nearest bfloat16 (ties to even).
    pub fn quantize(shape: &[usize], data: &[f32]) -> Self {
        Self { shape: shape.to_vec(), data: data.iter().map(|&x| bf16::from_f32(x)).collect() }
    }

    pub fn dequantize(&self) -> Vec<f32> {
        self.data.iter().map(|x| x.to_f32()).collect()
    }

    pub fn stored_bytes(&self) -> usize {
        2 * self.data.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn assert_within_half_step(w: &[f32], d: &[f32], step: impl Fn(usize) -> f32) {
        assert_eq!(w.len(), d.len());
        for (i, (a, b)) in w.iter().zip(d).enumerate() {
            let half = step(i) / 2.0;
            // f32 rounding of w / s and q · s: a few ulps of |w| on top of the half step.
            let tol = half * (1.0 + 1e-5) + a.abs() * 4.0 * f32::EPSILON;
            assert!((a - b).abs() <= tol, "value {i}: {a} → {b}, error {} > half step {half}", (a - b).abs());
        }
    }

    #[test]
    fn rows_cols_of_shapes() {
        assert_eq!(rows_cols(&[]), (1, 1));
        assert_eq!(rows_cols(&[5]), (1, 5));
        assert_eq!(rows_cols(&[4, 3]), (4, 3));
        assert_eq!(rows_cols(&[4, 3, 2]), (4, 6));
        assert_eq!(rows_cols(&[0, 3]), (0, 3));
    }

    #[test]
    fn int8_exact_grid_and_extremes() {
        let w = [-1.27f32, 0.0, 0.01, 1.27, 0.635, -0.005];
        let t = Int8Tensor::quantize(&[1, 6], &w);
        assert!((t.scale[0] - 0.01).abs() < 1e-9);
        assert_eq!(t.q[0], -127);
        assert_eq!(t.q[3], 127);
        assert!(t.q.iter().all(|&q| q != -128));
        assert_within_half_step(&w, &t.dequantize(), |_| t.scale[0]);
    }

    #[test]
    fn int8_zero_row_has_scale_zero_and_no_nan() {
        let w = [0.0f32, 0.0, 0.0, 1.0, -2.0, 0.5];
        let t = Int8Tensor::quantize(&[2, 3], &w);
        assert_eq!(t.scale[0], 0.0);
        assert_eq!(&t.q[..3], &[0, 0, 0]);
        let d = t.dequantize();
        assert!(d.iter().all(|x| x.is_finite()));
        assert_eq!(&d[..3], &[0.0, 0.0, 0.0]);
        assert_eq!(d[4], -2.0);
    }

    #[test]
    fn int8_per_row_scales() {
        // A large row must not coarsen a small one.
        let w = [100.0f32, -50.0, 0.001, -0.002];
        let t = Int8Tensor::quantize(&[2, 2], &w);
        assert_eq!(t.scale.len(), 2);
        assert!((t.dequantize()[3] + 0.002).abs() < 1e-5);
    }

    #[test]
    fn int4_packing_layout_and_short_last_block() {
        // 2 rows × 35 columns: blocks of 32 and 3, odd rows padded to 18 bytes.
        let cols = 35;
        let w: Vec<f32> = (0..2 * cols).map(|i| ((i % 15) as f32 - 7.0) * 0.5).collect();
        let t = Int4Tensor::quantize(&[2, cols], &w, INT4_BLOCK);
        assert_eq!(t.packed.len(), 2 * 18);
        assert_eq!(t.scale.len(), 2 * 2);
        assert_eq!(t.blocks_per_row(), 2);
        // first values of row 0 are −3.5, −3.0 with block max 3.5 → scale 0.5 → q −7, −6 → nibbles 1, 2
        assert_eq!(t.scale[0].to_f32(), 0.5);
        assert_eq!(t.packed[0], 0x21);
        // the pad nibble of each odd-length row is 0
        assert_eq!(t.packed[17] >> 4, 0);
        let d = t.dequantize();
        assert_within_half_step(&w, &d, |i| t.scale[(i / cols) * 2 + (i % cols) / INT4_BLOCK].to_f32());
    }

    #[test]
    fn int4_range_is_symmetric_and_zero_blocks_are_safe() {
        let mut w = vec![0.0f32; 64];
        w[40] = -1.0;
        w[41] = 1.0;
        let t = Int4Tensor::quantize(&[1, 64], &w, 32);
        assert_eq!(t.scale[0].to_f32(), 0.0);
        let row = &t.packed[..];
        let values: Vec<i8> = (0..64).map(|c| Int4Tensor::value(row, c)).collect();
        assert!(values.iter().all(|&q| (-7..=7).contains(&q)));
        assert_eq!(values[40], -7);
        assert_eq!(values[41], 7);
        let d = t.dequantize();
        assert!(d.iter().all(|x| x.is_finite()));
        assert!(d[..32].iter().all(|&x| x == 0.0));
    }

    #[test]
    fn int4_scale_rounds_up_so_the_max_fits() {
        // 7 · 0.1 is not representable in f16: the stored scale must be ≥ max/7, the max value exactly ±7.
        let w = [0.7f32, -0.7, 0.35, 0.0];
        let t = Int4Tensor::quantize(&[1, 4], &w, 32);
        assert!(t.scale[0].to_f32() >= 0.1);
        assert_eq!(Int4Tensor::value(&t.packed, 0), 7);
        assert_eq!(Int4Tensor::value(&t.packed, 1), -7);
        // tiny values: subnormal f16 scales still bound the error by half a step
        let w = [1e-9f32, -3e-9, 2e-7, 0.0];
        let t = Int4Tensor::quantize(&[1, 4], &w, 32);
        assert!(t.scale[0].to_f32() > 0.0);
        assert_within_half_step(&w, &t.dequantize(), |_| t.scale[0].to_f32());
    }

    #[test]
    fn bf16_rounds_to_nearest_even() {
        // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to even → 1.0.
        let w = [1.0 + 2f32.powi(-8), 1.0 + 3.0 * 2f32.powi(-8), -0.0, 3.0];
        let d = Bf16Tensor::quantize(&[4], &w).dequantize();
        assert_eq!(d[0], 1.0);
        assert_eq!(d[1], 1.0 + 2.0 * 2f32.powi(-7));
        assert_eq!(d[3], 3.0);
    }

    proptest! {
        #[test]
        fn int8_round_trip_within_half_step(
            rows in 1usize..5,
            cols in 1usize..70,
            seed in proptest::collection::vec(-1000.0f32..1000.0, 350),
            magnitude in -12i32..6,
        ) {
            let w: Vec<f32> = seed.iter().cycle().take(rows * cols).map(|x| x * 2f32.powi(magnitude)).collect();
            let t = Int8Tensor::quantize(&[rows, cols], &w);
            prop_assert!(t.q.iter().all(|&q| q >= -127));
            assert_within_half_step(&w, &t.dequantize(), |i| t.scale[i / cols]);
        }

        #[test]
        fn int4_round_trip_within_half_step(
            rows in 1usize..4,
            cols in 1usize..100,
            block in prop_oneof![Just(32usize), 1usize..40],
            seed in proptest::collection::vec(-1.0f32..1.0, 400),
            magnitude in -20i32..8,
        ) {
            let w: Vec<f32> = seed.iter().cycle().take(rows * cols).map(|x| x * 2f32.powi(magnitude)).collect();
            let t = Int4Tensor::quantize(&[rows, cols], &w, block);
            let blocks = cols.div_ceil(block);
            prop_assert_eq!(t.packed.len(), rows * cols.div_ceil(2));
            prop_assert_eq!(t.scale.len(), rows * blocks);
            let d = t.dequantize();
            assert_within_half_step(&w, &d, |i| t.scale[(i / cols) * blocks + (i % cols) / block].to_f32());
        }

        #[test]
        fn bf16_round_trip_within_half_ulp(w in proptest::collection::vec(-1e30f32..1e30, 1..50)) {
            let d = Bf16Tensor::quantize(&[w.len()], &w).dequantize();
            for (a, b) in w.iter().zip(&d) {
                // bf16 keeps 8 significant bits: half an ulp is ≤ 2^-8 of the value.
                prop_assert!((a - b).abs() <= a.abs() * 2f32.powi(-8));
            }
        }
    }
}
