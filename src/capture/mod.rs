//! Capture: what the app really sent to Vertex, without slowing the load test.
//!
//! The data path only copies body bytes into memory ([`tee`]) and, when a response
//! body ends, offers the finished [`record::Record`] to a bounded queue with `try_send`.
//! A full queue drops the record and counts it; the proxy never blocks on the capture.
//! A dedicated writer thread redacts secrets and writes each record to every sink:
//! JSONL ([`jsonl`]: one whole line per record, written with one `write` call, readable
//! with `tail -f`) and HAR ([`har`]: rewritten atomically at intervals and at shutdown).

pub mod har;
pub mod jsonl;
pub mod record;
pub mod summary;
pub mod tee;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prometheus_client::metrics::counter::Counter;

use crate::body::Body;
use record::{CapturedBody, Exchange, Kind, Message, Record};
use tee::{BodyBuf, TeeBody};

/// Records waiting for the writer; beyond this they are dropped (and counted).
const QUEUE: usize = 8192;
/// Records the dashboard can show (`/ui/records/ID`), newest kept.
const RECENT_RECORDS: usize = 200;
/// How often the HAR file is rewritten while shunt runs.
const HAR_INTERVAL: Duration = Duration::from_secs(2);

/// Capture settings from the command line.
#[derive(Debug, Clone)]
pub struct CaptureConfig {
    /// Output files; the extension (`.jsonl`, `.har`) picks the format.
    pub paths: Vec<PathBuf>,
    /// Body bytes kept per message.
    pub max_body: usize,
    /// Keep tokens and credentials instead of redacting them.
    pub secrets: bool,
    /// Most recent entries a HAR file keeps.
    pub har_entries: usize,
    /// Bytes of serialized entries the HAR sink keeps (`--capture-har-bytes`).
    pub har_bytes: usize,
}

/// Counters the capture reports in `/metrics`.
#[derive(Debug, Clone, Default)]
pub struct CaptureCounters {
    pub written: Counter,
    pub dropped: Counter,
}

enum Msg {
    Record(Box<Record>),
    Shutdown,
}

/// The handle connection tasks use.
pub struct Capture {
    tx: SyncSender<Msg>,
    max_body: usize,
    next_id: AtomicU64,
    counters: CaptureCounters,
    /// The writer thread, joined at shutdown.
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// The latest records as written (redacted), by id, for the dashboard.
    recent: Arc<Mutex<std::collections::VecDeque<(u64, String)>>>,
}

/// A sink a record is written to.
pub trait Sink: Send {
    fn write(&mut self, record: &Record) -> std::io::Result<()>;
    /// Called when no record arrived for a while, and at shutdown.
    fn flush(&mut self) -> std::io::Result<()>;
    fn name(&self) -> String;
}

impl Capture {
    /// Open every sink (errors name the file) and start the writer thread.
    pub fn start(config: &CaptureConfig, counters: CaptureCounters) -> Result<Arc<Capture>, String> {
        let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
        for path in &config.paths {
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or_default();
            match ext {
                "jsonl" | "ndjson" => sinks.push(Box::new(jsonl::JsonlSink::open(path)?)),
                "har" => sinks.push(Box::new(har::HarSink::new(
                    path,
                    config.har_entries,
                    config.har_bytes,
                )?)),
                _ => {
                    return Err(format!(
                        "--capture {}: name the file .jsonl (one JSON record per line) or .har (HAR 1.2)",
                        path.display()
                    ));
                }
            }
        }
        let (tx, rx) = mpsc::sync_channel::<Msg>(QUEUE);
        let secrets = config.secrets;
        let written = counters.written.clone();
        let recent = Arc::new(Mutex::new(std::collections::VecDeque::new()));
        let kept = recent.clone();
        let writer = std::thread::Builder::new()
            .name("shunt-capture".into())
            .spawn(move || writer_loop(rx, sinks, secrets, written, kept))
            .map_err(|e| format!("cannot start the capture writer: {e}"))?;
        Ok(Arc::new(Capture {
            tx,
            max_body: config.max_body,
            next_id: AtomicU64::new(1),
            counters,
            writer: Mutex::new(Some(writer)),
            recent,
        }))
    }

    fn submit(&self, record: Record) {
        match self.tx.try_send(Msg::Record(Box::new(record))) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.counters.dropped.inc();
            }
        }
    }

    fn id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// A recent record as written (JSON), if still kept.
    pub fn recent(&self, id: u64) -> Option<String> {
        let recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        recent
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, json)| json.clone())
    }

    /// Records dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.counters.dropped.get()
    }

    /// Records written.
    pub fn written(&self) -> u64 {
        self.counters.written.get()
    }

    /// Write what is queued, flush every sink (the final HAR) and stop the writer.
    /// Called after connections have drained.
    pub fn shutdown(&self) {
        // A blocking send: shutdown may wait for the writer to make room.
        let _ = self.tx.send(Msg::Shutdown);
        if let Some(handle) = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = handle.join();
        }
    }

    /// Start capturing an exchange: tee the request body and return the pending record.
    pub fn begin(
        self: &Arc<Self>,
        conn: u64,
        route: &'static str,
        host: &str,
        scheme: &str,
        req: http::Request<Body>,
    ) -> (http::Request<Body>, Pending) {
        let (parts, body) = req.into_parts();
        let request_buf = BodyBuf::new(self.max_body);
        let url = format!(
            "{scheme}://{host}{}",
            parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
        );
        let pending = Pending {
            capture: self.clone(),
            id: self.id(),
            conn,
            start: crate::clock::now_rfc3339(),
            started: Instant::now(),
            route,
            host: host.to_string(),
            method: parts.method.to_string(),
            url,
            http_version: format!("{:?}", parts.version),
            request_headers: headers(&parts.headers),
            request_buf: request_buf.clone(),
        };
        let body = crate::body::boxed_dyn(TeeBody::new(body, request_buf, None));
        (http::Request::from_parts(parts, body), pending)
    }

    /// Record a tunnel once it closes.
    pub fn tunnel(&self, conn: u64, host: &str, port: u16, lasted: Duration, bytes_up: u64, bytes_down: u64) {
        self.submit(Record {
            id: self.id(),
            conn,
            start: crate::clock::rfc3339_ago(lasted),
            duration_ms: ms(lasted),
            route: "tunnel",
            host: host.to_string(),
            kind: Kind::Tunnel {
                port,
                bytes_up,
                bytes_down,
            },
        });
    }

    /// Record a policy denial.
    pub fn denial(&self, conn: u64, host: &str, port: u16, reason: &str) {
        self.submit(Record {
            id: self.id(),
            conn,
            start: crate::clock::now_rfc3339(),
            duration_ms: 0.0,
            route: "deny",
            host: host.to_string(),
            kind: Kind::Denial {
                port,
                reason: reason.to_string(),
            },
        });
    }
}

/// An exchange whose response has not ended yet.
pub struct Pending {
    capture: Arc<Capture>,
    id: u64,
    conn: u64,
    start: String,
    started: Instant,
    route: &'static str,
    host: String,
    method: String,
    url: String,
    http_version: String,
    request_headers: Vec<(String, String)>,
    request_buf: Arc<Mutex<BodyBuf>>,
}

impl Pending {
    /// The record's id (the dashboard links to it).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Tee the response body; the record is submitted when that body ends. `llm` is
    /// what a mocked model call used, when it was one.
    pub fn finish(self, res: http::Response<Body>, llm: Option<record::LlmUsage>) -> http::Response<Body> {
        let (parts, body) = res.into_parts();
        let status = parts.status.as_u16();
        let response_headers = headers(&parts.headers);
        let response_buf = BodyBuf::new(self.capture.max_body);
        let buf = response_buf.clone();
        let on_end: tee::OnEnd = Box::new(move |error| {
            let lock = |b: &Arc<Mutex<BodyBuf>>| {
                let b = b.lock().unwrap_or_else(|p| p.into_inner());
                CapturedBody::from_bytes(&b.bytes, b.size)
            };
            let record = Record {
                id: self.id,
                conn: self.conn,
                start: self.start,
                duration_ms: ms(self.started.elapsed()),
                route: self.route,
                host: self.host,
                kind: Kind::Exchange(Box::new(Exchange {
                    method: self.method,
                    url: self.url,
                    http_version: self.http_version,
                    request: Message {
                        headers: self.request_headers,
                        body: lock(&self.request_buf),
                    },
                    status,
                    response: Message {
                        headers: response_headers,
                        body: lock(&buf),
                    },
                    error,
                    llm,
                })),
            };
            self.capture.submit(record);
        });
        let body = crate::body::boxed_dyn(TeeBody::new(body, response_buf, Some(on_end)));
        http::Response::from_parts(parts, body)
    }
}

fn writer_loop(
    rx: mpsc::Receiver<Msg>,
    mut sinks: Vec<Box<dyn Sink>>,
    secrets: bool,
    written: Counter,
    recent: Arc<Mutex<std::collections::VecDeque<(u64, String)>>>,
) {
    let report = |sink: &dyn Sink, e: std::io::Error| tracing::warn!(sink = %sink.name(), error = %e, "capture write failed");
    // Flushed every interval whatever the traffic: under steady load there is never an
    // idle moment to wait for.
    let mut last_flush = Instant::now();
    loop {
        if last_flush.elapsed() >= HAR_INTERVAL {
            for sink in &mut sinks {
                if let Err(e) = sink.flush() {
                    report(sink.as_ref(), e);
                }
            }
            last_flush = Instant::now();
        }
        let wait = HAR_INTERVAL.saturating_sub(last_flush.elapsed());
        match rx.recv_timeout(wait) {
            Ok(Msg::Record(mut record)) => {
                if !secrets {
                    record.redact();
                }
                for sink in &mut sinks {
                    if let Err(e) = sink.write(&record) {
                        report(sink.as_ref(), e);
                    }
                }
                written.inc();
                if matches!(record.kind, record::Kind::Exchange(_))
                    && let Ok(json) = serde_json::to_string(&record)
                {
                    let mut recent = recent.lock().unwrap_or_else(|p| p.into_inner());
                    recent.push_back((record.id, json));
                    while recent.len() > RECENT_RECORDS {
                        recent.pop_front();
                    }
                }
            }
            Ok(Msg::Shutdown) | Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => {}
        }
    }
    for sink in &mut sinks {
        if let Err(e) = sink.flush() {
            report(sink.as_ref(), e);
        }
    }
}

fn headers(map: &http::HeaderMap) -> Vec<(String, String)> {
    map.iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}
