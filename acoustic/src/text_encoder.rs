//! `text_encoder`: phoneme embedding → 3 × (Conv1d k5 → channel LayerNorm → LeakyReLU 0.2) → BiLSTM.
//! Its output (`t_en`, `[1, 512, T]`) is expanded over frames to become the decoder's `asr` input.

use burn::module::{Module, Param};
use burn::tensor::activation::leaky_relu;
use burn::tensor::module::embedding;
use burn::tensor::{Int, Tensor};

use crate::nn::{BiLstm, Conv1d, LayerNorm, LoadError, Loader, key};

/// `cnn.i`: the checkpoint's Sequential(conv, channel-LN, LeakyReLU, Dropout); only 0 and 1 hold weights.
#[derive(Module, Debug)]
pub struct ConvBlock {
    pub conv: Conv1d,
    /// LayerNorm over channels at each time step (`cnn.i.1.gamma/beta`, eps 1e-5).
    pub norm: LayerNorm,
}

#[derive(Module, Debug)]
pub struct TextEncoder {
    pub embedding: Param<Tensor<2>>,
    pub cnn: Vec<ConvBlock>,
    pub lstm: BiLstm,
}

impl TextEncoder {
    pub fn load(
        l: &mut Loader,
        prefix: &str,
        n_token: usize,
        channels: usize,
        kernel: usize,
        depth: usize,
    ) -> Result<Self, LoadError> {
        let embedding = l.param(&key(prefix, "embedding.weight"), [n_token, channels])?;
        let mut cnn = Vec::with_capacity(depth);
        for i in 0..depth {
            let p = key(prefix, &format!("cnn.{i}"));
            cnn.push(ConvBlock {
                conv: Conv1d::load_same(l, &key(&p, "0"), channels, channels, kernel, 1)?,
                norm: LayerNorm::load(l, &key(&p, "1"), channels, ("gamma", "beta"), 1e-5)?,
            });
        }
        let lstm = BiLstm::load(l, &key(prefix, "lstm"), channels, channels / 2)?;
        Ok(Self { embedding, cnn, lstm })
    }

    /// `input_ids [1, T]` → `t_en [1, C, T]`.
    pub fn forward(&self, input_ids: Tensor<2, Int>) -> Tensor<3> {
        let mut x = embedding(self.embedding.val(), input_ids).swap_dims(1, 2);
        for block in &self.cnn {
            let y = block.conv.forward(x);
            let y = block.norm.forward(y.swap_dims(1, 2)).swap_dims(1, 2);
            x = leaky_relu(y, 0.2);
        }
        self.lstm.forward(x.swap_dims(1, 2)).swap_dims(1, 2)
    }
}
