//! Loading a quantized model file (`warble quantize`): the engine reads it through warble-quant, reports the
//! scheme and each weight's precision, and speaks close to the f32 model.

mod common;

use std::path::PathBuf;

use common::*;
use warble_engine::quant::{Precision, QuantizedModel, Scheme};
use warble_engine::{Engine, EngineError, EngineOptions, SourceNoise, SynthesisOptions};

const PHONEMES: &str = "hˈɛloʊ, ðɪs ɪz ɐ tˈɛst ʌv ðə kwˈɑntᵻzd mˈɑdəl.";

fn quiet() -> SynthesisOptions {
    let mut o = SynthesisOptions::new("af_heart");
    o.noise = SourceNoise::Off;
    o
}

/// Per-frame (600-sample) RMS, the loudness envelope.
fn envelope(audio: &[f32]) -> Vec<f64> {
    audio.chunks(600).map(|c| (c.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / c.len() as f64).sqrt()).collect()
}

fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let (ma, mb) = (a.iter().sum::<f64>() / n as f64, b.iter().sum::<f64>() / n as f64);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

#[test]
fn quantized_files_load_report_their_precisions_and_speak() {
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("warble-converted");
    let (weights, _) = warble_weights::load_cached(&model_dir().join("kokoro-v1.0.int8.onnx"), &cache).unwrap();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("engine-quantized-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();

    let reference = engine();
    assert!(reference.weight_precisions().is_none(), "a float checkpoint has no stored precisions");
    assert_eq!(reference.load_report().quant_scheme, None);
    let f32_out = reference.synthesize_phonemes(PHONEMES, &quiet()).unwrap();
    let f32_frames: usize = f32_out.chunks.iter().flat_map(|c| &c.durations).sum();

    for (scheme, big) in [(Scheme::Int8, Precision::Int8), (Scheme::Int4Mixed, Precision::Int4)] {
        let file = dir.join(format!("kokoro-{scheme}.safetensors"));
        QuantizedModel::quantize(&weights, &scheme.policy().unwrap(), scheme.name(), scheme.name())
            .unwrap()
            .write(&file)
            .unwrap();
        let e = Engine::load(&EngineOptions {
            model: Some(file.clone()),
            voices: Some(model_dir().join("voices")),
            cache_dir: Some(dir.join("cache")),
            ..Default::default()
        })
        .unwrap();
        assert!(!dir.join("cache").exists(), "a quantized file bypasses the converted-weights cache");
        let report = e.load_report();
        assert_eq!(report.quant_scheme.as_deref(), Some(scheme.name()));
        assert!(!report.weights_cached);
        let p = e.weight_precisions().expect("precisions of a quantized model");
        assert_eq!(p.len(), weights.len());
        assert_eq!(p["decoder.decode.0.conv1.weight"], big);
        assert_eq!(p["decoder.generator.resblocks.0.convs1.0.weight"], Precision::Int8);
        assert_eq!(p["decoder.generator.conv_post.weight"], Precision::F32);

        let out = e.synthesize_phonemes(PHONEMES, &quiet()).unwrap();
        let frames: usize = out.chunks.iter().flat_map(|c| &c.durations).sum();
        let r = correlation(&envelope(&f32_out.audio), &envelope(&out.audio));
        eprintln!("{scheme}: {frames} frames (f32 {f32_frames}), loudness-envelope correlation with f32 {r:.4}");
        assert!(out.audio.iter().all(|x| x.is_finite()));
        assert!(frames.abs_diff(f32_frames) * 10 <= f32_frames, "{scheme}: {frames} frames vs f32 {f32_frames}");
        assert!(r > 0.8, "{scheme}: envelope correlation {r:.3} with the f32 output");
    }

    // a damaged quantized file is an engine error that names the file and says it is truncated
    let bytes = std::fs::read(dir.join("kokoro-int8.safetensors")).unwrap();
    let cut = dir.join("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let loaded = Engine::load(&EngineOptions {
        model: Some(cut),
        voices: Some(model_dir().join("voices")),
        cache_dir: Some(dir.join("cache")),
        ..Default::default()
    });
    let Err(err) = loaded else { panic!("a truncated file must not load") };
    assert!(matches!(err, EngineError::Quant(_)), "{err}");
    assert!(err.to_string().contains("cut.safetensors") && err.to_string().contains("truncated"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
