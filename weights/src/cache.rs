//! Convert once, then memory-map: the canonical-weights cache.
//!
//! Dequantizing and re-laying out the 92 MB int8 ONNX (or unpickling a 312 MB `.pth`) on every
//! start is wasted time, so [`load_cached`] stores the canonical map as a safetensors file in
//! a cache folder and reads that on later starts.
//!
//! **Cache file name** = `<source stem>-<hash of the source's canonical path>-<size>-<mtime ns>-
//! <hash of the first MiB>.c<CACHE_FORMAT>.safetensors`. A source that is replaced, edited,
//! touched or moved therefore gets a new name and is converted again; bumping
//! [`CACHE_FORMAT`] (when the conversion changes) invalidates every old file. After a
//! successful write, older cache files of the same source path are deleted.
//!
//! **Atomicity**: the file is written under a temporary name in the cache folder, flushed to
//! disk, then renamed into place, so a reader never sees a half-written cache, and two
//! processes converting at once both end with a complete file. A cache file that fails to
//! parse (disk damage, foreign file) is ignored and rebuilt.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, UNIX_EPOCH};

use crate::{WeightMap, WeightsError, find_model_file, load, safetensors_file};

/// Version of the conversion; part of the cache file name and metadata.
pub const CACHE_FORMAT: u32 = 1;

const MARKER_KEY: &str = "warble-weights-cache";

/// What [`load_cached`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadInfo {
    /// The checkpoint the weights come from.
    pub source: PathBuf,
    /// The cache file read or written.
    pub cache_file: PathBuf,
    /// True when the weights were read from an existing cache file.
    pub cache_hit: bool,
    /// Wall time of the whole call.
    pub elapsed: Duration,
    /// Why an existing cache file was not used, or why writing one failed; the weights are
    /// still returned in both cases.
    pub cache_note: Option<String>,
}

/// 64-bit FNV-1a: a small, stable, dependency-free fingerprint (not a security hash).
fn fnv1a(bytes: &[u8], mut hash: u64) -> u64 {
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// Where to cache converted weights when the caller has no preference:
/// `$WARBLE_CACHE_DIR`, else `$XDG_CACHE_HOME/warble/weights`, else
/// `$HOME/.cache/warble/weights`, else `<temp dir>/warble/weights`.
pub fn default_cache_dir() -> PathBuf {
    let from_env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = from_env("WARBLE_CACHE_DIR") {
        return dir;
    }
    let base = from_env("XDG_CACHE_HOME")
        .or_else(|| from_env("HOME").map(|home| home.join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("warble").join("weights")
}

/// The cache file name for a source file (see the module docs for its parts).
pub fn cache_file_name(source: &Path) -> Result<String, WeightsError> {
    let metadata = std::fs::metadata(source).map_err(|e| WeightsError::io(source, e))?;
    let mtime_ns = metadata.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
    let mut head = Vec::with_capacity(1 << 20);
    std::fs::File::open(source)
        .and_then(|f| f.take(1 << 20).read_to_end(&mut head))
        .map_err(|e| WeightsError::io(source, e))?;
    // The canonical path (symlinks and `..` resolved), so every spelling of a path shares a cache.
    let absolute = std::fs::canonicalize(source).unwrap_or_else(|_| source.to_path_buf());
    let path_hash = fnv1a(absolute.to_string_lossy().as_bytes(), FNV_OFFSET);
    let stem = source.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let stem: String =
        stem.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' }).collect();
    Ok(format!(
        "{stem}-{:08x}-{}-{mtime_ns}-{:016x}.c{CACHE_FORMAT}.safetensors",
        path_hash as u32,
        metadata.len(),
        fnv1a(&head, FNV_OFFSET)
    ))
}

/// Loads `path` (a weights file, or a folder holding one) through the cache in `cache_dir`,
/// which is created if needed: the first call converts and writes the cache, later calls
/// read it. A cache that cannot be written is reported in [`LoadInfo::cache_note`], not as an
/// error, since the weights themselves loaded fine.
pub fn load_cached(path: &Path, cache_dir: &Path) -> Result<(WeightMap, LoadInfo), WeightsError> {
    let start = Instant::now();
    let source = find_model_file(path)?;
    let name = cache_file_name(&source)?;
    let cache_file = cache_dir.join(&name);
    let marker_value = format!("{CACHE_FORMAT}");
    let mut note = None;
    if cache_file.is_file() {
        match safetensors_file::read_map(&cache_file, (MARKER_KEY, &marker_value)) {
            Ok(map) => {
                let info = LoadInfo { source, cache_file, cache_hit: true, elapsed: start.elapsed(), cache_note: None };
                return Ok((map, info));
            }
            Err(e) => note = Some(format!("ignored unreadable cache file: {e}")),
        }
    }
    let map = load(&source)?;
    if let Err(e) = write_atomically(&map, &source, cache_dir, &cache_file, &marker_value) {
        note = Some(format!("could not write the cache: {e}"));
    } else {
        remove_stale(cache_dir, &name);
    }
    let info = LoadInfo { source, cache_file, cache_hit: false, elapsed: start.elapsed(), cache_note: note };
    Ok((map, info))
}

fn write_atomically(
    map: &WeightMap,
    source: &Path,
    cache_dir: &Path,
    cache_file: &Path,
    marker_value: &str,
) -> Result<(), WeightsError> {
    std::fs::create_dir_all(cache_dir).map_err(|e| WeightsError::io(cache_dir, e))?;
    let nanos = std::time::SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let temp = cache_dir.join(format!(".tmp-{}-{nanos}.safetensors", std::process::id()));
    let metadata = HashMap::from([
        (MARKER_KEY.to_string(), marker_value.to_string()),
        ("source".to_string(), source.display().to_string()),
    ]);
    let result = (|| {
        safetensors_file::write_map(map, metadata, &temp)?;
        std::fs::File::open(&temp).and_then(|f| f.sync_all()).map_err(|e| WeightsError::io(&temp, e))?;
        std::fs::rename(&temp, cache_file).map_err(|e| WeightsError::io(cache_file, e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// Deletes cache files of the same source path (same stem and path hash) with another
/// fingerprint: they can never be hit again.
fn remove_stale(cache_dir: &Path, current: &str) {
    // The name ends in `-<size>-<mtime>-<head hash>.c<N>.safetensors`; everything before those
    // three fields (stem and path hash) identifies the source path. The stem may contain '-',
    // so split from the right.
    let Some(source_part) = current.rsplitn(4, '-').nth(3) else {
        return;
    };
    let prefix = format!("{source_part}-");
    let Ok(entries) = std::fs::read_dir(cache_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name != current && name.starts_with(&prefix) && name.ends_with(".safetensors") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
