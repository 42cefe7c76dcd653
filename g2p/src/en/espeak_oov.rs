//! Unknown English words through espeak-ng, as misaki's `EspeakFallback` reads them (what Kokoro was trained on).
//!
//! misaki phonemizes the token's text with espeak-ng (`en-us` or `en-gb`, stress marks, `^` ties) and rewrites
//! espeak's IPA into Kokoro's symbols; [`map_english_ipa`] is that rewrite, step for step. Warble differs in one
//! place: espeak's language-switch flags (`(fr)`) are removed instead of being left in the phonemes.

use crate::espeak::{ipa_batch, remove_language_flags};
use crate::{G2pError, Language};
use std::collections::HashMap;
use std::sync::Mutex;

/// misaki's `E2M` table for English, longest keys first (the order misaki applies them in); `^` is the tie.
const E2M: [(&str, &str); 20] = [
    ("ʔˌn\u{329}", "ʔn"),
    ("ʔn\u{329}", "ʔn"),
    ("a^ɪ", "I"),
    ("a^ʊ", "W"),
    ("d^ʒ", "ʤ"),
    ("e^ɪ", "A"),
    ("t^ʃ", "ʧ"),
    ("ɔ^ɪ", "Y"),
    ("ə^l", "ᵊl"),
    ("ʲo", "jo"),
    ("ʲə", "jə"),
    ("e", "A"),
    ("ʲ", ""),
    ("ɚ", "əɹ"),
    ("r", "ɹ"),
    ("x", "k"),
    ("ç", "k"),
    ("ɐ", "ə"),
    ("ɬ", "l"),
    ("\u{303}", ""),
];

/// Rewrites espeak's IPA for one English word (ties as U+0361 or `^`) into Kokoro's symbols, as misaki does.
pub fn map_english_ipa(raw: &str, british: bool) -> String {
    let mut ps = remove_language_flags(raw).replace('\u{361}', "^");
    ps = ps.split_whitespace().collect::<Vec<_>>().join(" ");
    for (from, to) in E2M {
        ps = ps.replace(from, to);
    }
    // A syllabic consonant (`n̩`) becomes a schwa before it (`ᵊn`).
    let mut syl = String::with_capacity(ps.len() + 4);
    for c in ps.chars() {
        if c == '\u{329}' {
            if let Some(prev) = syl.pop() {
                if prev.is_whitespace() {
                    syl.push(prev);
                } else {
                    syl.push('ᵊ');
                    syl.push(prev);
                }
            }
        } else {
            syl.push(c);
        }
    }
    let mut ps = syl;
    if british {
        ps = ps.replace("e^ə", "ɛː").replace("iə", "ɪə").replace("ə^ʊ", "Q");
    } else {
        ps = ps.replace("o^ʊ", "O").replace("ɜːɹ", "ɜɹ").replace("ɜː", "ɜɹ").replace("ɪə", "iə").replace('ː', "");
    }
    // espeak before 1.52 writes `o` where later versions (and Kokoro's training data) have `ɔ`.
    ps.replace('o', "ɔ").replace('ɾ', "T").replace('ʔ', "t").replace('^', "")
}

/// At most this many words are remembered (then the memory starts over), so a long text cannot grow it.
const CACHE_LIMIT: usize = 8192;

/// espeak-ng as the reader of unknown English words, with a small cache (names recur in a text).
pub(crate) struct EspeakFallback {
    british: bool,
    cache: Mutex<HashMap<String, String>>,
}

impl EspeakFallback {
    pub(crate) fn new(british: bool) -> EspeakFallback {
        EspeakFallback { british, cache: Mutex::new(HashMap::new()) }
    }

    /// The word's phonemes, or the error espeak gave (the caller falls back to its own rules).
    pub(crate) fn read(&self, word: &str) -> Result<String, G2pError> {
        if let Some(ps) = self.cache.lock().unwrap_or_else(|e| e.into_inner()).get(word) {
            return Ok(ps.clone());
        }
        let (lang, voice) = if self.british { (Language::EnGb, "en-gb") } else { (Language::EnUs, "en-us") };
        let raw = ipa_batch(lang, voice, &[word])?.pop().unwrap_or_default();
        let ps = map_english_ipa(&raw, self.british);
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(word.to_string(), ps.clone());
        Ok(ps)
    }
}

#[cfg(test)]
mod tests {
    use super::map_english_ipa;

    #[test]
    fn maps_espeak_english_as_misaki_does() {
        // Diphthongs and affricates by their tie, the American long marks dropped, `ɾ` as Kokoro's flap `T`.
        assert_eq!(map_english_ipa("sˈi͡əbhən", false), "sˈiəbhən");
        assert_eq!(map_english_ipa("d͡ʒˈo͡ʊkwɪn", false), "ʤˈOkwɪn");
        assert_eq!(map_english_ipa("bˈɜːɾɚ", false), "bˈɜɹTəɹ");
        assert_eq!(map_english_ipa("bˈɜːɾɚ", true), "bˈɜːTəɹ");
        // British: `ə͡ʊ` is Kokoro's `Q`. misaki's `e͡ə` → `ɛː` never applies, because its table has already made
        // every `e` an `A`; Warble reads the same way.
        assert_eq!(map_english_ipa("ɡˈə͡ʊldən", true), "ɡˈQldən");
        assert_eq!(map_english_ipa("kˈe͡əɹ", true), "kˈAəɹ");
        assert_eq!(map_english_ipa("kæfˈe͡ɪ", false), "kæfˈA");
        // Syllabic consonants get a schwa; glottal stops become t; language flags go; leftover `o` is `ɔ`.
        assert_eq!(map_english_ipa("bˈʌʔn\u{329}", false), "bˈʌtn");
        assert_eq!(map_english_ipa("lˈɪʔl\u{329}", false), "lˈɪtᵊl");
        assert_eq!(map_english_ipa("(fr)ʃˈato(en)", false), "ʃˈatɔ");
    }
}
