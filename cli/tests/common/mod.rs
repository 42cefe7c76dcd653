//! What the command-line tests share: the weights, scratch folders, running `warble`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn model_dir() -> PathBuf {
    PathBuf::from(
        std::env::var_os("WARBLE_MODEL_DIR").expect("set WARBLE_MODEL_DIR to the folder with the Kokoro weights"),
    )
}

/// A fresh folder under the target's temporary folder, named after the test binary and unique to this process.
pub fn scratch(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "{}-{name}-{}",
        env!("CARGO_CRATE_NAME"),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `warble` with the converted-weights cache shared by every test.
pub fn command(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_warble"));
    c.args(args).env("WARBLE_CACHE_DIR", PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("warble-converted"));
    c
}

pub fn warble(args: &[&str]) -> Output {
    command(args).output().expect("run warble")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn files_in(d: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}
