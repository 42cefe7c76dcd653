//! Symbols around numbers and abbreviations in Spanish, French, Italian and Portuguese, rewritten as the words a
//! listener expects before espeak-ng reads the text.
//!
//! espeak-ng (and misaki, which feeds it text as written) reads the digits of these languages well but not the
//! symbols next to them: `-5 °C` loses its minus and *Celsius* (*cinco grados C*), `14h30` has a letter *h*, `1,80 m`
//! ends in the letter *m*, `12/05/1990` reads *barra* between its parts, `R$ 50` is *real cincuenta*, `5-10` is
//! *cinco menos dez* in Portuguese and `$100` is *dólar cien*. [`normalize`] rewrites a stretch of words (no
//! punctuation marks; see `espeak::split_marks`) into groups: the written words and what espeak should read for
//! them, where the numbers stay digits (espeak reads them, in the language's own way) and only the symbols become
//! words. Each group keeps its written words, so word timings still name what the user wrote.
//!
//! Rewritten: a minus sign before a number; ranges and scores (`5-10`, `2-1`); `3 x 4`; `nº 5`; dates
//! (day/month/year with `/`, `.` or `-`); clock times written with `h` (`14h30`, `9h`; Italian `14.30`); degrees
//! (`°C`, `°F`, `°`); metric units and currencies (`$`, `US$`, `R$`, `€`, `£`) before or after the amount, with the
//! singular and the article for one (*un metro*, *una hora*, *uma libra*), *un metro ochenta* for `1,80 m` and
//! *tres euros con cincuenta* for `3,50 €`. Abbreviations (`Sr.`, `Dra.`, `M.`, `Sig.ra`, `Dott.`, `pág.`, `etc.`,
//! `Av.`): their words (espeak spells `Sr` in Portuguese, cuts `etc` to *etk*), and their stop is not a full stop
//! ([`abbreviation_stop`]: the reference split *El Sr. García* into two sentences, *el señor. García*).
//! Everything else passes unchanged.

mod ordinals;
mod words;

use crate::Language;
use words::{Noun, Words};

/// Written words and what espeak reads for them (the same text when nothing was rewritten).
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    pub written: String,
    pub spoken: String,
}

/// The groups of one stretch of words for `lang`; one group per word for a language without a table (Hindi).
pub fn normalize(lang: Language, stretch: &str) -> Vec<Group> {
    let ws: Vec<&str> = stretch.split_whitespace().collect();
    let table = words::words(lang);
    let mut out = Vec::with_capacity(ws.len());
    let mut i = 0;
    while i < ws.len() {
        let last = i + 1 == ws.len();
        let prev = i.checked_sub(1).map(|k| ws[k]);
        let rule = table.and_then(|t| {
            ordinals::ordinal(lang, ws[i], prev)
                .map(|o| (1, o))
                .or_else(|| Rules { t, it: lang == Language::It }.at(&ws[i..], last))
        });
        let (n, spoken) = rule.unwrap_or_else(|| (1, ws[i].to_string()));
        out.push(Group { written: ws[i..i + n].join(" "), spoken });
        i += n;
    }
    out
}

/// Whether the `.` at byte `dot` of `text` belongs to an abbreviation of `lang` (`Sr.`, `Sig.ra`, `etc.`) rather
/// than ending a clause: inside one always; at its end when it is a title (a name follows) or when what follows
/// does not start a sentence (a lowercase word, a digit, a comma). At the end of the text it is a full stop.
pub fn abbreviation_stop(lang: Language, text: &str, dot: usize) -> bool {
    let Some(t) = words::words(lang) else { return false };
    if text.as_bytes().get(dot) != Some(&b'.') {
        return false;
    }
    let start = text[..dot]
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '.'))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let end = text[dot..].find(char::is_whitespace).map_or(text.len(), |i| dot + i);
    let word = text[start..end].trim_end_matches(|c: char| !(c.is_alphanumeric() || c == '.'));
    let inner = word.trim_end_matches('.');
    if dot + 1 < start + inner.len() && abbreviation(t, inner).is_some() {
        return true;
    }
    let Some((_, _, title)) = abbreviation(t, &text[start..=dot]) else { return false };
    match text[dot + 1..].chars().find(|c| !c.is_whitespace()) {
        None => false,
        Some(c) => *title || !c.is_uppercase(),
    }
}

/// Whether `word` (lowercase, without its stop: `sra`, `sig`, `dott`) is a title of es/fr/it/pt-br, whose stop
/// never ends a sentence; for the sentence splitters (`detect`, the engine's segmenter), so that the titles
/// live in one table.
pub fn is_title(word: &str) -> bool {
    [Language::Es, Language::Fr, Language::It, Language::PtBr].iter().filter_map(|&l| words::words(l)).any(|t| {
        t.abbreviations
            .iter()
            .any(|(a, _, title)| *title && a.strip_suffix('.').is_some_and(|a| a.to_lowercase() == word))
    })
}

/// The entry for `word` (as listed, or capitalised at a sentence start: `Etc.`).
fn abbreviation<'t>(t: &'t Words, word: &str) -> Option<&'t (&'static str, &'static str, bool)> {
    let capitalised = |a: &str| {
        let (mut x, mut y) = (a.chars(), word.chars());
        match (x.next(), y.next()) {
            (Some(p), Some(q)) => p.to_uppercase().eq(std::iter::once(q)) && x.eq(y),
            _ => false,
        }
    };
    t.abbreviations.iter().find(|(a, _, _)| *a == word || capitalised(a))
}

/// A number as written: digits with `.` or `,` between digit groups.
#[derive(Clone, Copy, Debug)]
struct Num<'a> {
    text: &'a str,
}

impl<'a> Num<'a> {
    /// The longest number at the start of `s`, and what follows it.
    fn lead(s: &'a str) -> Option<(Num<'a>, &'a str)> {
        let b = s.as_bytes();
        let mut end = 0;
        while end < b.len() {
            // A digit, or a separator between two digits.
            let separator = matches!(b[end], b'.' | b',') && end > 0 && b.get(end + 1).is_some_and(u8::is_ascii_digit);
            if !(b[end].is_ascii_digit() || separator) {
                break;
            }
            end += 1;
        }
        (end > 0).then(|| (Num { text: &s[..end] }, &s[end..]))
    }

    /// `s` as a whole number.
    fn whole(s: &'a str) -> Option<Num<'a>> {
        Num::lead(s).and_then(|(n, rest)| rest.is_empty().then_some(n))
    }

    fn digits_only(&self) -> bool {
        self.text.bytes().all(|c| c.is_ascii_digit())
    }

    /// The whole part (before a decimal comma) and the decimals.
    fn parts(&self) -> (&'a str, Option<&'a str>) {
        match self.text.rsplit_once(',') {
            Some((w, d)) => (w, Some(d)),
            None => (self.text, None),
        }
    }

    fn value(&self) -> Option<u32> {
        self.digits_only().then(|| self.text.parse().ok()).flatten()
    }
}

struct Rules<'t> {
    t: &'t Words,
    /// Italian writes clock times `14.30`.
    it: bool,
}

impl Rules<'_> {
    /// The rewriting that starts at `ws[0]`: how many words it covers and what espeak reads for them. `last`:
    /// `ws[0]` ends its stretch (a stop after it was split off as a sentence end).
    fn at(&self, ws: &[&str], last: bool) -> Option<(usize, String)> {
        let w = ws[0];
        let next = ws.get(1).copied();
        // `Sr.`, `Sig.ra`, `etc.`; `etc` whose stop ended the sentence.
        let dotted = format!("{w}.");
        if let Some((_, reading, _)) =
            abbreviation(self.t, w).or_else(|| abbreviation(self.t, &dotted).filter(|e| last && !e.2))
        {
            return Some((1, reading.to_string()));
        }
        // `nº 5`, `N.º5`.
        for mark in ["nº", "Nº", "n.º", "N.º", "n°", "N°"] {
            if let Some(rest) = w.strip_prefix(mark) {
                if Num::whole(rest).is_some() {
                    return Some((1, format!("{} {rest}", self.t.number)));
                }
                if rest.is_empty() && next.and_then(Num::whole).is_some() {
                    return Some((2, format!("{} {}", self.t.number, next.unwrap_or_default())));
                }
            }
        }
        // A currency before the amount: `$100`, `R$ 50`, `€ 3,50`.
        for (sym, noun) in self.t.currencies {
            if let Some(rest) = w.strip_prefix(sym) {
                let (used, amount) = if rest.is_empty() { (2, next?) } else { (1, rest) };
                let num = Num::whole(amount)?;
                let after = ws.get(used).copied();
                if let Some(mag) = after.filter(|a| self.t.magnitudes.contains(a)) {
                    return Some((used + 1, format!("{} {mag} {} {}", num.text, self.t.of, noun.many)));
                }
                return Some((used, self.amount(num, noun, self.t.money_rest)));
            }
        }
        if let Some(date) = self.date(w) {
            return Some((1, date));
        }
        let (minus, body) = match w.strip_prefix(['-', '−']) {
            Some(b) if b.starts_with(|c: char| c.is_ascii_digit()) => (Some(self.t.minus), b),
            _ => (None, w),
        };
        let (num, rest) = Num::lead(body)?;
        let (used, reading) = self.quantity(num, rest, &ws[1..])?;
        Some((
            used,
            match minus {
                Some(m) => format!("{m} {reading}"),
                None => reading,
            },
        ))
    }

    /// A number and what follows it in its word (`rest`) or in the next words (`after`): the words covered and the
    /// reading; `None` when there is nothing to rewrite (a bare number is espeak's to read).
    fn quantity(&self, num: Num, rest: &str, after: &[&str]) -> Option<(usize, String)> {
        let next = after.first().copied();
        // Italian clock time `14.30`.
        if self.it
            && rest.is_empty()
            && let Some((h, mm)) = num.text.split_once('.')
            && let (Ok(hv), 2, Ok(mv)) = (h.parse::<u32>(), mm.len(), mm.parse::<u32>())
            && h.len() <= 2
            && hv < 24
            && mv < 60
        {
            return Some((1, self.clock(h, mm)));
        }
        // A range or score: `5-10`, `1990-1995`, `2-1` (not `555-1234`: digit groups of unlike length).
        if let Some(b) = rest.strip_prefix(['-', '–'])
            && let Some((to, tail)) = Num::lead(b)
            && num.digits_only()
            && to.digits_only()
            && (num.text.len() == to.text.len() || (num.text.len() <= 2 && to.text.len() <= 2))
        {
            let range = format!("{} {} ", num.text, self.t.to);
            let (used, last) = match self.quantity(to, tail, after) {
                Some(q) => q,
                None if tail.is_empty() => (1, to.text.to_string()),
                None => return None,
            };
            return Some((used, range + &last));
        }
        // `3x4`, `3 x 4`.
        if let Some(b) = rest.strip_prefix('x').and_then(Num::whole) {
            return Some((1, format!("{} {} {}", num.text, self.t.by, b.text)));
        }
        if rest.is_empty()
            && let [x, b, ..] = after
            && (*x == "x" || *x == "×")
            && let Some(b) = Num::whole(b)
        {
            return Some((3, format!("{} {} {}", num.text, self.t.by, b.text)));
        }
        // A clock time or hours: `14h30`, `9h`.
        if let Some(mm) = rest.strip_prefix(['h', 'H'])
            && (mm.is_empty() || (mm.len() == 2 && mm.bytes().all(|c| c.is_ascii_digit())))
            && num.value().is_some_and(|h| h <= 24)
            && num.text.len() <= 2
        {
            return Some((1, self.clock(num.text, mm)));
        }
        let (used, suffix) = if !rest.is_empty() { (1, rest) } else { (2, next?) };
        if let Some(noun) = self.t.currencies.iter().find(|c| c.0 == suffix).map(|c| &c.1) {
            return Some((used, self.amount(num, noun, self.t.money_rest)));
        }
        // Litres are also written with a capital L.
        let unit =
            self.t.units.iter().find(|u| u.0 == suffix || (suffix.ends_with('L') && u.0 == suffix.to_lowercase()));
        if let Some((symbol, noun)) = unit {
            let rest_word = if *symbol == "m" { Some(self.t.metre_rest) } else { None };
            return Some((used, rest_word.map_or_else(|| self.count(num, noun), |r| self.amount(num, noun, r))));
        }
        let (used, scale) = match (suffix, ws_after(used, next)) {
            // `20° C`: the scale in the next word.
            ("°", Some(c @ ("C" | "F"))) if used == 1 => (2, c),
            ("°", _) => (used, ""),
            ("°C" | "ºC", _) => (used, "C"),
            ("°F" | "ºF", _) => (used, "F"),
            _ => return None,
        };
        let degrees = self.count(num, &self.t.degree);
        Some((
            used,
            match scale {
                "C" => format!("{degrees} {}", self.t.celsius),
                "F" => format!("{degrees} {}", self.t.fahrenheit),
                _ => degrees,
            },
        ))
    }

    /// `num` followed by `noun`, agreeing in number (and for one, in gender).
    fn count(&self, num: Num, noun: &Noun) -> String {
        let (whole, _) = num.parts();
        let singular = if self.t.plural_from_two { matches!(whole, "0" | "1") } else { num.text == "1" };
        let word = if singular { noun.one } else { noun.many };
        format!("{} {word}", self.number_for(num.text, noun))
    }

    /// An amount with two decimals read as the whole units and the rest (`1,80 m` → *un metro ochenta*, `3,50 €`
    /// → *tres euros con cincuenta*); other amounts as [`Rules::count`].
    fn amount(&self, num: Num, noun: &Noun, joiner: &str) -> String {
        let (whole, decimals) = num.parts();
        match decimals {
            Some(d) if d.len() == 2 && whole != "0" && Num::whole(whole).is_some() => {
                let whole_part = self.count(Num { text: whole }, noun);
                let cents = d.trim_start_matches('0');
                if cents.is_empty() { whole_part } else { join_words(&[&whole_part, joiner, cents]) }
            }
            _ => self.count(num, noun),
        }
    }

    /// How `n` is written before `noun`: the article for one (*un*, *una*), a feminine numeral where espeak would
    /// read a masculine one, else the digits.
    fn number_for(&self, n: &str, noun: &Noun) -> String {
        if n == "1" {
            return (if noun.feminine { self.t.one_f } else { self.t.one_m }).to_string();
        }
        if noun.feminine
            && let Some((_, w)) = self.t.feminine_numbers.iter().find(|(d, _)| *d == n)
        {
            return w.to_string();
        }
        n.to_string()
    }

    /// A clock time or a number of hours: `h` hours and `mm` minutes (empty or `00` for none).
    fn clock(&self, h: &str, mm: &str) -> String {
        let h = h.trim_start_matches('0');
        let h = if h.is_empty() { "0" } else { h };
        let minutes = mm.trim_start_matches('0');
        if minutes.is_empty() {
            return self.count(Num { text: h }, &self.t.hour);
        }
        let hours = if self.t.hour_with_minutes { self.count(Num { text: h }, &self.t.hour) } else { h.to_string() };
        join_words(&[&hours, self.t.hour_minutes, minutes])
    }

    /// Day/month/year (`12/05/1990`, `1.3.24`, `12-05-1990`) as the language says it.
    fn date(&self, w: &str) -> Option<String> {
        let sep = w.chars().find(|c| matches!(c, '/' | '.' | '-'))?;
        let parts: Vec<&str> = w.split(sep).collect();
        let [d, m, y] = parts.as_slice() else { return None };
        let (day, month) = (Num::whole(d)?.value()?, Num::whole(m)?.value()?);
        if !(1..=31).contains(&day) || !(1..=12).contains(&month) || d.len() > 2 || m.len() > 2 {
            return None;
        }
        if !(y.len() == 4 || y.len() == 2) || !y.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let day = if day == 1 { self.t.first_day.to_string() } else { day.to_string() };
        let month = self.t.months[month as usize - 1];
        Some(join_words(&[&day, self.t.date_of, month, self.t.date_of, y]))
    }
}

/// The word after a suffix that took `used` words: the next word when the suffix was attached to the number.
fn ws_after(used: usize, next: Option<&str>) -> Option<&str> {
    if used == 1 { next } else { None }
}

/// The non-empty words of `parts`, space-separated (a language's empty joining word leaves no double space).
fn join_words(parts: &[&str]) -> String {
    parts.iter().filter(|s| !s.is_empty()).copied().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use Language::*;

    fn spoken(lang: Language, s: &str) -> String {
        normalize(lang, s).iter().map(|g| g.spoken.as_str()).collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn symbols_become_the_words_of_each_language() {
        for (lang, written, expected) in [
            // Minus, degrees.
            (Es, "hace -5 °C", "hace menos 5 grados Celsius"),
            (Es, "-5°C", "menos 5 grados Celsius"),
            (Fr, "il fait −12,5 °F", "il fait moins 12,5 degrés Fahrenheit"),
            (It, "-1 °C", "meno un grado Cèlsius"),
            (PtBr, "40° C", "40 graus Celsius"),
            (PtBr, "40°", "40 graus"),
            (Fr, "1,5 °C", "1,5 degré Celsius"),
            // Clock times and hours.
            (Fr, "à 14h30", "à 14 heures 30"),
            (Fr, "1h05", "une heure 5"),
            (Es, "a las 14h30", "a las 14 horas y 30"),
            (Es, "21h", "veintiuna horas"),
            (It, "alle 14.30", "alle 14 e 30"),
            (It, "24h", "24 ore"),
            (PtBr, "às 2h", "às duas horas"),
            (PtBr, "14h00", "14 horas"),
            // Units, heights, ranges, products.
            (Es, "mide 1,80 m", "mide un metro 80"),
            (It, "1,80 m", "un metro e 80"),
            (Fr, "2,05 m", "2 mètres 5"),
            (Es, "5 km", "5 kilómetros"),
            (Es, "1 km", "un kilómetro"),
            (Fr, "10 km/h", "10 kilomètres heure"),
            (PtBr, "2,5 L", "2,5 litros"),
            (It, "500g", "500 grammi"),
            (Es, "de 5-10 km", "de 5 a 10 kilómetros"),
            (PtBr, "de 5-10 anos", "de 5 a 10 anos"),
            (Fr, "2-1", "2 à 1"),
            (Es, "1990-1995", "1990 a 1995"),
            (Es, "3 x 4", "3 por 4"),
            (Fr, "3x4", "3 fois 4"),
            (Es, "nº 5", "número 5"),
            (PtBr, "N.º5", "número 5"),
            // Money.
            (Es, "$100", "100 dólares"),
            (Es, "3,50 €", "3 euros con 50"),
            (Fr, "3,50 €", "3 euros 50"),
            (It, "25€", "25 euro"),
            (PtBr, "R$ 50", "50 reais"),
            (PtBr, "R$1,50", "um real e 50"),
            (PtBr, "£1", "uma libra"),
            (Es, "US$ 5 millones", "5 millones de dólares"),
            (Fr, "1 €", "un euro"),
            // Dates.
            (Es, "el 12/05/1990", "el 12 de mayo de 1990"),
            (Fr, "le 1/3/2024", "le 1er mars 2024"),
            (It, "1.5.2024", "1º maggio 2024"),
            (PtBr, "12-05-1990", "12 de maio de 1990"),
        ] {
            assert_eq!(spoken(lang, written), expected, "{lang}: {written}");
        }
    }

    #[test]
    fn abbreviations_are_said_and_their_stop_ends_nothing() {
        for (lang, written, expected) in [
            (Es, "El Sr. García y la Dra. López", "El señor García y la doctora López"),
            (Es, "ver pág. 5, etc.", "ver página 5, etcétera"),
            (Fr, "M. Dupont et Mme Martin", "monsieur Dupont et madame Martin"),
            (It, "il Sig. Rossi e la Dott.ssa Bianchi", "il signor Rossi e la dottoressa Bianchi"),
            (PtBr, "o Sr. Silva na Av. Paulista", "o senhor Silva na avenida Paulista"),
            (PtBr, "Etc.", "etcétera"),
            (Es, "y etc", "y etcétera"),
        ] {
            assert_eq!(spoken(lang, written), expected, "{lang}: {written}");
        }
        // Only where the language has them, and a title needs its stop (French `M` alone is a letter).
        assert_eq!(spoken(Fr, "la lettre M"), "la lettre M");
        assert_eq!(spoken(EnUs, "Sr."), "Sr.");
        assert_eq!(spoken(Fr, "un tel homme"), "un tel homme");
        let stop = |lang, text: &str| {
            text.char_indices()
                .filter(|(_, c)| *c == '.')
                .map(|(i, _)| abbreviation_stop(lang, text, i))
                .collect::<Vec<_>>()
        };
        // A title's stop never ends a sentence; `etc.` before a capital or at the end does.
        assert_eq!(stop(Es, "El Sr. García llegó."), [true, false]);
        assert_eq!(stop(Es, "Trajo pan, etc. Luego se fue."), [false, false]);
        assert_eq!(stop(Es, "Trajo pan, etc., y se fue."), [true, false]);
        assert_eq!(stop(Es, "Vea la pág. 5."), [true, false]);
        assert_eq!(stop(It, "La Sig.ra Rossi."), [true, false]);
        assert_eq!(stop(It, "Arriva la Sig.ra."), [true, false]);
        assert_eq!(stop(Es, "(Dr. No)"), [true]);
        assert_eq!(stop(Fr, "M. Dupont"), [true]);
        assert_eq!(stop(EnUs, "Mr. Smith"), [false]);
        assert_eq!(stop(Es, "Hola."), [false]);
        assert!(is_title("sra") && is_title("sig") && is_title("dott") && is_title("m") && is_title("av"));
        assert!(!is_title("etc") && !is_title("mme") && !is_title("sig.ra") && !is_title("hola"));
    }

    #[test]
    fn ordinals_and_roman_numerals() {
        for (lang, written, expected) in [
            (Fr, "au 2e étage", "au 2ème étage"),
            (Fr, "la 1re fois", "la première fois"),
            (Fr, "le 1er mai", "le premier mai"),
            (Fr, "au XIXe siècle", "au 19ème siècle"),
            (Fr, "les XVIIe et XVIIIe siècles", "les 17ème et 18ème siècles"),
            (Fr, "Louis XIV et François Ier", "Louis 14 et François premier"),
            (Fr, "Malcolm X", "Malcolm X"),
            (Fr, "MIX", "MIX"),
            (Fr, "Le MIX et le CD", "Le MIX et le CD"),
            (Fr, "Ce De Me Ve", "Ce De Me 5ème"),
            (Es, "el 1er piso y el 3er día", "el primer piso y el tercer día"),
            (Es, "el 1.º y la 2.ª", "el 1º y la 2ª"),
            (PtBr, "o 1.º lugar", "o 1º lugar"),
        ] {
            assert_eq!(spoken(lang, written), expected, "{lang}: {written}");
        }
    }

    #[test]
    fn look_alikes_and_other_languages_stay_as_written() {
        for (lang, written) in [
            (Es, "tengo 5 gatos y 3,5 kilos"),
            (Es, "el 2º piso, la 3ª vez"),
            (Es, "1.000.000 de personas"),
            (Es, "llama al 555-1234"),
            (Es, "x-men 5m2 4x m-5 h2o"),
            (Fr, "le 12/05 et 14:30"),
            (Es, "a las 14.30"),
            (It, "3,50 e 14.75"),
            (PtBr, "- 5 e -"),
            (Hi, "-5 °C"),
            (EnUs, "-5 °C"),
        ] {
            assert_eq!(spoken(lang, written), written.split_whitespace().collect::<Vec<_>>().join(" "), "{lang}");
        }
    }

    #[test]
    fn groups_keep_the_written_words() {
        let g = normalize(Es, "hace -5 °C hoy");
        let written: Vec<&str> = g.iter().map(|g| g.written.as_str()).collect();
        assert_eq!(written, ["hace", "-5 °C", "hoy"]);
        assert_eq!(g[1].spoken, "menos 5 grados Celsius");
    }

    proptest::proptest! {
        /// Any text: no panic, and the groups cover the written words in order.
        #[test]
        fn groups_cover_the_words(text in "([-−0-9.,/hx°ºCFm€$£R ]|nº|km/h|US\\$|[a-zé]{1,3}){0,12}") {
            for lang in [Es, Fr, It, PtBr] {
                let written: Vec<String> = normalize(lang, &text).into_iter().map(|g| g.written).collect();
                proptest::prop_assert_eq!(written.join(" "), text.split_whitespace().collect::<Vec<_>>().join(" "));
            }
        }
    }
}
