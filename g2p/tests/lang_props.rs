//! Property tests for the non-English backends: no panic on any input, every symbol in Kokoro's vocabulary.

use proptest::prelude::*;
use warble_g2p::registry::in_vocab;
use warble_g2p::{G2p, join_phonemes};

fn check(g: &dyn G2p, s: &str) -> Result<(), TestCaseError> {
    // Japanese without its dictionary may refuse kanji with an error; that is not a panic.
    if let Ok(tokens) = g.phonemize(s) {
        let p = join_phonemes(&tokens);
        prop_assert!(p.chars().all(in_vocab), "{:?} → {:?}", s, p);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn zh_any_unicode(s in any::<String>()) {
        check(&warble_g2p::zh::ZhG2p::new(), &s)?;
    }

    #[test]
    fn zh_chinese_like(s in "[\u{4e00}-\u{9fa5}，。！？：；「」（）0-9.%/ a-z-]{0,40}") {
        check(&warble_g2p::zh::ZhG2p::new(), &s)?;
    }

    #[test]
    fn ja_any_unicode(s in any::<String>()) {
        check(&warble_g2p::ja::JaG2p::new(), &s)?;
    }

    #[test]
    fn ja_japanese_like(s in "[\u{3041}-\u{3096}\u{30a1}-\u{30fa}ー\u{4e00}-\u{4e80}々、。！？「」（）…0-9ａ-ｚｱ-ﾝﾞﾟ ]{0,40}") {
        check(&warble_g2p::ja::JaG2p::new(), &s)?;
    }

    #[test]
    fn detect_then_phonemize_cjk(s in "[a-z \u{3041}-\u{3096}\u{4e00}-\u{4e40}。、]{0,30}") {
        for run in warble_g2p::detect::detect_runs(&s, None) {
            match run.language {
                Some(warble_g2p::Language::Zh) => check(&warble_g2p::zh::ZhG2p::new(), &run.text)?,
                Some(warble_g2p::Language::Ja) => check(&warble_g2p::ja::JaG2p::new(), &run.text)?,
                _ => {}
            }
        }
    }
}

#[cfg(feature = "espeak")]
proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn espeak_any_unicode(s in any::<String>(), k in 0usize..5) {
        use warble_g2p::Language::*;
        let lang = [Es, Fr, It, PtBr, Hi][k];
        let g = warble_g2p::espeak::EspeakG2p::new(lang).expect("espeak");
        check(&g, &s)?;
    }
}

/// Inputs that crashed libespeak-ng 1.51 (and with it the whole process) before Warble filtered espeak's input
/// and moved espeak into a worker process: each is now read, in sequence, with voices switching.
#[cfg(feature = "espeak")]
#[test]
fn espeak_inputs_that_crashed_the_library() {
    use warble_g2p::Language::*;
    let cases: &[(warble_g2p::Language, &str)] = &[
        (Hi, "↛-ℶ"),
        (It, "ꜦǸⱷ"),
        (Hi, "'-नमस्ते"),
        (Es, "ᣎؼፄ∮╤Ǖ⛅ੰᓣ⒚⶯⢂⒴𢆯ޜ𗀦ᇜɎ𧚋𐄋ᨛᖿᠭ"),
        (Hi, "€-इक"),
        (Fr, "𧦍"),
        (Hi, "ऽऽSऎफ"),
        (PtBr, "ᄾ"),
        (Hi, "=="),
        (Hi, "+`प"),
        (Hi, "।¼¾ ऽम"),
        (Hi, "॒ऽxॷ"),
        (Hi, "¾-ऀ½"),
    ];
    for (lang, text) in cases {
        let g = warble_g2p::espeak::EspeakG2p::new(*lang).expect("espeak");
        let tokens = g.phonemize(text).unwrap_or_else(|e| panic!("{lang} {text:?}: {e}"));
        let p = join_phonemes(&tokens);
        assert!(p.chars().all(in_vocab), "{text:?} → {p:?}");
    }
    // Real words still read after all that.
    let es = warble_g2p::espeak::EspeakG2p::new(Es).expect("espeak");
    assert_eq!(join_phonemes(&es.phonemize("hola").unwrap()), "ˈola");
}

#[test]
fn registry_covers_every_language() {
    use warble_g2p::Language;
    use warble_g2p::registry::g2p_for;
    assert!(g2p_for(Language::Zh).is_ok());
    assert!(g2p_for(Language::Ja).is_ok());
    assert_eq!(g2p_for(Language::EnGb).unwrap().language(), Language::EnGb);
    for l in [Language::Es, Language::Fr, Language::It, Language::PtBr, Language::Hi] {
        let r = g2p_for(l);
        if cfg!(feature = "espeak") {
            assert_eq!(r.expect("espeak backend").language(), l);
        } else {
            assert!(matches!(r, Err(warble_g2p::G2pError::FeatureMissing { feature: "espeak", .. })));
        }
    }
}
