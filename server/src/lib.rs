//! warble-server: an OpenAI-compatible speech server for Warble (axum + tokio).
//!
//! Routes (see the crate README for the full API):
//!
//! - `POST /v1/audio/speech`: OpenAI's speech endpoint (mp3, opus, flac, wav, pcm; audio or SSE streaming);
//! - `POST /dev/captioned_speech`: audio with word timestamps (Kokoro-FastAPI's extension);
//! - `GET /v1/audio/speech/live`: WebSocket, text in as it arrives, audio and word timings out;
//! - `GET /v1/audio/voices`, `GET /v1/models`, `GET /health`, `GET /metrics`.
//!
//! Synthesis runs on a small pool of blocking worker threads ([`pool`]) that take turns between requests one
//! window at a time; the async side only parses, encodes and moves bytes.
//!
//! Entry points: [`serve`] (bind, run until `shutdown` resolves, then finish in-flight work), or [`Server`]
//! to learn the bound address first, or [`router`] with an [`AppState`] to mount the routes elsewhere.

pub mod encode;
pub mod error;
mod http;
pub mod metrics;
pub mod pool;
pub mod request;
pub mod voices;
mod ws;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use warble_engine::Engine;

pub use error::ApiError;
pub use metrics::Metrics;
pub use pool::Pool;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on (`127.0.0.1` by default: local only; `0.0.0.0` for every interface).
    pub host: String,
    /// Port; 0 picks a free one.
    pub port: u16,
    /// Synthesis worker threads; each renders one window at a time (one engine call per worker).
    pub workers: usize,
    /// When set, every route but `/health` and `/metrics` needs `Authorization: Bearer <key>`.
    pub api_key: Option<String>,
    /// Origins allowed by CORS; empty (default) turns CORS off; `*` allows any origin.
    pub cors_origins: Vec<String>,
    /// Longest `input` accepted, in characters (413 beyond).
    pub max_input_chars: usize,
    /// Requests held at once, waiting or being rendered (429 beyond).
    pub queue_capacity: usize,
    /// Time limit for one request, from arrival to its last audio.
    pub request_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8880,
            workers: 1,
            api_key: None,
            cors_origins: Vec::new(),
            max_input_chars: 16_384,
            queue_capacity: 16,
            request_timeout: Duration::from_secs(600),
        }
    }
}

impl ServerConfig {
    /// The largest request body accepted: the longest input, JSON-escaped, plus room for the other fields.
    pub fn max_body_bytes(&self) -> usize {
        self.max_input_chars.saturating_mul(6).saturating_add(64 * 1024)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
    #[error("invalid configuration: {0}")]
    Config(String),
}

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Arc<Engine>,
    pool: Pool,
    metrics: Arc<Metrics>,
    cfg: ServerConfig,
    voices: Vec<String>,
    limits: request::Limits,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("pool", &self.inner.pool).field("cfg", &self.inner.cfg).finish()
    }
}

impl AppState {
    /// Starts the synthesis pool.
    pub fn new(engine: Arc<Engine>, cfg: ServerConfig) -> Self {
        let metrics = Arc::new(Metrics::default());
        let pool = Pool::new(engine.clone(), cfg.workers, cfg.queue_capacity, metrics.clone());
        let voices = engine.voices().names().into_iter().map(str::to_string).collect();
        let limits = request::Limits { max_input_chars: cfg.max_input_chars };
        Self { inner: Arc::new(Inner { engine, pool, metrics, cfg, voices, limits }) }
    }

    pub fn engine(&self) -> &Arc<Engine> {
        &self.inner.engine
    }

    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    pub fn pool(&self) -> &Pool {
        &self.inner.pool
    }

    pub fn config(&self) -> &ServerConfig {
        &self.inner.cfg
    }

    /// The engine's voice names, sorted.
    pub fn voices(&self) -> &[String] {
        &self.inner.voices
    }

    /// The `/metrics` text.
    pub fn render_metrics(&self) -> String {
        let p = &self.inner.pool;
        self.inner.metrics.render(metrics::Gauges { queued: p.queued(), active: p.active(), workers: p.workers() })
    }

    /// Stops the pool after the work it holds (blocking; call from a blocking context).
    pub fn shutdown_pool(&self) {
        self.inner.pool.shutdown();
    }
}

/// Every route, with auth, request counting, body limit and (if configured) CORS.
pub fn router(state: AppState) -> Router {
    let cfg = state.config().clone();
    let app = Router::new()
        .route("/v1/audio/speech", post(http::speech))
        .route("/v1/audio/speech/live", get(ws::live))
        .route("/dev/captioned_speech", post(http::captioned))
        .route("/v1/audio/voices", get(http::voices))
        .route("/v1/models", get(http::models))
        .route("/v1/models/{model}", get(http::model))
        .route("/health", get(http::health))
        .route("/metrics", get(http::metrics))
        .fallback(http::not_found)
        .method_not_allowed_fallback(http::method_not_allowed)
        .layer(DefaultBodyLimit::max(cfg.max_body_bytes()))
        .layer(axum::middleware::from_fn_with_state(state.clone(), http::auth))
        .layer(axum::middleware::from_fn_with_state(state.clone(), http::track))
        .with_state(state);
    match http::cors(&cfg.cors_origins) {
        Some(cors) => app.layer(cors),
        None => app,
    }
}

/// A bound server: [`Server::local_addr`] tells where (port 0 picks one), [`Server::run`] serves.
pub struct Server {
    listener: tokio::net::TcpListener,
    state: AppState,
}

impl Server {
    /// Binds the address and starts the synthesis pool.
    pub async fn bind(engine: Arc<Engine>, cfg: ServerConfig) -> Result<Self, ServerError> {
        if cfg.workers == 0 {
            return Err(ServerError::Config("workers must be at least 1".into()));
        }
        if cfg.queue_capacity == 0 {
            return Err(ServerError::Config("queue capacity must be at least 1".into()));
        }
        let addr = if cfg.host.contains(':') && !cfg.host.starts_with('[') {
            format!("[{}]:{}", cfg.host, cfg.port)
        } else {
            format!("{}:{}", cfg.host, cfg.port)
        };
        let listener =
            tokio::net::TcpListener::bind(&addr).await.map_err(|source| ServerError::Bind { addr, source })?;
        Ok(Self { listener, state: AppState::new(engine, cfg) })
    }

    pub fn local_addr(&self) -> Result<SocketAddr, ServerError> {
        Ok(self.listener.local_addr()?)
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves; then stops accepting, lets in-flight requests finish and stops the
    /// pool.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), ServerError> {
        let state = self.state.clone();
        axum::serve(self.listener, router(self.state)).with_graceful_shutdown(shutdown).await?;
        let _ = tokio::task::spawn_blocking(move || state.shutdown_pool()).await;
        Ok(())
    }
}

/// Binds `cfg.host:cfg.port` and serves until `shutdown` resolves (then finishes in-flight requests).
///
/// ```no_run
/// # async fn f(engine: std::sync::Arc<warble_engine::Engine>) -> Result<(), warble_server::ServerError> {
/// let cfg = warble_server::ServerConfig { port: 8880, ..Default::default() };
/// warble_server::serve(engine, cfg, warble_server::shutdown_signal()).await
/// # }
/// ```
pub async fn serve(
    engine: Arc<Engine>,
    cfg: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    Server::bind(engine, cfg).await?.run(shutdown).await
}

/// Resolves on Ctrl-C or (on Unix) SIGTERM: the usual `shutdown` for [`serve`].
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
