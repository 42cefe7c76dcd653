//! Attribute value grammars and the keyword tables.
//!
//! SSML leaves the *meaning* of its keywords (`x-slow`, `loud`, `strong`, …) to the
//! synthesis processor; only their ordering is normative. Warble fixes them here, in
//! one place, so that the parser, the README and the engine agree. Every table below
//! is repeated in `ssml/README.md`; a test checks the two stay in sync numerically
//! through the constants exported from this module.
//!
//! The grammars are deliberately strict (decimal numbers only, no exponents, no
//! `inf`/`nan`), because every accepted value ends up as a control signal on the model
//! and a typo should be reported, not silently turned into something odd. Units and
//! keywords are matched ASCII-case-insensitively (`200hz`, `+6DB` are accepted), which
//! is the only leniency.
//!
//! # Keyword tables
//!
//! | `rate`    | factor of the default rate |
//! |-----------|------|
//! | `x-slow`  | 0.50 |
//! | `slow`    | 0.75 |
//! | `medium`  | 1.00 |
//! | `fast`    | 1.25 |
//! | `x-fast`  | 1.75 |
//! | `default` | 1.00 |
//!
//! | `pitch`   | change from the voice default |
//! |-----------|-------|
//! | `x-low`   | −6 st |
//! | `low`     | −3 st |
//! | `medium`  | 0 st  |
//! | `high`    | +3 st |
//! | `x-high`  | +6 st |
//! | `default` | 0 st  |
//!
//! | `range`   | factor of the natural F0 excursion |
//! |-----------|------|
//! | `x-low`   | 0.50 |
//! | `low`     | 0.75 |
//! | `medium`  | 1.00 |
//! | `high`    | 1.50 |
//! | `x-high`  | 2.00 |
//! | `default` | 1.00 |
//!
//! | `volume`  | gain |
//! |-----------|------|
//! | `silent`  | silence (−∞ dB) |
//! | `x-soft`  | −12 dB |
//! | `soft`    | −6 dB  |
//! | `medium`  | 0 dB   |
//! | `loud`    | +6 dB  |
//! | `x-loud`  | +12 dB |
//! | `default` | 0 dB   |
//!
//! | break `strength` | silence |
//! |------------|---------|
//! | `none`     | 0 ms    |
//! | `x-weak`   | 100 ms  |
//! | `weak`     | 250 ms  |
//! | `medium`   | 500 ms  |
//! | `strong`   | 750 ms  |
//! | `x-strong` | 1000 ms |
//!
//! | `emphasis` | rate ×  | pitch   | volume  |
//! |------------|---------|---------|---------|
//! | `strong`   | 0.90    | +2 st   | +3 dB   |
//! | `moderate` | 0.95    | +1 st   | +1.5 dB |
//! | `none`     | 1.00    | 0 st    | 0 dB    |
//! | `reduced`  | 1.10    | −1 st   | −3 dB   |
//!
//! Keywords are *absolute*: they are measured from the voice's default, not from
//! the enclosing element, so `<prosody rate="slow">` inside `<prosody rate="x-fast">`
//! is plain `slow` (0.75). Only explicitly relative forms (`+10%`, `-2st`, `+3dB`, …)
//! compose with the enclosing value.

use crate::model::{BreakStrength, EmphasisLevel, PitchChange, Volume};

/// Rate keyword factors, in the order x-slow, slow, medium, fast, x-fast.
pub const RATE_KEYWORDS: [(&str, f32); 6] =
    [("x-slow", 0.5), ("slow", 0.75), ("medium", 1.0), ("fast", 1.25), ("x-fast", 1.75), ("default", 1.0)];

/// Pitch keyword changes in semitones relative to the voice default.
pub const PITCH_KEYWORDS_ST: [(&str, f32); 6] =
    [("x-low", -6.0), ("low", -3.0), ("medium", 0.0), ("high", 3.0), ("x-high", 6.0), ("default", 0.0)];

/// Pitch-range keyword factors (multipliers of the voice's natural F0 excursion).
pub const RANGE_KEYWORDS: [(&str, f32); 6] =
    [("x-low", 0.5), ("low", 0.75), ("medium", 1.0), ("high", 1.5), ("x-high", 2.0), ("default", 1.0)];

/// Volume keyword gains in dB (`silent` is handled separately: it is −∞ dB).
pub const VOLUME_KEYWORDS_DB: [(&str, f32); 6] =
    [("x-soft", -12.0), ("soft", -6.0), ("medium", 0.0), ("loud", 6.0), ("x-loud", 12.0), ("default", 0.0)];

/// Break strengths and the silence each one stands for, in milliseconds.
pub const BREAK_STRENGTH_MS: [(BreakStrength, u32); 6] = [
    (BreakStrength::None, 0),
    (BreakStrength::XWeak, 100),
    (BreakStrength::Weak, 250),
    (BreakStrength::Medium, 500),
    (BreakStrength::Strong, 750),
    (BreakStrength::XStrong, 1000),
];

/// How each emphasis level is realised: (rate factor, pitch semitones, volume dB).
pub const EMPHASIS_MIX: [(EmphasisLevel, f32, f32, f32); 4] = [
    (EmphasisLevel::Strong, 0.90, 2.0, 3.0),
    (EmphasisLevel::Moderate, 0.95, 1.0, 1.5),
    (EmphasisLevel::None, 1.0, 0.0, 0.0),
    (EmphasisLevel::Reduced, 1.10, -1.0, -3.0),
];

/// Accepted forms, quoted in error messages.
pub(crate) const RATE_FORMS: &str = "x-slow, slow, medium, fast, x-fast, default, a non-negative \
     percentage (150%), a signed relative percentage (+20%, -10%) or a non-negative number (1.5)";
pub(crate) const PITCH_FORMS: &str = "x-low, low, medium, high, x-high, default, an absolute \
     frequency (200Hz), or a signed relative change in Hz (+10Hz), semitones (-2st) or percent (+5%)";
pub(crate) const VOLUME_FORMS: &str = "silent, x-soft, soft, medium, loud, x-loud, default, a \
     signed change in decibels (+6dB, -3dB) or a signed relative percentage (+50%, -20%)";
pub(crate) const TIME_FORMS: &str = "a non-negative number followed by s or ms (250ms, 1.5s)";
pub(crate) const STRENGTH_FORMS: &str = "none, x-weak, weak, medium, strong, x-strong";
pub(crate) const LEVEL_FORMS: &str = "strong, moderate, none, reduced";
pub(crate) const CONTOUR_FORMS: &str = "one or more (position%,pitch) pairs separated by \
     whitespace, positions 0%..100%, e.g. (0%,+20Hz) (50%,+2st) (100%,default)";

/// Largest magnitude a bare number may have before it is rejected.
const MAX_NUMBER: f64 = 1.0e6;

/// A parsed `pitch` or `range` value.
///
/// `reset` is true for keywords and absolute frequencies: they are measured from the
/// voice default and discard whatever the enclosing elements set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PitchSpec {
    pub reset: bool,
    pub change: PitchChange,
}

/// A parsed `rate` value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum RateSpec {
    /// A factor of the voice's default rate (keywords, `150%`, `1.5`).
    Absolute(f32),
    /// A factor of the inherited rate (`+20%`, `-10%`).
    Relative(f32),
}

/// A parsed `volume` value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum VolumeSpec {
    /// Keywords: measured from the voice default.
    Absolute(Volume),
    /// `+6dB`, `-3dB`, `+50%`: added to the inherited gain.
    RelativeDb(f32),
}

fn eq_ic(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn keyword<T: Copy>(table: &[(&str, T)], s: &str) -> Option<T> {
    table.iter().find(|(k, _)| eq_ic(k, s)).map(|(_, v)| *v)
}

/// Parses an unsigned decimal number: `12`, `12.`, `12.5`, `.5`. No exponent, no sign.
pub(crate) fn unsigned_number(s: &str) -> Option<f64> {
    if s.is_empty() || s.len() > 32 {
        return None;
    }
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || !frac.is_none_or(digits) {
        return None;
    }
    if int.is_empty() && frac.is_none_or(str::is_empty) {
        return None;
    }
    let v: f64 = s.parse().ok()?;
    (v.is_finite() && v <= MAX_NUMBER).then_some(v)
}

/// Parses `+N`/`-N` (sign required) into a signed value.
fn signed_number(s: &str) -> Option<f64> {
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1.0, &s[1..]),
        b'-' => (-1.0, &s[1..]),
        _ => return None,
    };
    unsigned_number(rest).map(|v| sign * v)
}

/// Splits a trailing unit (matched case-insensitively) off `s`.
fn strip_unit<'a>(s: &'a str, unit: &str) -> Option<&'a str> {
    let cut = s.len().checked_sub(unit.len())?;
    let (num, u) = (s.get(..cut)?, s.get(cut..)?);
    eq_ic(u, unit).then_some(num)
}

/// `rate`: keywords, `N%`, `+N%`/`-N%`, or a bare non-negative number.
pub(crate) fn parse_rate(s: &str) -> Option<RateSpec> {
    let s = s.trim();
    if let Some(f) = keyword(&RATE_KEYWORDS, s) {
        return Some(RateSpec::Absolute(f));
    }
    if let Some(num) = strip_unit(s, "%") {
        if let Some(p) = signed_number(num) {
            return Some(RateSpec::Relative((1.0 + p / 100.0) as f32));
        }
        return unsigned_number(num).map(|p| RateSpec::Absolute((p / 100.0) as f32));
    }
    unsigned_number(s).map(|v| RateSpec::Absolute(v as f32))
}

/// `pitch` (and contour targets): keywords, `NHz`, `±NHz`, `±Nst`, `±N%`.
pub(crate) fn parse_pitch(s: &str) -> Option<PitchSpec> {
    pitch_like(s, &PITCH_KEYWORDS_ST, PitchChange::Semitones)
}

/// `range`: same grammar as `pitch`; keywords are factors of the natural excursion.
pub(crate) fn parse_range(s: &str) -> Option<PitchSpec> {
    pitch_like(s, &RANGE_KEYWORDS, PitchChange::Ratio)
}

fn pitch_like(s: &str, table: &[(&str, f32)], kw: impl Fn(f32) -> PitchChange) -> Option<PitchSpec> {
    let s = s.trim();
    if let Some(v) = keyword(table, s) {
        return Some(PitchSpec { reset: true, change: kw(v) });
    }
    if let Some(num) = strip_unit(s, "hz") {
        if let Some(v) = signed_number(num) {
            return Some(PitchSpec { reset: false, change: PitchChange::HzRelative(v as f32) });
        }
        let v = unsigned_number(num)?;
        return Some(PitchSpec { reset: true, change: PitchChange::AbsoluteHz(v as f32) });
    }
    if let Some(num) = strip_unit(s, "st") {
        return signed_number(num).map(|v| PitchSpec { reset: false, change: PitchChange::Semitones(v as f32) });
    }
    if let Some(num) = strip_unit(s, "%") {
        return signed_number(num)
            .map(|v| PitchSpec { reset: false, change: PitchChange::Ratio((1.0 + v / 100.0).max(0.0) as f32) });
    }
    None
}

/// `volume`: keywords, `±NdB`, `±N%` (amplitude ratio; `-100%` is silence).
pub(crate) fn parse_volume(s: &str) -> Option<VolumeSpec> {
    let s = s.trim();
    if eq_ic(s, "silent") {
        return Some(VolumeSpec::Absolute(Volume::Silent));
    }
    if let Some(db) = keyword(&VOLUME_KEYWORDS_DB, s) {
        return Some(VolumeSpec::Absolute(Volume::Gain { db }));
    }
    if let Some(num) = strip_unit(s, "db") {
        return signed_number(num).map(|v| VolumeSpec::RelativeDb(v as f32));
    }
    if let Some(num) = strip_unit(s, "%") {
        let p = signed_number(num)?;
        let ratio = 1.0 + p / 100.0;
        let db = if ratio <= 0.0 { f32::NEG_INFINITY } else { (20.0 * ratio.log10()) as f32 };
        return Some(VolumeSpec::RelativeDb(db));
    }
    None
}

/// SSML time designation: `250ms`, `1.5s`. Returns milliseconds (unrounded).
pub(crate) fn parse_time_ms(s: &str) -> Option<f64> {
    let s = s.trim();
    if let Some(num) = strip_unit(s, "ms") {
        return unsigned_number(num);
    }
    strip_unit(s, "s").and_then(unsigned_number).map(|v| v * 1000.0)
}

pub(crate) fn parse_strength(s: &str) -> Option<BreakStrength> {
    let s = s.trim();
    [
        ("none", BreakStrength::None),
        ("x-weak", BreakStrength::XWeak),
        ("weak", BreakStrength::Weak),
        ("medium", BreakStrength::Medium),
        ("strong", BreakStrength::Strong),
        ("x-strong", BreakStrength::XStrong),
    ]
    .iter()
    .find(|(k, _)| eq_ic(k, s))
    .map(|(_, v)| *v)
}

pub(crate) fn parse_level(s: &str) -> Option<EmphasisLevel> {
    let s = s.trim();
    [
        ("strong", EmphasisLevel::Strong),
        ("moderate", EmphasisLevel::Moderate),
        ("none", EmphasisLevel::None),
        ("reduced", EmphasisLevel::Reduced),
    ]
    .iter()
    .find(|(k, _)| eq_ic(k, s))
    .map(|(_, v)| *v)
}

/// The silence a break strength stands for.
pub fn strength_ms(s: BreakStrength) -> u32 {
    BREAK_STRENGTH_MS.iter().find(|(k, _)| *k == s).map_or(500, |(_, ms)| *ms)
}

/// `contour`: `(0%,+20Hz) (50%,-2st)`. Returns (fraction 0..=1, target) pairs sorted by
/// position (stable, so equal positions keep document order).
pub(crate) fn parse_contour(s: &str) -> Option<Vec<(f32, PitchSpec)>> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let body = rest.strip_prefix('(')?;
        let close = body.find(')')?;
        let (pair, after) = (&body[..close], &body[close + 1..]);
        let (pos, target) = pair.split_once(',')?;
        let pos = unsigned_number(strip_unit(pos.trim(), "%")?)?;
        if pos > 100.0 {
            return None;
        }
        out.push((pos as f32 / 100.0, parse_pitch(target)?));
        // Pairs may be separated by whitespace (the spec) or written back to back.
        rest = after.trim_start();
    }
    if out.is_empty() {
        return None;
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    Some(out)
}

/// An `xml:lang` value: a BCP-47-shaped tag (letters, digits and hyphens).
pub(crate) fn valid_lang(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && !s.starts_with('-')
}

/// Emphasis realisation: (rate factor, semitones, dB).
pub fn emphasis_mix(level: EmphasisLevel) -> (f32, f32, f32) {
    EMPHASIS_MIX.iter().find(|(l, ..)| *l == level).map_or((1.0, 0.0, 0.0), |(_, r, p, v)| (*r, *p, *v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(unsigned_number("12"), Some(12.0));
        assert_eq!(unsigned_number("12.5"), Some(12.5));
        assert_eq!(unsigned_number(".5"), Some(0.5));
        assert_eq!(unsigned_number("3."), Some(3.0));
        for bad in ["", ".", "-1", "+1", "1e3", "inf", "NaN", "1.2.3", " 1", "1x", "2000000"] {
            assert_eq!(unsigned_number(bad), None, "{bad}");
        }
        assert_eq!(signed_number("+2"), Some(2.0));
        assert_eq!(signed_number("-2.5"), Some(-2.5));
        assert_eq!(signed_number("2"), None);
        assert_eq!(signed_number("+"), None);
        assert_eq!(signed_number(""), None);
    }

    #[test]
    fn rate_forms() {
        assert_eq!(parse_rate("x-slow"), Some(RateSpec::Absolute(0.5)));
        assert_eq!(parse_rate("slow"), Some(RateSpec::Absolute(0.75)));
        assert_eq!(parse_rate("medium"), Some(RateSpec::Absolute(1.0)));
        assert_eq!(parse_rate("fast"), Some(RateSpec::Absolute(1.25)));
        assert_eq!(parse_rate("X-FAST"), Some(RateSpec::Absolute(1.75)));
        assert_eq!(parse_rate("default"), Some(RateSpec::Absolute(1.0)));
        assert_eq!(parse_rate("150%"), Some(RateSpec::Absolute(1.5)));
        assert_eq!(parse_rate("+20%"), Some(RateSpec::Relative(1.2)));
        assert_eq!(parse_rate("-10%"), Some(RateSpec::Relative(0.9)));
        assert_eq!(parse_rate("1.5"), Some(RateSpec::Absolute(1.5)));
        assert_eq!(parse_rate(" 0.8 "), Some(RateSpec::Absolute(0.8)));
        for bad in ["", "quick", "-1", "+1", "10Hz", "%", "+%", "1.5x"] {
            assert_eq!(parse_rate(bad), None, "{bad}");
        }
    }

    #[test]
    fn pitch_forms() {
        let p = |s| parse_pitch(s).unwrap();
        assert_eq!(p("x-low").change, PitchChange::Semitones(-6.0));
        assert_eq!(p("low").change, PitchChange::Semitones(-3.0));
        assert_eq!(p("medium").change, PitchChange::Semitones(0.0));
        assert_eq!(p("high").change, PitchChange::Semitones(3.0));
        assert_eq!(p("x-high").change, PitchChange::Semitones(6.0));
        assert!(p("default").reset);
        assert_eq!(p("200Hz"), PitchSpec { reset: true, change: PitchChange::AbsoluteHz(200.0) });
        assert_eq!(p("+10Hz"), PitchSpec { reset: false, change: PitchChange::HzRelative(10.0) });
        assert_eq!(p("-10hz").change, PitchChange::HzRelative(-10.0));
        assert_eq!(p("+2st").change, PitchChange::Semitones(2.0));
        assert_eq!(p("-1.5st").change, PitchChange::Semitones(-1.5));
        assert_eq!(p("+20%").change, PitchChange::Ratio(1.2));
        assert_eq!(p("-200%").change, PitchChange::Ratio(0.0));
        assert!(!p("+20%").reset);
        for bad in ["", "2st", "20%", "Hz", "+Hz", "loud", "+2 st x", "1e2Hz"] {
            assert_eq!(parse_pitch(bad), None, "{bad}");
        }
    }

    #[test]
    fn range_forms() {
        let r = |s| parse_range(s).unwrap();
        assert_eq!(r("x-low").change, PitchChange::Ratio(0.5));
        assert_eq!(r("low").change, PitchChange::Ratio(0.75));
        assert_eq!(r("medium").change, PitchChange::Ratio(1.0));
        assert_eq!(r("high").change, PitchChange::Ratio(1.5));
        assert_eq!(r("x-high").change, PitchChange::Ratio(2.0));
        assert_eq!(r("+4st").change, PitchChange::Semitones(4.0));
        assert_eq!(r("50Hz").change, PitchChange::AbsoluteHz(50.0));
        assert_eq!(parse_range("wide"), None);
    }

    #[test]
    fn volume_forms() {
        let v = |s| parse_volume(s).unwrap();
        assert_eq!(v("silent"), VolumeSpec::Absolute(Volume::Silent));
        assert_eq!(v("x-soft"), VolumeSpec::Absolute(Volume::Gain { db: -12.0 }));
        assert_eq!(v("soft"), VolumeSpec::Absolute(Volume::Gain { db: -6.0 }));
        assert_eq!(v("medium"), VolumeSpec::Absolute(Volume::Gain { db: 0.0 }));
        assert_eq!(v("loud"), VolumeSpec::Absolute(Volume::Gain { db: 6.0 }));
        assert_eq!(v("x-loud"), VolumeSpec::Absolute(Volume::Gain { db: 12.0 }));
        assert_eq!(v("default"), VolumeSpec::Absolute(Volume::Gain { db: 0.0 }));
        assert_eq!(v("+6dB"), VolumeSpec::RelativeDb(6.0));
        assert_eq!(v("-3.5db"), VolumeSpec::RelativeDb(-3.5));
        assert_eq!(v("-100%"), VolumeSpec::RelativeDb(f32::NEG_INFINITY));
        match v("+100%") {
            VolumeSpec::RelativeDb(db) => assert!((db - 6.0206).abs() < 1e-3),
            other => panic!("{other:?}"),
        }
        for bad in ["", "6dB", "50", "quiet", "+dB"] {
            assert_eq!(parse_volume(bad), None, "{bad}");
        }
    }

    #[test]
    fn time_forms() {
        assert_eq!(parse_time_ms("250ms"), Some(250.0));
        assert_eq!(parse_time_ms("1.5s"), Some(1500.0));
        assert_eq!(parse_time_ms("2S"), Some(2000.0));
        assert_eq!(parse_time_ms("0s"), Some(0.0));
        for bad in ["", "1", "-1s", "1 m", "ms", "s", "1min", "+1s"] {
            assert_eq!(parse_time_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn strength_and_level() {
        for (name, s) in [
            ("none", BreakStrength::None),
            ("x-weak", BreakStrength::XWeak),
            ("weak", BreakStrength::Weak),
            ("medium", BreakStrength::Medium),
            ("strong", BreakStrength::Strong),
            ("x-strong", BreakStrength::XStrong),
        ] {
            assert_eq!(parse_strength(name), Some(s));
        }
        assert_eq!(strength_ms(BreakStrength::XStrong), 1000);
        assert_eq!(parse_strength("huge"), None);
        assert_eq!(parse_level("reduced"), Some(EmphasisLevel::Reduced));
        assert_eq!(parse_level("loud"), None);
        assert_eq!(emphasis_mix(EmphasisLevel::Strong), (0.90, 2.0, 3.0));
    }

    #[test]
    fn contour_forms() {
        let c = parse_contour("(0%,+20Hz) (10%,+30%)  (40%,+10Hz)(100%,x-low)").unwrap();
        assert_eq!(c.len(), 4);
        assert_eq!(c[1].0, 0.1);
        assert_eq!(c[1].1.change, PitchChange::Ratio(1.3));
        assert!(c[3].1.reset);
        let sorted = parse_contour("(90%,+1st) (10%,-1st)").unwrap();
        assert_eq!(sorted[0].0, 0.1);
        for bad in ["", "()", "(0%)", "(0%,+1st", "(101%,+1st)", "(5,+1st)", "x (0%,+1st)", "(0%,fast)"] {
            assert_eq!(parse_contour(bad), None, "{bad}");
        }
    }

    #[test]
    fn lang_tags() {
        assert!(valid_lang("en-US"));
        assert!(valid_lang("fr"));
        assert!(!valid_lang(""));
        assert!(!valid_lang("en US"));
        assert!(!valid_lang("-en"));
    }
}

#[cfg(test)]
mod readme_sync {
    use super::*;

    const README: &str = include_str!("../README.md");

    fn has_row(row: &str) {
        assert!(README.lines().any(|l| l.trim() == row), "README.md lacks the row `{row}`");
    }

    #[test]
    fn keyword_tables_match_readme() {
        for (k, v) in RATE_KEYWORDS {
            has_row(&format!("| `{k}` | {v} |"));
        }
        for (k, v) in PITCH_KEYWORDS_ST {
            has_row(&format!("| `{k}` | {v} st |"));
        }
        for (k, v) in RANGE_KEYWORDS {
            has_row(&format!("| `{k}` | {v} |"));
        }
        for (k, v) in VOLUME_KEYWORDS_DB {
            has_row(&format!("| `{k}` | {v} dB |"));
        }
        let names = ["none", "x-weak", "weak", "medium", "strong", "x-strong"];
        for (name, (s, ms)) in names.iter().zip(BREAK_STRENGTH_MS) {
            assert_eq!(parse_strength(name), Some(s));
            has_row(&format!("| `{name}` | {ms} ms |"));
        }
        let levels = ["strong", "moderate", "none", "reduced"];
        for (name, (l, r, st, db)) in levels.iter().zip(EMPHASIS_MIX) {
            assert_eq!(parse_level(name), Some(l));
            has_row(&format!("| `{name}` | {r} | {st:+} st | {db:+} dB |"));
        }
    }
}
