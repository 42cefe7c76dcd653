//! Building blocks shared by the acoustic model and the vocoder (StyleTTS2 uses `AdainResBlk1d` in both), and
//! the [`Loader`] that fills them from canonical PyTorch-named weights.
//!
//! Every block keeps PyTorch's parameter layout except `Linear`, whose weight is stored `[in, out]` (Burn's
//! matmul layout); the loader transposes once. Weight norm is already folded by `warble-weights`.

use std::sync::Arc;

use burn::module::{Module, Param};
use burn::tensor::activation::leaky_relu;
use burn::tensor::module::{conv_transpose1d, conv1d, layer_norm, linear};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use burn::tensor::{Device, Int, Tensor, TensorData};
use warble_quant::bf16::{Bf16Kernel, Bf16Linear};
use warble_quant::conv::{Int8Conv, QuantizedRows};
use warble_quant::linear::Int8Linear;
use warble_weights::WeightMap;

/// Whether the model's hand-written host kernels run on `device`: the CPU device (Burn's flex backend) keeps
/// its tensors in host memory; other devices run everything as Burn tensor operations. The one switch the
/// acoustic model and the vocoder consult.
pub fn host_kernels(device: &Device) -> bool {
    *device == Device::flex()
}

/// Whether the INT8 copies of layers are worth building on `device`: host kernels with a SIMD integer kernel
/// (the portable integer loops are slower than f32).
pub fn host_int8(device: &Device) -> bool {
    host_kernels(device) && warble_quant::conv::Kernel::simd_available()
}

/// Whether BF16 copies of matrix products are worth building on `device`: host kernels on a CPU with AVX-512 BF16
/// (the portable loop is slower than f32).
pub fn host_bf16(device: &Device) -> bool {
    host_kernels(device) && Bf16Kernel::simd_available()
}

/// Runs `f` on the rows of `x` (last axis `d_in`) on the host and returns its rows of `d_out` as a tensor on `x`'s
/// device: the round trip of the INT8 and BF16 host kernels.
fn on_host<const D: usize>(x: Tensor<D>, d_out: usize, f: impl FnOnce(&[f32]) -> Vec<f32>) -> Tensor<D> {
    let (device, mut dims) = (x.device(), x.dims());
    let host: Vec<f32> = x.into_data().convert::<f32>().try_into_vec().expect("f32 activations");
    dims[D - 1] = d_out;
    Tensor::from_data(TensorData::new(f(&host), dims), &device)
}

/// A weight that could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("the weights lack `{key}`; the file is not a complete Kokoro-82M v1.0 checkpoint")]
    Missing { key: String },
    #[error("weight `{key}` has shape {found:?}, expected {expected:?}; the file is not Kokoro-82M v1.0")]
    Shape { key: String, expected: Vec<usize>, found: Vec<usize> },
}

/// Takes named tensors out of a [`WeightMap`] and puts them on a device, checking every shape.
pub struct Loader<'a> {
    weights: &'a mut WeightMap,
    device: Device,
}

impl<'a> Loader<'a> {
    pub fn new(weights: &'a mut WeightMap, device: &Device) -> Self {
        Self { weights, device: device.clone() }
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The raw values of `key`, checked against `shape`.
    pub fn host(&mut self, key: &str, shape: &[usize]) -> Result<Vec<f32>, LoadError> {
        let t = self.weights.take(key).map_err(|_| LoadError::Missing { key: key.to_string() })?;
        if t.shape != shape {
            return Err(LoadError::Shape { key: key.to_string(), expected: shape.to_vec(), found: t.shape });
        }
        Ok(t.data)
    }

    pub fn tensor<const D: usize>(&mut self, key: &str, shape: [usize; D]) -> Result<Tensor<D>, LoadError> {
        let data = self.host(key, &shape)?;
        Ok(self.from_host(data, shape))
    }

    pub fn param<const D: usize>(&mut self, key: &str, shape: [usize; D]) -> Result<Param<Tensor<D>>, LoadError> {
        Ok(Param::from_tensor(self.tensor(key, shape)?))
    }

    pub fn from_host<const D: usize>(&self, data: Vec<f32>, shape: [usize; D]) -> Tensor<D> {
        Tensor::from_data(TensorData::new(data, shape), &self.device)
    }
}

/// A weight kept `[in, out]` (and its bias) as PyTorch lays them out: `(weight [out, in], bias [out], out, in)`.
fn in_out_to_pytorch(weight: Tensor<2>, bias: Option<Tensor<1>>) -> (Vec<f32>, Vec<f32>, usize, usize) {
    let [d_in, d_out] = weight.dims();
    let w: Vec<f32> = weight.into_data().convert::<f32>().try_into_vec().expect("f32 weights");
    let mut pytorch = vec![0f32; w.len()];
    for i in 0..d_in {
        for o in 0..d_out {
            pytorch[o * d_in + i] = w[i * d_out + o];
        }
    }
    let bias = match bias {
        Some(b) => b.into_data().convert::<f32>().try_into_vec().expect("f32 bias"),
        None => vec![0.0; d_out],
    };
    (pytorch, bias, d_out, d_in)
}

/// Joins a key prefix and a field name the way PyTorch's state_dict does.
pub fn key(prefix: &str, name: &str) -> String {
    if prefix.is_empty() { name.to_string() } else { format!("{prefix}.{name}") }
}

/// `y = x Wᵀ + b` with `W` kept as `[in, out]`.
#[derive(Module, Debug)]
pub struct Linear {
    pub weight: Param<Tensor<2>>,
    pub bias: Option<Param<Tensor<1>>>,
    /// The same layer on the CPU's INT8 kernel ([`Linear::set_int8`]) for the calls that ask for it
    /// ([`Linear::forward_with`]); `None`: f32 only.
    #[module(skip)]
    pub int8: Option<Arc<Int8Linear>>,
    /// The same layer in BF16 ([`Linear::set_bf16`]), used by every call that does not ask for INT8.
    #[module(skip)]
    pub bf16: Option<Arc<Bf16Linear>>,
    /// The checkpoint key the layer was loaded from (`bert_encoder`): how callers pick layers by their stored
    /// precision.
    #[module(skip)]
    pub key: String,
}

impl Linear {
    pub fn load(l: &mut Loader, prefix: &str, d_in: usize, d_out: usize, bias: bool) -> Result<Self, LoadError> {
        let w = l.host(&key(prefix, "weight"), &[d_out, d_in])?;
        let mut t = vec![0f32; w.len()];
        for o in 0..d_out {
            for i in 0..d_in {
                t[i * d_out + o] = w[o * d_in + i];
            }
        }
        let weight = Param::from_tensor(l.from_host(t, [d_in, d_out]));
        let bias = if bias { Some(l.param(&key(prefix, "bias"), [d_out])?) } else { None };
        Ok(Self { weight, bias, int8: None, bf16: None, key: prefix.to_string() })
    }

    /// The weights as PyTorch lays them out, `(weight [out, in], bias [out], out, in)`, for the host kernels.
    fn pytorch_weights(&self) -> (Vec<f32>, Vec<f32>, usize, usize) {
        let bias = self.bias.as_ref().map(|b| b.val());
        in_out_to_pytorch(self.weight.val(), bias)
    }

    /// Builds the INT8 copy of the layer (quantized per output feature from the loaded weights). Callers build
    /// it only on the CPU device and where the CPU has a SIMD integer kernel
    /// (`warble_quant::conv::Kernel::simd_available`).
    pub fn set_int8(&mut self) {
        let (w, b, d_out, d_in) = self.pytorch_weights();
        self.int8 = Some(Arc::new(Int8Linear::new(&w, &b, d_out, d_in)));
    }

    /// Builds the BF16 copy of the layer, which every call then computes on but those that ask for INT8. Callers
    /// build it only where [`host_bf16`] holds.
    pub fn set_bf16(&mut self) {
        let (w, b, d_out, d_in) = self.pytorch_weights();
        self.bf16 = Some(Arc::new(Bf16Linear::new(&w, &b, d_out, d_in)));
    }

    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        self.forward_with(x, false)
    }

    /// [`Linear::forward`], on the INT8 kernel when `int8` and the layer has an INT8 copy, else on its BF16 copy
    /// if it has one.
    pub fn forward_with<const D: usize>(&self, x: Tensor<D>, int8: bool) -> Tensor<D> {
        match (&self.int8, &self.bf16) {
            (Some(q), _) if int8 => on_host(x, q.d_out(), |h| q.forward(h)),
            (_, Some(b)) => on_host(x, b.d_out(), |h| b.forward(h)),
            _ => linear(x, self.weight.val(), self.bias.as_ref().map(|b| b.val())),
        }
    }
}

/// PyTorch `nn.Conv1d` on `[1, C, L]`.
#[derive(Module, Debug)]
pub struct Conv1d {
    pub weight: Param<Tensor<3>>,
    pub bias: Option<Param<Tensor<1>>>,
    pub stride: usize,
    pub padding: usize,
    pub dilation: usize,
    pub groups: usize,
    /// The same convolution on the CPU's INT8 kernel ([`Conv1d::set_int8`]) for the calls that ask for it
    /// ([`Conv1d::forward_with`]); `None`: f32 only.
    #[module(skip)]
    pub int8: Option<Arc<Int8Conv>>,
}

impl Conv1d {
    /// Loads a Conv1d with weight `[out, in/groups, k]`.
    #[allow(clippy::too_many_arguments)]
    pub fn load(
        l: &mut Loader,
        prefix: &str,
        c_in: usize,
        c_out: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
        dilation: usize,
        bias: bool,
    ) -> Result<Self, LoadError> {
        let weight = l.param(&key(prefix, "weight"), [c_out, c_in, kernel])?;
        let bias = if bias { Some(l.param(&key(prefix, "bias"), [c_out])?) } else { None };
        Ok(Self { weight, bias, stride, padding, dilation, groups: 1, int8: None })
    }

    /// The common case: stride 1, "same" padding for an odd kernel.
    pub fn load_same(
        l: &mut Loader,
        prefix: &str,
        c_in: usize,
        c_out: usize,
        kernel: usize,
        dilation: usize,
    ) -> Result<Self, LoadError> {
        Self::load(l, prefix, c_in, c_out, kernel, 1, dilation * (kernel - 1) / 2, dilation, true)
    }

    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        self.forward_with(x, false)
    }

    /// The convolution quantized per output channel from its loaded weights, for the INT8 kernel, which
    /// computes stride 1, "same" padding, one group. Callers build it only where [`host_int8`] holds.
    pub fn to_int8(&self) -> Int8Conv {
        assert!(
            self.stride == 1 && self.groups == 1 && 2 * self.padding == self.dilation * (self.weight.dims()[2] - 1),
            "the INT8 kernel computes stride-1, same-padded, ungrouped convolutions"
        );
        let [c_out, c_in, k] = self.weight.val().dims();
        let w: Vec<f32> = self.weight.val().into_data().convert::<f32>().try_into_vec().expect("f32 weights");
        let bias = match &self.bias {
            Some(b) => b.val().into_data().convert::<f32>().try_into_vec().expect("f32 bias"),
            None => vec![0.0; c_out],
        };
        Int8Conv::new(&w, &bias, c_out, c_in, k, self.dilation)
    }

    /// Builds the INT8 copy used by [`Conv1d::forward_with`] ([`Conv1d::to_int8`]).
    pub fn set_int8(&mut self) {
        self.int8 = Some(Arc::new(self.to_int8()));
    }

    /// [`Conv1d::forward`], on the INT8 kernel when `int8` and the layer has an INT8 copy.
    pub fn forward_with(&self, x: Tensor<3>, int8: bool) -> Tensor<3> {
        match &self.int8 {
            Some(q) if int8 => int8_conv(q, x),
            _ => conv1d(
                x,
                self.weight.val(),
                self.bias.as_ref().map(|b| b.val()),
                ConvOptions::new([self.stride], [self.padding], [self.dilation], self.groups),
            ),
        }
    }
}

/// `x [1, C, T]` through an INT8 convolution, on the host (activations quantized per tile and channel group).
pub fn int8_conv(conv: &Int8Conv, x: Tensor<3>) -> Tensor<3> {
    let device = x.device();
    let [_, c, t] = x.dims();
    let host: Vec<f32> = x.into_data().convert::<f32>().try_into_vec().expect("f32 activations");
    let mut q = QuantizedRows::new();
    q.quantize(c, t, conv.halo(), |i| &host[i * t..(i + 1) * t]);
    let c_out = conv.c_out();
    let mut y = vec![0.0f32; c_out * t];
    conv.forward(&q, &mut y, false);
    Tensor::from_data(TensorData::new(y, [1, c_out, t]), &device)
}

/// PyTorch `nn.ConvTranspose1d` on `[1, C, L]`, weight `[in, out/groups, k]`.
#[derive(Module, Debug)]
pub struct ConvTranspose1d {
    pub weight: Param<Tensor<3>>,
    pub bias: Option<Param<Tensor<1>>>,
    pub stride: usize,
    pub padding: usize,
    pub padding_out: usize,
    pub groups: usize,
}

impl ConvTranspose1d {
    #[allow(clippy::too_many_arguments)]
    pub fn load(
        l: &mut Loader,
        prefix: &str,
        c_in: usize,
        c_out: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
        padding_out: usize,
        groups: usize,
    ) -> Result<Self, LoadError> {
        let weight = l.param(&key(prefix, "weight"), [c_in, c_out / groups, kernel])?;
        let bias = Some(l.param(&key(prefix, "bias"), [c_out])?);
        Ok(Self { weight, bias, stride, padding, padding_out, groups })
    }

    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        conv_transpose1d(
            x,
            self.weight.val(),
            self.bias.as_ref().map(|b| b.val()),
            ConvTransposeOptions::new([self.stride], [self.padding], [self.padding_out], [1], self.groups),
        )
    }
}

/// Layer normalisation over the last dimension with learnt scale and shift (`weight`/`bias` or `gamma`/`beta`).
#[derive(Module, Debug)]
pub struct LayerNorm {
    pub gamma: Param<Tensor<1>>,
    pub beta: Param<Tensor<1>>,
    pub epsilon: f64,
}

impl LayerNorm {
    /// `names` are the checkpoint's names for scale and shift: ("weight", "bias") in ALBERT, ("gamma", "beta") in
    /// the text encoder.
    pub fn load(
        l: &mut Loader,
        prefix: &str,
        dim: usize,
        names: (&str, &str),
        epsilon: f64,
    ) -> Result<Self, LoadError> {
        Ok(Self {
            gamma: l.param(&key(prefix, names.0), [dim])?,
            beta: l.param(&key(prefix, names.1), [dim])?,
            epsilon,
        })
    }

    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        layer_norm(x, self.gamma.val(), Some(self.beta.val()), self.epsilon)
    }
}

/// Normalises `[1, C, L]` over the time axis, per channel, with biased variance and no affine step
/// (Kokoro's `InstanceNorm1d`: the checkpoint has no affine parameters, so they stay at 1 and 0).
pub fn instance_norm(x: Tensor<3>, epsilon: f64) -> Tensor<3> {
    let (var, mean) = x.clone().var_mean_bias(2);
    (x - mean).div(var.add_scalar(epsilon).sqrt())
}

/// Normalises the last dimension without affine parameters.
pub fn plain_layer_norm<const D: usize>(x: Tensor<D>, epsilon: f64) -> Tensor<D> {
    let (var, mean) = x.clone().var_mean_bias(D - 1);
    (x - mean).div(var.add_scalar(epsilon).sqrt())
}

/// Adaptive instance norm: `(1 + γ(s)) · IN(x) + β(s)`, with `γ, β` from a linear map of the style vector.
#[derive(Module, Debug)]
pub struct AdaIn1d {
    pub fc: Linear,
    pub channels: usize,
}

impl AdaIn1d {
    pub fn load(l: &mut Loader, prefix: &str, style_dim: usize, channels: usize) -> Result<Self, LoadError> {
        Ok(Self { fc: Linear::load(l, &key(prefix, "fc"), style_dim, 2 * channels, true)?, channels })
    }

    /// `x [1, C, L]`, `style [1, S]`.
    pub fn forward(&self, x: Tensor<3>, style: Tensor<2>) -> Tensor<3> {
        let (gamma, beta) = self.style_affine(style);
        let normed = instance_norm(x, 1e-5);
        normed * gamma.add_scalar(1.0) + beta
    }

    /// `γ` and `β` as `[1, C, 1]`; they depend on the style only, so callers may compute them once per utterance.
    pub fn style_affine(&self, style: Tensor<2>) -> (Tensor<3>, Tensor<3>) {
        let h = self.fc.forward(style);
        let c = self.channels;
        let gamma = h.clone().narrow(1, 0, c).reshape([1, c, 1]);
        let beta = h.narrow(1, c, c).reshape([1, c, 1]);
        (gamma, beta)
    }
}

/// StyleTTS2's `AdainResBlk1d`: two AdaIN → LeakyReLU(0.2) → conv stages, optional ×2 upsampling by a
/// depthwise transposed conv (`pool`), a learnt 1×1 shortcut when the width changes, output scaled by 1/√2.
#[derive(Module, Debug)]
pub struct AdainResBlk1d {
    pub norm1: AdaIn1d,
    pub conv1: Conv1d,
    pub norm2: AdaIn1d,
    pub conv2: Conv1d,
    pub conv1x1: Option<Conv1d>,
    pub pool: Option<ConvTranspose1d>,
}

impl AdainResBlk1d {
    pub fn load(
        l: &mut Loader,
        prefix: &str,
        dim_in: usize,
        dim_out: usize,
        style_dim: usize,
        upsample: bool,
    ) -> Result<Self, LoadError> {
        let k = |n: &str| key(prefix, n);
        Ok(Self {
            norm1: AdaIn1d::load(l, &k("norm1"), style_dim, dim_in)?,
            conv1: Conv1d::load_same(l, &k("conv1"), dim_in, dim_out, 3, 1)?,
            norm2: AdaIn1d::load(l, &k("norm2"), style_dim, dim_out)?,
            conv2: Conv1d::load_same(l, &k("conv2"), dim_out, dim_out, 3, 1)?,
            conv1x1: if dim_in != dim_out {
                Some(Conv1d::load(l, &k("conv1x1"), dim_in, dim_out, 1, 1, 0, 1, false)?)
            } else {
                None
            },
            pool: if upsample {
                Some(ConvTranspose1d::load(l, &k("pool"), dim_in, dim_in, 3, 2, 1, 1, dim_in)?)
            } else {
                None
            },
        })
    }

    pub fn forward(&self, x: Tensor<3>, style: Tensor<2>) -> Tensor<3> {
        self.forward_with(x, style, &|_, conv, x| conv.forward(x))
    }

    /// [`AdainResBlk1d::forward`] with the block's convolutions run by `conv(which, layer, x)`, `which` being
    /// `0` for `conv1`, `1` for `conv2`, `2` for `conv1x1` (so a caller can put some of them on another kernel).
    pub fn forward_with(
        &self,
        x: Tensor<3>,
        style: Tensor<2>,
        conv: &dyn Fn(usize, &Conv1d, Tensor<3>) -> Tensor<3>,
    ) -> Tensor<3> {
        let mut shortcut = x.clone();
        if self.pool.is_some() {
            shortcut = upsample_nearest2(shortcut);
        }
        if let Some(c) = &self.conv1x1 {
            shortcut = conv(2, c, shortcut);
        }
        let mut r = leaky_relu(self.norm1.forward(x, style.clone()), 0.2);
        if let Some(pool) = &self.pool {
            r = pool.forward(r);
        }
        let r = conv(0, &self.conv1, r);
        let r = leaky_relu(self.norm2.forward(r, style), 0.2);
        let r = conv(1, &self.conv2, r);
        // The export divides by the rounded constant √2 rather than multiplying by rsqrt(2).
        (r + shortcut).div_scalar(std::f32::consts::SQRT_2)
    }
}

/// Nearest-neighbour ×2 along time: `[1, C, L] → [1, C, 2L]`.
pub fn upsample_nearest2(x: Tensor<3>) -> Tensor<3> {
    let [b, c, len] = x.dims();
    x.unsqueeze_dim::<4>(3).repeat_dim(3, 2).reshape([b, c, 2 * len])
}

/// A bidirectional single-layer LSTM with PyTorch semantics (gates i, f, g, o; both biases; zero initial state),
/// batch 1.
///
/// The input projection for all time steps is one matmul on the device; the recurrence runs on the host, because
/// a per-step tensor graph costs thousands of tiny dispatches (kernel launches on a GPU) for a 256×1024
/// mat-vec each (on AVX-512, one fused kernel per step: [`lstm_recurrence`]).
#[derive(Module, Debug)]
pub struct BiLstm {
    /// `[in, 8H]`: forward gates then reverse gates, transposed from PyTorch's `weight_ih_l0{,_reverse}`.
    pub w_ih: Param<Tensor<2>>,
    /// `[8H]`: `bias_ih + bias_hh` for both directions.
    pub bias: Param<Tensor<1>>,
    /// `[2, H, 4H]`: transposed `weight_hh_l0{,_reverse}`, so row k holds h[k]'s contribution to all gates.
    /// Kept on the host, where the recurrence always runs (as a device tensor it was copied out, 2 MB, on every
    /// call).
    #[module(skip)]
    pub w_hh: Arc<Vec<f32>>,
    pub hidden: usize,
    /// The input projection in BF16 ([`BiLstm::set_bf16`]).
    #[module(skip)]
    pub w_ih_bf16: Option<Arc<Bf16Linear>>,
    /// The checkpoint key prefix (`predictor.lstm`).
    #[module(skip)]
    pub key: String,
}

impl BiLstm {
    pub fn load(l: &mut Loader, prefix: &str, d_in: usize, hidden: usize) -> Result<Self, LoadError> {
        let g = 4 * hidden;
        let mut w_ih = vec![0f32; d_in * 2 * g];
        let mut bias = vec![0f32; 2 * g];
        let mut w_hh = vec![0f32; 2 * hidden * g];
        for (dir, suffix) in ["", "_reverse"].iter().enumerate() {
            let wi = l.host(&key(prefix, &format!("weight_ih_l0{suffix}")), &[g, d_in])?;
            let wh = l.host(&key(prefix, &format!("weight_hh_l0{suffix}")), &[g, hidden])?;
            let bi = l.host(&key(prefix, &format!("bias_ih_l0{suffix}")), &[g])?;
            let bh = l.host(&key(prefix, &format!("bias_hh_l0{suffix}")), &[g])?;
            for r in 0..g {
                for i in 0..d_in {
                    w_ih[i * 2 * g + dir * g + r] = wi[r * d_in + i];
                }
                for k in 0..hidden {
                    w_hh[dir * hidden * g + k * g + r] = wh[r * hidden + k];
                }
                bias[dir * g + r] = bi[r] + bh[r];
            }
        }
        Ok(Self {
            w_ih: Param::from_tensor(l.from_host(w_ih, [d_in, 2 * g])),
            bias: Param::from_tensor(l.from_host(bias, [2 * g])),
            w_hh: Arc::new(w_hh),
            hidden,
            w_ih_bf16: None,
            key: prefix.to_string(),
        })
    }

    /// Builds the BF16 copy of the input projection, which every call then computes on. Callers build it only
    /// where [`host_bf16`] holds.
    pub fn set_bf16(&mut self) {
        let (w, b, d_out, d_in) = in_out_to_pytorch(self.w_ih.val(), Some(self.bias.val()));
        self.w_ih_bf16 = Some(Arc::new(Bf16Linear::new(&w, &b, d_out, d_in)));
    }

    /// The input projection of every step, `[1, T, in] → [1, T, 8H]`.
    fn project(&self, x: Tensor<3>) -> Tensor<3> {
        match &self.w_ih_bf16 {
            Some(b) => on_host(x, b.d_out(), |h| b.forward(h)),
            None => linear(x, self.w_ih.val(), Some(self.bias.val())),
        }
    }

    /// `x [1, T, in] → [1, T, 2H]` (forward outputs then reverse outputs on the feature axis).
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let projected = self.project(x);
        self.recur(projected)
    }

    /// [`BiLstm::forward`] over `x.select(1, index)` (token features repeated over frames), with the input
    /// projection made per token and then gathered: the same numbers, from `T` rows of the matmul instead of
    /// one per frame (~2.5× fewer for speech).
    pub fn forward_gathered(&self, x: Tensor<3>, index: Tensor<1, Int>) -> Tensor<3> {
        let projected = self.project(x);
        self.recur(projected.select(1, index))
    }

    /// The recurrence over input projections `[1, T, 8H]`.
    fn recur(&self, projected: Tensor<3>) -> Tensor<3> {
        let [_, t, _] = projected.dims();
        let device = projected.device();
        let xw: Vec<f32> = projected.into_data().try_into_vec().expect("f32 LSTM projection");
        let h = self.hidden;
        let out = lstm_recurrence(&xw, &self.w_hh, t, h);
        Tensor::from_data(TensorData::new(out, [1, t, 2 * h]), &device)
    }
}

/// Runs both directions of the recurrence (in parallel) over precomputed input projections `xw [T, 8H]`, on the
/// widest SIMD the CPU has.
pub fn lstm_recurrence(xw: &[f32], w_hh: &[f32], t: usize, h: usize) -> Vec<f32> {
    both_directions(xw, w_hh, t, h, lstm_direction)
}

/// [`lstm_recurrence`] on the portable path whatever the CPU (libm's `expf` and `tanhf`): what a CPU without
/// AVX-512 runs; tests and benches compare the two.
pub fn lstm_recurrence_portable(xw: &[f32], w_hh: &[f32], t: usize, h: usize) -> Vec<f32> {
    both_directions(xw, w_hh, t, h, |xw, w_hh, t, h, offset, reverse, out| {
        lstm_steps(xw, w_hh, t, h, offset, reverse, out, |x| 1.0 / (1.0 + (-x).exp()), f32::tanh, recur_portable)
    })
}

type Direction = fn(&[f32], &[f32], usize, usize, usize, bool, &mut [f32]);

fn both_directions(xw: &[f32], w_hh: &[f32], t: usize, h: usize, direction: Direction) -> Vec<f32> {
    let g = 4 * h;
    let mut fwd = vec![0f32; t * h];
    let mut rev = vec![0f32; t * h];
    std::thread::scope(|scope| {
        scope.spawn(|| direction(xw, &w_hh[..h * g], t, h, 0, false, &mut fwd));
        direction(xw, &w_hh[h * g..], t, h, g, true, &mut rev);
    });
    let mut out = vec![0f32; t * 2 * h];
    for step in 0..t {
        out[step * 2 * h..step * 2 * h + h].copy_from_slice(&fwd[step * h..(step + 1) * h]);
        out[step * 2 * h + h..(step + 1) * 2 * h].copy_from_slice(&rev[step * h..(step + 1) * h]);
    }
    out
}

fn lstm_direction(xw: &[f32], w_hh: &[f32], t: usize, h: usize, offset: usize, reverse: bool, out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("fma") && (4 * h).is_multiple_of(16) {
        // SAFETY: the CPU has AVX-512F and FMA.
        return unsafe { lstm_direction_avx512(xw, w_hh, t, h, offset, reverse, out) };
    }
    lstm_steps(xw, w_hh, t, h, offset, reverse, out, |x| 1.0 / (1.0 + (-x).exp()), f32::tanh, recur_portable)
}

/// The recurrence compiled for AVX-512: the mat-vec as 16-wide FMAs, and the gates' sigmoids and tanhs through
/// the branch-free [`exp_f32`] so that they vectorise too (libm's scalar `expf`/`tanhf` were as costly as the
/// mat-vec). Both agree with libm to ~2e-7 relative.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
unsafe fn lstm_direction_avx512(
    xw: &[f32],
    w_hh: &[f32],
    t: usize,
    h: usize,
    offset: usize,
    reverse: bool,
    out: &mut [f32],
) {
    // e^{−x} and e^{2x} are clamped to |·| ≤ 80: sigmoid and tanh are exactly 0/±1 there in f32.
    let sigmoid = |x: f32| 1.0 / (1.0 + exp_f32((-x).clamp(-80.0, 80.0)));
    let tanh = |x: f32| 1.0 - 2.0 / (exp_f32((2.0 * x).clamp(-80.0, 80.0)) + 1.0);
    // SAFETY (the closure): this function runs only where the CPU has AVX-512F.
    let recur = |gates: &mut [f32], hidden: &[f32], w: &[f32]| unsafe { recur_avx512(gates, hidden, w) };
    lstm_steps(xw, w_hh, t, h, offset, reverse, out, sigmoid, tanh, recur)
}

/// `gates += hidden · w` (`w [H, 4H]` row-major) with the gates held in registers, 256 at a time: each
/// weight is read once per step, the gates never go through memory inside the sum (the plain loop loads and
/// stores all 4H gates for every hidden unit).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn recur_avx512(gates: &mut [f32], hidden: &[f32], w: &[f32]) {
    use std::arch::x86_64::{__m512, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_set1_ps, _mm512_storeu_ps};
    const V: usize = 16;
    let g = gates.len();
    assert!(g.is_multiple_of(16) && w.len() == hidden.len() * g, "gates are whole vectors, weights [H, 4H]");
    let mut start = 0;
    while start < g {
        // A block of V vectors, or the vectors left.
        let n = ((g - start) / 16).min(V);
        // SAFETY: every access is inside `gates[start..start + 16n]` or row k's `w[k·g + start..][..16n]`.
        unsafe {
            let gp = gates.as_mut_ptr().add(start);
            let mut acc: [__m512; V] = std::array::from_fn(|v| _mm512_loadu_ps(gp.add(16 * v.min(n - 1))));
            for (k, &hk) in hidden.iter().enumerate() {
                let hb = _mm512_set1_ps(hk);
                let row = w.as_ptr().add(k * g + start);
                if n == V {
                    for (v, a) in acc.iter_mut().enumerate() {
                        *a = _mm512_fmadd_ps(_mm512_loadu_ps(row.add(16 * v)), hb, *a);
                    }
                } else {
                    for (v, a) in acc.iter_mut().enumerate().take(n) {
                        *a = _mm512_fmadd_ps(_mm512_loadu_ps(row.add(16 * v)), hb, *a);
                    }
                }
            }
            for (v, a) in acc.iter().enumerate().take(n) {
                _mm512_storeu_ps(gp.add(16 * v), *a);
            }
        }
        start += 16 * n;
    }
}

/// `gates += hidden · w` (`w [H, 4H]` row-major), one hidden unit's row at a time.
#[inline(always)]
fn recur_portable(gates: &mut [f32], hidden: &[f32], w: &[f32]) {
    let g = gates.len();
    for (k, &hk) in hidden.iter().enumerate() {
        for (acc, w) in gates.iter_mut().zip(&w[k * g..(k + 1) * g]) {
            *acc += hk * w;
        }
    }
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn lstm_steps(
    xw: &[f32],
    w_hh: &[f32],
    t: usize,
    h: usize,
    offset: usize,
    reverse: bool,
    out: &mut [f32],
    sigmoid: impl Fn(f32) -> f32,
    tanh: impl Fn(f32) -> f32,
    recur: impl Fn(&mut [f32], &[f32], &[f32]),
) {
    let g = 4 * h;
    let mut hidden = vec![0f32; h];
    let mut cell = vec![0f32; h];
    let mut gates = vec![0f32; g];
    for step in 0..t {
        let ti = if reverse { t - 1 - step } else { step };
        gates.copy_from_slice(&xw[ti * 2 * g + offset..ti * 2 * g + offset + g]);
        recur(&mut gates, &hidden, w_hh);
        let (i, rest) = gates.split_at_mut(h);
        let (f, rest) = rest.split_at_mut(h);
        let (c_in, o) = rest.split_at_mut(h);
        for j in 0..h {
            (i[j], f[j], c_in[j], o[j]) = (sigmoid(i[j]), sigmoid(f[j]), tanh(c_in[j]), sigmoid(o[j]));
        }
        for j in 0..h {
            cell[j] = f[j] * cell[j] + i[j] * c_in[j];
            c_in[j] = tanh(cell[j]);
        }
        for j in 0..h {
            hidden[j] = o[j] * c_in[j];
        }
        out[ti * h..(ti + 1) * h].copy_from_slice(&hidden);
    }
}

/// `e^x` for |x| ≤ 80, branch-free so that it vectorises: `2^n · e^r` with `n = round(x/ln 2)`, `r` reduced with
/// ln 2 split in two, and a degree-6 polynomial for `e^r` on [−ln2/2, ln2/2] (relative error < 2e-7).
#[inline(always)]
pub(crate) fn exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    const ROUND: f32 = 12_582_912.0;
    let n = (x * LOG2E + ROUND) - ROUND;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let p = r.mul_add(1.0 / 720.0, 1.0 / 120.0);
    let p = r.mul_add(p, 1.0 / 24.0);
    let p = r.mul_add(p, 1.0 / 6.0);
    let p = r.mul_add(p, 0.5);
    let p = r.mul_add(p, 1.0);
    let p = r.mul_add(p, 1.0);
    let scale = f32::from_bits(((n as i32 + 127) as u32) << 23);
    p * scale
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PyTorch's LSTM cell in f64, one direction.
    fn reference(xw: &[f32], w_hh: &[f32], t: usize, h: usize, offset: usize, reverse: bool) -> Vec<f64> {
        let g = 4 * h;
        let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
        let (mut hidden, mut cell, mut out) = (vec![0f64; h], vec![0f64; h], vec![0f64; t * h]);
        for step in 0..t {
            let ti = if reverse { t - 1 - step } else { step };
            let mut gates: Vec<f64> = xw[ti * 2 * g + offset..][..g].iter().map(|&v| f64::from(v)).collect();
            for (k, &hk) in hidden.iter().enumerate() {
                for (acc, &w) in gates.iter_mut().zip(&w_hh[k * g..(k + 1) * g]) {
                    *acc += hk * f64::from(w);
                }
            }
            for j in 0..h {
                let (i, f, c, o) =
                    (sigmoid(gates[j]), sigmoid(gates[h + j]), gates[2 * h + j].tanh(), sigmoid(gates[3 * h + j]));
                cell[j] = f * cell[j] + i * c;
                hidden[j] = o * cell[j].tanh();
            }
            out[ti * h..(ti + 1) * h].copy_from_slice(&hidden);
        }
        out
    }

    /// A linear layer's and an LSTM's BF16 copies compute what f32 computes, to bf16's rounding, and are what
    /// the layers run once built.
    #[test]
    fn bf16_copies_follow_the_f32_layers() {
        let device = Device::flex();
        let (d_in, d_out, hidden) = (70usize, 37usize, 8usize);
        let values = |n: usize, seed: usize| -> Vec<f32> {
            (0..n).map(|i| (((i * 7919 + seed * 104_729) % 1000) as f32 / 1000.0 - 0.5) * 0.4).collect()
        };
        let mut weights = WeightMap::default();
        let mut put = |key: &str, shape: Vec<usize>, seed: usize| {
            let n = shape.iter().product();
            weights.insert(key.into(), warble_weights::Tensor::new(shape, values(n, seed)).unwrap());
        };
        put("proj.weight", vec![d_out, d_in], 1);
        put("proj.bias", vec![d_out], 2);
        for (i, suffix) in ["", "_reverse"].iter().enumerate() {
            put(&format!("lstm.weight_ih_l0{suffix}"), vec![4 * hidden, d_in], 3 + i);
            put(&format!("lstm.weight_hh_l0{suffix}"), vec![4 * hidden, hidden], 5 + i);
            put(&format!("lstm.bias_ih_l0{suffix}"), vec![4 * hidden], 7 + i);
            put(&format!("lstm.bias_hh_l0{suffix}"), vec![4 * hidden], 9 + i);
        }
        let mut l = Loader::new(&mut weights, &device);
        let mut linear = Linear::load(&mut l, "proj", d_in, d_out, true).unwrap();
        let mut lstm = BiLstm::load(&mut l, "lstm", d_in, hidden).unwrap();
        assert_eq!((linear.key.as_str(), lstm.key.as_str()), ("proj", "lstm"));
        let x = Tensor::<3>::from_data(TensorData::new(values(11 * d_in, 13), [1, 11, d_in]), &device);
        let host = |t: Tensor<3>| -> Vec<f32> { t.into_data().try_into_vec().unwrap() };
        let (f32_linear, f32_lstm) = (host(linear.forward(x.clone())), host(lstm.forward(x.clone())));
        linear.set_bf16();
        lstm.set_bf16();
        let (bf16_linear, bf16_lstm) = (host(linear.forward(x.clone())), host(lstm.forward(x)));
        for (name, a, b, limit) in [("linear", &f32_linear, &bf16_linear, 6e-3), ("lstm", &f32_lstm, &bf16_lstm, 1e-2)]
        {
            assert_ne!(a, b, "{name}: the BF16 copy is in use");
            let err: f32 = a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f32>().sqrt();
            let norm: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!(err / norm < limit, "{name}: relative error {}", err / norm);
        }
    }

    #[test]
    fn the_recurrence_matches_an_f64_lstm_on_every_path() {
        let (t, h) = (37, 24);
        let g = 4 * h;
        // Deterministic pseudo-random values; the projections span saturated gates (|x| up to ~12).
        let mut seed = 0x2545_f491_u32;
        let mut next = |scale: f32| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            (seed as f32 / u32::MAX as f32 * 2.0 - 1.0) * scale
        };
        let xw: Vec<f32> = (0..t * 2 * g).map(|_| next(12.0)).collect();
        let w_hh: Vec<f32> = (0..2 * h * g).map(|_| next(0.6)).collect();
        let fastest = lstm_recurrence(&xw, &w_hh, t, h);
        let portable = lstm_recurrence_portable(&xw, &w_hh, t, h);
        for (dir, offset) in [(0, 0), (1, g)] {
            let want = reference(&xw, &w_hh[dir * h * g..(dir + 1) * h * g], t, h, offset, dir == 1);
            for step in 0..t {
                for j in 0..h {
                    let b = want[step * h + j];
                    for (path, got) in [("fastest", &fastest), ("portable", &portable)] {
                        let a = got[step * 2 * h + dir * h + j];
                        assert!(
                            (f64::from(a) - b).abs() < 2e-5,
                            "{path}: direction {dir}, step {step}, unit {j}: {a} vs {b}"
                        );
                    }
                }
            }
        }
    }
}
