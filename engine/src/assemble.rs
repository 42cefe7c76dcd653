//! The assembler: model calls' audio (window by window), breaks and marks → the output timeline, released in
//! order and never changed after release.
//!
//! Each call's audio starts and ends on the pad token's near-silence. How a call joins what came before
//! depends on what lies between: another call (a 2 ms raised-cosine fade on both sides), a break (the quiet
//! edges are cut down to 5 ms, faded, and digital zeros fill the exact break length, counted from the last
//! audible 5 ms of the call before: the model often stretches a final word past its sound, and that quiet
//! stretch counts towards the break), or a cut the planner made
//! inside a phrase (the same as a zero-length break: no pause). The part of the previous call that a join may
//! still change — its quiet end — is held back until the next call (or the end) says what follows; it is
//! silence, so holding it costs no audible latency.

use crate::plan::MarkAt;
use crate::text::{WordSpan, is_pause_symbol};
use crate::{ChunkTiming, MarkTiming, SAMPLE_RATE, SAMPLES_PER_FRAME, TokenTiming, WordTiming};

/// Samples faded at each join between calls.
const JOIN_FADE: usize = 48;

/// Samples of a call's quiet edge kept (and faded) on each side of a break: 5 ms.
const EDGE_KEEP: usize = 120;

/// Windows (5 ms) in which released audio is judged audible or quiet.
const QUIET_WINDOW: usize = 120;
/// RMS below which a window is quiet (−40 dBFS): the decaying end of a word the model stretches past its sound.
/// (At −46 dBFS, the faint residue an INT8 or windowed first call leaves in a decayed ending counted as sound.)
const QUIET_RMS: f32 = 0.01;

/// What was last placed on the timeline: how to join the next call.
#[derive(Debug, Clone, Copy)]
enum Join {
    /// Start of the output (or of a new utterance after a flush).
    Start,
    /// After a call whose trailing quiet edge is this many samples.
    Chunk { pad: usize },
    /// After a break (silence still to place, in samples) following a call with this trailing quiet edge; `quiet`:
    /// how much already released audio before that edge was quiet (it counts towards the break).
    Silence { samples: usize, pad: usize, quiet: usize },
}

/// Timing information waiting for the audio it belongs to.
#[derive(Debug)]
enum Event {
    Word(WordTiming),
    Token(TokenTiming),
    Mark(MarkTiming),
}

impl Event {
    fn time(&self) -> f64 {
        match self {
            Event::Word(w) => w.start,
            Event::Token(t) => t.start,
            Event::Mark(m) => m.time,
        }
    }
}

/// What the assembler releases: final samples and the timings that fall inside them.
#[derive(Debug, Default)]
pub(crate) struct Released {
    pub samples: Vec<f32>,
    pub start_sample: u64,
    pub words: Vec<WordTiming>,
    pub tokens: Vec<TokenTiming>,
    pub marks: Vec<MarkTiming>,
    pub calls: Vec<ChunkTiming>,
}

impl Released {
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
            && self.words.is_empty()
            && self.tokens.is_empty()
            && self.marks.is_empty()
            && self.calls.is_empty()
    }
}

/// The call being placed.
#[derive(Debug)]
struct Current {
    /// Samples of the call seen so far.
    pos: usize,
    len: usize,
    /// Leading samples dropped (a break replaces the quiet start).
    skip: usize,
    /// Fade-in after the skipped part: (samples, raised cosine instead of linear).
    fade_in: (usize, bool),
    /// The trailing samples held back (the quiet end a later join may trim or fade).
    hold: usize,
}

#[derive(Debug)]
pub(crate) struct Assembler {
    /// Samples released so far.
    emitted: u64,
    /// Samples placed but held back, right after the released ones.
    tail: Vec<f32>,
    /// Samples released by the current step, not yet taken.
    out: Vec<f32>,
    out_start: u64,
    join: Join,
    current: Option<Current>,
    events: Vec<Event>,
    calls: Vec<ChunkTiming>,
    /// Trailing quiet samples of the released audio (whole quiet windows), and the window being measured.
    quiet: usize,
    window: (f32, usize),
}

impl Assembler {
    pub fn new() -> Self {
        Self {
            emitted: 0,
            tail: Vec::new(),
            out: Vec::new(),
            out_start: 0,
            join: Join::Start,
            current: None,
            events: Vec::new(),
            calls: Vec::new(),
            quiet: 0,
            window: (0.0, 0),
        }
    }

    /// Samples placed on the timeline so far (released or held).
    fn placed(&self) -> u64 {
        self.emitted + self.tail.len() as u64
    }

    fn release(&mut self, samples: &[f32]) {
        if self.out.is_empty() {
            self.out_start = self.emitted;
        }
        self.out.extend_from_slice(samples);
        self.emitted += samples.len() as u64;
        for &x in samples {
            self.window.0 += x * x;
            self.window.1 += 1;
            if self.window.1 == QUIET_WINDOW {
                let rms = (self.window.0 / QUIET_WINDOW as f32).sqrt();
                self.quiet = if rms < QUIET_RMS { self.quiet + QUIET_WINDOW } else { 0 };
                self.window = (0.0, 0);
            }
        }
    }

    fn release_tail(&mut self) {
        let tail = std::mem::take(&mut self.tail);
        self.release(&tail);
    }

    /// A break of `ms` milliseconds.
    pub fn add_break(&mut self, ms: u32) {
        let samples = (ms as usize * SAMPLE_RATE as usize).div_ceil(1000);
        self.join = match self.join {
            Join::Start => Join::Silence { samples, pad: 0, quiet: 0 },
            // The break is measured on the audio: from the last audible window of the call before.
            Join::Chunk { pad } => Join::Silence { samples, pad, quiet: self.quiet },
            Join::Silence { samples: s, pad, quiet } => Join::Silence { samples: s + samples, pad, quiet },
        };
    }

    /// A mark between calls: at the end of the last sounding symbol plus any break since.
    pub fn add_mark(&mut self, name: String) {
        let mut t = self.placed();
        if let Join::Silence { samples, pad, quiet } = self.join {
            t = t.saturating_sub((pad + quiet) as u64) + samples as u64;
        }
        self.events.push(Event::Mark(MarkTiming { name, time: seconds(t) }));
    }

    /// The next call starts; `len` is its length in samples (`600 · Σ durations`). Works out the join and every
    /// timing of the call. `seamless`: the previous call was cut inside a phrase, join without a pause.
    pub fn begin_call(
        &mut self,
        phonemes: String,
        durations: Vec<usize>,
        f0: Vec<f32>,
        words: Vec<WordSpan>,
        marks: Vec<(String, MarkAt)>,
        seamless: bool,
    ) {
        let len = durations.iter().sum::<usize>() * SAMPLES_PER_FRAME;
        let (lead_pad, mut trail_pad) = quiet_edges(&phonemes, &durations);
        // An end pad without frames (the model gives every position at least one): the call was cut inside a
        // sentence and rendered with right context, so it ends in speech. Its last 5 ms are held back and
        // faded out at the seamless join, as a quiet edge would be.
        if durations.len() >= 2 && durations.last() == Some(&0) {
            trail_pad = EDGE_KEEP.min(len);
        }
        if seamless && let Join::Chunk { pad } = self.join {
            self.join = Join::Silence { samples: 0, pad, quiet: 0 };
        }
        let (start, skip, fade_in) = match self.join {
            Join::Start => (self.placed(), 0, (0, false)),
            Join::Chunk { .. } => {
                let n = JOIN_FADE.min(self.tail.len()).min(len);
                let t = self.tail.len();
                for i in 0..n {
                    self.tail[t - 1 - i] *= raised_cosine(i, n);
                }
                let start = self.placed();
                self.release_tail();
                (start, 0, (n, true))
            }
            Join::Silence { samples, pad, quiet } => {
                let keep_prev = trim_quiet_tail(&mut self.tail, pad);
                let keep_next = EDGE_KEEP.min(lead_pad);
                let zeros = samples.saturating_sub(quiet + keep_prev + keep_next);
                self.release_tail();
                self.release(&vec![0.0; zeros]);
                let skip = (lead_pad - keep_next).min(len);
                // Frame 0 of the call would have been `skip` samples earlier.
                (self.placed().saturating_sub(skip as u64), skip, (keep_next, false))
            }
        };
        self.join = Join::Chunk { pad: trail_pad };
        self.current = Some(Current { pos: 0, len, skip, fade_in, hold: trail_pad.max(JOIN_FADE).min(len) });

        // Timings: frame edges of every model position.
        let mut edges = Vec::with_capacity(durations.len() + 1);
        let mut acc = 0usize;
        for &d in &durations {
            edges.push(acc);
            acc += d;
        }
        edges.push(acc);
        let at = |frame: usize| seconds(start + (frame * SAMPLES_PER_FRAME) as u64);
        let edge = |i: usize| edges[i.min(edges.len() - 1)];
        let mut events: Vec<Event> = Vec::new();
        for w in words {
            // Symbol i of the call is model position i + 1 (after the leading pad).
            events.push(Event::Word(WordTiming {
                text: w.text,
                start: at(edge(w.start + 1)),
                end: at(edge(w.end + 1)),
            }));
        }
        for (i, sym) in phonemes.chars().enumerate() {
            events.push(Event::Token(TokenTiming { symbol: sym, start: at(edge(i + 1)), end: at(edge(i + 2)) }));
        }
        for (name, m) in marks {
            let time = match m {
                MarkAt::Symbol(i) => at(edge(i + 1)),
                MarkAt::End => seconds((start + len as u64).saturating_sub(trail_pad as u64)),
            };
            events.push(Event::Mark(MarkTiming { name, time }));
        }
        // Words, tokens and marks interleave by time; a stable sort keeps document order among equal times.
        events.sort_by(|a, b| a.time().total_cmp(&b.time()));
        self.events.extend(events);
        self.calls.push(ChunkTiming { phonemes, durations, start_sample: start as usize, f0 });
    }

    /// The next samples of the current call (windows in order).
    pub fn push_audio(&mut self, samples: &[f32]) {
        let Some(mut c) = self.current.take() else {
            return;
        };
        let held_from = c.len - c.hold;
        let mut direct = Vec::with_capacity(samples.len());
        for &x in samples {
            let p = c.pos;
            c.pos += 1;
            if p < c.skip || p >= c.len {
                continue;
            }
            let k = p - c.skip;
            let x = if k < c.fade_in.0 {
                let n = c.fade_in.0;
                x * if c.fade_in.1 { raised_cosine(k, n) } else { k as f32 / n as f32 }
            } else {
                x
            };
            if p >= held_from {
                self.tail.push(x);
            } else {
                direct.push(x);
            }
        }
        self.release(&direct);
        if c.pos < c.len {
            self.current = Some(c);
        }
    }

    /// End of the output (or of an utterance, with `flush`): a pending break is placed after the last sounding
    /// symbol, the held tail is released, and the next call starts a new utterance.
    pub fn finish(&mut self) {
        if let Join::Silence { samples, pad, quiet } = self.join {
            let kept = trim_quiet_tail(&mut self.tail, pad);
            self.release_tail();
            self.release(&vec![0.0; samples.saturating_sub(quiet + kept)]);
        } else {
            self.release_tail();
        }
        self.current = None;
        self.join = Join::Start;
    }

    /// Takes what was released since the last call, with the timings inside it (all of them with `all`).
    pub fn take(&mut self, all: bool) -> Released {
        let samples = std::mem::take(&mut self.out);
        let start_sample = if samples.is_empty() { self.emitted } else { self.out_start };
        let limit = seconds(self.emitted);
        let n = if all { self.events.len() } else { self.events.iter().take_while(|e| e.time() < limit).count() };
        let mut r = Released { samples, start_sample, calls: std::mem::take(&mut self.calls), ..Default::default() };
        for e in self.events.drain(..n) {
            match e {
                Event::Word(w) => r.words.push(w),
                Event::Token(t) => r.tokens.push(t),
                Event::Mark(m) => r.marks.push(m),
            }
        }
        r
    }
}

fn seconds(samples: u64) -> f64 {
    samples as f64 / f64::from(SAMPLE_RATE)
}

fn raised_cosine(i: usize, n: usize) -> f32 {
    0.5 - 0.5 * (std::f32::consts::PI * i as f32 / n as f32).cos()
}

/// Samples before the first sounding symbol and after the last one (the pads plus any edge punctuation): the
/// part of a call that a break's silence replaces.
fn quiet_edges(phonemes: &str, durations: &[usize]) -> (usize, usize) {
    let symbols: Vec<char> = phonemes.chars().collect();
    let n = durations.len();
    if n < 2 || symbols.len() + 2 != n {
        let d = |i: usize| durations.get(i).copied().unwrap_or(0);
        return (d(0) * SAMPLES_PER_FRAME, d(n.saturating_sub(1)) * SAMPLES_PER_FRAME);
    }
    let lead_symbols = symbols.iter().take_while(|&&c| is_pause_symbol(c)).count();
    let trail_symbols =
        symbols.iter().rev().take_while(|&&c| is_pause_symbol(c)).count().min(symbols.len() - lead_symbols);
    let lead: usize = durations[..=lead_symbols].iter().sum();
    let trail: usize = durations[n - 1 - trail_symbols..].iter().sum();
    (lead * SAMPLES_PER_FRAME, trail * SAMPLES_PER_FRAME)
}

/// Cuts the last `quiet` samples (a call's quiet edge) down to `EDGE_KEEP`, faded out; returns how many were kept.
fn trim_quiet_tail(tail: &mut Vec<f32>, quiet: usize) -> usize {
    let keep = EDGE_KEEP.min(quiet).min(tail.len());
    let cut = quiet.min(tail.len()) - keep;
    tail.truncate(tail.len() - cut);
    let len = tail.len();
    for i in 0..keep {
        tail[len - 1 - i] *= i as f32 / keep as f32;
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(a: &mut Assembler, phonemes: &str, durations: Vec<usize>, audio: &[f32], window: usize, seamless: bool) {
        a.begin_call(phonemes.into(), durations, Vec::new(), Vec::new(), Vec::new(), seamless);
        for w in audio.chunks(window) {
            a.push_audio(w);
        }
    }

    fn all(a: &mut Assembler) -> Vec<f32> {
        a.finish();
        a.take(true).samples
    }

    /// The timeline does not depend on how a call's audio is cut into windows.
    #[test]
    fn windows_do_not_change_the_output() {
        let d1 = vec![2, 3, 4, 2, 3];
        let d2 = vec![1, 2, 2, 5];
        let a1: Vec<f32> = (0..14 * SAMPLES_PER_FRAME).map(|i| (i as f32 * 0.01).sin()).collect();
        let a2: Vec<f32> = (0..10 * SAMPLES_PER_FRAME).map(|i| (i as f32 * 0.02).cos()).collect();
        let mut reference = None;
        for window in [1, 7, 600, 3000, 100_000] {
            let mut a = Assembler::new();
            call(&mut a, "abc", d1.clone(), &a1, window, false);
            a.add_break(300);
            call(&mut a, "a.", d2.clone(), &a2, window, false);
            call(&mut a, "xy", vec![1, 1, 1, 1], &a1[..4 * SAMPLES_PER_FRAME], window, true);
            let out = all(&mut a);
            match &reference {
                None => reference = Some(out),
                Some(r) => assert_eq!(&out, r, "window {window}"),
            }
        }
    }

    /// A call rendered with right context (end pad without frames) ends in speech: all its audio is kept, its
    /// last 5 ms fade out, and the next call follows with 5 ms of its lead pad and no pause.
    #[test]
    fn a_call_cut_with_context_fades_out_and_the_next_follows_at_once() {
        let mut a = Assembler::new();
        let first = vec![0.5f32; 5 * SAMPLES_PER_FRAME];
        call(&mut a, "ab", vec![2, 1, 2, 0], &first, 700, false);
        let mut second = vec![0.0f32; 3 * SAMPLES_PER_FRAME];
        second.extend(vec![0.25f32; 3 * SAMPLES_PER_FRAME]);
        call(&mut a, "c", vec![3, 2, 1], &second, 700, true);
        let out = all(&mut a);
        let n = first.len();
        assert_eq!(out[..n - EDGE_KEEP], first[..n - EDGE_KEEP], "the first call's audio is kept");
        assert!(out[n - EDGE_KEEP..n].windows(2).all(|w| w[1] <= w[0]), "its end fades out");
        assert!(out[n - 1] < 0.01, "no step at the join: {}", out[n - 1]);
        // Then the second call's lead pad, cut to 5 ms, and its sound.
        assert_eq!(out.len(), n + EDGE_KEEP + 3 * SAMPLES_PER_FRAME);
        assert!(out[n + EDGE_KEEP..].iter().all(|&x| x == 0.25));
    }

    #[test]
    fn a_break_is_exact_silence_between_sounding_symbols() {
        let mut a = Assembler::new();
        // Pads of 4 frames on each side: the quiet edges are 2400 samples.
        let d = vec![4, 3, 4];
        let audio = vec![0.5f32; 11 * SAMPLES_PER_FRAME];
        call(&mut a, "a", d.clone(), &audio, 1000, false);
        a.add_break(500);
        call(&mut a, "a", d, &audio, 1000, false);
        let out = all(&mut a);
        // First sounding symbol ends at frame 7 (4200); the second call's starts 12000 samples later.
        let first_end = 7 * SAMPLES_PER_FRAME;
        let zeros = out.iter().skip(first_end).take_while(|&&x| x.abs() < 0.5).count();
        assert_eq!(zeros, 12_000);
        assert_eq!(out.len(), first_end + 12_000 + 3 * SAMPLES_PER_FRAME + 4 * SAMPLES_PER_FRAME);
    }

    /// A word whose sound ends before its last frame: the break counts from where the audio goes quiet.
    #[test]
    fn a_break_counts_from_the_last_audible_audio() {
        let mut a = Assembler::new();
        let d = vec![4, 8, 4];
        // The sounding symbol (frames 4..12) is loud for 3 frames, then quiet for 5 (a decayed ending).
        let mut audio = vec![0.5f32; 7 * SAMPLES_PER_FRAME];
        audio.extend(vec![0.001f32; 9 * SAMPLES_PER_FRAME]);
        call(&mut a, "a", d.clone(), &audio, 1000, false);
        a.add_break(500);
        call(&mut a, "a", vec![4, 3, 4], &vec![0.5f32; 11 * SAMPLES_PER_FRAME], 1000, false);
        let out = all(&mut a);
        let loud_end = 7 * SAMPLES_PER_FRAME;
        let gap = out.iter().skip(loud_end).take_while(|&&x| x.abs() < 0.5).count();
        assert_eq!(gap, 12_000, "500 ms from the end of the sound, not from the end of the symbol");
    }

    #[test]
    fn timings_are_released_with_the_audio_they_fall_in() {
        let mut a = Assembler::new();
        let d = vec![2, 10, 10, 2];
        a.begin_call(
            "ab".into(),
            d,
            Vec::new(),
            vec![WordSpan { text: "ab".into(), start: 0, end: 2 }],
            Vec::new(),
            false,
        );
        a.push_audio(&vec![0.1; 3 * SAMPLES_PER_FRAME]);
        let r = a.take(false);
        assert_eq!(r.calls.len(), 1);
        assert_eq!(r.words.len(), 1, "the word starts at frame 2, inside the first 3 frames");
        assert_eq!(r.tokens.len(), 1);
        a.push_audio(&vec![0.1; 21 * SAMPLES_PER_FRAME]);
        let r = a.take(false);
        assert_eq!(r.tokens.len(), 1);
        assert_eq!(r.tokens[0].symbol, 'b');
        assert!((r.tokens[0].start - 12.0 * 0.025).abs() < 1e-9);
    }
}
