//! Backend registry for the non-English languages, default voices, and Kokoro's symbol vocabulary.

use crate::{G2p, G2pError, Language};

/// Kokoro-82M v1.0's 114 phoneme symbols (the keys of `config.json` `vocab`), in id order; the space is one of them.
pub const KOKORO_VOCAB: &str = ";:,.!?—…\"()“” \u{303}ʣʥʦʨᵝꭧAIOQSTWYᵊabcdefhijklmnopqrstuvwxyzɑɐɒæβɔɕçɖðʤəɚɛɜɟɡɥɨɪʝɯɰŋɳɲɴøɸθœɹɾɻʁɽʂʃʈʧʊʋʌɣɤχʎʒʔˈˌːʰʲ↓→↗↘ᵻ";

/// True when `c` is one of Kokoro's symbols.
pub fn in_vocab(c: char) -> bool {
    KOKORO_VOCAB.contains(c)
}

/// Drops every character outside Kokoro's vocabulary (as `KModel` does silently), so that counts stay honest.
pub fn filter_vocab(s: &str) -> String {
    s.chars().filter(|c| in_vocab(*c)).collect()
}

/// The reference's default voice for each language.
pub fn default_voice(lang: Language) -> &'static str {
    match lang {
        Language::EnUs => "af_heart",
        Language::EnGb => "bf_emma",
        Language::Es => "ef_dora",
        Language::Fr => "ff_siwis",
        Language::Hi => "hf_alpha",
        Language::It => "if_sara",
        Language::Ja => "jf_alpha",
        Language::PtBr => "pf_dora",
        Language::Zh => "zf_xiaobei",
    }
}

/// A G2P backend for a non-English language.
///
/// * es, fr, it, pt-br, hi → [`crate::espeak::EspeakG2p`] (needs the `espeak` feature, else
///   [`G2pError::FeatureMissing`]);
/// * zh → [`crate::zh::ZhG2p`] (jieba + pinyin, embedded data);
/// * ja → [`crate::ja::JaG2p`] (kana rules; kanji need the MeCab IPADIC sources at run time).
///
/// * en-us, en-gb → [`crate::en::EnglishG2p`] (misaki's lexicons, embedded).
pub fn g2p_for(lang: Language) -> Result<Box<dyn G2p>, G2pError> {
    match lang {
        Language::EnUs | Language::EnGb => Ok(Box::new(crate::en::EnglishG2p::new(lang == Language::EnGb))),
        Language::Es | Language::Fr | Language::It | Language::PtBr | Language::Hi => {
            Ok(Box::new(crate::espeak::EspeakG2p::new(lang)?))
        }
        Language::Zh => Ok(Box::new(crate::zh::ZhG2p::new())),
        Language::Ja => Ok(Box::new(crate::ja::JaG2p::new())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocab_has_114_symbols() {
        assert_eq!(KOKORO_VOCAB.chars().count(), 114);
        assert!(in_vocab(' ') && in_vocab('ɕ') && in_vocab('↘') && !in_vocab('g'));
    }

    #[test]
    fn voices_match_language_prefix() {
        for l in Language::ALL {
            assert!(default_voice(l).starts_with(l.voice_prefix()));
        }
    }
}
