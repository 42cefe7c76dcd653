//! The server end to end on 127.0.0.1 with the real model (`WARBLE_MODEL_DIR`): OpenAI's speech endpoint in
//! every format and framing, errors, cancellation on disconnect, the queue limit, API keys and the live
//! WebSocket. Sentences are short: the model renders at about real time on 2 cores.

use std::io::Cursor;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use warble_engine::{Engine, EngineOptions, VoicePack};
use warble_server::{AppState, Server, ServerConfig};

fn engine() -> Arc<Engine> {
    static E: OnceLock<Arc<Engine>> = OnceLock::new();
    E.get_or_init(|| {
        let dir = std::env::var_os("WARBLE_MODEL_DIR").map(PathBuf::from).expect(
            "these tests need the real Kokoro weights: set WARBLE_MODEL_DIR to the folder holding kokoro-v1.0.int8.onnx and voices/",
        );
        assert!(dir.is_dir(), "WARBLE_MODEL_DIR={} is not a folder", dir.display());
        Arc::new(
            Engine::load(&EngineOptions {
                model: Some(dir),
                voices: None,
                cache_dir: Some(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("warble-converted")),
                ..Default::default()
            })
            .expect("engine loads from WARBLE_MODEL_DIR"),
        )
    })
    .clone()
}

/// A server on its own thread and runtime (tests each have their own runtime).
struct TestServer {
    addr: SocketAddr,
    state: AppState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    fn start(cfg: ServerConfig) -> Self {
        Self::start_with(engine(), cfg)
    }

    fn start_with(engine: Arc<Engine>, cfg: ServerConfig) -> Self {
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            rt.block_on(async move {
                let server =
                    Server::bind(engine, ServerConfig { host: "127.0.0.1".into(), port: 0, ..cfg }).await.unwrap();
                tx.send((server.local_addr().unwrap(), server.state().clone())).unwrap();
                server
                    .run(async move {
                        let _ = stop_rx.await;
                    })
                    .await
                    .unwrap();
            });
        });
        let (addr, state) = rx.recv().expect("server starts");
        Self { addr, state, stop: Some(stop), thread: Some(thread) }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Graceful shutdown; waits for the server thread.
    fn shutdown(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

/// The default server most tests share (never shut down).
fn shared() -> &'static TestServer {
    static S: OnceLock<TestServer> = OnceLock::new();
    S.get_or_init(|| TestServer::start(ServerConfig::default()))
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(300)).build().unwrap()
}

const SENTENCE: &str = "Hello there, friend.";

async fn speech(s: &TestServer, body: Value) -> reqwest::Response {
    client().post(s.url("/v1/audio/speech")).json(&body).send().await.unwrap()
}

/// The PCM length of `SENTENCE` (synthesis is deterministic: measured once for the whole binary).
async fn sentence_samples() -> usize {
    static N: tokio::sync::OnceCell<usize> = tokio::sync::OnceCell::const_new();
    *N.get_or_init(|| pcm_samples(shared(), SENTENCE)).await
}

async fn pcm_samples(s: &TestServer, text: &str) -> usize {
    let r = speech(s, json!({"model": "tts-1", "input": text, "voice": "af_heart", "response_format": "pcm"})).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "audio/pcm");
    let b = r.bytes().await.unwrap();
    assert_eq!(b.len() % 2, 0);
    b.len() / 2
}

fn decode_symphonia(bytes: Vec<u8>, ext: &str) -> (usize, u32) {
    use symphonia::core::codecs::audio::AudioDecoderOptions;
    use symphonia::core::formats::probe::Hint;
    use symphonia::core::formats::{FormatOptions, TrackType};
    use symphonia::core::io::MediaSourceStream;
    use symphonia::core::meta::MetadataOptions;
    let mss = MediaSourceStream::new(Box::new(Cursor::new(bytes)), Default::default());
    let mut hint = Hint::new();
    hint.with_extension(ext);
    let mut format = symphonia::default::get_probe()
        .probe(&hint, mss, FormatOptions::default(), MetadataOptions::default())
        .unwrap_or_else(|e| panic!("{ext}: {e}"));
    let track = format.default_track(TrackType::Audio).unwrap();
    let params = track.codec_params.as_ref().unwrap().audio().unwrap().clone();
    let id = track.id;
    let mut dec =
        symphonia::default::get_codecs().make_audio_decoder(&params, &AudioDecoderOptions::default()).unwrap();
    let mut n = 0;
    loop {
        let p = match format.next_packet() {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(symphonia::core::errors::Error::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => panic!("{ext}: {e}"),
        };
        if p.track_id == id {
            n += dec.decode(&p).unwrap().samples_interleaved();
        }
    }
    (n, params.sample_rate.unwrap())
}

/// Samples at 48 kHz from an Ogg Opus stream, pre-skip and end trimming applied.
fn decode_ogg_opus(bytes: Vec<u8>) -> usize {
    let mut r = ogg::reading::PacketReader::new(Cursor::new(bytes));
    let head = r.read_packet_expected().unwrap();
    assert_eq!(&head.data[..8], b"OpusHead");
    let pre_skip = u16::from_le_bytes([head.data[10], head.data[11]]) as usize;
    r.read_packet_expected().unwrap();
    let mut dec = opus::Decoder::new(48_000, opus::Channels::Mono).unwrap();
    let mut buf = vec![0f32; 5760];
    let (mut n, mut granule, mut eos) = (0, 0, false);
    while let Some(p) = r.read_packet().unwrap() {
        n += dec.decode_float(&p.data, &mut buf, false).unwrap();
        granule = p.absgp_page() as usize;
        eos = p.last_in_stream();
    }
    assert!(eos);
    assert!(n >= granule);
    granule - pre_skip
}

#[tokio::test]
async fn whole_wav_has_a_real_header() {
    let s = shared();
    let r = speech(s, json!({"input": SENTENCE, "voice": "alloy", "response_format": "wav", "stream": false})).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "audio/wav");
    let b = r.bytes().await.unwrap().to_vec();
    assert_eq!(&b[..4], b"RIFF");
    let data = u32::from_le_bytes(b[40..44].try_into().unwrap()) as usize;
    assert_eq!(data, b.len() - 44, "sizes are filled in when the length is known");
    let seconds = data as f64 / 2.0 / 24_000.0;
    assert!(seconds > 0.5 && seconds < 5.0, "{seconds} s");
}

#[tokio::test]
async fn every_format_streams_the_same_duration() {
    let s = shared();
    let n = sentence_samples().await;
    assert!(n > 12_000, "{n} samples");
    for (format, ext) in [("wav", "wav"), ("flac", "flac"), ("mp3", "mp3"), ("opus", "opus")] {
        let r = speech(s, json!({"input": SENTENCE, "voice": "af_heart", "response_format": format})).await;
        assert_eq!(r.status(), 200, "{format}");
        assert_eq!(r.headers()["x-accel-buffering"], "no");
        assert!(r.headers().get("content-length").is_none(), "{format} is streamed (chunked)");
        let bytes = r.bytes().await.unwrap().to_vec();
        match ext {
            "opus" => assert_eq!(decode_ogg_opus(bytes), 2 * n, "opus duration"),
            "mp3" => {
                let (m, rate) = decode_symphonia(bytes, ext);
                assert_eq!(rate, 24_000);
                // LAME's delay (1105 samples) and the padding of the last 576-sample frame.
                assert!(m >= n + 1105 && m <= n + 1105 + 2 * 576, "mp3: {m} vs {n}");
            }
            _ => {
                let (m, rate) = decode_symphonia(bytes, ext);
                assert_eq!(rate, 24_000);
                assert_eq!(m, n, "{format} duration");
            }
        }
    }
    // Another rate: resampled to exactly round(n · 16000 / 24000).
    let r = speech(s, json!({"input": SENTENCE, "voice": "af_heart", "response_format": "wav", "sample_rate": 16000}))
        .await;
    let (m, rate) = decode_symphonia(r.bytes().await.unwrap().to_vec(), "wav");
    assert_eq!(rate, 16_000);
    assert!((m as i64 - (n as i64 * 2).div_euclid(3)).abs() <= 1, "{m} vs {n}·2/3");
}

#[tokio::test]
async fn sse_streams_deltas_then_done_with_usage() {
    let s = shared();
    let n = sentence_samples().await;
    let r =
        speech(s, json!({"input": SENTENCE, "voice": "af_heart", "response_format": "pcm", "stream_format": "sse"}))
            .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    let text = r.text().await.unwrap();
    let events: Vec<Value> = text
        .split("\n\n")
        .filter(|e| !e.trim().is_empty())
        .map(|e| serde_json::from_str(e.strip_prefix("data: ").expect("data: lines")).unwrap())
        .collect();
    let (last, deltas) = events.split_last().unwrap();
    assert_eq!(last["type"], "speech.audio.done");
    assert!(last["usage"]["total_tokens"].as_u64().unwrap() > 0);
    assert!(!deltas.is_empty());
    let mut bytes = 0;
    for d in deltas {
        assert_eq!(d["type"], "speech.audio.delta");
        bytes += B64.decode(d["audio"].as_str().unwrap()).unwrap().len();
    }
    assert_eq!(bytes, 2 * n);
}

#[tokio::test]
async fn captioned_speech_streams_words() {
    let s = shared();
    let r = client()
        .post(s.url("/dev/captioned_speech"))
        .json(&json!({"input": SENTENCE, "voice": "af_bella(2)+af_sky(1)", "response_format": "pcm"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    let mut words = Vec::new();
    let mut bytes = 0;
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["audio_format"], "pcm");
        bytes += B64.decode(v["audio"].as_str().unwrap()).unwrap().len();
        for w in v["timestamps"].as_array().unwrap() {
            words.push(w["word"].as_str().unwrap().to_string());
            assert!(w["end_time"].as_f64().unwrap() >= w["start_time"].as_f64().unwrap());
        }
    }
    assert!(bytes > 0);
    assert!(words.iter().any(|w| w.contains("Hello")), "{words:?}");
    assert!(words.iter().any(|w| w.contains("friend")), "{words:?}");
}

#[tokio::test]
async fn bad_requests_get_openai_errors_and_the_server_keeps_serving() {
    let s = TestServer::start(ServerConfig { max_input_chars: 200, ..Default::default() });
    let c = client();
    let cases: Vec<(&str, Vec<u8>, u16, Option<&str>)> = vec![
        ("malformed JSON", b"{\"input\": ".to_vec(), 400, None),
        ("not UTF-8", vec![0xff, 0xfe, 0x00], 400, None),
        ("array", b"[]".to_vec(), 400, None),
        ("no input", br#"{"voice":"af_heart"}"#.to_vec(), 400, Some("input")),
        ("empty input", br#"{"input":"  "}"#.to_vec(), 400, Some("input")),
        ("input type", br#"{"input":["a"]}"#.to_vec(), 400, Some("input")),
        ("unknown voice", br#"{"input":"Hi","voice":"af_nobody"}"#.to_vec(), 400, Some("voice")),
        ("path voice", br#"{"input":"Hi","voice":"../../etc/passwd"}"#.to_vec(), 400, Some("voice")),
        ("format", br#"{"input":"Hi","response_format":"ogg"}"#.to_vec(), 400, Some("response_format")),
        ("aac", br#"{"input":"Hi","response_format":"aac"}"#.to_vec(), 400, Some("response_format")),
        ("slow", br#"{"input":"Hi","speed":0.1}"#.to_vec(), 400, Some("speed")),
        ("fast", br#"{"input":"Hi","speed":5}"#.to_vec(), 400, Some("speed")),
        ("speed type", br#"{"input":"Hi","speed":"1"}"#.to_vec(), 400, Some("speed")),
        ("stream type", br#"{"input":"Hi","stream":1}"#.to_vec(), 400, Some("stream")),
        ("lang", br#"{"input":"Hi","lang_code":"klingon"}"#.to_vec(), 400, Some("lang_code")),
        ("too long", format!(r#"{{"input":"{}"}}"#, "a".repeat(201)).into_bytes(), 413, Some("input")),
        ("body too large", format!(r#"{{"input":"{}"}}"#, "a".repeat(200_000)).into_bytes(), 413, None),
        ("only punctuation", br#"{"input":"... !!! ???"}"#.to_vec(), 400, Some("input")),
    ];
    for (label, body, status, param) in cases {
        let r = c
            .post(s.url("/v1/audio/speech"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), status, "{label}");
        let v: Value = r.json().await.unwrap_or_else(|e| panic!("{label}: not JSON: {e}"));
        let e = &v["error"];
        assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{label}: {v}");
        assert!(e["type"].is_string(), "{label}: {v}");
        if let Some(p) = param {
            assert_eq!(e["param"], p, "{label}: {v}");
        }
    }
    let r = c.get(s.url("/v1/nothing")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.json::<Value>().await.unwrap()["error"]["message"].is_string());
    let r = c.get(s.url("/v1/audio/speech")).send().await.unwrap();
    assert_eq!(r.status(), 405);
    // Still serving.
    let v: Value = c.get(s.url("/v1/audio/voices")).send().await.unwrap().json().await.unwrap();
    assert!(v["voices"].as_array().unwrap().iter().any(|x| x["id"] == "af_heart"));
    assert_eq!(v["aliases"]["alloy"], "af_alloy");
    let v: Value = c.get(s.url("/v1/models")).send().await.unwrap().json().await.unwrap();
    assert!(v["data"].as_array().unwrap().iter().any(|m| m["id"] == "tts-1"));
    let r = speech(&s, json!({"input": "Hi.", "response_format": "wav", "stream": false})).await;
    assert_eq!(r.status(), 200);
    let metrics = c.get(s.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("warble_requests_total{route=\"/v1/audio/speech\",status=\"400\"}"), "{metrics}");
    assert!(metrics.contains("warble_requests_total{route=\"/v1/audio/speech\",status=\"413\"} 2"), "{metrics}");
    assert!(metrics.contains("warble_first_audio_seconds_count 1"), "{metrics}");
}

#[tokio::test]
async fn api_key_is_required_when_set() {
    let s = TestServer::start(ServerConfig { api_key: Some("s3cret".into()), ..Default::default() });
    let c = client();
    let r = c.get(s.url("/v1/audio/voices")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "invalid_api_key");
    let r = c.get(s.url("/v1/audio/voices")).bearer_auth("wrong").send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = c.post(s.url("/v1/audio/speech")).json(&json!({"input": "Hi"})).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = c.get(s.url("/v1/audio/voices")).bearer_auth("s3cret").send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(c.get(s.url("/health")).send().await.unwrap().status(), 200);
    // CORS is off by default: no CORS headers.
    let r = c.get(s.url("/health")).header("origin", "http://example.com").send().await.unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
}

const LONG: &str = "The first sentence is here. The second one follows it closely. A third sentence adds more words. \
                    Then a fourth sentence arrives. The fifth sentence is longer than the others, by a little. \
                    The sixth sentence ends the paragraph, and the story too.";

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(' ')).and_then(|v| v.parse().ok()))
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

#[tokio::test]
async fn client_disconnect_stops_the_work() {
    let s = TestServer::start(ServerConfig::default());
    let c = client();
    let mut r = speech(&s, json!({"input": LONG, "response_format": "pcm"})).await;
    assert_eq!(r.status(), 200);
    let first = r.chunk().await.unwrap().unwrap();
    assert!(!first.is_empty());
    drop(r);
    // The worker notices before its next window and drops the engine stream.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut text;
    loop {
        text = c.get(s.url("/metrics")).send().await.unwrap().text().await.unwrap();
        if metric(&text, "warble_cancelled_total") >= 1.0 && metric(&text, "warble_active_streams") == 0.0 {
            break;
        }
        assert!(Instant::now() < deadline, "the stream was not cancelled: {text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let windows = metric(&text, "warble_windows_total");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let text = c.get(s.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert_eq!(metric(&text, "warble_windows_total"), windows, "no windows after the cancel");
    // The whole text would have taken many windows.
    assert!(windows < 12.0, "{windows} windows rendered");
}

#[tokio::test]
async fn a_full_queue_answers_429_and_recovers() {
    let s = TestServer::start(ServerConfig { queue_capacity: 1, ..Default::default() });
    let mut held = speech(&s, json!({"input": LONG, "response_format": "pcm"})).await;
    assert_eq!(held.status(), 200);
    held.chunk().await.unwrap();
    let r = speech(&s, json!({"input": "Hi.", "response_format": "pcm"})).await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_some());
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["type"], "rate_limit_error");
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = speech(&s, json!({"input": "Hi.", "response_format": "pcm", "stream": false})).await;
        if r.status() == 200 {
            break;
        }
        assert_eq!(r.status(), 429);
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn graceful_shutdown_finishes_in_flight_requests() {
    let mut s = TestServer::start(ServerConfig::default());
    let n = sentence_samples().await;
    let mut r = speech(&s, json!({"input": SENTENCE, "voice": "af_heart", "response_format": "pcm"})).await;
    assert_eq!(r.status(), 200);
    let mut got = r.chunk().await.unwrap().unwrap().len();
    let addr = s.addr;
    let stopper = std::thread::spawn(move || s.shutdown());
    while let Some(c) = r.chunk().await.unwrap() {
        got += c.len();
    }
    assert_eq!(got, 2 * n, "the in-flight response is complete");
    stopper.join().unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "no longer accepting");
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn ws_connect(s: &TestServer) -> Ws {
    let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/v1/audio/speech/live", s.addr)).await.unwrap();
    ws
}

async fn ws_send(ws: &mut Ws, v: Value) {
    ws.send(Message::text(v.to_string())).await.unwrap();
}

/// Next message, with a time limit.
async fn ws_next(ws: &mut Ws) -> Option<Message> {
    tokio::time::timeout(Duration::from_secs(120), ws.next()).await.expect("a message in time").map(|m| m.unwrap())
}

#[tokio::test]
async fn websocket_text_in_audio_and_words_out() {
    let s = shared();
    let mut ws = ws_connect(s).await;
    ws_send(&mut ws, json!({"type": "start", "voice": "af_heart", "response_format": "pcm"})).await;
    let ready: Value = match ws_next(&mut ws).await {
        Some(Message::Text(t)) => serde_json::from_str(&t).unwrap(),
        other => panic!("{other:?}"),
    };
    assert_eq!(ready["type"], "ready");
    assert_eq!(ready["sample_rate"], 24_000);
    for piece in ["Hel", "lo there", ", friend", "."] {
        ws_send(&mut ws, json!({"type": "text", "text": piece})).await;
    }
    ws_send(&mut ws, json!({"type": "end"})).await;
    let (mut bytes, mut words, mut done) = (0, Vec::new(), false);
    while let Some(m) = ws_next(&mut ws).await {
        match m {
            Message::Binary(b) => bytes += b.len(),
            Message::Text(t) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                match v["type"].as_str().unwrap() {
                    "words" => words
                        .extend(v["words"].as_array().unwrap().iter().map(|w| w["word"].as_str().unwrap().to_string())),
                    "done" => done = true,
                    other => panic!("unexpected {other}: {v}"),
                }
            }
            Message::Close(_) => break,
            _ => {}
        }
    }
    assert!(done);
    assert!(bytes > 2 * 12_000, "{bytes} bytes of audio");
    assert!(words.iter().any(|w| w.contains("friend")), "{words:?}");
}

#[tokio::test]
async fn websocket_cancel_stops_the_speech() {
    let s = TestServer::start(ServerConfig::default());
    let mut ws = ws_connect(&s).await;
    ws_send(&mut ws, json!({"type": "text", "text": LONG})).await;
    ws_send(&mut ws, json!({"type": "flush"})).await;
    // Wait for the first audio, then cancel.
    loop {
        match ws_next(&mut ws).await.expect("audio") {
            Message::Binary(_) => break,
            Message::Text(t) => assert!(!t.contains("error"), "{t}"),
            _ => {}
        }
    }
    ws_send(&mut ws, json!({"type": "cancel"})).await;
    loop {
        match ws_next(&mut ws).await.expect("cancelled") {
            Message::Text(t) if t.contains("\"cancelled\"") => break,
            _ => {}
        }
    }
    // The long text is gone: a short one is spoken next and the session ends quickly.
    let windows_before = metric(&s.state.render_metrics(), "warble_windows_total");
    ws_send(&mut ws, json!({"type": "text", "text": "Okay."})).await;
    ws_send(&mut ws, json!({"type": "end"})).await;
    let mut bytes = 0;
    let mut done = false;
    while let Some(m) = ws_next(&mut ws).await {
        match m {
            Message::Binary(b) => bytes += b.len(),
            Message::Text(t) if t.contains("\"done\"") => done = true,
            Message::Close(_) => break,
            _ => {}
        }
    }
    assert!(done);
    assert!(bytes > 0 && bytes < 2 * 24_000 * 3, "{bytes} bytes after the cancel");
    let windows_after = metric(&s.state.render_metrics(), "warble_windows_total");
    assert!(windows_after - windows_before < 6.0, "{windows_before} → {windows_after}");
}

#[tokio::test]
async fn websocket_rejects_bad_messages_without_dying() {
    let s = shared();
    let mut ws = ws_connect(s).await;
    for bad in
        [json!({"type": "start", "voice": "nobody"}), json!({"type": "dance"}), json!({"type": "text", "text": 3})]
    {
        ws_send(&mut ws, bad.clone()).await;
        match ws_next(&mut ws).await {
            Some(Message::Text(t)) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                assert_eq!(v["type"], "error", "{bad}: {v}");
                assert!(v["error"]["message"].is_string());
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
    ws.send(Message::text("not json")).await.unwrap();
    assert!(matches!(ws_next(&mut ws).await, Some(Message::Text(t)) if t.contains("error")));
    ws_send(&mut ws, json!({"type": "start", "response_format": "mp3"})).await;
    assert!(matches!(ws_next(&mut ws).await, Some(Message::Text(t)) if t.contains("error")));
    ws_send(&mut ws, json!({"type": "start", "response_format": "wav", "sample_rate": 16000})).await;
    let ready: Value = match ws_next(&mut ws).await {
        Some(Message::Text(t)) => serde_json::from_str(&t).unwrap(),
        other => panic!("{other:?}"),
    };
    assert_eq!(ready["type"], "ready");
    assert_eq!(ready["sample_rate"], 16_000);
    ws.close(None).await.unwrap();
}

#[tokio::test]
async fn request_timeout_gives_504_or_ends_the_stream() {
    // A deadline already passed when the worker takes the request: 504 before any audio.
    let s = TestServer::start(ServerConfig { request_timeout: Duration::ZERO, ..Default::default() });
    let r = speech(&s, json!({"input": "Hi.", "stream": false})).await;
    assert_eq!(r.status(), 504);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "timeout");
    // A deadline reached mid-stream: the transfer is cut off (not a short file passed off as whole). Under
    // load the deadline can come before any byte left: then no response at all, or a 504.
    let s = TestServer::start(ServerConfig { request_timeout: Duration::from_millis(1500), ..Default::default() });
    match client().post(s.url("/v1/audio/speech")).json(&json!({"input": LONG, "response_format": "pcm"})).send().await
    {
        Err(_) => {}
        Ok(r) if r.status() == 504 => {}
        Ok(mut r) => {
            assert_eq!(r.status(), 200);
            let outcome = loop {
                match r.chunk().await {
                    Ok(Some(_)) => continue,
                    Ok(None) => break Ok(()),
                    Err(e) => break Err(e),
                }
            };
            assert!(outcome.is_err(), "a timed-out stream must not end cleanly");
        }
    }
    let text = s.state.render_metrics();
    assert!(metric(&text, "warble_timeouts_total") >= 1.0, "{text}");
}

#[tokio::test]
async fn a_short_request_is_not_starved_by_a_long_one() {
    let s = TestServer::start(ServerConfig::default());
    let mut long = speech(&s, json!({"input": LONG, "response_format": "pcm"})).await;
    assert_eq!(long.status(), 200);
    long.chunk().await.unwrap();
    // Keep reading the long one in the background while the short one runs.
    let (done_tx, mut done_rx) = tokio::sync::oneshot::channel::<()>();
    let reader = tokio::spawn(async move {
        let mut finished = false;
        loop {
            tokio::select! {
                c = long.chunk() => match c {
                    Ok(Some(_)) => {}
                    _ => { finished = true; break; }
                },
                _ = &mut done_rx => break,
            }
        }
        finished
    });
    let short = speech(&s, json!({"input": "Yes.", "response_format": "pcm", "stream": false})).await;
    assert_eq!(short.status(), 200);
    assert!(!short.bytes().await.unwrap().is_empty());
    let _ = done_tx.send(());
    assert!(!reader.await.unwrap(), "the long request finished before the short one: no turn taking");
}

#[tokio::test]
async fn cors_allows_the_configured_origins() {
    let s = TestServer::start(ServerConfig { cors_origins: vec!["http://app.example".into()], ..Default::default() });
    let c = client();
    let r = c
        .request(reqwest::Method::OPTIONS, s.url("/v1/audio/speech"))
        .header("origin", "http://app.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization,content-type")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(r.headers()["access-control-allow-origin"], "http://app.example");
    let r = c.get(s.url("/health")).header("origin", "http://other.example").send().await.unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
}

/// `warble serve --add-voice`: an added voice (here a blend standing in for a clone, saved as `my_clone.bin`) is
/// listed and spoken by name, while its file path, in every form a client could send, is refused as an unknown
/// voice exactly as before: clients never make the server read a file.
#[tokio::test]
async fn an_added_voice_is_served_by_name_and_its_path_is_refused() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("server-added-voice-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut engine = Engine::load(&EngineOptions {
        model: Some(std::env::var_os("WARBLE_MODEL_DIR").map(PathBuf::from).expect("set WARBLE_MODEL_DIR")),
        cache_dir: Some(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("warble-converted")),
        ..Default::default()
    })
    .unwrap();
    let blend = engine.voices().resolve("af_heart:0.5,am_adam:0.5").unwrap();
    let clone = VoicePack::new("my_clone", blend.as_slice().to_vec()).unwrap();
    let file = dir.join("my_clone.bin");
    clone.write_bin(&file).unwrap();
    engine.add_voice(clone.clone()).unwrap();
    // The same pack again is fine; a different pack under a taken name, or a name that reads as a path, is not.
    engine.add_voice(clone.clone()).unwrap();
    let other = VoicePack::new("af_heart", clone.as_slice().to_vec()).unwrap();
    let err = engine.add_voice(other).unwrap_err().to_string();
    assert!(err.contains("af_heart") && err.contains("twice"), "{err}");
    for bad in ["x.bin", "a/b", "a,b", "a:0.5", ""] {
        assert!(engine.add_voice(VoicePack::new(bad, clone.as_slice().to_vec()).unwrap()).is_err(), "{bad:?}");
    }
    let s = TestServer::start_with(Arc::new(engine), ServerConfig::default());
    let c = client();

    let v: Value = c.get(s.url("/v1/audio/voices")).send().await.unwrap().json().await.unwrap();
    let listed = v["voices"].as_array().unwrap().iter().find(|x| x["id"] == "my_clone").cloned();
    let listed = listed.unwrap_or_else(|| panic!("my_clone is not listed: {v}"));
    assert_eq!(listed["language"], Value::Null, "a clone's name tells no language: {listed}");
    let heart = v["voices"].as_array().unwrap().iter().find(|x| x["id"] == "af_heart").cloned().unwrap();
    assert_eq!(heart["language"], "en-us", "{heart}");
    assert!(s.state.voices().iter().any(|n| n == "my_clone"));

    let r = speech(&s, json!({"input": "Hi.", "voice": "my_clone", "response_format": "pcm"})).await;
    assert_eq!(r.status(), 200);
    assert!(r.bytes().await.unwrap().len() > 4_800, "at least 0.1 s of audio");

    let absolute = file.to_str().unwrap().to_string();
    let paths = [
        absolute.clone(),
        "./my_clone.bin".to_string(),
        "my_clone.bin".to_string(),
        format!("my_clone:0.5,{absolute}:0.5"),
        format!("af_heart+{absolute}"),
    ];
    for voice in &paths {
        let r = speech(&s, json!({"input": "Hi.", "voice": voice, "response_format": "pcm"})).await;
        assert_eq!(r.status(), 400, "{voice}");
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["error"]["code"], "voice_not_found", "{voice}: {e}");
        assert_eq!(e["error"]["param"], "voice", "{voice}: {e}");
        let message = e["error"]["message"].as_str().unwrap();
        assert!(message.contains("unknown voice") && message.contains("my_clone"), "{voice}: {message}");
    }
    // The live WebSocket looks voices up the same way.
    let mut ws = ws_connect(&s).await;
    ws_send(&mut ws, json!({"type": "start", "voice": absolute})).await;
    match ws_next(&mut ws).await {
        Some(Message::Text(t)) => {
            let v: Value = serde_json::from_str(&t).unwrap();
            assert_eq!(v["error"]["code"], "voice_not_found", "{v}");
        }
        other => panic!("{other:?}"),
    }
    ws.close(None).await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
