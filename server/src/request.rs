//! `POST /v1/audio/speech` request bodies: parsed by hand from JSON so every wrong field gets its own
//! OpenAI-shaped 400 naming the parameter.

use serde_json::{Map, Value};
use warble_engine::Language;

use crate::encode::{AudioFormat, EncodeError, MODEL_RATE};
use crate::error::ApiError;
use crate::voices;

/// OpenAI's speed range.
pub const MIN_SPEED: f64 = 0.25;
pub const MAX_SPEED: f64 = 4.0;

/// How the audio travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamFormat {
    /// The encoded file, chunked as it is made (or whole with `stream: false`).
    Audio,
    /// Server-sent events with base64 audio deltas.
    Sse,
}

/// A validated speech request.
#[derive(Debug, Clone, PartialEq)]
pub struct SpeechRequest {
    pub model: String,
    pub input: String,
    /// Warble's voice spec (translated; empty = the language's default).
    pub voice: String,
    pub format: AudioFormat,
    pub speed: f32,
    pub stream_format: StreamFormat,
    /// Send audio as it is made (default true, as Kokoro-FastAPI).
    pub stream: bool,
    pub lang: Option<Language>,
    pub sample_rate: u32,
    /// Only for `/dev/captioned_speech`: include word timestamps (default true).
    pub return_timestamps: bool,
}

/// Limits that depend on the server's configuration.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_input_chars: usize,
}

/// Parses and validates a body. `voices` is the engine's voice list.
pub fn parse_speech(body: &[u8], limits: &Limits, voices: &[String]) -> Result<SpeechRequest, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid_body(format!("the request body is not valid JSON: {e}")))?;
    let Value::Object(obj) = value else {
        return Err(ApiError::invalid_body("the request body must be a JSON object"));
    };
    speech_from_object(&obj, limits, voices)
}

impl ApiError {
    fn invalid_body(msg: impl Into<String>) -> Self {
        ApiError::new(axum::http::StatusCode::BAD_REQUEST, "invalid_request_error", msg).code("invalid_json")
    }
}

fn type_error(param: &'static str, expected: &str, got: &Value) -> ApiError {
    let kind = match got {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    ApiError::invalid(param, "invalid_type", format!("'{param}' must be {expected}, not {kind}"))
}

/// An optional string field (`null` counts as absent).
fn opt_str<'a>(obj: &'a Map<String, Value>, param: &'static str) -> Result<Option<&'a str>, ApiError> {
    match obj.get(param) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(type_error(param, "a string", other)),
    }
}

fn opt_bool(obj: &Map<String, Value>, param: &'static str) -> Result<Option<bool>, ApiError> {
    match obj.get(param) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(type_error(param, "a boolean", other)),
    }
}

fn opt_f64(obj: &Map<String, Value>, param: &'static str) -> Result<Option<f64>, ApiError> {
    match obj.get(param) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_f64()
            .map(Some)
            .ok_or_else(|| ApiError::invalid(param, "invalid_value", format!("'{param}' is out of range"))),
        Some(other) => Err(type_error(param, "a number", other)),
    }
}

/// Validates the fields shared by the HTTP and WebSocket APIs.
pub fn parse_speed(v: Option<f64>) -> Result<f32, ApiError> {
    let speed = v.unwrap_or(1.0);
    if !(MIN_SPEED..=MAX_SPEED).contains(&speed) {
        return Err(ApiError::invalid(
            "speed",
            "invalid_value",
            format!("speed {speed} is out of range: use a value from {MIN_SPEED} to {MAX_SPEED} (1.0 is normal)"),
        ));
    }
    Ok(speed as f32)
}

pub fn parse_lang(v: Option<&str>) -> Result<Option<Language>, ApiError> {
    match v.map(str::trim) {
        None | Some("") | Some("auto") => Ok(None),
        Some(code) => Language::parse(code).map(Some).map_err(|_| {
            let codes: Vec<String> =
                Language::ALL.iter().map(|l| format!("{} ({})", l.code(), l.voice_prefix())).collect();
            ApiError::invalid(
                "lang_code",
                "invalid_value",
                format!("unknown lang_code {code:?}; use auto or one of: {}", codes.join(", ")),
            )
        }),
    }
}

pub fn parse_format(v: Option<&str>, default: AudioFormat) -> Result<AudioFormat, ApiError> {
    let Some(name) = v else { return Ok(default) };
    let format = AudioFormat::parse(name).ok_or_else(|| {
        ApiError::invalid(
            "response_format",
            "invalid_value",
            format!(
                "unknown response_format {:?}; choose one of: {}",
                name.chars().take(32).collect::<String>(),
                crate::encode::OFFERED_FORMATS
            ),
        )
    })?;
    if !format.is_available() {
        return Err(ApiError::invalid(
            "response_format",
            "unsupported_value",
            EncodeError::Unavailable(format.name()).to_string(),
        ));
    }
    Ok(format)
}

pub fn parse_rate(v: Option<f64>, format: AudioFormat) -> Result<u32, ApiError> {
    let rate = match v {
        None => MODEL_RATE,
        Some(r) if r.fract() == 0.0 && (1.0..=1e6).contains(&r) => r as u32,
        Some(r) => {
            return Err(ApiError::invalid(
                "sample_rate",
                "invalid_value",
                format!("sample_rate {r} is not a whole number of Hz"),
            ));
        }
    };
    format.check_rate(rate).map_err(|e| ApiError::invalid("sample_rate", "invalid_value", e.to_string()))?;
    Ok(rate)
}

fn speech_from_object(obj: &Map<String, Value>, limits: &Limits, voices: &[String]) -> Result<SpeechRequest, ApiError> {
    let model = opt_str(obj, "model")?.unwrap_or("tts-1").to_string();
    let input = match obj.get("input") {
        None | Some(Value::Null) => {
            return Err(ApiError::invalid(
                "input",
                "missing_required_parameter",
                "'input' is required: the text to speak",
            ));
        }
        Some(Value::String(s)) => s.clone(),
        Some(other) => return Err(type_error("input", "a string", other)),
    };
    if input.trim().is_empty() {
        return Err(ApiError::invalid("input", "empty_input", "'input' is empty: there is nothing to speak"));
    }
    let chars = input.chars().count();
    if chars > limits.max_input_chars {
        return Err(ApiError::invalid(
            "input",
            "input_too_long",
            format!("'input' has {chars} characters; this server takes at most {}", limits.max_input_chars),
        )
        .status(axum::http::StatusCode::PAYLOAD_TOO_LARGE));
    }
    // OpenAI's custom voices are objects {"id": ...}.
    let voice_text = match obj.get("voice") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(o)) => match o.get("id") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => return Err(type_error("voice", "a string or an object with a string 'id'", other)),
            None => return Err(ApiError::invalid("voice", "invalid_type", "'voice' objects need an 'id'")),
        },
        Some(other) => return Err(type_error("voice", "a string", other)),
    };
    let voice = voices::translate(&voice_text, voices)?;
    let format = parse_format(opt_str(obj, "response_format")?, AudioFormat::Mp3)?;
    let speed = parse_speed(opt_f64(obj, "speed")?)?;
    let stream_format = match opt_str(obj, "stream_format")? {
        None | Some("audio") => StreamFormat::Audio,
        Some("sse") => StreamFormat::Sse,
        Some(other) => {
            return Err(ApiError::invalid(
                "stream_format",
                "invalid_value",
                format!("unknown stream_format {:?}; use audio or sse", other.chars().take(32).collect::<String>()),
            ));
        }
    };
    // Accepted for compatibility; Kokoro takes no style prompt (see the README).
    let _instructions = opt_str(obj, "instructions")?;
    let stream = opt_bool(obj, "stream")?.unwrap_or(true);
    let lang = parse_lang(opt_str(obj, "lang_code")?)?;
    let sample_rate = parse_rate(opt_f64(obj, "sample_rate")?, format)?;
    let return_timestamps = opt_bool(obj, "return_timestamps")?.unwrap_or(true);
    Ok(SpeechRequest {
        model,
        input,
        voice,
        format,
        speed,
        stream_format,
        stream,
        lang,
        sample_rate,
        return_timestamps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    fn voices() -> Vec<String> {
        vec!["af_heart".into(), "af_bella".into(), "af_sky".into(), "af_alloy".into()]
    }

    fn parse(body: &str) -> Result<SpeechRequest, ApiError> {
        parse_speech(body.as_bytes(), &Limits { max_input_chars: 20 }, &voices())
    }

    #[test]
    fn defaults() {
        let r = parse(r#"{"model":"tts-1","input":"Hello.","voice":"alloy"}"#).unwrap();
        assert_eq!(r.voice, "af_alloy");
        assert_eq!(r.format, AudioFormat::Mp3);
        assert_eq!(r.speed, 1.0);
        assert_eq!(r.stream_format, StreamFormat::Audio);
        assert!(r.stream);
        assert_eq!(r.lang, None);
        assert_eq!(r.sample_rate, 24_000);
    }

    #[test]
    fn all_fields() {
        let r = parse(
            r#"{"model":"kokoro","input":"Hi","voice":"af_bella(2)+af_sky(1)","response_format":"wav","speed":1.5,
                "stream_format":"sse","instructions":"cheerful","stream":false,"lang_code":"b","sample_rate":16000,
                "unknown_field":[1,2]}"#,
        )
        .unwrap();
        assert_eq!(r.voice, "af_bella:0.6667,af_sky:0.3333");
        assert_eq!(r.format, AudioFormat::Wav);
        assert_eq!(r.speed, 1.5);
        assert_eq!(r.stream_format, StreamFormat::Sse);
        assert!(!r.stream);
        assert_eq!(r.lang, Some(Language::EnGb));
        assert_eq!(r.sample_rate, 16_000);
        let r = parse(r#"{"input":"Hi","voice":{"id":"af_sky"}}"#).unwrap();
        assert_eq!(r.voice, "af_sky");
    }

    fn err(body: &str) -> ApiError {
        parse(body).expect_err(body)
    }

    #[test]
    fn errors() {
        let cases: &[(&str, StatusCode, Option<&str>)] = &[
            ("{", StatusCode::BAD_REQUEST, None),
            ("[1]", StatusCode::BAD_REQUEST, None),
            ("", StatusCode::BAD_REQUEST, None),
            ("\u{0}\u{1}", StatusCode::BAD_REQUEST, None),
            (r#"{"voice":"af_sky"}"#, StatusCode::BAD_REQUEST, Some("input")),
            (r#"{"input":""}"#, StatusCode::BAD_REQUEST, Some("input")),
            (r#"{"input":"   "}"#, StatusCode::BAD_REQUEST, Some("input")),
            (r#"{"input":5}"#, StatusCode::BAD_REQUEST, Some("input")),
            (r#"{"input":"this text is far too long for the limit"}"#, StatusCode::PAYLOAD_TOO_LARGE, Some("input")),
            (r#"{"input":"Hi","voice":"nobody"}"#, StatusCode::BAD_REQUEST, Some("voice")),
            (r#"{"input":"Hi","voice":"../af_sky"}"#, StatusCode::BAD_REQUEST, Some("voice")),
            (r#"{"input":"Hi","voice":7}"#, StatusCode::BAD_REQUEST, Some("voice")),
            (r#"{"input":"Hi","response_format":"ogg"}"#, StatusCode::BAD_REQUEST, Some("response_format")),
            (r#"{"input":"Hi","response_format":"aac"}"#, StatusCode::BAD_REQUEST, Some("response_format")),
            (r#"{"input":"Hi","response_format":1}"#, StatusCode::BAD_REQUEST, Some("response_format")),
            (r#"{"input":"Hi","speed":0.1}"#, StatusCode::BAD_REQUEST, Some("speed")),
            (r#"{"input":"Hi","speed":4.5}"#, StatusCode::BAD_REQUEST, Some("speed")),
            (r#"{"input":"Hi","speed":"fast"}"#, StatusCode::BAD_REQUEST, Some("speed")),
            (r#"{"input":"Hi","speed":1e400}"#, StatusCode::BAD_REQUEST, None),
            (r#"{"input":"Hi","stream":"yes"}"#, StatusCode::BAD_REQUEST, Some("stream")),
            (r#"{"input":"Hi","stream_format":"ws"}"#, StatusCode::BAD_REQUEST, Some("stream_format")),
            (r#"{"input":"Hi","lang_code":"xx"}"#, StatusCode::BAD_REQUEST, Some("lang_code")),
            (
                r#"{"input":"Hi","sample_rate":44100,"response_format":"opus"}"#,
                StatusCode::BAD_REQUEST,
                Some("sample_rate"),
            ),
            (
                r#"{"input":"Hi","sample_rate":22050.5,"response_format":"wav"}"#,
                StatusCode::BAD_REQUEST,
                Some("sample_rate"),
            ),
            (
                r#"{"input":"Hi","sample_rate":-1,"response_format":"wav"}"#,
                StatusCode::BAD_REQUEST,
                Some("sample_rate"),
            ),
            (r#"{"input":"Hi","model":3}"#, StatusCode::BAD_REQUEST, Some("model")),
            (r#"{"input":"Hi","instructions":{}}"#, StatusCode::BAD_REQUEST, Some("instructions")),
        ];
        for (body, status, param) in cases {
            let e = err(body);
            assert_eq!(e.status, *status, "{body}: {e}");
            if param.is_some() {
                assert_eq!(e.param, *param, "{body}: {e}");
            }
            let j = e.body();
            assert!(j["error"]["message"].is_string(), "{body}");
        }
        assert!(err(r#"{"input":"Hi","response_format":"aac"}"#).message.contains("mp3, opus, flac, wav, pcm"));
    }
}
