//! warble-vocoder: Kokoro-82M's iSTFTNet decoder as Burn modules — the AdaIN decoder stack, the harmonic sine
//! source, the two-stage upsampling generator and an exact inverse STFT.
//!
//! Stages are separate methods ([`decoder::Decoder::features`], [`generator::Generator::harmonic_source`],
//! [`generator::Generator::conv_post`], [`generator::Generator::istft`]) so callers can time them and feed
//! reference tensors into any one of them.

pub mod decoder;
pub mod generator;
pub mod host;
pub mod ort_stft;
pub mod source;
pub mod stft;

pub use decoder::Decoder;
pub use generator::{Generator, GeneratorConfig};
pub use source::{SineGenConfig, SourceNoise};
