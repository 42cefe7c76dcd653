//! Voice names as clients send them → Warble voice specifications.
//!
//! Accepted: a Kokoro voice name (`af_heart`), an OpenAI voice name (`alloy`, see [`OPENAI_VOICES`]), peers'
//! blends `af_bella+af_sky` (equal) and `af_bella(2)+af_sky(1)` (weighted), and Warble's own
//! `af_bella:0.7,af_sky:0.3`. Every name is checked against the engine's voice list (a plain lookup: names
//! never reach the file system).

use crate::error::ApiError;

/// OpenAI voice names and the stock Kokoro voice each one speaks with (documented in the server README).
pub const OPENAI_VOICES: &[(&str, &str)] = &[
    ("alloy", "af_alloy"),
    ("ash", "am_liam"),
    ("ballad", "bm_george"),
    ("coral", "af_heart"),
    ("echo", "am_echo"),
    ("fable", "bm_fable"),
    ("onyx", "am_onyx"),
    ("nova", "af_nova"),
    ("sage", "af_sarah"),
    ("shimmer", "af_sky"),
    ("verse", "am_michael"),
    ("marin", "af_bella"),
    ("cedar", "am_fenrir"),
];

/// At most this many voices in one blend.
pub const MAX_BLEND: usize = 8;

/// Translates a client's voice field into a Warble voice spec. `known` lists the engine's voices. An empty
/// field gives an empty spec (the language's default voice).
pub fn translate(spec: &str, known: &[String]) -> Result<String, ApiError> {
    let spec = spec.trim();
    if spec.is_empty() {
        return Ok(String::new());
    }
    if spec.len() > 512 {
        return Err(bad_spec("the voice field is too long"));
    }
    // Parts as (name, weight).
    let mut parts: Vec<(&str, Option<f64>)> = Vec::new();
    if spec.contains('+') {
        for part in spec.split('+') {
            let part = part.trim();
            let (name, weight) = match part.split_once('(') {
                Some((name, rest)) => {
                    let w = rest
                        .strip_suffix(')')
                        .ok_or_else(|| bad_spec(format!("{part:?}: write a weight as name(2)")))?;
                    (name.trim(), Some(weight(w, name)?))
                }
                None => (part, None),
            };
            parts.push((name, weight));
        }
    } else {
        for part in spec.split(',') {
            let part = part.trim();
            let (name, weight) = match part.split_once(':') {
                Some((name, w)) => (name.trim(), Some(weight(w, name)?)),
                None => (part, None),
            };
            parts.push((name, weight));
        }
    }
    if parts.len() > MAX_BLEND {
        return Err(bad_spec(format!("a blend may hold at most {MAX_BLEND} voices")));
    }
    let weighted = parts.iter().filter(|(_, w)| w.is_some()).count();
    if weighted != 0 && weighted != parts.len() {
        return Err(bad_spec("give a weight for every voice of the blend or for none"));
    }
    let mut names = Vec::with_capacity(parts.len());
    for (name, _) in &parts {
        names.push(resolve_name(name, known)?);
    }
    if parts.len() == 1 && weighted == 0 {
        return Ok(names.remove(0));
    }
    let weights: Vec<f64> = parts.iter().map(|(_, w)| w.unwrap_or(1.0)).collect();
    let total: f64 = weights.iter().sum();
    if total.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) || !total.is_finite() {
        return Err(bad_spec("the blend's weights must add up to more than zero"));
    }
    Ok(names.iter().zip(&weights).map(|(n, w)| format!("{n}:{:.4}", w / total)).collect::<Vec<_>>().join(","))
}

fn weight(text: &str, name: &str) -> Result<f64, ApiError> {
    let w: f64 = text
        .trim()
        .parse()
        .map_err(|_| bad_spec(format!("the weight {:?} of {:?} is not a number", text.trim(), name.trim())))?;
    if !w.is_finite() || w < 0.0 {
        return Err(bad_spec(format!("the weight of {:?} must be a non-negative number", name.trim())));
    }
    Ok(w)
}

/// Whether clients can ask for a voice by this name: 1 to 64 ASCII letters, digits, `_` and `-`. Anything else
/// (a path above all) is refused before any lookup, so a voice the server offers must be named this way
/// (`warble serve --add-voice` checks the names it adds).
pub fn is_requestable_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// One name: an engine voice as is, else an OpenAI alias.
fn resolve_name(name: &str, known: &[String]) -> Result<String, ApiError> {
    if !is_requestable_name(name) {
        return Err(unknown(name, known));
    }
    if known.iter().any(|k| k == name) {
        return Ok(name.to_string());
    }
    let lower = name.to_ascii_lowercase();
    if known.contains(&lower) {
        return Ok(lower);
    }
    if let Some((_, kokoro)) = OPENAI_VOICES.iter().find(|(o, _)| *o == lower)
        && known.iter().any(|k| k == kokoro)
    {
        return Ok((*kokoro).to_string());
    }
    Err(unknown(name, known))
}

fn bad_spec(msg: impl Into<String>) -> ApiError {
    ApiError::invalid("voice", "invalid_voice", format!("invalid voice: {}", msg.into()))
}

fn unknown(name: &str, known: &[String]) -> ApiError {
    let shown: String = name.chars().take(64).collect();
    let aliases: Vec<&str> = OPENAI_VOICES.iter().map(|(o, _)| *o).collect();
    ApiError::invalid(
        "voice",
        "voice_not_found",
        format!(
            "unknown voice {shown:?}; available voices: {}; OpenAI names: {}",
            known.join(", "),
            aliases.join(", ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> Vec<String> {
        ["af_bella", "af_sky", "af_heart", "am_echo", "af_alloy"].iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn names_and_aliases() {
        assert_eq!(translate("af_bella", &known()).unwrap(), "af_bella");
        assert_eq!(translate(" AF_Bella ", &known()).unwrap(), "af_bella");
        assert_eq!(translate("alloy", &known()).unwrap(), "af_alloy");
        assert_eq!(translate("Echo", &known()).unwrap(), "am_echo");
        assert_eq!(translate("", &known()).unwrap(), "");
        // nova maps to af_nova, which this library lacks
        assert!(translate("nova", &known()).is_err());
    }

    #[test]
    fn blends() {
        assert_eq!(translate("af_bella+af_sky", &known()).unwrap(), "af_bella:0.5000,af_sky:0.5000");
        assert_eq!(translate("af_bella(2)+af_sky(1)", &known()).unwrap(), "af_bella:0.6667,af_sky:0.3333");
        assert_eq!(translate("af_bella:0.7,af_sky:0.3", &known()).unwrap(), "af_bella:0.7000,af_sky:0.3000");
        assert_eq!(translate("af_bella, af_sky", &known()).unwrap(), "af_bella:0.5000,af_sky:0.5000");
        assert_eq!(translate("alloy+echo", &known()).unwrap(), "af_alloy:0.5000,am_echo:0.5000");
    }

    #[test]
    fn rejects() {
        for bad in [
            "../../etc/passwd",
            "af_bella/../x",
            "af_nope",
            "af_bella(2)+af_sky",
            "af_bella(x)+af_sky(1)",
            "af_bella(-1)+af_sky(1)",
            "af_bella(0)+af_sky(0)",
            "af_bella(2+af_sky(1)",
            "af_bella:nan,af_sky:1",
            "af_bella:inf,af_sky:1",
            "+",
            ",",
            "af_bella++af_sky",
            "a\u{0}b",
            "ü",
        ] {
            let e = translate(bad, &known()).expect_err(bad);
            assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST, "{bad}");
            assert_eq!(e.param, Some("voice"));
        }
        let many = ["af_bella"; 9].join("+");
        assert!(translate(&many, &known()).is_err());
    }
}
