//! The front end of Resemblyzer's GE2E speaker encoder: the 40-band *power* mel spectrogram (no log) that
//! `resemblyzer.audio.wav_to_mel_spectrogram` computes with `librosa.feature.melspectrogram(y, sr=16000,
//! n_fft=400, hop_length=160, n_mels=40)`, and the `-30 dBFS` volume normalisation of `preprocess_wav`.
//!
//! librosa 0.11's defaults behind that call, reproduced here: a periodic Hann window of 400 samples, frames
//! centred on `t · 160` (the signal zero-padded by 200 samples on both sides: `pad_mode="constant"` since
//! librosa 0.10), `|STFT|²`, and a Slaney-scale mel filterbank with Slaney area normalisation from 0 Hz to
//! 8 kHz, stored as float32. librosa multiplies the float32 frames by a float64 window and runs the FFT in
//! float64; so does this module, and it rounds to float32 only at the end.

use std::sync::Arc;

use rustfft::num_complex::Complex64;
use rustfft::{Fft, FftPlanner};

/// The encoder's sample rate (Hz).
pub const SAMPLE_RATE: u32 = 16_000;
/// FFT size and window length: 25 ms.
pub const N_FFT: usize = 400;
/// Frame step: 10 ms.
pub const HOP: usize = 160;
/// Mel bands.
pub const N_MELS: usize = 40;
/// Frequency bins of a real FFT of `N_FFT` points.
const N_BINS: usize = N_FFT / 2 + 1;
/// Resemblyzer's `audio_norm_target_dBFS`.
pub const TARGET_DBFS: f64 = -30.0;

/// A reusable mel front end: the window, the filterbank and the FFT plan are made once.
pub struct MelSpectrogram {
    window: Vec<f64>,
    /// `[N_MELS][N_BINS]`, the float32 values librosa's `filters.mel` returns, widened to f64.
    filters: Vec<f64>,
    fft: Arc<dyn Fft<f64>>,
}

impl Default for MelSpectrogram {
    fn default() -> Self {
        Self::new()
    }
}

impl MelSpectrogram {
    pub fn new() -> Self {
        // scipy's periodic ("fftbins=True") Hann window: the first N of a symmetric window of N + 1 points.
        let window =
            (0..N_FFT).map(|n| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / N_FFT as f64).cos()).collect();
        let filters = slaney_filterbank().into_iter().map(f64::from).collect();
        Self { window, filters, fft: FftPlanner::new().plan_fft_forward(N_FFT) }
    }

    /// The spectrogram of a 16 kHz waveform, one `[f32; 40]` row per frame: `1 + len / 160` frames, frame
    /// `t` centred on sample `t · 160` (librosa's `center=True`; the result transposed to frames × bands as
    /// Resemblyzer does).
    pub fn compute(&self, wav: &[f32]) -> Vec<[f32; N_MELS]> {
        let n_frames = 1 + wav.len() / HOP;
        let half = N_FFT / 2;
        let mut buffer = vec![Complex64::default(); N_FFT];
        let mut scratch = vec![Complex64::default(); self.fft.get_inplace_scratch_len()];
        let mut power = [0f64; N_BINS];
        let mut out = Vec::with_capacity(n_frames);
        for t in 0..n_frames {
            // Sample index of the window's first point in the unpadded signal; outside it is zero padding.
            let first = (t * HOP) as isize - half as isize;
            for (n, slot) in buffer.iter_mut().enumerate() {
                let at = first + n as isize;
                let x = usize::try_from(at).ok().and_then(|i| wav.get(i)).map_or(0.0, |&x| f64::from(x));
                *slot = Complex64::new(x * self.window[n], 0.0);
            }
            self.fft.process_with_scratch(&mut buffer, &mut scratch);
            for (p, c) in power.iter_mut().zip(&buffer) {
                *p = c.norm_sqr();
            }
            let mut row = [0f32; N_MELS];
            for (m, value) in row.iter_mut().enumerate() {
                let filter = &self.filters[m * N_BINS..(m + 1) * N_BINS];
                *value = filter.iter().zip(&power).map(|(w, p)| w * p).sum::<f64>() as f32;
            }
            out.push(row);
        }
        out
    }
}

/// [`MelSpectrogram::compute`] with a front end made for this one call.
pub fn mel_spectrogram(wav: &[f32]) -> Vec<[f32; N_MELS]> {
    MelSpectrogram::new().compute(wav)
}

/// Slaney's mel scale as librosa's `hz_to_mel(htk=False)`: linear (3 bands per 200 Hz) below 1 kHz,
/// logarithmic (27 bands per factor 6.4) above.
fn hz_to_mel(hz: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_mel = 1000.0 / f_sp;
    let logstep = 6.4f64.ln() / 27.0;
    if hz >= 1000.0 { min_log_mel + (hz / 1000.0).ln() / logstep } else { hz / f_sp }
}

/// The inverse of [`hz_to_mel`] (librosa's `mel_to_hz(htk=False)`).
fn mel_to_hz(mel: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_mel = 1000.0 / f_sp;
    let logstep = 6.4f64.ln() / 27.0;
    if mel >= min_log_mel { 1000.0 * (logstep * (mel - min_log_mel)).exp() } else { f_sp * mel }
}

/// librosa's `filters.mel(sr=16000, n_fft=400, n_mels=40)` (fmin 0, fmax sr/2, Slaney scale, `norm="slaney"`),
/// row-major `[N_MELS][N_BINS]` float32, following its arithmetic step by step so that every value rounds
/// the same way.
fn slaney_filterbank() -> Vec<f32> {
    // np.fft.rfftfreq(400, d=1/16000): k · 1/(n·d).
    let bin_hz = 1.0 / (N_FFT as f64 * (1.0 / f64::from(SAMPLE_RATE)));
    let fft_freqs: Vec<f64> = (0..N_BINS).map(|k| k as f64 * bin_hz).collect();
    // mel_frequencies(42, 0, 8000): np.linspace over the mel scale (i · step + start), back to Hz.
    let (min_mel, max_mel) = (hz_to_mel(0.0), hz_to_mel(f64::from(SAMPLE_RATE) / 2.0));
    let step = (max_mel - min_mel) / (N_MELS + 1) as f64;
    let mel_f: Vec<f64> = (0..N_MELS + 2)
        .map(|i| if i == N_MELS + 1 { max_mel } else { i as f64 * step + min_mel })
        .map(mel_to_hz)
        .collect();
    let mut weights = vec![0f32; N_MELS * N_BINS];
    for m in 0..N_MELS {
        let (lo_width, hi_width) = (mel_f[m + 1] - mel_f[m], mel_f[m + 2] - mel_f[m + 1]);
        // Slaney normalisation: each triangle has unit area in Hz.
        let enorm = 2.0 / (mel_f[m + 2] - mel_f[m]);
        for (k, &f) in fft_freqs.iter().enumerate() {
            let lower = -(mel_f[m] - f) / lo_width;
            let upper = (mel_f[m + 2] - f) / hi_width;
            // librosa stores the triangle in its float32 array first and scales it in place afterwards:
            // two roundings, kept here because they change the last bit of some weights.
            let triangle = lower.min(upper).max(0.0) as f32;
            weights[m * N_BINS + k] = (f64::from(triangle) * enorm) as f32;
        }
    }
    weights
}

/// Resemblyzer's `normalize_volume(wav, target_dBFS, increase_only)`: scales the waveform so that its RMS
/// level is `target_dbfs` (relative to 16-bit full scale, 32767), or, with `increase_only`, leaves louder
/// audio as it is. Silent or empty input comes back unchanged (Python would return NaNs from `log10(0)`).
pub fn normalize_volume(wav: &[f32], target_dbfs: f64, increase_only: bool) -> Vec<f32> {
    let int16_max = f64::from(i16::MAX);
    let mean_square = wav.iter().map(|&x| (f64::from(x) * int16_max).powi(2)).sum::<f64>() / wav.len().max(1) as f64;
    if mean_square <= 0.0 || !mean_square.is_finite() {
        return wav.to_vec();
    }
    let wave_dbfs = 20.0 * (mean_square.sqrt() / int16_max).log10();
    let change = target_dbfs - wave_dbfs;
    if change < 0.0 && increase_only {
        return wav.to_vec();
    }
    let gain = 10f64.powf(change / 20.0) as f32;
    wav.iter().map(|&x| x * gain).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filterbank_matches_librosa_values() {
        // librosa 0.11 `filters.mel(sr=16000, n_fft=400, n_mels=40)`: float32 entries and the float64 sum of all.
        let w = slaney_filterbank();
        let at = |m: usize, k: usize| w[m * N_BINS + k];
        for (m, k, librosa) in [(0, 1, 0.007_390_209_5f32), (13, 24, 0.000_612_285_86), (39, 190, 0.001_215_154)] {
            assert_eq!(at(m, k), librosa, "[{m}, {k}]");
        }
        assert_eq!(at(0, 0), 0.0);
        assert_eq!(at(20, 40), 0.0);
        // The sum agrees to 1e-15, far below one float32 step of any weight: every weight rounds as librosa's.
        let total: f64 = w.iter().map(|&x| f64::from(x)).sum();
        assert!((total - 0.999_497_150_425_999_7).abs() < 1e-15, "{total}");
        // Each band is one triangle: non-zero over a contiguous run of bins (librosa: 1..=3, 26..=30, 172..=199).
        let support = |m: usize| {
            let nz: Vec<usize> = (0..N_BINS).filter(|&k| at(m, k) > 0.0).collect();
            assert_eq!(nz.last().unwrap() - nz[0] + 1, nz.len(), "band {m} is not contiguous");
            (nz[0], *nz.last().unwrap())
        };
        assert_eq!([support(0), support(14), support(39)], [(1, 3), (26, 30), (172, 199)]);
    }

    #[test]
    fn frame_count_and_silence() {
        let frames = mel_spectrogram(&[0.0; 1000]);
        assert_eq!(frames.len(), 1 + 1000 / HOP);
        assert!(frames.iter().flatten().all(|&v| v == 0.0));
        assert_eq!(mel_spectrogram(&[]).len(), 1);
    }

    #[test]
    fn a_tone_lands_in_its_band() {
        // 1 kHz is 15 on the Slaney scale; band 13 peaks at 14 · 45.23/41 ≈ 15.4 (librosa also gives 13).
        let wav: Vec<f32> =
            (0..4000).map(|n| (2.0 * std::f32::consts::PI * 1000.0 * n as f32 / 16000.0).sin()).collect();
        let row = mel_spectrogram(&wav)[10];
        let peak = (0..N_MELS).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap();
        assert_eq!(peak, 13);
    }

    #[test]
    fn volume_normalisation() {
        let quiet: Vec<f32> = (0..1600).map(|n| 0.001 * (n as f32 * 0.1).sin()).collect();
        let loud = normalize_volume(&quiet, TARGET_DBFS, true);
        let rms = |w: &[f32]| (w.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / w.len() as f64).sqrt();
        let dbfs = 20.0 * rms(&loud).log10();
        assert!((dbfs - TARGET_DBFS).abs() < 1e-3, "{dbfs}");
        // Already louder than -30 dBFS: increase-only leaves it, otherwise it is turned down.
        let hot: Vec<f32> = quiet.iter().map(|x| x * 500.0).collect();
        assert_eq!(normalize_volume(&hot, TARGET_DBFS, true), hot);
        assert!(rms(&normalize_volume(&hot, TARGET_DBFS, false)) < rms(&hot));
        assert_eq!(normalize_volume(&[0.0; 8], TARGET_DBFS, true), vec![0.0; 8]);
        assert!(normalize_volume(&[], TARGET_DBFS, true).is_empty());
    }
}
