//! The HTTP handlers and middleware.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use futures_util::StreamExt as _;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tower_http::cors::{AllowOrigin, CorsLayer};
use warble_engine::{Input, Language, SynthesisOptions, WordTiming};

use crate::encode::{AudioEncoder, AudioFormat};
use crate::error::ApiError;
use crate::pool::{Event, Job, Work};
use crate::request::{self, SpeechRequest, StreamFormat};
use crate::{AppState, voices};

/// Audio windows buffered between a worker and a response (backpressure beyond).
const CHANNEL: usize = 2;

pub async fn speech(State(st): State<AppState>, body: Body) -> Result<Response, ApiError> {
    let req = parse(&st, body).await?;
    let rx = submit(&st, &req)?;
    match (req.stream_format, req.stream) {
        (StreamFormat::Sse, _) => streamed(req, rx, Framing::Sse).await,
        (StreamFormat::Audio, true) => streamed(req, rx, Framing::Raw).await,
        (StreamFormat::Audio, false) => whole(req, rx, false).await,
    }
}

pub async fn captioned(State(st): State<AppState>, body: Body) -> Result<Response, ApiError> {
    let req = parse(&st, body).await?;
    let rx = submit(&st, &req)?;
    if req.stream { streamed(req, rx, Framing::Captions).await } else { whole(req, rx, true).await }
}

async fn parse(st: &AppState, body: Body) -> Result<SpeechRequest, ApiError> {
    let body = read_body(st, body).await?;
    request::parse_speech(&body, &st.inner.limits, &st.inner.voices)
}

/// Past the limit a body is still read (and dropped) up to this much more, so the client, still sending,
/// gets the 413 instead of a reset connection.
const DRAIN: usize = 4 << 20;

/// Reads a body of at most `max_body_bytes` (413 beyond).
async fn read_body(st: &AppState, body: Body) -> Result<Bytes, ApiError> {
    let limit = st.config().max_body_bytes();
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request_error",
            format!("the request body is larger than this server's limit of {limit} bytes"),
        )
        .code("body_too_large")
    };
    let mut stream = body.into_data_stream();
    let mut buf = Vec::new();
    let mut total = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                format!("cannot read the request body: {e}"),
            )
            .code("invalid_body")
        })?;
        total = total.saturating_add(chunk.len());
        if total > limit.saturating_add(DRAIN) {
            return Err(too_large());
        }
        if total <= limit {
            buf.extend_from_slice(&chunk);
        }
    }
    if total > limit {
        return Err(too_large());
    }
    Ok(Bytes::from(buf))
}

fn submit(st: &AppState, req: &SpeechRequest) -> Result<mpsc::Receiver<Event>, ApiError> {
    let (tx, rx) = mpsc::channel(CHANNEL);
    let mut opts = SynthesisOptions::new(req.voice.clone());
    opts.speed = req.speed;
    let now = Instant::now();
    st.pool().submit(Job {
        work: Work::Speech { input: Input::Text { text: req.input.clone(), lang: req.lang }, opts },
        events: tx,
        received: now,
        deadline: now.checked_add(st.config().request_timeout),
    })?;
    Ok(rx)
}

/// The first event: an error here still gets its own status code.
async fn first(rx: &mut mpsc::Receiver<Event>) -> Result<Event, ApiError> {
    match rx.recv().await {
        None => Err(ApiError::internal("synthesis stopped before any audio")),
        Some(Event::Error(e)) => Err(e),
        Some(ev) => Ok(ev),
    }
}

fn encoder(req: &SpeechRequest) -> Result<AudioEncoder, ApiError> {
    AudioEncoder::new(req.format, req.sample_rate)
        .map_err(|e| ApiError::invalid("response_format", "invalid_value", e.to_string()))
}

fn words_json(words: &[WordTiming]) -> Vec<Value> {
    words.iter().map(|w| json!({"word": w.text, "start_time": w.start, "end_time": w.end})).collect()
}

/// The whole response at once (`stream: false`).
async fn whole(req: SpeechRequest, mut rx: mpsc::Receiver<Event>, captions: bool) -> Result<Response, ApiError> {
    let mut enc = encoder(&req)?;
    let mut audio = Vec::new();
    let mut words = Vec::new();
    let mut ev = first(&mut rx).await?;
    loop {
        match ev {
            Event::Chunk { chunk, .. } => {
                audio.extend(enc.push(&chunk.samples).map_err(|e| ApiError::internal(e.to_string()))?);
                words.extend(words_json(&chunk.words));
            }
            Event::Done { .. } => break,
            Event::Error(e) => return Err(e),
        }
        ev = rx.recv().await.ok_or_else(|| ApiError::internal("synthesis stopped before the end"))?;
    }
    audio.extend(enc.finish().map_err(|e| ApiError::internal(e.to_string()))?);
    if req.format == AudioFormat::Wav && audio.len() >= 44 {
        // The length is known: a plain WAV header.
        let riff = u32::try_from(audio.len() - 8).unwrap_or(u32::MAX);
        let data = u32::try_from(audio.len() - 44).unwrap_or(u32::MAX);
        audio[4..8].copy_from_slice(&riff.to_le_bytes());
        audio[40..44].copy_from_slice(&data.to_le_bytes());
    }
    if captions {
        let body = json!({
            "audio": B64.encode(&audio),
            "audio_format": req.format.name(),
            "sample_rate": req.sample_rate,
            "timestamps": if req.return_timestamps { words } else { Vec::new() },
        });
        return Ok(Json(body).into_response());
    }
    let mut resp = Response::new(Body::from(audio));
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(req.format.content_type()));
    Ok(resp)
}

/// How a streamed response frames the audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// The encoded file itself, chunked.
    Raw,
    /// `text/event-stream`: `speech.audio.delta` events, then `speech.audio.done`.
    Sse,
    /// One JSON object per line: base64 audio and the words that start in it.
    Captions,
}

struct BodyState {
    rx: mpsc::Receiver<Event>,
    enc: AudioEncoder,
    pending: Option<Event>,
    framing: Framing,
    done: bool,
    input_chars: usize,
    samples_24k: u64,
    timestamps: bool,
}

impl BodyState {
    fn frame(&self, audio: &[u8], words: &[WordTiming]) -> Option<Bytes> {
        match self.framing {
            Framing::Raw => (!audio.is_empty()).then(|| Bytes::copy_from_slice(audio)),
            Framing::Sse => (!audio.is_empty()).then(|| {
                let ev = json!({"type": "speech.audio.delta", "audio": B64.encode(audio)});
                Bytes::from(format!("data: {ev}\n\n"))
            }),
            Framing::Captions => {
                let words = if self.timestamps { words_json(words) } else { Vec::new() };
                (!audio.is_empty() || !words.is_empty()).then(|| {
                    let line = json!({
                        "audio": B64.encode(audio),
                        "audio_format": self.enc.format().name(),
                        "timestamps": words,
                    });
                    Bytes::from(format!("{line}\n"))
                })
            }
        }
    }

    fn error(&mut self, e: ApiError) -> Option<Result<Bytes, std::io::Error>> {
        self.done = true;
        match self.framing {
            // Headers are out: the only honest signal left is to abort the transfer.
            Framing::Raw => Some(Err(std::io::Error::other(e.message))),
            Framing::Sse => {
                let mut body = e.body();
                body["type"] = json!("error");
                Some(Ok(Bytes::from(format!("data: {body}\n\n"))))
            }
            Framing::Captions => Some(Ok(Bytes::from(format!("{}\n", e.body())))),
        }
    }

    async fn next(&mut self) -> Option<Result<Bytes, std::io::Error>> {
        loop {
            if self.done {
                return None;
            }
            let ev = match self.pending.take() {
                Some(e) => Some(e),
                None => self.rx.recv().await,
            };
            match ev {
                Some(Event::Chunk { chunk, .. }) => {
                    self.samples_24k += chunk.samples.len() as u64;
                    match self.enc.push(&chunk.samples) {
                        Ok(audio) => {
                            if let Some(b) = self.frame(&audio, &chunk.words) {
                                return Some(Ok(b));
                            }
                        }
                        Err(e) => return self.error(ApiError::internal(e.to_string())),
                    }
                }
                Some(Event::Done { .. }) => {
                    self.done = true;
                    let audio = match self.enc.finish() {
                        Ok(a) => a,
                        Err(e) => return self.error(ApiError::internal(e.to_string())),
                    };
                    let mut out = self.frame(&audio, &[]).map(|b| b.to_vec()).unwrap_or_default();
                    if self.framing == Framing::Sse {
                        let output = self.samples_24k / warble_engine::SAMPLES_PER_FRAME as u64;
                        let ev = json!({
                            "type": "speech.audio.done",
                            "usage": {
                                "input_tokens": self.input_chars,
                                "output_tokens": output,
                                "total_tokens": self.input_chars as u64 + output,
                            }
                        });
                        out.extend_from_slice(format!("data: {ev}\n\n").as_bytes());
                    }
                    return (!out.is_empty()).then(|| Ok(Bytes::from(out)));
                }
                Some(Event::Error(e)) => return self.error(e),
                None => return self.error(ApiError::internal("synthesis stopped before the end")),
            }
        }
    }
}

/// A streamed response: headers once the first window is ready (so early errors keep their status), then
/// the audio as it is made.
async fn streamed(req: SpeechRequest, mut rx: mpsc::Receiver<Event>, framing: Framing) -> Result<Response, ApiError> {
    let enc = encoder(&req)?;
    let first = first(&mut rx).await?;
    let state = BodyState {
        rx,
        enc,
        pending: Some(first),
        framing,
        done: false,
        input_chars: req.input.chars().count(),
        samples_24k: 0,
        timestamps: req.return_timestamps,
    };
    let stream = futures_util::stream::unfold(state, |mut s| async move { s.next().await.map(|item| (item, s)) });
    let mut resp = Response::new(Body::from_stream(stream));
    let content_type = match framing {
        Framing::Raw => req.format.content_type(),
        Framing::Sse => "text/event-stream",
        Framing::Captions => "application/x-ndjson",
    };
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(resp)
}

/// The language of a voice named the Kokoro way (`af_heart`: the first letter); none for other names (clones).
fn language_of_voice(name: &str) -> Option<&'static str> {
    let mut chars = name.chars();
    let (c, gender, sep) = (chars.next()?, chars.next()?, chars.next()?);
    if !matches!(gender, 'f' | 'm') || sep != '_' {
        return None;
    }
    Language::ALL.iter().find(|l| l.voice_prefix() == c).map(|l| l.code())
}

pub async fn voices(State(st): State<AppState>) -> Json<Value> {
    let list: Vec<Value> =
        st.voices().iter().map(|v| json!({"id": v, "name": v, "language": language_of_voice(v)})).collect();
    let aliases: serde_json::Map<String, Value> = voices::OPENAI_VOICES
        .iter()
        // An alias names its stock voice unless a voice of the library has the alias's own name (that wins).
        .filter(|(o, k)| st.voices().iter().any(|v| v == k) && !st.voices().iter().any(|v| v == o))
        .map(|(o, k)| ((*o).to_string(), json!(k)))
        .collect();
    Json(json!({"voices": list, "aliases": aliases}))
}

const MODELS: &[&str] = &["tts-1", "tts-1-hd", "gpt-4o-mini-tts", "kokoro"];

fn model_json(id: &str) -> Value {
    json!({"id": id, "object": "model", "created": 0, "owned_by": "warble"})
}

pub async fn models() -> Json<Value> {
    Json(json!({"object": "list", "data": MODELS.iter().map(|m| model_json(m)).collect::<Vec<_>>()}))
}

pub async fn model(Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    if MODELS.contains(&id.as_str()) {
        Ok(Json(model_json(&id)))
    } else {
        Err(ApiError::new(StatusCode::NOT_FOUND, "invalid_request_error", format!("no model {id:?}; see /v1/models"))
            .param("model")
            .code("model_not_found"))
    }
}

pub async fn health(State(st): State<AppState>) -> Json<Value> {
    let p = st.pool();
    Json(json!({
        "status": "ok",
        "voices": st.voices().len(),
        "workers": p.workers(),
        "queued": p.queued(),
        "active": p.active(),
        "capacity": p.capacity(),
    }))
}

pub async fn metrics(State(st): State<AppState>) -> Response {
    let mut resp = Response::new(Body::from(st.render_metrics()));
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    resp
}

pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "invalid_request_error", "no such route").code("not_found")
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "invalid_request_error", "this method is not allowed on this route")
        .code("method_not_allowed")
}

/// Equal in time whatever the bytes (the length is not secret).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// API-key check: every route but `/health` and `/metrics`; the WebSocket route also takes `?api_key=`
/// (browsers cannot set headers on WebSockets).
pub async fn auth(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let Some(key) = st.config().api_key.as_deref() else {
        return next.run(req).await;
    };
    let path = req.uri().path();
    if path == "/health" || path == "/metrics" {
        return next.run(req).await;
    }
    let mut ok = bearer(req.headers()).is_some_and(|t| constant_time_eq(t.as_bytes(), key.as_bytes()));
    if !ok && path == "/v1/audio/speech/live" {
        ok = Query::<HashMap<String, String>>::try_from_uri(req.uri())
            .ok()
            .and_then(|q| q.0.get("api_key").map(|t| constant_time_eq(t.as_bytes(), key.as_bytes())))
            .unwrap_or(false);
    }
    if ok { next.run(req).await } else { ApiError::unauthorized().into_response() }
}

/// Counts responses by route and status.
pub async fn track(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let route =
        req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string()).unwrap_or_else(|| "unmatched".into());
    let resp = next.run(req).await;
    st.metrics().request(&route, resp.status().as_u16());
    resp
}

/// CORS for the configured origins (none: off).
pub fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let layer = CorsLayer::new()
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(Duration::from_secs(600));
    let allow = if origins.iter().any(|o| o.trim() == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o.trim()).ok()))
    };
    Some(layer.allow_origin(allow))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_compare() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn bearer_tokens() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
        assert_eq!(bearer(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("bearer  abc "));
        assert_eq!(bearer(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&h), None);
    }
}
