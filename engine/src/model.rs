//! Kokoro-82M v1.0 end to end for one chunk: `KModel.forward_with_tokens`, with each stage timed.

use std::time::{Duration, Instant};

use burn::tensor::{Device, Int, Tensor, TensorData};
use warble_acoustic::nn::{LoadError, Loader};
use warble_acoustic::prosody::{frame_owners, round_durations};
use warble_acoustic::{AcousticConfig, AcousticModel, ids_tensor};
use warble_vocoder::generator::{NormCarry, WindowNorm};
use warble_vocoder::{Decoder, GeneratorConfig, SourceNoise};
use warble_weights::WeightMap;

use crate::prosody::ChunkControls;

/// Samples per alignment frame: decoder ×2, upsampling ×10 ×6, iSTFT hop 5.
pub const SAMPLES_PER_FRAME: usize = 600;
pub const SAMPLE_RATE: u32 = 24_000;
pub const STYLE_DIM: usize = 256;

/// Frames past a call's spoken ones ([`Prepared::spoken_frames`]) that are predicted and may be rendered as
/// halo: more than the renderer's halos (6 frames), 0.3 s.
const CONTEXT_FRAMES: usize = 12;

/// How a stream's call is prepared beyond [`KokoroModel::prepare`].
#[derive(Debug, Clone, Copy, Default)]
pub struct CallOptions {
    /// ALBERT's layers on the INT8 kernel where they have INT8 copies (a stream's first call:
    /// [`crate::WindowPolicy::int8_first_call_albert`]).
    pub int8_albert: bool,
    /// The prosody predictor's F0 and N convolutions on the INT8 kernel where they have INT8 copies (a stream's
    /// first call: [`crate::WindowPolicy::int8_first_call_curves`]).
    pub int8_curves: bool,
    /// The last `context` ids are read as right context only: everything is predicted over all the ids (so the
    /// call's last words are timed, pitched and rendered as in the running sentence), and the call speaks the
    /// frames up to the symbol before them ([`Prepared::spoken_frames`]; the end pad gets none), so it ends
    /// inside the sentence ([`crate::WindowPolicy::cut_context_symbols`]). Ignored with prosody controls.
    pub context: usize,
}

/// The durations of `[pad, symbols, context…, pad]` that are spoken: the lead pad and the symbols.
fn spoken_durations(durations: &[usize], context: usize) -> &[usize] {
    &durations[..durations.len() - 1 - context]
}

/// The output of [`KokoroModel::prepare`]: one chunk's durations and frame-level decoder inputs.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Frames per model input position, both pads included; of a call with right context, the positions it
    /// speaks (its symbols, then the end pad with 0 frames).
    pub durations: Vec<usize>,
    /// The F0 curve the decoder receives (Hz, two samples per frame, over all [`Prepared::frames`]), after any
    /// pitch control.
    pub f0: Vec<f32>,
    frames: usize,
    /// The frames the call speaks (`Σ durations`): all of them, or those before its right context.
    spoken: usize,
    asr: Tensor<3>,
    f0_tensor: Tensor<2>,
    n: Tensor<2>,
    timbre: Tensor<2>,
    /// The harmonic source's noise: the source is made per rendered range, from `f0`.
    noise: SourceNoise,
    gain: Option<Vec<f32>>,
    /// The decoder's output for the whole chunk, when [`KokoroModel::decode_whole`] made it.
    features: Option<Tensor<3>>,
    /// ALBERT, predictor and text encoder times.
    pub times: StageTimes,
}

impl Prepared {
    /// Whether [`KokoroModel::decode_whole`] ran: windows then take the decoder's output from it.
    pub fn decoded_whole(&self) -> bool {
        self.features.is_some()
    }

    /// Length in frames of everything the model read (the right context included); [`KokoroModel::render_frames`]
    /// renders any range of them.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// The frames the call speaks (`Σ durations`), its first ones: all [`Prepared::frames`] but in a call with
    /// right context, whose frames past these are rendered only as the last window's halo. The call's audio is
    /// `600 ·` this many samples.
    pub fn spoken_frames(&self) -> usize {
        self.spoken
    }
}

/// The whole model on one device.
#[derive(Debug)]
pub struct KokoroModel {
    pub acoustic: AcousticModel,
    pub decoder: Decoder,
    device: Device,
    /// Every call computes the predictor's N (energy) convolutions on their INT8 copies (a quantized file that
    /// stores them INT8, on a CPU with a SIMD integer kernel); otherwise only calls that ask
    /// ([`CallOptions::int8_curves`]). The F0 branch stays f32 in such files: see `Engine::load`.
    pub int8_energy: bool,
}

/// Wall time of each stage of one chunk.
#[derive(Debug, Clone, Copy, Default)]
pub struct StageTimes {
    pub albert: Duration,
    pub predictor: Duration,
    pub text_encoder: Duration,
    pub decoder: Duration,
    pub source: Duration,
    pub generator: Duration,
    pub istft: Duration,
}

impl StageTimes {
    pub fn total(&self) -> Duration {
        self.albert + self.predictor + self.text_encoder + self.decoder + self.source + self.generator + self.istft
    }

    pub fn add(&mut self, o: &StageTimes) {
        self.albert += o.albert;
        self.predictor += o.predictor;
        self.text_encoder += o.text_encoder;
        self.decoder += o.decoder;
        self.source += o.source;
        self.generator += o.generator;
        self.istft += o.istft;
    }
}

/// The model's input for token ids: the pad id 0 at both ends.
fn padded(token_ids: &[i64]) -> Vec<i64> {
    let mut ids = Vec::with_capacity(token_ids.len() + 2);
    ids.push(0);
    ids.extend_from_slice(token_ids);
    ids.push(0);
    ids
}

/// ALBERT's features of a token sequence ([`KokoroModel::text_features`]).
#[derive(Debug, Clone)]
pub struct TextFeatures {
    token_ids: Vec<i64>,
    d_en: Tensor<3>,
}

impl TextFeatures {
    /// The token ids (without pads) the features are of.
    pub fn token_ids(&self) -> &[i64] {
        &self.token_ids
    }
}

/// One chunk's output.
#[derive(Debug, Clone)]
pub struct ChunkOutput {
    /// 24 kHz mono samples, `600 · Σ durations` of them.
    pub audio: Vec<f32>,
    /// Frames per model input position, both pads included.
    pub durations: Vec<usize>,
    /// The F0 curve the decoder received (Hz, two samples per frame), after any pitch control.
    pub f0: Vec<f32>,
    pub times: StageTimes,
}

impl KokoroModel {
    pub fn load(weights: &mut WeightMap, device: &Device) -> Result<Self, LoadError> {
        let mut l = Loader::new(weights, device);
        let mut acoustic = AcousticModel::load(&mut l, &AcousticConfig::kokoro_v1())?;
        // INT8 copies of ALBERT's layers for the calls that ask for them (a stream's first call), on the CPU
        // where it has a SIMD integer kernel, as the vocoder builds its own.
        if warble_acoustic::nn::host_int8(device) {
            acoustic.set_int8();
        }
        let decoder = Decoder::load(&mut l, "decoder", 512, 128, &GeneratorConfig::kokoro_v1())?;
        Ok(Self { acoustic, decoder, device: device.clone(), int8_energy: false })
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Splits a 256-float style row into (timbre for the decoder, prosody for the predictor), each `[1, 128]`.
    pub fn style_halves(&self, style: &[f32]) -> (Tensor<2>, Tensor<2>) {
        let t = Tensor::<2>::from_data(TensorData::new(style.to_vec(), [1, STYLE_DIM]), &self.device);
        (t.clone().narrow(1, 0, 128), t.narrow(1, 128, 128))
    }

    /// Synthesizes token ids (without pads; at most 510) with a style row and a speed.
    pub fn synthesize(&self, token_ids: &[i64], style: &[f32], speed: f32, noise: SourceNoise) -> ChunkOutput {
        self.synthesize_controlled(token_ids, style, speed, noise, None)
    }

    /// As [`KokoroModel::synthesize`], with prosody controls applied between the stages: durations scaled before
    /// rounding, the F0 curve transformed before the decoder, the gain applied to the output samples.
    pub fn synthesize_controlled(
        &self,
        token_ids: &[i64],
        style: &[f32],
        speed: f32,
        noise: SourceNoise,
        controls: Option<&ChunkControls>,
    ) -> ChunkOutput {
        self.render_whole(self.prepare(token_ids, style, speed, noise, controls))
    }

    /// Renders every spoken frame of a prepared chunk: one call's output, with all its stages' times.
    fn render_whole(&self, prepared: Prepared) -> ChunkOutput {
        let (audio, times) = self.render_frames(&prepared, 0, prepared.spoken_frames());
        let mut all = prepared.times;
        all.add(&times);
        ChunkOutput { audio, durations: prepared.durations, f0: prepared.f0, times: all }
    }

    /// The whole-chunk half of a model call: ALBERT, the prosody predictor (durations, F0, energy) and the text
    /// encoder aligned to frames. Everything after this runs on any frame range
    /// ([`KokoroModel::render_frames`]), which is what lets audio stream out before the whole chunk is decoded:
    /// the decoder and generator are convolutional, and the harmonic source, whose phase is a running sum over
    /// the whole chunk, is made for each range exactly as the same samples of the whole.
    pub fn prepare(
        &self,
        token_ids: &[i64],
        style: &[f32],
        speed: f32,
        noise: SourceNoise,
        controls: Option<&ChunkControls>,
    ) -> Prepared {
        self.prepare_with(token_ids, style, speed, noise, controls, CallOptions::default())
    }

    /// [`KokoroModel::prepare`] with a stream call's [`CallOptions`].
    pub fn prepare_with(
        &self,
        token_ids: &[i64],
        style: &[f32],
        speed: f32,
        noise: SourceNoise,
        controls: Option<&ChunkControls>,
        call: CallOptions,
    ) -> Prepared {
        self.prepare_inner(token_ids, None, style, speed, noise, controls, call)
    }

    /// ALBERT's features of token ids (without pads; at most 510), as the prosody predictor reads them. They
    /// depend on the ids alone, not on the style: a caller that speaks the same ids in many styles (the clone
    /// search) computes them once ([`KokoroModel::synthesize_features`]).
    pub fn text_features(&self, token_ids: &[i64]) -> TextFeatures {
        let (_, d_en) = self.acoustic.bert_features_with(ids_tensor(&padded(token_ids), &self.device), false);
        TextFeatures { token_ids: token_ids.to_vec(), d_en }
    }

    /// [`KokoroModel::synthesize`] of the ids whose ALBERT features `f` holds: the same audio, without running
    /// ALBERT again.
    pub fn synthesize_features(&self, f: &TextFeatures, style: &[f32], speed: f32, noise: SourceNoise) -> ChunkOutput {
        self.render_whole(self.prepare_inner(
            &f.token_ids,
            Some(&f.d_en),
            style,
            speed,
            noise,
            None,
            CallOptions::default(),
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn prepare_inner(
        &self,
        token_ids: &[i64],
        albert: Option<&Tensor<3>>,
        style: &[f32],
        speed: f32,
        noise: SourceNoise,
        controls: Option<&ChunkControls>,
        call: CallOptions,
    ) -> Prepared {
        let int8 = call.int8_albert;
        let context = if controls.is_some() { 0 } else { call.context.min(token_ids.len().saturating_sub(1)) };
        let ids = padded(token_ids);
        let (timbre, prosody) = self.style_halves(style);
        let mut times = StageTimes::default();

        let id_tensor = ids_tensor(&ids, &self.device);
        // The text encoder needs only the ids: it runs on a thread beside ALBERT and the predictor (whose
        // LSTMs leave a core idle) and is joined where its output is aligned to frames. Its recorded time is
        // the wait at that join: what it adds to the call.
        let (durations, spoken, frames, f0_curve, f0, n, asr) = std::thread::scope(|scope| {
            let text_encoder = scope.spawn(|| {
                let enc = self.acoustic.text_encoder.forward(id_tensor.clone());
                let _ = enc.clone().narrow(2, 0, 1).into_data();
                enc
            });
            let t = Instant::now();
            let d_en = match albert {
                Some(d_en) => d_en.clone(),
                None => {
                    let (_, d_en) = self.acoustic.bert_features_with(id_tensor.clone(), int8);
                    let _ = d_en.clone().narrow(1, 0, 1).into_data();
                    d_en
                }
            };
            times.albert = t.elapsed();

            let t = Instant::now();
            let (d, _logits, expected) = self.acoustic.durations(d_en, prosody.clone(), speed);
            let durations = match controls {
                Some(c) => c.durations(&expected),
                None => round_durations(&expected),
            };
            let mut owners = frame_owners(&durations);
            // The frames the call speaks: all of them, or with right context those before it.
            let spoken: usize =
                if context > 0 { spoken_durations(&durations, context).iter().sum() } else { durations.iter().sum() };
            if context > 0 {
                // Frames past the spoken ones are only the last window's halo: F0, energy and the aligned text
                // features are made for CONTEXT_FRAMES of them (the predictor's LSTM runs frame by frame).
                owners.truncate(spoken + CONTEXT_FRAMES);
            }
            let frames = owners.len();
            let index = Tensor::<1, Int>::from_data(TensorData::new(owners, [frames]), &self.device);
            let int8_n = call.int8_curves || self.int8_energy;
            let (mut f0, n) = self.acoustic.predictor.f0_n_with(d, index.clone(), prosody, call.int8_curves, int8_n);
            let mut f0_curve: Vec<f32> = f0.clone().into_data().try_into_vec().expect("f32 F0");
            if let Some(c) = controls {
                let before = f0_curve.clone();
                c.transform_f0(&mut f0_curve, &durations);
                if f0_curve != before {
                    f0 = Tensor::<2>::from_data(TensorData::new(f0_curve.clone(), [1, f0_curve.len()]), &self.device);
                }
            }
            times.predictor = t.elapsed();

            let t = Instant::now();
            let enc = text_encoder.join().expect("the text encoder thread does not panic");
            let asr = enc.select(2, index);
            times.text_encoder = t.elapsed();
            (durations, spoken, frames, f0_curve, f0, n, asr)
        });

        let gain = controls.and_then(|c| c.gain_curve(&durations));
        // [pad, symbols, context, pad] → [pad, symbols, pad with no frames].
        let durations = if context > 0 {
            let mut kept = spoken_durations(&durations, context).to_vec();
            kept.push(0);
            kept
        } else {
            durations
        };
        Prepared {
            durations,
            f0: f0_curve,
            frames,
            spoken,
            asr,
            f0_tensor: f0,
            n,
            timbre,
            noise,
            gain,
            features: None,
            times,
        }
    }

    /// Runs the decoder (the AdaIN stack before the generator) over the whole chunk, so that windows rendered
    /// afterwards share its exact instance-norm statistics; only the generator is then windowed. Costs the
    /// decoder's time up front (about an eighth of the generator's).
    pub fn decode_whole(&self, p: &mut Prepared) {
        let t = Instant::now();
        let x = self.decoder.features(p.asr.clone(), p.f0_tensor.clone(), p.n.clone(), p.timbre.clone());
        let _ = x.clone().narrow(2, 0, 1).into_data();
        p.times.decoder += t.elapsed();
        p.features = Some(x);
    }

    /// Audio of frames `start..end` of a prepared chunk (`600 · (end − start)` samples), computed from those
    /// frames alone. The decoder's and generator's instance normalisations then see only this range, and its
    /// edges lack the neighbours' context: callers that window a chunk add a halo of frames on each side and
    /// keep the middle ([`crate`]'s renderer). `0..frames()` is the whole-chunk computation, exactly.
    pub fn render_frames(&self, p: &Prepared, start: usize, end: usize) -> (Vec<f32>, StageTimes) {
        self.render_frames_with(p, start, end, false, None)
    }

    /// [`KokoroModel::render_frames`], with `int8` the decoder's block convolutions (where this range runs
    /// the decoder) and the generator's residual stacks on the INT8 kernel (a stream's first call:
    /// [`crate::WindowPolicy::int8_first_call`]). `carry`: the range is a window of the call whose frames
    /// `keep` (absolute, inside `start..end`) are kept; the generator's instance norms then join the statistics
    /// of the windows before (see [`NormCarry`]) and add those frames to them.
    pub fn render_frames_with(
        &self,
        p: &Prepared,
        start: usize,
        end: usize,
        int8: bool,
        carry: Option<(&mut NormCarry, std::ops::Range<usize>)>,
    ) -> (Vec<f32>, StageTimes) {
        let end = end.min(p.frames);
        let start = start.min(end);
        let len = end - start;
        let mut times = StageTimes::default();
        if len == 0 {
            return (Vec::new(), times);
        }
        // Rates: asr at 1 per frame, F0/N at 2, the source spectrum at SAMPLES_PER_FRAME / hop (+1 edge column).
        let x = match &p.features {
            Some(x) => x.clone().narrow(2, 2 * start, 2 * len),
            None => {
                let t = Instant::now();
                let asr = p.asr.clone().narrow(2, start, len);
                let f0 = p.f0_tensor.clone().narrow(1, 2 * start, 2 * len);
                let n = p.n.clone().narrow(1, 2 * start, 2 * len);
                let x = self.decoder.features_with(asr, f0, n, p.timbre.clone(), int8);
                let _ = x.clone().narrow(2, 0, 1).into_data();
                times.decoder = t.elapsed();
                x
            }
        };

        let t = Instant::now();
        let har = self.decoder.generator.source_spectrum_frames(&p.f0, p.noise, start, end, &self.device);
        times.source = t.elapsed();

        let t = Instant::now();
        let window = carry.map(|(carry, keep)| {
            let keep = keep.start.clamp(start, end) - start..keep.end.clamp(start, end) - start;
            WindowNorm::new(carry, len, keep.start..keep.end.max(keep.start))
        });
        let post = self.decoder.generator.conv_post_from_spectrum_with(x, p.timbre.clone(), har, int8, window);
        let _ = post.clone().narrow(2, 0, 1).into_data();
        times.generator = t.elapsed();

        let t = Instant::now();
        let audio = self.decoder.generator.istft(post);
        let mut audio: Vec<f32> = audio.into_data().try_into_vec().expect("f32 audio");
        times.istft = t.elapsed();
        if let Some(gain) = &p.gain {
            let from = start * SAMPLES_PER_FRAME;
            for (x, g) in audio.iter_mut().zip(gain.iter().skip(from)) {
                *x *= g;
            }
        }
        (audio, times)
    }

    /// The decoder half from frame-level inputs (`asr [1,512,F]`, `f0, n [1,2F]`, timbre `[1,128]`).
    pub fn decode(
        &self,
        asr: Tensor<3>,
        f0: Tensor<2>,
        n: Tensor<2>,
        timbre: Tensor<2>,
        noise: SourceNoise,
    ) -> (Vec<f32>, StageTimes) {
        let mut times = StageTimes::default();
        let t = Instant::now();
        let f0_host: Vec<f32> = f0.clone().into_data().try_into_vec().expect("f32 F0");
        let x = self.decoder.features(asr, f0, n, timbre.clone());
        let _ = x.clone().narrow(2, 0, 1).into_data();
        times.decoder = t.elapsed();

        let t = Instant::now();
        let har = self.decoder.generator.harmonic_source(&f0_host, noise);
        times.source = t.elapsed();

        let t = Instant::now();
        let post = self.decoder.generator.conv_post(x, timbre, har);
        let _ = post.clone().narrow(2, 0, 1).into_data();
        times.generator = t.elapsed();

        let t = Instant::now();
        let audio = self.decoder.generator.istft(post);
        let audio: Vec<f32> = audio.into_data().try_into_vec().expect("f32 audio");
        times.istft = t.elapsed();
        (audio, times)
    }
}
