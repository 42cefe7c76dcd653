//! Malformed input, limits and error positions.

use warble_ssml::*;

fn err(xml: &str) -> SsmlError {
    match parse(xml, &ParseOptions::default()) {
        Ok(d) => panic!("{xml}: expected an error, got {d:?}"),
        Err(e) => e,
    }
}

fn at(e: &SsmlError) -> (usize, usize) {
    let p = e.position().unwrap_or_else(|| panic!("no position: {e}"));
    (p.line, p.column)
}

#[test]
fn mismatched_end_tag_position() {
    let e = err("<speak>\n  <p>text\n  </s>\n</speak>");
    assert!(matches!(e, SsmlError::Xml { .. }), "{e:?}");
    assert_eq!(at(&e), (3, 3));
}

#[test]
fn unclosed_element_points_at_end_and_names_it() {
    let e = err("<speak>\n<p>hello");
    assert_eq!(at(&e), (2, 9));
    assert!(e.to_string().contains("<p>"), "{e}");
}

#[test]
fn unclosed_tag_syntax() {
    let e = err("<speak>\nabc <break time=\"1s\"");
    assert!(matches!(e, SsmlError::Xml { .. }));
    assert_eq!(at(&e), (2, 5));
}

#[test]
fn attribute_syntax_positions() {
    let e = err(r#"<speak><break time=1s/></speak>"#);
    assert_eq!(at(&e), (1, 20));
    let e = err(r#"<speak><p a="1" a="2">x</p></speak>"#);
    assert_eq!(at(&e), (1, 17));
    assert!(e.to_string().contains("column 11"), "{e}");
}

#[test]
fn columns_count_characters_not_bytes() {
    let e = err("<speak>héllo wörld <prosody rate=\"bad\">x</prosody></speak>");
    assert_eq!(at(&e), (1, 20));
    assert_eq!(e.position().unwrap().offset, 21);
}

#[test]
fn doctype_refused() {
    let e = err(r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
]>
<speak>&lol2;</speak>"#);
    assert!(matches!(e, SsmlError::Doctype { .. }), "{e:?}");
    assert_eq!(at(&e), (2, 1));
    assert!(matches!(err(r#"<!DOCTYPE speak SYSTEM "file:///etc/passwd"><speak/>"#), SsmlError::Doctype { .. }));
}

#[test]
fn undefined_entities() {
    let e = err("<speak>a &nbsp; b</speak>");
    assert_eq!(e, SsmlError::UndefinedEntity { pos: Position { offset: 9, line: 1, column: 10 }, name: "nbsp".into() });
    assert!(matches!(err(r#"<speak><sub alias="&foo;">x</sub></speak>"#), SsmlError::Xml { .. }));
    assert!(matches!(err("<speak>a & b</speak>"), SsmlError::Xml { .. }));
}

#[test]
fn bad_character_references() {
    for bad in [
        "&#0;",
        "&#x1;",
        "&#xD800;",
        "&#x110000;",
        "&#;",
        "&#xZZ;",
        "&#99999999999;",
        "&#+65;",
        "&#x+41;",
        "&#-1;",
        "&#x 41;",
    ] {
        let e = err(&format!("<speak>{bad}</speak>"));
        assert!(matches!(e, SsmlError::Xml { .. }), "{bad}: {e:?}");
        assert_eq!(at(&e), (1, 8), "{bad}");
    }
}

#[test]
fn root_must_be_speak() {
    assert!(matches!(err("<p>hello</p>"), SsmlError::NotSsml { .. }));
    assert!(matches!(err(""), SsmlError::NotSsml { .. }));
    assert!(matches!(err("just text"), SsmlError::NotSsml { .. }));
    assert!(matches!(err("<!-- only a comment -->"), SsmlError::NotSsml { .. }));
    let e = err("<speak>a</speak><speak>b</speak>");
    assert!(matches!(e, SsmlError::NotSsml { .. }));
    assert_eq!(at(&e), (1, 17));
    assert!(matches!(err("<speak>a</speak>trailing"), SsmlError::NotSsml { .. }));
    assert!(matches!(err("x<speak>a</speak>"), SsmlError::NotSsml { .. }));
    // Whitespace and comments around the root are fine.
    assert!(parse("\n <!-- c --> <speak>a</speak>\n <!-- c -->\n", &ParseOptions::default()).is_ok());
}

#[test]
fn input_size_cap() {
    let opts = ParseOptions { max_input_bytes: 16, ..ParseOptions::default() };
    let e = parse("<speak>0123456789</speak>", &opts).unwrap_err();
    assert_eq!(e, SsmlError::InputTooLarge { len: 25, limit: 16 });
    assert_eq!(e.position(), None);
}

#[test]
fn depth_limit() {
    let opts = ParseOptions::default();
    let ok = format!("<speak>{}x{}</speak>", "<s>".repeat(255), "</s>".repeat(255));
    assert!(parse(&ok, &opts).is_ok());
    let deep = format!("<speak>{}x{}</speak>", "<s>".repeat(256), "</s>".repeat(256));
    let e = parse(&deep, &opts).unwrap_err();
    assert!(matches!(e, SsmlError::TooDeep { limit: 256, .. }), "{e:?}");
    assert_eq!(e.position().unwrap().offset, 7 + 3 * 255);
}

#[test]
fn hundred_thousand_levels_is_a_clean_error() {
    let n = 100_000;
    let mut s = String::with_capacity(n * 20);
    s.push_str("<speak>");
    for _ in 0..n {
        s.push_str("<prosody rate=\"+1%\">");
    }
    s.push('x');
    for _ in 0..n {
        s.push_str("</prosody>");
    }
    s.push_str("</speak>");
    let opts = ParseOptions { max_input_bytes: s.len(), ..ParseOptions::default() };
    assert!(matches!(parse(&s, &opts), Err(SsmlError::TooDeep { .. })));
    // Even unclosed (so the parser never sees an end tag).
    let open = format!("<speak>{}", "<p>".repeat(n));
    assert!(matches!(parse(&open, &ParseOptions::default()), Err(SsmlError::TooDeep { .. })));
    // And with a raised depth limit, the parser itself never recurses.
    let opts = ParseOptions { max_input_bytes: s.len(), max_depth: usize::MAX, ..ParseOptions::default() };
    let (doc, _) = parse(&s, &opts).unwrap();
    assert_eq!(doc.segments.len(), 1);
    assert_eq!(doc.segments[0].controls.rate, RATE_MAX);
}

#[test]
fn error_messages_are_readable() {
    let e = err(r#"<speak><break strength="loud"/></speak>"#);
    let msg = e.to_string();
    assert!(
        msg.contains("\"loud\"") && msg.contains("strength") && msg.contains("<break>") && msg.contains("x-weak"),
        "{msg}"
    );
    let e = err("<speak><mark/></speak>");
    assert_eq!(e.to_string(), "<mark> at line 1, column 8 requires the attribute `name`");
}

#[test]
fn errors_are_std_errors() {
    fn is_error<E: std::error::Error + Send + Sync + 'static>(_: &E) {}
    is_error(&err("<p/>"));
    let w = Warning { pos: Position::default(), kind: WarningKind::UnknownElement { name: "x".into() } };
    is_error(&w);
    assert!(w.to_string().contains("<x>"));
}

#[test]
fn attribute_count_cap() {
    let many: String = (0..MAX_ATTRIBUTES + 1).map(|i| format!(" a{i}=\"\"")).collect();
    let e = err(&format!("<speak><p{many}>x</p></speak>"));
    assert!(matches!(e, SsmlError::TooManyAttributes { ref element, .. } if element == "p"), "{e:?}");
    assert_eq!(at(&e), (1, 8));
    // A megabyte of attributes on one element is rejected quickly (no quadratic scan).
    let huge: String = (0..60_000).map(|i| format!(" a{i}=\"\"")).collect();
    let xml = format!("<speak{huge}/>");
    let opts = ParseOptions { max_input_bytes: xml.len(), ..ParseOptions::default() };
    let t = std::time::Instant::now();
    assert!(matches!(parse(&xml, &opts), Err(SsmlError::TooManyAttributes { .. })));
    assert!(t.elapsed().as_secs() < 5);
}

#[test]
fn megabyte_documents_parse_quickly() {
    let unit = r#"<s><prosody rate="+1%" pitch="+1st" contour="(0%,+1st) (100%,-1st)">word <emphasis>x</emphasis></prosody><break time="1ms"/><x/></s>"#;
    let xml = format!("<speak>{}</speak>", unit.repeat((1 << 20) / unit.len() - 1));
    let t = std::time::Instant::now();
    let (doc, warnings) = parse(&xml, &ParseOptions::default()).unwrap();
    assert!(t.elapsed().as_secs() < 10, "{:?}", t.elapsed());
    assert!(doc.segments.len() > 10_000);
    assert_eq!(warnings.len(), 257);
}
