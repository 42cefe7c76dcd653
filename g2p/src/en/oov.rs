//! Letter-to-sound rules for words no dictionary knows (misaki hands these to espeak-ng; Warble guesses in pure
//! Rust). The rules produce misaki's symbols and stress marks: spelling patterns to phonemes, a stressed
//! syllable chosen from common suffixes and prefixes, reduced vowels elsewhere.

use super::learnt::LearntG2p;
use super::words::{Ctx, Words};

#[derive(Clone, Copy, PartialEq)]
enum K {
    C,
    /// A vowel nucleus; `long` ones (diphthongs, tense vowels) are not reduced when unstressed.
    V {
        long: bool,
    },
}

struct Unit {
    ps: String,
    kind: K,
    /// For short vowels: the reduced form.
    weak: &'static str,
}

fn cons(ps: &str) -> Unit {
    Unit { ps: ps.to_string(), kind: K::C, weak: "" }
}

fn long(ps: &str) -> Unit {
    Unit { ps: ps.to_string(), kind: K::V { long: true }, weak: "" }
}

fn short(ps: &str, weak: &'static str) -> Unit {
    Unit { ps: ps.to_string(), kind: K::V { long: false }, weak }
}

fn is_v(c: u8) -> bool {
    b"aeiouy".contains(&c)
}

fn letters_to_units(w: &[u8]) -> Vec<Unit> {
    let n = w.len();
    let mut out: Vec<Unit> = Vec::new();
    let mut i = 0;
    let at = |k: usize| -> u8 { if k < n { w[k] } else { 0 } };
    let starts = |k: usize, s: &str| -> bool { w[k..].starts_with(s.as_bytes()) };
    while i < n {
        let c = w[i];
        let rest_len = n - i;
        // Word endings first.
        if rest_len == 4 && (starts(i, "tion") || starts(i, "sion"))
            || rest_len == 5 && (starts(i, "tions") || starts(i, "sions"))
        {
            out.push(cons(
                if c == b't' || at(i.wrapping_sub(1)) != b's' && c == b's' && !is_v(at(i.wrapping_sub(1))) {
                    "ʃ"
                } else {
                    "ʒ"
                },
            ));
            out.push(short("ə", "ə"));
            out.push(cons("n"));
            if rest_len == 5 {
                out.push(cons("z"));
            }
            break;
        }
        if rest_len == 4 && starts(i, "ture") {
            out.push(cons("ʧ"));
            out.push(short("əɹ", "əɹ"));
            break;
        }
        if rest_len == 3 && starts(i, "ous") {
            out.push(short("ə", "ə"));
            out.push(cons("s"));
            break;
        }
        if rest_len == 2 && c == b'l' && at(i + 1) == b'e' && i > 0 && !is_v(at(i - 1)) {
            out.push(short("ᵊl", "ᵊl"));
            break;
        }
        if rest_len == 3 && starts(i, "ing") && i > 1 {
            out.push(short("ɪ", "ɪ"));
            out.push(cons("ŋ"));
            break;
        }
        if rest_len == 2 && starts(i, "ed") && i > 2 {
            let p = at(i - 1);
            out.push(cons(if p == b't' || p == b'd' {
                "ᵻd"
            } else if b"pkfsxc".contains(&p) || starts(i - 2, "sh") || starts(i - 2, "ch") {
                "t"
            } else {
                "d"
            }));
            break;
        }
        if rest_len == 1 && c == b'e' && i > 0 && !out.is_empty() {
            // Silent final e lengthens the previous vowel across one consonant.
            let l = out.len();
            if l >= 2
                && out[l - 1].kind == K::C
                && let K::V { long: false } = out[l - 2].kind
            {
                let lengthened = match out[l - 2].ps.as_str() {
                    "æ" => Some("A"),
                    "ɛ" => Some("i"),
                    "ɪ" => Some("I"),
                    "ɑ" => Some("O"),
                    "ʌ" => Some("u"),
                    _ => None,
                };
                if let Some(p) = lengthened {
                    out[l - 2] = long(p);
                }
            }
            break;
        }
        if rest_len == 1 && c == b'i' && i > 0 {
            out.push(long("i"));
            break;
        }
        if rest_len == 1 && c == b'o' && i > 0 {
            out.push(long("O"));
            break;
        }
        if rest_len == 1 && c == b'a' && i > 0 {
            out.push(short("ə", "ə"));
            break;
        }
        if rest_len == 2 && starts(i, "os") && i > 1 {
            out.push(long("O"));
            out.push(cons("z"));
            break;
        }
        if rest_len == 2 && starts(i, "ez") && i > 1 {
            out.push(long("ɛ"));
            out.push(cons("z"));
            break;
        }
        if rest_len == 2
            && starts(i, "es")
            && i > 1
            && !b"sxzc".contains(&at(i - 1))
            && at(i - 1) != b'h'
            && !is_v(at(i - 1))
        {
            out.push(cons(if b"ptkf".contains(&at(i - 1)) { "s" } else { "z" }));
            break;
        }
        if rest_len == 1 && c == b'y' && i > 0 {
            out.push(long("i"));
            break;
        }
        if rest_len == 1 && c == b's' && i > 0 {
            let p = at(i - 1);
            out.push(cons(if b"ptkf".contains(&p) { "s" } else { "z" }));
            break;
        }
        let (u, adv): (Unit, usize) = if starts(i, "tch") {
            (cons("ʧ"), 3)
        } else if starts(i, "sch") {
            (cons("sk"), 3)
        } else if starts(i, "ch") {
            (cons("ʧ"), 2)
        } else if starts(i, "sh") {
            (cons("ʃ"), 2)
        } else if starts(i, "th") {
            (cons("θ"), 2)
        } else if starts(i, "ph") {
            (cons("f"), 2)
        } else if starts(i, "wh") {
            (cons("w"), 2)
        } else if starts(i, "ck") {
            (cons("k"), 2)
        } else if starts(i, "ng") {
            (cons("ŋ"), 2)
        } else if starts(i, "gh") {
            (cons(if i == 0 { "ɡ" } else { "" }), 2)
        } else if i > 0
            && (starts(i, "ci") || starts(i, "ti") || starts(i, "si"))
            && matches!(at(i + 2), b'a' | b'o' | b'u')
        {
            (cons("ʃ"), 2)
        } else if starts(i, "gu") && matches!(at(i + 2), b'e' | b'i') {
            (cons("ɡ"), 2)
        } else if starts(i, "qu") {
            (cons("kw"), 2)
        } else if starts(i, "dg") {
            (cons("ʤ"), 2)
        } else if i == 0 && (starts(i, "kn") || starts(i, "gn")) {
            (cons("n"), 2)
        } else if i == 0 && starts(i, "wr") {
            (cons("ɹ"), 2)
        } else if i == 0 && starts(i, "ps") {
            (cons("s"), 2)
        } else if starts(i, "ee") || starts(i, "ea") || starts(i, "ie") && i + 2 < n {
            (long("i"), 2)
        } else if starts(i, "oo") {
            (long("u"), 2)
        } else if starts(i, "ou") {
            (long("W"), 2)
        } else if starts(i, "ow") {
            (long(if i + 2 == n { "O" } else { "W" }), 2)
        } else if starts(i, "oi") || starts(i, "oy") {
            (long("Y"), 2)
        } else if starts(i, "ai") || starts(i, "ay") || starts(i, "ei") || starts(i, "ey") && i + 2 < n {
            (long("A"), 2)
        } else if starts(i, "ey") {
            (long("i"), 2)
        } else if starts(i, "au") || starts(i, "aw") {
            (long("ɔ"), 2)
        } else if starts(i, "oa") || starts(i, "oe") && i + 2 == n {
            (long("O"), 2)
        } else if starts(i, "ue") && i > 0 && i + 2 < n && !is_v(at(i + 2)) && is_v(at(i + 3)) {
            // Spanish ue before a consonant and vowel (Buenos, Fuentes): wA.
            out.push(cons("w"));
            (long("A"), 2)
        } else if i == 0 && starts(i, "dm") {
            out.push(cons("d"));
            out.push(short("ə", "ə"));
            (cons("m"), 2)
        } else if starts(i, "ue") || starts(i, "ui") || starts(i, "ew") {
            (long("u"), 2)
        } else if starts(i, "ie") {
            (long(if i + 2 == n { "i" } else { "I" }), 2)
        } else if starts(i, "ar") && !is_v(at(i + 2)) && at(i + 2) != b'r' {
            (long("ɑɹ"), 2)
        } else if starts(i, "or") && !is_v(at(i + 2)) && at(i + 2) != b'r' {
            (long("ɔɹ"), 2)
        } else if (starts(i, "er") || starts(i, "ir") || starts(i, "ur") || starts(i, "yr"))
            && !is_v(at(i + 2))
            && at(i + 2) != b'r'
        {
            (Unit { ps: "ɜɹ".into(), kind: K::V { long: false }, weak: "əɹ" }, 2)
        } else {
            let next = at(i + 1);
            let u = match c {
                b'a' => short("æ", "ə"),
                b'e' => short("ɛ", "ə"),
                b'i' => short("ɪ", "ɪ"),
                b'o' => short("ɑ", "ə"),
                b'u' => short("ʌ", "ə"),
                b'y' => {
                    if is_v(next) && (i == 0 || is_v(at(i.wrapping_sub(1)))) {
                        cons("j")
                    } else {
                        short("ɪ", "ɪ")
                    }
                }
                b'c' => cons(if matches!(next, b'e' | b'i' | b'y') { "s" } else { "k" }),
                b'g' => cons(if matches!(next, b'e' | b'i' | b'y') && i + 2 < n { "ʤ" } else { "ɡ" }),
                b'j' => cons("ʤ"),
                b'x' => cons(if i == 0 { "z" } else { "ks" }),
                b'q' => cons("k"),
                b's' => cons(if i > 0 && is_v(at(i - 1)) && is_v(next) { "z" } else { "s" }),
                b'r' => cons("ɹ"),
                b'n' if next == b'k' || (next == b'g' && i + 2 < n && !is_v(at(i + 2))) => cons("ŋ"),
                b'b' | b'd' | b'f' | b'h' | b'k' | b'l' | b'm' | b'n' | b'p' | b't' | b'v' | b'w' | b'z' => {
                    cons(std::str::from_utf8(&w[i..i + 1]).unwrap_or(""))
                }
                _ => cons(""),
            };
            // A doubled consonant is one sound.
            let adv = if next == c && !is_v(c) { 2 } else { 1 };
            // A vowel in a final closed syllable with x keeps its quality (-ex, -ax).
            let u = if is_v(c) && next == b'x' && i + 2 == n { long(&u.ps) } else { u };
            (u, adv)
        };
        out.push(u);
        i += adv;
    }
    // Magic e inside: V C e + end already handled; open syllable "a" before "tion": nation → A.
    out
}

fn stressed_vowel(w: &[u8], vowels: &[usize]) -> usize {
    let nv = vowels.len();
    if nv <= 1 {
        return 0;
    }
    let s = std::str::from_utf8(w).unwrap_or("");
    let penult = ["tion", "sion", "ic", "ical", "ity", "ial", "ian", "ious", "ual", "itis", "osis", "ular"];
    if ["eer", "ique", "ette", "oon", "ee"].iter().any(|e| s.ends_with(e)) {
        return nv - 1;
    }
    let antepenult = ["ology", "ography", "ometer", "ity", "ical", "ian"];
    if antepenult.iter().any(|e| s.ends_with(e)) && nv >= 3 {
        return nv - 3;
    }
    if penult.iter().any(|e| s.ends_with(e)) {
        return nv - 2;
    }
    let foreign_end = ["a", "i", "o", "os", "ez", "ka", "ski"];
    if nv >= 3 && foreign_end.iter().any(|e| s.ends_with(e)) && !s.ends_with("oo") {
        return nv - 2;
    }
    let prefixes = ["un", "re", "de", "be", "dis", "mis", "pre", "con", "com", "ex", "in", "im", "a"];
    if prefixes.iter().any(|p| s.starts_with(p) && s.len() > p.len() + 3) && nv >= 2 && !s.starts_with("in") {
        return 1;
    }
    0
}

/// Latin letters with diacritics read as their base letter.
fn fold(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => 'a',
        'ç' | 'ć' | 'č' => 'c',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ę' | 'ě' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'ī' => 'i',
        'ñ' | 'ń' | 'ň' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => 'o',
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' => 'u',
        'ý' | 'ÿ' => 'y',
        'ś' | 'š' | 'ş' => 's',
        'ź' | 'ż' | 'ž' => 'z',
        'ł' => 'l',
        'ř' => 'r',
        'ď' => 'd',
        'ť' => 't',
        'ß' => 's',
        c => c,
    }
}

pub(super) fn letters(word: &str, british: bool) -> String {
    let lower: String = word.to_lowercase().chars().map(fold).collect();
    let w: Vec<u8> = lower.bytes().filter(|b| b.is_ascii_lowercase()).collect();
    if w.is_empty() {
        return String::new();
    }
    let units = letters_to_units(&w);
    let vowels: Vec<usize> =
        units.iter().enumerate().filter(|(_, u)| matches!(u.kind, K::V { .. })).map(|(i, _)| i).collect();
    let sv = stressed_vowel(&w, &vowels);
    let foreign = vowels.len() >= 3
        && ["a", "i", "o", "os", "ez", "ka", "ski"].iter().any(|e| lower.ends_with(e))
        && !lower.ends_with("oo");
    let mut out = String::new();
    for (i, u) in units.iter().enumerate() {
        match u.kind {
            K::C => out.push_str(&u.ps),
            K::V { long } => {
                let vi = vowels.iter().position(|&x| x == i).unwrap_or(0);
                if vi == sv {
                    out.push('ˈ');
                    let open = units.get(i + 1).is_some_and(|n| n.kind == K::C && n.ps.chars().count() == 1)
                        && units.get(i + 2).is_some_and(|n| matches!(n.kind, K::V { .. }));
                    let ps = match u.ps.as_str() {
                        "æ" if foreign && open => {
                            if british {
                                "ɑː"
                            } else {
                                "ɑ"
                            }
                        }
                        "ɪ" if foreign && open && !units.get(i + 1).is_some_and(|n| n.ps == "ʃ" || n.ps == "ʒ") => {
                            "i"
                        }
                        p => p,
                    };
                    out.push_str(ps);
                } else if long {
                    // A long vowel two or more syllables after the stress keeps a secondary stress.
                    if vi >= sv + 2 && u.ps != "i" {
                        out.push('ˌ');
                    }
                    out.push_str(&u.ps);
                } else if vi == 0 && sv >= 2 {
                    // Pretonic secondary stress two or more syllables before the primary (Castellanos).
                    out.push('ˌ');
                    out.push_str(&u.ps);
                } else if i == 0 && u.ps == "ɑ" {
                    // A word-initial unstressed o keeps its quality (Okonkwo, Olumide).
                    out.push_str(&u.ps);
                } else if u.ps == "ɛ" && vi + 1 < vowels.len() {
                    // Unstressed e before another syllable is ɪ, in the final syllable ə.
                    out.push('ɪ');
                } else {
                    out.push_str(u.weak);
                }
            }
        }
    }
    if british { to_british(&out) } else { out }
}

fn to_british(us: &str) -> String {
    const V: &str = "AIOQWYaiuæɑɒɔəɛɜɪʊʌᵻ";
    let cs: Vec<char> = us.chars().collect();
    let mut out = String::new();
    for (i, &c) in cs.iter().enumerate() {
        let next = cs[i + 1..].iter().copied().find(|&x| x != 'ˈ' && x != 'ˌ');
        let before_vowel = next.is_some_and(|x| V.contains(x));
        match c {
            'ɹ' if !before_vowel => {
                // Non-prevocalic r: lengthens or centres the vowel before it.
                match out.chars().last() {
                    Some('ɑ') | Some('ɔ') | Some('ɜ') => out.push('ː'),
                    Some('ɪ') | Some('ɛ') | Some('ʊ') => out.push('ə'),
                    _ => {}
                }
            }
            'O' => out.push('Q'),
            'æ' => out.push('a'),
            'ɑ' if cs.get(i + 1) != Some(&'ɹ') && cs.get(i + 1) != Some(&'ː') => out.push('ɒ'),
            'i' if i + 1 < cs.len() => out.push_str("iː"),
            'u' => out.push_str("uː"),
            'T' => out.push('t'),
            c => out.push(c),
        }
    }
    out
}

/// A pronunciation for a word no dictionary has (or a run of letters, digits and marks). Runs of letters that no
/// dictionary knows whole, as an inflection or as a compound, are read by `learnt` where given and able, else by
/// the letter-to-sound rules.
pub fn guess(words: &Words, text: &str, british: bool, learnt: Option<&LearntG2p>) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut glue_next = false;
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c.is_alphabetic() {
            while i < chars.len()
                && (chars[i].is_alphabetic() || chars[i] == '\'' && i + 1 < chars.len() && chars[i + 1].is_alphabetic())
            {
                i += 1;
            }
            let run: String = chars[start..i].iter().collect();
            let ctx = Ctx::default();
            let known =
                words.get_word(&run, "NN", None, ctx).or_else(|| words.get_word(&run.to_lowercase(), "NN", None, ctx));
            let ascii_letters = run.chars().filter(|c| c.is_ascii_alphabetic()).count();
            let ps = if let Some((p, _)) = known {
                p
            } else if let Some(p) = inflected(words, &run.to_lowercase(), british) {
                p
            } else if let Some(p) = compound(words, &run.to_lowercase(), 2) {
                p
            } else if ascii_letters > 0
                && (run.chars().all(|c| c.is_uppercase()) && ascii_letters <= 4
                    || !run.to_lowercase().chars().any(|c| "aeiouy".contains(c)))
            {
                words.get_nnp(&run).map(|(p, _)| p).unwrap_or_else(|| letters(&run, british))
            } else {
                learnt
                    .and_then(|m| m.read(&run, british))
                    .filter(|p| p.chars().any(|c| super::words::VOWELS.contains(c)))
                    .unwrap_or_else(|| letters(&run, british))
            };
            push(&mut parts, ps, &mut glue_next);
        } else if c.is_ascii_digit() {
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let run: String = chars[start..i].iter().collect();
            let ps = words.get_number(&run, None, true, "").map(|(p, _)| p).unwrap_or_default();
            push(&mut parts, ps, &mut glue_next);
        } else {
            i += 1;
            let spoken = match c {
                '°' => Some("degrees"),
                '/' => Some("slash"),
                '@' => Some("at"),
                '+' => Some("plus"),
                '&' => Some("and"),
                '%' => Some("percent"),
                '=' => Some("equals"),
                '#' => Some("hash"),
                _ => None,
            };
            if let Some(s) = spoken {
                if let Some((p, _)) = words.get_word(s, "NN", None, Ctx::default()) {
                    push(&mut parts, p, &mut glue_next);
                }
            } else if ".:,".contains(c) && !parts.is_empty() && i < chars.len() {
                if let Some(l) = parts.last_mut() {
                    l.push(c);
                }
                glue_next = true;
            }
        }
    }
    parts.join(" ")
}

fn known_plain(words: &Words, w: &str) -> Option<String> {
    if w.len() < 2 {
        return None;
    }
    match words.dict.gold(w).or_else(|| words.dict.silver(w))? {
        super::lexicon::Entry::Plain(p) => Some(p.to_string()),
        e @ super::lexicon::Entry::Tagged(_) => e.variant("DEFAULT").flatten().map(str::to_string),
        super::lexicon::Entry::Null => None,
    }
}

/// Inflections misaki's own suffix rules miss: doubled consonants (rubbed, petted), y → i (happier, tried),
/// -er/-est comparatives.
fn inflected(words: &Words, w: &str, british: bool) -> Option<String> {
    if !w.is_ascii() || w.len() < 5 {
        return None;
    }
    let b = w.as_bytes();
    let n = b.len();
    let doubled = |k: usize| k >= 2 && b[k - 1] == b[k - 2] && !b"aeiou".contains(&b[k - 1]);
    let stems = |cut: usize| -> Vec<String> {
        let base = &w[..n - cut];
        let mut v = vec![base.to_string(), format!("{base}e")];
        if doubled(n - cut) {
            v.insert(0, w[..n - cut - 1].to_string());
        }
        if let Some(x) = base.strip_suffix('i') {
            v.push(format!("{x}y"));
        }
        v
    };
    let first_known = |cands: Vec<String>| cands.into_iter().find_map(|c| known_plain(words, &c));
    if w.ends_with("ed") {
        return words.suffix_ed(&first_known(stems(2))?);
    }
    if w.ends_with("ing") {
        return words.suffix_ing(&first_known(stems(3))?);
    }
    // happy + er: the y is ɪ before the ending in British English.
    let y_stem = |p: String| if british && p.ends_with('i') { format!("{}ɪ", &p[..p.len() - 1]) } else { p };
    if w.ends_with("est") {
        return Some(format!("{}əst", y_stem(first_known(stems(3))?)));
    }
    if w.ends_with("er") {
        return Some(format!("{}{}", y_stem(first_known(stems(2))?), if british { "ə" } else { "əɹ" }));
    }
    if w.ends_with("ies") {
        return words.suffix_s(&known_plain(words, &format!("{}y", &w[..n - 3]))?);
    }
    if w.ends_with('s') && !w.ends_with("ss") {
        let p = known_plain(words, &w[..n - 1])
            .or_else(|| known_plain(words, &w[..n - 2]).filter(|_| w.ends_with("es")))?;
        return words.suffix_s(&p);
    }
    None
}

/// Reads an unknown word as a compound of dictionary words (each at least three letters): the first keeps its
/// stress, the others get secondary stress.
fn compound(words: &Words, w: &str, depth: usize) -> Option<String> {
    if !w.is_ascii() || w.len() < 6 {
        return None;
    }
    let known = |part: &str, gold_only: bool| -> Option<String> {
        if part.len() < 4 {
            return None;
        }
        let e = if gold_only {
            words.dict.gold(part)?
        } else {
            words.dict.gold(part).or_else(|| words.dict.silver(part))?
        };
        match e {
            super::lexicon::Entry::Plain(p) => Some(p.to_string()),
            e @ super::lexicon::Entry::Tagged(_) => e.variant("DEFAULT").flatten().map(str::to_string),
            super::lexicon::Entry::Null => None,
        }
    };
    if w.len() < 8 {
        return None;
    }
    // Gold parts first, then silver; the longest first part that leaves a known (or itself compound) rest.
    for gold_only in [true, false] {
        for cut in (4..=w.len() - 4).rev() {
            if !w.is_char_boundary(cut) {
                continue;
            }
            let (a, b) = w.split_at(cut);
            let Some(pa) = known(a, gold_only) else { continue };
            let pb = known(b, gold_only).or_else(|| if depth > 1 { compound(words, b, depth - 1) } else { None });
            if let Some(pb) = pb {
                let pb = super::words::apply_stress(&pb, Some(-1.0));
                return Some(format!("{pa}{pb}"));
            }
        }
    }
    None
}

fn push(parts: &mut Vec<String>, ps: String, glue: &mut bool) {
    if ps.is_empty() {
        return;
    }
    if *glue && let Some(l) = parts.last_mut() {
        l.push_str(&ps);
    } else {
        parts.push(ps);
    }
    *glue = false;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plausible() {
        assert_eq!(letters("blorp", false), "blˈɔɹp");
        assert_eq!(letters("snargle", false), "snˈɑɹɡᵊl");
        assert!(letters("zantrophic", false).contains('ˈ'));
    }
}
