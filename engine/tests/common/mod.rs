//! Shared fixtures for the tests that use the real weights and the golden reference data.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use burn::tensor::{Device, Tensor, TensorData};
use warble_engine::{Engine, EngineOptions, KokoroModel};

/// `$WARBLE_MODEL_DIR` (CI sets it to `../shared/models`).
pub fn model_dir() -> PathBuf {
    let dir = std::env::var_os("WARBLE_MODEL_DIR").map(PathBuf::from).expect(
        "these tests need the real Kokoro weights: set WARBLE_MODEL_DIR to the folder holding kokoro-v1.0.int8.onnx and voices/",
    );
    assert!(dir.is_dir(), "WARBLE_MODEL_DIR={} is not a folder", dir.display());
    dir
}

/// The golden reference cases: `$WARBLE_GOLDEN_DIR`, else `golden/` beside the models folder.
pub fn golden_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("WARBLE_GOLDEN_DIR") {
        return PathBuf::from(d);
    }
    let d = model_dir().join("..").join("golden");
    assert!(d.is_dir(), "no golden data at {}; set WARBLE_GOLDEN_DIR", d.display());
    d
}

pub fn cases() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(golden_dir())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("case.json").is_file())
        .collect();
    v.sort();
    assert_eq!(v.len(), 12, "expected the 12 golden cases");
    v
}

pub fn case(name: &str) -> PathBuf {
    cases()
        .into_iter()
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(name))
        .unwrap_or_else(|| panic!("no golden case {name}"))
}

pub fn device() -> Device {
    Device::flex()
}

/// One model for the whole test binary (loading costs seconds).
pub fn model() -> &'static KokoroModel {
    static MODEL: OnceLock<KokoroModel> = OnceLock::new();
    MODEL.get_or_init(|| {
        let file = model_dir().join("kokoro-v1.0.int8.onnx");
        let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("warble-converted");
        let (mut w, _) = warble_weights::load_cached(&file, &cache).expect("load weights");
        KokoroModel::load(&mut w, &device()).expect("build model")
    })
}

pub struct Npy {
    pub shape: Vec<usize>,
    pub f32: Vec<f32>,
    pub i64: Vec<i64>,
}

pub fn npy(path: &Path) -> Npy {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let arr = npyz::NpyFile::new(&bytes[..]).unwrap();
    let shape: Vec<usize> = arr.shape().iter().map(|&d| d as usize).collect();
    let dtype = arr.dtype();
    let descr = match &dtype {
        npyz::DType::Plain(t) => t.to_string(),
        other => panic!("unexpected dtype {other:?}"),
    };
    if descr.contains("f4") {
        Npy { shape, f32: arr.into_vec::<f32>().unwrap(), i64: vec![] }
    } else if descr.contains("i8") {
        Npy { shape, f32: vec![], i64: arr.into_vec::<i64>().unwrap() }
    } else {
        panic!("unexpected dtype {descr}")
    }
}

pub fn golden_f32(case: &Path, file: &str) -> Npy {
    npy(&case.join(file))
}

pub fn tensor<const D: usize>(n: &Npy) -> Tensor<D> {
    let shape: [usize; D] = n.shape.clone().try_into().expect("rank");
    Tensor::from_data(TensorData::new(n.f32.clone(), shape), &device())
}

pub fn host<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_into_vec::<f32>().unwrap()
}

pub struct CaseInfo {
    pub phonemes: String,
    pub input_ids: Vec<i64>,
    pub voice: String,
    pub speed: f32,
    pub style: Vec<f32>,
}

pub fn info(case: &Path) -> CaseInfo {
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(case.join("case.json")).unwrap()).unwrap();
    CaseInfo {
        phonemes: v["phonemes"].as_str().unwrap().to_string(),
        input_ids: v["input_ids"].as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect(),
        voice: v["voice"].as_str().unwrap().to_string(),
        speed: v["speed"].as_f64().unwrap() as f32,
        style: npy(&case.join("style.npy")).f32,
    }
}

/// Largest absolute difference.
pub fn max_abs(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "length mismatch");
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// Largest absolute difference relative to the reference's largest magnitude.
pub fn max_rel(got: &[f32], reference: &[f32]) -> f32 {
    let scale = reference.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-12);
    max_abs(got, reference) / scale
}

/// Signal-to-noise ratio of `got` against `reference`, in dB.
pub fn snr_db(got: &[f32], reference: &[f32]) -> f64 {
    let signal: f64 = reference.iter().map(|&v| (v as f64).powi(2)).sum();
    let noise: f64 = got.iter().zip(reference).map(|(&a, &b)| (a as f64 - b as f64).powi(2)).sum();
    10.0 * (signal / noise.max(1e-30)).log10()
}

/// Log-magnitude spectrum of each 600-sample frame (Hann window, 1024-point DFT of the frame's neighbourhood).
pub fn frame_log_spectra(audio: &[f32], frames: &[usize]) -> Vec<Vec<f32>> {
    use rustfft::{FftPlanner, num_complex::Complex};
    let n = 1024;
    let fft = FftPlanner::<f32>::new().plan_fft_forward(n);
    let window: Vec<f32> =
        (0..n).map(|i| 0.5 - 0.5 * (2.0 * std::f32::consts::PI * i as f32 / n as f32).cos()).collect();
    frames
        .iter()
        .map(|&f| {
            let centre = f * 600 + 300;
            let mut buf: Vec<Complex<f32>> = (0..n)
                .map(|i| {
                    let idx = centre as isize + i as isize - (n / 2) as isize;
                    let v = if idx >= 0 && (idx as usize) < audio.len() { audio[idx as usize] } else { 0.0 };
                    Complex::new(v * window[i], 0.0)
                })
                .collect();
            fft.process(&mut buf);
            buf[..n / 2 + 1].iter().map(|c| (c.norm() + 1e-5).log10()).collect()
        })
        .collect()
}

/// Log-spectrogram correlation of two renderings of the same tokens whose durations may differ: frames are
/// paired token by token (the first `min(a, b)` frames of each token), so that a one-frame flip at a near tie
/// does not shift the rest of the comparison.
pub fn paired_spectral_correlation(audio_a: &[f32], dur_a: &[usize], audio_b: &[f32], dur_b: &[usize]) -> f64 {
    assert_eq!(dur_a.len(), dur_b.len(), "token counts differ");
    let (mut fa, mut fb) = (vec![], vec![]);
    let (mut oa, mut ob) = (0usize, 0usize);
    for (&a, &b) in dur_a.iter().zip(dur_b) {
        for i in 0..a.min(b) {
            fa.push(oa + i);
            fb.push(ob + i);
        }
        oa += a;
        ob += b;
    }
    pearson(&frame_log_spectra(audio_a, &fa).concat(), &frame_log_spectra(audio_b, &fb).concat())
}

pub fn pearson(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len() as f64;
    let ma = a.iter().map(|&x| x as f64).sum::<f64>() / n;
    let mb = b.iter().map(|&x| x as f64).sum::<f64>() / n;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        let (dx, dy) = (x as f64 - ma, y as f64 - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    sab / (saa.sqrt() * sbb.sqrt())
}

/// One engine (model + voices from `WARBLE_MODEL_DIR`) for the whole test binary.
pub fn engine() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(|| {
        Engine::load(&EngineOptions {
            model: Some(model_dir()),
            voices: None,
            cache_dir: Some(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("warble-converted")),
            ..Default::default()
        })
        .expect("engine loads from WARBLE_MODEL_DIR")
    })
}
