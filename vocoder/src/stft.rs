//! The generator's inverse STFT (n_fft 20, hop 5, periodic Hann) as one strided transposed convolution with
//! fixed inverse-DFT kernels instead of a per-frame loop: one `conv_transpose1d` synthesises and overlap-adds
//! every frame. (The forward STFT of the harmonic source is in [`crate::ort_stft`].)
//!
//! The inverse follows `torch.istft(center=True)` exactly: one-sided inverse DFT (bins 1..n/2−1 counted twice,
//! the imaginary parts of DC and Nyquist ignored, scale 1/n), window, overlap-add, division by the overlap-added
//! squared window, `n_fft/2` samples trimmed at each end. (The kokoro-onnx export instead returns 1.5 × this
//! for samples ≥ 10, see `shared/docs/onnx-int8-notes.md` §5.)

use burn::tensor::module::conv_transpose1d;
use burn::tensor::ops::ConvTransposeOptions;
use burn::tensor::{Device, Tensor, TensorData};

#[derive(Debug, Clone)]
pub struct Stft {
    pub n_fft: usize,
    pub hop: usize,
    /// `[2·bins, 1, n_fft]`: the one-sided inverse DFT rows times the window, for the inverse transform.
    synthesis: Tensor<3>,
    window: Vec<f32>,
}

/// Periodic Hann window (`torch.hann_window(n, periodic=True)`).
pub fn hann_periodic(n: usize) -> Vec<f32> {
    (0..n).map(|i| (0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n as f64).cos()) as f32).collect()
}

impl Stft {
    pub fn new(n_fft: usize, hop: usize, device: &Device) -> Self {
        let bins = n_fft / 2 + 1;
        let window = hann_periodic(n_fft);
        let mut synthesis = vec![0f32; 2 * bins * n_fft];
        for k in 0..bins {
            // Bins other than DC and Nyquist stand for their mirror image too.
            let weight = if k == 0 || (n_fft.is_multiple_of(2) && k == n_fft / 2) { 1.0 } else { 2.0 };
            for n in 0..n_fft {
                let angle = 2.0 * std::f64::consts::PI * (k * n) as f64 / n_fft as f64;
                let w = window[n] as f64;
                synthesis[k * n_fft + n] = (w * weight * angle.cos() / n_fft as f64) as f32;
                let imag = if weight == 1.0 { 0.0 } else { -w * weight * angle.sin() / n_fft as f64 };
                synthesis[(bins + k) * n_fft + n] = imag as f32;
            }
        }
        Self {
            n_fft,
            hop,
            synthesis: Tensor::from_data(TensorData::new(synthesis, [2 * bins, 1, n_fft]), device),
            window,
        }
    }

    pub fn bins(&self) -> usize {
        self.n_fft / 2 + 1
    }

    /// `(magnitude, phase) [1, bins, N]` → `[1, hop·(N−1)]` samples, `torch.istft(center=True)` semantics.
    pub fn inverse(&self, magnitude: Tensor<3>, phase: Tensor<3>) -> Tensor<2> {
        let [_, _, frames] = magnitude.dims();
        let re = magnitude.clone() * phase.clone().cos();
        let im = magnitude * phase.sin();
        let spec = Tensor::cat(vec![re, im], 1);
        let raw = conv_transpose1d(
            spec,
            self.synthesis.clone(),
            None,
            ConvTransposeOptions::new([self.hop], [0], [0], [1], 1),
        );
        let full = self.hop * (frames - 1) + self.n_fft;
        let pad = self.n_fft / 2;
        let out_len = full - 2 * pad;
        let envelope = self.inverse_envelope(frames, &raw.device());
        raw.reshape([1, full]).narrow(1, pad, out_len).div(envelope)
    }

    /// The overlap-added squared window over the kept samples, `[1, out_len]`.
    fn inverse_envelope(&self, frames: usize, device: &Device) -> Tensor<2> {
        let full = self.hop * (frames - 1) + self.n_fft;
        let mut env = vec![0f32; full];
        for f in 0..frames {
            for (n, w) in self.window.iter().enumerate() {
                env[f * self.hop + n] += w * w;
            }
        }
        let pad = self.n_fft / 2;
        let kept: Vec<f32> = env[pad..full - pad].iter().map(|&e| if e > 1e-11 { e } else { 1.0 }).collect();
        let n = kept.len();
        Tensor::from_data(TensorData::new(kept, [1, n]), device)
    }
}
