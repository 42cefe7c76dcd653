//! Loading a quantized model file (`warble quantize`): the engine reads it through warble-quant, reports the
//! scheme and each weight's precision, and speaks close to the f32 model.

mod common;

use std::path::PathBuf;

use common::*;
use warble_engine::quant::{Precision, QuantizedModel, Scheme};
use warble_engine::{CallOptions, Engine, EngineError, EngineOptions, SourceNoise, SynthesisOptions};

const PHONEMES: &str = "hˈɛloʊ, ðɪs ɪz ɐ tˈɛst ʌv ðə kwˈɑntᵻzd mˈɑdəl.";

fn quiet() -> SynthesisOptions {
    let mut o = SynthesisOptions::new("af_heart");
    o.noise = SourceNoise::Off;
    o
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
    // The quality measure on a golden case: durations identical, token-paired log-spectrogram
    // correlation with the f32 model (source noise off on both).
    let golden = info(&case("c07_en_100"));
    let ids = &golden.input_ids[1..golden.input_ids.len() - 1];
    let f32_out = reference.model().synthesize(ids, &golden.style, golden.speed, SourceNoise::Off);

    // Limits a little under the measured values (c07: int8 0.9864, int4-mixed 0.9784; the issue asks ≥ 0.98 and
    // ≥ 0.96).
    for (scheme, big, min_corr) in [(Scheme::Int8, Precision::Int8, 0.982), (Scheme::Int4Mixed, Precision::Int4, 0.97)]
    {
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

        // The generator's residual stacks stored in INT8 run on the INT8 kernel.
        // Where the CPU has no SIMD integer kernel the INT8 layers compute in f32 (faster there).
        assert_eq!(
            e.uses_int8_kernels(),
            warble_acoustic::nn::host_int8(e.model().device()),
            "{scheme}: the INT8 convolutions are in use exactly where a SIMD kernel runs them"
        );
        // The predictor's N branch stored INT8 (int8; INT4 in int4-mixed) runs on the INT8 kernel in every call.
        assert_eq!(
            e.model().int8_energy,
            scheme == Scheme::Int8 && warble_acoustic::nn::host_int8(e.model().device()),
            "{scheme}: the N branch's INT8 copies in every call"
        );
        // ALBERT's layers, `bert_encoder` and the LSTM input projections stored below f32 compute in BF16 where
        // the CPU has AVX-512 BF16: in int8, all but ALBERT's four attention projections (kept f32 by the policy).
        let bf16 = e.bf16_layers();
        if warble_acoustic::nn::host_bf16(e.model().device()) {
            let attention = bf16.iter().filter(|k| k.contains(".attention.")).count();
            let expected_attention = if scheme == Scheme::Int8 { 0 } else { 4 };
            assert_eq!(attention, expected_attention, "{scheme}: {bf16:?}");
            assert_eq!(bf16.len(), 10 + expected_attention, "{scheme}: {bf16:?}");
            assert!(bf16.iter().any(|k| k == "predictor.shared") && bf16.iter().any(|k| k == "bert_encoder"));
        } else {
            assert!(bf16.is_empty(), "BF16 copies only where the CPU runs them: {bf16:?}");
        }
        let out = e.model().synthesize(ids, &golden.style, golden.speed, SourceNoise::Off);
        let same = out.durations.iter().zip(&f32_out.durations).filter(|(a, b)| a == b).count();
        let same = same as f64 / f32_out.durations.len() as f64;
        let corr = paired_spectral_correlation(&out.audio, &out.durations, &f32_out.audio, &f32_out.durations);
        eprintln!(
            "{scheme} c07: durations identical {:.1} %, log-spectrogram correlation with f32 {corr:.4}",
            100.0 * same
        );
        assert!(out.audio.iter().all(|x| x.is_finite()));
        assert!(same >= 0.95, "{scheme}: durations identical at {:.1} % of tokens", 100.0 * same);
        assert!(corr >= min_corr, "{scheme}: log-spectrogram correlation {corr:.4} < {min_corr}");
        // and the text path speaks through it
        assert!(!e.synthesize_phonemes(PHONEMES, &quiet()).unwrap().audio.is_empty());
    }
    assert!(!reference.uses_int8_kernels(), "a float model computes in f32");
    assert!(reference.bf16_layers().is_empty(), "a float model computes in f32");

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

/// A stream's first call runs ALBERT on the INT8 kernel (`WindowPolicy::int8_first_call_albert`): on every golden case
/// (English and Japanese, 4 to 480 symbols) the durations it predicts stay those of f32 ALBERT at nearly every
/// position and the total length within a frame or two, so the first call's pace is the model's.
#[test]
fn int8_albert_keeps_the_durations() {
    let model = model();
    if !warble_acoustic::nn::host_int8(model.device()) {
        assert!(model.acoustic.bert.layer.ffn.int8.is_none(), "INT8 copies exist only where a SIMD kernel runs them");
        return;
    }
    let (mut same, mut all, mut worst) = (0usize, 0usize, 0.0f64);
    for path in cases() {
        let golden = info(&path);
        let ids = &golden.input_ids[1..golden.input_ids.len() - 1];
        let run = |int8_albert| {
            let call = CallOptions { int8_albert, int8_curves: false, context: 0 };
            model.prepare_with(ids, &golden.style, golden.speed, SourceNoise::Off, None, call).durations
        };
        let (f, q) = (run(false), run(true));
        same += f.iter().zip(&q).filter(|(a, b)| a == b).count();
        all += f.len();
        let (ff, fq) = (f.iter().sum::<usize>() as f64, q.iter().sum::<usize>() as f64);
        let rel = (fq / ff - 1.0).abs();
        worst = worst.max(rel);
        eprintln!(
            "{}: {} of {} durations identical, frames {ff} → {fq}",
            path.display(),
            f.iter().zip(&q).filter(|(a, b)| a == b).count(),
            f.len()
        );
    }
    let share = same as f64 / all as f64;
    eprintln!("INT8 ALBERT: durations identical {:.2} %, worst length change {:.2} %", 100.0 * share, 100.0 * worst);
    assert!(share >= 0.985, "durations identical at {:.1} % of positions", 100.0 * share);
    assert!(worst <= 0.015, "length changed by {:.1} %", 100.0 * worst);
}

/// A stream's first call runs the prosody predictor's F0 and N convolutions on the INT8 kernel
/// (`WindowPolicy::int8_first_call`): on every golden case the pitch curve stays that of the f32 predictor
/// (voicing the same, pitch within a few cents where voiced) and the durations are untouched.
#[test]
fn int8_curves_keep_the_pitch() {
    let model = model();
    if !warble_acoustic::nn::host_int8(model.device()) {
        assert!(model.acoustic.predictor.f0.blocks[0].conv1.int8.is_none(), "INT8 copies only with a SIMD kernel");
        return;
    }
    let (mut voiced, mut same_voicing, mut all, mut cents) = (0usize, 0usize, 0usize, Vec::new());
    for path in cases() {
        let golden = info(&path);
        let ids = &golden.input_ids[1..golden.input_ids.len() - 1];
        let run = |int8_curves| {
            let call = CallOptions { int8_albert: false, int8_curves, context: 0 };
            model.prepare_with(ids, &golden.style, golden.speed, SourceNoise::Off, None, call)
        };
        let (f, q) = (run(false), run(true));
        assert_eq!(f.durations, q.durations, "{}: the F0 and N convolutions do not move durations", path.display());
        all += f.f0.len();
        for (&a, &b) in f.f0.iter().zip(&q.f0) {
            // Kokoro's F0 is near 0 in unvoiced stretches; 40 Hz separates them.
            same_voicing += usize::from((a > 40.0) == (b > 40.0));
            if a > 40.0 && b > 40.0 {
                voiced += 1;
                cents.push((1200.0 * (b / a).log2()).abs());
            }
        }
    }
    cents.sort_by(f32::total_cmp);
    let (median, p95) = (cents[cents.len() / 2], cents[cents.len() * 95 / 100]);
    let voicing = same_voicing as f64 / all as f64;
    eprintln!(
        "INT8 F0/N: voicing agrees at {:.2} % of {all} points; {voiced} voiced: |Δ| median {median:.1} cents, p95 {p95:.1}",
        100.0 * voicing
    );
    assert!(voicing >= 0.995, "voicing agrees at {:.2} %", 100.0 * voicing);
    assert!(median <= 2.0 && p95 <= 8.0, "pitch off by {median:.1} cents (median), {p95:.1} (p95)");
}
