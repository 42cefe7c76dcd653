//! Japanese G2P for Kokoro-82M v1.0, modelled on the reference front end (misaki `JAG2P()`, whose default is a
//! cutlet-style romaniser over a MeCab tokenizer):
//!
//! 1. normalise: NFKC (full-width ASCII → ASCII, half-width katakana → full-width), `〜5` → `から5`, numbers →
//!    hiragana readings ([`num`]);
//! 2. tokenize with a MeCab-format dictionary and read each word's pronunciation (発音, which writes long vowels
//!    with `ー` and particles は/へ as ワ/エ);
//! 3. join morphemes into words (auxiliary verbs, conjunctive particles and suffixes attach to what precedes);
//! 4. map kana to Kokoro symbols ([`kana::kana_to_phonemes`]) and put spaces between words, punctuation attached.
//!
//! **Dictionary.** Kanji need a reading dictionary. Warble reads the MeCab IPADIC *sources* from Debian's
//! `mecab-ipadic` package (`/usr/share/mecab/dic/ipadic`, or the folder in `WARBLE_JA_DIC`) and builds a
//! [vibrato](https://crates.io/crates/vibrato) tokenizer from them at first use (about 6 s), caching the compiled
//! dictionary under `$WARBLE_CACHE_DIR`, `$XDG_CACHE_HOME/warble` or `~/.cache/warble` (about 0.3 s to load).
//! Nothing is downloaded. Without the dictionary, kana-only text still works (particles は/へ are then read
//! ha/he), and text with kanji fails with a clear [`G2pError::Backend`].
//!
//! The reference emits no pitch-accent arrows for Japanese (its pyopenjtalk variant computes accents but keeps
//! them out of the phoneme string), so neither does this backend.

pub mod kana;
pub mod num;

use crate::registry::filter_vocab;
use crate::{G2p, G2pError, Language, Token};
use std::path::PathBuf;
use std::sync::OnceLock;
use unicode_normalization::UnicodeNormalization;

/// The Japanese backend. The dictionary is loaded once per process, at the first call that needs it.
#[derive(Debug, Clone, Default)]
pub struct JaG2p;

impl JaG2p {
    pub fn new() -> Self {
        JaG2p
    }

    /// The phoneme string for `text`.
    pub fn phonemize_str(&self, text: &str) -> Result<String, G2pError> {
        Ok(crate::join_phonemes(&self.phonemize(text)?))
    }
}

/// Where the IPADIC sources are looked for.
pub fn dictionary_dir() -> PathBuf {
    std::env::var_os("WARBLE_JA_DIC").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/usr/share/mecab/dic/ipadic"))
}

fn cache_path() -> Option<PathBuf> {
    let base = std::env::var_os("WARBLE_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|p| PathBuf::from(p).join("warble")))
        .or_else(|| std::env::var_os("HOME").map(|p| PathBuf::from(p).join(".cache").join("warble")))?;
    Some(base.join("ipadic-vibrato-0.5.dic"))
}

fn read_euc_jp(path: &std::path::Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let (text, _, _) = encoding_rs::EUC_JP.decode(&bytes);
    Ok(text.into_owned())
}

fn build_dictionary() -> Result<vibrato::Dictionary, String> {
    let dir = dictionary_dir();
    if let Some(cache) = cache_path()
        && let Ok(f) = std::fs::File::open(&cache)
        && let Ok(d) = vibrato::Dictionary::read(std::io::BufReader::new(f))
    {
        return Ok(d);
    }
    let mut csvs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| {
            format!(
                "Japanese text with kanji needs the MeCab IPADIC dictionary sources, not found at {} ({e}); \
                 install them with `apt-get install mecab-ipadic` or point WARBLE_JA_DIC at a folder with the \
                 IPADIC *.csv, matrix.def, char.def and unk.def files",
                dir.display()
            )
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    csvs.sort();
    if csvs.is_empty() {
        return Err(format!("no IPADIC *.csv files in {}", dir.display()));
    }
    let mut lex = String::new();
    for p in &csvs {
        lex.push_str(&read_euc_jp(p)?);
        if !lex.ends_with('\n') {
            lex.push('\n');
        }
    }
    let matrix = read_euc_jp(&dir.join("matrix.def"))?;
    let chardef = read_euc_jp(&dir.join("char.def"))?;
    let unk = read_euc_jp(&dir.join("unk.def"))?;
    let dict = vibrato::SystemDictionaryBuilder::from_readers(
        lex.as_bytes(),
        matrix.as_bytes(),
        chardef.as_bytes(),
        unk.as_bytes(),
    )
    .map_err(|e| format!("building the IPADIC dictionary from {}: {e}", dir.display()))?;
    if let Some(cache) = cache_path() {
        // A failed cache write only costs time on the next start.
        let _ = std::fs::create_dir_all(cache.parent().unwrap_or(&cache));
        let tmp = cache.with_extension(format!("tmp{}", std::process::id()));
        if let Ok(f) = std::fs::File::create(&tmp) {
            let mut w = std::io::BufWriter::new(f);
            if dict.write(&mut w).is_ok() && std::io::Write::flush(&mut w).is_ok() {
                let _ = std::fs::rename(&tmp, &cache);
            } else {
                let _ = std::fs::remove_file(&tmp);
            }
        }
    }
    Ok(dict)
}

fn tokenizer() -> Result<&'static vibrato::Tokenizer, G2pError> {
    static T: OnceLock<Result<vibrato::Tokenizer, String>> = OnceLock::new();
    T.get_or_init(|| build_dictionary().map(vibrato::Tokenizer::new)).as_ref().map_err(|e| G2pError::Backend(e.clone()))
}

/// True when the Japanese dictionary can be loaded (for tests and `warble doctor`-style checks).
pub fn dictionary_available() -> bool {
    tokenizer().is_ok()
}

/// How a morpheme is read.
#[derive(Debug, Clone, PartialEq)]
enum Kind {
    /// Read from its kana (dictionary pronunciation or the kana surface).
    Kana(String),
    /// ASCII kept as written (the reference passes ASCII words through).
    Ascii,
    /// Punctuation and symbols, mapped to Kokoro's marks.
    Symbol,
    /// Unreadable (unknown kanji, other scripts): dropped.
    Drop,
}

#[derive(Debug, Clone)]
struct Morph {
    surface: String,
    kind: Kind,
    /// Attaches to the previous morpheme without a space.
    attach: bool,
}

fn normalize(text: &str) -> String {
    let mut t = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if (c == '〜' || c == '～') && chars.get(i + 1).is_some_and(|n| n.is_ascii_digit() || ('０'..='９').contains(n))
        {
            t.push_str("から");
        } else {
            t.push(c);
        }
    }
    let t: String = expand_iteration_marks(&t).nfkc().collect();
    num::normalize_numbers(&t)
}

/// Writes long vowels the way UniDic's pronunciation field (the reference's) does: a vowel kana that repeats the
/// vowel before it, and イ after an e-row kana, become ー (センセイ → センセー, イイ → イー, エエ → エー).
fn lengthen(pron: &str) -> String {
    let chars: Vec<char> = pron.chars().collect();
    let mut out = String::with_capacity(pron.len());
    for (i, &c) in chars.iter().enumerate() {
        let prev_vowel = if i > 0 { vowel_of(chars[i - 1]) } else { None };
        // A small kana before (キャ, ファ) belongs to the same mora: its vowel is what counts.
        let long = matches!(
            (prev_vowel, c),
            (Some('a'), 'ア') | (Some('i'), 'イ') | (Some('u'), 'ウ') | (Some('e'), 'エ' | 'イ') | (Some('o'), 'オ')
        );
        out.push(if long { 'ー' } else { c });
    }
    out
}

/// The vowel of a katakana mora (small kana included), if it ends in one.
fn vowel_of(c: char) -> Option<char> {
    const ROWS: [(&str, char); 5] = [
        ("アカガサザタダナハバパマヤャラワァ", 'a'),
        ("イキギシジチヂニヒビピミリィ", 'i'),
        ("ウクグスズツヅヌフブプムユュルゥヴ", 'u'),
        ("エケゲセゼテデネヘベペメレェ", 'e'),
        ("オコゴソゾトドノホボポモヨョロヲォ", 'o'),
    ];
    ROWS.iter().find(|(row, _)| row.contains(c)).map(|(_, v)| *v)
}

/// Repeats the character before the iteration mark 々 (昔々 → 昔昔), so the dictionary can read it.
fn expand_iteration_marks(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut prev: Option<char> = None;
    for c in text.chars() {
        if c == '々'
            && let Some(p) = prev
        {
            out.push(p);
            continue;
        }
        out.push(c);
        prev = Some(c);
    }
    out
}

fn is_symbol(c: char) -> bool {
    !c.is_alphanumeric() && !kana::is_kana(c) && !c.is_whitespace()
}

fn map_symbol(c: char) -> &'static str {
    match c {
        '。' | '.' => ".",
        '、' | ',' | '，' => ",",
        '?' | '？' => "?",
        '!' | '！' => "!",
        '「' | '『' | '«' | '“' => "“",
        '」' | '』' | '»' | '”' => "”",
        ':' | '：' => ":",
        ';' | '；' => ";",
        '《' | '（' | '(' | '【' | '[' => "(",
        '》' | '）' | ')' | '】' | ']' => ")",
        '・' => " ",
        '～' | '〜' | '—' | '~' => "—",
        '…' => "…",
        '"' => "\"",
        _ => "",
    }
}

fn morphs_with_dictionary(text: &str, tok: &vibrato::Tokenizer) -> Vec<Morph> {
    let mut worker = tok.new_worker();
    worker.reset_sentence(text);
    worker.tokenize();
    let mut out = Vec::with_capacity(worker.num_tokens());
    let mut prev_pos: Option<String> = None;
    for i in 0..worker.num_tokens() {
        let t = worker.token(i);
        let surface = t.surface().to_string();
        let f: Vec<&str> = t.feature().split(',').collect();
        let unknown = t.lex_type() == vibrato::dictionary::LexType::Unknown;
        let pos = f.first().copied().unwrap_or("");
        let sub = f.get(1).copied().unwrap_or("");
        let kind = if surface.chars().all(is_symbol) {
            Kind::Symbol
        } else if surface.is_ascii() {
            Kind::Ascii
        } else if !unknown {
            let pron = f.get(8).filter(|p| **p != "*" && p.chars().all(kana::is_kana));
            let reading = f.get(7).filter(|p| **p != "*" && p.chars().all(kana::is_kana));
            match pron.or(reading).copied() {
                // The volitional auxiliary う after でしょ/ましょ/よ lengthens the vowel: でしょう = deɕoː.
                Some("ウ") if pos == "助動詞" && matches!(prev_pos.as_deref(), Some("助動詞" | "動詞")) => {
                    Kind::Kana("ー".to_string())
                }
                Some(p) => Kind::Kana(lengthen(p)),
                None if surface.chars().all(kana::is_kana) => Kind::Kana(surface.clone()),
                None => Kind::Drop,
            }
        } else if surface.chars().all(kana::is_kana) {
            Kind::Kana(surface.clone())
        } else {
            Kind::Drop
        };
        // The copula (です, だ) has the conjugation types 特殊・デス / 特殊・ダ; past-tense だ (飛び込んだ) is 特殊・タ.
        let copula = matches!(f.get(4).copied().unwrap_or(""), "特殊・デス" | "特殊・ダ");
        let prev = prev_pos.take().unwrap_or_default();
        let after_inflecting = matches!(prev.as_str(), "動詞" | "形容詞" | "助動詞");
        // Auxiliaries and conjunctive particles attach to the verb or adjective before them (住ん+で, 始め+ます,
        // 面白かっ+た); the copula です/だ stays a word of its own, as in the reference.
        let attach = !unknown
            && (pos == "助動詞" && after_inflecting && !copula
                || pos == "助詞" && sub == "接続助詞" && after_inflecting
                || pos == "名詞" && sub == "接尾" && prev == "名詞"
                || pos == "動詞" && sub == "接尾" && after_inflecting
                || pos == "形容詞" && sub == "接尾" && after_inflecting);
        if surface.trim().is_empty() {
            prev_pos = Some("space".to_string());
            continue;
        }
        prev_pos = Some(pos.to_string());
        out.push(Morph { surface, kind, attach });
    }
    out
}

/// Without a dictionary: kana runs, ASCII runs and symbols; anything else is an error.
fn morphs_without_dictionary(text: &str) -> Result<Vec<Morph>, G2pError> {
    let mut out: Vec<Morph> = Vec::new();
    for c in text.chars() {
        let kind = if c.is_whitespace() {
            None
        } else if kana::is_kana(c) {
            Some(Kind::Kana(String::new()))
        } else if c.is_ascii_alphanumeric() {
            Some(Kind::Ascii)
        } else if is_symbol(c) {
            Some(Kind::Symbol)
        } else {
            // Kanji and other letters need the dictionary.
            return Err(tokenizer().err().unwrap_or_else(|| G2pError::Backend("dictionary unavailable".into())));
        };
        match (kind, out.last_mut()) {
            (None, _) => out.push(Morph { surface: " ".into(), kind: Kind::Drop, attach: false }),
            (Some(k), Some(last))
                if std::mem::discriminant(&k) == std::mem::discriminant(&last.kind) && k != Kind::Symbol =>
            {
                last.surface.push(c)
            }
            (Some(k), _) => out.push(Morph { surface: c.to_string(), kind: k, attach: false }),
        }
    }
    for m in out.iter_mut() {
        if m.kind == Kind::Kana(String::new()) {
            m.kind = Kind::Kana(m.surface.clone());
        }
    }
    out.retain(|m| m.surface != " ");
    Ok(out)
}

fn needs_dictionary(text: &str) -> bool {
    text.chars().any(|c| c.is_alphabetic() && !kana::is_kana(c) && !c.is_ascii())
}

impl G2p for JaG2p {
    fn language(&self) -> Language {
        Language::Ja
    }

    fn phonemize(&self, text: &str) -> Result<Vec<Token>, G2pError> {
        let text = normalize(text);
        let morphs = match tokenizer() {
            Ok(t) => morphs_with_dictionary(&text, t),
            Err(e) => {
                if needs_dictionary(&text) {
                    return Err(e);
                }
                morphs_without_dictionary(&text)?
            }
        };
        // Group morphemes into words.
        let mut words: Vec<(String, String, Kind)> = Vec::new(); // (graphemes, kana, kind)
        for m in morphs {
            if let Kind::Kana(k) = &m.kind
                && m.attach
                && let Some(last) = words.last_mut()
                && matches!(last.2, Kind::Kana(_))
            {
                last.0.push_str(&m.surface);
                last.1.push_str(k);
                continue;
            }
            let kana = if let Kind::Kana(k) = &m.kind { k.clone() } else { String::new() };
            words.push((m.surface, kana, m.kind));
        }
        let mut tokens: Vec<Token> = Vec::new();
        for (graphemes, kana_text, kind) in words {
            match kind {
                Kind::Kana(_) => tokens.push(Token {
                    graphemes,
                    phonemes: filter_vocab(&kana::kana_to_phonemes(&kana_text)),
                    whitespace: " ".into(),
                    is_punctuation: false,
                }),
                Kind::Ascii => tokens.push(Token {
                    phonemes: filter_vocab(&graphemes),
                    graphemes,
                    whitespace: " ".into(),
                    is_punctuation: false,
                }),
                Kind::Drop => {}
                Kind::Symbol => {
                    for c in graphemes.chars() {
                        let p = map_symbol(c);
                        if p == " " {
                            if let Some(last) = tokens.last_mut() {
                                last.whitespace = " ".into();
                            }
                            continue;
                        }
                        if p.is_empty() {
                            continue;
                        }
                        let opening = p == "“" || p == "(";
                        if !opening && let Some(last) = tokens.last_mut() {
                            last.whitespace.clear();
                        }
                        if opening && let Some(last) = tokens.last_mut() {
                            last.whitespace = " ".into();
                        }
                        tokens.push(Token {
                            graphemes: c.to_string(),
                            phonemes: p.to_string(),
                            whitespace: if opening { String::new() } else { " ".into() },
                            is_punctuation: true,
                        });
                    }
                }
            }
        }
        tokens.retain(|t| !t.phonemes.is_empty());
        // The small tsu binds across a space: no space before a word starting with ʔ (unless after punctuation)
        // and none after a word ending with ʔ (unless an opening quote follows).
        for i in 0..tokens.len().saturating_sub(1) {
            let next_starts = tokens[i + 1].phonemes.starts_with('ʔ');
            let ends = tokens[i].phonemes.ends_with('ʔ');
            let next_open = tokens[i + 1].phonemes.starts_with(['“', '"', '(']);
            if next_starts && !tokens[i].is_punctuation || ends && !next_open {
                tokens[i].whitespace.clear();
            }
        }
        if let Some(last) = tokens.last_mut() {
            last.whitespace.clear();
        }
        Ok(tokens)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kana_only_without_needing_kanji() {
        let g = JaG2p::new();
        let p = g.phonemize_str("ちょっと まって").unwrap();
        assert!(p.contains("ʨoʔto"), "{p}");
    }

    #[test]
    fn numbers_read_in_kana() {
        assert!(normalize("100円").contains("ひゃく"));
    }
}
