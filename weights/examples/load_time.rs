//! Measures cold (convert + write cache) and warm (read cache) loads of a checkpoint.
//!
//! `cargo run --release --example load_time -p warble-weights -- [MODEL] [CACHE_DIR]`
//! MODEL defaults to `$WARBLE_MODEL_DIR` or `../shared/models`; CACHE_DIR to a fresh temp
//! folder (emptied first, so the first load is always cold).
use std::path::PathBuf;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let model = args
        .next()
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("WARBLE_MODEL_DIR").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/models"));
    let cache = args.next().map(PathBuf::from).unwrap_or_else(|| std::env::temp_dir().join("warble-load-time-cache"));
    let _ = std::fs::remove_dir_all(&cache);

    let start = Instant::now();
    let direct = warble_weights::load(&model)?;
    println!("direct load (no cache):   {:>8.3} s  ({} tensors)", start.elapsed().as_secs_f64(), direct.len());
    drop(direct);
    for run in ["cold", "warm", "warm"] {
        let (map, info) = warble_weights::load_cached(&model, &cache)?;
        println!(
            "{run} load_cached:         {:>8.3} s  hit={} tensors={} params={} file={}",
            info.elapsed.as_secs_f64(),
            info.cache_hit,
            map.len(),
            map.parameter_count(),
            info.cache_file.display()
        );
        if let Some(note) = info.cache_note {
            println!("  note: {note}");
        }
    }
    let _ = std::fs::remove_dir_all(&cache);
    Ok(())
}
