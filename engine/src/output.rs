//! The output side of streaming synthesis: the model's mono 24 kHz f32 chunks go through
//!
//! - [`Resampler`]: a streaming sinc resampler (rubato) to the requested rate, seamless across chunk
//!   boundaries and free of its own latency (output sample 0 is input sample 0);
//! - [`StreamWriter`]: encodes them as WAV (16-bit or float) or raw little-endian PCM, writing and flushing each
//!   piece at once; a WAV whose length is unknown gets 0xFFFFFFFF sizes, a seekable one is patched at the end
//!   (and becomes RF64 past 4 GiB);
//! - [`Packetizer`]: fixed-duration packets for network streaming;
//! - [`OutputTarget`]: where the bytes go. It is opened before synthesis so path errors come first, writes
//!   devices and pipes in place and regular files through a temporary file renamed on [`OutputTarget::commit`].

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Async, FixedAsync, Indexing, Resampler as _, SincInterpolationParameters, SincInterpolationType};

/// The model's sample rate.
pub const MODEL_SAMPLE_RATE: u32 = 24_000;
/// Lowest and highest output rates [`Resampler`] accepts.
pub const MIN_SAMPLE_RATE: u32 = 8_000;
pub const MAX_SAMPLE_RATE: u32 = 192_000;

/// Everything that can go wrong on the output side, each message naming the problem and the way out.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error(
        "unsupported output sample rate {rate} Hz: choose a rate from {MIN_SAMPLE_RATE} to {MAX_SAMPLE_RATE} Hz \
         (common ones: 8000, 16000, 22050, 24000, 44100, 48000)"
    )]
    UnsupportedRate { rate: u32 },
    #[error("unknown audio encoding {name:?}: use one of {}", Encoding::NAMES.join(", "))]
    UnknownEncoding { name: String },
    #[error("the output path is empty: give a file name, a device or pipe, or - for standard output")]
    EmptyPath,
    #[error("cannot write to {}: it is a folder; give a file name inside it as the output path", path.display())]
    IsDirectory { path: PathBuf },
    #[error(
        "cannot write to {}: folder {} does not exist; create it or choose another output path",
        path.display(),
        folder.display()
    )]
    MissingFolder { path: PathBuf, folder: PathBuf },
    #[error(
        "cannot write to {}: {} is not a folder; choose another output path",
        path.display(),
        folder.display()
    )]
    NotAFolder { path: PathBuf, folder: PathBuf },
    #[error(
        "cannot write to {}: folder {} is not writable ({source}); check its permissions or choose another output path",
        path.display(),
        folder.display()
    )]
    FolderNotWritable { path: PathBuf, folder: PathBuf, source: io::Error },
    #[error(
        "cannot write to {}: it is a block device; write to a regular file, a pipe or standard output instead",
        path.display()
    )]
    BlockDevice { path: PathBuf },
    #[error("cannot open {} for writing: {source}; check the output path and its permissions", path.display())]
    Open { path: PathBuf, source: io::Error },
    #[error("cannot save {}: {source}; check free space and permissions of its folder", path.display())]
    Commit { path: PathBuf, source: io::Error },
}

// ---------------------------------------------------------------------------------------------------------------
// Resampling

/// Streaming resampler from the model's 24 kHz to any rate in 8–192 kHz.
///
/// Feed chunks of any length with [`push`](Self::push), then call [`finish`](Self::finish) once; the
/// concatenated output does not depend on how the input was split, and its length is exactly
/// `round(n_in · rate / 24000)` (halves round up). 24 kHz → 24 kHz passes samples through untouched.
///
/// Quality: rubato's asynchronous sinc resampler, 256-tap Blackman-Harris² windowed sinc (automatic cutoff ≈ 0.95
/// of the lower Nyquist), 256× oversampled table with cubic interpolation: aliasing and images far below
/// -60 dB, plenty for speech. Its latency is removed: output sample 0 is aligned to input sample 0.
pub struct Resampler {
    rate: u32,
    sinc: Option<SincStream>,
}

impl fmt::Debug for Resampler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resampler").field("rate", &self.rate).finish_non_exhaustive()
    }
}

impl Resampler {
    /// A resampler from 24 kHz to `rate` Hz (8000..=192000).
    pub fn new(rate: u32) -> Result<Self, OutputError> {
        if !(MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&rate) {
            return Err(OutputError::UnsupportedRate { rate });
        }
        let sinc = (rate != MODEL_SAMPLE_RATE).then(|| SincStream::new(rate));
        Ok(Resampler { rate, sinc })
    }

    /// The output sample rate.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Resamples the next piece of input; returns whatever output is ready (possibly nothing).
    pub fn push(&mut self, input: &[f32]) -> Vec<f32> {
        match &mut self.sinc {
            None => input.to_vec(),
            Some(s) => s.push(input),
        }
    }

    /// Ends the stream: returns the rest of the output, then resets so the resampler can start a new stream.
    pub fn finish(&mut self) -> Vec<f32> {
        match &mut self.sinc {
            None => Vec::new(),
            Some(s) => s.finish(),
        }
    }
}

/// Filter length of the sinc (taps); the resampler looks ahead half of it.
const SINC_LEN: usize = 256;
/// Input frames per rubato call; our own buffer takes care of other chunk sizes.
const CHUNK: usize = 512;

struct SincStream {
    rs: Async<f32>,
    rate: u32,
    /// Zeros fed before the signal so that the latency is a whole number of output samples (see `new`).
    lead_in: usize,
    /// The resampler's latency in output samples, and how much of it is still to drop.
    delay: usize,
    trim: usize,
    /// Input not yet handed to rubato (always < CHUNK between calls).
    pending: Vec<f32>,
    out_buf: Vec<f32>,
    n_in: u64,
    n_out: u64,
}

impl SincStream {
    fn new(rate: u32) -> Self {
        let ratio = rate as f64 / MODEL_SAMPLE_RATE as f64;
        let params = SincInterpolationParameters::new(SINC_LEN, rubato::WindowFunction::BlackmanHarris2)
            .oversampling_factor(256)
            .interpolation(SincInterpolationType::Cubic);
        let rs = Async::<f32>::new_sinc(ratio, 1.0, &params, CHUNK, 1, FixedAsync::Input)
            .expect("ratio in (1/3, 8], chunk size and channel count are valid");
        // rubato computes output k from the input around time (k + 1)·24000/rate − SINC_LEN/2, so input time 0
        // lands on output k = (SINC_LEN/2)·rate/24000 − 1. That is a whole number only when SINC_LEN/2 is a multiple
        // of q = 24000/gcd(24000, rate): feed `lead_in` zeros first to make the delay (SINC_LEN/2 + lead_in) one.
        // (rubato's sinc table leaves a constant 1/256-input-sample offset, 0.16 µs: inaudible, not compensated.)
        let q = (MODEL_SAMPLE_RATE / gcd(MODEL_SAMPLE_RATE, rate)) as usize;
        let lead_in = (q - (SINC_LEN / 2) % q) % q;
        let delay = ((SINC_LEN / 2 + lead_in) as u64 * rate as u64 / MODEL_SAMPLE_RATE as u64) as usize - 1;
        let out_len = rs.output_frames_max();
        let mut s = SincStream {
            rs,
            rate,
            lead_in,
            delay,
            trim: delay,
            pending: Vec::with_capacity(CHUNK + lead_in),
            out_buf: vec![0.0; out_len],
            n_in: 0,
            n_out: 0,
        };
        s.start();
        s
    }

    fn start(&mut self) {
        self.rs.reset();
        self.pending.clear();
        self.pending.resize(self.lead_in, 0.0);
        self.trim = self.delay;
        self.n_in = 0;
        self.n_out = 0;
    }

    fn push(&mut self, input: &[f32]) -> Vec<f32> {
        self.n_in += input.len() as u64;
        self.pending.extend_from_slice(input);
        let mut out = Vec::with_capacity(self.pending.len() * self.rate as usize / MODEL_SAMPLE_RATE as usize + 2);
        let mut used = 0;
        while self.pending.len() - used >= CHUNK {
            self.process(used, None, &mut out);
            used += CHUNK;
        }
        self.pending.drain(..used);
        out
    }

    fn finish(&mut self) -> Vec<f32> {
        // Exactly round(n_in · rate / 24000) samples in all.
        let total = (self.n_in * self.rate as u64 + MODEL_SAMPLE_RATE as u64 / 2) / MODEL_SAMPLE_RATE as u64;
        let mut out = Vec::new();
        if self.n_in > 0 {
            // The rest of the input, then silence until the filter has run past the last sample.
            let mut partial = self.pending.len();
            while self.n_out < total {
                self.process(0, Some(partial), &mut out);
                partial = 0;
            }
            // The last call may overshoot; a push never does: the filter looks SINC_LEN/2 samples ahead.
            let extra = (self.n_out - total) as usize;
            out.truncate(out.len() - extra);
        }
        self.start();
        out
    }

    /// One rubato call on `pending[offset..]` (a full chunk, or the first `partial` frames padded with zeros).
    fn process(&mut self, offset: usize, partial: Option<usize>, out: &mut Vec<f32>) {
        let frames = partial.unwrap_or(CHUNK);
        let input = InterleavedSlice::new(&self.pending[offset..offset + frames], 1, frames).expect("length checked");
        let out_len = self.out_buf.len();
        let mut output = InterleavedSlice::new_mut(&mut self.out_buf[..], 1, out_len).expect("length checked");
        let indexing = partial.map(|n| Indexing::new().partial_len(n));
        let (_, produced) = self
            .rs
            .process_into_buffer(&input, &mut output, indexing.as_ref())
            .expect("buffers are sized from rubato's own input_frames_next and output_frames_max");
        let skip = self.trim.min(produced);
        self.trim -= skip;
        out.extend_from_slice(&self.out_buf[skip..produced]);
        self.n_out += (produced - skip) as u64;
    }
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

// ---------------------------------------------------------------------------------------------------------------
// Encodings and WAV headers

/// How samples become bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// WAV, 16-bit PCM.
    Wav16,
    /// WAV, 32-bit IEEE float.
    WavF32,
    /// Raw signed 16-bit little-endian PCM, no header.
    S16le,
    /// Raw 32-bit float little-endian, no header.
    F32le,
}

impl Encoding {
    /// The names [`parse`](Self::parse) accepts.
    pub const NAMES: &'static [&'static str] = &["wav", "wav16", "pcm16", "wavf32", "f32", "s16le", "f32le"];

    /// Parses an encoding name (ASCII case ignored): "wav", "wav16" and "pcm16" are 16-bit WAV, "wavf32" and "f32"
    /// float WAV, "s16le" and "f32le" raw PCM.
    pub fn parse(name: &str) -> Result<Self, OutputError> {
        Ok(match name.to_ascii_lowercase().as_str() {
            "wav" | "wav16" | "pcm16" => Encoding::Wav16,
            "wavf32" | "f32" => Encoding::WavF32,
            "s16le" => Encoding::S16le,
            "f32le" => Encoding::F32le,
            _ => return Err(OutputError::UnknownEncoding { name: name.to_string() }),
        })
    }

    /// Whether the bytes start with a WAV header.
    pub fn is_wav(self) -> bool {
        matches!(self, Encoding::Wav16 | Encoding::WavF32)
    }

    /// Bytes per (mono) sample.
    pub fn bytes_per_sample(self) -> usize {
        match self {
            Encoding::Wav16 | Encoding::S16le => 2,
            Encoding::WavF32 | Encoding::F32le => 4,
        }
    }

    /// Appends the little-endian encoding of `samples` to `out` (16-bit: clamped to [-1, 1], × 32767, rounded, as
    /// `audio::write_wav` does).
    pub fn encode_into(self, samples: &[f32], out: &mut Vec<u8>) {
        out.reserve(samples.len() * self.bytes_per_sample());
        match self {
            Encoding::Wav16 | Encoding::S16le => {
                for &s in samples {
                    out.extend_from_slice(&((s.clamp(-1.0, 1.0) * 32767.0).round() as i16).to_le_bytes());
                }
            }
            Encoding::WavF32 | Encoding::F32le => {
                for &s in samples {
                    out.extend_from_slice(&s.to_le_bytes());
                }
            }
        }
    }
}

impl FromStr for Encoding {
    type Err = OutputError;
    fn from_str(s: &str) -> Result<Self, OutputError> {
        Encoding::parse(s)
    }
}

/// Size field value meaning "unknown" (streamed WAV) or "see ds64" (RF64).
const UNKNOWN_SIZE: u32 = 0xFFFF_FFFF;
/// Length of the reserved JUNK chunk (header included): exactly a ds64 chunk with an empty table.
const JUNK_LEN: usize = 36;
/// The largest RIFF size a plain WAV may hold (0xFFFFFFFF itself reads as "unknown").
const MAX_RIFF_SIZE: u64 = UNKNOWN_SIZE as u64 - 1;

/// A mono WAV header with unknown sizes; `reserve_ds64` puts a 36-byte `JUNK` chunk after `WAVE` to be turned
/// into `ds64` if the file outgrows 32-bit sizes.
fn wav_header(encoding: Encoding, sample_rate: u32, reserve_ds64: bool) -> Vec<u8> {
    let bytes = encoding.bytes_per_sample() as u16;
    let format_tag: u16 = if encoding == Encoding::WavF32 { 3 } else { 1 };
    let mut h = Vec::with_capacity(44 + JUNK_LEN);
    h.extend_from_slice(b"RIFF");
    h.extend_from_slice(&UNKNOWN_SIZE.to_le_bytes());
    h.extend_from_slice(b"WAVE");
    if reserve_ds64 {
        h.extend_from_slice(b"JUNK");
        h.extend_from_slice(&(JUNK_LEN as u32 - 8).to_le_bytes());
        h.resize(h.len() + JUNK_LEN - 8, 0);
    }
    h.extend_from_slice(b"fmt ");
    h.extend_from_slice(&16u32.to_le_bytes());
    h.extend_from_slice(&format_tag.to_le_bytes());
    h.extend_from_slice(&1u16.to_le_bytes()); // channels
    h.extend_from_slice(&sample_rate.to_le_bytes());
    h.extend_from_slice(&(sample_rate * bytes as u32).to_le_bytes()); // byte rate
    h.extend_from_slice(&bytes.to_le_bytes()); // block align
    h.extend_from_slice(&(bytes * 8).to_le_bytes()); // bits per sample
    h.extend_from_slice(b"data");
    h.extend_from_slice(&UNKNOWN_SIZE.to_le_bytes());
    h
}

/// Writes the real sizes into a header written by `wav_header(.., reserve_ds64: true)` at `start`, then seeks back
/// to where `w` was. Above `max_riff_size` it turns the file into RF64.
fn patch_wav_sizes<W: Write + Seek>(
    w: &mut W,
    start: u64,
    header_len: u64,
    data_bytes: u64,
    bytes_per_sample: u64,
    max_riff_size: u64,
) -> io::Result<()> {
    let end = w.stream_position()?;
    let riff_size = header_len - 8 + data_bytes;
    if riff_size <= max_riff_size {
        w.seek(SeekFrom::Start(start + 4))?;
        w.write_all(&(riff_size as u32).to_le_bytes())?;
        w.seek(SeekFrom::Start(start + header_len - 4))?;
        w.write_all(&(data_bytes as u32).to_le_bytes())?;
    } else {
        // RF64 (EBU Tech 3306): RF64 tag, 0xFFFFFFFF sizes, the real ones as 64-bit in ds64.
        w.seek(SeekFrom::Start(start))?;
        w.write_all(b"RF64")?;
        w.seek(SeekFrom::Start(start + 12))?;
        let mut ds64 = Vec::with_capacity(JUNK_LEN);
        ds64.extend_from_slice(b"ds64");
        ds64.extend_from_slice(&(JUNK_LEN as u32 - 8).to_le_bytes());
        ds64.extend_from_slice(&riff_size.to_le_bytes());
        ds64.extend_from_slice(&data_bytes.to_le_bytes());
        ds64.extend_from_slice(&(data_bytes / bytes_per_sample).to_le_bytes()); // sample frames (mono)
        ds64.extend_from_slice(&0u32.to_le_bytes()); // no table entries
        w.write_all(&ds64)?;
        // The RIFF and data sizes stay 0xFFFFFFFF as written.
    }
    w.seek(SeekFrom::Start(end))?;
    Ok(())
}

/// Completes a WAV file that [`StreamWriter::new_seekable`] started at offset 0 and that then received
/// `samples` samples through other writes (a streamed file): writes the real sizes, RF64 past 4 GiB.
pub fn patch_wav_file<W: Write + Seek>(w: &mut W, encoding: Encoding, samples: u64) -> io::Result<()> {
    let header_len = wav_header(encoding, 1, true).len() as u64;
    let bytes = encoding.bytes_per_sample() as u64;
    patch_wav_sizes(w, 0, header_len, samples * bytes, bytes, MAX_RIFF_SIZE)?;
    w.seek(SeekFrom::End(0))?;
    w.flush()
}

/// Writes samples as they come: each [`write`](Self::write) encodes, writes and flushes at once.
///
/// [`new`](Self::new) suits any writer: a WAV gets 0xFFFFFFFF for its unknown sizes, which players and decoders
/// read as "until the end of the stream". [`new_seekable`](Self::new_seekable) with
/// [`finish_seekable`](Self::finish_seekable) writes the real sizes at the end (RF64 above 4 GiB).
pub struct StreamWriter<W: Write> {
    w: W,
    encoding: Encoding,
    sample_rate: u32,
    /// Where the header starts in `w`, for a writer made by `new_seekable`; its length (0 for raw encodings).
    start: Option<u64>,
    header_len: u64,
    data_bytes: u64,
    buf: Vec<u8>,
}

impl<W: Write> StreamWriter<W> {
    /// Starts a stream; for WAV the header (44 bytes, sizes 0xFFFFFFFF) is written and flushed now.
    pub fn new(w: W, encoding: Encoding, sample_rate: u32) -> io::Result<Self> {
        Self::with_header(w, encoding, sample_rate, None)
    }

    fn with_header(mut w: W, encoding: Encoding, sample_rate: u32, start: Option<u64>) -> io::Result<Self> {
        let mut header_len = 0;
        if encoding.is_wav() {
            let header = wav_header(encoding, sample_rate, start.is_some());
            header_len = header.len() as u64;
            w.write_all(&header)?;
            w.flush()?;
        }
        Ok(StreamWriter { w, encoding, sample_rate, start, header_len, data_bytes: 0, buf: Vec::new() })
    }

    /// Encodes and writes `samples`, then flushes the writer so that a reader on the other end gets them at once.
    pub fn write(&mut self, samples: &[f32]) -> io::Result<()> {
        self.buf.clear();
        self.encoding.encode_into(samples, &mut self.buf);
        self.w.write_all(&self.buf)?;
        self.data_bytes += self.buf.len() as u64;
        self.w.flush()
    }

    /// Ends the stream without touching the header (sizes stay 0xFFFFFFFF) and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.w.flush()?;
        Ok(self.w)
    }

    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Samples written so far.
    pub fn samples_written(&self) -> u64 {
        self.data_bytes / self.encoding.bytes_per_sample() as u64
    }
}

impl<W: Write + Seek> StreamWriter<W> {
    /// Starts a stream that [`finish_seekable`](Self::finish_seekable) completes with real sizes. The WAV header
    /// (80 bytes: a 36-byte `JUNK` chunk is reserved for RF64) starts at the writer's current position; until it
    /// is patched it reads like a streamed WAV, so an interrupted file is still playable.
    pub fn new_seekable(mut w: W, encoding: Encoding, sample_rate: u32) -> io::Result<Self> {
        let start = w.stream_position()?;
        Self::with_header(w, encoding, sample_rate, Some(start))
    }

    /// Ends the stream, writes the real RIFF and data sizes (RF64 with a `ds64` chunk when they exceed 32 bits),
    /// and returns the writer positioned after the data. A writer made by [`new`](Self::new) keeps its streamed
    /// header (there is no room for RF64 in it), as with [`finish`](Self::finish).
    pub fn finish_seekable(self) -> io::Result<W> {
        self.finish_with_limit(MAX_RIFF_SIZE)
    }

    fn finish_with_limit(mut self, max_riff_size: u64) -> io::Result<W> {
        if let Some(start) = self.start.filter(|_| self.header_len > 0) {
            let bytes = self.encoding.bytes_per_sample() as u64;
            patch_wav_sizes(&mut self.w, start, self.header_len, self.data_bytes, bytes, max_riff_size)?;
        }
        self.w.flush()?;
        Ok(self.w)
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Packets

/// Cuts a stream into packets of a fixed number of samples (e.g. 20 ms for a network stream).
#[derive(Debug, Clone)]
pub struct Packetizer {
    len: usize,
    pending: Vec<f32>,
}

impl Packetizer {
    /// Packets of `len` samples.
    ///
    /// # Panics
    /// If `len` is 0.
    pub fn new(len: usize) -> Self {
        assert!(len > 0, "a packet must hold at least one sample");
        Packetizer { len, pending: Vec::with_capacity(len) }
    }

    /// Packets of `millis` ms at `sample_rate` (rounded to whole samples: 20 ms at 24 kHz is 480).
    ///
    /// # Panics
    /// If that is less than one sample.
    pub fn from_millis(millis: u32, sample_rate: u32) -> Self {
        let len = (millis as u64 * sample_rate as u64 + 500) / 1000;
        Self::new(len as usize)
    }

    /// Samples per packet.
    pub fn packet_len(&self) -> usize {
        self.len
    }

    /// The whole packets now complete; the remainder waits for the next push.
    pub fn push(&mut self, samples: &[f32]) -> Vec<Vec<f32>> {
        let mut packets = Vec::new();
        let mut rest = samples;
        if !self.pending.is_empty() {
            let take = (self.len - self.pending.len()).min(rest.len());
            self.pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.pending.len() < self.len {
                return packets;
            }
            packets.push(std::mem::replace(&mut self.pending, Vec::with_capacity(self.len)));
        }
        let mut chunks = rest.chunks_exact(self.len);
        packets.extend(chunks.by_ref().map(<[f32]>::to_vec));
        self.pending.extend_from_slice(chunks.remainder());
        packets
    }

    /// The last, partial packet: shorter than [`packet_len`](Self::packet_len) and NOT padded with silence (pad it
    /// yourself if the receiver needs whole packets). `None` when nothing is left.
    pub fn finish(&mut self) -> Option<Vec<f32>> {
        (!self.pending.is_empty()).then(|| std::mem::take(&mut self.pending))
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Output target

/// Where the audio goes, opened before synthesis so that path problems are reported before any work.
///
/// - `-`: standard output;
/// - an existing character device, FIFO or socket (symlinks followed: `/dev/null`, `/dev/stdout`, a named pipe):
///   written in place, never replaced;
/// - `/dev/stdout`, `/proc/self/fd/N` and similar links to an open regular file: appended to in place;
/// - a regular file, new or existing, or a symlink to one: written to a hidden temporary file next to the
///   (resolved) target, renamed over it by [`commit`](Self::commit). Dropped without commit, the temporary file
///   is removed and an existing file is untouched.
pub struct OutputTarget {
    path: PathBuf,
    sink: Sink,
}

enum Sink {
    InPlace(Box<dyn Write + Send>),
    Temp { file: File, tmp: PathBuf, target: PathBuf, committed: bool },
}

impl fmt::Debug for OutputTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutputTarget").field("path", &self.path).field("seekable", &self.is_seekable()).finish()
    }
}

impl OutputTarget {
    /// Opens the destination `path` (see the type's documentation for the rules).
    pub fn open(path: &str) -> Result<OutputTarget, OutputError> {
        if path == "-" {
            return Ok(OutputTarget { path: PathBuf::from("-"), sink: Sink::InPlace(Box::new(io::stdout())) });
        }
        if path.is_empty() {
            return Err(OutputError::EmptyPath);
        }
        let given = PathBuf::from(path);
        let open_err = |source| OutputError::Open { path: given.clone(), source };
        match std::fs::metadata(&given) {
            Ok(meta) if meta.is_dir() => return Err(OutputError::IsDirectory { path: given }),
            Ok(meta) if is_block_device(&meta.file_type()) => return Err(OutputError::BlockDevice { path: given }),
            Ok(meta) if !meta.is_file() => {
                let sink = open_special(&given, &meta.file_type()).map_err(open_err)?;
                return Ok(OutputTarget { path: given, sink });
            }
            Ok(_) if through_fd_link(&given) => {
                // Someone else's open file (e.g. the shell's `> file`): append, so `>>` keeps what was there.
                let file = OpenOptions::new().append(true).open(&given).map_err(open_err)?;
                return Ok(OutputTarget { path: given, sink: Sink::InPlace(Box::new(file)) });
            }
            _ => {}
        }
        if path.ends_with('/') {
            return Err(OutputError::IsDirectory { path: given });
        }
        let target = resolve_links(&given).map_err(open_err)?;
        let (file, tmp) = create_temp(&given, &target)?;
        Ok(OutputTarget { path: given, sink: Sink::Temp { file, tmp, target, committed: false } })
    }

    /// The path as given (`-` for standard output).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True when the output can be rewritten at the end (a regular file): a WAV can then get real sizes through
    /// [`StreamWriter::new_seekable`]; otherwise use the streamed header.
    pub fn is_seekable(&self) -> bool {
        matches!(self.sink, Sink::Temp { .. })
    }

    /// The byte sink.
    pub fn writer(&mut self) -> &mut dyn Write {
        match &mut self.sink {
            Sink::InPlace(w) => w.as_mut(),
            Sink::Temp { file, .. } => file,
        }
    }

    /// The byte sink as a seekable file, when [`is_seekable`](Self::is_seekable).
    pub fn seekable_writer(&mut self) -> Option<&mut File> {
        match &mut self.sink {
            Sink::InPlace(_) => None,
            Sink::Temp { file, .. } => Some(file),
        }
    }

    /// Finishes: flushes, and for a regular file renames the temporary file over the target.
    pub fn commit(mut self) -> Result<(), OutputError> {
        let path = self.path.clone();
        match &mut self.sink {
            Sink::InPlace(w) => w.flush().map_err(|source| OutputError::Commit { path, source }),
            Sink::Temp { file, tmp, target, committed } => {
                let result = file.flush().and_then(|()| std::fs::rename(&*tmp, &*target));
                // On failure Drop removes the temporary file.
                *committed = result.is_ok();
                result.map_err(|source| OutputError::Commit { path, source })
            }
        }
    }

    /// For a stream that was interrupted: keeps what was written, exactly like [`commit`](Self::commit) (finish
    /// the [`StreamWriter`] first so that a WAV is valid).
    pub fn commit_partial(self) -> Result<(), OutputError> {
        self.commit()
    }
}

impl Drop for OutputTarget {
    fn drop(&mut self) {
        if let Sink::Temp { tmp, committed: false, .. } = &self.sink {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

/// Opens an existing non-regular, non-folder file for writing without creating, truncating or replacing it.
fn open_special(path: &Path, file_type: &std::fs::FileType) -> io::Result<Sink> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_socket() {
            return Ok(Sink::InPlace(Box::new(std::os::unix::net::UnixStream::connect(path)?)));
        }
    }
    let _ = file_type;
    // A FIFO blocks here until a reader opens it, as with any writer.
    Ok(Sink::InPlace(Box::new(OpenOptions::new().write(true).open(path)?)))
}

fn is_block_device(file_type: &std::fs::FileType) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        file_type.is_block_device()
    }
    #[cfg(not(unix))]
    {
        let _ = file_type;
        false
    }
}

/// Whether `path` reaches its file through a file-descriptor link (`/dev/stdout` → `/proc/self/fd/1` → …): the
/// file is already open elsewhere and must be written through that link, not replaced.
fn through_fd_link(path: &Path) -> bool {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        let s = p.to_string_lossy();
        if s.starts_with("/dev/fd/") || (s.starts_with("/proc/") && s.contains("/fd/")) {
            return true;
        }
        match std::fs::read_link(&p) {
            Ok(next) => p = p.parent().unwrap_or(Path::new("/")).join(next),
            Err(_) => return false,
        }
    }
    false
}

/// Follows symlinks in the last component: the regular file (possibly not there yet) that will be replaced.
fn resolve_links(path: &Path) -> io::Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let next = std::fs::read_link(&p)?;
                p = p.parent().unwrap_or(Path::new("")).join(next);
            }
            _ => return Ok(p),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

/// Creates `.NAME.warble-PID.tmp` next to `target`; this is also the check that the folder is writable.
fn create_temp(given: &Path, target: &Path) -> Result<(File, PathBuf), OutputError> {
    let folder = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    match std::fs::metadata(&folder) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(OutputError::NotAFolder { path: given.into(), folder }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(OutputError::MissingFolder { path: given.into(), folder });
        }
        Err(source) => return Err(OutputError::FolderNotWritable { path: given.into(), folder, source }),
    }
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
    let existing = std::fs::metadata(target).ok().filter(|m| m.is_file());
    for attempt in 0u32.. {
        let suffix = if attempt == 0 { String::new() } else { format!("-{attempt}") };
        let tmp = folder.join(format!(".{name}.warble-{}{suffix}.tmp", std::process::id()));
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(file) => {
                // The replacement keeps the permissions of the file it replaces.
                if let Some(m) = &existing {
                    let _ = file.set_permissions(m.permissions());
                }
                return Ok((file, tmp));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 1000 => continue,
            Err(source) => return Err(OutputError::FolderNotWritable { path: given.into(), folder, source }),
        }
    }
    unreachable!("the loop returns")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// Deterministic pseudo-random numbers (no test dependency needed).
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            self.0 >> 33
        }
        fn uniform(&mut self) -> f32 {
            (self.next() as f64 / (1u64 << 31) as f64) as f32 * 2.0 - 1.0
        }
    }

    fn sine(freq: f64, rate: u32, n: usize, amp: f64) -> Vec<f32> {
        (0..n).map(|i| (amp * (2.0 * std::f64::consts::PI * freq * i as f64 / rate as f64).sin()) as f32).collect()
    }

    fn rms(x: &[f32]) -> f64 {
        (x.iter().map(|&v| v as f64 * v as f64).sum::<f64>() / x.len() as f64).sqrt()
    }

    fn resample_all(rate: u32, input: &[f32]) -> Vec<f32> {
        let mut r = Resampler::new(rate).unwrap();
        let mut out = r.push(input);
        out.extend(r.finish());
        out
    }

    fn expected_len(n: usize, rate: u32) -> usize {
        ((n as u64 * rate as u64 + 12_000) / 24_000) as usize
    }

    #[test]
    fn resampler_rejects_out_of_range_rates() {
        for rate in [0, 7_999, 192_001, 1_000_000] {
            let err = Resampler::new(rate).unwrap_err();
            assert!(matches!(err, OutputError::UnsupportedRate { rate: r } if r == rate));
            assert!(err.to_string().contains("from 8000 to 192000 Hz"), "{err}");
        }
        for rate in [8_000, 11_025, 32_000, 96_000, 192_000] {
            assert_eq!(Resampler::new(rate).unwrap().rate(), rate);
        }
    }

    #[test]
    fn resampler_24k_passes_through() {
        let input: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.37).sin()).collect();
        let mut r = Resampler::new(24_000).unwrap();
        let mut out = r.push(&input[..333]);
        out.extend(r.push(&input[333..]));
        out.extend(r.finish());
        assert_eq!(out, input);
    }

    #[test]
    fn resampler_output_does_not_depend_on_chunking_and_has_exact_length() {
        let mut rng = Lcg(7);
        for &rate in &[8_000, 16_000, 22_050, 44_100, 48_000, 11_025, 96_000] {
            for &n in &[0usize, 1, 100, 511, 512, 513, 5_000, 12_345] {
                let input: Vec<f32> = (0..n).map(|_| 0.5 * rng.uniform()).collect();
                let whole = resample_all(rate, &input);
                assert_eq!(whole.len(), expected_len(n, rate), "rate {rate} n {n}");
                let mut r = Resampler::new(rate).unwrap();
                let mut pieces = Vec::new();
                let mut i = 0;
                while i < n {
                    let len = (rng.next() % 700) as usize;
                    let end = (i + len).min(n);
                    pieces.extend(r.push(&input[i..end]));
                    i = end;
                }
                pieces.extend(r.finish());
                assert_eq!(pieces.len(), whole.len(), "rate {rate} n {n}");
                let max_diff = pieces.iter().zip(&whole).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
                assert!(max_diff <= 1e-6, "rate {rate} n {n}: chunked output differs by {max_diff}");
                // finish() resets: a second stream through the same resampler comes out the same.
                let mut again = r.push(&input);
                again.extend(r.finish());
                assert_eq!(again, whole, "rate {rate} n {n}: second stream differs");
            }
        }
    }

    #[test]
    fn resampler_keeps_1khz_frequency_amplitude_and_timing() {
        let input = sine(1000.0, 24_000, 24_000, 0.5);
        for &rate in &[16_000u32, 48_000, 22_050, 44_100, 8_000] {
            let out = resample_all(rate, &input);
            assert_eq!(out.len(), rate as usize);
            // Leave out the edges, where the sine starts and stops abruptly.
            let mid = &out[rate as usize / 10..rate as usize * 9 / 10];
            let amp = rms(mid) * 2f64.sqrt();
            assert!((amp / 0.5 - 1.0).abs() < 0.01, "rate {rate}: amplitude {amp}");
            // Frequency from the first and last rising zero crossings (linearly interpolated).
            let crossings: Vec<f64> = mid
                .windows(2)
                .enumerate()
                .filter(|(_, w)| w[0] < 0.0 && w[1] >= 0.0)
                .map(|(i, w)| i as f64 + (-w[0] / (w[1] - w[0])) as f64)
                .collect();
            let periods = (crossings.len() - 1) as f64;
            let freq = periods * rate as f64 / (crossings[crossings.len() - 1] - crossings[0]);
            assert!((freq / 1000.0 - 1.0).abs() < 0.01, "rate {rate}: frequency {freq}");
            // No delay: output sample k is the input at time k / rate.
            let ideal = sine(1000.0, rate, rate as usize, 0.5);
            let start = rate as usize / 10;
            let err = mid.iter().zip(&ideal[start..]).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
            assert!(err < 0.005, "rate {rate}: differs from the ideal sine by {err}");
        }
    }

    #[test]
    fn resampler_aligns_an_impulse() {
        // A band-limited click at input sample 600 must peak at output sample 600 · rate / 24000.
        let mut input = vec![0.0f32; 1200];
        for (i, v) in input.iter_mut().enumerate() {
            let t = i as f64 - 600.0;
            // Gaussian pulse, far below the 4 kHz Nyquist of 8 kHz output.
            *v = (-(t * t) / (2.0 * 4.0 * 4.0)).exp() as f32;
        }
        for &rate in &[8_000u32, 16_000, 22_050, 44_100, 48_000] {
            let out = resample_all(rate, &input);
            let peak = out.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
            let expected = 600.0 * rate as f64 / 24_000.0;
            assert!((peak as f64 - expected).abs() <= 0.5, "rate {rate}: peak at {peak}, expected {expected}");
        }
    }

    #[test]
    fn resampler_removes_10khz_when_going_to_16khz() {
        let input = sine(10_000.0, 24_000, 24_000, 0.5);
        let out = resample_all(16_000, &input);
        let mid = &out[1_600..14_400];
        let atten_db = 20.0 * (rms(mid) / rms(&input[2_400..21_600])).log10();
        assert!(atten_db <= -40.0, "10 kHz only attenuated by {atten_db:.1} dB");
    }

    #[test]
    fn encoding_names() {
        for (name, enc) in [
            ("wav", Encoding::Wav16),
            ("WAV", Encoding::Wav16),
            ("wav16", Encoding::Wav16),
            ("pcm16", Encoding::Wav16),
            ("f32", Encoding::WavF32),
            ("wavf32", Encoding::WavF32),
            ("s16le", Encoding::S16le),
            ("f32le", Encoding::F32le),
        ] {
            assert_eq!(Encoding::parse(name).unwrap(), enc, "{name}");
            assert_eq!(name.parse::<Encoding>().unwrap(), enc, "{name}");
        }
        let err = Encoding::parse("mp3").unwrap_err().to_string();
        assert!(err.contains("\"mp3\""), "{err}");
        for name in Encoding::NAMES {
            assert!(err.contains(name), "{err} lacks {name}");
            assert!(Encoding::parse(name).is_ok());
        }
    }

    #[test]
    fn s16_conversion_matches_audio_rs() {
        let samples = [0.0f32, 0.5, -0.5, 1.5, -2.0, 0.25, -0.000_01, 0.999_99];
        let mut raw = Vec::new();
        Encoding::S16le.encode_into(&samples, &mut raw);
        let wav = crate::audio::wav_bytes(&samples, 24_000, crate::audio::SampleFormat::Pcm16).unwrap();
        assert_eq!(&wav[44..], &raw[..]);
        assert_eq!(&raw[..8], &[0, 0, 0x00, 0x40, 0x00, 0xC0, 0xFF, 0x7F]);
        let mut f = Vec::new();
        Encoding::F32le.encode_into(&samples[..2], &mut f);
        assert_eq!(f, [0.0f32.to_le_bytes(), 0.5f32.to_le_bytes()].concat());
    }

    fn u32_at(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
    }

    fn u64_at(b: &[u8], at: usize) -> u64 {
        u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
    }

    #[test]
    fn streamed_wav_has_unknown_sizes_and_data_at_44() {
        let mut w = StreamWriter::new(Vec::new(), Encoding::Wav16, 16_000).unwrap();
        w.write(&[0.5, -0.5]).unwrap();
        w.write(&[1.0]).unwrap();
        assert_eq!(w.samples_written(), 3);
        let b = w.finish().unwrap();
        assert_eq!(&b[0..4], b"RIFF");
        assert_eq!(u32_at(&b, 4), 0xFFFF_FFFF);
        assert_eq!(&b[8..16], b"WAVEfmt ");
        assert_eq!(u32_at(&b, 16), 16);
        assert_eq!(u16::from_le_bytes([b[20], b[21]]), 1); // PCM
        assert_eq!(u16::from_le_bytes([b[22], b[23]]), 1); // mono
        assert_eq!(u32_at(&b, 24), 16_000);
        assert_eq!(u32_at(&b, 28), 32_000);
        assert_eq!(&b[36..40], b"data");
        assert_eq!(u32_at(&b, 40), 0xFFFF_FFFF);
        assert_eq!(&b[44..], &[0x00, 0x40, 0x00, 0xC0, 0xFF, 0x7F]);

        let mut w = StreamWriter::new(Vec::new(), Encoding::WavF32, 48_000).unwrap();
        w.write(&[0.25]).unwrap();
        let b = w.finish().unwrap();
        assert_eq!(u16::from_le_bytes([b[20], b[21]]), 3); // IEEE float
        assert_eq!(u16::from_le_bytes([b[34], b[35]]), 32);
        assert_eq!(&b[44..], &0.25f32.to_le_bytes());
    }

    #[test]
    fn raw_streams_have_no_header() {
        let mut w = StreamWriter::new(Vec::new(), Encoding::S16le, 24_000).unwrap();
        w.write(&[0.5]).unwrap();
        assert_eq!(w.finish().unwrap(), vec![0x00, 0x40]);
        let mut w = StreamWriter::new_seekable(Cursor::new(Vec::new()), Encoding::F32le, 24_000).unwrap();
        w.write(&[-1.0]).unwrap();
        assert_eq!(w.finish_seekable().unwrap().into_inner(), (-1.0f32).to_le_bytes());
    }

    #[test]
    fn writer_flushes_every_write() {
        struct Counting {
            bytes: Vec<u8>,
            flushed_at: Vec<usize>,
        }
        impl Write for Counting {
            fn write(&mut self, b: &[u8]) -> io::Result<usize> {
                self.bytes.extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                self.flushed_at.push(self.bytes.len());
                Ok(())
            }
        }
        let mut w = StreamWriter::new(Counting { bytes: vec![], flushed_at: vec![] }, Encoding::Wav16, 24_000).unwrap();
        w.write(&[0.0; 10]).unwrap();
        w.write(&[0.0; 5]).unwrap();
        let c = w.finish().unwrap();
        assert_eq!(c.flushed_at[..3], [44, 64, 74]);
    }

    #[test]
    fn seekable_wav_reads_back_exactly_with_hound() {
        let samples: Vec<f32> = (0..1001).map(|i| ((i as f32) * 0.01).sin() * 0.8).collect();
        for enc in [Encoding::Wav16, Encoding::WavF32] {
            // Start after some bytes already in the writer: the header must be patched where it was written.
            let mut cur = Cursor::new(Vec::new());
            cur.write_all(b"xyz").unwrap();
            let mut w = StreamWriter::new_seekable(cur, enc, 22_050).unwrap();
            for piece in samples.chunks(77) {
                w.write(piece).unwrap();
            }
            let cur = w.finish_seekable().unwrap();
            assert_eq!(cur.position() as usize, cur.get_ref().len());
            let bytes = &cur.get_ref()[3..];
            assert_eq!(u32_at(bytes, 4) as usize, bytes.len() - 8);
            assert_eq!(&bytes[12..16], b"JUNK");
            let r = hound::WavReader::new(Cursor::new(bytes.to_vec())).unwrap();
            assert_eq!(r.spec().sample_rate, 22_050);
            assert_eq!(r.spec().channels, 1);
            assert_eq!(r.len() as usize, samples.len());
            if enc == Encoding::Wav16 {
                let got: Vec<i16> = r.into_samples::<i16>().map(|s| s.unwrap()).collect();
                let want: Vec<i16> = samples.iter().map(|&s| (s * 32767.0).round() as i16).collect();
                assert_eq!(got, want);
            } else {
                let got: Vec<f32> = r.into_samples::<f32>().map(|s| s.unwrap()).collect();
                assert_eq!(got, samples);
            }
        }
    }

    #[test]
    fn streamed_header_stays_streamed_on_finish_seekable() {
        let mut cur = Cursor::new(Vec::new());
        cur.write_all(b"xyz").unwrap();
        let mut w = StreamWriter::new(cur, Encoding::Wav16, 24_000).unwrap();
        w.write(&[0.5]).unwrap();
        let b = w.finish_seekable().unwrap().into_inner();
        assert_eq!(&b[..7], b"xyzRIFF");
        assert_eq!(u32_at(&b, 7), 0xFFFF_FFFF);
        assert_eq!(u32_at(&b, 43), 0xFFFF_FFFF);
        assert_eq!(b.len(), 3 + 44 + 2);
    }

    #[test]
    fn large_seekable_wav_becomes_rf64() {
        let mut w = StreamWriter::new_seekable(Cursor::new(Vec::new()), Encoding::Wav16, 24_000).unwrap();
        w.write(&[0.5; 100]).unwrap();
        // A RIFF size limit of 200 bytes stands in for 4 GiB: 72 + 200 data bytes exceed it.
        let b = w.finish_with_limit(200).unwrap().into_inner();
        assert_eq!(b.len(), 80 + 200);
        assert_eq!(&b[0..4], b"RF64");
        assert_eq!(u32_at(&b, 4), 0xFFFF_FFFF);
        assert_eq!(&b[8..12], b"WAVE");
        assert_eq!(&b[12..16], b"ds64");
        assert_eq!(u32_at(&b, 16), 28);
        assert_eq!(u64_at(&b, 20), b.len() as u64 - 8); // RIFF size
        assert_eq!(u64_at(&b, 28), 200); // data size
        assert_eq!(u64_at(&b, 36), 100); // sample frames
        assert_eq!(u32_at(&b, 44), 0); // table length
        assert_eq!(&b[48..52], b"fmt ");
        assert_eq!(&b[72..76], b"data");
        assert_eq!(u32_at(&b, 76), 0xFFFF_FFFF);
        assert_eq!(&b[80..82], &[0x00, 0x40]);

        // Just under the limit it stays a plain WAV.
        let mut w = StreamWriter::new_seekable(Cursor::new(Vec::new()), Encoding::Wav16, 24_000).unwrap();
        w.write(&[0.5; 100]).unwrap();
        let b = w.finish_with_limit(272).unwrap().into_inner();
        assert_eq!(&b[0..4], b"RIFF");
        assert_eq!(u32_at(&b, 4), 272);
        assert_eq!(&b[12..16], b"JUNK");
        assert_eq!(u32_at(&b, 76), 200);
    }

    #[test]
    fn packetizer_cuts_exact_packets_without_losing_samples() {
        let mut p = Packetizer::from_millis(20, 24_000);
        assert_eq!(p.packet_len(), 480);
        assert_eq!(Packetizer::from_millis(20, 22_050).packet_len(), 441);
        let input: Vec<f32> = (0..5_000).map(|i| i as f32).collect();
        let mut rng = Lcg(3);
        let mut packets = Vec::new();
        let mut i = 0;
        while i < input.len() {
            let end = (i + (rng.next() % 1_200) as usize).min(input.len());
            packets.extend(p.push(&input[i..end]));
            i = end;
        }
        assert_eq!(packets.len(), 10);
        assert!(packets.iter().all(|p| p.len() == 480));
        let last = p.finish().unwrap();
        assert_eq!(last.len(), 200); // not padded
        assert_eq!(p.finish(), None);
        let all: Vec<f32> = packets.into_iter().flatten().chain(last).collect();
        assert_eq!(all, input);

        let mut p = Packetizer::new(4);
        assert_eq!(p.push(&[1.0, 2.0, 3.0]), Vec::<Vec<f32>>::new());
        assert_eq!(p.push(&[4.0, 5.0]), vec![vec![1.0, 2.0, 3.0, 4.0]]);
        assert_eq!(
            p.push(&[6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0]),
            vec![vec![5.0, 6.0, 7.0, 8.0], vec![9.0, 10.0, 11.0, 12.0]]
        );
        assert_eq!(p.finish(), Some(vec![13.0]));
    }

    /// A fresh folder for one test, removed on drop.
    struct TempDir(PathBuf);
    impl TempDir {
        fn new(name: &str) -> Self {
            let d = std::env::temp_dir().join(format!("warble-output-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&d);
            std::fs::create_dir_all(&d).unwrap();
            TempDir(d)
        }
        fn path(&self, name: &str) -> String {
            self.0.join(name).to_string_lossy().into_owned()
        }
        fn names(&self) -> Vec<String> {
            let mut v: Vec<String> =
                std::fs::read_dir(&self.0).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into()).collect();
            v.sort();
            v
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn regular_file_is_written_through_a_temp_file_and_renamed_on_commit() {
        let dir = TempDir::new("commit");
        let out = dir.path("a.wav");
        let mut t = OutputTarget::open(&out).unwrap();
        assert!(t.is_seekable());
        // The temporary file exists from the start (that is the writability check), hidden, with our PID.
        assert_eq!(dir.names(), vec![format!(".a.wav.warble-{}.tmp", std::process::id())]);
        let f = t.seekable_writer().unwrap();
        let mut w = StreamWriter::new_seekable(f, Encoding::Wav16, 24_000).unwrap();
        w.write(&[0.5; 10]).unwrap();
        w.finish_seekable().unwrap();
        t.commit().unwrap();
        assert_eq!(dir.names(), vec!["a.wav".to_string()]);
        let r = hound::WavReader::open(&out).unwrap();
        assert_eq!(r.len(), 10);
    }

    #[test]
    fn drop_without_commit_leaves_nothing_and_keeps_an_existing_file() {
        let dir = TempDir::new("drop");
        let fresh = dir.path("new.wav");
        let mut t = OutputTarget::open(&fresh).unwrap();
        t.writer().write_all(b"partial").unwrap();
        drop(t);
        assert!(dir.names().is_empty(), "{:?}", dir.names());

        let old = dir.path("old.wav");
        std::fs::write(&old, b"keep me").unwrap();
        let mut t = OutputTarget::open(&old).unwrap();
        t.writer().write_all(b"new content").unwrap();
        drop(t);
        assert_eq!(std::fs::read(&old).unwrap(), b"keep me");
        assert_eq!(dir.names(), vec!["old.wav".to_string()]);

        // commit_partial keeps what was written, like commit.
        let mut t = OutputTarget::open(&old).unwrap();
        t.writer().write_all(b"half").unwrap();
        t.commit_partial().unwrap();
        assert_eq!(std::fs::read(&old).unwrap(), b"half");
        assert_eq!(dir.names(), vec!["old.wav".to_string()]);
    }

    #[test]
    fn missing_folder_and_directories_are_errors_before_writing() {
        let dir = TempDir::new("missing");
        let out = dir.path("nope/x.wav");
        let err = OutputTarget::open(&out).unwrap_err();
        let folder = dir.0.join("nope");
        assert!(matches!(&err, OutputError::MissingFolder { folder: f, .. } if *f == folder), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains(&*folder.to_string_lossy()) && msg.contains("does not exist"), "{msg}");
        assert!(!folder.exists());

        let err = OutputTarget::open(&dir.0.to_string_lossy()).unwrap_err();
        assert!(matches!(err, OutputError::IsDirectory { .. }), "{err:?}");
        assert!(err.to_string().contains(&*dir.0.to_string_lossy()));

        std::fs::write(dir.path("file"), b"").unwrap();
        let err = OutputTarget::open(&dir.path("file/x.wav")).unwrap_err();
        assert!(matches!(err, OutputError::NotAFolder { .. }), "{err:?}");
        assert!(matches!(OutputTarget::open(""), Err(OutputError::EmptyPath)));
    }

    #[cfg(unix)]
    #[test]
    fn symlink_to_a_regular_file_stays_a_symlink() {
        let dir = TempDir::new("symlink");
        std::fs::create_dir(dir.0.join("real")).unwrap();
        let target = dir.0.join("real").join("t.wav");
        std::fs::write(&target, b"old").unwrap();
        let link = dir.0.join("link.wav");
        std::os::unix::fs::symlink("real/t.wav", &link).unwrap();
        let mut t = OutputTarget::open(&link.to_string_lossy()).unwrap();
        assert!(t.is_seekable());
        t.writer().write_all(b"new").unwrap();
        t.commit().unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(dir.0.join("real")).unwrap().count(), 1);

        // A dangling link creates its target.
        let dangling = dir.0.join("dangling.wav");
        std::os::unix::fs::symlink("real/created.wav", &dangling).unwrap();
        let mut t = OutputTarget::open(&dangling.to_string_lossy()).unwrap();
        t.writer().write_all(b"x").unwrap();
        t.commit().unwrap();
        assert!(std::fs::symlink_metadata(&dangling).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read(dir.0.join("real/created.wav")).unwrap(), b"x");
    }

    #[cfg(unix)]
    #[test]
    fn dev_null_is_written_in_place() {
        use std::os::unix::fs::FileTypeExt;
        let mut t = OutputTarget::open("/dev/null").unwrap();
        assert!(!t.is_seekable());
        assert!(t.seekable_writer().is_none());
        let mut w = StreamWriter::new(t.writer(), Encoding::Wav16, 24_000).unwrap();
        w.write(&[0.1; 100]).unwrap();
        w.finish().unwrap();
        t.commit().unwrap();
        assert!(std::fs::metadata("/dev/null").unwrap().file_type().is_char_device());
    }

    #[cfg(unix)]
    #[test]
    fn block_devices_are_refused() {
        use std::os::unix::fs::FileTypeExt;
        // Any block device will do; a container may have none, and then there is nothing to check.
        let Some(dev) = std::fs::read_dir("/dev")
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .find(|p| std::fs::symlink_metadata(p).map(|m| m.file_type().is_block_device()).unwrap_or(false))
        else {
            return;
        };
        let err = OutputTarget::open(&dev.to_string_lossy()).unwrap_err();
        assert!(matches!(err, OutputError::BlockDevice { .. }), "{}: {err:?}", dev.display());
        assert!(std::fs::symlink_metadata(&dev).unwrap().file_type().is_block_device());
    }

    #[cfg(unix)]
    #[test]
    fn fifo_is_written_in_place() {
        use std::io::Read;
        use std::os::unix::fs::FileTypeExt;
        let dir = TempDir::new("fifo");
        let fifo = dir.0.join("pipe");
        let status = std::process::Command::new("mkfifo").arg(&fifo).status().expect(
            "this test needs the `mkfifo` program (coreutils) to make a named pipe; install it to run the test",
        );
        assert!(status.success(), "mkfifo {} failed", fifo.display());
        // Through a symlink too.
        let link = dir.0.join("pipe-link");
        std::os::unix::fs::symlink(&fifo, &link).unwrap();
        let reader_path = fifo.clone();
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            File::open(reader_path).unwrap().read_to_end(&mut got).unwrap();
            got
        });
        let mut t = OutputTarget::open(&link.to_string_lossy()).unwrap();
        assert!(!t.is_seekable());
        let mut w = StreamWriter::new(t.writer(), Encoding::S16le, 24_000).unwrap();
        w.write(&[0.5, -0.5]).unwrap();
        w.finish().unwrap();
        t.commit().unwrap();
        assert_eq!(reader.join().unwrap(), vec![0x00, 0x40, 0x00, 0xC0]);
        assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
        assert_eq!(dir.names(), vec!["pipe".to_string(), "pipe-link".to_string()]);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn fd_link_to_a_regular_file_is_appended_in_place() {
        use std::os::fd::AsRawFd;
        let dir = TempDir::new("fdlink");
        let path = dir.0.join("held.wav");
        std::fs::write(&path, b"head-").unwrap();
        let held = OpenOptions::new().append(true).open(&path).unwrap();
        let mut t = OutputTarget::open(&format!("/proc/self/fd/{}", held.as_raw_fd())).unwrap();
        assert!(!t.is_seekable());
        t.writer().write_all(b"tail").unwrap();
        t.commit().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"head-tail");
        assert_eq!(dir.names(), vec!["held.wav".to_string()]);
    }

    #[cfg(unix)]
    #[test]
    fn unwritable_folder_is_reported() {
        use std::os::unix::fs::PermissionsExt;
        let dir = TempDir::new("readonly");
        let ro = dir.0.join("ro");
        std::fs::create_dir(&ro).unwrap();
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
        let result = OutputTarget::open(&ro.join("x.wav").to_string_lossy());
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
        let (err, folder) = match result {
            Err(err) => (err, ro),
            // Root may write anyway: use /proc, where nobody can create files.
            Ok(_) if cfg!(target_os = "linux") => {
                (OutputTarget::open("/proc/warble-test.wav").unwrap_err(), "/proc".into())
            }
            Ok(_) => return,
        };
        assert!(matches!(&err, OutputError::FolderNotWritable { folder: f, .. } if *f == folder), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains("not writable") && msg.contains(&*folder.to_string_lossy()), "{msg}");
    }
}
