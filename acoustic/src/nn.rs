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
use burn::tensor::{Device, Tensor, TensorData};
use warble_quant::linear::Int8Linear;
use warble_weights::WeightMap;

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
        Ok(Self { weight, bias, int8: None })
    }

    /// Builds the INT8 copy of the layer (quantized per output feature from the loaded weights). Callers build
    /// it only on the CPU device and where the CPU has a SIMD integer kernel
    /// (`warble_quant::conv::Kernel::simd_available`).
    pub fn set_int8(&mut self) {
        let [d_in, d_out] = self.weight.val().dims();
        let w: Vec<f32> = self.weight.val().into_data().convert::<f32>().try_into_vec().expect("f32 weights");
        let mut pytorch = vec![0f32; w.len()];
        for i in 0..d_in {
            for o in 0..d_out {
                pytorch[o * d_in + i] = w[i * d_out + o];
            }
        }
        let bias = match &self.bias {
            Some(b) => b.val().into_data().convert::<f32>().try_into_vec().expect("f32 bias"),
            None => vec![0.0; d_out],
        };
        self.int8 = Some(Arc::new(Int8Linear::new(&pytorch, &bias, d_out, d_in)));
    }

    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        self.forward_with(x, false)
    }

    /// [`Linear::forward`], on the INT8 kernel when `int8` and the layer has an INT8 copy.
    pub fn forward_with<const D: usize>(&self, x: Tensor<D>, int8: bool) -> Tensor<D> {
        match &self.int8 {
            Some(q) if int8 => {
                let (device, dims) = (x.device(), x.dims());
                let host: Vec<f32> = x.into_data().convert::<f32>().try_into_vec().expect("f32 activations");
                let mut out_dims = dims;
                out_dims[D - 1] = q.d_out();
                Tensor::from_data(TensorData::new(q.forward(&host), out_dims), &device)
            }
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
        Ok(Self { weight, bias, stride, padding, dilation, groups: 1 })
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
        conv1d(
            x,
            self.weight.val(),
            self.bias.as_ref().map(|b| b.val()),
            ConvOptions::new([self.stride], [self.padding], [self.dilation], self.groups),
        )
    }
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
/// mat-vec each. This is the hot path to replace with a fused kernel later.
#[derive(Module, Debug)]
pub struct BiLstm {
    /// `[in, 8H]`: forward gates then reverse gates, transposed from PyTorch's `weight_ih_l0{,_reverse}`.
    pub w_ih: Param<Tensor<2>>,
    /// `[8H]`: `bias_ih + bias_hh` for both directions.
    pub bias: Param<Tensor<1>>,
    /// `[2, H, 4H]`: transposed `weight_hh_l0{,_reverse}`, so row k holds h[k]'s contribution to all gates.
    pub w_hh: Param<Tensor<3>>,
    pub hidden: usize,
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
            w_hh: Param::from_tensor(l.from_host(w_hh, [2, hidden, g])),
            hidden,
        })
    }

    /// `x [1, T, in] → [1, T, 2H]` (forward outputs then reverse outputs on the feature axis).
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [_, t, _] = x.dims();
        let device = x.device();
        let projected = linear(x, self.w_ih.val(), Some(self.bias.val()));
        let xw: Vec<f32> = projected.into_data().try_into_vec().expect("f32 LSTM projection");
        let w_hh: Vec<f32> = self.w_hh.val().into_data().try_into_vec().expect("f32 LSTM weights");
        let h = self.hidden;
        let out = lstm_recurrence(&xw, &w_hh, t, h);
        Tensor::from_data(TensorData::new(out, [1, t, 2 * h]), &device)
    }
}

/// Runs both directions of the recurrence (in parallel) over precomputed input projections `xw [T, 8H]`.
pub fn lstm_recurrence(xw: &[f32], w_hh: &[f32], t: usize, h: usize) -> Vec<f32> {
    let g = 4 * h;
    let mut fwd = vec![0f32; t * h];
    let mut rev = vec![0f32; t * h];
    std::thread::scope(|scope| {
        scope.spawn(|| lstm_direction(xw, &w_hh[..h * g], t, h, 0, false, &mut fwd));
        lstm_direction(xw, &w_hh[h * g..], t, h, g, true, &mut rev);
    });
    let mut out = vec![0f32; t * 2 * h];
    for step in 0..t {
        out[step * 2 * h..step * 2 * h + h].copy_from_slice(&fwd[step * h..(step + 1) * h]);
        out[step * 2 * h + h..(step + 1) * 2 * h].copy_from_slice(&rev[step * h..(step + 1) * h]);
    }
    out
}

fn lstm_direction(xw: &[f32], w_hh: &[f32], t: usize, h: usize, offset: usize, reverse: bool, out: &mut [f32]) {
    let g = 4 * h;
    let mut hidden = vec![0f32; h];
    let mut cell = vec![0f32; h];
    let mut gates = vec![0f32; g];
    for step in 0..t {
        let ti = if reverse { t - 1 - step } else { step };
        gates.copy_from_slice(&xw[ti * 2 * g + offset..ti * 2 * g + offset + g]);
        for (k, &hk) in hidden.iter().enumerate() {
            let row = &w_hh[k * g..(k + 1) * g];
            for (acc, w) in gates.iter_mut().zip(row) {
                *acc += hk * w;
            }
        }
        for j in 0..h {
            let i = sigmoid_f32(gates[j]);
            let f = sigmoid_f32(gates[h + j]);
            let c_in = gates[2 * h + j].tanh();
            let o = sigmoid_f32(gates[3 * h + j]);
            cell[j] = f * cell[j] + i * c_in;
            hidden[j] = o * cell[j].tanh();
        }
        out[ti * h..(ti + 1) * h].copy_from_slice(&hidden);
    }
}

fn sigmoid_f32(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}
