//! Prometheus metrics served at `/metrics`: exchanges by route and status with their
//! latency, tunnels by status, denials, open connections, TLS handshakes, leaf cache
//! hits/misses, mock replies and faults, capture records.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::tls::ca::CacheOutcome;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

/// All of shunt's metrics; cheap to update from any task (atomics behind `Family` maps).
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabel, Histogram, fn() -> Histogram>,
    tunnels: Family<StatusLabel, Counter>,
    denials: Counter,
    open_connections: Gauge,
    stalled: Counter,
    handshakes: Family<ResultLabel, Counter>,
    leaf_cache: Family<ResultLabel, Counter>,
    mock_replies: Family<ReplyLabels, Counter>,
    mock_faults: Family<KindLabel, Counter>,
    capture: crate::capture::CaptureCounters,
    /// Schema titles and function names already used as label values: past
    /// [`MAX_LABEL_VALUES`] a new one is counted as `other`, so a client sending random
    /// titles cannot grow `/metrics` without bound.
    reply_values: Mutex<HashSet<String>>,
}

/// Distinct schema titles plus function names labelled in `shunt_mock_replies_total`.
const MAX_LABEL_VALUES: usize = 200;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReplyLabels {
    kind: &'static str,
    /// The response schema's title (`""`: none).
    schema: String,
    /// The function called (`""`: none).
    function: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

fn latency_histogram() -> Histogram {
    // 0.5 ms .. ~65 s: proxy overhead at the low end, long streams at the high end.
    Histogram::new(exponential_buckets(0.0005, 2.0, 18))
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("shunt");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabel, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let tunnels = Family::<StatusLabel, Counter>::default();
        registry.register(
            "tunnels",
            "CONNECT tunnels and plain-HTTP proxying to hosts shunt does not intercept, by the status the client got (200: opened)",
            tunnels.clone(),
        );
        let denials = Counter::default();
        registry.register(
            "denials",
            "Requests refused by the host policy (403)",
            denials.clone(),
        );
        let open_connections = Gauge::default();
        let stalled = Counter::default();
        registry.register(
            "stalled_clients",
            "Client connections closed because the client stopped reading (--stall-timeout)",
            stalled.clone(),
        );
        let handshakes = Family::<ResultLabel, Counter>::default();
        let leaf_cache = Family::<ResultLabel, Counter>::default();
        let mock_replies = Family::<ReplyLabels, Counter>::default();
        let mock_faults = Family::<KindLabel, Counter>::default();
        registry.register(
            "requests",
            "Exchanges handled, by route and HTTP status",
            requests.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time to response headers, by route",
            latency.clone(),
        );
        registry.register(
            "open_connections",
            "Client connections currently open (proxy, tunnels and intercepted TLS)",
            open_connections.clone(),
        );
        registry.register(
            "tls_handshakes",
            "Client-side TLS handshakes, by result",
            handshakes.clone(),
        );
        registry.register(
            "leaf_cache",
            "Leaf certificate cache lookups, by result",
            leaf_cache.clone(),
        );
        registry.register(
            "mock_replies",
            "Built-in mock generation replies, by kind (text, json, function_call, error), response schema title and function called",
            mock_replies.clone(),
        );
        registry.register(
            "mock_faults",
            "Built-in mock fault draws, by kind (none, 429, 500, 503, cut)",
            mock_faults.clone(),
        );
        let capture = crate::capture::CaptureCounters::default();
        registry.register(
            "capture_records",
            "Capture records written to the capture files",
            capture.written.clone(),
        );
        registry.register(
            "capture_dropped",
            "Capture records dropped because the writer queue was full (the proxy never waits)",
            capture.dropped.clone(),
        );
        Metrics {
            capture,
            registry,
            requests,
            latency,
            tunnels,
            denials,
            open_connections,
            stalled,
            handshakes,
            leaf_cache,
            mock_replies,
            mock_faults,
            reply_values: Mutex::new(HashSet::new()),
        }
    }

    /// The capture's counters (shared handles into this registry).
    pub fn capture_counters(&self) -> crate::capture::CaptureCounters {
        self.capture.clone()
    }

    /// Count one mock reply: its kind, the response schema's title, the function called.
    pub fn mock_reply(&self, kind: &'static str, schema: Option<&str>, function: Option<&str>) {
        let labels = ReplyLabels {
            kind,
            schema: self.bounded(schema),
            function: self.bounded(function),
        };
        self.mock_replies.get_or_create(&labels).inc();
    }

    /// `value` as a label value, or `other` once [`MAX_LABEL_VALUES`] distinct ones exist.
    fn bounded(&self, value: Option<&str>) -> String {
        let Some(value) = value.filter(|v| !v.is_empty()) else {
            return String::new();
        };
        let value: String = value.chars().take(120).collect();
        let mut seen = self.reply_values.lock().unwrap_or_else(|p| p.into_inner());
        if seen.contains(&value) {
            return value;
        }
        if seen.len() >= MAX_LABEL_VALUES {
            return "other".into();
        }
        seen.insert(value.clone());
        value
    }

    pub fn mock_fault(&self, kind: &'static str) {
        self.mock_faults.get_or_create(&KindLabel { kind }).inc();
    }

    /// Count one exchange and its time to response headers.
    pub fn observe_request(&self, route: &'static str, status: u16, elapsed: Duration) {
        self.requests
            .get_or_create(&RequestLabels { route, status })
            .inc();
        self.latency
            .get_or_create(&RouteLabel { route })
            .observe(elapsed.as_secs_f64());
    }

    /// Count one tunnel by the status its client got (200 when it opened).
    pub fn tunnel(&self, status: u16) {
        self.tunnels.get_or_create(&StatusLabel { status }).inc();
    }

    /// Count one policy denial.
    pub fn denied(&self) {
        self.denials.inc();
    }

    /// A connection opened; the guard decrements on drop.
    pub fn connection_opened(&self) -> ConnectionGuard {
        self.open_connections.inc();
        ConnectionGuard(self.open_connections.clone())
    }

    /// Count a client disconnected for not reading.
    pub fn client_stalled(&self) {
        self.stalled.inc();
    }

    /// Count a client TLS handshake that completed.
    pub fn handshake_ok(&self) {
        self.handshakes.get_or_create(&ResultLabel { result: "ok" }).inc();
    }

    /// Count a client TLS handshake that failed (or never started).
    pub fn handshake_failed(&self) {
        self.handshakes
            .get_or_create(&ResultLabel { result: "failed" })
            .inc();
    }

    pub fn leaf_cache(&self, outcome: CacheOutcome) {
        let result = match outcome {
            CacheOutcome::Hit => "hit",
            CacheOutcome::Miss => "miss",
        };
        self.leaf_cache.get_or_create(&ResultLabel { result }).inc();
    }

    /// Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// Decrements the open-connections gauge when the connection task ends.
#[derive(Debug)]
pub struct ConnectionGuard(Gauge);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}
