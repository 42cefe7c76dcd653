//! Language and script detection: splits mixed text into runs that one G2P backend can read.
//!
//! The method, in three passes:
//! 1. **Script.** Every character gets a script class from its code point (Latin, Devanagari, Kana, Han, Hangul,
//!    Arabic, Cyrillic, Greek, Hebrew, Thai, emoji, other letters) or is *neutral* (spaces, punctuation, digits,
//!    symbols, combining marks). Maximal same-script stretches become segments; neutral stretches join the
//!    segment on their left, except that whitespace between two different scripts is a boundary and an opening
//!    bracket or quote right before a segment goes with it.
//! 2. **CJK.** Han and Kana segments that touch (through neutral characters only) form one block: a block that
//!    holds any kana is Japanese, a Han-only block is Chinese (Japanese when the caller's hint is Japanese).
//! 3. **Latin languages.** A Latin segment is cut into sentences; each sentence is scored for en/es/fr/it/pt by
//!    [`whatlang`]'s trigram model (restricted to those five) plus cheap cues (function words, letters such as
//!    `ñ ã œ`, endings such as `-ção`). A sentence whose evidence is weak (a word or two, or a near tie) inherits
//!    the language of the nearest confident Latin sentence in the text, else the hint, else English. Adjacent
//!    sentences of one language merge into one run.
//!
//! Scripts that no Kokoro voice reads (Hangul, Arabic, Cyrillic, emoji, ...) come out as runs with
//! `language: None` so the engine can skip them with a warning.

use crate::Language;
use crate::langid::LANGS as LATIN;
use std::ops::Range;

/// The writing system of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Script {
    Latin,
    Devanagari,
    /// Hiragana and/or Katakana, possibly mixed with Han (Japanese text).
    Kana,
    /// Han characters with no kana around them (Chinese text).
    Han,
    Hangul,
    Arabic,
    Cyrillic,
    Greek,
    Hebrew,
    Thai,
    Emoji,
    /// Any other letters (Georgian, Armenian, Ethiopic, ...).
    Other,
    /// Digits, punctuation and symbols with no letters at all.
    Neutral,
}

impl Script {
    /// A short lowercase name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Script::Latin => "Latin",
            Script::Devanagari => "Devanagari",
            Script::Kana => "Japanese kana",
            Script::Han => "Han",
            Script::Hangul => "Hangul",
            Script::Arabic => "Arabic",
            Script::Cyrillic => "Cyrillic",
            Script::Greek => "Greek",
            Script::Hebrew => "Hebrew",
            Script::Thai => "Thai",
            Script::Emoji => "emoji",
            Script::Other => "other",
            Script::Neutral => "neutral",
        }
    }
}

/// A stretch of the input that one backend can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// The language to speak it in; `None` when no Kokoro voice reads this script (skip it with a warning).
    pub language: Option<Language>,
    /// The script the run is written in.
    pub script: Script,
    /// `input[range]`, trimmed of surrounding whitespace.
    pub text: String,
    /// Byte range in the input.
    pub range: Range<usize>,
    /// A Latin-script language Warble does not speak that the run looks like (`German`, `Dutch`, ...); the run
    /// is then read as English (the documented choice: names and loanwords come out right, the rest is
    /// approximate) and the caller warns.
    pub unsupported: Option<&'static str>,
}

impl Run {
    /// True when some backend can speak this run.
    pub fn is_supported(&self) -> bool {
        self.language.is_some()
    }
}

/// Character classes used by the first pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Strong(Script),
    /// Punctuation, digits, symbols: attach to a neighbour.
    Neutral,
    /// Whitespace: a possible boundary.
    Space,
    /// Combining marks, joiners and variation selectors: same class as the previous character.
    Inherit,
}

fn class_of(c: char) -> Class {
    let u = c as u32;
    if c.is_whitespace() {
        return Class::Space;
    }
    if c.is_ascii_alphabetic() {
        return Class::Strong(Script::Latin);
    }
    if c.is_ascii() {
        return Class::Neutral;
    }
    let s = match u {
        0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F => {
            return Class::Inherit;
        }
        0x200C | 0x200D | 0xFE00..=0xFE0F | 0xE0100..=0xE01EF | 0x1F3FB..=0x1F3FF => {
            return Class::Inherit;
        }
        0x3099 | 0x309A => return Class::Inherit,
        0x00AA | 0x00BA => Script::Latin,
        0x00C0..=0x00D6 | 0x00D8..=0x00F6 | 0x00F8..=0x024F | 0x0250..=0x02AF | 0x1E00..=0x1EFF => Script::Latin,
        0x2C60..=0x2C7F | 0xA720..=0xA7FF | 0xAB30..=0xAB6F | 0xFB00..=0xFB06 => Script::Latin,
        0xFF21..=0xFF3A | 0xFF41..=0xFF5A => Script::Latin,
        0x0370..=0x03FF | 0x1F00..=0x1FFF => Script::Greek,
        0x0400..=0x052F | 0x1C80..=0x1C8F | 0x2DE0..=0x2DFF | 0xA640..=0xA69F => Script::Cyrillic,
        0x0590..=0x05FF | 0xFB1D..=0xFB4F => Script::Hebrew,
        0x0600..=0x06FF | 0x0750..=0x077F | 0x08A0..=0x08FF | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF => Script::Arabic,
        0x0900..=0x097F | 0xA8E0..=0xA8FF => {
            // Devanagari danda and double danda are sentence punctuation.
            if u == 0x0964 || u == 0x0965 {
                return Class::Neutral;
            }
            // Devanagari digits read like digits.
            if (0x0966..=0x096F).contains(&u) {
                return Class::Neutral;
            }
            Script::Devanagari
        }
        0x0E00..=0x0E7F => Script::Thai,
        0x1100..=0x11FF | 0x3130..=0x318F | 0xA960..=0xA97F | 0xAC00..=0xD7AF | 0xD7B0..=0xD7FF => Script::Hangul,
        0x3041..=0x3096 | 0x309D..=0x309F | 0x30A1..=0x30FA | 0x30FC..=0x30FF | 0x31F0..=0x31FF => Script::Kana,
        0xFF66..=0xFF9D => Script::Kana,
        0xFF9E | 0xFF9F => return Class::Inherit,
        0x1B000..=0x1B16F => Script::Kana,
        0x3005 | 0x3007 | 0x3021..=0x3029 | 0x3038..=0x303B => Script::Han,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x323AF => Script::Han,
        0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0x2B00..=0x2BFF => Script::Emoji,
        _ => {
            if c.is_alphabetic() {
                Script::Other
            } else {
                return Class::Neutral;
            }
        }
    };
    Class::Strong(s)
}

fn is_opening(c: char) -> bool {
    matches!(
        c,
        '(' | '['
            | '{'
            | '"'
            | '\''
            | '“'
            | '‘'
            | '«'
            | '¿'
            | '¡'
            | '「'
            | '『'
            | '（'
            | '【'
            | '《'
            | '〈'
            | '［'
            | '｛'
    )
}

/// A same-script stretch after pass 1, as a byte range that includes its attached neutral characters.
#[derive(Debug, Clone)]
struct Segment {
    script: Script,
    range: Range<usize>,
}

/// Pass 1: strong-script segments with neutral characters attached.
fn segments(text: &str) -> Vec<Segment> {
    // Strong characters with their byte offsets; neutral ones are resolved afterwards.
    let mut classes: Vec<(usize, char, Class)> = Vec::with_capacity(text.len());
    let mut prev = Class::Neutral;
    for (i, c) in text.char_indices() {
        let mut k = class_of(c);
        if k == Class::Inherit {
            k = match prev {
                Class::Space => Class::Neutral,
                p => p,
            };
        }
        classes.push((i, c, k));
        prev = k;
    }
    // Stretches of strong characters of one script, neutral/space gaps between them.
    let mut segs: Vec<Segment> = Vec::new();
    let mut idx = 0;
    let n = classes.len();
    let end_of = |j: usize| if j < n { classes[j].0 } else { text.len() };
    while idx < n {
        if let Class::Strong(s) = classes[idx].2 {
            let start = idx;
            let mut j = idx + 1;
            while j < n && classes[j].2 == Class::Strong(s) {
                j += 1;
            }
            segs.push(Segment { script: s, range: classes[start].0..end_of(j) });
            idx = j;
        } else {
            idx += 1;
        }
    }
    if segs.is_empty() {
        return segs;
    }
    // Resolve each gap: before the first segment, between two, after the last.
    // Leading gap: opening punctuation/digits right before the first segment (no whitespace) join it.
    let mut out: Vec<Segment> = Vec::with_capacity(segs.len());
    for (k, seg) in segs.iter().enumerate() {
        let gap_start = if k == 0 { 0 } else { segs[k - 1].range.end };
        let gap = &text[gap_start..seg.range.start];
        let mut seg = seg.clone();
        if k == 0 {
            // Everything non-space before the first segment joins it (trim leading whitespace).
            let lead = gap.len() - gap.trim_start().len();
            seg.range.start = gap_start + lead;
            out.push(seg);
            continue;
        }
        let prev = out.last_mut().expect("non-empty");
        if prev.script == seg.script {
            prev.range.end = seg.range.end;
            continue;
        }
        if gap.chars().any(char::is_whitespace) {
            // Left part (before the last whitespace) goes left, the rest goes right.
            let first_ws = gap.find(char::is_whitespace).unwrap_or(gap.len());
            let last_ws_end = gap
                .char_indices()
                .filter(|(_, c)| c.is_whitespace())
                .map(|(i, c)| i + c.len_utf8())
                .next_back()
                .unwrap_or(0);
            let middle = gap[first_ws..last_ws_end].trim();
            let left_end = if middle.is_empty() {
                gap_start + first_ws
            } else if middle.chars().all(|c| is_opening(c) || c.is_whitespace()) {
                // Opening quotes between spaces ("dit « 你好 »") open the right run.
                seg.range.start = gap_start + first_ws + gap[first_ws..].len() - gap[first_ws..].trim_start().len();
                prev.range.end = gap_start + first_ws;
                out.push(seg);
                continue;
            } else {
                // Punctuation between two spaces ("word — word") stays with the left run.
                let m_end = gap[..last_ws_end].trim_end().len();
                gap_start + m_end
            };
            prev.range.end = left_end;
            seg.range.start = gap_start + last_ws_end;
        } else {
            // No whitespace: opening brackets/quotes at the end go right, everything else left.
            let mut cut = gap.len();
            for (i, c) in gap.char_indices().rev() {
                if is_opening(c) {
                    cut = i;
                } else {
                    break;
                }
            }
            prev.range.end = gap_start + cut;
            seg.range.start = gap_start + cut;
        }
        out.push(seg);
    }
    // Trailing gap: punctuation joins the last segment, trailing whitespace is trimmed.
    if let Some(last) = out.last_mut() {
        let tail = &text[last.range.end..];
        last.range.end += tail.trim_end().len();
    }
    out
}

/// Pass 2: merges touching Han/Kana segments (through neutral characters and spaces) into CJK blocks.
fn merge_cjk(segs: Vec<Segment>) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::with_capacity(segs.len());
    for seg in segs {
        if let Some(prev) = out.last_mut() {
            let cjk = |s| matches!(s, Script::Han | Script::Kana);
            if cjk(prev.script) && cjk(seg.script) {
                let any_kana = prev.script == Script::Kana || seg.script == Script::Kana;
                prev.range.end = seg.range.end;
                prev.script = if any_kana { Script::Kana } else { Script::Han };
                continue;
            }
        }
        out.push(seg);
    }
    out
}

/// Detects runs of one language in `text`. `hint` is the language the caller expects (from `--lang`): it decides
/// Han-only text (`ja` hint → Japanese), Latin sentences with weak evidence, and English/Portuguese variants
/// (`en-gb`, `pt-br`). Never panics; runs come out in input order, do not overlap, and are trimmed of whitespace.
pub fn detect_runs(text: &str, hint: Option<Language>) -> Vec<Run> {
    let segs = merge_cjk(segments(text));
    // Chinese text does not use kana: once any kana shows up, Han-only blocks are Japanese too.
    let any_kana = segs.iter().any(|s| s.script == Script::Kana);
    if segs.is_empty() {
        let t = text.trim();
        if t.is_empty() {
            return Vec::new();
        }
        let start = text.len() - text.trim_start().len();
        return vec![Run {
            language: Some(hint.unwrap_or(Language::EnUs)),
            script: Script::Neutral,
            text: t.to_string(),
            range: start..start + t.len(),
            unsupported: None,
        }];
    }
    // Latin sentences are scored first so that weak ones can inherit from anywhere in the text.
    struct Pending {
        script: Script,
        range: Range<usize>,
        lang: Option<Language>,
        confident: bool,
        unsupported: Option<&'static str>,
    }
    let mut pend: Vec<Pending> = Vec::new();
    for seg in segs {
        match seg.script {
            Script::Latin => {
                for r in latin_sentences(text, seg.range.clone()) {
                    let sentence = crate::langid::Sentence::new(&text[r.clone()]);
                    if let Some(name) = unsupported_latin(&sentence) {
                        pend.push(Pending {
                            script: Script::Latin,
                            range: r,
                            lang: Some(Language::EnUs),
                            confident: true,
                            unsupported: Some(name),
                        });
                        continue;
                    }
                    // A sentence that switches language mid-way becomes one piece per language.
                    if let Some(parts) = sentence.switches() {
                        for (p, lang) in parts {
                            pend.push(Pending {
                                script: Script::Latin,
                                range: r.start + p.start..r.start + p.end,
                                lang: Some(lang),
                                confident: true,
                                unsupported: None,
                            });
                        }
                        continue;
                    }
                    let guess = guess_latin(&sentence);
                    pend.push(Pending {
                        script: Script::Latin,
                        range: r,
                        lang: guess.map(|g| g.0),
                        confident: guess.is_some_and(|g| g.1),
                        unsupported: None,
                    });
                }
            }
            s => {
                let lang = match s {
                    Script::Devanagari => Some(Language::Hi),
                    Script::Kana => Some(Language::Ja),
                    Script::Han => {
                        Some(if any_kana || hint == Some(Language::Ja) { Language::Ja } else { Language::Zh })
                    }
                    _ => None,
                };
                pend.push(Pending { script: s, range: seg.range, lang, confident: true, unsupported: None });
            }
        }
    }
    // Weak Latin sentences inherit from the nearest confident Latin sentence, preferring the same segment run
    // (adjacent in the list), then the hint, then English.
    let hint_latin = hint.filter(|h| is_latin_language(*h));
    let confident_latin: Vec<(usize, Language)> = pend
        .iter()
        .enumerate()
        .filter(|(_, p)| p.script == Script::Latin && p.confident)
        .filter_map(|(i, p)| p.lang.map(|l| (i, l)))
        .collect();
    for (i, p) in pend.iter_mut().enumerate() {
        if p.script != Script::Latin || p.confident {
            continue;
        }
        let nearest = confident_latin.iter().min_by_key(|(j, _)| (i.abs_diff(*j), *j > i)).map(|(_, l)| *l);
        p.lang = Some(nearest.or(hint_latin).or(p.lang).unwrap_or(Language::EnUs));
    }
    // Variants: English and Portuguese follow the hint's variant.
    for p in pend.iter_mut() {
        if let Some(l) = p.lang {
            p.lang = Some(match (l, hint) {
                (Language::EnUs, Some(Language::EnGb)) => Language::EnGb,
                (l, _) => l,
            });
        }
    }
    // Merge adjacent pieces of one language and script.
    let mut runs: Vec<Run> = Vec::new();
    for p in pend {
        if let Some(last) = runs.last_mut()
            && last.language == p.lang
            && last.script == p.script
            && last.unsupported == p.unsupported
            && text[last.range.end..p.range.start].trim().is_empty()
        {
            last.range.end = p.range.end;
            continue;
        }
        runs.push(Run {
            language: p.lang,
            script: p.script,
            text: String::new(),
            range: p.range,
            unsupported: p.unsupported,
        });
    }
    runs.retain(|r| !text[r.range.clone()].trim().is_empty());
    for r in runs.iter_mut() {
        r.text = text[r.range.clone()].to_string();
    }
    runs
}

fn is_latin_language(l: Language) -> bool {
    matches!(l, Language::EnUs | Language::EnGb | Language::Es | Language::Fr | Language::It | Language::PtBr)
}

/// Splits a Latin segment into sentences at `.!?…` followed by whitespace, and at line breaks.
fn latin_sentences(text: &str, range: Range<usize>) -> Vec<Range<usize>> {
    let s = &text[range.clone()];
    let mut out = Vec::new();
    let mut start = 0;
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    // The closing mark of an open quotation: a sentence end inside a quotation that closes later in the segment
    // ("Do you speak English? I need help.") does not end the sentence around it.
    let mut open: Option<char> = None;
    let mut k = 0;
    while k < chars.len() {
        let (i, c) = chars[k];
        let is_end = matches!(c, '.' | '!' | '?' | '…' | ';');
        if c == '\n' {
            open = None;
        } else if let Some(close) = quote_pair(c, k.checked_sub(1).map(|p| chars[p].1)) {
            if open.is_none() {
                open = Some(close);
            } else if open == Some(c) {
                open = None;
            }
        } else if open == Some(c) {
            open = None;
        }
        if c == '\n' || is_end {
            // Extend over a run of terminators and closing quotes.
            let mut j = k + 1;
            while j < chars.len() && matches!(chars[j].1, '.' | '!' | '?' | '…' | '"' | '”' | '’' | ')' | '»') {
                if open == Some(chars[j].1) {
                    open = None;
                }
                j += 1;
            }
            let boundary = j >= chars.len() || chars[j].1.is_whitespace();
            // Abbreviations such as "Mr." or "e.g." are not sentence ends; one capital letter or a known
            // abbreviation before the dot keeps the sentence going.
            let abbrev = c == '.' && is_abbreviation(&s[start..i]);
            let quoted = open.is_some_and(|q| chars[j.min(chars.len())..].iter().any(|x| x.1 == q));
            if (boundary && !abbrev && !quoted) || c == '\n' {
                let end = if j < chars.len() { chars[j].0 } else { s.len() };
                push_trimmed(&mut out, s, start, end, range.start);
                start = end;
            }
            k = j;
        } else {
            k += 1;
        }
    }
    push_trimmed(&mut out, s, start, s.len(), range.start);
    out
}

/// The closing mark of a quotation that `c` opens (after `prev`): `“…”`, `«…»`, and a straight `"` at the start of
/// a word.
fn quote_pair(c: char, prev: Option<char>) -> Option<char> {
    match c {
        '“' => Some('”'),
        '«' => Some('»'),
        '"' if prev.is_none_or(|p| p.is_whitespace() || "([:,—".contains(p)) => Some('"'),
        _ => None,
    }
}

fn is_abbreviation(before: &str) -> bool {
    let w = before.rsplit(|c: char| c.is_whitespace()).next().unwrap_or("");
    let wl = w.to_lowercase();
    // Language detection only needs sentences roughly, so `etc.` and `No.` never end one here (the engine's
    // segmenter looks at the next word for those).
    (w.chars().count() == 1 && w.chars().all(char::is_uppercase))
        || crate::abbreviations::is_always(&wl)
        || crate::abbreviations::BEFORE_NUMBER.contains(&wl.as_str())
        || wl == "etc"
}

fn push_trimmed(out: &mut Vec<Range<usize>>, s: &str, start: usize, end: usize, base: usize) {
    let piece = &s[start..end];
    let t = piece.trim();
    if t.is_empty() {
        return;
    }
    let lead = piece.len() - piece.trim_start().len();
    out.push(base + start + lead..base + start + lead + t.len());
}

// ---------------------------------------------------------------------------------------------------------------
// Latin language identification.

// Function words, most frequent first. A word listed for several languages counts for each.
const EN_WORDS: &[&str] = &[
    "the",
    "a",
    "in",
    "and",
    "of",
    "to",
    "is",
    "are",
    "was",
    "were",
    "with",
    "that",
    "this",
    "it",
    "you",
    "he",
    "she",
    "they",
    "we",
    "have",
    "has",
    "had",
    "for",
    "on",
    "not",
    "be",
    "will",
    "would",
    "what",
    "which",
    "there",
    "from",
    "by",
    "at",
    "my",
    "your",
    "his",
    "her",
    "our",
    "their",
    "an",
    "as",
    "but",
    "or",
    "if",
    "so",
    "can",
    "do",
    "does",
    "did",
    "been",
    "i",
    "me",
    "him",
    "them",
    "about",
    "just",
    "all",
    "who",
    "when",
    "where",
    "how",
    "why",
    "its",
    "it's",
    "i'm",
    "don't",
    "into",
    "than",
    "then",
    "some",
    "very",
    "should",
    "could",
    "after",
    "before",
    "every",
    "today",
    "tomorrow",
    "yesterday",
    "because",
    "these",
    "those",
    "here",
    "again",
    "never",
    "always",
    "over",
    "our",
    "out",
    "up",
    "get",
    "got",
    "like",
    "know",
    "think",
    "want",
    "good",
    "new",
    "time",
    "people",
    "said",
    "please",
    "thank",
    "thanks",
    "hello",
    "yes",
    "one",
    "two",
    "three",
    "much",
    "many",
    "more",
    "most",
    "little",
    "while",
    "through",
    "without",
    "everyone",
    "everybody",
    "something",
    "nothing",
    "anything",
    "let's",
    "can't",
    "won't",
    "isn't",
    "there's",
    "what's",
];
const ES_WORDS: &[&str] = &[
    "el", "la", "los", "las", "de", "que", "y", "en", "un", "una", "es", "por", "con", "para", "no", "se", "su", "al",
    "del", "lo", "como", "más", "pero", "sus", "le", "ya", "o", "este", "esta", "son", "está", "muy", "también", "hay",
    "yo", "ella", "nosotros", "tiene", "fue", "ser", "cuando", "donde", "dónde", "qué", "porque", "sin", "sobre",
    "hasta", "desde", "todo", "todos", "bien", "hoy", "mañana", "ayer", "estoy", "eres", "somos", "están", "tengo",
    "quiero", "puedo", "gracias", "hola", "mucho", "muchos", "nuestro", "nuestra", "usted", "ustedes", "ellos",
    "ellas", "entre", "después", "antes", "siempre", "nunca", "aquí", "allí", "cómo", "sí", "mi", "mis", "tu", "tus",
    "me", "te", "nos", "les", "estaba", "había", "han", "ha", "he", "era", "eso", "esto", "fueron", "vamos", "dice",
    "dijo", "hace", "tiempo", "año", "años", "día", "días", "noche", "ciudad", "casa",
];
const FR_WORDS: &[&str] = &[
    "le",
    "la",
    "les",
    "de",
    "des",
    "du",
    "et",
    "est",
    "un",
    "une",
    "en",
    "que",
    "qui",
    "dans",
    "pour",
    "pas",
    "ne",
    "sur",
    "au",
    "aux",
    "avec",
    "ce",
    "cette",
    "ces",
    "il",
    "elle",
    "nous",
    "vous",
    "ils",
    "elles",
    "je",
    "sont",
    "être",
    "avoir",
    "mais",
    "ou",
    "où",
    "plus",
    "très",
    "son",
    "sa",
    "ses",
    "leur",
    "leurs",
    "c'est",
    "j'ai",
    "on",
    "tout",
    "tous",
    "aussi",
    "bien",
    "fait",
    "comme",
    "était",
    "sans",
    "sous",
    "chez",
    "peut",
    "faire",
    "mon",
    "ma",
    "mes",
    "ton",
    "ta",
    "tes",
    "notre",
    "votre",
    "nos",
    "vos",
    "aujourd'hui",
    "demain",
    "hier",
    "toujours",
    "jamais",
    "ici",
    "merci",
    "bonjour",
    "oui",
    "non",
    "avons",
    "avez",
    "ont",
    "suis",
    "es",
    "sommes",
    "êtes",
    "été",
    "va",
    "vais",
    "allons",
    "dit",
    "quand",
    "parce",
    "quel",
    "quelle",
    "beaucoup",
    "encore",
    "même",
    "après",
    "avant",
    "depuis",
    "ville",
    "maison",
    "temps",
    "jour",
    "nuit",
    "il y a",
    "y",
    "se",
    "me",
    "te",
    "lui",
];
const IT_WORDS: &[&str] = &[
    "il",
    "lo",
    "la",
    "gli",
    "le",
    "di",
    "che",
    "e",
    "è",
    "un",
    "una",
    "uno",
    "per",
    "non",
    "con",
    "del",
    "della",
    "dei",
    "delle",
    "nel",
    "nella",
    "sono",
    "ma",
    "come",
    "anche",
    "più",
    "questo",
    "questa",
    "io",
    "lei",
    "noi",
    "voi",
    "loro",
    "ha",
    "hanno",
    "molto",
    "perché",
    "sì",
    "allo",
    "alla",
    "dal",
    "dalla",
    "sul",
    "sulla",
    "ci",
    "ne",
    "mi",
    "ti",
    "si",
    "da",
    "in",
    "a",
    "ho",
    "hai",
    "abbiamo",
    "siamo",
    "siete",
    "era",
    "erano",
    "stato",
    "stata",
    "essere",
    "avere",
    "tutto",
    "tutti",
    "quando",
    "dove",
    "cosa",
    "oggi",
    "domani",
    "ieri",
    "sempre",
    "mai",
    "qui",
    "grazie",
    "ciao",
    "buongiorno",
    "suo",
    "sua",
    "suoi",
    "mio",
    "mia",
    "nostro",
    "nostra",
    "vostro",
    "degli",
    "alle",
    "agli",
    "ai",
    "nei",
    "negli",
    "sulle",
    "dopo",
    "prima",
    "ancora",
    "già",
    "città",
    "casa",
    "tempo",
    "giorno",
    "notte",
    "fa",
    "questi",
    "quella",
    "quello",
    "perché",
    "però",
    "poi",
    "così",
    "lui",
];
const PT_WORDS: &[&str] = &[
    "o", "a", "os", "as", "de", "do", "da", "dos", "das", "em", "no", "na", "nos", "nas", "um", "uma", "que", "e", "é",
    "para", "com", "não", "por", "se", "mais", "como", "mas", "ao", "ele", "ela", "eles", "elas", "você", "vocês",
    "nós", "são", "está", "muito", "muita", "também", "seu", "sua", "isso", "isto", "este", "esta", "foi", "tem",
    "pelo", "pela", "eu", "já", "hoje", "então", "amanhã", "ontem", "sempre", "nunca", "aqui", "obrigado", "obrigada",
    "olá", "sim", "meu", "minha", "nosso", "nossa", "estou", "estamos", "estão", "tenho", "temos", "quero", "posso",
    "fazer", "ser", "ter", "quando", "onde", "porque", "sem", "sobre", "até", "depois", "antes", "cidade", "casa",
    "tempo", "dia", "noite", "num", "numa", "lhe", "me", "te", "havia", "era", "eram", "vai", "vamos", "tudo", "todos",
    "todas", "bem", "bom", "boa", "coisa", "agora", "ainda", "pra", "dele", "dela",
];

fn word_lists() -> [&'static [&'static str]; 5] {
    [EN_WORDS, ES_WORDS, FR_WORDS, IT_WORDS, PT_WORDS]
}

/// Per-language evidence from words and letters; higher is more likely.
fn cue_scores(sentence: &str) -> ([f32; 5], usize) {
    let lower = sentence.to_lowercase();
    let mut scores = [0f32; 5];
    let words: Vec<&str> =
        lower.split(|c: char| !(c.is_alphabetic() || c == '\'' || c == '’')).filter(|w| !w.is_empty()).collect();
    let lists = word_lists();
    // The pronoun "I" is English only (Italian "i" is a lowercase article).
    scores[0] += 1.5 * sentence.split(|c: char| !c.is_alphabetic()).filter(|w| *w == "I").count() as f32;
    for w in &words {
        let w = w.replace('’', "'");
        let w = w.trim_matches('\'');
        let hits: Vec<usize> = (0..5).filter(|li| lists[*li].contains(&w)).collect();
        for li in &hits {
            // A function word of one language only is stronger evidence than one shared by several.
            scores[*li] += if hits.len() == 1 { 1.5 } else { 1.0 };
        }
        // Elisions: l' d' j' qu' n' c' s' m' t' → French (Italian has l' dell' un' too).
        if let Some((head, tail)) = w.split_once('\'')
            && !tail.is_empty()
        {
            match head {
                "l" | "d" | "j" | "qu" | "n" | "c" | "s" | "m" | "t" | "jusqu" | "lorsqu" | "puisqu" => {
                    scores[2] += 1.5;
                    if matches!(head, "l" | "d" | "c") {
                        scores[3] += 0.5;
                    }
                }
                "dell" | "all" | "dall" | "nell" | "sull" | "un" | "quest" | "c'è" => scores[3] += 1.5,
                _ => {}
            }
            if matches!(tail, "s" | "t" | "re" | "ve" | "ll" | "m" | "d") {
                scores[0] += 1.5;
            }
        }
        // Word shapes.
        if w.ends_with("ed") && w.len() > 4 && !w.ends_with("eed") {
            scores[0] += 0.4;
        }
        if w.ends_with("ing") && w.len() > 4 || w.ends_with("tion") && !w.ends_with("ción") {
            scores[0] += 0.7;
        }
        if w.contains("th") || w.contains("wh") || w.contains("ght") || w.ends_with("ly") {
            scores[0] += 0.5;
        }
        if w.ends_with("ción") || w.ends_with("ado") || w.ends_with("ada") || w.ends_with("mente") {
            scores[1] += 0.4;
        }
        if w.ends_with("ção") || w.ends_with("ções") || w.ends_with("ões") || w.contains("nh") || w.contains("lh")
        {
            scores[4] += 1.0;
        }
        if w.ends_with("eau") || w.ends_with("eaux") || w.ends_with("aux") || w.ends_with("ent") && w.len() > 4 {
            scores[2] += 0.5;
        }
        if w.contains("gli") || w.contains("zz") || w.contains("cch") || w.ends_with("zione") {
            scores[3] += 0.8;
        }
        if w.contains("ll") && !w.ends_with("ll") {
            scores[1] += 0.2;
        }
    }
    for c in lower.chars() {
        match c {
            'ñ' | '¿' | '¡' => scores[1] += 2.0,
            'ã' | 'õ' => scores[4] += 2.0,
            'œ' | 'æ' | 'î' | 'ï' | 'û' | 'ë' | 'ÿ' => scores[2] += 1.5,
            'ç' => {
                scores[2] += 0.8;
                scores[4] += 0.8;
            }
            'ê' | 'â' => {
                scores[2] += 0.6;
                scores[4] += 0.6;
            }
            'è' => {
                scores[2] += 0.6;
                scores[3] += 0.6;
            }
            'ò' | 'ì' => scores[3] += 1.5,
            'ù' => {
                scores[2] += 0.5;
                scores[3] += 0.8;
            }
            'à' => {
                scores[2] += 0.5;
                scores[3] += 0.5;
                scores[4] += 0.3;
            }
            'á' | 'í' | 'ó' | 'ú' => {
                scores[1] += 0.4;
                scores[4] += 0.4;
            }
            'ô' => {
                scores[2] += 0.5;
                scores[4] += 0.5;
            }
            'w' | 'k' => scores[0] += 0.3,
            _ => {}
        }
    }
    (scores, words.len())
}

/// The word-frequency margin (nats) over the second language at which a sentence's language is taken from it.
const SENTENCE_MARGIN: f32 = 10.0;

/// How many nats of word-frequency evidence count as much as one cue word, when the evidence is below
/// [`SENTENCE_MARGIN`].
const NATS_PER_CUE: f32 = 2.0;

/// At most this share of a sentence's words may be frequent words of en/es/fr/it/pt for it to be taken for
/// another language.
const UNSUPPORTED_MAX_LISTED: f32 = 0.6;

/// The name of a Latin-script language Warble does not speak when `sentence` is clearly written in one (whatlang
/// over all its languages, confidence at least 0.5, and at least four words and 20 letters), else `None`.
fn unsupported_latin(analysed: &crate::langid::Sentence) -> Option<&'static str> {
    use whatlang::Lang;
    let sentence = analysed.text();
    let letters = sentence.chars().filter(|c| c.is_alphabetic()).count();
    let words = sentence.split_whitespace().filter(|w| w.chars().any(char::is_alphabetic)).count();
    if letters < 20 || words < 4 {
        return None;
    }
    // Mixed English and Spanish or French text can look like Catalan or Afrikaans to whatlang: only text whose
    // words are mostly not among the frequent words of the five languages is taken for another language.
    if analysed.listed_share() >= UNSUPPORTED_MAX_LISTED {
        return None;
    }
    let info = whatlang::detect(sentence)?;
    if info.confidence() < 0.5 || info.script() != whatlang::Script::Latin {
        return None;
    }
    Some(match info.lang() {
        Lang::Eng | Lang::Spa | Lang::Fra | Lang::Ita | Lang::Por => return None,
        Lang::Deu => "German",
        Lang::Nld => "Dutch",
        Lang::Pol => "Polish",
        Lang::Swe => "Swedish",
        Lang::Dan => "Danish",
        Lang::Nob => "Norwegian",
        Lang::Fin => "Finnish",
        Lang::Tur => "Turkish",
        Lang::Ces => "Czech",
        Lang::Slk => "Slovak",
        Lang::Hun => "Hungarian",
        Lang::Ron => "Romanian",
        Lang::Hrv => "Croatian",
        Lang::Slv => "Slovenian",
        Lang::Lit => "Lithuanian",
        Lang::Lav => "Latvian",
        Lang::Est => "Estonian",
        Lang::Vie => "Vietnamese",
        Lang::Ind => "Indonesian",
        Lang::Tgl => "Tagalog",
        Lang::Afr => "Afrikaans",
        Lang::Cat => "Catalan",
        _ => return None,
    })
}

/// Best Latin language for one sentence and whether the evidence is strong enough to stand alone.
/// `None` when the sentence has no letters worth scoring.
fn guess_latin(analysed: &crate::langid::Sentence) -> Option<(Language, bool)> {
    let sentence = analysed.text();
    // Word frequencies decide when they are clear (several words, a wide margin); cues and trigrams otherwise.
    let words = analysed.language();
    if let Some((lang, margin, n)) = words
        && margin >= SENTENCE_MARGIN
        && n >= crate::langid::MIN_RUN_WORDS
    {
        return Some((lang, true));
    }
    // Names say nothing about the sentence's language: the cues and trigrams see the other words.
    let rest = analysed.without_names();
    let (mut scores, mut n_words) = cue_scores(&rest);
    let mut text = rest.as_str();
    if n_words == 0 {
        (scores, n_words) = cue_scores(sentence);
        text = sentence;
    }
    if n_words == 0 {
        return None;
    }
    let letters = text.chars().filter(|c| c.is_alphabetic()).count();
    if letters >= 12 {
        let detector = whatlang::Detector::with_allowlist(vec![
            whatlang::Lang::Eng,
            whatlang::Lang::Spa,
            whatlang::Lang::Fra,
            whatlang::Lang::Ita,
            whatlang::Lang::Por,
        ]);
        if let Some(info) = detector.detect(text) {
            let idx = match info.lang() {
                whatlang::Lang::Spa => 1,
                whatlang::Lang::Fra => 2,
                whatlang::Lang::Ita => 3,
                whatlang::Lang::Por => 4,
                _ => 0,
            };
            // The trigram vote weighs more for longer sentences and when whatlang is sure.
            let len_w = (letters as f32 / 30.0).min(1.5);
            scores[idx] += (1.0 + 2.0 * info.confidence() as f32) * len_w;
        }
    }
    // Weak word-frequency evidence still votes, as a cue worth its log-likelihood ratio; one word alone does
    // not (the time zone in "at 5 p.m. EST." would be French *est*, confidently).
    if let Some((lang, margin, n)) = words
        && n >= 2
    {
        let k = LATIN.iter().position(|l| *l == lang).unwrap_or(0);
        scores[k] += margin / NATS_PER_CUE;
    }
    let mut order: Vec<usize> = (0..5).collect();
    order.sort_by(|a, b| scores[*b].total_cmp(&scores[*a]).then(a.cmp(b)));
    let (best, second) = (scores[order[0]], scores[order[1]]);
    if best <= 0.0 {
        return Some((LATIN[0], false));
    }
    let margin = best - second;
    let confident = n_words >= 4 && margin >= 0.5 || margin >= 2.0;
    Some((LATIN[order[0]], confident))
}

/// The short code `warble detect` prints for a run: en, es, fr, it, pt, hi, ja, zh, or `und` for unsupported.
pub fn short_code(lang: Option<Language>) -> &'static str {
    match lang {
        Some(Language::EnUs | Language::EnGb) => "en",
        Some(Language::Es) => "es",
        Some(Language::Fr) => "fr",
        Some(Language::It) => "it",
        Some(Language::PtBr) => "pt",
        Some(Language::Hi) => "hi",
        Some(Language::Ja) => "ja",
        Some(Language::Zh) => "zh",
        None => "und",
    }
}

/// One line of `warble detect` output: `code<TAB>text` for every run, joined by ` | `.
pub fn detect_line(line: &str) -> String {
    detect_runs(line, None)
        .iter()
        .map(|r| format!("{}\t{}", short_code(r.language), r.text))
        .collect::<Vec<_>>()
        .join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(text: &str) -> Vec<(String, String)> {
        detect_runs(text, None).into_iter().map(|r| (short_code(r.language).to_string(), r.text)).collect()
    }

    #[test]
    fn english_with_japanese() {
        assert_eq!(
            codes("She said 東京は大きい and left"),
            vec![
                ("en".into(), "She said".into()),
                ("ja".into(), "東京は大きい".into()),
                ("en".into(), "and left".into())
            ]
        );
    }

    #[test]
    fn detect_line_format() {
        assert_eq!(detect_line("Hello everyone. Bonjour à tous !"), "en\tHello everyone. | fr\tBonjour à tous !");
    }

    #[test]
    fn unsupported_latin_languages_are_flagged_and_read_as_english() {
        for (text, name) in [
            ("Ich habe heute leider keine Zeit, weil ich noch arbeiten muss.", "German"),
            ("Wij gaan morgen met de trein naar Amsterdam om mijn oma te bezoeken.", "Dutch"),
            ("Jutro rano pojedziemy pociągiem do Krakowa, żeby odwiedzić babcię.", "Polish"),
        ] {
            let runs = detect_runs(text, None);
            assert_eq!(runs.len(), 1, "{text}: {runs:?}");
            assert_eq!(runs[0].unsupported, Some(name), "{text}");
            assert_eq!(runs[0].language, Some(Language::EnUs), "{text}");
        }
        for text in [
            "The committee will meet again next week to discuss the budget.",
            "Mañana vamos a visitar a mis abuelos en el campo.",
            "Nous partirons demain matin pour rendre visite à nos grands-parents.",
        ] {
            assert!(detect_runs(text, None).iter().all(|r| r.unsupported.is_none()), "{text}");
        }
    }

    #[test]
    fn a_quotation_is_not_cut_at_its_inner_sentence_ends() {
        let text = "Ela perguntou, \"Do you speak English? I need help.\" Depois saiu. E voltou.";
        let parts: Vec<&str> = latin_sentences(text, 0..text.len()).into_iter().map(|r| &text[r]).collect();
        assert_eq!(parts, ["Ela perguntou, \"Do you speak English? I need help.\"", "Depois saiu.", "E voltou."]);
        // An unclosed quotation does not swallow the rest.
        let text = "He said \"wait. Then he left.";
        assert_eq!(latin_sentences(text, 0..text.len()).len(), 2);
    }

    #[test]
    fn names_do_not_decide_a_short_sentence() {
        // Once read as Italian: the names' letters outvoted "met" and "in", and "Hello, world." inherited it.
        assert_eq!(
            codes("Hello, world. Siobhan met Dmitri in Kalamazoo."),
            vec![("en".into(), "Hello, world. Siobhan met Dmitri in Kalamazoo.".into())]
        );
        assert_eq!(codes("Dmitri ha incontrato Siobhan a Kalamazoo.")[0].0, "it");
        assert_eq!(crate::langid::Sentence::new("Siobhan met Dmitri in Kalamazoo.").without_names(), "Siobhan met in");
        // One word after a time is no sentence of its own, nor French.
        assert_eq!(codes("We land at 5 p.m. EST."), vec![("en".into(), "We land at 5 p.m. EST.".into())]);
        assert_eq!(codes("We land at five. EST."), vec![("en".into(), "We land at five. EST.".into())]);
    }

    #[test]
    fn han_alone_is_chinese() {
        assert_eq!(codes("我们今天去北京。"), vec![("zh".into(), "我们今天去北京。".into())]);
        let r = detect_runs("東京都。", Some(Language::Ja));
        assert_eq!(r[0].language, Some(Language::Ja));
    }

    #[test]
    fn unsupported_scripts() {
        let r = detect_runs("Hello there, 안녕하세요 friend", None);
        assert_eq!(r.len(), 3);
        assert_eq!(r[1].language, None);
        assert_eq!(r[1].script, Script::Hangul);
        let r = detect_runs("Привет", None);
        assert_eq!(r[0].language, None);
    }

    #[test]
    fn ranges_match_text() {
        let t = "  Hola, ¿qué tal? 今日はいい天気ですね。 नमस्ते दुनिया!  ";
        for r in detect_runs(t, None) {
            assert_eq!(&t[r.range.clone()], r.text);
        }
    }

    #[test]
    fn digits_only_and_empty() {
        assert!(detect_runs("", None).is_empty());
        assert!(detect_runs("   ", None).is_empty());
        let r = detect_runs("123", Some(Language::Fr));
        assert_eq!(r[0].language, Some(Language::Fr));
    }

    #[test]
    fn hint_variants() {
        let r = detect_runs("The weather is lovely today, isn't it?", Some(Language::EnGb));
        assert_eq!(r[0].language, Some(Language::EnGb));
    }
}
