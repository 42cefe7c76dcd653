//! Word agreement and phoneme error rate of the English G2P against misaki 0.9.4, per category and dialect.
//!
//!     cargo run --release -p warble-g2p [--features espeak] --example evaluate [-- --mismatches N] [--rules|--learnt]
//!
//! Unknown words are read by espeak-ng when the feature is on (as misaki reads them), else, or with `--learnt`, by
//! the learnt reader; `--rules`: by Warble's letter-to-sound rules.

use std::time::Instant;
use warble_g2p::EnglishG2p;
use warble_g2p::en::Fallback;
use warble_g2p::en::eval::{NORMALISED, evaluate, parse_reference};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let show: usize = args
        .iter()
        .position(|a| a == "--mismatches")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let forced = if args.iter().any(|a| a == "--rules") {
        Some(Fallback::Rules)
    } else if args.iter().any(|a| a == "--learnt") {
        Some(Fallback::Learnt)
    } else {
        None
    };
    let tsv = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/en_ref.tsv"));
    let names_tsv = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/en_names_ref.tsv"));
    for (dialect, british) in [("us", false), ("gb", true)] {
        let t = Instant::now();
        let g2p = match forced {
            Some(f) => EnglishG2p::with_fallback(british, f).expect("the pure-Rust fallbacks need nothing"),
            None => EnglishG2p::new(british),
        };
        println!("en-{dialect}: unknown words read by {:?}", g2p.fallback_kind());
        let n = g2p.lexicon_entries();
        let load = t.elapsed();
        let refs = parse_reference(tsv, dialect);
        let t = Instant::now();
        let r = evaluate(&g2p, &refs, show);
        let el = t.elapsed();
        println!(
            "en-{dialect}: {} sentences, lexicon {} keys loaded in {:.1} ms, evaluated in {:.2} s",
            r.sentences,
            n,
            load.as_secs_f64() * 1e3,
            el.as_secs_f64()
        );
        println!("  {:<8} {:>7} {:>9} {:>8}", "category", "words", "exact %", "PER %");
        for (c, s) in r.by_category.iter().filter(|(c, _)| c.as_str() != NORMALISED) {
            println!("  {:<8} {:>7} {:>9.2} {:>8.2}", c, s.words, s.word_rate() * 100.0, s.per() * 100.0);
        }
        println!(
            "  {:<8} {:>7} {:>9.2} {:>8.2}",
            "words",
            r.words.words,
            r.words.word_rate() * 100.0,
            r.words.per() * 100.0
        );
        println!("  {:<8} {:>7} {:>9.2} {:>8.2}", "all", r.all.words, r.all.word_rate() * 100.0, r.all.per() * 100.0);
        let (right, distinct) = r.oov_distinct;
        println!(
            "  distinct unknown words: {right}/{distinct} read as misaki at every occurrence ({:.2} %)",
            right as f64 * 100.0 / distinct.max(1) as f64
        );
        println!(
            "  sentences identical to misaki's output: {:.2} %",
            r.sentences_exact as f64 * 100.0 / r.sentences.max(1) as f64
        );
        let plain = r.sentences - r.sentences_normalised;
        println!(
            "  sentences without normalised tokens: {plain}, identical to misaki's output: {:.2} %",
            r.sentences_exact_plain as f64 * 100.0 / plain.max(1) as f64
        );
        let n = r.by_category.get(NORMALISED).copied().unwrap_or_default();
        println!(
            "  not scored: {} reference tokens in {} sentences read by the normaliser (units, times, dates, Roman \
             numerals, phone numbers, ranges, URLs, ...; misaki does not expand them); {:.2} % still equal misaki's",
            n.words,
            r.sentences_normalised,
            n.word_rate() * 100.0
        );
        for (c, g, e, got) in &r.mismatches {
            println!("    [{c}] {g}: misaki {e} | warble {got}");
        }
        // Held-out personal and place names (none of them in the corpus above), one per frame sentence.
        // A fresh G2P, so no name is in the espeak fallback's cache: the time is what unknown words cost.
        let g2p = if forced.is_some() { g2p } else { EnglishG2p::new(british) };
        let names = parse_reference(names_tsv, dialect);
        let t = Instant::now();
        let r = evaluate(&g2p, &names, show);
        let el = t.elapsed();
        let s = r.by_category.get("name").copied().unwrap_or_default();
        println!(
            "  names (held out): {} names, exact {:.2} %, PER {:.2} %; {} sentences in {:.1} ms",
            s.words,
            s.word_rate() * 100.0,
            s.per() * 100.0,
            names.len(),
            el.as_secs_f64() * 1e3
        );
        for (c, g, e, got) in r.mismatches.iter().filter(|m| m.0 == "name") {
            println!("    [{c}] {g}: misaki {e} | warble {got}");
        }
    }
}
