//! Text normalisation beyond misaki: units after numbers, clock times, dates, Roman numerals in unambiguous
//! contexts, phone numbers, number ranges, negative numbers spaCy leaves silent, `#1`, `×`, URLs, a few
//! abbreviations (St., Prof., Mt., No., Fig., ...) and quantities (`$5M`, `3x`, `3/4`, `6'2"`, `F#`: in
//! [`quantities`]). misaki 0.9.4 sends these to its OOV path or reads them digit
//! by digit; here they are rewritten as words (digits may stay in a reading: misaki's number rules read them),
//! and the words go through the ordinary lexicon path, so their phonemes are misaki's phonemes for those words.
//!
//! Works on spaCy-like tokens after tagging: each match is a span of tokens and the words to read for it.

use super::numbers;

mod quantities;

/// A run of tokens `start..end` read as `reading` (words, punctuation and plain digits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub reading: String,
}

/// The view of a token the rules need.
pub struct Tok<'a> {
    pub text: &'a str,
    pub tag: &'a str,
    /// Whitespace follows the token.
    pub ws: bool,
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn month_of(s: &str) -> Option<usize> {
    if let Some(i) = MONTHS.iter().position(|m| *m == s) {
        return Some(i);
    }
    let abbr = s.strip_suffix('.')?;
    let i = match abbr {
        "Jan" => 0,
        "Feb" => 1,
        "Mar" => 2,
        "Apr" => 3,
        "Jun" => 5,
        "Jul" => 6,
        "Aug" => 7,
        "Sep" | "Sept" => 8,
        "Oct" => 9,
        "Nov" => 10,
        "Dec" => 11,
        _ => return None,
    };
    Some(i)
}

/// How strict a unit is about the number before it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    /// After any number, spaced or attached ("5 km", "5km").
    Any,
    /// Only attached to the number ("5in"): "5 in" is usually the preposition.
    Attached,
    /// Only after a number with a decimal point ("2.5 t", "1.5A"): "5 A", "5K", "5 t" are too often not units.
    Decimal,
    /// Spaced ("5 s") or after a decimal ("1.5s"): "5s" is the plural of five.
    SpacedOrDecimal,
}

/// (abbreviation, singular, plural, British singular, British plural, constraint).
type Unit = (&'static str, &'static str, &'static str, &'static str, &'static str, Need);

const UNITS: &[Unit] = &[
    ("km/h", "kilometer per hour", "kilometers per hour", "kilometre per hour", "kilometres per hour", Need::Any),
    ("kph", "kilometer per hour", "kilometers per hour", "kilometre per hour", "kilometres per hour", Need::Any),
    ("kmh", "kilometer per hour", "kilometers per hour", "kilometre per hour", "kilometres per hour", Need::Any),
    ("m/s", "meter per second", "meters per second", "metre per second", "metres per second", Need::Any),
    ("mph", "mile per hour", "miles per hour", "mile per hour", "miles per hour", Need::Any),
    ("km", "kilometer", "kilometers", "kilometre", "kilometres", Need::Any),
    ("cm", "centimeter", "centimeters", "centimetre", "centimetres", Need::Any),
    ("mm", "millimeter", "millimeters", "millimetre", "millimetres", Need::Any),
    ("µm", "micrometer", "micrometers", "micrometre", "micrometres", Need::Any),
    ("μm", "micrometer", "micrometers", "micrometre", "micrometres", Need::Any),
    ("nm", "nanometer", "nanometers", "nanometre", "nanometres", Need::Any),
    ("m", "meter", "meters", "metre", "metres", Need::Any),
    ("kg", "kilogram", "kilograms", "kilogram", "kilograms", Need::Any),
    ("mg", "milligram", "milligrams", "milligram", "milligrams", Need::Any),
    ("µg", "microgram", "micrograms", "microgram", "micrograms", Need::Any),
    ("μg", "microgram", "micrograms", "microgram", "micrograms", Need::Any),
    ("g", "gram", "grams", "gram", "grams", Need::Any),
    ("t", "tonne", "tonnes", "tonne", "tonnes", Need::Decimal),
    ("lbs", "pound", "pounds", "pound", "pounds", Need::Any),
    ("lb", "pound", "pounds", "pound", "pounds", Need::Any),
    ("oz", "ounce", "ounces", "ounce", "ounces", Need::Any),
    ("mi", "mile", "miles", "mile", "miles", Need::Any),
    ("ft", "foot", "feet", "foot", "feet", Need::Any),
    ("yds", "yard", "yards", "yard", "yards", Need::Any),
    ("yd", "yard", "yards", "yard", "yards", Need::Any),
    ("in", "inch", "inches", "inch", "inches", Need::Attached),
    ("°C", "degree Celsius", "degrees Celsius", "degree Celsius", "degrees Celsius", Need::Any),
    ("°F", "degree Fahrenheit", "degrees Fahrenheit", "degree Fahrenheit", "degrees Fahrenheit", Need::Any),
    ("°", "degree", "degrees", "degree", "degrees", Need::Any),
    ("K", "kelvin", "kelvins", "kelvin", "kelvins", Need::Decimal),
    ("mL", "milliliter", "milliliters", "millilitre", "millilitres", Need::Any),
    ("ml", "milliliter", "milliliters", "millilitre", "millilitres", Need::Any),
    ("cl", "centiliter", "centiliters", "centilitre", "centilitres", Need::Any),
    ("L", "liter", "liters", "litre", "litres", Need::Any),
    ("l", "liter", "liters", "litre", "litres", Need::Any),
    ("TB", "terabyte", "terabytes", "terabyte", "terabytes", Need::Any),
    ("GB", "gigabyte", "gigabytes", "gigabyte", "gigabytes", Need::Any),
    ("MB", "megabyte", "megabytes", "megabyte", "megabytes", Need::Any),
    ("KB", "kilobyte", "kilobytes", "kilobyte", "kilobytes", Need::Any),
    ("kB", "kilobyte", "kilobytes", "kilobyte", "kilobytes", Need::Any),
    ("GHz", "gigahertz", "gigahertz", "gigahertz", "gigahertz", Need::Any),
    ("MHz", "megahertz", "megahertz", "megahertz", "megahertz", Need::Any),
    ("kHz", "kilohertz", "kilohertz", "kilohertz", "kilohertz", Need::Any),
    ("Hz", "hertz", "hertz", "hertz", "hertz", Need::Any),
    ("kWh", "kilowatt hour", "kilowatt hours", "kilowatt hour", "kilowatt hours", Need::Any),
    ("kW", "kilowatt", "kilowatts", "kilowatt", "kilowatts", Need::Any),
    ("MW", "megawatt", "megawatts", "megawatt", "megawatts", Need::Any),
    ("W", "watt", "watts", "watt", "watts", Need::Any),
    ("mV", "millivolt", "millivolts", "millivolt", "millivolts", Need::Any),
    ("V", "volt", "volts", "volt", "volts", Need::Any),
    ("mA", "milliamp", "milliamps", "milliamp", "milliamps", Need::Any),
    ("A", "amp", "amps", "amp", "amps", Need::Decimal),
    ("hrs", "hour", "hours", "hour", "hours", Need::Any),
    ("hr", "hour", "hours", "hour", "hours", Need::Any),
    ("h", "hour", "hours", "hour", "hours", Need::Any),
    ("min", "minute", "minutes", "minute", "minutes", Need::Any),
    ("secs", "second", "seconds", "second", "seconds", Need::Any),
    ("sec", "second", "seconds", "second", "seconds", Need::Any),
    ("ms", "millisecond", "milliseconds", "millisecond", "milliseconds", Need::Any),
    ("tbsp", "tablespoon", "tablespoons", "tablespoon", "tablespoons", Need::Any),
    ("Tbsp", "tablespoon", "tablespoons", "tablespoon", "tablespoons", Need::Any),
    ("tsp", "teaspoon", "teaspoons", "teaspoon", "teaspoons", Need::Any),
    ("µs", "microsecond", "microseconds", "microsecond", "microseconds", Need::Any),
    ("μs", "microsecond", "microseconds", "microsecond", "microseconds", Need::Any),
    ("ns", "nanosecond", "nanoseconds", "nanosecond", "nanoseconds", Need::Any),
    ("s", "second", "seconds", "second", "seconds", Need::SpacedOrDecimal),
];

fn unit(abbr: &str) -> Option<&'static Unit> {
    UNITS.iter().find(|u| u.0 == abbr)
}

fn unit_words(u: &Unit, singular: bool, british: bool) -> &'static str {
    match (british, singular) {
        (false, true) => u.1,
        (false, false) => u.2,
        (true, true) => u.3,
        (true, false) => u.4,
    }
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// A plain number as misaki reads it: `-?` digits with optional thousands commas and a decimal part.
/// Returns (is exactly one, has a decimal point).
fn plain_number(s: &str) -> Option<(bool, bool)> {
    let body = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    if let Some(f) = frac
        && !all_digits(f)
    {
        return None;
    }
    let int_ok = if int.contains(',') {
        let mut parts = int.split(',');
        let first = parts.next().unwrap_or("");
        all_digits(first) && first.len() <= 3 && parts.all(|p| p.len() == 3 && all_digits(p))
    } else {
        all_digits(int) || (int.is_empty() && frac.is_some())
    };
    if !int_ok {
        return None;
    }
    Some((body == "1", frac.is_some()))
}

/// Splits "20°C" / "5kWh" / "2.5µm" into the number and the rest.
fn split_number_prefix(s: &str) -> Option<(&str, &str)> {
    let end = s
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || c == ',' || c == '.' || (i == 0 && c == '-')))
        .map(|(i, _)| i)?;
    let num = &s[..end];
    let num = num.trim_end_matches(['.', ',']);
    if num.is_empty() || plain_number(num).is_none() {
        return None;
    }
    Some((num, &s[num.len()..]))
}

fn words_of(v: Vec<&str>) -> String {
    v.into_iter().filter(|w| *w != "and").collect::<Vec<_>>().join(" ")
}

fn cardinal_words(n: u32) -> String {
    words_of(numbers::cardinal(n as u128))
}

fn ordinal_words(n: u32) -> String {
    words_of(numbers::ordinal(n as u128))
}

fn ampm(s: &str) -> Option<&'static str> {
    match s {
        "am" | "AM" | "a.m." | "A.M." | "a.m" | "A.M" => Some("a.m."),
        "pm" | "PM" | "p.m." | "P.M." | "p.m" | "P.M" => Some("p.m."),
        _ => None,
    }
}

/// Words for a clock time. `h` 0–24, `m` 0–59.
fn time_words(h: u32, m: u32, s: Option<u32>, suffix: Option<&str>) -> String {
    let mut out = cardinal_words(h);
    if m == 0 && s.is_none() {
        match suffix {
            Some(_) => {}
            None if (1..=12).contains(&h) => out.push_str(" o'clock"),
            None => out.push_str(" hundred"),
        }
    } else if m < 10 {
        out.push_str(" oh ");
        out.push_str(&cardinal_words(m));
    } else {
        out.push(' ');
        out.push_str(&cardinal_words(m));
    }
    if let Some(s) = s {
        out.push_str(" and ");
        out.push_str(&cardinal_words(s));
        out.push_str(if s == 1 { " second" } else { " seconds" });
    }
    if let Some(x) = suffix {
        out.push(' ');
        out.push_str(x);
    }
    out
}

/// "3:30", "10:15:30", optionally followed by am/pm letters in the same token ("3:30PM").
fn parse_time(s: &str) -> Option<(u32, u32, Option<u32>, Option<&'static str>)> {
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == ':')).unwrap_or(s.len());
    let (clock, tail) = s.split_at(split);
    let suffix = if tail.is_empty() { None } else { Some(ampm(tail)?) };
    let parts: Vec<&str> = clock.split(':').collect();
    if !(2..=3).contains(&parts.len()) || !parts.iter().all(|p| all_digits(p)) {
        return None;
    }
    if parts[0].len() > 2 || parts[1..].iter().any(|p| p.len() != 2) {
        return None;
    }
    let h: u32 = parts[0].parse().ok()?;
    let m: u32 = parts[1].parse().ok()?;
    let sec: Option<u32> = match parts.get(2) {
        Some(p) => Some(p.parse().ok()?),
        None => None,
    };
    let limit = if suffix.is_some() { 12 } else { 24 };
    if h > limit || m > 59 || sec.is_some_and(|x| x > 59) || (suffix.is_some() && h == 0) {
        return None;
    }
    Some((h, m, sec, suffix))
}

/// One end of a range of clock times: a time ("9:30", "9:30pm") or an hour from 1 to 12 with or without am/pm
/// ("9am", "9").
fn range_clock(s: &str) -> Option<(u32, u32, Option<u32>, Option<&'static str>)> {
    if let Some(t) = parse_time(s) {
        return Some(t);
    }
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (hour, tail) = s.split_at(split);
    let suffix = if tail.is_empty() { None } else { Some(ampm(tail)?) };
    let h: u32 = hour.parse().ok().filter(|h| (1..=12).contains(h) && hour.len() <= 2)?;
    Some((h, 0, None, suffix))
}

/// Value of a canonical Roman numeral (I–MMMCMXCIX); None for anything else ("IIII", "VX", "MIX" is 1009 but see
/// the callers).
pub fn roman_value(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 15 {
        return None;
    }
    let val = |c: char| match c {
        'I' => Some(1),
        'V' => Some(5),
        'X' => Some(10),
        'L' => Some(50),
        'C' => Some(100),
        'D' => Some(500),
        'M' => Some(1000),
        _ => None,
    };
    let vals: Vec<i64> = s.chars().map(val).collect::<Option<Vec<_>>>()?;
    let mut signed = 0i64;
    for (i, &v) in vals.iter().enumerate() {
        if vals.get(i + 1).is_some_and(|&n| n > v) {
            signed -= v;
        } else {
            signed += v;
        }
    }
    let total = u32::try_from(signed).ok()?;
    // Canonical form only: write the value back and compare.
    let table = [
        (1000, "M"),
        (900, "CM"),
        (500, "D"),
        (400, "CD"),
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    ];
    let (mut n, mut back) = (total, String::new());
    for (v, r) in table {
        while n >= v {
            back.push_str(r);
            n -= v;
        }
    }
    (total > 0 && total < 4000 && back == s).then_some(total)
}

/// Numerals that are also ordinary words or common acronyms: never read as numbers after a name.
const ROMAN_WORDS: &[&str] = &[
    "MIX", "CIVIL", "DC", "MD", "LI", "CD", "MI", "DIV", "LIV", "DI", "MC", "CM", "MM", "DL", "CV", "XL", "CC", "CI",
    "MCD", "VC", "DCC", "XXX", "LX", "MMM",
];

/// Words after which a Roman numeral is a plain number ("Chapter IV" → four).
const ROMAN_CONTEXT: &[&str] = &[
    "Chapter", "Ch.", "Part", "Volume", "Vol.", "Book", "Act", "Scene", "Article", "Section", "Phase", "Type", "Class",
    "Episode", "Stage", "Level", "Title", "Canto", "Psalm", "Apollo", "Gemini", "Mark", "Series", "Round", "Grade",
];

fn is_capitalised_name(s: &str) -> bool {
    let mut cs = s.chars();
    cs.next().is_some_and(|c| c.is_uppercase()) && s.chars().count() >= 2 && cs.all(|c| c.is_lowercase())
}

/// Words before a hyphen range ("pages 12-20") that make it a range rather than a score or a code.
const RANGE_CONTEXT: &[&str] = &[
    "pages", "page", "pp.", "pp", "aged", "ages", "age", "from", "between", "chapters", "verses", "lines", "years",
    "hours", "days", "weeks", "months", "minutes", "sections", "steps", "items", "rooms",
];

/// Title abbreviations read in full before a capitalised name.
const TITLES: [(&str, &str); 14] = [
    ("Prof.", "Professor"),
    ("Gen.", "General"),
    ("Capt.", "Captain"),
    ("Sgt.", "Sergeant"),
    ("Lt.", "Lieutenant"),
    ("Col.", "Colonel"),
    ("Rev.", "Reverend"),
    ("Gov.", "Governor"),
    ("Sen.", "Senator"),
    ("Rep.", "Representative"),
    ("Supt.", "Superintendent"),
    ("Cmdr.", "Commander"),
    ("Mt.", "Mount"),
    ("Ft.", "Fort"),
];

const STREET_ABBR: [(&str, &str); 5] =
    [("St.", "Street"), ("Ave.", "Avenue"), ("Rd.", "Road"), ("Blvd.", "Boulevard"), ("Sq.", "Square")];

struct Ctx<'a, 'b> {
    t: &'b [Tok<'a>],
    british: bool,
}

impl Ctx<'_, '_> {
    fn text(&self, i: usize) -> &str {
        self.t.get(i).map_or("", |t| t.text)
    }
    /// Tokens i and i+1 are written together (no whitespace between).
    fn joined(&self, i: usize) -> bool {
        self.t.get(i).is_some_and(|t| !t.ws) && i + 1 < self.t.len()
    }
    fn prev_text(&self, i: usize) -> &str {
        if i == 0 { "" } else { self.text(i - 1) }
    }

    /// Unit tokens starting at `j` (several tokens written together, e.g. "km" "/" "h"): (end, unit).
    fn unit_at(&self, j: usize) -> Option<(usize, &'static Unit)> {
        let mut best = None;
        let mut s = String::new();
        for k in j..(j + 3).min(self.t.len()) {
            s.push_str(self.text(k));
            if let Some(u) = unit(&s) {
                best = Some((k + 1, u));
            }
            if !self.joined(k) {
                break;
            }
        }
        // spaCy keeps a sentence's full stop on some single letters ("2.5 t."): the unit, then the stop.
        if best.is_none()
            && let Some(u) = self.text(j).strip_suffix('.').and_then(unit)
            && (j + 1 == self.t.len() || self.t[j].ws)
        {
            return Some((j + 1, u));
        }
        // The unit must end the word: "5 mine" never reaches here (tokens are whole), but "5 m-long" does.
        let (end, u) = best?;
        if end < self.t.len() && !self.t[end - 1].ws && self.text(end).starts_with(|c: char| c.is_alphanumeric()) {
            return None;
        }
        Some((end, u))
    }

    fn unit_ok(u: &Unit, attached: bool, decimal: bool) -> bool {
        match u.5 {
            Need::Any => true,
            Need::Attached => attached,
            Need::Decimal => decimal,
            Need::SpacedOrDecimal => !attached || decimal,
        }
    }

    fn after_currency(&self, i: usize) -> bool {
        let p = self.prev_text(i);
        i > 0 && !self.t[i - 1].ws && p.chars().count() == 1 && p.chars().all(|c| "$£€¥".contains(c))
    }

    fn units(&self, i: usize) -> Option<Span> {
        let tx = self.text(i);
        if self.after_currency(i) || self.t[i].tag == "$" {
            return None;
        }
        // A negative amount ("-5 km", "−5 °C") is part of the span: misaki reads "-5" as nothing when spaCy tags
        // it NFP, and never reads "−".
        let (minus, body) = match tx.strip_prefix('-').or_else(|| tx.strip_prefix('−')) {
            Some(b) if b.starts_with(|c: char| c.is_ascii_digit() || c == '.') => ("minus ", b),
            _ => ("", tx),
        };
        if let Some((one, decimal)) = plain_number(body) {
            if !self.joined(i) && !self.t[i].ws {
                return None;
            }
            let (mut end, u) = self.unit_at(i + 1)?;
            if !Self::unit_ok(u, !self.t[i].ws, decimal) {
                return None;
            }
            let mut stop = if self.text(end - 1).ends_with('.') && !u.0.ends_with('.') { "." } else { "" };
            // "2 tbsp. of sugar": the abbreviation's stop before a lowercase word is not a sentence end.
            if stop.is_empty()
                && self.text(end) == "."
                && !self.t[end - 1].ws
                && self.t.get(end).is_some_and(|t| t.ws)
                && self.text(end + 1).starts_with(|c: char| c.is_lowercase())
            {
                end += 1;
            } else if stop == "." && self.text(end).starts_with(|c: char| c.is_lowercase()) {
                stop = "";
            }
            let words = unit_words(u, one, self.british);
            return Some(if minus.is_empty() {
                Span { start: i + 1, end, reading: format!("{words}{stop}") }
            } else {
                Span { start: i, end, reading: format!("{minus}{body} {words}{stop}") }
            });
        }
        // Number and unit in one token: "20°C", "5kWh", "-5°C".
        let (num, rest) = split_number_prefix(body)?;
        let u = unit(rest)?;
        let (one, decimal) = plain_number(num)?;
        if !Self::unit_ok(u, true, decimal) {
            return None;
        }
        Some(Span { start: i, end: i + 1, reading: format!("{minus}{num} {}", unit_words(u, one, self.british)) })
    }

    fn time(&self, i: usize) -> Option<Span> {
        let tx = self.text(i);
        // "9am-5pm", "9:00am-5:00pm": a range of clock times in one token, with am/pm on either end or both.
        if let Some((a, b)) = tx.split_once(['-', '–'])
            && let (Some(x), Some(y)) = (range_clock(a), range_clock(b))
            && (x.3.is_some() || y.3.is_some())
        {
            // A bare hour without am/pm ("9-5pm": *nine*) is the one reading without *o'clock*.
            let words = |(h, m, s, suffix): (u32, u32, Option<u32>, Option<&str>)| match (m, s, suffix) {
                (0, None, None) => cardinal_words(h),
                _ => time_words(h, m, s, suffix),
            };
            return Some(Span { start: i, end: i + 1, reading: format!("{} to {}", words(x), words(y)) });
        }
        if !tx.contains(':') {
            return None;
        }
        // Ratios: "a ratio of 3:2" → three to two.
        let ratio =
            (i.saturating_sub(3)..i).any(|k| matches!(self.text(k), "ratio" | "ratios" | "odds" | "Ratio" | "Odds"));
        if ratio
            && let Some((a, b)) = tx.split_once(':')
            && all_digits(a)
            && all_digits(b)
        {
            return Some(Span { start: i, end: i + 1, reading: format!("{a} to {b}") });
        }
        let (h, m, s, suffix) = parse_time(tx)?;
        let mut end = i + 1;
        let mut suffix = suffix;
        if suffix.is_none()
            && self.t[i].ws
            && let Some(x) = ampm(self.text(i + 1))
            && h <= 12
            && h > 0
        {
            suffix = Some(x);
            end = i + 2;
        }
        Some(Span { start: i, end, reading: time_words(h, m, s, suffix) })
    }

    fn date_words(&self, month: usize, day: u32, year: Option<&str>) -> String {
        // A two-digit year is a number; "05" reads oh five.
        let y = year.map(|y| match y.strip_prefix('0') {
            Some(d) if y.len() == 2 => format!(" oh {d}"),
            _ => format!(" {y}"),
        });
        if self.british {
            format!("the {} of {}{}", ordinal_words(day), MONTHS[month], y.map(|y| format!(",{y}")).unwrap_or_default())
        } else {
            format!("{} {}{}", MONTHS[month], ordinal_words(day), y.map(|y| format!(",{y}")).unwrap_or_default())
        }
    }

    /// "1/5/2024" (en-us month/day, en-gb day/month; a part over 12 decides), "2024-01-05".
    fn numeric_date(&self, i: usize) -> Option<Span> {
        let tx = self.text(i);
        let parts: Vec<&str> = tx.split('/').collect();
        if parts.len() == 3
            && parts.iter().all(|p| all_digits(p))
            && parts[0].len() <= 2
            && parts[1].len() <= 2
            && (parts[2].len() == 4 || parts[2].len() == 2)
        {
            let a: u32 = parts[0].parse().ok()?;
            let b: u32 = parts[1].parse().ok()?;
            let (m, d) = if a > 12 && b <= 12 {
                (b, a)
            } else if b > 12 && a <= 12 {
                (a, b)
            } else if self.british {
                (b, a)
            } else {
                (a, b)
            };
            if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
                return None;
            }
            return Some(Span { start: i, end: i + 1, reading: self.date_words(m as usize - 1, d, Some(parts[2])) });
        }
        // ISO: 2024 - 01 - 05 written together.
        if tx.len() == 4
            && all_digits(tx)
            && self.joined(i)
            && self.text(i + 1) == "-"
            && self.joined(i + 1)
            && self.joined(i + 2)
            && self.text(i + 3) == "-"
            && self.joined(i + 3)
        {
            let (mo, da) = (self.text(i + 2), self.text(i + 4));
            if mo.len() == 2 && da.len() == 2 && all_digits(mo) && all_digits(da) {
                let m: u32 = mo.parse().ok()?;
                let d: u32 = da.parse().ok()?;
                let y: u32 = tx.parse().ok()?;
                if (1..=12).contains(&m) && (1..=31).contains(&d) && (1000..3000).contains(&y) {
                    // The token after must not continue the number ("2024-01-05-7").
                    if self.joined(i + 4) && self.text(i + 5).starts_with(|c: char| c.is_alphanumeric() || c == '-') {
                        return None;
                    }
                    return Some(Span { start: i, end: i + 5, reading: self.date_words(m as usize - 1, d, Some(tx)) });
                }
            }
        }
        None
    }

    /// "January 5" → January fifth; "Jan. 5" → January fifth; "5 January" → the fifth of January.
    fn word_date(&self, i: usize) -> Option<Span> {
        let day = |s: &str| -> Option<u32> {
            if s.len() <= 2 && all_digits(s) { s.parse().ok().filter(|d| (1..=31).contains(d)) } else { None }
        };
        let tx = self.text(i);
        if let Some(m) = month_of(tx)
            && self.t[i].ws
        {
            let abbr = tx.ends_with('.');
            // "May" is also a verb and a name: only with a day after it.
            if let Some(d) = day(self.text(i + 1)) {
                // Not "May 5,000" or "May 5.5": the day token is whole, so only a following number-ish token matters.
                let next2 = self.text(i + 2);
                if self.joined(i + 1) && next2.starts_with(|c: char| c.is_alphanumeric()) {
                    return None;
                }
                return Some(Span {
                    start: if abbr { i } else { i + 1 },
                    end: i + 2,
                    reading: if abbr { format!("{} {}", MONTHS[m], ordinal_words(d)) } else { ordinal_words(d) },
                });
            }
            if abbr {
                // "Jan. 5th": the ordinal is misaki's; the month is read in full.
                let n = self.text(i + 1);
                if n.len() > 2
                    && ["st", "nd", "rd", "th"].iter().any(|s| n.strip_suffix(s).is_some_and(|d| day(d).is_some()))
                {
                    return Some(Span { start: i, end: i + 1, reading: MONTHS[m].to_string() });
                }
            }
            return None;
        }
        let d = day(tx)?;
        if !self.t[i].ws {
            return None;
        }
        let m = month_of(self.text(i + 1))?;
        let the = if matches!(self.prev_text(i), "the" | "The") { "" } else { "the " };
        Some(Span { start: i, end: i + 2, reading: format!("{the}{} of {}", ordinal_words(d), MONTHS[m]) })
    }

    fn roman(&self, i: usize) -> Option<Span> {
        let raw = self.text(i);
        // "Scene I." at the end of a sentence is one token for spaCy: the numeral, then the stop.
        let (tx, stop) = match raw.strip_suffix('.') {
            Some(t) if i + 1 == self.t.len() || self.t[i].ws => (t, "."),
            _ => (raw, ""),
        };
        let v = roman_value(tx)?;
        let mut p1 = self.prev_text(i).to_string();
        let mut p2 = if i >= 2 { self.text(i - 2) } else { "" };
        // "Vol. II": spaCy may split the stop off ("Vol" ".").
        if p1 == "." && i >= 2 && self.joined(i - 2) {
            p1 = format!("{p2}.");
            p2 = "";
        }
        let p1 = p1.as_str();
        if i == 0 || !self.t[i - 1].ws {
            return None;
        }
        // What follows must end the name: punctuation, a space, or the end.
        if self.joined(i) && !matches!(self.text(i + 1), "'s" | "’s" | "." | "," | ";" | ":" | "!" | "?" | ")") {
            return None;
        }
        let end_of_phrase = !stop.is_empty()
            || i + 1 >= self.t.len()
            || matches!(self.text(i + 1), "." | "," | ";" | ":" | "!" | "?" | ")" | "'s" | "’s");
        let war = p1 == "War" && p2 == "World";
        let bowl = p1 == "Bowl" && p2 == "Super";
        if war || bowl || ROMAN_CONTEXT.contains(&p1) {
            // "I" is the pronoun unless the phrase ends there ("Part I.") or it is World War I.
            if tx == "I" && !war && !end_of_phrase {
                return None;
            }
            // "Class C", "Type D", "Size L", "Model M": single letters other than I, V, X stay letters.
            if tx.len() == 1 && !matches!(tx, "I" | "V" | "X") {
                return None;
            }
            return Some(Span { start: i, end: i + 1, reading: format!("{}{stop}", cardinal_words(v)) });
        }
        if tx == "I" || (tx.len() == 1 && tx != "V") || ROMAN_WORDS.contains(&tx) {
            return None;
        }
        if !is_capitalised_name(p1) || p1 == "The" || month_of(p1).is_some() {
            return None;
        }
        Some(Span { start: i, end: i + 1, reading: format!("the {}{stop}", ordinal_words(v)) })
    }

    /// "555-123-4567", "1-800-555-1234", "555-1234", "(555) 123-4567", "+44 20 1234 5678": digit by digit.
    fn phone(&self, i: usize) -> Option<Span> {
        let digits = |s: &str| {
            s.chars()
                .map(|c| if c == '0' { "oh".to_string() } else { cardinal_words(c.to_digit(10).unwrap_or(0)) })
                .collect::<Vec<_>>()
                .join(" ")
        };
        let tx = self.text(i);
        // + country code, then 2 or more spaced groups of 1-4 digits.
        if let Some(cc) = tx.strip_prefix('+')
            && all_digits(cc)
            && cc.len() <= 3
            && self.t[i].ws
        {
            let mut groups = vec![cc];
            let mut k = i + 1;
            while k < self.t.len() && all_digits(self.text(k)) && self.text(k).len() <= 4 {
                groups.push(self.text(k));
                if !self.t[k].ws {
                    k += 1;
                    break;
                }
                k += 1;
            }
            if groups.len() >= 3 {
                let rest: Vec<String> = groups[1..].iter().map(|g| digits(g)).collect();
                return Some(Span { start: i, end: k, reading: format!("plus {}, {}", digits(cc), rest.join(", ")) });
            }
            return None;
        }
        // (555) 123-4567
        let (start, mut groups, mut k) = if tx == "("
            && self.text(i + 1).len() == 3
            && all_digits(self.text(i + 1))
            && self.joined(i)
            && self.joined(i + 1)
            && self.text(i + 2) == ")"
            && self.t[i + 2].ws
        {
            (i, vec![self.text(i + 1)], i + 3)
        } else if all_digits(tx) && (i == 0 || !matches!(self.prev_text(i), "-" | "+") || self.t[i - 1].ws) {
            (i, Vec::new(), i)
        } else {
            return None;
        };
        // groups joined by "-"
        loop {
            let g = self.text(k);
            if !all_digits(g) {
                break;
            }
            groups.push(g);
            if self.joined(k) && self.text(k + 1) == "-" && self.joined(k + 1) && all_digits(self.text(k + 2)) {
                k += 2;
            } else {
                k += 1;
                break;
            }
        }
        let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
        let ok = match lens.as_slice() {
            [3, 4] | [3, 3, 4] => true,
            [1, 3, 3, 4] => groups[0] == "1",
            _ => false,
        };
        // Not followed by more digits or a hyphen ("555-1234-99").
        if !ok
            || (k < self.t.len()
                && self.joined(k - 1)
                && self.text(k).starts_with(|c: char| c.is_ascii_digit() || c == '-'))
        {
            return None;
        }
        let words: Vec<String> = groups.iter().map(|g| digits(g)).collect();
        Some(Span { start, end: k, reading: words.join(", ") })
    }

    /// "12–20" (en dash), "pages 12-20", "5-10 km", "1990-2000": the dash read "to".
    fn range(&self, i: usize) -> Option<Span> {
        let a = self.text(i);
        // One token "5–12" (spaCy splits only hyphens between digits).
        if let Some((x, y)) = a.split_once('–')
            && all_digits(x)
            && all_digits(y)
        {
            return Some(Span { start: i, end: i + 1, reading: format!("{x} to {y}") });
        }
        let dash = self.text(i + 1);
        let b = self.text(i + 2);
        if !(dash == "-" || dash == "–") || plain_number(a).is_none() || plain_number(b).is_none() {
            return None;
        }
        if a.starts_with('-') || b.starts_with('-') {
            return None;
        }
        let tight = self.joined(i) && self.joined(i + 1);
        let spaced_en = dash == "–" && self.t[i].ws && self.t[i + 1].ws;
        if !tight && !spaced_en {
            return None;
        }
        // Not a longer chain ("1-2-3", dates, phone numbers).
        if (self.joined(i + 2) && matches!(self.text(i + 3), "-" | "–"))
            || (i > 0 && !self.t[i - 1].ws && matches!(self.prev_text(i), "-" | "–"))
        {
            return None;
        }
        let is_range = if dash == "–" {
            true
        } else {
            let years =
                a.len() == 4 && b.len() == 4 && all_digits(a) && all_digits(b) && a < b && a.starts_with(['1', '2']);
            let ctx = i > 0 && RANGE_CONTEXT.contains(&self.prev_text(i).to_lowercase().as_str());
            let unit_after = self.unit_at(i + 3).is_some() || matches!(self.text(i + 3), "%" | "percent");
            years || ctx || unit_after
        };
        is_range.then(|| Span { start: i + 1, end: i + 2, reading: "to".to_string() })
    }

    fn abbreviation(&self, i: usize) -> Option<Span> {
        // "Capt." may come as one token or as "Capt" + "." (spaCy knows only some abbreviations).
        let split_stop = self.joined(i) && self.text(i + 1) == "." && self.text(i).chars().all(char::is_alphabetic);
        let owned;
        let (tx, i_last) = if split_stop {
            owned = format!("{}.", self.text(i));
            (owned.as_str(), i + 1)
        } else {
            (self.text(i), i)
        };
        let mut s = self.abbreviation_at(i, tx, i_last)?;
        if s.end == i + 1 && i_last > i {
            s.end = i_last + 1;
        }
        Some(s)
    }

    fn abbreviation_at(&self, i: usize, tx: &str, i_last: usize) -> Option<Span> {
        let next = self.text(i_last + 1);
        let next_is_name = self.t[i_last].ws
            && (is_capitalised_name(next)
                || next.chars().next().is_some_and(|c| c.is_uppercase()) && next.len() > 1 && next.ends_with('.'));
        let prev_is_name = i > 0 && self.t[i - 1].ws && is_capitalised_name(self.prev_text(i));
        if tx == "St." {
            if next_is_name {
                return Some(Span { start: i, end: i + 1, reading: "Saint".into() });
            }
            if prev_is_name {
                return Some(Span { start: i, end: i + 1, reading: "Street".into() });
            }
            return None;
        }
        if let Some(&(_, w)) = STREET_ABBR.iter().find(|x| x.0 == tx)
            && prev_is_name
        {
            return Some(Span { start: i, end: i + 1, reading: w.into() });
        }
        if let Some(&(_, w)) = TITLES.iter().find(|x| x.0 == tx)
            && next_is_name
        {
            return Some(Span { start: i, end: i + 1, reading: w.into() });
        }
        if matches!(tx, "Jr." | "Sr.") && i > 0 && (is_capitalised_name(self.prev_text(i)) || self.prev_text(i) == ",")
        {
            return Some(Span { start: i, end: i + 1, reading: if tx == "Jr." { "Junior" } else { "Senior" }.into() });
        }
        // "Vol. 2", "Ch. IV": only before a number or a Roman numeral.
        if let Some(w) = match tx {
            "Vol." => Some("Volume"),
            "vol." => Some("volume"),
            "Ch." => Some("Chapter"),
            "ch." => Some("chapter"),
            _ => None,
        } && self.t[i_last].ws
            && (next.starts_with(|c: char| c.is_ascii_digit()) || roman_value(next).is_some())
        {
            return Some(Span { start: i, end: i_last + 1, reading: w.into() });
        }
        if matches!(tx, "approx." | "Approx.") && self.t[i_last].ws {
            return Some(Span { start: i, end: i + 1, reading: "approximately".into() });
        }
        // "No. 5", "Fig. 3" (spaCy splits the stop off: "No" "." "5"), only before a number.
        let word = match tx {
            "No." | "no." => Some("number"),
            "Nos." | "nos." => Some("numbers"),
            "Fig." | "fig." => Some("figure"),
            "Figs." | "figs." => Some("figures"),
            _ => None,
        };
        if let Some(w) = word
            && self.t[i_last].ws
            && next.starts_with(|c: char| c.is_ascii_digit())
        {
            return Some(Span { start: i, end: i_last + 1, reading: w.to_string() });
        }
        None
    }

    fn symbol(&self, i: usize) -> Option<Span> {
        let tx = self.text(i);
        // "#1" → number one.
        if tx == "#" && self.joined(i) && all_digits(self.text(i + 1)) {
            return Some(Span { start: i, end: i + 1, reading: "number".into() });
        }
        // "20×30", "3 × 4".
        if let Some((a, b)) = tx.split_once('×')
            && plain_number(a).is_some()
            && plain_number(b).is_some()
        {
            return Some(Span { start: i, end: i + 1, reading: format!("{a} times {b}") });
        }
        if tx == "×" && i > 0 && plain_number(self.prev_text(i)).is_some() && plain_number(self.text(i + 1)).is_some()
        {
            return Some(Span { start: i, end: i + 1, reading: "times".into() });
        }
        // A negative number spaCy tags NFP (misaki then reads nothing): "dropped to -5 degrees".
        if let Some(n) = tx.strip_prefix('-').or_else(|| tx.strip_prefix('−'))
            && (self.t[i].tag == "NFP" || tx.starts_with('−'))
            && plain_number(n).is_some_and(|_| !n.starts_with('-'))
        {
            return Some(Span { start: i, end: i + 1, reading: format!("minus {n}") });
        }
        None
    }

    fn url(&self, i: usize) -> Option<Span> {
        if self.t[i].tag != "ADD" {
            return None;
        }
        Some(Span { start: i, end: i + 1, reading: url_words(self.text(i))? })
    }
}

/// "https://www.example.co.uk/a-b" → "w w w dot example dot co dot u k slash a dash b".
fn url_words(s: &str) -> Option<String> {
    let lower = s.to_ascii_lowercase();
    let body = ["https://", "http://"].iter().find_map(|p| lower.strip_prefix(p).map(|_| &s[p.len()..])).unwrap_or(s);
    let mut out: Vec<String> = Vec::new();
    let mut word = String::new();
    let flush = |w: &mut String, out: &mut Vec<String>| {
        if w.is_empty() {
            return;
        }
        let lw = w.to_ascii_lowercase();
        if lw == "www" {
            out.push("w w w".into());
        } else if w.chars().all(|c| c.is_ascii_alphabetic())
            && w.len() <= 2
            && !matches!(
                lw.as_str(),
                "co" | "go"
                    | "me"
                    | "my"
                    | "to"
                    | "in"
                    | "on"
                    | "at"
                    | "is"
                    | "it"
                    | "we"
                    | "us"
                    | "up"
                    | "so"
                    | "no"
                    | "do"
                    | "be"
                    | "by"
                    | "of"
                    | "or"
                    | "an"
                    | "a"
            )
        {
            out.push(w.chars().map(|c| c.to_ascii_lowercase().to_string()).collect::<Vec<_>>().join(" "));
        } else if w.chars().all(|c| c.is_ascii_digit()) {
            out.push(w.chars().map(|c| c.to_string()).collect::<Vec<_>>().join(" "));
        } else {
            out.push(std::mem::take(w));
        }
        w.clear();
    };
    for c in body.chars() {
        let sym = match c {
            '.' => Some("dot"),
            '/' => Some("slash"),
            '@' => Some("at"),
            '-' => Some("dash"),
            '_' => Some("underscore"),
            ':' => Some("colon"),
            '?' => Some("question mark"),
            '=' => Some("equals"),
            '&' => Some("and"),
            '#' => Some("hash"),
            '~' => Some("tilde"),
            '+' => Some("plus"),
            '%' => Some("percent"),
            _ => None,
        };
        if let Some(w) = sym {
            flush(&mut word, &mut out);
            out.push(w.to_string());
        } else if c.is_ascii_alphanumeric() {
            if word.chars().next_back().is_some_and(|p| p.is_ascii_digit() != c.is_ascii_digit()) {
                flush(&mut word, &mut out);
            }
            word.push(c);
        } else if c.is_alphanumeric() {
            word.push(c);
        } else {
            return None;
        }
    }
    flush(&mut word, &mut out);
    if out.last().is_some_and(|w| w == "slash") {
        out.pop();
    }
    (!out.is_empty()).then(|| out.join(" "))
}

/// Every span to rewrite in `toks`, left to right, not overlapping.
pub fn find(toks: &[Tok<'_>], british: bool) -> Vec<Span> {
    let c = Ctx { t: toks, british };
    let mut out: Vec<Span> = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let found = c
            .url(i)
            .or_else(|| c.numeric_date(i))
            .or_else(|| c.phone(i))
            .or_else(|| c.time(i))
            .or_else(|| c.word_date(i))
            .or_else(|| c.range(i))
            .or_else(|| c.quantity(i))
            .or_else(|| c.units(i))
            .or_else(|| c.roman(i))
            .or_else(|| c.abbreviation(i))
            .or_else(|| c.symbol(i));
        match found {
            Some(s) if s.start >= i && s.end > s.start && s.end <= toks.len() => {
                i = s.end;
                out.push(s);
            }
            _ => i += 1,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn romans() {
        assert_eq!(roman_value("VIII"), Some(8));
        assert_eq!(roman_value("IV"), Some(4));
        assert_eq!(roman_value("XC"), Some(90));
        assert_eq!(roman_value("XIV"), Some(14));
        assert_eq!(roman_value("MCMXC"), Some(1990));
        assert_eq!(roman_value("IIII"), None);
        assert_eq!(roman_value("VX"), None);
        assert_eq!(roman_value("IC"), None);
        assert_eq!(roman_value(""), None);
        assert_eq!(roman_value("HELLO"), None);
    }

    #[test]
    fn times() {
        assert_eq!(time_words(3, 30, None, None), "three thirty");
        assert_eq!(time_words(10, 5, None, None), "ten oh five");
        assert_eq!(time_words(12, 0, None, None), "twelve o'clock");
        assert_eq!(time_words(15, 0, None, None), "fifteen hundred");
        assert_eq!(time_words(3, 0, None, Some("p.m.")), "three p.m.");
        assert_eq!(time_words(10, 15, Some(30), None), "ten fifteen and thirty seconds");
        assert_eq!(parse_time("3:30PM"), Some((3, 30, None, Some("p.m."))));
        assert_eq!(parse_time("25:00"), None);
        assert_eq!(parse_time("3:2"), None);
        assert_eq!(parse_time("13:00pm"), None);
    }

    #[test]
    fn urls() {
        assert_eq!(
            url_words("https://www.example.co.uk/a-b").as_deref(),
            Some("w w w dot example dot co dot u k slash a dash b")
        );
        assert_eq!(url_words("me@example.com").as_deref(), Some("me at example dot com"));
    }

    #[test]
    fn numbers_split() {
        assert_eq!(split_number_prefix("20°C"), Some(("20", "°C")));
        assert_eq!(split_number_prefix("2.5µm"), Some(("2.5", "µm")));
        assert_eq!(plain_number("1,234.5"), Some((false, true)));
        assert_eq!(plain_number("1"), Some((true, false)));
        assert_eq!(plain_number("1,23"), None);
    }
}
