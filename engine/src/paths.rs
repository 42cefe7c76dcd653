//! Where Warble looks for weights and voices, and where it caches converted weights.
//!
//! Order: an explicit `--model`/`--voices` path; then `$WARBLE_MODEL_DIR`; then the per-user folder
//! `$XDG_DATA_HOME/warble/models` (default `~/.local/share/warble/models`). Converted weights are cached by
//! `warble-weights` in `$WARBLE_CACHE_DIR`, else `$XDG_CACHE_HOME/warble/weights` (default `~/.cache/warble/weights`).

use std::path::{Path, PathBuf};

use crate::EngineError;

pub const MODEL_DIR_ENV: &str = "WARBLE_MODEL_DIR";

const HOW_TO_GET: &str = "`warble download` fetches Kokoro-82M v1.0 and its voices into the per-user folder (a mirror \
with --mirror). Or get them yourself, either from Hugging Face `hexgrad/Kokoro-82M` (kokoro-v1_0.pth, config.json and \
the voices/ folder) or from kokoro-onnx's release files (kokoro-v1.0.onnx or kokoro-v1.0.int8.onnx and \
voices-v1.0.bin), put them in one folder, and point Warble at it (the model and voices paths, or WARBLE_MODEL_DIR).";

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").filter(|h| !h.is_empty()).map(PathBuf::from)
}

fn xdg(var: &str, fallback: &[&str]) -> Option<PathBuf> {
    if let Some(v) = std::env::var_os(var).filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(v));
    }
    home().map(|h| fallback.iter().fold(h, |p, s| p.join(s)))
}

/// The per-user folder for weights and voices.
pub fn user_model_dir() -> Option<PathBuf> {
    xdg("XDG_DATA_HOME", &[".local", "share"]).map(|d| d.join("warble").join("models"))
}

/// The folders searched when no `--model` is given.
pub fn model_search_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(d) = std::env::var_os(MODEL_DIR_ENV).filter(|d| !d.is_empty()) {
        dirs.push(PathBuf::from(d));
    }
    if let Some(d) = user_model_dir() {
        dirs.push(d);
    }
    dirs
}

/// The weights file to load.
pub fn resolve_model(given: Option<&Path>) -> Result<PathBuf, EngineError> {
    if let Some(p) = given {
        if !p.exists() {
            return Err(EngineError::NotFound(format!(
                "model path {}: no such file or folder. {HOW_TO_GET}",
                p.display()
            )));
        }
        return Ok(warble_weights::find_model_file(p)?);
    }
    let dirs = model_search_dirs();
    for d in &dirs {
        if d.is_dir()
            && let Ok(f) = warble_weights::find_model_file(d)
        {
            return Ok(f);
        }
    }
    let looked: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    Err(EngineError::NotFound(format!(
        "no Kokoro weights found (looked in: {}{}). {HOW_TO_GET}",
        if looked.is_empty() {
            "nowhere: WARBLE_MODEL_DIR is unset and HOME is unknown".to_string()
        } else {
            looked.join(", ")
        },
        if std::env::var_os(MODEL_DIR_ENV).is_none() { "; WARBLE_MODEL_DIR is unset" } else { "" }
    )))
}

/// The voice file or folder to load: the given one, else beside the model, else in the search folders.
pub fn resolve_voices(given: Option<&Path>, model_file: &Path) -> Result<PathBuf, EngineError> {
    if let Some(p) = given {
        if !p.exists() {
            return Err(EngineError::NotFound(format!(
                "voices path {}: no such file or folder. {HOW_TO_GET}",
                p.display()
            )));
        }
        return Ok(p.to_path_buf());
    }
    let mut bases: Vec<PathBuf> = model_file.parent().map(|d| vec![d.to_path_buf()]).unwrap_or_default();
    bases.extend(model_search_dirs());
    let mut looked = Vec::new();
    for base in &bases {
        for name in ["voices", "voices-v1.0.bin", "voices.npz", "voices.bin"] {
            let c = base.join(name);
            if c.exists() {
                return Ok(c);
            }
            looked.push(c.display().to_string());
        }
    }
    Err(EngineError::NotFound(format!("no voices found (looked for: {}). {HOW_TO_GET}", looked.join(", "))))
}
