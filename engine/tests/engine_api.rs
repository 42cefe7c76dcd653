//! The engine's public API with the real weights: bad input, chunking, voices, text, concurrency.

mod common;

use std::path::PathBuf;

use common::*;
use warble_engine::{
    Engine, EngineError, EngineOptions, Language, MAX_PHONEMES, SAMPLES_PER_FRAME, SourceNoise, SynthesisOptions,
};

fn quiet(voice: &str) -> SynthesisOptions {
    let mut o = SynthesisOptions::new(voice);
    o.noise = SourceNoise::Off;
    o
}

#[test]
fn bad_phoneme_input_gives_clear_errors() {
    let e = engine();
    for empty in ["", "   "] {
        let err = e.synthesize_phonemes(empty, &quiet("af_heart")).unwrap_err();
        assert!(matches!(err, EngineError::Empty(_)), "{err}");
    }
    let err = e.synthesize_phonemes("hˈɛlo 9wˈɜɹld", &quiet("af_heart")).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("'9'") && msg.contains("position 6"), "{msg}");
    let mut lenient = quiet("af_heart");
    lenient.lenient = true;
    let s = e.synthesize_phonemes("hˈɛlo 9wˈɜɹld", &lenient).unwrap();
    assert_eq!(s.chunks[0].phonemes, "hˈɛlo wˈɜɹld");
    let err = e.synthesize_phonemes("hˈɛlo", &quiet("af_nobody")).unwrap_err().to_string();
    assert!(err.contains("af_heart") && err.contains("zm_yunyang"), "unknown voice must list the voices: {err}");
    for speed in [0.0, -1.0, 10.0, 100.0, f32::NAN, f32::INFINITY] {
        let mut o = quiet("af_heart");
        o.speed = speed;
        let err = e.synthesize_phonemes("hˈɛlo", &o).unwrap_err();
        assert!(matches!(err, EngineError::Speed(_)), "speed {speed}: {err}");
    }
}

#[test]
fn missing_or_broken_weights_say_what_is_wrong() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("warble-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("nothing-here.onnx");
    let err =
        Engine::load(&EngineOptions { model: Some(missing.clone()), ..Default::default() }).unwrap_err().to_string();
    assert!(err.contains("nothing-here.onnx") && err.contains("hexgrad/Kokoro-82M"), "{err}");
    // A truncated model file.
    let full = std::fs::read(model_dir().join("kokoro-v1.0.int8.onnx")).unwrap();
    let cut = dir.join("kokoro-truncated.onnx");
    std::fs::write(&cut, &full[..full.len() / 3]).unwrap();
    let err = Engine::load(&EngineOptions {
        model: Some(cut),
        voices: Some(model_dir().join("voices")),
        cache_dir: Some(dir.join("cache")),
        ..Default::default()
    })
    .unwrap_err();
    assert!(matches!(err, EngineError::Weights(_)), "{err}");
    // A voice file of the wrong shape.
    std::fs::write(dir.join("af_short.bin"), vec![0u8; 1000]).unwrap();
    let err = Engine::load(&EngineOptions {
        model: Some(model_dir()),
        voices: Some(dir.join("af_short.bin")),
        cache_dir: Some(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("warble-converted")),
        ..Default::default()
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("af_short.bin") && err.contains("510"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_voice_row_follows_the_reference_rule() {
    for name in ["c01", "c07", "c12"] {
        let case = case(name);
        let info = info(&case);
        let pack = engine().voices().get(&info.voice).unwrap();
        let row = pack.style_for(info.phonemes.chars().count()).unwrap();
        assert_eq!(row.to_vec(), info.style, "{name}: row n_tokens - 1");
    }
}

#[test]
fn long_phoneme_strings_are_chunked_within_the_window() {
    let c07 = info(&case("c07"));
    let long = [c07.phonemes.as_str(); 6].join(" ");
    assert!(long.chars().count() > MAX_PHONEMES);
    let s = engine().synthesize_phonemes(&long, &quiet("af_heart")).unwrap();
    assert!(s.chunks.len() >= 2);
    let mut expected_start = 0;
    for c in &s.chunks {
        assert!(c.phonemes.chars().count() <= MAX_PHONEMES);
        assert_eq!(c.durations.len(), c.phonemes.chars().count() + 2);
        assert_eq!(c.start_sample, expected_start);
        expected_start += c.durations.iter().sum::<usize>() * SAMPLES_PER_FRAME;
    }
    assert_eq!(s.audio.len(), expected_start);
    let tokens = s.tokens();
    assert_eq!(tokens.len(), s.chunks.iter().map(|c| c.phonemes.chars().count()).sum::<usize>());
    assert!(tokens.windows(2).all(|w| w[0].end <= w[1].start + 1e-9));
    assert!(tokens.last().unwrap().end <= s.seconds());
}

#[test]
fn concurrent_callers_get_the_same_audio() {
    let e = engine();
    let p = info(&case("c03")).phonemes;
    let mut o = SynthesisOptions::new("am_michael");
    o.noise = SourceNoise::Seeded(42);
    let alone = e.synthesize_phonemes(&p, &o).unwrap().audio;
    let results: Vec<Vec<f32>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..3).map(|_| s.spawn(|| e.synthesize_phonemes(&p, &o).unwrap().audio)).collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for r in results {
        assert_eq!(r, alone);
    }
    // The noise is seeded: another seed gives other samples, noise off gives the deterministic model.
    o.noise = SourceNoise::Seeded(43);
    assert_ne!(e.synthesize_phonemes(&p, &o).unwrap().audio, alone);
}

#[test]
fn text_is_spoken_with_word_times_that_add_up() {
    let e = engine();
    let text = "Hello, world. Warble reads text aloud, word by word; it keeps time.\nA second line starts here.";
    let s = e.synthesize_text(text, Some(Language::EnUs), &quiet("")).unwrap();
    let words: Vec<&str> = s.words.iter().map(|w| w.text.as_str()).collect();
    assert_eq!(
        words,
        [
            "Hello", "world", "Warble", "reads", "text", "aloud", "word", "by", "word", "it", "keeps", "time", "A",
            "second", "line", "starts", "here"
        ]
    );
    for w in s.words.windows(2) {
        assert!(w[0].start < w[0].end && w[0].end <= w[1].start + 1e-9, "{:?} then {:?}", w[0], w[1]);
    }
    assert!(s.words.last().unwrap().end <= s.seconds());
    // Two lines → two chunks; the sentence and clause pauses show as gaps between words.
    assert_eq!(s.chunks.len(), 2);
    let gap_after = |i: usize| s.words[i + 1].start - s.words[i].end;
    assert!(gap_after(1) > gap_after(2), "a full stop pauses longer than a word boundary");
    // Language mismatch is reported.
    let s = e.synthesize_text("Good morning.", Some(Language::EnUs), &quiet("jf_alpha")).unwrap();
    assert!(s.warnings.iter().any(|w| w.contains("jf_alpha")), "{:?}", s.warnings);
}

#[test]
fn a_british_voice_reads_english_as_british_unless_told_otherwise() {
    let e = engine();
    let text = "I asked for a tomato and a glass of water.";
    let phonemes = |lang: Option<Language>, voice: &str| {
        let s = e.synthesize_text(text, lang, &quiet(voice)).unwrap();
        s.chunks.iter().map(|c| c.phonemes.clone()).collect::<Vec<_>>().join(" ")
    };
    let (us, gb) = (phonemes(Some(Language::EnUs), "bf_emma"), phonemes(Some(Language::EnGb), "bf_emma"));
    assert_ne!(us, gb);
    // Detected English follows the voice; a language the user names is kept.
    assert_eq!(phonemes(None, "bf_emma"), gb);
    assert_eq!(phonemes(None, "bm_george:0.5,bf_emma:0.5"), gb);
    assert_eq!(phonemes(None, "af_heart"), us);
}

#[test]
fn text_without_words_is_an_error_not_silence() {
    let e = engine();
    for t in ["", "   ", "?!...", "🎉🎉", "\u{0007}\u{0008}"] {
        let err = e.synthesize_text(t, None, &quiet("")).unwrap_err();
        assert!(matches!(err, EngineError::NoSpeech(_)), "{t:?}: {err}");
    }
}

#[test]
fn a_megabyte_without_a_full_stop_is_planned_within_the_window() {
    let g = warble_engine::g2p_for(Language::EnUs).unwrap();
    let text = "and then the river kept on running, ".repeat(30_000);
    assert!(text.len() > 1_000_000);
    let tokens = g.phonemize(&text).unwrap();
    let chunks = warble_engine::text::chunk_tokens(&tokens, MAX_PHONEMES);
    assert!(chunks.len() > 1000);
    assert!(chunks.iter().all(|c| c.phonemes.chars().count() <= MAX_PHONEMES && !c.phonemes.is_empty()));
}

#[test]
fn mixed_language_text_is_one_file_with_each_run_in_its_language() {
    let e = engine();
    let s = e.synthesize_text("She said 東京は大きい and left.", None, &quiet("af_heart")).unwrap();
    // English, Japanese, English: three runs, each its own chunk, one voice.
    assert_eq!(s.chunks.len(), 3, "{:?}", s.chunks.iter().map(|c| &c.phonemes).collect::<Vec<_>>());
    assert!(s.chunks[1].phonemes.chars().any(|c| matches!(c, 'ɕ' | 'ʨ' | 'ɯ' | 'ː' | 'ɾ')), "{}", s.chunks[1].phonemes);
    assert!(s.chunks[0].phonemes.contains('ʃ'));
}

/// A sentence that switches from English into Spanish is two runs: the Spanish half read by the Spanish front end
/// (espeak-ng), in the same voice.
#[cfg(feature = "espeak")]
#[test]
fn latin_code_switching_reads_each_half_in_its_language() {
    let e = engine();
    let s = e
        .synthesize_text(
            "I told my abuela that I'd be home by eight, pero ella ya estaba preparando la cena.",
            None,
            &quiet("af_heart"),
        )
        .unwrap();
    assert_eq!(s.chunks.len(), 2, "{:?}", s.chunks.iter().map(|c| &c.phonemes).collect::<Vec<_>>());
    // English G2P never writes Spanish's ʎ (ella), β (estaba) or ʝ (ya).
    assert!(!s.chunks[0].phonemes.contains(['ʎ', 'β', 'ʝ']), "{}", s.chunks[0].phonemes);
    assert!(s.chunks[1].phonemes.contains(['ʎ', 'β', 'ʝ']), "{}", s.chunks[1].phonemes);
}

/// German is not a language Warble speaks: it is read as English, with a warning that says so.
#[test]
fn unsupported_latin_language_is_read_as_english_with_a_warning() {
    let e = engine();
    let s = e
        .synthesize_text("Ich habe heute leider keine Zeit, weil ich noch arbeiten muss.", None, &quiet("af_heart"))
        .unwrap();
    assert!(!s.audio.is_empty());
    assert!(s.warnings.iter().any(|w| w.contains("German") && w.contains("English")), "{:?}", s.warnings);
}

/// For the espeak-ng languages, word timings list words, not whole clauses.
#[cfg(feature = "espeak")]
#[test]
fn espeak_language_word_timings_are_words() {
    let e = engine();
    let s = e.synthesize_text("Hola, ¿qué tal estás hoy?", Some(Language::Es), &quiet("ef_dora")).unwrap();
    let words: Vec<&str> = s.words.iter().map(|w| w.text.as_str()).collect();
    assert_eq!(words, ["Hola", "qué", "tal", "estás", "hoy"], "{:?}", s.words);
    assert!(s.words.windows(2).all(|w| w[0].end <= w[1].start + 1e-6 && w[0].start < w[0].end), "{:?}", s.words);
}

/// ALBERT's features computed once and reused in other styles (`KokoroModel::text_features`, as the clone search
/// speaks its sentences in every candidate's style) give exactly the audio of a plain call, durations included.
#[test]
fn albert_features_reused_across_styles_give_the_same_audio() {
    let e = engine();
    let ids = e.vocab().encode("ðə nˈɔɹθ wˈɪnd ænd ðə sˈʌn wɜɹ dɪspjˈuːtɪŋ.");
    let features = e.model().text_features(&ids);
    assert_eq!(features.token_ids(), ids.as_slice());
    for voice in ["af_heart", "bm_george"] {
        let style = e.voices().get(voice).unwrap().style_for(ids.len()).unwrap().to_vec();
        let plain = e.model().synthesize(&ids, &style, 1.0, SourceNoise::Seeded(0));
        let reused = e.model().synthesize_features(&features, &style, 1.0, SourceNoise::Seeded(0));
        assert_eq!(reused.durations, plain.durations, "{voice}");
        assert_eq!(reused.audio, plain.audio, "{voice}");
    }
}
