//! `cargo xtask clone-eval`: clones voices the method never saw and judges them on sentences it was not fitted on.
//!
//! Targets: the stock voices the prior holds out (`cargo xtask train-speaker --holdout`), blends of two held-out
//! voices (new speakers), and espeak-ng voices (another engine) when `espeak-ng` is installed. Per target: the
//! reference speaks `REFERENCE_TEXT` (~10 s); the clone is fitted on it; then the clone, the true voice (where there
//! is one), every training stock voice and 50/50 blends of the four best stock voices speak `EVAL_TEXT`, and each is
//! scored by GE2E cosine against the reference. Also: seconds per clone and the clone's style distance from the
//! nearest stock voice. The clones' packs are written to `--out` (default `target/clone-eval`) for intelligibility
//! runs: `scripts/whisper_eval/run.py --voice target/clone-eval/<target>.bin --langs en-us`.
//!
//! Usage: `cargo xtask clone-eval [--evaluations N] [--out DIR] [--only a,b] [--no-refit] [--z-cap Z] [--eps-cap E]
//! [--transcript]` with `WARBLE_MODEL_DIR` set (`--no-refit`: `CloneOptions::refit_slope` off, the same-run
//! baseline; the caps default to `CloneOptions`'s; `--transcript`: the clone is given the reference's words,
//! `CloneOptions::transcript`).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use warble_engine::audio::write_atomically;
use warble_engine::{CloneOptions, Engine, EngineOptions, Language, SynthesisOptions};
use warble_speaker::prior::StylePrior;
use warble_speaker::{Audio, cosine, prepare_reference};

use crate::flag;

const REFERENCE_TEXT: &str = "The old lighthouse keeper climbed the stairs each night. He trimmed the wick and \
polished the great lens until it shone. Ships far out at sea would see the beam and know that land was near.";
const EVAL_TEXT: &str = "A quiet wind moved through the tall grass behind the farmhouse. The children ran down to \
the river to look for frogs and smooth stones.";

/// espeak-ng voices used as another engine's speakers.
const ESPEAK_VOICES: &[&str] = &["en-us", "en-us+f3", "en-gb-x-rp+m3"];

struct Target {
    name: String,
    reference: Audio,
    /// A voice spec that is the target itself (Kokoro targets).
    truth: Option<String>,
}

fn speak(engine: &Engine, voice: &str, text: &str) -> Result<Vec<f32>> {
    Ok(engine.synthesize_text(text, Some(Language::EnUs), &SynthesisOptions::new(voice))?.audio)
}

fn espeak(voice: &str, text: &str, wav: &std::path::Path) -> Result<Option<Audio>> {
    let status = std::process::Command::new("espeak-ng").args(["-v", voice, "-w"]).arg(wav).arg(text).status();
    match status {
        Ok(s) if s.success() => Ok(Some(warble_speaker::load_audio(wav)?)),
        Ok(s) => bail!("espeak-ng -v {voice} failed ({s})"),
        Err(_) => Ok(None),
    }
}

pub fn run(args: &[String]) -> Result<()> {
    let evaluations: usize =
        flag(args, "--evaluations").map(|s| s.parse()).transpose()?.unwrap_or(CloneOptions::default().evaluations);
    let out = PathBuf::from(flag(args, "--out").unwrap_or_else(|| "target/clone-eval".into()));
    let no_refit = args.iter().any(|a| a == "--no-refit");
    let transcript = args.iter().any(|a| a == "--transcript").then(|| REFERENCE_TEXT.to_string());
    let defaults = CloneOptions::default();
    let z_cap: f32 = flag(args, "--z-cap").map(|s| s.parse()).transpose()?.unwrap_or(defaults.z_cap);
    let eps_cap: f32 = flag(args, "--eps-cap").map(|s| s.parse()).transpose()?.unwrap_or(defaults.eps_cap);
    let only: Option<Vec<String>> = flag(args, "--only").map(|s| s.split(',').map(String::from).collect());
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let engine = Engine::load(&EngineOptions::default())?;
    let prior = StylePrior::embedded()?;

    let mut targets = Vec::new();
    for h in &prior.held_out {
        targets.push(Target {
            name: h.clone(),
            reference: Audio::from_samples(h.clone(), speak(&engine, h, REFERENCE_TEXT)?, 24_000),
            truth: Some(h.clone()),
        });
    }
    for pair in prior.held_out.chunks(2).take(2) {
        let spec = format!("{}:0.5,{}:0.5", pair[0], pair[1]);
        let name = format!("{}+{}", pair[0], pair[1]);
        targets.push(Target {
            reference: Audio::from_samples(name.clone(), speak(&engine, &spec, REFERENCE_TEXT)?, 24_000),
            name,
            truth: Some(spec),
        });
    }
    for v in ESPEAK_VOICES {
        match espeak(v, REFERENCE_TEXT, &out.join(format!("espeak-{v}.wav")))? {
            Some(audio) => targets.push(Target { name: format!("espeak-ng {v}"), reference: audio, truth: None }),
            None => eprintln!("espeak-ng is not installed: its voices are skipped (apt-get install espeak-ng)"),
        }
    }
    if let Some(only) = &only {
        targets.retain(|t| only.iter().any(|o| t.name.contains(o.as_str())));
    }

    // Every training voice on the evaluation text, once.
    let t0 = Instant::now();
    let stock: Vec<(String, [f32; 256])> = prior
        .names
        .iter()
        .map(|n| Ok((n.clone(), engine.output_embedding(&speak(&engine, n, EVAL_TEXT)?)?)))
        .collect::<Result<_>>()?;
    eprintln!("rendered {} stock voices in {:.0} s", stock.len(), t0.elapsed().as_secs_f64());

    let mut table = String::from(
        "| target | true voice | best stock | best 50/50 blend | clone (held-out text) | clone (fitting text) | s per clone | distance / stock spacing |\n|---|---|---|---|---|---|---|---|\n",
    );
    let mut gains = Vec::new();
    let mut traces: Vec<Vec<f32>> = Vec::new();
    for t in &targets {
        let reference = prepare_reference(&t.reference)?;
        let r = engine.speaker_embedding(&reference.samples)?;
        let score = |audio: &[f32]| -> Result<f32> { Ok(cosine(&engine.output_embedding(audio)?, &r)) };
        let clock = Instant::now();
        let file_name = t.name.replace([' ', '+', ':', ','], "_");
        let mut trace = Vec::new();
        let voice = engine.clone_voice(
            &reference,
            &file_name,
            &CloneOptions {
                evaluations,
                refit_slope: !no_refit,
                z_cap,
                eps_cap,
                transcript: transcript.clone(),
                transcript_language: Some(Language::EnUs),
            },
            &mut |p| trace.push(p.best),
        )?;
        let secs = clock.elapsed().as_secs_f64();
        // How the search's best (fitting text) grows with the renders spent: where it stalls says what more
        // renders would buy.
        let shown: Vec<String> = trace.iter().map(|b| format!("{b:.3}")).collect();
        eprintln!("  {} best after each render: {}", t.name, shown.join(" "));
        traces.push(trace);
        let pack_path = out.join(format!("{file_name}.bin"));
        voice.pack.write_bin(&pack_path)?;
        let clone_audio = speak(&engine, pack_path.to_str().context("output path is not UTF-8")?, EVAL_TEXT)?;
        let clone_sim = score(&clone_audio)?;
        let truth = t.truth.as_ref().map(|spec| score(&speak(&engine, spec, EVAL_TEXT)?)).transpose()?;
        let mut ranked: Vec<(String, f32)> = stock.iter().map(|(n, e)| (n.clone(), cosine(e, &r))).collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        let mut best_blend = (String::new(), f32::NEG_INFINITY);
        for i in 0..4 {
            for j in i + 1..4 {
                let spec = format!("{}:0.5,{}:0.5", ranked[i].0, ranked[j].0);
                let s = score(&speak(&engine, &spec, EVAL_TEXT)?)?;
                if s > best_blend.1 {
                    best_blend = (spec, s);
                }
            }
        }
        gains.push(clone_sim - ranked[0].1);
        let row = format!(
            "| {} | {} | {} {:.3} | {} {:.3} | **{:.3}** | {:.3} | {:.0} | {:.2} |\n",
            t.name,
            truth.map_or("—".into(), |s| format!("{s:.3}")),
            ranked[0].0,
            ranked[0].1,
            best_blend.0,
            best_blend.1,
            clone_sim,
            voice.similarity,
            secs,
            voice.nearest_voice.1 / voice.stock_spacing,
        );
        eprint!("{row}");
        table.push_str(&row);
    }
    let mean_gain = gains.iter().sum::<f32>() / gains.len().max(1) as f32;
    let _ = writeln!(
        table,
        "\nmean gain of the clone over the best stock voice: {mean_gain:+.3} ({evaluations} evaluations per clone)"
    );
    for k in [8, 12, 16, 20, 24, 32].into_iter().filter(|&k| k <= evaluations) {
        // Every trace holds `evaluations` renders (the filter keeps k within them).
        let at_k: Vec<f32> = traces.iter().filter_map(|t| t.get(k - 1).copied()).collect();
        let at_k = at_k.iter().sum::<f32>() / at_k.len().max(1) as f32;
        let _ = writeln!(table, "mean best (fitting text) after {k} renders: {at_k:.3}");
    }
    let summary = out.join("summary.md");
    write_atomically(&summary, table.as_bytes()).with_context(|| format!("writing {}", summary.display()))?;
    println!("{table}");
    Ok(())
}
