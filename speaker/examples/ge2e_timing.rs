//! Times `SpeakerEncoder::embed_utterance` on 5 s of speech (the first 5 s of the `long` parity clip):
//! `cargo run --release -p warble-speaker --example ge2e_timing`.

use std::time::Instant;

use burn::tensor::Device;
use warble_speaker::SpeakerEncoder;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/ge2e/long.s16le");
    let bytes = std::fs::read(path)?;
    let wav: Vec<f32> =
        bytes.chunks_exact(2).take(5 * 16_000).map(|c| f32::from(i16::from_le_bytes([c[0], c[1]])) / 32768.0).collect();

    let start = Instant::now();
    let encoder = SpeakerEncoder::new(&Device::flex())?;
    println!("load: {:.1} ms", start.elapsed().as_secs_f64() * 1e3);

    let partials = encoder.embed_partials(&wav)?.len();
    let mut times = Vec::new();
    for _ in 0..10 {
        let start = Instant::now();
        std::hint::black_box(encoder.embed_utterance(&wav)?);
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "embed_utterance, {:.1} s of audio ({partials} partials): median {:.1} ms, min {:.1} ms, max {:.1} ms",
        wav.len() as f64 / 16_000.0,
        times[times.len() / 2],
        times[0],
        times[times.len() - 1]
    );
    Ok(())
}
