//! `warble clone`, `warble similarity` and voice files on the command line: bad references fail at once with a
//! message naming the problem (no panic, no output file), the speaker judge ranks `warble say` output, a voice file
//! works in SSML, and `warble serve --add-voice` offers a voice file by name. No test here runs a whole clone (the
//! search is `engine/tests/clone.rs`): every `warble clone` below is meant to stop before the model loads, and is
//! given a model path that does not exist so that a regression fails instead of cloning.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::{command, files_in, model_dir, scratch, stderr, warble};

/// Asserts a failed run: non-zero exit, every needle in stderr, no panic.
fn assert_fails(o: &Output, what: &str, needles: &[&str]) {
    let e = stderr(o);
    assert!(!o.status.success(), "{what} should fail; stderr: {e}");
    assert!(!e.contains("panicked"), "{what}: {e}");
    for n in needles {
        assert!(e.contains(n), "{what}: stderr lacks {n:?}: {e}");
    }
}

const RATE: u32 = 16_000;

fn write_wav(path: &Path, samples: &[f32]) {
    let spec =
        hound::WavSpec { channels: 1, sample_rate: RATE, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &s in samples {
        w.write_sample((s.clamp(-1.0, 1.0) * 32767.0) as i16).unwrap();
    }
    w.finalize().unwrap();
}

fn tone(seconds: f32) -> Vec<f32> {
    let n = (seconds * RATE as f32) as usize;
    (0..n).map(|i| 0.3 * (2.0 * std::f32::consts::PI * 440.0 * i as f32 / RATE as f32).sin()).collect()
}

/// Something the reference checks take for speech: a voiced buzz (harmonics of a gliding 110–150 Hz pitch)
/// in syllables of changing loudness with short pauses between them. It only has to pass the checks.
fn speech_like(seconds: f32) -> Vec<f32> {
    let n = (seconds * RATE as f32) as usize;
    let syllable = (0.22 * RATE as f32) as usize;
    let gap = (0.08 * RATE as f32) as usize;
    let loudness = [0.5, 0.25, 0.4, 0.15, 0.35, 0.2];
    let mut phase = 0f32;
    (0..n)
        .map(|i| {
            let t = i as f32 / RATE as f32;
            let f0 = 130.0 + 20.0 * (2.0 * std::f32::consts::PI * 0.7 * t).sin();
            phase += 2.0 * std::f32::consts::PI * f0 / RATE as f32;
            let (k, at) = (i / (syllable + gap), i % (syllable + gap));
            let envelope = if at < syllable {
                loudness[k % loudness.len()] * (std::f32::consts::PI * at as f32 / syllable as f32).sin()
            } else {
                0.0
            };
            let buzz: f32 = (1..=25).map(|h| (h as f32 * phase).sin() / h as f32).sum();
            0.5 * envelope * buzz
        })
        .collect()
}

/// Deterministic noise bytes (xorshift), so the "corrupt file" is the same on every run.
fn random_bytes(n: usize) -> Vec<u8> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// The bad references and what their message must say (besides the file's name).
fn bad_references(dir: &Path) -> Vec<(PathBuf, Vec<&'static str>)> {
    let missing = dir.join("missing.wav");
    let corrupt = dir.join("corrupt.wav");
    std::fs::write(&corrupt, random_bytes(16_384)).unwrap();
    let silence = dir.join("silence.wav");
    write_wav(&silence, &vec![0.0; 3 * RATE as usize]);
    let short = dir.join("short_tone.wav");
    write_wav(&short, &tone(0.5));
    let steady = dir.join("steady_tone.wav");
    write_wav(&steady, &tone(3.0));
    vec![
        (missing, vec!["not found"]),
        (corrupt, vec!["cannot be used as reference audio"]),
        (silence, vec!["no speech", "every sample is 0"]),
        (short, vec!["s of speech", "at least 1.0 s"]),
        (steady, vec!["does not sound like speech", "steady"]),
    ]
}

#[test]
fn clone_rejects_bad_input_before_the_model_loads_and_writes_nothing() {
    let dir = scratch("bad");
    let inputs = dir.join("in");
    let out_dir = dir.join("out");
    std::fs::create_dir_all(&inputs).unwrap();
    std::fs::create_dir_all(&out_dir).unwrap();
    let no_model = dir.join("no-model.onnx");
    let no_model = no_model.to_str().unwrap();
    let out = out_dir.join("voice.bin");
    let out = out.to_str().unwrap();

    // The good reference passes every check: with it, only the missing model stops `warble clone`. This makes the
    // cases below meaningful (each fails on the one thing that is wrong).
    let good = inputs.join("speech_like.wav");
    write_wav(&good, &speech_like(4.0));
    let good = good.to_str().unwrap();
    let r = warble(&["clone", good, "-o", out, "--model", no_model]);
    assert_fails(&r, "a good reference without a model", &["no-model.onnx"]);
    assert!(stderr(&r).contains("s of speech from 1 file"), "the reference was accepted: {}", stderr(&r));
    assert!(files_in(&out_dir).is_empty(), "left {:?}", files_in(&out_dir));

    for (reference, needles) in bad_references(&inputs) {
        let name = reference.file_name().unwrap().to_string_lossy().into_owned();
        let r = warble(&["clone", reference.to_str().unwrap(), "-o", out, "--model", no_model]);
        let needles: Vec<&str> = needles.iter().copied().chain([name.as_str()]).collect();
        assert_fails(&r, &format!("clone {name}"), &needles);
        assert!(files_in(&out_dir).is_empty(), "clone {name} left {:?}", files_in(&out_dir));
    }

    // An output folder that does not exist fails first, before the references are read or the model loaded.
    let t = Instant::now();
    let nowhere = out_dir.join("no-such-folder").join("voice.bin");
    let r = warble(&["clone", good, "-o", nowhere.to_str().unwrap(), "--model", no_model]);
    assert_fails(&r, "an output folder that does not exist", &["does not exist", "no-such-folder"]);
    assert!(t.elapsed() < Duration::from_secs(20), "took {:?}", t.elapsed());
    let r = warble(&["clone", inputs.join("missing.wav").to_str().unwrap(), "-o", nowhere.to_str().unwrap()]);
    assert_fails(&r, "an output folder that does not exist, bad reference", &["does not exist", "no-such-folder"]);

    let r = warble(&["clone", good, "-o", out, "--evaluations", "2", "--model", no_model]);
    assert_fails(&r, "--evaluations 2", &["--evaluations", "at least 4"]);
    assert!(files_in(&out_dir).is_empty(), "left {:?}", files_in(&out_dir));

    // A transcript with nothing to say, or in an unknown language, fails before the model loads; a good one passes.
    let r = warble(&["clone", good, "-o", out, "--transcript", " ... ?! ", "--model", no_model]);
    assert_fails(&r, "an empty transcript", &["transcript", "nothing to say"]);
    let r = warble(&["clone", good, "-o", out, "--transcript", "Hello there.", "--lang", "xx", "--model", no_model]);
    assert_fails(&r, "--lang xx", &["xx"]);
    let r = warble(&["clone", good, "-o", out, "--transcript", "Hello there.", "--lang", "en-gb", "--model", no_model]);
    assert_fails(&r, "a good transcript without a model", &["no-model.onnx"]);
    assert!(files_in(&out_dir).is_empty(), "left {:?}", files_in(&out_dir));
}

#[test]
fn similarity_rejects_bad_input_in_either_place() {
    let dir = scratch("similarity-bad");
    let good = dir.join("speech_like.wav");
    write_wav(&good, &speech_like(4.0));
    let good = good.to_str().unwrap();
    for (reference, needles) in bad_references(&dir) {
        let name = reference.file_name().unwrap().to_string_lossy().into_owned();
        let bad = reference.to_str().unwrap();
        for args in [["similarity", bad, good], ["similarity", good, bad]] {
            let r = warble(&args);
            let needles: Vec<&str> = needles.iter().copied().chain([name.as_str()]).collect();
            assert_fails(&r, &format!("{args:?}"), &needles);
            assert!(r.stdout.is_empty(), "{args:?} printed a score: {}", String::from_utf8_lossy(&r.stdout));
        }
    }
}

fn say(dir: &Path, file: &str, voice: &str, text: &str) -> String {
    let path = dir.join(file);
    let r = warble(&["say", "--voice", voice, "--lang", "en-us", "-o", path.to_str().unwrap(), text]);
    assert!(r.status.success(), "say {voice}: {}", stderr(&r));
    path.to_str().unwrap().to_string()
}

fn similarity(a: &str, b: &str) -> f64 {
    let r = warble(&["similarity", a, b]);
    assert!(r.status.success(), "similarity {a} {b}: {}", stderr(&r));
    let text = String::from_utf8(r.stdout).unwrap();
    text.trim().parse().unwrap_or_else(|e| panic!("not a number: {text:?}: {e}"))
}

#[test]
fn similarity_scores_the_same_voice_above_another() {
    let dir = scratch("similarity");
    let a = say(&dir, "heart_1.wav", "af_heart", "The boat drifted slowly across the quiet lake.");
    let b = say(&dir, "heart_2.wav", "af_heart", "She bought fresh bread at the market today.");
    let c = say(&dir, "bella_2.wav", "af_bella", "She bought fresh bread at the market today.");
    let same = similarity(&a, &b);
    let other = similarity(&a, &c);
    println!("af_heart vs af_heart {same:.4}, af_heart vs af_bella {other:.4}");
    assert!(same > other + 0.05, "same voice {same:.4} vs another voice {other:.4}");
    assert!(same <= 1.0 + 1e-6 && other >= -1.0 - 1e-6);
}

/// `<voice name="./x.bin">` in `warble say --ssml` reads the file: the audio is that of the voice it holds.
#[test]
fn ssml_voice_name_may_be_a_voice_file() {
    let dir = scratch("ssml-voice-file");
    std::fs::copy(model_dir().join("voices").join("af_bella.bin"), dir.join("x.bin")).unwrap();
    let run = |voice: &str, out: &str| {
        let markup = format!("<speak><voice name=\"{voice}\">Good morning.</voice></speak>");
        command(&["say", "--ssml", &markup, "-o", out]).current_dir(&dir).output().unwrap()
    };
    let r = run("./x.bin", "from_file.wav");
    assert!(r.status.success(), "{}", stderr(&r));
    assert!(!stderr(&r).contains("warning"), "a voice file has no language to warn about: {}", stderr(&r));
    let r = run("af_bella", "by_name.wav");
    assert!(r.status.success(), "{}", stderr(&r));
    let samples = |f: &str| -> Vec<i16> {
        hound::WavReader::open(dir.join(f)).unwrap().samples::<i16>().map(Result::unwrap).collect()
    };
    let (from_file, by_name) = (samples("from_file.wav"), samples("by_name.wav"));
    assert!(from_file.len() > 12_000, "{} samples", from_file.len());
    assert_eq!(from_file, by_name, "the file's voice speaks exactly as the voice it was copied from");

    let r = run("./nope.bin", "missing.wav");
    assert_fails(&r, "a missing voice file in SSML", &["nope.bin"]);
    assert!(!dir.join("missing.wav").exists());
}

#[test]
fn serve_add_voice_rejects_bad_files_before_the_model_loads() {
    let dir = scratch("serve-bad");
    let voices = model_dir().join("voices");
    let no_model = dir.join("no-model.onnx");
    let no_model = no_model.to_str().unwrap();
    let corrupt = dir.join("corrupt.bin");
    std::fs::write(&corrupt, random_bytes(1000)).unwrap();
    let spaced = dir.join("my clone.bin");
    std::fs::copy(voices.join("af_bella.bin"), &spaced).unwrap();
    std::fs::create_dir_all(dir.join("a")).unwrap();
    std::fs::create_dir_all(dir.join("b")).unwrap();
    std::fs::copy(voices.join("af_bella.bin"), dir.join("a").join("twin.bin")).unwrap();
    std::fs::copy(voices.join("af_sky.bin"), dir.join("b").join("twin.bin")).unwrap();
    let missing = dir.join("missing.bin");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let cases: Vec<(Vec<String>, Vec<&str>)> = vec![
        (vec![s(&missing)], vec!["--add-voice", "missing.bin", "not found"]),
        (vec![s(&corrupt)], vec!["--add-voice", "corrupt.bin", "bytes"]),
        (vec![s(&spaced)], vec!["my clone.bin", "cannot be requested"]),
        (vec![s(&dir.join("a").join("twin.bin")), s(&dir.join("b").join("twin.bin"))], vec!["twin", "a/twin.bin"]),
    ];
    for (files, needles) in cases {
        let mut args = vec!["serve", "--port", "1", "--model", no_model];
        for f in &files {
            args.extend(["--add-voice", f.as_str()]);
        }
        let r = warble(&args);
        assert_fails(&r, &format!("{files:?}"), &needles);
        assert!(!stderr(&r).contains("no-model.onnx"), "{files:?} must fail before the model: {}", stderr(&r));
    }
}

/// Kills the server when the test ends, however it ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn http_get(port: u16, path: &str) -> std::io::Result<String> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")?;
    let mut body = String::new();
    s.read_to_string(&mut body)?;
    Ok(body)
}

#[test]
fn serve_add_voice_lists_the_file_by_name() {
    let dir = scratch("serve");
    std::fs::copy(model_dir().join("voices").join("af_bella.bin"), dir.join("my_clone.bin")).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let clone = dir.join("my_clone.bin");
    let child = command(&["serve", "--port", &port.to_string(), "--add-voice", clone.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = Child(child);
    let start = Instant::now();
    let listing = loop {
        if let Ok(Some(status)) = child.0.try_wait() {
            let mut e = String::new();
            child.0.stderr.take().unwrap().read_to_string(&mut e).unwrap();
            panic!("warble serve exited with {status}: {e}");
        }
        if let Ok(body) = http_get(port, "/v1/audio/voices") {
            break body;
        }
        assert!(start.elapsed() < Duration::from_secs(300), "the server did not answer");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(listing.starts_with("HTTP/1.1 200"), "{listing}");
    assert!(listing.contains("\"id\":\"my_clone\""), "{listing}");
    assert!(listing.contains("\"id\":\"af_heart\""), "the stock voices stay: {listing}");
}
