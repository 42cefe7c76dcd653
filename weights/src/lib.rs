//! warble-weights: every Kokoro-82M checkpoint format → canonical PyTorch-named f32 tensors.
//!
//! Kokoro v1.0 ships as a PyTorch checkpoint (`kokoro-v1_0.pth`), as ONNX exports (fp32, fp16,
//! dynamically quantized int8) and is easily re-saved as safetensors. The model code should not
//! care which one it was given, so this crate turns each of them into one form:
//!
//! * keys are those of `KModel(...).state_dict()` for v1.0, without the DataParallel `module.`
//!   prefix and without the unused `bert.pooler.*` (457 keys, see [`kokoro_v1_0_layout`]);
//! * weight norm is folded: `<module>.weight = g · v / ‖v‖`, the norm taken over every dim but
//!   dim 0 (for ConvTranspose1d, dim 0 is the input channel);
//! * layouts are PyTorch's: Linear `[out,in]`, Conv1d `[out,in/groups,k]`, ConvTranspose1d
//!   `[in,out/groups,k]`, LSTM `weight_ih_l0 [4H,in]`/`weight_hh_l0 [4H,H]` with gates in
//!   i, f, g, o order and separate `bias_ih`/`bias_hh`, Snake alphas `[1,C,1]`, embeddings
//!   `[vocab,dim]`;
//! * values are `f32` (fp16/bf16/f64 are widened, int8/uint8 dequantized).
//!
//! The crate is pure Rust and knows nothing of Burn: the model crate copies the tensors in.
//! Conversion of the 92 MB int8 ONNX takes a while, so [`load_cached`] stores the result as a
//! safetensors file and memory-maps it on later starts.

mod cache;
mod canonical;
mod error;
pub mod onnx;
pub mod protobuf;
mod safetensors_file;
mod torch;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use cache::{CACHE_FORMAT, LoadInfo, cache_file_name, default_cache_dir, load_cached};
pub use canonical::{ExpectedTensor, kokoro_v1_0_layout};
pub use error::WeightsError;

/// A dense row-major `f32` tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

impl Tensor {
    /// Builds a tensor, checking that `data` fills `shape`.
    pub fn new(shape: Vec<usize>, data: Vec<f32>) -> Result<Self, WeightsError> {
        let expected = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)).unwrap_or(usize::MAX);
        if expected != data.len() {
            return Err(WeightsError::DataLength { key: String::new(), shape, expected, found: data.len() });
        }
        Ok(Self { shape, data })
    }

    /// Number of values (`data.len()`; equals the product of `shape` for a valid tensor).
    pub fn numel(&self) -> usize {
        self.data.len()
    }
}

/// Canonical weights by PyTorch key, in key order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WeightMap {
    tensors: BTreeMap<String, Tensor>,
}

impl WeightMap {
    /// The tensor for `key`; the error names the key and suggests the closest existing one.
    pub fn get(&self, key: &str) -> Result<&Tensor, WeightsError> {
        self.tensors.get(key).ok_or_else(|| self.missing(key))
    }

    /// The tensor for `key`, which must have exactly `shape`.
    pub fn get_shaped(&self, key: &str, shape: &[usize]) -> Result<&Tensor, WeightsError> {
        let t = self.get(key)?;
        if t.shape == shape {
            Ok(t)
        } else {
            Err(WeightsError::ShapeMismatch { key: key.to_string(), found: t.shape.clone(), expected: shape.to_vec() })
        }
    }

    /// Removes and returns the tensor for `key` (lets a model take ownership without copying).
    pub fn take(&mut self, key: &str) -> Result<Tensor, WeightsError> {
        match self.tensors.remove(key) {
            Some(t) => Ok(t),
            None => Err(self.missing(key)),
        }
    }

    /// All keys, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(String::as_str)
    }

    /// `(key, tensor)` pairs, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Tensor)> {
        self.tensors.iter().map(|(k, t)| (k.as_str(), t))
    }

    pub fn len(&self) -> usize {
        self.tensors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }

    pub fn contains(&self, key: &str) -> bool {
        self.tensors.contains_key(key)
    }

    /// Adds or replaces a tensor.
    pub fn insert(&mut self, key: String, t: Tensor) {
        self.tensors.insert(key, t);
    }

    /// Total number of `f32` values.
    pub fn parameter_count(&self) -> usize {
        self.tensors.values().map(|t| t.data.len()).sum()
    }

    /// Checks that the map holds exactly `layout`: every key present with its shape, and no
    /// other key. The error lists every problem (up to a few of each kind).
    pub fn check_layout(&self, layout: &[ExpectedTensor], model: &'static str) -> Result<(), WeightsError> {
        let mut missing = Vec::new();
        let mut wrong = Vec::new();
        for e in layout {
            match self.tensors.get(&e.key) {
                None => missing.push(e.key.clone()),
                Some(t) if t.shape != e.shape => {
                    wrong.push(format!("{} {:?} (expected {:?})", e.key, t.shape, e.shape))
                }
                Some(_) => {}
            }
        }
        let expected: std::collections::HashSet<&str> = layout.iter().map(|e| e.key.as_str()).collect();
        let unexpected: Vec<String> = self.keys().filter(|k| !expected.contains(k)).map(str::to_string).collect();
        if missing.is_empty() && wrong.is_empty() && unexpected.is_empty() {
            return Ok(());
        }
        let list = |label: &str, items: &[String]| {
            if items.is_empty() {
                String::new()
            } else {
                let shown: Vec<&str> = items.iter().take(5).map(String::as_str).collect();
                format!("{} {label} ({}{}); ", items.len(), shown.join(", "), if items.len() > 5 { ", …" } else { "" })
            }
        };
        Err(WeightsError::LayoutMismatch {
            model,
            summary: format!(
                "{}{}{}",
                list("missing", &missing),
                list("with the wrong shape", &wrong),
                list("unexpected", &unexpected)
            )
            .trim_end_matches("; ")
            .to_string(),
        })
    }

    fn missing(&self, key: &str) -> WeightsError {
        let hint = closest(key, self.keys()).map(|k| format!(" (closest existing key: {k:?})")).unwrap_or_default();
        WeightsError::MissingKey { key: key.to_string(), hint }
    }
}

/// Levenshtein distance between `a` and `b` (by chars), where `same(ca, cb)` says when a character of `a`
/// matches one of `b` at no cost (equality, or a wildcard as well). Behind the "did you mean" hints over checkpoint
/// keys: missing weight keys here, unmatched policy patterns in `warble-quant`.
pub fn edit_distance(a: &str, b: &str, same: impl Fn(char, char) -> bool) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(!same(ca, cb))).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The candidate with the smallest edit distance to `key`, if reasonably close.
fn closest<'a>(key: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (edit_distance(key, c, |x, y| x == y), c))
        .filter(|&(d, _)| d <= key.len() / 3 + 1)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// The checkpoint formats this crate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Onnx,
    PyTorch,
    Safetensors,
}

impl Format {
    /// The format a file's extension names.
    pub fn of_path(path: &Path) -> Result<Self, WeightsError> {
        let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        match extension.as_str() {
            "onnx" => Ok(Self::Onnx),
            "pth" | "pt" => Ok(Self::PyTorch),
            "safetensors" => Ok(Self::Safetensors),
            _ => Err(WeightsError::UnknownExtension { path: path.to_path_buf(), extension }),
        }
    }
}

/// Loads and canonicalizes a checkpoint; the format is chosen by extension (`.onnx`,
/// `.pth`/`.pt`, `.safetensors`). A folder holding exactly one such file is accepted too.
///
/// This does not check the result against the Kokoro layout (small test checkpoints are
/// valid input); call [`WeightMap::check_layout`] with [`kokoro_v1_0_layout`] for that.
pub fn load(path: &Path) -> Result<WeightMap, WeightsError> {
    let file = find_model_file(path)?;
    match Format::of_path(&file)? {
        Format::Onnx => Ok(onnx::load_onnx(&file)?.0),
        Format::PyTorch => canonical::canonicalize(torch::read_checkpoint(&file)?, &file),
        Format::Safetensors => canonical::canonicalize(safetensors_file::read_tensors(&file)?, &file),
    }
}

/// Resolves `dir_or_file` to one weights file: a file is returned as is (if it exists), a
/// folder must hold exactly one `*.onnx`, `*.pth`, `*.pt` or `*.safetensors` file.
pub fn find_model_file(dir_or_file: &Path) -> Result<PathBuf, WeightsError> {
    let metadata = std::fs::metadata(dir_or_file).map_err(|e| {
        let absolute = std::path::absolute(dir_or_file).unwrap_or_else(|_| dir_or_file.to_path_buf());
        WeightsError::NotFound {
            path: dir_or_file.to_path_buf(),
            detail: format!("looked at {}: {e}", absolute.display()),
        }
    })?;
    if !metadata.is_dir() {
        return Ok(dir_or_file.to_path_buf());
    }
    let entries = std::fs::read_dir(dir_or_file).map_err(|e| WeightsError::io(dir_or_file, e))?;
    let mut candidates = Vec::new();
    let mut others = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| WeightsError::io(dir_or_file, e))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !path.is_file() {
            continue;
        }
        if Format::of_path(&path).is_ok() { candidates.push(path) } else { others.push(name) }
    }
    candidates.sort();
    match candidates.len() {
        1 => Ok(candidates.remove(0)),
        0 => {
            others.sort();
            let found = if others.is_empty() {
                "no files".to_string()
            } else {
                format!("only {}", others.iter().take(10).cloned().collect::<Vec<_>>().join(", "))
            };
            Err(WeightsError::NoModelFile { dir: dir_or_file.to_path_buf(), found })
        }
        _ => Err(WeightsError::AmbiguousModelDir {
            dir: dir_or_file.to_path_buf(),
            candidates: candidates.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_key_suggests_the_closest() {
        let mut m = WeightMap::default();
        m.insert("decoder.generator.ups.0.weight".into(), Tensor::new(vec![1], vec![0.0]).unwrap());
        let err = m.get("decoder.generator.ups.0.weigth").unwrap_err().to_string();
        assert!(err.contains("decoder.generator.ups.0.weigth") && err.contains("closest existing key"), "{err}");
        assert!(matches!(
            m.get_shaped("decoder.generator.ups.0.weight", &[2]),
            Err(WeightsError::ShapeMismatch { .. })
        ));
        assert!(m.take("decoder.generator.ups.0.weight").is_ok());
        assert!(m.is_empty());
    }

    #[test]
    fn tensor_new_checks_length() {
        assert!(Tensor::new(vec![2, 3], vec![0.0; 6]).is_ok());
        assert!(matches!(Tensor::new(vec![2, 3], vec![0.0; 5]), Err(WeightsError::DataLength { .. })));
    }
}
