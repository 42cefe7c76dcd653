//! The parsed document: what the engine consumes.
//!
//! SSML is a tree, but the engine works on a *timeline*: token durations, an F0 curve
//! and a gain curve. So the tree is flattened here into a list of [`Segment`]s (runs of
//! text or phonemes over which every control value is constant) and a list of
//! [`Event`]s anchored *between* segments (marks, breaks, paragraph and sentence
//! boundaries). Every segment carries the **effective** values in force over it, already
//! composed through all enclosing elements, so the engine never has to know about
//! nesting: it only interpolates between consecutive segments (the ~30 ms ramps).
//!
//! Shared, potentially large attribute values (language tags, voice descriptions, say-as
//! annotations) are reference-counted so that a long document with one `<voice>` around
//! ten thousand segments holds one copy, not ten thousand: the output size stays linear
//! in the input size whatever the nesting.

use std::sync::Arc;

use crate::values::emphasis_mix;

/// A parsed SSML (or plain-text) document.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Document {
    /// `xml:lang` of `<speak>`, if given. Segments carry their own effective language.
    pub lang: Option<Arc<str>>,
    /// `version` of `<speak>`, if given.
    pub version: Option<String>,
    /// The spoken content, in document order.
    pub segments: Vec<Segment>,
    /// Events in document order; `Event::before` says between which segments each falls.
    pub events: Vec<Event>,
}

/// A stretch of content over which language, voice and every control value are constant.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// What is spoken.
    pub content: Content,
    /// Effective language (`xml:lang` of the nearest enclosing element that has one).
    pub lang: Option<Arc<str>>,
    /// Effective voice (nearest enclosing `<voice>`), `None` for the engine's default.
    pub voice: Option<Arc<Voice>>,
    /// Effective control values, emphasis already folded in.
    pub controls: Controls,
    /// Byte offset in the input where this content starts (the text, or the `<sub>` /
    /// `<phoneme>` tag), for diagnostics; [`crate::Position::from_offset`] turns it
    /// into a line and column.
    pub source_offset: usize,
}

/// The content of a segment.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    /// Text for the front end (G2P). Whitespace is collapsed to single spaces; a
    /// leading or trailing space marks a word boundary with the neighbouring segment.
    Text {
        text: String,
        /// The nearest enclosing `<say-as>`, if any: how to normalise this text.
        say_as: Option<Arc<SayAs>>,
    },
    /// Pronunciation given explicitly by `<phoneme>`: the engine skips G2P.
    Phonemes {
        alphabet: Alphabet,
        /// The `ph` attribute, verbatim.
        ph: String,
        /// The element's written text (for captions / logging; not to be spoken).
        text: String,
    },
}

/// Phonetic alphabet of a `<phoneme>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alphabet {
    /// The International Phonetic Alphabet (`alphabet="ipa"`, also the default).
    Ipa,
    /// Kokoro's own phoneme inventory, passed to the model as is (`alphabet="x-kokoro"`).
    Kokoro,
}

/// `<say-as>`: how the enclosed text should be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SayAs {
    pub interpret_as: InterpretAs,
    /// `format` attribute, verbatim (e.g. `mdy` for dates).
    pub format: Option<String>,
    /// `detail` attribute, verbatim.
    pub detail: Option<String>,
}

/// `interpret-as` values Warble understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InterpretAs {
    /// Read character by character (`characters`).
    Characters,
    /// Spell out letter by letter (`spell-out`, also accepted: `verbatim`).
    SpellOut,
    /// A cardinal number (`cardinal`, also `number`).
    Cardinal,
    /// An ordinal number.
    Ordinal,
    /// Digit by digit.
    Digits,
    /// A date; `format` gives the field order (`mdy`, `dmy`, `ymd`, …).
    Date,
    /// A time of day or a duration; `format` e.g. `hms12`, `hms24`.
    Time,
    /// A telephone number.
    Telephone,
    /// An amount of money.
    Currency,
}

/// `<voice>` selection, passed through for the engine to resolve.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Voice {
    /// `name`: a voice id (`af_heart`) or a blend (`af_heart:0.6,af_bella:0.4`), verbatim.
    pub name: Option<String>,
    pub gender: Option<Gender>,
    /// `age` in years.
    pub age: Option<u32>,
    /// `variant`: 1-based index among matching voices.
    pub variant: Option<u32>,
    /// `languages` (SSML 1.1), verbatim: space-separated list of language tags.
    pub languages: Option<String>,
}

/// `gender` of `<voice>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Gender {
    Male,
    Female,
    Neutral,
}

/// Every control value in force over a segment.
///
/// The engine applies `rate` to token durations (duration × 1/rate), `pitch` and
/// `range` (and `contour` when present) to the F0 curve, `volume` as output gain, and
/// ramps every change between consecutive segments over ~30 ms.
#[derive(Debug, Clone, PartialEq)]
pub struct Controls {
    /// Speaking-rate factor of the voice's default: 2.0 speaks twice as fast, so each
    /// token's duration is multiplied by 1/2. Always within [`RATE_MIN`, `RATE_MAX`].
    pub rate: f32,
    /// The transform from the voice's natural F0 to the target F0.
    pub pitch: PitchTransform,
    /// Pitch range: a transform of the F0 *excursion* around the utterance mean
    /// (ratio 2.0 doubles the swings; absolute Hz sets the excursion to that width).
    pub range: PitchTransform,
    /// A pitch contour covering this segment (from the innermost `<prosody contour>`).
    pub contour: Option<SegmentContour>,
    /// Output gain.
    pub volume: Volume,
    /// Emphasis level in force (innermost `<emphasis>`); its rate/pitch/volume effect
    /// is already included in the fields above.
    pub emphasis: Option<EmphasisLevel>,
    /// A target duration shared with other segments (`<prosody duration>`); when set
    /// the engine should ignore `rate` and stretch the group to the target.
    pub duration: Option<DurationTarget>,
}

/// Lowest effective speaking rate; lower values are clamped (with a warning).
pub const RATE_MIN: f32 = 0.1;
/// Highest effective speaking rate; higher values are clamped (with a warning).
pub const RATE_MAX: f32 = 10.0;
/// Limits on [`PitchTransform::ratio`] (±24 semitones).
pub const PITCH_RATIO_MIN: f32 = 0.25;
/// Upper limit on [`PitchTransform::ratio`].
pub const PITCH_RATIO_MAX: f32 = 4.0;
/// Limit on the magnitude of [`PitchTransform::offset_hz`].
pub const PITCH_OFFSET_MAX_HZ: f32 = 1000.0;
/// Limits on [`PitchTransform::absolute_hz`].
pub const ABSOLUTE_HZ_MIN: f32 = 20.0;
/// Upper limit on [`PitchTransform::absolute_hz`].
pub const ABSOLUTE_HZ_MAX: f32 = 2000.0;
/// Lowest finite gain; below it, gains are clamped (`silent` stays [`Volume::Silent`]).
pub const GAIN_MIN_DB: f32 = -96.0;
/// Highest gain; above it, gains are clamped.
pub const GAIN_MAX_DB: f32 = 24.0;

impl Default for Controls {
    fn default() -> Self {
        Self {
            rate: 1.0,
            pitch: PitchTransform::IDENTITY,
            range: PitchTransform::IDENTITY,
            contour: None,
            volume: Volume::Gain { db: 0.0 },
            emphasis: None,
            duration: None,
        }
    }
}

/// One pitch change as written in SSML.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PitchChange {
    /// Up or down by semitones (`+2st`; pitch keywords are semitones too).
    Semitones(f32),
    /// Up or down by a number of hertz (`+10Hz`).
    HzRelative(f32),
    /// Multiply by a ratio (`+20%` is 1.2).
    Ratio(f32),
    /// Set the baseline to an absolute frequency (`200Hz`).
    AbsoluteHz(f32),
}

impl PitchChange {
    /// The multiplicative factor of a semitone or ratio change, if it is one.
    pub fn factor(self) -> Option<f32> {
        match self {
            Self::Semitones(st) => Some((st / 12.0).exp2()),
            Self::Ratio(r) => Some(r),
            Self::HzRelative(_) | Self::AbsoluteHz(_) => None,
        }
    }
}

/// A composed chain of [`PitchChange`]s, in closed form.
///
/// Nested relative changes compose: semitones and ratios multiply, Hz offsets add (an
/// inner ratio also scales an outer Hz offset, since it applies to the already shifted
/// pitch). An absolute frequency or a keyword restarts the chain. The result is always
/// the affine map `f ↦ base(f) · ratio + offset_hz`, where `base(f)` is `f` rescaled
/// so that the voice's baseline lands on `absolute_hz` when that is set: the
/// intonation's *shape* is kept, only its level moves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PitchTransform {
    /// Baseline target in Hz (from `200Hz`), or `None` to keep the voice's own baseline.
    pub absolute_hz: Option<f32>,
    /// Multiplicative factor applied after the baseline move.
    pub ratio: f32,
    /// Hz added last.
    pub offset_hz: f32,
}

impl PitchTransform {
    /// No change.
    pub const IDENTITY: Self = Self { absolute_hz: None, ratio: 1.0, offset_hz: 0.0 };

    /// This transform followed by `change` (which is relative to this one's output).
    #[must_use]
    pub fn then(self, change: PitchChange) -> Self {
        match change {
            PitchChange::AbsoluteHz(hz) => Self { absolute_hz: Some(hz), ..Self::IDENTITY },
            PitchChange::HzRelative(hz) => Self { offset_hz: self.offset_hz + hz, ..self },
            PitchChange::Semitones(_) | PitchChange::Ratio(_) => {
                // Keep the factor finite and non-zero so that `offset · k` can never
                // become NaN (0 · ∞), whatever the input.
                let k = change.factor().filter(|k| !k.is_nan()).unwrap_or(1.0).clamp(1e-6, 1e6);
                Self { ratio: self.ratio * k, offset_hz: self.offset_hz * k, ..self }
            }
        }
    }

    /// Applies the transform to a value `f` (an F0 sample, or an excursion width for
    /// `range`) of a voice whose natural baseline is `baseline_hz`. Never negative.
    pub fn apply(&self, f: f32, baseline_hz: f32) -> f32 {
        let base = match self.absolute_hz {
            Some(target) if baseline_hz > 0.0 => f * target / baseline_hz,
            _ => f,
        };
        (base * self.ratio + self.offset_hz).max(0.0)
    }

    /// True when the transform changes nothing.
    pub fn is_identity(&self) -> bool {
        *self == Self::IDENTITY
    }
}

impl Default for PitchTransform {
    fn default() -> Self {
        Self::IDENTITY
    }
}

/// Output gain.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Volume {
    /// Gain in decibels relative to the voice's normal level (0 = unchanged).
    Gain { db: f32 },
    /// No sound at all (`silent`): the segment still takes its time.
    Silent,
}

impl Volume {
    /// Linear amplitude factor (0 for silence).
    pub fn amplitude(self) -> f32 {
        match self {
            Self::Gain { db } => (db / 20.0 * std::f32::consts::LN_10).exp(),
            Self::Silent => 0.0,
        }
    }
}

/// `<emphasis level>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EmphasisLevel {
    Strong,
    Moderate,
    /// Explicitly no emphasis (cancels an enclosing one).
    None,
    Reduced,
}

impl EmphasisLevel {
    /// How this level is realised: `(rate factor, pitch semitones, volume dB)`.
    pub fn mix(self) -> (f32, f32, f32) {
        emphasis_mix(self)
    }
}

/// A pitch contour mapped onto one segment.
///
/// Positions are in the segment's own time: 0 is its start, 1 its end. The parser does
/// not know durations, so it spreads the contour over the `<prosody>` element's segments
/// in proportion to their character counts; `span` records which part of the element
/// this segment was given, so an engine that knows real durations can remap. The
/// nearest point before the segment and the nearest after it are included (with
/// positions < 0 or > 1), so the curve can be interpolated across the whole segment.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentContour {
    /// Points, sorted by position. Each `pitch` replaces [`Controls::pitch`] at that
    /// instant; between points, interpolate the resulting frequencies linearly.
    pub points: Vec<ContourPoint>,
    /// The fraction of the element covered by this segment, `(start, end)` in 0..=1.
    pub span: (f32, f32),
}

/// One point of a pitch contour.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ContourPoint {
    /// Position in segment time (see [`SegmentContour`]).
    pub position: f32,
    /// The full pitch transform at this point (the element's pitch, then the target).
    pub pitch: PitchTransform,
}

/// A target duration shared by a group of segments (`<prosody duration>`).
///
/// All segments with the same `group` together should last `total_ms` (explicit breaks
/// inside the element are not counted: they are exact silences). A nested `duration`
/// forms its own group, and its time is taken out of the outer group's total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationTarget {
    pub group: u32,
    pub total_ms: u32,
}

/// `<break strength>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BreakStrength {
    None,
    XWeak,
    Weak,
    Medium,
    Strong,
    XStrong,
}

/// Something that happens between segments.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Index of the segment this event comes before (`segments.len()` for the end).
    pub before: usize,
    pub kind: EventKind,
}

/// The kinds of [`Event`].
#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    /// `<mark name>`: report when playback reaches this point.
    Mark {
        name: String,
    },
    /// An exact silence of `ms` milliseconds. `strength` is set when the duration came
    /// from a strength keyword (or the default `medium`), `None` when `time` was given.
    Break {
        ms: u32,
        strength: Option<BreakStrength>,
    },
    ParagraphStart,
    ParagraphEnd,
    SentenceStart,
    SentenceEnd,
    /// An `<audio>` element: its file is never fetched; its fallback content follows
    /// as ordinary segments.
    Audio {
        src: Option<String>,
    },
}

/// One item of [`Document::items`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Item<'a> {
    Segment(&'a Segment),
    Event(&'a EventKind),
}

impl Document {
    /// Segments and events interleaved in document order.
    pub fn items(&self) -> impl Iterator<Item = Item<'_>> + '_ {
        let mut ev = self.events.iter().peekable();
        let mut seg = self.segments.iter().enumerate().peekable();
        std::iter::from_fn(move || match (ev.peek(), seg.peek()) {
            (Some(e), Some((i, _))) if e.before <= *i => ev.next().map(|e| Item::Event(&e.kind)),
            (_, Some(_)) => seg.next().map(|(_, s)| Item::Segment(s)),
            (Some(_), None) => ev.next().map(|e| Item::Event(&e.kind)),
            (None, None) => None,
        })
    }

    /// The spoken text, segments joined (phonemes contribute their written text).
    /// Meant for logs, captions and tests.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for s in &self.segments {
            match &s.content {
                Content::Text { text, .. } | Content::Phonemes { text, .. } => out.push_str(text),
            }
        }
        out
    }

    /// True when nothing is spoken and nothing happens.
    pub fn is_empty(&self) -> bool {
        self.segments.is_empty() && self.events.is_empty()
    }

    /// Total explicit silence from breaks, in milliseconds.
    pub fn total_break_ms(&self) -> u64 {
        self.events
            .iter()
            .map(|e| match e.kind {
                EventKind::Break { ms, .. } => u64::from(ms),
                _ => 0,
            })
            .sum()
    }
}

impl Segment {
    /// The text of a text segment, `None` for phonemes.
    pub fn text(&self) -> Option<&str> {
        match &self.content {
            Content::Text { text, .. } => Some(text),
            Content::Phonemes { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pitch_composition() {
        let t = PitchTransform::IDENTITY.then(PitchChange::HzRelative(10.0)).then(PitchChange::Semitones(12.0));
        assert_eq!(t.ratio, 2.0);
        assert_eq!(t.offset_hz, 20.0);
        assert_eq!(t.apply(100.0, 100.0), 220.0);
        let a = t.then(PitchChange::AbsoluteHz(200.0)).then(PitchChange::Ratio(1.5));
        assert_eq!(a.absolute_hz, Some(200.0));
        assert_eq!(a.apply(100.0, 100.0), 300.0);
        // Shape kept: a sample 10% above baseline stays 10% above the new baseline.
        assert!((a.apply(110.0, 100.0) - 330.0).abs() < 1e-3);
        assert_eq!(PitchTransform::IDENTITY.then(PitchChange::HzRelative(-500.0)).apply(100.0, 100.0), 0.0);
        assert!(PitchTransform::default().is_identity());
    }

    #[test]
    fn volume_amplitude() {
        assert_eq!(Volume::Silent.amplitude(), 0.0);
        assert!((Volume::Gain { db: 0.0 }.amplitude() - 1.0).abs() < 1e-6);
        assert!((Volume::Gain { db: 20.0 }.amplitude() - 10.0).abs() < 1e-4);
    }

    #[test]
    fn items_interleave() {
        let seg = Segment {
            content: Content::Text { text: "a".into(), say_as: None },
            lang: None,
            voice: None,
            controls: Controls::default(),
            source_offset: 0,
        };
        let doc = Document {
            segments: vec![seg.clone(), seg],
            events: vec![
                Event { before: 0, kind: EventKind::ParagraphStart },
                Event { before: 1, kind: EventKind::Mark { name: "m".into() } },
                Event { before: 2, kind: EventKind::ParagraphEnd },
            ],
            ..Document::default()
        };
        let kinds: Vec<&str> = doc
            .items()
            .map(|i| match i {
                Item::Segment(_) => "S",
                Item::Event(EventKind::Mark { .. }) => "M",
                Item::Event(_) => "P",
            })
            .collect();
        assert_eq!(kinds, ["P", "S", "M", "S", "P"]);
        assert_eq!(doc.text(), "aa");
    }
}
