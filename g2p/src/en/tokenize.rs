//! A tokenizer that splits English text where spaCy's English tokenizer splits it (whitespace, then prefix,
//! suffix and infix punctuation, with spaCy's table of special cases such as "don't" → "do" + "n't"), and
//! misaki's sub-tokenizer that cuts each token into words, numbers and marks.

use std::collections::HashMap;
use std::sync::OnceLock;

static EXCEPTIONS: &str = include_str!("../../data/spacy_exceptions.tsv");

fn exceptions() -> &'static HashMap<&'static str, Vec<&'static str>> {
    static MAP: OnceLock<HashMap<&'static str, Vec<&'static str>>> = OnceLock::new();
    MAP.get_or_init(|| {
        EXCEPTIONS
            .lines()
            .filter_map(|l| {
                let mut it = l.split('\t');
                let k = it.next()?;
                Some((k, it.collect()))
            })
            .collect()
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawToken {
    pub text: String,
    /// Whether whitespace followed the token.
    pub ws: bool,
    /// A URL or e-mail address (spaCy's `ADD`).
    pub url: bool,
}

fn is_quote(c: char) -> bool {
    matches!(c, '\'' | '"' | '`' | '‘' | '’' | '“' | '”' | '«' | '»' | '‹' | '›' | '„' | '‚')
}

fn is_punct(c: char) -> bool {
    matches!(
        c,
        '…' | ','
            | ':'
            | ';'
            | '!'
            | '?'
            | '¿'
            | '¡'
            | '('
            | ')'
            | '['
            | ']'
            | '{'
            | '}'
            | '<'
            | '>'
            | '_'
            | '#'
            | '*'
            | '&'
            | '。'
            | '？'
            | '！'
            | '，'
            | '、'
            | '；'
            | '：'
            | '～'
            | '·'
    )
}

fn is_currency(c: char) -> bool {
    matches!(c, '$' | '£' | '€' | '¥' | '฿' | '₽' | '₹' | '₩' | '₪' | '₫' | '₴' | '₺' | '₸')
}
const UNITS: [&str; 43] = [
    "km²", "km³", "km", "m²", "m³", "dm²", "dm³", "dm", "cm²", "cm³", "cm", "mm²", "mm³", "mm", "ha", "µm", "nm", "yd",
    "in", "ft", "kg", "mg", "µg", "g", "t", "lb", "oz", "m/s", "km/h", "kmh", "mph", "hPa", "Pa", "mbar", "mb", "MB",
    "kb", "KB", "gb", "GB", "tb", "TB", "%",
];

fn is_url(s: &str) -> bool {
    if s.ends_with(['.', ',', '!', '?', ')', ';', ':', '"', '\'']) {
        // Trailing punctuation is split off first.
        return false;
    }
    let lower = s.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("www.") {
        return s.len() > 4;
    }
    if let Some(at) = s.find('@') {
        let (user, dom) = (&s[..at], &s[at + 1..]);
        return !user.is_empty()
            && dom.contains('.')
            && !dom.ends_with('.')
            && dom.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    }
    // domain.tld/path
    if let Some(slash) = s.find('/') {
        let host = &s[..slash];
        if let Some(dot) = host.rfind('.') {
            let tld = &host[dot + 1..];
            return dot > 0
                && (2..=6).contains(&tld.len())
                && tld.chars().all(|c| c.is_ascii_lowercase())
                && host.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
        }
    }
    false
}

fn first_char(s: &str) -> Option<char> {
    s.chars().next()
}

fn last_char(s: &str) -> Option<char> {
    s.chars().next_back()
}

fn prefix_len(s: &str) -> usize {
    if let Some(rest) = s.strip_prefix("..") {
        return 2 + rest.len() - rest.trim_start_matches('.').len();
    }
    let Some(c) = first_char(s) else { return 0 };
    if c == '+' {
        return if s[1..].starts_with(|d: char| d.is_ascii_digit()) { 0 } else { 1 };
    }
    if "§%=—–".contains(c) || is_punct(c) || is_quote(c) || is_currency(c) {
        return c.len_utf8();
    }
    0
}

fn suffix_len(s: &str) -> usize {
    if let Some(rest) = s.strip_suffix("..") {
        return 2 + rest.len() - rest.trim_end_matches('.').len();
    }
    for p in ["'s", "'S", "’s", "’S"] {
        if s.len() > p.len() && s.ends_with(p) {
            return p.len();
        }
    }
    let Some(c) = last_char(s) else { return 0 };
    let before = &s[..s.len() - c.len_utf8()];
    let prev = last_char(before);
    if is_punct(c) || is_quote(c) || c == '—' || c == '–' {
        return c.len_utf8();
    }
    if c == '+' && prev.is_some_and(|p| p.is_ascii_digit()) {
        return 1;
    }
    if is_currency(c) && prev.is_some_and(|p| p.is_ascii_digit()) {
        return c.len_utf8();
    }
    for u in UNITS {
        if let Some(b) = s.strip_suffix(u)
            && last_char(b).is_some_and(|p| p.is_ascii_digit())
        {
            return u.len();
        }
    }
    if c == '.'
        && let Some(p) = prev
    {
        {
            if p.is_ascii_digit() || p.is_lowercase() || "%²-+".contains(p) || is_quote(p) || is_punct(p) {
                return 1;
            }
            if p.is_uppercase() && last_char(&before[..before.len() - p.len_utf8()]).is_some_and(|q| q.is_uppercase()) {
                return 1;
            }
            // °C.
            if "FfCcKk".contains(p) && before[..before.len() - 1].ends_with('°') {
                return 1;
            }
        }
    }
    0
}

/// Splits at spaCy's infixes: ellipses, a sign between digits, hyphens/`:<>=/` between letters, commas between
/// letters, a full stop between a lowercase and an uppercase letter.
fn split_infixes(s: &str, out: &mut Vec<String>) {
    let cs: Vec<(usize, char)> = s.char_indices().collect();
    let n = cs.len();
    let mut start = 0usize; // byte offset of the current piece
    let mut i = 0usize;
    let is_alpha = |c: char| c.is_alphabetic();
    while i < n {
        let (b, c) = cs[i];
        let prev = if i > 0 { Some(cs[i - 1].1) } else { None };
        let mut m_len = 0usize; // in chars
        if c == '…' {
            m_len = 1;
        } else if c == '.' && i + 1 < n && cs[i + 1].1 == '.' {
            let mut k = i;
            while k < n && cs[k].1 == '.' {
                k += 1;
            }
            m_len = k - i;
        } else if let Some(p) = prev {
            let next = cs.get(i + 1).map(|x| x.1);
            if (p.is_ascii_digit() && "+-*^".contains(c) && next.is_some_and(|x| x.is_ascii_digit() || x == '-'))
                || (c == '.'
                    && (p.is_lowercase() || is_quote(p))
                    && next.is_some_and(|x| x.is_uppercase() || is_quote(x)))
                || (c == ',' && is_alpha(p) && next.is_some_and(is_alpha))
            {
                m_len = 1;
            } else if (is_alpha(p) || p.is_ascii_digit()) && ("-–—~".contains(c)) {
                // -, --, ---, –, —, ——, ~ followed by a letter
                let mut k = i + 1;
                if c == '-' || c == '—' {
                    while k < n && k < i + 3 && cs[k].1 == c {
                        k += 1;
                    }
                }
                if cs.get(k).is_some_and(|x| is_alpha(x.1)) {
                    m_len = k - i;
                }
            } else if (is_alpha(p) || p.is_ascii_digit()) && ":<>=/".contains(c) && next.is_some_and(is_alpha) {
                m_len = 1;
            }
        }
        if m_len > 0 && b > start || m_len > 0 && b == start && i > 0 {
            if b > start {
                out.push(s[start..b].to_string());
            }
            let e = cs.get(i + m_len).map(|x| x.0).unwrap_or(s.len());
            out.push(s[b..e].to_string());
            start = e;
            i += m_len;
            continue;
        }
        i += 1;
    }
    if start < s.len() {
        out.push(s[start..].to_string());
    }
}

fn split_chunk(chunk: &str, out: &mut Vec<(String, bool)>) {
    let ex = exceptions();
    let mut s = chunk;
    let mut suffixes: Vec<&str> = Vec::new();
    let mut core: Vec<(String, bool)> = Vec::new();
    loop {
        if s.is_empty() {
            break;
        }
        if let Some(parts) = ex.get(s) {
            core.extend(parts.iter().map(|p| (p.to_string(), false)));
            s = "";
            break;
        }
        if is_url(s) {
            core.push((s.to_string(), true));
            s = "";
            break;
        }
        let p = prefix_len(s);
        if p > 0 && (p < s.len() || suffix_len(s) == 0) {
            out.push((s[..p].to_string(), false));
            s = &s[p..];
            continue;
        }
        let q = suffix_len(s);
        if q > 0 && q < s.len() {
            suffixes.push(&s[s.len() - q..]);
            s = &s[..s.len() - q];
            continue;
        }
        if q > 0 {
            // The whole rest is one suffix mark.
            core.push((s.to_string(), false));
            s = "";
        }
        break;
    }
    if !s.is_empty() {
        let mut pieces = Vec::new();
        split_infixes(s, &mut pieces);
        core.extend(pieces.into_iter().map(|p| (p, false)));
    }
    out.extend(core);
    out.extend(suffixes.into_iter().rev().map(|s| (s.to_string(), false)));
}

/// Splits text into tokens as spaCy's English tokenizer does (close to it; exact on ordinary prose).
pub fn tokenize(text: &str) -> Vec<RawToken> {
    let mut out: Vec<RawToken> = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let t = rest.trim_start();
        if t.len() != rest.len()
            && let Some(last) = out.last_mut()
        {
            last.ws = true;
        }
        rest = t;
        if rest.is_empty() {
            break;
        }
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let chunk = &rest[..end];
        rest = &rest[end..];
        let mut pieces = Vec::new();
        split_chunk(chunk, &mut pieces);
        out.extend(pieces.into_iter().map(|(text, url)| RawToken { text, ws: false, url }));
    }
    out
}

fn is_q(c: char) -> bool {
    c == '\'' || c == '‘' || c == '’'
}

/// misaki's sub-tokenizer (its `SUBTOKEN_REGEX`, findall semantics): leading quotes, an uppercase letter that
/// starts a new capitalised word, numbers with `,`/`.`, runs of `-`/`_`, runs of quotes, camelCase parts, words
/// with inner apostrophes, any other single mark, trailing quotes.
pub fn subtokenize(word: &str) -> Vec<String> {
    let cs: Vec<char> = word.chars().collect();
    let n = cs.len();
    let mut out = Vec::new();
    let mut i = 0;
    let is_l = |c: char| c.is_alphabetic();
    let is_d = |c: char| c.is_ascii_digit();
    while i < n {
        let c = cs[i];
        // ^['‘’]+
        if i == 0 && is_q(c) {
            let mut k = i;
            while k < n && is_q(cs[k]) {
                k += 1;
            }
            out.push(cs[i..k].iter().collect());
            i = k;
            continue;
        }
        // \p{Lu}(?=\p{Lu}\p{Ll})
        if c.is_uppercase() && i + 2 < n && cs[i + 1].is_uppercase() && cs[i + 2].is_lowercase() {
            out.push(c.to_string());
            i += 1;
            continue;
        }
        // (?:^-)?(?:\d?[,.]?\d)+
        let num_at = |start: usize| -> usize {
            let mut j = start;
            loop {
                let d0 = j < n && is_d(cs[j]);
                let s1 = j + 1 < n && (cs[j + 1] == ',' || cs[j + 1] == '.');
                if d0 && s1 && j + 2 < n && is_d(cs[j + 2]) {
                    j += 3;
                } else if (d0 && j + 1 < n && is_d(cs[j + 1]))
                    || (j < n && (cs[j] == ',' || cs[j] == '.') && j + 1 < n && is_d(cs[j + 1]))
                {
                    j += 2;
                } else if d0 {
                    j += 1;
                } else {
                    break;
                }
            }
            j
        };
        if i == 0 && c == '-' {
            let e = num_at(1);
            if e > 1 {
                out.push(cs[0..e].iter().collect());
                i = e;
                continue;
            }
        }
        let e = num_at(i);
        if e > i {
            out.push(cs[i..e].iter().collect());
            i = e;
            continue;
        }
        // [-_]+
        if c == '-' || c == '_' {
            let mut k = i;
            while k < n && (cs[k] == '-' || cs[k] == '_') {
                k += 1;
            }
            out.push(cs[i..k].iter().collect());
            i = k;
            continue;
        }
        // ['‘’]{2,}
        if is_q(c) && i + 1 < n && is_q(cs[i + 1]) {
            let mut k = i;
            while k < n && is_q(cs[k]) {
                k += 1;
            }
            out.push(cs[i..k].iter().collect());
            i = k;
            continue;
        }
        if is_l(c) {
            // \p{L}*?(?:['‘’]\p{L})*?\p{Ll}(?=\p{Lu}) : the shortest letter run ending in a lowercase letter
            // followed by an uppercase one.
            let mut k = i;
            let mut camel = None;
            while k < n {
                if is_l(cs[k]) {
                    if cs[k].is_lowercase() && k + 1 < n && cs[k + 1].is_uppercase() {
                        camel = Some(k + 1);
                        break;
                    }
                    k += 1;
                } else if is_q(cs[k]) && k + 1 < n && is_l(cs[k + 1]) {
                    k += 1;
                } else {
                    break;
                }
            }
            if let Some(e) = camel {
                out.push(cs[i..e].iter().collect());
                i = e;
                continue;
            }
            // \p{L}+(?:['‘’]\p{L})*
            let mut k = i;
            while k < n && is_l(cs[k]) {
                k += 1;
            }
            while k + 1 < n && is_q(cs[k]) && is_l(cs[k + 1]) {
                k += 2;
                // (?:['‘’]\p{L})* takes one letter per quote; the letters after it start a new match
            }
            out.push(cs[i..k].iter().collect());
            i = k;
            continue;
        }
        // [^-_\p{L}'‘’\d]
        if !is_q(c) {
            out.push(c.to_string());
            i += 1;
            continue;
        }
        // ['‘’]+$
        if cs[i..].iter().all(|&x| is_q(x)) {
            out.push(cs[i..].iter().collect());
            break;
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<String> {
        tokenize(s).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn spacy_like() {
        assert_eq!(toks("I can't, won't, don't."), ["I", "ca", "n't", ",", "wo", "n't", ",", "do", "n't", "."]);
        assert_eq!(
            toks("\"Where are you?\" she asked."),
            ["\"", "Where", "are", "you", "?", "\"", "she", "asked", "."]
        );
        assert_eq!(toks("Mr. Smith paid $5.50/hr."), ["Mr.", "Smith", "paid", "$", "5.50", "/", "hr", "."]);
        assert_eq!(toks("snicker-snack"), ["snicker", "-", "snack"]);
        assert_eq!(toks("Hello...world"), ["Hello", "...", "world"]);
        assert_eq!(toks("Visit https://www.example.com for"), ["Visit", "https://www.example.com", "for"]);
        assert_eq!(toks("The U.S.A. is big."), ["The", "U.S.A.", "is", "big", "."]);
        assert_eq!(toks("2-28."), ["2", "-", "28", "."]);
    }

    #[test]
    fn subtokens() {
        assert_eq!(subtokenize("2-28"), ["2", "-", "28"]);
        assert_eq!(subtokenize("iPhone"), ["i", "Phone"]);
        assert_eq!(subtokenize("1,234.56"), ["1,234.56"]);
        assert_eq!(subtokenize("IPv6"), ["I", "Pv", "6"]);
        assert_eq!(subtokenize("3:45"), ["3", ":", "45"]);
        assert_eq!(subtokenize("rock'n'roll"), ["rock'n'r", "oll"]);
    }
}
