//! The error type of this crate.
//!
//! Every variant names the file or the key it is about, because the caller usually cannot
//! tell which of several candidate files or 457 tensors went wrong.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    /// The path given does not exist.
    #[error("weights file not found: {path} ({detail})")]
    NotFound { path: PathBuf, detail: String },

    /// A folder was given but holds no file with a supported extension.
    #[error("no weights file in folder {dir}: looked for *.onnx, *.pth, *.pt and *.safetensors, found {found}")]
    NoModelFile { dir: PathBuf, found: String },

    /// A folder was given that holds several candidate files.
    #[error("folder {dir} holds several weights files ({candidates}); pass the one to use")]
    AmbiguousModelDir { dir: PathBuf, candidates: String },

    /// The extension does not name a supported format.
    #[error("unsupported weights file {path}: extension {extension:?} is not one of .onnx, .pth, .pt, .safetensors")]
    UnknownExtension { path: PathBuf, extension: String },

    /// Reading or writing a file failed at the operating-system level.
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The file is truncated or is not the format its extension says.
    #[error("{path} is not a readable {format} file: {detail}")]
    Corrupt { path: PathBuf, format: &'static str, detail: String },

    /// The file is well formed but uses a feature this loader does not implement.
    #[error("{path}: unsupported {format} content: {detail}")]
    Unsupported { path: PathBuf, format: &'static str, detail: String },

    /// The ONNX graph could not be mapped onto PyTorch keys without guessing.
    #[error("ONNX graph of {path} cannot be mapped to PyTorch weights: {detail}")]
    GraphMapping { path: PathBuf, detail: String },

    /// A tensor requested by key is absent.
    #[error("weight {key:?} is missing from the checkpoint{hint}")]
    MissingKey { key: String, hint: String },

    /// A tensor has a shape other than the one required.
    #[error("weight {key:?} has shape {found:?}, expected {expected:?}")]
    ShapeMismatch { key: String, found: Vec<usize>, expected: Vec<usize> },

    /// A tensor's data length does not match its shape.
    #[error("tensor {key:?}: shape {shape:?} needs {expected} values but {found} were given")]
    DataLength { key: String, shape: Vec<usize>, expected: usize, found: usize },

    /// The checkpoint does not hold the expected set of tensors.
    #[error("weights do not match the {model} layout: {summary}")]
    LayoutMismatch { model: &'static str, summary: String },
}

impl WeightsError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }
}
