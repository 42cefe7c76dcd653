//! The one chunker: G2P tokens (or a phoneme string cut into tokens) → chunks of at most 510 phoneme symbols,
//! cut at the strongest punctuation that fits (sentence end, then clause, then comma, then a word boundary —
//! never inside a word unless one word alone exceeds the limit), with each word's place in its chunk kept for
//! word timestamps. This file also holds the one table of what punctuation means to the planner and the
//! assembler ([`cut_strength`], [`is_pause_symbol`]).

use warble_g2p::Token;

use crate::vocab::MAX_PHONEMES;

/// A word's span in its chunk's phoneme string, in characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WordSpan {
    pub text: String,
    pub start: usize,
    pub end: usize,
}

/// One model call's worth of text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextChunk {
    pub phonemes: String,
    pub words: Vec<WordSpan>,
    /// For each character of `phonemes`, the tag of the token it came from (a space takes the tag of the token
    /// before it). Callers use tags to know which SSML segment (and so which controls) a symbol belongs to.
    pub tags: Vec<usize>,
}

impl TextChunk {
    fn len(&self) -> usize {
        self.phonemes.chars().count()
    }
}

#[derive(Debug, Clone)]
struct Unit {
    phonemes: String,
    len: usize,
    space_after: bool,
    word: Option<String>,
    tag: usize,
    /// 3 sentence end, 2 clause, 1 comma or dash, 0 none: how good a place to cut after this unit is.
    strength: u8,
}

/// How good a place to cut after this symbol is: 3 sentence end, 2 clause, 1 comma or dash, 0 none.
pub(crate) fn cut_strength(c: char) -> u8 {
    match c {
        '.' | '!' | '?' | '…' => 3,
        ':' | ';' => 2,
        ',' | '—' => 1,
        _ => 0,
    }
}

/// Symbols the model renders as pause, not sound: spaces, punctuation, quotes and brackets.
pub(crate) fn is_pause_symbol(c: char) -> bool {
    c == ' ' || cut_strength(c) > 0 || matches!(c, '"' | '(' | ')' | '“' | '”')
}

/// A punctuation token's strength is that of its strongest mark; a word token (phoneme input keeps marks
/// attached to words, `wˈɜɹld.`) takes the strength of its last symbol.
fn strength(t: &Token) -> u8 {
    let p = t.phonemes.trim();
    if t.is_punctuation {
        p.chars().map(cut_strength).max().unwrap_or(0)
    } else {
        p.chars().rev().find(|&c| !matches!(c, '"' | ')' | '”')).map_or(0, cut_strength)
    }
}

/// Words the first chunk of a stream is best cut before when no punctuation is in reach: a phrase boundary.
/// Articles are not among them: a cut between a preposition or verb and its noun phrase ("because of | a
/// storm") leaves a pause listeners hear as a comma (Whisper heard "because of Storm").
const PHRASE_STARTS: &[&str] = &[
    "and", "but", "or", "so", "because", "that", "which", "who", "when", "while", "where", "if", "then", "to", "for",
    "with", "from", "in", "on", "at", "of", "about", "after", "before", "until",
];

/// A phoneme string (Kokoro's symbols) as tokens for the chunker: one token per space-separated word, marks
/// left attached (the model reads the string as written; runs of spaces become one).
pub fn phoneme_tokens(phonemes: &str) -> Vec<Token> {
    phonemes
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(|w| Token {
            graphemes: String::new(),
            phonemes: w.to_string(),
            whitespace: " ".into(),
            is_punctuation: false,
        })
        .collect()
}

/// Splits G2P tokens into chunks of at most `limit` phoneme symbols.
pub fn chunk_tokens(tokens: &[Token], limit: usize) -> Vec<TextChunk> {
    chunk_tagged(tokens.iter().map(|t| (t, 0)), limit)
}

/// As [`chunk_tokens`], with a caller's tag on each token (kept per character in [`TextChunk::tags`]).
pub fn chunk_tagged<'a>(tokens: impl IntoIterator<Item = (&'a Token, usize)>, limit: usize) -> Vec<TextChunk> {
    chunk_tagged_ramp(tokens, limit, |_| limit)
}

/// As [`chunk_tagged`], with smaller limits for the first chunks: chunk `i` holds at most `ramp(i)` symbols
/// (clamped to `8..=limit`). A stream's first chunks are kept short so audio starts sooner and each call's
/// whole-chunk work fits in the audio already made. Without punctuation in reach, a chunk shorter than
/// `limit` is cut before a phrase-starting word where one is in its second half.
pub fn chunk_tagged_ramp<'a>(
    tokens: impl IntoIterator<Item = (&'a Token, usize)>,
    limit: usize,
    ramp: impl Fn(usize) -> usize,
) -> Vec<TextChunk> {
    let limit = limit.clamp(8, MAX_PHONEMES);
    let mut units: Vec<Unit> = Vec::new();
    for (t, tag) in tokens {
        let phonemes: String = t.phonemes.trim().to_string();
        if phonemes.is_empty() {
            if !t.whitespace.is_empty()
                && let Some(last) = units.last_mut()
            {
                last.space_after = true;
            }
            continue;
        }
        let len = phonemes.chars().count();
        if len > limit {
            // A single "word" longer than the window: cut it into window-sized pieces.
            let chars: Vec<char> = phonemes.chars().collect();
            for (i, piece) in chars.chunks(limit).enumerate() {
                units.push(Unit {
                    phonemes: piece.iter().collect(),
                    len: piece.len(),
                    space_after: true,
                    word: if i == 0 { Some(t.graphemes.clone()) } else { None },
                    tag,
                    strength: 0,
                });
            }
            continue;
        }
        units.push(Unit {
            phonemes,
            len,
            space_after: !t.whitespace.is_empty(),
            word: if t.is_punctuation || t.graphemes.is_empty() { None } else { Some(t.graphemes.clone()) },
            tag,
            strength: strength(t),
        });
    }

    let mut chunks = Vec::new();
    let mut current: Vec<Unit> = Vec::new();
    for u in units {
        loop {
            let lim = ramp(chunks.len()).clamp(8, limit);
            if current.is_empty() || joined_len(&current) + 1 + u.len <= lim {
                break;
            }
            let mut cut = best_cut(&current);
            if lim < limit && cut == current.len() {
                cut = phrase_cut(&current);
            }
            let rest = current.split_off(cut);
            chunks.push(build(&current));
            current = rest;
        }
        current.push(u);
    }
    if !current.is_empty() {
        chunks.push(build(&current));
    }
    chunks.retain(|c| c.len() > 0);
    chunks
}

/// How many leading units form the chunk to emit: after the strongest punctuation, else all but the last
/// word (so the next chunk starts on a word), else everything.
fn best_cut(units: &[Unit]) -> usize {
    for s in [3u8, 2, 1] {
        if let Some(i) = units.iter().rposition(|u| u.strength == s) {
            return i + 1;
        }
    }
    units.len()
}

/// A cut before a phrase-starting word in the second half of `units`, else after all of them.
fn phrase_cut(units: &[Unit]) -> usize {
    (units.len() / 2 + 1..units.len())
        .rev()
        .find(|&i| units[i].word.as_deref().is_some_and(|w| PHRASE_STARTS.contains(&w.to_lowercase().as_str())))
        .unwrap_or(units.len())
}

fn joined_len(units: &[Unit]) -> usize {
    let mut n = 0;
    for (i, u) in units.iter().enumerate() {
        n += u.len;
        if i + 1 < units.len() && u.space_after {
            n += 1;
        }
    }
    n
}

fn build(units: &[Unit]) -> TextChunk {
    let mut c = TextChunk::default();
    let mut pos = 0;
    for (i, u) in units.iter().enumerate() {
        c.phonemes.push_str(&u.phonemes);
        if let Some(w) = &u.word {
            c.words.push(WordSpan { text: w.clone(), start: pos, end: pos + u.len });
        }
        pos += u.len;
        c.tags.extend(std::iter::repeat_n(u.tag, u.len));
        if i + 1 < units.len() && u.space_after {
            c.phonemes.push(' ');
            c.tags.push(u.tag);
            pos += 1;
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(text: &str, ph: &str, punct: bool, ws: &str) -> Token {
        Token { graphemes: text.into(), phonemes: ph.into(), whitespace: ws.into(), is_punctuation: punct }
    }

    #[test]
    fn one_short_sentence_is_one_chunk_with_word_spans() {
        let t = vec![
            tok("Hello", "həlˈO", false, ""),
            tok(",", ",", true, " "),
            tok("world", "wˈɜɹld", false, ""),
            tok(".", ".", true, ""),
        ];
        let c = chunk_tokens(&t, 510);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].phonemes, "həlˈO, wˈɜɹld.");
        assert_eq!(c[0].words[0], WordSpan { text: "Hello".into(), start: 0, end: 5 });
        assert_eq!(c[0].words[1], WordSpan { text: "world".into(), start: 7, end: 13 });
    }

    /// `n` words with a comma after every `comma_every`-th and a full stop after every `stop_every`-th.
    fn punctuated_words(n: usize, comma_every: usize, stop_every: usize) -> Vec<Token> {
        let mut t = Vec::new();
        for i in 1..=n {
            t.push(tok("word", "wˈɜɹd", false, " "));
            if i % comma_every == 0 {
                t.push(tok(",", ",", true, " "));
            }
            if i % stop_every == 0 {
                t.push(tok(".", ".", true, " "));
            }
        }
        t
    }

    #[test]
    fn long_text_is_cut_after_sentences_first() {
        let t = punctuated_words(40, 5, 10);
        let c = chunk_tokens(&t, 100);
        assert!(c.len() > 1);
        for ch in &c {
            assert!(ch.phonemes.chars().count() <= 100);
            assert!(ch.phonemes.ends_with('.') || ch.phonemes.ends_with(','), "{}", ch.phonemes);
        }
        let words: usize = c.iter().map(|ch| ch.words.len()).sum();
        assert_eq!(words, 40);
    }

    #[test]
    fn text_without_punctuation_is_cut_between_words() {
        let t: Vec<Token> = (0..300).map(|_| tok("la", "lˈɑ", false, " ")).collect();
        let c = chunk_tokens(&t, 510);
        assert!(c.len() >= 2);
        for ch in &c {
            assert!(ch.phonemes.chars().count() <= 510);
            assert!(!ch.phonemes.starts_with(' ') && !ch.phonemes.ends_with(' '));
            for w in &ch.words {
                assert_eq!(ch.phonemes.chars().skip(w.start).take(w.end - w.start).collect::<String>(), "lˈɑ");
            }
        }
    }

    #[test]
    fn ramped_chunks_grow_within_their_limits_and_keep_every_word() {
        let t = punctuated_words(200, 7, 15);
        let ramp = |i: usize| (40usize * 3usize.pow(i as u32)).min(510);
        let c = chunk_tagged_ramp(t.iter().map(|t| (t, 0)), 510, ramp);
        let lens: Vec<usize> = c.iter().map(|ch| ch.phonemes.chars().count()).collect();
        for (i, &len) in lens.iter().enumerate() {
            assert!(len <= ramp(i), "chunk {i}: {len} symbols over {}: {lens:?}", ramp(i));
        }
        // Chunks are cut at the last full stop within their limit (else a comma), so they grow with it.
        assert!(lens[0] > 20 && lens[1] > lens[0] && lens[2] > 250, "{lens:?}");
        assert_eq!(c.iter().map(|ch| ch.words.len()).sum::<usize>(), 200);
        // Without a ramp, the same text gives full-size chunks.
        assert!(chunk_tokens(&t, 510)[0].phonemes.chars().count() > 400);
    }

    #[test]
    fn an_overlong_word_is_split_hard() {
        let t = vec![tok("x", &"a".repeat(1200), false, "")];
        let c = chunk_tokens(&t, 510);
        assert_eq!(c.iter().map(|c| c.phonemes.len()).collect::<Vec<_>>(), vec![510, 510, 180]);
    }
}
