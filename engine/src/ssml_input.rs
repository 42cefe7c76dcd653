//! SSML documents (parsed by `warble-ssml`) to the speaking plan: languages, voices, `<say-as>` readings,
//! `<phoneme>` pronunciations, breaks and marks.

use warble_g2p::{Language, Token};
use warble_ssml::{Alphabet, Content, Document, EventKind, Gender, InterpretAs, Item, SayAs, Segment};

use crate::plan::{Piece, Step};
use crate::{Engine, EngineError, SynthesisOptions};

impl Engine {
    /// Turns a parsed document into a plan. `lang` is the caller's language (None: detect per segment).
    pub(crate) fn document_steps(
        &self,
        doc: &Document,
        lang: Option<Language>,
        opts: &SynthesisOptions,
        warnings: &mut Vec<String>,
    ) -> Result<Vec<Step>, EngineError> {
        let mut steps: Vec<Step> = Vec::new();
        for item in doc.items() {
            match item {
                Item::Event(EventKind::Break { ms, .. }) => steps.push(Step::Break(*ms)),
                Item::Event(EventKind::Mark { name }) => steps.push(Step::Mark(name.clone())),
                Item::Event(EventKind::ParagraphStart | EventKind::ParagraphEnd) => steps.push(Step::Boundary),
                Item::Event(EventKind::SentenceStart | EventKind::SentenceEnd | EventKind::Audio { .. }) => {}
                Item::Segment(seg) => {
                    let seg_lang = match seg.lang.as_deref() {
                        Some(tag) => match language_of_tag(tag) {
                            Some(l) => Some(l),
                            None => {
                                warnings.push(format!(
                                    "xml:lang=\"{tag}\" is not a language Warble speaks (en-US, en-GB, es, fr, it, pt-BR, hi, ja, zh); detecting the language instead"
                                ));
                                lang
                            }
                        },
                        None => lang,
                    };
                    let voice = self.segment_voice(seg, seg_lang, warnings);
                    let leading_space = seg_text(seg).starts_with(char::is_whitespace);
                    if leading_space {
                        mark_word_boundary(&mut steps);
                    }
                    match &seg.content {
                        Content::Text { text, say_as } => {
                            let text = match say_as {
                                Some(sa) => say_as_text(text, sa, seg_lang.unwrap_or(Language::EnUs), warnings),
                                None => text.clone(),
                            };
                            let speaker = voice.as_deref().unwrap_or(&opts.voice);
                            for (l, t) in crate::plan::language_runs(&text, seg_lang, speaker, warnings) {
                                let tokens = self.g2p(l)?.phonemize(&t)?;
                                steps.push(Step::Speak(Piece {
                                    lang: l,
                                    voice: voice.clone(),
                                    tokens,
                                    controls: seg.controls.clone(),
                                }));
                            }
                        }
                        Content::Phonemes { alphabet, ph, text } => {
                            let l = seg_lang.unwrap_or(Language::EnUs);
                            let kokoro = match alphabet {
                                Alphabet::Kokoro => ph.clone(),
                                Alphabet::Ipa => ipa_to_kokoro(ph, l),
                            };
                            let phonemes = self.check_symbols(kokoro.trim(), opts.lenient)?;
                            steps.push(Step::Speak(Piece {
                                lang: l,
                                voice: voice.clone(),
                                tokens: vec![Token {
                                    graphemes: text.clone(),
                                    phonemes,
                                    whitespace: String::new(),
                                    is_punctuation: false,
                                }],
                                controls: seg.controls.clone(),
                            }));
                        }
                    }
                    if seg_text(seg).ends_with(char::is_whitespace) {
                        mark_word_boundary(&mut steps);
                    }
                }
            }
        }
        Ok(steps)
    }

    /// The voice a segment asks for: a name or blend as is; otherwise gender (and variant) chooses among the
    /// voices of the segment's language by Kokoro's naming (`af_…` female, `am_…` male).
    fn segment_voice(&self, seg: &Segment, lang: Option<Language>, warnings: &mut Vec<String>) -> Option<String> {
        let v = seg.voice.as_deref()?;
        if let Some(name) = &v.name {
            return Some(name.clone());
        }
        if v.age.is_some() {
            warnings.push("<voice age> is ignored: Kokoro's voices carry no age; choose one by name or gender".into());
        }
        let gender = v.gender?;
        let lang = lang.unwrap_or(Language::EnUs);
        let letter = match gender {
            Gender::Female => 'f',
            Gender::Male => 'm',
            Gender::Neutral => {
                warnings.push(
                    "<voice gender=\"neutral\">: Kokoro's voices are female or male; keeping the current voice".into(),
                );
                return None;
            }
        };
        let prefix: String = [lang.voice_prefix(), letter, '_'].iter().collect();
        let mut matching: Vec<&str> = self.voices.names().into_iter().filter(|n| n.starts_with(&prefix)).collect();
        matching.sort_unstable();
        let pick = v.variant.unwrap_or(1).max(1) as usize - 1;
        match matching.get(pick).or(matching.first()) {
            Some(name) => Some((*name).to_string()),
            None => {
                warnings.push(format!("no {gender:?} voice for {lang}; keeping the current voice"));
                None
            }
        }
    }
}

fn seg_text(seg: &Segment) -> &str {
    match &seg.content {
        Content::Text { text, .. } => text,
        Content::Phonemes { .. } => "",
    }
}

/// A word boundary after the last spoken step: its last token gets a trailing space.
fn mark_word_boundary(steps: &mut [Step]) {
    if let Some(Step::Speak(p)) = steps.last_mut()
        && let Some(t) = p.tokens.last_mut()
        && t.whitespace.is_empty()
    {
        t.whitespace = " ".into();
    }
}

/// `xml:lang` to a language: the full tag first (`en-GB`, `pt-BR`), then its primary subtag (`fr-CA` → `fr`).
pub fn language_of_tag(tag: &str) -> Option<Language> {
    if let Ok(l) = Language::parse(tag) {
        return Some(l);
    }
    let lower = tag.to_ascii_lowercase().replace('_', "-");
    // Commonwealth English reads closer to Kokoro's British voices and lexicon.
    if ["en-au", "en-nz", "en-ie", "en-za", "en-in", "en-sg"].iter().any(|p| lower.starts_with(p)) {
        return Some(Language::EnGb);
    }
    let primary = lower.split('-').next().unwrap_or("");
    Language::parse(primary).ok()
}

/// Rewrites `<say-as>` content into text the front end reads the intended way.
fn say_as_text(text: &str, sa: &SayAs, lang: Language, warnings: &mut Vec<String>) -> String {
    let t = text.trim();
    let english = matches!(lang, Language::EnUs | Language::EnGb);
    let out = match sa.interpret_as {
        InterpretAs::Characters | InterpretAs::SpellOut => {
            // One character per word: letters as capitals (read as letter names), digits as digits.
            let chars: Vec<String> = t
                .chars()
                .filter(|c| !c.is_whitespace())
                .map(|c| if c.is_alphabetic() { c.to_uppercase().collect() } else { c.to_string() })
                .collect();
            chars.join(" ")
        }
        InterpretAs::Digits => t.chars().filter(|c| !c.is_whitespace()).map(String::from).collect::<Vec<_>>().join(" "),
        InterpretAs::Cardinal => strip_group_separators(t),
        InterpretAs::Ordinal => {
            let n = strip_group_separators(t);
            if english && !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) {
                format!("{n}{}", english_ordinal_suffix(&n))
            } else {
                n
            }
        }
        InterpretAs::Date => match (english, date_text(t, sa.format.as_deref())) {
            (true, Some(d)) => d,
            (true, None) => {
                warnings.push(format!(
                    "<say-as interpret-as=\"date\"> could not read {t:?} with format {:?} (use digits with / - or . and a format such as mdy, dmy, ymd, md, dm, ym, my, y); read as written",
                    sa.format.as_deref().unwrap_or("mdy")
                ));
                t.to_string()
            }
            (false, _) => {
                warnings.push(format!("<say-as interpret-as=\"date\"> is read as written in {lang}"));
                t.to_string()
            }
        },
        // Times, telephone numbers and currency amounts are what the front ends' normalisation reads already.
        InterpretAs::Time | InterpretAs::Telephone | InterpretAs::Currency => t.to_string(),
    };
    // Keep the segment's boundary spaces.
    let mut s = String::new();
    if text.starts_with(char::is_whitespace) {
        s.push(' ');
    }
    s.push_str(&out);
    if text.ends_with(char::is_whitespace) {
        s.push(' ');
    }
    s
}

fn strip_group_separators(t: &str) -> String {
    let chars: Vec<char> = t.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let between_digits =
            i > 0 && i + 1 < chars.len() && chars[i - 1].is_ascii_digit() && chars[i + 1].is_ascii_digit();
        if between_digits && matches!(c, ',' | '_' | ' ' | '\u{a0}' | '\u{202f}' | '\'') {
            continue;
        }
        out.push(c);
    }
    out
}

fn english_ordinal_suffix(n: &str) -> &'static str {
    let last2 = n.len().saturating_sub(2);
    let tens = n[last2..].parse::<u32>().unwrap_or(0);
    if (11..=13).contains(&tens) {
        return "th";
    }
    match n.chars().last() {
        Some('1') => "st",
        Some('2') => "nd",
        Some('3') => "rd",
        _ => "th",
    }
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

/// An English date from numeric fields in the order `format` gives (`mdy` when absent).
fn date_text(t: &str, format: Option<&str>) -> Option<String> {
    let format = format.unwrap_or("mdy").to_ascii_lowercase();
    let fields: Vec<&str> = t.split(['/', '-', '.', ' ']).filter(|f| !f.is_empty()).collect();
    if fields.len() != format.len() || fields.iter().any(|f| !f.chars().all(|c| c.is_ascii_digit()) || f.len() > 4) {
        return None;
    }
    let (mut y, mut m, mut d) = (None, None, None);
    for (k, f) in format.chars().zip(&fields) {
        let v: u32 = f.parse().ok()?;
        match k {
            'y' => y = Some(*f),
            'm' if (1..=12).contains(&v) => m = Some(v),
            'd' if (1..=31).contains(&v) => d = Some(v),
            _ => return None,
        }
    }
    let month = m.map(|m| MONTHS[m as usize - 1]);
    let day = d.map(|d| {
        let s = d.to_string();
        format!("{s}{}", english_ordinal_suffix(&s))
    });
    Some(match (month, day, y) {
        (Some(m), Some(d), Some(y)) => format!("{m} {d}, {y}"),
        (Some(m), Some(d), None) => format!("{m} {d}"),
        (Some(m), None, Some(y)) => format!("{m} {y}"),
        (Some(m), None, None) => m.to_string(),
        (None, Some(d), None) => format!("the {d}"),
        (None, None, Some(y)) => y.to_string(),
        _ => return None,
    })
}

/// IPA as dictionaries write it → Kokoro's symbols (misaki's conventions): diphthongs and affricates become
/// Kokoro's single letters, tie bars and other diacritics Kokoro lacks go. For English, `r` is the approximant ɹ.
pub fn ipa_to_kokoro(ipa: &str, lang: Language) -> String {
    let english = matches!(lang, Language::EnUs | Language::EnGb);
    let s: String = ipa
        .chars()
        .filter(|c| !matches!(c, '\u{361}' | '\u{35c}' | '/' | '[' | ']' | '.'))
        .map(|c| match c {
            '\'' => 'ˈ',
            'g' => 'ɡ',
            'ɫ' => 'l',
            'ɘ' | 'ɵ' => 'ə',
            'ʉ' => 'u',
            'ɝ' => 'ɜ',
            'ˑ' => 'ː',
            _ => c,
        })
        .collect();
    let mut out = s;
    for (from, to) in [
        ("eɪ", "A"),
        ("aɪ", "I"),
        ("oʊ", "O"),
        ("əʊ", "Q"),
        ("aʊ", "W"),
        ("ɔɪ", "Y"),
        ("tʃ", "ʧ"),
        ("dʒ", "ʤ"),
        ("ts", "ʦ"),
        ("dz", "ʣ"),
    ] {
        if english || matches!(from, "tʃ" | "dʒ") {
            out = out.replace(from, to);
        }
    }
    if english {
        out = out.replace('r', "ɹ");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipa_maps_to_kokoro_letters() {
        assert_eq!(ipa_to_kokoro("/təˈmeɪtoʊ/", Language::EnUs), "təˈmAtO");
        assert_eq!(ipa_to_kokoro("t͡ʃɜrtʃ", Language::EnUs), "ʧɜɹʧ");
        assert_eq!(ipa_to_kokoro("ˈpero", Language::Es), "ˈpero");
    }

    #[test]
    fn say_as_readings() {
        let sa = |i, f: Option<&str>| SayAs { interpret_as: i, format: f.map(String::from), detail: None };
        let mut w = Vec::new();
        assert_eq!(say_as_text("abc", &sa(InterpretAs::Characters, None), Language::EnUs, &mut w), "A B C");
        assert_eq!(say_as_text("1234", &sa(InterpretAs::Digits, None), Language::EnUs, &mut w), "1 2 3 4");
        assert_eq!(say_as_text("1,234,567", &sa(InterpretAs::Cardinal, None), Language::EnUs, &mut w), "1234567");
        assert_eq!(say_as_text("112", &sa(InterpretAs::Ordinal, None), Language::EnUs, &mut w), "112th");
        assert_eq!(say_as_text("22", &sa(InterpretAs::Ordinal, None), Language::EnUs, &mut w), "22nd");
        assert_eq!(
            say_as_text("12/25/2024", &sa(InterpretAs::Date, Some("mdy")), Language::EnUs, &mut w),
            "December 25th, 2024"
        );
        assert_eq!(
            say_as_text("25.12.2024", &sa(InterpretAs::Date, Some("dmy")), Language::EnGb, &mut w),
            "December 25th, 2024"
        );
        assert_eq!(say_as_text("2024-03", &sa(InterpretAs::Date, Some("ym")), Language::EnUs, &mut w), "March 2024");
        assert!(w.is_empty());
        assert_eq!(
            say_as_text("13/45/2024", &sa(InterpretAs::Date, Some("mdy")), Language::EnUs, &mut w),
            "13/45/2024"
        );
        assert_eq!(w.len(), 1);
    }

    #[test]
    fn language_tags() {
        assert_eq!(language_of_tag("en-US"), Some(Language::EnUs));
        assert_eq!(language_of_tag("en-GB"), Some(Language::EnGb));
        assert_eq!(language_of_tag("en-AU"), Some(Language::EnGb));
        assert_eq!(language_of_tag("fr-CA"), Some(Language::Fr));
        assert_eq!(language_of_tag("pt-BR"), Some(Language::PtBr));
        assert_eq!(language_of_tag("ja-JP"), Some(Language::Ja));
        assert_eq!(language_of_tag("de-DE"), None);
    }
}
