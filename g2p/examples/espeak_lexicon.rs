//! The learnt reader's training data: every word of misaki's gold and silver dictionaries (US and GB keys,
//! lowercased, letters and apostrophes only, 2–32 letters) read as an unknown word through espeak-ng with misaki's
//! mapping, in both dialects: `word<TAB>en-us<TAB>en-gb` lines. `cargo xtask train-g2p` runs it.
//!
//! `cargo run --release -p warble-g2p --features espeak --example espeak_lexicon -- OUT.tsv`

use std::collections::BTreeSet;
use std::io::Write;

use warble_g2p::en::{EnglishG2p, Fallback};

fn main() {
    let out = std::env::args().nth(1).expect("usage: espeak_lexicon OUT.tsv");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let mut words = BTreeSet::new();
    for file in ["us.lex", "gb.lex"] {
        let text = std::fs::read_to_string(dir.join(file)).expect("the packed dictionaries are in g2p/data");
        for line in text.lines() {
            let key = line.split('\t').next().unwrap_or_default().to_lowercase();
            let letters = key.chars().filter(|c| c.is_alphabetic()).count();
            if (2..=32).contains(&letters)
                && key.chars().all(|c| c.is_alphabetic() || c == '\'')
                && key.chars().next().is_some_and(char::is_alphabetic)
            {
                words.insert(key);
            }
        }
    }
    let readers: Vec<EnglishG2p> = [false, true]
        .into_iter()
        .map(|british| EnglishG2p::with_fallback(british, Fallback::Espeak).expect("espeak-ng is installed"))
        .collect();
    let mut file = std::io::BufWriter::new(std::fs::File::create(&out).expect("the output file can be made"));
    let started = std::time::Instant::now();
    let mut kept = 0;
    for word in &words {
        let [Some(us), Some(gb)] = [0, 1].map(|i| readers[i].read_unknown_with(word, Fallback::Espeak)) else {
            continue;
        };
        // A reading with a space is espeak splitting the word (or spelling it): not a single word's reading.
        if us.contains(' ') || gb.contains(' ') {
            continue;
        }
        writeln!(file, "{word}\t{us}\t{gb}").expect("write");
        kept += 1;
    }
    file.flush().expect("write");
    eprintln!("{kept} of {} words read in {:.1} s -> {out}", words.len(), started.elapsed().as_secs_f32());
}
