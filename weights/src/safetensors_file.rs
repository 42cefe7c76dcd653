//! safetensors files: user checkpoints (any float dtype, keys prefixed or not) and this
//! crate's own cache (canonical `f32` tensors).
//!
//! Files are memory-mapped rather than read: the header says where each tensor lies, and the
//! bytes are converted straight from the mapping into the `Vec<f32>` the caller owns.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;

use safetensors::SafeTensors;
use safetensors::tensor::{Dtype, TensorView, View};

use crate::{Tensor, WeightMap, WeightsError};

fn corrupt(path: &Path, detail: impl Into<String>) -> WeightsError {
    WeightsError::Corrupt { path: path.to_path_buf(), format: "safetensors", detail: detail.into() }
}

/// Memory-maps a file read-only.
fn map_file(path: &Path) -> Result<memmap2::Mmap, WeightsError> {
    let file = File::open(path).map_err(|e| WeightsError::io(path, e))?;
    // SAFETY: the mapping is read-only and dropped before this module returns. Files are
    // only ever replaced by rename (see `cache`), so a path's contents do not change under
    // us; a concurrently truncated user file could fault, which is the documented mmap caveat.
    unsafe { memmap2::Mmap::map(&file) }.map_err(|e| WeightsError::io(path, e))
}

/// Little-endian bytes of a tensor view → f32 (`None` for integer types).
fn view_to_f32(view: &TensorView<'_>) -> Option<Vec<f32>> {
    let b = view.data();
    Some(match view.dtype() {
        Dtype::F32 => b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
        Dtype::F16 => b.chunks_exact(2).map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
        Dtype::BF16 => b.chunks_exact(2).map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
        Dtype::F64 => b.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")) as f32).collect(),
        _ => return None,
    })
}

/// Tensors by key, in file order, with the file's `__metadata__`.
type TensorsWithMetadata = (Vec<(String, Tensor)>, HashMap<String, String>);

/// Reads every tensor of a safetensors file as `(key, f32 tensor)`, plus its metadata.
fn read_all(path: &Path) -> Result<TensorsWithMetadata, WeightsError> {
    let mapped = map_file(path)?;
    let (_, metadata) = SafeTensors::read_metadata(&mapped).map_err(|e| corrupt(path, e.to_string()))?;
    let file = SafeTensors::deserialize(&mapped).map_err(|e| corrupt(path, e.to_string()))?;
    let mut out = Vec::with_capacity(file.len());
    for (name, view) in file.iter() {
        match view_to_f32(&view) {
            Some(data) => out.push((name.to_string(), Tensor { shape: view.shape().to_vec(), data })),
            None if crate::canonical::canonical_name(name).is_none() => {}
            None => {
                return Err(WeightsError::Unsupported {
                    path: path.to_path_buf(),
                    format: "safetensors",
                    detail: format!(
                        "tensor {name:?} has element type {:?}; only floating-point weights are supported",
                        view.dtype()
                    ),
                });
            }
        }
    }
    Ok((out, metadata.metadata().clone().unwrap_or_default()))
}

/// Reads a user safetensors checkpoint.
pub fn read_tensors(path: &Path) -> Result<Vec<(String, Tensor)>, WeightsError> {
    Ok(read_all(path)?.0)
}

/// Reads a cache file written by [`write_map`], checking its format marker.
pub fn read_map(path: &Path, marker: (&str, &str)) -> Result<WeightMap, WeightsError> {
    let (tensors, metadata) = read_all(path)?;
    if metadata.get(marker.0).map(String::as_str) != Some(marker.1) {
        return Err(corrupt(
            path,
            format!("not a cache file of this version (metadata {:?} ≠ {:?})", metadata.get(marker.0), marker.1),
        ));
    }
    let mut map = WeightMap::default();
    for (k, t) in tensors {
        map.insert(k, t);
    }
    Ok(map)
}

/// A canonical tensor seen as a safetensors view (`f32`, little-endian).
struct F32View<'a>(&'a Tensor);

impl View for F32View<'_> {
    fn dtype(&self) -> Dtype {
        Dtype::F32
    }
    fn shape(&self) -> &[usize] {
        &self.0.shape
    }
    fn data(&self) -> std::borrow::Cow<'_, [u8]> {
        std::borrow::Cow::Owned(self.0.data.iter().flat_map(|x| x.to_le_bytes()).collect())
    }
    fn data_len(&self) -> usize {
        self.0.data.len() * 4
    }
}

/// Writes a map as safetensors at `path` (the caller makes it atomic).
pub fn write_map(map: &WeightMap, metadata: HashMap<String, String>, path: &Path) -> Result<(), WeightsError> {
    let views = map.iter().map(|(k, t)| (k.to_string(), F32View(t)));
    safetensors::serialize_to_file(views, Some(metadata), path).map_err(|e| match e {
        safetensors::SafeTensorError::IoError(io) => WeightsError::io(path, io),
        other => corrupt(path, other.to_string()),
    })
}
