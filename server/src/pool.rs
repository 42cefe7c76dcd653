//! The synthesis pool: a few blocking worker threads, fed by a bounded queue, taking turns between requests
//! one window at a time.
//!
//! - **Admission.** At most `capacity` requests are in the server at once (waiting or being rendered); one more
//!   gets 429 with `Retry-After`.
//! - **Fairness.** Each worker keeps the requests it took in a rotation and renders one window (≤ ~3 s of audio)
//!   of the next request that can take one, so a long book and a short sentence progress side by side. A
//!   waiting request goes to an idle worker if there is one, else into a busy worker's rotation at its next
//!   turn.
//! - **Backpressure and cancellation.** A request is only advanced when its response channel has room, so a
//!   slow reader does not make the server buffer its audio. When the client goes away the response body (or
//!   WebSocket) drops the channel's receiver; the worker sees that before the next window and drops the
//!   engine stream: work stops.
//! - **Time limit.** A request past its deadline gets a timeout error and is dropped.
//! - **Panics** inside the engine are caught and turned into a 500 for that request only.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use warble_engine::{AudioChunk, Engine, Input, Language, SpeechStream, SynthesisOptions, TextSession};

use crate::error::ApiError;
use crate::metrics::Metrics;

/// What a worker sends back for a request.
#[derive(Debug)]
pub enum Event {
    /// The next window of audio (24 kHz mono) with its timings. `generation` counts a session's cancels.
    Chunk { chunk: AudioChunk, generation: u64 },
    /// Everything was rendered.
    Done { generation: u64 },
    /// The request failed (a stream ends after it; a session starts afresh).
    Error(ApiError),
}

/// A WebSocket session's instructions.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Text(String),
    Flush,
    /// Drop everything buffered and unspoken; later audio carries this generation.
    Cancel(u64),
    End,
}

/// What to render.
pub enum Work {
    /// A whole input ([`Engine::stream`]).
    Speech { input: Input, opts: SynthesisOptions },
    /// Text arriving piece by piece ([`Engine::session`]), steered by commands.
    Session { lang: Option<Language>, opts: SynthesisOptions, commands: std::sync::mpsc::Receiver<Command> },
}

/// A request for the pool.
pub struct Job {
    pub work: Work,
    /// Where the audio goes; dropping its receiver cancels the request.
    pub events: mpsc::Sender<Event>,
    /// When the request arrived (first-audio latency is measured from here).
    pub received: Instant,
    pub deadline: Option<Instant>,
}

struct State {
    jobs: VecDeque<(Job, Ticket)>,
    idle: usize,
    shutdown: bool,
}

struct Shared {
    state: Mutex<State>,
    cv: Condvar,
    metrics: Arc<Metrics>,
    /// Requests admitted and not finished (waiting or active).
    admitted: AtomicUsize,
    /// Requests in some worker's rotation.
    active: AtomicUsize,
    capacity: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A place in the server; given back when dropped.
struct Ticket(Arc<Shared>);

impl Drop for Ticket {
    fn drop(&mut self) {
        self.0.admitted.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The worker threads and their queue.
pub struct Pool {
    shared: Arc<Shared>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    workers: usize,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("workers", &self.workers)
            .field("capacity", &self.shared.capacity)
            .field("queued", &self.queued())
            .field("active", &self.active())
            .finish()
    }
}

/// How long an idle worker sleeps before looking again at requests whose readers were full.
const POLL: Duration = Duration::from_millis(5);

impl Pool {
    /// Starts `workers` threads (at least 1) admitting at most `capacity` requests (at least 1).
    pub fn new(engine: Arc<Engine>, workers: usize, capacity: usize, metrics: Arc<Metrics>) -> Self {
        let workers = workers.max(1);
        let shared = Arc::new(Shared {
            state: Mutex::new(State { jobs: VecDeque::new(), idle: 0, shutdown: false }),
            cv: Condvar::new(),
            metrics,
            admitted: AtomicUsize::new(0),
            active: AtomicUsize::new(0),
            capacity: capacity.max(1),
        });
        let threads = (0..workers)
            .map(|i| {
                let engine = engine.clone();
                let shared = shared.clone();
                std::thread::Builder::new()
                    .name(format!("warble-synth-{i}"))
                    .spawn(move || worker(&engine, &shared))
                    .expect("cannot start a synthesis thread")
            })
            .collect();
        Self { shared, threads: Mutex::new(threads), workers }
    }

    /// Queues a request; 429 when the server holds `capacity` requests already, 503 once shutting down.
    pub fn submit(&self, job: Job) -> Result<(), ApiError> {
        let s = &self.shared;
        let prev = s.admitted.fetch_add(1, Ordering::AcqRel);
        let ticket = Ticket(s.clone());
        if prev >= s.capacity {
            s.metrics.rejected.fetch_add(1, Ordering::Relaxed);
            return Err(ApiError::busy(retry_after(prev, self.workers)));
        }
        let mut st = s.lock();
        if st.shutdown {
            return Err(ApiError::shutting_down());
        }
        st.jobs.push_back((job, ticket));
        drop(st);
        s.cv.notify_all();
        Ok(())
    }

    /// Wakes the workers (a session got a command).
    pub fn wake(&self) {
        self.shared.cv.notify_all();
    }

    /// Requests waiting for a worker.
    pub fn queued(&self) -> usize {
        self.shared.lock().jobs.len()
    }

    /// Requests being rendered.
    pub fn active(&self) -> usize {
        self.shared.active.load(Ordering::Acquire)
    }

    pub fn workers(&self) -> usize {
        self.workers
    }

    pub fn capacity(&self) -> usize {
        self.shared.capacity
    }

    /// Refuses new requests, lets the workers finish the whole inputs they hold (WebSocket sessions are
    /// ended), and waits for them. Blocking.
    pub fn shutdown(&self) {
        self.shared.lock().shutdown = true;
        self.shared.cv.notify_all();
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|p| p.into_inner()));
        for t in threads {
            let _ = t.join();
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Threads that are still running end once their work is done; nothing to wait for here.
        self.shared.lock().shutdown = true;
        self.shared.cv.notify_all();
    }
}

/// A guess at when a place frees up: a few seconds per request ahead, per worker.
fn retry_after(admitted: usize, workers: usize) -> u64 {
    (admitted as u64).div_ceil(workers.max(1) as u64).clamp(1, 30)
}

// One per request: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
enum Kind<'e> {
    Stream(SpeechStream<'e>),
    Session {
        session: TextSession<'e>,
        commands: std::sync::mpsc::Receiver<Command>,
        lang: Option<Language>,
        opts: SynthesisOptions,
        generation: u64,
        /// Text was pushed (or flushed, or ended) since the session last said it needs more.
        more: bool,
        ended: bool,
    },
}

struct Task<'e> {
    kind: Kind<'e>,
    tx: mpsc::Sender<Event>,
    received: Instant,
    deadline: Option<Instant>,
    first_audio: bool,
    samples: u64,
    compute: Duration,
    _ticket: Ticket,
}

/// What a task can do now.
enum Status {
    Runnable,
    Waiting,
    Gone,
}

fn worker(engine: &Engine, shared: &Arc<Shared>) {
    let mut tasks: Vec<Task<'_>> = Vec::new();
    let mut next = 0usize;
    loop {
        // Take a new request: always when idle; when busy, only if no other worker is idle.
        let (job, shutdown) = {
            let mut st = shared.lock();
            loop {
                if tasks.is_empty() {
                    if let Some(j) = st.jobs.pop_front() {
                        break (Some(j), st.shutdown);
                    }
                    if st.shutdown {
                        return;
                    }
                    st.idle += 1;
                    st = shared.cv.wait(st).unwrap_or_else(|p| p.into_inner());
                    st.idle -= 1;
                } else {
                    let j = if st.idle == 0 { st.jobs.pop_front() } else { None };
                    break (j, st.shutdown);
                }
            }
        };
        if let Some((job, ticket)) = job
            && let Some(t) = start(engine, job, ticket, shared)
        {
            tasks.push(t);
            shared.active.fetch_add(1, Ordering::AcqRel);
        }

        // Sweep: commands, cancelled clients, deadlines.
        let now = Instant::now();
        let mut status: Vec<Status> = tasks.iter_mut().map(|t| sweep(engine, t, now, shutdown, shared)).collect();
        let mut i = 0;
        while i < tasks.len() {
            if matches!(status[i], Status::Gone) {
                tasks.swap_remove(i);
                status.swap_remove(i);
                shared.active.fetch_sub(1, Ordering::AcqRel);
            } else {
                i += 1;
            }
        }
        if tasks.is_empty() {
            continue;
        }

        // One turn: the next runnable task renders one window.
        let n = tasks.len();
        let pick = (0..n).map(|k| (next + k) % n).find(|&i| matches!(status[i], Status::Runnable));
        match pick {
            Some(i) => {
                next = i + 1;
                if !advance(engine, &mut tasks[i], shared) {
                    tasks.swap_remove(i);
                    shared.active.fetch_sub(1, Ordering::AcqRel);
                }
            }
            None => {
                let st = shared.lock();
                if st.jobs.is_empty() || st.idle > 0 {
                    let _ = shared.cv.wait_timeout(st, POLL);
                }
            }
        }
    }
}

/// Makes a task from a job (errors in the options go straight back).
fn start<'e>(engine: &'e Engine, job: Job, ticket: Ticket, shared: &Shared) -> Option<Task<'e>> {
    if job.events.is_closed() {
        shared.metrics.cancelled.fetch_add(1, Ordering::Relaxed);
        return None;
    }
    if job.deadline.is_some_and(|d| Instant::now() >= d) {
        shared.metrics.timeouts.fetch_add(1, Ordering::Relaxed);
        let _ = job.events.try_send(Event::Error(ApiError::timeout()));
        return None;
    }
    let began = Instant::now();
    let made = catch_unwind(AssertUnwindSafe(|| match job.work {
        Work::Speech { input, opts } => engine.stream(input, &opts).map(Kind::Stream),
        Work::Session { lang, opts, commands } => engine.session(lang, &opts).map(|session| Kind::Session {
            session,
            commands,
            lang,
            opts,
            generation: 0,
            more: false,
            ended: false,
        }),
    }));
    let kind = match made {
        Ok(Ok(kind)) => kind,
        Ok(Err(e)) => {
            let _ = job.events.try_send(Event::Error(ApiError::from(&e)));
            return None;
        }
        Err(_) => {
            let _ = job.events.try_send(Event::Error(ApiError::internal("synthesis failed unexpectedly")));
            return None;
        }
    };
    Some(Task {
        kind,
        tx: job.events,
        received: job.received,
        deadline: job.deadline,
        first_audio: false,
        samples: 0,
        compute: began.elapsed(),
        _ticket: ticket,
    })
}

fn sweep<'e>(engine: &'e Engine, t: &mut Task<'e>, now: Instant, shutdown: bool, shared: &Shared) -> Status {
    if t.tx.is_closed() {
        shared.metrics.cancelled.fetch_add(1, Ordering::Relaxed);
        return Status::Gone;
    }
    if t.deadline.is_some_and(|d| now >= d) {
        shared.metrics.timeouts.fetch_add(1, Ordering::Relaxed);
        let _ = t.tx.try_send(Event::Error(ApiError::timeout()));
        return Status::Gone;
    }
    if let Kind::Session { session, commands, lang, opts, generation, more, ended } = &mut t.kind {
        loop {
            match commands.try_recv() {
                Ok(Command::Text(s)) => session.push(&s),
                Ok(Command::Flush) => session.flush(),
                Ok(Command::End) => {
                    session.finish();
                    *ended = true;
                }
                Ok(Command::Cancel(g)) => match engine.session(*lang, opts) {
                    Ok(s) => {
                        *session = s;
                        *generation = g;
                        *ended = false;
                    }
                    Err(e) => {
                        let _ = t.tx.try_send(Event::Error(ApiError::from(&e)));
                        return Status::Gone;
                    }
                },
                Err(std::sync::mpsc::TryRecvError::Empty) => break,
                // The WebSocket went away.
                Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                    if !*ended {
                        shared.metrics.cancelled.fetch_add(1, Ordering::Relaxed);
                        return Status::Gone;
                    }
                    break;
                }
            }
            *more = true;
        }
        // WebSockets outlive the HTTP server's graceful shutdown: sessions end with it.
        if shutdown {
            let _ = t.tx.try_send(Event::Error(ApiError::shutting_down()));
            return Status::Gone;
        }
        if !*more {
            return Status::Waiting;
        }
    }
    if t.tx.capacity() == 0 {
        return Status::Waiting;
    }
    Status::Runnable
}

/// Renders one window of `t` and sends it; false when the task is over.
fn advance<'e>(engine: &'e Engine, t: &mut Task<'e>, shared: &Shared) -> bool {
    let began = Instant::now();
    let (item, generation) = match &mut t.kind {
        Kind::Stream(s) => (catch_unwind(AssertUnwindSafe(|| s.next())), 0),
        Kind::Session { session, generation, .. } => {
            (catch_unwind(AssertUnwindSafe(|| session.next_chunk())), *generation)
        }
    };
    t.compute += began.elapsed();
    let item = match item {
        Ok(item) => item,
        Err(_) => {
            let _ = t.tx.try_send(Event::Error(ApiError::internal("synthesis failed unexpectedly")));
            return false;
        }
    };
    match item {
        Some(Ok(chunk)) => {
            shared.metrics.windows.fetch_add(1, Ordering::Relaxed);
            shared.metrics.audio_samples.fetch_add(chunk.samples.len() as u64, Ordering::Relaxed);
            if !t.first_audio && !chunk.samples.is_empty() {
                t.first_audio = true;
                // A session's first audio waits for its client's text: only whole inputs are timed.
                if matches!(t.kind, Kind::Stream(_)) {
                    shared.metrics.first_audio.observe(t.received.elapsed().as_secs_f64());
                }
            }
            t.samples += chunk.samples.len() as u64;
            if t.tx.try_send(Event::Chunk { chunk, generation }).is_err() {
                // Only the receiver's drop can make this fail: the sweep checked for room.
                shared.metrics.cancelled.fetch_add(1, Ordering::Relaxed);
                return false;
            }
            true
        }
        Some(Err(e)) => {
            let _ = t.tx.try_send(Event::Error(ApiError::from(&e)));
            match &mut t.kind {
                Kind::Stream(_) => false,
                // A session goes on with a fresh engine session.
                Kind::Session { session, lang, opts, more, ended, .. } => match engine.session(*lang, opts) {
                    Ok(s) => {
                        *session = s;
                        // After `end` the fresh session is ended too, so `done` still comes.
                        if *ended {
                            session.finish();
                        }
                        *more = *ended;
                        true
                    }
                    Err(_) => false,
                },
            }
        }
        None => match &mut t.kind {
            Kind::Session { session, more, .. } if !session.is_finished() => {
                *more = false;
                true
            }
            _ => {
                if t.samples > 0 {
                    let audio = t.samples as f64 / f64::from(warble_engine::SAMPLE_RATE);
                    shared.metrics.rtf.observe(t.compute.as_secs_f64() / audio);
                }
                let _ = t.tx.try_send(Event::Done { generation });
                false
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_bounded() {
        assert_eq!(retry_after(0, 1), 1);
        assert_eq!(retry_after(4, 2), 2);
        assert_eq!(retry_after(1000, 1), 30);
    }
}
