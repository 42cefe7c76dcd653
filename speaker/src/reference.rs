//! Speech preparation for a voice-cloning reference: decoded audio in, 16 kHz mono speech with long
//! silences removed out, plus warnings about anything that would make the clone worse.
//!
//! Modelled on Resemblyzer's `preprocess_wav` (the GE2E speaker encoder's own front end), with its
//! webrtcvad replaced by an energy detector so no C library is needed:
//! 1. DC offset removed (the mean: a constant offset would read as energy in every window);
//! 2. resampled to 16 kHz ([`crate::audio::resample`]);
//! 3. 30 ms windows judged speech when their level is above a threshold relative to the clip's loud
//!    speech and its noise floor (`speech_threshold` below), with an absolute floor;
//! 4. Resemblyzer's smoothing: a moving average over 8 windows (a window counts as speech when at least
//!    5 of the 8 around it do: lone clicks vanish), then a dilation by 6 windows (3 each side: soft
//!    word edges are kept and pauses up to 180 ms are bridged), then every non-speech window dropped;
//! 5. volume raised (never lowered) to −30 dBFS RMS as Resemblyzer's `normalize_volume` does, but never
//!    past a peak of 1.0.
//!
//! Checks: silence is an error; under [`MIN_SPEECH_SECONDS`] of speech is an error; over
//! [`MAX_SPEECH_SECONDS`] only the first 60 s are kept (a warning); a signal whose level hardly moves
//! (a tone, hum, fan or white noise: real speech always rises and falls with its syllables) is an error,
//! since no voice can be learnt from it; clipping and a signal with little of its energy in the speech
//! band (hiss, static, crackle, speech drowned in noise) are warnings, since the clone may still work.

use std::fmt;
use std::path::Path;

use crate::SpeakerError;
use crate::audio::{Audio, load_audio, resample};

/// The rate of [`Reference::samples`]: what the GE2E speaker encoder takes.
pub const REFERENCE_RATE: u32 = 16_000;
/// Less speech than this after trimming is an error: the encoder's partial utterances are 1.6 s, and
/// under a second nothing stable about a voice can be measured.
pub const MIN_SPEECH_SECONDS: f32 = 1.0;
/// Below this a warning recommends more speech: embeddings from 5–30 s of speech are markedly steadier.
pub const RECOMMENDED_SPEECH_SECONDS: f32 = 5.0;
/// Only this much speech is kept. The speaker embedding is the mean of 1.6 s partial embeddings, which
/// stops changing well before a minute of speech (it saturates), while the time to compute it grows
/// linearly with the length; a longer reference would only make `warble clone` slower.
pub const MAX_SPEECH_SECONDS: f32 = 60.0;
/// A sample at or above this magnitude counts as clipped ...
pub const CLIP_LEVEL: f32 = 0.999;
/// ... and this fraction of clipped samples (0.5 %) gives a warning: a few full-scale peaks are
/// harmless, but this many means the recording was driven into distortion, which colours the timbre.
pub const CLIP_FRACTION: f64 = 0.005;

/// Detector window: 30 ms at 16 kHz, as Resemblyzer's `vad_window_length`.
const WINDOW: usize = 480;
/// Resemblyzer's `vad_moving_average_width`.
const AVERAGE_WIDTH: usize = 8;
/// Resemblyzer's `vad_max_silence_length`: the dilation spans this many windows plus one.
const MAX_SILENCE_WINDOWS: usize = 6;
/// No window quieter than this (RMS) is speech, and a clip with no window above it is silent. Room
/// noise in a quiet recording sits around −60 to −70 dBFS, 16-bit dither at −101; even softly recorded
/// speech is 20 dB above this floor.
const SILENCE_FLOOR_DBFS: f64 = -60.0;
/// Speech windows reach down to this far below the loud speech level (95th percentile of the windows
/// above the floor): soft consonants lie 20–30 dB under the vowels.
const SPEECH_RANGE_DB: f64 = 30.0;
/// ... but must stand this far above the noise floor (10th percentile of all windows) ...
const ABOVE_NOISE_DB: f64 = 6.0;
/// ... and the loud part itself always counts (for recordings with no quiet part at all).
const BELOW_LOUD_DB: f64 = 6.0;
/// Speech rises and falls with its syllables: the 10th–90th percentile range of its window levels is
/// 15–25 dB, and even heavily compressed broadcast speech has over 8 dB. A steady tone has 0 dB and white
/// noise under 1 dB; under this the input is rejected as not speech.
const MIN_LEVEL_SPREAD_DB: f64 = 4.0;
/// Speech keeps over 90 % of its energy in 80–4000 Hz; white noise at 16 kHz has 49 %, pink noise about
/// 65 %. Under this fraction the reference gets a noise warning.
const MIN_SPEECH_BAND_FRACTION: f64 = 0.75;
/// Resemblyzer's `audio_norm_target_dBFS`.
const TARGET_DBFS: f64 = -30.0;

/// Speech ready for the speaker encoder.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    /// 16 kHz mono speech, silences longer than ~180 ms removed, at most 60 s.
    pub samples: Vec<f32>,
    /// Problems that make the clone worse but do not prevent it; show them to the user.
    pub warnings: Vec<ReferenceWarning>,
    /// Total duration of the input audio, seconds.
    pub input_seconds: f32,
}

impl Reference {
    /// Duration of the kept speech, seconds.
    pub fn seconds(&self) -> f32 {
        self.samples.len() as f32 / REFERENCE_RATE as f32
    }
}

/// A problem with a reference that does not stop the clone. `name` is the file (or files) concerned.
#[derive(Debug, Clone, PartialEq)]
pub enum ReferenceWarning {
    /// More than [`MAX_SPEECH_SECONDS`] of speech: only the first `kept_seconds` are used.
    LongSpeech { name: String, speech_seconds: f32, kept_seconds: f32 },
    /// Between [`MIN_SPEECH_SECONDS`] and [`RECOMMENDED_SPEECH_SECONDS`] of speech.
    ShortSpeech { name: String, speech_seconds: f32 },
    /// At least [`CLIP_FRACTION`] of the samples at full scale.
    Clipped { name: String, percent: f32 },
    /// Less than 75 % of the speech's energy in 80–4000 Hz: noise, or not speech.
    Noisy { name: String, speech_band_percent: f32 },
    /// The decoder skipped damaged packets (see [`Audio::damaged_packets`]).
    Damaged { name: String, packets: usize },
    /// Only the first `seconds` of a very long file were decoded.
    Cut { name: String, seconds: f32 },
}

impl fmt::Display for ReferenceWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LongSpeech { name, speech_seconds, kept_seconds } => write!(
                f,
                "{name}: {speech_seconds:.1} s of speech; only the first {kept_seconds:.0} s are used (more does \
                 not change the voice, it only makes cloning slower)"
            ),
            Self::ShortSpeech { name, speech_seconds } => write!(
                f,
                "{name}: only {speech_seconds:.1} s of speech; {RECOMMENDED_SPEECH_SECONDS:.0}–30 s gives a more \
                 faithful voice: record more, or pass several recordings"
            ),
            Self::Clipped { name, percent } => write!(
                f,
                "{name}: {percent:.1} % of the samples are clipped at full scale, and the distortion colours the \
                 cloned voice: record again with the input gain lower"
            ),
            Self::Noisy { name, speech_band_percent } => write!(
                f,
                "{name}: only {speech_band_percent:.0} % of the sound lies in the speech band 80–4000 Hz (clean \
                 speech has over 90 %): it is noisy or not speech; record one person in a quiet room, close to \
                 the microphone"
            ),
            Self::Damaged { name, packets } => write!(
                f,
                "{name}: {packets} damaged audio packet(s) were skipped, leaving short gaps; export the file \
                 again if the cloned voice sounds wrong"
            ),
            Self::Cut { name, seconds } => write!(
                f,
                "{name}: only the first {seconds:.0} s of this long file were read (a clone uses at most \
                 {MAX_SPEECH_SECONDS:.0} s of speech)"
            ),
        }
    }
}

/// Prepares one decoded recording. Errors: silence ([`SpeakerError::SilentReference`]), too little
/// speech ([`SpeakerError::TooLittleSpeech`]), a steady non-speech signal ([`SpeakerError::NotSpeech`]).
pub fn prepare_reference(audio: &Audio) -> Result<Reference, SpeakerError> {
    finish(vec![prepare_one(audio)?], &audio.name)
}

/// Prepares several recordings of the same speaker and joins their speech, in order. Each must hold
/// some speech; together they need [`MIN_SPEECH_SECONDS`], and at most [`MAX_SPEECH_SECONDS`] are kept.
pub fn prepare_references(audio: &[Audio]) -> Result<Reference, SpeakerError> {
    if audio.is_empty() {
        return Err(SpeakerError::NoReference);
    }
    let parts = audio.iter().map(prepare_one).collect::<Result<Vec<_>, _>>()?;
    let name = match audio {
        [one] => one.name.clone(),
        many => {
            format!("{} files ({})", many.len(), many.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", "))
        }
    };
    finish(parts, &name)
}

/// [`load_audio`] then [`prepare_references`]: what `warble clone REF.wav [MORE.wav …]` needs.
pub fn load_references<P: AsRef<Path>>(paths: &[P]) -> Result<Reference, SpeakerError> {
    let audio = paths.iter().map(|p| load_audio(p.as_ref())).collect::<Result<Vec<_>, _>>()?;
    prepare_references(&audio)
}

/// One recording's speech, before the length rules that apply to all recordings together.
struct Prepared {
    speech: Vec<f32>,
    warnings: Vec<ReferenceWarning>,
    input_seconds: f32,
}

fn prepare_one(audio: &Audio) -> Result<Prepared, SpeakerError> {
    let name = &audio.name;
    if audio.samples.is_empty() {
        return Err(SpeakerError::AudioEmpty { path: name.into(), detail: "it holds 0 audio samples".into() });
    }
    if audio.samples.iter().any(|x| !x.is_finite()) {
        return Err(SpeakerError::AudioCorrupt {
            path: name.into(),
            detail: "it holds NaN or infinite samples".into(),
        });
    }
    let mut warnings = Vec::new();
    if audio.damaged_packets > 0 {
        warnings.push(ReferenceWarning::Damaged { name: name.clone(), packets: audio.damaged_packets });
    }
    if let Some(seconds) = audio.cut_at_seconds {
        warnings.push(ReferenceWarning::Cut { name: name.clone(), seconds });
    }
    // Clipping is judged on the samples as recorded: resampling smooths the flat tops away.
    let clipped = audio.samples.iter().filter(|x| x.abs() >= CLIP_LEVEL).count();
    if clipped > 0 && clipped as f64 >= CLIP_FRACTION * audio.samples.len() as f64 {
        let percent = (100.0 * clipped as f64 / audio.samples.len() as f64) as f32;
        warnings.push(ReferenceWarning::Clipped { name: name.clone(), percent });
    }
    let mean = audio.samples.iter().map(|&x| f64::from(x)).sum::<f64>() / audio.samples.len() as f64;
    let centred: Vec<f32> = audio.samples.iter().map(|&x| (f64::from(x) - mean) as f32).collect();
    let peak = centred.iter().fold(0f32, |m, &x| m.max(x.abs()));
    let x = resample(&centred, audio.sample_rate, REFERENCE_RATE)?;

    let levels: Vec<f64> = x.chunks_exact(WINDOW).map(level_dbfs).collect();
    let too_little = |found_seconds: f32| SpeakerError::TooLittleSpeech {
        name: name.clone(),
        found_seconds,
        needed_seconds: MIN_SPEECH_SECONDS,
    };
    if levels.is_empty() {
        return Err(too_little(0.0));
    }
    if levels.iter().all(|&l| l < SILENCE_FLOOR_DBFS) {
        let peak_dbfs = if peak > 0.0 { 20.0 * peak.log10() } else { f32::NEG_INFINITY };
        return Err(SpeakerError::SilentReference { name: name.clone(), peak_dbfs });
    }
    let threshold = speech_threshold(&levels);
    let flags: Vec<bool> = levels.iter().map(|&l| l > threshold).collect();
    let keep = dilate(&smooth(&flags));
    let mut speech = Vec::with_capacity(x.len());
    for (window, _) in x.chunks_exact(WINDOW).zip(&keep).filter(|(_, k)| **k) {
        speech.extend_from_slice(window);
    }
    if speech.is_empty() {
        return Err(too_little(0.0));
    }

    // Steadiness: the spread of the levels of the windows detected as speech. Judged only on enough speech
    // to span several syllables; a shorter clip is reported as too short (alone) or joins longer ones.
    let active: Vec<f64> =
        levels.iter().zip(flags.iter().zip(&keep)).filter(|(_, (f, k))| **f && **k).map(|(l, _)| *l).collect();
    let spread_db = percentile(&active, 0.9) - percentile(&active, 0.1);
    let judged = speech.len() as f32 >= MIN_SPEECH_SECONDS * REFERENCE_RATE as f32;
    if judged && spread_db < MIN_LEVEL_SPREAD_DB {
        return Err(SpeakerError::NotSpeech { name: name.clone(), spread_db: spread_db as f32 });
    }
    let band = speech_band_fraction(&speech);
    if band < MIN_SPEECH_BAND_FRACTION {
        warnings.push(ReferenceWarning::Noisy { name: name.clone(), speech_band_percent: (100.0 * band) as f32 });
    }

    // Resemblyzer's normalize_volume(increase_only=True) on the whole clip, limited to a peak of 1.
    let rms_dbfs = level_dbfs(&x);
    let speech_peak = speech.iter().fold(0f32, |m, &v| m.max(v.abs()));
    if rms_dbfs < TARGET_DBFS && speech_peak > 0.0 {
        let gain = 10f64.powf((TARGET_DBFS - rms_dbfs) / 20.0).min(1.0 / f64::from(speech_peak)) as f32;
        if gain > 1.0 {
            speech.iter_mut().for_each(|v| *v *= gain);
        }
    }
    Ok(Prepared { speech, warnings, input_seconds: audio.seconds() })
}

/// Joins prepared recordings and applies the length rules to the total.
fn finish(parts: Vec<Prepared>, name: &str) -> Result<Reference, SpeakerError> {
    let input_seconds = parts.iter().map(|p| p.input_seconds).sum();
    let mut samples = Vec::with_capacity(parts.iter().map(|p| p.speech.len()).sum());
    let mut warnings = Vec::new();
    for part in parts {
        samples.extend(part.speech);
        warnings.extend(part.warnings);
    }
    let speech_seconds = samples.len() as f32 / REFERENCE_RATE as f32;
    if speech_seconds < MIN_SPEECH_SECONDS {
        return Err(SpeakerError::TooLittleSpeech {
            name: name.to_string(),
            found_seconds: speech_seconds,
            needed_seconds: MIN_SPEECH_SECONDS,
        });
    }
    let max_len = (MAX_SPEECH_SECONDS * REFERENCE_RATE as f32) as usize;
    if samples.len() > max_len {
        samples.truncate(max_len);
        warnings.push(ReferenceWarning::LongSpeech {
            name: name.to_string(),
            speech_seconds,
            kept_seconds: MAX_SPEECH_SECONDS,
        });
    } else if speech_seconds < RECOMMENDED_SPEECH_SECONDS {
        warnings.push(ReferenceWarning::ShortSpeech { name: name.to_string(), speech_seconds });
    }
    Ok(Reference { samples, warnings, input_seconds })
}

/// RMS level in dBFS (a full-scale sine is −3 dBFS), −120 for digital silence.
fn level_dbfs(x: &[f32]) -> f64 {
    let power = x.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() / x.len().max(1) as f64;
    (10.0 * power.log10()).max(-120.0)
}

/// The `p` quantile (0..=1) of `values`, nearest rank; −120 for none.
fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return -120.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// The level a window must exceed to count as speech: within [`SPEECH_RANGE_DB`] of the loud speech
/// level, at least [`ABOVE_NOISE_DB`] over the noise floor (but never so high that the loud part itself
/// fails), and never under [`SILENCE_FLOOR_DBFS`]. Relative rules make the detector independent of the
/// recording level; the noise rule keeps a noisy room's background out; the floor keeps near-silence out.
fn speech_threshold(levels: &[f64]) -> f64 {
    let audible: Vec<f64> = levels.iter().copied().filter(|&l| l >= SILENCE_FLOOR_DBFS).collect();
    let loud = percentile(&audible, 0.95);
    let noise = percentile(levels, 0.1);
    (loud - SPEECH_RANGE_DB).max(noise + ABOVE_NOISE_DB).min(loud - BELOW_LOUD_DB).max(SILENCE_FLOOR_DBFS)
}

/// Resemblyzer's `moving_average(flags, 8)` then `np.round`: the average runs over windows i−3..=i+4
/// (zero padded), and rounds to speech only above one half (`np.round(0.5)` is 0), i.e. 5 of 8.
fn smooth(flags: &[bool]) -> Vec<bool> {
    let n = flags.len();
    (0..n)
        .map(|i| {
            let lo = i.saturating_sub((AVERAGE_WIDTH - 1) / 2);
            let hi = (i + AVERAGE_WIDTH / 2).min(n - 1);
            2 * flags[lo..=hi].iter().filter(|&&f| f).count() > AVERAGE_WIDTH
        })
        .collect()
}

/// Resemblyzer's `binary_dilation(mask, np.ones(6 + 1))`: a window is kept when any window within 3
/// of it is speech.
fn dilate(mask: &[bool]) -> Vec<bool> {
    let n = mask.len();
    let r = MAX_SILENCE_WINDOWS / 2;
    (0..n).map(|i| mask[i.saturating_sub(r)..=(i + r).min(n - 1)].iter().any(|&m| m)).collect()
}

/// Fraction of the energy of 16 kHz audio inside 80–4000 Hz (4th-order Butterworth high-pass and low-pass).
fn speech_band_fraction(x: &[f32]) -> f64 {
    let rate = f64::from(REFERENCE_RATE);
    // 4th-order Butterworth = two biquads with these Q values (poles at ±22.5° and ±67.5°): a flat band
    // whose noise bandwidth is about the nominal one, so white noise scores (4000 − 80) / 8000.
    const Q: [f64; 2] = [0.541_196_1, 1.306_563];
    let mut filters = [
        Biquad::high_pass(80.0, rate, Q[0]),
        Biquad::high_pass(80.0, rate, Q[1]),
        Biquad::low_pass(4_000.0, rate, Q[0]),
        Biquad::low_pass(4_000.0, rate, Q[1]),
    ];
    let (mut total, mut band) = (0f64, 0f64);
    for &v in x {
        let v = f64::from(v);
        total += v * v;
        let y = filters.iter_mut().fold(v, |s, f| f.process(s));
        band += y * y;
    }
    if total > 0.0 { band / total } else { 0.0 }
}

/// A second-order section (RBJ cookbook), transposed direct form II.
struct Biquad {
    b: [f64; 3],
    a: [f64; 2],
    z: [f64; 2],
}

impl Biquad {
    fn new(b: [f64; 3], a0: f64, a: [f64; 2]) -> Self {
        Biquad { b: b.map(|v| v / a0), a: a.map(|v| v / a0), z: [0.0; 2] }
    }

    fn low_pass(freq: f64, rate: f64, q: f64) -> Self {
        let (cos, alpha) = Self::angle(freq, rate, q);
        Self::new([(1.0 - cos) / 2.0, 1.0 - cos, (1.0 - cos) / 2.0], 1.0 + alpha, [-2.0 * cos, 1.0 - alpha])
    }

    fn high_pass(freq: f64, rate: f64, q: f64) -> Self {
        let (cos, alpha) = Self::angle(freq, rate, q);
        Self::new([(1.0 + cos) / 2.0, -(1.0 + cos), (1.0 + cos) / 2.0], 1.0 + alpha, [-2.0 * cos, 1.0 - alpha])
    }

    fn angle(freq: f64, rate: f64, q: f64) -> (f64, f64) {
        let w = 2.0 * std::f64::consts::PI * freq / rate;
        (w.cos(), w.sin() / (2.0 * q))
    }

    fn process(&mut self, x: f64) -> f64 {
        let y = self.b[0] * x + self.z[0];
        self.z[0] = self.b[1] * x - self.a[0] * y + self.z[1];
        self.z[1] = self.b[2] * x - self.a[1] * y;
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(pattern: &str) -> Vec<bool> {
        pattern.chars().map(|c| c == '#').collect()
    }

    fn show(mask: &[bool]) -> String {
        mask.iter().map(|&m| if m { '#' } else { '.' }).collect()
    }

    #[test]
    fn smoothing_needs_five_of_eight_windows() {
        // A lone window (a click) or four in a row vanish; five in a row survive.
        assert_eq!(show(&smooth(&flags("........#........"))), ".................");
        assert_eq!(show(&smooth(&flags("......####......."))), ".................");
        assert_eq!(show(&smooth(&flags("......#####......"))), "......####.......");
        // Inside speech a short dip is filled; the zero padding past the end drops the last window, as in
        // Resemblyzer (the dilation brings it back).
        assert_eq!(show(&smooth(&flags("##########.###########"))), "#####################.");
    }

    #[test]
    fn dilation_adds_three_windows_each_side_and_bridges_six() {
        assert_eq!(show(&dilate(&flags("..........#.........."))), ".......#######.......");
        // Gaps of up to 6 windows (180 ms) are bridged, 7 are not.
        assert_eq!(show(&dilate(&flags("#......#"))), "########");
        assert_eq!(show(&dilate(&flags("#.......#"))), "####.####");
    }

    #[test]
    fn threshold_follows_loud_speech_noise_and_floor() {
        // Speech at −20 dBFS over silence: 30 dB below the loud level.
        let mut levels = vec![-20.0; 50];
        levels.extend(vec![-120.0; 50]);
        assert_eq!(speech_threshold(&levels), -50.0);
        // The same over noise at −40 dBFS: 6 dB over the noise.
        levels[50..].fill(-40.0);
        assert_eq!(speech_threshold(&levels), -34.0);
        // A steady signal: everything counts (the loud part always does).
        assert_eq!(speech_threshold(&[-30.0; 40]), -36.0);
        // Quiet speech: the floor.
        levels[..50].fill(-55.0);
        levels[50..].fill(-120.0);
        assert_eq!(speech_threshold(&levels), SILENCE_FLOOR_DBFS);
    }

    #[test]
    fn speech_band_fraction_of_tones_and_noise() {
        let rate = REFERENCE_RATE as f64;
        let tone = |f: f64| -> Vec<f32> {
            (0..16_000).map(|i| (2.0 * std::f64::consts::PI * f * i as f64 / rate).sin() as f32).collect()
        };
        assert!(speech_band_fraction(&tone(1_000.0)) > 0.98);
        assert!(speech_band_fraction(&tone(50.0)) < 0.1);
        assert!(speech_band_fraction(&tone(6_000.0)) < 0.05);
        // White noise: the band is 3920 of 8000 Hz.
        let mut state = 1u64;
        let noise: Vec<f32> = (0..32_000)
            .map(|_| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((state >> 40) as f32 / (1u64 << 24) as f32) - 0.5
            })
            .collect();
        let f = speech_band_fraction(&noise);
        assert!((0.46..0.53).contains(&f), "white noise: {f}");
    }

    #[test]
    fn percentile_is_nearest_rank() {
        let v: Vec<f64> = (0..=10).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.9), 9.0);
        assert_eq!(percentile(&v, 0.1), 1.0);
        assert_eq!(percentile(&[], 0.5), -120.0);
    }
}
