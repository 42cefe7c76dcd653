//! Quantities that spaCy's tokens leave to be read letter by letter or not at all: currency amounts with a
//! magnitude (`$5M`, `€2.5bn`), multipliers and dimensions (`3x faster`, `2x4`), fractions (`1½`, `3/4 cup`),
//! feet and inches (`6'2"`, `6'`), sharps (`F#`, `C#`) and weekday ranges (`Mon-Fri`). Each reads as the words a listener expects; misaki
//! reads them as letters (`five em`, `three ex`), drops them or reads `6'2"` as *sixty-two*.

use super::{Ctx, Span, all_digits, plain_number};

/// Magnitude suffixes of a currency amount, as financial writing uses them.
const MAGNITUDES: [(&str, &str); 11] = [
    ("K", "thousand"),
    ("k", "thousand"),
    ("M", "million"),
    ("m", "million"),
    ("mn", "million"),
    ("MM", "million"),
    ("B", "billion"),
    ("b", "billion"),
    ("bn", "billion"),
    ("T", "trillion"),
    ("tn", "trillion"),
];

/// The vulgar-fraction characters: (character, numerator, denominator).
const VULGAR: [(char, u32, u32); 11] = [
    ('½', 1, 2),
    ('⅓', 1, 3),
    ('⅔', 2, 3),
    ('¼', 1, 4),
    ('¾', 3, 4),
    ('⅕', 1, 5),
    ('⅛', 1, 8),
    ('⅜', 3, 8),
    ('⅝', 5, 8),
    ('⅞', 7, 8),
    ('⅙', 1, 6),
];

/// Weekday abbreviations, read out in a range ("Mon-Fri"); alone they are often other words (*Sun*, *Sat*, *Wed*).
const WEEKDAYS: [(&str, &str); 10] = [
    ("Mon", "Monday"),
    ("Tue", "Tuesday"),
    ("Tues", "Tuesday"),
    ("Wed", "Wednesday"),
    ("Thu", "Thursday"),
    ("Thur", "Thursday"),
    ("Thurs", "Thursday"),
    ("Fri", "Friday"),
    ("Sat", "Saturday"),
    ("Sun", "Sunday"),
];

/// Words before a slash pair that make it a date rather than a fraction ("on 3/4").
const DATE_WORDS: [&str; 8] = ["on", "by", "until", "till", "since", "from", "before", "after"];

/// `num/den` in words: "one half", "three quarters"; `None` for a denominator recipes and rulers do not use or
/// an improper fraction.
fn fraction_words(num: u32, den: u32, article: bool) -> Option<String> {
    let (one, many) = match den {
        2 => ("half", "halves"),
        3 => ("third", "thirds"),
        4 => ("quarter", "quarters"),
        5 => ("fifth", "fifths"),
        6 => ("sixth", "sixths"),
        8 => ("eighth", "eighths"),
        16 => ("sixteenth", "sixteenths"),
        _ => return None,
    };
    if num == 0 || num >= den {
        return None;
    }
    Some(match (num, article) {
        (1, true) => format!("a {one}"),
        (1, false) => format!("one {one}"),
        _ => format!("{num} {many}"),
    })
}

/// A multiplier or a dimension: "3x" → three times, "2x4" → two by four, "1.5x" → one point five times.
fn by_x(tx: &str) -> Option<String> {
    if tx.starts_with("0x") || tx.starts_with("0X") {
        return None; // hexadecimal
    }
    let parts: Vec<&str> = tx.split(['x', 'X']).collect();
    if parts.len() < 2 || parts.iter().any(|p| p.starts_with('-')) {
        return None;
    }
    match parts.as_slice() {
        [n, ""] => plain_number(n).map(|_| format!("{n} times")),
        _ => parts.iter().all(|p| plain_number(p).is_some()).then(|| parts.join(" by ")),
    }
}

impl Ctx<'_, '_> {
    pub(super) fn quantity(&self, i: usize) -> Option<Span> {
        let tx = self.text(i);
        let next = self.text(i + 1);
        let this_token = |reading: String| Some(Span { start: i, end: i + 1, reading });
        // "$5M", "€2.5bn.": the currency, then the amount with its magnitude (spaCy keeps a final stop on it).
        if self.t[i].tag == "$" && tx.chars().count() == 1 && self.joined(i) {
            let (amount, stop) = match next.strip_suffix('.') {
                Some(a) => (a, "."),
                None => (next, ""),
            };
            let split = amount.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ','))?;
            let (num, suffix) = amount.split_at(split);
            let mag = MAGNITUDES.iter().find(|m| m.0 == suffix)?.1;
            plain_number(num)?;
            return Some(Span { start: i, end: i + 2, reading: format!("{tx}{num} {mag}{stop}") });
        }
        // "3x faster", "2x4", "1920x1080".
        if tx.contains(['x', 'X'])
            && tx.starts_with(|c: char| c.is_ascii_digit())
            && let Some(r) = by_x(tx)
        {
            return this_token(r);
        }
        // "1½" → one and a half; "½" alone keeps misaki's "a half".
        if let Some(last) = tx.chars().next_back()
            && let Some(&(_, n, d)) = VULGAR.iter().find(|v| v.0 == last)
        {
            let whole = &tx[..tx.len() - last.len_utf8()];
            if all_digits(whole) {
                return this_token(format!("{whole} and {}", fraction_words(n, d, true)?));
            }
        }
        // "3/4 cup" → three quarters; not "on 3/4" (a date) nor "1/2/2024".
        if let Some((a, b)) = tx.split_once('/')
            && all_digits(a)
            && all_digits(b)
            && a.len() <= 2
            && b.len() <= 2
            && !DATE_WORDS.contains(&self.prev_text(i).to_lowercase().as_str())
            && let (Ok(n), Ok(d)) = (a.parse(), b.parse())
            && let Some(w) = fraction_words(n, d, false)
        {
            return this_token(w);
        }
        // 6'2" → six foot two; the inch mark, when written, is part of it.
        if let Some((f, inch)) = tx.split_once(['\'', '′'])
            && all_digits(f)
            && (1..=2).contains(&inch.len())
            && all_digits(inch)
        {
            let end = if self.joined(i) && matches!(next, "\"" | "''" | "″" | "”") { i + 2 } else { i + 1 };
            return Some(Span { start: i, end, reading: format!("{f} foot {inch}") });
        }
        // 6' tall → six feet; not a closing quotation mark after a quoted '6'.
        if all_digits(tx)
            && self.joined(i)
            && matches!(next, "'" | "′")
            && (i + 2 == self.t.len() || self.t[i + 1].ws)
            && !matches!(self.prev_text(i), "'" | "‘")
        {
            let unit = if tx == "1" { "foot" } else { "feet" };
            return Some(Span { start: i, end: i + 2, reading: format!("{tx} {unit}") });
        }
        // "Mon-Fri" → Monday to Friday: one token, or three written together.
        let day = |w: &str| WEEKDAYS.iter().find(|d| d.0 == w.trim_end_matches('.')).map(|d| d.1);
        if let Some((a, b)) = tx.split_once(['-', '–'])
            && let (Some(a), Some(b)) = (day(a), day(b))
        {
            return this_token(format!("{a} to {b}"));
        }
        if let Some(a) = day(tx)
            && matches!(next, "-" | "–")
            && self.joined(i)
            && self.joined(i + 1)
            && let Some(b) = day(self.text(i + 2))
        {
            return Some(Span { start: i, end: i + 3, reading: format!("{a} to {b}") });
        }
        // "F#", "C#": the note or the language.
        if tx.len() == 1
            && tx.chars().all(|c| ('A'..='G').contains(&c))
            && next == "#"
            && self.joined(i)
            && !(self.joined(i + 1) && self.text(i + 2).starts_with(|c: char| c.is_alphanumeric()))
        {
            return Some(Span { start: i, end: i + 2, reading: format!("{tx} sharp") });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings() {
        assert_eq!(by_x("3x").as_deref(), Some("3 times"));
        assert_eq!(by_x("2x4").as_deref(), Some("2 by 4"));
        assert_eq!(by_x("0x1F"), None);
        assert_eq!(by_x("x"), None);
        assert_eq!(by_x("3xl"), None);
        assert_eq!(fraction_words(3, 4, false).as_deref(), Some("3 quarters"));
        assert_eq!(fraction_words(1, 2, true).as_deref(), Some("a half"));
        assert_eq!(fraction_words(9, 10, false), None);
        assert_eq!(fraction_words(5, 4, false), None);
    }
}
