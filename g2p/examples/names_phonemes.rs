//! Phonemes of the held-out name sentences with each fallback for unknown words, as TSV
//! (`sentence<TAB>rules<TAB>espeak<TAB>learnt`), for the Whisper check (`scripts/whisper_eval/frontends.py`):
//!
//!     cargo run --release -p warble-g2p --features espeak --example names_phonemes > names.tsv
use warble_g2p::en::Fallback;
use warble_g2p::{EnglishG2p, phonemize_line};

fn main() {
    let text = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/en_names.txt"));
    let rules = EnglishG2p::with_fallback(false, Fallback::Rules).expect("rules need nothing");
    let learnt = EnglishG2p::with_fallback(false, Fallback::Learnt).expect("the learnt reader needs nothing");
    let espeak = match EnglishG2p::with_fallback(false, Fallback::Espeak) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let a = phonemize_line(&rules, line).unwrap_or_default();
        let b = phonemize_line(&espeak, line).unwrap_or_default();
        let c = phonemize_line(&learnt, line).unwrap_or_default();
        println!("{line}\t{a}\t{b}\t{c}");
    }
}
