//! How a stream's short first call changes the pace: each sentence spoken by the batch path (whole calls) and by
//! the default low-latency stream (a first call of at most 40 symbols, then growing calls), and the frames the
//! first call gives its symbols against the frames the batch gives the same symbols; the GE2E similarity of the
//! two renderings says whether the voice stayed the same. `--context` also renders each first piece alone with
//! 0–40 more symbols of the sentence after it, to show how much right context the durations need.
//!
//! `cargo run --release -p warble-engine --features espeak --example first_call_pace -- SENTENCES.txt [VOICE]
//! [--context] [--cut-context=N]` (English sentences, one per line; `WARBLE_MODEL_DIR` as for `warble`;
//! `--cut-context=N`: the stream's cut calls read N symbols of right context, `WindowPolicy::cut_context_symbols`,
//! 0 for the comma they end with otherwise).

use warble_engine::{Engine, EngineOptions, Input, Latency, SourceNoise, Synthesis, SynthesisOptions, WindowPolicy};
use warble_g2p::Language;

const CONTEXTS: [usize; 5] = [0, 5, 10, 20, 40];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let context = args.iter().any(|a| a == "--context");
    let rest: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let path = rest.first().ok_or("usage: first_call_pace SENTENCES.txt [VOICE] [--context] [--cut-context=N]")?;
    let voice = rest.get(1).map_or("af_heart", |v| v.as_str());
    let engine = Engine::load(&EngineOptions::default())?;
    let mut opts = SynthesisOptions::new(voice);
    opts.noise = SourceNoise::Off;
    if let Some(n) = args.iter().find_map(|a| a.strip_prefix("--cut-context=")) {
        let policy = WindowPolicy { cut_context_symbols: n.parse()?, ..Default::default() };
        opts.latency = Latency::Low(policy);
    }
    let mut batch_opts = opts.clone();
    batch_opts.latency = Latency::Whole;
    let (mut first_frames, mut batch_frames, mut stream_len, mut batch_len) = (0usize, 0usize, 0usize, 0usize);
    let mut sims = Vec::new();
    let mut with_context = [(0usize, 0usize); CONTEXTS.len()];
    println!("symbols\tfirst call frames\tsame symbols in batch\tratio\tstream/batch length\tsimilarity");
    for line in std::fs::read_to_string(path)?.lines().filter(|l| !l.trim().is_empty()) {
        let text = || Input::Text { text: line.into(), lang: Some(Language::EnUs) };
        let batch = Synthesis::collect(engine.stream(text(), &batch_opts)?)?;
        let stream = Synthesis::collect(engine.stream(text(), &opts)?)?;
        if stream.chunks.len() < 2 || batch.chunks.len() != 1 {
            continue; // not cut, or longer than one model call
        }
        let (first, whole) = (&stream.chunks[0], &batch.chunks[0]);
        let p1: Vec<char> = first.phonemes.chars().collect();
        let pb: Vec<char> = whole.phonemes.chars().collect();
        // The symbols both share (the cut piece may end with an added comma).
        let n = (0..=p1.len().min(pb.len())).rev().find(|&n| p1[..n] == pb[..n]).unwrap_or(0);
        if n == 0 {
            continue;
        }
        let f1: usize = first.durations[1..=n].iter().sum();
        let fb: usize = whole.durations[1..=n].iter().sum();
        let (a, b) = (engine.output_embedding(&stream.audio)?, engine.output_embedding(&batch.audio)?);
        let sim: f64 = a.iter().zip(&b).map(|(x, y)| (x * y) as f64).sum();
        (first_frames, batch_frames) = (first_frames + f1, batch_frames + fb);
        (stream_len, batch_len) = (stream_len + stream.audio.len(), batch_len + batch.audio.len());
        sims.push(sim);
        let mut row = format!(
            "{n}\t{f1}\t{fb}\t{:.3}\t{:.3}\t{sim:.4}",
            f1 as f64 / fb as f64,
            stream.audio.len() as f64 / batch.audio.len() as f64
        );
        if context {
            for (k, sums) in CONTEXTS.iter().zip(with_context.iter_mut()) {
                let piece: String = pb[..(n + k).min(pb.len())].iter().collect();
                let alone = engine.synthesize_phonemes(&piece, &batch_opts)?;
                let f: usize = alone.chunks[0].durations[1..=n].iter().sum();
                *sums = (sums.0 + f, sums.1 + fb);
                row += &format!("\t+{k}: {:.3}", f as f64 / fb as f64);
            }
        }
        println!("{row}");
    }
    println!(
        "all: first calls {:.3}× the batch's frames for their symbols; stream {:.3}× the batch's length; GE2E \
         similarity stream/batch mean {:.4}, min {:.4} ({} sentences)",
        first_frames as f64 / batch_frames.max(1) as f64,
        stream_len as f64 / batch_len.max(1) as f64,
        sims.iter().sum::<f64>() / sims.len().max(1) as f64,
        sims.iter().copied().fold(1.0, f64::min),
        sims.len()
    );
    if context {
        for (k, (f, fb)) in CONTEXTS.iter().zip(with_context) {
            println!("first piece alone with {k} more symbols: {:.3}× the batch's frames", f as f64 / fb.max(1) as f64);
        }
    }
    Ok(())
}
