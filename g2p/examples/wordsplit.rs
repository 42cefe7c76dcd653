//! How many words of the espeak-ng languages come out as tokens of their own (so `--timings` lists words), on
//! the Whisper check's sentences:
//!
//!     cargo run --release -p warble-g2p --features espeak --example wordsplit
use warble_g2p::Language;

fn main() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/whisper_eval/sentences");
    for (lang, file) in [
        (Language::Es, "es"),
        (Language::Fr, "fr"),
        (Language::It, "it"),
        (Language::PtBr, "pt-br"),
        (Language::Hi, "hi"),
    ] {
        let g2p = match warble_g2p::g2p_for(lang) {
            Ok(g) => g,
            Err(e) => {
                eprintln!("{lang}: {e}");
                continue;
            }
        };
        let text = std::fs::read_to_string(format!("{dir}/{file}.txt")).expect("sentence file");
        let (mut words, mut own) = (0, 0);
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            for t in g2p.phonemize(line).unwrap_or_default().iter().filter(|t| !t.is_punctuation) {
                let n = t.graphemes.split_whitespace().count();
                words += n;
                own += usize::from(n == 1);
            }
        }
        println!("{lang}: {own}/{words} words are tokens of their own ({:.1} %)", 100.0 * own as f64 / words as f64);
    }
}
