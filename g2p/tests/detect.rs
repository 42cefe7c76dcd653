//! Detection accuracy on the held-out sets under tests/data/.

use proptest::prelude::*;
use warble_g2p::detect::{detect_line, detect_runs, short_code};

const SENTENCES: &str = include_str!("data/detect_sentences.tsv");
const CODESWITCH: &str = include_str!("data/detect_codeswitch.txt");

/// The language of a whole sentence: the language that covers the most bytes of its runs.
fn sentence_language(text: &str) -> String {
    let mut best = ("none".to_string(), 0usize);
    let mut totals: Vec<(String, usize)> = Vec::new();
    for r in detect_runs(text, None) {
        let code = short_code(r.language).to_string();
        match totals.iter_mut().find(|(c, _)| *c == code) {
            Some(t) => t.1 += r.text.len(),
            None => totals.push((code, r.text.len())),
        }
    }
    for (c, n) in totals {
        if n > best.1 {
            best = (c, n);
        }
    }
    best.0
}

#[test]
fn sentence_accuracy_at_least_95_percent() {
    let mut total = 0;
    let mut correct = 0;
    let mut per_lang: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
    let mut misses = Vec::new();
    for line in SENTENCES.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (code, text) = line.split_once('\t').expect("code<TAB>text");
        let n = text.chars().count();
        assert!((20..=200).contains(&n) || !text.is_ascii() && n >= 10, "length of {text:?}");
        let got = sentence_language(text);
        total += 1;
        let e = per_lang.entry(code.to_string()).or_default();
        e.0 += 1;
        if got == code {
            correct += 1;
            e.1 += 1;
        } else {
            misses.push(format!("{code} → {got}: {text}"));
        }
    }
    let acc = correct as f64 / total as f64;
    eprintln!("sentence accuracy {correct}/{total} = {:.2}%", 100.0 * acc);
    for (l, (n, ok)) in &per_lang {
        eprintln!("  {l}: {ok}/{n}");
        assert!(*n >= 40, "{l} has only {n} sentences");
    }
    for m in &misses {
        eprintln!("  miss {m}");
    }
    assert!(acc >= 0.95, "accuracy {acc}");
}

fn parse_expected(e: &str) -> String {
    e.split(" | ")
        .map(|pair| {
            let (code, text) = pair.split_once(':').expect("code:text");
            format!("{code}\t{text}")
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

#[test]
fn code_switched_boundaries_exact() {
    let mut cases = 0;
    let mut failures = Vec::new();
    let mut input = None;
    for line in CODESWITCH.lines() {
        if let Some(i) = line.strip_prefix("> ") {
            input = Some(i.to_string());
        } else if let Some(e) = line.strip_prefix("= ") {
            let i = input.take().expect("input before expected");
            cases += 1;
            let got = detect_line(&i);
            let want = parse_expected(e);
            if got != want {
                failures.push(format!("{i}\n   want {want:?}\n   got  {got:?}"));
            }
            for r in detect_runs(&i, None) {
                assert_eq!(&i[r.range.clone()], r.text);
            }
        }
    }
    eprintln!("code-switched: {}/{} exact", cases - failures.len(), cases);
    assert!(cases >= 30);
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]
    #[test]
    fn detect_never_panics(s in any::<String>()) {
        let runs = detect_runs(&s, None);
        let mut last = 0;
        for r in &runs {
            prop_assert!(r.range.start >= last);
            prop_assert!(r.range.start < r.range.end);
            prop_assert_eq!(&s[r.range.clone()], r.text.as_str());
            last = r.range.end;
        }
        let _ = detect_line(&s);
    }

    #[test]
    fn detect_mixed_scripts_never_panics(s in "[a-zé 。、，.!?「」«»\u{3041}-\u{3096}\u{4e00}-\u{4e40}\u{0900}-\u{0970}\u{1F355}\u{0300}\u{200D}0-9]{0,60}") {
        let runs = detect_runs(&s, Some(warble_g2p::Language::Ja));
        for r in &runs {
            prop_assert_eq!(&s[r.range.clone()], r.text.as_str());
        }
    }
}
