//! `warble download`: fetches Kokoro-82M v1.0 and its voices into the folder Warble searches.

mod catalog;
mod fetch;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::ValueEnum;

use catalog::{Host, RemoteFile};
use fetch::{Checked, Expect, Fetcher, human};

pub const ABOUT: &str = "Download Kokoro-82M v1.0 and its voices into the folder Warble searches.

Sources (only formats Warble loads are offered):
  onnx-int8  kokoro-onnx's release kokoro-v1.0.int8.onnx (92 MB, sha256-verified; what Warble's CI tests)
  onnx       kokoro-onnx's release kokoro-v1.0.onnx (fp32, about 325 MB)
  hf         Hugging Face hexgrad/Kokoro-82M: kokoro-v1_0.pth (about 327 MB) and config.json
Voices: kokoro-onnx's voices-v1.0.bin (the onnx sources' default), hexgrad's voices/<name>.pt (hf's default),
or onnx-community/Kokoro-82M-v1.0-ONNX's voices/<name>.bin (kokoro.js's raw files, each sha256-verified).

Files are received as <name>.part (an interrupted download resumes on the next run) and renamed into place only
after their checks pass. Files with a pinned digest are sha256-verified; the others are checked for size where
it is known and for content (a voice file must load), and their sha256 is printed: pass --sha256 FILE=HEX to
require one. A file already present is verified and kept unless --force.";

/// Which weights to fetch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Source {
    /// kokoro-onnx's int8 ONNX (92 MB, sha256 pinned)
    #[value(name = "onnx-int8")]
    OnnxInt8,
    /// kokoro-onnx's fp32 ONNX (about 325 MB)
    Onnx,
    /// hexgrad/Kokoro-82M's PyTorch checkpoint and config.json (about 327 MB)
    Hf,
}

/// Where the voices come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum VoicesFrom {
    /// voices-v1.0.bin, all 54 voices in one npz (28 MB)
    KokoroOnnx,
    /// hexgrad/Kokoro-82M's voices/<name>.pt (54 files)
    Hf,
    /// onnx-community/Kokoro-82M-v1.0-ONNX's voices/<name>.bin (54 files, sha256 pinned)
    OnnxCommunity,
}

#[derive(clap::Args)]
pub struct DownloadArgs {
    /// Folder to download into [default: the per-user folder, $XDG_DATA_HOME/warble/models]
    #[arg(long, value_name = "DIR")]
    to: Option<PathBuf>,
    /// Which weights to download
    #[arg(long, value_enum, default_value = "onnx-int8")]
    source: Source,
    /// Where the voices come from [default: kokoro-onnx for the onnx sources, hf for hf]
    #[arg(long, value_enum)]
    voices_from: Option<VoicesFrom>,
    /// Base URL of a mirror: replaces https://github.com and https://huggingface.co, the paths stay
    /// [default: $WARBLE_MIRROR; for Hugging Face files also $HF_ENDPOINT]
    #[arg(long, value_name = "URL")]
    mirror: Option<String>,
    /// Download again files that are already present (without it they are verified and kept)
    #[arg(long)]
    force: bool,
    /// Require this sha256 for a file, named as it is saved (e.g. voices-v1.0.bin); repeatable
    #[arg(long = "sha256", value_name = "FILE=HEX")]
    sha256: Vec<String>,
}

pub fn run(args: DownloadArgs) -> Result<()> {
    let dir = match &args.to {
        Some(d) => d.clone(),
        None => warble_engine::paths::user_model_dir()
            .context("there is no per-user folder (HOME and XDG_DATA_HOME are unset): give one with --to DIR")?,
    };
    let voices_from = args.voices_from.unwrap_or(match args.source {
        Source::Hf => VoicesFrom::Hf,
        Source::Onnx | Source::OnnxInt8 => VoicesFrom::KokoroOnnx,
    });
    let mut files = catalog::weights(args.source);
    files.extend(catalog::voices(voices_from));
    pin_overrides(&mut files, &args.sha256)?;
    let mirror = args.mirror.clone().or_else(|| env("WARBLE_MIRROR"));
    let github = base_url(mirror.as_deref(), Host::GitHub)?;
    let hugging_face = base_url(mirror.or_else(|| env("HF_ENDPOINT")).as_deref(), Host::HuggingFace)?;
    prepare(&dir)?;
    refuse_second_weights(&dir, &files)?;

    eprintln!(
        "warble: downloading Kokoro-82M v1.0 ({} weights, voices from {}) into {}",
        value_name(args.source),
        value_name(voices_from),
        dir.display()
    );
    let fetcher = Fetcher::new(std::io::stderr().is_terminal());
    let (mut fetched, mut kept) = (0usize, 0usize);
    for f in &files {
        let dest = f.local.split('/').fold(dir.clone(), |p, s| p.join(s));
        let expect = Expect { size: f.size, sha256: f.sha256.clone(), content: f.content };
        if dest.exists() && !args.force {
            let checked = fetch::check(&dest, &expect).map_err(|e| {
                anyhow::anyhow!(
                    "{} is already in {} but does not pass its check ({e:#}); replace it with --force",
                    f.local,
                    dir.display()
                )
            })?;
            eprintln!("{}: already present, kept: {}", f.local, describe(&checked));
            kept += 1;
            continue;
        }
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        let base = if f.host == Host::GitHub { &github } else { &hugging_face };
        let url = format!("{base}{}", f.path);
        let checked = fetcher.fetch(&url, &dest, &expect, &f.local)?;
        eprintln!("{}: {}", f.local, describe(&checked));
        fetched += 1;
    }
    eprintln!("warble: {fetched} file(s) downloaded, {kept} already present");
    println!("Kokoro-82M v1.0 is ready in {}", dir.display());
    println!("Try it: {}", try_command(&dir));
    Ok(())
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn value_name(v: impl ValueEnum) -> String {
    v.to_possible_value().map(|p| p.get_name().to_string()).unwrap_or_default()
}

/// The scheme and host (and any path prefix) the files' paths are appended to.
fn base_url(mirror: Option<&str>, host: Host) -> Result<String> {
    let Some(m) = mirror else { return Ok(host.default_base().to_string()) };
    let m = m.trim().trim_end_matches('/');
    let rest = m.strip_prefix("https://").or_else(|| m.strip_prefix("http://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') => Ok(m.to_string()),
        _ => bail!("mirror {m:?} is not an http:// or https:// URL (e.g. --mirror https://hf-mirror.com)"),
    }
}

fn describe(c: &Checked) -> String {
    let what = if c.digest_pinned {
        "sha256 verified".to_string()
    } else if c.size_pinned {
        format!("size checked, no published digest pinned (sha256 {})", c.sha256)
    } else {
        format!("content checked, no published size or digest pinned (sha256 {})", c.sha256)
    };
    format!("{}, {what}", human(c.bytes))
}

/// `--sha256 FILE=HEX`: a digest to require for one of the files.
fn pin_overrides(files: &mut [RemoteFile], pins: &[String]) -> Result<()> {
    for pin in pins {
        let Some((name, hex)) = pin.split_once('=') else {
            bail!("--sha256 {pin:?}: expected FILE=HEX, e.g. --sha256 voices-v1.0.bin=<64 hex digits>");
        };
        let hex = hex.trim().to_ascii_lowercase();
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            bail!("--sha256 {name}: {hex:?} is not a sha256 (64 hex digits)");
        }
        let Some(f) = files.iter_mut().find(|f| f.local == name.trim()) else {
            let names: Vec<&str> = files.iter().map(|f| f.local.as_str()).take(8).collect();
            bail!("--sha256 {name}: not a file of this download (its files: {}, ...)", names.join(", "));
        };
        f.sha256 = Some(hex);
    }
    Ok(())
}

/// Creates the folder and proves it writable before anything is downloaded.
fn prepare(dir: &Path) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        bail!("{} is a file, not a folder: choose a folder with --to DIR", dir.display());
    }
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create {}: choose a writable folder with --to DIR", dir.display()))?;
    let probe = dir.join(".warble-write-test");
    std::fs::write(&probe, b"")
        .with_context(|| format!("cannot write into {}: choose a writable folder with --to DIR", dir.display()))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

/// Warble loads the one weights file of a folder; a second one (from another source) would make it ambiguous.
fn refuse_second_weights(dir: &Path, files: &[RemoteFile]) -> Result<()> {
    let ours: Vec<&str> = files.iter().map(|f| f.local.as_str()).collect();
    let mut others: Vec<String> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            let weights = [".onnx", ".pth", ".safetensors"].iter().any(|x| n.ends_with(x));
            weights && !n.starts_with('.') && !ours.contains(&n.as_str())
        })
        .collect();
    others.sort();
    if !others.is_empty() {
        bail!(
            "{} already holds weights ({}); Warble needs exactly one weights file per folder: remove it, or \
             download this source into another folder with --to DIR",
            dir.display(),
            others.join(", ")
        );
    }
    Ok(())
}

/// The command that speaks with the new files: no flags when Warble searches the folder anyway.
fn try_command(dir: &Path) -> String {
    let say = "warble say \"Hello, world.\" -o hello.wav";
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    let first = warble_engine::paths::model_search_dirs().into_iter().find(|d| d.is_dir());
    if first.as_deref().is_some_and(|f| same(f, dir)) {
        return say.to_string();
    }
    let quoted = shell_quote(&dir.display().to_string());
    if warble_engine::paths::user_model_dir().is_some_and(|u| same(&u, dir)) {
        // The per-user folder, but WARBLE_MODEL_DIR points elsewhere and is searched first.
        return format!("env -u WARBLE_MODEL_DIR {say}   (WARBLE_MODEL_DIR is set and searched first)");
    }
    format!("WARBLE_MODEL_DIR={quoted} {say}")
}

fn shell_quote(s: &str) -> String {
    if s.bytes().all(|b| b.is_ascii_alphanumeric() || b"/._-+".contains(&b)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}
