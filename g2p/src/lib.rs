//! warble-g2p: text normalisation and grapheme-to-phoneme conversion, one backend per language.
//!
//! Every backend turns text into [`Token`]s that carry the original graphemes, the phonemes in Kokoro's
//! vocabulary (the symbols of the model's `config.json`), and the whitespace that followed, so the engine can
//! chunk at punctuation and report word timestamps.

use std::fmt;

pub mod abbreviations;
pub mod detect;
pub mod espeak;
pub mod ja;
pub mod langid;
pub mod registry;
pub mod romance;
pub mod zh;

pub use detect::{Run, Script, detect_line, detect_runs};
pub use registry::{default_voice, g2p_for};
pub mod en;

pub use en::{EnglishG2p, phonemize_line};

/// A language Warble can speak. The codes follow BCP-47 where one exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Language {
    EnUs,
    EnGb,
    Es,
    Fr,
    It,
    PtBr,
    Hi,
    Ja,
    Zh,
}

impl Language {
    pub const ALL: [Language; 9] = [
        Language::EnUs,
        Language::EnGb,
        Language::Es,
        Language::Fr,
        Language::It,
        Language::PtBr,
        Language::Hi,
        Language::Ja,
        Language::Zh,
    ];

    /// The code users type (`--lang en-us`).
    pub fn code(self) -> &'static str {
        match self {
            Language::EnUs => "en-us",
            Language::EnGb => "en-gb",
            Language::Es => "es",
            Language::Fr => "fr",
            Language::It => "it",
            Language::PtBr => "pt-br",
            Language::Hi => "hi",
            Language::Ja => "ja",
            Language::Zh => "zh",
        }
    }

    /// The first letter of Kokoro's voice names for this language (`a`f_heart, `b`f_emma, `e`f_dora, ...).
    pub fn voice_prefix(self) -> char {
        match self {
            Language::EnUs => 'a',
            Language::EnGb => 'b',
            Language::Es => 'e',
            Language::Fr => 'f',
            Language::It => 'i',
            Language::PtBr => 'p',
            Language::Hi => 'h',
            Language::Ja => 'j',
            Language::Zh => 'z',
        }
    }

    /// Parses a user-given code; accepts the common aliases (`en` = `en-us`, `pt` = `pt-br`, Kokoro's one-letter codes).
    pub fn parse(code: &str) -> Result<Language, G2pError> {
        let c = code.trim().to_ascii_lowercase().replace('_', "-");
        let lang = match c.as_str() {
            "en-us" | "en" | "a" | "american" => Language::EnUs,
            "en-gb" | "b" | "british" => Language::EnGb,
            "es" | "e" | "es-es" => Language::Es,
            "fr" | "f" | "fr-fr" => Language::Fr,
            "it" | "i" => Language::It,
            "pt-br" | "pt" | "p" => Language::PtBr,
            "hi" | "h" => Language::Hi,
            "ja" | "j" | "jp" => Language::Ja,
            "zh" | "z" | "cmn" | "zh-cn" => Language::Zh,
            _ => {
                return Err(G2pError::UnknownLanguage { code: code.to_string() });
            }
        };
        Ok(lang)
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// One unit of G2P output: a word, a number read out, or a punctuation mark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The text this token came from, as written (before normalisation).
    pub graphemes: String,
    /// Phonemes in Kokoro's vocabulary; for punctuation, the mark itself as the model expects it.
    /// Empty when the token is not spoken.
    pub phonemes: String,
    /// The whitespace that followed the token in the input (empty or one space in practice).
    pub whitespace: String,
    /// True for punctuation tokens, whose phonemes attach to the previous word without a space.
    pub is_punctuation: bool,
}

/// Joins tokens into the phoneme string the model reads: words separated by single spaces, punctuation attached
/// as misaki attaches it.
pub fn join_phonemes(tokens: &[Token]) -> String {
    let mut out = String::new();
    for t in tokens {
        out.push_str(&t.phonemes);
        if !t.whitespace.is_empty() && !t.phonemes.is_empty() {
            out.push(' ');
        }
    }
    out.trim_end().to_string()
}

/// A grapheme-to-phoneme backend for one language.
pub trait G2p: Send + Sync {
    fn language(&self) -> Language;
    /// Text in, tokens out. Never panics on any input.
    fn phonemize(&self, text: &str) -> Result<Vec<Token>, G2pError>;
}

#[derive(Debug, thiserror::Error)]
pub enum G2pError {
    #[error("unknown language code `{code}`; Warble knows en-us, en-gb, es, fr, it, pt-br, hi, ja, zh (and auto)")]
    UnknownLanguage { code: String },
    #[error(
        "{language} needs the `{feature}` cargo feature, which this build of Warble lacks; rebuild with `--features {feature}`"
    )]
    FeatureMissing { language: Language, feature: &'static str },
    #[error("{0}")]
    Backend(String),
}
