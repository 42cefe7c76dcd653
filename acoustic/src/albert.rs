//! `bert`: Kokoro's phoneme-level ALBERT (Hugging Face `AlbertModel`, `last_hidden_state` only).
//!
//! One parameter-shared transformer layer applied 12 times, post-LN, tanh GELU (`gelu_new`), LayerNorm eps 1e-12.
//! The pooler exists in the checkpoint but its output is discarded by Kokoro, so it is not loaded.

use burn::module::{Module, Param};
use burn::tensor::activation::{gelu_approximate, softmax};
use burn::tensor::module::embedding;
use burn::tensor::{Int, Tensor};

use crate::nn::{key, LayerNorm, Linear, LoadError, Loader};

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
            position_embeddings: l.param(
                &key(&e, "position_embeddings.weight"),
                [cfg.max_position_embeddings, cfg.embedding_size],
            )?,
            token_type_embeddings: l.param(&key(&e, "token_type_embeddings.weight"), [2, cfg.embedding_size])?,
            layer_norm: LayerNorm::load(l, &key(&e, "LayerNorm"), cfg.embedding_size, ("weight", "bias"), LN_EPS)?,
        };
        let enc = key(prefix, "encoder");
        let embedding_hidden_mapping_in = Linear::load(
            l,
            &key(&enc, "embedding_hidden_mapping_in"),
            cfg.embedding_size,
            cfg.hidden_size,
            true,
        )?;
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
            full_layer_layer_norm: LayerNorm::load(l, &key(&lp, "full_layer_layer_norm"), h, ("weight", "bias"), LN_EPS)?,
        };
        Ok(Self {
            embeddings,
            embedding_hidden_mapping_in,
            layer,
            num_hidden_layers: cfg.num_hidden_layers,
        })
    }

    /// `input_ids [1, T]` (pads included) → `last_hidden_state [1, T, hidden]`.
    pub fn forward(&self, input_ids: Tensor<2, Int>) -> Tensor<3> {
        let [_, t] = input_ids.dims();
        let e = &self.embeddings;
        let words = embedding(e.word_embeddings.val(), input_ids);
        let positions = e.position_embeddings.val().narrow(0, 0, t).unsqueeze_dim::<3>(0);
        // token_type_ids are all zero: row 0 everywhere.
        let token_type = e.token_type_embeddings.val().narrow(0, 0, 1).unsqueeze_dim::<3>(0);
        let x = e.layer_norm.forward(words + positions + token_type);
        let mut x = self.embedding_hidden_mapping_in.forward(x);
        for _ in 0..self.num_hidden_layers {
            x = self.layer.forward(x);
        }
        x
    }
}

impl AlbertLayer {
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let attended = self.attention.forward(x);
        let ffn = self.ffn_output.forward(gelu_approximate(self.ffn.forward(attended.clone())));
        self.full_layer_layer_norm.forward(ffn + attended)
    }
}

impl AlbertAttention {
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [b, t, h] = x.dims();
        let d = h / self.heads;
        let split = |y: Tensor<3>| y.reshape([b, t, self.heads, d]).swap_dims(1, 2);
        let q = split(self.query.forward(x.clone()));
        let k = split(self.key.forward(x.clone()));
        let v = split(self.value.forward(x.clone()));
        // Batch 1 without padding: the additive attention mask is all zeros.
        let scores = q.matmul(k.swap_dims(2, 3)).div_scalar((d as f32).sqrt());
        let context = softmax(scores, 3).matmul(v).swap_dims(1, 2).reshape([b, t, h]);
        self.layer_norm.forward(self.dense.forward(context) + x)
    }
}
