//! Ordinals and Roman numerals espeak-ng misreads: French `2e`, `1re`, `XIXe siècle`, `Louis XIV`, `François Ier`;
//! Spanish `1er`, `3er`; the dotted ordinal indicator `1.º`, `2.ª`.
//!
//! espeak reads French ordinals written with `ème` (`2ème` → *deuxième*, `21ème` → *vingt et unième*) and `1er`,
//! `1ère`, but not the short forms the typographic rules prefer (`2e` → *deux e*, `1re` → *un re*), nor Roman
//! numerals (`XIXe` → *gzix*, `Louis XIV` → *Louis quatorze romain*). These become the forms it reads.

use crate::Language;
use crate::en::normalize::roman_value;

/// The reading of `w` if it is an ordinal or a Roman numeral to rewrite; `prev` is the word before it (a regnal
/// number follows a capitalised name: `Louis XIV`).
pub(super) fn ordinal(lang: Language, w: &str, prev: Option<&str>) -> Option<String> {
    // `1.º`, `2.ª` (the Spanish Academy's spelling) as espeak reads `1º`, `2ª`.
    if let Some((n, ind)) = w.split_once('.')
        && !n.is_empty()
        && n.bytes().all(|c| c.is_ascii_digit())
        && matches!(ind, "º" | "ª" | "os" | "as")
    {
        return Some(format!("{n}{}", ind.replace("os", "º").replace("as", "ª")));
    }
    match lang {
        Language::Es => match w {
            "1er" => Some("primer".into()),
            "3er" => Some("tercer".into()),
            _ => None,
        },
        Language::Fr => french(w, prev),
        _ => None,
    }
}

fn french(w: &str, prev: Option<&str>) -> Option<String> {
    let digits = w.bytes().take_while(u8::is_ascii_digit).count();
    let (number, suffix) = if digits > 0 {
        (w[..digits].parse::<u32>().ok()?, &w[digits..])
    } else {
        let letters = w.bytes().take_while(|c| b"IVXLCDM".contains(c)).count();
        // One letter before a suffix only for I, V, X: `Le`, `Ce`, `De`, `Me` are words.
        if letters == 1 && !b"IVX".contains(&w.as_bytes()[0]) {
            return None;
        }
        (roman_value(&w[..letters])?, &w[letters..])
    };
    let roman_written = digits == 0;
    match suffix {
        "er" | "ᵉʳ" if number == 1 => Some("premier".into()),
        "re" | "ère" | "ʳᵉ" if number == 1 => Some("première".into()),
        "e" | "è" | "ème" | "eme" | "ᵉ" if number > 1 => Some(format!("{number}ème")),
        "es" | "èmes" | "emes" if number > 1 => Some(format!("{number}èmes")),
        // A regnal number after a name: `Louis XIV`; two letters or more of I, V, X only (`Malcolm X` keeps its
        // letter, `Le MIX` its word).
        "" if roman_written
            && w.len() >= 2
            && w.bytes().all(|c| b"IVX".contains(&c))
            && prev.is_some_and(|p| p.chars().next().is_some_and(char::is_uppercase)) =>
        {
            Some(number.to_string())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roman_numerals_in_their_canonical_form() {
        // The English normaliser's parser, shared: the French readings rely on its canonical-form check.
        for (s, v) in [("I", 1), ("IV", 4), ("XIV", 14), ("XIX", 19), ("XXI", 21), ("MCMXC", 1990), ("MMXXIV", 2024)] {
            assert_eq!(roman_value(s), Some(v), "{s}");
        }
        for s in ["", "IIII", "IXX", "VV", "IC", "ABC", "MMMM"] {
            assert_eq!(roman_value(s), None, "{s}");
        }
    }
}
