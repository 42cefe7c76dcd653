//! The quantized model file: a safetensors file with Warble's metadata (see `quant/README.md`).
//!
//! * A tensor kept in f32 is stored as is (`F32`, its PyTorch shape).
//! * INT8: `KEY` as `I8` in the logical shape, `KEY.scale` as `F32 [rows]`.
//! * INT4: `KEY` as `U8 [rows, ceil(cols/2)]` (two values per byte, see [`Int4Tensor`]), `KEY.scale` as
//!   `F16 [rows, ceil(cols/block)]`; the logical shape and block size are in the metadata.
//! * BF16: `KEY` as `BF16` in the logical shape.
//!
//! Metadata (`__metadata__`, all strings): `warble.quant` = [`FORMAT_VERSION`], `warble.quant.scheme` (int8,
//! int4-mixed, bf16 or custom), `warble.quant.policy` (the policy JSON), and `warble.quant.tensors`: a JSON
//! object mapping every non-f32 key to `{"precision", "shape"}` (plus `"block"` for int4).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};

use half::{bf16, f16};
use safetensors::tensor::{Dtype, TensorView, View};
use safetensors::{SafeTensorError, SafeTensors};
use serde::{Deserialize, Serialize};
use warble_weights::{Tensor, WeightMap};

use crate::QuantError;
use crate::policy::{Policy, Precision};
use crate::scheme::{Bf16Tensor, INT4_BLOCK, Int4Tensor, Int8Tensor, rows_cols};

/// The format version this build writes and reads.
pub const FORMAT_VERSION: &str = "1";
/// Metadata key of the format version; its presence marks a Warble quantized file.
pub const META_VERSION: &str = "warble.quant";
/// Metadata key of the scheme name.
pub const META_SCHEME: &str = "warble.quant.scheme";
/// Metadata key of the policy JSON.
pub const META_POLICY: &str = "warble.quant.policy";
/// Metadata key of the per-tensor JSON (precision, logical shape, INT4 block).
pub const META_TENSORS: &str = "warble.quant.tensors";
/// Suffix of a quantized tensor's scale tensor.
pub const SCALE_SUFFIX: &str = ".scale";

/// Largest safetensors header this reader accepts (as the safetensors crate).
const MAX_HEADER: u64 = 100_000_000;

/// One tensor as stored.
#[derive(Debug, Clone, PartialEq)]
pub enum QTensor {
    F32(Tensor),
    Int8(Int8Tensor),
    Int4(Int4Tensor),
    Bf16(Bf16Tensor),
}

impl QTensor {
    /// Stores `t` in `precision`.
    pub fn quantize(t: &Tensor, precision: Precision) -> Self {
        match precision {
            Precision::F32 => QTensor::F32(t.clone()),
            Precision::Int8 => QTensor::Int8(Int8Tensor::quantize(&t.shape, &t.data)),
            Precision::Int4 => QTensor::Int4(Int4Tensor::quantize(&t.shape, &t.data, INT4_BLOCK)),
            Precision::Bf16 => QTensor::Bf16(Bf16Tensor::quantize(&t.shape, &t.data)),
        }
    }

    pub fn precision(&self) -> Precision {
        match self {
            QTensor::F32(_) => Precision::F32,
            QTensor::Int8(_) => Precision::Int8,
            QTensor::Int4(_) => Precision::Int4,
            QTensor::Bf16(_) => Precision::Bf16,
        }
    }

    /// The logical (PyTorch) shape.
    pub fn shape(&self) -> &[usize] {
        match self {
            QTensor::F32(t) => &t.shape,
            QTensor::Int8(t) => &t.shape,
            QTensor::Int4(t) => &t.shape,
            QTensor::Bf16(t) => &t.shape,
        }
    }

    /// Number of values of the logical tensor.
    pub fn numel(&self) -> usize {
        self.shape().iter().product()
    }

    /// Bytes of tensor data in the file (values and scales).
    pub fn stored_bytes(&self) -> usize {
        match self {
            QTensor::F32(t) => 4 * t.data.len(),
            QTensor::Int8(t) => t.stored_bytes(),
            QTensor::Int4(t) => t.stored_bytes(),
            QTensor::Bf16(t) => t.stored_bytes(),
        }
    }

    /// The f32 tensor (a copy for f32).
    pub fn dequantize(&self) -> Tensor {
        let (shape, data) = match self {
            QTensor::F32(t) => return t.clone(),
            QTensor::Int8(t) => (t.shape.clone(), t.dequantize()),
            QTensor::Int4(t) => (t.shape.clone(), t.dequantize()),
            QTensor::Bf16(t) => (t.shape.clone(), t.dequantize()),
        };
        Tensor { shape, data }
    }
}

/// Tensors, parameters and bytes of one precision.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PrecisionStats {
    pub tensors: usize,
    pub parameters: usize,
    /// Bytes of tensor data (values and scales), without the file header.
    pub bytes: usize,
}

/// A quantized model: every canonical tensor in its stored precision, with the policy that chose them.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantizedModel {
    /// `int8`, `int4-mixed`, `bf16` or `custom`.
    pub scheme: String,
    pub policy: Policy,
    pub tensors: BTreeMap<String, QTensor>,
}

/// One entry of the `warble.quant.tensors` metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TensorMeta {
    precision: Precision,
    shape: Vec<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    block: Option<usize>,
}

impl QuantizedModel {
    /// Applies `policy` to `weights` (see [`Policy::resolve`] for the checks; `policy_name` names the policy in
    /// errors). Weights to be quantized must be finite.
    pub fn quantize(weights: &WeightMap, policy: &Policy, scheme: &str, policy_name: &str) -> Result<Self, QuantError> {
        let plan = policy.resolve(weights.iter().map(|(k, t)| (k, t.shape.as_slice())), policy_name)?;
        let mut tensors = BTreeMap::new();
        for (key, t) in weights.iter() {
            let precision = plan[key];
            if precision.is_reduced()
                && let Some((index, &value)) = t.data.iter().enumerate().find(|(_, v)| !v.is_finite())
            {
                return Err(QuantError::NonFinite { key: key.to_string(), index, value });
            }
            tensors.insert(key.to_string(), QTensor::quantize(t, precision));
        }
        Ok(Self { scheme: scheme.to_string(), policy: policy.clone(), tensors })
    }

    /// The stored precision of every key.
    pub fn precisions(&self) -> BTreeMap<String, Precision> {
        self.tensors.iter().map(|(k, t)| (k.clone(), t.precision())).collect()
    }

    /// Per precision: tensors, parameters, bytes (every precision listed, zeros included).
    pub fn stats(&self) -> BTreeMap<Precision, PrecisionStats> {
        let mut out: BTreeMap<Precision, PrecisionStats> =
            Precision::ALL.into_iter().map(|p| (p, PrecisionStats::default())).collect();
        for t in self.tensors.values() {
            let s = out.entry(t.precision()).or_default();
            s.tensors += 1;
            s.parameters += t.numel();
            s.bytes += t.stored_bytes();
        }
        out
    }

    /// The f32 weights, as the model is built from.
    pub fn to_weight_map(&self) -> WeightMap {
        let mut map = WeightMap::default();
        for (k, t) in &self.tensors {
            map.insert(k.clone(), t.dequantize());
        }
        map
    }

    /// [`Self::to_weight_map`] without copying the f32 tensors.
    pub fn into_weight_map(self) -> WeightMap {
        let mut map = WeightMap::default();
        for (k, t) in self.tensors {
            let t = match t {
                QTensor::F32(t) => t,
                other => other.dequantize(),
            };
            map.insert(k, t);
        }
        map
    }

    /// Writes the model to `path` atomically: a temporary file in the same folder, flushed, then renamed over
    /// `path`. On failure the temporary file is removed and `path` is untouched.
    pub fn write(&self, path: &Path) -> Result<(), QuantError> {
        let mut meta = BTreeMap::new();
        let mut views: Vec<(String, RawView)> = Vec::with_capacity(self.tensors.len() * 2);
        for (key, t) in &self.tensors {
            if let Some(owner) = key.strip_suffix(SCALE_SUFFIX)
                && self.tensors.get(owner).is_some_and(|o| matches!(o, QTensor::Int8(_) | QTensor::Int4(_)))
            {
                return Err(QuantError::KeyCollision { key: key.clone(), owner: owner.to_string() });
            }
            let scale_key = format!("{key}{SCALE_SUFFIX}");
            match t {
                QTensor::F32(t) => {
                    views.push((key.clone(), RawView::new(Dtype::F32, t.shape.clone(), le_bytes(&t.data))))
                }
                QTensor::Int8(t) => {
                    let (rows, _) = t.rows_cols();
                    views.push((
                        key.clone(),
                        RawView::new(Dtype::I8, t.shape.clone(), t.q.iter().map(|&q| q as u8).collect()),
                    ));
                    views.push((scale_key, RawView::new(Dtype::F32, vec![rows], le_bytes(&t.scale))));
                }
                QTensor::Int4(t) => {
                    let (rows, cols) = t.rows_cols();
                    views.push((key.clone(), RawView::new(Dtype::U8, vec![rows, cols.div_ceil(2)], t.packed.clone())));
                    let scales = t.scale.iter().flat_map(|s| s.to_le_bytes()).collect();
                    views.push((scale_key, RawView::new(Dtype::F16, vec![rows, t.blocks_per_row()], scales)));
                }
                QTensor::Bf16(t) => {
                    let bytes = t.data.iter().flat_map(|x| x.to_le_bytes()).collect();
                    views.push((key.clone(), RawView::new(Dtype::BF16, t.shape.clone(), bytes)));
                }
            }
            if t.precision().is_reduced() {
                let block = match t {
                    QTensor::Int4(t) => Some(t.block),
                    _ => None,
                };
                meta.insert(key.clone(), TensorMeta { precision: t.precision(), shape: t.shape().to_vec(), block });
            }
        }
        let metadata = HashMap::from([
            (META_VERSION.to_string(), FORMAT_VERSION.to_string()),
            (META_SCHEME.to_string(), self.scheme.clone()),
            (META_POLICY.to_string(), serde_json::to_string(&self.policy).expect("a policy serializes")),
            (META_TENSORS.to_string(), serde_json::to_string(&meta).expect("metadata serializes")),
        ]);
        write_atomically(path, |temp| {
            safetensors::serialize_to_file(views, Some(metadata), temp).map_err(|e| match e {
                SafeTensorError::IoError(io) => QuantError::io(temp, io),
                other => QuantError::Write { path: path.to_path_buf(), detail: other.to_string() },
            })
        })
    }

    /// Reads a quantized model file (memory-mapped), checking every tensor against the metadata.
    pub fn read(path: &Path) -> Result<Self, QuantError> {
        let file = std::fs::File::open(path).map_err(|e| QuantError::io(path, e))?;
        // SAFETY: read-only mapping, dropped before returning; the data is copied out. Files of this format are
        // replaced by rename, never rewritten in place; a file truncated by someone else while mapped could
        // fault (the documented mmap caveat).
        let mapped = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| QuantError::io(path, e))?;
        let header = parse_header(path, &mapped)?;
        let metadata = quant_metadata(path, &header)?;
        let get = |field: &str| {
            metadata.get(field).ok_or_else(|| QuantError::BadMetadata {
                path: path.to_path_buf(),
                field: field.to_string(),
                detail: "missing".into(),
            })
        };
        let scheme = get(META_SCHEME)?.clone();
        let policy = Policy::from_json(get(META_POLICY)?, &format!("{} (metadata)", path.display())).map_err(|e| {
            QuantError::BadMetadata { path: path.to_path_buf(), field: META_POLICY.into(), detail: e.to_string() }
        })?;
        let meta: BTreeMap<String, TensorMeta> = serde_json::from_str(get(META_TENSORS)?).map_err(|e| {
            QuantError::BadMetadata { path: path.to_path_buf(), field: META_TENSORS.into(), detail: e.to_string() }
        })?;

        let file = SafeTensors::deserialize(&mapped).map_err(|e| match e {
            SafeTensorError::MetadataIncompleteBuffer if (mapped.len() as u64) < header.expected_len => {
                QuantError::Truncated {
                    path: path.to_path_buf(),
                    detail: format!("{} bytes, the header describes {}", mapped.len(), header.expected_len),
                }
            }
            other => QuantError::NotSafetensors { path: path.to_path_buf(), detail: other.to_string() },
        })?;
        let views: HashMap<String, TensorView<'_>> = file.iter().map(|(k, v)| (k.to_string(), v)).collect();

        let mut tensors = BTreeMap::new();
        for (key, m) in &meta {
            let view = views.get(key).ok_or_else(|| QuantError::Inconsistent {
                path: path.to_path_buf(),
                key: key.clone(),
                detail: format!("is listed as {} in the metadata but is not in the file", m.precision),
            })?;
            tensors
                .insert(key.clone(), read_quantized(path, key, m, view, views.get(&format!("{key}{SCALE_SUFFIX}")))?);
        }
        for (key, view) in &views {
            if meta.contains_key(key) {
                continue;
            }
            let is_scale = key
                .strip_suffix(SCALE_SUFFIX)
                .is_some_and(|o| meta.get(o).is_some_and(|m| matches!(m.precision, Precision::Int8 | Precision::Int4)));
            if is_scale {
                continue;
            }
            expect_dtype(path, key, view, Dtype::F32, "F32 (a tensor the metadata does not list as quantized)")?;
            tensors.insert(key.clone(), QTensor::F32(Tensor { shape: view.shape().to_vec(), data: f32s(view.data()) }));
        }
        Ok(Self { scheme, policy, tensors })
    }
}

/// Whether `path` is a Warble quantized model: a safetensors file whose header metadata has `warble.quant`
/// (any version: the reader reports an unsupported one). Reads only the header; false for anything unreadable.
pub fn is_quantized_file(path: &Path) -> bool {
    let read = || -> Option<bool> {
        let mut f = std::fs::File::open(path).ok()?;
        let mut len = [0u8; 8];
        f.read_exact(&mut len).ok()?;
        let n = u64::from_le_bytes(len);
        if n == 0 || n > MAX_HEADER {
            return Some(false);
        }
        let mut header = vec![0u8; n as usize];
        f.read_exact(&mut header).ok()?;
        let json: serde_json::Value = serde_json::from_slice(&header).ok()?;
        Some(json.get("__metadata__").and_then(|m| m.get(META_VERSION)).is_some())
    };
    read().unwrap_or(false)
}

/// What this module needs of a safetensors header before the safetensors crate validates the file.
struct Header {
    metadata: HashMap<String, String>,
    /// The file length the header implies: 8 + header + the end of the last tensor.
    expected_len: u64,
}

fn parse_header(path: &Path, bytes: &[u8]) -> Result<Header, QuantError> {
    let not = |detail: String| QuantError::NotSafetensors { path: path.to_path_buf(), detail };
    if bytes.len() < 8 {
        return Err(not(format!("{} bytes, shorter than a safetensors header", bytes.len())));
    }
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
    if n == 0 || n > MAX_HEADER {
        return Err(not(format!("the first 8 bytes give a header length of {n}")));
    }
    let end = 8 + n as usize;
    if bytes.len() < end {
        return Err(if bytes.get(8) == Some(&b'{') {
            QuantError::Truncated {
                path: path.to_path_buf(),
                detail: format!("{} bytes, shorter than its {n}-byte header", bytes.len()),
            }
        } else {
            not(format!("the first 8 bytes give a header length of {n}, longer than the file"))
        });
    }
    let json: serde_json::Value =
        serde_json::from_slice(&bytes[8..end]).map_err(|e| not(format!("the header is not JSON: {e}")))?;
    let object = json.as_object().ok_or_else(|| not("the header is not a JSON object".into()))?;
    let mut data_end = 0u64;
    let mut metadata = HashMap::new();
    for (k, v) in object {
        if k == "__metadata__" {
            if let Some(m) = v.as_object() {
                for (mk, mv) in m {
                    if let Some(s) = mv.as_str() {
                        metadata.insert(mk.clone(), s.to_string());
                    }
                }
            }
        } else if let Some(e) = v.get("data_offsets").and_then(|o| o.get(1)).and_then(|e| e.as_u64()) {
            data_end = data_end.max(e);
        }
    }
    Ok(Header { metadata, expected_len: 8 + n + data_end })
}

/// The header's metadata, checked to be a Warble quantized file of this version.
fn quant_metadata<'a>(path: &Path, header: &'a Header) -> Result<&'a HashMap<String, String>, QuantError> {
    match header.metadata.get(META_VERSION) {
        None => Err(QuantError::NotQuantized { path: path.to_path_buf() }),
        Some(v) if v != FORMAT_VERSION => Err(QuantError::UnsupportedVersion {
            path: path.to_path_buf(),
            found: v.clone(),
            supported: FORMAT_VERSION,
        }),
        Some(_) => Ok(&header.metadata),
    }
}

fn dtype_name(d: Dtype) -> String {
    format!("{d:?}")
}

fn expect_dtype(path: &Path, key: &str, view: &TensorView<'_>, want: Dtype, what: &str) -> Result<(), QuantError> {
    if view.dtype() == want {
        Ok(())
    } else {
        Err(QuantError::UnexpectedDtype {
            path: path.to_path_buf(),
            key: key.to_string(),
            found: dtype_name(view.dtype()),
            expected: what.to_string(),
        })
    }
}

fn read_quantized(
    path: &Path,
    key: &str,
    m: &TensorMeta,
    view: &TensorView<'_>,
    scale: Option<&TensorView<'_>>,
) -> Result<QTensor, QuantError> {
    let (rows, cols) = rows_cols(&m.shape);
    let mismatch = |detail: String| QuantError::ShapeMismatch {
        path: path.to_path_buf(),
        key: key.to_string(),
        precision: m.precision,
        shape: m.shape.clone(),
        detail,
    };
    let scale_of = |dtype: Dtype, shape: Vec<usize>| -> Result<&TensorView<'_>, QuantError> {
        let s = scale.ok_or_else(|| QuantError::MissingScale {
            path: path.to_path_buf(),
            key: key.to_string(),
            precision: m.precision,
        })?;
        expect_dtype(path, &format!("{key}{SCALE_SUFFIX}"), s, dtype, &dtype_name(dtype))?;
        if s.shape() != shape.as_slice() {
            return Err(mismatch(format!("its scales have shape {:?}, expected {shape:?}", s.shape())));
        }
        Ok(s)
    };
    let data_shape = |want: &[usize]| {
        if view.shape() == want {
            Ok(())
        } else {
            Err(mismatch(format!("the stored data has shape {:?}, expected {want:?}", view.shape())))
        }
    };
    Ok(match m.precision {
        Precision::F32 => {
            return Err(QuantError::BadMetadata {
                path: path.to_path_buf(),
                field: META_TENSORS.into(),
                detail: format!("{key:?} is listed with precision f32; only reduced precisions are listed"),
            });
        }
        Precision::Int8 => {
            expect_dtype(path, key, view, Dtype::I8, "I8 (int8)")?;
            data_shape(&m.shape)?;
            let s = scale_of(Dtype::F32, vec![rows])?;
            QTensor::Int8(Int8Tensor {
                shape: m.shape.clone(),
                q: view.data().iter().map(|&b| b as i8).collect(),
                scale: f32s(s.data()),
            })
        }
        Precision::Int4 => {
            let block = m.block.filter(|&b| b > 0).ok_or_else(|| QuantError::BadMetadata {
                path: path.to_path_buf(),
                field: META_TENSORS.into(),
                detail: format!("int4 tensor {key:?} has no positive \"block\""),
            })?;
            expect_dtype(path, key, view, Dtype::U8, "U8 (packed int4)")?;
            data_shape(&[rows, cols.div_ceil(2)])?;
            let s = scale_of(Dtype::F16, vec![rows, cols.div_ceil(block)])?;
            QTensor::Int4(Int4Tensor {
                shape: m.shape.clone(),
                block,
                packed: view.data().to_vec(),
                scale: s.data().chunks_exact(2).map(|c| f16::from_le_bytes([c[0], c[1]])).collect(),
            })
        }
        Precision::Bf16 => {
            expect_dtype(path, key, view, Dtype::BF16, "BF16")?;
            data_shape(&m.shape)?;
            QTensor::Bf16(Bf16Tensor {
                shape: m.shape.clone(),
                data: view.data().chunks_exact(2).map(|c| bf16::from_le_bytes([c[0], c[1]])).collect(),
            })
        }
    })
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

fn le_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// A tensor's bytes as the safetensors writer wants them.
struct RawView {
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl RawView {
    fn new(dtype: Dtype, shape: Vec<usize>, bytes: Vec<u8>) -> Self {
        Self { dtype, shape, bytes }
    }
}

impl View for RawView {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.bytes)
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

/// Runs `write` on a temporary path in `path`'s folder, flushes it, and renames it to `path`; the temporary
/// file is removed on any failure. Only `path` is ever replaced.
pub(crate) fn write_atomically(
    path: &Path,
    write: impl FnOnce(&Path) -> Result<(), QuantError>,
) -> Result<(), QuantError> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "model".into());
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let temp: PathBuf = dir.join(format!(".{name}.{}-{nanos}.tmp", std::process::id()));
    let result = (|| {
        write(&temp)?;
        std::fs::File::open(&temp).and_then(|f| f.sync_all()).map_err(|e| QuantError::io(&temp, e))?;
        std::fs::rename(&temp, path).map_err(|e| QuantError::io(path, e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Rule;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("warble-quant-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// A small model: two matrices (one with a row length that is not a multiple of 32, one zero row), a
    /// bias, a norm gain and a small matrix.
    fn weights() -> WeightMap {
        let mut m = WeightMap::default();
        let mat = |rows: usize, cols: usize, seed: f32| {
            let mut data: Vec<f32> = (0..rows * cols).map(|i| ((i as f32 * 0.37 + seed).sin()) * 0.1).collect();
            data[..cols].iter_mut().for_each(|x| *x = 0.0);
            Tensor::new(vec![rows, cols / 3, 3], data).unwrap()
        };
        m.insert("a.conv.weight".into(), mat(16, 3 * 35, 0.1));
        m.insert(
            "b.lstm.weight_ih_l0".into(),
            Tensor::new(vec![40, 64], (0..2560).map(|i| (i as f32).cos()).collect()).unwrap(),
        );
        m.insert("b.fc.weight".into(), mat(32, 3 * 20, 0.7));
        m.insert("a.conv.bias".into(), Tensor::new(vec![16], vec![0.5; 16]).unwrap());
        m.insert("n.LayerNorm.weight".into(), Tensor::new(vec![64], vec![1.0; 64]).unwrap());
        m.insert("tiny.weight".into(), Tensor::new(vec![2, 3], vec![1.0; 6]).unwrap());
        m
    }

    fn policy() -> Policy {
        let rule = |p: &str, precision| Rule { pattern: p.into(), precision };
        Policy {
            rules: vec![
                rule("*LayerNorm*", Precision::F32),
                rule("a.*.weight", Precision::Int4),
                rule("*.weight_?h_l0*", Precision::Int8),
                rule("b.fc.weight", Precision::Bf16),
                rule("*.weight", Precision::Int8),
            ],
        }
    }

    #[test]
    fn write_read_round_trip() {
        let dir = scratch("round-trip");
        let w = weights();
        let q = QuantizedModel::quantize(&w, &policy(), "custom", "test").unwrap();
        let p = q.precisions();
        assert_eq!(p["a.conv.weight"], Precision::Int4);
        assert_eq!(p["b.lstm.weight_ih_l0"], Precision::Int8);
        assert_eq!(p["b.fc.weight"], Precision::Bf16);
        assert_eq!(p["a.conv.bias"], Precision::F32);
        assert_eq!(p["tiny.weight"], Precision::F32);
        let path = dir.join("m.safetensors");
        q.write(&path).unwrap();
        assert!(is_quantized_file(&path));
        let back = QuantizedModel::read(&path).unwrap();
        assert_eq!(back, q);
        assert_eq!(back.scheme, "custom");
        let stats = back.stats();
        assert_eq!(stats.values().map(|s| s.tensors).sum::<usize>(), w.len());
        assert_eq!(stats.values().map(|s| s.parameters).sum::<usize>(), w.parameter_count());
        // dequantized weights are close and have the same keys and shapes
        let map = back.into_weight_map();
        for (k, t) in w.iter() {
            let d = map.get(k).unwrap();
            assert_eq!(d.shape, t.shape, "{k}");
            let max = t.data.iter().fold(0f32, |m, x| m.max(x.abs()));
            for (a, b) in t.data.iter().zip(&d.data) {
                assert!((a - b).abs() <= max / 7.0 / 2.0 * 1.01, "{k}: {a} vs {b}");
            }
        }
        assert_eq!(map.get("a.conv.bias").unwrap(), w.get("a.conv.bias").unwrap());
        // only the named file is in the folder: no temporary left behind
        let files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(files, vec![std::ffi::OsString::from("m.safetensors")]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn non_finite_weights_are_refused() {
        let mut w = weights();
        let mut t = w.take("b.fc.weight").unwrap();
        t.data[5] = f32::NAN;
        w.insert("b.fc.weight".into(), t);
        let e = QuantizedModel::quantize(&w, &policy(), "custom", "test").unwrap_err().to_string();
        assert!(e.contains("b.fc.weight") && e.contains("index 5"), "{e}");
    }

    fn write_raw(path: &Path, tensors: Vec<(&str, RawView)>, metadata: Option<HashMap<String, String>>) {
        safetensors::serialize_to_file(tensors, metadata, path).unwrap();
    }

    fn quant_meta(tensors: &str) -> HashMap<String, String> {
        HashMap::from([
            (META_VERSION.into(), FORMAT_VERSION.into()),
            (META_SCHEME.into(), "custom".into()),
            (META_POLICY.into(), r#"{"rules": []}"#.into()),
            (META_TENSORS.into(), tensors.into()),
        ])
    }

    #[test]
    fn reader_errors_name_the_file_and_the_fix() {
        let dir = scratch("errors");
        let read_err = |p: &Path| QuantizedModel::read(p).unwrap_err();

        // not a safetensors file at all
        let junk = dir.join("junk.safetensors");
        std::fs::write(&junk, b"RIFF....WAVEfmt this is a wav file, honest").unwrap();
        let e = read_err(&junk);
        assert!(matches!(e, QuantError::NotSafetensors { .. }), "{e}");
        assert!(e.to_string().contains("junk.safetensors"));
        assert!(!is_quantized_file(&junk));
        std::fs::write(&junk, b"abc").unwrap();
        assert!(matches!(read_err(&junk), QuantError::NotSafetensors { .. }));
        assert!(matches!(read_err(&dir.join("absent.safetensors")), QuantError::Io { .. }));

        // a plain float checkpoint
        let plain = dir.join("plain.safetensors");
        write_raw(&plain, vec![("w", RawView::new(Dtype::F32, vec![2], le_bytes(&[1.0, 2.0])))], None);
        let e = read_err(&plain);
        assert!(matches!(e, QuantError::NotQuantized { .. }), "{e}");
        assert!(e.to_string().contains("warble quantize"), "{e}");
        assert!(!is_quantized_file(&plain));

        // truncated: a real quantized file cut short, in the data and in the header
        let good = dir.join("good.safetensors");
        QuantizedModel::quantize(&weights(), &policy(), "custom", "test").unwrap().write(&good).unwrap();
        let bytes = std::fs::read(&good).unwrap();
        let cut = dir.join("cut.safetensors");
        std::fs::write(&cut, &bytes[..bytes.len() - 100]).unwrap();
        let e = read_err(&cut);
        assert!(matches!(e, QuantError::Truncated { .. }), "{e}");
        assert!(e.to_string().contains("cut.safetensors") && e.to_string().contains("truncated"), "{e}");
        assert!(is_quantized_file(&cut), "the header is intact");
        std::fs::write(&cut, &bytes[..200]).unwrap();
        assert!(matches!(read_err(&cut), QuantError::Truncated { .. }));

        // unknown format version
        let v2 = dir.join("v2.safetensors");
        let mut meta = quant_meta("{}");
        meta.insert(META_VERSION.into(), "2".into());
        write_raw(&v2, vec![("w", RawView::new(Dtype::F32, vec![1], le_bytes(&[1.0])))], Some(meta));
        let e = read_err(&v2);
        assert!(matches!(e, QuantError::UnsupportedVersion { .. }), "{e}");
        assert!(is_quantized_file(&v2));

        // a missing scale tensor
        let f = dir.join("noscale.safetensors");
        let m = r#"{"w": {"precision": "int8", "shape": [2, 2]}}"#;
        write_raw(&f, vec![("w", RawView::new(Dtype::I8, vec![2, 2], vec![1, 2, 3, 4]))], Some(quant_meta(m)));
        let e = read_err(&f);
        assert!(matches!(e, QuantError::MissingScale { .. }), "{e}");
        assert!(e.to_string().contains("\"w\""), "{e}");

        // scales of the wrong shape
        let f = dir.join("badscale.safetensors");
        write_raw(
            &f,
            vec![
                ("w", RawView::new(Dtype::I8, vec![2, 2], vec![1, 2, 3, 4])),
                ("w.scale", RawView::new(Dtype::F32, vec![3], le_bytes(&[1.0, 1.0, 1.0]))),
            ],
            Some(quant_meta(m)),
        );
        assert!(matches!(read_err(&f), QuantError::ShapeMismatch { .. }));

        // int4 data whose packed size does not match the logical shape
        let f = dir.join("badint4.safetensors");
        let m4 = r#"{"w": {"precision": "int4", "shape": [2, 6], "block": 32}}"#;
        write_raw(
            &f,
            vec![
                ("w", RawView::new(Dtype::U8, vec![2, 2], vec![0; 4])),
                ("w.scale", RawView::new(Dtype::F16, vec![2, 1], vec![0; 4])),
            ],
            Some(quant_meta(m4)),
        );
        let e = read_err(&f);
        assert!(matches!(e, QuantError::ShapeMismatch { .. }), "{e}");

        // an unexpected element type
        let f = dir.join("dtype.safetensors");
        write_raw(&f, vec![("w", RawView::new(Dtype::I16, vec![2], vec![0; 4]))], Some(quant_meta("{}")));
        let e = read_err(&f);
        assert!(matches!(e, QuantError::UnexpectedDtype { .. }), "{e}");
        assert!(e.to_string().contains("I16"), "{e}");
        let f = dir.join("dtype8.safetensors");
        write_raw(
            &f,
            vec![
                ("w", RawView::new(Dtype::U8, vec![2, 2], vec![1, 2, 3, 4])),
                ("w.scale", RawView::new(Dtype::F32, vec![2], le_bytes(&[1.0, 1.0]))),
            ],
            Some(quant_meta(m)),
        );
        assert!(matches!(read_err(&f), QuantError::UnexpectedDtype { .. }));

        // metadata naming a tensor the file lacks, and broken metadata JSON
        let f = dir.join("lacks.safetensors");
        write_raw(&f, vec![("x", RawView::new(Dtype::F32, vec![1], le_bytes(&[1.0])))], Some(quant_meta(m)));
        assert!(matches!(read_err(&f), QuantError::Inconsistent { .. }));
        let f = dir.join("badmeta.safetensors");
        write_raw(&f, vec![("x", RawView::new(Dtype::F32, vec![1], le_bytes(&[1.0])))], Some(quant_meta("{oops")));
        assert!(matches!(read_err(&f), QuantError::BadMetadata { .. }));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_failed_write_leaves_nothing_and_keeps_the_old_file() {
        let dir = scratch("failed-write");
        let path = dir.join("out.safetensors");
        std::fs::write(&path, b"previous").unwrap();
        let e = write_atomically(&path, |temp| {
            std::fs::write(temp, b"partial").unwrap();
            Err(QuantError::Write { path: temp.to_path_buf(), detail: "simulated".into() })
        });
        assert!(e.is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"previous");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        // a folder that does not exist: an error, nothing created
        let e = QuantizedModel::quantize(&weights(), &policy(), "custom", "t")
            .unwrap()
            .write(&dir.join("missing").join("x.safetensors"))
            .unwrap_err();
        assert!(e.to_string().contains("missing"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn scale_key_collisions_are_refused() {
        let mut w = weights();
        w.insert("b.lstm.weight_ih_l0.scale".into(), Tensor::new(vec![1, 1], vec![1.0]).unwrap());
        let q = QuantizedModel::quantize(&w, &policy(), "custom", "t").unwrap();
        let dir = scratch("collision");
        let e = q.write(&dir.join("x.safetensors")).unwrap_err();
        assert!(matches!(e, QuantError::KeyCollision { .. }), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
