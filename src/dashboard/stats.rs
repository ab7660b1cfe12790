//! What the dashboard shows: every finished exchange, kept as per-second buckets for the
//! last five minutes (counts, errors, tokens, cost, time-to-first-byte and total-time
//! histograms), running totals by route, provider, model, schema title and function, the
//! latest exchanges, and markers for knob changes. Bounded: 300 buckets, 200 keys per
//! dimension (the rest count as `other`), 50 recent exchanges, 100 markers.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

/// Seconds of history the charts cover.
pub const WINDOW_SECS: usize = 300;
/// Seconds the headline percentiles cover.
const RECENT_SECS: u64 = 60;
/// Distinct keys kept per breakdown dimension.
const MAX_KEYS: usize = 200;
/// Exchanges listed as "latest".
const RECENT: usize = 50;
/// Knob-change markers kept.
const MARKERS: usize = 100;

/// Histogram buckets: bucket `i` holds durations below `FIRST_MS * RATIO^i`.
const BUCKETS: usize = 120;
const FIRST_MS: f64 = 0.05;
const RATIO: f64 = 1.15;

/// A latency histogram with log-spaced buckets (about 7 % resolution, 0.05 ms to hours).
#[derive(Debug, Clone)]
struct Histogram([u32; BUCKETS]);

impl Default for Histogram {
    fn default() -> Self {
        Histogram([0; BUCKETS])
    }
}

impl Histogram {
    fn add(&mut self, d: Duration) {
        let ms = d.as_secs_f64() * 1e3;
        let i = if ms <= FIRST_MS {
            0
        } else {
            ((ms / FIRST_MS).ln() / RATIO.ln()).ceil() as usize
        };
        let slot = &mut self.0[i.min(BUCKETS - 1)];
        *slot = slot.saturating_add(1);
    }

    fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a = a.saturating_add(*b);
        }
    }

    /// The `q` quantile in milliseconds (the upper edge of its bucket); `None` when empty.
    fn quantile(&self, q: f64) -> Option<f64> {
        let total: u64 = self.0.iter().map(|&c| u64::from(c)).sum();
        if total == 0 {
            return None;
        }
        let rank = (q * total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, &c) in self.0.iter().enumerate() {
            seen += u64::from(c);
            if seen >= rank {
                return Some(round(FIRST_MS * RATIO.powi(i as i32)));
            }
        }
        None
    }

    fn percentiles(&self) -> Value {
        json!({"p50": self.quantile(0.50), "p95": self.quantile(0.95), "p99": self.quantile(0.99)})
    }
}

fn round(ms: f64) -> f64 {
    if ms >= 100.0 {
        ms.round()
    } else {
        (ms * 10.0).round() / 10.0
    }
}

/// One finished exchange, as the dashboard counts it.
#[derive(Debug, Clone, Default)]
pub struct Done {
    pub route: &'static str,
    /// The GenAI operation (`chat`, `generate_content`, `embeddings`...); empty for
    /// exchanges that are not model calls.
    pub operation: &'static str,
    pub provider: String,
    pub model: String,
    pub schema: Option<String>,
    pub functions: Vec<String>,
    pub method: String,
    pub path: String,
    pub status: u16,
    /// Time to the response's first body byte (headers, for a body-less reply).
    pub ttfb: Duration,
    /// Time to the end of the body.
    pub total: Duration,
    pub tokens_in: u64,
    pub tokens_out: u64,
    /// `None`: not priced (unknown model, or not a model call).
    pub cost_usd: Option<f64>,
    pub fault: Option<&'static str>,
    /// The body ended with an error (a cut stream, the client went away).
    pub broken: bool,
    /// The capture record's id, when capturing.
    pub record: Option<u64>,
}

impl Done {
    fn error(&self) -> bool {
        self.status >= 400 || self.broken
    }
}

/// One second of traffic.
#[derive(Debug, Clone, Default)]
struct Bucket {
    second: u64,
    requests: u64,
    errors: u64,
    tokens_in: u64,
    tokens_out: u64,
    cost_usd: f64,
    ttfb: Histogram,
    total: Histogram,
}

/// Running totals of one breakdown key.
#[derive(Debug, Clone, Default)]
struct Totals {
    requests: u64,
    errors: u64,
    tokens_in: u64,
    tokens_out: u64,
    cost_usd: f64,
    unpriced: u64,
    total: Histogram,
}

impl Totals {
    fn add(&mut self, d: &Done) {
        self.requests += 1;
        self.errors += u64::from(d.error());
        self.tokens_in += d.tokens_in;
        self.tokens_out += d.tokens_out;
        match d.cost_usd {
            Some(c) => self.cost_usd += c,
            None if d.tokens_in + d.tokens_out > 0 => self.unpriced += 1,
            None => {}
        }
        self.total.add(d.total);
    }

    fn to_json(&self, key: &str) -> Value {
        json!({
            "key": key, "requests": self.requests, "errors": self.errors,
            "tokens_in": self.tokens_in, "tokens_out": self.tokens_out,
            "cost_usd": self.cost_usd, "unpriced": self.unpriced,
            "latency_ms": self.total.percentiles(),
        })
    }
}

/// A change shown on the charts.
#[derive(Debug, Clone)]
struct Marker {
    at: f64,
    what: String,
    by: String,
}

#[derive(Debug, Default)]
struct Inner {
    buckets: VecDeque<Bucket>,
    totals: Totals,
    faults: BTreeMap<&'static str, u64>,
    by: BTreeMap<&'static str, BTreeMap<String, Totals>>,
    recent: VecDeque<(f64, Done)>,
    markers: VecDeque<Marker>,
}

/// The dashboard's data; cheap to update from any task.
#[derive(Debug)]
pub struct Stats {
    inner: Mutex<Inner>,
    started: SystemTime,
    /// Response bodies still being sent.
    open_streams: AtomicI64,
}

impl Default for Stats {
    fn default() -> Self {
        Stats::new()
    }
}

fn unix(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

impl Stats {
    pub fn new() -> Stats {
        Stats {
            inner: Mutex::new(Inner::default()),
            started: SystemTime::now(),
            open_streams: AtomicI64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A response body started (`stream_ended` follows when it ends or is dropped).
    pub fn stream_started(&self) {
        self.open_streams.fetch_add(1, Ordering::Relaxed);
    }

    pub fn stream_ended(&self) {
        self.open_streams.fetch_sub(1, Ordering::Relaxed);
    }

    /// Count a finished exchange.
    pub fn record(&self, done: Done) {
        let now = SystemTime::now();
        let second = unix(now) as u64;
        let mut inner = self.lock();
        if inner.buckets.back().is_none_or(|b| b.second != second) {
            inner.buckets.push_back(Bucket {
                second,
                ..Bucket::default()
            });
            while inner.buckets.len() > WINDOW_SECS {
                inner.buckets.pop_front();
            }
        }
        if let Some(b) = inner.buckets.back_mut() {
            b.requests += 1;
            b.errors += u64::from(done.error());
            b.tokens_in += done.tokens_in;
            b.tokens_out += done.tokens_out;
            b.cost_usd += done.cost_usd.unwrap_or(0.0);
            b.ttfb.add(done.ttfb);
            b.total.add(done.total);
        }
        inner.totals.add(&done);
        if let Some(f) = done.fault {
            *inner.faults.entry(f).or_default() += 1;
        }
        let mut keys: Vec<(&'static str, String)> = vec![
            ("route", done.route.to_string()),
            ("provider", done.provider.clone()),
            ("model", done.model.clone()),
        ];
        if let Some(s) = &done.schema {
            keys.push(("schema", s.clone()));
        }
        keys.extend(done.functions.iter().map(|f| ("function", f.clone())));
        for (dimension, key) in keys {
            if key.is_empty() {
                continue;
            }
            let table = inner.by.entry(dimension).or_default();
            let key = if table.contains_key(&key) || table.len() < MAX_KEYS {
                key
            } else {
                "other".to_string()
            };
            table.entry(key).or_default().add(&done);
        }
        inner.recent.push_back((unix(now), done));
        while inner.recent.len() > RECENT {
            inner.recent.pop_front();
        }
    }

    /// Note a change (a knob) on the charts.
    pub fn mark(&self, what: String, by: String) {
        let mut inner = self.lock();
        inner.markers.push_back(Marker {
            at: unix(SystemTime::now()),
            what,
            by,
        });
        while inner.markers.len() > MARKERS {
            inner.markers.pop_front();
        }
    }

    /// Everything the dashboard shows, as of now. `open_connections` comes from the
    /// metrics; `knobs` is the mock's, when there is one.
    pub fn snapshot(&self, open_connections: i64, knobs: Option<Value>, record_link: bool) -> Value {
        let now = unix(SystemTime::now());
        let second = now as u64;
        let inner = self.lock();
        let series: Vec<Value> = inner
            .buckets
            .iter()
            .filter(|b| b.second + WINDOW_SECS as u64 > second)
            .map(|b| {
                json!({
                    "t": b.second, "requests": b.requests, "errors": b.errors,
                    "tokens_in": b.tokens_in, "tokens_out": b.tokens_out, "cost_usd": b.cost_usd,
                    "ttfb_ms": b.ttfb.percentiles(), "total_ms": b.total.percentiles(),
                })
            })
            .collect();
        let (mut ttfb, mut total) = (Histogram::default(), Histogram::default());
        for b in inner.buckets.iter().filter(|b| b.second + RECENT_SECS > second) {
            ttfb.merge(&b.ttfb);
            total.merge(&b.total);
        }
        let breakdown: serde_json::Map<String, Value> = ["route", "provider", "model", "schema", "function"]
            .iter()
            .map(|dimension| {
                let rows: Vec<Value> = inner
                    .by
                    .get(dimension)
                    .map(|t| t.iter().map(|(k, v)| v.to_json(k)).collect())
                    .unwrap_or_default();
                (dimension.to_string(), Value::Array(rows))
            })
            .collect();
        let recent: Vec<Value> = inner
            .recent
            .iter()
            .rev()
            .map(|(at, d)| {
                json!({
                    "at": at, "route": d.route, "provider": d.provider, "model": d.model,
                    "method": d.method, "path": d.path, "status": d.status,
                    "ttfb_ms": round(d.ttfb.as_secs_f64() * 1e3), "total_ms": round(d.total.as_secs_f64() * 1e3),
                    "tokens_in": d.tokens_in, "tokens_out": d.tokens_out, "cost_usd": d.cost_usd,
                    "schema": d.schema, "functions": d.functions, "fault": d.fault, "broken": d.broken,
                    "record": d.record.filter(|_| record_link).map(|id| format!("/ui/records/{id}")),
                })
            })
            .collect();
        let markers: Vec<Value> = inner
            .markers
            .iter()
            .map(|m| json!({"t": m.at, "what": m.what, "by": m.by}))
            .collect();
        let t = &inner.totals;
        json!({
            "now": now,
            "uptime_s": (now - unix(self.started)).max(0.0),
            "totals": {
                "requests": t.requests, "errors": t.errors, "tokens_in": t.tokens_in,
                "tokens_out": t.tokens_out, "cost_usd": t.cost_usd, "unpriced": t.unpriced,
                "faults": inner.faults,
            },
            "open": {"connections": open_connections, "streams": self.open_streams.load(Ordering::Relaxed)},
            "latency": {"window_s": RECENT_SECS, "ttfb_ms": ttfb.percentiles(), "total_ms": total.percentiles()},
            "series": series,
            "breakdown": breakdown,
            "recent": recent,
            "knobs": knobs,
            "markers": markers,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Percentiles come from the buckets to within their 15 % width.
    #[test]
    fn histogram_quantiles() {
        let mut h = Histogram::default();
        for ms in 1..=100 {
            h.add(Duration::from_millis(ms));
        }
        let p50 = h.quantile(0.5).expect("p50");
        let p99 = h.quantile(0.99).expect("p99");
        assert!((50.0..=57.5).contains(&p50), "{p50}");
        assert!((99.0..=114.0).contains(&p99), "{p99}");
        assert_eq!(Histogram::default().quantile(0.5), None);
    }

    /// Totals, breakdowns, faults and the latest list follow the recorded exchanges.
    #[test]
    fn snapshot_counts() {
        let stats = Stats::new();
        for i in 0..5 {
            stats.record(Done {
                route: "openai",
                provider: "openai".into(),
                model: "gpt-4o".into(),
                functions: if i == 0 {
                    vec!["get_weather".into()]
                } else {
                    vec![]
                },
                status: if i == 4 { 429 } else { 200 },
                fault: (i == 4).then_some("429"),
                tokens_in: 10,
                tokens_out: 5,
                cost_usd: Some(0.5),
                total: Duration::from_millis(20),
                ..Done::default()
            });
        }
        let snap = stats.snapshot(3, None, false);
        assert_eq!(snap["totals"]["requests"], 5);
        assert_eq!(snap["totals"]["errors"], 1);
        assert_eq!(snap["totals"]["tokens_in"], 50);
        assert_eq!(snap["totals"]["cost_usd"], 2.5);
        assert_eq!(snap["totals"]["faults"]["429"], 1);
        assert_eq!(snap["open"]["connections"], 3);
        assert_eq!(snap["breakdown"]["model"][0]["key"], "gpt-4o");
        assert_eq!(snap["breakdown"]["function"][0]["requests"], 1);
        assert_eq!(snap["recent"].as_array().map(Vec::len), Some(5));
        assert_eq!(snap["series"][0]["requests"], 5);
    }
}
