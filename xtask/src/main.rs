//! `cargo xtask bench`: synthesizes the golden cases c07 (106 tokens) and c11 (421 tokens) and reports the
//! real-time factor, time per stage, peak memory and model load time (cold: conversion from ONNX; warm: from
//! the converted cache).
//!
//! Usage: `cargo xtask bench [--runs N] [--golden DIR] [--backend cpu|wgpu] [--generator burn|host|int8] [--matmuls f32] [--out DIR]` with `WARBLE_MODEL_DIR` set.
//! `--stream [--long-seconds S]`: streaming latency, lead over playback and throughput instead (`stream.rs`).
//! `--out DIR` writes each case's audio (`<case>.f32`, raw little-endian f32 at 24 kHz) and durations
//! (`<case>.json`), so two backends' outputs can be compared sample by sample.
//!
//! `cargo xtask loadtest [--clients N] [--seconds S] [--first-byte-runs N] [--port P]`: the speech server under
//! load, in-process on 127.0.0.1 (`loadtest.rs`).
//!
//! `cargo xtask quant-report [--cases a,b] [--out FILE]`: each layer group's INT8/INT4 sensitivity (`quant_report.rs`).
//!
//! `cargo xtask train-g2p [--data FILE] [--epochs N] [--out FILE] [--resume WEIGHTS] [--lr PEAK]`: trains the learnt reader of unknown English
//! words (`g2p_train.rs`).

mod clone_eval;
mod g2p_train;
mod loadtest;
mod quant_report;
mod rng;
mod speaker;
mod stream;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use warble_engine::{Backend, Engine, EngineOptions, SourceNoise, StageTimes, SynthesisOptions};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("bench") => bench(&args[1..]),
        Some("loadtest") => loadtest::run(&args[1..]),
        Some("train-speaker") => speaker::run(&args[1..]),
        Some("clone-eval") => clone_eval::run(&args[1..]),
        Some("quant-report") => quant_report::run(&args[1..]),
        Some("train-g2p") => g2p_train::run(&args[1..]),
        _ => bail!(
            "usage: cargo xtask bench [--runs N] [--golden DIR] [--backend cpu|wgpu] [--generator burn|host|int8] [--matmuls f32] [--out DIR]\n       \
             cargo xtask bench --stream [--runs N] [--long-seconds S]\n       {}\n       {}\n       {}",
            loadtest::USAGE,
            quant_report::USAGE,
            g2p_train::USAGE
        ),
    }
}

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

/// A `/proc/self/status` field in KiB (`"VmHWM:"`: peak resident memory, `"VmRSS:"`: resident now).
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn peak_rss_mib() -> Option<f64> {
    status_kib("VmHWM:").map(|k| k as f64 / 1024.0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The `p`-quantile (0..=1) of sorted durations, nearest rank; zero for none.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn bench(args: &[String]) -> Result<()> {
    let runs: usize = flag(args, "--runs").map(|r| r.parse()).transpose()?.unwrap_or(5);
    let backend = Backend::parse(&flag(args, "--backend").unwrap_or_else(|| "cpu".into()))?;
    let model_dir = std::env::var_os("WARBLE_MODEL_DIR")
        .map(PathBuf::from)
        .context("set WARBLE_MODEL_DIR to the folder with kokoro-v1.0.int8.onnx and voices/")?;
    let golden = flag(args, "--golden").map(PathBuf::from).unwrap_or_else(|| model_dir.join("..").join("golden"));
    let out = flag(args, "--out").map(PathBuf::from);
    if let Some(out) = &out {
        std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    }

    // Cold load converts the ONNX file into a fresh cache; warm load reads that cache.
    let cache = std::env::temp_dir().join(format!("warble-bench-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache);
    let opts = EngineOptions { model: Some(model_dir.clone()), voices: None, backend, cache_dir: Some(cache.clone()) };
    let t = Instant::now();
    let cold = Engine::load(&opts)?;
    let cold_total = t.elapsed();
    let cold_report = cold.load_report().clone();
    drop(cold);
    let t = Instant::now();
    let mut engine = Engine::load(&opts)?;
    let warm_total = t.elapsed();
    // `--generator burn`: the generator's residual stacks in Burn tensor operations instead of the CPU kernels
    // (the baseline for the kernels' speed-up, measured in the same session).
    let generator = flag(args, "--generator").unwrap_or_else(|| "default".into());
    match generator.as_str() {
        "default" => {}
        "burn" => engine.set_cpu_kernels(false),
        "host" => engine.set_cpu_kernels(true),
        "int8" => engine.set_int8_generator(),
        other => bail!("--generator takes burn, host or int8, not {other}"),
    }
    // `--matmuls f32`: a quantized file's ALBERT, `bert_encoder` and LSTM input projections in f32 instead of BF16
    // (the baseline for the BF16 kernel, same run).
    let matmuls = flag(args, "--matmuls").unwrap_or_else(|| "default".into());
    match matmuls.as_str() {
        "default" => {}
        "f32" => engine.set_f32_matmuls(),
        other => bail!("--matmuls takes f32 (or nothing: BF16 where a quantized file and the CPU allow), not {other}"),
    }
    let bf16 = engine.bf16_layers().len();
    let warm_report = engine.load_report().clone();
    let _ = std::fs::remove_dir_all(&cache);
    if args.iter().any(|a| a == "--stream") {
        let long: f64 = flag(args, "--long-seconds").map(|r| r.parse()).transpose()?.unwrap_or(300.0);
        return stream::run(&engine, runs, long);
    }

    println!(
        "# Warble benchmark ({backend:?}, generator kernels: {generator}, {bf16} matrix products in BF16, {runs} timed \
         runs after one warm-up)\n"
    );
    println!(
        "machine: {}, {} threads available\n",
        cpu_name(),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    println!("| load | weights | build model | total |");
    println!("|---|---|---|---|");
    println!(
        "| cold (convert {}) | {:.0} ms | {:.0} ms | {:.0} ms |",
        cold_report.model_file.file_name().unwrap_or_default().to_string_lossy(),
        ms(cold_report.weights_time),
        ms(cold_report.build_time),
        ms(cold_total)
    );
    println!(
        "| warm (cache hit: {}) | {:.0} ms | {:.0} ms | {:.0} ms |\n",
        warm_report.weights_cached,
        ms(warm_report.weights_time),
        ms(warm_report.build_time),
        ms(warm_total)
    );

    println!(
        "| case | tokens | audio s | median wall s | real-time factor (audio s / wall s) | ALBERT ms | predictor ms | text enc ms | decoder ms | source ms | generator ms | iSTFT ms |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for case in ["c07_en_100", "c11_en_400"] {
        let dir = golden.join(case);
        let (phonemes, voice, speed) = case_info(&dir)?;
        let mut o = SynthesisOptions::new(voice);
        o.speed = speed;
        o.noise = SourceNoise::Off;
        let first = engine.synthesize_phonemes(&phonemes, &o)?; // warm-up
        if let Some(out) = &out {
            let bytes: Vec<u8> = first.audio.iter().flat_map(|v| v.to_le_bytes()).collect();
            std::fs::write(out.join(format!("{case}.f32")), bytes)?;
            let durations: Vec<&Vec<usize>> = first.chunks.iter().map(|c| &c.durations).collect();
            std::fs::write(
                out.join(format!("{case}.json")),
                serde_json::json!({ "durations": durations }).to_string(),
            )?;
        }
        let mut walls = Vec::new();
        let mut stage_sum = StageTimes::default();
        let mut seconds = 0.0;
        for _ in 0..runs {
            let t = Instant::now();
            let s = engine.synthesize_phonemes(&phonemes, &o)?;
            walls.push(t.elapsed());
            stage_sum.add(&s.times);
            seconds = s.seconds();
        }
        walls.sort();
        let median = walls[walls.len() / 2];
        let n = runs as f64;
        println!(
            "| {case} | {} | {seconds:.2} | {:.3} | {:.2}× | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} |",
            phonemes.chars().count(),
            median.as_secs_f64(),
            seconds / median.as_secs_f64(),
            ms(stage_sum.albert) / n,
            ms(stage_sum.predictor) / n,
            ms(stage_sum.text_encoder) / n,
            ms(stage_sum.decoder) / n,
            ms(stage_sum.source) / n,
            ms(stage_sum.generator) / n,
            ms(stage_sum.istft) / n,
        );
    }
    if let Some(peak) = peak_rss_mib() {
        println!("\npeak resident memory (VmHWM): {peak:.0} MiB");
    }
    Ok(())
}

fn case_info(dir: &Path) -> Result<(String, String, f32)> {
    let text = std::fs::read_to_string(dir.join("case.json"))
        .with_context(|| format!("reading {}/case.json", dir.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text)?;
    Ok((
        v["phonemes"].as_str().context("phonemes")?.to_string(),
        v["voice"].as_str().context("voice")?.to_string(),
        v["speed"].as_f64().context("speed")? as f32,
    ))
}

fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}
