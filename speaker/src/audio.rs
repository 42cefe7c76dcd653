//! Reference audio for voice cloning: decoding any common audio file to mono f32 ([`load_audio`]) and
//! resampling it ([`resample`]); `reference.rs` turns the result into the 16 kHz speech the speaker
//! embedding is computed from.
//!
//! Files are recognised by their content (symphonia's probe), never by their extension: recordings are
//! often renamed, and a `.wav` that is really an MP3 should just work. Supported: WAV (8/16/24/32-bit
//! PCM, 32/64-bit float), FLAC, MP3 and Ogg Vorbis.
//!
//! Damage policy, chosen so a slightly damaged recording is still usable but a broken one is never
//! silently half-used:
//! * a packet the *decoder* rejects (symphonia documents this as recoverable: the packet is dropped and
//!   decoding continues) is skipped and counted in [`Audio::damaged_packets`], which `prepare_reference`
//!   reports as a warning; if more than [`MAX_DAMAGED_FRACTION`] of the packets are damaged the file is
//!   an error instead, since what is left would be mostly gaps;
//! * malformed data found by the *container reader* (it cannot find the next packet) stops decoding with
//!   an error naming the file;
//! * truncation is an error too: data ending inside a packet or page, or well before the length the
//!   header declares. Two cases cannot be told from a complete file and decode as the shorter audio they
//!   are: a WAV streamed with an unknown length (0xFFFFFFFF sizes, as `warble say -o -` or ffmpeg write
//!   to a pipe), which legitimately ends wherever the bytes end, and an MP3 without a Xing/Info tag, whose
//!   length symphonia only estimates from its size (so a cut copy is simply a shorter MP3).

use std::fs::File;
use std::path::Path;

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Async, FixedAsync, Indexing, Resampler as _, SincInterpolationParameters, SincInterpolationType};
use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::well_known::{FORMAT_ID_MP1, FORMAT_ID_MP2, FORMAT_ID_MP3, FORMAT_ID_WAVE};
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

use crate::SpeakerError;

/// Decoded audio, downmixed to mono.
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    /// Mono samples in −1..1 (channels averaged).
    pub samples: Vec<f32>,
    /// Samples per second.
    pub sample_rate: u32,
    /// Channels of the file before downmixing (1 for audio made in memory).
    pub channels: usize,
    /// What to call this audio in messages: the path as given, or a label for audio made in memory.
    pub name: String,
    /// Packets the decoder rejected and that were skipped (each a gap of a few ms to ~100 ms).
    pub damaged_packets: usize,
    /// Set when decoding stopped at [`MAX_DECODE_SECONDS`]: the file is longer than anything a voice
    /// clone can use, and decoding hours of audio would only cost memory and time.
    pub cut_at_seconds: Option<f32>,
}

impl Audio {
    /// Mono audio made in memory (tests, microphones, other decoders).
    pub fn from_samples(name: impl Into<String>, samples: Vec<f32>, sample_rate: u32) -> Self {
        Audio { samples, sample_rate, channels: 1, name: name.into(), damaged_packets: 0, cut_at_seconds: None }
    }

    /// Duration in seconds (0 for a rate of 0).
    pub fn seconds(&self) -> f32 {
        if self.sample_rate == 0 { 0.0 } else { self.samples.len() as f32 / self.sample_rate as f32 }
    }
}

/// Decoding stops after this much audio. Only the first 60 s of *speech* are used for a clone; ten
/// minutes leaves room for long pauses and still bounds memory (at 48 kHz: 110 MB of f32).
pub const MAX_DECODE_SECONDS: u32 = 600;

/// More damaged packets than this fraction of all packets (and more than a handful) make the file an
/// error rather than a warning.
pub const MAX_DAMAGED_FRACTION: f64 = 0.1;

/// Lowest and highest sample rates [`resample`] accepts: everything from old telephone-band recordings
/// to 768 kHz studio files; outside that a "rate" is almost certainly a broken header.
pub const MIN_RATE: u32 = 1_000;
pub const MAX_RATE: u32 = 768_000;

/// Decodes an audio file to mono f32. See the module documentation for what counts as damage.
pub fn load_audio(path: &Path) -> Result<Audio, SpeakerError> {
    let name = path.display().to_string();
    let metadata = std::fs::metadata(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
            SpeakerError::AudioNotFound {
                path: path.to_path_buf(),
                detail: format!("looked at {}", absolute.display()),
            }
        } else {
            SpeakerError::AudioUnreadable { path: path.to_path_buf(), detail: e.to_string() }
        }
    })?;
    if metadata.is_dir() {
        return Err(SpeakerError::AudioUnreadable { path: path.to_path_buf(), detail: "it is a folder".into() });
    }
    if metadata.len() == 0 {
        return Err(SpeakerError::AudioEmpty { path: path.to_path_buf(), detail: "the file is 0 bytes".into() });
    }
    let file = File::open(path)
        .map_err(|e| SpeakerError::AudioUnreadable { path: path.to_path_buf(), detail: e.to_string() })?;
    let corrupt = |detail: String| SpeakerError::AudioCorrupt { path: path.to_path_buf(), detail };
    let unsupported = |detail: String| SpeakerError::AudioFormat { path: path.to_path_buf(), detail };

    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    // An empty hint: the format is judged by the bytes alone.
    let mut format = symphonia::default::get_probe()
        .probe(&Hint::new(), mss, FormatOptions::default(), MetadataOptions::default())
        .map_err(|e| match e {
            SymphoniaError::Unsupported(_) => unsupported("not a WAV, FLAC, MP3 or Ogg Vorbis file".into()),
            SymphoniaError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
                corrupt("the data ends before its audio starts (the file is probably cut short)".into())
            }
            SymphoniaError::IoError(io) => {
                SpeakerError::AudioUnreadable { path: path.to_path_buf(), detail: io.to_string() }
            }
            other => corrupt(format!("cannot read its header: {other}")),
        })?;
    let track = format
        .default_track(TrackType::Audio)
        .ok_or_else(|| unsupported("the file holds no audio track with a known codec".into()))?;
    let track_id = track.id;
    let declared_frames = track.num_frames;
    let container = format.format_info().format;
    // MP3 lengths without a Xing/Info tag are estimates from the file size: no basis for a truncation check.
    let length_is_exact = ![FORMAT_ID_MP1, FORMAT_ID_MP2, FORMAT_ID_MP3].contains(&container);
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .ok_or_else(|| unsupported("the file holds no audio track".into()))?
        .clone();
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .map_err(|e| unsupported(format!("its codec is not supported ({e})")))?;

    let mut samples: Vec<f32> = Vec::new();
    let mut interleaved: Vec<f32> = Vec::new();
    // The rate of the decoded audio (the codec parameters' rate only if nothing decodes).
    let mut rate: Option<u32> = None;
    let mut channels = params.channels.as_ref().map_or(0, |c| c.count());
    let (mut packets, mut damaged) = (0usize, 0usize);
    let mut cut_at_seconds = None;
    // Set when the data ends inside a packet or page.
    let mut ended_early = false;
    loop {
        let packet = match format.next_packet() {
            Ok(Some(packet)) => packet,
            Ok(None) => break,
            Err(SymphoniaError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                // A streamed WAV (no declared length) ends wherever its bytes end; anything else is cut.
                ended_early = !(container == FORMAT_ID_WAVE && declared_frames.is_none());
                break;
            }
            // A new logical stream (chained Ogg): only the first one is read.
            Err(SymphoniaError::ResetRequired) => break,
            Err(e) => {
                let at = rate.map_or(0.0, |r| samples.len() as f64 / f64::from(r));
                return Err(corrupt(format!("unreadable data after {at:.2} s of audio: {e}")));
            }
        };
        if packet.track_id != track_id {
            continue;
        }
        packets += 1;
        let buffer = match decoder.decode(&packet) {
            Ok(buffer) => buffer,
            Err(SymphoniaError::DecodeError(_) | SymphoniaError::IoError(_)) => {
                damaged += 1;
                continue;
            }
            Err(SymphoniaError::ResetRequired) => {
                decoder.reset();
                damaged += 1;
                continue;
            }
            Err(e) => return Err(unsupported(format!("decoding failed: {e}"))),
        };
        let spec = buffer.spec();
        let n_channels = spec.channels().count();
        match rate {
            Some(r) if r != spec.rate() => {
                return Err(unsupported(format!("its sample rate changes from {r} Hz to {} Hz mid-file", spec.rate())));
            }
            _ => rate = Some(spec.rate()),
        }
        if n_channels == 0 {
            return Err(corrupt("a packet decodes to audio with no channels".into()));
        }
        channels = n_channels;
        buffer.copy_to_vec_interleaved(&mut interleaved);
        let scale = 1.0 / n_channels as f32;
        samples.extend(interleaved.chunks_exact(n_channels).map(|frame| frame.iter().sum::<f32>() * scale));
        let limit = u64::from(MAX_DECODE_SECONDS) * u64::from(spec.rate());
        if samples.len() as u64 >= limit {
            samples.truncate(limit as usize);
            cut_at_seconds = Some(MAX_DECODE_SECONDS as f32);
            break;
        }
    }

    if damaged > 4 && damaged as f64 > MAX_DAMAGED_FRACTION * packets as f64 {
        return Err(corrupt(format!("{damaged} of its {packets} audio packets cannot be decoded")));
    }
    let Some(rate) = rate.or(params.sample_rate).filter(|&r| r > 0) else {
        return Err(corrupt("it declares no sample rate".into()));
    };
    // Truncation: the data ended inside a packet, or well before the declared length. The slack absorbs
    // encoder delay and padding (Vorbis and FLAC headers may count frames slightly differently from what
    // gapless decoding yields); a whole missing FLAC block or Ogg page is far more.
    let decoded = samples.len() as u64;
    let short_of_declared = declared_frames.filter(|&d| length_is_exact && decoded + d / 200 + 2_048 < d);
    if cut_at_seconds.is_none() && (ended_early || short_of_declared.is_some()) {
        return Err(SpeakerError::AudioTruncated {
            path: path.to_path_buf(),
            decoded_s: decoded as f32 / rate as f32,
            declared_s: declared_frames.map(|d| d as f32 / rate as f32),
        });
    }
    if samples.is_empty() {
        let detail = if damaged > 0 {
            format!("none of its {packets} audio packets could be decoded")
        } else {
            "it holds 0 audio samples".into()
        };
        return Err(SpeakerError::AudioEmpty { path: path.to_path_buf(), detail });
    }
    if samples.iter().any(|x| !x.is_finite()) {
        return Err(corrupt("it holds NaN or infinite sample values".into()));
    }
    // Float files may exceed full scale; scaling them down to a peak of 1 keeps the −1..1 contract
    // without losing anything (integer formats never exceed it).
    let peak = samples.iter().fold(0f32, |m, &x| m.max(x.abs()));
    if peak > 1.0 {
        samples.iter_mut().for_each(|x| *x /= peak);
    }
    Ok(Audio { samples, sample_rate: rate, channels, name, damaged_packets: damaged, cut_at_seconds })
}

/// Filter length (taps at the input rate) for upsampling; downsampling by `d` uses `⌈d⌉` times as many
/// (at most `MAX_SINC_LEN`) so the anti-aliasing filter stays as sharp relative to the output rate.
const BASE_SINC_LEN: usize = 256;
const MAX_SINC_LEN: usize = 2_048;
/// Input frames per rubato call.
const CHUNK: usize = 1_024;

/// Resamples mono audio from `from_rate` to `to_rate` Hz with rubato's sinc resampler, the same design
/// as the engine's output stage (engine/src/output.rs): Blackman-Harris² windowed sinc, 256× oversampled
/// table, cubic interpolation; aliasing and images far below −60 dB.
///
/// The output has exactly `round(len · to_rate / from_rate)` samples (halves round up) and no delay:
/// output sample `k` is the input at time `k / to_rate`. Equal rates return a copy. Rates must be in
/// [`MIN_RATE`]..=[`MAX_RATE`].
pub fn resample(samples: &[f32], from_rate: u32, to_rate: u32) -> Result<Vec<f32>, SpeakerError> {
    if ![from_rate, to_rate].iter().all(|r| (MIN_RATE..=MAX_RATE).contains(r)) {
        return Err(SpeakerError::BadSampleRate { from_rate, to_rate, min: MIN_RATE, max: MAX_RATE });
    }
    if from_rate == to_rate || samples.is_empty() {
        return Ok(samples.to_vec());
    }
    let (from, to) = (u64::from(from_rate), u64::from(to_rate));
    let total = ((samples.len() as u64 * to + from / 2) / from) as usize;
    // The sinc spans `sinc_len` input samples; when downsampling by `d` its cutoff moves to 1/d of the
    // input band, so it needs `d` times the taps to stay as sharp relative to the output rate.
    let sinc_len = (BASE_SINC_LEN * from_rate.div_ceil(to_rate) as usize).min(MAX_SINC_LEN);
    let params = SincInterpolationParameters::new(sinc_len, rubato::WindowFunction::BlackmanHarris2)
        .oversampling_factor(256)
        .interpolation(SincInterpolationType::Cubic);
    let mut rs = Async::<f32>::new_sinc(to as f64 / from as f64, 1.0, &params, CHUNK, 1, FixedAsync::Input)
        .map_err(|_| SpeakerError::BadSampleRate { from_rate, to_rate, min: MIN_RATE, max: MAX_RATE })?;
    // As in the engine: rubato computes output k from the input around time (k + 1)·from/to − sinc_len/2,
    // so input time 0 lands on output (sinc_len/2)·to/from − 1, a whole number only when sinc_len/2 is a
    // multiple of q = from/gcd. `lead_in` zeros in front make the delay a whole number of outputs, which
    // are then dropped: no fractional shift, no delay.
    let q = from / gcd(from, to);
    let half = (sinc_len / 2) as u64;
    let lead_in = ((q - half % q) % q) as usize;
    let delay = ((half + lead_in as u64) * to / from) as usize - 1;

    let mut input = vec![0f32; lead_in];
    input.extend_from_slice(samples);
    let mut out = Vec::with_capacity(delay + total + rs.output_frames_max());
    let mut buf = vec![0f32; rs.output_frames_max()];
    let mut offset = 0;
    while out.len() < delay + total {
        let frames = (input.len() - offset).min(CHUNK);
        let chunk = InterleavedSlice::new(&input[offset..offset + frames], 1, frames).expect("length checked");
        let buf_len = buf.len();
        let mut output = InterleavedSlice::new_mut(&mut buf[..], 1, buf_len).expect("length checked");
        // A short (or, past the end, empty) last chunk is padded with zeros by rubato.
        let indexing = (frames < CHUNK).then(|| Indexing::new().partial_len(frames));
        let (_, produced) = rs
            .process_into_buffer(&chunk, &mut output, indexing.as_ref())
            .expect("buffers are sized from rubato's own chunk size and output_frames_max");
        out.extend_from_slice(&buf[..produced]);
        offset += frames;
    }
    out.truncate(delay + total);
    out.drain(..delay);
    Ok(out)
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f64, rate: u32, n: usize, amp: f32) -> Vec<f32> {
        (0..n).map(|i| amp * (2.0 * std::f64::consts::PI * freq * i as f64 / rate as f64).sin() as f32).collect()
    }

    #[test]
    fn resample_length_is_rounded_ratio() {
        for (from, to) in [(24_000, 16_000), (44_100, 16_000), (8_000, 16_000), (22_050, 16_000), (48_000, 16_000)] {
            for n in [1usize, 2, 3, 479, 1_024, 1_025, 10_001] {
                let out = resample(&vec![0.1; n], from, to).unwrap();
                let expected = ((n as u64 * to as u64 + from as u64 / 2) / from as u64) as usize;
                assert_eq!(out.len(), expected, "{from}→{to}, n {n}");
            }
        }
        assert!(resample(&[], 44_100, 16_000).unwrap().is_empty());
        assert_eq!(resample(&[0.5, -0.5], 16_000, 16_000).unwrap(), vec![0.5, -0.5]);
    }

    #[test]
    fn resample_rejects_absurd_rates() {
        for (from, to) in [(0, 16_000), (16_000, 0), (999, 16_000), (16_000, 800_000)] {
            let err = resample(&[0.0; 10], from, to).unwrap_err();
            assert!(matches!(err, SpeakerError::BadSampleRate { .. }), "{err}");
            assert!(err.to_string().contains("1000"), "{err}");
        }
    }

    #[test]
    fn resample_aligns_an_impulse() {
        // A band-limited pulse at input time 0.05 s must peak at output time 0.05 s: no delay.
        for from in [8_000u32, 22_050, 24_000, 44_100, 48_000, 96_000] {
            let n = from as usize / 10;
            let centre = n as f64 / 2.0;
            let width = from as f64 / 4_000.0; // well inside 8 kHz
            let input: Vec<f32> = (0..n).map(|i| (-((i as f64 - centre) / width).powi(2) / 2.0).exp() as f32).collect();
            let out = resample(&input, from, 16_000).unwrap();
            let peak = out.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
            let expected = centre * 16_000.0 / from as f64;
            assert!((peak as f64 - expected).abs() <= 0.5, "{from}: peak at {peak}, expected {expected}");
        }
    }

    #[test]
    fn resample_removes_content_above_the_new_nyquist() {
        // 10 kHz cannot exist at 16 kHz: it must be filtered out, not folded to 6 kHz.
        let input = sine(10_000.0, 44_100, 44_100, 0.5);
        let out = resample(&input, 44_100, 16_000).unwrap();
        let rms = |x: &[f32]| (x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len() as f64).sqrt();
        let atten_db = 20.0 * (rms(&out[1_600..14_400]) / rms(&input)).log10();
        assert!(atten_db <= -60.0, "10 kHz only attenuated by {atten_db:.1} dB");
    }
}
