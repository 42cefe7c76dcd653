//! Robustness of the English G2P: any input gives tokens or a typed error, never a panic, and every output
//! symbol is in Kokoro's vocabulary.

use proptest::prelude::*;
use std::sync::OnceLock;
use warble_g2p::en::in_vocab;
use warble_g2p::{EnglishG2p, G2p, phonemize_line};

fn us() -> &'static EnglishG2p {
    static G: OnceLock<EnglishG2p> = OnceLock::new();
    G.get_or_init(|| EnglishG2p::new(false))
}

fn gb() -> &'static EnglishG2p {
    static G: OnceLock<EnglishG2p> = OnceLock::new();
    G.get_or_init(|| EnglishG2p::new(true))
}

fn all_in_vocab(g: &EnglishG2p, text: &str) {
    let toks = g.phonemize(text).expect("phonemize");
    for t in &toks {
        for c in t.phonemes.chars() {
            assert!(in_vocab(c), "{c:?} (U+{:04X}) from {:?} in {text:?}", c as u32, t.graphemes);
        }
        assert!(t.whitespace.is_empty() || t.whitespace == " ");
    }
    let line = phonemize_line(g, text).expect("line");
    assert!(!line.starts_with(' ') && !line.ends_with(' ') && !line.contains("  "), "{line:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_unicode(s in "\\PC{0,80}") {
        all_in_vocab(us(), &s);
        all_in_vocab(gb(), &s);
    }

    #[test]
    fn any_chars_with_controls(s in proptest::collection::vec(any::<char>(), 0..60)) {
        let s: String = s.into_iter().collect();
        all_in_vocab(us(), &s);
    }

    #[test]
    fn englishish(s in "([A-Za-z']{1,12}|[0-9][0-9,.]{0,8}(st|nd|rd|th|s|%)?|[$£€][0-9.]{1,6}|[-.,;:!?\"“”‘’()—–&@+=#/]|\\[[a-z]{1,6}\\]\\(/[a-zˈˌəɪ]{1,5}/\\))( |\\n|  |\\t)?{0,20}") {
        all_in_vocab(us(), &s);
        all_in_vocab(gb(), &s);
    }

    /// Tokens keep the text: their graphemes, joined, are the input without whitespace (links aside; like misaki,
    /// an apostrophe inside a run of marks is dropped).
    #[test]
    fn lossless_graphemes(s in "[A-Za-z0-9 ,.!?-]{0,60}") {
        let toks = us().phonemize(&s).unwrap();
        let joined: String = toks.iter().map(|t| t.graphemes.as_str()).collect::<String>().split_whitespace().collect();
        let input: String = s.split_whitespace().collect();
        prop_assert_eq!(joined, input);
    }

    /// Deterministic, and already-phonemized words do not change on a second pass through lowercase text.
    #[test]
    fn stable(s in "[a-z]{1,10}( [a-z]{1,10}){0,8}") {
        let a = phonemize_line(us(), &s).unwrap();
        let b = phonemize_line(us(), &s).unwrap();
        prop_assert_eq!(&a, &b);
        let c = phonemize_line(us(), &format!("{s} ")).unwrap();
        prop_assert_eq!(a, c);
    }
}

#[test]
fn bad_inputs() {
    let g = us();
    assert_eq!(phonemize_line(g, "").unwrap(), "");
    assert_eq!(phonemize_line(g, "   \t ").unwrap(), "");
    let p = phonemize_line(g, "?!...;").unwrap();
    assert!(p.chars().all(|c| "?!.;…".contains(c)), "{p}");
    all_in_vocab(g, "🙂🎉👍🏽 🇬🇧 hello 🙂");
    all_in_vocab(g, "a\u{0}b\u{7}c\u{1b}[31m red \u{202e}evil\u{200b}zero");
    all_in_vocab(g, "\u{feff}\r\n\u{85}\u{2028}");
}

#[test]
fn one_megabyte_without_full_stop() {
    let mut s = String::with_capacity(1 << 20);
    let words = ["the", "record", "of", "1999", "and", "$5.50", "Zorblax", "FBI", "can't", "—", "naïve"];
    let mut i = 0;
    while s.len() < (1 << 20) {
        s.push_str(words[i % words.len()]);
        s.push(if i % 7 == 6 { ',' } else { ' ' });
        i += 1;
    }
    let toks = us().phonemize(&s).unwrap();
    assert!(toks.len() > 100_000);
    // One long run of letters and digits without spaces must not be cubic.
    let run: String = "ab1".repeat(300_000);
    let t = std::time::Instant::now();
    let toks = us().phonemize(&run).unwrap();
    assert!(!toks.is_empty());
    assert!(t.elapsed().as_secs() < 60);
    // Over the limit: a typed error, not a panic.
    let huge = "a ".repeat(3 << 20);
    assert!(us().phonemize(&huge).is_err());
}

#[test]
fn vocabulary_matches_model_config() {
    // The model's config.json lives outside the crate; check it when it is there.
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/models/config.json");
    let Ok(cfg) = std::fs::read_to_string(path) else { return };
    let Some(start) = cfg.find("\"vocab\"") else { return };
    let body = &cfg[start..];
    let body = &body[body.find('{').unwrap_or(0)..body.find('}').unwrap_or(body.len())];
    let mut n = 0;
    for part in body.split("\":").filter(|p| p.contains('"')) {
        let key = &part[part.rfind('"').unwrap() + 1..];
        let key = key.replace("\\\"", "\"").replace("\\\\", "\\");
        let mut cs = key.chars();
        if let (Some(c), None) = (cs.next(), cs.next()) {
            assert!(in_vocab(c), "{c:?} missing");
            n += 1;
        }
    }
    assert!(n == 0 || n >= 100, "parsed {n} symbols");
}
