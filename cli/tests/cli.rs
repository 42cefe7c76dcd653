//! The `warble` command line with the real weights (`WARBLE_MODEL_DIR`).

use std::path::PathBuf;
use std::process::Command;

mod common;

use common::{files_in, model_dir, scratch, stderr, warble};

fn golden_dir() -> PathBuf {
    std::env::var_os("WARBLE_GOLDEN_DIR").map(PathBuf::from).unwrap_or_else(|| model_dir().join("..").join("golden"))
}

const NEAR_TIES: &[(&str, usize)] = &[("c12", 338), ("c05", 14), ("c03", 22)];

#[test]
fn say_reproduces_the_golden_durations_on_every_case() {
    let dir = scratch("golden");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(golden_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("case.json").is_file())
        .collect();
    cases.sort();
    assert_eq!(cases.len(), 12);
    for case in cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(case.join("case.json")).unwrap()).unwrap();
        let wav = dir.join(format!("{name}.wav"));
        let json = dir.join(format!("{name}.json"));
        let speed = v["speed"].as_f64().unwrap().to_string();
        let o = warble(&[
            "say",
            "--phonemes",
            v["phonemes"].as_str().unwrap(),
            "--voice",
            v["voice"].as_str().unwrap(),
            "--speed",
            &speed,
            "--no-noise",
            "-o",
            wav.to_str().unwrap(),
            "--timings",
            json.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        let t: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert_eq!(t["sample_rate"], 24000);
        let got: Vec<i64> =
            t["chunks"][0]["durations"].as_array().unwrap().iter().map(|d| d.as_i64().unwrap()).collect();
        let want: Vec<i64> = v["durations_f32"].as_array().unwrap().iter().map(|d| d.as_i64().unwrap()).collect();
        assert_eq!(got.len(), want.len(), "{name}");
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            if g != w {
                assert!(
                    NEAR_TIES.iter().any(|(c, t)| name.starts_with(c) && *t == i),
                    "{name} position {i}: {g} vs {w}"
                );
            }
        }
        let reader = hound::WavReader::open(&wav).unwrap();
        assert_eq!(reader.spec().sample_rate, 24000);
        assert_eq!(reader.spec().bits_per_sample, 16);
        assert_eq!(reader.len() as i64, 600 * got.iter().sum::<i64>());
        let tokens = t["tokens"].as_array().unwrap();
        assert_eq!(tokens.len(), v["n_tokens"].as_u64().unwrap() as usize);
        assert!((tokens[0]["start"].as_f64().unwrap() - got[0] as f64 * 0.025).abs() < 1e-6);
    }
}

#[test]
fn bad_input_fails_cleanly_and_leaves_no_file() {
    let dir = scratch("bad");
    let out = dir.join("out.wav");
    let o = out.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["say", "--phonemes", "", "-o", o], "empty"),
        (vec!["say", "--phonemes", "   ", "-o", o], "empty"),
        (vec!["say", "--phonemes", "hˈɛlo x1", "-o", o], "'1'"),
        (vec!["say", "--phonemes", "hˈɛlo", "--voice", "zz_nobody", "-o", o], "af_heart"),
        (vec!["say", "--phonemes", "hˈɛlo", "--speed", "0", "-o", o], "speed"),
        (vec!["say", "--phonemes", "hˈɛlo", "--speed", "12", "-o", o], "speed"),
        (vec!["say", "--phonemes", "hˈɛlo", "--backend", "tpu", "-o", o], "backend"),
        (vec!["say", "?!", "-o", o], "nothing to say"),
        (
            vec!["say", "--phonemes", "hˈɛlo", "--model", "/nonexistent/kokoro.onnx", "-o", o],
            "/nonexistent/kokoro.onnx",
        ),
    ];
    for (args, needle) in cases {
        let r = warble(&args);
        assert!(!r.status.success(), "{args:?} should fail");
        let e = stderr(&r);
        assert!(e.contains(needle), "{args:?}: stderr lacks {needle:?}: {e}");
        assert!(!e.contains("panicked"), "{args:?}: {e}");
        assert!(files_in(&dir).is_empty(), "{args:?} left {:?}", files_in(&dir));
    }
}

#[test]
fn no_weights_anywhere_says_where_it_looked() {
    let empty = scratch("noweights");
    let r = Command::new(env!("CARGO_BIN_EXE_warble"))
        .args(["say", "--phonemes", "hˈɛlo", "-o", empty.join("x.wav").to_str().unwrap()])
        .env("WARBLE_MODEL_DIR", &empty)
        .env("HOME", &empty)
        .env_remove("XDG_DATA_HOME")
        .output()
        .unwrap();
    assert!(!r.status.success());
    let e = stderr(&r);
    assert!(
        e.contains(empty.to_str().unwrap()) && e.contains("hexgrad/Kokoro-82M") && e.contains("kokoro-onnx"),
        "{e}"
    );
    assert!(files_in(&empty).is_empty());
}

#[test]
fn text_on_stdin_and_f32_to_stdout() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_warble"))
        .args(["say", "--lang", "en-us", "--format", "f32", "-o", "-"])
        .env("WARBLE_CACHE_DIR", PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("warble-converted"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"Good morning.\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let reader = hound::WavReader::new(std::io::Cursor::new(out.stdout)).unwrap();
    assert_eq!(reader.spec().sample_format, hound::SampleFormat::Float);
    assert!(reader.duration() > 24000 / 2, "at least half a second of speech");
}

#[test]
fn voices_phonemize_and_detect() {
    let r = warble(&["voices", "--voices", model_dir().join("voices").to_str().unwrap()]);
    assert!(r.status.success(), "{}", stderr(&r));
    let names = String::from_utf8(r.stdout).unwrap();
    assert_eq!(names.lines().count(), 54);
    assert!(names.lines().any(|l| l == "af_heart"));

    let r = warble(&["phonemize", "Hello, world."]);
    assert_eq!(String::from_utf8(r.stdout).unwrap().trim(), "həlˈO, wˈɜɹld.");

    // `phonemize` detects languages as `say` does, so a Japanese run is read, not dropped; with a language
    // given, the run it cannot read is named in a warning.
    let r = warble(&["phonemize", "She said 東京は大きい and left."]);
    assert!(r.status.success(), "{}", stderr(&r));
    let auto = String::from_utf8(r.stdout).unwrap();
    assert!(auto.starts_with("ʃˌi sˈɛd t") && auto.contains('ː') && auto.trim().ends_with("ænd lˈɛft."), "{auto}");
    let r = warble(&["phonemize", "--lang", "en-us", "She said 東京は大きい and left."]);
    let err = stderr(&r);
    assert_eq!(String::from_utf8(r.stdout).unwrap().trim(), "ʃˌi sˈɛd ænd lˈɛft.");
    assert!(err.contains("東京は大きい") && err.contains("not read as en-us"), "{err}");

    let mut child = Command::new(env!("CARGO_BIN_EXE_warble"))
        .args(["detect"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all("She said 東京は大きい and left\n".as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), "en\tShe said | ja\t東京は大きい | en\tand left");
}

#[test]
fn ssml_from_a_file_and_inline_with_marks_in_the_timings() {
    let d = scratch("ssml");
    let doc = "<speak>Good <mark name=\"m1\"/>morning<break time=\"250ms\"/><prosody rate=\"slow\">everyone</prosody>.</speak>";
    let file = d.join("in.xml");
    std::fs::write(&file, doc).unwrap();
    let (wav, json) = (d.join("a.wav"), d.join("a.json"));
    let o = warble(&[
        "say",
        "--ssml",
        file.to_str().unwrap(),
        "--no-noise",
        "-o",
        wav.to_str().unwrap(),
        "--timings",
        json.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let t: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let marks = t["marks"].as_array().unwrap();
    assert_eq!(marks.len(), 1);
    assert_eq!(marks[0]["name"], "m1");
    let morning = t["words"].as_array().unwrap().iter().find(|w| w["text"] == "morning").unwrap();
    assert!((marks[0]["time"].as_f64().unwrap() - morning["start"].as_f64().unwrap()).abs() < 0.025);

    // Inline markup gives the same audio.
    let wav2 = d.join("b.wav");
    let o = warble(&["say", "--ssml", doc, "--no-noise", "-o", wav2.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(&wav).unwrap(), std::fs::read(&wav2).unwrap());

    // Malformed markup: an error with line and column, and no file.
    let bad = d.join("bad.wav");
    let o = warble(&["say", "--ssml", "<speak>\n<prosody>oops</speak>", "-o", bad.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("line 2"), "{}", stderr(&o));
    assert!(!bad.exists());
    // --strict turns an unknown element into an error.
    let o = warble(&["say", "--ssml", "<speak><shout>hi</shout></speak>", "--strict", "-o", bad.to_str().unwrap()]);
    assert!(!o.status.success() && stderr(&o).contains("shout"), "{}", stderr(&o));
    assert!(!bad.exists());
}

/// `--stream` with text arriving on stdin while the first sentence is already spoken: raw 16 kHz samples come
/// out before stdin closes, and the whole output matches a batch run's length at that rate.
#[test]
fn streaming_from_stdin_speaks_before_the_input_ends() {
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};
    let mut child = Command::new(env!("CARGO_BIN_EXE_warble"))
        .args([
            "say",
            "--stream",
            "--lang",
            "en-us",
            "--voice",
            "af_heart",
            "--no-noise",
            "--format",
            "s16le",
            "--sample-rate",
            "16000",
            "-o",
            "-",
        ])
        .env("WARBLE_CACHE_DIR", PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("warble-converted"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    stdin.write_all(b"The first sentence is here.\n").unwrap();
    stdin.flush().unwrap();
    // The first audio must arrive while stdin is still open.
    let mut first = [0u8; 2];
    let t = Instant::now();
    stdout.read_exact(&mut first).unwrap();
    assert!(t.elapsed() < Duration::from_secs(60));
    stdin.write_all(b"And a second one follows.\n").unwrap();
    drop(stdin);
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success());
    let streamed = (rest.len() + 2) / 2;
    let batch = warble(&[
        "say",
        "--lang",
        "en-us",
        "--voice",
        "af_heart",
        "--no-noise",
        "--format",
        "s16le",
        "--sample-rate",
        "16000",
        "-o",
        "-",
        "The first sentence is here.\nAnd a second one follows.",
    ]);
    assert!(batch.status.success(), "{}", stderr(&batch));
    let batch = batch.stdout.len() / 2;
    let ratio = streamed as f64 / batch as f64;
    assert!((0.95..=1.05).contains(&ratio), "streamed {streamed} vs batch {batch} samples");
}

/// The output is checked before any synthesis, devices are written in place, and a streamed WAV file gets
/// its real sizes at the end.
#[test]
fn output_paths_devices_and_streamed_files() {
    // A missing folder fails before the model is even looked for.
    let o = warble(&["say", "Hello.", "--model", "/nonexistent/kokoro.onnx", "-o", "/nonexistent-folder/x.wav"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("/nonexistent-folder"), "{}", stderr(&o));
    // /dev/null stays a character device (as root, it was once replaced by a regular file).
    let o = warble(&["say", "Hi.", "-o", "/dev/null"]);
    assert!(o.status.success(), "{}", stderr(&o));
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::metadata("/dev/null").unwrap().file_type().is_char_device());
    // A streamed WAV file reads back with its real length; an f32le raw file has 4 bytes a sample.
    let d = scratch("stream-file");
    let wav = d.join("s.wav");
    let o = warble(&["say", "--stream", "--no-noise", "One two three.", "-o", wav.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r = hound::WavReader::open(&wav).unwrap();
    let n = r.duration() as usize;
    assert!(n > 24_000, "{n}");
    assert_eq!(r.into_samples::<i16>().count(), n);
    let raw = d.join("s.f32");
    let o = warble(&[
        "say",
        "--stream",
        "--no-noise",
        "--format",
        "f32le",
        "--packet-ms",
        "20",
        "One two three.",
        "-o",
        raw.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::metadata(&raw).unwrap().len() as usize, n * 4);
    assert_eq!(files_in(&d), ["s.f32", "s.wav"], "no temporary files left");
}
