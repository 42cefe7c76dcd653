//! warble-quant: reduced-precision Kokoro-82M.
//!
//! * [`conv`]: the INT8 convolution the generator's residual stacks run on (AVX-512 VNNI `vpdpbusd` where the
//!   CPU has it, a portable integer kernel with identical results elsewhere).
//! * [`linear`]: the same kernel as a linear layer over token rows (ALBERT, the predictor's projections).
//! * [`bf16`]: the BF16 linear layer (AVX-512 BF16 `vdpbf16ps`, a portable loop with identical results) that a
//!   quantized file's ALBERT, predictor and LSTM input projections compute on.
//! * [`scheme`]: the number formats (symmetric INT8 per output channel, INT4 in blocks of 32 with f16 scales,
//!   BF16) and their quantize/dequantize functions.
//! * [`policy`]: which weight gets which precision — ordered glob rules over the canonical keys, the built-in
//!   `int8`, `int4-mixed` and `bf16` policies, JSON policy files.
//! * [`format`]: the quantized model file (safetensors with Warble metadata; `quant/README.md`), its atomic
//!   writer and memory-mapped reader, and the dequantization into a `warble_weights::WeightMap`.

pub mod bf16;
pub mod conv;
mod error;
pub mod format;
pub mod linear;
pub mod policy;
pub mod scheme;

pub use error::QuantError;
pub use format::{FORMAT_VERSION, PrecisionStats, QTensor, QuantizedModel, is_quantized_file};
pub use policy::{MIN_QUANTIZED_ELEMENTS, Policy, Precision, Rule, Scheme, glob_match};
