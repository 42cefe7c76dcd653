//! Resemblyzer's GE2E speaker encoder (`resemblyzer.VoiceEncoder`, PyPI Resemblyzer 0.1.4) on Burn.
//!
//! The network: a 3-layer LSTM (40 mel bands in, 256 hidden) read at its last time step, a 256 → 256
//! linear layer, ReLU and L2 normalisation. An utterance is embedded as Resemblyzer's `embed_utterance`
//! does: cut into partial windows of 160 mel frames (1.6 s), 1.3 windows per second, the last one kept only
//! if at least 75 % of it is audio (the waveform is zero-padded to its end); every window is embedded, and
//! the mean of those embeddings, L2-normalised again, is the utterance embedding.
//!
//! The weights are `assets/ge2e.safetensors` (converted by `scripts/ge2e/convert.py`, provenance in
//! `assets/README.md`), compiled into the crate so that nothing has to be downloaded.
//!
//! Input is 16 kHz mono audio that has already been through Resemblyzer's `preprocess_wav` (volume
//! normalisation, see [`crate::mel::normalize_volume`], and voice-activity trimming); this module does
//! neither.

use std::ops::Range;

use burn::tensor::activation::{relu, sigmoid};
use burn::tensor::module::linear;
use burn::tensor::{Device, Tensor, TensorData};
use safetensors::{Dtype, SafeTensors};

use crate::SpeakerError;
use crate::mel::{HOP, MelSpectrogram, N_MELS, SAMPLE_RATE};

/// Values per speaker embedding.
pub const EMBEDDING_DIM: usize = 256;
/// Mel frames per partial window (1.6 s).
pub const PARTIAL_FRAMES: usize = 160;
/// `embed_utterance`'s default `rate`: partial windows per second of audio.
pub const PARTIALS_PER_SECOND: f64 = 1.3;
/// `embed_utterance`'s default `min_coverage`: the share of the last window that must be audio to keep it.
pub const MIN_COVERAGE: f64 = 0.75;

const HIDDEN: usize = 256;
const LAYERS: usize = 3;
const WEIGHTS: &[u8] = include_bytes!("../assets/ge2e.safetensors");

/// The mel-frame ranges of the partial windows of an utterance of `n_samples` samples, as Resemblyzer's
/// `VoiceEncoder.compute_partial_slices(n_samples, rate=1.3, min_coverage=0.75)`. Windows start every
/// 77 frames; the ranges may reach past the audio (which is then zero-padded). There is always at least
/// one window.
pub fn partial_slices(n_samples: usize) -> Vec<Range<usize>> {
    // ceil((n_samples + 1) / hop)
    let n_frames = n_samples / HOP + 1;
    let frame_step = (f64::from(SAMPLE_RATE) / PARTIALS_PER_SECOND / HOP as f64).round() as usize;
    let steps = (n_frames + frame_step + 1).saturating_sub(PARTIAL_FRAMES).max(1);
    let mut slices: Vec<Range<usize>> = (0..steps).step_by(frame_step).map(|i| i..i + PARTIAL_FRAMES).collect();
    if let Some(last) = slices.last() {
        let coverage = (n_samples as f64 - (last.start * HOP) as f64) / (PARTIAL_FRAMES * HOP) as f64;
        if coverage < MIN_COVERAGE && slices.len() > 1 {
            slices.pop();
        }
    }
    slices
}

/// One LSTM layer with PyTorch's semantics (zero initial state, `bias_ih + bias_hh`), its gate columns
/// reordered from PyTorch's (i, f, g, o) to (i, f, o, g) so that one sigmoid covers the three gates.
struct LstmLayer {
    /// `[in, 4H]`
    w_ih: Tensor<2>,
    /// `[H, 4H]`
    w_hh: Tensor<2>,
    /// `[4H]`
    bias: Tensor<1>,
}

/// The GE2E speaker encoder with its weights on one Burn device.
pub struct SpeakerEncoder {
    /// LSTM layers 0 and 1, whose whole output sequences feed the next layer.
    inner: Vec<LstmLayer>,
    /// LSTM layer 2, of which only the final hidden state is used.
    top: LstmLayer,
    /// `[256 in, 256 out]` (Burn's matmul layout).
    linear_weight: Tensor<2>,
    linear_bias: Tensor<1>,
    mel: MelSpectrogram,
    device: Device,
}

/// Reads float32 tensors out of the embedded safetensors file, checking names and shapes.
struct Weights<'a>(SafeTensors<'a>);

impl Weights<'_> {
    fn get(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, SpeakerError> {
        let bad = |detail: String| SpeakerError::Encoder { detail: format!("weight {name}: {detail}") };
        let view = self.0.tensor(name).map_err(|e| bad(e.to_string()))?;
        if view.dtype() != Dtype::F32 || view.shape() != shape {
            return Err(bad(format!("{:?} {:?}, expected F32 {shape:?}", view.dtype(), view.shape())));
        }
        Ok(view.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
    }
}

/// `[rows, cols]` row-major → `[cols, rows]`, with the PyTorch gate blocks (i, f, g, o) of the `rows` axis
/// reordered to (i, f, o, g) when `gates` is set.
fn transpose(w: &[f32], rows: usize, cols: usize, gates: bool) -> Vec<f32> {
    let mut t = vec![0f32; w.len()];
    for r in 0..rows {
        let to = if gates { reorder_gate_row(r) } else { r };
        for c in 0..cols {
            t[c * rows + to] = w[r * cols + c];
        }
    }
    t
}

/// Where PyTorch's gate row `r` (blocks i, f, g, o of `HIDDEN` rows) goes in the (i, f, o, g) order.
fn reorder_gate_row(r: usize) -> usize {
    match r / HIDDEN {
        2 => r + HIDDEN,
        3 => r - HIDDEN,
        _ => r,
    }
}

impl SpeakerEncoder {
    /// Loads the compiled-in Resemblyzer weights onto `device`.
    pub fn new(device: &Device) -> Result<Self, SpeakerError> {
        let file = SafeTensors::deserialize(WEIGHTS)
            .map_err(|e| SpeakerError::Encoder { detail: format!("embedded ge2e.safetensors: {e}") })?;
        let weights = Weights(file);
        let g = 4 * HIDDEN;
        let tensor2 = |data: Vec<f32>, shape: [usize; 2]| Tensor::<2>::from_data(TensorData::new(data, shape), device);
        let mut inner = Vec::with_capacity(LAYERS);
        for l in 0..LAYERS {
            let d_in = if l == 0 { N_MELS } else { HIDDEN };
            let w_ih = weights.get(&format!("lstm.weight_ih_l{l}"), &[g, d_in])?;
            let w_hh = weights.get(&format!("lstm.weight_hh_l{l}"), &[g, HIDDEN])?;
            let b_ih = weights.get(&format!("lstm.bias_ih_l{l}"), &[g])?;
            let b_hh = weights.get(&format!("lstm.bias_hh_l{l}"), &[g])?;
            let mut bias = vec![0f32; g];
            for r in 0..g {
                bias[reorder_gate_row(r)] = b_ih[r] + b_hh[r];
            }
            inner.push(LstmLayer {
                w_ih: tensor2(transpose(&w_ih, g, d_in, true), [d_in, g]),
                w_hh: tensor2(transpose(&w_hh, g, HIDDEN, true), [HIDDEN, g]),
                bias: Tensor::from_data(TensorData::new(bias, [g]), device),
            });
        }
        let top = inner.pop().ok_or_else(|| SpeakerError::Encoder { detail: "no LSTM layers".into() })?;
        let lw = weights.get("linear.weight", &[EMBEDDING_DIM, HIDDEN])?;
        let lb = weights.get("linear.bias", &[EMBEDDING_DIM])?;
        Ok(Self {
            inner,
            top,
            linear_weight: tensor2(transpose(&lw, EMBEDDING_DIM, HIDDEN, false), [HIDDEN, EMBEDDING_DIM]),
            linear_bias: Tensor::from_data(TensorData::new(lb, [EMBEDDING_DIM]), device),
            mel: MelSpectrogram::new(),
            device: device.clone(),
        })
    }

    /// The utterance embedding of 16 kHz preprocessed audio: Resemblyzer's `embed_utterance(wav)`.
    pub fn embed_utterance(&self, wav16k: &[f32]) -> Result<[f32; EMBEDDING_DIM], SpeakerError> {
        let partials = self.embed_partials(wav16k)?;
        let mut mean = [0f64; EMBEDDING_DIM];
        for p in &partials {
            for (m, &v) in mean.iter_mut().zip(p) {
                *m += f64::from(v);
            }
        }
        let mean = mean.map(|m| (m / partials.len() as f64) as f32);
        normalized(&mean).ok_or_else(all_zero)
    }

    /// The L2-normalised embedding of every partial window (see [`partial_slices`]), in order.
    pub fn embed_partials(&self, wav16k: &[f32]) -> Result<Vec<[f32; EMBEDDING_DIM]>, SpeakerError> {
        if wav16k.is_empty() {
            return Err(SpeakerError::EmbedInput { detail: "the audio is empty".into() });
        }
        if let Some(i) = wav16k.iter().position(|x| !x.is_finite()) {
            return Err(SpeakerError::EmbedInput { detail: format!("sample {i} is {}", wav16k[i]) });
        }
        let slices = partial_slices(wav16k.len());
        let end = slices.last().map_or(0, |s| s.end * HOP);
        let mut padded = wav16k.to_vec();
        if end > padded.len() {
            padded.resize(end, 0.0);
        }
        let mel = self.mel.compute(&padded);
        let mut batch: Vec<f32> = Vec::with_capacity(slices.len() * PARTIAL_FRAMES * N_MELS);
        for s in &slices {
            batch.extend(mel[s.clone()].iter().flatten());
        }
        let mels = Tensor::<3>::from_data(TensorData::new(batch, [slices.len(), PARTIAL_FRAMES, N_MELS]), &self.device);
        let raw: Vec<f32> = self
            .forward(mels)
            .try_into_vec_as::<f32>()
            .map_err(|e| SpeakerError::Encoder { detail: format!("reading the embeddings: {e:?}") })?;
        raw.chunks_exact(EMBEDDING_DIM).map(|row| normalized(row).ok_or_else(all_zero)).collect()
    }

    /// `mels [B, T, 40]` → the un-normalised ReLU outputs `[B, 256]`. All partials run as one batch.
    fn forward(&self, mels: Tensor<3>) -> Tensor<2> {
        let mut x = mels;
        for layer in &self.inner {
            x = Tensor::stack(self.run_layer(layer, x, true).0, 1);
        }
        let (_, hidden) = self.run_layer(&self.top, x, false);
        relu(linear(hidden, self.linear_weight.clone(), Some(self.linear_bias.clone())))
    }

    /// One LSTM layer over `x [B, T, in]`: the hidden state of every step (if `keep`) and of the last. The
    /// input projection of all steps is one matmul; the recurrence is a loop of `[B, H] × [H, 4H]` matmuls.
    fn run_layer(&self, layer: &LstmLayer, x: Tensor<3>, keep: bool) -> (Vec<Tensor<2>>, Tensor<2>) {
        let [batch, steps, _] = x.dims();
        let h = HIDDEN;
        let xw = linear(x, layer.w_ih.clone(), Some(layer.bias.clone()));
        let mut hidden = Tensor::<2>::zeros([batch, h], &self.device);
        let mut cell = Tensor::<2>::zeros([batch, h], &self.device);
        let mut outputs = Vec::with_capacity(if keep { steps } else { 0 });
        for t in 0..steps {
            let gates = xw.clone().narrow(1, t, 1).reshape([batch, 4 * h]) + hidden.matmul(layer.w_hh.clone());
            let ifo = sigmoid(gates.clone().narrow(1, 0, 3 * h));
            let candidate = gates.narrow(1, 3 * h, h).tanh();
            cell = ifo.clone().narrow(1, h, h) * cell + ifo.clone().narrow(1, 0, h) * candidate;
            hidden = ifo.narrow(1, 2 * h, h) * cell.clone().tanh();
            if keep {
                outputs.push(hidden.clone());
            }
        }
        (outputs, hidden)
    }
}

fn all_zero() -> SpeakerError {
    SpeakerError::EmbedInput { detail: "the encoder's output is all zero, so it has no direction".into() }
}

/// `v / ‖v‖₂` of the first `EMBEDDING_DIM` values, or `None` for the zero vector.
fn normalized(v: &[f32]) -> Option<[f32; EMBEDDING_DIM]> {
    let norm = v.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
    if norm == 0.0 {
        return None;
    }
    let mut out = [0f32; EMBEDDING_DIM];
    for (o, &x) in out.iter_mut().zip(v) {
        *o = (f64::from(x) / norm) as f32;
    }
    Some(out)
}

/// Cosine similarity of two embeddings; 0 when either is the zero vector.
pub fn cosine(a: &[f32; EMBEDDING_DIM], b: &[f32; EMBEDDING_DIM]) -> f32 {
    let (mut dot, mut aa, mut bb) = (0f64, 0f64, 0f64);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (f64::from(x), f64::from(y));
        dot += x * y;
        aa += x * x;
        bb += y * y;
    }
    if aa == 0.0 || bb == 0.0 { 0.0 } else { (dot / (aa.sqrt() * bb.sqrt())) as f32 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_slices_follow_resemblyzer() {
        // VoiceEncoder.compute_partial_slices(n, 1.3, 0.75) mel ranges (starts every 77 frames).
        let starts = |n| partial_slices(n).iter().map(|s| s.start).collect::<Vec<_>>();
        assert_eq!(starts(0), [0]);
        assert_eq!(starts(14_400), [0]);
        // 3.27 s: a fourth window at frame 231 would cover only 60 % of its 1.6 s, so it is dropped.
        assert_eq!(starts(52_320), [0, 77, 154]);
        // 6.06 s: the seventh window is 90 % audio and kept.
        assert_eq!(starts(96_960), [0, 77, 154, 231, 308, 385, 462]);
        // Exactly 75 % coverage is kept (the rule drops only coverage < min_coverage).
        assert_eq!(starts(77 * 160 + 19_200), [0, 77]);
        assert_eq!(starts(77 * 160 + 19_199), [0]);
        assert!(partial_slices(1_000_000).iter().all(|s| s.len() == PARTIAL_FRAMES));
    }

    #[test]
    fn gate_rows_are_a_permutation() {
        let mut seen = vec![false; 4 * HIDDEN];
        for r in 0..4 * HIDDEN {
            seen[reorder_gate_row(r)] = true;
        }
        assert!(seen.iter().all(|&s| s));
        assert_eq!(reorder_gate_row(2 * HIDDEN), 3 * HIDDEN); // g goes last
        assert_eq!(reorder_gate_row(3 * HIDDEN + 5), 2 * HIDDEN + 5); // o moves up
    }

    #[test]
    fn cosine_basics() {
        let mut a = [0f32; EMBEDDING_DIM];
        let mut b = [0f32; EMBEDDING_DIM];
        a[0] = 1.0;
        b[1] = 2.0;
        assert_eq!(cosine(&a, &a), 1.0);
        assert_eq!(cosine(&a, &b), 0.0);
        assert_eq!(cosine(&a, &[0.0; EMBEDDING_DIM]), 0.0);
        b[0] = -3.0;
        b[1] = 0.0;
        assert_eq!(cosine(&a, &b), -1.0);
    }
}
