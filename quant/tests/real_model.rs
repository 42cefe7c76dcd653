//! The built-in policies on the real Kokoro-82M v1.0 weights: each file within its size budget (int8 ≤ 95 MB,
//! int4-mixed ≤ 60 MB), read back as written, and every dequantized value within half a quantization step of
//! the f32 weight it came from.

use std::path::PathBuf;

use warble_quant::scheme::rows_cols;
use warble_quant::{Precision, QTensor, QuantizedModel, Scheme, is_quantized_file};
use warble_weights::WeightMap;

/// `$WARBLE_MODEL_DIR` (CI sets it to `../shared/models`).
fn model_dir() -> PathBuf {
    let dir = std::env::var_os("WARBLE_MODEL_DIR").map(PathBuf::from).expect(
        "this test needs the real Kokoro weights: set WARBLE_MODEL_DIR to the folder holding kokoro-v1.0.int8.onnx",
    );
    assert!(dir.is_dir(), "WARBLE_MODEL_DIR={} is not a folder", dir.display());
    dir
}

fn weights() -> WeightMap {
    let file = model_dir().join("kokoro-v1.0.int8.onnx");
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("warble-converted");
    let (w, _) = warble_weights::load_cached(&file, &cache).expect("load the Kokoro weights");
    w.check_layout(warble_weights::kokoro_v1_0_layout(), "Kokoro-82M v1.0").unwrap();
    w
}

/// The largest error of a tensor in units of its quantization step (≤ 0.5 + rounding slack expected).
fn max_error_in_steps(original: &[f32], stored: &QTensor) -> f64 {
    let dequantized = stored.dequantize().data;
    assert_eq!(original.len(), dequantized.len());
    let (_, cols) = rows_cols(stored.shape());
    let step = |i: usize, w: f32| -> f64 {
        match stored {
            QTensor::F32(_) => 0.0,
            QTensor::Int8(t) => f64::from(t.scale[i / cols]),
            QTensor::Int4(t) => f64::from(t.scale[(i / cols) * t.blocks_per_row() + (i % cols) / t.block].to_f32()),
            // one unit in the last place of the bfloat16 near w: 8 significant bits
            QTensor::Bf16(_) => f64::from(w.abs()) * 2f64.powi(-7),
        }
    };
    let mut worst = 0f64;
    for (i, (&w, &d)) in original.iter().zip(&dequantized).enumerate() {
        let err = f64::from((w - d).abs());
        if err == 0.0 {
            continue;
        }
        // f32 arithmetic in quantize/dequantize: a few ulps of |w| beyond the half step.
        let slack = f64::from(w.abs()) * 8.0 * f64::from(f32::EPSILON);
        let s = step(i, w);
        assert!(s > 0.0, "value {i}: error {err} with a zero step");
        worst = worst.max((err - slack).max(0.0) / s);
    }
    worst
}

#[test]
fn built_in_policies_on_the_real_model() {
    let w = weights();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("quant-real-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    eprintln!("f32 model: {} parameters, {:.1} MB", w.parameter_count(), w.parameter_count() as f64 * 4.0 / 1e6);
    for (scheme, limit_mb) in [(Scheme::Int8, 95.0), (Scheme::Int4Mixed, 60.0), (Scheme::Bf16, 170.0)] {
        let policy = scheme.policy().unwrap();
        let q = QuantizedModel::quantize(&w, &policy, scheme.name(), scheme.name()).unwrap();
        let path = dir.join(format!("kokoro-{}.safetensors", scheme.name()));
        q.write(&path).unwrap();
        let size_mb = std::fs::metadata(&path).unwrap().len() as f64 / 1e6;
        let stats = q.stats();
        let summary: Vec<String> = stats
            .iter()
            .filter(|(_, s)| s.tensors > 0)
            .map(|(p, s)| {
                format!("{p}: {} tensors, {} params, {:.1} MB", s.tensors, s.parameters, s.bytes as f64 / 1e6)
            })
            .collect();
        eprintln!("{scheme}: {size_mb:.2} MB ({})", summary.join("; "));
        assert!(size_mb <= limit_mb, "{scheme}: {size_mb:.2} MB > {limit_mb} MB");
        assert!(is_quantized_file(&path));

        let back = QuantizedModel::read(&path).unwrap();
        assert_eq!(back.scheme, scheme.name());
        assert_eq!(back.policy, policy);
        assert_eq!(back.precisions(), q.precisions());
        let mut worst = (0f64, String::new());
        for (key, original) in w.iter() {
            let stored = &back.tensors[key];
            assert_eq!(stored, &q.tensors[key], "{scheme}: {key} reads back differently");
            if stored.precision() == Precision::F32 {
                assert_eq!(stored.dequantize(), *original, "{scheme}: f32 tensor {key} changed");
                continue;
            }
            let e = max_error_in_steps(&original.data, stored);
            assert!(e <= 0.5 + 1e-4, "{scheme}: {key} ({}) max error {e:.4} steps > 0.5", stored.precision());
            if e > worst.0 {
                worst = (e, key.to_string());
            }
        }
        eprintln!("{scheme}: worst error {:.4} steps ({})", worst.0, worst.1);
        let map = back.into_weight_map();
        map.check_layout(warble_weights::kokoro_v1_0_layout(), "Kokoro-82M v1.0").unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
}
