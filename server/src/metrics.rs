//! Prometheus metrics, written by hand in the text exposition format.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// A histogram with fixed upper bounds.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    inner: Mutex<HistInner>,
}

#[derive(Debug, Default)]
struct HistInner {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    pub fn new(bounds: &'static [f64]) -> Self {
        Self { bounds, inner: Mutex::new(HistInner { counts: vec![0; bounds.len()], ..Default::default() }) }
    }

    pub fn observe(&self, v: f64) {
        if !v.is_finite() {
            return;
        }
        let mut h = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        for (i, b) in self.bounds.iter().enumerate() {
            if v <= *b {
                h.counts[i] += 1;
            }
        }
        h.sum += v;
        h.count += 1;
    }

    pub fn count(&self) -> u64 {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).count
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let h = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} histogram");
        for (b, c) in self.bounds.iter().zip(&h.counts) {
            let _ = writeln!(out, "{name}_bucket{{le=\"{b}\"}} {c}");
        }
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", h.count);
        let _ = writeln!(out, "{name}_sum {}", h.sum);
        let _ = writeln!(out, "{name}_count {}", h.count);
    }
}

const LATENCY_BOUNDS: &[f64] = &[0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0];
const RTF_BOUNDS: &[f64] = &[0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0];

/// Everything the server counts.
#[derive(Debug)]
pub struct Metrics {
    /// (route, status) → responses.
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    /// Seconds from a request's arrival to its first audio.
    pub first_audio: Histogram,
    /// Real-time factor of finished requests: compute seconds / audio seconds.
    pub rtf: Histogram,
    /// Windows (engine chunks) rendered, all requests together.
    pub windows: AtomicU64,
    /// Requests whose client went away before the audio was finished (work stopped).
    pub cancelled: AtomicU64,
    /// Requests stopped by the request timeout.
    pub timeouts: AtomicU64,
    /// Requests turned away with 429.
    pub rejected: AtomicU64,
    /// Audio produced, in samples at 24 kHz.
    pub audio_samples: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            requests: Mutex::new(BTreeMap::new()),
            first_audio: Histogram::new(LATENCY_BOUNDS),
            rtf: Histogram::new(RTF_BOUNDS),
            windows: AtomicU64::new(0),
            cancelled: AtomicU64::new(0),
            timeouts: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            audio_samples: AtomicU64::new(0),
        }
    }
}

/// Gauges read from the pool when rendering.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gauges {
    pub queued: usize,
    pub active: usize,
    pub workers: usize,
}

impl Metrics {
    pub fn request(&self, route: &str, status: u16) {
        let mut m = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        *m.entry((route.to_string(), status)).or_default() += 1;
    }

    pub fn render(&self, g: Gauges) -> String {
        let mut out = String::new();
        out.push_str("# HELP warble_requests_total HTTP responses by route and status.\n");
        out.push_str("# TYPE warble_requests_total counter\n");
        {
            let m = self.requests.lock().unwrap_or_else(|p| p.into_inner());
            for ((route, status), n) in m.iter() {
                let route = route.replace('\\', "\\\\").replace('"', "\\\"");
                let _ = writeln!(out, "warble_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}");
            }
        }
        let gauge = |out: &mut String, name: &str, help: &str, v: usize| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        };
        gauge(&mut out, "warble_queue_depth", "Requests waiting for a synthesis worker.", g.queued);
        gauge(
            &mut out,
            "warble_active_streams",
            "Requests being synthesised (taking turns window by window).",
            g.active,
        );
        gauge(&mut out, "warble_workers", "Synthesis worker threads.", g.workers);
        let counter = |out: &mut String, name: &str, help: &str, v: u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}");
        };
        counter(&mut out, "warble_windows_total", "Audio windows rendered.", self.windows.load(Ordering::Relaxed));
        counter(
            &mut out,
            "warble_cancelled_total",
            "Requests stopped because the client went away.",
            self.cancelled.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "warble_timeouts_total",
            "Requests stopped by the time limit.",
            self.timeouts.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "warble_rejected_total",
            "Requests refused because the queue was full.",
            self.rejected.load(Ordering::Relaxed),
        );
        let _ = writeln!(
            out,
            "# HELP warble_audio_seconds_total Audio produced.\n# TYPE warble_audio_seconds_total counter\nwarble_audio_seconds_total {}",
            self.audio_samples.load(Ordering::Relaxed) as f64 / 24_000.0
        );
        self.first_audio.render(
            &mut out,
            "warble_first_audio_seconds",
            "Time from a request's arrival to its first audio window.",
        );
        self.rtf.render(&mut out, "warble_real_time_factor", "Synthesis time divided by audio duration, per request.");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::default();
        m.request("/v1/audio/speech", 200);
        m.request("/v1/audio/speech", 200);
        m.request("/v1/audio/speech", 400);
        m.first_audio.observe(0.4);
        m.rtf.observe(f64::NAN);
        m.rtf.observe(0.5);
        let text = m.render(Gauges { queued: 2, active: 1, workers: 1 });
        assert!(text.contains("warble_requests_total{route=\"/v1/audio/speech\",status=\"200\"} 2"));
        assert!(text.contains("warble_requests_total{route=\"/v1/audio/speech\",status=\"400\"} 1"));
        assert!(text.contains("warble_queue_depth 2"));
        assert!(text.contains("warble_first_audio_seconds_bucket{le=\"0.3\"} 0"));
        assert!(text.contains("warble_first_audio_seconds_bucket{le=\"0.5\"} 1"));
        assert!(text.contains("warble_real_time_factor_count 1"));
        for line in text.lines() {
            assert!(line.starts_with('#') || line.split(' ').count() == 2, "{line}");
        }
    }
}
