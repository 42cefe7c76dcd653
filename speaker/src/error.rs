//! The error type of this crate. Messages name the file or voice involved, and for shape
//! problems both what was found and what a Kokoro voice pack must be.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SpeakerError {
    /// The path given does not exist.
    #[error("voice file or folder not found: {path} ({detail})")]
    NotFound { path: PathBuf, detail: String },

    /// Reading a file failed at the operating-system level.
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The file holds data of the wrong size or shape for a voice pack.
    #[error("{source_name}: found {found}, expected {expected}")]
    BadShape { source_name: String, found: String, expected: String },

    /// The file is truncated or not in the format it claims.
    #[error("{path} is not a readable {format} file: {detail}")]
    Corrupt { path: PathBuf, format: &'static str, detail: String },

    /// The file format is recognised but this variant of it is not supported.
    #[error("{path}: unsupported {format} content: {detail}")]
    Unsupported { path: PathBuf, format: &'static str, detail: String },

    /// A folder with no voice files, or a file of an unknown kind.
    #[error("no voice packs in {path}: {detail}")]
    NoVoices { path: PathBuf, detail: String },

    /// Two files define the same voice name with different data.
    #[error("voice {name:?} is defined twice with different data: {first} and {second}")]
    DuplicateVoice { name: String, first: String, second: String },

    /// A voice name that is not in the library.
    #[error("unknown voice {name:?}{suggestion}; available voices: {available}")]
    UnknownVoice { name: String, suggestion: String, available: String },

    /// A phoneme count outside 1..=510 (a voice pack has one row per length).
    #[error("no style row for {n_phonemes} phonemes: voice packs cover 1..={max} phonemes")]
    PhonemeCount { n_phonemes: usize, max: usize },

    /// A malformed voice or blend specification.
    #[error("invalid voice specification {spec:?}: {detail}")]
    BadSpec { spec: String, detail: String },

    /// Audio the GE2E speaker encoder cannot embed (empty, holding NaN/∞ samples, or giving no direction).
    #[error("cannot compute a speaker embedding: {detail}")]
    EmbedInput { detail: String },

    /// The GE2E speaker encoder's weights or its tensors could not be used.
    #[error("GE2E speaker encoder: {detail}")]
    Encoder { detail: String },

    /// The voice-cloning style prior (assets/style_prior.safetensors) could not be read.
    #[error("voice-cloning style prior: {detail} (rebuild it with `cargo xtask train-speaker`)")]
    Prior { detail: String },

    /// A least-squares system of the cloning fits (the prior's leave-one-out spread, `train-speaker`'s ridge fit,
    /// the search's slope refit) that [`crate::prior::solve_spd`] cannot solve: not symmetric positive definite
    /// (the data hold NaN or are degenerate) or of mismatched sizes.
    #[error(
        "cannot solve a {n}×{n} least-squares system: {detail}; check the renders or embeddings it was built \
         from for NaN values"
    )]
    Solve { n: usize, detail: String },

    /// A reference recording (voice cloning) that does not exist.
    #[error("reference audio not found: {path} ({detail}); check the file name and folder")]
    AudioNotFound { path: PathBuf, detail: String },

    /// A reference recording that exists but cannot be read (a folder, no permission, an I/O error).
    #[error("cannot read reference audio {path}: {detail}; give a readable audio file")]
    AudioUnreadable { path: PathBuf, detail: String },

    /// Not an audio format (or codec) that can be decoded.
    #[error(
        "{path} cannot be used as reference audio: {detail}; convert it to WAV, FLAC, MP3 or Ogg Vorbis \
         (for example `ffmpeg -i INPUT -ac 1 -ar 16000 reference.wav`)"
    )]
    AudioFormat { path: PathBuf, detail: String },

    /// Audio data the container reader cannot make sense of, or mostly undecodable.
    #[error("{path} is damaged: {detail}; export or copy the recording again")]
    AudioCorrupt { path: PathBuf, detail: String },

    /// Audio data that ends inside a packet, or well before the length its header declares.
    #[error(
        "{path} is cut short: {}; copy or export the recording again",
        describe_truncation(*decoded_s, *declared_s)
    )]
    AudioTruncated { path: PathBuf, decoded_s: f32, declared_s: Option<f32> },

    /// A file (or in-memory clip) with no audio samples at all.
    #[error("{path} holds no audio ({detail}): record at least 5 s of one person speaking")]
    AudioEmpty { path: PathBuf, detail: String },

    /// A sample rate outside what can be resampled.
    #[error("cannot resample from {from_rate} Hz to {to_rate} Hz: both rates must be within {min}..={max} Hz")]
    BadSampleRate { from_rate: u32, to_rate: u32, min: u32, max: u32 },

    /// A reference with no sound above the silence floor.
    #[error(
        "{name} holds no speech ({}): record at least 5 s of one person speaking, close to the microphone",
        describe_peak(*peak_dbfs)
    )]
    SilentReference { name: String, peak_dbfs: f32 },

    /// Too little speech left after silences are trimmed.
    #[error(
        "{name} holds only {found_seconds:.1} s of speech once silences are removed; at least \
         {needed_seconds:.1} s is needed and 5–30 s is recommended: record a longer sample or pass several files"
    )]
    TooLittleSpeech { name: String, found_seconds: f32, needed_seconds: f32 },

    /// A steady signal (tone, hum, noise) instead of speech.
    #[error(
        "{name} does not sound like speech: its loudness is steady (it varies by {spread_db:.1} dB, where speech \
         rises and falls by 10 dB or more), like a tone, hum or noise; record one person speaking in a quiet room"
    )]
    NotSpeech { name: String, spread_db: f32 },

    /// Voice cloning was asked for without any reference recording.
    #[error("no reference audio given: pass at least one recording of the voice (5–30 s of one person speaking)")]
    NoReference,
}

impl SpeakerError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }
}

/// A peak level for messages: "peak -62 dBFS", or digital silence.
fn describe_peak(peak_dbfs: f32) -> String {
    if peak_dbfs.is_finite() { format!("peak {peak_dbfs:.0} dBFS") } else { "every sample is 0".into() }
}

/// What a truncated file still holds, for messages.
fn describe_truncation(decoded_s: f32, declared_s: Option<f32>) -> String {
    match declared_s {
        Some(declared) => {
            format!("its header declares {declared:.2} s of audio but the data ends after {decoded_s:.2} s")
        }
        None => format!("the data stops in the middle of a packet after {decoded_s:.2} s of audio"),
    }
}
