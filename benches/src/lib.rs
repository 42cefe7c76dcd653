//! Criterion benchmarks of Warble (see `benches/`); `cargo bench -p warble-benches`.
