//! PyTorch `torch.save` checkpoints (`.pth`, `.pt`).
//!
//! The container (zip archive holding a pickle and one file per storage) is parsed by
//! `pytorch-reader`, the reader burn-store uses, which flattens nested dicts into dotted keys:
//! `kokoro-v1_0.pth`'s `{"bert": {"module.embeddings…": tensor}}` becomes
//! `bert.module.embeddings…`. This module converts each tensor to `f32`; the renaming happens
//! in [`crate::canonical`].

use std::path::Path;

use pytorch_reader::{DType, PytorchReader};

use crate::{Tensor, WeightsError};

/// Reads every tensor of a checkpoint as `(flattened key, f32 tensor)`.
pub fn read_checkpoint(path: &Path) -> Result<Vec<(String, Tensor)>, WeightsError> {
    let reader = PytorchReader::new(path).map_err(|e| WeightsError::Corrupt {
        path: path.to_path_buf(),
        format: "PyTorch checkpoint",
        detail: e.to_string(),
    })?;
    let mut out = Vec::with_capacity(reader.len());
    for (key, t) in reader.tensors() {
        let bytes = t.read().map_err(|e| WeightsError::Corrupt {
            path: path.to_path_buf(),
            format: "PyTorch checkpoint",
            detail: e.to_string(),
        })?;
        let data = match to_f32(t.dtype(), &bytes) {
            Some(d) => d,
            None if crate::canonical::canonical_name(key).is_none() => continue, // an unused buffer
            None => {
                return Err(WeightsError::Unsupported {
                    path: path.to_path_buf(),
                    format: "PyTorch checkpoint",
                    detail: format!(
                        "tensor {key:?} has element type {:?}; only floating-point weights are supported",
                        t.dtype()
                    ),
                });
            }
        };
        out.push((
            key.clone(),
            Tensor::new(t.shape().to_vec(), data).map_err(|_| WeightsError::Corrupt {
                path: path.to_path_buf(),
                format: "PyTorch checkpoint",
                detail: format!("tensor {key:?}: data does not fill shape {:?}", t.shape()),
            })?,
        ));
    }
    Ok(out)
}

/// Native-endian bytes of a floating-point tensor → f32 (`None` for integer types).
fn to_f32(dtype: DType, bytes: &[u8]) -> Option<Vec<f32>> {
    Some(match dtype {
        DType::F32 => bytes.chunks_exact(4).map(|c| f32::from_ne_bytes([c[0], c[1], c[2], c[3]])).collect(),
        DType::F16 => bytes.chunks_exact(2).map(|c| half::f16::from_ne_bytes([c[0], c[1]]).to_f32()).collect(),
        DType::BF16 => bytes.chunks_exact(2).map(|c| half::bf16::from_ne_bytes([c[0], c[1]]).to_f32()).collect(),
        DType::F64 => {
            bytes.chunks_exact(8).map(|c| f64::from_ne_bytes(c.try_into().expect("8 bytes")) as f32).collect()
        }
        _ => return None,
    })
}
