//! Helpers shared by the integration tests: where the reference models are, a hand-written
//! `torch.save` archive writer and a tiny ONNX graph builder.
#![allow(dead_code)]

pub mod onnx_builder;
pub mod torch_zip;

use std::path::PathBuf;

/// The folder with the reference models: `$WARBLE_MODEL_DIR`, or `../shared/models` next to the
/// workspace. Panics (never skips) when it is missing, so a misconfigured run is visible.
pub fn model_dir() -> PathBuf {
    let dir = std::env::var_os("WARBLE_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/models"));
    assert!(
        dir.join("kokoro-v1.0.int8.onnx").is_file(),
        "reference models not found in {} (set WARBLE_MODEL_DIR)",
        dir.display()
    );
    dir
}

/// A fresh empty folder under the target dir's tmp area, unique per test.
pub fn scratch_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("warble-weights-test-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Deterministic pseudo-random values in [-1, 1).
pub fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

pub fn assert_close(a: &[f32], b: &[f32], tol: f32, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: length");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tol * (1.0 + y.abs()), "{what}[{i}]: {x} vs {y}");
    }
}
