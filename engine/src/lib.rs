//! warble-engine: loads Kokoro-82M and its voices once and turns text, SSML and phoneme strings into 24 kHz
//! audio with word, symbol and mark timings — as a stream of chunks made while they are consumed.
//!
//! The engine is the one crate that knows all the others: it finds and converts the weights
//! (`warble-weights`), builds the Burn model (`warble-acoustic` + `warble-vocoder`) on the chosen backend, picks
//! voice rows (`warble-speaker`), and runs one path for every input: a planner (input → model calls, breaks,
//! marks; `plan`), a renderer (a model call prepared whole, decoded in windows; `stream`), an assembler
//! (joins, breaks, fades, timings; `assemble`). [`Engine::stream`] and [`Engine::session`] expose it; the
//! batch calls collect the stream. [`Engine`] is `Send + Sync`: one loaded engine serves concurrent callers.

mod assemble;
pub mod audio;
mod clone;
pub mod model;
pub mod output;
pub mod paths;
mod plan;
pub mod prosody;
pub mod segment;
mod ssml_input;
mod stream;
pub mod text;
pub mod vocab;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use burn::tensor::Device;
pub use clone::{CloneOptions, CloneProgress, ClonedVoice, TRANSCRIPT_PHONEMES, check_transcript};
pub use model::{
    CallOptions, ChunkOutput, KokoroModel, Prepared, SAMPLE_RATE, SAMPLES_PER_FRAME, StageTimes, TextFeatures,
};
pub use plan::phonemize_text;
pub use ssml_input::{ipa_to_kokoro, language_of_tag};
pub use stream::{AudioChunk, Input, Latency, SpeechStream, TextSession, WindowPolicy};
pub use vocab::{MAX_PHONEMES, UnknownSymbol, Vocab};
use warble_g2p::G2p;
pub use warble_g2p::{Language, detect_line, g2p_for, phonemize_line};
pub use warble_quant as quant;
pub use warble_speaker::{VoiceLibrary, VoicePack};
pub use warble_ssml as ssml;
pub use warble_ssml::{Controls, PitchChange, PitchTransform, Volume};
pub use warble_vocoder::SourceNoise;

/// Where the model runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Burn's `flex` CPU backend (pure Rust, SIMD, multi-threaded).
    Cpu,
    /// Burn's `wgpu` backend (Vulkan / Metal / DX12); needs the `wgpu` cargo feature.
    Wgpu,
}

impl Backend {
    pub fn parse(s: &str) -> Result<Self, EngineError> {
        match s.to_ascii_lowercase().as_str() {
            "cpu" | "flex" => Ok(Backend::Cpu),
            "wgpu" | "gpu" => Ok(Backend::Wgpu),
            _ => Err(EngineError::Backend(format!("unknown backend `{s}`; choose `cpu` or `wgpu`"))),
        }
    }

    pub fn device(self) -> Result<Device, EngineError> {
        match self {
            Backend::Cpu => Ok(Device::flex()),
            #[cfg(feature = "wgpu")]
            Backend::Wgpu => Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
            #[cfg(not(feature = "wgpu"))]
            Backend::Wgpu => Err(EngineError::Backend(
                "this build of Warble has no GPU support; rebuild with `--features wgpu` (cargo install ... --features wgpu)".into(),
            )),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Weights(#[from] warble_weights::WeightsError),
    /// A quantized model file (`warble quantize`) that cannot be read.
    #[error(transparent)]
    Quant(#[from] warble_quant::QuantError),
    #[error(transparent)]
    Load(#[from] warble_acoustic::nn::LoadError),
    #[error(transparent)]
    Voice(#[from] warble_speaker::SpeakerError),
    #[error("{0}")]
    Config(String),
    #[error("{0}")]
    Backend(String),
    #[error("{0}")]
    NotFound(String),
    #[error("nothing to say: the phoneme string is empty{0}")]
    Empty(&'static str),
    #[error("unknown phoneme symbol{} {}; the model knows only the symbols of its vocabulary (the lenient option drops them)", if .0.len() > 1 { "s" } else { "" }, describe_unknown(.0))]
    UnknownSymbols(Vec<UnknownSymbol>),
    #[error("speed {0} is out of range; use a value in (0, 10) (1.0 is normal, 0.5 half as fast, 2.0 twice as fast)")]
    Speed(f32),
    #[error(transparent)]
    G2p(#[from] warble_g2p::G2pError),
    #[error("nothing to say: the text has no words Warble can speak{0}")]
    NoSpeech(String),
    #[error("cannot write audio: {0}")]
    Io(#[from] std::io::Error),
    /// Boxed to keep `EngineError` (and every `Result` that carries it) small: `SsmlError` is the largest
    /// payload by far.
    #[error("SSML: {0}")]
    Ssml(#[source] Box<warble_ssml::SsmlError>),
}

impl From<warble_ssml::SsmlError> for EngineError {
    fn from(e: warble_ssml::SsmlError) -> Self {
        EngineError::Ssml(Box::new(e))
    }
}

fn describe_unknown(u: &[UnknownSymbol]) -> String {
    let shown: Vec<String> = u
        .iter()
        .take(10)
        .map(|s| format!("{:?} (U+{:04X}) at position {}", s.symbol, s.symbol as u32, s.position))
        .collect();
    let more = if u.len() > 10 { format!(" and {} more", u.len() - 10) } else { String::new() };
    format!("{}{more}", shown.join(", "))
}

/// How to load an engine.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// A weights file (`.onnx`, `.pth`, `.safetensors`) or a folder holding one; `None` searches the defaults.
    pub model: Option<PathBuf>,
    /// A voice file or a folder of them; `None` looks beside the model and in the defaults.
    pub voices: Option<PathBuf>,
    pub backend: Backend,
    /// Where converted weights are cached; `None` uses the per-user cache.
    pub cache_dir: Option<PathBuf>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self { model: None, voices: None, backend: Backend::Cpu, cache_dir: None }
    }
}

/// Per-call settings.
#[derive(Debug, Clone)]
pub struct SynthesisOptions {
    /// A voice name or a blend (`af_heart`, `jf_alpha:0.7,jm_kumo:0.3`); empty for text input means the
    /// default voice of the text's (dominant) language.
    pub voice: String,
    /// 1.0 is the voice's natural pace; durations are divided by it.
    pub speed: f32,
    /// Drop unknown phoneme symbols instead of failing.
    pub lenient: bool,
    /// The sine source's Gaussian noise: seeded like the original PyTorch model by default, `Off` for parity
    /// with the ONNX export.
    pub noise: SourceNoise,
    /// For text: speak each language run with that language's default voice instead of one voice throughout.
    pub per_language_voices: bool,
    /// Prosody controls over the whole call (rate, pitch, range, volume; SSML sets them per span instead):
    /// e.g. `controls.pitch = PitchTransform::IDENTITY.then(PitchChange::Semitones(2.0))`.
    pub controls: Controls,
    /// For [`Engine::stream`] and [`Engine::session`]: low latency (a short first call, windowed decoding;
    /// the default) or whole calls. The batch calls always decode whole calls.
    pub latency: Latency,
}

impl SynthesisOptions {
    pub fn new(voice: impl Into<String>) -> Self {
        Self {
            voice: voice.into(),
            speed: 1.0,
            lenient: false,
            noise: SourceNoise::Seeded(0),
            per_language_voices: false,
            controls: Controls::default(),
            latency: Latency::default(),
        }
    }
}

/// One model call's share of the output.
#[derive(Debug, Clone)]
pub struct ChunkTiming {
    /// The phonemes this chunk spoke (after dropping unknown symbols, if lenient).
    pub phonemes: String,
    /// Frames per model input position, both pads included (1 frame = 600 samples = 25 ms).
    pub durations: Vec<usize>,
    /// Where the chunk's frame 0 lies in the output (a break that trims the leading pad can put it before the
    /// chunk's first sample kept).
    pub start_sample: usize,
    /// The F0 curve the decoder received, Hz, two samples per frame (after any pitch control).
    pub f0: Vec<f32>,
}

/// An SSML `<mark>` and when playback reaches it.
#[derive(Debug, Clone, PartialEq)]
pub struct MarkTiming {
    pub name: String,
    /// Seconds from the start of the output.
    pub time: f64,
}

/// One phoneme symbol's place in the output.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenTiming {
    pub symbol: char,
    pub start: f64,
    pub end: f64,
}

/// One word's place in the output (text input only).
#[derive(Debug, Clone, PartialEq)]
pub struct WordTiming {
    pub text: String,
    pub start: f64,
    pub end: f64,
}

#[derive(Debug, Clone, Default)]
pub struct Synthesis {
    /// 24 kHz mono f32 samples.
    pub audio: Vec<f32>,
    pub chunks: Vec<ChunkTiming>,
    /// Words with their times, for text input.
    pub words: Vec<WordTiming>,
    /// SSML marks with their times, in document order.
    pub marks: Vec<MarkTiming>,
    /// Things the caller should know (skipped scripts, a voice speaking another language, ...).
    pub warnings: Vec<String>,
    pub times: StageTimes,
}

impl Synthesis {
    /// Appends a streamed chunk (chunks come in order).
    pub fn push(&mut self, c: AudioChunk) {
        self.audio.extend_from_slice(&c.samples);
        self.chunks.extend(c.calls);
        self.words.extend(c.words);
        self.marks.extend(c.marks);
        self.warnings.extend(c.warnings);
        self.times.add(&c.times);
    }

    /// Collects a whole stream; the first error ends it.
    pub fn collect(stream: impl Iterator<Item = Result<AudioChunk, EngineError>>) -> Result<Self, EngineError> {
        let mut s = Synthesis::default();
        for c in stream {
            s.push(c?);
        }
        Ok(s)
    }

    pub fn sample_rate(&self) -> u32 {
        SAMPLE_RATE
    }

    pub fn seconds(&self) -> f64 {
        self.audio.len() as f64 / SAMPLE_RATE as f64
    }

    /// Start and end of every spoken symbol, in seconds from the start of the output (pads excluded).
    pub fn tokens(&self) -> Vec<TokenTiming> {
        let mut out = Vec::new();
        for c in &self.chunks {
            let mut frame = c.durations.first().copied().unwrap_or(0);
            for (sym, &d) in c.phonemes.chars().zip(c.durations.iter().skip(1)) {
                let start = (c.start_sample + frame * SAMPLES_PER_FRAME) as f64 / SAMPLE_RATE as f64;
                frame += d;
                let end = (c.start_sample + frame * SAMPLES_PER_FRAME) as f64 / SAMPLE_RATE as f64;
                out.push(TokenTiming { symbol: sym, start, end });
            }
        }
        out
    }
}

/// How long loading took, and whether the converted-weights cache was used.
#[derive(Debug, Clone)]
pub struct LoadReport {
    pub model_file: PathBuf,
    pub voices_path: PathBuf,
    pub weights_cached: bool,
    pub weights_time: Duration,
    pub build_time: Duration,
    /// The quantization scheme (`int8`, `int4-mixed`, `bf16`, `custom`) of a quantized model file; `None` for a
    /// float checkpoint.
    pub quant_scheme: Option<String>,
}

pub struct Engine {
    model: KokoroModel,
    voices: VoiceLibrary,
    vocab: Vocab,
    report: LoadReport,
    /// The stored precision of every weight of a quantized model file (`None` for a float checkpoint).
    precisions: Option<BTreeMap<String, warble_quant::Precision>>,
    g2p: Mutex<HashMap<Language, Arc<dyn G2p>>>,
    /// The GE2E speaker encoder, built on first use (cloning, similarity).
    encoder: std::sync::OnceLock<warble_speaker::SpeakerEncoder>,
}

impl Engine {
    pub fn load(opts: &EngineOptions) -> Result<Self, EngineError> {
        let model_file = paths::resolve_model(opts.model.as_deref())?;
        let voices_path = paths::resolve_voices(opts.voices.as_deref(), &model_file)?;
        let device = opts.backend.device()?;
        let voices = VoiceLibrary::load(&voices_path)?;
        let vocab = match model_file.parent().map(|d| d.join("config.json")) {
            Some(cfg) if cfg.is_file() => {
                let text = std::fs::read_to_string(&cfg)?;
                Vocab::from_config_json(&text)?
            }
            _ => Vocab::kokoro_v1(),
        };
        let t = Instant::now();
        let cache = opts.cache_dir.clone().unwrap_or_else(warble_weights::default_cache_dir);
        // A Warble quantized file is read directly (memory-mapped and dequantized: already quick, so it bypasses
        // the converted-weights cache); anything else goes through warble-weights and its cache.
        let (mut weights, weights_cached, quant_scheme, precisions) = if is_quantized_model(&model_file) {
            let q = warble_quant::QuantizedModel::read(&model_file)?;
            let precisions = q.precisions();
            let scheme = q.scheme.clone();
            (q.into_weight_map(), false, Some(scheme), Some(precisions))
        } else {
            let (weights, info) = warble_weights::load_cached(&model_file, &cache)?;
            (weights, info.cache_hit, None, None)
        };
        weights.check_layout(warble_weights::kokoro_v1_0_layout(), "Kokoro-82M v1.0")?;
        let weights_time = t.elapsed();
        let t = Instant::now();
        let mut model = KokoroModel::load(&mut weights, &device)?;
        // The convolutions a quantized file stores in INT8 (the generator's residual stacks, the decoder's AdaIN
        // blocks) run on the INT8 kernel (CPU only: elsewhere the dequantized weights run in f32).
        if let Some(p) = &precisions {
            let int8 = |key: &str| p.get(&format!("decoder.{key}.weight")) == Some(&warble_quant::Precision::Int8);
            if model.decoder.generator.host.is_some() {
                model.decoder.generator.set_host_int8(&|key: &str| int8(&format!("generator.{key}")));
            }
            model.decoder.set_int8(&int8);
            // The predictor's N (energy) convolutions stored INT8 run on the INT8 kernel in every call (their
            // copies exist where the CPU has a SIMD integer kernel). Its F0 branch stays f32 but in a stream's
            // first call: F0 in INT8 too brought the int8 file's worst golden case (c11) from 0.9802 to 0.9799
            // — a pitch shift of under a cent moves every harmonic's phase, which the measure counts.
            let energy = p.get("predictor.N.0.conv1.weight") == Some(&warble_quant::Precision::Int8);
            model.int8_energy = energy && model.acoustic.predictor.n.blocks[0].conv1.int8.is_some();
            // ALBERT's layers, `bert_encoder` and the LSTMs' input projections stored below f32 compute in BF16
            // (CPUs with AVX-512 BF16; elsewhere in f32 from the dequantized weights), INT8 in a stream's first
            // call. Not INT8 in every call: with INT8 activations c07's log-spectrogram correlation with f32 fell
            // from 0.9850 to 0.9813 (durations identical 100 % → 98.1 %), too near the 0.98 bar for the worst
            // case (c11); bf16 rounds each activation on its own, with no step shared across a tile.
            if warble_acoustic::nn::host_bf16(&device) {
                let reduced = |key: &str| {
                    ["weight", "weight_ih_l0"]
                        .iter()
                        .any(|w| p.get(&format!("{key}.{w}")).is_some_and(|&q| q != warble_quant::Precision::F32))
                };
                model.acoustic.set_bf16(&reduced);
            }
        }
        let build_time = t.elapsed();
        Ok(Self {
            model,
            voices,
            vocab,
            g2p: Mutex::new(HashMap::new()),
            encoder: std::sync::OnceLock::new(),
            report: LoadReport { model_file, voices_path, weights_cached, weights_time, build_time, quant_scheme },
            precisions,
        })
    }

    /// The stored precision (`f32`, `bf16`, `int8`, `int4`) of every weight when the model was loaded from a
    /// quantized file (`warble quantize`); `None` for a float checkpoint. The generator's residual-stack
    /// convolutions and the decoder's block convolutions stored in INT8 compute in INT8 on the CPU
    /// ([`Engine::uses_int8_kernels`]); ALBERT's linear layers, `bert_encoder` and the LSTM input projections
    /// stored below f32 compute in BF16 on a CPU with AVX-512 BF16 ([`Engine::bf16_layers`]; INT8 in a stream's
    /// first call); every other weight is dequantized once at load and computes in f32.
    pub fn weight_precisions(&self) -> Option<&BTreeMap<String, warble_quant::Precision>> {
        self.precisions.as_ref()
    }

    /// Whether any of the generator's or decoder's convolutions run on the INT8 kernel in every call (a
    /// quantized model file).
    pub fn uses_int8_kernels(&self) -> bool {
        self.model.decoder.generator.uses_int8() || self.model.decoder.uses_int8()
    }

    /// The checkpoint keys of the matrix products that compute in BF16 (a quantized file on a CPU with AVX-512
    /// BF16; empty otherwise).
    pub fn bf16_layers(&self) -> Vec<String> {
        self.model.acoustic.bf16_layers()
    }

    pub fn load_report(&self) -> &LoadReport {
        &self.report
    }

    pub fn voices(&self) -> &VoiceLibrary {
        &self.voices
    }

    /// Adds a voice pack to the engine's library under the pack's name (a clone from `warble clone`, read with
    /// [`VoiceLibrary::load`]), so callers can name it like a stock voice: in [`SynthesisOptions::voice`], in
    /// blends and in SSML `<voice name>`. The same pack under the same name again is accepted; a different pack
    /// under a name already taken is an error, as is a name that resolution would read as a file path or a blend
    /// (empty, whitespace, `,`, `:`, `/`, `\`, or a voice-file extension).
    pub fn add_voice(&mut self, pack: VoicePack) -> Result<(), EngineError> {
        let name = pack.name();
        if name.is_empty()
            || name.chars().any(|c| c.is_whitespace() || c == ',' || c == ':')
            || warble_speaker::is_voice_path(name)
        {
            return Err(EngineError::Config(format!(
                "cannot add voice {name:?}: a voice name must be non-empty and free of spaces, `,`, `:`, `/` and `\\`, \
                 and not end in a voice-file extension (it would read as a blend or a file path)"
            )));
        }
        self.voices.add(pack, "an added voice".into())?;
        Ok(())
    }

    pub fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    pub fn model(&self) -> &KokoroModel {
        &self.model
    }

    /// Turns the generator's CPU kernels (`warble_vocoder::host`) on or off; on by default with the CPU backend.
    /// Off, the CPU runs the same Burn tensor operations a GPU does: for comparisons (`cargo xtask bench
    /// --generator burn`). Turning them on for a GPU backend would copy tensors to the host and back.
    pub fn set_cpu_kernels(&mut self, on: bool) {
        let int8 = warble_acoustic::nn::host_int8(self.model.device());
        self.model.decoder.generator.set_host_kernels(on, int8);
    }

    /// The generator's CPU kernels with every residual-stack convolution in INT8 (weights per output channel,
    /// activations per call; `warble_quant::conv`), whatever precision the loaded file has: for comparisons
    /// (`cargo xtask bench --generator int8`). A quantized model file turns on the convolutions its policy
    /// names by itself. Nothing changes where the CPU kernels are off (a GPU backend).
    pub fn set_int8_generator(&mut self) {
        if self.model.decoder.generator.host.is_some() {
            self.model.decoder.generator.set_host_int8(&|_| true);
        }
    }

    /// Computes every matrix product of the acoustic half in f32, dropping the BF16 copies a quantized file gets
    /// on a CPU with AVX-512 BF16: for comparisons (`cargo xtask bench --matmuls f32`).
    pub fn set_f32_matmuls(&mut self) {
        self.model.acoustic.set_bf16(&|_| false);
    }

    /// Speaks a phoneme string (Kokoro's symbols). Strings over 510 symbols are split at punctuation or spaces
    /// and synthesized call by call, joined at the pads' silence.
    pub fn synthesize_phonemes(&self, phonemes: &str, opts: &SynthesisOptions) -> Result<Synthesis, EngineError> {
        Synthesis::collect(self.stream(Input::phonemes(phonemes), &whole(opts))?)
    }

    /// The G2P for `lang`, built once per engine.
    pub fn g2p(&self, lang: Language) -> Result<Arc<dyn G2p>, EngineError> {
        let mut map = self.g2p.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(g) = map.get(&lang) {
            return Ok(g.clone());
        }
        let g: Arc<dyn G2p> = Arc::from(warble_g2p::g2p_for(lang)?);
        map.insert(lang, g.clone());
        Ok(g)
    }

    /// Speaks text. `lang: None` detects the language of each sentence and splits mixed-script text into runs
    /// (`warble_g2p::detect_runs`); one voice speaks every run unless `opts.per_language_voices`. Lines are
    /// independent segments; sentences within a line are packed into calls of at most 510 phonemes, cut at the
    /// best punctuation.
    pub fn synthesize_text(
        &self,
        text: &str,
        lang: Option<Language>,
        opts: &SynthesisOptions,
    ) -> Result<Synthesis, EngineError> {
        Synthesis::collect(self.stream(Input::Text { text: text.to_string(), lang }, &whole(opts))?)
    }

    /// Speaks an SSML document (see `warble-ssml` for what is understood): prosody controls on the model,
    /// exact breaks, marks with times, voices, languages, `<say-as>`, `<phoneme>`. Parser warnings are returned
    /// in [`Synthesis::warnings`]; with `parse.strict` they are errors.
    pub fn synthesize_ssml(
        &self,
        ssml: &str,
        lang: Option<Language>,
        opts: &SynthesisOptions,
        parse: &warble_ssml::ParseOptions,
    ) -> Result<Synthesis, EngineError> {
        self.check_options(opts)?;
        Synthesis::collect(self.ssml_stream(ssml, lang, parse, &whole(opts))?)
    }

    /// Speaks an already parsed (or programmatically built) document: the Rust API for per-span controls.
    pub fn synthesize_document(
        &self,
        doc: &warble_ssml::Document,
        lang: Option<Language>,
        opts: &SynthesisOptions,
    ) -> Result<Synthesis, EngineError> {
        self.check_options(opts)?;
        let mut warnings = Vec::new();
        let steps = self.document_steps(doc, lang, opts, &mut warnings)?;
        Synthesis::collect(self.stream_planned(steps, warnings, &whole(opts))?)
    }

    /// Checks every symbol against the vocabulary; with `lenient`, drops the unknown ones instead.
    fn check_symbols(&self, phonemes: &str, lenient: bool) -> Result<String, EngineError> {
        let unknown = self.vocab.unknown(phonemes);
        if unknown.is_empty() {
            return Ok(phonemes.to_string());
        }
        // Whitespace other than a plain space (newlines, tabs) reads as a space rather than an error.
        let normalized: String = phonemes.chars().map(|c| if c.is_whitespace() { ' ' } else { c }).collect();
        let unknown = self.vocab.unknown(&normalized);
        if unknown.is_empty() {
            return Ok(normalized);
        }
        if lenient {
            Ok(normalized.chars().filter(|&c| self.vocab.contains(c)).collect())
        } else {
            Err(EngineError::UnknownSymbols(unknown))
        }
    }
}

/// The batch calls decode whole model calls (the reference computation).
fn whole(opts: &SynthesisOptions) -> SynthesisOptions {
    SynthesisOptions { latency: Latency::Whole, ..opts.clone() }
}

/// A `.safetensors` file with Warble's quantization metadata (only the header is read).
fn is_quantized_model(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("safetensors")) && warble_quant::is_quantized_file(path)
}

fn check_speed(speed: f32) -> Result<(), EngineError> {
    if speed.is_finite() && speed > 0.0 && speed < 10.0 { Ok(()) } else { Err(EngineError::Speed(speed)) }
}

/// The folders Warble searches for weights when none is given, in order.
pub fn default_search_paths() -> Vec<PathBuf> {
    paths::model_search_dirs()
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("report", &self.report).finish_non_exhaustive()
    }
}
