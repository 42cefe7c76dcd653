//! The INT8 linear layer of ALBERT and the predictor's projections: `y = x Wᵀ + b` over token rows, computed as
//! the 1-tap convolution it is on the INT8 convolution kernel ([`crate::conv`]), so that it shares that kernel's
//! AVX-512 VNNI / AVX-VNNI code, its exact integer sums and its activation quantization (per tile of 96 tokens,
//! per group of four input features a power-of-two step of its own: a transformer's few outlier features get
//! their own coarse step and leave the fine steps to the rest).

use crate::conv::{Int8Conv, Kernel, QuantizedRows};

/// `y [T, out] = x [T, in] · Wᵀ + b` with INT8 weights (symmetric, per output feature).
#[derive(Debug, Clone)]
pub struct Int8Linear {
    conv: Int8Conv,
}

impl Int8Linear {
    /// Quantizes PyTorch's `weight [out, in]` (row-major) per output feature.
    pub fn new(weight: &[f32], bias: &[f32], d_out: usize, d_in: usize) -> Self {
        Self { conv: Int8Conv::new(weight, bias, d_out, d_in, 1, 1) }
    }

    /// The same layer on another kernel (tests force [`Kernel::Portable`]). Panics if the CPU lacks it.
    pub fn with_kernel(self, code: Kernel) -> Self {
        Self { conv: self.conv.with_kernel(code) }
    }

    pub fn kernel_code(&self) -> Kernel {
        self.conv.kernel_code()
    }

    pub fn d_in(&self) -> usize {
        self.conv.c_in()
    }

    pub fn d_out(&self) -> usize {
        self.conv.c_out()
    }

    /// `x [T, in]` row-major → `y [T, out]` row-major.
    pub fn forward(&self, x: &[f32]) -> Vec<f32> {
        let (d_in, d_out) = (self.d_in(), self.d_out());
        assert_eq!(x.len() % d_in.max(1), 0, "linear input is not [T, {d_in}]");
        let t = x.len().checked_div(d_in).unwrap_or(0);
        let mut q = QuantizedRows::new();
        q.quantize_tokens(x, t, d_in);
        let mut y = vec![0.0f32; t * d_out];
        self.conv.forward_token_major(&q, &mut y, false);
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> f32 {
        *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((*seed >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    /// Against the f32 definition, across tile edges (T = 1, 95, 96, 97, 200) and feature counts that are
    /// not multiples of four, with one outlier feature as transformers have; every kernel the CPU has gives the
    /// same bits as the portable one.
    #[test]
    fn matches_the_f32_product_and_the_kernels_agree() {
        let mut seed = 7;
        for &(d_in, d_out) in &[(768usize, 64usize), (130, 37), (5, 3)] {
            let w: Vec<f32> = (0..d_in * d_out).map(|_| lcg(&mut seed) * 0.1).collect();
            let b: Vec<f32> = (0..d_out).map(|_| lcg(&mut seed)).collect();
            let layer = Int8Linear::new(&w, &b, d_out, d_in);
            for &t in &[1usize, 95, 96, 97, 200] {
                let mut x: Vec<f32> = (0..t * d_in).map(|_| lcg(&mut seed)).collect();
                for row in x.chunks_mut(d_in) {
                    row[d_in / 2] *= 30.0;
                }
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
                assert!(rel < 0.02, "{d_in}→{d_out}, T={t}: relative error {rel}");
                let portable = layer.clone().with_kernel(Kernel::Portable).forward(&x);
                assert_eq!(
                    got,
                    portable,
                    "{d_in}→{d_out}, T={t}: {:?} differs from the portable kernel",
                    layer.kernel_code()
                );
                if Kernel::AvxVnni.is_available() {
                    assert_eq!(layer.clone().with_kernel(Kernel::AvxVnni).forward(&x), portable);
                }
            }
        }
    }

    #[test]
    fn no_tokens_give_no_rows() {
        let layer = Int8Linear::new(&[1.0; 6], &[0.0; 2], 2, 3);
        assert!(layer.forward(&[]).is_empty());
    }
}
