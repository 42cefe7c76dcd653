//! `cargo xtask train-g2p`: trains the learnt reader of unknown English words (`warble_g2p::en::learnt`).
//!
//! 1. Data: every word of misaki's gold and silver dictionaries read as an unknown word through espeak-ng with
//!    misaki's mapping, in en-us and en-gb (`g2p/examples/espeak_lexicon.rs`, run here when `--data` is absent):
//!    what misaki gives for the words its dictionaries lack, so the target of the pure-Rust fallback.
//! 2. Held out: every 50th word by a hash of its spelling (~2 %), never trained on; its exact-match rate is the
//!    reported accuracy (written into the weights' metadata).
//! 3. Model: letters × 3 slots → pre-norm transformer encoder → CTC over Kokoro's symbols (`learnt.rs` explains);
//!    Adam, linear warm-up then linear decay, batches of similar lengths, fixed seeds (reproducible on one machine).
//! 4. Output: `g2p/data/en_oov.safetensors` (f32, parameter names as in Burn, metadata with the alphabets, the
//!    shape, the command and the held-out accuracy). The plain-Rust forward in `warble-g2p` is tested against
//!    this Burn module below.
//!
//! Usage: `cargo xtask train-g2p [--data FILE] [--epochs N] [--out FILE] [--resume WEIGHTS] [--lr PEAK] [--seed N]`
//! (defaults: the data in `target/g2p/espeak_lexicon.tsv`, 5 epochs, the crate's weights file, fresh weights, peak
//! learning rate 2e-3, seed 42): ~1.5 min for the data, ~10 min per epoch on 2 cores (395 steps of 512 words).
//! `--resume` goes on from a weights file; the written file's `command` metadata lists every run that made it.
//! `cargo xtask train-g2p --evaluate WEIGHTS`: the held-out accuracy of a weights file.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use burn::module::{Module, Param};
use burn::nn::activation::ActivationConfig;
use burn::nn::loss::{CTCLossConfig, Reduction};
use burn::nn::transformer::{TransformerEncoder, TransformerEncoderConfig, TransformerEncoderInput};
use burn::nn::{Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use warble_engine::audio::write_atomically;
use warble_g2p::en::learnt::{LearntConfig, LearntG2p, SLOTS};

use crate::flag;
use crate::rng::SplitMix64;

pub const USAGE: &str = "cargo xtask train-g2p [--data FILE] [--epochs N] [--out FILE] [--resume WEIGHTS] [--lr PEAK] \
                         [--seed N] | --evaluate WEIGHTS";

/// The shape trained by default: ~0.5 M parameters, 2 MB in f32.
pub const CONFIG: LearntConfig = LearntConfig { d_model: 128, n_heads: 4, n_layers: 3, d_ff: 384, max_letters: 32 };

/// The network as Burn trains it; field names are the weight names `learnt.rs` reads.
#[derive(Module, Debug)]
pub struct G2pNet {
    pub letter_embedding: Embedding,
    pub slot_embedding: Embedding,
    pub position_embedding: Embedding,
    pub dialect_embedding: Embedding,
    pub encoder: TransformerEncoder,
    pub norm: LayerNorm,
    pub output: Linear,
}

impl G2pNet {
    pub fn new(config: LearntConfig, letters: usize, phonemes: usize, dropout: f64, device: &Device) -> G2pNet {
        let d = config.d_model;
        G2pNet {
            letter_embedding: EmbeddingConfig::new(letters + 1, d).init(device),
            slot_embedding: EmbeddingConfig::new(SLOTS, d).init(device),
            position_embedding: EmbeddingConfig::new(config.max_letters * SLOTS, d).init(device),
            dialect_embedding: EmbeddingConfig::new(2, d).init(device),
            encoder: TransformerEncoderConfig::new(d, config.d_ff, config.n_heads, config.n_layers)
                .with_dropout(dropout)
                .with_norm_first(true)
                .with_activation(ActivationConfig::Relu)
                .init(device),
            norm: LayerNormConfig::new(d).init(device),
            output: LinearConfig::new(d, phonemes + 1).init(device),
        }
    }

    /// `batch`'s words → scores `[B, T, 1 + phonemes]` (T = `SLOTS` × the longest word).
    pub fn forward(&self, batch: &Batch, device: &Device) -> Tensor<3> {
        let (b, t) = (batch.size, batch.positions);
        let ints = |v: &[i64]| Tensor::<2, Int>::from_data(TensorData::new(v.to_vec(), [b, t]), device);
        let x = self.letter_embedding.forward(ints(&batch.letters))
            + self.slot_embedding.forward(ints(&batch.slots))
            + self.position_embedding.forward(ints(&batch.positions_ids))
            + self.dialect_embedding.forward(ints(&batch.dialects));
        let pad = Tensor::<2, Bool>::from_data(TensorData::new(batch.pad.clone(), [b, t]), device);
        let x = self.encoder.forward(TransformerEncoderInput::new(x).mask_pad(pad));
        self.output.forward(self.norm.forward(x))
    }

    /// Every parameter by the name `learnt.rs` reads, as f32 rows.
    pub fn named_tensors(&self) -> Vec<(String, Vec<usize>, Vec<f32>)> {
        let mut out = Vec::new();
        self.clone().for_each_param(&mut |name, p| {
            let v = match p {
                AnyParam::Two(p) => p.val().into_data(),
                AnyParam::One(p) => p.val().into_data(),
            };
            let shape = v.shape().to_vec();
            out.push((name, shape, v.convert::<f32>().try_to_vec::<f32>().expect("f32")));
        });
        out
    }

    /// The parameters of a weights file written by [`to_safetensors`] (to go on training from it); every name and
    /// shape must match this network's.
    pub fn load_named(mut self, bytes: &[u8], device: &Device) -> Result<G2pNet> {
        let file = safetensors::SafeTensors::deserialize(bytes)?;
        let mut problems = Vec::new();
        self.for_each_param(&mut |name, p| {
            let found = file.tensor(&name).map_err(|e| format!("{name}: {e}"));
            let view = match found {
                Ok(v) if v.dtype() == safetensors::Dtype::F32 => v,
                Ok(_) => return problems.push(format!("{name} is not f32")),
                Err(e) => return problems.push(e),
            };
            let values: Vec<f32> =
                view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
            let shape = view.shape().to_vec();
            match p {
                AnyParam::Two(p) if p.val().dims().as_slice() == shape.as_slice() => {
                    *p = Param::from_tensor(Tensor::from_data(TensorData::new(values, shape), device));
                }
                AnyParam::One(p) if p.val().dims().as_slice() == shape.as_slice() => {
                    *p = Param::from_tensor(Tensor::from_data(TensorData::new(values, shape), device));
                }
                _ => problems.push(format!("{name} has shape {shape:?}, not this network's")),
            }
        });
        if problems.is_empty() {
            Ok(self)
        } else {
            bail!("the weights file to resume from does not fit the network: {}", problems.join("; "))
        }
    }

    /// Calls `f` with every parameter and the name `learnt.rs` reads it by (one list for writing and reading).
    fn for_each_param(&mut self, f: &mut dyn FnMut(String, AnyParam<'_>)) {
        f("letter_embedding.weight".into(), AnyParam::Two(&mut self.letter_embedding.weight));
        f("slot_embedding.weight".into(), AnyParam::Two(&mut self.slot_embedding.weight));
        f("position_embedding.weight".into(), AnyParam::Two(&mut self.position_embedding.weight));
        f("dialect_embedding.weight".into(), AnyParam::Two(&mut self.dialect_embedding.weight));
        let mut linears: Vec<(String, &mut Linear)> = vec![("output".into(), &mut self.output)];
        let mut norms: Vec<(String, &mut LayerNorm)> = vec![("norm".into(), &mut self.norm)];
        for (i, l) in self.encoder.layers.iter_mut().enumerate() {
            let p = format!("encoder.layers.{i}");
            let mha = &mut l.mha;
            linears.push((format!("{p}.mha.query"), &mut mha.query));
            linears.push((format!("{p}.mha.key"), &mut mha.key));
            linears.push((format!("{p}.mha.value"), &mut mha.value));
            linears.push((format!("{p}.mha.output"), &mut mha.output));
            linears.push((format!("{p}.pwff.linear_inner"), &mut l.pwff.linear_inner));
            linears.push((format!("{p}.pwff.linear_outer"), &mut l.pwff.linear_outer));
            norms.push((format!("{p}.norm_1"), &mut l.norm_1));
            norms.push((format!("{p}.norm_2"), &mut l.norm_2));
        }
        for (name, lin) in linears {
            f(format!("{name}.weight"), AnyParam::Two(&mut lin.weight));
            f(format!("{name}.bias"), AnyParam::One(lin.bias.as_mut().expect("linears have biases")));
        }
        for (name, norm) in norms {
            f(format!("{name}.gamma"), AnyParam::One(&mut norm.gamma));
            f(format!("{name}.beta"), AnyParam::One(norm.beta.as_mut().expect("layer norms have a bias")));
        }
    }
}

/// A parameter of [`G2pNet`]: a matrix or a vector.
enum AnyParam<'a> {
    Two(&'a mut Param<Tensor<2>>),
    One(&'a mut Param<Tensor<1>>),
}

/// One word read in one dialect: letter ids (1-based), dialect, phoneme ids (1-based; 0 is CTC's blank).
#[derive(Debug, Clone)]
pub struct Sample {
    pub letters: Vec<i64>,
    pub british: bool,
    pub phonemes: Vec<i64>,
}

/// Samples laid out as the network takes them.
pub struct Batch {
    pub size: usize,
    pub positions: usize,
    pub letters: Vec<i64>,
    pub slots: Vec<i64>,
    pub positions_ids: Vec<i64>,
    pub dialects: Vec<i64>,
    pub pad: Vec<bool>,
    pub lengths: Vec<i64>,
    pub targets: Vec<i64>,
    pub target_lengths: Vec<i64>,
    pub target_width: usize,
}

impl Batch {
    pub fn new(samples: &[&Sample]) -> Batch {
        let size = samples.len();
        let positions = samples.iter().map(|s| s.letters.len() * SLOTS).max().unwrap_or(0);
        let target_width = samples.iter().map(|s| s.phonemes.len()).max().unwrap_or(0).max(1);
        let mut b = Batch {
            size,
            positions,
            letters: Vec::with_capacity(size * positions),
            slots: Vec::with_capacity(size * positions),
            positions_ids: Vec::with_capacity(size * positions),
            dialects: Vec::with_capacity(size * positions),
            pad: Vec::with_capacity(size * positions),
            lengths: Vec::with_capacity(size),
            targets: Vec::with_capacity(size * target_width),
            target_lengths: Vec::with_capacity(size),
            target_width,
        };
        for s in samples {
            let n = s.letters.len() * SLOTS;
            for p in 0..positions {
                let inside = p < n;
                b.letters.push(if inside { s.letters[p / SLOTS] } else { 0 });
                b.slots.push((p % SLOTS) as i64);
                b.positions_ids.push(p as i64);
                b.dialects.push(i64::from(s.british));
                b.pad.push(!inside);
            }
            b.lengths.push(n as i64);
            b.targets.extend(s.phonemes.iter().copied().chain(std::iter::repeat(0)).take(target_width));
            b.target_lengths.push(s.phonemes.len() as i64);
        }
        b
    }
}

/// CTC needs a position per symbol and a blank between equal neighbours.
fn fits(s: &Sample) -> bool {
    let repeats = s.phonemes.windows(2).filter(|w| w[0] == w[1]).count();
    !s.phonemes.is_empty() && s.phonemes.len() + repeats <= s.letters.len() * SLOTS
}

/// Whether a word is held out of training (~2 %, by FNV-1a of its spelling).
pub fn held_out(word: &str) -> bool {
    let h = word.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    h % 50 == 0
}

/// The words' weights file as safetensors bytes, with `meta` beside the model's own metadata.
pub fn to_safetensors(
    net: &G2pNet,
    config: LearntConfig,
    letters: &str,
    phonemes: &str,
    meta: &[(&str, String)],
) -> Result<Vec<u8>> {
    let tensors = net.named_tensors();
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .into_iter()
        .map(|(name, shape, data)| (name, shape, data.iter().flat_map(|v| v.to_le_bytes()).collect()))
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView)> = bytes
        .iter()
        .map(|(name, shape, data)| {
            Ok((name.clone(), safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), data)?))
        })
        .collect::<Result<_, safetensors::SafeTensorError>>()?;
    let mut metadata: HashMap<String, String> = HashMap::from([
        ("d_model".into(), config.d_model.to_string()),
        ("n_heads".into(), config.n_heads.to_string()),
        ("n_layers".into(), config.n_layers.to_string()),
        ("d_ff".into(), config.d_ff.to_string()),
        ("max_letters".into(), config.max_letters.to_string()),
        ("letters".into(), letters.to_string()),
        ("phonemes".into(), phonemes.to_string()),
    ]);
    metadata.extend(meta.iter().map(|(k, v)| (k.to_string(), v.clone())));
    Ok(safetensors::serialize(views, Some(metadata))?)
}

pub fn run(args: &[String]) -> Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().context("the workspace root")?.to_path_buf();
    let data = flag(args, "--data").map(PathBuf::from).unwrap_or_else(|| root.join("target/g2p/espeak_lexicon.tsv"));
    let epochs: usize = flag(args, "--epochs").map(|v| v.parse()).transpose()?.unwrap_or(5);
    let out = flag(args, "--out").map(PathBuf::from).unwrap_or_else(|| root.join("g2p/data/en_oov.safetensors"));
    if !data.exists() {
        std::fs::create_dir_all(data.parent().context("a data folder")?)?;
        eprintln!("reading the dictionaries' words through espeak-ng -> {}", data.display());
        let status = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(&root)
            .args(["run", "--release", "-p", "warble-g2p", "--features", "espeak", "--example", "espeak_lexicon", "--"])
            .arg(&data)
            .status()?;
        if !status.success() {
            bail!("the espeak-ng readings could not be made (is libespeak-ng-dev installed?)");
        }
    }
    let text = std::fs::read_to_string(&data).with_context(|| format!("reading {}", data.display()))?;
    let rows: Vec<(&str, &str, &str)> = text
        .lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            Some((f.next()?, f.next()?, f.next()?))
        })
        .filter(|(w, _, _)| w.chars().count() <= CONFIG.max_letters)
        .collect();
    let letters: String = rows.iter().flat_map(|r| r.0.chars()).collect::<BTreeSet<_>>().into_iter().collect();
    let phonemes: String =
        rows.iter().flat_map(|r| r.1.chars().chain(r.2.chars())).collect::<BTreeSet<_>>().into_iter().collect();
    let letter_id: HashMap<char, i64> = letters.chars().enumerate().map(|(i, c)| (c, i as i64 + 1)).collect();
    let phoneme_id: HashMap<char, i64> = phonemes.chars().enumerate().map(|(i, c)| (c, i as i64 + 1)).collect();
    // Per training word, its readings that CTC can fit; the held-out readings as text.
    let (mut train, mut test) = (Vec::<Vec<Sample>>::new(), Vec::new());
    for &(word, us, gb) in &rows {
        let mut both = Vec::new();
        for (british, reading) in [(false, us), (true, gb)] {
            let s = Sample {
                letters: word.chars().map(|c| letter_id[&c]).collect(),
                british,
                phonemes: reading.chars().map(|c| phoneme_id[&c]).collect(),
            };
            if held_out(word) {
                test.push((word, british, reading));
            } else if fits(&s) {
                both.push(s);
            }
        }
        if !both.is_empty() {
            train.push(both);
        }
    }
    eprintln!(
        "{} words: {} training words, {} readings held out; {} letters, {} phoneme symbols",
        rows.len(),
        train.len(),
        test.len(),
        letters.chars().count(),
        phonemes.chars().count()
    );

    let held_out_rate = |model: &LearntG2p, british: bool| {
        let set: Vec<_> = test.iter().filter(|t| t.1 == british).collect();
        100.0 * set.iter().filter(|(w, b, r)| model.read(w, *b).as_deref() == Some(*r)).count() as f64
            / set.len() as f64
    };
    if let Some(file) = flag(args, "--evaluate") {
        let model = LearntG2p::from_bytes(&std::fs::read(&file).with_context(|| format!("reading {file}"))?)?;
        let (us, gb) = (held_out_rate(&model, false), held_out_rate(&model, true));
        println!("{file}: held-out exact en-us {us:.2} %, en-gb {gb:.2} % ({} readings)", test.len());
        let raw = test.iter().filter(|(w, b, r)| model.read_raw(w, *b).as_deref() == Some(*r)).count();
        println!("  without the one-primary-stress rule: {:.2} %", 100.0 * raw as f64 / test.len() as f64);
        // The baseline on the same readings: Warble's letter-to-sound rules, the fallback before the learnt reader.
        for british in [false, true] {
            let set: Vec<_> = test.iter().filter(|t| t.1 == british).collect();
            let right = set.iter().filter(|(w, b, r)| warble_g2p::EnglishG2p::letter_rules(w, *b) == *r).count();
            let dialect = if british { "en-gb" } else { "en-us" };
            println!("  the letter-to-sound rules, {dialect}: {:.2} %", 100.0 * right as f64 / set.len() as f64);
        }
        return Ok(());
    }

    let device = Device::flex().autodiff();
    device.seed(7);
    // No dropout: 400 k samples seen a few times do not over-fit, and Burn's dropout masks cost a fifth of a step.
    let mut net = G2pNet::new(CONFIG, letters.chars().count(), phonemes.chars().count(), 0.0, &device);
    // Going on from a weights file (Adam's moments start afresh, hence the warm-up again); its command is kept in
    // the new file's provenance, so the chain of runs that made the weights stays written down.
    let mut history = String::new();
    if let Some(file) = flag(args, "--resume") {
        let bytes = std::fs::read(&file).with_context(|| format!("reading {file}"))?;
        let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes)?;
        if let Some(earlier) = meta.metadata().as_ref().and_then(|m| m.get("command")) {
            history = format!("{earlier}, then ");
        }
        net = net.load_named(&bytes, &device)?;
        eprintln!("resuming from {file}");
    }
    let peak: f64 = flag(args, "--lr").map(|v| v.parse()).transpose()?.unwrap_or(2e-3);
    let seed: u64 = flag(args, "--seed").map(|v| v.parse()).transpose()?.unwrap_or(42);
    let mut command = format!("cargo xtask train-g2p --epochs {epochs}");
    for (name, default) in [("--resume", None), ("--lr", Some("0.002")), ("--seed", Some("42"))] {
        if let Some(v) = flag(args, name).filter(|v| Some(v.as_str()) != default) {
            command.push_str(&format!(" {name} {v}"));
        }
    }
    let mut optim = AdamConfig::new().init();
    let ctc = CTCLossConfig::new().init();
    let mut rng = SplitMix64(seed);
    // Each epoch sees every training word once, in one dialect drawn at random (the two readings of a word differ
    // in a few symbols; seeing both every epoch doubled the time for little).
    const BATCH: usize = 512;
    let steps = train.len().div_ceil(BATCH) * epochs;
    let warmup = 200.0;
    let started = Instant::now();
    let mut step = 0usize;
    // The last epoch's held-out scores (en-us, en-gb): the final weights'.
    let mut scores = (0.0, 0.0);
    for epoch in 0..epochs {
        // Batches of similar lengths (little padding), in random order.
        let mut picked: Vec<&Sample> = train.iter().map(|both| &both[rng.below(both.len())]).collect();
        rng.shuffle(&mut picked);
        picked.sort_by_key(|s| s.letters.len());
        let mut order: Vec<&[&Sample]> = picked.chunks(BATCH).collect();
        rng.shuffle(&mut order);
        let (mut loss_sum, mut seen) = (0.0f64, 0usize);
        for samples in order {
            let batch = Batch::new(samples);
            let logits = net.forward(&batch, &device);
            let log_probs = log_softmax(logits, 2).swap_dims(0, 1);
            let ints1 = |v: &[i64]| Tensor::<1, Int>::from_data(TensorData::new(v.to_vec(), [v.len()]), &device);
            let targets = Tensor::<2, Int>::from_data(
                TensorData::new(batch.targets.clone(), [batch.size, batch.target_width]),
                &device,
            );
            let loss = ctc.forward_with_reduction(
                log_probs,
                targets,
                ints1(&batch.lengths),
                ints1(&batch.target_lengths),
                Reduction::Mean,
            );
            let value: f32 = loss.clone().into_scalar::<f32>();
            let grads = GradientsParams::from_grads(loss.backward(), &net);
            let s = step as f64;
            let lr = if s < warmup { peak * (s + 1.0) / warmup } else { peak * (1.0 - s / steps as f64).max(0.02) };
            net = optim.step(lr, net, grads);
            loss_sum += f64::from(value);
            seen += 1;
            step += 1;
            if step.is_multiple_of(50) {
                eprintln!(
                    "epoch {} step {step}/{steps}: loss {:.4} lr {lr:.2e} ({:.0} s)",
                    epoch + 1,
                    loss_sum / seen as f64,
                    started.elapsed().as_secs_f32()
                );
            }
        }
        let bytes = to_safetensors(&net, CONFIG, &letters, &phonemes, &[])?;
        // Each epoch's weights beside the output, so an interrupted run keeps its best.
        let checkpoint = out.with_extension(format!("epoch{}", epoch + 1));
        write_atomically(&checkpoint, &bytes).with_context(|| format!("writing {}", checkpoint.display()))?;
        let model = LearntG2p::from_bytes(&bytes)?;
        scores = (held_out_rate(&model, false), held_out_rate(&model, true));
        eprintln!(
            "epoch {}: loss {:.4}, held-out exact en-us {:.2} %, en-gb {:.2} % ({} readings), {:.0} s",
            epoch + 1,
            loss_sum / seen as f64,
            scores.0,
            scores.1,
            test.len(),
            started.elapsed().as_secs_f32()
        );
    }
    let (us, gb) = scores;
    let bytes = to_safetensors(
        &net,
        CONFIG,
        &letters,
        &phonemes,
        &[
            ("command", format!("{history}{command}")),
            ("data", format!("{} words of misaki's gold and silver dictionaries read by espeak-ng", rows.len())),
            ("held_out", format!("{} readings: en-us {us:.2} %, en-gb {gb:.2} % exact", test.len())),
        ],
    )?;
    // Through a temporary file: an interrupted write leaves the shipped model as it was.
    write_atomically(&out, &bytes).with_context(|| format!("writing {}", out.display()))?;
    eprintln!("wrote {} in {:.0} s", out.display(), started.elapsed().as_secs_f32());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plain_rust_forward_is_the_burn_module() {
        let device = Device::flex();
        device.seed(3);
        let config = LearntConfig { d_model: 32, n_heads: 4, n_layers: 2, d_ff: 64, max_letters: 8 };
        let net = G2pNet::new(config, 5, 7, 0.0, &device);
        let model = LearntG2p::from_bytes(&to_safetensors(&net, config, "abcde", "ABCDEFG", &[]).unwrap()).unwrap();
        // Two words of different lengths in one padded batch: the padding must not change the shorter one.
        let words = ["abcea", "dab"];
        let samples: Vec<Sample> = words
            .iter()
            .map(|w| Sample {
                letters: w.bytes().map(|b| i64::from(b - b'a' + 1)).collect(),
                british: true,
                phonemes: vec![1],
            })
            .collect();
        let logits = net.forward(&Batch::new(&samples.iter().collect::<Vec<_>>()), &device);
        let [_, t, c] = logits.dims();
        let burn: Vec<f32> = logits.into_data().try_to_vec().unwrap();
        for (i, w) in words.iter().enumerate() {
            let ours = model.logits(&model.encode(w).unwrap(), true);
            let theirs = &burn[i * t * c..][..w.len() * SLOTS * c];
            let worst = ours.iter().zip(theirs).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            assert!(worst < 1e-4, "{w}: largest difference {worst}");
        }
        assert_eq!(model.encode("abf"), None, "a letter outside the alphabet");
    }

    #[test]
    fn a_written_network_reads_back_and_a_different_shape_is_refused() {
        let device = Device::flex();
        device.seed(5);
        let config = LearntConfig { d_model: 16, n_heads: 2, n_layers: 2, d_ff: 32, max_letters: 8 };
        let written = G2pNet::new(config, 5, 7, 0.0, &device);
        let bytes = to_safetensors(&written, config, "abcde", "ABCDEFG", &[]).unwrap();
        device.seed(6);
        let fresh = G2pNet::new(config, 5, 7, 0.0, &device);
        assert_ne!(fresh.named_tensors(), written.named_tensors(), "another seed, other weights");
        let read = fresh.load_named(&bytes, &device).unwrap();
        assert_eq!(read.named_tensors(), written.named_tensors());
        let other = G2pNet::new(config, 5, 8, 0.0, &device).load_named(&bytes, &device);
        let message = format!("{:#}", other.expect_err("one more phoneme: another output shape"));
        assert!(message.contains("output.weight") && message.contains("does not fit"), "{message}");
    }
}
