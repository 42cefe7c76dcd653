//! `warble clone` and `warble similarity`: voice cloning from reference recordings, and the speaker judge.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use warble_engine::{Backend, CloneOptions, Engine, EngineOptions};
use warble_speaker::{Reference, SpeakerEncoder, cosine, load_references};

use crate::{ModelArgs, check_writable};

#[derive(clap::Args)]
pub struct CloneArgs {
    /// Reference recordings of one speaker (WAV, FLAC, MP3, Ogg Vorbis; 5–30 s of speech in all is best)
    #[arg(required = true)]
    references: Vec<PathBuf>,
    /// Where to write the voice pack (510 × 256 float32, usable as --voice ./VOICE.bin and in blends)
    #[arg(short, long)]
    output: PathBuf,
    /// Voice name shown in listings [default: the output file's name]
    #[arg(long)]
    name: Option<String>,
    /// Candidates rendered and judged (~1.5 s each on 2 cores); more is slower and usually closer
    #[arg(long, default_value_t = CloneOptions::default().evaluations)]
    evaluations: usize,
    /// What the recordings say, in order: the candidates then speak the same words (its first sentences, ~12 s);
    /// measured: voices like Kokoro's a little closer (+0.008), espeak-ng's not, each candidate ~2x slower
    #[arg(long)]
    transcript: Option<String>,
    /// Language of --transcript: auto (detect), en-us, en-gb, es, fr, it, pt-br, hi, ja, zh
    #[arg(long, default_value = "auto", requires = "transcript")]
    lang: String,
    #[command(flatten)]
    model: ModelArgs,
}

#[derive(clap::Args)]
pub struct SimilarityArgs {
    /// First recording (or a folder-free list of files of one speaker, separated by commas)
    a: String,
    /// Second recording (same forms)
    b: String,
}

fn print_warnings(what: &str, r: &Reference) {
    for w in &r.warnings {
        eprintln!("warble: warning: {what}: {w}");
    }
}

fn paths(list: &str) -> Vec<PathBuf> {
    list.split(',').filter(|s| !s.is_empty()).map(PathBuf::from).collect()
}

/// `warble similarity A B`: the GE2E cosine of two recordings (1.0 = same embedding; ~0.92 is the same speaker
/// on different sentences, ~0.59 two different Kokoro voices).
pub fn similarity(args: SimilarityArgs) -> Result<()> {
    let a = load_references(&paths(&args.a)).with_context(|| format!("reading {}", args.a))?;
    let b = load_references(&paths(&args.b)).with_context(|| format!("reading {}", args.b))?;
    print_warnings(&args.a, &a);
    print_warnings(&args.b, &b);
    let encoder = SpeakerEncoder::new(&Default::default())?;
    let (ea, eb) = (encoder.embed_utterance(&a.samples)?, encoder.embed_utterance(&b.samples)?);
    println!("{:.4}", cosine(&ea, &eb));
    Ok(())
}

pub fn clone(args: CloneArgs) -> Result<()> {
    // Fail on the output path and the references before loading the model or spending a minute.
    check_writable(&args.output)?;
    if args.evaluations < 4 {
        bail!("--evaluations must be at least 4 (the three closest stock voices and one proposal are always judged)");
    }
    let transcript_language = crate::parse_lang(&args.lang)?;
    if let Some(t) = &args.transcript {
        warble_engine::check_transcript(t, transcript_language)?;
    }
    let name = args.name.clone().unwrap_or_else(|| stem(&args.output));
    let reference = load_references(&args.references)?;
    print_warnings("reference", &reference);
    eprintln!(
        "warble: {:.1} s of speech from {} file(s) ({:.1} s of audio)",
        reference.seconds(),
        args.references.len(),
        reference.input_seconds
    );
    let engine = Engine::load(&EngineOptions {
        model: args.model.model,
        voices: args.model.voices,
        backend: Backend::Cpu,
        cache_dir: None,
    })?;
    let opts = CloneOptions {
        evaluations: args.evaluations,
        transcript: args.transcript,
        transcript_language,
        ..CloneOptions::default()
    };
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(opts.evaluations as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} candidates {elapsed} (about {eta} left) {msg}")
                .expect("valid template"),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    });
    let t = Instant::now();
    let voice = engine.clone_voice(&reference, &name, &opts, &mut |p| {
        if let Some(bar) = &bar {
            bar.set_position(p.evaluations as u64);
            bar.set_message(format!("similarity {:.3}", p.best));
        }
    })?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    voice.pack.write_bin(&args.output)?;
    let (near, dist) = &voice.nearest_voice;
    println!(
        "wrote {} (voice {name:?}) in {:.0} s: similarity {:.3} to the reference (closest stock voice {} {:.3}); \
         style distance {dist:.2} from {near} (stock voices sit {:.2} apart)",
        args.output.display(),
        t.elapsed().as_secs_f64(),
        voice.similarity,
        voice.best_stock.0,
        voice.best_stock.1,
        voice.stock_spacing,
    );
    println!("use it: warble say --voice {} \"Hello there.\"", shown(&args.output));
    Ok(())
}

fn stem(path: &Path) -> String {
    path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "clone".into())
}

/// The path as `--voice` needs it: a bare file name gets `./` so it reads as a path, not a voice name.
fn shown(path: &Path) -> String {
    let s = path.display().to_string();
    if warble_speaker::is_voice_path(&s) { s } else { format!("./{s}") }
}
