//! The speaking plan shared by text and SSML input: pieces of phonemized text (each with its language, voice
//! and controls), exact silences and marks, in order. The runner groups consecutive pieces that share a language
//! and a voice into *runs*, cuts each run into model chunks of at most 510 symbols at the best punctuation,
//! speaks each chunk with the controls of the pieces it holds, and places silences and marks on the timeline.

use std::collections::{HashMap, HashSet};

use warble_g2p::{Language, Token};
use warble_ssml::Controls;

use crate::prosody::{ChunkControls, ControlSet};
use crate::text::{TextChunk, chunk_tagged};
use crate::{
    ChunkTiming, Engine, EngineError, MAX_PHONEMES, MarkTiming, SAMPLE_RATE, SAMPLES_PER_FRAME, Synthesis, SynthesisOptions,
    VoicePack, WordTiming,
};

/// Samples faded at each join between chunks: the chunks start and end on the pad token's near-silence, and a
/// few milliseconds of fade remove any click left by a non-zero sample there.
const JOIN_FADE: usize = 48;

/// Samples of a chunk's quiet edge kept (and faded) on each side of a break: 5 ms.
const EDGE_KEEP: usize = 120;

/// Phonemized text with everything needed to speak it.
#[derive(Debug, Clone)]
pub(crate) struct Piece {
    pub lang: Language,
    /// A voice name or blend for this piece; `None` takes the call's voice (or the language default).
    pub voice: Option<String>,
    pub tokens: Vec<Token>,
    pub controls: Controls,
}

#[derive(Debug, Clone)]
pub(crate) enum Step {
    Speak(Piece),
    /// Exact silence, in milliseconds.
    Break(u32),
    Mark(String),
    /// A hard boundary (line or paragraph): the next piece starts a new model call.
    Boundary,
}

struct Run {
    lang: Language,
    voice: String,
    pieces: Vec<Piece>,
    /// Marks inside the run: `(name, tag)`: the mark stands before the first symbol of piece `tag` (or at the end
    /// of the run when no symbol of a later piece exists).
    marks: Vec<(String, usize)>,
}

enum Block {
    Run(Run),
    Break(u32),
    Mark(String),
}

/// What was last appended to the output: how to join the next chunk.
#[derive(Clone, Copy)]
enum Join {
    /// Start of the output.
    Start,
    /// After a chunk whose trailing pad is this many samples.
    Chunk { pad: usize },
    /// After a break (silence still to place, in samples) following a chunk with this trailing pad.
    Silence { samples: usize, pad: usize },
}

impl Engine {
    /// Speaks a plan. `warnings` already holds the caller's warnings.
    pub(crate) fn speak_steps(&self, steps: Vec<Step>, opts: &SynthesisOptions, warnings: Vec<String>) -> Result<Synthesis, EngineError> {
        let spoken = steps.iter().any(|s| matches!(s, Step::Speak(p) if p.tokens.iter().any(|t| !t.is_punctuation && !t.phonemes.trim().is_empty())));
        if !spoken {
            return Err(EngineError::NoSpeech(if warnings.is_empty() {
                " (it is empty or only punctuation and symbols)".into()
            } else {
                format!("; {}", warnings.join("; "))
            }));
        }
        let dominant = dominant_language(&steps);
        let chosen = if opts.voice.trim().is_empty() {
            warble_g2p::default_voice(dominant).to_string()
        } else {
            opts.voice.clone()
        };
        let mut out = Synthesis { warnings, ..Default::default() };
        let blocks = group(steps, |p: &Piece| match &p.voice {
            Some(v) => v.clone(),
            None if opts.per_language_voices && opts.voice.trim().is_empty() => warble_g2p::default_voice(p.lang).to_string(),
            None => chosen.clone(),
        });

        // `<prosody duration>` groups may span chunks and runs: share each group's time by symbol counts.
        let mut group_symbols: HashMap<u32, usize> = HashMap::new();
        for b in &blocks {
            if let Block::Run(r) = b {
                for p in &r.pieces {
                    if let Some(g) = p.controls.duration {
                        *group_symbols.entry(g.group).or_default() += symbol_count(&p.tokens);
                    }
                }
            }
        }

        let mut voices: HashMap<String, VoicePack> = HashMap::new();
        let mut warned = HashSet::new();
        let mut join = Join::Start;
        for block in blocks {
            match block {
                Block::Break(ms) => {
                    let samples = (ms as usize * SAMPLE_RATE as usize).div_ceil(1000);
                    join = match join {
                        Join::Start => Join::Silence { samples, pad: 0 },
                        Join::Chunk { pad } => Join::Silence { samples, pad },
                        Join::Silence { samples: s, pad } => Join::Silence { samples: s + samples, pad },
                    };
                }
                Block::Mark(name) => {
                    let mut t = out.audio.len();
                    if let Join::Silence { samples, pad } = join {
                        // A mark after a break with nothing spoken since: it falls after the silence, which starts
                        // at the end of the last sounding symbol.
                        t = t.saturating_sub(pad) + samples;
                    }
                    out.marks.push(MarkTiming { name, time: t as f64 / f64::from(SAMPLE_RATE) });
                }
                Block::Run(run) => {
                    if !voices.contains_key(&run.voice) {
                        voices.insert(run.voice.clone(), self.voices.resolve(&run.voice)?);
                    }
                    if !opts.per_language_voices && run.voice == chosen && !voice_speaks(&chosen, run.lang) && warned.insert(run.lang) {
                        out.warnings.push(format!(
                            "voice {chosen} was made for another language than this {} text; it will have an accent (default for {}: {})",
                            run.lang,
                            run.lang,
                            warble_g2p::default_voice(run.lang)
                        ));
                    }
                    let voice = &voices[&run.voice];
                    join = self.speak_run(&mut out, run, voice, opts, &group_symbols, join)?;
                }
            }
        }
        if let Join::Silence { samples, pad } = join {
            close_silence(&mut out.audio, samples, pad);
        }
        Ok(out)
    }

    fn speak_run(
        &self,
        out: &mut Synthesis,
        run: Run,
        voice: &VoicePack,
        opts: &SynthesisOptions,
        group_symbols: &HashMap<u32, usize>,
        mut join: Join,
    ) -> Result<Join, EngineError> {
        let tagged = run.pieces.iter().enumerate().flat_map(|(i, p)| p.tokens.iter().map(move |t| (t, i)));
        let chunks = chunk_tagged(tagged, MAX_PHONEMES);
        // Symbols of each piece over the run, and how many earlier chunks already spoke.
        let mut piece_total = vec![0usize; run.pieces.len()];
        for c in &chunks {
            for &t in &c.tags {
                piece_total[t] += 1;
            }
        }
        let mut piece_done = vec![0usize; run.pieces.len()];
        let first_chunk = out.chunks.len();
        let mut run_tags: Vec<Vec<usize>> = Vec::with_capacity(chunks.len());
        for chunk in chunks {
            let controls = chunk_controls(&chunk, &run.pieces, &piece_total, &mut piece_done, group_symbols);
            let neutral = controls.sets.iter().all(|s| s.controls == Controls::default());
            let TextChunk { phonemes, words, tags } = chunk;
            let ids = self.vocab.encode(&phonemes);
            let style = voice.style_for(phonemes.chars().count())?.to_vec();
            let result = self.model.synthesize_controlled(&ids, &style, opts.speed, opts.noise, (!neutral).then_some(&controls));
            out.times.add(&result.times);
            let (lead_pad, trail_pad) = quiet_edges(&phonemes, &result.durations);
            let start = append(&mut out.audio, &result.audio, join, lead_pad);
            join = Join::Chunk { pad: trail_pad };
            let timing = ChunkTiming {
                phonemes,
                durations: result.durations,
                start_sample: start,
                f0: result.f0,
            };
            push_words(out, &timing, words);
            run_tags.push(tags);
            out.chunks.push(timing);
        }
        // Marks: before the first symbol of their piece, else at the end of the run's last sounding symbol.
        let run_chunks = &out.chunks[first_chunk..];
        for (name, tag) in run.marks {
            let mut time = None;
            'find: for (c, tags) in run_chunks.iter().zip(&run_tags) {
                let mut frame = c.durations.first().copied().unwrap_or(0);
                for (i, &t) in tags.iter().enumerate() {
                    if t >= tag {
                        time = Some(c.start_sample + frame * SAMPLES_PER_FRAME);
                        break 'find;
                    }
                    frame += c.durations.get(i + 1).copied().unwrap_or(0);
                }
            }
            let sample = time.unwrap_or_else(|| {
                run_chunks.last().map_or(out.audio.len(), |c| {
                    let (_, trail) = quiet_edges(&c.phonemes, &c.durations);
                    let frames: usize = c.durations.iter().sum();
                    (c.start_sample + frames * SAMPLES_PER_FRAME).saturating_sub(trail)
                })
            });
            out.marks.push(MarkTiming { name, time: sample as f64 / f64::from(SAMPLE_RATE) });
        }
        Ok(join)
    }
}

/// Symbols the model renders as pause, not sound: spaces and punctuation.
fn is_pause_symbol(c: char) -> bool {
    matches!(c, ' ' | ',' | '.' | '!' | '?' | ';' | ':' | '—' | '…' | '"' | '(' | ')' | '“' | '”')
}

/// Samples before the first sounding symbol and after the last one (the pads plus any edge punctuation): the
/// part of a chunk that a break's silence replaces.
fn quiet_edges(phonemes: &str, durations: &[usize]) -> (usize, usize) {
    let symbols: Vec<char> = phonemes.chars().collect();
    let n = durations.len();
    if n < 2 || symbols.len() + 2 != n {
        let d = |i: usize| durations.get(i).copied().unwrap_or(0);
        return (d(0) * SAMPLES_PER_FRAME, d(n.saturating_sub(1)) * SAMPLES_PER_FRAME);
    }
    let lead_symbols = symbols.iter().take_while(|&&c| is_pause_symbol(c)).count();
    let trail_symbols = symbols.iter().rev().take_while(|&&c| is_pause_symbol(c)).count().min(symbols.len() - lead_symbols);
    let lead: usize = durations[..=lead_symbols].iter().sum();
    let trail: usize = durations[n - 1 - trail_symbols..].iter().sum();
    (lead * SAMPLES_PER_FRAME, trail * SAMPLES_PER_FRAME)
}

/// Appends a chunk's audio directly after what is already in `audio` (a model call of the same utterance, or
/// nothing); returns where the chunk starts.
pub(crate) fn append_after_chunk(audio: &mut Vec<f32>, chunk: &[f32]) -> usize {
    let join = if audio.is_empty() { Join::Start } else { Join::Chunk { pad: 0 } };
    append(audio, chunk, join, 0)
}

/// Appends a chunk's audio after whatever came before; returns the sample where the chunk's frame 0 lies.
fn append(audio: &mut Vec<f32>, chunk: &[f32], join: Join, lead_pad: usize) -> usize {
    match join {
        Join::Start => {
            audio.extend_from_slice(chunk);
            0
        }
        Join::Chunk { .. } => {
            let start = audio.len();
            let n = JOIN_FADE.min(start).min(chunk.len());
            audio.extend_from_slice(chunk);
            if n > 0 {
                // Raised-cosine fades on both sides of the join: the pads are near silence, the fades remove any
                // click left by a non-zero sample there.
                for i in 0..n {
                    let g = 0.5 - 0.5 * (std::f32::consts::PI * i as f32 / n as f32).cos();
                    audio[start - 1 - i] *= g;
                    audio[start + i] *= g;
                }
            }
            start
        }
        Join::Silence { samples, pad } => {
            // A break is exact digital silence from the end of the last sounding symbol to the start of the next
            // one. The quiet edges (boundary pads and edge punctuation, whose pause the break replaces) are cut
            // away except EDGE_KEEP samples on each side, faded to zero so nothing clicks; those count towards
            // the break, zeros fill the rest.
            let keep_prev = trim_quiet_tail(audio, pad);
            let keep_next = EDGE_KEEP.min(lead_pad);
            audio.resize(audio.len() + samples.saturating_sub(keep_prev + keep_next), 0.0);
            let skip = (lead_pad - keep_next).min(chunk.len());
            let start = audio.len();
            audio.extend_from_slice(&chunk[skip..]);
            let n = keep_next.min(audio.len() - start);
            for i in 0..n {
                audio[start + i] *= i as f32 / n as f32;
            }
            // Frame 0 of the chunk would have been `skip` samples earlier.
            start.saturating_sub(skip)
        }
    }
}

/// Cuts the last `quiet` samples (a chunk's quiet edge) down to `EDGE_KEEP`, faded out; returns how many were kept.
fn trim_quiet_tail(audio: &mut Vec<f32>, quiet: usize) -> usize {
    let keep = EDGE_KEEP.min(quiet).min(audio.len());
    let cut = quiet.min(audio.len()) - keep;
    audio.truncate(audio.len() - cut);
    let len = audio.len();
    for i in 0..keep {
        audio[len - 1 - i] *= i as f32 / keep as f32;
    }
    keep
}

/// A break at the end of the output: silence after the last sounding symbol.
fn close_silence(audio: &mut Vec<f32>, samples: usize, pad: usize) {
    let kept = trim_quiet_tail(audio, pad);
    audio.resize(audio.len() + samples.saturating_sub(kept), 0.0);
}

fn push_words(out: &mut Synthesis, c: &ChunkTiming, words: Vec<crate::text::WordSpan>) {
    let mut edges = Vec::with_capacity(c.durations.len() + 1);
    let mut acc = 0usize;
    for &d in &c.durations {
        edges.push(acc);
        acc += d;
    }
    edges.push(acc);
    let secs = |frame: usize| (c.start_sample + frame * SAMPLES_PER_FRAME) as f64 / f64::from(SAMPLE_RATE);
    for w in words {
        // Symbol i of the chunk is model position i + 1 (after the leading pad).
        let (s, e) = (edges[(w.start + 1).min(edges.len() - 1)], edges[(w.end + 1).min(edges.len() - 1)]);
        out.words.push(WordTiming { text: w.text, start: secs(s), end: secs(e) });
    }
}

/// The controls of one chunk from the pieces its symbols came from.
fn chunk_controls(
    chunk: &TextChunk,
    pieces: &[Piece],
    piece_total: &[usize],
    piece_done: &mut [usize],
    group_symbols: &HashMap<u32, usize>,
) -> ChunkControls {
    let mut set_of: HashMap<usize, usize> = HashMap::new();
    let mut in_chunk: Vec<(usize, usize)> = Vec::new(); // (piece, symbols here)
    let mut owner = Vec::with_capacity(chunk.tags.len());
    for &t in &chunk.tags {
        let next = set_of.len();
        let s = *set_of.entry(t).or_insert(next);
        if s == in_chunk.len() {
            in_chunk.push((t, 0));
        }
        in_chunk[s].1 += 1;
        owner.push(s);
    }
    let mut sets = Vec::with_capacity(in_chunk.len());
    let mut group_here: HashMap<u32, usize> = HashMap::new();
    for &(t, n) in &in_chunk {
        let total = piece_total[t].max(1) as f32;
        let done = piece_done[t];
        piece_done[t] += n;
        let controls = pieces[t].controls.clone();
        if let Some(g) = controls.duration {
            *group_here.entry(g.group).or_default() += n;
        }
        sets.push(ControlSet {
            controls,
            part: (done as f32 / total, (done + n) as f32 / total),
        });
    }
    let mut duration_targets = Vec::new();
    for (g, n) in group_here {
        let total_ms = pieces
            .iter()
            .filter_map(|p| p.controls.duration)
            .find(|d| d.group == g)
            .map_or(0, |d| d.total_ms);
        let all = group_symbols.get(&g).copied().unwrap_or(n).max(1);
        let frames = total_ms as f32 / 25.0 * n as f32 / all as f32;
        duration_targets.push((g, frames));
    }
    ChunkControls { owner, sets, duration_targets }
}

/// Groups steps into runs (same language and voice, no break or boundary between), breaks and free marks.
fn group(steps: Vec<Step>, voice_of: impl Fn(&Piece) -> String) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut current: Option<Run> = None;
    let mut pending: Vec<String> = Vec::new();
    for step in steps {
        match step {
            Step::Speak(piece) => {
                if symbol_count(&piece.tokens) == 0 {
                    continue;
                }
                let voice = voice_of(&piece);
                let same = current.as_ref().is_some_and(|r| r.lang == piece.lang && r.voice == voice);
                if !same {
                    if let Some(r) = current.take() {
                        blocks.push(Block::Run(r));
                    }
                    current = Some(Run {
                        lang: piece.lang,
                        voice,
                        pieces: Vec::new(),
                        marks: Vec::new(),
                    });
                }
                let run = current.as_mut().expect("run opened above");
                let tag = run.pieces.len();
                run.marks.extend(pending.drain(..).map(|m| (m, tag)));
                // A word boundary between pieces: the previous piece's last token keeps a space after it.
                if let Some(prev) = run.pieces.last_mut()
                    && let Some(last) = prev.tokens.iter_mut().rev().find(|t| !t.phonemes.trim().is_empty())
                    && last.whitespace.is_empty()
                    && piece.tokens.first().is_some_and(|t| !t.is_punctuation)
                {
                    last.whitespace = " ".into();
                }
                run.pieces.push(piece);
            }
            Step::Mark(name) => pending.push(name),
            Step::Break(_) | Step::Boundary => {
                if let Some(mut r) = current.take() {
                    let tag = r.pieces.len();
                    r.marks.extend(pending.drain(..).map(|m| (m, tag)));
                    blocks.push(Block::Run(r));
                }
                blocks.extend(pending.drain(..).map(Block::Mark));
                if let Step::Break(ms) = step
                    && ms > 0
                {
                    blocks.push(Block::Break(ms));
                }
            }
        }
    }
    if let Some(mut r) = current.take() {
        let tag = r.pieces.len();
        r.marks.extend(pending.drain(..).map(|m| (m, tag)));
        blocks.push(Block::Run(r));
    }
    blocks.extend(pending.drain(..).map(Block::Mark));
    blocks
}

/// The runs of `text` to speak and their languages: all of it in `lang` when given, else the language runs
/// `detect_runs` finds; runs in scripts no Kokoro voice reads are skipped with a warning.
pub(crate) fn language_runs(text: &str, lang: Option<Language>, warnings: &mut Vec<String>) -> Vec<(Language, String)> {
    if let Some(l) = lang {
        return vec![(l, text.to_string())];
    }
    let mut runs = Vec::new();
    for run in warble_g2p::detect_runs(text, None) {
        match run.language {
            Some(l) => runs.push((l, run.text)),
            None => warnings.push(format!("skipped {:?} ({} script): no Kokoro voice speaks it", run.text, run.script.name())),
        }
    }
    runs
}

fn symbol_count(tokens: &[Token]) -> usize {
    tokens.iter().map(|t| t.phonemes.trim().chars().count()).sum()
}

fn dominant_language(steps: &[Step]) -> Language {
    let mut counts: HashMap<Language, usize> = HashMap::new();
    for s in steps {
        if let Step::Speak(p) = s {
            *counts.entry(p.lang).or_default() += symbol_count(&p.tokens);
        }
    }
    counts
        .into_iter()
        .max_by_key(|&(l, n)| (n, std::cmp::Reverse(l)))
        .map_or(Language::EnUs, |(l, _)| l)
}

/// Whether a voice (or every voice of a blend) was trained on `lang`, judged by Kokoro's naming (first letter).
pub(crate) fn voice_speaks(spec: &str, lang: Language) -> bool {
    let english = matches!(lang, Language::EnUs | Language::EnGb);
    spec.split(',').all(|part| {
        let first = part.trim().chars().next().unwrap_or(' ');
        first == lang.voice_prefix() || (english && matches!(first, 'a' | 'b'))
    })
}
