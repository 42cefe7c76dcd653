//! `cargo xtask loadtest`: the speech server under load, on 127.0.0.1 only, in one process.
//!
//! The server runs in-process (`warble_server::Server` on its own tokio runtime, with `warble serve`'s defaults:
//! one synthesis worker, a queue of 16, a 600 s request timeout), so the peak memory can be read from
//! `/proc/self/status`; it therefore includes the client side, which keeps only byte counts for PCM and WAV and
//! the (small) compressed bodies of Opus, FLAC and MP3 responses.
//!
//! 1. **First byte** (`--first-byte-runs`, default 20): one client at a time, a 21-word sentence as streamed
//!    `pcm`; time from sending the request to the first non-empty body chunk, beside the engine's own first
//!    audio for the same sentence and options (in-process, no HTTP).
//! 2. **Load** (`--clients` 16 for `--seconds` 120): each client sends request after request: one sentence or a
//!    paragraph, or (every fifth client) ~80 s texts; pcm mostly, some wav, opus, flac and mp3; several voices
//!    and speeds; about one request in eight disconnects early (right after the headers, or after a random
//!    number of bytes). 429s are back-pressure: counted, then retried after `Retry-After`. After `--seconds` no
//!    new request starts and the requests in flight finish (at most `--drain-seconds`, 600).
//! 3. **Checks**: the server's queue is empty and it still answers; every completed response has exactly the
//!    samples of the engine rendering the same input with the server's options (pcm, wav: body length; opus:
//!    the end page's granule position; flac: the frame headers), or for mp3 a frame count within the encoder's
//!    delay and padding of it. The batch rendering (`synthesize_text`) is reported beside it: the server
//!    streams with `Latency::Low`, whose short first call makes the audio longer than the batch's (1–13 % here;
//!    with a first call as long as the model allows, the stream has the batch's length exactly), so the exact
//!    comparison is with the streamed rendering. `WARBLE_LOADTEST_VERBOSE=1` prints each reference's calls.
//!
//! Exits non-zero if any request failed or any response has the wrong length.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::rng::SplitMix64;
use anyhow::{Context, Result, bail};
use serde_json::json;
use warble_engine::{Engine, EngineOptions, Input, Latency, SAMPLE_RATE, Synthesis, SynthesisOptions, WindowPolicy};
use warble_server::{AppState, Server, ServerConfig};

use crate::stream::{PARAGRAPH, SENTENCE, long_text};
use crate::{ms, percentile, status_kib};

struct Args {
    clients: usize,
    seconds: f64,
    first_byte_runs: usize,
    port: u16,
    drain_seconds: f64,
    seed: u64,
}

fn parse_args(args: &[String]) -> Result<Args> {
    let mut a = Args { clients: 16, seconds: 120.0, first_byte_runs: 20, port: 0, drain_seconds: 600.0, seed: 1 };
    let mut i = 0;
    while i < args.len() {
        let value = || args.get(i + 1).with_context(|| format!("{} needs a value", args[i]));
        match args[i].as_str() {
            "--clients" => a.clients = value()?.parse().context("--clients")?,
            "--seconds" => a.seconds = value()?.parse().context("--seconds")?,
            "--first-byte-runs" => a.first_byte_runs = value()?.parse().context("--first-byte-runs")?,
            "--port" => a.port = value()?.parse().context("--port")?,
            "--drain-seconds" => a.drain_seconds = value()?.parse().context("--drain-seconds")?,
            "--seed" => a.seed = value()?.parse().context("--seed")?,
            other => bail!("unknown option {other}\n{USAGE}"),
        }
        i += 2;
    }
    if a.clients == 0 || a.seconds.is_nan() || a.seconds < 0.0 || a.drain_seconds.is_nan() || a.drain_seconds < 0.0 {
        bail!("--clients must be at least 1 and --seconds, --drain-seconds not negative");
    }
    Ok(a)
}

pub const USAGE: &str = "cargo xtask loadtest [--clients 16] [--seconds 120] [--first-byte-runs 20] [--port 0] \
                         [--drain-seconds 600] [--seed 1]   (WARBLE_MODEL_DIR set)";

// ---------------------------------------------------------------------------------------------------------------
// What the clients ask for

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    Short,
    Medium,
    Long,
}

impl Class {
    fn name(self) -> &'static str {
        match self {
            Class::Short => "short (one sentence)",
            Class::Medium => "medium (paragraph)",
            Class::Long => "long (~80 s of audio)",
        }
    }
}

struct Spec {
    class: Class,
    text: String,
    /// As sent to the server (OpenAI names and blend syntax included).
    voice: &'static str,
    speed: f32,
}

fn catalog() -> Vec<Spec> {
    let s = |text: &str, voice, speed| Spec { class: Class::Short, text: text.to_string(), voice, speed };
    let m = |text: &str, voice, speed| Spec { class: Class::Medium, text: text.to_string(), voice, speed };
    let l = |seconds: f64, voice, speed| Spec { class: Class::Long, text: long_text(seconds), voice, speed };
    vec![
        s(SENTENCE, "af_heart", 1.0),
        s(
            "Could you remind me to call the dentist tomorrow morning, before the office opens at half past eight?",
            "alloy",
            1.0,
        ),
        s(
            "The train to Edinburgh leaves from platform four at ten past six, so please do not be late.",
            "bm_george",
            1.1,
        ),
        s(
            "Thank you for calling; all of our agents are busy right now, but your call is important to us.",
            "af_bella(2)+af_sky(1)",
            1.0,
        ),
        m(PARAGRAPH, "af_heart", 1.0),
        m(
            "The library will be closed on Monday for the public holiday. Books that are due that day can be \
             returned on Tuesday without a fine. The reading room reopens at nine, and the children's story hour \
             moves to Wednesday afternoon at four.",
            "nova",
            0.9,
        ),
        l(88.0, "af_heart", 1.0),
        l(105.0, "echo", 1.0),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Format {
    Pcm,
    Wav,
    Opus,
    Flac,
    Mp3,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Pcm => "pcm",
            Format::Wav => "wav",
            Format::Opus => "opus",
            Format::Flac => "flac",
            Format::Mp3 => "mp3",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Pcm => "audio/pcm",
            Format::Wav => "audio/wav",
            Format::Opus => "audio/ogg; codecs=opus",
            Format::Flac => "audio/flac",
            Format::Mp3 => "audio/mpeg",
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Disconnect {
    /// Drop the response as soon as its headers arrive (they come with the first audio window).
    AfterHeaders,
    /// Drop it once this many body bytes have arrived.
    AfterBytes(u64),
}

/// One request of the mix: which input, format, and whether (how) the client leaves early. Every fifth client
/// asks for long texts only (under load a long text takes minutes, so drawn at random they would hardly be
/// there); the others draw one sentence (65 %) or a paragraph.
fn pick(rng: &mut SplitMix64, specs: &[Spec], client: usize) -> (usize, Format, Option<Disconnect>) {
    let class = match rng.unit() {
        _ if client % 5 == 4 => Class::Long,
        x if x < 0.65 => Class::Short,
        _ => Class::Medium,
    };
    let of_class: Vec<usize> = (0..specs.len()).filter(|&i| specs[i].class == class).collect();
    let input = of_class[rng.below(of_class.len())];
    let format = match rng.unit() {
        x if x < 0.70 => Format::Pcm,
        x if x < 0.80 => Format::Wav,
        x if x < 0.88 => Format::Opus,
        x if x < 0.94 => Format::Flac,
        _ => Format::Mp3,
    };
    let disconnect = (rng.unit() < 0.12).then(|| {
        if rng.unit() < 0.3 { Disconnect::AfterHeaders } else { Disconnect::AfterBytes(1 + rng.below(96_000) as u64) }
    });
    (input, format, disconnect)
}

// ---------------------------------------------------------------------------------------------------------------
// Responses and what their bodies say about their length

#[derive(Debug, Clone)]
enum Outcome {
    /// The whole body arrived; its length in 24 kHz samples (exact), or for mp3 in 576-sample frames.
    Completed(Length),
    /// The client left on purpose.
    Disconnected,
    /// Turned away with 429 at the end of the test, when there was no time left to retry.
    GaveUp,
    Failed(String),
}

#[derive(Debug, Clone, Copy)]
enum Length {
    Samples(u64),
    Mp3Frames(u64),
}

#[derive(Debug, Clone)]
struct Record {
    input: usize,
    format: Format,
    outcome: Outcome,
    /// From sending the (last) attempt to the first non-empty body chunk.
    first_audio: Option<Duration>,
    /// From sending the (last) attempt to the end of the body.
    total: Duration,
    rejected: u32,
    bytes: u64,
}

/// Collects a body: byte counts for pcm and wav (plus the wav header), whole bodies for the compressed formats.
struct Body {
    format: Format,
    bytes: u64,
    kept: Vec<u8>,
}

impl Body {
    fn new(format: Format) -> Self {
        Self { format, bytes: 0, kept: Vec::new() }
    }

    fn push(&mut self, b: &[u8]) {
        self.bytes += b.len() as u64;
        match self.format {
            Format::Pcm => {}
            Format::Wav => {
                let want = 44usize.saturating_sub(self.kept.len()).min(b.len());
                self.kept.extend_from_slice(&b[..want]);
            }
            _ => self.kept.extend_from_slice(b),
        }
    }

    fn length(&self) -> Result<Length, String> {
        match self.format {
            Format::Pcm => {
                if !self.bytes.is_multiple_of(2) {
                    return Err(format!("pcm body of {} bytes: odd length", self.bytes));
                }
                Ok(Length::Samples(self.bytes / 2))
            }
            Format::Wav => {
                let h = &self.kept;
                if h.len() < 44 || &h[0..4] != b"RIFF" || &h[8..12] != b"WAVE" || &h[36..40] != b"data" {
                    return Err("wav body without a RIFF/WAVE header".into());
                }
                let data = self.bytes - 44;
                if !data.is_multiple_of(2) {
                    return Err(format!("wav data of {data} bytes: odd length"));
                }
                Ok(Length::Samples(data / 2))
            }
            Format::Opus => opus_samples(&self.kept).map(Length::Samples),
            Format::Flac => flac_samples(&self.kept).map(Length::Samples),
            Format::Mp3 => mp3_frames(&self.kept).map(Length::Mp3Frames),
        }
    }
}

/// Walks the Ogg pages of an Opus stream: OpusHead first, pages tiling the body exactly, an end-of-stream page
/// last. The length at 24 kHz: (final granule − pre-skip) / 2 (granules count 48 kHz samples).
fn opus_samples(b: &[u8]) -> Result<u64, String> {
    let mut pos = 0usize;
    let mut pre_skip = None;
    let mut last_granule = 0u64;
    let mut eos = false;
    let mut pages = 0;
    while pos < b.len() {
        if eos {
            return Err(format!("opus: data after the end-of-stream page at byte {pos}"));
        }
        let h = b.get(pos..pos + 27).ok_or_else(|| format!("opus: cut Ogg page header at byte {pos}"))?;
        if &h[0..4] != b"OggS" || h[4] != 0 {
            return Err(format!("opus: no Ogg page at byte {pos}"));
        }
        eos = h[5] & 0x04 != 0;
        let granule = u64::from_le_bytes(h[6..14].try_into().unwrap_or_default());
        let nseg = h[26] as usize;
        let table = b.get(pos + 27..pos + 27 + nseg).ok_or("opus: cut segment table")?;
        let size: usize = table.iter().map(|&s| s as usize).sum();
        let start = pos + 27 + nseg;
        let body = b.get(start..start + size).ok_or_else(|| format!("opus: cut page at byte {pos}"))?;
        if pages == 0 {
            if body.len() < 19 || &body[0..8] != b"OpusHead" {
                return Err("opus: the first page is not OpusHead".into());
            }
            pre_skip = Some(u64::from(u16::from_le_bytes([body[10], body[11]])));
        } else if granule != u64::MAX {
            last_granule = granule;
        }
        pages += 1;
        pos = start + size;
    }
    if !eos {
        return Err(format!("opus: no end-of-stream page ({pages} pages)"));
    }
    let pre_skip = pre_skip.ok_or("opus: empty body")?;
    let g = last_granule.checked_sub(pre_skip).ok_or("opus: final granule below the pre-skip")?;
    if !g.is_multiple_of(2) {
        return Err(format!("opus: odd granule length {g} at 24 kHz"));
    }
    Ok(g / 2)
}

fn crc8(data: &[u8]) -> u8 {
    let mut crc = 0u8;
    for &byte in data {
        crc ^= byte;
        for _ in 0..8 {
            crc = if crc & 0x80 != 0 { (crc << 1) ^ 0x07 } else { crc << 1 };
        }
    }
    crc
}

/// A FLAC frame header at `p` (fixed block size, CRC-8 checked): (frame number, block size).
fn flac_frame_header(b: &[u8], p: usize) -> Option<(u64, u64)> {
    let h = b.get(p..p + 4)?;
    if h[0] != 0xFF || h[1] != 0xF8 || h[3] & 1 != 0 {
        return None;
    }
    let bs_code = h[2] >> 4;
    let sr_code = h[2] & 0x0F;
    if bs_code == 0 || sr_code == 15 {
        return None;
    }
    let mut q = p + 4;
    // The frame number, UTF-8 style.
    let first = *b.get(q)?;
    let (mut number, extra) = match first.leading_ones() {
        0 => (u64::from(first), 0),
        n @ 2..=7 => (u64::from(first & (0x7F >> n)), n as usize - 1),
        _ => return None,
    };
    q += 1;
    for _ in 0..extra {
        let c = *b.get(q)?;
        if c & 0xC0 != 0x80 {
            return None;
        }
        number = (number << 6) | u64::from(c & 0x3F);
        q += 1;
    }
    let block = match bs_code {
        1 => 192,
        2..=5 => 576 << (bs_code - 2),
        6 => {
            q += 1;
            u64::from(*b.get(q - 1)?) + 1
        }
        7 => {
            q += 2;
            u64::from(u16::from_be_bytes([*b.get(q - 2)?, *b.get(q - 1)?])) + 1
        }
        _ => 256 << (bs_code - 8),
    };
    q += match sr_code {
        12 => 1,
        13 | 14 => 2,
        _ => 0,
    };
    let crc = *b.get(q)?;
    (crc8(b.get(p..q)?) == crc).then_some((number, block))
}

/// Counts a FLAC stream's samples from its frame headers: frames numbered 0, 1, 2, … in order (a false sync
/// inside audio data would also need the right number and CRC-8), the block sizes summed.
fn flac_samples(b: &[u8]) -> Result<u64, String> {
    if b.len() < 4 || &b[0..4] != b"fLaC" {
        return Err("flac: no fLaC marker".into());
    }
    let mut pos = 4;
    loop {
        let h = b.get(pos..pos + 4).ok_or("flac: cut metadata")?;
        let len = u32::from_be_bytes([0, h[1], h[2], h[3]]) as usize;
        pos += 4 + len;
        if h[0] & 0x80 != 0 {
            break;
        }
    }
    let mut next = 0u64;
    let mut total = 0u64;
    let mut p = pos;
    while p + 4 <= b.len() {
        match flac_frame_header(b, p) {
            Some((n, block)) if n == next => {
                total += block;
                next += 1;
                p += 4;
            }
            _ => p += 1,
        }
    }
    if next == 0 {
        return Err("flac: no audio frames".into());
    }
    Ok(total)
}

/// Counts the MPEG frames of an MP3 body (each must follow the last exactly).
fn mp3_frames(b: &[u8]) -> Result<u64, String> {
    let mut pos = 0usize;
    if b.len() >= 10 && &b[0..3] == b"ID3" {
        let size = b[6..10].iter().fold(0usize, |acc, &x| (acc << 7) | (x & 0x7F) as usize);
        pos = 10 + size;
    }
    let mut frames = 0;
    while pos < b.len() {
        let h = b.get(pos..pos + 4).ok_or_else(|| format!("mp3: cut frame header at byte {pos}"))?;
        if h[0] != 0xFF || h[1] & 0xE0 != 0xE0 {
            return Err(format!("mp3: no frame sync at byte {pos}"));
        }
        let version = (h[1] >> 3) & 3; // 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
        let layer = (h[1] >> 1) & 3; // 1: layer III
        if layer != 1 || version == 1 {
            return Err(format!("mp3: not MPEG layer III at byte {pos}"));
        }
        let bitrate_index = (h[2] >> 4) as usize;
        let rate_index = ((h[2] >> 2) & 3) as usize;
        let padding = ((h[2] >> 1) & 1) as usize;
        const V1: [usize; 15] = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];
        const V2: [usize; 15] = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
        if bitrate_index == 0 || bitrate_index == 15 || rate_index == 3 {
            return Err(format!("mp3: bad frame header at byte {pos}"));
        }
        let (kbps, rate, coeff) = match version {
            3 => (V1[bitrate_index], [44_100, 48_000, 32_000][rate_index], 144),
            2 => (V2[bitrate_index], [22_050, 24_000, 16_000][rate_index], 72),
            _ => (V2[bitrate_index], [11_025, 12_000, 8_000][rate_index], 72),
        };
        let len = coeff * kbps * 1000 / rate + padding;
        if pos + len > b.len() {
            return Err(format!("mp3: cut frame at byte {pos} ({len} bytes, {} left)", b.len() - pos));
        }
        pos += len;
        frames += 1;
    }
    Ok(frames)
}

// ---------------------------------------------------------------------------------------------------------------
// Clients

struct Clients {
    http: reqwest::Client,
    url: String,
    specs: Arc<Vec<Spec>>,
    /// Requests being sent or read.
    in_flight: AtomicUsize,
}

impl Clients {
    /// One request, retried after `Retry-After` while 429 says the queue is full and `retry_until` allows.
    async fn request(&self, input: usize, format: Format, leave: Option<Disconnect>, retry_until: Instant) -> Record {
        let spec = &self.specs[input];
        let body = json!({
            "model": "tts-1",
            "input": spec.text,
            "voice": spec.voice,
            "speed": spec.speed,
            "response_format": format.name(),
        })
        .to_string();
        let mut rec = Record {
            input,
            format,
            outcome: Outcome::GaveUp,
            first_audio: None,
            total: Duration::ZERO,
            rejected: 0,
            bytes: 0,
        };
        loop {
            let t0 = Instant::now();
            let sent = self
                .http
                .post(&self.url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone())
                .send()
                .await;
            let mut resp = match sent {
                Ok(r) => r,
                Err(e) => {
                    rec.outcome = Outcome::Failed(format!("sending: {e}"));
                    return rec;
                }
            };
            let status = resp.status();
            if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
                rec.rejected += 1;
                let wait = resp
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|s| s.trim().parse::<u64>().ok())
                    .unwrap_or(1);
                drop(resp);
                let wait = Duration::from_secs(wait);
                if Instant::now() + wait > retry_until {
                    rec.outcome = Outcome::GaveUp;
                    return rec;
                }
                tokio::time::sleep(wait).await;
                continue;
            }
            if status != reqwest::StatusCode::OK {
                let text = resp.text().await.unwrap_or_default();
                rec.outcome = Outcome::Failed(format!("HTTP {status}: {}", text.chars().take(200).collect::<String>()));
                return rec;
            }
            let ctype = resp.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
            if ctype != format.content_type() {
                rec.outcome = Outcome::Failed(format!("{} answered with Content-Type {ctype:?}", format.name()));
                return rec;
            }
            if let Some(Disconnect::AfterHeaders) = leave {
                rec.total = t0.elapsed();
                rec.outcome = Outcome::Disconnected;
                return rec;
            }
            let mut got = Body::new(format);
            loop {
                match resp.chunk().await {
                    Ok(Some(b)) => {
                        if b.is_empty() {
                            continue;
                        }
                        rec.first_audio.get_or_insert_with(|| t0.elapsed());
                        got.push(&b);
                        if let Some(Disconnect::AfterBytes(n)) = leave
                            && got.bytes >= n
                        {
                            rec.bytes = got.bytes;
                            rec.total = t0.elapsed();
                            rec.outcome = Outcome::Disconnected;
                            return rec;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        rec.bytes = got.bytes;
                        rec.total = t0.elapsed();
                        rec.outcome = Outcome::Failed(format!("body cut after {} bytes: {e}", got.bytes));
                        return rec;
                    }
                }
            }
            rec.bytes = got.bytes;
            rec.total = t0.elapsed();
            rec.outcome = match got.length() {
                Ok(len) => Outcome::Completed(len),
                Err(e) => Outcome::Failed(e),
            };
            return rec;
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Memory

/// The machine's 1, 5 and 15 minute load averages (other processes included: the machine may be shared).
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "n/a".into())
}

fn mib(kib: Option<u64>) -> String {
    kib.map(|k| format!("{:.0} MiB", k as f64 / 1024.0)).unwrap_or_else(|| "n/a".into())
}

// ---------------------------------------------------------------------------------------------------------------
// Statistics

fn p50_p95(mut v: Vec<Duration>) -> String {
    if v.is_empty() {
        return "–".into();
    }
    v.sort();
    format!("{:.0} / {:.0} ms", ms(percentile(&v, 0.5)), ms(percentile(&v, 0.95)))
}

/// A counter from the `/metrics` text, summed over its label sets.
fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.strip_prefix(name).is_some_and(|rest| rest.starts_with([' ', '{'])))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

// ---------------------------------------------------------------------------------------------------------------
// The run

struct Running {
    addr: std::net::SocketAddr,
    state: AppState,
    stop: tokio::sync::oneshot::Sender<()>,
    thread: std::thread::JoinHandle<Result<()>>,
}

/// The server on its own multi-threaded runtime, as `warble serve` runs it.
fn start_server(engine: Arc<Engine>, cfg: ServerConfig) -> Result<Running> {
    let (tx, rx) = std::sync::mpsc::channel();
    let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new().name("server".into()).spawn(move || -> Result<()> {
        let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
        rt.block_on(async move {
            let server = match Server::bind(engine, cfg).await {
                Ok(s) => s,
                Err(e) => {
                    let _ = tx.send(Err(anyhow::anyhow!("{e}")));
                    return Ok(());
                }
            };
            let addr = server.local_addr()?;
            let _ = tx.send(Ok((addr, server.state().clone())));
            server
                .run(async move {
                    let _ = stop_rx.await;
                })
                .await?;
            Ok(())
        })
    })?;
    let (addr, state) = rx.recv().context("the server thread ended before binding")??;
    Ok(Running { addr, state, stop, thread })
}

fn server_opts(engine: &Engine, spec: &Spec) -> Result<SynthesisOptions> {
    // The server's own translation of OpenAI names and blend syntax.
    let voice = warble_server::voices::translate(
        spec.voice,
        &engine.voices().names().iter().map(|s| s.to_string()).collect::<Vec<_>>(),
    )
    .map_err(|e| anyhow::anyhow!("voice {}: {}", spec.voice, e.message))?;
    let mut opts = SynthesisOptions::new(voice);
    opts.speed = spec.speed;
    Ok(opts)
}

pub fn run(args: &[String]) -> Result<()> {
    let args = parse_args(args)?;
    let model_dir = std::env::var_os("WARBLE_MODEL_DIR")
        .map(PathBuf::from)
        .context("set WARBLE_MODEL_DIR to the folder with kokoro-v1.0.int8.onnx and voices/")?;
    let t = Instant::now();
    let engine = Arc::new(Engine::load(&EngineOptions { model: Some(model_dir), ..Default::default() })?);
    let load_time = t.elapsed();
    let rss_loaded = status_kib("VmRSS:");
    // Start the peak at the loaded engine (a first start's weight conversion is not serving).
    let hwm_reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();

    let cfg = ServerConfig { host: "127.0.0.1".into(), port: args.port, ..Default::default() };
    let (workers, capacity, timeout) = (cfg.workers, cfg.queue_capacity, cfg.request_timeout);
    let server = start_server(engine.clone(), cfg)?;
    let specs = Arc::new(catalog());
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let clients = Arc::new(Clients {
        http: reqwest::Client::builder().pool_max_idle_per_host(args.clients * 2).build()?,
        url: format!("http://{}/v1/audio/speech", server.addr),
        specs: specs.clone(),
        in_flight: AtomicUsize::new(0),
    });

    println!("# Warble server load test\n");
    println!(
        "server in-process on http://{} (workers {workers}, queue capacity {capacity}, request timeout {} s: \
         `warble serve`'s defaults); engine loaded in {:.1} s; {} CPU threads\n",
        server.addr,
        timeout.as_secs(),
        load_time.as_secs_f64(),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );

    // Warm-up: two requests, not timed.
    eprintln!("warm-up");
    let far = Instant::now() + Duration::from_secs(3600);
    for _ in 0..2 {
        let r = rt.block_on(clients.request(0, Format::Pcm, None, far));
        if !matches!(r.outcome, Outcome::Completed(_)) {
            bail!("warm-up request failed: {:?}", r.outcome);
        }
    }

    // Phase 1: one client at a time.
    eprintln!("first byte: {} requests, one at a time", args.first_byte_runs);
    let mut first_byte: Vec<Record> = Vec::new();
    for _ in 0..args.first_byte_runs {
        first_byte.push(rt.block_on(clients.request(0, Format::Pcm, None, far)));
    }
    let engine_first = {
        let opts = server_opts(&engine, &specs[0])?;
        let mut v = Vec::new();
        for _ in 0..args.first_byte_runs {
            let t = Instant::now();
            for c in engine.stream(Input::text(specs[0].text.clone()), &opts)? {
                if !c?.samples.is_empty() {
                    v.push(t.elapsed());
                    break;
                }
            }
        }
        v
    };

    // Phase 2: the load.
    eprintln!("load: {} clients for {} s, then the requests in flight finish", args.clients, args.seconds);
    let records: Arc<Mutex<Vec<Record>>> = Arc::default();
    let sampling = Arc::new(AtomicBool::new(true));
    let max_rss = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (sampling, max_rss) = (sampling.clone(), max_rss.clone());
        std::thread::spawn(move || {
            while sampling.load(Ordering::Relaxed) {
                if let Some(k) = status_kib("VmRSS:") {
                    max_rss.fetch_max(k, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };
    let loadavg_before = loadavg();
    let started = Instant::now();
    let load_end = started + Duration::from_secs_f64(args.seconds);
    let hard_end = load_end + Duration::from_secs_f64(args.drain_seconds);
    let last_done = Arc::new(Mutex::new(started));
    let tasks: Vec<_> = (0..args.clients)
        .map(|i| {
            let (clients, records, last_done) = (clients.clone(), records.clone(), last_done.clone());
            let mut rng = SplitMix64(args.seed.wrapping_mul(1_000_003).wrapping_add(i as u64));
            rt.spawn(async move {
                // Clients start spread over the first second.
                tokio::time::sleep(Duration::from_millis(rng.below(1000) as u64)).await;
                while Instant::now() < load_end {
                    let (input, format, leave) = pick(&mut rng, &clients.specs, i);
                    clients.in_flight.fetch_add(1, Ordering::AcqRel);
                    let rec = clients.request(input, format, leave, load_end).await;
                    clients.in_flight.fetch_sub(1, Ordering::AcqRel);
                    // A 429 whose Retry-After reaches past the end: this client is done.
                    let stop = matches!(rec.outcome, Outcome::GaveUp);
                    if !stop {
                        *last_done.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
                    }
                    records.lock().unwrap_or_else(|p| p.into_inner()).push(rec);
                    if stop {
                        break;
                    }
                }
            })
        })
        .collect();
    let aborts: Vec<_> = tasks.iter().map(|t| t.abort_handle()).collect();
    let unfinished = rt.block_on(async {
        match tokio::time::timeout_at(tokio::time::Instant::from_std(hard_end), join_all(tasks)).await {
            Ok(()) => 0,
            Err(_) => clients.in_flight.load(Ordering::Acquire),
        }
    });
    for a in aborts {
        a.abort();
    }
    let wall = last_done.lock().unwrap_or_else(|p| p.into_inner()).duration_since(started);
    let loadavg_after = loadavg();
    sampling.store(false, Ordering::Relaxed);
    let _ = sampler.join();

    // Phase 3: the server drains and still answers.
    eprintln!("load done after {:.1} s; checking the server", wall.as_secs_f64());
    let drained = {
        let t = Instant::now();
        loop {
            let p = server.state.pool();
            if p.queued() == 0 && p.active() == 0 {
                break Some(t.elapsed());
            }
            if t.elapsed() > Duration::from_secs(30) {
                break None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let after = rt.block_on(clients.request(1, Format::Pcm, None, Instant::now() + Duration::from_secs(60)));
    let metrics_text = rt.block_on(async {
        let r = clients.http.get(format!("http://{}/metrics", server.addr)).send().await?;
        r.text().await
    });
    let peak_hwm = status_kib("VmHWM:");
    let peak_load = max_rss.load(Ordering::Relaxed);
    let _ = server.stop.send(());
    match server.thread.join() {
        Ok(r) => r?,
        Err(_) => bail!("the server thread panicked"),
    }

    // References: the engine rendering each input the server was asked for, with the server's options.
    let records = std::mem::take(&mut *records.lock().unwrap_or_else(|p| p.into_inner()));
    let mut used: Vec<usize> = records.iter().map(|r| r.input).chain([0, 1]).collect();
    used.sort();
    used.dedup();
    eprintln!("rendering the {} inputs used with the engine for reference", used.len());
    let mut refs: BTreeMap<usize, (u64, u64, u64)> = BTreeMap::new();
    for &i in &used {
        let opts = server_opts(&engine, &specs[i])?;
        let streamed = Synthesis::collect(engine.stream(Input::text(specs[i].text.clone()), &opts)?)?;
        let batch = engine.synthesize_text(&specs[i].text, None, &opts)?;
        // The same stream with a first call as long as the model allows: isolates the short first call.
        let mut uncut = opts.clone();
        uncut.latency = Latency::Low(WindowPolicy { first_call_symbols: 510, ..Default::default() });
        let uncut = Synthesis::collect(engine.stream(Input::text(specs[i].text.clone()), &uncut)?)?;
        if std::env::var_os("WARBLE_LOADTEST_VERBOSE").is_some() {
            for (name, syn) in [("streamed", &streamed), ("batch", &batch)] {
                eprintln!("input {i} {name}: {} samples", syn.audio.len());
                for c in &syn.chunks {
                    eprintln!(
                        "  call at sample {}: {} frames, pads {:?}/{:?}: {}",
                        c.start_sample,
                        c.durations.iter().sum::<usize>(),
                        c.durations.first(),
                        c.durations.last(),
                        c.phonemes
                    );
                }
            }
        }
        if std::env::var_os("WARBLE_LOADTEST_VERBOSE").is_some()
            && let (Some(s1), Some(b1)) = (streamed.chunks.first(), batch.chunks.first())
        {
            // The first call's words (without the added comma) as the stream and the batch timed them.
            let k = s1.phonemes.chars().count().saturating_sub(1);
            let sum = |d: &[usize]| d.iter().skip(1).take(k).sum::<usize>();
            eprintln!(
                "input {i}: first {k} symbols: {} frames streamed, {} in the batch; the added comma {:?} frames",
                sum(&s1.durations),
                sum(&b1.durations),
                s1.durations.get(k + 1)
            );
        }
        refs.insert(i, (streamed.audio.len() as u64, batch.audio.len() as u64, uncut.audio.len() as u64));
    }

    let report = Report { specs: &specs, refs: &refs };
    let mut failures = 0usize;
    let mut mismatches = 0usize;
    let mut out = String::new();

    // Phase 1 report.
    let fb_checked = report.check_all(&first_byte, &mut failures, &mut mismatches);
    let fb: Vec<Duration> = first_byte.iter().filter_map(|r| r.first_audio).collect();
    let _ = writeln!(
        out,
        "## First byte, one client at a time ({} requests, streamed pcm, {} words: \"{}\")\n",
        first_byte.len(),
        specs[0].text.split_whitespace().count(),
        specs[0].text
    );
    let _ = writeln!(out, "| measure | p50 / p95 | min / max |\n|---|---|---|");
    let minmax = |v: &[Duration]| {
        let (a, b) = (v.iter().min(), v.iter().max());
        match (a, b) {
            (Some(a), Some(b)) => format!("{:.0} / {:.0} ms", ms(*a), ms(*b)),
            _ => "–".into(),
        }
    };
    let _ = writeln!(out, "| HTTP: request sent → first body byte | **{}** | {} |", p50_p95(fb.clone()), minmax(&fb));
    let _ = writeln!(
        out,
        "| engine alone: `Engine::stream` call → first samples (same text and options) | {} | {} |",
        p50_p95(engine_first.clone()),
        minmax(&engine_first)
    );
    let totals: Vec<Duration> = first_byte.iter().map(|r| r.total).collect();
    let _ = writeln!(
        out,
        "| HTTP: whole response ({:.2} s of audio) | {} | {} |\n",
        refs[&0].0 as f64 / SAMPLE_RATE as f64,
        p50_p95(totals.clone()),
        minmax(&totals)
    );
    let _ = writeln!(out, "every response complete and of the exact length: {fb_checked}\n");

    // Phase 2 report.
    let completed = records.iter().filter(|r| matches!(r.outcome, Outcome::Completed(_))).count();
    let disconnected = records.iter().filter(|r| matches!(r.outcome, Outcome::Disconnected)).count();
    let gave_up = records.iter().filter(|r| matches!(r.outcome, Outcome::GaveUp)).count();
    let rejected: u32 = records.iter().map(|r| r.rejected).sum();
    let before = (failures, mismatches);
    report.check_all(&records, &mut failures, &mut mismatches);
    let (load_failures, load_mismatches) = (failures - before.0 + unfinished, mismatches - before.1);
    failures += unfinished;
    let audio_done: f64 = records
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Completed(_)))
        .map(|r| refs[&r.input].0 as f64 / SAMPLE_RATE as f64)
        .sum();
    let _ = writeln!(
        out,
        "## Load: {} clients for {:.0} s, then the requests in flight finish ({:.1} s from the first request to \
         the last answer)\n",
        args.clients,
        args.seconds,
        wall.as_secs_f64()
    );
    let _ = writeln!(out, "| requests | count |\n|---|---|");
    let _ = writeln!(out, "| started | {} |", records.len() + unfinished);
    let _ = writeln!(out, "| completed (whole body read) | {completed} |");
    let _ = writeln!(out, "| disconnected early on purpose | {disconnected} |");
    let _ = writeln!(out, "| 429 answers (queue full; retried after Retry-After) | {rejected} |");
    let _ = writeln!(out, "| given up after a 429 at the end of the test | {gave_up} |");
    let _ = writeln!(out, "| failed (error status, transport error, bad body) | **{load_failures}** |");
    let _ = writeln!(out, "| truncated or wrong length | **{load_mismatches}** |");
    let _ = writeln!(out, "| unfinished at --drain-seconds | {unfinished} |\n");

    let _ = writeln!(
        out,
        "| class | completed | disconnected | first audio p50 / p95 | whole response p50 / p95 | audio per response |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for class in [Class::Short, Class::Medium, Class::Long] {
        let of: Vec<&Record> = records.iter().filter(|r| specs[r.input].class == class).collect();
        let done: Vec<&&Record> = of.iter().filter(|r| matches!(r.outcome, Outcome::Completed(_))).collect();
        let audio: Vec<f64> = specs
            .iter()
            .enumerate()
            .filter(|(i, s)| s.class == class && refs.contains_key(i))
            .map(|(i, _)| refs[&i].0 as f64 / SAMPLE_RATE as f64)
            .collect();
        let range = match (audio.iter().cloned().reduce(f64::min), audio.iter().cloned().reduce(f64::max)) {
            (Some(a), Some(b)) => format!("{a:.1}–{b:.1} s"),
            _ => "–".into(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {range} |",
            class.name(),
            done.len(),
            of.iter().filter(|r| matches!(r.outcome, Outcome::Disconnected)).count(),
            p50_p95(of.iter().filter_map(|r| r.first_audio).collect()),
            p50_p95(done.iter().map(|r| r.total).collect()),
        );
    }
    let mut by_format: BTreeMap<Format, (usize, usize)> = BTreeMap::new();
    for r in &records {
        let e = by_format.entry(r.format).or_default();
        e.0 += 1;
        e.1 += usize::from(matches!(r.outcome, Outcome::Completed(_)));
    }
    let formats: Vec<String> =
        by_format.iter().map(|(f, (n, c))| format!("{} {n} ({c} completed)", f.name())).collect();
    let _ = writeln!(out, "\nformats: {}\n", formats.join(", "));

    let server_audio = metric(metrics_text.as_deref().unwrap_or_default(), "warble_audio_seconds_total");
    let _ = writeln!(out, "| measure | value |\n|---|---|");
    let _ = writeln!(
        out,
        "| throughput: audio in completed responses / wall | {audio_done:.1} s / {:.1} s = **{:.2} audio s per s** |",
        wall.as_secs_f64(),
        audio_done / wall.as_secs_f64().max(1e-9)
    );
    let _ = writeln!(
        out,
        "| audio the server rendered (warble_audio_seconds_total, all phases, incl. work for clients that left) | {server_audio:.1} s |"
    );
    let _ = writeln!(
        out,
        "| machine load average (1, 5, 15 min) before / after the load phase | {loadavg_before} / {loadavg_after} |"
    );
    let _ = writeln!(out, "| resident memory after loading the engine | {} |", mib(rss_loaded));
    let _ = writeln!(out, "| peak resident during the load (sampled every 200 ms) | {} |", mib(Some(peak_load)));
    let _ = writeln!(
        out,
        "| peak resident, whole process after loading (VmHWM{}; server + clients) | **{}** |",
        if hwm_reset { ", reset after the engine loaded" } else { ", including the engine load" },
        mib(peak_hwm)
    );
    let _ = writeln!(
        out,
        "| queue empty after the load | {} |",
        drained
            .map(|d| format!("yes, {:.2} s after the last answer", d.as_secs_f64()))
            .unwrap_or_else(|| "**no** (30 s)".into())
    );
    let after_ok = matches!(after.outcome, Outcome::Completed(_)) && report.check(&after).is_ok();
    if !after_ok {
        failures += 1;
    }
    let _ = writeln!(
        out,
        "| a request after the load | {} |",
        if after_ok { "complete, exact length".to_string() } else { format!("**failed**: {:?}", after.outcome) }
    );
    match &metrics_text {
        Ok(m) => {
            let _ = writeln!(
                out,
                "| /metrics after | queue_depth {} active {} cancelled {} rejected {} timeouts {} first-audio observations {} |",
                metric(m, "warble_queue_depth"),
                metric(m, "warble_active_streams"),
                metric(m, "warble_cancelled_total"),
                metric(m, "warble_rejected_total"),
                metric(m, "warble_timeouts_total"),
                metric(m, "warble_first_audio_seconds_count"),
            );
        }
        Err(e) => {
            failures += 1;
            let _ = writeln!(out, "| /metrics after | **failed**: {e} |");
        }
    }

    // References.
    let _ = writeln!(out, "\n## Lengths (24 kHz samples): the server's stream against the engine\n");
    let _ = writeln!(
        out,
        "| input | voice, speed | streamed (server's options) | batch `synthesize_text` | stream / batch | stream with a 510-symbol first call |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for (i, (s, b, u)) in &refs {
        let spec = &specs[*i];
        let _ = writeln!(
            out,
            "| {} {i} ({} words) | {} {} | {s} | {b} | {:.4} | {u}{} |",
            match spec.class {
                Class::Short => "short",
                Class::Medium => "medium",
                Class::Long => "long",
            },
            spec.text.split_whitespace().count(),
            spec.voice,
            spec.speed,
            *s as f64 / *b as f64,
            if u == b { " (= batch)" } else { "" }
        );
    }
    let _ = writeln!(
        out,
        "\nexact checks: pcm and wav body length, opus final granule, flac frame headers; mp3: 576-sample frames \
         ≥ the samples and at most the encoder delay and padding (1105 + 1152) beyond."
    );
    println!("{out}");

    // Failures, listed.
    let mut listed = 0;
    for r in first_byte.iter().chain(&records) {
        let problem = match &r.outcome {
            Outcome::Failed(e) => Some(e.clone()),
            Outcome::Completed(_) => report.check(r).err(),
            _ => None,
        };
        if let Some(p) = problem {
            if listed < 30 {
                eprintln!("input {} {} ({} bytes read): {p}", r.input, r.format.name(), r.bytes);
            }
            listed += 1;
        }
    }
    if failures > 0 || mismatches > 0 {
        bail!("{failures} failed and {mismatches} wrong-length responses");
    }
    Ok(())
}

/// Waits for every task (a panic in a client task counts as nothing more than its lost records).
async fn join_all(tasks: Vec<tokio::task::JoinHandle<()>>) {
    for t in tasks {
        let _ = t.await;
    }
}

struct Report<'a> {
    specs: &'a [Spec],
    /// input → (streamed, batch, streamed with an uncut first call) samples.
    refs: &'a BTreeMap<usize, (u64, u64, u64)>,
}

impl Report<'_> {
    /// A completed response against the engine's streamed rendering of the same input.
    fn check(&self, r: &Record) -> Result<(), String> {
        let Outcome::Completed(len) = r.outcome else { return Ok(()) };
        let Some(&(want, _, _)) = self.refs.get(&r.input) else { return Err("no reference".into()) };
        match len {
            Length::Samples(n) if n == want => Ok(()),
            Length::Samples(n) => Err(format!(
                "{} samples, the engine renders {want} ({:+}) for {:?}",
                n,
                n as i64 - want as i64,
                self.specs[r.input].text.chars().take(40).collect::<String>()
            )),
            Length::Mp3Frames(f) => {
                let covered = f * 576;
                if covered >= want && covered <= want + 1105 + 1152 {
                    Ok(())
                } else {
                    Err(format!("mp3: {f} frames = {covered} samples for {want}"))
                }
            }
        }
    }

    /// Counts failures and wrong lengths; says whether all were fine.
    fn check_all(&self, records: &[Record], failures: &mut usize, mismatches: &mut usize) -> &'static str {
        let mut ok = true;
        for r in records {
            match &r.outcome {
                Outcome::Failed(_) => {
                    *failures += 1;
                    ok = false;
                }
                Outcome::Completed(_) if self.check(r).is_err() => {
                    *mismatches += 1;
                    ok = false;
                }
                _ => {}
            }
        }
        if ok { "yes" } else { "**no**" }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc8_matches_flac() {
        // FLAC's CRC-8 (poly 0x07) of "123456789".
        assert_eq!(crc8(b"123456789"), 0xF4);
    }

    #[test]
    fn metric_sums_labels() {
        let m = "# HELP x\nwarble_requests_total{route=\"a\",status=\"200\"} 3\nwarble_requests_total{route=\"b\",status=\"429\"} 2\nwarble_queue_depth 0\n";
        assert_eq!(metric(m, "warble_requests_total"), 5.0);
        assert_eq!(metric(m, "warble_queue_depth"), 0.0);
    }
}
