//! `bert`: Kokoro's phoneme-level ALBERT (Hugging Face `AlbertModel`, `last_hidden_state` only).
//!
//! One parameter-shared transformer layer applied 12 times, post-LN, tanh GELU (`gelu_new`), LayerNorm eps 1e-12.
//! The pooler exists in the checkpoint but its output is discarded by Kokoro, so it is not loaded.

use burn::module::{Module, Param};
use burn::tensor::TensorData;
use burn::tensor::activation::{gelu_approximate, softmax};
use burn::tensor::module::embedding;
use burn::tensor::{Int, Tensor};

use crate::nn::{LayerNorm, Linear, LoadError, Loader, exp_f32, key};

#[derive(Debug, Clone)]
pub struct AlbertConfig {
    pub vocab_size: usize,
    pub embedding_size: usize,
    pub hidden_size: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub max_position_embeddings: usize,
    pub num_hidden_layers: usize,
}

impl AlbertConfig {
    /// Kokoro-82M v1.0's `plbert` section plus the ALBERT defaults it relies on.
    pub fn kokoro_v1() -> Self {
        Self {
            vocab_size: 178,
            embedding_size: 128,
            hidden_size: 768,
            num_attention_heads: 12,
            intermediate_size: 2048,
            max_position_embeddings: 512,
            num_hidden_layers: 12,
        }
    }
}

const LN_EPS: f64 = 1e-12;

#[derive(Module, Debug)]
pub struct AlbertEmbeddings {
    pub word_embeddings: Param<Tensor<2>>,
    pub position_embeddings: Param<Tensor<2>>,
    pub token_type_embeddings: Param<Tensor<2>>,
    pub layer_norm: LayerNorm,
}

#[derive(Module, Debug)]
pub struct AlbertAttention {
    pub query: Linear,
    pub key: Linear,
    pub value: Linear,
    pub dense: Linear,
    pub layer_norm: LayerNorm,
    pub heads: usize,
}

/// `encoder.albert_layer_groups.0.albert_layers.0`
#[derive(Module, Debug)]
pub struct AlbertLayer {
    pub attention: AlbertAttention,
    pub ffn: Linear,
    pub ffn_output: Linear,
    pub full_layer_layer_norm: LayerNorm,
}

#[derive(Module, Debug)]
pub struct Albert {
    pub embeddings: AlbertEmbeddings,
    pub embedding_hidden_mapping_in: Linear,
    pub layer: AlbertLayer,
    pub num_hidden_layers: usize,
}

impl Albert {
    pub fn load(l: &mut Loader, prefix: &str, cfg: &AlbertConfig) -> Result<Self, LoadError> {
        let e = key(prefix, "embeddings");
        let embeddings = AlbertEmbeddings {
            word_embeddings: l.param(&key(&e, "word_embeddings.weight"), [cfg.vocab_size, cfg.embedding_size])?,
            position_embeddings: l
                .param(&key(&e, "position_embeddings.weight"), [cfg.max_position_embeddings, cfg.embedding_size])?,
            token_type_embeddings: l.param(&key(&e, "token_type_embeddings.weight"), [2, cfg.embedding_size])?,
            layer_norm: LayerNorm::load(l, &key(&e, "LayerNorm"), cfg.embedding_size, ("weight", "bias"), LN_EPS)?,
        };
        let enc = key(prefix, "encoder");
        let embedding_hidden_mapping_in =
            Linear::load(l, &key(&enc, "embedding_hidden_mapping_in"), cfg.embedding_size, cfg.hidden_size, true)?;
        let lp = key(&enc, "albert_layer_groups.0.albert_layers.0");
        let h = cfg.hidden_size;
        let a = key(&lp, "attention");
        let attention = AlbertAttention {
            query: Linear::load(l, &key(&a, "query"), h, h, true)?,
            key: Linear::load(l, &key(&a, "key"), h, h, true)?,
            value: Linear::load(l, &key(&a, "value"), h, h, true)?,
            dense: Linear::load(l, &key(&a, "dense"), h, h, true)?,
            layer_norm: LayerNorm::load(l, &key(&a, "LayerNorm"), h, ("weight", "bias"), LN_EPS)?,
            heads: cfg.num_attention_heads,
        };
        let layer = AlbertLayer {
            attention,
            ffn: Linear::load(l, &key(&lp, "ffn"), h, cfg.intermediate_size, true)?,
            ffn_output: Linear::load(l, &key(&lp, "ffn_output"), cfg.intermediate_size, h, true)?,
            full_layer_layer_norm: LayerNorm::load(
                l,
                &key(&lp, "full_layer_layer_norm"),
                h,
                ("weight", "bias"),
                LN_EPS,
            )?,
        };
        Ok(Self { embeddings, embedding_hidden_mapping_in, layer, num_hidden_layers: cfg.num_hidden_layers })
    }

    /// Every linear layer (the embedding projection and the shared layer's six).
    pub fn linears(&self) -> [&Linear; 7] {
        let AlbertLayer { attention, ffn, ffn_output, .. } = &self.layer;
        let AlbertAttention { query, key, value, dense, .. } = attention;
        [&self.embedding_hidden_mapping_in, query, key, value, dense, ffn, ffn_output]
    }

    /// Every linear layer (the embedding projection and the shared layer's six), for [`Linear::set_int8`].
    pub fn linears_mut(&mut self) -> [&mut Linear; 7] {
        let AlbertLayer { attention, ffn, ffn_output, .. } = &mut self.layer;
        let AlbertAttention { query, key, value, dense, .. } = attention;
        [&mut self.embedding_hidden_mapping_in, query, key, value, dense, ffn, ffn_output]
    }

    /// `input_ids [1, T]` (pads included) → `last_hidden_state [1, T, hidden]`.
    pub fn forward(&self, input_ids: Tensor<2, Int>) -> Tensor<3> {
        self.forward_with(input_ids, false)
    }

    /// [`Albert::forward`], with `int8` every layer that has an INT8 copy on the INT8 kernel.
    pub fn forward_with(&self, input_ids: Tensor<2, Int>, int8: bool) -> Tensor<3> {
        let [_, t] = input_ids.dims();
        let e = &self.embeddings;
        let words = embedding(e.word_embeddings.val(), input_ids);
        let positions = e.position_embeddings.val().narrow(0, 0, t).unsqueeze_dim::<3>(0);
        // token_type_ids are all zero: row 0 everywhere.
        let token_type = e.token_type_embeddings.val().narrow(0, 0, 1).unsqueeze_dim::<3>(0);
        let x = e.layer_norm.forward(words + positions + token_type);
        let mut x = self.embedding_hidden_mapping_in.forward_with(x, int8);
        for _ in 0..self.num_hidden_layers {
            x = self.layer.forward(x, int8);
        }
        x
    }
}

impl AlbertLayer {
    fn forward(&self, x: Tensor<3>, int8: bool) -> Tensor<3> {
        let attended = self.attention.forward(x, int8);
        let ffn = self.ffn_output.forward_with(gelu_new(self.ffn.forward_with(attended.clone(), int8)), int8);
        self.full_layer_layer_norm.forward(ffn + attended)
    }
}

impl AlbertAttention {
    fn forward(&self, x: Tensor<3>, int8: bool) -> Tensor<3> {
        let [b, t, h] = x.dims();
        let d = h / self.heads;
        let split = |y: Tensor<3>| y.reshape([b, t, self.heads, d]).swap_dims(1, 2);
        let q = split(self.query.forward_with(x.clone(), int8));
        let k = split(self.key.forward_with(x.clone(), int8));
        let v = split(self.value.forward_with(x.clone(), int8));
        // Batch 1 without padding: the additive attention mask is all zeros.
        let scores = q.matmul(k.swap_dims(2, 3)).div_scalar((d as f32).sqrt());
        let context = softmax(scores, 3).matmul(v).swap_dims(1, 2).reshape([b, t, h]);
        self.layer_norm.forward(self.dense.forward_with(context, int8) + x)
    }
}

/// `gelu_new`: `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`.
///
/// On the CPU device it runs on the host: Burn's flex backend evaluates it element by element through libm's
/// `powf` and `tanhf`, which made the activation ~40 % of ALBERT's time; [`gelu_tanh_in_place`] is one
/// vectorised pass. Other devices keep Burn's operation.
fn gelu_new(x: Tensor<3>) -> Tensor<3> {
    let device = x.device();
    if !crate::nn::host_kernels(&device) {
        return gelu_approximate(x);
    }
    let dims = x.dims();
    let mut v: Vec<f32> = x.into_data().convert::<f32>().try_into_vec().expect("f32 activations");
    gelu_tanh_in_place(&mut v);
    Tensor::from_data(TensorData::new(v, dims), &device)
}

/// [`gelu_new`] on a host slice, picking the widest SIMD the CPU has.
pub fn gelu_tanh_in_place(v: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has AVX-512F.
        return unsafe { gelu_avx512(v) };
    }
    gelu_portable(v)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn gelu_avx512(v: &mut [f32]) {
    gelu_portable(v)
}

#[inline(always)]
fn gelu_portable(v: &mut [f32]) {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    for x in v.iter_mut() {
        let u = SQRT_2_OVER_PI * (*x + 0.044_715 * *x * *x * *x);
        // tanh(u) = 1 − 2/(e^{2u} + 1): exact limits ±1 for large |u|, and an absolute error ~1e-7 near 0.
        let tanh = 1.0 - 2.0 / (exp_f32((2.0 * u).clamp(-80.0, 80.0)) + 1.0);
        *x = 0.5 * *x * (1.0 + tanh);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_gelu_matches_the_formula_in_f64() {
        let mut x: Vec<f32> = (-20_000..20_000).map(|i| i as f32 * 1e-3).collect();
        x.extend([-100.0, -30.0, 30.0, 100.0, 1e-7, -1e-7, 0.0]);
        let mut got = x.clone();
        gelu_tanh_in_place(&mut got);
        for (&x, &g) in x.iter().zip(&got) {
            let xd = x as f64;
            let want = 0.5 * xd * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (xd + 0.044715 * xd.powi(3))).tanh());
            assert!((g as f64 - want).abs() <= 1e-6 * want.abs().max(1.0), "gelu({x}) = {g}, want {want}");
        }
    }

    #[test]
    fn host_exp_is_accurate() {
        let mut worst = 0.0f64;
        for i in -80_000..80_000 {
            let x = i as f32 * 1e-3;
            let want = (x as f64).exp();
            worst = worst.max(((exp_f32(x) as f64) - want).abs() / want);
        }
        assert!(worst < 5e-7, "worst relative error {worst}");
    }
}
