//! espeak-ng backends for Spanish, French, Italian, Brazilian Portuguese and Hindi, as Kokoro's reference front end
//! (misaki `EspeakG2P`) runs them.
//!
//! The pipeline per input:
//! 1. Split the text at punctuation marks (`;:,.!?¡¿—…"«»“”(){}[]`, the marks phonemizer preserves); a `.` or
//!    `,` between two digits is *not* a mark, so `3,5` and `1.000.000` reach espeak whole and are read as
//!    numbers (the reference splits them, which reads `1.000.000` digit group by digit group).
//! 2. Phonemize each stretch between marks with `espeak_TextToPhonemes` in IPA mode with a tie character, with
//!    the language's voice (`es`, `fr-fr`, `it`, `pt-br`, `hi`). espeak reads digits itself, per language.
//! 3. Map espeak's IPA to Kokoro's symbols ([`map_espeak_ipa`]): language-switch flags such as `(en)` removed,
//!    tied digraphs replaced (`t͡ʃ`→`ʧ`, `d͡ʒ`→`ʤ`, `t͡s`→`ʦ`, `d͡z`→`ʣ`, `a͡ɪ`→`I`, `a͡ʊ`→`W`, `e͡ɪ`→`A`, `o͡ʊ`→`O`,
//!    `ə͡ʊ`→`Q`, `ɔ͡ɪ`→`Y`, `s͡s`→`S`), remaining ties and hyphens deleted, anything outside the vocabulary dropped.
//! 4. Put the marks back where they were (`«»` become `“”`, as in the reference).
//!
//! The FFI part needs the `espeak` cargo feature and libespeak-ng (Debian: `libespeak-ng-dev`); espeak-ng is not
//! thread-safe, so every call holds one global mutex. Without the feature, [`EspeakG2p::new`] returns
//! [`G2pError::FeatureMissing`]. The mapping itself is always compiled and tested.

use crate::registry::filter_vocab;
use crate::{G2p, G2pError, Language, Token};

/// The espeak-ng voice the reference uses for a language, if espeak handles it.
pub fn espeak_voice(lang: Language) -> Option<&'static str> {
    match lang {
        Language::Es => Some("es"),
        Language::Fr => Some("fr-fr"),
        Language::It => Some("it"),
        Language::PtBr => Some("pt-br"),
        Language::Hi => Some("hi"),
        _ => None,
    }
}

/// The tie character requested from espeak (U+0361 COMBINING DOUBLE INVERTED BREVE).
const TIE: char = '\u{361}';

/// espeak IPA digraphs (joined by [`TIE`]) and the single Kokoro symbol that replaces each (misaki's `e2m` table
/// for Kokoro v1.0).
const DIGRAPHS: [(&str, &str); 11] = [
    ("a\u{361}ɪ", "I"),
    ("a\u{361}ʊ", "W"),
    ("d\u{361}z", "ʣ"),
    ("d\u{361}ʒ", "ʤ"),
    ("e\u{361}ɪ", "A"),
    ("o\u{361}ʊ", "O"),
    ("ə\u{361}ʊ", "Q"),
    ("s\u{361}s", "S"),
    ("t\u{361}s", "ʦ"),
    ("t\u{361}ʃ", "ʧ"),
    ("ɔ\u{361}ɪ", "Y"),
];

/// Maps one stretch of espeak IPA output (no punctuation) to Kokoro symbols.
pub fn map_espeak_ipa(raw: &str) -> String {
    let mut s = remove_language_flags(raw);
    // espeak sometimes puts the tie on both sides of a flag or doubles it; normalise "^" ties too.
    s = s.replace('^', "\u{361}");
    for (from, to) in DIGRAPHS {
        s = s.replace(from, to);
    }
    s = s.replace([TIE, '-'], "");
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    filter_vocab(&s)
}

/// Removes espeak's language-switch flags, e.g. `(en)` and `(es)` around an English word in Spanish text.
fn remove_language_flags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(open) = rest.find('(') {
        let after = &rest[open + 1..];
        match after.find(')') {
            Some(close)
                if close > 0
                    && close <= 8
                    && after[..close]
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == TIE) =>
            {
                out.push_str(&rest[..open]);
                rest = &after[close + 1..];
            }
            _ => {
                out.push_str(&rest[..open + 1]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The punctuation marks kept as tokens (phonemizer's default set).
fn is_mark(c: char) -> bool {
    ";:,.!?¡¿—…\"«»“”(){}[]".contains(c)
}

/// A piece of input: words to phonemize, or one punctuation mark.
#[derive(Debug, PartialEq)]
pub(crate) enum Piece<'a> {
    Words(&'a str),
    Mark(char),
}

/// Splits text into word stretches and marks, each with the whitespace that followed it.
pub(crate) fn split_marks<'a>(text: &'a str) -> Vec<(Piece<'a>, String)> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out: Vec<(Piece<'a>, String)> = Vec::new();
    let mut start: Option<usize> = None;
    let flush = |out: &mut Vec<(Piece<'a>, String)>, s: usize, e: usize| {
        let seg = &text[s..e];
        let t = seg.trim_end();
        if !t.trim().is_empty() {
            let t = t.trim_start();
            out.push((Piece::Words(t), seg[seg.trim_end().len()..].to_string()));
        }
    };
    for (k, &(i, c)) in chars.iter().enumerate() {
        let between_digits = matches!(c, '.' | ',')
            && k > 0
            && chars[k - 1].1.is_ascii_digit()
            && chars.get(k + 1).is_some_and(|n| n.1.is_ascii_digit());
        if is_mark(c) && !between_digits {
            if let Some(s) = start.take() {
                flush(&mut out, s, i);
            }
            // Whitespace after the mark.
            let ws: String = chars[k + 1..]
                .iter()
                .map(|x| x.1)
                .take_while(|c| c.is_whitespace())
                .collect();
            out.push((Piece::Mark(c), ws));
        } else if c.is_whitespace() {
            continue;
        } else if start.is_none() {
            start = Some(i);
        }
    }
    // Words run until the next mark; whitespace inside them stays.
    if let Some(s) = start {
        flush(&mut out, s, text.len());
    }
    // Whitespace inside a word stretch is preserved by flush; collapse to one space in the trailing part.
    for (_, ws) in out.iter_mut() {
        if !ws.is_empty() {
            *ws = " ".to_string();
        }
    }
    out
}

/// Turns pieces into tokens given a phonemizer for word stretches.
pub(crate) fn pieces_to_tokens(
    pieces: Vec<(Piece<'_>, String)>,
    mut phonemize: impl FnMut(&str) -> Result<String, G2pError>,
) -> Result<Vec<Token>, G2pError> {
    let mut tokens = Vec::with_capacity(pieces.len());
    for (piece, ws) in pieces {
        match piece {
            Piece::Words(w) => tokens.push(Token {
                graphemes: w.to_string(),
                phonemes: map_espeak_ipa(&phonemize(w)?),
                whitespace: ws,
                is_punctuation: false,
            }),
            Piece::Mark(c) => {
                let p = match c {
                    '«' => '“',
                    '»' => '”',
                    '{' | '[' => '(',
                    '}' | ']' => ')',
                    c => c,
                };
                // `¡` and `¿` are not in Kokoro's vocabulary (the model drops them): an unspoken token.
                tokens.push(Token {
                    graphemes: c.to_string(),
                    phonemes: filter_vocab(&p.to_string()),
                    whitespace: ws,
                    is_punctuation: true,
                })
            }
        }
    }
    Ok(tokens)
}

/// An espeak-ng backed G2P for one of es, fr, it, pt-br, hi.
#[derive(Debug)]
pub struct EspeakG2p {
    language: Language,
    #[cfg_attr(not(feature = "espeak"), allow(dead_code))]
    voice: &'static str,
}

impl EspeakG2p {
    /// A backend for `lang`. Errors with [`G2pError::FeatureMissing`] when Warble was built without the `espeak`
    /// feature, and with [`G2pError::Backend`] when the language is not an espeak language or the library fails
    /// to start.
    pub fn new(lang: Language) -> Result<Self, G2pError> {
        let voice = espeak_voice(lang).ok_or_else(|| {
            G2pError::Backend(format!("{lang} is not read by the espeak-ng backend"))
        })?;
        #[cfg(not(feature = "espeak"))]
        {
            let _ = voice;
            Err(G2pError::FeatureMissing {
                language: lang,
                feature: "espeak",
            })
        }
        #[cfg(feature = "espeak")]
        {
            ffi::ensure_initialized()?;
            Ok(EspeakG2p {
                language: lang,
                voice,
            })
        }
    }

    /// The raw espeak IPA for `text` (ties as U+0361, no mapping), for debugging and reference comparisons.
    pub fn raw_ipa(&self, text: &str) -> Result<String, G2pError> {
        #[cfg(feature = "espeak")]
        {
            ffi::text_to_ipa(self.voice, text)
        }
        #[cfg(not(feature = "espeak"))]
        {
            let _ = text;
            Err(G2pError::FeatureMissing {
                language: self.language,
                feature: "espeak",
            })
        }
    }
}

impl G2p for EspeakG2p {
    fn language(&self) -> Language {
        self.language
    }

    fn phonemize(&self, text: &str) -> Result<Vec<Token>, G2pError> {
        pieces_to_tokens(split_marks(text), |w| self.raw_ipa(w))
    }
}

#[cfg(feature = "espeak")]
mod ffi {
    //! A minimal binding to libespeak-ng's phoneme API.
    use crate::G2pError;
    use std::ffi::{CStr, CString, c_char, c_int, c_void};
    use std::sync::Mutex;

    #[link(name = "espeak-ng")]
    unsafe extern "C" {
        fn espeak_Initialize(
            output: c_int,
            buflength: c_int,
            path: *const c_char,
            options: c_int,
        ) -> c_int;
        fn espeak_SetVoiceByName(name: *const c_char) -> c_int;
        fn espeak_TextToPhonemes(
            textptr: *mut *const c_void,
            textmode: c_int,
            phonememode: c_int,
        ) -> *const c_char;
    }

    /// `AUDIO_OUTPUT_SYNCHRONOUS`: no audio device is opened.
    const AUDIO_OUTPUT_SYNCHRONOUS: c_int = 2;
    /// `espeakCHARS_UTF8`.
    const CHARS_UTF8: c_int = 1;
    /// IPA output (bit 1), a tie character inside multi-letter phonemes (bit 7, tie in bits 8-23).
    const PHONEME_MODE: c_int = 0x02 | (1 << 7) | ((super::TIE as c_int) << 8);

    struct State {
        initialized: bool,
        voice: Option<&'static str>,
    }

    /// espeak-ng keeps global state and is not thread-safe: one lock around every call.
    static LOCK: Mutex<State> = Mutex::new(State {
        initialized: false,
        voice: None,
    });

    fn init(state: &mut State) -> Result<(), G2pError> {
        if state.initialized {
            return Ok(());
        }
        let path = std::env::var("ESPEAK_DATA_PATH")
            .ok()
            .and_then(|p| CString::new(p).ok());
        let ptr = path.as_ref().map_or(std::ptr::null(), |p| p.as_ptr());
        // SAFETY: plain C call; `ptr` is null or a valid NUL-terminated string that outlives the call.
        let rate = unsafe { espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, ptr, 0) };
        if rate <= 0 {
            return Err(G2pError::Backend(
                "espeak-ng failed to initialise (is espeak-ng-data installed? set ESPEAK_DATA_PATH)".into(),
            ));
        }
        state.initialized = true;
        Ok(())
    }

    pub(super) fn ensure_initialized() -> Result<(), G2pError> {
        let mut state = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        init(&mut state)
    }

    pub(super) fn text_to_ipa(voice: &'static str, text: &str) -> Result<String, G2pError> {
        let mut state = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        init(&mut state)?;
        if state.voice != Some(voice) {
            // Voices are selected by their identifier (the voice file, as phonemizer does), falling back to the
            // language code: `fr-fr` and `pt-br` are languages, not voice names, for SetVoiceByName.
            let ident = match voice {
                "es" => "roa/es",
                "fr-fr" => "roa/fr",
                "it" => "roa/it",
                "pt-br" => "roa/pt-BR",
                "hi" => "inc/hi",
                v => v,
            };
            let mut rc = -1;
            for name in [ident, voice] {
                let name = CString::new(name).expect("voice names have no NUL");
                // SAFETY: valid NUL-terminated string.
                rc = unsafe { espeak_SetVoiceByName(name.as_ptr()) };
                if rc == 0 {
                    break;
                }
            }
            if rc != 0 {
                return Err(G2pError::Backend(format!(
                    "espeak-ng has no voice `{voice}` (error {rc})"
                )));
            }
            state.voice = Some(voice);
        }
        // Interior NULs would end the C string early; drop them.
        let c = CString::new(text.replace('\0', " ")).expect("NULs removed");
        let mut ptr: *const c_void = c.as_ptr().cast();
        let mut out: Vec<String> = Vec::new();
        // espeak returns one clause per call and advances `ptr`, setting it to NULL at the end.
        let mut guard = 0;
        while !ptr.is_null() && guard < 100_000 {
            guard += 1;
            // SAFETY: `ptr` points into `c` (alive for the loop) or is advanced by espeak within it; the returned
            // pointer is a NUL-terminated buffer owned by espeak, copied before the next call.
            let res = unsafe { espeak_TextToPhonemes(&mut ptr, CHARS_UTF8, PHONEME_MODE) };
            if !res.is_null() {
                // SAFETY: non-null, NUL-terminated, owned by espeak until the next call.
                let s = unsafe { CStr::from_ptr(res) }
                    .to_string_lossy()
                    .trim()
                    .to_string();
                if !s.is_empty() {
                    out.push(s);
                }
            }
        }
        Ok(out.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_digraphs_and_flags() {
        assert_eq!(map_espeak_ipa("t\u{361}ʃˈao"), "ʧˈao");
        assert_eq!(map_espeak_ipa("βˌe\u{361}ɪntiθˈinko"), "βˌAntiθˈinko");
        assert_eq!(map_espeak_ipa("nˌɐ̃\u{361}ʊ̃ sˈe\u{361}ɪ"), "nˌɐ̃ʊ̃ sˈA");
        assert_eq!(map_espeak_ipa("ʒə- mapˈɛl"), "ʒə mapˈɛl");
        assert_eq!(map_espeak_ipa("(en)hˈɛloʊ(es) ˈola"), "hˈɛloʊ ˈola");
        // Symbols outside Kokoro's vocabulary are dropped.
        assert_eq!(map_espeak_ipa("ɬa"), "a");
    }

    #[test]
    fn splits_marks_but_not_numbers() {
        let p = split_marks("Hola, ¿qué tal? 3,5 y 1.000.000.");
        let kinds: Vec<String> = p
            .iter()
            .map(|(p, ws)| match p {
                Piece::Words(w) => format!("W({w}){ws}"),
                Piece::Mark(c) => format!("M({c}){ws}"),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "W(Hola)",
                "M(,) ",
                "M(¿)",
                "W(qué tal)",
                "M(?) ",
                "W(3,5 y 1.000.000)",
                "M(.)"
            ]
        );
    }

    #[test]
    fn tokens_join_like_the_reference() {
        let toks = pieces_to_tokens(split_marks("Hola, ¿qué tal?"), |w| {
            Ok(match w {
                "Hola" => "ˈola".to_string(),
                _ => "kˈe tˈal".to_string(),
            })
        })
        .unwrap();
        // `¿` is kept as a token but is not in the vocabulary, so it is not spoken.
        assert_eq!(crate::join_phonemes(&toks), "ˈola, kˈe tˈal?");
    }

    #[cfg(not(feature = "espeak"))]
    #[test]
    fn feature_missing() {
        assert!(matches!(
            EspeakG2p::new(Language::Es),
            Err(G2pError::FeatureMissing { .. })
        ));
    }
}
