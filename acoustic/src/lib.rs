//! warble-acoustic: the text side of Kokoro-82M v1.0 as Burn modules — the phoneme ALBERT (`bert`), its
//! projection (`bert_encoder`), the `text_encoder` and the prosody `predictor` (durations, F0, energy).
//!
//! Module and field names follow the checkpoint keys (`predictor.F0.1.pool.weight` lives in
//! [`prosody::ProsodyPredictor::f0`] → `blocks[1].pool`), so a key leads to its code. The forward pass mirrors
//! hexgrad's `KModel.forward_with_tokens` steps 1–12; the decoder half is in `warble-vocoder`.

pub mod albert;
pub mod nn;
pub mod prosody;
pub mod text_encoder;

use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};

use albert::{Albert, AlbertConfig};
use nn::{Linear, LoadError, Loader};
use prosody::ProsodyPredictor;
use text_encoder::TextEncoder;

/// Hyper-parameters of the acoustic half (Kokoro's `config.json`).
#[derive(Debug, Clone)]
pub struct AcousticConfig {
    pub n_token: usize,
    pub hidden_dim: usize,
    pub style_dim: usize,
    pub n_layer: usize,
    pub max_dur: usize,
    pub text_encoder_kernel_size: usize,
    pub albert: AlbertConfig,
}

impl AcousticConfig {
    pub fn kokoro_v1() -> Self {
        Self {
            n_token: 178,
            hidden_dim: 512,
            style_dim: 128,
            n_layer: 3,
            max_dur: 50,
            text_encoder_kernel_size: 5,
            albert: AlbertConfig::kokoro_v1(),
        }
    }
}

#[derive(Module, Debug)]
pub struct AcousticModel {
    pub bert: Albert,
    pub bert_encoder: Linear,
    pub text_encoder: TextEncoder,
    pub predictor: ProsodyPredictor,
}

/// Everything the acoustic half computes for one chunk, kept for parity tests and timings.
pub struct AcousticOutput {
    /// `[1, T, 768]`
    pub bert: Tensor<3>,
    /// `[1, T, 512]`
    pub d_en: Tensor<3>,
    /// `[1, T, 640]`
    pub dur_encoder: Tensor<3>,
    /// `[1, T, 50]`
    pub dur_logits: Tensor<3>,
    /// Expected frames per input position (pads included), already divided by the speed.
    pub dur_float: Vec<f32>,
    /// `[1, 512, T]`
    pub t_en: Tensor<3>,
}

impl AcousticModel {
    pub fn load(l: &mut Loader, cfg: &AcousticConfig) -> Result<Self, LoadError> {
        Ok(Self {
            bert: Albert::load(l, "bert", &cfg.albert)?,
            bert_encoder: Linear::load(l, "bert_encoder", cfg.albert.hidden_size, cfg.hidden_dim, true)?,
            text_encoder: TextEncoder::load(
                l,
                "text_encoder",
                cfg.n_token,
                cfg.hidden_dim,
                cfg.text_encoder_kernel_size,
                cfg.n_layer,
            )?,
            predictor: ProsodyPredictor::load(l, "predictor", cfg.hidden_dim, cfg.style_dim, cfg.n_layer, cfg.max_dur)?,
        })
    }

    /// Steps 1–7 and 11: features and expected durations for `input_ids` (with the two pad zeros), given the
    /// prosody half of the style vector `[1, 128]`.
    pub fn encode(&self, input_ids: &[i64], prosody_style: Tensor<2>, speed: f32) -> AcousticOutput {
        let ids = ids_tensor(input_ids, &prosody_style.device());
        let (bert, d_en) = self.bert_features(ids.clone());
        let (dur_encoder, dur_logits, dur_float) = self.durations(d_en.clone(), prosody_style, speed);
        let t_en = self.text_encoder.forward(ids);
        AcousticOutput { bert, d_en, dur_encoder, dur_logits, dur_float, t_en }
    }

    /// Steps 1–2: ALBERT and its projection, `(bert [1,T,768], d_en [1,T,512])`.
    pub fn bert_features(&self, ids: Tensor<2, Int>) -> (Tensor<3>, Tensor<3>) {
        self.bert_features_with(ids, false)
    }

    /// [`AcousticModel::bert_features`], with `int8` every layer that has an INT8 copy
    /// ([`AcousticModel::set_int8`]) on the INT8 kernel.
    pub fn bert_features_with(&self, ids: Tensor<2, Int>, int8: bool) -> (Tensor<3>, Tensor<3>) {
        let bert = self.bert.forward_with(ids, int8);
        let d_en = self.bert_encoder.forward_with(bert.clone(), int8);
        (bert, d_en)
    }

    /// Builds INT8 copies of ALBERT's linear layers and `bert_encoder` (the acoustic half's matrix products:
    /// ~66 M multiply-adds per token against ~8 M in the predictor's token-level part) and of the predictor's F0
    /// and N convolutions (~7.6 M per frame) for the calls that ask for them
    /// ([`AcousticModel::bert_features_with`], [`ProsodyPredictor::f0_n_with`]). CPU device and a SIMD integer kernel only: the caller checks.
    pub fn set_int8(&mut self) {
        for layer in self.bert.linears_mut() {
            layer.set_int8();
        }
        self.bert_encoder.set_int8();
        self.predictor.set_int8();
    }

    /// Gives the matrix products `wanted` names by checkpoint key BF16 copies, and takes them from the others —
    /// ALBERT's seven linear layers (`bert.encoder.…`), `bert_encoder`, and the input projections of the six
    /// LSTMs (`text_encoder.lstm`, `predictor.text_encoder.lstms.{0,2,4}`, `predictor.lstm`, `predictor.shared`).
    /// Every call then computes those on the BF16 kernel (a stream's first call keeps ALBERT's INT8 copies).
    /// Returns how many have copies. CPU device with AVX-512 BF16 only ([`nn::host_bf16`]): the caller checks.
    pub fn set_bf16(&mut self, wanted: &dyn Fn(&str) -> bool) -> usize {
        let mut built = 0;
        for layer in self.bert.linears_mut().into_iter().chain([&mut self.bert_encoder]) {
            layer.bf16 = None;
            if wanted(&layer.key) {
                layer.set_bf16();
                built += 1;
            }
        }
        let p = &mut self.predictor;
        let lstms = p.text_encoder.lstms.iter_mut().chain([&mut p.lstm, &mut p.shared, &mut self.text_encoder.lstm]);
        for lstm in lstms {
            lstm.w_ih_bf16 = None;
            if wanted(&lstm.key) {
                lstm.set_bf16();
                built += 1;
            }
        }
        built
    }

    /// The checkpoint keys of the layers [`AcousticModel::set_bf16`] gave BF16 copies (the same layers, read).
    pub fn bf16_layers(&self) -> Vec<String> {
        let p = &self.predictor;
        let linears = self.bert.linears().into_iter().chain([&self.bert_encoder]);
        let lstms = p.text_encoder.lstms.iter().chain([&p.lstm, &p.shared, &self.text_encoder.lstm]);
        let linears = linears.filter(|l| l.bf16.is_some()).map(|l| l.key.clone());
        linears.chain(lstms.filter(|l| l.w_ih_bf16.is_some()).map(|l| l.key.clone())).collect()
    }

    /// Steps 3–6: `(d [1,T,640], logits [1,T,50], expected frames per position)`.
    pub fn durations(&self, d_en: Tensor<3>, prosody_style: Tensor<2>, speed: f32) -> (Tensor<3>, Tensor<3>, Vec<f32>) {
        let d = self.predictor.text_encoder.forward(d_en, prosody_style);
        let logits = self.predictor.duration_logits(d.clone());
        let expected = ProsodyPredictor::durations(logits.clone(), speed)
            .into_data()
            .try_into_vec::<f32>()
            .expect("durations are f32");
        (d, logits, expected)
    }

    /// Steps 8–10 and 12: expand token features over frames by `durations` and predict F0 and energy.
    /// Returns `(asr [1, 512, F], f0 [1, 2F], n [1, 2F])`.
    pub fn expand_and_predict(
        &self,
        out: &AcousticOutput,
        durations: &[usize],
        prosody_style: Tensor<2>,
    ) -> (Tensor<3>, Tensor<2>, Tensor<2>) {
        let device = prosody_style.device();
        let owners = prosody::frame_owners(durations);
        let n = owners.len();
        let index = Tensor::<1, Int>::from_data(TensorData::new(owners, [n]), &device);
        let (f0, energy) = self.predictor.f0_n(out.dur_encoder.clone(), index.clone(), prosody_style);
        let asr = out.t_en.clone().select(2, index);
        (asr, f0, energy)
    }
}

/// Token ids `[1, T]` on `device`.
pub fn ids_tensor(ids: &[i64], device: &Device) -> Tensor<2, Int> {
    Tensor::from_data(TensorData::new(ids.to_vec(), [1, ids.len()]), device)
}
