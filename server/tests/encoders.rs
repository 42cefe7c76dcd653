//! Every streaming encoder, fed uneven chunks, decodes back (symphonia; libopus for Opus) to the input's
//! duration. No model weights needed.

use std::io::Cursor;

use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use warble_server::encode::{AudioEncoder, AudioFormat};

/// 1.3 s at 24 kHz: a gliding tone with an envelope (speech-like enough for the codecs).
fn signal() -> Vec<f32> {
    let n = 31_200;
    (0..n)
        .map(|i| {
            let t = i as f32 / 24_000.0;
            let f = 150.0 + 300.0 * t;
            let env = 0.5 * (1.0 - (2.0 * std::f32::consts::PI * 3.0 * t).cos());
            0.4 * env * (2.0 * std::f32::consts::PI * f * t).sin()
        })
        .collect()
}

/// Encodes in uneven pieces, as windows come from the engine.
fn encode(format: AudioFormat, rate: u32, x: &[f32]) -> (Vec<u8>, usize) {
    let mut enc = AudioEncoder::new(format, rate).unwrap();
    let mut out = Vec::new();
    let sizes = [240, 7000, 1, 333, 12_000, 50];
    let mut i = 0;
    let mut k = 0;
    while i < x.len() {
        let n = sizes[k % sizes.len()].min(x.len() - i);
        let bytes = enc.push(&x[i..i + n]).unwrap();
        if k == 0 {
            assert!(
                !bytes.is_empty() || matches!(format, AudioFormat::Mp3 | AudioFormat::Pcm),
                "{format}: header first"
            );
        }
        out.extend(bytes);
        i += n;
        k += 1;
    }
    out.extend(enc.finish().unwrap());
    (out, enc.samples() as usize)
}

/// Decodes with symphonia: (samples, sample rate).
fn decode(bytes: Vec<u8>, ext: &str) -> (Vec<f32>, u32) {
    let mss = MediaSourceStream::new(Box::new(Cursor::new(bytes)), Default::default());
    let mut hint = Hint::new();
    hint.with_extension(ext);
    let mut format = symphonia::default::get_probe()
        .probe(&hint, mss, FormatOptions::default(), MetadataOptions::default())
        .unwrap_or_else(|e| panic!("{ext}: cannot probe: {e}"));
    let track = format.default_track(TrackType::Audio).unwrap();
    let params = track.codec_params.as_ref().unwrap().audio().unwrap().clone();
    let rate = params.sample_rate.unwrap();
    let id = track.id;
    let mut dec =
        symphonia::default::get_codecs().make_audio_decoder(&params, &AudioDecoderOptions::default()).unwrap();
    let mut out = Vec::new();
    let mut buf = Vec::new();
    loop {
        let packet = match format.next_packet() {
            Ok(Some(p)) => p,
            Ok(None) => break,
            // A streamed WAV's data size is 0xFFFFFFFF: the end of the bytes is the end of the audio.
            Err(symphonia::core::errors::Error::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => panic!("{ext}: {e}"),
        };
        if packet.track_id != id {
            continue;
        }
        let a = dec.decode(&packet).unwrap_or_else(|e| panic!("{ext}: decode: {e}"));
        buf.resize(a.samples_interleaved(), 0f32);
        a.copy_to_slice_interleaved(&mut buf);
        out.extend_from_slice(&buf);
    }
    (out, rate)
}

fn rms(x: &[f32]) -> f32 {
    (x.iter().map(|v| v * v).sum::<f32>() / x.len().max(1) as f32).sqrt()
}

/// Decoded audio has about the input's energy (catches garbage and silence).
fn similar_energy(label: &str, input: &[f32], decoded: &[f32]) {
    let (a, b) = (rms(input), rms(decoded));
    assert!(b > 0.6 * a && b < 1.4 * a, "{label}: rms {b} vs input {a}");
}

#[test]
fn wav_pcm_flac_are_exact_in_length() {
    let x = signal();
    for rate in [24_000, 16_000, 44_100] {
        let expected = (x.len() as u64 * u64::from(rate)).div_ceil(24_000) as usize;
        for (format, ext) in [(AudioFormat::Wav, "wav"), (AudioFormat::Flac, "flac")] {
            let (bytes, n) = encode(format, rate, &x);
            assert!((n as i64 - expected as i64).abs() <= 1, "{format}@{rate}: encoded {n}, expected {expected}");
            let (y, r) = decode(bytes, ext);
            assert_eq!(r, rate, "{format}");
            assert_eq!(y.len(), n, "{format}@{rate}: decoded length");
            similar_energy(&format!("{format}@{rate}"), &x, &y);
        }
        let (bytes, n) = encode(AudioFormat::Pcm, rate, &x);
        assert_eq!(bytes.len(), 2 * n);
    }
    // At 24 kHz the 16-bit formats carry the samples themselves.
    let (bytes, _) = encode(AudioFormat::Flac, 24_000, &x);
    let (y, _) = decode(bytes, "flac");
    let worst = x.iter().zip(&y).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    assert!(worst < 1.0 / 16_000.0, "flac error {worst}");
}

#[test]
fn mp3_decodes_to_the_input_length_plus_the_encoder_delay() {
    let x = signal();
    for rate in [24_000u32, 44_100] {
        let (bytes, n) = encode(AudioFormat::Mp3, rate, &x);
        let (y, r) = decode(bytes, "mp3");
        assert_eq!(r, rate);
        // MPEG-2 layer III (≤ 24 kHz) frames hold 576 samples, MPEG-1 1152. A streamed MP3 has no gapless tag:
        // LAME's delay (576 + 529) comes first and the last frame is padded.
        let frame = if rate <= 24_000 { 576 } else { 1152 };
        let delay = 576 + 529;
        assert!(y.len() >= n + delay, "mp3@{rate}: {} < {n} + {delay}", y.len());
        assert!(y.len() <= n + delay + 2 * frame, "mp3@{rate}: {} > {n} + {delay} + 2 frames", y.len());
        similar_energy(&format!("mp3@{rate}"), &x, &y[delay..delay + n]);
    }
}

/// Reads an Ogg Opus stream with the `ogg` crate and decodes it with libopus, as a player would: drops the
/// pre-skip, ends at the last granule position.
fn decode_ogg_opus(bytes: Vec<u8>) -> (Vec<f32>, u32, u64) {
    let mut r = ogg::reading::PacketReader::new(Cursor::new(bytes));
    let head = r.read_packet_expected().unwrap();
    assert_eq!(&head.data[..8], b"OpusHead");
    assert_eq!(head.data[9], 1, "mono");
    let pre_skip = u16::from_le_bytes([head.data[10], head.data[11]]) as usize;
    let input_rate = u32::from_le_bytes(head.data[12..16].try_into().unwrap());
    assert_eq!(head.absgp_page(), 0);
    let tags = r.read_packet_expected().unwrap();
    assert_eq!(&tags.data[..8], b"OpusTags");
    let mut dec = opus::Decoder::new(48_000, opus::Channels::Mono).unwrap();
    let mut pcm = Vec::new();
    let mut buf = vec![0f32; 5760];
    let mut last_granule = 0;
    let mut eos = false;
    while let Some(p) = r.read_packet().unwrap() {
        assert!(!eos, "packets after the end of stream");
        let n = dec.decode_float(&p.data, &mut buf, false).unwrap();
        pcm.extend_from_slice(&buf[..n]);
        if p.last_in_page() {
            assert!(p.absgp_page() >= last_granule, "granule positions never go back");
            last_granule = p.absgp_page();
        }
        eos = p.last_in_stream();
    }
    assert!(eos, "the stream ends with an end-of-stream page");
    let end = last_granule as usize;
    assert!(pcm.len() >= end, "the packets cover the final granule ({} < {end})", pcm.len());
    (pcm[pre_skip..end].to_vec(), input_rate, last_granule)
}

#[test]
fn opus_in_ogg_has_exact_granules_and_keeps_the_tail() {
    let x = signal();
    for rate in [24_000u32, 48_000, 16_000] {
        let (bytes, n) = encode(AudioFormat::Opus, rate, &x);
        let (y, input_rate, _) = decode_ogg_opus(bytes);
        assert_eq!(input_rate, rate);
        // Decoded at 48 kHz: the input's duration exactly.
        let expected = n * (48_000 / rate as usize);
        assert_eq!(y.len(), expected, "opus@{rate}");
        // The tail is there (the last 100 ms are not silence).
        let tail = &y[y.len() - 4800..];
        let src_tail = &x[x.len() - 2400..];
        assert!(rms(tail) > 0.3 * rms(src_tail), "opus@{rate}: tail lost ({} vs {})", rms(tail), rms(src_tail));
        let resampled: Vec<f32> = (0..expected).map(|i| x[(i * 24_000 / 48_000).min(x.len() - 1)]).collect();
        similar_energy(&format!("opus@{rate}"), &resampled, &y);
    }
}

#[test]
fn tiny_and_empty_streams_are_valid() {
    for (format, ext) in [(AudioFormat::Wav, "wav"), (AudioFormat::Flac, "flac")] {
        let (bytes, n) = encode(format, 24_000, &[0.1; 5]);
        let (y, _) = decode(bytes, ext);
        assert_eq!(y.len(), n, "{format}");
    }
    let (bytes, _) = encode(AudioFormat::Opus, 24_000, &[0.1; 5]);
    let (y, _, _) = decode_ogg_opus(bytes);
    assert_eq!(y.len(), 10);
    let mut e = AudioEncoder::new(AudioFormat::Opus, 24_000).unwrap();
    let bytes = e.finish().unwrap();
    let (y, _, _) = decode_ogg_opus(bytes);
    assert!(y.is_empty());
}
