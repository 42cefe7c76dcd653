//! End-to-end synthesis of the golden cases c07 (106 tokens, 7.05 s of audio) and c11 (421 tokens, 25.7 s),
//! noise off. Needs `WARBLE_MODEL_DIR`; the golden folder is `$WARBLE_MODEL_DIR/../golden` unless
//! `WARBLE_GOLDEN_DIR` says otherwise. Real-time factor = audio seconds / reported time.

use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use warble_engine::{Engine, EngineOptions, SourceNoise, SynthesisOptions};

fn synthesis(c: &mut Criterion) {
    let model_dir = PathBuf::from(std::env::var_os("WARBLE_MODEL_DIR").expect("set WARBLE_MODEL_DIR"));
    let golden =
        std::env::var_os("WARBLE_GOLDEN_DIR").map(PathBuf::from).unwrap_or_else(|| model_dir.join("..").join("golden"));
    let engine = Engine::load(&EngineOptions { model: Some(model_dir), ..Default::default() }).expect("load engine");
    let mut group = c.benchmark_group("synthesis");
    group.sample_size(10).measurement_time(Duration::from_secs(30));
    for case in ["c07_en_100", "c11_en_400"] {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(golden.join(case).join("case.json")).unwrap()).unwrap();
        let phonemes = v["phonemes"].as_str().unwrap().to_string();
        let mut opts = SynthesisOptions::new(v["voice"].as_str().unwrap());
        opts.speed = v["speed"].as_f64().unwrap() as f32;
        opts.noise = SourceNoise::Off;
        // Throughput in audio milliseconds, so criterion's "elem/s" reads as ms of audio per second.
        let audio_ms = (v["audio_seconds_f32"].as_f64().unwrap() * 1000.0) as u64;
        group.throughput(Throughput::Elements(audio_ms));
        group.bench_function(case, |b| b.iter(|| engine.synthesize_phonemes(&phonemes, &opts).unwrap()));
    }
    group.finish();
}

criterion_group!(benches, synthesis);
criterion_main!(benches);
