//! Incremental text segmentation for speaking text that arrives piece by piece (LLM tokens, half words).
//!
//! [`Segmenter::push`] takes any fragment; [`Segmenter::next_unit`] hands out the next *unit* (the text of one
//! model call) as soon as it is certainly complete. Speech can only start once a unit is known, and a unit cut
//! in the wrong place is spoken with the wrong intonation, so the segmenter waits exactly as long as a decision
//! needs and no longer.
//!
//! # Rules
//!
//! * **Sentence ends** (`.`, `!`, `?`, `…`, `...`, runs like `?!`) end a unit ([`UnitEnd::Sentence`]) only once
//!   the next non-space character has arrived: whether `Dr.` or `U.S.` ends a sentence depends on what follows,
//!   and a half-received token must not decide it. The mark must be followed by whitespace (this is what keeps
//!   `3.5`, `$9.99`, `v1.2.3`, `example.com/a.b`, `www.x.org` and `a.b@c.d` whole). Closing quotes and brackets
//!   right after the mark belong to the sentence (`He said "Stop." Then` ends after the `"`).
//! * **CJK sentence marks** (`。！？`) need no following space, since CJK text has none. A mark followed by
//!   closing quotes and then hiragana is a quotation inside a sentence (`「はい。」と言った。`), not its end.
//! * **Newlines** always end a unit ([`UnitEnd::Line`]): line structure (titles, list items, verse) is the
//!   writer's own segmentation. Blank lines make no empty units.
//! * **Never a sentence end**:
//!   - after an abbreviation or title (`Dr. Mr. Mrs. Ms. Prof. St. Jr. Sr. vs. e.g. i.e. a.m. p.m. U.S. Inc.
//!     Ltd. approx.` and the month abbreviations `Jan.`–`Dec.`, a few more, and the Spanish, French, Italian and
//!     Portuguese titles `Sra. Dra. Av. M. Sig. Dott. Ing. …`: `warble_g2p::abbreviations`, the one table that
//!     language detection reads too);
//!     merging two sentences only makes one unit longer, while a false split breaks a name or a phrase;
//!   - after single-letter initials and dotted initials (`J. R. R. Tolkien`, `J.R.R.`, `U.K.`); the lone `I` is
//!     excluded because "…than I." ends sentences far more often than it is an initial;
//!   - after `No.`, `Fig.`, `pp.`, `vol.` (`warble_g2p::abbreviations::BEFORE_NUMBER`) *when a number follows*
//!     (`No. 5`, `Fig. 3`): "The answer is no." is common enough that these words end sentences before anything else;
//!   - after `etc.` unless the next word starts with an uppercase letter (`…pears, etc. Then we left.` ends a
//!     sentence; `etc. and more` and `etc. 5` do not): `etc.` closes sentences as often as it sits inside them;
//!   - before a lowercase word (`e.g. the`, `the U.S. economy`, `Wait... what`): sentences start uppercase, so a
//!     lowercase continuation is the strongest sign that a full stop was not a sentence end;
//!   - inside an open quotation or bracket (`"Wait. Stop." and left` is one unit): the quotation is spoken as
//!     part of its sentence. Straight `"` opens after a space (or at the start) and closes after a non-space;
//!     `(`, `[`, `{` only open after a space, so `:(` and `f(x` do not hold sentences open;
//!   - after a unit that so far is only a number of at most 3 digits (`1. First item` is a list marker, not a
//!     unit of its own), or that has no letter or digit at all (a lone `...`).
//! * **First clause** ([`SegmenterOptions::first_clause`]): the first unit of a stream, and the first after
//!   [`Segmenter::flush`], may end at `,` `;` `:` or a spaced dash (` — `, ` – `, ` -- `) followed by whitespace
//!   and a non-space character, once it holds at least [`SegmenterOptions::min_clause_words`] words
//!   ([`UnitEnd::Clause`]); speech starts sooner, and later units, which are queued behind audio anyway, keep
//!   whole sentences for better prosody. `1,200` is never a clause end (no space after the comma); neither is a
//!   mark inside an open quotation.
//! * **Bounded units** ([`SegmenterOptions::max_unit_chars`]): when a unit has grown to more than the limit with
//!   no boundary, it is cut ([`UnitEnd::Forced`]) within the limit at the last clause mark (any of the marks
//!   above, `、`, `，`), else the last whitespace, else (no whitespace at all) at the limit itself. If the text
//!   runs on inside a quotation, the cut goes to the last sentence end inside it instead ([`UnitEnd::Sentence`]),
//!   and the rest of the quotation is then segmented as ordinary text. This also bounds memory: no more than
//!   about `max_unit_chars` characters wait for a decision.
//!
//! # Guarantees
//!
//! Unit texts are trimmed, never empty, and together hold every non-whitespace character of the input, in
//! order. Every decision depends on the text only, never on how it was split into fragments or when
//! [`Segmenter::next_unit`] was called: the same text pushed in any pieces gives the same units (only the time
//! at which each unit becomes available differs). Text is scanned once, with a cursor kept between calls;
//! a decision that needs lookahead reads a bounded number of characters, so `push` and `next_unit` are
//! amortized linear.

/// How a [`Segmenter`] cuts text into units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmenterOptions {
    /// Let the first unit of a stream (and the first after [`Segmenter::flush`]) end at a clause mark.
    pub first_clause: bool,
    /// Words the first unit needs before a clause mark may end it.
    pub min_clause_words: usize,
    /// Most characters in one unit (at least 1); longer text without a boundary is cut.
    pub max_unit_chars: usize,
}

impl Default for SegmenterOptions {
    fn default() -> Self {
        SegmenterOptions { first_clause: true, min_clause_words: 4, max_unit_chars: 1000 }
    }
}

/// One piece of text to speak.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// The text, trimmed of surrounding whitespace; never empty.
    pub text: String,
    /// Why the unit ended.
    pub end: UnitEnd,
}

/// Why a [`Unit`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitEnd {
    /// At a sentence end (also a cut at a sentence end inside an over-long quotation).
    Sentence,
    /// At a clause mark: the first unit of a stream only.
    Clause,
    /// At a newline.
    Line,
    /// At the length limit, with no boundary within it.
    Forced,
    /// By [`Segmenter::flush`], or the rest of the text at [`Segmenter::finish`].
    Flush,
}

/// Longest word looked back at for an abbreviation.
const MAX_ABBREVIATION_CHARS: usize = 12;

/// Deepest nesting of quotes and brackets tracked (deeper openers are ignored).
const MAX_OPEN: usize = 32;

/// Compact the buffer once this many consumed characters lie before the unit start (and they are the majority).
const COMPACT_AFTER: usize = 4096;

fn is_newline(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// Sentence marks; a run of them (`?!`, `...`) is one mark.
fn is_sentence_mark(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '…' | '‼' | '⁇' | '⁈' | '⁉' | '。' | '！' | '？')
}

fn is_cjk_sentence_mark(c: char) -> bool {
    matches!(c, '。' | '！' | '？')
}

/// CJK punctuation, which is not followed by a space.
fn is_cjk_punctuation(c: char) -> bool {
    matches!(c, '。' | '！' | '？' | '、' | '，' | '；' | '：')
}

/// Marks a forced cut prefers to end on.
fn is_clause_mark(c: char) -> bool {
    matches!(c, ',' | ';' | ':' | '—' | '–' | '、' | '，' | '；' | '：') || is_sentence_mark(c)
}

/// The closer an opening quote or bracket waits for.
fn closer_of(c: char) -> Option<char> {
    Some(match c {
        '(' => ')',
        '[' => ']',
        '{' => '}',
        '"' => '"',
        '“' => '”',
        '‘' => '’',
        '«' => '»',
        '「' => '」',
        '『' => '』',
        '（' => '）',
        '【' => '】',
        '《' => '》',
        '〈' => '〉',
        _ => return None,
    })
}

/// Characters that close a quotation or bracket; after a sentence mark they belong to the sentence.
fn is_closer(c: char) -> bool {
    matches!(c, '"' | '\'' | ')' | ']' | '}' | '”' | '’' | '»' | '」' | '』' | '）' | '】' | '》' | '〉')
}

fn is_hiragana(c: char) -> bool {
    ('\u{3041}'..='\u{309F}').contains(&c)
}

/// What the word before a full stop says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Abbreviation {
    None,
    /// Never a sentence end.
    Always,
    /// `etc.`: a sentence end only before an uppercase word.
    Etc,
    /// Not a sentence end before a number.
    BeforeNumber,
}

/// The decision about a possible boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// The characters that decide it have not arrived.
    NeedMore,
    /// Not a boundary.
    No,
    /// A sentence end but for an open quotation: the unit would end before this index.
    Quoted(usize),
    /// A boundary: the unit ends before this index.
    End(usize, UnitEnd),
}

/// What the scan knows about the unit being built; reset at each unit start.
#[derive(Debug, Clone, Default)]
struct UnitState {
    /// Closers of the open quotations and brackets, innermost last.
    open: Vec<char>,
    /// Whitespace-separated words holding a letter or digit.
    words: usize,
    /// The current word is already counted.
    in_word: bool,
    /// The unit holds a letter or digit.
    has_alnum: bool,
    /// Forced-cut candidates (end indices, each within the limit): last sentence end inside a quotation, last
    /// whitespace after a clause mark, last whitespace after a word.
    quoted_cut: Option<usize>,
    clause_cut: Option<usize>,
    space_cut: Option<usize>,
}

/// Cuts streamed text into speakable units; see the [module documentation](self) for the rules.
#[derive(Debug, Clone)]
pub struct Segmenter {
    opts: SegmenterOptions,
    /// Received text; everything before `start` has been handed out (compacted away now and then).
    buf: Vec<char>,
    /// Where the unit being built starts.
    start: usize,
    /// Characters in `start..cursor` are scanned and decided; `state` describes them.
    cursor: usize,
    /// The next unit may end at a clause mark.
    clause_allowed: bool,
    state: UnitState,
    /// Where the input stands in a terminal escape sequence (they are dropped: see [`Segmenter::push`]).
    escape: Escape,
}

/// Progress through a terminal escape sequence, which may arrive split across fragments.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Escape {
    #[default]
    None,
    /// After ESC.
    Start,
    /// Inside a control sequence (`ESC [` or C1 CSI), until its final byte `@`..`~`.
    Csi,
    /// Inside an operating-system command (`ESC ]`), until BEL or `ESC \`.
    Osc,
    /// ESC inside an operating-system command.
    OscEsc,
}

impl Default for Segmenter {
    fn default() -> Self {
        Segmenter::new(SegmenterOptions::default())
    }
}

impl Segmenter {
    /// A segmenter at the start of a stream (`max_unit_chars` 0 counts as 1).
    pub fn new(opts: SegmenterOptions) -> Self {
        let opts = SegmenterOptions { max_unit_chars: opts.max_unit_chars.max(1), ..opts };
        Segmenter {
            opts,
            buf: Vec::new(),
            start: 0,
            cursor: 0,
            clause_allowed: opts.first_clause,
            state: UnitState::default(),
            escape: Escape::None,
        }
    }

    /// The options in use.
    pub fn options(&self) -> SegmenterOptions {
        self.opts
    }

    /// Appends a fragment of text; it may end anywhere, inside a word or a number (or an escape sequence).
    ///
    /// Terminal escape sequences are dropped: colour codes from a program's output (`ESC[31m`) would otherwise
    /// be read aloud ("thirty-one M") and their `[` would open a bracket the unit waits to see closed.
    pub fn push(&mut self, fragment: &str) {
        for c in fragment.chars() {
            self.escape = match (self.escape, c) {
                (Escape::None, '\u{1b}') => Escape::Start,
                (Escape::None, '\u{9b}') => Escape::Csi,
                (Escape::None, c) => {
                    self.buf.push(c);
                    Escape::None
                }
                (Escape::Start, '[') => Escape::Csi,
                (Escape::Start, ']') => Escape::Osc,
                // Two-character sequences (`ESC c`, `ESC =`, …).
                (Escape::Start, _) => Escape::None,
                (Escape::Csi, '@'..='~') => Escape::None,
                (Escape::Csi, _) => Escape::Csi,
                (Escape::Osc, '\u{7}') => Escape::None,
                (Escape::Osc, '\u{1b}') => Escape::OscEsc,
                (Escape::Osc, _) => Escape::Osc,
                (Escape::OscEsc, _) => Escape::None,
            };
        }
    }

    /// The next complete unit, if one is complete.
    pub fn next_unit(&mut self) -> Option<Unit> {
        self.scan(false)
    }

    /// Everything buffered, as one unit now ([`UnitEnd::Flush`]); `None` if it is only whitespace. The next
    /// unit may end at a clause again ([`SegmenterOptions::first_clause`]).
    pub fn flush(&mut self) -> Option<Unit> {
        let text: String = self.buf[self.start..].iter().collect();
        self.reset();
        let text = text.trim();
        (!text.is_empty()).then(|| Unit { text: text.to_string(), end: UnitEnd::Flush })
    }

    /// End of input: all remaining units, the last one possibly incomplete ([`UnitEnd::Flush`]). The segmenter is
    /// then ready for a new stream.
    pub fn finish(&mut self) -> Vec<Unit> {
        let mut units = Vec::new();
        while let Some(u) = self.scan(true) {
            units.push(u);
        }
        self.reset();
        units
    }

    /// Characters received and not yet handed out in a unit (whitespace included).
    pub fn buffered_len(&self) -> usize {
        self.buf.len() - self.start
    }

    fn reset(&mut self) {
        self.buf.clear();
        self.start = 0;
        self.cursor = 0;
        self.state = UnitState::default();
        self.clause_allowed = self.opts.first_clause;
        self.escape = Escape::None;
    }

    /// Index one past the last character the current unit may hold.
    fn limit(&self) -> usize {
        self.start + self.opts.max_unit_chars
    }

    /// Scans on from the cursor to the next unit; `eof` says no more text will come.
    fn scan(&mut self, eof: bool) -> Option<Unit> {
        loop {
            if self.cursor == self.start {
                // A unit never starts with whitespace: blank lines and spaces between units are dropped here.
                while self.start < self.buf.len() && self.buf[self.start].is_whitespace() {
                    self.start += 1;
                }
                self.cursor = self.start;
                self.compact();
            }
            let i = self.cursor;
            if i == self.buf.len() {
                return (eof && self.start < i).then(|| self.emit(i, i, UnitEnd::Flush));
            }
            let c = self.buf[i];
            if is_newline(c) {
                return Some(self.emit(i, i + 1, UnitEnd::Line));
            }
            if i - self.start >= self.opts.max_unit_chars {
                return Some(self.forced_cut());
            }
            let verdict = if is_sentence_mark(c) && (i == self.start || !is_sentence_mark(self.buf[i - 1])) {
                self.sentence_verdict(i, eof)
            } else if self.clause_allowed && matches!(c, ',' | ';' | ':' | '—' | '–' | '-') {
                self.clause_verdict(i, eof)
            } else {
                Verdict::No
            };
            match verdict {
                Verdict::NeedMore => return None,
                Verdict::End(end, kind) => return Some(self.emit(end, end, kind)),
                Verdict::Quoted(end) => self.state.quoted_cut = Some(end),
                Verdict::No => {}
            }
            self.advance();
        }
    }

    /// Hands out `start..end` and starts the next unit at `next`.
    fn emit(&mut self, end: usize, next: usize, kind: UnitEnd) -> Unit {
        let text: String = self.buf[self.start..end].iter().collect();
        self.start = next;
        self.cursor = next;
        self.state = UnitState::default();
        self.clause_allowed = false;
        Unit { text: text.trim().to_string(), end: kind }
    }

    /// Drops handed-out text once it is most of the buffer (amortized linear).
    fn compact(&mut self) {
        if self.start >= COMPACT_AFTER && self.start * 2 >= self.buf.len() {
            self.buf.drain(..self.start);
            self.cursor -= self.start;
            self.start = 0;
        }
    }

    /// The unit has reached the limit without a boundary: cut it within the limit. The text after the cut is
    /// scanned again as the next unit (at most `max_unit_chars` characters, once per cut).
    fn forced_cut(&mut self) -> Unit {
        self.note_cut(self.cursor);
        let s = &self.state;
        let (end, kind) = match (s.quoted_cut, s.clause_cut.or(s.space_cut)) {
            (Some(end), _) => (end, UnitEnd::Sentence),
            (None, Some(end)) => (end, UnitEnd::Forced),
            (None, None) => (self.limit(), UnitEnd::Forced),
        };
        self.emit(end, end, kind)
    }

    /// Takes the character at the cursor into the unit state.
    fn advance(&mut self) {
        let k = self.cursor;
        let c = self.buf[k];
        let prev = (k > self.start).then(|| self.buf[k - 1]);
        self.note_cut(k);
        if c.is_whitespace() {
            self.state.in_word = false;
        } else {
            if c.is_alphanumeric() {
                self.state.has_alnum = true;
                if !self.state.in_word {
                    self.state.words += 1;
                    self.state.in_word = true;
                }
            }
            self.track_quotes(c, prev);
        }
        self.cursor += 1;
    }

    /// Records `k` as a forced-cut candidate (the unit would be `start..k`) when it is one.
    fn note_cut(&mut self, k: usize) {
        if k <= self.start {
            return;
        }
        let (c, p) = (self.buf[k], self.buf[k - 1]);
        if c.is_whitespace() {
            if !p.is_whitespace() {
                self.state.space_cut = Some(k);
                let mark = if is_closer(p) && k - 1 > self.start { self.buf[k - 2] } else { p };
                if is_clause_mark(mark) {
                    self.state.clause_cut = Some(k);
                }
            }
        } else if is_cjk_punctuation(p) {
            self.state.clause_cut = Some(k);
        }
    }

    fn track_quotes(&mut self, c: char, prev: Option<char>) {
        // An ASCII quote or bracket opens only where a word could start: after whitespace, at the unit start
        // or after another opener. That tells `"` apart as opener or closer and ignores `:(`, `f(x)`, `5'10"`.
        let at_word_start = prev.is_none_or(|p| p.is_whitespace() || closer_of(p).is_some());
        let open = &mut self.state.open;
        match c {
            '"' if at_word_start => push_open(open, '"'),
            '"' => close(open, '"'),
            '(' | '[' | '{' | '‘' if at_word_start => push_open(open, closer_of(c).unwrap_or(c)),
            '(' | '[' | '{' | '‘' => {}
            _ => match closer_of(c) {
                Some(closer) => push_open(open, closer),
                None if is_closer(c) => close(open, c),
                None => {}
            },
        }
    }

    /// Whether the sentence-mark run starting at `i` ends the unit.
    fn sentence_verdict(&self, i: usize, eof: bool) -> Verdict {
        let buf = &self.buf;
        let (len, limit) = (buf.len(), self.limit());
        let mut j = i;
        while j < len && is_sentence_mark(buf[j]) {
            j += 1;
        }
        if j == len && !eof {
            return Verdict::NeedMore; // the run may go on (`..` → `...`)
        }
        if !self.state.has_alnum {
            return Verdict::No;
        }
        let single_dot = j == i + 1 && buf[i] == '.';
        if single_dot && i - self.start <= 3 && buf[self.start..i].iter().all(char::is_ascii_digit) {
            return Verdict::No; // `1. First item`
        }
        let abbreviation = if single_dot { self.abbreviation(i) } else { Abbreviation::None };
        if abbreviation == Abbreviation::Always {
            return Verdict::No;
        }
        // Closing quotes and brackets right after the mark belong to the sentence.
        let mut open = self.state.open.clone();
        let mut end = j;
        while end < len && end <= limit && is_closer(buf[end]) {
            close(&mut open, buf[end]);
            end += 1;
        }
        if end > limit {
            return Verdict::No;
        }
        if end == len && !eof {
            return Verdict::NeedMore;
        }
        let sentence_end = |open: &[char]| {
            if open.is_empty() { Verdict::End(end, UnitEnd::Sentence) } else { Verdict::Quoted(end) }
        };
        if buf[i..j].iter().any(|&c| is_cjk_sentence_mark(c)) {
            if end < len && end > j && is_hiragana(buf[end]) {
                return Verdict::No; // `「はい。」と言った`
            }
            return sentence_end(&open);
        }
        // The next non-space character; `None` at the end of the text or of the line.
        let next = if end == len {
            None
        } else {
            if !buf[end].is_whitespace() {
                return Verdict::No; // `3.5`, `example.com`, `a.b@c.d`
            }
            match self.next_non_space(end, eof) {
                Err(verdict) => return verdict,
                Ok(next) => next,
            }
        };
        if let Some(n) = next {
            if n.is_lowercase() {
                return Verdict::No;
            }
            match abbreviation {
                Abbreviation::Etc if !n.is_uppercase() => return Verdict::No,
                Abbreviation::BeforeNumber if n.is_numeric() => return Verdict::No,
                _ => {}
            }
        }
        sentence_end(&open)
    }

    /// Whether the clause mark at `i` ends the (first) unit.
    fn clause_verdict(&self, i: usize, eof: bool) -> Verdict {
        if !self.state.open.is_empty() || self.state.words < self.opts.min_clause_words {
            return Verdict::No;
        }
        let buf = &self.buf;
        let spaced = |k: usize| k > self.start && buf[k - 1].is_whitespace();
        let end = match buf[i] {
            ',' | ';' | ':' => i + 1,
            '—' | '–' if spaced(i) => i + 1,
            '-' if spaced(i) => match buf.get(i + 1) {
                None if !eof => return Verdict::NeedMore,
                Some('-') => i + 2,
                _ => return Verdict::No,
            },
            _ => return Verdict::No,
        };
        if end > self.limit() {
            return Verdict::No;
        }
        match buf.get(end) {
            None if eof => Verdict::No,
            None => Verdict::NeedMore,
            Some(c) if !c.is_whitespace() => Verdict::No, // `1,200`, `3:30`, `well-known`
            Some(_) => match self.next_non_space(end, eof) {
                Err(verdict) => verdict,
                Ok(Some(_)) => Verdict::End(end, UnitEnd::Clause),
                Ok(None) => Verdict::No, // a newline or the end of the text ends the unit anyway
            },
        }
    }

    /// The first non-space character from `k` on: `Ok(None)` at a newline or the end of the text, `Err` when it
    /// has not arrived yet or lies beyond the unit limit (then the forced cut decides, the same way whatever
    /// arrives later).
    fn next_non_space(&self, mut k: usize, eof: bool) -> Result<Option<char>, Verdict> {
        let limit = self.limit();
        loop {
            if k > limit {
                return Err(Verdict::No);
            }
            match self.buf.get(k) {
                None if eof => return Ok(None),
                None => return Err(Verdict::NeedMore),
                Some(&c) if is_newline(c) => return Ok(None),
                Some(&c) if !c.is_whitespace() => return Ok(Some(c)),
                Some(_) => k += 1,
            }
        }
    }

    /// Classifies the word before the full stop at `dot`.
    fn abbreviation(&self, dot: usize) -> Abbreviation {
        let mut k = dot;
        while k > self.start && (self.buf[k - 1].is_alphanumeric() || self.buf[k - 1] == '.') {
            if dot - k == MAX_ABBREVIATION_CHARS {
                return Abbreviation::None;
            }
            k -= 1;
        }
        let word: String = self.buf[k..dot].iter().collect::<String>().trim_start_matches('.').to_lowercase();
        if word.is_empty() {
            Abbreviation::None
        } else if word == "etc" {
            Abbreviation::Etc
        } else if warble_g2p::abbreviations::is_always(&word) {
            Abbreviation::Always
        } else if warble_g2p::abbreviations::BEFORE_NUMBER.contains(&word.as_str()) {
            Abbreviation::BeforeNumber
        } else if word != "i" && word.split('.').all(is_single_letter) {
            Abbreviation::Always // initials: `J.`, `J.R.R.`, `U.K.`
        } else {
            Abbreviation::None
        }
    }
}

fn is_single_letter(s: &str) -> bool {
    let mut chars = s.chars();
    matches!((chars.next(), chars.next()), (Some(c), None) if c.is_alphabetic())
}

fn push_open(open: &mut Vec<char>, closer: char) {
    if open.len() < MAX_OPEN {
        open.push(closer);
    }
}

/// Closes the innermost open quotation or bracket that `closer` closes (and any left open inside it); a closer
/// with no opener (`1)`, an apostrophe) changes nothing.
fn close(open: &mut Vec<char>, closer: char) {
    if let Some(pos) = open.iter().rposition(|&c| c == closer) {
        open.truncate(pos);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain() -> SegmenterOptions {
        SegmenterOptions { first_clause: false, ..SegmenterOptions::default() }
    }

    /// All units of `text` pushed in one piece.
    fn units(text: &str, opts: SegmenterOptions) -> Vec<Unit> {
        let mut s = Segmenter::new(opts);
        s.push(text);
        let mut out = Vec::new();
        while let Some(u) = s.next_unit() {
            out.push(u);
        }
        out.extend(s.finish());
        out
    }

    fn texts(text: &str, opts: SegmenterOptions) -> Vec<String> {
        units(text, opts).into_iter().map(|u| u.text).collect()
    }

    fn unit(text: &str, end: UnitEnd) -> Unit {
        Unit { text: text.to_string(), end }
    }

    fn non_space(s: &str) -> String {
        s.chars().filter(|c| !c.is_whitespace()).collect()
    }

    /// Deterministic xorshift64* generator for the split tests.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn sentences_numbers_times_and_abbreviations() {
        assert_eq!(
            units("Dr. Smith paid $3.50 at 9:30 a.m. on Jan. 5. Then he left.", SegmenterOptions::default()),
            [
                unit("Dr. Smith paid $3.50 at 9:30 a.m. on Jan. 5.", UnitEnd::Sentence),
                unit("Then he left.", UnitEnd::Sentence),
            ]
        );
    }

    #[test]
    fn a_sentence_end_waits_for_the_next_non_space_character() {
        let mut s = Segmenter::new(plain());
        s.push("I met Dr.");
        assert_eq!(s.next_unit(), None);
        s.push("   ");
        assert_eq!(s.next_unit(), None, "whitespace alone does not decide");
        s.push("Smith. He");
        assert_eq!(s.next_unit(), Some(unit("I met Dr.   Smith.", UnitEnd::Sentence)), "inner whitespace is kept");
        assert_eq!(s.next_unit(), None);
        s.push(" waved!");
        assert_eq!(s.next_unit(), None, "the last mark waits too");
        assert_eq!(s.finish(), [unit("He waved!", UnitEnd::Sentence)]);
    }

    #[test]
    fn exclamations_questions_ellipses_and_runs() {
        assert_eq!(
            texts("Stop! Really?! Wait... What now… Fine. OK.", plain()),
            ["Stop!", "Really?!", "Wait...", "What now…", "Fine.", "OK."]
        );
    }

    #[test]
    fn closing_quotes_and_brackets_belong_to_the_sentence() {
        assert_eq!(texts("He said \"Stop.\" Then he left.", plain()), ["He said \"Stop.\"", "Then he left."]);
        assert_eq!(
            texts("(This is one. This is two.) Next one.", plain()),
            ["(This is one. This is two.)", "Next one."]
        );
        assert_eq!(texts("“Go!” She ran. ‘Why?’ he asked.", plain()), ["“Go!”", "She ran.", "‘Why?’ he asked."]);
    }

    #[test]
    fn a_full_stop_inside_a_quotation_waits_for_it_to_close() {
        assert_eq!(
            texts("She said \"Wait. Stop.\" and left. OK?", SegmenterOptions::default()),
            ["She said \"Wait. Stop.\" and left.", "OK?"]
        );
        assert_eq!(
            texts("He wrote (see Fig. 2. It is clear) and moved on. Next.", plain()),
            ["He wrote (see Fig. 2. It is clear) and moved on.", "Next."]
        );
    }

    #[test]
    fn emoticons_and_calls_do_not_open_brackets() {
        assert_eq!(texts("I'm sad :( Anyway. Next one.", plain()), ["I'm sad :( Anyway.", "Next one."]);
        assert_eq!(texts("Call f(arg. Then g.", plain()), ["Call f(arg.", "Then g."]);
        assert_eq!(texts("He is 5'10\" tall. Yes.", plain()), ["He is 5'10\" tall.", "Yes."]);
    }

    #[test]
    fn numbers_are_never_cut() {
        assert_eq!(
            texts(
                "It costs $9.99 today. Growth was 10.5% this year. Version v1.2.3 is out. We sold 1,200,000.",
                plain()
            ),
            ["It costs $9.99 today.", "Growth was 10.5% this year.", "Version v1.2.3 is out.", "We sold 1,200,000."]
        );
        // The unit must not end between `3` and `.5` when the text arrives split there.
        let mut s = Segmenter::new(plain());
        s.push("It weighs 3.");
        assert_eq!(s.next_unit(), None);
        s.push("5 kg. Done.");
        assert_eq!(s.next_unit(), Some(unit("It weighs 3.5 kg.", UnitEnd::Sentence)));
        assert_eq!(texts("It costs $3. Then stop.", plain()), ["It costs $3.", "Then stop."]);
    }

    #[test]
    fn urls_and_email_addresses_are_never_cut() {
        assert_eq!(
            texts("Visit www.example.com/docs.html today. It helps.", SegmenterOptions::default()),
            ["Visit www.example.com/docs.html today.", "It helps."]
        );
        assert_eq!(
            texts("Mail a.b@c.d or see https://x.org/a.b?q=1. Then go to example.com. Done.", plain()),
            ["Mail a.b@c.d or see https://x.org/a.b?q=1.", "Then go to example.com.", "Done."]
        );
    }

    #[test]
    fn titles_and_abbreviations() {
        for text in [
            "Ask Prof. Lee or Ms. Park today.",
            "Mr. Jones and Mrs. Jones met Dr. Who.",
            "They live on St. James Street with Sr. Ana and Bob Jr. Smith.",
            "It was Lakers vs. Celtics at 9 p.m. Monday.",
            "Use a tool, e.g. Python, i.e. Something simple.",
            "The U.S. Army and Acme Inc. Staff and Foo Ltd. Workers came.",
            "It weighs approx. 5 kg on Jan. 5 and Dec. 24.",
            "See Fig. 3 and No. 5 on pp. 12 here.",
            "J. R. R. Tolkien and J.R.R. Martin wrote books.",
            // The Romance titles (`warble_g2p::romance`).
            "La Sra. López y la Dra. Ruiz viven en la Av. Libertad.",
            "Il Sig. Rossi e il Dott. Bianchi con l'Ing. Verdi.",
            "M. Dupont et Mme Martin.",
        ] {
            assert_eq!(texts(text, plain()), [text], "{text}");
        }
        // `No.`, `Fig.` end sentences unless a number follows.
        assert_eq!(texts("The answer is No. Then we left.", plain()), ["The answer is No.", "Then we left."]);
        // The pronoun `I` is not an initial.
        assert_eq!(texts("He is taller than I. She is not.", plain()), ["He is taller than I.", "She is not."]);
    }

    #[test]
    fn etc_ends_a_sentence_only_before_an_uppercase_word() {
        assert_eq!(
            texts("We sold apples, pears, etc. Then we went home.", plain()),
            ["We sold apples, pears, etc.", "Then we went home."]
        );
        assert_eq!(texts("Bring apples, pears, etc. and bread.", plain()), ["Bring apples, pears, etc. and bread."]);
        assert_eq!(texts("Items 1, 2, etc. 5 in all.", plain()), ["Items 1, 2, etc. 5 in all."]);
        assert_eq!(texts("Pack cups, plates, etc.", plain()), ["Pack cups, plates, etc."]);
    }

    #[test]
    fn a_lowercase_word_continues_the_sentence() {
        for text in
            ["The U.S. economy grew fast.", "He paused... then spoke.", "Open it at 5 a.m. on Monday.", "Wow! said he."]
        {
            assert_eq!(texts(text, plain()), [text], "{text}");
        }
        assert_eq!(texts("Wait... What?", plain()), ["Wait...", "What?"]);
    }

    #[test]
    fn list_markers_are_not_units() {
        assert_eq!(
            units("Steps\n1. First item.\n2. Second item\n10. Last\n", plain()),
            [
                unit("Steps", UnitEnd::Line),
                unit("1. First item.", UnitEnd::Sentence),
                unit("2. Second item", UnitEnd::Line),
                unit("10. Last", UnitEnd::Line),
            ]
        );
        assert_eq!(texts("Mix it. 2. Bake it.", plain()), ["Mix it.", "2. Bake it."]);
        assert_eq!(texts("... and so on. Yes.", plain()), ["... and so on.", "Yes."]);
    }

    #[test]
    fn terminal_escape_sequences_are_dropped_even_when_split() {
        let text = "\u{1b}[1;31mError:\u{1b}[0m disk full. \u{1b}]0;title\u{7}Next \u{1b}]8;;http://x\u{1b}\\link\u{1b}]8;;\u{1b}\\ line.\n";
        let want = ["Error: disk full.", "Next link line."];
        assert_eq!(texts(text, plain()), want);
        // Byte by byte (an escape split across pushes) gives the same units.
        let mut s = Segmenter::new(plain());
        let mut got = Vec::new();
        for c in text.chars() {
            s.push(&c.to_string());
            while let Some(u) = s.next_unit() {
                got.push(u.text);
            }
        }
        got.extend(s.finish().into_iter().map(|u| u.text));
        assert_eq!(got, want);
    }

    #[test]
    fn a_newline_always_ends_a_unit_and_blank_lines_make_none() {
        let mut s = Segmenter::new(SegmenterOptions::default());
        s.push("A title without a stop\n");
        assert_eq!(s.next_unit(), Some(unit("A title without a stop", UnitEnd::Line)), "no lookahead needed");
        s.push("\n\n  \r\nHe said \"one\nTwo\" to Dr.\nSmith.\r\n\nEnd");
        let mut got = Vec::new();
        while let Some(u) = s.next_unit() {
            got.push(u);
        }
        got.extend(s.finish());
        assert_eq!(
            got,
            [
                unit("He said \"one", UnitEnd::Line),
                unit("Two\" to Dr.", UnitEnd::Line),
                unit("Smith.", UnitEnd::Sentence),
                unit("End", UnitEnd::Flush),
            ]
        );
    }

    #[test]
    fn cjk_sentence_marks_need_no_space() {
        assert_eq!(
            units("こんにちは。元気ですか？はい！", plain()),
            [
                unit("こんにちは。", UnitEnd::Sentence),
                unit("元気ですか？", UnitEnd::Sentence),
                unit("はい！", UnitEnd::Sentence),
            ]
        );
        assert_eq!(texts("彼は「はい。」と言った。次の文。", plain()), ["彼は「はい。」と言った。", "次の文。"]);
        assert_eq!(texts("「はい。」「いいえ。」", plain()), ["「はい。」", "「いいえ。」"]);
        assert_eq!(texts("我很好。你呢？", plain()), ["我很好。", "你呢？"]);
        // A CJK mark still waits for the next character: a closing quote may follow.
        let mut s = Segmenter::new(plain());
        s.push("「はい。");
        assert_eq!(s.next_unit(), None);
        s.push("」");
        assert_eq!(s.next_unit(), None);
        s.push("次");
        assert_eq!(s.next_unit(), Some(unit("「はい。」", UnitEnd::Sentence)));
    }

    #[test]
    fn the_first_unit_may_end_at_a_clause() {
        assert_eq!(
            units(
                "I have 1,200 apples, 3.5 kg of pears, and more. Then, later, we ate them all, slowly.",
                SegmenterOptions::default()
            ),
            [
                unit("I have 1,200 apples,", UnitEnd::Clause),
                unit("3.5 kg of pears, and more.", UnitEnd::Sentence),
                unit("Then, later, we ate them all, slowly.", UnitEnd::Sentence),
            ]
        );
        let d = SegmenterOptions::default();
        assert_eq!(texts("Well, I think so.", d), ["Well, I think so."], "too few words before the comma");
        assert_eq!(
            texts("Meet me at 3:30 tomorrow morning: bring coffee.", d),
            ["Meet me at 3:30 tomorrow morning:", "bring coffee."]
        );
        assert_eq!(
            texts("We were going to the park — and then it rained.", d),
            ["We were going to the park —", "and then it rained."]
        );
        assert_eq!(texts("One two three four -- five six.", d), ["One two three four --", "five six."]);
        assert_eq!(texts("One two three four; five six.", d), ["One two three four;", "five six."]);
        assert_eq!(texts("We sold 1,200,000 units last year.", d), ["We sold 1,200,000 units last year."]);
        assert_eq!(texts("a well-known fact from long ago, yes.", d), ["a well-known fact from long ago,", "yes."]);
        assert_eq!(
            texts("He said \"one two three four, five\" loudly.", d),
            ["He said \"one two three four, five\" loudly."],
            "not inside a quotation"
        );
        assert_eq!(
            texts("One two three four, five.", SegmenterOptions { min_clause_words: 5, ..d }),
            ["One two three four, five."]
        );
        assert_eq!(texts("One two three four, five.", plain()), ["One two three four, five."]);
    }

    #[test]
    fn a_clause_waits_for_a_space_and_a_word() {
        let mut s = Segmenter::new(SegmenterOptions::default());
        s.push("We have 1,");
        assert_eq!(s.next_unit(), None);
        s.push("200 red apples,");
        assert_eq!(s.next_unit(), None);
        s.push("  ");
        assert_eq!(s.next_unit(), None);
        s.push("and");
        assert_eq!(s.next_unit(), Some(unit("We have 1,200 red apples,", UnitEnd::Clause)));
        s.push(" more, many more, too");
        assert_eq!(s.next_unit(), None, "only the first unit ends at a clause");
        assert_eq!(s.finish(), [unit("and more, many more, too", UnitEnd::Flush)]);
    }

    #[test]
    fn flush_hands_out_everything_and_rearms_the_first_clause() {
        let mut s = Segmenter::new(SegmenterOptions::default());
        s.push("One two three four, five six. Seven eight nine ten, eleven");
        assert_eq!(s.next_unit(), Some(unit("One two three four,", UnitEnd::Clause)));
        assert_eq!(s.next_unit(), Some(unit("five six.", UnitEnd::Sentence)));
        assert_eq!(s.next_unit(), None);
        assert_eq!(s.flush(), Some(unit("Seven eight nine ten, eleven", UnitEnd::Flush)));
        assert_eq!(s.buffered_len(), 0);
        s.push("   \n ");
        assert_eq!(s.flush(), None, "only whitespace");
        s.push("Alpha beta gamma delta, epsilon");
        assert_eq!(s.next_unit(), Some(unit("Alpha beta gamma delta,", UnitEnd::Clause)));
        assert_eq!(s.flush(), Some(unit("epsilon", UnitEnd::Flush)));
        // A flush in the middle of a word hands out the half word.
        s.push("Hello wor");
        assert_eq!(s.flush(), Some(unit("Hello wor", UnitEnd::Flush)));
    }

    #[test]
    fn finish_ends_the_stream_and_starts_a_new_one() {
        let mut s = Segmenter::new(SegmenterOptions::default());
        s.push("Done. And an incomplete tail");
        assert_eq!(s.finish(), [unit("Done.", UnitEnd::Sentence), unit("And an incomplete tail", UnitEnd::Flush)]);
        assert_eq!(s.finish(), []);
        s.push("One two three four, five.");
        assert_eq!(s.next_unit(), Some(unit("One two three four,", UnitEnd::Clause)));
    }

    #[test]
    fn buffered_len_counts_characters_not_yet_handed_out() {
        let mut s = Segmenter::new(plain());
        s.push("Héllo. Wö");
        assert_eq!(s.buffered_len(), 9);
        assert_eq!(s.next_unit(), Some(unit("Héllo.", UnitEnd::Sentence)));
        assert_eq!(s.buffered_len(), 3, "the space before `Wö` too");
    }

    #[test]
    fn forced_cuts_prefer_clause_marks_then_whitespace() {
        let opts = SegmenterOptions { first_clause: false, min_clause_words: 4, max_unit_chars: 40 };
        let text = "alpha beta gamma, delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho";
        let got = units(text, opts);
        assert_eq!(got[0], unit("alpha beta gamma,", UnitEnd::Forced));
        assert_eq!(got[1], unit("delta epsilon zeta eta theta iota kappa", UnitEnd::Forced));
        assert!(got.iter().all(|u| u.text.chars().count() <= 40), "{got:?}");
        assert_eq!(got.iter().map(|u| u.text.as_str()).collect::<Vec<_>>().join(" "), text);
        // No whitespace at all: cut at the limit.
        let word = "x".repeat(95);
        assert_eq!(texts(&word, opts), ["x".repeat(40), "x".repeat(40), "x".repeat(15)]);
    }

    #[test]
    fn an_over_long_quotation_is_cut_at_its_sentence_ends() {
        let opts = SegmenterOptions { first_clause: false, min_clause_words: 4, max_unit_chars: 50 };
        let text = "He read \"One is here. Two is there. Three is far away. Four is gone.\" Then he slept.";
        assert_eq!(
            units(text, opts),
            [
                unit("He read \"One is here. Two is there.", UnitEnd::Sentence),
                unit("Three is far away.", UnitEnd::Sentence),
                unit("Four is gone.\"", UnitEnd::Sentence),
                unit("Then he slept.", UnitEnd::Sentence),
            ]
        );
    }

    #[test]
    fn a_megabyte_without_punctuation_in_small_pieces_stays_bounded() {
        let opts = SegmenterOptions::default();
        let words = ["lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit", "sed", "do"];
        let mut rng = Rng(7);
        let mut text = String::new();
        while text.len() < 1 << 20 {
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(words[rng.below(words.len())]);
        }
        let mut s = Segmenter::new(opts);
        let mut got = Vec::new();
        for piece in text.as_bytes().chunks(7) {
            s.push(std::str::from_utf8(piece).unwrap());
            while let Some(u) = s.next_unit() {
                got.push(u);
            }
            assert!(s.buffered_len() <= opts.max_unit_chars + 7, "memory stays bounded");
        }
        let tail = s.finish();
        assert!(tail.len() <= 1 && tail.iter().all(|u| u.end == UnitEnd::Flush));
        assert!(got.len() > 1000);
        assert!(got.iter().all(|u| u.end == UnitEnd::Forced && u.text.chars().count() <= opts.max_unit_chars));
        assert!(got.iter().all(|u| u.text.chars().count() > opts.max_unit_chars - 12), "cuts near the limit");
        got.extend(tail);
        // Cut at whitespace only: joining the units with spaces gives the text back, no word split.
        assert_eq!(got.iter().map(|u| u.text.as_str()).collect::<Vec<_>>().join(" "), text);
    }

    const PARAGRAPHS: &[&str] = &[
        "Dr. Smith paid $3.50 at 9:30 a.m. on Jan. 5. Then he left. Visit www.example.com/docs.html today. It helps.",
        "She said \"Wait. Stop.\" and left. OK? I have 1,200 apples, 3.5 kg of pears, and more... then none!",
        "Well, honestly, I think we should go now — before it rains; the U.S. weather service said so. J. R. R. \
         Tolkien agreed, etc. Nobody else did, i.e. Nobody. Version v1.2.3 costs 10.5% more (approx. $9.99).",
        "Steps:\n1. Mix the flour.\n2. Bake at 200 degrees\n\n\n3. Serve. Mail a.b@c.d if it fails!\n",
        "彼は「はい。」と言った。次の文です！本当？ええ、そうです。Then English again. “Quoted? Yes!” he said.",
        "He read \"One is here. Two is there. Three is far away. Four is gone. Five is lost somewhere out at sea, \
         Six is never found\" and then, without any pause at all, he went on talking and talking until the night \
         was over and the sun came up again",
        "   Leading spaces, a comma-rich start, with words and words, then an ending.   \n\n  Trailing text   ",
        "Prices (see Fig. 3) rose. No. 5 won; the answer is No. Really?! I'm sad :( Anyway… \
         「引用。」と彼は言った。\r\nDone. Mr. and Mrs. Lee sang \"La. La.\" Then Prof. X left at 5 p.m. Home.",
    ];

    fn option_sets() -> [SegmenterOptions; 4] {
        let d = SegmenterOptions::default();
        [
            d,
            plain(),
            SegmenterOptions { first_clause: true, min_clause_words: 2, max_unit_chars: 50 },
            SegmenterOptions { first_clause: false, min_clause_words: 1, max_unit_chars: 13 },
        ]
    }

    /// Pushes `text` in pieces of up to `max_piece` characters, asking for units at random moments.
    fn units_in_pieces(text: &str, opts: SegmenterOptions, rng: &mut Rng, max_piece: usize) -> Vec<Unit> {
        let chars: Vec<char> = text.chars().collect();
        let mut s = Segmenter::new(opts);
        let mut out = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let n = (1 + rng.below(max_piece)).min(chars.len() - i);
            s.push(&chars[i..i + n].iter().collect::<String>());
            i += n;
            for _ in 0..rng.below(3) {
                out.extend(s.next_unit());
            }
        }
        while let Some(u) = s.next_unit() {
            out.push(u);
        }
        out.extend(s.finish());
        out
    }

    #[test]
    fn any_split_of_the_text_gives_the_same_units() {
        let whole: String = PARAGRAPHS.join(" ");
        let inputs: Vec<&str> = PARAGRAPHS.iter().copied().chain([whole.as_str()]).collect();
        let mut rng = Rng(0x5EED_1234_ABCD_0001);
        for opts in option_sets() {
            for text in &inputs {
                let reference = units(text, opts);
                // Nothing lost, nothing duplicated, nothing empty.
                let joined: String = reference.iter().map(|u| u.text.as_str()).collect();
                assert_eq!(non_space(&joined), non_space(text), "{opts:?}");
                assert!(reference.iter().all(|u| !u.text.is_empty() && u.text.trim() == u.text));
                assert!(reference.iter().all(|u| u.text.chars().count() <= opts.max_unit_chars), "{reference:?}");
                // Char by char, then random pieces.
                assert_eq!(units_in_pieces(text, opts, &mut rng, 1), reference, "{opts:?} char by char: {text}");
                for round in 0..40 {
                    let max_piece = [2, 5, 9, 24][round % 4];
                    assert_eq!(units_in_pieces(text, opts, &mut rng, max_piece), reference, "{opts:?}: {text}");
                }
            }
        }
    }
}
