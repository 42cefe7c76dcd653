//! `warble`: speak phonemes (and text) with Kokoro-82M, list voices.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use serde_json::json;
use warble_engine::audio::{wav_bytes, write_atomically, SampleFormat};
use warble_engine::{Backend, Engine, EngineOptions, Language, Synthesis, SynthesisOptions, VoiceLibrary};

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
        /// Text to speak (or use -f FILE, --phonemes, or pipe text on stdin)
        text: Option<String>,
        /// Read the text from a file
        #[arg(short = 'f', long = "file", conflicts_with = "text")]
        file: Option<PathBuf>,
        /// Phonemes in Kokoro's symbols (IPA as misaki writes it) instead of text
        #[arg(long, conflicts_with_all = ["text", "file"])]
        phonemes: Option<String>,
        /// SSML input: a file, - for stdin, or the markup itself (anything starting with `<`)
        #[arg(long, conflicts_with_all = ["text", "file", "phonemes"])]
        ssml: Option<String>,
        /// With --ssml: unknown elements or attributes, clamped values and unsupported say-as are errors, not warnings
        #[arg(long, requires = "ssml")]
        strict: bool,
        /// Language of the text: auto (detect per sentence and script), en-us, en-gb, es, fr, it, pt-br, hi, ja, zh
        #[arg(long, default_value = "auto")]
        lang: String,
        /// Voice name or weighted blend, e.g. af_heart or jf_alpha:0.7,jm_kumo:0.3 [default: the language's default voice]
        #[arg(long)]
        voice: Option<String>,
        /// With several languages and no --voice: give each language its default voice
        #[arg(long)]
        per_language_voices: bool,
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
    /// Print the phonemes Warble would speak for a text (one line of phonemes per input line on stdin)
    Phonemize {
        text: Option<String>,
        #[arg(long, default_value = "en-us")]
        lang: String,
    },
    /// Detect languages: for each line on stdin print `code<TAB>text` runs separated by ` | `
    Detect,
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
        Command::Phonemize { text, lang } => phonemize(text, &lang),
        Command::Detect => {
            let input = read_stdin()?;
            let mut out = std::io::stdout().lock();
            for line in input.lines() {
                writeln!(out, "{}", warble_engine::detect_line(line))?;
            }
            Ok(())
        }
        Command::Say {
            text,
            file,
            phonemes,
            ssml,
            strict,
            lang,
            voice,
            per_language_voices,
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
            let backend = Backend::parse(&backend)?;
            let lang = parse_lang(&lang)?;
            let mut opts = SynthesisOptions::new(voice.clone().unwrap_or_default());
            opts.speed = speed;
            opts.lenient = lenient;
            opts.per_language_voices = per_language_voices;
            opts.noise = if no_noise { warble_engine::SourceNoise::Off } else { warble_engine::SourceNoise::Seeded(seed) };
            // Read the input before loading the model, so a bad path fails fast.
            let ssml = match ssml.as_deref() {
                None => None,
                Some("-") => Some(read_stdin()?),
                Some(s) if s.trim_start().starts_with('<') => Some(s.to_string()),
                Some(path) => Some(std::fs::read_to_string(path).with_context(|| format!("reading SSML file {path}"))?),
            };
            let text = match (&phonemes, text, file) {
                _ if ssml.is_some() => None,
                (Some(_), _, _) => None,
                (None, Some(t), _) => Some(t),
                (None, None, Some(f)) => Some(std::fs::read_to_string(&f).with_context(|| format!("reading {}", f.display()))?),
                (None, None, None) => {
                    if std::io::stdin().is_terminal() {
                        bail!("nothing to say: give text (warble say \"Hello.\"), -f FILE, --phonemes, or pipe text on stdin");
                    }
                    Some(read_stdin()?)
                }
            };
            let engine = Engine::load(&EngineOptions {
                model: model.model,
                voices: model.voices,
                backend,
                cache_dir: None,
            })?;
            let synthesis = match (&phonemes, text) {
                _ if ssml.is_some() => {
                    let parse = warble_engine::ssml::ParseOptions { strict, ..Default::default() };
                    engine.synthesize_ssml(ssml.as_deref().unwrap_or_default(), lang, &opts, &parse)?
                }
                (Some(p), _) => {
                    if opts.voice.is_empty() {
                        opts.voice = "af_heart".into();
                    }
                    engine.synthesize_phonemes(p, &opts)?
                }
                (None, Some(t)) => engine.synthesize_text(&t, lang, &opts)?,
                (None, None) => unreachable!("input read above"),
            };
            for w in &synthesis.warnings {
                eprintln!("warble: warning: {w}");
            }
            let format = match format {
                Format::Pcm16 => SampleFormat::Pcm16,
                Format::F32 => SampleFormat::F32,
            };
            write_outputs(&synthesis, &output, timings.as_deref(), format)
        }
    }
}

fn parse_lang(code: &str) -> Result<Option<Language>> {
    if code.eq_ignore_ascii_case("auto") {
        Ok(None)
    } else {
        Ok(Some(Language::parse(code)?))
    }
}

fn phonemize(text: Option<String>, lang: &str) -> Result<()> {
    let Some(lang) = parse_lang(lang)? else {
        bail!("phonemize needs a language (--lang en-us, en-gb, es, fr, it, pt-br, hi, ja or zh); `auto` is for `warble say`");
    };
    let g2p = warble_engine::g2p_for(lang)?;
    let mut out = std::io::stdout().lock();
    match text {
        Some(t) => writeln!(out, "{}", warble_engine::phonemize_line(g2p.as_ref(), &t)?)?,
        None => {
            for line in read_stdin()?.lines() {
                writeln!(out, "{}", warble_engine::phonemize_line(g2p.as_ref(), line)?)?;
            }
        }
    }
    Ok(())
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
    let words: Vec<_> = s
        .words
        .iter()
        .map(|w| json!({"text": w.text, "start": round_ms(w.start), "end": round_ms(w.end)}))
        .collect();
    let marks: Vec<_> = s.marks.iter().map(|m| json!({"name": m.name, "time": round_ms(m.time)})).collect();
    let v = json!({"sample_rate": s.sample_rate(), "chunks": chunks, "tokens": tokens, "words": words, "marks": marks});
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

fn read_stdin() -> Result<String> {
    let mut s = String::new();
    std::io::stdin().read_to_string(&mut s)?;
    Ok(s)
}
