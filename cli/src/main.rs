//! `warble`: speak phonemes (and text) with Kokoro-82M, list voices.

mod clone;
mod download;
mod quantize;

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use serde_json::json;
use warble_engine::audio::{SampleFormat, wav_bytes, write_atomically};
use warble_engine::output::{Encoding, OutputTarget, Packetizer, Resampler, StreamWriter};
use warble_engine::{
    AudioChunk, Backend, Engine, EngineOptions, Input, Language, Latency, SAMPLE_RATE, Synthesis, SynthesisOptions,
    VoiceLibrary, VoicePack,
};

#[derive(Parser)]
#[command(name = "warble", version, about = "Text-to-speech with Kokoro-82M, in Rust on Burn")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// 16-bit PCM WAV
    #[value(alias = "pcm16")]
    Wav,
    /// 32-bit float WAV
    F32,
    /// raw signed 16-bit little-endian samples, no header
    S16le,
    /// raw 32-bit float little-endian samples, no header
    F32le,
}

impl Format {
    fn encoding(self) -> Encoding {
        match self {
            Format::Wav => Encoding::Wav16,
            Format::F32 => Encoding::WavF32,
            Format::S16le => Encoding::S16le,
            Format::F32le => Encoding::F32le,
        }
    }
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
// Parsed once at startup and matched once: the size of `Say`'s many options costs nothing.
#[allow(clippy::large_enum_variant)]
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
        /// Output file, - for stdout; a device or FIFO is written in place
        #[arg(short = 'o', long = "output", default_value = "out.wav")]
        output: String,
        /// Write chunk durations and per-symbol times as JSON
        #[arg(long)]
        timings: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "wav")]
        format: Format,
        /// Write audio as it is made (text on stdin is read and spoken unit by unit as it arrives)
        #[arg(long)]
        stream: bool,
        /// Output sample rate in Hz: 8000, 16000, 22050, 24000 (the model's), 44100, 48000, ...
        #[arg(long, default_value_t = 24_000)]
        sample_rate: u32,
        /// With --stream: write in packets of this many milliseconds (e.g. 20 for WebRTC)
        #[arg(long, requires = "stream")]
        packet_ms: Option<u32>,
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
        /// Language of the text: auto (detect per sentence and script, as `say` does), en-us, en-gb, es, fr, it,
        /// pt-br, hi, ja, zh
        #[arg(long, default_value = "auto")]
        lang: String,
    },
    /// Detect languages: for each line on stdin print `code<TAB>text` runs separated by ` | `
    Detect,
    /// Serve speech over HTTP: OpenAI-compatible /v1/audio/speech (streamed), a live WebSocket, voices, metrics
    Serve {
        /// Address to bind; localhost unless told otherwise
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        #[arg(long, default_value_t = 8880)]
        port: u16,
        /// Synthesis threads (each runs one model call at a time; 1 suits 2 cores)
        #[arg(long, default_value_t = 1)]
        workers: usize,
        /// Require `Authorization: Bearer KEY` [default: $WARBLE_API_KEY if set, else no key]
        #[arg(long)]
        api_key: Option<String>,
        /// Allow browsers from these origins (CORS; `*` for any); off by default
        #[arg(long = "cors-origin")]
        cors_origins: Vec<String>,
        /// Longest input accepted, in characters
        #[arg(long, default_value_t = 16_384)]
        max_input_chars: usize,
        /// Requests waiting for a worker before new ones get 429
        #[arg(long, default_value_t = 16)]
        queue: usize,
        /// Longest a request may take, in seconds
        #[arg(long, default_value_t = 600)]
        timeout: u64,
        /// cpu (Burn flex) or wgpu (needs a build with --features wgpu)
        #[arg(long, default_value = "cpu")]
        backend: String,
        /// Offer the voices of this file (a `warble clone` pack, named after the file) or folder; repeatable
        #[arg(long = "add-voice", value_name = "PATH")]
        add_voices: Vec<PathBuf>,
        #[command(flatten)]
        model: ModelArgs,
    },
    /// Download Kokoro-82M v1.0 and its voices (into the per-user folder Warble searches, or --to DIR)
    #[command(long_about = download::ABOUT)]
    Download(download::DownloadArgs),
    /// Clone a voice from reference recordings into a voice pack (use it with --voice ./VOICE.bin)
    Clone(clone::CloneArgs),
    /// Quantize the Kokoro weights (int8, int4-mixed, bf16 or a policy file) into a smaller model file
    Quantize(quantize::QuantizeArgs),
    /// Speaker similarity of two recordings (GE2E cosine: ~0.92 same speaker, ~0.59 different voices)
    Similarity(clone::SimilarityArgs),
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
        Command::Download(args) => download::run(args),
        Command::Clone(args) => clone::clone(args),
        Command::Similarity(args) => clone::similarity(args),
        Command::Quantize(args) => quantize::quantize(args),
        Command::Serve {
            host,
            port,
            workers,
            api_key,
            cors_origins,
            max_input_chars,
            queue,
            timeout,
            backend,
            add_voices,
            model,
        } => {
            let backend = Backend::parse(&backend)?;
            // The added voices are read and checked before the model loads: a bad file fails at once.
            let added = read_added_voices(&add_voices)?;
            let mut engine =
                Engine::load(&EngineOptions { model: model.model, voices: model.voices, backend, cache_dir: None })?;
            for (path, pack) in added {
                let name = pack.name().to_string();
                engine.add_voice(pack).with_context(|| format!("--add-voice {}", path.display()))?;
                eprintln!("warble: serving voice {name} (from {})", path.display());
            }
            let cfg = warble_server::ServerConfig {
                host,
                port,
                workers: workers.max(1),
                api_key: api_key.or_else(|| std::env::var("WARBLE_API_KEY").ok()).filter(|k| !k.is_empty()),
                cors_origins,
                max_input_chars,
                queue_capacity: queue,
                request_timeout: Duration::from_secs(timeout),
            };
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the server runtime")?;
            runtime.block_on(warble_server::serve(Arc::new(engine), cfg, warble_server::shutdown_signal()))?;
            Ok(())
        }
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
            stream,
            sample_rate,
            packet_ms,
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
            opts.noise =
                if no_noise { warble_engine::SourceNoise::Off } else { warble_engine::SourceNoise::Seeded(seed) };
            if !stream {
                opts.latency = Latency::Whole;
            }
            if phonemes.is_some() && opts.voice.is_empty() {
                opts.voice = "af_heart".into();
            }
            // Everything that can fail without the model fails first: the output path, the rate, the input.
            let resampler = Resampler::new(sample_rate)?;
            let target = OutputTarget::open(&output)?;
            if let Some(t) = &timings {
                check_writable(t)?;
            }
            let ssml = match ssml.as_deref() {
                None => None,
                Some("-") => Some(read_stdin()?),
                Some(s) if s.trim_start().starts_with('<') => Some(s.to_string()),
                Some(path) => Some(std::fs::read_to_string(path).with_context(|| format!("reading SSML file {path}"))?),
            };
            // Text to read incrementally (stdin or a file with --stream) or known now.
            let source = match (&phonemes, text, file) {
                _ if ssml.is_some() => None,
                (Some(_), _, _) => None,
                (None, Some(t), _) => Some(TextSource::Known(t)),
                (None, None, Some(f)) if stream => Some(TextSource::Reader(Box::new(
                    std::fs::File::open(&f).with_context(|| format!("reading {}", f.display()))?,
                ))),
                (None, None, Some(f)) => Some(TextSource::Known(
                    std::fs::read_to_string(&f).with_context(|| format!("reading {}", f.display()))?,
                )),
                (None, None, None) => {
                    if std::io::stdin().is_terminal() {
                        bail!(
                            "nothing to say: give text (warble say \"Hello.\"), -f FILE, --phonemes, or pipe text on stdin"
                        );
                    }
                    if stream {
                        Some(TextSource::Reader(Box::new(std::io::stdin())))
                    } else {
                        Some(TextSource::Known(read_stdin()?))
                    }
                }
            };
            let input = match (ssml, &phonemes, source) {
                (Some(markup), _, _) => Speak::Input(Input::Ssml { markup, lang, strict }),
                (None, Some(p), _) => Speak::Input(Input::phonemes(p.clone())),
                (None, None, Some(TextSource::Known(text))) => Speak::Input(Input::Text { text, lang }),
                (None, None, Some(TextSource::Reader(r))) => Speak::Incremental(r),
                (None, None, None) => bail!("nothing to say"),
            };
            let engine =
                Engine::load(&EngineOptions { model: model.model, voices: model.voices, backend, cache_dir: None })?;
            let sink = Sink::new(target, format.encoding(), resampler, packet_ms, stream)?;
            speak(&engine, input, lang, &opts, sink, timings.as_deref(), stream)
        }
    }
}

/// Text that is known now, or read as it arrives.
enum TextSource {
    Known(String),
    Reader(Box<dyn Read + Send>),
}

enum Speak {
    Input(Input),
    Incremental(Box<dyn Read + Send>),
}

/// Where the audio goes: resampled, cut into packets, encoded, written (at once with --stream, at the end
/// otherwise).
struct Sink {
    target: OutputTarget,
    encoding: Encoding,
    resampler: Resampler,
    packets: Option<Packetizer>,
    /// Streamed bytes are written through this; `None` until the first write (and for batch output).
    written: u64,
    header: bool,
    stream: bool,
    /// Batch output: samples at the output rate, written at the end.
    held: Vec<f32>,
}

impl Sink {
    fn new(
        target: OutputTarget,
        encoding: Encoding,
        resampler: Resampler,
        packet_ms: Option<u32>,
        stream: bool,
    ) -> Result<Self> {
        let packets = packet_ms.map(|ms| Packetizer::from_millis(ms, resampler.rate()));
        Ok(Self { target, encoding, resampler, packets, written: 0, header: false, stream, held: Vec::new() })
    }

    fn push(&mut self, samples: &[f32]) -> Result<()> {
        let out = self.resampler.push(samples);
        self.emit(out)
    }

    fn emit(&mut self, out: Vec<f32>) -> Result<()> {
        if !self.stream {
            self.held.extend_from_slice(&out);
            return Ok(());
        }
        match &mut self.packets {
            Some(p) => {
                for packet in p.push(&out) {
                    self.write(&packet)?;
                }
            }
            None => self.write(&out)?,
        }
        Ok(())
    }

    /// Streams bytes now. A WAV to a regular file gets an 80-byte header whose sizes are patched at the end; to
    /// a pipe or device, the streamed header with unknown sizes.
    fn write(&mut self, samples: &[f32]) -> Result<()> {
        let rate = self.resampler.rate();
        if !self.header {
            self.header = true;
            if self.encoding.is_wav() {
                // A file gets the header whose sizes `finish` patches; a pipe or device the streamed one.
                let header = match self.target.seekable_writer() {
                    Some(f) => StreamWriter::new_seekable(f, self.encoding, rate).map(drop),
                    None => StreamWriter::new(self.target.writer(), self.encoding, rate).map(drop),
                };
                header.with_context(|| format!("writing {}", self.target.path().display()))?;
            }
        }
        let mut bytes = Vec::new();
        self.encoding.encode_into(samples, &mut bytes);
        let w = self.target.writer();
        w.write_all(&bytes)
            .and_then(|()| w.flush())
            .with_context(|| format!("writing {}", self.target.path().display()))?;
        self.written += samples.len() as u64;
        Ok(())
    }

    /// Ends the output: flushes the resampler and packets, writes batch output, patches a file's WAV sizes,
    /// and moves the file into place.
    fn finish(mut self) -> Result<()> {
        let tail = self.resampler.finish();
        self.emit(tail)?;
        if let Some(p) = &mut self.packets
            && let Some(last) = p.finish()
        {
            self.write(&last)?;
        }
        let rate = self.resampler.rate();
        let path = self.target.path().display().to_string();
        if !self.stream {
            let held = std::mem::take(&mut self.held);
            match self.target.seekable_writer() {
                Some(f) => {
                    let mut w = StreamWriter::new_seekable(f, self.encoding, rate)?;
                    w.write(&held)?;
                    w.finish_seekable()?;
                }
                None => {
                    // A pipe or device: the whole file at once, with its real sizes.
                    let bytes = match self.encoding {
                        Encoding::Wav16 => wav_bytes(&held, rate, SampleFormat::Pcm16)?,
                        Encoding::WavF32 => wav_bytes(&held, rate, SampleFormat::F32)?,
                        raw => {
                            let mut b = Vec::new();
                            raw.encode_into(&held, &mut b);
                            b
                        }
                    };
                    let w = self.target.writer();
                    w.write_all(&bytes).and_then(|()| w.flush()).with_context(|| format!("writing {path}"))?;
                }
            }
        } else if self.encoding.is_wav() {
            if !self.header {
                self.write(&[])?;
            }
            if let Some(f) = self.target.seekable_writer() {
                warble_engine::output::patch_wav_file(f, self.encoding, self.written)?;
            }
        }
        self.target.commit().with_context(|| format!("writing {path}"))?;
        Ok(())
    }
}

/// The voice packs of `warble serve --add-voice` files (or folders), each with the path it came from. Their names
/// must be ones clients can send (`warble_server::voices::is_requestable_name`).
fn read_added_voices(paths: &[PathBuf]) -> Result<Vec<(PathBuf, VoicePack)>> {
    let mut out: Vec<(PathBuf, VoicePack)> = Vec::new();
    for path in paths {
        let lib = VoiceLibrary::load(path).with_context(|| format!("--add-voice {}", path.display()))?;
        for name in lib.names() {
            if !warble_server::voices::is_requestable_name(name) {
                bail!(
                    "--add-voice {}: the voice name {name:?} (from the file's name) cannot be requested over HTTP; \
                     rename the file to use only letters, digits, `_` and `-` (at most 64)",
                    path.display()
                );
            }
            let pack = lib.get(name)?.clone();
            if let Some((first, same)) = out.iter().find(|(_, p)| p.name() == name) {
                if same.as_slice() == pack.as_slice() {
                    continue;
                }
                bail!(
                    "--add-voice {}: a different voice named {name:?} comes from {} already; rename one file",
                    path.display(),
                    first.display()
                );
            }
            out.push((path.clone(), pack));
        }
    }
    Ok(out)
}

/// Fails now if `path` cannot be written (its folder is missing or is not a folder).
fn check_writable(path: &Path) -> Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !dir.is_dir() {
        bail!("cannot write {}: folder {} does not exist", path.display(), dir.display());
    }
    if path.is_dir() {
        bail!("cannot write {}: it is a folder", path.display());
    }
    Ok(())
}

fn speak(
    engine: &Engine,
    input: Speak,
    lang: Option<Language>,
    opts: &SynthesisOptions,
    mut sink: Sink,
    timings: Option<&Path>,
    stream: bool,
) -> Result<()> {
    let mut all = Synthesis::default();
    let keep_timings = timings.is_some();
    let progress = (!stream && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::new_spinner();
        bar.set_style(ProgressStyle::with_template("{spinner} {elapsed} {msg}").expect("valid template"));
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    });
    // Ctrl-C while streaming: stop after the current window and close the output cleanly (a valid file of what
    // was spoken). Batch output keeps the default: the process ends and the temporary file is never renamed.
    let interrupted = Arc::new(AtomicBool::new(false));
    if stream {
        signal_hook::flag::register(signal_hook::consts::SIGINT, interrupted.clone())
            .context("installing the Ctrl-C handler")?;
    }
    let mut on_chunk = |c: AudioChunk, sink: &mut Sink| -> Result<()> {
        for w in &c.warnings {
            eprintln!("warble: warning: {w}");
        }
        sink.push(&c.samples)?;
        if let Some(bar) = &progress {
            let secs = (c.start_sample + c.samples.len() as u64) as f64 / f64::from(SAMPLE_RATE);
            bar.set_message(format!("{secs:.1} s of audio"));
        }
        if keep_timings {
            all.push(AudioChunk { samples: Vec::new(), warnings: Vec::new(), ..c });
        }
        Ok(())
    };
    let mut failure: Option<anyhow::Error> = None;
    match input {
        Speak::Input(input) => {
            for c in engine.stream(input, opts)? {
                if interrupted.load(Ordering::Relaxed) {
                    break;
                }
                match c {
                    Ok(c) => on_chunk(c, &mut sink)?,
                    Err(e) => {
                        failure = Some(e.into());
                        break;
                    }
                }
            }
        }
        Speak::Incremental(reader) => {
            let mut session = engine.session(lang, opts)?;
            // A reader thread, so a slow producer (an LLM) never blocks speaking what is already complete; the
            // channel is small, so a fast file is read only as fast as it is spoken.
            let (tx, rx) = std::sync::mpsc::sync_channel::<std::io::Result<String>>(2);
            std::thread::spawn(move || read_text(reader, tx));
            loop {
                if interrupted.load(Ordering::Relaxed) {
                    break;
                }
                match session.next_chunk() {
                    Some(Ok(c)) => on_chunk(c, &mut sink)?,
                    Some(Err(e)) => {
                        failure = Some(e.into());
                        break;
                    }
                    None if session.is_finished() => break,
                    None => match rx.recv_timeout(Duration::from_millis(100)) {
                        Ok(Ok(text)) => session.push(&text),
                        Ok(Err(e)) => {
                            failure = Some(anyhow::Error::new(e).context("reading the text"));
                            break;
                        }
                        Err(RecvTimeoutError::Timeout) => {}
                        // End of the text: the loop goes on until the session has spoken the rest.
                        Err(RecvTimeoutError::Disconnected) => session.finish(),
                    },
                }
            }
        }
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let interrupted = interrupted.load(Ordering::Relaxed);
    match failure {
        // Batch output: nothing is written on failure (the temporary file is removed).
        Some(e) if !stream => return Err(e),
        // A stream: what was spoken stays, as a valid file, and the error is reported.
        Some(e) => {
            sink.finish()?;
            return Err(e);
        }
        None => {}
    }
    sink.finish()?;
    if let Some(path) = timings {
        write_atomically(path, timings_json(&all).as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    }
    if interrupted {
        bail!("interrupted; the audio written so far is complete and valid");
    }
    Ok(())
}

/// Reads text in pieces of whole UTF-8 characters and sends them on.
fn read_text(mut reader: Box<dyn Read + Send>, tx: std::sync::mpsc::SyncSender<std::io::Result<String>>) {
    let mut buf = vec![0u8; 4096];
    let mut carry: Vec<u8> = Vec::new();
    loop {
        match reader.read(&mut buf) {
            Ok(0) => {
                if !carry.is_empty() {
                    let _ = tx.send(Ok(String::from_utf8_lossy(&carry).into_owned()));
                }
                return;
            }
            Ok(n) => {
                carry.extend_from_slice(&buf[..n]);
                let valid = match std::str::from_utf8(&carry) {
                    Ok(_) => carry.len(),
                    Err(e) if e.error_len().is_none() => e.valid_up_to(),
                    Err(_) => {
                        let _ = tx.send(Err(std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            "the input is not UTF-8 text",
                        )));
                        return;
                    }
                };
                let text = String::from_utf8(carry.drain(..valid).collect()).expect("checked UTF-8");
                if tx.send(Ok(text)).is_err() {
                    return;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        }
    }
}

fn parse_lang(code: &str) -> Result<Option<Language>> {
    if code.eq_ignore_ascii_case("auto") { Ok(None) } else { Ok(Some(Language::parse(code)?)) }
}

fn phonemize(text: Option<String>, lang: &str) -> Result<()> {
    let lang = parse_lang(lang)?;
    let mut out = std::io::stdout().lock();
    let lines: Vec<String> = match text {
        Some(t) => vec![t],
        None => read_stdin()?.lines().map(str::to_string).collect(),
    };
    for line in lines {
        let (phonemes, warnings) = warble_engine::phonemize_text(&line, lang)?;
        for w in warnings {
            eprintln!("warning: {w}");
        }
        writeln!(out, "{phonemes}")?;
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
    let words: Vec<_> =
        s.words.iter().map(|w| json!({"text": w.text, "start": round_ms(w.start), "end": round_ms(w.end)})).collect();
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
