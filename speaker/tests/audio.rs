//! Reference audio for voice cloning: decoding (WAVs written here, committed FLAC/MP3/Ogg fixtures,
//! damaged and random files), resampling accuracy, and speech preparation (silence, too little and too
//! much speech, clipping, noise, DC offset, several files).

use std::f64::consts::PI;
use std::path::{Path, PathBuf};

use warble_speaker::audio::{MAX_RATE, MIN_RATE};
use warble_speaker::reference::{MAX_SPEECH_SECONDS, MIN_SPEECH_SECONDS, REFERENCE_RATE};
use warble_speaker::{
    Audio, ReferenceWarning, SpeakerError, load_audio, load_references, prepare_reference, prepare_references, resample,
};

fn scratch_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("warble-audio-test-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/audio").join(name)
}

/// A small deterministic generator (PCG-style LCG) for noise and random bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    /// Uniform in −0.5..0.5.
    fn uniform(&mut self) -> f32 {
        (self.next() as f64 / (1u64 << 31) as f64 - 0.5) as f32
    }
}

/// A stand-in for speech: a harmonic voice (f0 gliding 110–150 Hz, harmonics up to 3.8 kHz falling
/// 1/k) whose loudness rises and falls 4 times a second like syllables, peaking at `peak`.
fn speech(seconds: f64, rate: u32, peak: f32) -> Vec<f32> {
    let n = (seconds * rate as f64).round() as usize;
    let mut phase = 0.0f64;
    let mut out: Vec<f32> = (0..n)
        .map(|i| {
            let t = i as f64 / rate as f64;
            let f0 = 130.0 + 20.0 * (2.0 * PI * 0.5 * t).sin();
            phase += 2.0 * PI * f0 / rate as f64;
            let harmonics = ((3_800.0 / f0) as usize).min(((rate as f64 / 2.0 - 200.0) / f0) as usize);
            let voice: f64 = (1..=harmonics).map(|k| (k as f64 * phase).sin() / k as f64).sum();
            let syllables = 0.5 - 0.5 * (2.0 * PI * 4.0 * t).cos();
            let phrase = 0.7 + 0.3 * (2.0 * PI * 0.3 * t).sin();
            (voice * syllables * phrase) as f32
        })
        .collect();
    let max = out.iter().fold(0f32, |m, &x| m.max(x.abs()));
    out.iter_mut().for_each(|x| *x *= peak / max);
    out
}

fn sine(freq: f64, rate: u32, n: usize, amp: f32) -> Vec<f32> {
    (0..n).map(|i| amp * (2.0 * PI * freq * i as f64 / rate as f64).sin() as f32).collect()
}

fn rms(x: &[f32]) -> f64 {
    (x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len().max(1) as f64).sqrt()
}

#[derive(Clone, Copy)]
enum Pcm {
    Int(u16),
    Float,
}

/// Writes `channels` (each a plane) as a WAV.
fn write_wav(path: &Path, rate: u32, format: Pcm, channels: &[Vec<f32>]) {
    let (bits, sample_format) = match format {
        Pcm::Int(bits) => (bits, hound::SampleFormat::Int),
        Pcm::Float => (32, hound::SampleFormat::Float),
    };
    let spec =
        hound::WavSpec { channels: channels.len() as u16, sample_rate: rate, bits_per_sample: bits, sample_format };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..channels[0].len() {
        for ch in channels {
            match format {
                Pcm::Float => w.write_sample(ch[i]).unwrap(),
                Pcm::Int(bits) => {
                    let full = (1i64 << (bits - 1)) as f64;
                    let v = (f64::from(ch[i]) * full).round().clamp(-full, full - 1.0) as i32;
                    if bits == 8 { w.write_sample(v as i8).unwrap() } else { w.write_sample(v).unwrap() }
                }
            }
        }
    }
    w.finalize().unwrap();
}

fn mono_wav(dir: &Path, name: &str, rate: u32, samples: &[f32]) -> PathBuf {
    let path = dir.join(name);
    write_wav(&path, rate, Pcm::Int(16), &[samples.to_vec()]);
    path
}

// ---------------------------------------------------------------------------------------------------------
// Decoding

#[test]
fn wav_sample_formats_decode_to_the_same_signal() {
    let dir = scratch_dir("formats");
    let signal = sine(440.0, 16_000, 8_000, 0.5);
    for (format, tolerance) in [
        (Pcm::Int(8), 1.0 / 128.0),
        (Pcm::Int(16), 1.0 / 32_768.0),
        (Pcm::Int(24), 1.0 / 8_388_608.0),
        (Pcm::Int(32), 1e-7),
        (Pcm::Float, 0.0),
    ] {
        let label = match format {
            Pcm::Int(bits) => format!("int{bits}"),
            Pcm::Float => "float".into(),
        };
        let path = dir.join(format!("{label}.wav"));
        write_wav(&path, 16_000, format, std::slice::from_ref(&signal));
        let audio = load_audio(&path).unwrap_or_else(|e| panic!("{label}: {e}"));
        assert_eq!((audio.sample_rate, audio.channels, audio.samples.len()), (16_000, 1, 8_000), "{label}");
        assert_eq!(audio.damaged_packets, 0);
        let err = audio.samples.iter().zip(&signal).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(err <= tolerance as f32 + 1e-7, "{label}: differs by {err}");
    }
}

#[test]
fn stereo_is_averaged_to_mono() {
    let dir = scratch_dir("stereo");
    let left = sine(300.0, 22_050, 11_025, 0.6);
    let right = sine(700.0, 22_050, 11_025, 0.2);
    let path = dir.join("stereo.wav");
    write_wav(&path, 22_050, Pcm::Float, &[left.clone(), right.clone()]);
    let audio = load_audio(&path).unwrap();
    assert_eq!((audio.sample_rate, audio.channels, audio.samples.len()), (22_050, 2, 11_025));
    for i in 0..audio.samples.len() {
        assert!((audio.samples[i] - (left[i] + right[i]) / 2.0).abs() < 1e-6, "sample {i}");
    }
}

#[test]
fn common_rates_are_kept_and_prepared_at_16k() {
    let dir = scratch_dir("rates");
    for rate in [8_000u32, 16_000, 44_100, 48_000] {
        let path = mono_wav(&dir, &format!("r{rate}.wav"), rate, &speech(3.0, rate, 0.5));
        let audio = load_audio(&path).unwrap();
        assert_eq!(audio.sample_rate, rate);
        assert!((audio.seconds() - 3.0).abs() < 1e-3);
        let reference = prepare_reference(&audio).unwrap_or_else(|e| panic!("{rate} Hz: {e}"));
        // Continuous speech is kept whole (the last partial 30 ms window aside).
        assert!((2.95..=3.0).contains(&reference.seconds()), "{rate} Hz: kept {} s", reference.seconds());
        assert!(
            matches!(reference.warnings.as_slice(), [ReferenceWarning::ShortSpeech { .. }]),
            "{rate} Hz: {:?}",
            reference.warnings
        );
    }
}

#[test]
fn format_is_recognised_by_content_not_extension() {
    let dir = scratch_dir("content");
    let wav_named_mp3 = mono_wav(&dir, "really-a-wav.mp3", 16_000, &sine(440.0, 16_000, 1_600, 0.5));
    assert_eq!(load_audio(&wav_named_mp3).unwrap().samples.len(), 1_600);
    let flac_named_wav = dir.join("really-a-flac.wav");
    std::fs::copy(fixture("tone.flac"), &flac_named_wav).unwrap();
    assert_eq!(load_audio(&flac_named_wav).unwrap().sample_rate, 8_000);
}

/// The committed fixtures (see tests/fixtures/audio/README.md): the same 1.5 s chirp plus harmonic tone,
/// syllable-modulated (RMS 0.070), as 8 kHz mono FLAC, 22.05 kHz mono MP3 and 44.1 kHz stereo Ogg Vorbis.
#[test]
fn flac_mp3_and_ogg_vorbis_fixtures_decode_to_the_same_sound() {
    let mut envelopes = Vec::new();
    for (file, rate, channels) in [("tone.flac", 8_000, 1), ("tone.mp3", 22_050, 1), ("tone.ogg", 44_100, 2)] {
        let audio = load_audio(&fixture(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!((audio.sample_rate, audio.channels), (rate, channels), "{file}");
        assert_eq!(audio.damaged_packets, 0, "{file}");
        // Lossy codecs may add up to a frame of padding where the file has no gapless information.
        assert!((1.49..1.58).contains(&audio.seconds()), "{file}: {} s", audio.seconds());
        let level = rms(&audio.samples);
        assert!((0.06..0.08).contains(&level), "{file}: rms {level}");
        let x = resample(&audio.samples, rate, 16_000).unwrap();
        envelopes.push(x.chunks_exact(480).map(rms).collect::<Vec<f64>>());
        let reference = prepare_reference(&audio).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(reference.seconds() >= 1.4, "{file}: {} s of speech", reference.seconds());
    }
    // The 30 ms loudness envelopes agree (best lag within ±3 windows, for codec delay).
    let reference = &envelopes[0];
    for (other, file) in envelopes[1..].iter().zip(["tone.mp3", "tone.ogg"]) {
        let best = (-3i32..=3)
            .map(|lag| {
                let pairs: Vec<(f64, f64)> = (10..reference.len() - 10)
                    .filter_map(|i| other.get((i as i32 + lag) as usize).map(|&o| (reference[i], o)))
                    .collect();
                correlation(&pairs)
            })
            .fold(f64::MIN, f64::max);
        assert!(best > 0.95, "{file}: envelope correlation with the FLAC {best}");
    }
}

fn correlation(pairs: &[(f64, f64)]) -> f64 {
    let n = pairs.len() as f64;
    let (ma, mb) = (pairs.iter().map(|p| p.0).sum::<f64>() / n, pairs.iter().map(|p| p.1).sum::<f64>() / n);
    let cov: f64 = pairs.iter().map(|(a, b)| (a - ma) * (b - mb)).sum();
    let va: f64 = pairs.iter().map(|(a, _)| (a - ma).powi(2)).sum();
    let vb: f64 = pairs.iter().map(|(_, b)| (b - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

#[test]
fn missing_unreadable_and_empty_files_are_clear_errors() {
    let dir = scratch_dir("missing");
    let missing = dir.join("nope.wav");
    let err = load_audio(&missing).unwrap_err();
    assert!(matches!(err, SpeakerError::AudioNotFound { .. }), "{err}");
    assert!(err.to_string().contains("nope.wav"), "{err}");

    let err = load_audio(&dir).unwrap_err();
    assert!(matches!(err, SpeakerError::AudioUnreadable { .. }), "{err}");
    assert!(err.to_string().contains("folder"), "{err}");

    let empty = dir.join("empty.wav");
    std::fs::write(&empty, b"").unwrap();
    let err = load_audio(&empty).unwrap_err();
    assert!(matches!(err, SpeakerError::AudioEmpty { .. }), "{err}");

    // A valid header with no samples: zero-length audio.
    let no_samples = dir.join("no-samples.wav");
    write_wav(&no_samples, 16_000, Pcm::Int(16), &[vec![]]);
    let err = load_audio(&no_samples).unwrap_err();
    assert!(matches!(err, SpeakerError::AudioEmpty { .. }), "{err}");
    assert!(err.to_string().contains("no-samples.wav"), "{err}");

    let text = dir.join("notes.wav");
    std::fs::write(&text, "these are my notes, not a recording\n".repeat(20)).unwrap();
    let err = load_audio(&text).unwrap_err();
    assert!(matches!(err, SpeakerError::AudioFormat { .. }), "{err}");
    assert!(err.to_string().contains("WAV, FLAC, MP3 or Ogg Vorbis"), "{err}");
}

#[test]
fn unsupported_wav_codec_is_an_error() {
    // A RIFF/WAVE file whose format tag (0x1234) is no codec symphonia knows.
    let mut bytes = Vec::new();
    let data = vec![0u8; 3_200];
    bytes.extend(b"RIFF");
    bytes.extend(((36 + data.len()) as u32).to_le_bytes());
    bytes.extend(b"WAVEfmt ");
    bytes.extend(16u32.to_le_bytes());
    bytes.extend(0x1234u16.to_le_bytes()); // format tag
    bytes.extend(1u16.to_le_bytes()); // channels
    bytes.extend(16_000u32.to_le_bytes());
    bytes.extend(32_000u32.to_le_bytes());
    bytes.extend(2u16.to_le_bytes());
    bytes.extend(16u16.to_le_bytes());
    bytes.extend(b"data");
    bytes.extend((data.len() as u32).to_le_bytes());
    bytes.extend(&data);
    let dir = scratch_dir("codec");
    let path = dir.join("odd.wav");
    std::fs::write(&path, bytes).unwrap();
    let err = load_audio(&path).unwrap_err();
    assert!(matches!(err, SpeakerError::AudioFormat { .. }), "{err}");
    assert!(err.to_string().contains("convert it to WAV"), "{err}");
    assert!(err.to_string().contains("odd.wav"), "{err}");
}

#[test]
fn truncated_files_are_errors_naming_the_file() {
    let dir = scratch_dir("truncated");
    let wav = mono_wav(&dir, "whole.wav", 16_000, &speech(2.0, 16_000, 0.5));
    let mut sources = vec![("wav", std::fs::read(&wav).unwrap())];
    for file in ["flac", "mp3", "ogg"] {
        sources.push((file, std::fs::read(fixture(&format!("tone.{file}"))).unwrap()));
    }
    for (kind, bytes) in &sources {
        for (cut, keep) in
            [("header", 20), ("30%", bytes.len() * 3 / 10), ("half", bytes.len() / 2), ("90%", bytes.len() * 9 / 10)]
        {
            let label = format!("{kind}-cut-at-{cut}");
            let path = dir.join(&label);
            std::fs::write(&path, &bytes[..keep]).unwrap();
            let result = load_audio(&path);
            if *kind == "mp3" && cut != "header" {
                // An MP3 without a Xing/Info tag declares no length: cut, it is a valid, shorter MP3, and
                // what decodes is its first part (not garbage, not the whole length).
                let audio = result.unwrap_or_else(|e| panic!("{label}: {e}"));
                let expected = 1.567 * keep as f32 / bytes.len() as f32;
                assert!((audio.seconds() - expected).abs() < 0.1, "{label}: {} s", audio.seconds());
                continue;
            }
            let err = result.err().unwrap_or_else(|| panic!("{label}: a truncated file was accepted"));
            assert!(err.to_string().contains(&label), "{label}: {err}");
            assert!(err.to_string().contains("cut short") || cut == "header", "{label}: {err}");
            if cut != "header" && !(*kind == "ogg" && cut != "90%") {
                assert!(matches!(err, SpeakerError::AudioTruncated { .. }), "{label}: {err}");
            }
        }
    }
}

#[test]
fn a_streamed_wav_without_sizes_is_complete() {
    // `warble say -o -` and ffmpeg writing to a pipe leave the RIFF and data sizes at 0xFFFFFFFF.
    let dir = scratch_dir("streamed");
    let signal = speech(1.2, 16_000, 0.5);
    let path = mono_wav(&dir, "streamed.wav", 16_000, &signal);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    bytes[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let audio = load_audio(&path).unwrap();
    assert_eq!(audio.samples.len(), signal.len());
}

#[test]
fn random_bytes_never_panic_and_are_errors() {
    let dir = scratch_dir("random");
    let path = dir.join("random.bin");
    let mut rng = Rng(42);
    for case in 0..300 {
        let len = [1usize, 7, 44, 100, 1_000, 10_000][case % 6] + (rng.next() % 50) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        assert!(load_audio(&path).is_err(), "case {case}: {len} random bytes decoded as audio");
    }
}

#[test]
fn garbage_after_a_real_header_never_panics() {
    // Valid magic numbers and headers followed by noise reach the decoders themselves. Noise after a
    // WAV header is valid PCM (so audio); elsewhere it is an error or a few decodable packets: never a
    // panic, never samples outside −1..1.
    let dir = scratch_dir("garbage");
    let wav = mono_wav(&dir, "w.wav", 16_000, &speech(1.0, 16_000, 0.5));
    let heads: Vec<(&str, Vec<u8>)> = vec![
        ("wav", std::fs::read(&wav).unwrap()[..44].to_vec()),
        ("flac", std::fs::read(fixture("tone.flac")).unwrap()[..200].to_vec()),
        ("mp3", std::fs::read(fixture("tone.mp3")).unwrap()[..600].to_vec()),
        ("ogg", std::fs::read(fixture("tone.ogg")).unwrap()[..4_000].to_vec()),
    ];
    let mut rng = Rng(7);
    for (label, head) in &heads {
        for case in 0..40 {
            let mut bytes = head.clone();
            let len = 10 + (rng.next() % 6_000) as usize;
            bytes.extend((0..len).map(|_| rng.next() as u8));
            // Also damage the header itself now and then.
            if case % 4 == 3 {
                let at = (rng.next() as usize) % head.len();
                bytes[at] ^= 0x5a;
            }
            let path = dir.join(format!("{label}-{case}.bin"));
            std::fs::write(&path, &bytes).unwrap();
            if let Ok(audio) = load_audio(&path) {
                assert!(audio.samples.iter().all(|x| x.is_finite() && x.abs() <= 1.0), "{label} {case}");
                // Whatever decoded goes through preparation without panicking either.
                let _ = prepare_reference(&audio);
            }
        }
    }
}

#[test]
fn corrupt_mp3_frames_are_skipped_and_reported() {
    // Damage bytes inside the MP3 frames (not the headers' sync words): symphonia reports such packets as
    // recoverable; they are skipped and counted, the rest of the file is used.
    let dir = scratch_dir("mp3-damage");
    let mut bytes = std::fs::read(fixture("tone.mp3")).unwrap();
    let len = bytes.len();
    for at in [len / 3, len / 2] {
        for b in &mut bytes[at..at + 40] {
            *b = 0xff;
        }
    }
    let path = dir.join("damaged.mp3");
    std::fs::write(&path, &bytes).unwrap();
    match load_audio(&path) {
        Ok(audio) => {
            assert!(audio.seconds() > 1.0, "{} s", audio.seconds());
            assert!(audio.samples.iter().all(|x| x.is_finite() && x.abs() <= 1.0));
            if audio.damaged_packets > 0 {
                let reference = prepare_reference(&audio).unwrap();
                assert!(reference.warnings.iter().any(|w| matches!(w, ReferenceWarning::Damaged { .. })));
            }
        }
        Err(err) => assert!(err.to_string().contains("damaged.mp3"), "{err}"),
    }
}

// ---------------------------------------------------------------------------------------------------------
// Resampling

#[test]
fn resampling_44k1_to_16k_keeps_a_1khz_sine() {
    let input = sine(1_000.0, 44_100, 44_100, 0.5);
    let out = resample(&input, 44_100, 16_000).unwrap();
    assert_eq!(out.len(), 16_000);
    let mid = &out[1_600..14_400];
    let amp = rms(mid) * 2f64.sqrt();
    assert!((amp / 0.5 - 1.0).abs() < 0.002, "amplitude {amp}");
    let crossings: Vec<f64> = mid
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w[0] < 0.0 && w[1] >= 0.0)
        .map(|(i, w)| i as f64 + f64::from(-w[0] / (w[1] - w[0])))
        .collect();
    let freq = (crossings.len() - 1) as f64 * 16_000.0 / (crossings[crossings.len() - 1] - crossings[0]);
    assert!((freq / 1_000.0 - 1.0).abs() < 1e-4, "frequency {freq}");
    // No delay: output sample k is the input at time k / 16000.
    let ideal = sine(1_000.0, 16_000, 16_000, 0.5);
    let err = mid.iter().zip(&ideal[1_600..]).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    assert!(err < 0.002, "differs from the ideal sine by {err}");
}

#[test]
fn resampling_24k_to_16k_has_the_rounded_length() {
    for n in [0usize, 1, 2, 3, 4, 5, 1_000, 1_001, 1_002, 24_000, 24_001, 100_003] {
        let out = resample(&vec![0.25; n], 24_000, 16_000).unwrap();
        assert_eq!(out.len(), (n * 2 + 1) / 3, "n {n}"); // round(n · 2/3), halves up
    }
    for (from, to) in [(MIN_RATE - 1, 16_000), (16_000, MAX_RATE + 1)] {
        assert!(matches!(resample(&[0.0; 4], from, to), Err(SpeakerError::BadSampleRate { .. })));
    }
}

// ---------------------------------------------------------------------------------------------------------
// Speech preparation

fn audio(name: &str, samples: Vec<f32>, rate: u32) -> Audio {
    Audio::from_samples(name, samples, rate)
}

#[test]
fn silence_and_near_silence_are_errors() {
    let err = prepare_reference(&audio("reference.wav", vec![0.0; 48_000], 16_000)).unwrap_err();
    assert!(matches!(err, SpeakerError::SilentReference { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("reference.wav holds no speech") && msg.contains("every sample is 0"), "{msg}");

    // Hiss at about −70 dBFS, with a DC offset that must not count as sound.
    let mut rng = Rng(3);
    let hiss: Vec<f32> = (0..48_000).map(|_| 0.1 + 0.002 * rng.uniform()).collect();
    let err = prepare_reference(&audio("quiet.wav", hiss, 16_000)).unwrap_err();
    assert!(matches!(err, SpeakerError::SilentReference { peak_dbfs, .. } if peak_dbfs < -50.0), "{err}");
    assert!(err.to_string().contains("dBFS"), "{err}");
}

#[test]
fn half_a_second_of_speech_is_too_little() {
    let mut samples = vec![0.0; 16_000];
    samples.extend(speech(0.5, 16_000, 0.5));
    samples.extend(vec![0.0; 32_000]);
    let err = prepare_reference(&audio("short.wav", samples, 16_000)).unwrap_err();
    let SpeakerError::TooLittleSpeech { found_seconds, needed_seconds, .. } = err else {
        panic!("expected TooLittleSpeech, got {err}")
    };
    assert!((0.4..MIN_SPEECH_SECONDS).contains(&found_seconds), "found {found_seconds} s");
    assert_eq!(needed_seconds, MIN_SPEECH_SECONDS);
    let msg = err.to_string();
    assert!(
        msg.contains("short.wav holds only 0.") && msg.contains("at least 1.0 s") && msg.contains("5–30 s"),
        "{msg}"
    );
}

#[test]
fn long_silences_are_removed_and_short_pauses_kept() {
    // 1 s silence, 3 s speech, 2 s silence, 3 s speech, 100 ms pause, 1 s speech, 1 s silence (44.1 kHz).
    let rate = 44_100;
    let silence = |s: f64| vec![0f32; (s * rate as f64) as usize];
    let mut samples = silence(1.0);
    samples.extend(speech(3.0, rate, 0.5));
    samples.extend(silence(2.0));
    samples.extend(speech(3.0, rate, 0.5));
    samples.extend(silence(0.1));
    samples.extend(speech(1.0, rate, 0.5));
    samples.extend(silence(1.0));
    let reference = prepare_reference(&audio("pauses.wav", samples, rate)).unwrap();
    // 7 s of speech and the 0.1 s pause, plus at most ~0.1 s of margin at each of 4 edges.
    let kept = reference.seconds();
    assert!((7.05..7.6).contains(&kept), "kept {kept} s");
    assert!(reference.warnings.is_empty(), "{:?}", reference.warnings);
    assert!((reference.input_seconds - 11.1).abs() < 0.01);
    // No run of silence longer than the kept margins remains.
    let longest_quiet = reference
        .samples
        .chunks(160)
        .map(|c| rms(c) < 1e-4)
        .fold((0, 0), |(run, best), q| if q { (run + 1, best.max(run + 1)) } else { (0, best) })
        .1;
    assert!(longest_quiet * 10 <= 220, "{} ms of silence kept", longest_quiet * 10);
}

#[test]
fn seventy_seconds_keep_the_first_sixty_with_a_warning() {
    let samples = speech(70.0, 16_000, 0.5);
    let reference = prepare_reference(&audio("long.wav", samples.clone(), 16_000)).unwrap();
    assert_eq!(reference.samples.len(), (MAX_SPEECH_SECONDS as usize) * REFERENCE_RATE as usize);
    // The first 60 s, unchanged but for the DC removal (already louder than −30 dBFS: no gain).
    let diff = reference.samples.iter().zip(&samples).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    assert!(diff < 1e-5, "differs by {diff}");
    let [ReferenceWarning::LongSpeech { speech_seconds, kept_seconds, .. }] = reference.warnings.as_slice() else {
        panic!("{:?}", reference.warnings)
    };
    assert!((69.9..=70.0).contains(speech_seconds) && *kept_seconds == 60.0);
    assert!(reference.warnings[0].to_string().contains("only the first 60 s"), "{}", reference.warnings[0]);
}

#[test]
fn clipping_is_a_warning() {
    let clean = speech(6.0, 16_000, 0.9);
    let reference = prepare_reference(&audio("clean.wav", clean.clone(), 16_000)).unwrap();
    assert!(reference.warnings.is_empty(), "{:?}", reference.warnings);

    let clipped: Vec<f32> = clean.iter().map(|&x| (x * 3.0).clamp(-1.0, 1.0)).collect();
    let share = clipped.iter().filter(|x| x.abs() >= 0.999).count() as f64 / clipped.len() as f64;
    assert!(share > 0.005, "test signal clips only {share}");
    let reference = prepare_reference(&audio("hot.wav", clipped, 16_000)).unwrap();
    let [ReferenceWarning::Clipped { percent, .. }] = reference.warnings.as_slice() else {
        panic!("{:?}", reference.warnings)
    };
    assert!((*percent as f64 - share * 100.0).abs() < 0.01);
    assert!(reference.warnings[0].to_string().contains("gain lower"));

    // A few full-scale peaks (0.2 %) are not clipping worth a warning.
    let mut peaks = clean;
    for i in (0..peaks.len()).step_by(500) {
        peaks[i] = 1.0;
    }
    assert!(prepare_reference(&audio("peaks.wav", peaks, 16_000)).unwrap().warnings.is_empty());
}

#[test]
fn steady_tones_and_white_noise_are_not_speech() {
    let mut rng = Rng(11);
    let noise: Vec<f32> = (0..80_000).map(|_| 0.5 * rng.uniform()).collect();
    let hum = sine(1_000.0, 16_000, 80_000, 0.3);
    for (name, samples) in [("noise.wav", noise), ("tone.wav", hum)] {
        let err = prepare_reference(&audio(name, samples, 16_000)).unwrap_err();
        assert!(matches!(err, SpeakerError::NotSpeech { spread_db, .. } if spread_db < 2.0), "{name}: {err}");
        assert!(err.to_string().contains(&format!("{name} does not sound like speech")), "{err}");
    }
}

#[test]
fn wideband_noise_gets_a_warning_and_mild_noise_does_not() {
    // Noise bursts at a syllable rate (crackle, wind): not steady, but mostly outside 80–4000 Hz.
    let mut rng = Rng(5);
    let bursts: Vec<f32> = (0..96_000)
        .map(|i| {
            let t = i as f64 / 16_000.0;
            0.8 * rng.uniform() * (0.5 - 0.5 * (2.0 * PI * 3.0 * t).cos()) as f32
        })
        .collect();
    let reference = prepare_reference(&audio("crackle.wav", bursts, 16_000)).unwrap();
    let noisy: Vec<_> = reference.warnings.iter().filter(|w| matches!(w, ReferenceWarning::Noisy { .. })).collect();
    let [ReferenceWarning::Noisy { speech_band_percent, .. }] = noisy.as_slice() else {
        panic!("{:?}", reference.warnings)
    };
    assert!((40.0..60.0).contains(speech_band_percent), "{speech_band_percent} %");

    // Speech with white noise 25 dB below it: fine.
    let voice = speech(8.0, 16_000, 0.5);
    let level = rms(&voice) as f32 * 10f32.powf(-25.0 / 20.0) * 12f32.sqrt();
    let mixed: Vec<f32> = voice.iter().map(|&v| v + level * rng.uniform()).collect();
    let reference = prepare_reference(&audio("room.wav", mixed, 16_000)).unwrap();
    assert!(reference.warnings.is_empty(), "{:?}", reference.warnings);
    assert!(reference.seconds() > 7.9);
}

#[test]
fn dc_offset_is_removed_and_quiet_speech_raised() {
    let voice = speech(6.0, 16_000, 0.02);
    let shifted: Vec<f32> = voice.iter().map(|&v| v + 0.3).collect();
    let reference = prepare_reference(&audio("offset.wav", shifted, 16_000)).unwrap();
    let mean = reference.samples.iter().map(|&v| f64::from(v)).sum::<f64>() / reference.samples.len() as f64;
    assert!(mean.abs() < 1e-3, "mean {mean}");
    // Raised towards −30 dBFS RMS (Resemblyzer's target), never past full scale.
    let level = 20.0 * rms(&reference.samples).log10();
    assert!((-31.0..-29.0).contains(&level), "level {level} dBFS");
    assert!(reference.samples.iter().all(|v| v.abs() <= 1.0));
}

#[test]
fn several_files_are_joined_and_checked_one_by_one() {
    let dir = scratch_dir("several");
    let a = mono_wav(&dir, "a.wav", 16_000, &speech(3.0, 16_000, 0.5));
    let b = mono_wav(&dir, "b.wav", 44_100, &speech(4.0, 44_100, 0.5));
    let reference = load_references(&[&a, &b]).unwrap();
    assert!((6.9..=7.0).contains(&reference.seconds()), "{} s", reference.seconds());
    assert!((reference.input_seconds - 7.0).abs() < 0.01);
    // 7 s together: no short-speech warning although each file alone would get one.
    assert!(reference.warnings.is_empty(), "{:?}", reference.warnings);

    // Two half-second clips are still too little together, and the error names both.
    let short = |name: &str| audio(name, speech(0.45, 16_000, 0.5), 16_000);
    let err = prepare_references(&[short("x.wav"), short("y.wav")]).unwrap_err();
    assert!(matches!(err, SpeakerError::TooLittleSpeech { .. }), "{err}");
    assert!(err.to_string().contains("2 files (x.wav, y.wav)"), "{err}");

    // A silent file among good ones is named.
    let silent = mono_wav(&dir, "silent.wav", 16_000, &vec![0.0; 16_000]);
    let err = load_references(&[&a, &silent]).unwrap_err();
    assert!(matches!(err, SpeakerError::SilentReference { .. }) && err.to_string().contains("silent.wav"), "{err}");
    let err = load_references(&[a.clone(), dir.join("missing.wav")]).unwrap_err();
    assert!(matches!(err, SpeakerError::AudioNotFound { .. }), "{err}");

    assert!(matches!(prepare_references(&[]), Err(SpeakerError::NoReference)));
}
