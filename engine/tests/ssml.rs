//! SSML on the real model: pitch, rate, volume, breaks and marks, measured on what the decoder received and,
//! independently, on the audio.

mod common;

use std::path::PathBuf;

use common::*;
use warble_engine::ssml::ParseOptions;
use warble_engine::{
    EngineError, Language, PitchChange, PitchTransform, SAMPLE_RATE, SAMPLES_PER_FRAME, SourceNoise, Synthesis,
    SynthesisOptions,
};

fn opts() -> SynthesisOptions {
    let mut o = SynthesisOptions::new("af_heart");
    o.noise = SourceNoise::Off;
    o
}

fn plain(text: &str) -> Synthesis {
    engine().synthesize_text(text, Some(Language::EnUs), &opts()).expect("plain text")
}

fn ssml(markup: &str) -> Synthesis {
    engine()
        .synthesize_ssml(markup, Some(Language::EnUs), &opts(), &ParseOptions::default())
        .unwrap_or_else(|e| panic!("{markup}: {e}"))
}

/// Keeps the audio of a test for listening or inspection, in the target's scratch folder.
fn dump(name: &str, s: &Synthesis) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ssml-audio");
    let _ = std::fs::create_dir_all(&dir);
    let wav = warble_engine::audio::wav_bytes(&s.audio, SAMPLE_RATE, warble_engine::audio::SampleFormat::F32).unwrap();
    let _ = std::fs::write(dir.join(format!("{name}.wav")), wav);
}

fn semitones(ratio: f64) -> f64 {
    12.0 * ratio.log2()
}

fn median(mut v: Vec<f64>) -> f64 {
    assert!(!v.is_empty());
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Median of the voiced samples of the F0 curves the decoder received.
fn received_f0(s: &Synthesis) -> f64 {
    median(s.chunks.iter().flat_map(|c| c.f0.iter()).filter(|&&f| f > 10.0).map(|&f| f64::from(f)).collect())
}

/// A YIN pitch tracker (de Cheveigné & Kawahara 2002): 40 ms frames every 10 ms, 60–500 Hz, cumulative-mean-
/// normalised difference with threshold 0.15, parabolic refinement; frames more than 30 dB below the loudest are
/// unvoiced. Returns F0 per frame, 0 where unvoiced.
fn yin(audio: &[f32]) -> Vec<f64> {
    let sr = f64::from(SAMPLE_RATE);
    let (win, hop) = (960usize, 240usize);
    let (min_lag, max_lag) = ((sr / 500.0) as usize, (sr / 60.0) as usize);
    let need = win + max_lag + 2;
    let x: Vec<f64> = audio.iter().map(|&v| f64::from(v)).collect();
    let n_frames = x.len().saturating_sub(need) / hop;
    let rms: Vec<f64> = (0..n_frames)
        .map(|i| (x[i * hop..i * hop + win].iter().map(|v| v * v).sum::<f64>() / win as f64).sqrt())
        .collect();
    let loudest = rms.iter().copied().fold(0.0, f64::max);
    (0..n_frames)
        .map(|i| {
            if rms[i] < loudest * 10f64.powf(-30.0 / 20.0) {
                return 0.0;
            }
            let f = &x[i * hop..i * hop + need];
            let d: Vec<f64> = (0..=max_lag + 1).map(|l| (0..win).map(|k| (f[k] - f[k + l]).powi(2)).sum()).collect();
            let mut cmnd = vec![1.0; d.len()];
            let mut acc = 0.0;
            for l in 1..d.len() {
                acc += d[l];
                cmnd[l] = d[l] * l as f64 / acc.max(1e-12);
            }
            let Some(l) = (min_lag.max(1)..=max_lag)
                .find(|&l| cmnd[l] < 0.15 && cmnd[l] <= cmnd[l - 1] && cmnd[l] <= cmnd[l + 1])
            else {
                return 0.0;
            };
            let (a, b, c) = (cmnd[l - 1], cmnd[l], cmnd[l + 1]);
            let den = a - 2.0 * b + c;
            let shift = if den.abs() > 1e-12 { 0.5 * (a - c) / den } else { 0.0 };
            sr / (l as f64 + shift)
        })
        .collect()
}

/// The pitch change of `audio` against `base` (same timing), in semitones: the median over the frames voiced in
/// both of the per-frame F0 ratio.
fn tracked_shift(audio: &[f32], base: &[f32]) -> f64 {
    let (a, b) = (yin(audio), yin(base));
    let ratios: Vec<f64> =
        a.iter().zip(&b).filter(|(x, y)| **x > 0.0 && **y > 0.0).map(|(x, y)| semitones(x / y)).collect();
    assert!(ratios.len() > 20, "too few voiced frames ({})", ratios.len());
    median(ratios)
}

/// Start of the first word `first` and end of the word `last` (by text), in seconds.
fn span(s: &Synthesis, first: &str, last: &str) -> (f64, f64) {
    let start =
        s.words.iter().find(|w| w.text == first).unwrap_or_else(|| panic!("no word {first}: {:?}", s.words)).start;
    let end = s.words.iter().rev().find(|w| w.text == last).unwrap_or_else(|| panic!("no word {last}")).end;
    (start, end)
}

fn rms_db(audio: &[f32], (start, end): (f64, f64)) -> f64 {
    let sr = f64::from(SAMPLE_RATE);
    let x = &audio[(start * sr) as usize..((end * sr) as usize).min(audio.len())];
    let p = x.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / x.len() as f64;
    10.0 * p.max(1e-20).log10()
}

fn phonemes(s: &Synthesis) -> String {
    s.chunks.iter().map(|c| c.phonemes.as_str()).collect::<Vec<_>>().join(" ")
}

const SENTENCE: &str = "We were walking along the river while the evening light was fading slowly.";

#[test]
fn prosody_pitch_moves_the_voiced_f0_by_its_definition() {
    let base = plain(SENTENCE);
    dump("pitch-base", &base);
    let base_received = received_f0(&base);
    for (value, expected_st) in [("+4st", 4.0), ("-4st", -4.0), ("+20%", semitones(1.2)), ("x-high", 6.0)] {
        let s = ssml(&format!("<speak><prosody pitch=\"{value}\">{SENTENCE}</prosody></speak>"));
        assert_eq!(phonemes(&s), phonemes(&base));
        assert_eq!(s.chunks[0].durations, base.chunks[0].durations, "pitch must not change timing");
        let received = semitones(received_f0(&s) / base_received);
        let tracked = tracked_shift(&s.audio, &base.audio);
        dump(&format!("pitch{value}"), &s);
        eprintln!("pitch {value}: F0 curve {received:+.2} st, audio {tracked:+.2} st (expected {expected_st:+.2})");
        assert!((received - expected_st).abs() <= 0.5, "{value}: decoder F0 moved {received:.2} st");
        assert!((tracked - expected_st).abs() <= 0.5, "{value}: audio pitch moved {tracked:.2} st");
    }
    // The same control from the Rust API, without SSML.
    let mut o = opts();
    o.controls.pitch = PitchTransform::IDENTITY.then(PitchChange::Semitones(-2.0));
    let api = engine().synthesize_text(SENTENCE, Some(Language::EnUs), &o).unwrap();
    let moved = semitones(received_f0(&api) / base_received);
    assert!((moved + 2.0).abs() <= 0.05, "API pitch control moved {moved:.2} st");
}

#[test]
fn prosody_rate_scales_the_span_duration() {
    let text = "Please listen carefully, because the next part is quite important for everyone.";
    let base = plain(text);
    let (b0, b1) = span(&base, "because", "important");
    for (value, factor) in [("150%", 1.5), ("x-slow", 0.5), ("fast", 1.25)] {
        let s = ssml(&format!(
            "<speak>Please listen carefully, <prosody rate=\"{value}\">because the next part is quite important</prosody> for everyone.</speak>"
        ));
        assert_eq!(phonemes(&s), phonemes(&base));
        let (s0, s1) = span(&s, "because", "important");
        let ratio = (b1 - b0) / (s1 - s0);
        eprintln!("rate {value}: span {:.3}s → {:.3}s, ratio {ratio:.3} (expected {factor})", b1 - b0, s1 - s0);
        assert!((ratio / factor - 1.0).abs() <= 0.05, "rate {value}: ratio {ratio:.3}, expected {factor}");
        // Outside the span the timing is untouched.
        let (_, bl) = span(&base, "Please", "carefully");
        let (_, sl) = span(&s, "Please", "carefully");
        assert!((bl - sl).abs() < 1e-9);
    }
}

#[test]
fn prosody_volume_is_a_gain_on_the_span() {
    let text = "The first words stay as they are, and these words are louder than the rest.";
    let base = plain(text);
    let loud = ssml(
        "<speak>The first words stay as they are, and <prosody volume=\"+6dB\">these words are louder</prosody> than the rest.</speak>",
    );
    let silent = ssml(
        "<speak>The first words stay as they are, and <prosody volume=\"silent\">these words are louder</prosody> than the rest.</speak>",
    );
    assert_eq!(phonemes(&loud), phonemes(&base));
    let inner = span(&base, "these", "louder");
    let gain = rms_db(&loud.audio, inner) - rms_db(&base.audio, inner);
    eprintln!("volume +6dB: span RMS {gain:+.2} dB");
    assert!((gain - 6.0).abs() <= 0.5, "span gain {gain:.2} dB");
    let outer = span(&base, "first", "stay");
    assert!((rms_db(&loud.audio, outer) - rms_db(&base.audio, outer)).abs() < 0.01);
    // Inside the span, past the half-ramps (15 ms) at its edges, there is no sound at all.
    let half_ramp = f64::from(warble_engine::prosody::RAMP_MS) / 2000.0;
    let core = (inner.0 + half_ramp, inner.1 - half_ramp);
    let quiet = rms_db(&silent.audio, core) - rms_db(&base.audio, core);
    eprintln!(
        "volume silent: span RMS {quiet:+.1} dB (edges: {:+.1} dB)",
        rms_db(&silent.audio, inner) - rms_db(&base.audio, inner)
    );
    assert!(quiet < -100.0, "silent span only {quiet:.1} dB down");
    assert_eq!(silent.audio.len(), base.audio.len(), "silent keeps the span's time");
}

/// Longest stretch of digital silence (samples exactly 0), in seconds, with where it starts. The model never
/// outputs runs of exact zeros, so this is the silence the break inserted.
fn longest_silence(audio: &[f32]) -> (f64, f64) {
    let (mut best, mut best_at, mut run, mut at) = (0usize, 0usize, 0usize, 0usize);
    for (i, &x) in audio.iter().enumerate() {
        if x == 0.0 {
            if run == 0 {
                at = i;
            }
            run += 1;
            if run > best {
                (best, best_at) = (run, at);
            }
        } else {
            run = 0;
        }
    }
    let sr = f64::from(SAMPLE_RATE);
    (best as f64 / sr, best_at as f64 / sr)
}

/// Longest quiet stretch between audible sound, measured on the waveform: 5 ms windows with RMS under −40 dBFS
/// (0.01) are quiet. (seconds, start in seconds)
fn audible_gap(audio: &[f32]) -> (f64, f64) {
    let n = 120;
    let loud: Vec<bool> =
        audio.chunks(n).map(|w| (w.iter().map(|x| x * x).sum::<f32>() / w.len() as f32).sqrt() >= 0.01).collect();
    let (mut best, mut best_at, mut last_loud) = (0usize, 0usize, None::<usize>);
    for (i, &l) in loud.iter().enumerate() {
        if l {
            if let Some(j) = last_loud
                && i - j - 1 > best
            {
                (best, best_at) = (i - j - 1, j + 1);
            }
            last_loud = Some(i);
        }
    }
    let w = n as f64 / f64::from(SAMPLE_RATE);
    (best as f64 * w, best_at as f64 * w)
}

/// A break is measured on the audio: "calm" ends in a long, decaying `m` whose last frames are quiet; the 800 ms
/// break counts from where the sound ends (it was ~1.1 s of audible silence when it counted from the symbol).
#[test]
fn a_break_is_heard_as_long_as_asked() {
    for (doc, want) in [
        ("<speak>Stay calm.<break time=\"800ms\"/>Then breathe slowly.</speak>", 0.8),
        ("<speak>Hello there, my dear friend<break time=\"500ms\"/>how are you doing today?</speak>", 0.5),
    ] {
        let s = ssml(doc);
        let (gap, at) = audible_gap(&s.audio);
        eprintln!("{doc}: audible gap {:.1} ms at {at:.3} s", gap * 1000.0);
        assert!((gap - want).abs() <= 0.02, "{doc}: audible gap {:.1} ms", gap * 1000.0);
    }
}

#[test]
fn breaks_insert_exact_silence_and_marks_fall_on_word_boundaries() {
    let s = ssml(
        "<speak>Hello there, my <mark name=\"before\"/>dear friend<mark name=\"end\"/><break time=\"500ms\"/>\
         <mark name=\"after\"/>how are you doing today?</speak>",
    );
    dump("break", &s);
    let (silence, at) = longest_silence(&s.audio);
    let word =
        |t: &str| s.words.iter().find(|w| w.text == t).unwrap_or_else(|| panic!("no word {t}: {:?}", s.words)).clone();
    eprintln!(
        "break 500ms: {:.1} ms of digital silence at {at:.3}s; 'friend' ends {:.3}s, 'how' starts {:.3}s",
        silence * 1000.0,
        word("friend").end,
        word("how").start
    );
    // Digital zeros fill what the quiet edges (and a quiet end of "friend") leave of the 500 ms.
    assert!((0.15..=0.5).contains(&silence), "silence of {:.1} ms", silence * 1000.0);
    let mark = |n: &str| s.marks.iter().find(|m| m.name == n).unwrap_or_else(|| panic!("no mark {n}")).time;
    let frame = SAMPLES_PER_FRAME as f64 / f64::from(SAMPLE_RATE);
    assert!((mark("before") - word("dear").start).abs() <= frame);
    assert!((mark("end") - word("friend").end).abs() <= frame);
    assert!((mark("after") - word("how").start).abs() <= frame);
    // The break is the time between the last sound before it and the first after it: at most the break between
    // the word times (the quiet end of the word before counts towards it).
    let gap = word("how").start - word("friend").end;
    assert!((0.15..=0.5 + frame).contains(&gap), "{} → {}", word("friend").end, word("how").start);
    assert!(at >= word("friend").end - 0.05 && at <= word("how").start);
    assert_eq!(s.marks.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(), ["before", "end", "after"]);

    // Strength keywords map to their documented times (warble-ssml's BREAK_STRENGTH_MS).
    let strong = ssml("<speak>Hello there <break strength=\"x-strong\"/> my dear friend.</speak>");
    let gap = strong.words.iter().find(|w| w.text == "my").unwrap().start
        - strong.words.iter().find(|w| w.text == "there").unwrap().end;
    let documented = warble_engine::ssml::values::BREAK_STRENGTH_MS
        .iter()
        .find(|(k, _)| *k == warble_engine::ssml::BreakStrength::XStrong)
        .unwrap()
        .1;
    let (heard, _) = audible_gap(&strong.audio);
    assert!((heard - f64::from(documented) / 1000.0).abs() <= 0.02, "x-strong heard {heard}");
    assert!(gap <= f64::from(documented) / 1000.0 + frame, "x-strong gap {gap}");
}

#[test]
fn phoneme_say_as_voice_and_language_elements_reach_the_model() {
    let s = ssml(
        "<speak>I say <phoneme alphabet=\"ipa\" ph=\"təˈmɑːtoʊ\">tomato</phoneme> and \
         <say-as interpret-as=\"characters\">abc</say-as>. <voice name=\"bf_emma\">Hello.</voice> \
         <lang xml:lang=\"zh-CN\">你好，朋友。</lang></speak>",
    );
    let p = phonemes(&s);
    assert!(p.contains("təˈmɑːtO"), "{p}");
    // The three letters are spoken as letter names, each its own word.
    let letters = engine().synthesize_text("A B C", Some(Language::EnUs), &opts()).unwrap();
    assert!(p.contains(&phonemes(&letters).trim_end_matches('.').to_string()), "{p} vs {}", phonemes(&letters));
    // Three model calls: the af_heart English run, the bf_emma run, and the Mandarin run.
    assert_eq!(s.chunks.len(), 3, "{:?}", s.chunks.iter().map(|c| &c.phonemes).collect::<Vec<_>>());
    assert!(
        s.warnings.iter().any(|w| w.contains("zh")),
        "a warning about af_heart speaking Mandarin: {:?}",
        s.warnings
    );
}

#[test]
fn bad_ssml_gives_errors_with_positions_and_no_audio() {
    let e = engine();
    let err = e
        .synthesize_ssml("<speak>\n  <prosody rate=\"fast\">Hi</speak>", None, &opts(), &ParseOptions::default())
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, EngineError::Ssml(_)) && msg.contains("line 2"), "{msg}");
    let err = e
        .synthesize_ssml("<speak><prosody pitch=\"loud\">Hi</prosody></speak>", None, &opts(), &ParseOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("\"loud\"") && err.contains("x-high"), "{err}");
    let strict = ParseOptions { strict: true, ..Default::default() };
    assert!(e.synthesize_ssml("<speak><foo>Hi</foo></speak>", None, &opts(), &strict).is_err());
    let lax =
        e.synthesize_ssml("<speak><foo>Hi there.</foo></speak>", None, &opts(), &ParseOptions::default()).unwrap();
    assert!(lax.warnings.iter().any(|w| w.contains("foo")), "{:?}", lax.warnings);
    assert!(matches!(
        e.synthesize_ssml("<speak><break time=\"1s\"/></speak>", None, &opts(), &ParseOptions::default()),
        Err(EngineError::NoSpeech(_))
    ));
    let bad_ph = e.synthesize_ssml(
        "<speak><phoneme alphabet=\"x-kokoro\" ph=\"h€lo\">hello</phoneme></speak>",
        None,
        &opts(),
        &ParseOptions::default(),
    );
    assert!(matches!(bad_ph, Err(EngineError::UnknownSymbols(_))));
}
