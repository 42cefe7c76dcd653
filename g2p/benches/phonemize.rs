//! Throughput of the English G2P on a long text (the test corpus, about 25,000 words), one core, and the time to
//! load the lexicon.
//!
//!     cargo bench -p warble-g2p --bench phonemize

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use warble_g2p::{EnglishG2p, G2p};

fn bench(c: &mut Criterion) {
    let text = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/en_corpus.txt"));
    let words = text.split_whitespace().count() as u64;
    let mut g = c.benchmark_group("phonemize");
    g.sample_size(10);
    g.throughput(Throughput::Elements(words));
    for (name, british) in [("en-us", false), ("en-gb", true)] {
        let g2p = EnglishG2p::new(british);
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut n = 0usize;
                for line in text.lines() {
                    n += g2p.phonemize(black_box(line)).map(|t| t.len()).unwrap_or(0);
                }
                n
            })
        });
    }
    g.finish();
    let mut l = c.benchmark_group("load");
    l.sample_size(10);
    l.bench_function("lexicon-index-us", |b| b.iter(|| black_box(warble_g2p::en::load_lexicon_fresh(false))));
    l.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
