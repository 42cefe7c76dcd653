//! `predictor`: the prosody predictor. From the ALBERT features and the prosody half of the style vector it
//! predicts per-token durations, then frame-level F0 and energy (`N`) curves at twice the frame rate.

use burn::module::Module;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Int, Tensor};

use crate::nn::{AdainResBlk1d, BiLstm, Conv1d, Linear, LoadError, Loader, key, plain_layer_norm};

/// `AdaLayerNorm`: LayerNorm over channels (no affine) then `(1 + γ(s)) · x + β(s)`; channels-last input.
#[derive(Module, Debug)]
pub struct AdaLayerNorm {
    pub fc: Linear,
    pub channels: usize,
}

impl AdaLayerNorm {
    fn load(l: &mut Loader, prefix: &str, style_dim: usize, channels: usize) -> Result<Self, LoadError> {
        Ok(Self { fc: Linear::load(l, &key(prefix, "fc"), style_dim, 2 * channels, true)?, channels })
    }

    /// `x [1, T, C]`, `style [1, S]`.
    fn forward(&self, x: Tensor<3>, style: Tensor<2>) -> Tensor<3> {
        let c = self.channels;
        let h = self.fc.forward(style);
        let gamma = h.clone().narrow(1, 0, c).reshape([1, 1, c]);
        let beta = h.narrow(1, c, c).reshape([1, 1, c]);
        plain_layer_norm(x, 1e-5) * gamma.add_scalar(1.0) + beta
    }
}

/// `predictor.text_encoder`: 3 × (BiLSTM → AdaLayerNorm), re-appending the style vector after each norm.
#[derive(Module, Debug)]
pub struct DurationEncoder {
    pub lstms: Vec<BiLstm>,
    pub norms: Vec<AdaLayerNorm>,
}

impl DurationEncoder {
    fn load(l: &mut Loader, prefix: &str, d_model: usize, style_dim: usize, n_layer: usize) -> Result<Self, LoadError> {
        let mut lstms = Vec::new();
        let mut norms = Vec::new();
        // The checkpoint interleaves them in one list: lstms.0 (LSTM), lstms.1 (AdaLayerNorm), lstms.2, ...
        for i in 0..n_layer {
            lstms.push(BiLstm::load(l, &key(prefix, &format!("lstms.{}", 2 * i)), d_model + style_dim, d_model / 2)?);
            norms.push(AdaLayerNorm::load(l, &key(prefix, &format!("lstms.{}", 2 * i + 1)), style_dim, d_model)?);
        }
        Ok(Self { lstms, norms })
    }

    /// `d_en [1, T, 512]`, `style [1, 128]` → `d [1, T, 640]` (features + the raw style vector).
    pub fn forward(&self, d_en: Tensor<3>, style: Tensor<2>) -> Tensor<3> {
        let [_, t, _] = d_en.dims();
        let style_t = style.clone().unsqueeze_dim::<3>(1).repeat_dim(1, t);
        let mut x = Tensor::cat(vec![d_en, style_t.clone()], 2);
        for (lstm, norm) in self.lstms.iter().zip(&self.norms) {
            let y = norm.forward(lstm.forward(x), style.clone());
            x = Tensor::cat(vec![y, style_t.clone()], 2);
        }
        x
    }
}

/// One of the F0 / N branches: three AdainResBlk1d (the middle one upsamples ×2) and a 1×1 projection.
#[derive(Module, Debug)]
pub struct CurveBranch {
    pub blocks: Vec<AdainResBlk1d>,
    pub proj: Conv1d,
}

impl CurveBranch {
    fn load(l: &mut Loader, prefix: &str, name: &str, d_model: usize, style_dim: usize) -> Result<Self, LoadError> {
        let half = d_model / 2;
        let blocks = vec![
            AdainResBlk1d::load(l, &key(prefix, &format!("{name}.0")), d_model, d_model, style_dim, false)?,
            AdainResBlk1d::load(l, &key(prefix, &format!("{name}.1")), d_model, half, style_dim, true)?,
            AdainResBlk1d::load(l, &key(prefix, &format!("{name}.2")), half, half, style_dim, false)?,
        ];
        let proj = Conv1d::load(l, &key(prefix, &format!("{name}_proj")), half, 1, 1, 1, 0, 1, true)?;
        Ok(Self { blocks, proj })
    }

    /// `[1, 512, F]` → `[1, 2F]`; with `int8` the blocks' convolutions that have INT8 copies on the INT8 kernel.
    fn forward(&self, mut x: Tensor<3>, style: Tensor<2>, int8: bool) -> Tensor<2> {
        for b in &self.blocks {
            x = b.forward_with(x, style.clone(), &|_, conv, x| conv.forward_with(x, int8));
        }
        let y = self.proj.forward(x);
        let [_, _, len] = y.dims();
        y.reshape([1, len])
    }
}

#[derive(Module, Debug)]
pub struct ProsodyPredictor {
    pub text_encoder: DurationEncoder,
    pub lstm: BiLstm,
    pub duration_proj: Linear,
    pub shared: BiLstm,
    pub f0: CurveBranch,
    pub n: CurveBranch,
}

impl ProsodyPredictor {
    pub fn load(
        l: &mut Loader,
        prefix: &str,
        d_model: usize,
        style_dim: usize,
        n_layer: usize,
        max_dur: usize,
    ) -> Result<Self, LoadError> {
        let d_in = d_model + style_dim;
        Ok(Self {
            text_encoder: DurationEncoder::load(l, &key(prefix, "text_encoder"), d_model, style_dim, n_layer)?,
            lstm: BiLstm::load(l, &key(prefix, "lstm"), d_in, d_model / 2)?,
            duration_proj: Linear::load(l, &key(prefix, "duration_proj.linear_layer"), d_model, max_dur, true)?,
            shared: BiLstm::load(l, &key(prefix, "shared"), d_in, d_model / 2)?,
            f0: CurveBranch::load(l, prefix, "F0", d_model, style_dim)?,
            n: CurveBranch::load(l, prefix, "N", d_model, style_dim)?,
        })
    }

    /// `d [1, T, 640]` → duration logits `[1, T, 50]`.
    pub fn duration_logits(&self, d: Tensor<3>) -> Tensor<3> {
        self.duration_proj.forward(self.lstm.forward(d))
    }

    /// Expected frames per token: `Σ sigmoid(logits) / speed` → `[1, T]`.
    pub fn durations(logits: Tensor<3>, speed: f32) -> Tensor<2> {
        let [_, t, _] = logits.dims();
        sigmoid(logits).sum_dim(2).reshape([1, t]).div_scalar(speed)
    }

    /// `d [1, T, 640]` (the duration encoder's token features) expanded over frames by `index [F]` (each
    /// frame's token) → `(F0 [1, 2F], N [1, 2F])`.
    pub fn f0_n(&self, d: Tensor<3>, index: Tensor<1, Int>, style: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        self.f0_n_with(d, index, style, false, false)
    }

    /// [`ProsodyPredictor::f0_n`], with `int8_f0` / `int8_n` the F0 / N blocks' convolutions on the INT8 kernel
    /// where they have INT8 copies ([`ProsodyPredictor::set_int8`]).
    pub fn f0_n_with(
        &self,
        d: Tensor<3>,
        index: Tensor<1, Int>,
        style: Tensor<2>,
        int8_f0: bool,
        int8_n: bool,
    ) -> (Tensor<2>, Tensor<2>) {
        let x = self.shared.forward_gathered(d, index).swap_dims(1, 2);
        (self.f0.forward(x.clone(), style.clone(), int8_f0), self.n.forward(x, style, int8_n))
    }

    /// Builds INT8 copies of the F0 and N blocks' convolutions (~95 % of the predictor's multiply-adds per
    /// frame; the 1-channel projections stay f32). CPU device and a SIMD integer kernel only: the caller checks.
    pub fn set_int8(&mut self) {
        for b in self.f0.blocks.iter_mut().chain(self.n.blocks.iter_mut()) {
            b.conv1.set_int8();
            b.conv2.set_int8();
            if let Some(c) = &mut b.conv1x1 {
                c.set_int8();
            }
        }
    }
}

/// Rounds expected durations the way `torch.round` does (half to even) and gives every token at least one frame.
pub fn round_durations(expected: &[f32]) -> Vec<usize> {
    expected
        .iter()
        .map(|&d| {
            let r = d.round_ties_even();
            if r.is_finite() && r >= 1.0 { r as usize } else { 1 }
        })
        .collect()
}

/// For each frame, the index of the token that owns it (the alignment matrix as a gather index).
pub fn frame_owners(durations: &[usize]) -> Vec<i64> {
    let mut owners = Vec::with_capacity(durations.iter().sum());
    for (t, &d) in durations.iter().enumerate() {
        owners.extend(std::iter::repeat_n(t as i64, d));
    }
    owners
}
