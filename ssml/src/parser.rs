//! The SSML parser: XML events in, a flat [`Document`] out.
//!
//! # Why it is built this way
//!
//! * **Iterative, not recursive.** quick-xml hands us a flat stream of start/end/text
//!   events; we keep our own explicit stack of frames, one per open element, each
//!   holding the *effective* context (language, voice, prosody, …) for its content.
//!   Entering an element clones the parent's context and modifies it; leaving pops it.
//!   Inheritance is therefore just "look at the top of the stack", and nesting depth is
//!   a number we check against a limit, never a call-stack depth, so a document nested
//!   100 000 levels deep is a clean [`SsmlError::TooDeep`], not a stack overflow.
//! * **Bounded.** The input size is capped before anything is read; the number of
//!   frames is capped by `max_depth`; the number of segments and events is at most
//!   the number of text nodes and elements; the large shared values are `Arc`ed; the
//!   number of stored warnings is capped. Memory is linear in the input size.
//! * **No DTDs.** A DOCTYPE is an error, so only the five predefined entities and
//!   character references exist; there is nothing to expand and nothing to fetch.
//! * **Text is flushed at every tag.** Text between two tags always belongs to the
//!   innermost open element, so a segment never straddles a change of context.

use std::sync::Arc;

use quick_xml::events::attributes::AttrError;
use quick_xml::events::{BytesStart, Event as XmlEvent};
use quick_xml::reader::Reader;

use crate::error::{MAX_ATTRIBUTES, Position, SsmlError, Warning, WarningKind};
use crate::model::*;
use crate::values::{self, PitchSpec, RateSpec, VolumeSpec};

/// Longest `<prosody duration>` accepted before clamping: ten minutes.
pub const MAX_PROSODY_DURATION_MS: u32 = 600_000;

/// Parser settings. `ParseOptions::default()` is what the engine uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseOptions {
    /// Turn warnings into errors (except [`WarningKind::Ignored`] notes): unknown
    /// elements and attributes, clamped values and unsupported say-as / phoneme
    /// vocabularies are then rejected instead of worked around.
    pub strict: bool,
    /// Deepest element nesting accepted (`<speak>` is level 1). Default 256.
    pub max_depth: usize,
    /// Largest input accepted, in bytes. Default 1 MiB (hours of speech).
    pub max_input_bytes: usize,
    /// Longest single `<break>`; longer ones are clamped with a warning (an error when
    /// `strict`). Default 60 000 ms.
    pub max_break_ms: u32,
    /// Most warnings recorded; further ones are counted in one
    /// [`WarningKind::Suppressed`]. Default 256.
    pub max_warnings: usize,
}

impl Default for ParseOptions {
    fn default() -> Self {
        Self { strict: false, max_depth: 256, max_input_bytes: 1 << 20, max_break_ms: 60_000, max_warnings: 256 }
    }
}

/// What happens to the content of an element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Spoken and interpreted.
    Normal,
    /// Not interpreted at all: `<sub>` (replaced by its alias), `<desc>`, and the
    /// ignored `<lexicon>`, `<meta>`, `<metadata>`.
    Skip,
    /// Text goes into the written form of the phoneme segment at this index.
    Phoneme(usize),
}

/// The effective context inside an element.
#[derive(Debug, Clone)]
struct Ctx {
    lang: Option<Arc<str>>,
    voice: Option<Arc<Voice>>,
    say_as: Option<Arc<SayAs>>,
    rate: f32,
    pitch: PitchTransform,
    range: PitchTransform,
    volume: Volume,
    emphasis: Option<EmphasisLevel>,
    /// Index into `Parser::durations` of the innermost `<prosody duration>`.
    duration: Option<usize>,
    mode: Mode,
}

/// What to do when an element closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Close {
    Nothing,
    Paragraph,
    Sentence,
    Phoneme,
    Prosody { contour: Option<usize>, duration: Option<usize> },
}

#[derive(Debug)]
struct Frame {
    ctx: Ctx,
    close: Close,
    /// Byte offset of the start tag, for "unclosed element" errors.
    offset: usize,
    name: String,
}

#[derive(Debug)]
struct ContourRec {
    points: Vec<(f32, PitchTransform)>,
    first_segment: usize,
}

#[derive(Debug)]
struct DurationRec {
    group: u32,
    total_ms: u32,
    claimed_ms: u32,
    first_segment: usize,
}

/// An element's attributes, unescaped, with a "used" flag for unknown-attribute checks.
struct Attrs {
    list: Vec<(String, String, bool)>,
}

impl Attrs {
    fn take(&mut self, key: &str) -> Option<String> {
        self.list.iter_mut().find(|(k, _, used)| !*used && k == key).map(|(_, v, used)| {
            *used = true;
            v.clone()
        })
    }

    fn unused(&self) -> impl Iterator<Item = &str> {
        self.list
            .iter()
            .filter(|(k, _, used)| {
                // Namespace declarations and attributes in other namespaces (xml:base,
                // xsi:schemaLocation, …) are not ours to judge.
                !*used && !k.contains(':') && k != "xmlns"
            })
            .map(|(k, ..)| k.as_str())
    }
}

struct Parser<'a> {
    src: &'a str,
    opts: &'a ParseOptions,
    stack: Vec<Frame>,
    doc: Document,
    warnings: Vec<Warning>,
    suppressed: usize,
    pending: String,
    /// Byte offset where `pending` starts.
    pending_offset: usize,
    /// True right after a paragraph/sentence boundary (or at the start): leading
    /// whitespace of the next segment is dropped.
    at_block_start: bool,
    seen_root: bool,
    root_closed: bool,
    contours: Vec<ContourRec>,
    durations: Vec<DurationRec>,
}

/// Parses an SSML document. See the crate documentation.
pub fn parse(xml: &str, opts: &ParseOptions) -> Result<(Document, Vec<Warning>), SsmlError> {
    if xml.len() > opts.max_input_bytes {
        return Err(SsmlError::InputTooLarge { len: xml.len(), limit: opts.max_input_bytes });
    }
    let mut p = Parser {
        src: xml,
        opts,
        stack: Vec::new(),
        doc: Document::default(),
        warnings: Vec::new(),
        suppressed: 0,
        pending: String::new(),
        pending_offset: 0,
        at_block_start: true,
        seen_root: false,
        root_closed: false,
        contours: Vec::new(),
        durations: Vec::new(),
    };
    p.run()?;
    let Parser { mut doc, mut warnings, suppressed, .. } = p;
    trim_last_segment(&mut doc);
    if suppressed > 0 {
        warnings.push(Warning {
            pos: Position::from_offset(xml, xml.len()),
            kind: WarningKind::Suppressed { count: suppressed },
        });
    }
    Ok((doc, warnings))
}

/// Wraps plain text (SSML off) as a document: whitespace collapsed, one paragraph per
/// block of text separated by blank lines, default controls throughout.
pub fn plain_text(text: &str) -> Document {
    let mut doc = Document::default();
    let mut para = String::new();
    let mut para_start = 0;
    let flush = |para: &mut String, start: usize, doc: &mut Document| {
        let t = collapse_ws(para);
        let t = t.trim();
        if !t.is_empty() {
            let before = doc.segments.len();
            doc.events.push(Event { before, kind: EventKind::ParagraphStart });
            doc.segments.push(Segment {
                content: Content::Text { text: t.to_owned(), say_as: None },
                lang: None,
                voice: None,
                controls: Controls::default(),
                source_offset: start,
            });
            doc.events.push(Event { before: before + 1, kind: EventKind::ParagraphEnd });
        }
        para.clear();
    };
    for line in text.lines() {
        if line.trim().is_empty() {
            flush(&mut para, para_start, &mut doc);
        } else {
            if para.is_empty() {
                // `lines()` yields subslices of `text`, so this is the line's offset.
                let at = line.as_ptr() as usize - text.as_ptr() as usize;
                para_start = at + (line.len() - line.trim_start().len());
            }
            para.push_str(line);
            para.push('\n');
        }
    }
    flush(&mut para, para_start, &mut doc);
    doc
}

/// Collapses runs of XML whitespace (space, tab, CR, LF) into one space.
fn collapse_ws(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_ws = false;
    for c in s.chars() {
        if matches!(c, ' ' | '\t' | '\n' | '\r') {
            if !in_ws {
                out.push(' ');
            }
            in_ws = true;
        } else {
            out.push(c);
            in_ws = false;
        }
    }
    out
}

fn trim_last_segment(doc: &mut Document) {
    if let Some(Segment { content: Content::Text { text, .. }, .. }) = doc.segments.last_mut() {
        let len = text.trim_end().len();
        text.truncate(len);
    }
}

/// XML 1.0 `Char` production.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

fn invalid(element: &str, attribute: &str, value: &str, expected: &str, pos: Position) -> SsmlError {
    SsmlError::InvalidAttribute {
        pos,
        element: element.to_owned(),
        attribute: attribute.to_owned(),
        value: value.to_owned(),
        expected: expected.to_owned(),
    }
}

fn missing(element: &str, attribute: &str, pos: Position) -> SsmlError {
    SsmlError::MissingAttribute { pos, element: element.to_owned(), attribute: attribute.to_owned() }
}

impl Parser<'_> {
    fn pos(&self, offset: usize) -> Position {
        Position::from_offset(self.src, offset)
    }

    fn xml_err(&self, offset: usize, message: impl Into<String>) -> SsmlError {
        SsmlError::Xml { pos: self.pos(offset), message: message.into() }
    }

    /// Records a warning, or fails when `strict` (except for `Ignored` notes).
    fn warn(&mut self, offset: usize, kind: WarningKind) -> Result<(), SsmlError> {
        let strict_applies = !matches!(kind, WarningKind::Ignored { .. });
        if self.opts.strict && strict_applies {
            return Err(SsmlError::Strict { warning: Warning { pos: self.pos(offset), kind } });
        }
        if self.warnings.len() < self.opts.max_warnings {
            let pos = self.pos(offset);
            self.warnings.push(Warning { pos, kind });
        } else {
            self.suppressed += 1;
        }
        Ok(())
    }

    fn ctx(&self) -> Option<&Ctx> {
        self.stack.last().map(|f| &f.ctx)
    }

    fn mode(&self) -> Mode {
        self.ctx().map_or(Mode::Normal, |c| c.mode)
    }

    fn run(&mut self) -> Result<(), SsmlError> {
        let mut reader = Reader::from_str(self.src);
        // End tags must match (quick-xml's default); nothing else is relaxed.
        reader.config_mut().check_end_names = true;
        loop {
            let offset = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
            let event = match reader.read_event() {
                Ok(e) => e,
                Err(e) => {
                    let at = usize::try_from(reader.error_position()).unwrap_or(offset);
                    return Err(self.xml_err(at, e.to_string()));
                }
            };
            match event {
                XmlEvent::Start(e) => {
                    self.flush_text();
                    self.start(&e, &reader, offset)?;
                }
                XmlEvent::Empty(e) => {
                    self.flush_text();
                    self.start(&e, &reader, offset)?;
                    self.end(offset)?;
                }
                XmlEvent::End(_) => {
                    self.flush_text();
                    self.end(offset)?;
                }
                XmlEvent::Text(t) => {
                    let s = t.xml10_content().map_err(|e| self.xml_err(offset, e.to_string()))?;
                    self.text(&s, offset)?;
                }
                XmlEvent::CData(t) => {
                    let s = t.xml10_content().map_err(|e| self.xml_err(offset, e.to_string()))?;
                    self.text(&s, offset)?;
                }
                XmlEvent::GeneralRef(r) => {
                    let name = r.decode().map_err(|e| self.xml_err(offset, e.to_string()))?.into_owned();
                    let c = self.resolve_ref(&name, offset)?;
                    let mut buf = [0u8; 4];
                    self.text(c.encode_utf8(&mut buf), offset)?;
                }
                XmlEvent::DocType(_) => {
                    return Err(SsmlError::Doctype { pos: self.pos(offset) });
                }
                XmlEvent::Comment(_) | XmlEvent::Decl(_) | XmlEvent::PI(_) => {}
                XmlEvent::Eof => break,
            }
        }
        if let Some(f) = self.stack.last() {
            return Err(self.xml_err(
                self.src.len(),
                format!("unexpected end of input: <{}> (opened at {}) is not closed", f.name, self.pos(f.offset)),
            ));
        }
        if !self.seen_root {
            return Err(SsmlError::NotSsml { pos: self.pos(self.src.len()), message: "no <speak> element".into() });
        }
        Ok(())
    }

    fn resolve_ref(&self, name: &str, offset: usize) -> Result<char, SsmlError> {
        let c = match name {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "apos" => '\'',
            "quot" => '"',
            _ if name.starts_with('#') => {
                let (digits, radix) = match name[1..].strip_prefix(['x', 'X']) {
                    Some(hex) => (hex, 16),
                    None => (&name[1..], 10),
                };
                let bad = || self.xml_err(offset, format!("invalid character reference `&{name};`"));
                let digits_ok = if radix == 16 {
                    digits.bytes().all(|b| b.is_ascii_hexdigit())
                } else {
                    digits.bytes().all(|b| b.is_ascii_digit())
                };
                if digits.is_empty() || digits.len() > 16 || !digits_ok {
                    return Err(bad());
                }
                let n = u32::from_str_radix(digits, radix).map_err(|_| bad())?;
                let c = char::from_u32(n).ok_or_else(bad)?;
                if !is_xml_char(c) {
                    return Err(bad());
                }
                c
            }
            _ => {
                return Err(SsmlError::UndefinedEntity { pos: self.pos(offset), name: name.to_owned() });
            }
        };
        Ok(c)
    }

    fn text(&mut self, s: &str, offset: usize) -> Result<(), SsmlError> {
        if self.stack.is_empty() {
            if s.chars().all(|c| matches!(c, ' ' | '\t' | '\n' | '\r')) {
                return Ok(());
            }
            let message = if self.root_closed { "text after </speak>" } else { "text before <speak>" };
            return Err(SsmlError::NotSsml { pos: self.pos(offset), message: message.into() });
        }
        if self.mode() != Mode::Skip {
            if self.pending.is_empty() {
                self.pending_offset = offset;
            }
            self.pending.push_str(s);
        }
        Ok(())
    }

    /// Turns pending text into a segment of the innermost element.
    fn flush_text(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let raw = std::mem::take(&mut self.pending);
        let Some(ctx) = self.ctx().cloned() else {
            return;
        };
        match ctx.mode {
            Mode::Skip => {}
            Mode::Phoneme(i) => {
                if let Some(Segment { content: Content::Phonemes { text, .. }, .. }) = self.doc.segments.get_mut(i) {
                    text.push_str(&raw);
                }
            }
            Mode::Normal => {
                let text = collapse_ws(&raw);
                let at = self.pending_offset + (raw.len() - raw.trim_start().len());
                self.push_text(text, &ctx, None, at);
            }
        }
    }

    /// Appends a text segment; `say_as` overrides the context's (used by `<sub>`).
    fn push_text(&mut self, mut text: String, ctx: &Ctx, say_as: Option<Option<Arc<SayAs>>>, offset: usize) {
        let prev_ends_ws = match self.doc.segments.last() {
            Some(Segment { content: Content::Text { text, .. }, .. }) => Some(text.ends_with(' ')),
            _ => None,
        };
        if text.trim().is_empty() {
            // Whitespace alone: keep it only as a word boundary after earlier text.
            if prev_ends_ws == Some(false)
                && !self.at_block_start
                && let Some(Segment { content: Content::Text { text, .. }, .. }) = self.doc.segments.last_mut()
            {
                text.push(' ');
            }
            return;
        }
        if (self.at_block_start || prev_ends_ws == Some(true)) && text.starts_with(' ') {
            text.remove(0);
        }
        let say_as = say_as.unwrap_or_else(|| ctx.say_as.clone());
        let segment = self.segment(Content::Text { text, say_as }, ctx, offset);
        self.doc.segments.push(segment);
        self.at_block_start = false;
    }

    fn segment(&self, content: Content, ctx: &Ctx, source_offset: usize) -> Segment {
        let mut controls = Controls {
            rate: ctx.rate,
            pitch: ctx.pitch,
            range: ctx.range,
            contour: None,
            volume: ctx.volume,
            emphasis: ctx.emphasis,
            duration: None,
        };
        if let Some(level) = ctx.emphasis {
            let (r, st, db) = level.mix();
            controls.rate = (controls.rate * r).clamp(RATE_MIN, RATE_MAX);
            if st != 0.0 {
                controls.pitch = clamp_pitch(controls.pitch.then(PitchChange::Semitones(st))).0;
            }
            if let Volume::Gain { db: g } = controls.volume {
                controls.volume = Volume::Gain { db: (g + db).clamp(GAIN_MIN_DB, GAIN_MAX_DB) };
            }
        }
        Segment { content, lang: ctx.lang.clone(), voice: ctx.voice.clone(), controls, source_offset }
    }

    fn push_event(&mut self, kind: EventKind) {
        let boundary = matches!(
            kind,
            EventKind::ParagraphStart | EventKind::ParagraphEnd | EventKind::SentenceStart | EventKind::SentenceEnd
        );
        if boundary {
            trim_last_segment(&mut self.doc);
            self.at_block_start = true;
        }
        self.doc.events.push(Event { before: self.doc.segments.len(), kind });
    }

    fn attrs(&self, e: &BytesStart<'_>, reader: &Reader<&[u8]>, offset: usize) -> Result<Attrs, SsmlError> {
        let mut list = Vec::new();
        for a in e.attributes() {
            if list.len() == MAX_ATTRIBUTES {
                let element = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                return Err(SsmlError::TooManyAttributes { pos: self.pos(offset), element, limit: MAX_ATTRIBUTES });
            }
            let a = a.map_err(|err| self.attr_err(offset, &err))?;
            let key =
                std::str::from_utf8(a.key.as_ref()).map_err(|err| self.xml_err(offset, err.to_string()))?.to_owned();
            let value = a
                .decode_and_unescape_value(reader.decoder())
                .map_err(|err| self.xml_err(offset, format!("in attribute `{key}`: {err}")))?
                .into_owned();
            list.push((key, value, false));
        }
        Ok(Attrs { list })
    }

    /// quick-xml reports attribute syntax errors relative to the tag's content (just
    /// after `<`); turn them into absolute positions and plain messages.
    fn attr_err(&self, offset: usize, err: &AttrError) -> SsmlError {
        let at = |rel: usize| offset.saturating_add(1).saturating_add(rel);
        let (rel, message) = match *err {
            AttrError::ExpectedEq(p) => (p, "attribute name must be followed by `=`".to_owned()),
            AttrError::ExpectedValue(p) => (p, "`=` must be followed by a quoted value".to_owned()),
            AttrError::UnquotedValue(p) => (p, "attribute value must be quoted".to_owned()),
            AttrError::ExpectedQuote(p, q) => (p, format!("missing closing quote `{}`", q as char)),
            AttrError::Duplicated(p, first) => {
                (p, format!("duplicated attribute (first given at {})", self.pos(at(first))))
            }
        };
        self.xml_err(at(rel), message)
    }

    fn start(&mut self, e: &BytesStart<'_>, reader: &Reader<&[u8]>, offset: usize) -> Result<(), SsmlError> {
        let name =
            std::str::from_utf8(e.name().as_ref()).map_err(|err| self.xml_err(offset, err.to_string()))?.to_owned();
        if self.stack.len() >= self.opts.max_depth {
            return Err(SsmlError::TooDeep { pos: self.pos(offset), limit: self.opts.max_depth });
        }
        let parent = match self.ctx() {
            Some(c) => c.clone(),
            None => {
                if self.root_closed {
                    return Err(SsmlError::NotSsml {
                        pos: self.pos(offset),
                        message: format!("element <{name}> after </speak>"),
                    });
                }
                if name != "speak" {
                    return Err(SsmlError::NotSsml {
                        pos: self.pos(offset),
                        message: format!("the document element must be <speak>, found <{name}>"),
                    });
                }
                Ctx {
                    lang: None,
                    voice: None,
                    say_as: None,
                    rate: 1.0,
                    pitch: PitchTransform::IDENTITY,
                    range: PitchTransform::IDENTITY,
                    volume: Volume::Gain { db: 0.0 },
                    emphasis: None,
                    duration: None,
                    mode: Mode::Normal,
                }
            }
        };
        let mut frame = Frame { ctx: parent, close: Close::Nothing, offset, name };
        if frame.ctx.mode != Mode::Skip {
            let mut attrs = self.attrs(e, reader, offset)?;
            self.element(&mut frame, &mut attrs, offset)?;
            let unknown: Vec<String> = attrs.unused().map(str::to_owned).collect();
            for attribute in unknown {
                self.warn(offset, WarningKind::UnknownAttribute { element: frame.name.clone(), attribute })?;
            }
        }
        self.stack.push(frame);
        Ok(())
    }

    /// Interprets one element: updates the frame's context and emits what it opens with.
    fn element(&mut self, f: &mut Frame, a: &mut Attrs, offset: usize) -> Result<(), SsmlError> {
        let pos = |p: &Self| p.pos(offset);
        let name = f.name.clone();
        let el = name.as_str();
        // xml:lang is accepted on every container element and changes the language.
        if let Some(lang) = a.take("xml:lang") {
            let lang = lang.trim();
            if lang.is_empty() {
                // XML: an empty xml:lang means "no language information".
                f.ctx.lang = None;
            } else if values::valid_lang(lang) {
                f.ctx.lang = Some(Arc::from(lang));
            } else {
                return Err(invalid(el, "xml:lang", lang, "a language tag such as en-US", pos(self)));
            }
        }
        match el {
            "speak" => {
                if self.seen_root {
                    self.warn(
                        offset,
                        WarningKind::Ignored {
                            element: "speak".into(),
                            reason: "nested <speak> has no meaning; its content is kept",
                        },
                    )?;
                } else {
                    self.seen_root = true;
                    self.doc.lang = f.ctx.lang.clone();
                    if let Some(v) = a.take("version") {
                        let v = v.trim().to_owned();
                        if v != "1.0" && v != "1.1" {
                            self.warn(
                                offset,
                                WarningKind::Unsupported {
                                    element: "speak".into(),
                                    attribute: "version".into(),
                                    value: v.clone(),
                                    fallback: "parsed as SSML 1.1",
                                },
                            )?;
                        }
                        self.doc.version = Some(v);
                    }
                }
            }
            "p" => {
                self.push_event(EventKind::ParagraphStart);
                f.close = Close::Paragraph;
            }
            "s" => {
                self.push_event(EventKind::SentenceStart);
                f.close = Close::Sentence;
            }
            "break" => self.brk(a, offset)?,
            "prosody" => self.prosody(f, a, offset)?,
            "emphasis" => {
                let level = match a.take("level") {
                    Some(v) => values::parse_level(&v)
                        .ok_or_else(|| invalid(el, "level", &v, values::LEVEL_FORMS, pos(self)))?,
                    None => EmphasisLevel::Moderate,
                };
                f.ctx.emphasis = Some(level);
            }
            "say-as" => self.say_as(f, a, offset)?,
            "sub" => {
                let alias = a.take("alias").ok_or_else(|| missing(el, "alias", pos(self)))?;
                if f.ctx.mode == Mode::Normal {
                    let text = collapse_ws(&alias);
                    let ctx = f.ctx.clone();
                    // An alias is already the spoken form: no say-as normalisation.
                    self.push_text(text, &ctx, Some(None), offset);
                }
                f.ctx.mode = Mode::Skip;
            }
            "phoneme" => self.phoneme(f, a, offset)?,
            "voice" => self.voice(f, a, offset)?,
            "lang" => {
                if !a.list.iter().any(|(k, ..)| k == "xml:lang") {
                    return Err(missing(el, "xml:lang", pos(self)));
                }
                a.take("onlangfailure");
            }
            "mark" => {
                let name = a.take("name").ok_or_else(|| missing(el, "name", pos(self)))?;
                if f.ctx.mode != Mode::Skip {
                    self.push_event(EventKind::Mark { name });
                }
            }
            "audio" => {
                let src = a.take("src");
                for k in [
                    "fetchtimeout",
                    "fetchhint",
                    "maxage",
                    "maxstale",
                    "clipBegin",
                    "clipEnd",
                    "repeatCount",
                    "repeatDur",
                    "soundLevel",
                    "speed",
                ] {
                    a.take(k);
                }
                self.push_event(EventKind::Audio { src });
            }
            "desc" => f.ctx.mode = Mode::Skip,
            "lexicon" | "meta" | "metadata" => {
                let reason = match el {
                    "lexicon" => "pronunciation lexicons are not loaded; use <phoneme> or <sub>",
                    "meta" => "metadata is not used for synthesis",
                    _ => "metadata is not used for synthesis",
                };
                self.warn(offset, WarningKind::Ignored { element: el.into(), reason })?;
                a.list.clear();
                f.ctx.mode = Mode::Skip;
            }
            "lookup" => {
                a.take("ref");
                self.warn(
                    offset,
                    WarningKind::Ignored {
                        element: el.into(),
                        reason: "lexicons are not loaded; the content is read normally",
                    },
                )?;
            }
            "token" | "w" => {
                // Word grouping: the content is read as written; `role` refers to
                // lexicon entries, which are not loaded.
                a.take("role");
            }
            _ => {
                self.warn(offset, WarningKind::UnknownElement { name: name.clone() })?;
                // Attributes of an unknown element are not reported one by one.
                a.list.clear();
            }
        }
        Ok(())
    }

    fn brk(&mut self, a: &mut Attrs, offset: usize) -> Result<(), SsmlError> {
        let time = a.take("time");
        let strength = match a.take("strength") {
            Some(v) => Some(
                values::parse_strength(&v)
                    .ok_or_else(|| invalid("break", "strength", &v, values::STRENGTH_FORMS, self.pos(offset)))?,
            ),
            None => None,
        };
        let kind = match time {
            Some(t) => {
                let ms = values::parse_time_ms(&t)
                    .ok_or_else(|| invalid("break", "time", &t, values::TIME_FORMS, self.pos(offset)))?;
                let cap = f64::from(self.opts.max_break_ms);
                let ms = if ms > cap {
                    self.warn(
                        offset,
                        WarningKind::Clamped {
                            element: "break".into(),
                            what: "time",
                            value: t.trim().to_owned(),
                            limit: format!("{}ms", self.opts.max_break_ms),
                        },
                    )?;
                    cap
                } else {
                    ms
                };
                EventKind::Break { ms: ms.round() as u32, strength: None }
            }
            None => {
                let s = strength.unwrap_or(BreakStrength::Medium);
                EventKind::Break { ms: values::strength_ms(s).min(self.opts.max_break_ms), strength: Some(s) }
            }
        };
        if self.mode() != Mode::Skip {
            self.push_event(kind);
        }
        Ok(())
    }

    fn clamped(&mut self, offset: usize, what: &'static str, value: &str, limit: String) -> Result<(), SsmlError> {
        self.warn(
            offset,
            WarningKind::Clamped { element: "prosody".into(), what, value: value.trim().to_owned(), limit },
        )
    }

    fn prosody(&mut self, f: &mut Frame, a: &mut Attrs, offset: usize) -> Result<(), SsmlError> {
        let bad = |p: &Self, attr: &str, v: &str, forms: &str| invalid("prosody", attr, v, forms, p.pos(offset));
        if let Some(v) = a.take("rate") {
            let spec = values::parse_rate(&v).ok_or_else(|| bad(self, "rate", &v, values::RATE_FORMS))?;
            let rate = match spec {
                RateSpec::Absolute(r) => r,
                RateSpec::Relative(r) => f.ctx.rate * r,
            };
            if !(RATE_MIN..=RATE_MAX).contains(&rate) {
                self.clamped(offset, "rate", &v, format!("{RATE_MIN}..{RATE_MAX}"))?;
            }
            f.ctx.rate = rate.clamp(RATE_MIN, RATE_MAX);
        }
        if let Some(v) = a.take("pitch") {
            let spec = values::parse_pitch(&v).ok_or_else(|| bad(self, "pitch", &v, values::PITCH_FORMS))?;
            f.ctx.pitch = self.compose_pitch(f.ctx.pitch, spec, offset, "pitch", &v)?;
        }
        if let Some(v) = a.take("range") {
            let spec = values::parse_range(&v).ok_or_else(|| bad(self, "range", &v, values::PITCH_FORMS))?;
            f.ctx.range = self.compose_pitch(f.ctx.range, spec, offset, "range", &v)?;
        }
        if let Some(v) = a.take("volume") {
            let spec = values::parse_volume(&v).ok_or_else(|| bad(self, "volume", &v, values::VOLUME_FORMS))?;
            let vol = match (spec, f.ctx.volume) {
                (VolumeSpec::Absolute(v), _) => v,
                (VolumeSpec::RelativeDb(_), Volume::Silent) => Volume::Silent,
                (VolumeSpec::RelativeDb(d), Volume::Gain { .. }) if d == f32::NEG_INFINITY => Volume::Silent,
                (VolumeSpec::RelativeDb(d), Volume::Gain { db }) => Volume::Gain { db: db + d },
            };
            f.ctx.volume = match vol {
                Volume::Gain { db } if !(GAIN_MIN_DB..=GAIN_MAX_DB).contains(&db) => {
                    self.clamped(offset, "volume", &v, format!("{GAIN_MIN_DB}dB..{GAIN_MAX_DB}dB"))?;
                    Volume::Gain { db: db.clamp(GAIN_MIN_DB, GAIN_MAX_DB) }
                }
                other => other,
            };
        }
        let mut contour = None;
        if let Some(v) = a.take("contour") {
            let parsed = values::parse_contour(&v).ok_or_else(|| bad(self, "contour", &v, values::CONTOUR_FORMS))?;
            let mut points = Vec::with_capacity(parsed.len());
            for (at, spec) in parsed {
                let t = self.compose_pitch(f.ctx.pitch, spec, offset, "contour", &v)?;
                points.push((at, t));
            }
            contour = Some(self.contours.len());
            self.contours.push(ContourRec { points, first_segment: self.doc.segments.len() });
        }
        let mut duration = None;
        if let Some(v) = a.take("duration") {
            let ms = values::parse_time_ms(&v).ok_or_else(|| bad(self, "duration", &v, values::TIME_FORMS))?;
            let cap = f64::from(MAX_PROSODY_DURATION_MS);
            if ms > cap {
                self.clamped(offset, "duration", &v, format!("{MAX_PROSODY_DURATION_MS}ms"))?;
            }
            let idx = self.durations.len();
            self.durations.push(DurationRec {
                group: u32::try_from(idx).unwrap_or(u32::MAX),
                total_ms: ms.min(cap).round() as u32,
                claimed_ms: 0,
                first_segment: self.doc.segments.len(),
            });
            duration = Some(idx);
            f.ctx.duration = Some(idx);
        }
        f.close = Close::Prosody { contour, duration };
        Ok(())
    }

    fn compose_pitch(
        &mut self,
        current: PitchTransform,
        spec: PitchSpec,
        offset: usize,
        what: &'static str,
        value: &str,
    ) -> Result<PitchTransform, SsmlError> {
        let base = if spec.reset { PitchTransform::IDENTITY } else { current };
        let (t, was_clamped) = clamp_pitch(base.then(spec.change));
        if was_clamped {
            self.clamped(
                offset,
                what,
                value,
                format!(
                    "ratio {PITCH_RATIO_MIN}..{PITCH_RATIO_MAX}, offset ±{PITCH_OFFSET_MAX_HZ}Hz, absolute {ABSOLUTE_HZ_MIN}..{ABSOLUTE_HZ_MAX}Hz"
                ),
            )?;
        }
        Ok(t)
    }

    fn say_as(&mut self, f: &mut Frame, a: &mut Attrs, offset: usize) -> Result<(), SsmlError> {
        let kind = a.take("interpret-as").ok_or_else(|| missing("say-as", "interpret-as", self.pos(offset)))?;
        let format = a.take("format");
        let detail = a.take("detail");
        let interpret_as = match kind.trim().to_ascii_lowercase().as_str() {
            "characters" => Some(InterpretAs::Characters),
            "spell-out" | "verbatim" => Some(InterpretAs::SpellOut),
            "cardinal" | "number" => Some(InterpretAs::Cardinal),
            "ordinal" => Some(InterpretAs::Ordinal),
            "digits" => Some(InterpretAs::Digits),
            "date" => Some(InterpretAs::Date),
            "time" => Some(InterpretAs::Time),
            "telephone" => Some(InterpretAs::Telephone),
            "currency" => Some(InterpretAs::Currency),
            _ => None,
        };
        f.ctx.say_as = match interpret_as {
            Some(interpret_as) => Some(Arc::new(SayAs { interpret_as, format, detail })),
            None => {
                self.warn(
                    offset,
                    WarningKind::Unsupported {
                        element: "say-as".into(),
                        attribute: "interpret-as".into(),
                        value: kind,
                        fallback: "the content is read as plain text",
                    },
                )?;
                None
            }
        };
        Ok(())
    }

    fn phoneme(&mut self, f: &mut Frame, a: &mut Attrs, offset: usize) -> Result<(), SsmlError> {
        let ph = a.take("ph").ok_or_else(|| missing("phoneme", "ph", self.pos(offset)))?;
        let alphabet = match a.take("alphabet") {
            None => Some(Alphabet::Ipa),
            Some(v) => match v.trim().to_ascii_lowercase().as_str() {
                "ipa" => Some(Alphabet::Ipa),
                "x-kokoro" => Some(Alphabet::Kokoro),
                _ => {
                    self.warn(
                        offset,
                        WarningKind::Unsupported {
                            element: "phoneme".into(),
                            attribute: "alphabet".into(),
                            value: v,
                            fallback: "the phonemes are ignored and the text is read",
                        },
                    )?;
                    None
                }
            },
        };
        if let (Some(alphabet), Mode::Normal) = (alphabet, f.ctx.mode) {
            let seg = self.segment(
                Content::Phonemes { alphabet, ph: ph.trim().to_owned(), text: String::new() },
                &f.ctx,
                offset,
            );
            f.ctx.mode = Mode::Phoneme(self.doc.segments.len());
            self.doc.segments.push(seg);
            self.at_block_start = false;
            f.close = Close::Phoneme;
        }
        Ok(())
    }

    fn voice(&mut self, f: &mut Frame, a: &mut Attrs, offset: usize) -> Result<(), SsmlError> {
        let bad = |p: &Self, attr: &str, v: &str, forms: &str| invalid("voice", attr, v, forms, p.pos(offset));
        let name = a.take("name").map(|n| n.trim().to_owned());
        let gender = match a.take("gender") {
            None => None,
            Some(g) => Some(match g.trim().to_ascii_lowercase().as_str() {
                "male" => Gender::Male,
                "female" => Gender::Female,
                "neutral" => Gender::Neutral,
                _ => return Err(bad(self, "gender", &g, "male, female, neutral")),
            }),
        };
        let int = |p: &Self, attr: &str, v: &str, min: u32| -> Result<u32, SsmlError> {
            let t = v.trim();
            match t.parse::<u32>() {
                Ok(n) if n >= min && t.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
                _ => Err(bad(p, attr, v, if min == 0 { "a non-negative integer" } else { "a positive integer" })),
            }
        };
        let age = a.take("age").map(|v| int(self, "age", &v, 0)).transpose()?;
        let variant = a.take("variant").map(|v| int(self, "variant", &v, 1)).transpose()?;
        let languages = a.take("languages").map(|l| l.trim().to_owned());
        for k in ["required", "ordering", "onvoicefailure"] {
            a.take(k);
        }
        let voice = Voice { name, gender, age, variant, languages };
        if voice != Voice::default() {
            f.ctx.voice = Some(Arc::new(voice));
        }
        Ok(())
    }

    fn end(&mut self, offset: usize) -> Result<(), SsmlError> {
        let Some(frame) = self.stack.pop() else {
            // quick-xml rejects unmatched end tags; this is a safety net.
            return Err(self.xml_err(offset, "end tag without a start tag"));
        };
        if self.stack.is_empty() {
            self.root_closed = true;
        }
        match frame.close {
            Close::Nothing => {}
            Close::Paragraph => self.push_event(EventKind::ParagraphEnd),
            Close::Sentence => self.push_event(EventKind::SentenceEnd),
            Close::Phoneme => {
                if let Mode::Phoneme(i) = frame.ctx.mode
                    && let Some(Segment { content: Content::Phonemes { text, .. }, .. }) = self.doc.segments.get_mut(i)
                {
                    *text = collapse_ws(text).trim().to_owned();
                }
            }
            Close::Prosody { contour, duration } => {
                if let Some(c) = contour {
                    self.close_contour(c);
                }
                if let Some(d) = duration {
                    let parent = self.ctx().and_then(|c| c.duration);
                    self.close_duration(d, parent);
                }
            }
        }
        Ok(())
    }

    /// Spreads a contour over the element's segments by character count.
    fn close_contour(&mut self, idx: usize) {
        let Some(rec) = self.contours.get_mut(idx) else {
            return;
        };
        let points = std::mem::take(&mut rec.points);
        let first = rec.first_segment.min(self.doc.segments.len());
        let segs = &mut self.doc.segments[first..];
        let weight = |s: &Segment| -> f32 {
            let n = match &s.content {
                Content::Text { text, .. } => text.chars().count(),
                Content::Phonemes { ph, .. } => ph.chars().count(),
            };
            n.max(1) as f32
        };
        let total: f32 = segs.iter().map(weight).sum();
        if total <= 0.0 || points.is_empty() {
            return;
        }
        let mut acc = 0.0f32;
        for seg in segs.iter_mut() {
            let start = acc / total;
            acc += weight(seg);
            let end = (acc / total).min(1.0);
            if seg.controls.contour.is_some() {
                continue;
            }
            let lo = points.partition_point(|p| p.0 <= start).saturating_sub(1);
            let hi = points.partition_point(|p| p.0 < end).min(points.len() - 1).max(lo);
            let len = (end - start).max(f32::EPSILON);
            seg.controls.contour = Some(SegmentContour {
                points: points[lo..=hi]
                    .iter()
                    .map(|&(at, pitch)| ContourPoint { position: (at - start) / len, pitch })
                    .collect(),
                span: (start, end),
            });
        }
    }

    /// Gives the element's unclaimed segments its duration budget.
    fn close_duration(&mut self, idx: usize, parent: Option<usize>) {
        let Some(rec) = self.durations.get(idx) else {
            return;
        };
        let (group, total, first) = (rec.group, rec.total_ms, rec.first_segment);
        let budget = total.saturating_sub(rec.claimed_ms);
        let first = first.min(self.doc.segments.len());
        let mut used = rec.claimed_ms > 0;
        for seg in &mut self.doc.segments[first..] {
            if seg.controls.duration.is_none() {
                seg.controls.duration = Some(DurationTarget { group, total_ms: budget });
                used = true;
            }
        }
        if used && let Some(p) = parent.and_then(|p| self.durations.get_mut(p)) {
            p.claimed_ms = p.claimed_ms.saturating_add(total);
        }
    }
}

/// Keeps a pitch transform inside the documented limits; reports whether it had to.
fn clamp_pitch(t: PitchTransform) -> (PitchTransform, bool) {
    let c = PitchTransform {
        absolute_hz: t.absolute_hz.map(|hz| hz.clamp(ABSOLUTE_HZ_MIN, ABSOLUTE_HZ_MAX)),
        ratio: t.ratio.clamp(PITCH_RATIO_MIN, PITCH_RATIO_MAX),
        offset_hz: t.offset_hz.clamp(-PITCH_OFFSET_MAX_HZ, PITCH_OFFSET_MAX_HZ),
    };
    (c, c != t)
}
