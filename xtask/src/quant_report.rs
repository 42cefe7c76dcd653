//! `cargo xtask quant-report`: how sensitive each layer group of Kokoro-82M is to INT8 and INT4 (issue 14).
//!
//! The f32 weights are loaded once (`warble_weights::load_cached`) and the f32 model renders the golden English
//! cases (source noise off) once. Then, for each layer group × {int8, int4}, a policy quantizes only that group
//! (the built-in policies' f32 rules first, everything outside the group f32); the file is written with
//! warble-quant's writer to a temporary folder, loaded by [`Engine::load`] (so the generator's residual stacks
//! stored INT8 run on the INT8 kernel, activations included, exactly as in use) and deleted again. The same cases
//! are rendered and compared with the f32 output: the fraction of token durations (pads included) that are
//! identical, and the token-paired log-spectrogram correlation — frames are paired token by token, `min(a, b)`
//! frames of each token, so a one-frame duration flip does not shift the rest of the comparison; each paired
//! 600-sample frame is a 1024-point Hann-windowed log spectrum — pooled over all cases and for the worst case. The
//! three built-in policies (int8, int4-mixed, bf16) are measured whole. Only what a row can change is rendered
//! again: a group of decoder weights cannot change the durations, F0, energy or the harmonic source, so its rows
//! reuse the f32 model's prepared inputs, and a group inside the generator also reuses the f32 decoder's output.
//!
//! Usage: `cargo xtask quant-report [--cases c01,c07 | --cases en] [--golden DIR] [--rows resblocks,int4-mixed]
//! [--precisions int8,int4] [--policy FILE].. [--out FILE]` with `WARBLE_MODEL_DIR` set. The default cases are the four short
//! English ones (20 s of audio: 37 rows in ~6–12 min on 2 cores); `--cases en` takes all six English cases
//! (57 s of audio, ~3× as long). `--rows` keeps the rows whose name contains one of the given pieces (`--rows
//! none` keeps none); each `--policy FILE` adds a row for that policy file, measured whole.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use warble_engine::audio::write_atomically;
use warble_engine::quant::{Policy, Precision, QuantizedModel, Rule, Scheme, glob_match};
use warble_engine::{Backend, Engine, EngineOptions, KokoroModel, Prepared, SAMPLES_PER_FRAME, SourceNoise};
use warble_weights::WeightMap;

use crate::flag;

pub const USAGE: &str = "cargo xtask quant-report [--cases c01,c07] [--golden DIR] [--rows NAME,..] \
                         [--precisions int8,int4] [--policy FILE].. [--out FILE]";

/// The short English golden cases (c01, c03, c05, c07): 248 tokens, 20 s of audio.
const DEFAULT_CASES: &[&str] = &["c01_en_tiny", "c03_en_sentence", "c05_en_punct", "c07_en_100"];
/// `--cases en`: every English golden case, 57 s of audio (the Japanese ones exercise the same layers).
const ENGLISH_CASES: &[&str] =
    &["c01_en_tiny", "c03_en_sentence", "c05_en_punct", "c07_en_100", "c09_en_200", "c11_en_400"];

/// A layer group: a name and the key prefixes (globs, `*` appended) it covers.
struct Group {
    name: &'static str,
    prefixes: &'static [&'static str],
}

const GROUPS: &[Group] = &[
    Group { name: "ALBERT (bert.*)", prefixes: &["bert."] },
    Group { name: "bert_encoder", prefixes: &["bert_encoder."] },
    Group { name: "text_encoder (CNN + LSTM)", prefixes: &["text_encoder."] },
    Group { name: "predictor.text_encoder", prefixes: &["predictor.text_encoder."] },
    Group { name: "predictor.lstm", prefixes: &["predictor.lstm."] },
    Group { name: "predictor.duration_proj", prefixes: &["predictor.duration_proj."] },
    Group { name: "predictor.shared", prefixes: &["predictor.shared."] },
    Group {
        name: "predictor F0/N + proj",
        prefixes: &["predictor.F0.", "predictor.N.", "predictor.F0_proj.", "predictor.N_proj."],
    },
    Group {
        name: "decoder encode/decode/asr_res/F0_conv/N_conv",
        prefixes: &["decoder.encode.", "decoder.decode.", "decoder.asr_res.", "decoder.F0_conv.", "decoder.N_conv."],
    },
    Group { name: "decoder.generator.ups", prefixes: &["decoder.generator.ups."] },
    Group { name: "decoder.generator.noise_res", prefixes: &["decoder.generator.noise_res."] },
    Group { name: "decoder.generator.resblocks.0", prefixes: &["decoder.generator.resblocks.0."] },
    Group { name: "decoder.generator.resblocks.1", prefixes: &["decoder.generator.resblocks.1."] },
    Group { name: "decoder.generator.resblocks.2", prefixes: &["decoder.generator.resblocks.2."] },
    Group { name: "decoder.generator.resblocks.3", prefixes: &["decoder.generator.resblocks.3."] },
    Group { name: "decoder.generator.resblocks.4", prefixes: &["decoder.generator.resblocks.4."] },
    Group { name: "decoder.generator.resblocks.5", prefixes: &["decoder.generator.resblocks.5."] },
];

impl Group {
    /// How much of the f32 model's computation this group leaves unchanged.
    fn reuse(&self) -> Reuse {
        if self.prefixes.iter().all(|p| p.starts_with("decoder.generator.")) {
            Reuse::DecoderOutput
        } else if self.prefixes.iter().all(|p| p.starts_with("decoder.")) {
            Reuse::Prepared
        } else {
            Reuse::Nothing
        }
    }

    /// The built-in policies' f32 rules (embeddings, norms, the harmonic source, ...), then this group's weight
    /// matrices (`*.weight`, LSTM `*.weight_?h_l0*`) in `precision`; rules that match no key are left out.
    fn policy(&self, precision: Precision, keys: &[&str]) -> Policy {
        let mut rules = keep_f32_rules();
        for prefix in self.prefixes {
            for suffix in ["*.weight", "*.weight_?h_l0*"] {
                // `bert_encoder.weight` has no `.` between prefix and `weight`.
                for pattern in
                    [format!("{prefix}{suffix}"), format!("{}{}", prefix.trim_end_matches('.'), &suffix[1..])]
                {
                    if keys.iter().any(|k| glob_match(&pattern, k)) && !rules.iter().any(|r| r.pattern == pattern) {
                        rules.push(Rule { pattern, precision });
                    }
                }
            }
        }
        Policy { rules }
    }
}

/// The leading f32 rules every built-in policy starts with.
fn keep_f32_rules() -> Vec<Rule> {
    Scheme::Int8.policy().expect("built-in").rules.into_iter().take_while(|r| r.precision == Precision::F32).collect()
}

/// What a row may take from the f32 reference instead of computing it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reuse {
    /// Synthesize from the token ids.
    Nothing,
    /// Durations, F0, energy, the aligned text encoding and the harmonic source (`KokoroModel::prepare`).
    Prepared,
    /// Those and the decoder's output: only the generator runs.
    DecoderOutput,
}

struct Case {
    name: String,
    token_ids: Vec<i64>,
    style: Vec<f32>,
    speed: f32,
}

/// One case's output: durations per input position (pads included) and audio.
struct Render {
    durations: Vec<usize>,
    audio: Vec<f32>,
}

/// The f32 reference of one case: its output, prepared inputs (without and with the decoder's output) and the
/// log spectrum of every frame.
struct Reference {
    render: Render,
    prepared: Prepared,
    decoded: Prepared,
    spectra: Vec<Vec<f32>>,
}

/// One row's measurement against the f32 reference.
#[derive(Debug, Clone)]
struct Measure {
    durations_identical: f64,
    pooled: f64,
    worst: f64,
    worst_case: String,
    file_bytes: u64,
    quantized_params: usize,
}

pub fn run(args: &[String]) -> Result<()> {
    let model_dir = std::env::var_os("WARBLE_MODEL_DIR")
        .map(PathBuf::from)
        .context("set WARBLE_MODEL_DIR to the folder with kokoro-v1.0.int8.onnx and voices/")?;
    let golden = flag(args, "--golden").map(PathBuf::from).unwrap_or_else(|| model_dir.join("..").join("golden"));
    let out = flag(args, "--out").map(PathBuf::from);
    let list = |name: &str| flag(args, name).map(|s| s.split(',').map(|x| x.trim().to_string()).collect::<Vec<_>>());
    let case_names = match list("--cases") {
        Some(c) if c == ["en"] => ENGLISH_CASES.iter().map(|s| s.to_string()).collect(),
        Some(c) => c,
        None => DEFAULT_CASES.iter().map(|s| s.to_string()).collect(),
    };
    let rows = list("--rows");
    let keep_row = |name: &str| rows.as_ref().is_none_or(|r| r.iter().any(|p| name.contains(p.as_str())));
    let precisions: Vec<Precision> = match list("--precisions") {
        None => vec![Precision::Int8, Precision::Int4],
        Some(p) => p
            .iter()
            .map(|s| match s.parse::<Precision>() {
                Ok(p @ (Precision::Int8 | Precision::Int4 | Precision::Bf16)) => Ok(p),
                _ => Err(anyhow::anyhow!("--precisions takes int8, int4, bf16, not {s}")),
            })
            .collect::<Result<_>>()?,
    };
    let cases = case_names.iter().map(|n| load_case(&golden, n)).collect::<Result<Vec<_>>>()?;

    let t0 = Instant::now();
    let source = model_dir.join("kokoro-v1.0.int8.onnx");
    let (weights, _) = warble_weights::load_cached(&source, &warble_weights::default_cache_dir())
        .with_context(|| format!("loading {}", source.display()))?;
    let device = Backend::Cpu.device()?;
    let f32_model = KokoroModel::load(&mut weights.clone(), &device)?;
    eprintln!("f32 weights and model loaded in {:.1} s", t0.elapsed().as_secs_f64());

    let t = Instant::now();
    let references: Vec<Reference> = cases
        .iter()
        .map(|c| {
            let prepared = f32_model.prepare(&c.token_ids, &c.style, c.speed, SourceNoise::Off, None);
            let mut decoded = prepared.clone();
            f32_model.decode_whole(&mut decoded);
            let (audio, _) = f32_model.render_frames(&decoded, 0, decoded.frames());
            let frames: Vec<usize> = (0..prepared.frames()).collect();
            let spectra = frame_log_spectra(&audio, &frames);
            Reference { render: Render { durations: prepared.durations.clone(), audio }, prepared, decoded, spectra }
        })
        .collect();
    drop(f32_model);
    let audio_s: f64 = references.iter().map(|r| r.render.audio.len() as f64 / 24_000.0).sum();
    eprintln!("f32 reference: {} cases, {audio_s:.1} s of audio in {:.1} s", cases.len(), t.elapsed().as_secs_f64());

    let tmp = std::env::temp_dir().join(format!("warble-quant-report-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    let _cleanup = RemoveOnDrop(tmp.clone());
    // The engine reads the vocabulary from `config.json` beside the weights file.
    let _ = std::fs::copy(model_dir.join("config.json"), tmp.join("config.json"));
    let ctx = Ctx { weights: &weights, cases: &cases, references: &references, tmp: &tmp, model_dir: &model_dir };
    let keys: Vec<&str> = weights.keys().collect();

    let mut group_rows: Vec<(&Group, usize, Vec<Option<Measure>>)> = Vec::new();
    for g in GROUPS.iter().filter(|g| keep_row(g.name)) {
        let params = group_params(&weights, g);
        let mut measures = Vec::new();
        for &p in &precisions {
            let policy = g.policy(p, &keys);
            let label = format!("{} {p}", g.name);
            measures.push(Some(ctx.measure(&label, &policy, "custom", g.reuse())?));
        }
        group_rows.push((g, params, measures));
    }
    let mut policy_rows = Vec::new();
    for s in Scheme::BUILT_IN.into_iter().filter(|s| keep_row(s.name())) {
        let m = ctx.measure(&format!("built-in {s}"), &s.policy().expect("built-in"), s.name(), Reuse::Nothing)?;
        policy_rows.push((s.name().to_string(), m));
    }
    // `--policy FILE` (repeatable): a candidate policy, measured whole like the built-in ones.
    for file in args.windows(2).filter(|w| w[0] == "--policy").map(|w| PathBuf::from(&w[1])) {
        let policy = Policy::load(&file)?;
        let name = file.file_stem().unwrap_or_default().to_string_lossy().into_owned();
        let m = ctx.measure(&format!("policy {name}"), &policy, "custom", Reuse::Nothing)?;
        policy_rows.push((format!("{name} (`{}`)", file.display()), m));
    }

    let table = render_table(&cases, &precisions, &group_rows, &policy_rows, audio_s);
    println!("{table}");
    if let Some(out) = out {
        write_atomically(&out, table.as_bytes()).with_context(|| format!("writing {}", out.display()))?;
        eprintln!("wrote {}", out.display());
    }
    eprintln!("total {:.0} s", t0.elapsed().as_secs_f64());
    Ok(())
}

struct Ctx<'a> {
    weights: &'a WeightMap,
    cases: &'a [Case],
    references: &'a [Reference],
    tmp: &'a Path,
    model_dir: &'a Path,
}

impl Ctx<'_> {
    /// Quantizes with `policy`, writes and loads the file, renders every case and compares it with f32.
    fn measure(&self, label: &str, policy: &Policy, scheme: &str, reuse: Reuse) -> Result<Measure> {
        let t = Instant::now();
        let q = QuantizedModel::quantize(self.weights, policy, scheme, label)?;
        let quantized_params: usize = q.stats().iter().filter(|(p, _)| p.is_reduced()).map(|(_, s)| s.parameters).sum();
        let file = self.tmp.join("model.safetensors");
        q.write(&file)?;
        drop(q);
        let file_bytes = std::fs::metadata(&file)?.len();
        let engine = Engine::load(&EngineOptions {
            model: Some(file.clone()),
            voices: Some(self.model_dir.join("voices")),
            backend: Backend::Cpu,
            cache_dir: Some(self.tmp.join("cache")),
        })
        .with_context(|| format!("{label}: loading the quantized file"))?;
        std::fs::remove_file(&file)?;
        let load_s = t.elapsed().as_secs_f64();
        let model = engine.model();
        let renders: Vec<Render> = self
            .cases
            .iter()
            .zip(self.references)
            .map(|(c, r)| {
                let prepared = match reuse {
                    Reuse::Nothing => {
                        let out = model.synthesize(&c.token_ids, &c.style, c.speed, SourceNoise::Off);
                        return Render { durations: out.durations, audio: out.audio };
                    }
                    Reuse::Prepared => &r.prepared,
                    Reuse::DecoderOutput => &r.decoded,
                };
                let (audio, _) = model.render_frames(prepared, 0, prepared.frames());
                Render { durations: r.render.durations.clone(), audio }
            })
            .collect();
        let m = compare(self.cases, self.references, &renders, file_bytes, quantized_params)?;
        eprintln!(
            "{label}: durations identical {:.1} %, correlation pooled {:.4}, worst {:.4} ({}), {:.2} MB, \
             int8 kernels {}; load {load_s:.1} s, total {:.1} s",
            100.0 * m.durations_identical,
            m.pooled,
            m.worst,
            m.worst_case,
            file_bytes as f64 / 1e6,
            engine.uses_int8_kernels(),
            t.elapsed().as_secs_f64()
        );
        Ok(m)
    }
}

/// Parameters of the group's tensors that a quantizing rule would store reduced (≥ 2-D, ≥ 1024 values).
fn group_params(weights: &WeightMap, g: &Group) -> usize {
    let keys: Vec<&str> = weights.keys().collect();
    let policy = g.policy(Precision::Int8, &keys);
    let plan = policy
        .resolve(weights.iter().map(|(k, t)| (k, t.shape.as_slice())), g.name)
        .expect("the group policies fit the model");
    weights.iter().filter(|(k, _)| plan[*k].is_reduced()).map(|(_, t)| t.data.len()).sum()
}

fn compare(
    cases: &[Case],
    references: &[Reference],
    renders: &[Render],
    file_bytes: u64,
    quantized_params: usize,
) -> Result<Measure> {
    let (mut same, mut total) = (0usize, 0usize);
    let (mut pooled_ref, mut pooled_got) = (Vec::new(), Vec::new());
    let (mut worst, mut worst_case) = (f64::INFINITY, String::new());
    for ((c, r), g) in cases.iter().zip(references).zip(renders) {
        if r.render.durations.len() != g.durations.len() {
            bail!("{}: {} durations vs {} for f32", c.name, g.durations.len(), r.render.durations.len());
        }
        same += r.render.durations.iter().zip(&g.durations).filter(|(a, b)| a == b).count();
        total += g.durations.len();
        let (fr, fg) = paired_frames(&r.render.durations, &g.durations);
        let sr: Vec<f32> = fr.iter().flat_map(|&f| r.spectra[f].iter().copied()).collect();
        let sg: Vec<f32> = frame_log_spectra(&g.audio, &fg).concat();
        let corr = pearson(&sr, &sg);
        if corr < worst {
            worst = corr;
            worst_case = c.name.clone();
        }
        pooled_ref.extend(sr);
        pooled_got.extend(sg);
    }
    Ok(Measure {
        durations_identical: same as f64 / total.max(1) as f64,
        pooled: pearson(&pooled_ref, &pooled_got),
        worst,
        worst_case,
        file_bytes,
        quantized_params,
    })
}

/// Frames paired token by token: for each input position, the first `min(a, b)` frames of each side.
fn paired_frames(a: &[usize], b: &[usize]) -> (Vec<usize>, Vec<usize>) {
    let (mut pa, mut pb) = (Vec::new(), Vec::new());
    let (mut fa, mut fb) = (0usize, 0usize);
    for (&da, &db) in a.iter().zip(b) {
        for i in 0..da.min(db) {
            pa.push(fa + i);
            pb.push(fb + i);
        }
        fa += da;
        fb += db;
    }
    (pa, pb)
}

/// Log10-magnitude spectrum of each 600-sample frame: a 1024-point Hann-windowed DFT centred on the frame
/// (as `engine/tests/common::frame_log_spectra`).
fn frame_log_spectra(audio: &[f32], frames: &[usize]) -> Vec<Vec<f32>> {
    use rustfft::{FftPlanner, num_complex::Complex};
    let n = 1024;
    let fft = FftPlanner::<f32>::new().plan_fft_forward(n);
    let window: Vec<f32> =
        (0..n).map(|i| 0.5 - 0.5 * (2.0 * std::f32::consts::PI * i as f32 / n as f32).cos()).collect();
    frames
        .iter()
        .map(|&f| {
            let centre = f * SAMPLES_PER_FRAME + SAMPLES_PER_FRAME / 2;
            let mut buf: Vec<Complex<f32>> = (0..n)
                .map(|i| {
                    let idx = centre as isize + i as isize - (n / 2) as isize;
                    let v = if idx >= 0 && (idx as usize) < audio.len() { audio[idx as usize] } else { 0.0 };
                    Complex::new(v * window[i], 0.0)
                })
                .collect();
            fft.process(&mut buf);
            buf[..n / 2 + 1].iter().map(|c| (c.norm() + 1e-5).log10()).collect()
        })
        .collect()
}

fn pearson(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len().min(b.len());
    if n == 0 {
        return f64::NAN;
    }
    let (a, b) = (&a[..n], &b[..n]);
    let ma = a.iter().map(|&x| f64::from(x)).sum::<f64>() / n as f64;
    let mb = b.iter().map(|&x| f64::from(x)).sum::<f64>() / n as f64;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        let (dx, dy) = (f64::from(x) - ma, f64::from(y) - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    sab / (saa.sqrt() * sbb.sqrt())
}

fn load_case(golden: &Path, name: &str) -> Result<Case> {
    // A prefix is enough: `c07` finds `c07_en_100`.
    let dir = std::fs::read_dir(golden)
        .with_context(|| format!("reading {}", golden.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("case.json").is_file())
        .filter(|p| p.file_name().is_some_and(|f| f.to_string_lossy().starts_with(name)))
        .min()
        .with_context(|| format!("no golden case {name} in {}", golden.display()))?;
    let text = std::fs::read_to_string(dir.join("case.json"))?;
    let v: serde_json::Value = serde_json::from_str(&text)?;
    let nums = |key: &str| -> Result<Vec<f64>> {
        v[key]
            .as_array()
            .with_context(|| format!("{}: {key}", dir.display()))?
            .iter()
            .map(|x| x.as_f64().context(key.to_string()))
            .collect()
    };
    Ok(Case {
        name: dir.file_name().unwrap_or_default().to_string_lossy().into_owned(),
        token_ids: nums("token_ids")?.into_iter().map(|x| x as i64).collect(),
        style: nums("style")?.into_iter().map(|x| x as f32).collect(),
        speed: v["speed"].as_f64().context("speed")? as f32,
    })
}

fn render_table(
    cases: &[Case],
    precisions: &[Precision],
    group_rows: &[(&Group, usize, Vec<Option<Measure>>)],
    policy_rows: &[(String, Measure)],
    audio_s: f64,
) -> String {
    let mb = |b: u64| b as f64 / 1e6;
    let cell = |m: &Measure| {
        format!(
            "{:.1} | {:.4} | {:.4} ({}) | {:.1}",
            100.0 * m.durations_identical,
            m.pooled,
            m.worst,
            short(&m.worst_case),
            mb(m.file_bytes)
        )
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Quantization sensitivity (Kokoro-82M v1.0)\n\nCases: {} ({audio_s:.1} s of audio), source noise off. Each \
         row quantizes one group (everything else f32) and loads it through `Engine::load` (generator residual \
         stacks stored INT8 run on the INT8 kernel). **dur** = token durations identical to f32 (%), **pooled** / \
         **worst** = token-paired log-spectrogram correlation with the f32 output over all cases / the worst case; \
         **MB** = the file.\n",
        cases.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
    );
    let mut header = String::from("| group | params |");
    let mut rule = String::from("|---|---:|");
    for p in precisions {
        let _ = write!(header, " {p} dur % | {p} pooled | {p} worst | {p} MB |");
        rule.push_str("---:|---:|---:|---:|");
    }
    let _ = writeln!(s, "{header}\n{rule}");
    for (g, params, measures) in group_rows {
        let cells: Vec<String> =
            measures.iter().map(|m| m.as_ref().map(cell).unwrap_or_else(|| "– | – | – | –".into())).collect();
        let _ = writeln!(s, "| {} | {:.2} M | {} |", g.name, *params as f64 / 1e6, cells.join(" | "));
    }
    if !policy_rows.is_empty() {
        let _ = writeln!(
            s,
            "\n| built-in policy | params reduced | dur % | pooled | worst | MB |\n|---|---:|---:|---:|---:|---:|"
        );
        for (scheme, m) in policy_rows {
            let _ = writeln!(s, "| {scheme} | {:.2} M | {} |", m.quantized_params as f64 / 1e6, cell(m));
        }
    }
    s
}

/// `c07_en_100` → `c07`.
fn short(case: &str) -> &str {
    case.split('_').next().unwrap_or(case)
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A voiced-ish test signal: a few harmonics whose pitch glides, with an envelope.
    fn signal(frames: usize, seed: f32) -> Vec<f32> {
        (0..frames * SAMPLES_PER_FRAME)
            .map(|i| {
                let t = i as f32 / 24_000.0;
                let f0 = 120.0 + 40.0 * (t * 3.0 + seed).sin();
                let env = 0.3 + 0.7 * (t * 5.0 + seed).sin().abs();
                env * (1..6).map(|h| (2.0 * std::f32::consts::PI * f0 * h as f32 * t).sin() / h as f32).sum::<f32>()
            })
            .collect()
    }

    #[test]
    fn pairing_takes_the_shorter_duration_of_each_token() {
        let (a, b) = paired_frames(&[2, 3, 1], &[2, 3, 1]);
        assert_eq!(a, (0..6).collect::<Vec<_>>());
        assert_eq!(a, b);
        // token 1 is one frame longer on side b: the following tokens stay aligned
        let (a, b) = paired_frames(&[2, 3, 1, 2], &[2, 4, 1, 2]);
        assert_eq!(a, vec![0, 1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(b, vec![0, 1, 2, 3, 4, 6, 7, 8]);
        // a token with no frames on one side pairs nothing
        let (a, b) = paired_frames(&[1, 0, 2], &[1, 2, 2]);
        assert_eq!((a, b), (vec![0, 1, 2], vec![0, 3, 4]));
    }

    #[test]
    fn correlation_is_one_for_the_same_signal_and_drops_with_noise() {
        let x = signal(12, 0.0);
        let frames: Vec<usize> = (0..12).collect();
        let sx = frame_log_spectra(&x, &frames).concat();
        assert!((pearson(&sx, &sx) - 1.0).abs() < 1e-9);
        // deterministic noise, 10 % and 50 % of the signal's level
        let mut state = 1u32;
        let mut noise = || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as f32 / u32::MAX as f32 - 0.5
        };
        let n: Vec<f32> = (0..x.len()).map(|_| noise()).collect();
        let corr = |level: f32| {
            let y: Vec<f32> = x.iter().zip(&n).map(|(a, b)| a + level * b).collect();
            pearson(&sx, &frame_log_spectra(&y, &frames).concat())
        };
        let levels = [1e-4, 1e-3, 1e-2, 1e-1];
        let c: Vec<f64> = levels.iter().map(|&l| corr(l)).collect();
        assert!(c[0] < 1.0 && c.windows(2).all(|w| w[1] < w[0]) && c[3] > 0.0, "{c:?}");
        // the pairing of equal durations is the identity
        let (fa, fb) = paired_frames(&[3, 4, 5], &[3, 4, 5]);
        assert_eq!((fa.clone(), fb), (frames.clone(), frames));
    }

    #[test]
    fn a_duration_flip_does_not_shift_the_comparison() {
        // b is a with token 1 one frame longer (a repeated frame): the token-paired comparison stays exact
        let da = [2usize, 3, 4, 3];
        let db = [2usize, 4, 4, 3];
        let a = signal(12, 0.3);
        let mut b = Vec::new();
        b.extend_from_slice(&a[..5 * SAMPLES_PER_FRAME]);
        b.extend_from_slice(&a[4 * SAMPLES_PER_FRAME..5 * SAMPLES_PER_FRAME]);
        b.extend_from_slice(&a[5 * SAMPLES_PER_FRAME..]);
        let (fa, fb) = paired_frames(&da, &db);
        // the repeated frame (b's frame 5) is left out, every later frame is paired with its copy
        assert_eq!(fa, (0..12).collect::<Vec<_>>());
        assert_eq!(fb, [0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12]);
        let sa = frame_log_spectra(&a, &fa);
        let sb = frame_log_spectra(&b, &fb);
        // every pair is identical but frame 4, whose 1024-sample window reaches past the splice
        for (i, (x, y)) in sa.iter().zip(&sb).enumerate() {
            assert_eq!(x == y, i != 4, "pair {i}");
        }
        let c = pearson(&sa.concat(), &sb.concat());
        // pairing frame by frame instead would shift every later frame by one
        let all: Vec<usize> = (0..12).collect();
        let naive = pearson(&frame_log_spectra(&a, &all).concat(), &frame_log_spectra(&b, &all).concat());
        assert!(c < 1.0 && naive < c, "{naive} vs {c}");
    }

    #[test]
    fn group_policies_fit_the_kokoro_layout() {
        let layout = warble_weights::kokoro_v1_0_layout();
        let keys: Vec<&str> = layout.iter().map(|e| e.key.as_str()).collect();
        let mut covered = 0;
        for g in GROUPS {
            for p in [Precision::Int8, Precision::Int4] {
                let policy = g.policy(p, &keys);
                let plan = policy
                    .resolve(layout.iter().map(|e| (e.key.as_str(), e.shape.as_slice())), g.name)
                    .unwrap_or_else(|e| panic!("{}: {e}", g.name));
                let reduced: Vec<&String> = plan.iter().filter(|(_, p)| p.is_reduced()).map(|(k, _)| k).collect();
                assert!(!reduced.is_empty(), "{} quantizes nothing", g.name);
                for k in &reduced {
                    assert!(g.prefixes.iter().any(|pre| k.starts_with(pre.trim_end_matches('.'))), "{}: {k}", g.name);
                    assert!(!k.contains("embeddings") && !k.contains("m_source"), "{}: {k}", g.name);
                }
                if p == Precision::Int8 {
                    covered += reduced.len();
                }
            }
        }
        // every weight the built-in int8 policy quantizes lies in exactly one group
        let int8 = Scheme::Int8
            .policy()
            .unwrap()
            .resolve(layout.iter().map(|e| (e.key.as_str(), e.shape.as_slice())), "int8")
            .unwrap();
        assert_eq!(covered, int8.values().filter(|p| p.is_reduced()).count());
    }
}
