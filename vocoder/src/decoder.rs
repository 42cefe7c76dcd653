//! `decoder`: from frame-level text features (`asr`), F0 and energy curves and the timbre half of the style
//! vector to the generator's input — an AdaIN residual stack that re-injects its conditioning at every block.

use std::sync::Arc;

use burn::module::Module;
use burn::tensor::Tensor;

use warble_acoustic::nn::{AdainResBlk1d, Conv1d, LoadError, Loader, int8_conv, key};
use warble_quant::conv::Int8Conv;

use crate::generator::{Generator, GeneratorConfig};

#[derive(Module, Debug)]
pub struct Decoder {
    pub encode: AdainResBlk1d,
    pub decode: Vec<AdainResBlk1d>,
    pub f0_conv: Conv1d,
    pub n_conv: Conv1d,
    pub asr_res: Conv1d,
    pub generator: Generator,
    /// The AdaIN blocks' convolutions that a quantized file stores in INT8, on the INT8 kernel (CPU only;
    /// [`Decoder::set_int8`]); `None`: all in f32.
    #[module(skip)]
    pub int8: Option<Arc<Int8Blocks>>,
    /// Every block convolution on the INT8 kernel, for the audio a listener waits for (a stream's first call;
    /// [`Decoder::features_with`]). Built on the CPU device at load.
    #[module(skip)]
    pub int8_all: Option<Arc<Int8Blocks>>,
}

/// The INT8 convolutions of the blocks `encode, decode.0 … decode.3`: per block `conv1, conv2, conv1x1`, each
/// `None` where it stays in f32.
#[derive(Debug)]
pub struct Int8Blocks {
    blocks: Vec<[Option<Int8Conv>; 3]>,
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
        let mut decoder = Self {
            encode: AdainResBlk1d::load(l, &k("encode"), dim_in + 2, hidden, style_dim, false)?,
            decode,
            f0_conv: Conv1d::load(l, &k("F0_conv"), 1, 1, 3, 2, 1, 1, true)?,
            n_conv: Conv1d::load(l, &k("N_conv"), 1, 1, 3, 2, 1, 1, true)?,
            asr_res: Conv1d::load(l, &k("asr_res.0"), dim_in, res_ch, 1, 1, 0, 1, true)?,
            generator: Generator::load(l, &k("generator"), cfg)?,
            int8: None,
            int8_all: None,
        };
        // The INT8 copies only where a SIMD integer kernel runs them (the portable loops are slower than f32).
        if warble_acoustic::nn::host_int8(l.device()) {
            decoder.int8_all = Some(decoder.int8_blocks(&|_| true));
        }
        Ok(decoder)
    }

    /// Runs the block convolutions that `int8(key)` names (`encode.conv1`, `decode.3.conv1x1`, …) on the INT8
    /// kernel, their weights quantized per output channel here (from a Warble INT8 file, exactly the stored
    /// integers). CPU only: elsewhere nothing changes.
    pub fn set_int8(&mut self, int8: &dyn Fn(&str) -> bool) {
        let Some(all) = &self.int8_all else {
            return;
        };
        let names = self.conv_names();
        self.int8 = if names.iter().all(|n| int8(n)) {
            // The whole stack, as an INT8 file stores it: share the first call's copy.
            Some(all.clone())
        } else if names.iter().any(|n| int8(n)) {
            Some(self.int8_blocks(int8))
        } else {
            None
        };
    }

    /// Whether any block convolution runs in INT8 outside a stream's first call.
    pub fn uses_int8(&self) -> bool {
        self.int8.is_some()
    }

    /// The AdaIN blocks with their checkpoint names: `encode`, `decode.0` … `decode.3`.
    fn named_blocks(&self) -> impl Iterator<Item = (&AdainResBlk1d, String)> {
        std::iter::once(&self.encode)
            .chain(&self.decode)
            .enumerate()
            .map(|(i, b)| (b, if i == 0 { "encode".to_string() } else { format!("decode.{}", i - 1) }))
    }

    /// The keys `int8` is asked about, of every block convolution.
    fn conv_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for (b, block) in self.named_blocks() {
            names.push(format!("{block}.conv1"));
            names.push(format!("{block}.conv2"));
            if b.conv1x1.is_some() {
                names.push(format!("{block}.conv1x1"));
            }
        }
        names
    }

    fn int8_blocks(&self, int8: &dyn Fn(&str) -> bool) -> Arc<Int8Blocks> {
        let blocks = self
            .named_blocks()
            .map(|(b, name)| {
                let conv = |c: Option<&Conv1d>, field: &str| {
                    c.filter(|_| int8(&format!("{name}.{field}"))).map(Conv1d::to_int8)
                };
                [conv(Some(&b.conv1), "conv1"), conv(Some(&b.conv2), "conv2"), conv(b.conv1x1.as_ref(), "conv1x1")]
            })
            .collect();
        Arc::new(Int8Blocks { blocks })
    }

    /// `asr [1, 512, F]`, `f0, n [1, 2F]`, timbre style `[1, 128]` → generator input `[1, 512, 2F]`.
    pub fn features(&self, asr: Tensor<3>, f0: Tensor<2>, n: Tensor<2>, style: Tensor<2>) -> Tensor<3> {
        self.features_with(asr, f0, n, style, false)
    }

    /// [`Decoder::features`], with `all_int8` every block convolution on the INT8 kernel (where the CPU
    /// kernels exist; otherwise as the loaded file says).
    pub fn features_with(
        &self,
        asr: Tensor<3>,
        f0: Tensor<2>,
        n: Tensor<2>,
        style: Tensor<2>,
        all_int8: bool,
    ) -> Tensor<3> {
        let int8 = if all_int8 { self.int8_all.as_deref().or(self.int8.as_deref()) } else { self.int8.as_deref() };
        let convs = |i: usize| int8.map(|b| &b.blocks[i]);
        let [_, len2] = f0.dims();
        let f0 = self.f0_conv.forward(f0.reshape([1, 1, len2]));
        let n = self.n_conv.forward(n.reshape([1, 1, len2]));
        let mut x =
            block_forward(&self.encode, convs(0), Tensor::cat(vec![asr.clone(), f0.clone(), n.clone()], 1), &style);
        let asr_res = self.asr_res.forward(asr);
        for (i, block) in self.decode.iter().enumerate() {
            let input = Tensor::cat(vec![x, asr_res.clone(), f0.clone(), n.clone()], 1);
            x = block_forward(block, convs(i + 1), input, &style);
        }
        x
    }
}

/// [`AdainResBlk1d::forward`] with the convolutions that `int8` holds on the INT8 kernel.
fn block_forward(
    b: &AdainResBlk1d,
    int8: Option<&[Option<Int8Conv>; 3]>,
    x: Tensor<3>,
    style: &Tensor<2>,
) -> Tensor<3> {
    let Some(int8) = int8 else {
        return b.forward(x, style.clone());
    };
    b.forward_with(x, style.clone(), &|which, conv, x| match &int8[which] {
        Some(q) => int8_conv(q, x),
        None => conv.forward(x),
    })
}
