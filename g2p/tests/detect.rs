//! Detection accuracy on the held-out sets under tests/data/.

use proptest::prelude::*;
use warble_g2p::detect::{detect_line, detect_runs, short_code};

const SENTENCES: &str = include_str!("data/detect_sentences.tsv");
const CODESWITCH: &str = include_str!("data/detect_codeswitch.txt");
const LATIN_SWITCHES: &str = include_str!("data/codeswitch_latin.txt");
const LOANWORDS: &str = include_str!("data/monolingual_loanwords.tsv");
const SHORT_NAMES: &str = include_str!("data/short_names.tsv");

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
    let all = cases(CODESWITCH);
    let mut failures = Vec::new();
    for (i, want) in &all {
        let got = detect_line(i);
        if &got != want {
            failures.push(format!("{i}\n   want {want:?}\n   got  {got:?}"));
        }
        for r in detect_runs(i, None) {
            assert_eq!(&i[r.range.clone()], r.text);
        }
    }
    eprintln!("code-switched: {}/{} exact", all.len() - failures.len(), all.len());
    assert!(all.len() >= 30);
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

/// The cases of a `> input` / `= expected` file: (input, expected runs as `code<TAB>text | ...`).
fn cases(file: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut input = None;
    for line in file.lines() {
        if let Some(i) = line.strip_prefix("> ") {
            input = Some(i.to_string());
        } else if let Some(e) = line.strip_prefix("= ") {
            out.push((input.take().expect("input before expected"), parse_expected(e)));
        }
    }
    out
}

/// Word-level switches inside Latin script (en, es, fr, it, pt): the run sequence exactly right (languages and
/// boundaries) on at least 90 % of the held-out set (measured: see the printed figure and the README).
#[test]
fn latin_code_switching_runs_exact() {
    let all = cases(LATIN_SWITCHES);
    assert!(all.len() >= 100, "{} cases", all.len());
    let mut failures = Vec::new();
    for (input, want) in &all {
        let got = detect_line(input);
        if &got != want {
            failures.push(format!("{input}\n   want {want:?}\n   got  {got:?}"));
        }
    }
    let exact = all.len() - failures.len();
    eprintln!("Latin code-switched: {exact}/{} exact ({:.1} %)", all.len(), 100.0 * exact as f64 / all.len() as f64);
    for f in &failures {
        eprintln!("  {f}");
    }
    assert!(exact as f64 >= 0.95 * all.len() as f64, "{} failures", failures.len());
}

/// Single-language sentences with loanwords, names and short foreign phrases come back as one run of their
/// language; with the 320-sentence set (479 in all), at least 99 % of all single-language sentences do.
#[test]
fn single_language_sentences_stay_whole() {
    let mut total = 0;
    let mut wrong = Vec::new();
    for line in LOANWORDS.lines().chain(SENTENCES.lines()) {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (code, text) = line.split_once('\t').expect("code<TAB>text");
        total += 1;
        let runs = detect_runs(text, None);
        let codes: Vec<&str> = runs.iter().map(|r| short_code(r.language)).collect();
        if codes.len() != 1 || codes[0] != code || runs[0].unsupported.is_some() {
            wrong.push(format!("{code} → {codes:?}: {text}"));
        }
    }
    let ok = total - wrong.len();
    eprintln!(
        "single-language: {ok}/{total} one run of the right language ({:.2} %)",
        100.0 * ok as f64 / total as f64
    );
    for w in &wrong {
        eprintln!("  {w}");
    }
    assert!(total >= 450, "{total} sentences");
    assert!(ok as f64 >= 0.99 * total as f64, "{} wrong", wrong.len());
}

/// Three- to six-word sentences led or carried by foreign names ("Giovanni said ciao."): one run of the right
/// language on at least 49 of the 55 (the measured figure; the misses are English sentences whose only words
/// besides the name are a verb and a loanword, "Dmitri loves gelato.").
#[test]
fn short_name_led_sentences() {
    let mut total = 0;
    let mut wrong = Vec::new();
    for line in SHORT_NAMES.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let (code, text) = line.split_once('\t').expect("code<TAB>text");
        total += 1;
        let codes: Vec<&str> = detect_runs(text, None).iter().map(|r| short_code(r.language)).collect();
        if codes != [code] {
            wrong.push(format!("{code} → {codes:?}: {text}"));
        }
    }
    eprintln!("short name-led sentences: {}/{total} one run of the right language", total - wrong.len());
    for w in &wrong {
        eprintln!("  {w}");
    }
    assert_eq!(total, 55);
    assert!(total - wrong.len() >= 49, "{} wrong", wrong.len());
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
