//! The one synthesis path: plan → render → assemble, pulled window by window.
//!
//! [`SpeechStream`] (whole input known) and [`TextSession`] (text pushed as it arrives) share a pipeline:
//! a source of steps (SSML and phonemes are planned at once; text goes through the incremental
//! [`Segmenter`](crate::segment::Segmenter) unit by unit, so memory stays bounded), the [`Planner`], the
//! renderer below (one model call prepared whole, then decoded in windows) and the [`Assembler`]. Nothing is
//! computed ahead of the consumer: each `next` renders one window, so dropping the stream cancels the rest.
//!
//! ## Windowed decoding
//! ALBERT, the duration predictor and the F0/energy predictor need the whole call (attention, bidirectional
//! LSTMs), but the decoder and generator — ~85 % of the time — are convolutional. A window of frames
//! `a..b` is decoded from frames `a − halo .. b + halo` and only its middle is kept; consecutive windows
//! overlap by a short cross-fade. The harmonic source is made for the whole call first (its phase is a running
//! sum) and sliced, so its phase is exact in every window. After an utterance's first call, the decoder runs
//! once over each whole call and only the generator is windowed (narrower halo, no decoder cost per window).
//! The one approximation is the instance normalisation inside the AdaIN blocks: its statistics span the
//! frames the window sees instead of the whole call; in the calls after the first, the generator's join them
//! with the call's earlier windows ([`WindowPolicy::carry_norms`]). The README gives the measured effect.
//!
//! ## Keeping ahead of playback
//! The first window is small (first audio soonest) and windows grow by half each time, so each is made while
//! the audio before it plays. Calls grow too ([`crate::plan`]: 40, 120, 360, then 510 symbols), so that a
//! call's whole-call work (ALBERT, the predictor, the source, the decoder) fits in the audio already ahead.

use std::collections::{HashMap, VecDeque};

use warble_g2p::Language;

use crate::assemble::Assembler;
use crate::model::{CallOptions, Prepared, SAMPLES_PER_FRAME};
use crate::plan::{Call, Job, Piece, Planner, Step, language_runs};
use crate::segment::{Segmenter, SegmenterOptions, Unit, UnitEnd};
use crate::{
    ChunkTiming, Engine, EngineError, MarkTiming, StageTimes, SynthesisOptions, TokenTiming, VoicePack, WordTiming,
};
use warble_vocoder::generator::NormCarry;

/// What to speak.
#[derive(Debug, Clone)]
pub enum Input {
    /// Plain text; `lang: None` detects the language of each sentence and script run.
    Text { text: String, lang: Option<Language> },
    /// An SSML document; `strict` turns the parser's warnings into errors.
    Ssml { markup: String, lang: Option<Language>, strict: bool },
    /// Kokoro's phoneme symbols.
    Phonemes(String),
}

impl Input {
    pub fn text(text: impl Into<String>) -> Self {
        Input::Text { text: text.into(), lang: None }
    }

    pub fn ssml(markup: impl Into<String>) -> Self {
        Input::Ssml { markup: markup.into(), lang: None, strict: false }
    }

    pub fn phonemes(phonemes: impl Into<String>) -> Self {
        Input::Phonemes(phonemes.into())
    }
}

/// How a stream trades latency for exactness.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Latency {
    /// Every model call decoded whole, chunks as long as the model allows: the reference computation. The
    /// batch calls use this.
    Whole,
    /// A short first call and windowed decoding, for first audio within a fraction of a second.
    Low(WindowPolicy),
}

impl Default for Latency {
    fn default() -> Self {
        Latency::Low(WindowPolicy::default())
    }
}

/// The windows of [`Latency::Low`], in frames of 25 ms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowPolicy {
    /// The first window of an utterance (the audio the listener waits for).
    pub first_frames: usize,
    /// Windows grow by half from the first up to this (a dropped stream stops within one window); the first
    /// window of a later call of the same utterance is four times the first.
    pub max_frames: usize,
    /// Context decoded on each side of a window and thrown away, when the window runs the decoder too.
    pub halo_frames: usize,
    /// The same when only the generator is windowed (the decoder ran over the whole call): its receptive
    /// field is narrower.
    pub generator_halo_frames: usize,
    /// Cross-fade at each seam, in samples (taken from the halo).
    pub fade_samples: usize,
    /// The first call of an utterance holds at most this many phoneme symbols.
    pub first_call_symbols: usize,
    /// Run the decoder (the AdaIN stack before the generator) once over each call but an utterance's first
    /// and window only the generator: exact decoder statistics, no decoder cost per window, a narrower halo.
    /// The first call decodes each window's frames alone: a whole-call decoder run there would delay the
    /// first audio, or (run before the second window) make playback wait for it.
    pub whole_decoder: bool,
    /// Run an utterance's first call (at most `first_call_symbols`, a few seconds) on the INT8 kernels (CPUs
    /// with AVX-512 VNNI or AVX-VNNI; elsewhere it has no effect): the decoder's block convolutions and the
    /// generator's residual stacks; the rest as the model's precision says. The first audio sooner, and the second window still ahead of
    /// playback, at a small cost in that call alone.
    pub int8_first_call: bool,
    /// Run the first call's ALBERT (its linear layers and `bert_encoder`) on the INT8 kernel too (CPUs with a
    /// SIMD integer kernel): ~40 ms less first audio; the durations it predicts are f32 ALBERT's at ~99 % of
    /// positions (a frame here and there), so the first call's pace is the same but not its exact frames.
    pub int8_first_call_albert: bool,
    /// Run the first call's prosody predictor F0 and N branches (their AdaIN blocks' convolutions) on the INT8
    /// kernel too (CPUs with a SIMD integer kernel): ~20 ms less first audio; the pitch curve moves by ~1 cent
    /// (median), voicing and durations stay the same.
    pub int8_first_call_curves: bool,
    /// A call cut inside a phrase (the short first calls) reads this many symbols of what follows as right
    /// context and keeps the frames of its own symbols, so that its last words are timed as in the running
    /// sentence and not as an utterance's end (0: the call ends with an added comma instead). Calls with
    /// prosody controls (SSML) end with the comma.
    pub cut_context_symbols: usize,
    /// The generator's instance norms in a window take their statistics over the window joined with the
    /// call's earlier windows (CPU kernels), instead of the window alone.
    pub carry_norms: bool,
}

impl Default for WindowPolicy {
    fn default() -> Self {
        Self {
            first_frames: 10,
            max_frames: 240,
            halo_frames: 6,
            generator_halo_frames: 4,
            fade_samples: 240,
            first_call_symbols: 40,
            whole_decoder: true,
            int8_first_call: true,
            int8_first_call_albert: true,
            int8_first_call_curves: true,
            cut_context_symbols: 20,
            carry_norms: true,
        }
    }
}

/// A piece of the output, in order.
#[derive(Debug, Clone, Default)]
pub struct AudioChunk {
    /// 24 kHz mono samples; final.
    pub samples: Vec<f32>,
    /// Where `samples[0]` lies in the whole output.
    pub start_sample: u64,
    /// Words whose start falls in this chunk (seconds from the start of the output).
    pub words: Vec<WordTiming>,
    /// Phoneme symbols whose start falls in this chunk.
    pub tokens: Vec<TokenTiming>,
    /// SSML marks that fall in this chunk.
    pub marks: Vec<MarkTiming>,
    /// Model calls whose audio started by this chunk.
    pub calls: Vec<ChunkTiming>,
    pub warnings: Vec<String>,
    /// Time spent making this chunk, by stage.
    pub times: StageTimes,
}

/// Where steps come from.
enum Source {
    /// Everything was planned when the stream was made.
    Planned,
    /// Text through the segmenter: `text[fed..]` is still to be pushed (whole input), and `ended` once the
    /// input is complete.
    Text {
        lang: Option<Language>,
        // Boxed: the segmenter's state is most of the variant's size, and `Planned` carries nothing.
        segmenter: Box<Segmenter>,
        ready: VecDeque<Unit>,
        text: String,
        fed: usize,
        ended: bool,
        drained: bool,
    },
}

/// A session that runs out of text with less audio than this ahead of playback starts the next text as a new
/// utterance (short first call, small first window), so the listener waits as little as possible.
const RESTART_LEAD_S: f64 = 0.5;

/// Text is fed to the segmenter this many bytes at a time, so its buffer stays small whatever the input size.
const FEED_BYTES: usize = 16 * 1024;

/// One model call being decoded.
struct Rendering {
    prepared: Prepared,
    next_frame: usize,
    window: usize,
    /// The utterance's first call: its first window is the audio the listener waits for.
    first_call: bool,
    /// The previous window's samples past its end, to cross-fade with the next window's start.
    lookahead: Vec<f32>,
    /// The generator's instance-norm statistics over the windows rendered so far.
    norms: NormCarry,
}

struct Pipeline<'e> {
    engine: &'e Engine,
    opts: SynthesisOptions,
    source: Source,
    planner: Planner,
    jobs: VecDeque<Job>,
    current: Option<Rendering>,
    /// The previous call was cut inside a phrase.
    seamless_next: bool,
    asm: Assembler,
    voices: HashMap<String, VoicePack>,
    times: StageTimes,
    /// The next call starts an utterance (small first window).
    cold: bool,
    done: bool,
    /// When the first sample was released, and how many have been: the lead over real-time playback.
    first_audio: Option<std::time::Instant>,
    released: u64,
}

impl<'e> Pipeline<'e> {
    fn new(engine: &'e Engine, opts: &SynthesisOptions, source: Source) -> Self {
        let (short_first, context) = match opts.latency {
            Latency::Low(w) => (Some(w.first_call_symbols), w.cut_context_symbols),
            Latency::Whole => (None, 0),
        };
        Self {
            engine,
            opts: opts.clone(),
            source,
            planner: Planner::new(&opts.voice, opts.per_language_voices, short_first, context),
            jobs: VecDeque::new(),
            current: None,
            seamless_next: false,
            asm: Assembler::new(),
            voices: HashMap::new(),
            times: StageTimes::default(),
            cold: true,
            done: false,
            first_audio: None,
            released: 0,
        }
    }

    /// The next chunk of output; `None` when the input is exhausted (a session: until more is pushed).
    fn next(&mut self) -> Option<Result<AudioChunk, EngineError>> {
        let r = self.step();
        if matches!(r, Some(Err(_))) {
            self.done = true;
            self.current = None;
            self.jobs.clear();
        }
        r
    }

    fn step(&mut self) -> Option<Result<AudioChunk, EngineError>> {
        loop {
            if self.done {
                return None;
            }
            if self.current.is_some() {
                self.render_window();
                if let Some(chunk) = self.take(false) {
                    return Some(Ok(chunk));
                }
                continue;
            }
            if let Some(job) = self.jobs.pop_front() {
                match job {
                    Job::Call(call) => {
                        if let Err(e) = self.start_call(*call) {
                            return Some(Err(e));
                        }
                    }
                    Job::Break(ms) => self.asm.add_break(ms),
                    Job::Mark(name) => self.asm.add_mark(name),
                    Job::Flush => {
                        self.asm.finish();
                        self.restart();
                        if let Some(chunk) = self.take(true) {
                            return Some(Ok(chunk));
                        }
                    }
                }
                continue;
            }
            match self.plan_more() {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => return Some(Err(e)),
            }
            if self.input_complete() {
                self.done = true;
                if !self.planner.spoken {
                    return Some(Err(no_speech(&self.planner.warnings)));
                }
                self.asm.finish();
                return self.take(true).map(Ok);
            }
            // A session waiting for text. If the listener is about to run out of audio, what comes next must
            // start fast again (short first call, small window); with audio still buffered ahead of playback,
            // it continues the utterance (no extra cut).
            if self.lead_seconds() < RESTART_LEAD_S {
                self.restart();
            }
            return None;
        }
    }

    /// Audio released so far minus the time since the first sample was released: how far ahead of real-time
    /// playback the output is (0 before any audio).
    fn lead_seconds(&self) -> f64 {
        match self.first_audio {
            Some(t) => self.released as f64 / f64::from(crate::SAMPLE_RATE) - t.elapsed().as_secs_f64(),
            None => 0.0,
        }
    }

    fn restart(&mut self) {
        self.cold = true;
        self.planner.restart();
        self.seamless_next = false;
    }

    fn input_complete(&self) -> bool {
        match &self.source {
            Source::Planned => true,
            Source::Text { ended, drained, ready, .. } => *ended && *drained && ready.is_empty(),
        }
    }

    /// Plans the next batch of text units; false when none is complete.
    fn plan_more(&mut self) -> Result<bool, EngineError> {
        let Source::Text { .. } = self.source else {
            return Ok(false);
        };
        let mut steps = Vec::new();
        let mut symbols = 0usize;
        let mut warnings = Vec::new();
        while let Some(unit) = self.next_unit() {
            let lang = match &self.source {
                Source::Text { lang, .. } => *lang,
                Source::Planned => None,
            };
            // Detected English follows the voice's accent: a British voice reads British English.
            for (l, run) in language_runs(&unit.text, lang, &self.opts.voice, &mut warnings) {
                let tokens = self.engine.g2p(l)?.phonemize(&run)?;
                symbols += crate::plan::symbol_count(&tokens);
                steps.push(Step::Speak(Piece { lang: l, voice: None, tokens, controls: self.opts.controls.clone() }));
            }
            // A line is a paragraph: it ends the model call. Sentences within one are packed into calls of up
            // to 510 symbols, as the batch reference does; a batch is bounded so memory stays small.
            if matches!(unit.end, UnitEnd::Line | UnitEnd::Flush) || symbols >= 2 * crate::MAX_PHONEMES {
                steps.push(Step::Boundary);
                break;
            }
        }
        self.planner.warnings.extend(warnings);
        if steps.is_empty() {
            return Ok(false);
        }
        let jobs = self.planner.plan(steps);
        self.jobs.extend(jobs);
        Ok(true)
    }

    fn next_unit(&mut self) -> Option<Unit> {
        let Source::Text { segmenter, ready, text, fed, ended, drained, .. } = &mut self.source else {
            return None;
        };
        loop {
            if let Some(u) = ready.pop_front() {
                return Some(u);
            }
            if let Some(u) = segmenter.next_unit() {
                return Some(u);
            }
            if *fed < text.len() {
                // Text known in full goes in line by line: each line is closed with `finish`, so its last unit
                // is marked as a line end even when a full stop ends it (a line is a paragraph: new model call).
                let line_end = text[*fed..].find('\n').map(|p| *fed + p + 1);
                let mut end = (*fed + FEED_BYTES).min(line_end.unwrap_or(text.len()));
                while !text.is_char_boundary(end) {
                    end += 1;
                }
                segmenter.push(&text[*fed..end]);
                *fed = end;
                if Some(end) == line_end {
                    let mut units = segmenter.finish();
                    if let Some(last) = units.last_mut() {
                        last.end = UnitEnd::Line;
                    }
                    ready.extend(units);
                }
                if *fed == text.len() {
                    text.clear();
                    *fed = 0;
                }
                continue;
            }
            if *ended && !*drained {
                *drained = true;
                ready.extend(segmenter.finish());
                continue;
            }
            return None;
        }
    }

    fn start_call(&mut self, call: Call) -> Result<(), EngineError> {
        if !self.voices.contains_key(&call.voice) {
            let pack = self.engine.voices.resolve(&call.voice)?;
            self.voices.insert(call.voice.clone(), pack);
        }
        // The model reads the call's symbols and its right context (a call cut inside a phrase), within the
        // model's limit; the voice row is that sequence's length, as the reference picks it (a piece cut short
        // too: the row of the chunk it was cut from made Kokoro speak it slower still; measured in the README).
        let mut ids = self.engine.vocab.encode(&call.chunk.phonemes);
        let mut context = self.engine.vocab.encode(&call.context);
        context.truncate(crate::MAX_PHONEMES.saturating_sub(ids.len()));
        let n_context = context.len();
        ids.extend(context);
        let style = self.voices[&call.voice].style_for(ids.len().clamp(1, crate::MAX_PHONEMES))?;
        let (int8_albert, int8_curves) = match self.opts.latency {
            Latency::Low(w) if self.cold => (w.int8_first_call_albert, w.int8_first_call_curves),
            _ => (false, false),
        };
        let mut prepared = self.engine.model.prepare_with(
            &ids,
            &style,
            self.opts.speed,
            self.opts.noise,
            call.controls.as_ref(),
            CallOptions { int8_albert, int8_curves, context: n_context },
        );
        if let Latency::Low(w) = self.opts.latency
            && w.whole_decoder
            && !self.cold
        {
            self.engine.model.decode_whole(&mut prepared);
        }
        self.times.add(&prepared.times);
        let seamless = std::mem::replace(&mut self.seamless_next, call.cut_mid_phrase);
        self.asm.begin_call(
            call.chunk.phonemes,
            prepared.durations.clone(),
            prepared.f0[..(2 * prepared.spoken_frames()).min(prepared.f0.len())].to_vec(),
            call.chunk.words,
            call.marks,
            seamless,
        );
        let window = match self.opts.latency {
            Latency::Low(w) if self.cold => w.first_frames,
            Latency::Low(w) => (4 * w.first_frames).min(w.max_frames),
            Latency::Whole => usize::MAX,
        };
        let first_call = std::mem::replace(&mut self.cold, false);
        self.current = Some(Rendering {
            prepared,
            next_frame: 0,
            window,
            first_call,
            lookahead: Vec::new(),
            norms: NormCarry::default(),
        });
        Ok(())
    }

    /// Decodes the current call's next window and hands it to the assembler.
    fn render_window(&mut self) {
        let Some(r) = self.current.as_mut() else {
            return;
        };
        let model = &self.engine.model;
        // The frames the call speaks; past them (a call with right context), the halo of its last window.
        let (frames, all) = (r.prepared.spoken_frames(), r.prepared.frames());
        let (samples, times) = match self.opts.latency {
            Latency::Whole => model.render_frames(&r.prepared, 0, frames),
            Latency::Low(w) => {
                let halo = if r.prepared.decoded_whole() { w.generator_halo_frames } else { w.halo_frames };
                let a = r.next_frame;
                let mut b = a.saturating_add(r.window).min(frames);
                // No window shorter than the halo at the end: it would cost a halo for little audio.
                if frames - b < w.first_frames {
                    b = frames;
                }
                let lo = a.saturating_sub(halo);
                let hi = (b + halo).min(all);
                let int8 = w.int8_first_call && r.first_call;
                let carry = (w.carry_norms && r.prepared.decoded_whole()).then_some((&mut r.norms, a..b));
                let (audio, times) = model.render_frames_with(&r.prepared, lo, hi, int8, carry);
                let from = (a - lo) * SAMPLES_PER_FRAME;
                let to = (b - lo) * SAMPLES_PER_FRAME;
                let mut out = audio[from..to].to_vec();
                let n = r.lookahead.len().min(out.len());
                for (i, (o, &l)) in out.iter_mut().zip(&r.lookahead).enumerate() {
                    let g = (i as f32 + 0.5) / n as f32;
                    *o = l * (1.0 - g) + *o * g;
                }
                let extra = if b < frames { w.fade_samples.min(audio.len() - to) } else { 0 };
                r.lookahead = audio[to..to + extra].to_vec();
                r.next_frame = b;
                // Growing by half keeps each window's time within the audio already released (the halo is
                // paid on every window), so playback never waits once it has started.
                r.window = (r.window + r.window / 2).min(w.max_frames.max(w.first_frames));
                (out, times)
            }
        };
        self.times.add(&times);
        if matches!(self.opts.latency, Latency::Whole) || r.next_frame >= frames {
            self.current = None;
        }
        self.asm.push_audio(&samples);
    }

    fn take(&mut self, all: bool) -> Option<AudioChunk> {
        let r = self.asm.take(all);
        let warnings = std::mem::take(&mut self.planner.warnings);
        if r.is_empty() && warnings.is_empty() {
            return None;
        }
        if !r.samples.is_empty() {
            self.first_audio.get_or_insert_with(std::time::Instant::now);
            self.released += r.samples.len() as u64;
        }
        Some(AudioChunk {
            samples: r.samples,
            start_sample: r.start_sample,
            words: r.words,
            tokens: r.tokens,
            marks: r.marks,
            calls: r.calls,
            warnings,
            times: std::mem::take(&mut self.times),
        })
    }
}

fn no_speech(warnings: &[String]) -> EngineError {
    EngineError::NoSpeech(if warnings.is_empty() {
        " (it is empty or only punctuation and symbols)".into()
    } else {
        format!("; {}", warnings.join("; "))
    })
}

/// Audio of a whole input, chunk by chunk, as it is made ([`Engine::stream`]).
pub struct SpeechStream<'e> {
    pipeline: Pipeline<'e>,
}

impl Iterator for SpeechStream<'_> {
    type Item = Result<AudioChunk, EngineError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.pipeline.next()
    }
}

/// Speech from text that arrives piece by piece ([`Engine::session`]): `push` fragments (LLM tokens, half
/// words), then take audio with [`TextSession::next_chunk`] until it returns `None`, which means it needs
/// more text (or, after [`TextSession::finish`], that everything was spoken).
pub struct TextSession<'e> {
    pipeline: Pipeline<'e>,
    /// An error found while planning in `flush`, returned by the next `next_chunk`.
    pending_error: Option<EngineError>,
}

impl TextSession<'_> {
    /// Adds text. Speech starts as soon as a unit is complete: a sentence (confirmed by the next non-space
    /// character), a line, or for the first unit of an utterance a clause.
    pub fn push(&mut self, fragment: &str) {
        if let Source::Text { segmenter, ended: false, .. } = &mut self.pipeline.source {
            segmenter.push(fragment);
        }
    }

    /// Speaks whatever is buffered now, even an unfinished sentence, to its end.
    pub fn flush(&mut self) {
        if let Source::Text { segmenter, ready, ended: false, .. } = &mut self.pipeline.source
            && let Some(u) = segmenter.flush()
        {
            ready.push_back(u);
        }
        // Plan everything up to here, then release the tail after it.
        loop {
            match self.pipeline.plan_more() {
                Ok(true) => continue,
                Ok(false) => break,
                Err(e) => {
                    self.pipeline.jobs.clear();
                    self.pipeline.done = true;
                    self.pending_error = Some(e);
                    return;
                }
            }
        }
        self.pipeline.jobs.push_back(Job::Flush);
    }

    /// No more text will come.
    pub fn finish(&mut self) {
        if let Source::Text { ended, .. } = &mut self.pipeline.source {
            *ended = true;
        }
    }

    /// The next piece of audio, if a complete unit is waiting; see [`TextSession`].
    pub fn next_chunk(&mut self) -> Option<Result<AudioChunk, EngineError>> {
        if let Some(e) = self.pending_error.take() {
            return Some(Err(e));
        }
        self.pipeline.next()
    }

    /// `finish` was called and everything has been spoken (or the session ended with an error).
    pub fn is_finished(&self) -> bool {
        self.pipeline.done
    }
}

impl Engine {
    /// Speaks `input` as a stream of [`AudioChunk`]s, made as they are pulled (see [`Latency`] in
    /// `opts.latency`). Options, voices and empty input are checked here, before any synthesis; errors found
    /// later (a voice named inside SSML, text that turns out to hold nothing speakable) end the stream with
    /// that error, and the audio already yielded stays valid.
    pub fn stream(&self, input: Input, opts: &SynthesisOptions) -> Result<SpeechStream<'_>, EngineError> {
        self.check_options(opts)?;
        let pipeline = match input {
            Input::Text { text, lang } => {
                if text.trim().is_empty() {
                    return Err(no_speech(&[]));
                }
                Pipeline::new(self, opts, text_source(text, lang, opts, true))
            }
            Input::Ssml { markup, lang, strict } => {
                let parse = warble_ssml::ParseOptions { strict, ..Default::default() };
                return self.ssml_stream(&markup, lang, &parse, opts);
            }
            Input::Phonemes(phonemes) => {
                let cleaned = self.check_symbols(&phonemes, opts.lenient)?;
                let tokens = crate::text::phoneme_tokens(&cleaned);
                if tokens.is_empty() {
                    return Err(EngineError::Empty(if phonemes.trim().is_empty() {
                        ""
                    } else {
                        " after dropping unknown symbols"
                    }));
                }
                let voice = if opts.voice.trim().is_empty() { "af_heart".to_string() } else { opts.voice.clone() };
                let step = Step::Speak(Piece {
                    lang: Language::EnUs,
                    voice: Some(voice),
                    tokens,
                    controls: opts.controls.clone(),
                });
                let mut p = self.planned(vec![step], Vec::new(), opts)?;
                // Phoneme input has no words to time.
                for job in &mut p.jobs {
                    if let Job::Call(c) = job {
                        c.chunk.words.clear();
                    }
                }
                p.planner.spoken = true;
                p
            }
        };
        Ok(SpeechStream { pipeline })
    }

    /// An SSML stream with the parser's options in full; the caller has checked the options.
    pub(crate) fn ssml_stream(
        &self,
        markup: &str,
        lang: Option<Language>,
        parse: &warble_ssml::ParseOptions,
        opts: &SynthesisOptions,
    ) -> Result<SpeechStream<'_>, EngineError> {
        let (doc, parse_warnings) = warble_ssml::parse(markup, parse)?;
        let mut warnings: Vec<String> = parse_warnings.iter().map(ToString::to_string).collect();
        let doc_lang = match (lang, doc.lang.as_deref()) {
            (Some(l), _) => Some(l),
            (None, Some(tag)) => crate::language_of_tag(tag),
            (None, None) => None,
        };
        let steps = self.document_steps(&doc, doc_lang, opts, &mut warnings)?;
        self.stream_planned(steps, warnings, opts)
    }

    /// The options every stream checks before any work: the speed, and the caller's voice (name or blend).
    pub(crate) fn check_options(&self, opts: &SynthesisOptions) -> Result<(), EngineError> {
        crate::check_speed(opts.speed)?;
        if !opts.voice.trim().is_empty() {
            self.voices.resolve(&opts.voice)?;
        }
        Ok(())
    }

    /// A stream of steps built by the caller (a parsed document); the caller has checked the options.
    pub(crate) fn stream_planned(
        &self,
        steps: Vec<Step>,
        warnings: Vec<String>,
        opts: &SynthesisOptions,
    ) -> Result<SpeechStream<'_>, EngineError> {
        Ok(SpeechStream { pipeline: self.planned(steps, warnings, opts)? })
    }

    /// A pipeline whose steps are all known: planned now, so bad input fails here.
    fn planned(
        &self,
        steps: Vec<Step>,
        warnings: Vec<String>,
        opts: &SynthesisOptions,
    ) -> Result<Pipeline<'_>, EngineError> {
        let mut p = Pipeline::new(self, opts, Source::Planned);
        p.planner.warnings = warnings;
        let jobs = p.planner.plan(steps);
        if !p.planner.spoken {
            return Err(no_speech(&p.planner.warnings));
        }
        p.jobs.extend(jobs);
        Ok(p)
    }

    /// A session for text that arrives piece by piece (an LLM's tokens). `lang: None` detects languages.
    pub fn session(&self, lang: Option<Language>, opts: &SynthesisOptions) -> Result<TextSession<'_>, EngineError> {
        self.check_options(opts)?;
        Ok(TextSession {
            pipeline: Pipeline::new(self, opts, text_source(String::new(), lang, opts, false)),
            pending_error: None,
        })
    }
}

fn text_source(text: String, lang: Option<Language>, opts: &SynthesisOptions, ended: bool) -> Source {
    let seg = SegmenterOptions {
        // The planner's short first call does the clause cut for text known in full; a session cannot wait
        // for the sentence's end, so its segmenter releases the first clause.
        first_clause: !ended && matches!(opts.latency, Latency::Low(_)),
        ..Default::default()
    };
    Source::Text {
        lang,
        segmenter: Box::new(Segmenter::new(seg)),
        ready: VecDeque::new(),
        text,
        fed: 0,
        ended,
        drained: false,
    }
}
