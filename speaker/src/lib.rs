//! warble-speaker: Kokoro voice packs.
//!
//! A Kokoro "voice" is not a speaker embedding but a *pack*: 510 style vectors of 256 values,
//! one per utterance length. For an utterance of `n` phonemes the reference pipeline
//! (hexgrad's `KPipeline`) uses row `n − 1` (`pack[len(ps) - 1]`); the first 128 values of the
//! row style the decoder (timbre), the last 128 the prosody predictor. [`VoicePack::style_for`]
//! implements exactly that rule. (kokoro-onnx and kokoro.js index by token count instead, one
//! row further; see docs/kokoro-architecture.md §6.)
//!
//! Voice packs are distributed in several containers, all holding float32 `[510, 1, 256]`:
//! * `voices/<name>.bin`: raw little-endian float32 (kokoro.js), 522,240 bytes;
//! * `*.npz` and kokoro-onnx's `voices-v1.0.bin`: a NumPy npz, one array per voice (the latter
//!   is an npz despite its extension, so files are recognised by content, not extension);
//! * `voices/<name>.pt`: a `torch.save` archive of one tensor (Hugging Face).
//!
//! [`VoiceLibrary`] loads any of these (a file or a folder of them) and resolves voice
//! specifications, including weighted blends such as `"jf_alpha:0.7,jm_kumo:0.3"`.

pub mod audio;
mod error;
/// Resemblyzer's GE2E speaker encoder: 256-value speaker embeddings of 16 kHz speech.
pub mod ge2e;
/// The encoder's front end: the 40-band power mel spectrogram and volume normalisation.
pub mod mel;
pub mod npy;
/// The style prior and surrogate a voice clone is searched with.
pub mod prior;
pub mod reference;
mod torch_pt;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

pub use audio::{Audio, load_audio, resample};
pub use error::SpeakerError;
pub use ge2e::{EMBEDDING_DIM, SpeakerEncoder, cosine};
pub use reference::{Reference, ReferenceWarning, load_references, prepare_reference, prepare_references};

/// Values per style vector.
pub const STYLE_DIM: usize = 256;
/// Rows per voice pack: one per phoneme count 1..=510.
pub const PACK_ROWS: usize = 510;
/// Values per voice pack.
pub const PACK_LEN: usize = PACK_ROWS * STYLE_DIM;

const EXPECTED_SHAPE: &str = "float32 [510, 1, 256] (or [510, 256]) = 130,560 values";

/// One voice: 510 style rows of 256 values.
#[derive(Debug, Clone, PartialEq)]
pub struct VoicePack {
    name: String,
    data: Vec<f32>,
}

impl VoicePack {
    /// Builds a pack from `PACK_ROWS × STYLE_DIM` row-major values.
    pub fn new(name: impl Into<String>, data: Vec<f32>) -> Result<Self, SpeakerError> {
        let name = name.into();
        if data.len() != PACK_LEN {
            return Err(SpeakerError::BadShape {
                source_name: format!("voice {name:?}"),
                found: format!("{} values", data.len()),
                expected: EXPECTED_SHAPE.into(),
            });
        }
        Ok(Self { name, data })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// All 510 × 256 values, row-major.
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }

    /// The pack as kokoro.js's raw `.bin`: 510 × 256 little-endian float32, the format `warble clone` writes.
    pub fn to_bin_bytes(&self) -> Vec<u8> {
        self.data.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    /// Writes [`Self::to_bin_bytes`] to `path` through a temporary file renamed into place, so a failure never
    /// leaves a partial pack behind.
    pub fn write_bin(&self, path: &Path) -> Result<(), SpeakerError> {
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let tmp = dir.join(format!(".{file_name}.{}.part", std::process::id()));
        let result = std::fs::write(&tmp, self.to_bin_bytes()).and_then(|()| std::fs::rename(&tmp, path));
        if let Err(e) = result {
            let _ = std::fs::remove_file(&tmp);
            return Err(SpeakerError::io(path, e));
        }
        Ok(())
    }

    /// The style vector for an utterance of `n_phonemes` phonemes: row `n_phonemes − 1`, as
    /// the reference `KPipeline` does. 0 or more than 510 phonemes has no row and is an error
    /// (longer input must be split into chunks first).
    pub fn style_for(&self, n_phonemes: usize) -> Result<[f32; STYLE_DIM], SpeakerError> {
        if n_phonemes == 0 || n_phonemes > PACK_ROWS {
            return Err(SpeakerError::PhonemeCount { n_phonemes, max: PACK_ROWS });
        }
        let row = &self.data[(n_phonemes - 1) * STYLE_DIM..n_phonemes * STYLE_DIM];
        let mut out = [0f32; STYLE_DIM];
        out.copy_from_slice(row);
        Ok(out)
    }
}

/// A set of voice packs by name.
#[derive(Debug, Clone, Default)]
pub struct VoiceLibrary {
    packs: BTreeMap<String, VoicePack>,
    /// Where each voice was read from, for messages.
    origins: BTreeMap<String, String>,
}

/// The zip magic (`PK\x03\x04`; `PK\x05\x06` is an empty archive).
fn is_zip(head: &[u8]) -> bool {
    head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06")
}

fn read_file(path: &Path) -> Result<Vec<u8>, SpeakerError> {
    std::fs::read(path).map_err(|e| SpeakerError::io(path, e))
}

fn stem(path: &Path) -> String {
    path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Checks an array's shape and returns its values as one pack's data.
fn pack_data(source_name: String, shape: &[usize], data: Vec<f32>) -> Result<Vec<f32>, SpeakerError> {
    let ok = matches!(shape, [PACK_ROWS, 1, STYLE_DIM] | [PACK_ROWS, STYLE_DIM]);
    if !ok || data.len() != PACK_LEN {
        return Err(SpeakerError::BadShape {
            source_name,
            found: format!("shape {shape:?}"),
            expected: EXPECTED_SHAPE.into(),
        });
    }
    Ok(data)
}

/// Reads every voice in a file, recognising the container by its content.
fn voices_in_file(path: &Path) -> Result<Vec<VoicePack>, SpeakerError> {
    let bytes = read_file(path)?;
    if is_zip(&bytes) {
        return voices_in_zip(path, &bytes);
    }
    if bytes.starts_with(b"\x93NUMPY") {
        let array = npy::parse(&bytes).map_err(|detail| SpeakerError::Corrupt {
            path: path.to_path_buf(),
            format: "NumPy .npy",
            detail,
        })?;
        let data = pack_data(path.display().to_string(), &array.shape, array.data)?;
        return Ok(vec![VoicePack { name: stem(path), data }]);
    }
    // Raw little-endian float32 (kokoro.js `.bin`): only the size can be checked.
    if bytes.len() != PACK_LEN * 4 {
        return Err(SpeakerError::BadShape {
            source_name: path.display().to_string(),
            found: format!("{} bytes of raw data (not a zip, npz or npy)", bytes.len()),
            expected: format!("{EXPECTED_SHAPE} = {} bytes of raw little-endian float32", PACK_LEN * 4),
        });
    }
    let data = bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    Ok(vec![VoicePack { name: stem(path), data }])
}

/// An npz (one `.npy` per voice) or a `torch.save` archive (one tensor, named after the file).
fn voices_in_zip(path: &Path, bytes: &[u8]) -> Result<Vec<VoicePack>, SpeakerError> {
    let corrupt =
        |format: &'static str, detail: String| SpeakerError::Corrupt { path: path.to_path_buf(), format, detail };
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| corrupt("zip", e.to_string()))?;
    let names: Vec<String> = archive
        .file_names()
        .map(|n| n.map(|n| n.into_owned()))
        .collect::<Result<_, _>>()
        .map_err(|e| corrupt("zip", e.to_string()))?;
    let read_entry =
        |archive: &mut zip::ZipArchive<std::io::Cursor<&[u8]>>, name: &str| -> Result<Vec<u8>, SpeakerError> {
            let mut entry = archive.by_name(name).map_err(|e| corrupt("zip", format!("entry {name}: {e}")))?;
            let mut out = Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0).min(1 << 26));
            entry.read_to_end(&mut out).map_err(|e| corrupt("zip", format!("entry {name}: {e}")))?;
            Ok(out)
        };

    if let Some(pickle_name) = names.iter().find(|n| n.ends_with("data.pkl")).cloned() {
        let root = pickle_name.trim_end_matches("data.pkl").to_string();
        let pickle = read_entry(&mut archive, &pickle_name)?;
        let tensor = torch_pt::parse_tensor_pickle(&pickle).map_err(|d| corrupt("torch .pt", d))?;
        if let Some(order) = names.iter().find(|n| **n == format!("{root}byteorder")).cloned() {
            let order = read_entry(&mut archive, &order)?;
            if order.as_slice() != b"little" {
                return Err(SpeakerError::Unsupported {
                    path: path.to_path_buf(),
                    format: "torch .pt",
                    detail: format!("byte order {:?}", String::from_utf8_lossy(&order)),
                });
            }
        }
        let (size, convert) =
            torch_pt::storage_element(&tensor.storage_type).ok_or_else(|| SpeakerError::Unsupported {
                path: path.to_path_buf(),
                format: "torch .pt",
                detail: format!("storage type {} is not a float type", tensor.storage_type),
            })?;
        let storage_bytes = read_entry(&mut archive, &format!("{root}data/{}", tensor.storage_key))?;
        if storage_bytes.len() % size != 0 {
            return Err(corrupt("torch .pt", format!("storage {} has a partial element", tensor.storage_key)));
        }
        let storage: Vec<f32> = storage_bytes.chunks_exact(size).map(convert).collect();
        let values = torch_pt::gather(&storage, &tensor).map_err(|d| corrupt("torch .pt", d))?;
        let data = pack_data(path.display().to_string(), &tensor.shape, values)?;
        return Ok(vec![VoicePack { name: stem(path), data }]);
    }

    let arrays: Vec<&String> = names.iter().filter(|n| n.ends_with(".npy")).collect();
    if arrays.is_empty() {
        return Err(SpeakerError::NoVoices {
            path: path.to_path_buf(),
            detail: "the zip archive holds neither .npy arrays (npz) nor a torch data.pkl".into(),
        });
    }
    let mut packs = Vec::with_capacity(arrays.len());
    for name in arrays {
        let bytes = read_entry(&mut archive, name)?;
        let voice = name.trim_end_matches(".npy").rsplit('/').next().unwrap_or(name).to_string();
        let array = npy::parse(&bytes).map_err(|d| corrupt("npz", format!("array {voice}: {d}")))?;
        let data = pack_data(format!("{} (array {voice:?})", path.display()), &array.shape, array.data)?;
        packs.push(VoicePack { name: voice, data });
    }
    Ok(packs)
}

/// File extensions looked at when a folder is loaded.
const VOICE_EXTENSIONS: &[&str] = &["bin", "npz", "npy", "pt", "pth"];

impl VoiceLibrary {
    /// Loads a voice file (raw `.bin`, `.npz`, kokoro-onnx `voices-v1.0.bin`, `.npy`, `.pt`) or
    /// every such file directly inside a folder. A voice name defined twice is accepted only if
    /// both copies are bit-identical.
    pub fn load(path: &Path) -> Result<Self, SpeakerError> {
        let metadata = std::fs::metadata(path).map_err(|e| {
            let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
            SpeakerError::NotFound {
                path: path.to_path_buf(),
                detail: format!("looked at {}: {e}", absolute.display()),
            }
        })?;
        let files: Vec<PathBuf> = if metadata.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| SpeakerError::io(path, e))?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.is_file()
                        && p.extension()
                            .and_then(|e| e.to_str())
                            .is_some_and(|e| VOICE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
                })
                .collect();
            files.sort();
            if files.is_empty() {
                return Err(SpeakerError::NoVoices {
                    path: path.to_path_buf(),
                    detail: format!("the folder has no *.{} files", VOICE_EXTENSIONS.join(", *.")),
                });
            }
            files
        } else {
            vec![path.to_path_buf()]
        };
        let mut library = Self::default();
        for file in files {
            for pack in voices_in_file(&file)? {
                library.add(pack, file.display().to_string())?;
            }
        }
        if library.packs.is_empty() {
            return Err(SpeakerError::NoVoices { path: path.to_path_buf(), detail: "no voice arrays found".into() });
        }
        Ok(library)
    }

    /// Adds a pack; `origin` is shown in messages. A second, different pack of the same name
    /// is an error.
    pub fn add(&mut self, pack: VoicePack, origin: String) -> Result<(), SpeakerError> {
        if let Some(existing) = self.packs.get(&pack.name) {
            if existing.data == pack.data {
                return Ok(());
            }
            return Err(SpeakerError::DuplicateVoice {
                name: pack.name.clone(),
                first: self.origins.get(&pack.name).cloned().unwrap_or_default(),
                second: origin,
            });
        }
        self.origins.insert(pack.name.clone(), origin);
        self.packs.insert(pack.name.clone(), pack);
        Ok(())
    }

    /// Voice names, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.packs.keys().map(String::as_str).collect()
    }

    pub fn len(&self) -> usize {
        self.packs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.packs.is_empty()
    }

    /// The pack named `name`; an unknown name lists every voice and suggests the closest.
    pub fn get(&self, name: &str) -> Result<&VoicePack, SpeakerError> {
        if let Some(pack) = self.packs.get(name) {
            return Ok(pack);
        }
        // Names are matched regardless of case (`AF_Heart`, `Af_heart`) when that leaves one voice.
        let mut folded = self.packs.values().filter(|p| p.name.eq_ignore_ascii_case(name));
        if let (Some(pack), None) = (folded.next(), folded.next()) {
            return Ok(pack);
        }
        self.packs.get(name).ok_or_else(|| {
            let suggestion = closest(name, self.packs.keys().map(String::as_str))
                .map(|c| format!(" (did you mean {c:?}?)"))
                .unwrap_or_default();
            SpeakerError::UnknownVoice { name: name.to_string(), suggestion, available: self.names().join(", ") }
        })
    }

    /// A voice by name, or read from a file when `name` is a path (`./clone.bin`, `voices/x.pt`): a file must
    /// hold exactly one voice.
    fn lookup(&self, name: &str) -> Result<std::borrow::Cow<'_, VoicePack>, SpeakerError> {
        if !is_voice_path(name) {
            return self.get(name).map(std::borrow::Cow::Borrowed);
        }
        let path = Path::new(name);
        if !path.is_file() {
            let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
            return Err(SpeakerError::NotFound {
                path: path.to_path_buf(),
                detail: format!(
                    "no voice file at {} (a voice is a name such as af_heart or a path to a .bin/.npy/.pt pack)",
                    absolute.display()
                ),
            });
        }
        let mut packs = voices_in_file(path)?;
        if packs.len() != 1 {
            let names: Vec<&str> = packs.iter().map(|p| p.name.as_str()).collect();
            return Err(SpeakerError::BadSpec {
                spec: name.to_string(),
                detail: format!(
                    "the file holds {} voices ({}); give one file per voice, or load the file as the voice library",
                    packs.len(),
                    names.join(", ")
                ),
            });
        }
        Ok(std::borrow::Cow::Owned(packs.remove(0)))
    }

    /// Resolves a voice specification: a name (`"af_heart"`), an equal blend of names
    /// (`"af_heart,af_bella"`, the element-wise mean, as the reference pipeline does), or a
    /// weighted blend (`"jf_alpha:0.7,jm_kumo:0.3"`; weights are normalised to sum to 1, so
    /// `"a:2,b:1"` is two thirds `a`). Weights must be given for all parts or none, and be
    /// finite and non-negative with a positive sum.
    ///
    /// The blend syntax of Kokoro-FastAPI and kokoro-js is read too: `"af_bella+af_sky"` (equal) and
    /// `"af_bella(2)+af_sky(1)"` (weighted), unless the specification is a file path.
    pub fn resolve(&self, spec: &str) -> Result<VoicePack, SpeakerError> {
        let bad = |detail: String| SpeakerError::BadSpec { spec: spec.to_string(), detail };
        if spec.contains('+') && !spec.contains(',') && !is_voice_path(spec) {
            let mut parts = Vec::new();
            for part in spec.split('+') {
                let part = part.trim();
                parts.push(match part.split_once('(') {
                    Some((name, rest)) => {
                        let w = rest.strip_suffix(')').ok_or_else(|| {
                            bad(format!("{part:?}: write a weight as name(2), or name:2 with commas between voices"))
                        })?;
                        format!("{}:{}", name.trim(), w.trim())
                    }
                    None => part.to_string(),
                });
            }
            return self.resolve(&parts.join(","));
        }
        let mut parts = Vec::new();
        for part in spec.split(',') {
            let part = part.trim();
            if part.is_empty() {
                return Err(bad("empty voice name".into()));
            }
            // `name:weight`; a path may itself hold a colon (`C:\voices\x.bin`), so the weight is what
            // follows the last colon, and a path-like part with no numeric suffix is all name.
            let split = part
                .rsplit_once(':')
                .filter(|(n, w)| !(is_voice_path(part) && (n.is_empty() || w.trim().parse::<f64>().is_err())));
            let (name, weight) = match split {
                Some((name, w)) => {
                    let w: f64 = w
                        .trim()
                        .parse()
                        .map_err(|_| bad(format!("weight {:?} of {:?} is not a number", w.trim(), name.trim())))?;
                    if !w.is_finite() || w < 0.0 {
                        return Err(bad(format!("weight {w} of {:?} must be finite and non-negative", name.trim())));
                    }
                    (name.trim(), Some(w))
                }
                None => (part, None),
            };
            if name.is_empty() {
                return Err(bad("empty voice name".into()));
            }
            parts.push((self.lookup(name)?, weight));
        }
        let weighted = parts.iter().filter(|(_, w)| w.is_some()).count();
        if weighted != 0 && weighted != parts.len() {
            return Err(bad("give a weight for every voice or for none".into()));
        }
        if parts.len() == 1 && weighted == 0 {
            return Ok(parts.swap_remove(0).0.into_owned());
        }
        let weights: Vec<f64> = parts.iter().map(|(_, w)| w.unwrap_or(1.0)).collect();
        let total: f64 = weights.iter().sum();
        if total <= 0.0 {
            return Err(bad("the weights sum to zero".into()));
        }
        let mut mixed = vec![0f64; PACK_LEN];
        for ((pack, _), w) in parts.iter().zip(&weights) {
            let share = w / total;
            for (m, &x) in mixed.iter_mut().zip(&pack.data) {
                *m += share * f64::from(x);
            }
        }
        let name = parts
            .iter()
            .zip(&weights)
            .map(|((pack, _), w)| format!("{}:{}", pack.name, w / total))
            .collect::<Vec<_>>()
            .join(",");
        Ok(VoicePack { name, data: mixed.into_iter().map(|x| x as f32).collect() })
    }
}

/// Whether a voice name is a file path: it has a path separator or a voice file extension. Stock names
/// (`af_heart`) have neither.
pub fn is_voice_path(name: &str) -> bool {
    let name = name.trim();
    name.contains('/')
        || name.contains('\\')
        || Path::new(name)
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| VOICE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// The candidate with the smallest edit distance to `name`, if it is plausibly a typo.
fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (warble_weights::edit_distance(name, c, |x, y| x == y), c))
        .filter(|&(d, _)| d <= 3.max(name.chars().count() / 3))
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pack(name: &str, value: f32) -> VoicePack {
        VoicePack::new(name, (0..PACK_LEN).map(|i| value + (i / STYLE_DIM) as f32).collect()).unwrap()
    }

    #[test]
    fn style_row_is_n_minus_one() {
        let p = pack("x", 0.0);
        assert_eq!(p.style_for(1).unwrap()[0], 0.0);
        assert_eq!(p.style_for(510).unwrap()[255], 509.0);
        assert!(matches!(p.style_for(0), Err(SpeakerError::PhonemeCount { .. })));
        assert!(matches!(p.style_for(511), Err(SpeakerError::PhonemeCount { .. })));
        assert!(VoicePack::new("short", vec![0.0; 10]).is_err());
    }

    #[test]
    fn a_path_is_a_voice_and_blends_with_names() {
        let dir = std::env::temp_dir().join(format!("warble-speaker-path-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("clone.bin");
        let clone = pack("clone", 2.0);
        clone.write_bin(&file).unwrap();
        assert_eq!(std::fs::metadata(&file).unwrap().len(), (PACK_LEN * 4) as u64);
        let mut lib = VoiceLibrary::default();
        lib.add(pack("af_heart", 0.0), "test".into()).unwrap();
        let path = file.to_str().unwrap();
        let read = lib.resolve(path).unwrap();
        assert_eq!(read.as_slice(), clone.as_slice());
        assert_eq!(read.name(), "clone");
        let mixed = lib.resolve(&format!("af_heart:0.5,{path}:0.5")).unwrap();
        assert_eq!(mixed.style_for(1).unwrap()[0], 1.0);
        // A missing file names the path; a name that is not a path still gets the voice list.
        let missing = dir.join("nope.bin");
        let err = lib.resolve(missing.to_str().unwrap()).unwrap_err().to_string();
        assert!(err.contains("nope.bin"), "{err}");
        assert!(matches!(lib.resolve("af_hear"), Err(SpeakerError::UnknownVoice { .. })));
        // No temporary file is left beside the pack.
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left.len(), 1, "{left:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn names_ignore_case_and_peer_blend_syntax_is_read() {
        let mut lib = VoiceLibrary::default();
        lib.add(pack("af_bella", 0.0), "test".into()).unwrap();
        lib.add(pack("af_sky", 3.0), "test".into()).unwrap();
        assert_eq!(lib.resolve("AF_Bella").unwrap().name(), "af_bella");
        // Kokoro-FastAPI's `a+b` is the equal blend `a,b`; `a(2)+b(1)` the weighted `a:2,b:1`.
        let plus = lib.resolve("af_bella+Af_Sky").unwrap();
        assert_eq!(plus.as_slice(), lib.resolve("af_bella,af_sky").unwrap().as_slice());
        assert_eq!(plus.style_for(1).unwrap()[0], 1.5);
        let weighted = lib.resolve("af_bella(2) + af_sky(1)").unwrap();
        assert_eq!(weighted.style_for(1).unwrap()[0], 1.0);
        let err = lib.resolve("af_bella(2+af_sky").unwrap_err().to_string();
        assert!(err.contains("name(2)"), "{err}");
        assert!(matches!(lib.resolve("af_bella+af_nobody"), Err(SpeakerError::UnknownVoice { .. })));
        // Two voices that differ only in case are told apart only by their exact names.
        lib.add(pack("AF_SKY", 5.0), "test".into()).unwrap();
        assert_eq!(lib.resolve("af_sky").unwrap().style_for(1).unwrap()[0], 3.0);
        assert!(matches!(lib.resolve("Af_sky"), Err(SpeakerError::UnknownVoice { .. })));
    }

    #[test]
    fn voice_paths_are_recognised() {
        assert!(is_voice_path("./x.bin") && is_voice_path("clone.bin") && is_voice_path("C:\\v\\x"));
        assert!(!is_voice_path("af_heart") && !is_voice_path("jf_alpha"));
    }

    #[test]
    fn suggestions_catch_typos() {
        assert_eq!(closest("af_haert", ["af_heart", "am_adam"].into_iter()), Some("af_heart"));
        assert_eq!(closest("zzzzzzzzzzzz", ["af_heart"].into_iter()), None);
    }
}
