//! Property tests: no input makes the parser panic, and the output stays bounded.

use proptest::prelude::*;
use warble_ssml::*;

/// A corpus of valid documents exercising every element; mutations start from these.
const SEEDS: &[&str] = &[
    r#"<speak version="1.1" xml:lang="en-US"><p><s>Hello <emphasis level="strong">big</emphasis> world.</s></p></speak>"#,
    r#"<speak><prosody rate="+20%" pitch="-2st" range="high" volume="+6dB">fast <prosody rate="x-slow" pitch="200Hz">slow</prosody></prosody></speak>"#,
    r#"<speak><prosody contour="(0%,+20Hz) (50%,+2st) (100%,default)" duration="2s">one two <break time="300ms"/> three</prosody></speak>"#,
    r#"<speak><say-as interpret-as="date" format="mdy">12/25/2024</say-as> <sub alias="World Wide Web">WWW</sub> <phoneme alphabet="ipa" ph="təˈmeɪtoʊ">tomato</phoneme></speak>"#,
    r#"<speak><voice name="af_heart:0.6,af_bella:0.4" gender="female" age="30"><lang xml:lang="fr-FR">bonjour</lang><mark name="m1"/></voice></speak>"#,
    r#"<speak><audio src="x.wav">fallback<desc>bell</desc></audio><lexicon uri="l.pls"/><meta name="a" content="b"/><metadata><x>y</x></metadata></speak>"#,
    r#"<speak>a &amp; b &#x41; <![CDATA[c < d]]><!-- note --><break strength="x-strong"/><token>t</token><w>w</w></speak>"#,
];

/// Tags and fragments spliced into documents by the mutator.
const FRAGMENTS: &[&str] = &[
    "<speak>",
    "</speak>",
    "<p>",
    "</p>",
    "<s>",
    "</s>",
    "<break/>",
    "<break time=\"99999s\"/>",
    "<prosody rate=\"+50%\">",
    "<prosody pitch=\"+99st\" contour=\"(0%,+1st)\">",
    "</prosody>",
    "<emphasis>",
    "</emphasis>",
    "<sub alias=\"x\">",
    "</sub>",
    "<phoneme ph=\"a\">",
    "</phoneme>",
    "<voice name=\"v\">",
    "</voice>",
    "<mark name=\"m\"/>",
    "<desc>",
    "</desc>",
    "&amp;",
    "&#65;",
    "&bogus;",
    "<!--",
    "-->",
    "<![CDATA[",
    "]]>",
    "<!DOCTYPE x>",
    "<?pi?>",
    "\"",
    "'",
    "<",
    ">",
    "&",
    "=",
    "/",
    "<unknown>",
    "</unknown>",
    "<prosody duration=\"1s\">",
    "é",
    "\u{0}",
];

#[derive(Debug, Clone)]
enum Mutation {
    Insert(usize, u8),
    Delete(usize),
    Duplicate(usize, usize),
    Splice(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Delete),
        (any::<usize>(), 1usize..40).prop_map(|(i, n)| Mutation::Duplicate(i, n)),
        (any::<usize>(), 0..FRAGMENTS.len()).prop_map(|(i, f)| Mutation::Splice(i, f)),
    ]
}

fn apply(doc: &str, muts: &[Mutation]) -> String {
    let mut bytes = doc.as_bytes().to_vec();
    for m in muts {
        let len = bytes.len().max(1);
        match *m {
            Mutation::Insert(i, b) => bytes.insert(i % (bytes.len() + 1), b),
            Mutation::Delete(i) => {
                if !bytes.is_empty() {
                    bytes.remove(i % len);
                }
            }
            Mutation::Duplicate(i, n) => {
                if !bytes.is_empty() {
                    let start = i % len;
                    let end = (start + n).min(bytes.len());
                    let chunk = bytes[start..end].to_vec();
                    bytes.splice(end..end, chunk);
                }
            }
            Mutation::Splice(i, f) => {
                let at = i % (bytes.len() + 1);
                bytes.splice(at..at, FRAGMENTS[f].bytes());
            }
        }
    }
    // The parser takes &str; byte mutations may break UTF-8, which is replaced.
    String::from_utf8_lossy(&bytes).into_owned()
}

/// What must hold for any input: no panic (implicit), and output linear in the input.
fn check(input: &str) {
    let opts = ParseOptions::default();
    if let Ok((doc, warnings)) = parse(input, &opts) {
        let n = input.len();
        assert!(doc.segments.len() <= n + 1, "segments {} for {n} bytes", doc.segments.len());
        assert!(doc.events.len() <= n + 1, "events {} for {n} bytes", doc.events.len());
        let text: usize = doc
            .segments
            .iter()
            .map(|s| match &s.content {
                Content::Text { text, .. } => text.len(),
                Content::Phonemes { ph, text, .. } => ph.len() + text.len(),
            })
            .sum();
        assert!(text <= 4 * n + 4, "text {text} for {n} bytes");
        let points: usize =
            doc.segments.iter().filter_map(|s| s.controls.contour.as_ref()).map(|c| c.points.len()).sum();
        assert!(points <= 3 * n + 3, "contour points {points} for {n} bytes");
        assert!(warnings.len() <= opts.max_warnings + 1);
        for e in &doc.events {
            assert!(e.before <= doc.segments.len());
        }
        assert!(doc.events.windows(2).all(|w| w[0].before <= w[1].before));
        for s in &doc.segments {
            let c = &s.controls;
            assert!((RATE_MIN..=RATE_MAX).contains(&c.rate));
            assert!((PITCH_RATIO_MIN..=PITCH_RATIO_MAX).contains(&c.pitch.ratio));
            assert!(c.pitch.offset_hz.is_finite());
            if let Volume::Gain { db } = c.volume {
                assert!((GAIN_MIN_DB..=GAIN_MAX_DB).contains(&db));
            }
        }
        // Interleaving visits everything exactly once.
        assert_eq!(doc.items().count(), doc.segments.len() + doc.events.len());
    }
    // Strict mode must not panic either, and errors must render.
    let strict = ParseOptions { strict: true, ..opts };
    if let Err(e) = parse(input, &strict) {
        let _ = e.to_string();
        if let Some(p) = e.position() {
            assert!(p.offset <= input.len());
            assert!(p.line >= 1 && p.column >= 1);
        }
    }
    let _ = plain_text(input);
}

proptest! {
    // 512 cases per property by default; `PROPTEST_CASES=50000` for a longer hunt.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(512),
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_strings(s in ".{0,300}") {
        check(&s);
    }

    #[test]
    fn random_markup_soup(parts in prop::collection::vec(prop_oneof![
        (0..FRAGMENTS.len()).prop_map(|i| FRAGMENTS[i].to_owned()),
        "[a-z ]{0,8}",
        "[<>&;#x0-9a-z\"'=/ ]{0,6}",
    ], 0..60)) {
        check(&parts.concat());
        check(&format!("<speak>{}</speak>", parts.concat()));
    }

    #[test]
    fn mutated_valid_documents(seed in 0..SEEDS.len(), muts in prop::collection::vec(mutation(), 1..12)) {
        check(&apply(SEEDS[seed], &muts));
    }

    #[test]
    fn attribute_values(attr in prop::sample::select(vec!["rate", "pitch", "range", "volume", "contour", "duration"]),
                        value in "[-+0-9.%a-zA-Z(), ]{0,24}") {
        check(&format!(r#"<speak><prosody {attr}="{value}">x</prosody></speak>"#));
        check(&format!(r#"<speak><break time="{value}"/><break strength="{value}"/></speak>"#));
    }

    #[test]
    fn plain_text_never_grows(s in "(?s).{0,400}") {
        let doc = plain_text(&s);
        prop_assert!(doc.text().len() <= s.len());
    }
}

#[test]
fn seeds_are_valid() {
    for s in SEEDS {
        let (doc, _) = parse(s, &ParseOptions::default()).unwrap_or_else(|e| panic!("{s}: {e}"));
        assert!(!doc.is_empty(), "{s}");
    }
}

#[test]
fn many_segments_share_one_voice() {
    // A big voice name around many segments must not be copied per segment.
    let name = "v".repeat(100_000);
    let body = "a<break/>".repeat(20_000);
    let xml = format!(r#"<speak><voice name="{name}">{body}</voice></speak>"#);
    let (doc, _) = parse(&xml, &ParseOptions::default()).unwrap();
    assert_eq!(doc.segments.len(), 20_000);
    let first = doc.segments[0].voice.as_ref().unwrap();
    assert!(doc.segments.iter().all(|s| std::sync::Arc::ptr_eq(first, s.voice.as_ref().unwrap())));
}
