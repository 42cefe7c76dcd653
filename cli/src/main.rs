//! `warble`: speak phonemes (and text) with Kokoro-82M, list voices.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use serde_json::json;
use warble_engine::audio::{wav_bytes, write_atomically, SampleFormat};
use warble_engine::{Backend, Engine, EngineOptions, Synthesis, SynthesisOptions, VoiceLibrary};

#[derive(Parser)]
#[command(name = "warble", version, about = "Text-to-speech with Kokoro-82M, in Rust on Burn")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// 16-bit PCM WAV
    Pcm16,
    /// 32-bit float WAV
    F32,
}

#[derive(clap::Args)]
struct ModelArgs {
    /// Weights: a .onnx, .pth or .safetensors file, or a folder holding one [default: $WARBLE_MODEL_DIR, then the per-user folder]
    #[arg(long)]
    model: Option<PathBuf>,
    /// Voices: a .bin/.pt/.npz file or a folder of them [default: beside the model]
    #[arg(long)]
    voices: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Synthesize speech to a WAV file
    Say {
        /// Phonemes in Kokoro's symbols (IPA as misaki writes it)
        #[arg(long)]
        phonemes: Option<String>,
        /// Voice name or weighted blend, e.g. af_heart or jf_alpha:0.7,jm_kumo:0.3
        #[arg(long, default_value = "af_heart")]
        voice: String,
        /// Speaking rate: 1.0 normal, 2.0 twice as fast
        #[arg(long, default_value_t = 1.0)]
        speed: f32,
        /// Output WAV file, or - for stdout
        #[arg(short = 'o', long = "output", default_value = "out.wav")]
        output: String,
        /// Write chunk durations and per-symbol times as JSON
        #[arg(long)]
        timings: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "pcm16")]
        format: Format,
        /// cpu (Burn flex) or wgpu (needs a build with --features wgpu)
        #[arg(long, default_value = "cpu")]
        backend: String,
        /// Drop phoneme symbols the model does not know instead of failing
        #[arg(long)]
        lenient: bool,
        /// Turn off the sine source's Gaussian noise (bit-reproducible, like the ONNX export)
        #[arg(long)]
        no_noise: bool,
        /// Seed of the sine source's noise
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[command(flatten)]
        model: ModelArgs,
    },
    /// List the available voices
    Voices {
        #[command(flatten)]
        model: ModelArgs,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("warble: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Voices { model } => list_voices(&model),
        Command::Say {
            phonemes,
            voice,
            speed,
            output,
            timings,
            format,
            backend,
            lenient,
            no_noise,
            seed,
            model,
        } => {
            let Some(phonemes) = phonemes else {
                bail!("give the phonemes to speak with --phonemes \"...\"");
            };
            let backend = Backend::parse(&backend)?;
            let mut opts = SynthesisOptions::new(voice);
            opts.speed = speed;
            opts.lenient = lenient;
            opts.noise = if no_noise { warble_engine::SourceNoise::Off } else { warble_engine::SourceNoise::Seeded(seed) };
            let engine = Engine::load(&EngineOptions {
                model: model.model,
                voices: model.voices,
                backend,
                cache_dir: None,
            })?;
            let synthesis = engine.synthesize_phonemes(&phonemes, &opts)?;
            let format = match format {
                Format::Pcm16 => SampleFormat::Pcm16,
                Format::F32 => SampleFormat::F32,
            };
            write_outputs(&synthesis, &output, timings.as_deref(), format)
        }
    }
}

fn write_outputs(s: &Synthesis, output: &str, timings: Option<&Path>, format: SampleFormat) -> Result<()> {
    let wav = wav_bytes(&s.audio, s.sample_rate(), format)?;
    // Everything is computed before anything is written, so a failure leaves no partial output.
    let timings_json = timings.map(|_| timings_json(s));
    if output == "-" {
        std::io::stdout().lock().write_all(&wav).context("writing audio to stdout")?;
    } else {
        write_atomically(Path::new(output), &wav).with_context(|| format!("writing {output}"))?;
    }
    if let (Some(path), Some(json)) = (timings, timings_json) {
        write_atomically(path, json.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn timings_json(s: &Synthesis) -> String {
    let chunks: Vec<_> = s
        .chunks
        .iter()
        .map(|c| json!({"phonemes": c.phonemes, "durations": c.durations, "start_sample": c.start_sample}))
        .collect();
    let tokens: Vec<_> = s
        .tokens()
        .iter()
        .map(|t| json!({"symbol": t.symbol.to_string(), "start": round_ms(t.start), "end": round_ms(t.end)}))
        .collect();
    let v = json!({"sample_rate": s.sample_rate(), "chunks": chunks, "tokens": tokens});
    serde_json::to_string_pretty(&v).expect("JSON of plain values")
}

fn round_ms(seconds: f64) -> f64 {
    (seconds * 1e6).round() / 1e6
}

fn list_voices(model: &ModelArgs) -> Result<()> {
    let path = match (&model.voices, &model.model) {
        (Some(v), _) => v.clone(),
        (None, m) => {
            let file = warble_engine::paths::resolve_model(m.as_deref())?;
            warble_engine::paths::resolve_voices(None, &file)?
        }
    };
    let lib = VoiceLibrary::load(&path)?;
    let mut out = std::io::stdout().lock();
    for name in lib.names() {
        writeln!(out, "{name}")?;
    }
    Ok(())
}

#[allow(dead_code)]
fn read_stdin() -> Result<String> {
    let mut s = String::new();
    std::io::stdin().read_to_string(&mut s)?;
    Ok(s)
}
