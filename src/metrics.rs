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
    genai: GenAi,
    cost: Family<CostLabels, Counter<f64, std::sync::atomic::AtomicU64>>,
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
        // shunt's own metrics under `shunt_`; the OpenTelemetry GenAI ones (below) keep
        // their semantic-convention names.
        let mut root = Registry::default();
        let genai = GenAi::register(&mut root);
        let registry = root.sub_registry_with_prefix("shunt");
        let cost = Family::<CostLabels, Counter<f64, std::sync::atomic::AtomicU64>>::default();
        registry.register(
            "genai_cost_usd",
            "Estimated cost of the model calls on the real provider, in US dollars (the --prices table)",
            cost.clone(),
        );
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
            registry: root,
            genai,
            cost,
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

    /// Count a finished model call in the GenAI metrics and the cost counter (other
    /// exchanges are not model calls and are skipped).
    pub fn genai(&self, done: &crate::dashboard::stats::Done) {
        if done.operation.is_empty() || done.status >= 400 {
            return;
        }
        let system = genai_provider(&done.provider);
        let model = self.bounded(Some(&done.model));
        let op = GenAiLabels {
            gen_ai_operation_name: done.operation,
            gen_ai_provider_name: system,
            gen_ai_request_model: model.clone(),
        };
        self.genai
            .duration
            .get_or_create(&op)
            .observe(done.total.as_secs_f64());
        self.genai
            .ttft
            .get_or_create(&op)
            .observe(done.ttfb.as_secs_f64());
        if done.tokens_out > 0 {
            let per_token = done.total.saturating_sub(done.ttfb).as_secs_f64() / done.tokens_out as f64;
            self.genai.per_output_token.get_or_create(&op).observe(per_token);
        }
        for (kind, n) in [("input", done.tokens_in), ("output", done.tokens_out)] {
            if n > 0 {
                self.genai
                    .tokens
                    .get_or_create(&TokenLabels {
                        gen_ai_operation_name: done.operation,
                        gen_ai_provider_name: system,
                        gen_ai_request_model: model.clone(),
                        gen_ai_token_type: kind,
                    })
                    .observe(n as f64);
            }
        }
        if let Some(c) = done.cost_usd {
            self.cost
                .get_or_create(&CostLabels {
                    provider: done.provider.clone(),
                    model,
                })
                .inc_by(c);
        }
    }

    /// Client connections open now.
    pub fn open_connections(&self) -> i64 {
        self.open_connections.get()
    }

    /// Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GenAiLabels {
    gen_ai_operation_name: &'static str,
    gen_ai_provider_name: &'static str,
    gen_ai_request_model: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TokenLabels {
    gen_ai_operation_name: &'static str,
    gen_ai_provider_name: &'static str,
    gen_ai_request_model: String,
    gen_ai_token_type: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CostLabels {
    provider: String,
    model: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// The OpenTelemetry GenAI client metrics, with the semantic conventions' names, units and
/// bucket boundaries, in Prometheus form.
#[derive(Debug)]
struct GenAi {
    tokens: HistogramFamily<TokenLabels>,
    duration: HistogramFamily<GenAiLabels>,
    ttft: HistogramFamily<GenAiLabels>,
    per_output_token: HistogramFamily<GenAiLabels>,
}

fn token_buckets() -> Histogram {
    Histogram::new(exponential_buckets(1.0, 4.0, 14))
}

fn duration_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.01, 2.0, 14))
}

fn ttft_buckets() -> Histogram {
    Histogram::new([
        0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
    ])
}

fn per_token_buckets() -> Histogram {
    Histogram::new([
        0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5,
    ])
}

impl GenAi {
    fn register(root: &mut Registry) -> GenAi {
        use prometheus_client::registry::Unit;
        let g = GenAi {
            tokens: Family::new_with_constructor(token_buckets as fn() -> Histogram),
            duration: Family::new_with_constructor(duration_buckets as fn() -> Histogram),
            ttft: Family::new_with_constructor(ttft_buckets as fn() -> Histogram),
            per_output_token: Family::new_with_constructor(per_token_buckets as fn() -> Histogram),
        };
        root.register(
            "gen_ai_client_token_usage",
            "Number of input and output tokens used (OpenTelemetry GenAI semantic conventions)",
            g.tokens.clone(),
        );
        root.register_with_unit(
            "gen_ai_client_operation_duration",
            "GenAI operation duration (OpenTelemetry GenAI semantic conventions)",
            Unit::Seconds,
            g.duration.clone(),
        );
        root.register_with_unit(
            "gen_ai_server_time_to_first_token",
            "Time to generate the first token (OpenTelemetry GenAI semantic conventions)",
            Unit::Seconds,
            g.ttft.clone(),
        );
        root.register_with_unit(
            "gen_ai_server_time_per_output_token",
            "Time per output token after the first (OpenTelemetry GenAI semantic conventions)",
            Unit::Seconds,
            g.per_output_token.clone(),
        );
        g
    }
}

/// The semantic conventions' `gen_ai.provider.name` for shunt's provider names.
fn genai_provider(provider: &str) -> &'static str {
    match provider {
        "vertex" | "vertex_anthropic" => "gcp.vertex_ai",
        "gemini_api" => "gcp.gemini",
        "openai" => "openai",
        "azure_openai" => "azure.ai.openai",
        "anthropic" => "anthropic",
        "bedrock" => "aws.bedrock",
        _ => "unknown",
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
