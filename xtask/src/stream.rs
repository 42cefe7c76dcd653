//! `cargo xtask bench --stream`: first-audio latency, the stream's lead over real-time playback, and streaming
//! throughput against batch synthesis of the same text, all in one run on a warm engine.

use std::time::{Duration, Instant};

use anyhow::Result;
use warble_engine::{Engine, Input, Latency, SAMPLE_RATE, Synthesis, SynthesisOptions, WindowPolicy};

use crate::{ms, percentile};

/// A one-sentence request (20 words).
pub const SENTENCE: &str =
    "The quick brown fox jumped over the lazy dog while the farmer watched from the porch with a cup of tea.";
/// A three-sentence paragraph.
pub const PARAGRAPH: &str = "Warble speaks text as it arrives, one window at a time. The first audio comes out long before the sentence \
is finished, and the rest follows without a gap. Nothing waits for the whole paragraph, so a listener hears the answer almost at once.";

const POOL: &[&str] = &[
    "The history of the city began with a small market on the river, where farmers sold grain and wool.",
    "Over the centuries, bridges, churches and a university grew around it, and the roads filled with travellers.",
    "In the spring of 1850, a flood swept away the old mill, and the town council voted to build a stone dam.",
    "Today, about 120,000 people live there; many of them work in schools, hospitals and small workshops.",
    "Visitors still walk along the water in the evening, when the lamps are lit and the bells ring for the hour.",
    "She asked whether the museum opened at nine, and the guard said it did, except on public holidays.",
];

/// A text of about `seconds` of speech (≈ 2.6 words per second).
pub fn long_text(seconds: f64) -> String {
    let words_needed = (seconds * 2.6) as usize;
    let mut out = String::new();
    let mut words = 0;
    let mut i = 0;
    while words < words_needed {
        let s = POOL[i % POOL.len()];
        words += s.split_whitespace().count();
        out.push_str(s);
        out.push(if i % 4 == 3 { '\n' } else { ' ' });
        i += 1;
    }
    out
}

pub fn run(engine: &Engine, runs: usize, long_seconds: f64) -> Result<()> {
    // The defaults a user gets (seeded source noise, low latency).
    let opts = SynthesisOptions::new("af_heart");
    println!("# Streaming benchmark ({runs} timed runs after one warm-up; first audio = call → first sample)\n");
    println!(
        "| request | words | audio s | batch wall s | stream first audio p50 / p95 ms | stream wall s | stream / batch throughput (audio s per s) |"
    );
    println!("|---|---|---|---|---|---|---|");
    // The same requests with the first window in the model's own precision (no INT8 first window), for the
    // comparison in the same run.
    let mut plain = opts.clone();
    plain.latency = Latency::Low(WindowPolicy {
        int8_first_call: false,
        int8_first_call_albert: false,
        int8_first_call_curves: false,
        ..Default::default()
    });
    for (name, text, opts) in [
        ("one sentence", SENTENCE, &opts),
        ("3-sentence paragraph", PARAGRAPH, &opts),
        ("one sentence, first call not INT8", SENTENCE, &plain),
        ("3-sentence paragraph, first call not INT8", PARAGRAPH, &plain),
    ] {
        let _ = engine.synthesize_text(text, None, opts)?;
        let mut firsts = Vec::new();
        let mut stream_walls = Vec::new();
        let mut batch_walls = Vec::new();
        let (mut audio, mut stream_audio) = (0.0, 0.0);
        for _ in 0..runs {
            let t = Instant::now();
            let s = engine.synthesize_text(text, None, opts)?;
            batch_walls.push(t.elapsed());
            audio = s.seconds();
            let t = Instant::now();
            let mut first = None;
            for c in engine.stream(Input::text(text), opts)? {
                let c = c?;
                stream_audio = (c.start_sample + c.samples.len() as u64) as f64 / f64::from(SAMPLE_RATE);
                if first.is_none() && !c.samples.is_empty() {
                    first = Some(t.elapsed());
                    if std::env::var_os("WARBLE_BENCH_VERBOSE").is_some() {
                        let x = c.times;
                        eprintln!(
                            "first chunk: {} samples; ALBERT {:.0} predictor {:.0} text enc {:.0} source {:.0} decoder {:.0} generator {:.0} iSTFT {:.0} ms; call {:?}",
                            c.samples.len(),
                            ms(x.albert),
                            ms(x.predictor),
                            ms(x.text_encoder),
                            ms(x.source),
                            ms(x.decoder),
                            ms(x.generator),
                            ms(x.istft),
                            c.calls.first().map(|c| c.phonemes.chars().count())
                        );
                    }
                }
            }
            stream_walls.push(t.elapsed());
            firsts.push(first.unwrap_or_default());
        }
        firsts.sort();
        stream_walls.sort();
        batch_walls.sort();
        let (b, s) = (percentile(&batch_walls, 0.5), percentile(&stream_walls, 0.5));
        println!(
            "| {name} | {} | {audio:.2} | {:.3} | {:.0} / {:.0} | {:.3} | {:.2} |",
            text.split_whitespace().count(),
            b.as_secs_f64(),
            ms(percentile(&firsts, 0.5)),
            ms(percentile(&firsts, 0.95)),
            s.as_secs_f64(),
            (stream_audio / s.as_secs_f64()) / (audio / b.as_secs_f64()),
        );
    }

    // Incremental input: words pushed one by one as an LLM would send them; latency from the push that lets
    // the first unit complete to its first audio.
    let mut firsts = Vec::new();
    for _ in 0..runs {
        let mut session = engine.session(None, &opts)?;
        let mut first = None;
        for word in PARAGRAPH.split_inclusive(' ') {
            let t = Instant::now();
            session.push(word);
            if let Some(c) = session.next_chunk() {
                let c = c?;
                if !c.samples.is_empty() {
                    first = Some(t.elapsed());
                    break;
                }
            }
        }
        firsts.push(first.unwrap_or_default());
    }
    firsts.sort();
    println!(
        "| incremental (word by word, paragraph) | | | | {:.0} / {:.0} | | |",
        ms(percentile(&firsts, 0.5)),
        ms(percentile(&firsts, 0.95))
    );

    // A long text: the stream must stay ahead of 1× playback once it has started.
    if long_seconds > 0.0 {
        let text = long_text(long_seconds);
        let t0 = Instant::now();
        let mut started: Option<Duration> = None;
        let (mut min_lead, mut min_lead_at, mut min_lead_later) = (f64::INFINITY, 0.0, f64::INFINITY);
        let mut after_first_call = false;
        let mut audio_samples = 0u64;
        for c in engine.stream(Input::text(text.clone()), &opts)? {
            let c = c?;
            let now = t0.elapsed();
            if c.samples.is_empty() {
                continue;
            }
            match started {
                None => started = Some(now),
                Some(s) => {
                    // Playback reaches this chunk's first sample at s + start/24000.
                    let at = c.start_sample as f64 / f64::from(SAMPLE_RATE);
                    let lead = s.as_secs_f64() + at - now.as_secs_f64();
                    if lead < min_lead {
                        (min_lead, min_lead_at) = (lead, at);
                    }
                    // Lead at the start of the second call onwards (the first call's windows are the start-up).
                    after_first_call |= c.calls.iter().any(|k| k.start_sample > 0);
                    if after_first_call {
                        min_lead_later = min_lead_later.min(lead);
                    }
                }
            }
            audio_samples = c.start_sample + c.samples.len() as u64;
        }
        let stream_wall = t0.elapsed();
        let t = Instant::now();
        let batch = engine.synthesize_text(&text, None, &opts)?;
        let batch_wall = t.elapsed();
        let secs = audio_samples as f64 / f64::from(SAMPLE_RATE);
        println!(
            "\nlong text: {:.1} s of audio ({} words); stream wall {:.1} s, batch wall {:.1} s (batch audio {:.1} s): \
             streaming throughput (audio seconds per second) {:.1} % of batch; minimum lead over 1× playback after the first chunk {:.2} s \
             (at {:.1} s of audio), from the second model call on {:.2} s",
            secs,
            text.split_whitespace().count(),
            stream_wall.as_secs_f64(),
            batch_wall.as_secs_f64(),
            batch.seconds(),
            100.0 * (secs / stream_wall.as_secs_f64()) / (batch.seconds() / batch_wall.as_secs_f64()),
            min_lead,
            min_lead_at,
            min_lead_later
        );
    }
    // Whole-call streaming, for comparison: the latency a stream without windows would have.
    let mut whole = opts.clone();
    whole.latency = Latency::Whole;
    let t = Instant::now();
    let mut first = None;
    let mut all = Synthesis::default();
    for c in engine.stream(Input::text(SENTENCE), &whole)? {
        let c = c?;
        if first.is_none() && !c.samples.is_empty() {
            first = Some(t.elapsed());
        }
        all.push(c);
    }
    println!(
        "\none sentence streamed with whole calls (no windows, no short first call): first audio {:.0} ms",
        ms(first.unwrap_or_default())
    );
    Ok(())
}
