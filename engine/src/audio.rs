//! Writing audio: WAV as 16-bit PCM (the default) or 32-bit float, to a file (atomically: a temp file renamed
//! into place, so a failure never leaves a partial file) or to any writer (stdout).

use std::io::{Seek, Write};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleFormat {
    Pcm16,
    F32,
}

/// Encodes mono samples as a WAV file into `w`. PCM16 clips to [-1, 1] and scales by 32767 like the reference CLI.
pub fn write_wav<W: Write + Seek>(
    w: W,
    samples: &[f32],
    sample_rate: u32,
    format: SampleFormat,
) -> std::io::Result<()> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate,
        bits_per_sample: if format == SampleFormat::Pcm16 { 16 } else { 32 },
        sample_format: if format == SampleFormat::Pcm16 {
            hound::SampleFormat::Int
        } else {
            hound::SampleFormat::Float
        },
    };
    let mut writer = hound::WavWriter::new(w, spec).map_err(to_io)?;
    match format {
        SampleFormat::Pcm16 => {
            for &s in samples {
                let v = (s.clamp(-1.0, 1.0) * 32767.0).round() as i16;
                writer.write_sample(v).map_err(to_io)?;
            }
        }
        SampleFormat::F32 => {
            for &s in samples {
                writer.write_sample(s).map_err(to_io)?;
            }
        }
    }
    writer.finalize().map_err(to_io)
}

/// The WAV bytes in memory (for stdout, which cannot seek).
pub fn wav_bytes(samples: &[f32], sample_rate: u32, format: SampleFormat) -> std::io::Result<Vec<u8>> {
    let mut cur = std::io::Cursor::new(Vec::new());
    write_wav(&mut cur, samples, sample_rate, format)?;
    Ok(cur.into_inner())
}

/// Writes `bytes` to `path` through a temporary file in the same folder, so the target is either complete or
/// untouched.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
    let tmp = dir.join(format!(".{name}.warble-{}.tmp", std::process::id()));
    let result = std::fs::write(&tmp, bytes).and_then(|_| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn to_io(e: hound::Error) -> std::io::Error {
    match e {
        hound::Error::IoError(e) => e,
        other => std::io::Error::other(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcm16_and_f32_round_trip() {
        let samples = [0.0f32, 0.5, -0.5, 1.5, -2.0];
        let bytes = wav_bytes(&samples, 24000, SampleFormat::Pcm16).unwrap();
        let r = hound::WavReader::new(std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(r.spec().sample_rate, 24000);
        let got: Vec<i16> = r.into_samples::<i16>().map(|s| s.unwrap()).collect();
        assert_eq!(got, vec![0, 16384, -16384, 32767, -32767]);
        let bytes = wav_bytes(&samples, 24000, SampleFormat::F32).unwrap();
        let r = hound::WavReader::new(std::io::Cursor::new(bytes)).unwrap();
        let got: Vec<f32> = r.into_samples::<f32>().map(|s| s.unwrap()).collect();
        assert_eq!(got, samples);
    }

    #[test]
    fn failed_write_leaves_nothing_behind() {
        let dir = std::env::temp_dir().join(format!("warble-audio-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // A path inside a missing folder cannot be written; nothing may be left in `dir`.
        let target = dir.join("missing").join("x.wav");
        assert!(write_atomically(&target, b"abc").is_err());
        assert!(!target.exists());
        let ok = dir.join("y.wav");
        write_atomically(&ok, b"abc").unwrap();
        assert_eq!(std::fs::read(&ok).unwrap(), b"abc");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
