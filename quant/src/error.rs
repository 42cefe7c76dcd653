//! The error type of the policy and the file format. Every variant names the file, the rule or the key it is
//! about, and says what to do.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum QuantError {
    /// Reading or writing a file failed at the operating-system level.
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A policy file is not valid JSON, or not a policy (`{"rules": [{"pattern", "precision"}, …]}`).
    #[error(
        "policy {source_name}: {detail} (a policy is {{\"rules\": [{{\"pattern\": \"KEY GLOB\", \"precision\": \"int8\"}}, …]}})"
    )]
    PolicyJson { source_name: String, detail: String },

    /// A rule names a precision this crate does not know.
    #[error(
        "policy {source_name}: rule {rule} ({pattern:?}) has unknown precision {precision:?}; use one of f32, bf16, int8, int4"
    )]
    UnknownPrecision { source_name: String, rule: usize, pattern: String, precision: String },

    /// A rule's pattern is empty.
    #[error("policy {source_name}: rule {rule} has an empty pattern")]
    EmptyPattern { source_name: String, rule: usize },

    /// A rule's pattern matches no key of the model: most likely a typo, which would silently leave the layer
    /// unquantized.
    #[error(
        "policy {source_name}: rule {rule} pattern {pattern:?} matches no weight of the model{hint}; \
             patterns are globs over the canonical keys (`*` any characters, dots included, `?` one character)"
    )]
    UnmatchedPattern { source_name: String, rule: usize, pattern: String, hint: String },

    /// A quantizing rule is the first to match a 1-D tensor (a bias, a norm's gain): these stay f32.
    #[error(
        "policy {source_name}: rule {rule} ({pattern:?} → {precision}) would quantize the 1-D tensor {key:?} \
             {shape:?}; biases and norm parameters stay f32: narrow the pattern (e.g. end it in `.weight`) or put \
             a rule {{\"pattern\": {key:?}, \"precision\": \"f32\"}} before it"
    )]
    QuantizesVector {
        source_name: String,
        rule: usize,
        pattern: String,
        precision: crate::Precision,
        key: String,
        shape: Vec<usize>,
    },

    /// A weight to be quantized holds NaN or an infinity.
    #[error(
        "weight {key:?} holds a non-finite value ({value}) at index {index}; it cannot be quantized (the source checkpoint is damaged)"
    )]
    NonFinite { key: String, index: usize, value: f32 },

    /// A scheme name is not one of the built-in ones.
    #[error("unknown quantization scheme {0:?}; use int8, int4-mixed or bf16 (or a policy file)")]
    UnknownScheme(String),

    /// The file is not a safetensors file at all.
    #[error("{path} is not a safetensors file ({detail}); pass a quantized model written by `warble quantize`")]
    NotSafetensors { path: PathBuf, detail: String },

    /// The file ends before the data its header announces.
    #[error("{path} is truncated ({detail}); the copy is incomplete: copy it again or re-run `warble quantize`")]
    Truncated { path: PathBuf, detail: String },

    /// A valid safetensors file without Warble's quantization metadata.
    #[error(
        "{path} is a plain safetensors checkpoint, not a Warble quantized model (no \"warble.quant\" metadata); \
             load it as a float model, or make a quantized one with `warble quantize --model {path} …`"
    )]
    NotQuantized { path: PathBuf },

    /// The format version in the file is not one this build reads.
    #[error(
        "{path} is a Warble quantized model of format version {found:?}, this build reads version {supported}; \
             use a newer Warble or re-run `warble quantize` with this one"
    )]
    UnsupportedVersion { path: PathBuf, found: String, supported: &'static str },

    /// The quantization metadata is missing a field or is not the JSON it should be.
    #[error("{path}: bad quantization metadata {field:?}: {detail}; re-run `warble quantize`")]
    BadMetadata { path: PathBuf, field: String, detail: String },

    /// A quantized tensor's scale tensor is absent.
    #[error(
        "{path}: tensor {key:?} is stored as {precision} but its scales {key:?}+\".scale\" are missing; the file is damaged: re-run `warble quantize`"
    )]
    MissingScale { path: PathBuf, key: String, precision: crate::Precision },

    /// A tensor or its scales do not have the size its logical shape implies.
    #[error(
        "{path}: tensor {key:?} ({precision}, logical shape {shape:?}): {detail}; the file is damaged: re-run `warble quantize`"
    )]
    ShapeMismatch { path: PathBuf, key: String, precision: crate::Precision, shape: Vec<usize>, detail: String },

    /// A tensor has an element type the format does not use for it.
    #[error(
        "{path}: tensor {key:?} has element type {found}, expected {expected}; the file was not written by `warble quantize` or is damaged"
    )]
    UnexpectedDtype { path: PathBuf, key: String, found: String, expected: String },

    /// A tensor appears in the quantization metadata but not in the file, or the other way round.
    #[error("{path}: tensor {key:?} {detail}; the file is damaged: re-run `warble quantize`")]
    Inconsistent { path: PathBuf, key: String, detail: String },

    /// Two model keys collide with the names the format uses for scales.
    #[error("weight {key:?} collides with the scale tensor of {owner:?}; such a model cannot be stored in this format")]
    KeyCollision { key: String, owner: String },

    /// Writing the safetensors file failed.
    #[error("cannot write {path}: {detail}")]
    Write { path: PathBuf, detail: String },
}

impl QuantError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }
}
