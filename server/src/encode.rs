//! Streaming audio encoders: mono f32 chunks in, container bytes out, valid from the first byte.
//!
//! Every format is written so that a client can start decoding at once and the concatenation of everything
//! returned is one well-formed file:
//!
//! - **WAV**: one 44-byte header with 0xFFFFFFFF sizes (length unknown while streaming), 16-bit PCM;
//! - **PCM**: raw signed 16-bit little-endian, no header (OpenAI's `pcm`);
//! - **FLAC**: `fLaC` + STREAMINFO with unknown total samples and MD5, then fixed-size frames as they fill;
//! - **Opus**: Ogg-encapsulated (RFC 7845): OpusHead and OpusTags pages, 20 ms packets, granule positions in
//!   48 kHz units including the pre-skip, and an end-of-stream page whose granule trims the padding so the
//!   decoded length equals the input's;
//! - **MP3**: LAME, constant bit rate, no Xing/LAME tag (it could only be filled in at the end). Decoders see
//!   LAME's usual encoder delay at the start (~1100 samples), as with any streamed MP3.
//!
//! [`AudioEncoder`] adds the resampling from the model's 24 kHz to the requested rate.

use std::fmt;

use flacenc::component::BitRepr;
use flacenc::error::Verify;
use flacenc::source::Fill;
use warble_engine::output::Resampler;

/// The model's native rate.
pub const MODEL_RATE: u32 = 24_000;

/// A response format (OpenAI's `response_format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AudioFormat {
    Mp3,
    Opus,
    Aac,
    Flac,
    Wav,
    Pcm,
}

/// The formats this server can produce, for error messages.
pub const OFFERED_FORMATS: &str = "mp3, opus, flac, wav, pcm";

const MP3_RATES: &[u32] = &[8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000];
const OPUS_RATES: &[u32] = &[8000, 12000, 16000, 24000, 48000];
const MIN_RATE: u32 = 8000;
const MAX_RATE: u32 = 192_000;

impl AudioFormat {
    pub const ALL: [AudioFormat; 6] = [Self::Mp3, Self::Opus, Self::Aac, Self::Flac, Self::Wav, Self::Pcm];

    /// Parses OpenAI's names (case-insensitive).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name().eq_ignore_ascii_case(name.trim()))
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Mp3 => "mp3",
            Self::Opus => "opus",
            Self::Aac => "aac",
            Self::Flac => "flac",
            Self::Wav => "wav",
            Self::Pcm => "pcm",
        }
    }

    /// The HTTP `Content-Type` of a response in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Mp3 => "audio/mpeg",
            Self::Opus => "audio/ogg; codecs=opus",
            Self::Aac => "audio/aac",
            Self::Flac => "audio/flac",
            Self::Wav => "audio/wav",
            Self::Pcm => "audio/pcm",
        }
    }

    /// Whether this server can encode the format at all.
    pub fn is_available(self) -> bool {
        self != Self::Aac
    }

    /// Checks that the format can be produced at `rate` Hz.
    pub fn check_rate(self, rate: u32) -> Result<(), EncodeError> {
        let ok = match self {
            Self::Mp3 => MP3_RATES.contains(&rate),
            Self::Opus => OPUS_RATES.contains(&rate),
            _ => (MIN_RATE..=MAX_RATE).contains(&rate),
        };
        if ok {
            return Ok(());
        }
        let allowed = match self {
            Self::Mp3 => list(MP3_RATES),
            Self::Opus => list(OPUS_RATES),
            _ => format!("{MIN_RATE}..={MAX_RATE}"),
        };
        Err(EncodeError::Rate { format: self.name(), rate, allowed })
    }
}

fn list(rates: &[u32]) -> String {
    rates.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
}

impl fmt::Display for AudioFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("response_format '{0}' is not available on this server; choose one of: {OFFERED_FORMATS}")]
    Unavailable(&'static str),
    #[error("sample_rate {rate} is not available for {format}; choose one of: {allowed}")]
    Rate { format: &'static str, rate: u32, allowed: String },
    #[error("{format} encoder failed: {message}")]
    Codec { format: &'static str, message: String },
}

fn codec(format: &'static str, e: impl fmt::Display) -> EncodeError {
    EncodeError::Codec { format, message: e.to_string() }
}

/// One format's streaming encoder at a fixed rate.
pub trait Encoder: Send {
    /// Bytes that come before any audio (container headers); called once, before `push`.
    fn header(&mut self, out: &mut Vec<u8>) -> Result<(), EncodeError>;
    /// Encodes the next samples (mono f32, nominally in [-1, 1]) and appends every byte that is ready.
    fn push(&mut self, samples: &[f32], out: &mut Vec<u8>) -> Result<(), EncodeError>;
    /// Ends the stream: appends the rest.
    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), EncodeError>;
}

/// Makes the encoder for `format` at `rate` Hz (no resampling: see [`AudioEncoder`]).
pub fn encoder(format: AudioFormat, rate: u32) -> Result<Box<dyn Encoder>, EncodeError> {
    if !format.is_available() {
        return Err(EncodeError::Unavailable(format.name()));
    }
    format.check_rate(rate)?;
    Ok(match format {
        AudioFormat::Wav => Box::new(WavEncoder { rate }),
        AudioFormat::Pcm => Box::new(PcmEncoder),
        AudioFormat::Flac => Box::new(FlacEncoder::new(rate)?),
        AudioFormat::Opus => Box::new(OpusEncoder::new(rate)?),
        AudioFormat::Mp3 => Box::new(Mp3Encoder::new(rate)?),
        AudioFormat::Aac => unreachable!("checked above"),
    })
}

/// Resampling (24 kHz → the requested rate) plus a format's encoder.
pub struct AudioEncoder {
    format: AudioFormat,
    rate: u32,
    resampler: Option<Resampler>,
    inner: Box<dyn Encoder>,
    header: Option<Vec<u8>>,
    /// Samples handed to the encoder, at `rate`.
    samples: u64,
}

impl fmt::Debug for AudioEncoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AudioEncoder")
            .field("format", &self.format)
            .field("rate", &self.rate)
            .field("samples", &self.samples)
            .finish_non_exhaustive()
    }
}

impl AudioEncoder {
    /// An encoder fed 24 kHz samples that writes `format` at `rate` Hz.
    pub fn new(format: AudioFormat, rate: u32) -> Result<Self, EncodeError> {
        let mut inner = encoder(format, rate)?;
        let resampler = if rate == MODEL_RATE {
            None
        } else {
            Some(Resampler::new(rate).map_err(|_| EncodeError::Rate {
                format: format.name(),
                rate,
                allowed: format!("{MIN_RATE}..={MAX_RATE}"),
            })?)
        };
        let mut header = Vec::new();
        inner.header(&mut header)?;
        Ok(Self { format, rate, resampler, inner, header: Some(header), samples: 0 })
    }

    pub fn format(&self) -> AudioFormat {
        self.format
    }

    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Samples encoded so far, at the output rate.
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// The container header, if not yet returned (also returned by the first `push` or `finish`).
    pub fn take_header(&mut self) -> Vec<u8> {
        self.header.take().unwrap_or_default()
    }

    /// Encodes the next 24 kHz samples; returns the bytes ready (possibly none).
    pub fn push(&mut self, samples: &[f32]) -> Result<Vec<u8>, EncodeError> {
        let mut out = self.take_header();
        // Codecs get finite samples in [-1, 1] only (LAME aborts the process on NaN).
        let samples = sanitize(samples);
        let samples = &samples[..];
        match &mut self.resampler {
            Some(r) => {
                let resampled = sanitize(&r.push(samples));
                self.samples += resampled.len() as u64;
                self.inner.push(&resampled, &mut out)?;
            }
            None => {
                self.samples += samples.len() as u64;
                self.inner.push(samples, &mut out)?;
            }
        }
        Ok(out)
    }

    /// Ends the stream; returns the last bytes.
    pub fn finish(&mut self) -> Result<Vec<u8>, EncodeError> {
        let mut out = self.take_header();
        if let Some(r) = &mut self.resampler {
            let rest = sanitize(&r.finish());
            self.samples += rest.len() as u64;
            self.inner.push(&rest, &mut out)?;
        }
        self.inner.finish(&mut out)?;
        Ok(out)
    }
}

/// Finite samples in [-1, 1] (NaN → 0, ±inf → ±1).
pub fn sanitize(samples: &[f32]) -> Vec<f32> {
    samples.iter().map(|&x| if x.is_nan() { 0.0 } else { x.clamp(-1.0, 1.0) }).collect()
}

/// f32 → signed 16-bit, clamped, rounded (NaN → 0).
pub fn to_i16(x: f32) -> i16 {
    (x.clamp(-1.0, 1.0) * 32767.0).round() as i16
}

/// Appends samples as s16le.
pub fn push_s16le(samples: &[f32], out: &mut Vec<u8>) {
    out.reserve(samples.len() * 2);
    for &s in samples {
        out.extend_from_slice(&to_i16(s).to_le_bytes());
    }
}

// ---------------------------------------------------------------------------------------------------------------
// PCM and WAV

struct PcmEncoder;

impl Encoder for PcmEncoder {
    fn header(&mut self, _out: &mut Vec<u8>) -> Result<(), EncodeError> {
        Ok(())
    }
    fn push(&mut self, samples: &[f32], out: &mut Vec<u8>) -> Result<(), EncodeError> {
        push_s16le(samples, out);
        Ok(())
    }
    fn finish(&mut self, _out: &mut Vec<u8>) -> Result<(), EncodeError> {
        Ok(())
    }
}

struct WavEncoder {
    rate: u32,
}

/// A 16-bit mono WAV header whose RIFF and data sizes are 0xFFFFFFFF (unknown, streaming).
pub fn wav_header(rate: u32) -> [u8; 44] {
    let mut h = [0u8; 44];
    h[0..4].copy_from_slice(b"RIFF");
    h[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    h[8..12].copy_from_slice(b"WAVE");
    h[12..16].copy_from_slice(b"fmt ");
    h[16..20].copy_from_slice(&16u32.to_le_bytes());
    h[20..22].copy_from_slice(&1u16.to_le_bytes()); // PCM
    h[22..24].copy_from_slice(&1u16.to_le_bytes()); // mono
    h[24..28].copy_from_slice(&rate.to_le_bytes());
    h[28..32].copy_from_slice(&(rate * 2).to_le_bytes()); // byte rate
    h[32..34].copy_from_slice(&2u16.to_le_bytes()); // block align
    h[34..36].copy_from_slice(&16u16.to_le_bytes()); // bits per sample
    h[36..40].copy_from_slice(b"data");
    h[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
    h
}

impl Encoder for WavEncoder {
    fn header(&mut self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(&wav_header(self.rate));
        Ok(())
    }
    fn push(&mut self, samples: &[f32], out: &mut Vec<u8>) -> Result<(), EncodeError> {
        push_s16le(samples, out);
        Ok(())
    }
    fn finish(&mut self, _out: &mut Vec<u8>) -> Result<(), EncodeError> {
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------------------------
// FLAC

/// Samples per FLAC frame (85 ms at 24 kHz): what may wait for the next chunk.
const FLAC_BLOCK: usize = 2048;

struct FlacEncoder {
    config: flacenc::error::Verified<flacenc::config::Encoder>,
    info: flacenc::component::StreamInfo,
    framebuf: flacenc::source::FrameBuf,
    pending: Vec<i32>,
    frame_number: usize,
}

impl FlacEncoder {
    fn new(rate: u32) -> Result<Self, EncodeError> {
        let mut config = flacenc::config::Encoder::default();
        config.block_size = FLAC_BLOCK;
        let config = config.into_verified().map_err(|(_, e)| codec("flac", e))?;
        let mut info = flacenc::component::StreamInfo::new(rate as usize, 1, 16).map_err(|e| codec("flac", e))?;
        info.set_block_sizes(FLAC_BLOCK, FLAC_BLOCK).map_err(|e| codec("flac", e))?;
        // 0 = unknown, as are the total sample count and the MD5 (left zero).
        info.set_frame_sizes(0, 0).map_err(|e| codec("flac", e))?;
        let framebuf = flacenc::source::FrameBuf::with_size(1, FLAC_BLOCK).map_err(|e| codec("flac", e))?;
        Ok(Self { config, info, framebuf, pending: Vec::new(), frame_number: 0 })
    }

    fn frame(&mut self, samples: &[i32], out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.framebuf.fill_interleaved(samples).map_err(|e| codec("flac", e))?;
        let frame = flacenc::encode_fixed_size_frame(&self.config, &self.framebuf, self.frame_number, &self.info)
            .map_err(|e| codec("flac", e))?;
        self.frame_number += 1;
        let mut sink = flacenc::bitsink::ByteSink::new();
        frame.write(&mut sink).map_err(|e| codec("flac", format!("{e:?}")))?;
        out.extend_from_slice(sink.as_slice());
        Ok(())
    }
}

impl Encoder for FlacEncoder {
    fn header(&mut self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(b"fLaC");
        // Metadata block header: last block, type 0 (STREAMINFO), 34 bytes.
        out.extend_from_slice(&[0x80, 0x00, 0x00, 34]);
        let mut sink = flacenc::bitsink::ByteSink::new();
        self.info.write(&mut sink).map_err(|e| codec("flac", format!("{e:?}")))?;
        out.extend_from_slice(sink.as_slice());
        Ok(())
    }

    fn push(&mut self, samples: &[f32], out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.pending.extend(samples.iter().map(|&s| i32::from(to_i16(s))));
        let full = self.pending.len() / FLAC_BLOCK * FLAC_BLOCK;
        if full == 0 {
            return Ok(());
        }
        let ready: Vec<i32> = self.pending.drain(..full).collect();
        for block in ready.chunks(FLAC_BLOCK) {
            self.frame(block, out)?;
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            self.frame(&rest, out)?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Opus in Ogg

struct OpusEncoder {
    enc: opus::Encoder,
    writer: ogg::writing::PacketWriter<'static, Vec<u8>>,
    serial: u32,
    rate: u32,
    /// Samples per 20 ms packet at `rate`.
    frame: usize,
    /// 48 kHz samples per input sample.
    factor: u64,
    /// Encoder lookahead at `rate`.
    lookahead: usize,
    pending: Vec<f32>,
    total_in: u64,
    packets: u64,
    buf: Vec<u8>,
}

impl OpusEncoder {
    fn new(rate: u32) -> Result<Self, EncodeError> {
        let mut enc =
            opus::Encoder::new(rate, opus::Channels::Mono, opus::Application::Audio).map_err(|e| codec("opus", e))?;
        enc.set_bitrate(opus::Bitrate::Bits(32_000)).map_err(|e| codec("opus", e))?;
        let lookahead = enc.get_lookahead().map_err(|e| codec("opus", e))?.max(0) as usize;
        let serial = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos() ^ (d.as_secs() as u32))
            .unwrap_or(0x5742_4c45);
        Ok(Self {
            enc,
            writer: ogg::writing::PacketWriter::new(Vec::new()),
            serial,
            rate,
            frame: rate as usize / 50,
            factor: u64::from(48_000 / rate),
            lookahead,
            pending: Vec::new(),
            total_in: 0,
            packets: 0,
            buf: vec![0u8; 4000],
        })
    }

    fn pre_skip(&self) -> u64 {
        self.lookahead as u64 * self.factor
    }

    fn drain(&mut self, out: &mut Vec<u8>) {
        out.append(self.writer.inner_mut());
    }

    fn write(
        &mut self,
        packet: Vec<u8>,
        end: ogg::writing::PacketWriteEndInfo,
        granule: u64,
    ) -> Result<(), EncodeError> {
        self.writer.write_packet(packet, self.serial, end, granule).map_err(|e| codec("opus", e))
    }

    /// Encodes every whole frame of `pending`; the last packet ends its page (`last` = end of stream with
    /// `final_granule`).
    fn encode_pending(&mut self, out: &mut Vec<u8>, last: Option<u64>) -> Result<(), EncodeError> {
        let n = self.pending.len() / self.frame;
        let frame48 = self.frame as u64 * self.factor;
        for i in 0..n {
            let len = self
                .enc
                .encode_float(&self.pending[i * self.frame..(i + 1) * self.frame], &mut self.buf)
                .map_err(|e| codec("opus", e))?;
            let packet = self.buf[..len].to_vec();
            self.packets += 1;
            use ogg::writing::PacketWriteEndInfo as End;
            let (end, granule) = match (i + 1 == n, last) {
                (true, Some(g)) => (End::EndStream, g),
                (true, None) => (End::EndPage, self.packets * frame48),
                (false, _) => (End::NormalPacket, self.packets * frame48),
            };
            self.write(packet, end, granule)?;
        }
        self.pending.drain(..n * self.frame);
        self.drain(out);
        Ok(())
    }
}

impl Encoder for OpusEncoder {
    fn header(&mut self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        use ogg::writing::PacketWriteEndInfo as End;
        let mut head = Vec::with_capacity(19);
        head.extend_from_slice(b"OpusHead");
        head.push(1); // version
        head.push(1); // channels
        head.extend_from_slice(&(self.pre_skip().min(u64::from(u16::MAX)) as u16).to_le_bytes());
        head.extend_from_slice(&self.rate.to_le_bytes()); // input sample rate (informational)
        head.extend_from_slice(&0i16.to_le_bytes()); // output gain
        head.push(0); // channel mapping family 0: mono/stereo
        self.write(head, End::EndPage, 0)?;
        let vendor = concat!("warble-server ", env!("CARGO_PKG_VERSION"));
        let mut tags = Vec::new();
        tags.extend_from_slice(b"OpusTags");
        tags.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
        tags.extend_from_slice(vendor.as_bytes());
        tags.extend_from_slice(&0u32.to_le_bytes()); // no user comments
        self.write(tags, End::EndPage, 0)?;
        self.drain(out);
        Ok(())
    }

    fn push(&mut self, samples: &[f32], out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.pending.extend_from_slice(samples);
        self.total_in += samples.len() as u64;
        self.encode_pending(out, None)
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        // The decoder drops `pre_skip` samples at the start, so packets must cover lookahead + input; the end
        // page's granule then cuts the zero padding off. At least one packet is left to carry the EOS flag.
        let frame = self.frame as u64;
        let needed = self.total_in + self.lookahead as u64;
        let covered = self.packets * frame;
        let missing = needed.saturating_sub(covered).max(1);
        let packets = missing.div_ceil(frame);
        let target = (packets * frame) as usize;
        self.pending.resize(target, 0.0);
        let final_granule = self.pre_skip() + self.total_in * self.factor;
        self.encode_pending(out, Some(final_granule))
    }
}

// ---------------------------------------------------------------------------------------------------------------
// MP3

struct Mp3Encoder {
    enc: mp3lame_encoder::Encoder,
}

impl Mp3Encoder {
    fn new(rate: u32) -> Result<Self, EncodeError> {
        use mp3lame_encoder::{Bitrate, Builder, Mode, Quality};
        let mut b = Builder::new().ok_or_else(|| codec("mp3", "cannot allocate the LAME encoder"))?;
        b.set_num_channels(1).map_err(|e| codec("mp3", e))?;
        b.set_sample_rate(rate).map_err(|e| codec("mp3", e))?;
        b.set_mode(Mode::Mono).map_err(|e| codec("mp3", e))?;
        b.set_brate(Bitrate::Kbps64).map_err(|e| codec("mp3", e))?;
        b.set_quality(Quality::Good).map_err(|e| codec("mp3", e))?;
        // The Xing/LAME tag would need the finished stream: a streamed MP3 goes without.
        b.set_to_write_vbr_tag(false).map_err(|e| codec("mp3", e))?;
        let enc = b.build().map_err(|e| codec("mp3", e))?;
        Ok(Self { enc })
    }
}

impl Encoder for Mp3Encoder {
    fn header(&mut self, _out: &mut Vec<u8>) -> Result<(), EncodeError> {
        Ok(())
    }

    fn push(&mut self, samples: &[f32], out: &mut Vec<u8>) -> Result<(), EncodeError> {
        // LAME wants 1.25·n + 7200 bytes of room; feed it in bounded pieces.
        for piece in samples.chunks(8192) {
            out.reserve(piece.len() * 5 / 4 + 7200);
            self.enc.encode_to_vec(mp3lame_encoder::MonoPcm(piece), out).map_err(|e| codec("mp3", e))?;
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        // `lame_encode_flush` (FlushGap): pads with silence and emits every sample; the "no gap" flush would keep
        // the last ~1100 samples for a following track, and the tail would be lost.
        out.reserve(7200);
        self.enc.flush_to_vec::<mp3lame_encoder::FlushGap>(out).map_err(|e| codec("mp3", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_formats() {
        assert_eq!(AudioFormat::parse("MP3"), Some(AudioFormat::Mp3));
        assert_eq!(AudioFormat::parse("pcm"), Some(AudioFormat::Pcm));
        assert_eq!(AudioFormat::parse("ogg"), None);
        assert!(matches!(encoder(AudioFormat::Aac, 24_000), Err(EncodeError::Unavailable("aac"))));
        assert!(AudioFormat::Opus.check_rate(44_100).is_err());
        assert!(AudioFormat::Mp3.check_rate(44_100).is_ok());
        assert!(AudioFormat::Wav.check_rate(7_999).is_err());
    }

    #[test]
    fn wav_header_is_streaming() {
        let mut e = AudioEncoder::new(AudioFormat::Wav, 24_000).unwrap();
        let bytes = e.push(&[0.0, 0.5, -0.5, 1.5]).unwrap();
        assert_eq!(&bytes[0..4], b"RIFF");
        assert_eq!(&bytes[4..8], &[0xff; 4]);
        assert_eq!(&bytes[40..44], &[0xff; 4]);
        assert_eq!(bytes.len(), 44 + 8);
        assert_eq!(i16::from_le_bytes([bytes[46], bytes[47]]), 16384);
        assert_eq!(i16::from_le_bytes([bytes[50], bytes[51]]), 32767);
        assert!(e.finish().unwrap().is_empty());
    }

    #[test]
    fn pcm_is_raw() {
        let mut e = AudioEncoder::new(AudioFormat::Pcm, 24_000).unwrap();
        let mut bytes = e.push(&[0.25; 10]).unwrap();
        bytes.extend(e.finish().unwrap());
        assert_eq!(bytes.len(), 20);
    }

    #[test]
    fn nan_and_empty_input_are_harmless() {
        for (f, rate) in [
            (AudioFormat::Mp3, 24_000),
            (AudioFormat::Mp3, 44_100),
            (AudioFormat::Opus, 24_000),
            (AudioFormat::Opus, 48_000),
            (AudioFormat::Flac, 24_000),
            (AudioFormat::Wav, 16_000),
            (AudioFormat::Pcm, 24_000),
        ] {
            let mut e = AudioEncoder::new(f, rate).unwrap();
            e.push(&[]).unwrap();
            e.push(&[f32::NAN, f32::INFINITY, -f32::INFINITY]).unwrap();
            let wild: Vec<f32> = (0..5000).map(|i| [f32::NAN, 1e30, -1e30, f32::INFINITY, 0.5][i % 5]).collect();
            e.push(&wild).unwrap();
            e.finish().unwrap();
            let mut e = AudioEncoder::new(f, 24_000).unwrap();
            e.finish().unwrap();
        }
    }
}
