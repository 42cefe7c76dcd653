//! The harmonic-plus-noise source (`generator.m_source`): sines at F0 and its first 8 overtones, phase
//! integrated at the F0 frame rate and interpolated to the sample rate, then mixed by a learnt 9→1 linear map
//! and `tanh`.
//!
//! This runs on the host in plain f32 arithmetic rather than as tensor ops, because the phase reaches ~1e5 rad:
//! an ulp of difference in the interpolation order decorrelates the output, so matching the reference means
//! controlling every rounding (see `shared/docs/onnx-int8-notes.md` §5). It is a hot path that a SIMD or GPU
//! kernel can replace later; its input (F0, 80 values a second) and output are small next to the convolutions.

use rayon::prelude::*;

/// Constants of Kokoro's `SineGen` (sample rate 24 kHz, 8 overtones, amplitude 0.1, voiced above 10 Hz).
#[derive(Debug, Clone)]
pub struct SineGenConfig {
    pub sample_rate: f32,
    pub harmonics: usize,
    pub sine_amp: f32,
    pub noise_std: f32,
    pub voiced_threshold: f32,
    /// Samples per F0 value (10 · 6 · 5 = 300).
    pub upsample: usize,
}

impl SineGenConfig {
    pub fn kokoro_v1() -> Self {
        Self {
            sample_rate: 24000.0,
            harmonics: 9,
            sine_amp: 0.1,
            noise_std: 0.003,
            voiced_threshold: 10.0,
            upsample: 300,
        }
    }
}

/// Whether, and how reproducibly, the source adds the Gaussian noise of the original PyTorch model.
/// (The ONNX export, and so the golden reference, has none.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceNoise {
    Off,
    Seeded(u64),
}

/// `f0 [2F]` in Hz → `har_source [2F · upsample]`, given the `l_linear` weights `w [harmonics]` and bias `b`.
///
/// The arithmetic follows the exported graph operation by operation in f32: `rad = frac(f0·k / sr)`, a linear
/// ×1/upsample resize, a sequential f32 cumsum, `((·2)·π)·upsample`, a linear ×upsample resize, `sin`, and the
/// mix. Both resizes use onnxruntime's half-pixel weights (`|x − x₁|`, `|x − x₂|`, each rounded, not `1 − λ`)
/// and its summation order; with them the source matches the reference to ~6e-8, where a plain lerp is off by
/// ~1e-3 (the phase is ~1e5 rad, so its last bit matters).
pub fn harmonic_source(f0: &[f32], w: &[f32], b: f32, cfg: &SineGenConfig, noise: SourceNoise) -> Vec<f32> {
    harmonic_source_range(f0, w, b, cfg, noise, 0..f0.len() * cfg.upsample)
}

/// Samples `range` of [`harmonic_source`]'s output, bit-identical to the same samples of the whole: the phase
/// is a running sum over F0 frames (cheap, always computed from the start), and every sample and noise draw
/// after it is a function of its global index. This is what lets a stream make only the source its first
/// window needs. `range` is clamped to the output's length.
pub fn harmonic_source_range(
    f0: &[f32],
    w: &[f32],
    b: f32,
    cfg: &SineGenConfig,
    noise: SourceNoise,
    range: std::ops::Range<usize>,
) -> Vec<f32> {
    let frames = f0.len();
    let up = cfg.upsample;
    let nh = cfg.harmonics;
    let len = frames * up;
    let end = range.end.min(len);
    let start = range.start.min(end);
    if start == end {
        return Vec::new();
    }
    // rad at sample rate is constant over each frame's `up` samples, so keep it per frame; the downsampling
    // resize reads samples at 300j+149.5 with both neighbours inside frame j (for any realistic length).
    let up_f = up as f32;
    let down_scale = 1.0 / up_f;
    let mut phase = vec![0f32; nh * frames];
    for k in 0..nh {
        let harmonic = (k + 1) as f32;
        let rad_at = |t: usize| {
            let d = (f0[t / up] * harmonic) / cfg.sample_rate;
            d - d.floor()
        };
        let mut acc = 0f32;
        for j in 0..frames {
            let lo = ort_linear_resize_at(j, len, down_scale, k, nh, rad_at);
            acc += lo;
            phase[k * frames + j] = ((acc * 2.0) * std::f32::consts::PI) * up_f;
        }
    }
    let seed = match noise {
        SourceNoise::Off => None,
        SourceNoise::Seeded(seed) => Some(seed),
    };
    let mut out = vec![0f32; end - start];
    out.par_chunks_mut(BLOCK).enumerate().for_each(|(block, dst)| {
        let first = start + block * BLOCK;
        let mut sines = vec![0f32; nh];
        // Draw `g = t·nh + k` of the noise is half `g % 2` of pair `g / 2`, whatever range is asked for.
        let first_draw = first * nh;
        let mut normals = Vec::new();
        if let Some(seed) = seed {
            let (lo, hi) = (first_draw / 2, (first_draw + dst.len() * nh - 1) / 2);
            normals.reserve(2 * (hi - lo + 1));
            for p in lo..=hi {
                let (c, s) = normal_pair(seed, p as u64);
                normals.extend([c, s]);
            }
        }
        let skip = first_draw % 2;
        for (i, o) in dst.iter_mut().enumerate() {
            let t = first + i;
            let voiced = f0[t / up] > cfg.voiced_threshold;
            for (k, s) in sines.iter_mut().enumerate() {
                // Upsampling resize of the phase (linear, half-pixel; the last harmonic's channel is weighted
                // as ORT's kernel weights it).
                let p = ort_linear_resize_at(t, frames, up_f, k, nh, |x| phase[k * frames + x]);
                let mut v = (p.sin() * cfg.sine_amp) * if voiced { 1.0 } else { 0.0 };
                if seed.is_some() {
                    let std = if voiced { cfg.noise_std } else { cfg.sine_amp / 3.0 };
                    v += std * normals[skip + i * nh + k];
                }
                *s = v;
            }
            let mut mix = 0f32;
            for k in 0..nh {
                mix += sines[k] * w[k];
            }
            *o = (mix + b).tanh();
        }
    });
    out
}

const BLOCK: usize = 4096;

/// One output sample of onnxruntime's linear half-pixel `Resize` along time for channel `c` of `channels`
/// (the rank-3 input runs as trilinear with depth 1; the channel axis contributes weight 0.5·… terms that this
/// reproduces, including the last channel's clamped neighbour).
fn ort_linear_resize_at(
    x: usize,
    in_len: usize,
    scale: f32,
    c: usize,
    channels: usize,
    value: impl Fn(usize) -> f32,
) -> f32 {
    let max = (in_len - 1) as f32;
    let ix = (((x as f32 + 0.5) / scale) - 0.5).clamp(0.0, max);
    let x1 = (ix as usize).min(in_len - 1);
    let x2 = (x1 + 1).min(in_len - 1);
    let (dx1, dx2) = if x1 == x2 { (0.5, 0.5) } else { ((ix - x1 as f32).abs(), (ix - x2 as f32).abs()) };
    let k = if c + 1 < channels { 0.5 } else { 0.25 };
    let a = (dx2 * k) * value(x1);
    let b = (dx1 * k) * value(x2);
    if c + 1 < channels { ((a + b) + a) + b } else { ((((((a + b) + a) + b) + a) + b) + a) + b }
}

/// Draws `2·pair` and `2·pair + 1` of a seeded standard-normal sequence: SplitMix64 (whose `n`-th output is a
/// function of `seed + n·γ`, so any draw is computed directly, which lets the source run in parallel blocks)
/// and Box–Muller on consecutive pairs of outputs. The noise only needs to be Gaussian and reproducible, not
/// cryptographic or bit-compatible with PyTorch's generator.
fn normal_pair(seed: u64, pair: u64) -> (f32, f32) {
    const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;
    let start = seed ^ GAMMA;
    let mix = |n: u64| {
        let mut z = start.wrapping_add(n.wrapping_add(1).wrapping_mul(GAMMA));
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let uniform = |n: u64| ((mix(n) >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
    let r = (-2.0 * uniform(2 * pair).ln()).sqrt();
    let theta = 2.0 * std::f64::consts::PI * uniform(2 * pair + 1);
    ((r * theta.cos()) as f32, (r * theta.sin()) as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unvoiced_source_without_noise_is_the_bias() {
        let cfg = SineGenConfig::kokoro_v1();
        let out = harmonic_source(&[0.0, 5.0], &[1.0; 9], 0.25, &cfg, SourceNoise::Off);
        assert_eq!(out.len(), 600);
        assert!(out.iter().all(|&v| v == 0.25f32.tanh()));
    }

    #[test]
    fn a_constant_f0_gives_a_sine_of_that_frequency() {
        let cfg = SineGenConfig::kokoro_v1();
        let f0 = vec![200.0f32; 40];
        let mut w = [0.0f32; 9];
        w[0] = 1.0;
        let out = harmonic_source(&f0, &w, 0.0, &cfg, SourceNoise::Off);
        // Count rising zero crossings over the steady middle: 200 Hz over 0.4 s ≈ 80 cycles at 24 kHz → 9600 samples.
        let mid = &out[1200..10800];
        let rising = mid.windows(2).filter(|p| p[0] < 0.0 && p[1] >= 0.0).count();
        assert!((79..=81).contains(&rising), "{rising} cycles");
    }

    #[test]
    fn indexed_noise_is_standard_normal() {
        let n = 200_000u64;
        let draws: Vec<f64> = (0..n / 2)
            .flat_map(|p| {
                let (c, s) = normal_pair(3, p);
                [f64::from(c), f64::from(s)]
            })
            .collect();
        let mean = draws.iter().sum::<f64>() / n as f64;
        let var = draws.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
        let within_1sd = draws.iter().filter(|v| v.abs() < 1.0).count() as f64 / n as f64;
        assert!(mean.abs() < 0.01 && (var - 1.0).abs() < 0.02, "mean {mean}, variance {var}");
        assert!((within_1sd - 0.6827).abs() < 0.005, "{within_1sd} within one standard deviation");
        // Neighbouring draws (the two halves of a Box–Muller pair, and across pairs) are uncorrelated.
        let lag1 = draws.windows(2).map(|w| w[0] * w[1]).sum::<f64>() / (n - 1) as f64;
        assert!(lag1.abs() < 0.01, "lag-1 correlation {lag1}");
    }

    #[test]
    fn any_range_equals_the_same_samples_of_the_whole() {
        let cfg = SineGenConfig::kokoro_v1();
        let f0: Vec<f32> = (0..40).map(|i| if i % 9 < 2 { 0.0 } else { 120.0 + 7.0 * i as f32 }).collect();
        let w = [0.2f32, -0.1, 0.3, 0.05, -0.2, 0.1, 0.15, -0.05, 0.25];
        for noise in [SourceNoise::Off, SourceNoise::Seeded(11)] {
            let whole = harmonic_source(&f0, &w, 0.01, &cfg, noise);
            // Odd starts (a noise pair split across the edge), block-crossing spans, the end, past the end.
            for (a, b) in [(0, 1), (1, 2), (3, 4100), (4095, 8193), (6001, 12000), (11_999, 12_000), (5, 20_000)] {
                let got = harmonic_source_range(&f0, &w, 0.01, &cfg, noise, a..b);
                assert_eq!(got, whole[a..b.min(whole.len())], "{noise:?} {a}..{b}");
            }
        }
    }

    #[test]
    fn seeded_noise_is_reproducible_and_seed_dependent() {
        let cfg = SineGenConfig::kokoro_v1();
        let f0 = vec![0.0f32, 150.0, 150.0, 0.0];
        let w = [0.3f32; 9];
        let a = harmonic_source(&f0, &w, 0.0, &cfg, SourceNoise::Seeded(7));
        let b = harmonic_source(&f0, &w, 0.0, &cfg, SourceNoise::Seeded(7));
        let c = harmonic_source(&f0, &w, 0.0, &cfg, SourceNoise::Seeded(8));
        assert_eq!(a, b);
        assert_ne!(a, c);
        // Unvoiced noise (std 0.1/3 per harmonic, 9 harmonics mixed with weight 0.3) is clearly present.
        let rms = (a[..300].iter().map(|v| v * v).sum::<f32>() / 300.0).sqrt();
        assert!(rms > 0.01 && rms < 0.1, "rms {rms}");
    }
}
