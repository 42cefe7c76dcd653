//! Kana → Kokoro symbols, with the conventions of the reference Japanese front end for Kokoro-82M v1.0 (misaki
//! `JAG2P()`, its cutlet-style romaniser): `う`→`ɯ`, `す`→`sɨ`, `つ`→`ʦɨ`, `し`→`ɕi`, `ち`→`ʨi`, `ふ`→`ɸɯ`,
//! `ら`→`ɾa`, `わ`→`βa`, palatalised `kʲ ɡʲ bʲ pʲ mʲ ɾʲ` before `i`, `ʔ` for the small tsu, `ː` for the long-vowel
//! mark, and the moraic nasal by what follows (`m ŋ ɲ n ɴ`).

/// The symbols for one hiragana (or a hiragana digraph written as two characters).
fn table(s: &str) -> Option<&'static str> {
    Some(match s {
        "あ" | "ぁ" => "a",
        "い" | "ぃ" | "ゐ" => "i",
        "う" | "ぅ" => "ɯ",
        "え" | "ぇ" | "ゑ" => "e",
        "お" | "ぉ" | "を" => "o",
        "か" | "ゕ" => "ka",
        "き" => "kʲi",
        "く" => "kɯ",
        "け" | "ゖ" => "ke",
        "こ" => "ko",
        "が" => "ɡa",
        "ぎ" => "ɡʲi",
        "ぐ" => "ɡɯ",
        "げ" => "ɡe",
        "ご" => "ɡo",
        "さ" => "sa",
        "し" => "ɕi",
        "す" => "sɨ",
        "せ" => "se",
        "そ" => "so",
        "ざ" => "ʣa",
        "じ" | "ぢ" => "ʥi",
        "ず" | "づ" => "zɨ",
        "ぜ" => "ʣe",
        "ぞ" => "ʣo",
        "た" => "ta",
        "ち" => "ʨi",
        "つ" => "ʦɨ",
        "て" => "te",
        "と" => "to",
        "だ" => "da",
        "で" => "de",
        "ど" => "do",
        "な" => "na",
        "に" => "ɲi",
        "ぬ" => "nɯ",
        "ね" => "ne",
        "の" => "no",
        "は" => "ha",
        "ひ" => "çi",
        "ふ" => "ɸɯ",
        "へ" => "he",
        "ほ" => "ho",
        "ば" => "ba",
        "び" => "bʲi",
        "ぶ" => "bɯ",
        "べ" => "be",
        "ぼ" => "bo",
        "ぱ" => "pa",
        "ぴ" => "pʲi",
        "ぷ" => "pɯ",
        "ぺ" => "pe",
        "ぽ" => "po",
        "ま" => "ma",
        "み" => "mʲi",
        "む" => "mɯ",
        "め" => "me",
        "も" => "mo",
        "や" | "ゃ" => "ja",
        "ゆ" | "ゅ" => "jɯ",
        "よ" | "ょ" => "jo",
        "ら" => "ɾa",
        "り" => "ɾʲi",
        "る" => "ɾɯ",
        "れ" => "ɾe",
        "ろ" => "ɾo",
        "わ" | "ゎ" => "βa",
        "ゔ" => "vɯ",
        "ヷ" => "va",
        "ヸ" => "vʲi",
        "ヹ" => "ve",
        "ヺ" => "vo",
        // Digraphs.
        "いぇ" => "je",
        "うぃ" => "βi",
        "うぇ" => "βe",
        "うぉ" => "βo",
        "きぇ" => "kʲe",
        "きゃ" => "kʲa",
        "きゅ" => "kʲɨ",
        "きょ" => "kʲo",
        "ぎゃ" => "ɡʲa",
        "ぎゅ" => "ɡʲɨ",
        "ぎょ" => "ɡʲo",
        "くぁ" => "kᵝa",
        "くぃ" => "kᵝi",
        "くぇ" => "kᵝe",
        "くぉ" => "kᵝo",
        "ぐぁ" => "ɡᵝa",
        "ぐぃ" => "ɡᵝi",
        "ぐぇ" => "ɡᵝe",
        "ぐぉ" => "ɡᵝo",
        "しぇ" => "ɕe",
        "しゃ" => "ɕa",
        "しゅ" => "ɕɨ",
        "しょ" => "ɕo",
        "じぇ" => "ʥe",
        "じゃ" | "ぢゃ" => "ʥa",
        "じゅ" | "ぢゅ" => "ʥɨ",
        "じょ" | "ぢょ" => "ʥo",
        "ちぇ" => "ʨe",
        "ちゃ" => "ʨa",
        "ちゅ" => "ʨɨ",
        "ちょ" => "ʨo",
        "つぁ" => "ʦa",
        "つぃ" => "ʦʲi",
        "つぇ" => "ʦe",
        "つぉ" => "ʦo",
        "てぃ" => "tʲi",
        "てゅ" => "tʲɨ",
        "でぃ" => "dʲi",
        "でゅ" => "dʲɨ",
        "とぅ" => "tɯ",
        "どぅ" => "dɯ",
        "にぇ" => "ɲe",
        "にゃ" => "ɲa",
        "にゅ" => "ɲɨ",
        "にょ" => "ɲo",
        "ひぇ" => "çe",
        "ひゃ" => "ça",
        "ひゅ" => "çɨ",
        "ひょ" => "ço",
        "びゃ" => "bʲa",
        "びゅ" | "ゔゅ" => "bʲɨ",
        "びょ" | "ゔょ" => "bʲo",
        "ぴゃ" => "pʲa",
        "ぴゅ" => "pʲɨ",
        "ぴょ" => "pʲo",
        "ふぁ" => "ɸa",
        "ふぃ" => "ɸʲi",
        "ふぇ" => "ɸe",
        "ふぉ" => "ɸo",
        "ふゅ" => "ɸʲɨ",
        "ふょ" => "ɸʲo",
        "みゃ" => "mʲa",
        "みゅ" => "mʲɨ",
        "みょ" => "mʲo",
        "りゃ" => "ɾʲa",
        "りゅ" => "ɾʲɨ",
        "りょ" => "ɾʲo",
        "ゔぁ" => "va",
        "ゔぃ" => "vʲi",
        "ゔぇ" => "ve",
        "ゔぉ" => "vo",
        _ => return None,
    })
}

fn is_sutegana(c: char) -> bool {
    "ゃゅょぁぃぅぇぉ".contains(c)
}

/// Katakana → hiragana (the long-vowel mark and the voiced/iteration marks stay).
pub fn kata_to_hira(s: &str) -> String {
    s.chars()
        .map(|c| match c as u32 {
            0x30A1..=0x30F6 => char::from_u32(c as u32 - 0x60).unwrap_or(c),
            0x30FD => 'ゝ',
            0x30FE => 'ゞ',
            _ => c,
        })
        .collect()
}

fn single(c: char) -> Option<&'static str> {
    table(c.encode_utf8(&mut [0; 4]))
}

fn pair(a: char, b: char) -> Option<&'static str> {
    let mut s = String::with_capacity(8);
    s.push(a);
    s.push(b);
    table(&s)
}

fn add_dakuten(c: char) -> Option<char> {
    let plain = "かきくけこさしすせそたちつてとはひふへほ";
    let voiced = "がぎぐげござじずぜぞだぢづでどばびぶべぼ";
    plain.chars().position(|p| p == c).and_then(|i| voiced.chars().nth(i))
}

/// One kana with its neighbours in the word → symbols.
fn mapping(prev: Option<char>, c: char, next: Option<char>) -> String {
    match c {
        'ゝ' => return prev.and_then(single).unwrap_or("").to_string(),
        'ゞ' => {
            return prev.and_then(add_dakuten).and_then(single).unwrap_or("").to_string();
        }
        '々' | '〃' => return String::new(),
        _ => {}
    }
    if let Some(p) = prev
        && let Some(m) = pair(p, c)
    {
        return m.to_string();
    }
    if let Some(n) = next
        && pair(c, n).is_some()
    {
        return String::new();
    }
    if let Some(n) = next
        && is_sutegana(n)
    {
        if c == 'っ' {
            return String::new();
        }
        if let (Some(base), Some(small)) = (single(c), single(n)) {
            let mut b: Vec<char> = base.chars().collect();
            b.pop();
            return b.into_iter().collect::<String>() + small;
        }
    }
    if is_sutegana(c) {
        return String::new();
    }
    match c {
        'ー' => "ː".to_string(),
        'っ' => "ʔ".to_string(),
        'ん' => {
            let n = next.and_then(single).unwrap_or("");
            let f = n.chars().next();
            if matches!(f, Some('m' | 'p' | 'b')) {
                "m"
            } else if matches!(f, Some('k' | 'ɡ')) {
                "ŋ"
            } else if matches!(f, Some('ɲ' | 'ʨ' | 'ʥ')) {
                "ɲ"
            } else if matches!(f, Some('n' | 't' | 'd' | 'ɾ' | 'z')) {
                "n"
            } else {
                "ɴ"
            }
            .to_string()
        }
        c => single(c).unwrap_or("").to_string(),
    }
}

/// Reads one word written in kana (hiragana or katakana) into Kokoro symbols.
pub fn kana_to_phonemes(word: &str) -> String {
    let hira: Vec<char> = kata_to_hira(word).chars().collect();
    let mut out = String::new();
    for (i, &c) in hira.iter().enumerate() {
        let prev = if i > 0 { Some(hira[i - 1]) } else { None };
        let next = hira.get(i + 1).copied();
        out.push_str(&mapping(prev, c, next));
    }
    out
}

/// True for hiragana, katakana and the long-vowel mark.
pub fn is_kana(c: char) -> bool {
    matches!(c as u32, 0x3041..=0x3096 | 0x309D..=0x309F | 0x30A1..=0x30FA | 0x30FC..=0x30FF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_kana() {
        assert_eq!(kana_to_phonemes("こんにちわ"), "koɲɲiʨiβa");
        assert_eq!(kana_to_phonemes("ほんとー"), "hontoː");
        assert_eq!(kana_to_phonemes("ちょっと"), "ʨoʔto");
        assert_eq!(kana_to_phonemes("キョー"), "kʲoː");
        assert_eq!(kana_to_phonemes("しんぶん"), "ɕimbɯɴ");
        assert_eq!(kana_to_phonemes("りんご"), "ɾʲiŋɡo");
        assert_eq!(kana_to_phonemes("ございます"), "ɡoʣaimasɨ");
        assert_eq!(kana_to_phonemes("ファン"), "ɸaɴ");
        assert_eq!(kana_to_phonemes("ティー"), "tʲiː");
        assert_eq!(kana_to_phonemes("ぎゅうにゅう"), "ɡʲɨɯɲɨɯ");
    }
}
