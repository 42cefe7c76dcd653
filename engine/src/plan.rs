//! The planner: input (text units, an SSML document, a phoneme string) → model calls, breaks and marks.
//!
//! Every input becomes *steps*: pieces of phonemized text (each with its language, voice and controls), exact
//! silences, marks and hard boundaries. The planner groups consecutive pieces that share a language and a
//! voice into runs, cuts each run into model calls of at most 510 symbols with the one chunker
//! ([`crate::text`]), works out the controls of each call from the pieces it holds, and says where each mark
//! falls. It decides nothing about audio: the renderer and the assembler do that.

use std::collections::{HashMap, HashSet};

use warble_g2p::{Language, Token};
use warble_ssml::Controls;

use crate::prosody::{ChunkControls, ControlSet};
use crate::text::{TextChunk, chunk_tagged, chunk_tagged_ramp, is_pause_symbol};
use crate::vocab::MAX_PHONEMES;

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

/// Where a mark inside a run falls, relative to the call it is attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MarkAt {
    /// Before this symbol (an index into the call's phonemes).
    Symbol(usize),
    /// At the end of the call's last sounding symbol.
    End,
}

/// One model call.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub chunk: TextChunk,
    pub voice: String,
    /// `None` when every symbol has neutral controls (the reference computation exactly).
    pub controls: Option<ChunkControls>,
    pub marks: Vec<(String, MarkAt)>,
    /// The planner cut this call inside a sentence, without punctuation, to start audio sooner: the next call
    /// continues the phrase and joins without the pads' pause.
    pub cut_mid_phrase: bool,
    /// Right context of a call cut inside a phrase: the next symbols of the sentence, which the model reads (so
    /// that the durations of the call's last words are those of a sentence going on) but does not speak.
    pub context: String,
}

#[derive(Debug, Clone)]
pub(crate) enum Job {
    Call(Box<Call>),
    Break(u32),
    Mark(String),
    /// Speak everything so far to the end (a session's `flush`): the output's tail is released and the next
    /// call starts as a new utterance.
    Flush,
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

/// The planner's state across the batches of steps of one stream.
pub(crate) struct Planner {
    /// The caller's voice (empty: the dominant language's default).
    voice: String,
    per_language_voices: bool,
    /// The voice chosen for the stream, fixed by the first batch that speaks.
    chosen: Option<String>,
    /// The symbol limit of an utterance's first call, for low latency (`None`: every call up to 510).
    short_first: Option<usize>,
    /// While an utterance's calls are still ramping up from `short_first`: how many it has had.
    ramp_calls: Option<usize>,
    /// Symbols of right context a call cut inside a phrase reads (0: it ends with a comma instead).
    context_symbols: usize,
    warned: HashSet<Language>,
    pub warnings: Vec<String>,
    pub spoken: bool,
}

impl Planner {
    /// `short_first`: the symbol limit of the first call of an utterance, for low latency (`None`: 510);
    /// `context_symbols`: the right context of a call cut inside a phrase ([`Call::context`]).
    pub fn new(voice: &str, per_language_voices: bool, short_first: Option<usize>, context_symbols: usize) -> Self {
        Self {
            context_symbols,
            voice: voice.trim().to_string(),
            per_language_voices,
            chosen: None,
            short_first,
            ramp_calls: short_first.map(|_| 0),
            warned: HashSet::new(),
            warnings: Vec::new(),
            spoken: false,
        }
    }

    /// The next call starts a new utterance (after a flush or an idle stream): keep it short again.
    pub fn restart(&mut self) {
        self.ramp_calls = self.short_first.map(|_| 0);
    }

    /// Turns a batch of steps into jobs.
    pub fn plan(&mut self, mut steps: Vec<Step>) -> Vec<Job> {
        if !steps.iter().any(|s| matches!(s, Step::Speak(p) if speaks(&p.tokens))) {
            // Nothing to say here (only punctuation, or breaks and marks): keep the breaks and marks.
            steps.retain(|s| !matches!(s, Step::Speak(_)));
            return self.plan_blocks(group(steps, |_| String::new()));
        }
        self.spoken = true;
        let chosen = self
            .chosen
            .get_or_insert_with(|| {
                if self.voice.is_empty() {
                    warble_g2p::default_voice(dominant_language(&steps)).to_string()
                } else {
                    self.voice.clone()
                }
            })
            .clone();
        let caller_voice = self.voice.clone();
        let per_language = self.per_language_voices;
        let blocks = group(steps, |p: &Piece| match &p.voice {
            Some(v) => v.clone(),
            None if per_language && caller_voice.is_empty() => warble_g2p::default_voice(p.lang).to_string(),
            None => chosen.clone(),
        });
        for b in &blocks {
            if let Block::Run(run) = b
                && !self.per_language_voices
                && run.voice == chosen
                && !voice_speaks(&chosen, run.lang)
                && self.warned.insert(run.lang)
            {
                self.warnings.push(format!(
                    "voice {chosen} was made for another language than this {} text; it will have an accent (default for {}: {})",
                    run.lang,
                    run.lang,
                    warble_g2p::default_voice(run.lang)
                ));
            }
        }
        self.plan_blocks(blocks)
    }

    fn plan_blocks(&mut self, blocks: Vec<Block>) -> Vec<Job> {
        // `<prosody duration>` groups may span calls and runs: share each group's time by symbol counts.
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
        let mut jobs = Vec::new();
        for block in blocks {
            match block {
                Block::Break(ms) => jobs.push(Job::Break(ms)),
                Block::Mark(name) => jobs.push(Job::Mark(name)),
                Block::Run(run) => self.plan_run(run, &group_symbols, &mut jobs),
            }
        }
        jobs
    }

    fn plan_run(&mut self, run: Run, group_symbols: &HashMap<u32, usize>, jobs: &mut Vec<Job>) {
        let tagged = || run.pieces.iter().enumerate().flat_map(|(i, p)| p.tokens.iter().map(move |t| (t, i)));
        // The limit of this run's chunk `i`: still ramping, or the model's.
        let ramp = self.short_first.zip(self.ramp_calls);
        let limit_of = move |i: usize| ramp.map_or(MAX_PHONEMES, |(first, done)| ramp_limit(first, done + i));
        let chunks = if limit_of(0) < MAX_PHONEMES {
            chunk_tagged_ramp(tagged(), MAX_PHONEMES, limit_of)
        } else {
            chunk_tagged(tagged(), MAX_PHONEMES)
        };
        let n_chunks = chunks.len();
        self.ramp_calls = self.ramp_calls.filter(|_| limit_of(n_chunks) < MAX_PHONEMES).map(|done| done + n_chunks);
        // Symbols of each piece over the run, and how many earlier calls already spoke.
        let mut piece_total = vec![0usize; run.pieces.len()];
        for c in &chunks {
            for &t in &c.tags {
                piece_total[t] += 1;
            }
        }
        let mut piece_done = vec![0usize; run.pieces.len()];
        let mut marks = run.marks.into_iter().peekable();
        // What follows each chunk in the run, for the right context of a cut.
        let next_symbols: Vec<String> = (0..n_chunks)
            .map(|i| {
                chunks.get(i + 1).map_or(String::new(), |c| c.phonemes.chars().take(self.context_symbols).collect())
            })
            .collect();
        for (i, chunk) in chunks.into_iter().enumerate() {
            let controls = chunk_controls(&chunk, &run.pieces, &piece_total, &mut piece_done, group_symbols);
            let neutral = controls.sets.iter().all(|s| s.controls == Controls::default());
            let mut call_marks = Vec::new();
            // Marks stand before the first symbol of their piece; those whose piece has no symbol left fall at
            // the end of the run.
            while let Some((_, tag)) = marks.peek() {
                match chunk.tags.iter().position(|t| t >= tag) {
                    Some(at) => {
                        let (name, _) = marks.next().expect("peeked");
                        call_marks.push((name, MarkAt::Symbol(at)));
                    }
                    None => break,
                }
            }
            if i + 1 == n_chunks {
                call_marks.extend(marks.by_ref().map(|(name, _)| (name, MarkAt::End)));
            }
            let last = chunk.phonemes.chars().last().unwrap_or(' ');
            let cut_mid_phrase = limit_of(i) < MAX_PHONEMES && i + 1 < n_chunks && !is_pause_symbol(last);
            let mut chunk = chunk;
            let mut context = String::new();
            // The model ends every call like an utterance (a final fall, a lengthened last word). With neutral
            // controls the call reads the next symbols of its sentence as right context and keeps the frames
            // of its own (the controls are per symbol of the call: there a comma makes it a continuation
            // instead, and the seamless join cuts the comma's pause away).
            if cut_mid_phrase && neutral && self.context_symbols > 0 && !next_symbols[i].is_empty() {
                // The word space the cut fell on stays with this call: the last word's sound runs on into its
                // frames (without them its final consonant was lost: "eggs" heard as "egg").
                chunk.phonemes.push(' ');
                let tag = chunk.tags.last().copied().unwrap_or(0);
                chunk.tags.push(tag);
                context = next_symbols[i].clone();
            } else if cut_mid_phrase {
                chunk.phonemes.push(',');
                let tag = chunk.tags.last().copied().unwrap_or(0);
                chunk.tags.push(tag);
            }
            jobs.push(Job::Call(Box::new(Call {
                context,
                cut_mid_phrase,
                voice: run.voice.clone(),
                controls: (!neutral).then_some(controls),
                marks: call_marks,
                chunk,
            })));
        }
    }
}

/// The symbol limit of an utterance's call number `n` (from 0): `first`, then three times more for each call
/// (40, 120, 360, 510), so that each call's whole-call work (ALBERT, the predictor, the decoder) stays within
/// the audio already made ahead of playback.
fn ramp_limit(first: usize, n: usize) -> usize {
    first.saturating_mul(3usize.saturating_pow(n.min(16) as u32)).min(MAX_PHONEMES)
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
        sets.push(ControlSet { controls, part: (done as f32 / total, (done + n) as f32 / total) });
    }
    let mut duration_targets = Vec::new();
    for (g, n) in group_here {
        let total_ms =
            pieces.iter().filter_map(|p| p.controls.duration).find(|d| d.group == g).map_or(0, |d| d.total_ms);
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
                    current = Some(Run { lang: piece.lang, voice, pieces: Vec::new(), marks: Vec::new() });
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
/// `detect_runs` finds, detected English read as the `voice` speaks it ([`english_for_voice`]); runs in scripts
/// no Kokoro voice reads are skipped with a warning.
pub(crate) fn language_runs(
    text: &str,
    lang: Option<Language>,
    voice: &str,
    warnings: &mut Vec<String>,
) -> Vec<(Language, String)> {
    if let Some(l) = lang {
        return vec![(l, text.to_string())];
    }
    let mut runs = Vec::new();
    for run in warble_g2p::detect_runs(text, None) {
        let lang = run.language.map(|l| english_for_voice(l, voice));
        if let (Some(name), Some(l)) = (run.unsupported, lang) {
            warnings.push(format!(
                "{:?} looks like {name}, which Warble does not speak: read as English ({l}, approximate); \
                 choose the language explicitly to read it otherwise",
                run.text
            ));
        }
        match lang {
            Some(l) => runs.push((l, run.text)),
            None => warnings.push(format!(
                "skipped {:?} ({} script): no Kokoro voice speaks it",
                run.text,
                run.script.name()
            )),
        }
    }
    runs
}

/// The phonemes `say` speaks for one line of text (each detected run in its language when `lang` is `None`),
/// and warnings for what is not spoken: runs in scripts no voice reads, and, with a language given, text in
/// scripts that language's front end does not read.
pub fn phonemize_text(text: &str, lang: Option<Language>) -> Result<(String, Vec<String>), warble_g2p::G2pError> {
    use warble_g2p::Script;
    let mut warnings = Vec::new();
    if let Some(l) = lang {
        let reads = |s: Script| match l {
            Language::Hi => matches!(s, Script::Devanagari | Script::Latin | Script::Neutral),
            Language::Ja => matches!(s, Script::Kana | Script::Han | Script::Latin | Script::Neutral),
            Language::Zh => matches!(s, Script::Han | Script::Latin | Script::Neutral),
            _ => matches!(s, Script::Latin | Script::Neutral),
        };
        for run in warble_g2p::detect_runs(text, None).iter().filter(|r| !reads(r.script)) {
            warnings.push(format!(
                "{:?} ({} script) is not read as {l}: leave the language to detection to speak each part in its own",
                run.text,
                run.script.name()
            ));
        }
    }
    let mut parts = Vec::new();
    for (l, run) in language_runs(text, lang, "", &mut warnings) {
        let g2p = warble_g2p::g2p_for(l)?;
        let ps = warble_g2p::phonemize_line(g2p.as_ref(), &run)?;
        if !ps.is_empty() {
            parts.push(ps);
        }
    }
    Ok((parts.join(" "), warnings))
}

pub(crate) fn symbol_count(tokens: &[Token]) -> usize {
    tokens.iter().map(|t| t.phonemes.trim().chars().count()).sum()
}

/// Whether tokens hold anything to say beyond punctuation.
pub(crate) fn speaks(tokens: &[Token]) -> bool {
    tokens.iter().any(|t| !t.is_punctuation && !t.phonemes.trim().is_empty())
}

fn dominant_language(steps: &[Step]) -> Language {
    let mut counts: HashMap<Language, usize> = HashMap::new();
    for s in steps {
        if let Step::Speak(p) = s {
            *counts.entry(p.lang).or_default() += symbol_count(&p.tokens);
        }
    }
    counts.into_iter().max_by_key(|&(l, n)| (n, std::cmp::Reverse(l))).map_or(Language::EnUs, |(l, _)| l)
}

/// The English a detected English run is read in: British (`en-gb`) when the voice is British (`bf_…`, `bm_…`, or a
/// blend of British voices only), else American. A language the user named is never changed (callers only ask
/// about detected runs).
pub(crate) fn english_for_voice(lang: Language, voice: &str) -> Language {
    let british = !voice.trim().is_empty()
        && voice.split([',', '+']).all(|part| {
            let part = part.trim().to_ascii_lowercase();
            part.starts_with("bf_") || part.starts_with("bm_")
        });
    if lang == Language::EnUs && british { Language::EnGb } else { lang }
}

/// Whether a voice (or every voice of a blend) was trained on `lang`, judged by Kokoro's naming (`af_…`: the first
/// letter is the language). A voice not named that way (a clone, a file path) is not judged: it may speak anything.
pub(crate) fn voice_speaks(spec: &str, lang: Language) -> bool {
    let english = matches!(lang, Language::EnUs | Language::EnGb);
    spec.split(',').all(|part| {
        let chars: Vec<char> = part.trim().chars().take(3).collect();
        let &[first, gender, '_'] = chars.as_slice() else { return true };
        if !first.is_ascii_lowercase() || !matches!(gender, 'f' | 'm') {
            return true;
        }
        first == lang.voice_prefix() || (english && matches!(first, 'a' | 'b'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_british_voice_reads_detected_english_as_british() {
        assert_eq!(english_for_voice(Language::EnUs, "bf_emma"), Language::EnGb);
        assert_eq!(english_for_voice(Language::EnUs, "BM_George"), Language::EnGb);
        assert_eq!(english_for_voice(Language::EnUs, "bf_emma:0.5,bm_lewis:0.5"), Language::EnGb);
        assert_eq!(english_for_voice(Language::EnUs, "bf_emma+bm_lewis"), Language::EnGb);
        assert_eq!(english_for_voice(Language::EnUs, "bf_emma,af_heart"), Language::EnUs);
        assert_eq!(english_for_voice(Language::EnUs, "af_heart"), Language::EnUs);
        assert_eq!(english_for_voice(Language::EnUs, ""), Language::EnUs);
        assert_eq!(english_for_voice(Language::Fr, "bf_emma"), Language::Fr);
    }

    #[test]
    fn only_kokoro_named_voices_are_judged_by_language() {
        assert!(voice_speaks("af_heart", Language::EnUs) && voice_speaks("bf_emma", Language::EnUs));
        assert!(
            !voice_speaks("jf_alpha", Language::EnUs) && !voice_speaks("af_heart:0.5,jf_alpha:0.5", Language::EnUs)
        );
        assert!(voice_speaks("jf_alpha", Language::Ja));
        // Clones and files carry no language in their names.
        assert!(voice_speaks("./emma_clone.bin", Language::Ja) && voice_speaks("my_clone", Language::EnUs));
        assert!(voice_speaks("./a.bin:0.5,af_heart:0.5", Language::EnUs));
    }
}
