//! The BF16 linear layer: `y = x Wᵀ + b` with weights and activations rounded to bfloat16 and products summed in
//! f32, on AVX-512 BF16 (`vdpbf16ps`: 32 bf16 products per instruction, twice an f32 FMA's 16, from half the
//! weight bytes). ALBERT's and the prosody predictor's matmuls and the LSTM input projections of a quantized model
//! file run on it; unlike INT8 it needs no activation scales, and its error is bf16's rounding (2⁻⁹ relative) on
//! both operands, never a shared step — so ALBERT keeps its quality where INT8 activations cost it (see the README's
//! quantization section).
//!
//! `vdpbf16ps` adds the odd element's product and then the even one's to each f32 lane; the products of two bf16
//! values are exact in f32, so the portable loop below, which adds in the same order, gives the same bits (inputs
//! that are not subnormal: the instruction flushes those).

use rayon::prelude::*;

/// Outputs per vector (one 512-bit register of f32).
const LANES: usize = 16;
/// Rows and output vectors per register block: 4 × 4 accumulators, 4 weight vectors, 1 broadcast.
const ROWS: usize = 4;
const TILES: usize = 4;

/// Which code computes the products.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bf16Kernel {
    /// AVX-512 BF16 (`vdpbf16ps`): Intel Sapphire Rapids and later Xeons, AMD Zen 4 and Zen 5.
    Avx512Bf16,
    /// Plain Rust: any CPU, the same results, far slower than f32 matmuls (callers then keep f32).
    Portable,
}

impl Bf16Kernel {
    /// The fastest kernel this CPU runs.
    pub fn detect() -> Self {
        if Bf16Kernel::Avx512Bf16.is_available() { Bf16Kernel::Avx512Bf16 } else { Bf16Kernel::Portable }
    }

    /// Whether this CPU has the SIMD kernel; without it, BF16 layers are not worth building.
    pub fn simd_available() -> bool {
        Bf16Kernel::detect() != Bf16Kernel::Portable
    }

    pub fn is_available(self) -> bool {
        match self {
            Bf16Kernel::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Bf16Kernel::Avx512Bf16 => {
                std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512bf16")
            }
            #[cfg(not(target_arch = "x86_64"))]
            Bf16Kernel::Avx512Bf16 => false,
        }
    }
}

fn from_bf16(b: u32) -> f32 {
    half::bf16::from_bits(b as u16).to_f32()
}

/// Two bf16 values in one 32-bit word as `vdpbf16ps` reads them: the even element in the low half.
/// Rounding is to the nearest, ties to even (`half`, as the file format's bf16 weights and `vcvtneps2bf16`).
fn pair(even: f32, odd: f32) -> u32 {
    let bits = |v: f32| u32::from(half::bf16::from_f32(v).to_bits());
    bits(even) | (bits(odd) << 16)
}

/// `y [T, out] = x [T, in] · Wᵀ + b` with bf16 weights and activations and f32 sums.
#[derive(Debug, Clone)]
pub struct Bf16Linear {
    d_in: usize,
    d_out: usize,
    /// Pairs of input features (`d_in` rounded up to even, halved).
    pairs: usize,
    /// Vectors of 16 outputs (`d_out` rounded up).
    tiles: usize,
    /// `[tile][pair][16 outputs]` words of two bf16 (zero past `d_in` and `d_out`): each pair of a tile is one
    /// 64-byte load.
    packed: Vec<u32>,
    /// The bias padded to `tiles × 16`.
    bias: Vec<f32>,
    kernel: Bf16Kernel,
}

impl Bf16Linear {
    /// Rounds PyTorch's `weight [out, in]` (row-major) to bf16.
    pub fn new(weight: &[f32], bias: &[f32], d_out: usize, d_in: usize) -> Self {
        assert_eq!(weight.len(), d_out * d_in, "weight is not [{d_out}, {d_in}]");
        assert_eq!(bias.len(), d_out, "bias is not [{d_out}]");
        let (pairs, tiles) = (d_in.div_ceil(2), d_out.div_ceil(LANES));
        let w = |o: usize, i: usize| if o < d_out && i < d_in { weight[o * d_in + i] } else { 0.0 };
        let mut packed = vec![0u32; tiles * pairs * LANES];
        for (block, dst) in packed.chunks_mut(LANES).enumerate() {
            let (tile, p) = (block / pairs, block % pairs);
            for (lane, d) in dst.iter_mut().enumerate() {
                let o = tile * LANES + lane;
                *d = pair(w(o, 2 * p), w(o, 2 * p + 1));
            }
        }
        let mut padded = bias.to_vec();
        padded.resize(tiles * LANES, 0.0);
        Self { d_in, d_out, pairs, tiles, packed, bias: padded, kernel: Bf16Kernel::detect() }
    }

    /// The same layer on another kernel (tests force [`Bf16Kernel::Portable`]). Panics if the CPU lacks it.
    pub fn with_kernel(mut self, kernel: Bf16Kernel) -> Self {
        assert!(kernel.is_available(), "this CPU cannot run the {kernel:?} kernel");
        self.kernel = kernel;
        self
    }

    pub fn kernel(&self) -> Bf16Kernel {
        self.kernel
    }

    pub fn d_in(&self) -> usize {
        self.d_in
    }

    pub fn d_out(&self) -> usize {
        self.d_out
    }

    /// `x [T, in]` row-major → `y [T, out]` row-major.
    pub fn forward(&self, x: &[f32]) -> Vec<f32> {
        let (d_in, d_out, pairs) = (self.d_in, self.d_out, self.pairs);
        assert_eq!(x.len() % d_in.max(1), 0, "linear input is not [T, {d_in}]");
        let t = x.len().checked_div(d_in).unwrap_or(0);
        let mut xs = vec![0u32; t * pairs];
        xs.par_chunks_mut(pairs.max(1)).zip(x.par_chunks(d_in.max(1))).for_each(|(dst, row)| {
            for (p, d) in dst.iter_mut().enumerate() {
                *d = pair(row[2 * p], row.get(2 * p + 1).copied().unwrap_or(0.0));
            }
        });
        let mut y = vec![0.0f32; t * d_out];
        if t == 0 || d_out == 0 {
            return y;
        }
        // Rows split evenly over the cores, in whole register blocks: each core runs every weight block past all
        // of its rows while that block is in its cache.
        let jobs = rayon::current_num_threads().max(1);
        let rows_per_job = t.div_ceil(jobs).div_ceil(ROWS) * ROWS;
        y.par_chunks_mut(rows_per_job * d_out).zip(xs.par_chunks(rows_per_job * pairs)).for_each(|(y, xs)| {
            let rows = y.len() / d_out;
            match self.kernel {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: `with_kernel`/`detect` checked that the CPU has AVX-512 F and BF16; `xs` holds `rows`
                // rows of `pairs` words and `y` `rows` rows of `d_out` values.
                Bf16Kernel::Avx512Bf16 => unsafe { self.rows_avx512(xs, y, rows) },
                _ => self.rows_portable(xs, y, rows),
            }
        });
        y
    }

    fn rows_portable(&self, xs: &[u32], y: &mut [f32], rows: usize) {
        let (pairs, d_out) = (self.pairs, self.d_out);
        for r in 0..rows {
            let x = &xs[r * pairs..][..pairs];
            for (o, out) in y[r * d_out..][..d_out].iter_mut().enumerate() {
                let (tile, lane) = (o / LANES, o % LANES);
                let w = &self.packed[tile * pairs * LANES..][..pairs * LANES];
                let mut acc = self.bias[o];
                for (p, &xp) in x.iter().enumerate() {
                    let wp = w[p * LANES + lane];
                    acc += from_bf16(xp >> 16) * from_bf16(wp >> 16);
                    acc += from_bf16(xp & 0xffff) * from_bf16(wp & 0xffff);
                }
                *out = acc;
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bf16")]
    unsafe fn rows_avx512(&self, xs: &[u32], y: &mut [f32], rows: usize) {
        let (pairs, d_out) = (self.pairs, self.d_out);
        for t0 in (0..self.tiles).step_by(TILES) {
            let n = TILES.min(self.tiles - t0);
            // Outputs written by the block's last vector (fewer than 16 at the layer's last tile).
            let last = (d_out - (t0 + n - 1) * LANES).min(LANES);
            for r0 in (0..rows).step_by(ROWS) {
                let r = ROWS.min(rows - r0);
                let block = Block {
                    x: xs[r0 * pairs..].as_ptr(),
                    w: self.packed[t0 * pairs * LANES..].as_ptr(),
                    bias: self.bias[t0 * LANES..].as_ptr(),
                    y: y[r0 * d_out + t0 * LANES..].as_mut_ptr(),
                    pairs,
                    d_out,
                    last,
                };
                // SAFETY: the block reads `r` rows of `xs`, `n` tiles of `packed` and the bias, and writes `r`
                // rows × (`n` − 1) × 16 + `last` outputs of `y`, all inside the slices (asserted by indexing
                // above and the shapes `new` and `forward` set).
                unsafe {
                    match (r, n) {
                        (4, 4) => block.run::<4, 4>(),
                        (4, 3) => block.run::<4, 3>(),
                        (4, 2) => block.run::<4, 2>(),
                        (4, _) => block.run::<4, 1>(),
                        (3, 4) => block.run::<3, 4>(),
                        (3, 3) => block.run::<3, 3>(),
                        (3, 2) => block.run::<3, 2>(),
                        (3, _) => block.run::<3, 1>(),
                        (2, 4) => block.run::<2, 4>(),
                        (2, 3) => block.run::<2, 3>(),
                        (2, 2) => block.run::<2, 2>(),
                        (2, _) => block.run::<2, 1>(),
                        (_, 4) => block.run::<1, 4>(),
                        (_, 3) => block.run::<1, 3>(),
                        (_, 2) => block.run::<1, 2>(),
                        _ => block.run::<1, 1>(),
                    }
                }
            }
        }
    }
}

/// One register block: `R` rows × `N` vectors of 16 outputs.
#[cfg(target_arch = "x86_64")]
struct Block {
    x: *const u32,
    w: *const u32,
    bias: *const f32,
    y: *mut f32,
    pairs: usize,
    d_out: usize,
    last: usize,
}

#[cfg(target_arch = "x86_64")]
impl Block {
    #[target_feature(enable = "avx512f,avx512bf16")]
    unsafe fn run<const R: usize, const N: usize>(&self) {
        use std::arch::x86_64::*;
        // SAFETY (whole body): the caller's bounds; loads are unaligned, the last vector's store is masked.
        unsafe {
            let mut acc = [[_mm512_setzero_ps(); N]; R];
            for row in acc.iter_mut() {
                for (n, a) in row.iter_mut().enumerate() {
                    *a = _mm512_loadu_ps(self.bias.add(n * LANES));
                }
            }
            let tile_stride = self.pairs * LANES;
            for p in 0..self.pairs {
                let mut w = [_mm512_setzero_si512(); N];
                for (n, v) in w.iter_mut().enumerate() {
                    *v = _mm512_loadu_si512(self.w.add(n * tile_stride + p * LANES).cast());
                }
                for (r, row) in acc.iter_mut().enumerate() {
                    let x: __m512bh = std::mem::transmute(_mm512_set1_epi32(*self.x.add(r * self.pairs + p) as i32));
                    for (a, v) in row.iter_mut().zip(&w) {
                        *a = _mm512_dpbf16_ps(*a, x, std::mem::transmute::<__m512i, __m512bh>(*v));
                    }
                }
            }
            let mask: __mmask16 = if self.last == LANES { !0 } else { (1u16 << self.last) - 1 };
            for (r, row) in acc.iter().enumerate() {
                let y = self.y.add(r * self.d_out);
                for (n, a) in row.iter().enumerate() {
                    if n + 1 == N {
                        _mm512_mask_storeu_ps(y.add(n * LANES), mask, *a);
                    } else {
                        _mm512_storeu_ps(y.add(n * LANES), *a);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> f32 {
        *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((*seed >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    /// Against the f32 product within bf16's rounding, across register-block edges (T = 1..5, 8, 9, 97),
    /// odd input counts and output counts that are not multiples of 16; the SIMD kernel gives the portable
    /// loop's bits.
    #[test]
    fn matches_the_f32_product_and_the_kernels_agree() {
        let mut seed = 11;
        for &(d_in, d_out) in &[(768usize, 64usize), (129, 37), (5, 3), (64, 80), (2, 1)] {
            let w: Vec<f32> = (0..d_in * d_out).map(|_| lcg(&mut seed) * 0.1).collect();
            let b: Vec<f32> = (0..d_out).map(|_| lcg(&mut seed)).collect();
            let layer = Bf16Linear::new(&w, &b, d_out, d_in);
            for &t in &[1usize, 2, 3, 4, 5, 8, 9, 97] {
                let x: Vec<f32> = (0..t * d_in).map(|_| lcg(&mut seed)).collect();
                let got = layer.forward(&x);
                assert_eq!(got.len(), t * d_out);
                let (mut err, mut norm) = (0.0f64, 0.0f64);
                for r in 0..t {
                    for o in 0..d_out {
                        let want: f32 = b[o] + (0..d_in).map(|i| x[r * d_in + i] * w[o * d_in + i]).sum::<f32>();
                        err += ((got[r * d_out + o] - want) as f64).powi(2);
                        norm += (want as f64).powi(2);
                    }
                }
                let rel = (err / norm).sqrt();
                assert!(rel < 6e-3, "{d_in}→{d_out}, T={t}: relative error {rel}");
                let portable = layer.clone().with_kernel(Bf16Kernel::Portable).forward(&x);
                assert_eq!(got, portable, "{d_in}→{d_out}, T={t}: {:?} differs from the portable loop", layer.kernel());
            }
        }
    }

    #[test]
    fn no_tokens_give_no_rows() {
        let layer = Bf16Linear::new(&[1.0; 6], &[0.0; 2], 2, 3);
        assert!(layer.forward(&[]).is_empty());
    }
}
