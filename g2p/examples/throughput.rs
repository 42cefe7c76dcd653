//! Words per second and lexicon start-up of the English G2P, by wall clock and (on Linux) by this thread's CPU
//! time, which stays meaningful on a busy machine.
//!
//!     cargo run --release -p warble-g2p --example throughput

use std::time::Instant;
use warble_g2p::{EnglishG2p, G2p};

/// Nanoseconds this thread has run on a CPU (Linux), if known.
fn cpu_ns() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

fn main() {
    let text = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/en_corpus.txt"));
    let words = text.split_whitespace().count();
    for (name, british) in [("en-us", false), ("en-gb", true)] {
        let (t, c) = (Instant::now(), cpu_ns());
        let g2p = EnglishG2p::new(british);
        let load_wall = t.elapsed().as_secs_f64() * 1e3;
        let load_cpu = c.zip(cpu_ns()).map(|(a, b)| (b - a) / 1e6);
        let (mut best_wall, mut best_cpu) = (f64::MAX, f64::MAX);
        for _ in 0..5 {
            let (t, c) = (Instant::now(), cpu_ns());
            let mut n = 0usize;
            for line in text.lines() {
                n += g2p.phonemize(line).map(|t| t.len()).unwrap_or(0);
            }
            std::hint::black_box(n);
            best_wall = best_wall.min(t.elapsed().as_secs_f64());
            if let Some(cpu) = c.zip(cpu_ns()).map(|(a, b)| (b - a) / 1e9) {
                best_cpu = best_cpu.min(cpu);
            }
        }
        print!("{name}: first load {load_wall:.1} ms wall");
        if let Some(l) = load_cpu {
            print!(" ({l:.1} ms CPU)");
        }
        print!(", {:.0} words/s wall", words as f64 / best_wall);
        if best_cpu < f64::MAX {
            print!(", {:.0} words/s CPU time", words as f64 / best_cpu);
        }
        println!(" ({words} words, best of 5)");
    }
}
