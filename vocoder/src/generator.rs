//! `decoder.generator`: the iSTFTNet head. Two transposed-conv upsampling stages (×10, ×6), each merged with a
//! downsampled spectrum of the harmonic source and refined by three parallel AdaIN/Snake residual stacks, then
//! `conv_post` predicts log-magnitude and phase of a 20-point STFT that the exact iSTFT turns into audio.

use burn::module::{Module, Param};
use burn::tensor::activation::leaky_relu;
use burn::tensor::ops::PadMode;
use burn::tensor::{Tensor, TensorData};

use warble_acoustic::nn::{AdaIn1d, Conv1d, ConvTranspose1d, Linear, LoadError, Loader, key};

use warble_quant::conv::{Int8Conv, Kernel, QuantizedRows};

use crate::host::{HostConv, Moments, PaddedRows, adain_snake_carried, adain_snake_padded};
use crate::source::{SineGenConfig, SourceNoise, harmonic_source};
use crate::stft::Stft;
use std::sync::Arc;

/// Hyper-parameters of the generator (`config.json` → `istftnet`).
#[derive(Debug, Clone)]
pub struct GeneratorConfig {
    pub upsample_rates: Vec<usize>,
    pub upsample_kernel_sizes: Vec<usize>,
    pub upsample_initial_channel: usize,
    pub resblock_kernel_sizes: Vec<usize>,
    pub resblock_dilation_sizes: Vec<Vec<usize>>,
    pub n_fft: usize,
    pub hop: usize,
    pub style_dim: usize,
}

impl GeneratorConfig {
    pub fn kokoro_v1() -> Self {
        Self {
            upsample_rates: vec![10, 6],
            upsample_kernel_sizes: vec![20, 12],
            upsample_initial_channel: 512,
            resblock_kernel_sizes: vec![3, 7, 11],
            resblock_dilation_sizes: vec![vec![1, 3, 5]; 3],
            n_fft: 20,
            hop: 5,
            style_dim: 128,
        }
    }
}

/// `AdaINResBlock1`: three residual units, each AdaIN → Snake → dilated conv → AdaIN → Snake → conv.
#[derive(Module, Debug)]
pub struct AdaInResBlock1 {
    pub convs1: Vec<Conv1d>,
    pub convs2: Vec<Conv1d>,
    pub adain1: Vec<AdaIn1d>,
    pub adain2: Vec<AdaIn1d>,
    pub alpha1: Vec<Param<Tensor<3>>>,
    pub alpha2: Vec<Param<Tensor<3>>>,
}

impl AdaInResBlock1 {
    fn load(
        l: &mut Loader,
        prefix: &str,
        channels: usize,
        kernel: usize,
        dilations: &[usize],
        style_dim: usize,
    ) -> Result<Self, LoadError> {
        let mut b =
            Self { convs1: vec![], convs2: vec![], adain1: vec![], adain2: vec![], alpha1: vec![], alpha2: vec![] };
        for (j, &d) in dilations.iter().enumerate() {
            b.convs1.push(Conv1d::load_same(l, &key(prefix, &format!("convs1.{j}")), channels, channels, kernel, d)?);
            b.convs2.push(Conv1d::load_same(l, &key(prefix, &format!("convs2.{j}")), channels, channels, kernel, 1)?);
            b.adain1.push(AdaIn1d::load(l, &key(prefix, &format!("adain1.{j}")), style_dim, channels)?);
            b.adain2.push(AdaIn1d::load(l, &key(prefix, &format!("adain2.{j}")), style_dim, channels)?);
            b.alpha1.push(l.param(&key(prefix, &format!("alpha1.{j}")), [1, channels, 1])?);
            b.alpha2.push(l.param(&key(prefix, &format!("alpha2.{j}")), [1, channels, 1])?);
        }
        Ok(b)
    }

    pub fn forward(&self, mut x: Tensor<3>, style: Tensor<2>) -> Tensor<3> {
        for j in 0..self.convs1.len() {
            let t = snake(self.adain1[j].forward(x.clone(), style.clone()), self.alpha1[j].val());
            let t = self.convs1[j].forward(t);
            let t = snake(self.adain2[j].forward(t, style.clone()), self.alpha2[j].val());
            let t = self.convs2[j].forward(t);
            x = t + x;
        }
        x
    }
}

/// Host copies of one [`AdaInResBlock1`]'s convolutions and Snake parameters, for [`crate::host`].
#[derive(Debug, Clone)]
pub struct HostResBlock {
    convs1: Vec<ResConv>,
    convs2: Vec<ResConv>,
    alpha1: Vec<Vec<f32>>,
    alpha2: Vec<Vec<f32>>,
}

/// One residual-stack convolution on the host: f32, or INT8 (weights per output channel, its input quantized
/// per call; see [`warble_quant::conv`]).
#[derive(Debug, Clone)]
enum ResConv {
    F32(HostConv),
    Int8(Int8Conv),
}

impl ResConv {
    /// `y (+)= conv(x)`; an INT8 convolution quantizes `x` into `quantized` first.
    fn forward(&self, x: &PaddedRows, quantized: &mut QuantizedRows, y: &mut [f32], accumulate: bool) {
        match self {
            ResConv::F32(conv) => conv.forward_padded(x, y, accumulate),
            ResConv::Int8(conv) => {
                quantized.quantize(x.channels(), x.len(), conv.halo(), |c| x.row(c));
                conv.forward(quantized, y, accumulate);
            }
        }
    }
}

impl AdaInResBlock1 {
    /// `int8(name)` says which convolutions (`convs1.0`, `convs2.2`, …) run in INT8.
    fn host(&self, int8: &dyn Fn(&str) -> bool) -> HostResBlock {
        let conv = |c: &Conv1d, name: String| {
            let [c_out, c_in, k] = c.weight.val().dims();
            let bias = c.bias.as_ref().map_or_else(|| vec![0.0; c_out], |b| to_host(b.val()));
            let weight = to_host(c.weight.val());
            if int8(&name) {
                ResConv::Int8(Int8Conv::new(&weight, &bias, c_out, c_in, k, c.dilation))
            } else {
                ResConv::F32(HostConv::new(&weight, &bias, c_out, c_in, k, c.dilation))
            }
        };
        HostResBlock {
            convs1: self.convs1.iter().enumerate().map(|(j, c)| conv(c, format!("convs1.{j}"))).collect(),
            convs2: self.convs2.iter().enumerate().map(|(j, c)| conv(c, format!("convs2.{j}"))).collect(),
            alpha1: self.alpha1.iter().map(|a| to_host(a.val())).collect(),
            alpha2: self.alpha2.iter().map(|a| to_host(a.val())).collect(),
        }
    }

    /// [`AdaInResBlock1::forward`] on the host, in place on `x [C, T]` (row-major); `scratch` holds the
    /// buffers, reused across calls.
    /// `carry`: the statistics of the call's earlier windows, when `x` is one window of a longer call.
    fn forward_host(
        &self,
        host: &HostResBlock,
        x: &mut [f32],
        t: usize,
        style: &Tensor<2>,
        scratch: &mut HostScratch,
        mut carry: Option<&mut WindowNorm>,
    ) {
        let HostScratch { padded, quantized, hidden } = scratch;
        hidden.resize(x.len(), 0.0);
        let mut adain =
            |x: &[f32], (gamma, beta): (Vec<f32>, Vec<f32>), alpha: &[f32], padded: &mut PaddedRows| match carry
                .as_deref_mut()
            {
                Some(w) => {
                    let (past, keep) = w.next_layer(t);
                    adain_snake_carried(x, t, &gamma, &beta, alpha, padded, past, keep)
                }
                None => adain_snake_padded(x, t, &gamma, &beta, alpha, padded),
            };
        for j in 0..host.convs1.len() {
            let (gamma, beta) = self.adain1[j].style_affine(style.clone());
            adain(x, (to_host(gamma), to_host(beta)), &host.alpha1[j], padded);
            host.convs1[j].forward(padded, quantized, hidden, false);
            let (gamma, beta) = self.adain2[j].style_affine(style.clone());
            adain(hidden, (to_host(gamma), to_host(beta)), &host.alpha2[j], padded);
            host.convs2[j].forward(padded, quantized, x, true);
        }
    }
}

/// The instance-norm statistics of the generator's AdaIN layers over the windows of one call rendered so far
/// (one [`Moments`] per layer, in the order the layers run). A call rendered in windows normalises each window
/// with its own columns joined with these, instead of the window's columns alone; the whole call (rendered at
/// once) needs none. Used by the CPU kernels; the Burn path (other devices) normalises each window alone.
#[derive(Debug, Clone, Default)]
pub struct NormCarry {
    layers: Vec<Moments>,
}

/// One window of a call for [`Generator::conv_post_from_spectrum_with`]: the call's [`NormCarry`], the
/// window's length in frames and the frames of it that are kept (the rest is halo, decoded again by the
/// next window, so it is not added to the statistics).
pub struct WindowNorm<'a> {
    carry: &'a mut NormCarry,
    frames: usize,
    keep: std::ops::Range<usize>,
    layer: usize,
}

impl<'a> WindowNorm<'a> {
    pub fn new(carry: &'a mut NormCarry, frames: usize, keep: std::ops::Range<usize>) -> Self {
        assert!(keep.start <= keep.end && keep.end <= frames, "kept frames inside the window");
        Self { carry, frames, keep, layer: 0 }
    }

    /// The next layer's moments and the kept columns of a row of `t` columns (the layers run at higher rates
    /// than frames; the last stage has one reflected column more).
    fn next_layer(&mut self, t: usize) -> (&mut Moments, std::ops::Range<usize>) {
        if self.carry.layers.len() <= self.layer {
            self.carry.layers.resize_with(self.layer + 1, Moments::default);
        }
        let col = |f: usize| (f * t).div_ceil(self.frames.max(1)).min(t);
        let keep = col(self.keep.start)..col(self.keep.end);
        self.layer += 1;
        (&mut self.carry.layers[self.layer - 1], keep)
    }
}

/// Work buffers of [`AdaInResBlock1::forward_host`].
#[derive(Default)]
struct HostScratch {
    padded: PaddedRows,
    quantized: QuantizedRows,
    hidden: Vec<f32>,
}

fn to_host<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_into_vec().expect("f32 data")
}

/// Snake activation `x + sin²(αx)/α`, per channel.
fn snake(x: Tensor<3>, alpha: Tensor<3>) -> Tensor<3> {
    let s = (x.clone() * alpha.clone()).sin();
    x + s.powi_scalar(2) * alpha.recip()
}

/// `generator.m_source`: only its `l_linear` (9 → 1) has weights.
#[derive(Module, Debug)]
pub struct SourceModule {
    pub l_linear: Linear,
}

#[derive(Module, Debug)]
pub struct Generator {
    pub m_source: SourceModule,
    pub noise_convs: Vec<Conv1d>,
    pub noise_res: Vec<AdaInResBlock1>,
    pub ups: Vec<ConvTranspose1d>,
    pub resblocks: Vec<AdaInResBlock1>,
    pub conv_post: Conv1d,
    pub n_fft: usize,
    pub hop: usize,
    /// The residual stacks' weights for the CPU kernels (`crate::host`); `None` on other devices, or when
    /// turned off with [`Generator::without_host_kernels`].
    #[module(skip)]
    pub host: Option<Arc<HostGenerator>>,
    /// The same kernels with every residual-stack convolution in INT8, for the audio a listener waits for
    /// (a stream's first window; see [`Generator::conv_post_from_spectrum_with`]). Built with `host`.
    #[module(skip)]
    pub host_int8: Option<Arc<HostGenerator>>,
    /// `m_source.l_linear`'s nine weights and bias on the host, read once at load: every rendered window mixes
    /// its harmonics with them.
    #[module(skip)]
    source_mix: (Vec<f32>, f32),
}

/// Host copies of the generator's residual stacks.
#[derive(Debug, Clone)]
pub struct HostGenerator {
    noise_res: Vec<HostResBlock>,
    resblocks: Vec<HostResBlock>,
}

impl Generator {
    pub fn load(l: &mut Loader, prefix: &str, cfg: &GeneratorConfig) -> Result<Self, LoadError> {
        let sine = SineGenConfig::kokoro_v1();
        let bins2 = cfg.n_fft + 2;
        let m_source =
            SourceModule { l_linear: Linear::load(l, &key(prefix, "m_source.l_linear"), sine.harmonics, 1, true)? };
        let mut noise_convs = vec![];
        let mut noise_res = vec![];
        let mut ups = vec![];
        let mut resblocks = vec![];
        let stages = cfg.upsample_rates.len();
        for i in 0..stages {
            let (u, k) = (cfg.upsample_rates[i], cfg.upsample_kernel_sizes[i]);
            let c_in = cfg.upsample_initial_channel >> i;
            let c_out = cfg.upsample_initial_channel >> (i + 1);
            ups.push(ConvTranspose1d::load(
                l,
                &key(prefix, &format!("ups.{i}")),
                c_in,
                c_out,
                k,
                u,
                (k - u) / 2,
                0,
                1,
            )?);
            // The source spectrum runs at hop-rate; bring it to this stage's rate with a strided conv.
            let stride: usize = cfg.upsample_rates[i + 1..].iter().product();
            let nc = if i + 1 < stages {
                Conv1d::load(
                    l,
                    &key(prefix, &format!("noise_convs.{i}")),
                    bins2,
                    c_out,
                    stride * 2,
                    stride,
                    stride.div_ceil(2),
                    1,
                    true,
                )?
            } else {
                Conv1d::load(l, &key(prefix, &format!("noise_convs.{i}")), bins2, c_out, 1, 1, 0, 1, true)?
            };
            noise_convs.push(nc);
            let (nk, nd) = if i + 1 < stages { (7, vec![1, 3, 5]) } else { (11, vec![1, 3, 5]) };
            noise_res.push(AdaInResBlock1::load(
                l,
                &key(prefix, &format!("noise_res.{i}")),
                c_out,
                nk,
                &nd,
                cfg.style_dim,
            )?);
            for (j, (&rk, rd)) in cfg.resblock_kernel_sizes.iter().zip(&cfg.resblock_dilation_sizes).enumerate() {
                let idx = i * cfg.resblock_kernel_sizes.len() + j;
                resblocks.push(AdaInResBlock1::load(
                    l,
                    &key(prefix, &format!("resblocks.{idx}")),
                    c_out,
                    rk,
                    rd,
                    cfg.style_dim,
                )?);
            }
        }
        let last = cfg.upsample_initial_channel >> stages;
        let conv_post = Conv1d::load_same(l, &key(prefix, "conv_post"), last, bins2, 7, 1)?;
        let mut generator = Self {
            m_source,
            noise_convs,
            noise_res,
            ups,
            resblocks,
            conv_post,
            n_fft: cfg.n_fft,
            hop: cfg.hop,
            host: None,
            host_int8: None,
            source_mix: (Vec::new(), 0.0),
        };
        generator.source_mix = generator.read_source_mix();
        generator.set_host_kernels(
            warble_acoustic::nn::host_kernels(l.device()),
            warble_acoustic::nn::host_int8(l.device()),
        );
        Ok(generator)
    }

    /// Turns the CPU kernels of the residual stacks on (copying their weights to the host) or off (everything
    /// in Burn tensor operations, what non-CPU devices run). They are on by default on the CPU device, in f32;
    /// `int8` (what [`warble_acoustic::nn::host_int8`] says of the device) also builds their all-INT8 copy.
    pub fn set_host_kernels(&mut self, on: bool, int8: bool) {
        self.host = on.then(|| self.host_generator(&|_| false));
        self.host_int8 = (on && int8).then(|| self.host_generator(&|_| true));
    }

    /// The CPU kernels with the residual-stack convolutions that `int8(key)` names in INT8; `key` is the
    /// convolution's checkpoint key below the generator (`resblocks.3.convs1.0`, `noise_res.1.convs2.2`).
    /// Their weights are quantized per output channel here: from a Warble INT8 file, whose weights are
    /// already on that grid, this gives back exactly the stored integers.
    ///
    /// On a CPU without a SIMD integer kernel ([`Kernel::simd_available`]) everything stays f32 (from the
    /// same weights: a quantized file's are dequantized at load), which is faster there than the portable
    /// integer loops.
    pub fn set_host_int8(&mut self, int8: &dyn Fn(&str) -> bool) {
        if !Kernel::simd_available() {
            self.set_host_kernels(true, false);
            return;
        }
        self.host = Some(self.host_generator(int8));
        self.host_int8 = Some(self.host_generator(&|_| true));
    }

    /// Whether any residual-stack convolution runs in INT8.
    pub fn uses_int8(&self) -> bool {
        self.host.as_ref().is_some_and(|h| {
            h.noise_res
                .iter()
                .chain(&h.resblocks)
                .any(|b| b.convs1.iter().chain(&b.convs2).any(|c| matches!(c, ResConv::Int8(_))))
        })
    }

    fn host_generator(&self, int8: &dyn Fn(&str) -> bool) -> Arc<HostGenerator> {
        let blocks = |name: &str, blocks: &[AdaInResBlock1]| -> Vec<HostResBlock> {
            blocks.iter().enumerate().map(|(i, b)| b.host(&|conv: &str| int8(&format!("{name}.{i}.{conv}")))).collect()
        };
        Arc::new(HostGenerator {
            noise_res: blocks("noise_res", &self.noise_res),
            resblocks: blocks("resblocks", &self.resblocks),
        })
    }

    /// The same generator without the CPU kernels, for comparisons.
    pub fn without_host_kernels(mut self) -> Self {
        self.set_host_kernels(false, false);
        self
    }

    /// `f0 [2F]` (host) → `har_source [600F]` (host).
    pub fn harmonic_source(&self, f0: &[f32], noise: SourceNoise) -> Vec<f32> {
        let (w, b) = &self.source_mix;
        harmonic_source(f0, w, *b, &SineGenConfig::kokoro_v1(), noise)
    }

    /// The columns of [`Generator::source_spectrum`] of the whole harmonic source that frames `start..end` of a
    /// chunk use (`[1, n_fft + 2, 120·(end − start) + 1]`), bit-identical to narrowing the whole, from only the
    /// source samples those columns read: a stream's first window waits for its own stretch of the source,
    /// not the whole call's. `f0` is the chunk's whole F0 curve (two values a frame).
    pub fn source_spectrum_frames(
        &self,
        f0: &[f32],
        noise: SourceNoise,
        start: usize,
        end: usize,
        device: &burn::tensor::Device,
    ) -> Tensor<3> {
        let cfg = SineGenConfig::kokoro_v1();
        let len = f0.len() * cfg.upsample;
        let per_frame = 2 * cfg.upsample / self.hop;
        let cols = per_frame * start..per_frame * end + 1;
        let need = crate::ort_stft::columns_need(len, &cols);
        let (w, b) = &self.source_mix;
        let part = crate::source::harmonic_source_range(f0, w, *b, &cfg, noise, need.clone());
        let (mag, phase) = crate::ort_stft::source_stft_columns(&part, need.start, len, cols.clone());
        let mut both = mag;
        both.extend_from_slice(&phase);
        Tensor::from_data(TensorData::new(both, [1, self.n_fft + 2, cols.len()]), device)
    }

    /// The source's learnt 9 → 1 mix (`m_source.l_linear`): weights and bias.
    fn read_source_mix(&self) -> (Vec<f32>, f32) {
        let w: Vec<f32> = self.m_source.l_linear.weight.val().into_data().try_into_vec().expect("f32 weights");
        let b = self
            .m_source
            .l_linear
            .bias
            .as_ref()
            .map(|b| b.val().into_data().try_into_vec::<f32>().expect("f32 bias")[0])
            .unwrap_or(0.0);
        (w, b)
    }

    /// Everything up to `conv_post`: `x [1, 512, 2F]`, `har_source [600F]` → `[1, n_fft + 2, 120F + 1]`.
    pub fn conv_post(&self, x: Tensor<3>, style: Tensor<2>, har_source: Vec<f32>) -> Tensor<3> {
        let har = self.source_spectrum(har_source, &x.device());
        self.conv_post_from_spectrum(x, style, har)
    }

    /// The harmonic source's STFT as the network sees it: magnitudes then phases, `[1, n_fft + 2, 120F + 1]`
    /// (computed on the host, bit-exact with the reference; see [`crate::ort_stft`]).
    pub fn source_spectrum(&self, har_source: Vec<f32>, device: &burn::tensor::Device) -> Tensor<3> {
        let (mag, phase) = crate::ort_stft::source_stft(&har_source);
        let frames = mag.len() / (self.n_fft / 2 + 1);
        let mut both = mag;
        both.extend_from_slice(&phase);
        Tensor::from_data(TensorData::new(both, [1, self.n_fft + 2, frames]), device)
    }

    /// The upsampling trunk and `conv_post`, given the source spectrum from [`Generator::source_spectrum`].
    pub fn conv_post_from_spectrum(&self, x: Tensor<3>, style: Tensor<2>, har: Tensor<3>) -> Tensor<3> {
        self.conv_post_from_spectrum_with(x, style, har, false, None)
    }

    /// [`Generator::conv_post_from_spectrum`], with `int8` every residual-stack convolution on the INT8 kernel
    /// (where the CPU kernels are on; otherwise as without).
    ///
    /// `window`: `x` is one window of a longer call; the AdaIN statistics then join the call's earlier windows
    /// (CPU kernels only; see [`NormCarry`]).
    pub fn conv_post_from_spectrum_with(
        &self,
        mut x: Tensor<3>,
        style: Tensor<2>,
        har: Tensor<3>,
        int8: bool,
        mut window: Option<WindowNorm>,
    ) -> Tensor<3> {
        let host = if int8 { self.host_int8.as_ref().or(self.host.as_ref()) } else { self.host.as_ref() };
        let kernels = self.resblocks.len() / self.ups.len();
        for i in 0..self.ups.len() {
            x = leaky_relu(x, 0.1);
            let x_source = self.noise_convs[i].forward(har.clone());
            x = self.ups[i].forward(x);
            if i + 1 == self.ups.len() {
                x = x.pad([(0, 0), (0, 0), (1, 0)], PadMode::Reflect);
            }
            let blocks = &self.resblocks[i * kernels..(i + 1) * kernels];
            x = match host {
                Some(host) => {
                    let device = x.device();
                    let [_, c, t] = x.dims();
                    let mut scratch = HostScratch::default();
                    let mut h = to_host(x_source);
                    self.noise_res[i].forward_host(
                        &host.noise_res[i],
                        &mut h,
                        t,
                        &style,
                        &mut scratch,
                        window.as_mut(),
                    );
                    for (a, b) in h.iter_mut().zip(to_host(x)) {
                        *a += b;
                    }
                    let mut sum = vec![0.0f32; h.len()];
                    let mut y = vec![0.0f32; h.len()];
                    for (j, block) in blocks.iter().enumerate() {
                        y.copy_from_slice(&h);
                        let host = &host.resblocks[i * kernels + j];
                        block.forward_host(host, &mut y, t, &style, &mut scratch, window.as_mut());
                        for (s, v) in sum.iter_mut().zip(&y) {
                            *s += v;
                        }
                    }
                    let inv = 1.0 / kernels as f32;
                    sum.iter_mut().for_each(|v| *v *= inv);
                    Tensor::from_data(TensorData::new(sum, [1, c, t]), &device)
                }
                None => {
                    x = x + self.noise_res[i].forward(x_source, style.clone());
                    let mut sum: Option<Tensor<3>> = None;
                    for block in blocks {
                        let y = block.forward(x.clone(), style.clone());
                        sum = Some(match sum {
                            Some(s) => s + y,
                            None => y,
                        });
                    }
                    sum.expect("at least one resblock").div_scalar(kernels as f32)
                }
            };
        }
        self.conv_post.forward(leaky_relu(x, 0.01))
    }

    /// `conv_post [1, n_fft + 2, N]` → audio `[1, hop · (N − 1)]`: magnitude `exp`, phase `sin` (the trained
    /// model's squashing, kept as is), exact iSTFT.
    pub fn istft(&self, conv_post: Tensor<3>) -> Tensor<2> {
        let stft = Stft::new(self.n_fft, self.hop, &conv_post.device());
        let bins = stft.bins();
        let mag = conv_post.clone().narrow(1, 0, bins).exp();
        let phase = conv_post.narrow(1, bins, bins).sin();
        stft.inverse(mag, phase)
    }
}
