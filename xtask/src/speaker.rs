//! `cargo xtask train-speaker`: fits the voice-cloning style prior and surrogate (`warble_speaker::prior`).
//!
//! 1. Renders speech for the stock voices and for random styles around them (sparse blends of 2–3 training voices
//!    plus an offset along the voices' spread, and Gaussian styles with the voices' covariance plus a small
//!    isotropic part), two Harvard sentences each, and keeps it in `--data DIR` (24 kHz f32 files + meta.jsonl),
//!    so an interrupted run resumes and a second fit reuses the renders.
//! 2. Embeds every clip with the GE2E encoder (`Engine::output_embedding`: 16 kHz, −30 dBFS, as a reference is).
//! 3. Fits the surrogate `[style row, 1] → embedding` by ridge regression (strength chosen on 10 % of the random
//!    styles kept out of the fit) and builds the prior: training voices' identities, embeddings and the shared row
//!    pattern. Voices named by `--holdout` are left out of everything but their own stock renders, so that clones
//!    of them can be evaluated honestly (`cargo xtask clone-eval`).
//!
//! 4. Renders every training voice on the clone search's fitting sentences and stores their embeddings, so a search
//!    scores the stock voices it starts from without rendering them (`--fit-embeddings-only` redoes only this, on
//!    the prior at `--out`).
//!
//! Usage: `cargo xtask train-speaker [--data DIR] [--styles N] [--iso X] [--holdout a,b] [--out FILE]
//! [--fit-embeddings-only]` with `WARBLE_MODEL_DIR` set. Defaults (the shipped prior's): 600 random styles (1,308 clips, ~33 min on 2 cores),
//! isotropic part 0.07, the held-out voices of `DEFAULT_HOLDOUT`, `speaker/assets/style_prior.safetensors`.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use warble_engine::audio::write_atomically;
use warble_engine::{Engine, EngineOptions, Language, SourceNoise, g2p_for, phonemize_line};
use warble_speaker::prior::{StylePrior, apply_surrogate, solve_spd};
use warble_speaker::{PACK_ROWS, STYLE_DIM};

use crate::flag;
use crate::rng::XorShift64;

/// Stock voices kept out of training: both sexes, American, British and four other languages' voices.
pub const DEFAULT_HOLDOUT: &str = "af_nicole,am_eric,bf_emma,bm_lewis,ff_siwis,if_sara,jm_kumo,zf_xiaoyi";

/// Harvard sentences (IEEE 1969, public domain) the training renders speak.
pub const TRAIN_TEXTS: &[&str] = &[
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.",
    "It's easy to tell the depth of a well.",
    "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.",
    "The juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck.",
    "The hogs were fed chopped corn and garbage.",
    "Four hours of steady work faced us.",
    "A large size in stockings is hard to sell.",
    "The boy was there when the sun rose.",
    "A rod is used to catch pink salmon.",
    "The source of the huge river is the clear spring.",
    "Kick the ball straight and follow through.",
    "Help the woman get back to her feet.",
    "A pot of tea helps to pass the evening.",
    "Smoky fires lack flame and heat.",
    "The soft cushion broke the man's fall.",
    "The salt breeze came across from the sea.",
    "The girl at the booth sold fifty bonds.",
];

/// Standard deviation of the random styles' isotropic part, per style value, at full scale (`--iso`): the size
/// of real voices' part outside the stock voices' span (their per-value spread is 0.04–0.12, median 0.07).
const DEFAULT_ISO: f64 = 0.07;

/// The isotropic part of the first prior's renders, which carry no `iso` in their labels; every other value is
/// named in the label, so a `--data` folder rendered with another value is refused rather than mixed in.
const UNLABELLED_ISO: f64 = 0.03;

/// Rows whose mean is a voice's identity: the lengths (20–300 phonemes) speech mostly uses.
const IDENTITY_ROWS: std::ops::Range<usize> = 20..300;

pub fn identity_of(pack: &[f32]) -> Vec<f32> {
    let n = IDENTITY_ROWS.len() as f32;
    (0..STYLE_DIM).map(|j| IDENTITY_ROWS.map(|r| pack[r * STYLE_DIM + j]).sum::<f32>() / n).collect()
}

struct Job {
    label: String,
    pack: Vec<f32>,
    /// The two training sentences it speaks.
    texts: [usize; 2],
}

/// The styles rendered: every stock voice, then `n_random` random styles built from the training voices only.
fn jobs(names: &[String], packs: &[Vec<f32>], train: &[usize], n_random: usize, iso: f64, seed: u64) -> Vec<Job> {
    let d = PACK_ROWS * STYLE_DIM;
    let mut picks = XorShift64(0x9e37_79b9_7f4a_7c15 ^ seed);
    let n_texts = TRAIN_TEXTS.len();
    let mut jobs: Vec<Job> = names
        .iter()
        .zip(packs)
        .map(|(n, p)| Job {
            label: format!("stock:{n}"),
            pack: p.clone(),
            texts: [picks.below(n_texts), picks.below(n_texts)],
        })
        .collect();
    let mean: Vec<f32> = (0..d).map(|k| train.iter().map(|&i| packs[i][k]).sum::<f32>() / train.len() as f32).collect();
    // Each training voice's offset from the mean, averaged over rows: the directions voices differ in.
    let spread: Vec<Vec<f32>> = train
        .iter()
        .map(|&i| {
            (0..STYLE_DIM)
                .map(|j| {
                    (0..PACK_ROWS).map(|r| packs[i][r * STYLE_DIM + j] - mean[r * STYLE_DIM + j]).sum::<f32>()
                        / PACK_ROWS as f32
                })
                .collect()
        })
        .collect();
    let mut rng = XorShift64(0x9e37_79b9_7f4a_7c15 ^ seed);
    for _ in 0..n_random {
        let (label, mut pack, scale) = if rng.uniform() < 0.5 {
            let k = 2 + rng.below(2);
            let mut w: Vec<(usize, f64)> =
                (0..k).map(|_| (train[rng.below(train.len())], -rng.uniform().max(1e-9).ln())).collect();
            let total: f64 = w.iter().map(|x| x.1).sum();
            w.iter_mut().for_each(|x| x.1 /= total);
            let mut p = vec![0f32; d];
            for &(i, wi) in &w {
                for (a, b) in p.iter_mut().zip(&packs[i]) {
                    *a += wi as f32 * b;
                }
            }
            let label = format!(
                "blend:{}",
                w.iter().map(|(i, wi)| format!("{}:{wi:.3}", names[*i])).collect::<Vec<_>>().join(",")
            );
            (label, p, 0.5 * rng.uniform() as f32)
        } else {
            ("gauss".to_string(), mean.clone(), 1.0)
        };
        let mut off = vec![0f32; STYLE_DIM];
        for dv in &spread {
            let z = rng.normal() as f32 * scale / ((train.len() - 1) as f32).sqrt();
            for (o, x) in off.iter_mut().zip(dv) {
                *o += z * x;
            }
        }
        for o in off.iter_mut() {
            *o += (rng.normal() * iso * f64::from(scale)) as f32;
        }
        for row in pack.chunks_exact_mut(STYLE_DIM) {
            for (x, o) in row.iter_mut().zip(&off) {
                *x += o;
            }
        }
        let label = if iso == UNLABELLED_ISO { label } else { format!("{label} iso {iso}") };
        jobs.push(Job { label, pack, texts: [0, 0] });
    }
    // The random styles' sentences continue the same generator, after all styles are drawn.
    for job in jobs.iter_mut().skip(names.len()) {
        job.texts = [rng.below(n_texts), rng.below(n_texts)];
    }
    jobs
}

/// Ridge regression `[x, 1] → y`: returns `W` as `[(dx + 1), dy]`.
fn ridge(xs: &[Vec<f32>], ys: &[[f32; 256]], lambda: f64) -> Result<Vec<f32>> {
    let n = xs[0].len() + 1;
    let m = 256;
    let mut a = vec![0f64; n * n];
    let mut b = vec![0f64; n * m];
    for (x, y) in xs.iter().zip(ys) {
        let xa: Vec<f64> = x.iter().map(|&v| f64::from(v)).chain(std::iter::once(1.0)).collect();
        for i in 0..n {
            for j in 0..n {
                a[i * n + j] += xa[i] * xa[j];
            }
            for (c, &yv) in y.iter().enumerate() {
                b[i * m + c] += xa[i] * f64::from(yv);
            }
        }
    }
    for i in 0..n - 1 {
        a[i * n + i] += lambda;
    }
    a[(n - 1) * n + n - 1] += 1e-6;
    solve_spd(&mut a, n, &mut b, m)?;
    Ok(b.into_iter().map(|v| v as f32).collect())
}

fn normalized(v: &[f32]) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter().map(|x| x / n).collect()
}

fn cos(a: &[f32], b: &[f32]) -> f32 {
    let (na, nb) = (a.iter().map(|x| x * x).sum::<f32>().sqrt(), b.iter().map(|x| x * x).sum::<f32>().sqrt());
    a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>() / (na * nb).max(1e-12)
}

fn mean_embedding(es: &[[f32; 256]]) -> [f32; 256] {
    let mut m = [0f32; 256];
    for e in es {
        for (a, b) in m.iter_mut().zip(e) {
            *a += b;
        }
    }
    let v = normalized(&m);
    let mut out = [0f32; 256];
    out.copy_from_slice(&v);
    out
}

pub fn run(args: &[String]) -> Result<()> {
    let data = PathBuf::from(flag(args, "--data").unwrap_or_else(|| "target/speaker-data".into()));
    let n_random: usize = flag(args, "--styles").map(|s| s.parse()).transpose()?.unwrap_or(600);
    let holdout: Vec<String> = flag(args, "--holdout")
        .unwrap_or_else(|| DEFAULT_HOLDOUT.into())
        .split(',')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    let out = PathBuf::from(flag(args, "--out").unwrap_or_else(|| "speaker/assets/style_prior.safetensors".into()));
    if args.iter().any(|a| a == "--fit-embeddings-only") {
        // Only the stored fitting-sentence embeddings, for a prior already trained (after the search's sentences,
        // the G2P or the model changed): minutes, not the hour a full training takes.
        let bytes = std::fs::read(&out).with_context(|| format!("reading {}", out.display()))?;
        let prior = StylePrior::from_bytes(&bytes)?;
        let engine = Engine::load(&EngineOptions::default())?;
        return write_with_fit_embeddings(&engine, prior, &out);
    }
    std::fs::create_dir_all(&data).with_context(|| format!("creating {}", data.display()))?;

    let engine = Engine::load(&EngineOptions::default())?;
    let names: Vec<String> = engine.voices().names().iter().map(|s| s.to_string()).collect();
    for h in &holdout {
        if !names.contains(h) {
            bail!("--holdout names {h:?}, which is not a loaded voice");
        }
    }
    let packs: Vec<Vec<f32>> =
        names.iter().map(|n| Ok(engine.voices().get(n)?.as_slice().to_vec())).collect::<Result<_>>()?;
    let train: Vec<usize> = (0..names.len()).filter(|&i| !holdout.contains(&names[i])).collect();
    let iso: f64 = flag(args, "--iso").map(|s| s.parse()).transpose()?.unwrap_or(DEFAULT_ISO);
    if !(0.0..=0.5).contains(&iso) {
        bail!(
            "--iso {iso} is outside 0–0.5 (the isotropic part's per-value standard deviation; default {DEFAULT_ISO})"
        );
    }
    let all_jobs = jobs(&names, &packs, &train, n_random, iso, 1);

    render(&engine, &data, &all_jobs)?;
    let clips = embed_all(&engine, &data)?;
    let made_by = format!("cargo xtask train-speaker --styles {n_random} --iso {iso}");
    let prior = fit(&names, &packs, &train, &holdout, &clips, &made_by)?;
    write_with_fit_embeddings(&engine, prior, &out)
}

/// One rendered clip: its style id, the style row the model received and its embedding.
struct Clip {
    id: usize,
    label: String,
    row: Vec<f32>,
    embedding: [f32; 256],
}

fn render(engine: &Engine, data: &Path, jobs: &[Job]) -> Result<()> {
    let g2p = g2p_for(Language::EnUs)?;
    let tokens: Vec<Vec<i64>> = TRAIN_TEXTS
        .iter()
        .map(|t| Ok(engine.vocab().encode(&phonemize_line(g2p.as_ref(), t)?)))
        .collect::<Result<_>>()?;
    let meta_path = data.join("meta.jsonl");
    let existing = std::fs::read_to_string(&meta_path).unwrap_or_default();
    let done = existing.lines().count() / 2;
    // Renders already there must be the ones this run would make (same voices, hold-out and seed).
    for line in existing.lines() {
        let m: Value = serde_json::from_str(line)?;
        let (id, rep) = (m["id"].as_u64().unwrap_or(u64::MAX) as usize, m["rep"].as_u64().unwrap_or(0) as usize);
        let same = jobs.get(id).is_some_and(|j| {
            m["label"].as_str() == Some(j.label.as_str()) && m["text"].as_u64() == Some(j.texts[rep.min(1)] as u64)
        });
        if !same {
            bail!("{} holds renders made with other settings (style {id}); use another --data folder", data.display());
        }
    }
    let mut meta = std::fs::OpenOptions::new().create(true).append(true).open(&meta_path)?;
    let t0 = Instant::now();
    for (id, job) in jobs.iter().enumerate().skip(done) {
        for (rep, &t) in job.texts.iter().enumerate() {
            let n = tokens[t].len();
            let style = &job.pack[(n - 1) * STYLE_DIM..n * STYLE_DIM];
            let o = engine.model().synthesize(&tokens[t], style, 1.0, SourceNoise::Seeded(0));
            let file = format!("{id:05}_{rep}.f32");
            let bytes: Vec<u8> = o.audio.iter().flat_map(|v| v.to_le_bytes()).collect();
            std::fs::write(data.join(&file), bytes)?;
            writeln!(
                meta,
                "{}",
                json!({"id": id, "rep": rep, "label": job.label, "text": t, "file": file, "style": style, "ident": identity_of(&job.pack)})
            )?;
        }
        if (id + 1) % 25 == 0 {
            eprintln!("rendered {}/{} styles ({:.0} s)", id + 1, jobs.len(), t0.elapsed().as_secs_f64());
        }
    }
    Ok(())
}

fn embed_all(engine: &Engine, data: &Path) -> Result<Vec<Clip>> {
    let text = std::fs::read_to_string(data.join("meta.jsonl"))?;
    let t0 = Instant::now();
    let mut clips = Vec::new();
    for line in text.lines() {
        let m: Value = serde_json::from_str(line)?;
        let file = m["file"].as_str().context("meta.jsonl: file")?;
        let bytes = std::fs::read(data.join(file))?;
        let audio: Vec<f32> = bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        let row: Vec<f32> = m["style"]
            .as_array()
            .context("meta.jsonl: style")?
            .iter()
            .map(|v| v.as_f64().unwrap_or(0.0) as f32)
            .collect();
        clips.push(Clip {
            id: m["id"].as_u64().context("meta.jsonl: id")? as usize,
            label: m["label"].as_str().unwrap_or("").to_string(),
            row,
            // Prepared as a reference is: 16 kHz, −30 dBFS (increase only).
            embedding: engine.output_embedding(&audio)?,
        });
    }
    eprintln!("embedded {} clips in {:.0} s", clips.len(), t0.elapsed().as_secs_f64());
    Ok(clips)
}

fn fit(
    names: &[String],
    packs: &[Vec<f32>],
    train: &[usize],
    holdout: &[String],
    clips: &[Clip],
    made_by: &str,
) -> Result<StylePrior> {
    let is_held = |label: &str| label.strip_prefix("stock:").is_some_and(|n| holdout.iter().any(|h| h == n));
    // Per style: the mean row (the two clips use rows of two lengths) and the mean embedding.
    let mut by_id: BTreeMap<usize, Vec<&Clip>> = BTreeMap::new();
    for c in clips {
        if !is_held(&c.label) {
            by_id.entry(c.id).or_default().push(c);
        }
    }
    let samples: Vec<(usize, Vec<f32>, [f32; 256])> = by_id
        .iter()
        .map(|(&id, cs)| {
            let row: Vec<f32> =
                (0..STYLE_DIM).map(|j| cs.iter().map(|c| c.row[j]).sum::<f32>() / cs.len() as f32).collect();
            (id, row, mean_embedding(&cs.iter().map(|c| c.embedding).collect::<Vec<_>>()))
        })
        .collect();
    // Every tenth random style validates the ridge strength.
    let is_val = |id: usize| id >= names.len() && id % 10 == 3;
    let (fit_x, fit_y): (Vec<Vec<f32>>, Vec<[f32; 256]>) =
        samples.iter().filter(|s| !is_val(s.0)).map(|s| (s.1.clone(), s.2)).unzip();
    let val: Vec<&(usize, Vec<f32>, [f32; 256])> = samples.iter().filter(|s| is_val(s.0)).collect();
    let predict = apply_surrogate;
    let mut best = (f32::NEG_INFINITY, 0.0, Vec::new());
    for lambda in [0.03, 0.1, 0.3, 1.0, 3.0] {
        let w = ridge(&fit_x, &fit_y, lambda)?;
        let score = val.iter().map(|s| cos(&predict(&w, &s.1), &s.2)).sum::<f32>() / val.len().max(1) as f32;
        eprintln!("ridge λ = {lambda}: validation cosine {score:.4} ({} styles)", val.len());
        if score > best.0 {
            best = (score, lambda, w);
        }
    }
    let (val_cos, lambda, _) = best;
    // The shipped surrogate is refitted on every training style.
    let all_x: Vec<Vec<f32>> = samples.iter().map(|s| s.1.clone()).collect();
    let all_y: Vec<[f32; 256]> = samples.iter().map(|s| s.2).collect();
    let surrogate = ridge(&all_x, &all_y, lambda)?;

    // Held-out stock voices: how well the surrogate predicts voices it never saw.
    let mut held_cos = Vec::new();
    for h in holdout {
        let cs: Vec<&Clip> = clips.iter().filter(|c| c.label == format!("stock:{h}")).collect();
        if cs.is_empty() {
            continue;
        }
        let row: Vec<f32> =
            (0..STYLE_DIM).map(|j| cs.iter().map(|c| c.row[j]).sum::<f32>() / cs.len() as f32).collect();
        held_cos.push(cos(
            &predict(&surrogate, &row),
            &mean_embedding(&cs.iter().map(|c| c.embedding).collect::<Vec<_>>()),
        ));
    }
    let held_mean = held_cos.iter().sum::<f32>() / held_cos.len().max(1) as f32;
    eprintln!("surrogate: λ = {lambda}, validation cosine {val_cos:.4}, held-out stock voices {held_mean:.4}");

    let v = train.len();
    let ids: Vec<Vec<f32>> = train.iter().map(|&i| identity_of(&packs[i])).collect();
    let mean: Vec<f32> = (0..STYLE_DIM).map(|j| ids.iter().map(|x| x[j]).sum::<f32>() / v as f32).collect();
    let norm = ((v - 1) as f32).sqrt();
    let deviations: Vec<f32> =
        ids.iter().flat_map(|x| x.iter().zip(&mean).map(|(a, m)| (a - m) / norm).collect::<Vec<_>>()).collect();
    let mut row_pattern = vec![0f32; PACK_ROWS * STYLE_DIM];
    for (&i, id) in train.iter().zip(&ids) {
        for (k, p) in row_pattern.iter_mut().enumerate() {
            *p += (packs[i][k] - id[k % STYLE_DIM]) / v as f32;
        }
    }
    let mut voice_embedding = Vec::with_capacity(v * 256);
    for &i in train {
        let es: Vec<[f32; 256]> =
            clips.iter().filter(|c| c.label == format!("stock:{}", names[i])).map(|c| c.embedding).collect();
        if es.is_empty() {
            bail!("no renders of stock voice {}", names[i]);
        }
        voice_embedding.extend_from_slice(&mean_embedding(&es));
    }
    let metadata: HashMap<String, String> = [
        ("made_by", made_by.to_string()),
        ("clips", clips.len().to_string()),
        ("ridge_lambda", lambda.to_string()),
        ("validation_cosine", format!("{val_cos:.4}")),
        ("held_out_cosine", format!("{held_mean:.4}")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let prior = StylePrior {
        names: train.iter().map(|&i| names[i].clone()).collect(),
        held_out: holdout.to_vec(),
        mean,
        deviations,
        voice_identity: ids.concat(),
        voice_embedding,
        row_pattern,
        surrogate,
        iso_std: 0.05,
        fit: None,
        metadata,
    };
    eprintln!("{v} training voices, {} styles, surrogate validation cosine {val_cos:.4}", samples.len());
    Ok(prior)
}

/// Renders every training voice on the clone search's fitting sentences and stores their embeddings in the prior
/// (`Engine::fit_embeddings`), then writes it.
fn write_with_fit_embeddings(engine: &Engine, mut prior: StylePrior, out: &Path) -> Result<()> {
    let t0 = Instant::now();
    prior.fit = Some(engine.fit_embeddings(&prior)?);
    // Through a temporary file: an interrupted run leaves the shipped prior as it was, never half written.
    write_atomically(out, &prior.to_bytes()?).with_context(|| format!("writing {}", out.display()))?;
    println!(
        "wrote {} ({} training voices; their fitting-sentence embeddings rendered in {:.0} s)",
        out.display(),
        prior.voices(),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}
