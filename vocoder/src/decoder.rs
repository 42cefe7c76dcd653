//! `decoder`: from frame-level text features (`asr`), F0 and energy curves and the timbre half of the style
//! vector to the generator's input — an AdaIN residual stack that re-injects its conditioning at every block.

use burn::module::Module;
use burn::tensor::Tensor;

use warble_acoustic::nn::{AdainResBlk1d, Conv1d, LoadError, Loader, key};

use crate::generator::{Generator, GeneratorConfig};

#[derive(Module, Debug)]
pub struct Decoder {
    pub encode: AdainResBlk1d,
    pub decode: Vec<AdainResBlk1d>,
    pub f0_conv: Conv1d,
    pub n_conv: Conv1d,
    pub asr_res: Conv1d,
    pub generator: Generator,
}

impl Decoder {
    pub fn load(
        l: &mut Loader,
        prefix: &str,
        dim_in: usize,
        style_dim: usize,
        cfg: &GeneratorConfig,
    ) -> Result<Self, LoadError> {
        let k = |n: &str| key(prefix, n);
        let res_ch = 64;
        let hidden = 1024;
        let cat = hidden + res_ch + 2;
        let mut decode = Vec::new();
        for i in 0..3 {
            decode.push(AdainResBlk1d::load(l, &k(&format!("decode.{i}")), cat, hidden, style_dim, false)?);
        }
        decode.push(AdainResBlk1d::load(l, &k("decode.3"), cat, cfg.upsample_initial_channel, style_dim, true)?);
        Ok(Self {
            encode: AdainResBlk1d::load(l, &k("encode"), dim_in + 2, hidden, style_dim, false)?,
            decode,
            f0_conv: Conv1d::load(l, &k("F0_conv"), 1, 1, 3, 2, 1, 1, true)?,
            n_conv: Conv1d::load(l, &k("N_conv"), 1, 1, 3, 2, 1, 1, true)?,
            asr_res: Conv1d::load(l, &k("asr_res.0"), dim_in, res_ch, 1, 1, 0, 1, true)?,
            generator: Generator::load(l, &k("generator"), cfg)?,
        })
    }

    /// `asr [1, 512, F]`, `f0, n [1, 2F]`, timbre style `[1, 128]` → generator input `[1, 512, 2F]`.
    pub fn features(&self, asr: Tensor<3>, f0: Tensor<2>, n: Tensor<2>, style: Tensor<2>) -> Tensor<3> {
        let [_, len2] = f0.dims();
        let f0 = self.f0_conv.forward(f0.reshape([1, 1, len2]));
        let n = self.n_conv.forward(n.reshape([1, 1, len2]));
        let mut x = self.encode.forward(Tensor::cat(vec![asr.clone(), f0.clone(), n.clone()], 1), style.clone());
        let asr_res = self.asr_res.forward(asr);
        for block in &self.decode {
            x = block.forward(Tensor::cat(vec![x, asr_res.clone(), f0.clone(), n.clone()], 1), style.clone());
        }
        x
    }
}
