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
}

impl SpeakerError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }
}
