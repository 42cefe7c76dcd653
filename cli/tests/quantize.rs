//! `warble quantize`: the real weights (`WARBLE_MODEL_DIR`) to an INT8 file that `warble say --model` speaks
//! with, and bad policies, outputs and sources refused with messages that name the problem, leaving no file.

use std::path::Path;
use std::process::Output;

mod common;

use common::{files_in, scratch, stderr, warble};

/// Asserts a failed run: non-zero exit, every needle in stderr, no panic.
fn assert_fails(o: &Output, what: &str, needles: &[&str]) {
    let e = stderr(o);
    assert!(!o.status.success(), "{what} should fail; stderr: {e}");
    assert!(!e.contains("panicked"), "{what}: {e}");
    for n in needles {
        assert!(e.contains(n), "{what}: stderr lacks {n:?}: {e}");
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn quantize_int8_then_say_with_it() {
    common::model_dir();
    let dir = scratch("int8");
    let model = dir.join("kokoro-int8.safetensors");
    let o = warble(&["quantize", "--scheme", "int8", "-o", s(&model)]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "quantize failed: {}", stderr(&o));
    assert!(out.contains("scheme int8") && out.contains("int8") && out.contains("MB"), "{out}");
    let size = std::fs::metadata(&model).unwrap().len();
    assert!(size <= 95_000_000, "int8 file is {size} bytes");
    assert_eq!(files_in(&dir), vec!["kokoro-int8.safetensors"], "no temporary file left");

    let wav = dir.join("hello.wav");
    let o = warble(&["say", "--model", s(&model), "Hello from the quantized model.", "-o", s(&wav)]);
    assert!(o.status.success(), "say with the int8 model failed: {}", stderr(&o));
    let reader = hound::WavReader::open(&wav).unwrap();
    assert_eq!(reader.spec().sample_rate, 24_000);
    let samples: Vec<i16> = reader.into_samples::<i16>().map(Result::unwrap).collect();
    assert!(samples.len() > 24_000, "{} samples: under a second for a sentence", samples.len());
    let rms = (samples.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / samples.len() as f64).sqrt();
    assert!(rms > 300.0, "the speech is (nearly) silent: RMS {rms:.0}");

    // a quantized file is not quantized again
    let again = dir.join("again.safetensors");
    let o = warble(&["quantize", "--model", s(&model), "--scheme", "int4-mixed", "-o", s(&again)]);
    assert_fails(&o, "re-quantizing", &["already a quantized model"]);
    assert!(!again.exists());
}

#[test]
fn bad_policies_and_outputs_are_clear_errors() {
    common::model_dir();
    let dir = scratch("bad-policy");
    let out = dir.join("out.safetensors");
    let policy = |name: &str, json: &str| {
        let p = dir.join(name);
        std::fs::write(&p, json).unwrap();
        p
    };

    let typo = policy(
        "typo.json",
        r#"{"rules": [{"pattern": "decoder.generator.resblock.*.convs1.*.weight", "precision": "int8"}]}"#,
    );
    let o = warble(&["quantize", "--policy", s(&typo), "-o", s(&out)]);
    assert_fails(
        &o,
        "a pattern matching nothing",
        &[
            "typo.json",
            "decoder.generator.resblock.*.convs1.*.weight",
            "matches no weight",
            "nearest keys",
            "decoder.generator.resblocks.",
        ],
    );

    let syntax = policy("syntax.json", "{\"rules\": [\n  {\"pattern\": \"*.weight\",, \"precision\": \"int8\"}\n]}");
    let o = warble(&["quantize", "--policy", s(&syntax), "-o", s(&out)]);
    assert_fails(&o, "bad JSON", &["syntax.json", "line 2", "column"]);

    let precision = policy("precision.json", r#"{"rules": [{"pattern": "*.weight", "precision": "int3"}]}"#);
    let o = warble(&["quantize", "--policy", s(&precision), "-o", s(&out)]);
    assert_fails(&o, "unknown precision", &["unknown precision \"int3\"", "int8", "int4"]);

    let vector = policy("vector.json", r#"{"rules": [{"pattern": "*.bias", "precision": "int8"}]}"#);
    let o = warble(&["quantize", "--policy", s(&vector), "-o", s(&out)]);
    assert_fails(&o, "a quantized bias", &["1-D", ".bias", "f32"]);

    let o = warble(&["quantize", "--policy", s(&dir.join("absent.json")), "-o", s(&out)]);
    assert_fails(&o, "a missing policy file", &["absent.json"]);

    let o = warble(&["quantize", "--scheme", "int8", "-o", s(&dir.join("out.onnx"))]);
    assert_fails(&o, "a non-safetensors output", &[".safetensors"]);

    let o = warble(&["quantize", "--scheme", "int8", "-o", s(&dir.join("no-such-folder").join("x.safetensors"))]);
    assert_fails(&o, "a missing output folder", &["no-such-folder", "does not exist"]);

    let o = warble(&["quantize", "-o", s(&out)]);
    assert_fails(&o, "neither scheme nor policy", &["--scheme", "--policy"]);

    let o = warble(&["quantize", "--scheme", "int3", "-o", s(&out)]);
    assert_fails(&o, "an unknown scheme", &["int3"]);

    let files = files_in(&dir);
    assert!(files.iter().all(|f| f.ends_with(".json")), "only the policies remain: {files:?}");
}
