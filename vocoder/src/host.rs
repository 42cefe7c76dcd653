//! CPU kernels for the generator's residual stacks, the hot path of the whole model.
//!
//! Through Burn's flex backend each `AdaINResBlock1` unit is about fifteen tensor operations: an instance norm
//! and an affine map, Snake (`sin`, square, scale, add), a convolution whose im2col goes through an NHWC copy
//! and an element-by-element gather, each writing a fresh `C × 120·frames` tensor. Profiling c07 put the GEMM
//! micro-kernel at a third of the time and the rest in those passes, `sinf`, and page faults on fresh buffers.
//! Here one unit is: one pass for the norm statistics, one fused AdaIN+Snake pass, and a convolution built from
//! contiguous row copies (no transposition) feeding the same AVX-512 GEMM (the `gemm` crate Burn uses), tiled
//! over time on both cores. The Burn modules stay the reference: the GPU path and the parity tests of this file
//! compare against them.

use rayon::prelude::*;

/// A stride-1, "same"-padded Conv1d with its weight laid out for the GEMM: `[C_out, K·C_in]`, column
/// `k·C_in + c` holding PyTorch's `weight[o, c, k]`.
#[derive(Debug, Clone)]
pub struct HostConv {
    weight: Vec<f32>,
    bias: Vec<f32>,
    c_in: usize,
    c_out: usize,
    kernel: usize,
    dilation: usize,
}

/// Output columns per GEMM call: large enough to amortise packing the weight, small enough that two tiles'
/// im2col buffers stay a few MB.
const TILE: usize = 1024;

impl HostConv {
    /// From PyTorch's `weight [C_out, C_in, K]` (row-major) and `bias [C_out]`.
    pub fn new(
        weight: &[f32],
        bias: &[f32],
        c_out: usize,
        c_in: usize,
        kernel: usize,
        dilation: usize,
    ) -> Self {
        assert_eq!(weight.len(), c_out * c_in * kernel, "conv weight shape");
        assert_eq!(bias.len(), c_out, "conv bias shape");
        assert!(kernel % 2 == 1, "same padding needs an odd kernel");
        let mut w = vec![0.0; weight.len()];
        for o in 0..c_out {
            for c in 0..c_in {
                for k in 0..kernel {
                    w[o * kernel * c_in + k * c_in + c] = weight[(o * c_in + c) * kernel + k];
                }
            }
        }
        Self {
            weight: w,
            bias: bias.to_vec(),
            c_in,
            c_out,
            kernel,
            dilation,
        }
    }

    /// `x [C_in, T]` → `[C_out, T]`, zero padding `dilation·(K−1)/2` on both sides (PyTorch's Conv1d).
    pub fn forward(&self, x: &[f32], t: usize) -> Vec<f32> {
        let mut y = Vec::new();
        self.forward_into(x, t, &mut y);
        y
    }

    /// [`HostConv::forward`] into `y` (its old contents are replaced; its allocation is reused).
    pub fn forward_into(&self, x: &[f32], t: usize, y: &mut Vec<f32>) {
        assert_eq!(x.len(), self.c_in * t, "conv input shape");
        y.clear();
        for &b in &self.bias {
            y.extend(std::iter::repeat_n(b, t));
        }
        let rows = self.kernel * self.c_in;
        let pad = (self.dilation * (self.kernel - 1) / 2) as isize;
        let out = SendPtr(y.as_mut_ptr());
        let tiles = t.div_ceil(TILE);
        (0..tiles)
            .into_par_iter()
            .for_each_init(Vec::new, |cols: &mut Vec<f32>, tile| {
                let t0 = tile * TILE;
                let n = TILE.min(t - t0);
                if cols.len() < rows * n {
                    cols.resize(rows * n, 0.0);
                }
                // im2col by rows: row (k, c) is x[c] shifted by k·dilation − pad, so it is one contiguous copy
                // clipped to the signal, zeros outside.
                for k in 0..self.kernel {
                    let shift = (k * self.dilation) as isize - pad;
                    let start = t0 as isize + shift;
                    let lo = (-start).clamp(0, n as isize) as usize;
                    let hi = (t as isize - start).clamp(lo as isize, n as isize) as usize;
                    for c in 0..self.c_in {
                        let dst = &mut cols[(k * self.c_in + c) * n..][..n];
                        dst[..lo].fill(0.0);
                        if lo < hi {
                            let src = &x[c * t..][(start + lo as isize) as usize..][..hi - lo];
                            dst[lo..hi].copy_from_slice(src);
                        }
                        dst[hi..].fill(0.0);
                    }
                }
                let dst = out;
                // SAFETY: each tile writes only its own columns `t0..t0 + n` of `y` (rows of stride `t`); `cols`
                // and the weight are valid for the strides given.
                unsafe {
                    gemm::gemm(
                        self.c_out,
                        n,
                        rows,
                        dst.0.add(t0),
                        1,
                        t as isize,
                        true,
                        self.weight.as_ptr(),
                        1,
                        rows as isize,
                        cols.as_ptr(),
                        1,
                        n as isize,
                        1.0,
                        1.0,
                        false,
                        false,
                        false,
                        gemm::Parallelism::None,
                    );
                }
            });
    }
}

#[derive(Clone, Copy)]
struct SendPtr(*mut f32);
// SAFETY: used only to hand disjoint column ranges of one buffer to the tiles.
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}

/// [`adain_snake`] reading `x` and writing `out` (its allocation reused).
pub fn adain_snake_into(
    x: &[f32],
    t: usize,
    gamma: &[f32],
    beta: &[f32],
    alpha: &[f32],
    out: &mut Vec<f32>,
) {
    out.clear();
    out.extend_from_slice(x);
    adain_snake(out, t, gamma, beta, alpha);
}

/// AdaIN then Snake, in place on `x [C, T]`: per channel `h = (1 + γ)·(x − μ)/√(σ² + ε) + β` (biased variance,
/// ε = 1e-5, as `nn.InstanceNorm1d`), then `h + sin²(α·h)/α`.
pub fn adain_snake(x: &mut [f32], t: usize, gamma: &[f32], beta: &[f32], alpha: &[f32]) {
    let c = gamma.len();
    assert_eq!(x.len(), c * t, "AdaIN input shape");
    assert!(
        beta.len() == c && alpha.len() == c,
        "AdaIN/Snake parameter shapes"
    );
    x.par_chunks_mut(t.max(1))
        .enumerate()
        .for_each(|(ch, row)| {
            // f64 sums: rows are up to ~10⁶ samples long.
            let n = row.len() as f64;
            let mean = row.iter().map(|&v| v as f64).sum::<f64>() / n;
            let var = row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
            let scale = ((1.0 + gamma[ch] as f64) / (var + 1e-5).sqrt()) as f32;
            let shift = beta[ch] - mean as f32 * scale;
            snake_affine(row, scale, shift, alpha[ch]);
        });
}

/// `v ← h + sin²(α·h)/α` with `h = scale·v + shift`, picking the widest SIMD the CPU has.
fn snake_affine(row: &mut [f32], scale: f32, shift: f32, alpha: f32) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F.
            return unsafe { snake_affine_avx512(row, scale, shift, alpha) };
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has AVX2 and FMA.
            return unsafe { snake_affine_avx2(row, scale, shift, alpha) };
        }
    }
    snake_affine_portable(row, scale, shift, alpha)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn snake_affine_avx512(row: &mut [f32], scale: f32, shift: f32, alpha: f32) {
    snake_affine_portable(row, scale, shift, alpha)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn snake_affine_avx2(row: &mut [f32], scale: f32, shift: f32, alpha: f32) {
    snake_affine_portable(row, scale, shift, alpha)
}

#[inline(always)]
fn snake_affine_portable(row: &mut [f32], scale: f32, shift: f32, alpha: f32) {
    let inv_alpha = 1.0 / alpha;
    for v in row.iter_mut() {
        let h = *v * scale + shift;
        let s = sin_squared(alpha * h);
        *v = h + s * inv_alpha;
    }
}

/// `sin²(y)`, branch-free so that it vectorises: reduce by the nearest multiple of π (sin² has period π, so the
/// quotient's parity does not matter), then the odd Taylor polynomial to y¹¹ on [−π/2, π/2]; absolute error
/// below 1e-7 for |y| < 10⁵ (checked against `f64::sin` in the tests).
#[inline(always)]
fn sin_squared(y: f32) -> f32 {
    const INV_PI: f32 = std::f32::consts::FRAC_1_PI;
    // π split in two so that n·π is exact to f32 precision for the n that occur.
    const PI_HI: f32 = 3.140625;
    const PI_LO: f32 = 9.676_536e-4;
    // Adding and subtracting 1.5·2²³ rounds to the nearest integer (|y/π| < 2²²).
    const ROUND: f32 = 12_582_912.0;
    let n = (y * INV_PI + ROUND) - ROUND;
    let r = (y - n * PI_HI) - n * PI_LO;
    let r2 = r * r;
    let p = r2.mul_add(-2.505_210_8e-8, 2.755_731_9e-6);
    let p = r2.mul_add(p, -1.984_127e-4);
    let p = r2.mul_add(p, 8.333_333e-3);
    let p = r2.mul_add(p, -0.166_666_67);
    let s = r * r2.mul_add(p, 1.0);
    s * s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sin_squared_matches_f64() {
        let mut worst = 0.0f64;
        let mut y = -20_000.0f64;
        while y < 20_000.0 {
            let got = sin_squared(y as f32) as f64;
            let want = (y as f32 as f64).sin().powi(2);
            worst = worst.max((got - want).abs());
            y += 0.013_7;
        }
        assert!(worst < 2e-6, "worst abs error {worst}");
        // Near zero the relative error matters (Snake divides by α, which can be small).
        for y in [1e-6f32, 1e-3, 0.1, -0.5] {
            let want = (y as f64).sin().powi(2);
            assert!(((sin_squared(y) as f64 - want) / want).abs() < 1e-5, "{y}");
        }
    }

    /// Direct convolution, the definition.
    #[allow(clippy::too_many_arguments)]
    fn conv_reference(
        w: &[f32],
        b: &[f32],
        x: &[f32],
        c_out: usize,
        c_in: usize,
        k: usize,
        d: usize,
        t: usize,
    ) -> Vec<f32> {
        let pad = (d * (k - 1) / 2) as isize;
        let mut y = vec![0.0f64; c_out * t];
        for o in 0..c_out {
            for j in 0..t {
                let mut acc = b[o] as f64;
                for c in 0..c_in {
                    for kk in 0..k {
                        let s = j as isize + (kk * d) as isize - pad;
                        if s >= 0 && (s as usize) < t {
                            acc += w[(o * c_in + c) * k + kk] as f64 * x[c * t + s as usize] as f64;
                        }
                    }
                }
                y[o * t + j] = acc;
            }
        }
        y.into_iter().map(|v| v as f32).collect()
    }

    fn pseudo_random(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed.wrapping_mul(2_654_435_761).max(1);
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                (s as f32 / u32::MAX as f32) * 2.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn conv_matches_the_definition_across_tiles_and_edges() {
        // Lengths below, at and across the tile size; dilation wider than short inputs.
        for (c_in, c_out, k, d, t) in [
            (3, 4, 3, 1, 5),
            (5, 3, 11, 5, 7),
            (8, 6, 7, 3, TILE + 37),
            (4, 4, 3, 5, 2 * TILE),
        ] {
            let w = pseudo_random(c_out * c_in * k, 1);
            let b = pseudo_random(c_out, 2);
            let x = pseudo_random(c_in * t, 3);
            let got = HostConv::new(&w, &b, c_out, c_in, k, d).forward(&x, t);
            let want = conv_reference(&w, &b, &x, c_out, c_in, k, d, t);
            let worst = got
                .iter()
                .zip(&want)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(worst < 1e-4, "c_in {c_in} k {k} d {d} t {t}: {worst}");
        }
    }

    #[test]
    fn adain_snake_matches_the_formula() {
        let (c, t) = (3, 1000);
        let mut x = pseudo_random(c * t, 4);
        for v in x.iter_mut().skip(t).take(t) {
            *v = *v * 5.0 + 2.0;
        }
        let (gamma, beta, alpha) = ([0.5f32, -0.2, 0.0], [0.1f32, 0.0, -1.0], [1.0f32, 0.3, 7.0]);
        let mut got = x.clone();
        adain_snake(&mut got, t, &gamma, &beta, &alpha);
        for ch in 0..c {
            let row = &x[ch * t..][..t];
            let mean = row.iter().map(|&v| v as f64).sum::<f64>() / t as f64;
            let var = row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / t as f64;
            for j in 0..t {
                let h = (1.0 + gamma[ch] as f64) * (row[j] as f64 - mean) / (var + 1e-5).sqrt()
                    + beta[ch] as f64;
                let a = alpha[ch] as f64;
                let want = h + (a * h).sin().powi(2) / a;
                assert!((got[ch * t + j] as f64 - want).abs() < 1e-5, "{ch} {j}");
            }
        }
    }
}
