//! `GET /v1/audio/speech/live`: a WebSocket for text that arrives piece by piece (an LLM's tokens).
//!
//! Client → server (text frames, JSON):
//! `{"type":"start","voice","speed","lang_code","response_format":"pcm"|"wav","sample_rate"}` (optional; the
//! first `text` starts with defaults), `{"type":"text","text":"..."}`, `{"type":"flush"}`, `{"type":"cancel"}`,
//! `{"type":"end"}`.
//!
//! Server → client: `{"type":"ready",...}`, binary frames of audio (s16le; `wav` puts a streaming header in
//! the first), `{"type":"words","words":[{"word","start","end"}]}` before the audio they start in,
//! `{"type":"cancelled"}`, `{"type":"error","error":{...}}`, and `{"type":"done"}` after `end` once
//! everything was spoken; then the server closes.

use std::time::Instant;

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use warble_engine::SynthesisOptions;

use crate::AppState;
use crate::encode::{AudioEncoder, AudioFormat};
use crate::error::ApiError;
use crate::pool::{Command, Event, Job, Work};
use crate::request;

/// Largest client message.
const MAX_MESSAGE: usize = 1 << 20;

pub async fn live(ws: WebSocketUpgrade, State(st): State<AppState>) -> Response {
    ws.max_message_size(MAX_MESSAGE).on_upgrade(move |socket| run(socket, st))
}

/// One connection's synthesis.
struct Live {
    commands: std::sync::mpsc::Sender<Command>,
    events: mpsc::Receiver<Event>,
    generation: u64,
    enc: AudioEncoder,
    format: AudioFormat,
    rate: u32,
    /// Samples sent (at `rate`) and where the current engine session's time 0 lies, in seconds.
    sent: u64,
    base: f64,
    ended: bool,
    /// A binary frame went out (for `wav`, the header with it).
    header_sent: bool,
}

fn error_frame(e: &ApiError) -> Message {
    let mut body = e.body();
    body["type"] = json!("error");
    Message::Text(body.to_string().into())
}

fn text_frame(v: Value) -> Message {
    Message::Text(v.to_string().into())
}

fn field_str<'a>(v: &'a Value, key: &'static str) -> Result<Option<&'a str>, ApiError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::invalid(key, "invalid_type", format!("'{key}' must be a string"))),
    }
}

fn field_f64(v: &Value, key: &'static str) -> Result<Option<f64>, ApiError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(_) => Err(ApiError::invalid(key, "invalid_type", format!("'{key}' must be a number"))),
    }
}

/// Starts a session from a `start` message (or defaults).
fn start(st: &AppState, msg: &Value) -> Result<Live, ApiError> {
    let voice = crate::voices::translate(field_str(msg, "voice")?.unwrap_or(""), st.voices())?;
    let speed = request::parse_speed(field_f64(msg, "speed")?)?;
    let lang = request::parse_lang(field_str(msg, "lang_code")?)?;
    let format = request::parse_format(field_str(msg, "response_format")?, AudioFormat::Pcm)?;
    if !matches!(format, AudioFormat::Pcm | AudioFormat::Wav) {
        return Err(ApiError::invalid(
            "response_format",
            "unsupported_value",
            "the live WebSocket sends pcm or wav; use response_format pcm or wav",
        ));
    }
    let rate = request::parse_rate(field_f64(msg, "sample_rate")?, format)?;
    let enc = AudioEncoder::new(format, rate)
        .map_err(|e| ApiError::invalid("sample_rate", "invalid_value", e.to_string()))?;
    let mut opts = SynthesisOptions::new(voice);
    opts.speed = speed;
    let (commands, rx_commands) = std::sync::mpsc::channel();
    let (tx, events) = mpsc::channel(2);
    st.pool().submit(Job {
        work: Work::Session { lang, opts, commands: rx_commands },
        events: tx,
        received: Instant::now(),
        deadline: None,
    })?;
    Ok(Live {
        commands,
        events,
        generation: 0,
        enc,
        format,
        rate,
        sent: 0,
        base: 0.0,
        ended: false,
        header_sent: false,
    })
}

async fn recv_event(live: &mut Option<Live>) -> Option<Event> {
    match live {
        Some(l) => l.events.recv().await,
        None => std::future::pending().await,
    }
}

/// What the loop does after a message.
enum Flow {
    Continue,
    Close,
}

async fn run(mut socket: WebSocket, st: AppState) {
    let mut live: Option<Live> = None;
    loop {
        tokio::select! {
            msg = socket.recv() => {
                let msg = match msg {
                    Some(Ok(m)) => m,
                    // Gone: dropping `live` cancels the synthesis.
                    _ => break,
                };
                let flow = match msg {
                    Message::Text(t) => on_message(&st, &mut socket, &mut live, t.as_str()).await,
                    Message::Binary(_) => {
                        let e = ApiError::invalid("type", "invalid_message", "send JSON text frames, not binary ones");
                        send(&mut socket, error_frame(&e)).await
                    }
                    Message::Close(_) => Flow::Close,
                    Message::Ping(_) | Message::Pong(_) => Flow::Continue,
                };
                if matches!(flow, Flow::Close) {
                    break;
                }
            }
            ev = recv_event(&mut live) => {
                if let Flow::Close = on_event(&mut socket, &mut live, ev).await {
                    break;
                }
            }
        }
    }
    drop(live);
    let _ = socket
        .send(Message::Close(Some(CloseFrame { code: axum::extract::ws::close_code::NORMAL, reason: "".into() })))
        .await;
}

async fn send(socket: &mut WebSocket, m: Message) -> Flow {
    if socket.send(m).await.is_ok() { Flow::Continue } else { Flow::Close }
}

async fn on_message(st: &AppState, socket: &mut WebSocket, live: &mut Option<Live>, text: &str) -> Flow {
    let msg: Value = match serde_json::from_str(text) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            let e = ApiError::invalid("type", "invalid_json", "each message must be a JSON object with a 'type'");
            return send(socket, error_frame(&e)).await;
        }
    };
    let kind = msg.get("type").and_then(Value::as_str).unwrap_or("");
    if kind == "start" {
        if live.is_some() {
            let e = ApiError::invalid("type", "invalid_message", "the session has already started");
            return send(socket, error_frame(&e)).await;
        }
        return match start(st, &msg) {
            Ok(l) => {
                let ready = json!({"type": "ready", "format": l.format.name(), "sample_rate": l.rate});
                *live = Some(l);
                send(socket, text_frame(ready)).await
            }
            Err(e) => send(socket, error_frame(&e)).await,
        };
    }
    if !matches!(kind, "text" | "flush" | "cancel" | "end") {
        let e = ApiError::invalid(
            "type",
            "invalid_message",
            format!(
                "unknown message type {:?}; use start, text, flush, cancel or end",
                kind.chars().take(32).collect::<String>()
            ),
        );
        return send(socket, error_frame(&e)).await;
    }
    // Check the text before a session is started for it.
    let text = if kind == "text" {
        match msg.get("text") {
            Some(Value::String(s)) if s.chars().count() <= st.config().max_input_chars => s.clone(),
            Some(Value::String(_)) => {
                let e = ApiError::invalid("text", "input_too_long", "this text message is too long");
                return send(socket, error_frame(&e)).await;
            }
            _ => {
                let e = ApiError::invalid("text", "invalid_type", "'text' must be a string");
                return send(socket, error_frame(&e)).await;
            }
        }
    } else {
        String::new()
    };
    if live.is_none() {
        match start(st, &json!({})) {
            Ok(l) => *live = Some(l),
            Err(e) => {
                let _ = send(socket, error_frame(&e)).await;
                return Flow::Close;
            }
        }
    }
    let Some(l) = live.as_mut() else { return Flow::Close };
    if l.ended && kind != "cancel" {
        let e = ApiError::invalid("type", "invalid_message", "the session has ended");
        return send(socket, error_frame(&e)).await;
    }
    let command = match kind {
        "text" => Command::Text(text),
        "flush" => Command::Flush,
        "end" => {
            l.ended = true;
            Command::End
        }
        _ => {
            l.ended = false;
            l.generation += 1;
            l.base = l.sent as f64 / f64::from(l.rate);
            // Whatever the resampler still holds belongs to the cancelled speech.
            if let Ok(mut enc) = AudioEncoder::new(l.format, l.rate) {
                if l.header_sent {
                    let _ = enc.take_header();
                }
                l.enc = enc;
            }
            Command::Cancel(l.generation)
        }
    };
    let cancelled = matches!(command, Command::Cancel(_));
    if l.commands.send(command).is_err() {
        let e = ApiError::internal("the synthesis session has stopped");
        let _ = send(socket, error_frame(&e)).await;
        return Flow::Close;
    }
    st.pool().wake();
    if cancelled {
        return send(socket, text_frame(json!({"type": "cancelled"}))).await;
    }
    Flow::Continue
}

async fn on_event(socket: &mut WebSocket, live: &mut Option<Live>, ev: Option<Event>) -> Flow {
    let Some(l) = live.as_mut() else { return Flow::Continue };
    match ev {
        Some(Event::Chunk { chunk, generation }) => {
            if generation != l.generation {
                return Flow::Continue;
            }
            if !chunk.words.is_empty() {
                let words: Vec<Value> = chunk
                    .words
                    .iter()
                    .map(|w| json!({"word": w.text, "start": l.base + w.start, "end": l.base + w.end}))
                    .collect();
                if let Flow::Close = send(socket, text_frame(json!({"type": "words", "words": words}))).await {
                    return Flow::Close;
                }
            }
            let before = l.enc.samples();
            match l.enc.push(&chunk.samples) {
                Ok(bytes) => {
                    l.sent += l.enc.samples() - before;
                    if !bytes.is_empty() {
                        l.header_sent = true;
                        return send(socket, Message::Binary(bytes.into())).await;
                    }
                    Flow::Continue
                }
                Err(e) => {
                    let _ = send(socket, error_frame(&ApiError::internal(e.to_string()))).await;
                    Flow::Close
                }
            }
        }
        Some(Event::Done { generation }) => {
            if generation != l.generation {
                return Flow::Continue;
            }
            if let Ok(bytes) = l.enc.finish()
                && !bytes.is_empty()
                && let Flow::Close = send(socket, Message::Binary(bytes.into())).await
            {
                return Flow::Close;
            }
            let _ = send(socket, text_frame(json!({"type": "done"}))).await;
            Flow::Close
        }
        Some(Event::Error(e)) => {
            // The worker starts a fresh engine session: its times start at 0 again.
            l.base = l.sent as f64 / f64::from(l.rate);
            send(socket, error_frame(&e)).await
        }
        None => {
            let e = ApiError::internal("the synthesis session has stopped");
            let _ = send(socket, error_frame(&e)).await;
            Flow::Close
        }
    }
}
