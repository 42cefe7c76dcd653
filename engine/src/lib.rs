//! warble-engine: loads Kokoro-82M and its voices once and turns phoneme strings (and, through `warble-g2p`,
//! text) into 24 kHz audio with per-token timings.
//!
//! The engine is the one crate that knows all the others: it finds and converts the weights
//! (`warble-weights`), builds the Burn model (`warble-acoustic` + `warble-vocoder`) on the chosen backend, picks
//! voice rows (`warble-speaker`), and splits long input into chunks of at most 510 symbols.
//! [`Engine`] is `Send + Sync`: one loaded engine serves concurrent callers.

pub mod audio;
pub mod chunk;
pub mod model;
pub mod paths;
pub mod vocab;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use burn::tensor::Device;
pub use model::{ChunkOutput, KokoroModel, StageTimes, SAMPLES_PER_FRAME, SAMPLE_RATE};
pub use vocab::{UnknownSymbol, Vocab, MAX_PHONEMES};
pub use warble_speaker::{VoiceLibrary, VoicePack};
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
    #[error("unknown phoneme symbol{} {}; the model knows only the symbols of its vocabulary (use --lenient to drop them)", if .0.len() > 1 { "s" } else { "" }, describe_unknown(.0))]
    UnknownSymbols(Vec<UnknownSymbol>),
    #[error("speed {0} is out of range; use a value in (0, 10) (1.0 is normal, 0.5 half as fast, 2.0 twice as fast)")]
    Speed(f32),
    #[error("cannot write audio: {0}")]
    Io(#[from] std::io::Error),
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
        Self {
            model: None,
            voices: None,
            backend: Backend::Cpu,
            cache_dir: None,
        }
    }
}

/// Per-call settings.
#[derive(Debug, Clone)]
pub struct SynthesisOptions {
    /// A voice name or a blend (`af_heart`, `jf_alpha:0.7,jm_kumo:0.3`).
    pub voice: String,
    /// 1.0 is the voice's natural pace; durations are divided by it.
    pub speed: f32,
    /// Drop unknown phoneme symbols instead of failing.
    pub lenient: bool,
    /// The sine source's Gaussian noise: seeded like the original PyTorch model by default, `Off` for parity
    /// with the ONNX export.
    pub noise: SourceNoise,
}

impl SynthesisOptions {
    pub fn new(voice: impl Into<String>) -> Self {
        Self {
            voice: voice.into(),
            speed: 1.0,
            lenient: false,
            noise: SourceNoise::Seeded(0),
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
    /// Where the chunk's audio starts in the output.
    pub start_sample: usize,
}

/// One phoneme symbol's place in the output.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenTiming {
    pub symbol: char,
    pub start: f64,
    pub end: f64,
}

#[derive(Debug, Clone)]
pub struct Synthesis {
    /// 24 kHz mono f32 samples.
    pub audio: Vec<f32>,
    pub chunks: Vec<ChunkTiming>,
    pub times: StageTimes,
}

impl Synthesis {
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
}

pub struct Engine {
    model: KokoroModel,
    voices: VoiceLibrary,
    vocab: Vocab,
    report: LoadReport,
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
        let (mut weights, info) = warble_weights::load_cached(&model_file, &cache)?;
        weights.check_layout(warble_weights::kokoro_v1_0_layout(), "Kokoro-82M v1.0")?;
        let weights_time = t.elapsed();
        let t = Instant::now();
        let model = KokoroModel::load(&mut weights, &device)?;
        let build_time = t.elapsed();
        Ok(Self {
            model,
            voices,
            vocab,
            report: LoadReport {
                model_file,
                voices_path,
                weights_cached: info.cache_hit,
                weights_time,
                build_time,
            },
        })
    }

    pub fn load_report(&self) -> &LoadReport {
        &self.report
    }

    pub fn voices(&self) -> &VoiceLibrary {
        &self.voices
    }

    pub fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    pub fn model(&self) -> &KokoroModel {
        &self.model
    }

    /// Speaks a phoneme string (Kokoro's symbols). Strings over 510 symbols are split at punctuation or spaces
    /// and synthesized chunk by chunk; the chunks' audio is concatenated, as the reference pipeline does.
    pub fn synthesize_phonemes(&self, phonemes: &str, opts: &SynthesisOptions) -> Result<Synthesis, EngineError> {
        let voice = self.voices.resolve(&opts.voice)?;
        self.synthesize_with_voice(phonemes, &voice, opts)
    }

    /// As [`Engine::synthesize_phonemes`] with an already resolved voice pack.
    pub fn synthesize_with_voice(&self, phonemes: &str, voice: &VoicePack, opts: &SynthesisOptions) -> Result<Synthesis, EngineError> {
        check_speed(opts.speed)?;
        let cleaned = self.check_symbols(phonemes, opts.lenient)?;
        let pieces = chunk::split_phonemes(&cleaned, MAX_PHONEMES);
        if pieces.is_empty() {
            return Err(EngineError::Empty(if phonemes.trim().is_empty() { "" } else { " after dropping unknown symbols" }));
        }
        let mut synthesis = Synthesis {
            audio: Vec::new(),
            chunks: Vec::new(),
            times: StageTimes::default(),
        };
        for piece in pieces {
            let ids = self.vocab.encode(&piece);
            // The reference picks the voice row by the phoneme string's length in characters.
            let style = voice.style_for(piece.chars().count())?.to_vec();
            let out = self.model.synthesize(&ids, &style, opts.speed, opts.noise);
            synthesis.times.add(&out.times);
            synthesis.chunks.push(ChunkTiming {
                phonemes: piece,
                durations: out.durations,
                start_sample: synthesis.audio.len(),
            });
            synthesis.audio.extend_from_slice(&out.audio);
        }
        Ok(synthesis)
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

fn check_speed(speed: f32) -> Result<(), EngineError> {
    if speed.is_finite() && speed > 0.0 && speed < 10.0 {
        Ok(())
    } else {
        Err(EngineError::Speed(speed))
    }
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
