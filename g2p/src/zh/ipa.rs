//! Pinyin syllable → Kokoro symbols, following the transcription the reference front end uses for Kokoro-82M v1.0
//! (misaki `ZHG2P` without a version: pinyin-to-IPA tables, first variant, tone letters turned into arrows
//! `˥`→`→`, `˧˥`→`↗`, `˧˩˧`→`↓`, `˥˩`→`↘`, neutral tone unmarked, syllabic `ɻ̩`/`ɹ̩` → `ɨ`, non-syllabic marks
//! removed). The tone arrow follows the syllable's nucleus, before a coda nasal: `tian1` → `tʰjɛ→n`.

/// Splits a pinyin syllable with a trailing tone digit (`zhong1`, `men5`, `lü4`; `v` accepted for `ü`) into the
/// toneless syllable and the tone 1-5.
pub fn split_tone(py: &str) -> (String, u8) {
    let py = py.replace('v', "ü");
    match py.chars().last().and_then(|c| c.to_digit(10)) {
        Some(t @ 1..=5) => (py[..py.len() - 1].to_string(), t as u8),
        _ => (py, 5),
    }
}

fn tone_arrow(t: u8) -> &'static str {
    match t {
        1 => "→",
        2 => "↗",
        3 => "↓",
        4 => "↘",
        _ => "",
    }
}

/// Initials in strict pinyin (y and w are part of the final).
const INITIALS: [(&str, &str); 21] = [
    ("zh", "ꭧ"),
    ("ch", "ꭧʰ"),
    ("sh", "ʂ"),
    ("b", "p"),
    ("c", "ʦʰ"),
    ("d", "t"),
    ("f", "f"),
    ("g", "k"),
    ("h", "x"),
    ("j", "ʨ"),
    ("k", "kʰ"),
    ("l", "l"),
    ("m", "m"),
    ("n", "n"),
    ("p", "pʰ"),
    ("q", "ʨʰ"),
    ("r", "ɻ"),
    ("s", "s"),
    ("t", "tʰ"),
    ("x", "ɕ"),
    ("z", "ʦ"),
];

/// A final as (onset glide, nucleus, coda); the tone goes after the nucleus.
fn final_parts(f: &str) -> Option<(&'static str, &'static str, &'static str)> {
    Some(match f {
        "a" => ("", "a", ""),
        "ai" => ("", "ai", ""),
        "an" => ("", "a", "n"),
        "ang" => ("", "a", "ŋ"),
        "ao" => ("", "au", ""),
        "e" => ("", "ɤ", ""),
        "ei" => ("", "ei", ""),
        "en" => ("", "ə", "n"),
        "eng" => ("", "ə", "ŋ"),
        "i" => ("", "i", ""),
        "ia" => ("j", "a", ""),
        "ian" => ("j", "ɛ", "n"),
        "iang" => ("j", "a", "ŋ"),
        "iao" => ("j", "au", ""),
        "ie" => ("j", "e", ""),
        "in" => ("", "i", "n"),
        "iou" => ("j", "ou", ""),
        "ing" => ("", "i", "ŋ"),
        "iong" => ("j", "ʊ", "ŋ"),
        "ong" => ("", "ʊ", "ŋ"),
        "ou" => ("", "ou", ""),
        "u" => ("", "u", ""),
        "uei" => ("w", "ei", ""),
        "ua" => ("w", "a", ""),
        "uai" => ("w", "ai", ""),
        "uan" => ("w", "a", "n"),
        "uen" => ("w", "ə", "n"),
        "uang" => ("w", "a", "ŋ"),
        "ueng" => ("w", "ə", "ŋ"),
        "uo" | "o" => ("w", "o", ""),
        "ü" => ("", "y", ""),
        "üe" => ("ɥ", "e", ""),
        "üan" => ("ɥ", "ɛ", "n"),
        "ün" => ("", "y", "n"),
        _ => return None,
    })
}

/// Turns a written final into the strict final: restores the vowels that pinyin spelling drops or changes
/// (`yi`→`i`, `wu`→`u`, `yu`→`ü`, `ju`→`jü`, `iu`→`iou`, `ui`→`uei`, `un`→`uen`/`ün`).
fn strict_final(initial: &str, rest: &str) -> String {
    let jqxy = matches!(initial, "j" | "q" | "x" | "y");
    if initial == "y" {
        return match rest {
            "i" | "in" | "ing" => rest.to_string(),
            "u" | "ue" | "uan" | "un" => format!("ü{}", &rest[1..]),
            "ü" | "üe" | "üan" | "ün" => rest.to_string(),
            "ou" => "iou".to_string(),
            r => format!("i{r}"),
        };
    }
    if initial == "w" {
        return match rest {
            "u" => "u".to_string(),
            "ei" => "uei".to_string(),
            "en" => "uen".to_string(),
            "eng" => "ueng".to_string(),
            r => format!("u{r}"),
        };
    }
    if jqxy && rest.starts_with('u') {
        return format!("ü{}", &rest[1..]);
    }
    match rest {
        "iu" => "iou".to_string(),
        "ui" => "uei".to_string(),
        "un" => "uen".to_string(),
        r => r.to_string(),
    }
}

/// One pinyin syllable with tone digit → Kokoro symbols; `None` when it is not valid pinyin.
pub fn syllable_to_ipa(py: &str) -> Option<String> {
    let (syl, tone) = split_tone(&py.to_lowercase());
    let t = tone_arrow(tone);
    // Interjections and syllabic consonants.
    match syl.as_str() {
        "io" => return Some(format!("jɔ{t}")),
        "ê" => return Some(format!("ɛ{t}")),
        "er" => return Some(format!("ɚ{t}")),
        "o" => return Some(format!("ɔ{t}")),
        "hm" => return Some(format!("hm{t}")),
        "hng" => return Some(format!("hŋ{t}")),
        "m" => return Some(format!("m{t}")),
        "n" => return Some(format!("n{t}")),
        "ng" => return Some(format!("ŋ{t}")),
        _ => {}
    }
    let (initial, ipa_initial, rest) = if let Some(r) = syl.strip_prefix('y') {
        ("y", "", r)
    } else if let Some(r) = syl.strip_prefix('w') {
        ("w", "", r)
    } else if let Some((p, ipa)) = INITIALS.iter().find(|(p, _)| syl.starts_with(p)) {
        (*p, *ipa, &syl[p.len()..])
    } else {
        ("", "", syl.as_str())
    };
    if rest.is_empty() {
        return None;
    }
    // Apical vowels: zhi chi shi ri, zi ci si.
    if rest == "i" && matches!(initial, "zh" | "ch" | "sh" | "r" | "z" | "c" | "s") {
        return Some(format!("{ipa_initial}ɨ{t}"));
    }
    let fin = strict_final(initial, rest);
    let (glide, nucleus, coda) = final_parts(&fin)?;
    Some(format!("{ipa_initial}{glide}{nucleus}{t}{coda}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syllables() {
        let cases = [
            ("ni3", "ni↓"),
            ("hao3", "xau↓"),
            ("shi4", "ʂɨ↘"),
            ("jie4", "ʨje↘"),
            ("men5", "mən"),
            ("jin1", "ʨi→n"),
            ("tian1", "tʰjɛ→n"),
            ("qu4", "ʨʰy↘"),
            ("bei3", "pei↓"),
            ("jing1", "ʨi→ŋ"),
            ("yi4", "i↘"),
            ("bai3", "pai↓"),
            ("er4", "ɚ↘"),
            ("san1", "sa→n"),
            ("ge4", "kɤ↘"),
            ("ping2", "pʰi↗ŋ"),
            ("guo3", "kwo↓"),
            ("hang2", "xa↗ŋ"),
            ("zhang3", "ꭧa↓ŋ"),
            ("zi5", "ʦɨ"),
            ("ri4", "ɻɨ↘"),
            ("ben3", "pə↓n"),
            ("shuo1", "ʂwo→"),
            ("zhi1", "ꭧɨ→"),
            ("dao4", "tau↘"),
            ("you3", "jou↓"),
            ("wo3", "wo↓"),
            ("yue4", "ɥe↘"),
            ("xue2", "ɕɥe↗"),
            ("lü4", "ly↘"),
            ("lv4", "ly↘"),
            ("gui4", "kwei↘"),
            ("liu2", "ljou↗"),
            ("lun4", "lwə↘n"),
            ("jun1", "ʨy→n"),
            ("yuan2", "ɥɛ↗n"),
            ("xiong2", "ɕjʊ↗ŋ"),
            ("wu3", "u↓"),
            ("yu2", "y↗"),
            ("weng1", "wə→ŋ"),
            ("bo2", "pwo↗"),
        ];
        for (py, want) in cases {
            assert_eq!(syllable_to_ipa(py).as_deref(), Some(want), "{py}");
        }
        assert_eq!(syllable_to_ipa("xyz1"), None);
    }
}
