//! One test (or a few) per SSML element and value form, through the public API.

use warble_ssml::*;

fn ok(xml: &str) -> Document {
    let (doc, warnings) = parse(xml, &ParseOptions::default()).unwrap_or_else(|e| panic!("{xml}: {e}"));
    assert!(warnings.is_empty(), "{xml}: unexpected warnings {warnings:?}");
    doc
}

fn with_warnings(xml: &str) -> (Document, Vec<Warning>) {
    parse(xml, &ParseOptions::default()).unwrap_or_else(|e| panic!("{xml}: {e}"))
}

fn speak(inner: &str) -> Document {
    ok(&format!("<speak>{inner}</speak>"))
}

fn err(xml: &str) -> SsmlError {
    match parse(xml, &ParseOptions::default()) {
        Ok(d) => panic!("{xml}: expected an error, got {d:?}"),
        Err(e) => e,
    }
}

fn strict_err(xml: &str) -> SsmlError {
    let opts = ParseOptions { strict: true, ..ParseOptions::default() };
    match parse(xml, &opts) {
        Ok(d) => panic!("{xml}: expected an error, got {d:?}"),
        Err(e) => e,
    }
}

fn texts(doc: &Document) -> Vec<&str> {
    doc.segments
        .iter()
        .map(|s| match &s.content {
            Content::Text { text, .. } => text.as_str(),
            Content::Phonemes { ph, .. } => ph.as_str(),
        })
        .collect()
}

fn kinds(doc: &Document) -> Vec<EventKind> {
    doc.events.iter().map(|e| e.kind.clone()).collect()
}

fn close(a: f32, b: f32) -> bool {
    (a - b).abs() < 1e-4
}

/// The prosody of the only segment of `<speak><prosody {attrs}>x</prosody></speak>`.
fn prosody(attrs: &str) -> Controls {
    let doc = speak(&format!("<prosody {attrs}>x</prosody>"));
    assert_eq!(doc.segments.len(), 1);
    doc.segments[0].controls.clone()
}

// ---------------------------------------------------------------- speak, p, s, text

#[test]
fn speak_with_lang_and_version() {
    let doc = ok(r#"<?xml version="1.0" encoding="UTF-8"?>
        <speak version="1.1" xmlns="http://www.w3.org/2001/10/synthesis"
               xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
               xsi:schemaLocation="x y" xml:lang="en-US">Hello.</speak>"#);
    assert_eq!(doc.lang.as_deref(), Some("en-US"));
    assert_eq!(doc.version.as_deref(), Some("1.1"));
    assert_eq!(texts(&doc), ["Hello."]);
    assert_eq!(doc.segments[0].lang.as_deref(), Some("en-US"));
    assert_eq!(doc.segments[0].controls, Controls::default());
}

#[test]
fn unknown_version_is_a_warning() {
    let (doc, w) = with_warnings(r#"<speak version="2.0">x</speak>"#);
    assert_eq!(doc.version.as_deref(), Some("2.0"));
    assert!(matches!(&w[0].kind, WarningKind::Unsupported { attribute, .. } if attribute == "version"));
}

#[test]
fn empty_speak() {
    let doc = ok("<speak/>");
    assert!(doc.is_empty());
    assert!(ok("<speak>  \n </speak>").is_empty());
}

#[test]
fn whitespace_is_collapsed_and_word_boundaries_kept() {
    let doc = speak("\n  Hello \t  <emphasis>big</emphasis>\n  world.  ");
    assert_eq!(texts(&doc), ["Hello ", "big", " world."]);
    // Whitespace-only text between two elements becomes a boundary on the left one.
    let doc = speak("<emphasis>a</emphasis> <emphasis>b</emphasis>");
    assert_eq!(texts(&doc), ["a ", "b"]);
    assert_eq!(doc.text(), "a b");
}

#[test]
fn paragraphs_and_sentences() {
    let doc = speak("<p><s>One.</s> <s>Two.</s></p><p>Three.</p>");
    assert_eq!(texts(&doc), ["One.", "Two.", "Three."]);
    use EventKind::*;
    assert_eq!(
        kinds(&doc),
        [
            ParagraphStart,
            SentenceStart,
            SentenceEnd,
            SentenceStart,
            SentenceEnd,
            ParagraphEnd,
            ParagraphStart,
            ParagraphEnd
        ]
    );
    let before: Vec<usize> = doc.events.iter().map(|e| e.before).collect();
    assert_eq!(before, [0, 0, 1, 1, 2, 2, 2, 3]);
    // Items interleave in document order.
    let order: Vec<String> = doc
        .items()
        .map(|i| match i {
            Item::Segment(s) => s.text().unwrap_or_default().to_owned(),
            Item::Event(e) => format!("{e:?}"),
        })
        .collect();
    assert_eq!(order[..3], ["ParagraphStart", "SentenceStart", "One."]);
}

#[test]
fn p_and_s_take_xml_lang() {
    let doc = ok(r#"<speak xml:lang="en-US"><p xml:lang="fr-FR">Bonjour <s xml:lang="de">Tag</s></p> hi</speak>"#);
    let langs: Vec<_> = doc.segments.iter().map(|s| s.lang.as_deref()).collect();
    assert_eq!(langs, [Some("fr-FR"), Some("de"), Some("en-US")]);
}

#[test]
fn comments_cdata_pi_and_entities() {
    let doc = speak(
        "A<!-- not spoken --> &lt;b&gt; &amp; &quot;q&quot; &apos;s&apos; &#65;&#x42;&#X43; <![CDATA[<tag> & x]]><?pi stuff?>.",
    );
    assert_eq!(doc.text(), "A <b> & \"q\" 's' ABC <tag> & x.");
    assert_eq!(doc.segments.len(), 1);
}

#[test]
fn entities_in_attributes() {
    let doc = speak(r#"<sub alias="A &amp; B &#x43;">x</sub>"#);
    assert_eq!(texts(&doc), ["A & B C"]);
}

// ---------------------------------------------------------------- break

#[test]
fn break_time_forms() {
    let doc = speak(r#"a<break time="250ms"/>b<break time="1.5s"/>c<break time="0s"/><break time="2S"/>"#);
    assert_eq!(
        kinds(&doc),
        [
            EventKind::Break { ms: 250, strength: None },
            EventKind::Break { ms: 1500, strength: None },
            EventKind::Break { ms: 0, strength: None },
            EventKind::Break { ms: 2000, strength: None },
        ]
    );
    let before: Vec<usize> = doc.events.iter().map(|e| e.before).collect();
    assert_eq!(before, [1, 2, 3, 3]);
}

#[test]
fn break_strengths() {
    for (s, ms) in [("none", 0), ("x-weak", 100), ("weak", 250), ("medium", 500), ("strong", 750), ("x-strong", 1000)] {
        let doc = speak(&format!(r#"<break strength="{s}"/>"#));
        match &doc.events[0].kind {
            EventKind::Break { ms: got, strength: Some(_) } => assert_eq!(*got, ms, "{s}"),
            other => panic!("{other:?}"),
        }
    }
    // No attribute: medium.
    let doc = speak("<break/>");
    assert_eq!(doc.events[0].kind, EventKind::Break { ms: 500, strength: Some(BreakStrength::Medium) });
    // time wins over strength.
    let doc = speak(r#"<break time="42ms" strength="x-strong"/>"#);
    assert_eq!(doc.events[0].kind, EventKind::Break { ms: 42, strength: None });
}

#[test]
fn break_over_cap_is_clamped_with_warning() {
    let (doc, w) = with_warnings(r#"<speak><break time="3600s"/></speak>"#);
    assert_eq!(doc.events[0].kind, EventKind::Break { ms: 60_000, strength: None });
    assert!(matches!(w[0].kind, WarningKind::Clamped { .. }));
    assert!(matches!(strict_err(r#"<speak><break time="61s"/></speak>"#), SsmlError::Strict { .. }));
    let opts = ParseOptions { max_break_ms: 1000, ..ParseOptions::default() };
    let (doc, _) = parse(r#"<speak><break time="2s"/><break strength="x-strong"/></speak>"#, &opts).unwrap();
    assert_eq!(doc.total_break_ms(), 2000);
}

#[test]
fn break_invalid_values() {
    for bad in [r#"time="-1s""#, r#"time="5""#, r#"time="1min""#, r#"time="""#, r#"strength="huge""#] {
        match err(&format!("<speak><break {bad}/></speak>")) {
            SsmlError::InvalidAttribute { element, attribute, expected, .. } => {
                assert_eq!(element, "break");
                assert!(bad.starts_with(&attribute));
                assert!(!expected.is_empty());
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
}

// ---------------------------------------------------------------- prosody: rate

#[test]
fn rate_keywords() {
    for (k, f) in [("x-slow", 0.5), ("slow", 0.75), ("medium", 1.0), ("fast", 1.25), ("x-fast", 1.75), ("default", 1.0)]
    {
        assert!(close(prosody(&format!(r#"rate="{k}""#)).rate, f), "{k}");
    }
}

#[test]
fn rate_numeric_forms() {
    assert!(close(prosody(r#"rate="150%""#).rate, 1.5));
    assert!(close(prosody(r#"rate="+20%""#).rate, 1.2));
    assert!(close(prosody(r#"rate="-10%""#).rate, 0.9));
    assert!(close(prosody(r#"rate="0.8""#).rate, 0.8));
    assert!(close(prosody(r#"rate="2""#).rate, 2.0));
}

#[test]
fn rate_nesting() {
    // Relative changes multiply.
    let doc =
        speak(r#"<prosody rate="+50%">a<prosody rate="-20%">b<prosody rate="+100%">c</prosody></prosody></prosody>"#);
    let r: Vec<f32> = doc.segments.iter().map(|s| s.controls.rate).collect();
    assert!(close(r[0], 1.5) && close(r[1], 1.2) && close(r[2], 2.4), "{r:?}");
    // Keywords, plain percentages and numbers are measured from the default.
    let doc = speak(
        r#"<prosody rate="x-fast"><prosody rate="slow">a</prosody><prosody rate="50%">b</prosody><prosody rate="0.9">c</prosody>d</prosody>"#,
    );
    let r: Vec<f32> = doc.segments.iter().map(|s| s.controls.rate).collect();
    assert_eq!(r, [0.75, 0.5, 0.9, 1.75]);
}

#[test]
fn rate_clamped() {
    let (doc, w) = with_warnings(r#"<speak><prosody rate="0%">x</prosody></speak>"#);
    assert_eq!(doc.segments[0].controls.rate, RATE_MIN);
    assert!(matches!(w[0].kind, WarningKind::Clamped { what: "rate", .. }));
    let (doc, _) = with_warnings(r#"<speak><prosody rate="5000%">x</prosody></speak>"#);
    assert_eq!(doc.segments[0].controls.rate, RATE_MAX);
}

// ---------------------------------------------------------------- prosody: pitch

#[test]
fn pitch_keywords() {
    for (k, st) in
        [("x-low", -6.0f32), ("low", -3.0), ("medium", 0.0), ("high", 3.0), ("x-high", 6.0), ("default", 0.0)]
    {
        let p = prosody(&format!(r#"pitch="{k}""#)).pitch;
        assert!(close(p.ratio, (st / 12.0).exp2()), "{k}");
        assert_eq!(p.offset_hz, 0.0);
        assert_eq!(p.absolute_hz, None);
    }
}

#[test]
fn pitch_numeric_forms() {
    let p = prosody(r#"pitch="+10Hz""#).pitch;
    assert_eq!((p.ratio, p.offset_hz), (1.0, 10.0));
    let p = prosody(r#"pitch="-15.5Hz""#).pitch;
    assert_eq!(p.offset_hz, -15.5);
    let p = prosody(r#"pitch="+12st""#).pitch;
    assert!(close(p.ratio, 2.0));
    let p = prosody(r#"pitch="-2st""#).pitch;
    assert!(close(p.ratio, (-2.0f32 / 12.0).exp2()));
    let p = prosody(r#"pitch="+20%""#).pitch;
    assert!(close(p.ratio, 1.2));
    let p = prosody(r#"pitch="-10%""#).pitch;
    assert!(close(p.ratio, 0.9));
    let p = prosody(r#"pitch="200Hz""#).pitch;
    assert_eq!(p.absolute_hz, Some(200.0));
    assert!(close(p.apply(100.0, 100.0), 200.0));
}

#[test]
fn pitch_nesting_composes() {
    let doc = speak(
        r#"<prosody pitch="+10Hz">a<prosody pitch="+12st">b<prosody pitch="+5Hz">c<prosody pitch="150Hz">d<prosody pitch="+10%">e<prosody pitch="low">f</prosody></prosody></prosody></prosody></prosody></prosody>"#,
    );
    let p: Vec<PitchTransform> = doc.segments.iter().map(|s| s.controls.pitch).collect();
    // a: 100 → 110
    assert!(close(p[0].apply(100.0, 100.0), 110.0));
    // b: +12st on top of (+10Hz): (100+10)·2 = 220
    assert!(close(p[1].apply(100.0, 100.0), 220.0));
    // c: +5Hz more: 225
    assert!(close(p[2].apply(100.0, 100.0), 225.0));
    // d: absolute restarts the chain
    assert!(close(p[3].apply(100.0, 100.0), 150.0));
    // e: 10% above 150
    assert!(close(p[4].apply(100.0, 100.0), 165.0));
    // f: keyword restarts from the voice default
    assert!(close(p[5].apply(100.0, 100.0), 100.0 * (-3.0f32 / 12.0).exp2()));
    // Leaving elements restores the outer value.
    let doc = speak(r#"<prosody pitch="+2st">a<prosody pitch="+2st">b</prosody>c</prosody>d"#);
    let r: Vec<f32> = doc.segments.iter().map(|s| s.controls.pitch.ratio).collect();
    assert!(close(r[0], r[2]) && close(r[1], (4.0f32 / 12.0).exp2()) && r[3] == 1.0);
}

#[test]
fn pitch_clamped() {
    let (doc, w) =
        with_warnings(r#"<speak><prosody pitch="+40st">x</prosody><prosody pitch="5Hz">y</prosody></speak>"#);
    assert_eq!(doc.segments[0].controls.pitch.ratio, PITCH_RATIO_MAX);
    assert_eq!(doc.segments[1].controls.pitch.absolute_hz, Some(ABSOLUTE_HZ_MIN));
    assert_eq!(w.len(), 2);
}

// ---------------------------------------------------------------- prosody: range

#[test]
fn range_forms() {
    for (k, r) in [("x-low", 0.5), ("low", 0.75), ("medium", 1.0), ("high", 1.5), ("x-high", 2.0), ("default", 1.0)] {
        assert!(close(prosody(&format!(r#"range="{k}""#)).range.ratio, r), "{k}");
    }
    assert!(close(prosody(r#"range="+12st""#).range.ratio, 2.0));
    assert_eq!(prosody(r#"range="+20Hz""#).range.offset_hz, 20.0);
    assert!(close(prosody(r#"range="-50%""#).range.ratio, 0.5));
    assert_eq!(prosody(r#"range="80Hz""#).range.absolute_hz, Some(80.0));
    let doc = speak(r#"<prosody range="high"><prosody range="+50%">x</prosody></prosody>"#);
    assert!(close(doc.segments[0].controls.range.ratio, 2.25));
}

// ---------------------------------------------------------------- prosody: volume

#[test]
fn volume_keywords() {
    assert_eq!(prosody(r#"volume="silent""#).volume, Volume::Silent);
    for (k, db) in
        [("x-soft", -12.0), ("soft", -6.0), ("medium", 0.0), ("loud", 6.0), ("x-loud", 12.0), ("default", 0.0)]
    {
        assert_eq!(prosody(&format!(r#"volume="{k}""#)).volume, Volume::Gain { db }, "{k}");
    }
}

#[test]
fn volume_relative_forms_and_nesting() {
    assert_eq!(prosody(r#"volume="+6dB""#).volume, Volume::Gain { db: 6.0 });
    assert_eq!(prosody(r#"volume="-3.5dB""#).volume, Volume::Gain { db: -3.5 });
    assert_eq!(prosody(r#"volume="-100%""#).volume, Volume::Silent);
    match prosody(r#"volume="-50%""#).volume {
        Volume::Gain { db } => assert!(close(db, 20.0 * 0.5f32.log10())),
        v => panic!("{v:?}"),
    }
    let doc = speak(
        r#"<prosody volume="loud"><prosody volume="+3dB">a</prosody><prosody volume="soft">b</prosody></prosody><prosody volume="silent"><prosody volume="+6dB">c</prosody><prosody volume="x-loud">d</prosody></prosody>"#,
    );
    let v: Vec<Volume> = doc.segments.iter().map(|s| s.controls.volume).collect();
    assert_eq!(v, [Volume::Gain { db: 9.0 }, Volume::Gain { db: -6.0 }, Volume::Silent, Volume::Gain { db: 12.0 }]);
    let (doc, w) = with_warnings(r#"<speak><prosody volume="+60dB">x</prosody></speak>"#);
    assert_eq!(doc.segments[0].controls.volume, Volume::Gain { db: GAIN_MAX_DB });
    assert_eq!(w.len(), 1);
}

// ---------------------------------------------------------------- prosody: contour

#[test]
fn contour_maps_onto_segments() {
    // Three segments of 10 characters each: spans of one third.
    let doc = speak(
        r#"<prosody contour="(0%,+10Hz) (50%,+20Hz) (100%,+30Hz)">aaaaaaaaaa<emphasis>bbbbbbbbbb</emphasis>cccccccccc</prosody>"#,
    );
    assert_eq!(doc.segments.len(), 3);
    let c0 = doc.segments[0].controls.contour.clone().unwrap();
    assert!(close(c0.span.0, 0.0) && close(c0.span.1, 1.0 / 3.0));
    // The first segment sees the 0% point and the next one after it (50%).
    assert_eq!(c0.points.len(), 2);
    assert!(close(c0.points[0].position, 0.0) && close(c0.points[1].position, 1.5));
    assert_eq!(c0.points[1].pitch.offset_hz, 20.0);
    let c1 = doc.segments[1].controls.contour.clone().unwrap();
    // The middle segment: neighbour at 0% (before), 50% inside, 100% after.
    let pos: Vec<f32> = c1.points.iter().map(|p| p.position).collect();
    assert_eq!(pos.len(), 3);
    assert!(close(pos[0], -1.0) && close(pos[1], 0.5) && close(pos[2], 2.0), "{pos:?}");
    let c2 = doc.segments[2].controls.contour.clone().unwrap();
    assert!(close(*c2.points.last().map(|p| &p.position).unwrap(), 1.0));
    // Emphasis still applies through `pitch` on the middle segment.
    assert!(doc.segments[1].controls.pitch.ratio > 1.0);
}

#[test]
fn contour_targets_compose_with_pitch() {
    let doc = speak(r#"<prosody pitch="+10Hz" contour="(0%,+2st) (100%,200Hz)">x</prosody>"#);
    let c = doc.segments[0].controls.contour.clone().unwrap();
    assert!(close(c.points[0].pitch.apply(100.0, 100.0), 110.0 * (2.0f32 / 12.0).exp2()));
    assert!(close(c.points[1].pitch.apply(100.0, 100.0), 200.0));
}

#[test]
fn innermost_contour_wins() {
    let doc =
        speak(r#"<prosody contour="(0%,+1st) (100%,+2st)">a<prosody contour="(50%,-5st)">b</prosody>c</prosody>"#);
    let inner = doc.segments[1].controls.contour.clone().unwrap();
    assert_eq!(inner.points.len(), 1);
    assert_eq!(inner.span, (0.0, 1.0));
    assert!(doc.segments[0].controls.contour.as_ref().unwrap().points.len() >= 2);
    assert!(doc.segments[2].controls.contour.is_some());
    assert!(doc.segments.iter().all(|s| s.controls.contour.is_some()));
    // Outside the element: no contour.
    let doc = speak(r#"<prosody contour="(0%,+1st)">a</prosody>b"#);
    assert!(doc.segments[1].controls.contour.is_none());
}

#[test]
fn contour_invalid() {
    for bad in ["", "(0%,+1st", "(120%,+1st)", "(0%,fast)", "0%,+1st", "(0%;+1st)"] {
        assert!(
            matches!(
                err(&format!(r#"<speak><prosody contour="{bad}">x</prosody></speak>"#)),
                SsmlError::InvalidAttribute { .. }
            ),
            "{bad}"
        );
    }
}

// ---------------------------------------------------------------- prosody: duration

#[test]
fn duration_groups() {
    let doc = speak(r#"<prosody duration="2s">a <emphasis>b</emphasis></prosody> c"#);
    let d: Vec<Option<DurationTarget>> = doc.segments.iter().map(|s| s.controls.duration).collect();
    assert_eq!(d[0], Some(DurationTarget { group: 0, total_ms: 2000 }));
    assert_eq!(d[1], d[0]);
    assert_eq!(d[2], None);
    assert_eq!(prosody(r#"duration="750ms""#).duration.map(|d| d.total_ms), Some(750));
}

#[test]
fn nested_duration_takes_its_share() {
    let doc = speak(r#"<prosody duration="3s">a<prosody duration="1s">b</prosody>c</prosody>"#);
    let d: Vec<DurationTarget> = doc.segments.iter().map(|s| s.controls.duration.unwrap()).collect();
    assert_eq!(d[1], DurationTarget { group: 1, total_ms: 1000 });
    assert_eq!(d[0], DurationTarget { group: 0, total_ms: 2000 });
    assert_eq!(d[2], d[0]);
}

#[test]
fn duration_invalid_and_clamped() {
    assert!(matches!(
        err(r#"<speak><prosody duration="fast">x</prosody></speak>"#),
        SsmlError::InvalidAttribute { .. }
    ));
    let (doc, w) = with_warnings(r#"<speak><prosody duration="9999s">x</prosody></speak>"#);
    assert_eq!(doc.segments[0].controls.duration.unwrap().total_ms, MAX_PROSODY_DURATION_MS);
    assert_eq!(w.len(), 1);
}

#[test]
fn prosody_all_attributes_at_once() {
    let c = prosody(r#"rate="fast" pitch="+1st" range="high" volume="loud" contour="(0%,+1st)" duration="1s""#);
    assert_eq!(c.rate, 1.25);
    assert_eq!(c.volume, Volume::Gain { db: 6.0 });
    assert!(c.contour.is_some() && c.duration.is_some());
}

#[test]
fn prosody_invalid_values_name_everything() {
    let e = err(r#"<speak>
  <prosody rate="zippy">x</prosody></speak>"#);
    match &e {
        SsmlError::InvalidAttribute { pos, element, attribute, value, expected } => {
            assert_eq!((pos.line, pos.column), (2, 3));
            assert_eq!((element.as_str(), attribute.as_str(), value.as_str()), ("prosody", "rate", "zippy"));
            assert!(expected.contains("x-slow") && expected.contains("150%"));
        }
        other => panic!("{other:?}"),
    }
    let msg = e.to_string();
    assert!(
        msg.contains("zippy") && msg.contains("rate") && msg.contains("prosody") && msg.contains("line 2"),
        "{msg}"
    );
    for (attr, bad) in [
        ("pitch", "2st"),
        ("pitch", "loud"),
        ("range", "wide"),
        ("volume", "6dB"),
        ("volume", "11"),
        ("rate", "-1"),
        ("rate", "+1"),
    ] {
        assert!(
            matches!(
                err(&format!(r#"<speak><prosody {attr}="{bad}">x</prosody></speak>"#)),
                SsmlError::InvalidAttribute { .. }
            ),
            "{attr}={bad}"
        );
    }
}

// ---------------------------------------------------------------- emphasis

#[test]
fn emphasis_levels() {
    for (level, l, r, st, db) in [
        ("strong", EmphasisLevel::Strong, 0.9f32, 2.0f32, 3.0f32),
        ("moderate", EmphasisLevel::Moderate, 0.95, 1.0, 1.5),
        ("none", EmphasisLevel::None, 1.0, 0.0, 0.0),
        ("reduced", EmphasisLevel::Reduced, 1.1, -1.0, -3.0),
    ] {
        let doc = speak(&format!(r#"<emphasis level="{level}">x</emphasis>"#));
        let c = &doc.segments[0].controls;
        assert_eq!(c.emphasis, Some(l));
        assert!(close(c.rate, r), "{level}");
        assert!(close(c.pitch.ratio, (st / 12.0).exp2()), "{level}");
        assert_eq!(c.volume, Volume::Gain { db }, "{level}");
        assert_eq!(l.mix(), (r, st, db));
    }
    // Default level is moderate.
    let doc = speak("<emphasis>x</emphasis>");
    assert_eq!(doc.segments[0].controls.emphasis, Some(EmphasisLevel::Moderate));
    assert!(matches!(err(r#"<speak><emphasis level="max">x</emphasis></speak>"#), SsmlError::InvalidAttribute { .. }));
}

#[test]
fn emphasis_innermost_wins_and_rides_on_prosody() {
    let doc = speak(
        r#"<emphasis level="strong">a<emphasis level="none">b</emphasis><prosody rate="x-slow" volume="silent">c</prosody></emphasis>"#,
    );
    let c: Vec<&Controls> = doc.segments.iter().map(|s| &s.controls).collect();
    assert!(close(c[0].rate, 0.9));
    assert_eq!(c[1].rate, 1.0);
    assert_eq!(c[1].emphasis, Some(EmphasisLevel::None));
    assert!(close(c[2].rate, 0.45));
    assert_eq!(c[2].volume, Volume::Silent);
}

// ---------------------------------------------------------------- say-as

#[test]
fn say_as_every_interpretation() {
    for (name, kind) in [
        ("characters", InterpretAs::Characters),
        ("spell-out", InterpretAs::SpellOut),
        ("cardinal", InterpretAs::Cardinal),
        ("ordinal", InterpretAs::Ordinal),
        ("digits", InterpretAs::Digits),
        ("date", InterpretAs::Date),
        ("time", InterpretAs::Time),
        ("telephone", InterpretAs::Telephone),
        ("currency", InterpretAs::Currency),
        ("number", InterpretAs::Cardinal),
        ("verbatim", InterpretAs::SpellOut),
    ] {
        let doc = speak(&format!(r#"<say-as interpret-as="{name}">12</say-as>"#));
        match &doc.segments[0].content {
            Content::Text { text, say_as: Some(s) } => {
                assert_eq!(text, "12");
                assert_eq!(s.interpret_as, kind, "{name}");
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn say_as_format_and_detail() {
    let doc = speak(r#"<say-as interpret-as="date" format="mdy" detail="2">12/25/2024</say-as> after"#);
    let Content::Text { say_as: Some(s), .. } = &doc.segments[0].content else { panic!() };
    assert_eq!(s.format.as_deref(), Some("mdy"));
    assert_eq!(s.detail.as_deref(), Some("2"));
    let Content::Text { say_as, .. } = &doc.segments[1].content else { panic!() };
    assert!(say_as.is_none());
}

#[test]
fn say_as_unknown_or_missing() {
    let (doc, w) = with_warnings(r#"<speak><say-as interpret-as="expletive">darn</say-as></speak>"#);
    assert_eq!(doc.text(), "darn");
    assert!(matches!(&w[0].kind, WarningKind::Unsupported { value, .. } if value == "expletive"));
    assert!(matches!(
        strict_err(r#"<speak><say-as interpret-as="expletive">x</say-as></speak>"#),
        SsmlError::Strict { .. }
    ));
    assert!(matches!(err("<speak><say-as>x</say-as></speak>"), SsmlError::MissingAttribute { .. }));
}

// ---------------------------------------------------------------- sub

#[test]
fn sub_replaces_text() {
    let doc = speak(r#"The <sub alias="World Wide Web Consortium">W3C</sub> says"#);
    assert_eq!(texts(&doc), ["The ", "World Wide Web Consortium", " says"]);
    // Alias inside say-as is not re-interpreted.
    let doc = speak(r#"<say-as interpret-as="characters"><sub alias="ex">x</sub></say-as>"#);
    assert!(matches!(&doc.segments[0].content, Content::Text { say_as: None, .. }));
    assert!(matches!(err("<speak><sub>x</sub></speak>"), SsmlError::MissingAttribute { .. }));
    // Marks inside sub content are not interpreted.
    let doc = speak(r#"<sub alias="y">x<mark name="m"/></sub>"#);
    assert!(doc.events.is_empty());
}

// ---------------------------------------------------------------- phoneme

#[test]
fn phoneme_alphabets() {
    let doc = speak(
        r#"say <phoneme alphabet="ipa" ph="təˈmɑːtəʊ">tomato</phoneme> and <phoneme alphabet="x-kokoro" ph="təmˈAtO">tomato</phoneme><phoneme ph="a">b</phoneme>"#,
    );
    match &doc.segments[1].content {
        Content::Phonemes { alphabet, ph, text } => {
            assert_eq!(*alphabet, Alphabet::Ipa);
            assert_eq!(ph, "təˈmɑːtəʊ");
            assert_eq!(text, "tomato");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(&doc.segments[3].content, Content::Phonemes { alphabet: Alphabet::Kokoro, .. }));
    assert!(matches!(&doc.segments[4].content, Content::Phonemes { alphabet: Alphabet::Ipa, .. }));
    assert_eq!(doc.segments.len(), 5);
}

#[test]
fn phoneme_unknown_alphabet_falls_back_to_text() {
    let (doc, w) = with_warnings(r#"<speak><phoneme alphabet="x-sampa" ph="t@">tomato</phoneme></speak>"#);
    assert_eq!(texts(&doc), ["tomato"]);
    assert_eq!(w.len(), 1);
    assert!(matches!(
        strict_err(r#"<speak><phoneme alphabet="x-sampa" ph="t">x</phoneme></speak>"#),
        SsmlError::Strict { .. }
    ));
    assert!(matches!(err("<speak><phoneme>x</phoneme></speak>"), SsmlError::MissingAttribute { .. }));
}

#[test]
fn phoneme_takes_prosody_and_keeps_inner_events() {
    let doc = speak(r#"<prosody rate="slow"><phoneme ph="a">x<mark name="m"/>  y</phoneme></prosody>"#);
    assert_eq!(doc.segments[0].controls.rate, 0.75);
    assert!(matches!(&doc.segments[0].content, Content::Phonemes { text, .. } if text == "x y"));
    assert_eq!(doc.events[0].kind, EventKind::Mark { name: "m".into() });
}

// ---------------------------------------------------------------- voice, lang

#[test]
fn voice_names_blends_and_attributes() {
    let doc = speak(
        r#"<voice name="af_heart:0.6,af_bella:0.4">a<voice gender="male" age="30" variant="2" languages="en-US fr">b</voice>c</voice>d"#,
    );
    let v0 = doc.segments[0].voice.clone().unwrap();
    assert_eq!(v0.name.as_deref(), Some("af_heart:0.6,af_bella:0.4"));
    let v1 = doc.segments[1].voice.clone().unwrap();
    assert_eq!((v1.name.as_deref(), v1.gender, v1.age, v1.variant), (None, Some(Gender::Male), Some(30), Some(2)));
    assert_eq!(v1.languages.as_deref(), Some("en-US fr"));
    assert_eq!(doc.segments[2].voice, doc.segments[0].voice);
    assert!(doc.segments[3].voice.is_none());
    // Voices are shared, not copied.
    assert!(std::sync::Arc::ptr_eq(&v0, doc.segments[2].voice.as_ref().unwrap()));
    for bad in [r#"gender="robot""#, r#"age="-3""#, r#"age="old""#, r#"variant="0""#] {
        assert!(
            matches!(err(&format!("<speak><voice {bad}>x</voice></speak>")), SsmlError::InvalidAttribute { .. }),
            "{bad}"
        );
    }
    let doc =
        speak(r#"<voice gender="neutral" required="name" ordering="name" onvoicefailure="keepexisting">x</voice>"#);
    assert_eq!(doc.segments[0].voice.as_ref().unwrap().gender, Some(Gender::Neutral));
}

#[test]
fn lang_element() {
    let doc = ok(r#"<speak xml:lang="en-GB">a <lang xml:lang="ja-JP" onlangfailure="ignoretext">b</lang> c</speak>"#);
    let langs: Vec<_> = doc.segments.iter().map(|s| s.lang.as_deref()).collect();
    assert_eq!(langs, [Some("en-GB"), Some("ja-JP"), Some("en-GB")]);
    assert!(matches!(err("<speak><lang>x</lang></speak>"), SsmlError::MissingAttribute { .. }));
    assert!(matches!(err(r#"<speak><lang xml:lang="not a tag">x</lang></speak>"#), SsmlError::InvalidAttribute { .. }));
}

// ---------------------------------------------------------------- mark, audio, desc, ignored

#[test]
fn marks() {
    let doc = speak(r#"<mark name="start"/>Hello<mark name="mid"/> world<mark name="end"></mark>"#);
    assert_eq!(
        doc.events.iter().map(|e| (e.before, e.kind.clone())).collect::<Vec<_>>(),
        [
            (0, EventKind::Mark { name: "start".into() }),
            (1, EventKind::Mark { name: "mid".into() }),
            (2, EventKind::Mark { name: "end".into() }),
        ]
    );
    assert!(matches!(err("<speak><mark/></speak>"), SsmlError::MissingAttribute { .. }));
}

#[test]
fn audio_speaks_fallback_never_fetches() {
    let doc = speak(
        r#"<audio src="https://example.com/bell.wav" fetchtimeout="5s" soundLevel="+3dB">ding <desc>a bell rings</desc></audio>"#,
    );
    assert_eq!(doc.events[0].kind, EventKind::Audio { src: Some("https://example.com/bell.wav".into()) });
    assert_eq!(doc.text(), "ding");
    let doc = speak("<audio/>");
    assert_eq!(doc.events[0].kind, EventKind::Audio { src: None });
}

#[test]
fn desc_is_not_spoken() {
    let doc = speak("a<desc>hidden <break/> text</desc>b");
    assert_eq!(doc.text(), "ab");
    assert!(doc.events.is_empty());
}

#[test]
fn lexicon_meta_metadata_are_ignored_with_a_note() {
    let (doc, w) = with_warnings(
        r#"<speak><lexicon uri="http://x/lex.pls" xml:id="l"/><meta name="seeAlso" content="x"/><metadata><rdf:RDF xmlns:rdf="r"><rdf:Description>meta text</rdf:Description></rdf:RDF></metadata>spoken<lookup ref="l">looked</lookup></speak>"#,
    );
    assert_eq!(doc.text(), "spokenlooked");
    let ignored: Vec<&str> = w
        .iter()
        .filter_map(|w| match &w.kind {
            WarningKind::Ignored { element, .. } => Some(element.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(ignored, ["lexicon", "meta", "metadata", "lookup"]);
    assert_eq!(w.len(), 4, "{w:?}");
    // Notes stay notes in strict mode.
    let opts = ParseOptions { strict: true, ..ParseOptions::default() };
    assert!(parse(r#"<speak><lexicon uri="x"/>a</speak>"#, &opts).is_ok());
}

#[test]
fn token_and_w_are_transparent() {
    let doc = speak(r#"<token role="x:noun">read</token> <w>this</w>"#);
    assert_eq!(doc.text(), "read this");
}

// ---------------------------------------------------------------- unknown content

#[test]
fn unknown_element_keeps_text_with_warning() {
    let (doc, w) = with_warnings("<speak>a <bold>b</bold> c</speak>");
    assert_eq!(doc.text(), "a b c");
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].kind, WarningKind::UnknownElement { name: "bold".into() });
    assert_eq!((w[0].pos.line, w[0].pos.column), (1, 10));
    match strict_err("<speak>a <bold>b</bold></speak>") {
        SsmlError::Strict { warning } => assert_eq!(warning.pos.column, 10),
        other => panic!("{other:?}"),
    }
    // Prefixed (foreign-namespace) elements are unknown too.
    let (_, w) = with_warnings(r#"<speak xmlns:x="urn:x"><x:break/>a</speak>"#);
    assert!(matches!(&w[0].kind, WarningKind::UnknownElement { name } if name == "x:break"));
}

#[test]
fn unknown_attribute_warns() {
    let (doc, w) = with_warnings(r#"<speak><prosody speed="fast" rate="slow">x</prosody></speak>"#);
    assert_eq!(doc.segments[0].controls.rate, 0.75);
    assert_eq!(w[0].kind, WarningKind::UnknownAttribute { element: "prosody".into(), attribute: "speed".into() });
    assert!(strict_err(r#"<speak><p foo="1">x</p></speak>"#).to_string().contains("foo"));
}

#[test]
fn nested_speak_is_noted() {
    let (doc, w) = with_warnings("<speak>a<speak>b</speak></speak>");
    assert_eq!(doc.text(), "ab");
    assert!(matches!(w[0].kind, WarningKind::Ignored { .. }));
}

#[test]
fn warnings_are_capped() {
    let xml = format!("<speak>{}</speak>", "<x/>".repeat(1000));
    let opts = ParseOptions { max_warnings: 10, ..ParseOptions::default() };
    let (_, w) = parse(&xml, &opts).unwrap();
    assert_eq!(w.len(), 11);
    assert_eq!(w[10].kind, WarningKind::Suppressed { count: 990 });
}

// ---------------------------------------------------------------- plain text

#[test]
fn plain_text_paragraphs() {
    let doc = plain_text("  Hello   world.\nSame para.\n\n \n Second <not markup> & such. ");
    assert_eq!(texts(&doc), ["Hello world. Same para.", "Second <not markup> & such."]);
    use EventKind::*;
    assert_eq!(kinds(&doc), [ParagraphStart, ParagraphEnd, ParagraphStart, ParagraphEnd]);
    assert!(doc.segments.iter().all(|s| s.controls == Controls::default() && s.lang.is_none()));
    assert!(plain_text("").is_empty());
    assert!(plain_text(" \n\n ").is_empty());
}

// ---------------------------------------------------------------- a realistic document

#[test]
fn realistic_document() {
    let doc = ok(r#"<?xml version="1.0"?>
<speak version="1.1" xml:lang="en-US">
  <voice name="af_heart">
    <p>
      <s>Your order <say-as interpret-as="characters">AB12</say-as> ships on
         <say-as interpret-as="date" format="mdy">12/25/2024</say-as>.</s>
      <s><mark name="price"/>It costs <say-as interpret-as="currency">$4.50</say-as>.
         <break strength="strong"/>
         <prosody rate="slow" volume="+3dB">Thank you<break time="200ms"/> for shopping.</prosody></s>
    </p>
  </voice>
</speak>"#);
    assert_eq!(doc.text(), "Your order AB12 ships on 12/25/2024.It costs $4.50. Thank you for shopping.");
    assert!(doc.segments.iter().all(|s| s.voice.as_ref().and_then(|v| v.name.as_deref()) == Some("af_heart")));
    assert_eq!(doc.total_break_ms(), 950);
}

#[test]
fn extreme_values_stay_finite() {
    for attrs in [
        r#"pitch="+1000000st""#,
        r#"pitch="-1000000st""#,
        r#"pitch="+1000000%""#,
        r#"pitch="-1000000Hz""#,
        r#"pitch="1000000Hz""#,
        r#"range="+1000000st""#,
        r#"rate="+1000000%""#,
        r#"rate="1000000""#,
        r#"volume="+1000000dB""#,
        r#"volume="-1000000dB""#,
        r#"contour="(0%,+1000000st) (100%,-1000000st)""#,
    ] {
        let (doc, _) = with_warnings(&format!(
            "<speak><prosody pitch=\"+10Hz\"><prosody {attrs}><emphasis>x</emphasis></prosody></prosody></speak>"
        ));
        let c = &doc.segments[0].controls;
        assert!(c.rate.is_finite() && c.pitch.ratio.is_finite() && c.pitch.offset_hz.is_finite(), "{attrs}: {c:?}");
        assert!(c.range.ratio.is_finite() && c.range.offset_hz.is_finite(), "{attrs}");
        if let Some(ct) = &c.contour {
            assert!(ct.points.iter().all(|p| p.pitch.ratio.is_finite() && p.pitch.offset_hz.is_finite()));
        }
        assert!(c.pitch.apply(120.0, 120.0).is_finite(), "{attrs}");
    }
    let t = PitchTransform::IDENTITY.then(PitchChange::Ratio(f32::INFINITY)).then(PitchChange::Ratio(f32::NAN));
    assert!(t.ratio.is_finite() && t.offset_hz.is_finite());
}

#[test]
fn empty_xml_lang_clears_the_language() {
    let doc = ok(r#"<speak xml:lang="en"><lang xml:lang="">x</lang>y</speak>"#);
    assert_eq!(doc.segments[0].lang, None);
    assert_eq!(doc.segments[1].lang.as_deref(), Some("en"));
}

#[test]
fn segments_know_where_they_come_from() {
    let xml = "<speak>\n  Hello <sub alias=\"x\">y</sub><phoneme ph=\"a\">b</phoneme> &amp; more</speak>";
    let doc = ok(xml);
    let at: Vec<Position> = doc.segments.iter().map(|s| Position::from_offset(xml, s.source_offset)).collect();
    assert_eq!((at[0].line, at[0].column), (2, 3));
    assert_eq!(&xml[doc.segments[1].source_offset..][..4], "<sub");
    assert_eq!(&xml[doc.segments[2].source_offset..][..8], "<phoneme");
    assert_eq!(&xml[doc.segments[3].source_offset..][..5], "&amp;");
    let text = "\n\n  first\n\n second";
    let doc = plain_text(text);
    assert_eq!(&text[doc.segments[0].source_offset..][..5], "first");
    assert_eq!(&text[doc.segments[1].source_offset..][..6], "second");
}

#[test]
fn character_references_with_leading_zeros() {
    assert_eq!(speak("&#0000000065;&#x000042;").text(), "AB");
}
