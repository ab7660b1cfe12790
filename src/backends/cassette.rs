//! Record / replay. `--record DIR` forwards model and token calls to the real hosts over
//! verified TLS (the app's own credentials pass through) and stores each exchange — its
//! response as timed chunks — as one JSON file. `--replay DIR` answers matching requests
//! (method, path with query, normalised JSON body) from those files, keeping the chunking
//! and, with `--replay-timing`, the recorded timing; a miss fails with 404 or goes to the
//! configured upstream (`--replay-miss upstream`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http::StatusCode;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use tokio::net::TcpStream;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};

use crate::body::{self, Body, collect_limited};
use crate::capture::record::{REDACTED, is_secret_header, redact_body};
use crate::error::Error;

/// One recorded exchange, as stored on disk.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Recorded {
    pub key: String,
    pub method: String,
    pub host: String,
    pub path: String,
    pub request_body: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub chunks: Vec<Chunk>,
}

/// A piece of the response body and when it arrived, after the request was sent. Text
/// is stored as is; other bytes (Bedrock's binary event streams) as base64, marked by
/// `encoding`, so a replay sends exactly the bytes recorded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Chunk {
    pub at_ms: f64,
    pub data: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
}

impl Chunk {
    fn new(at_ms: f64, bytes: &[u8]) -> Chunk {
        match std::str::from_utf8(bytes) {
            Ok(text) => Chunk {
                at_ms,
                data: text.to_string(),
                encoding: None,
            },
            Err(_) => Chunk {
                at_ms,
                data: BASE64.encode(bytes),
                encoding: Some("base64".into()),
            },
        }
    }

    /// The bytes as recorded (a base64 chunk that does not decode is sent as its text).
    fn bytes(self) -> Bytes {
        match self.encoding.as_deref() {
            Some("base64") => match BASE64.decode(&self.data) {
                Ok(raw) => Bytes::from(raw),
                Err(_) => Bytes::from(self.data),
            },
            _ => Bytes::from(self.data),
        }
    }
}

/// The match key: method, path with query, and the body with JSON keys sorted (so key
/// order and whitespace do not matter).
pub fn key(method: &str, path_and_query: &str, body: &[u8]) -> String {
    let normalised = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v) => canonical(&v),
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    };
    let digest = ring::digest::digest(
        &ring::digest::SHA256,
        format!("{method} {path_and_query}\n{normalised}").as_bytes(),
    );
    digest.as_ref()[..12].iter().map(|b| format!("{b:02x}")).collect()
}

fn canonical(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let inner: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", serde_json::Value::String(k.clone()), canonical(&map[k])))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        serde_json::Value::Array(items) => {
            format!("[{}]", items.iter().map(canonical).collect::<Vec<_>>().join(","))
        }
        other => other.to_string(),
    }
}

/// The trust `--record` verifies the real hosts with: the public web roots plus the
/// certificates of `--origin-ca`.
pub fn record_roots(
    extra: &[rustls_pki_types::CertificateDer<'static>],
) -> Result<rustls::RootCertStore, String> {
    let mut roots = rustls::RootCertStore::empty();
    for der in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        let _ = roots.add(der.clone());
    }
    for der in extra {
        roots
            .add(der.clone())
            .map_err(|e| format!("--origin-ca: not a CA certificate rustls accepts: {e}"))?;
    }
    Ok(roots)
}

/// Where `--record` sends intercepted calls: the real hosts, TLS verified against
/// [`record_roots`], optionally redirected by `--origin-override`.
pub struct Recorder {
    dir: PathBuf,
    tls: Arc<rustls::ClientConfig>,
    overrides: HashMap<String, String>,
    seq: AtomicU64,
    timeout: Duration,
    max_body: usize,
    /// Where the relay tasks are spawned (tracked for the shutdown drain).
    tasks: TaskTracker,
    /// Idle verified connections to the real hosts, reused by the next call to the host.
    idle: Arc<Idle>,
}

/// Idle HTTP/1 connections per host: a call takes one (or opens one); a connection goes
/// back once its response was read to the end, up to [`Idle::PER_HOST`] per host.
#[derive(Default)]
struct Idle(Mutex<HashMap<String, Vec<SendRequest<Full<Bytes>>>>>);

impl Idle {
    const PER_HOST: usize = 64;

    /// An idle connection to `host` that is still open.
    fn take(&self, host: &str) -> Option<SendRequest<Full<Bytes>>> {
        let mut idle = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let list = idle.get_mut(host)?;
        while let Some(sender) = list.pop() {
            if !sender.is_closed() {
                return Some(sender);
            }
        }
        None
    }

    /// Keep `sender` for the next call to `host` once its connection is ready again (it
    /// is not when the origin closes it after this response).
    async fn put(&self, host: &str, mut sender: SendRequest<Full<Bytes>>) {
        let ready = tokio::time::timeout(Duration::from_secs(1), sender.ready()).await;
        if !matches!(ready, Ok(Ok(()))) {
            return;
        }
        let mut idle = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let list = idle.entry(host.to_string()).or_default();
        if list.len() < Self::PER_HOST {
            list.push(sender);
        }
    }
}

impl Recorder {
    /// Create the recording directory and the TLS client.
    pub fn new(
        dir: &Path,
        roots: rustls::RootCertStore,
        overrides: HashMap<String, String>,
        timeout: Duration,
        max_body: usize,
        tasks: TaskTracker,
    ) -> Result<Recorder, String> {
        // Recordings hold what the app sent: the directory is the owner's alone.
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .and_then(|()| std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)))
            .map_err(|e| format!("--record {}: {e}", dir.display()))?;
        let mut config = rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Recorder {
            dir: dir.to_path_buf(),
            tls: Arc::new(config),
            overrides,
            seq: AtomicU64::new(1),
            timeout,
            max_body,
            tasks,
            idle: Arc::default(),
        })
    }

    /// Connect to the real host (or its override) over verified TLS.
    async fn connect(&self, host: &str, origin: &str) -> Result<SendRequest<Full<Bytes>>, Error> {
        let addr = self
            .overrides
            .get(host)
            .cloned()
            .unwrap_or_else(|| format!("{host}:443"));
        let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host(&addr)
            .await
            .map_err(|e| Error::UpstreamUnresolved {
                upstream: origin.to_string(),
                source: Box::new(e),
            })?
            .collect();
        let tcp = TcpStream::connect(&addrs[..])
            .await
            .map_err(|e| Error::UpstreamRefused {
                upstream: origin.to_string(),
                source: Box::new(e),
            })?;
        let name = rustls_pki_types::ServerName::try_from(host.to_string())
            .map_err(|e| Error::BadRequest(format!("`{host}` is not a TLS server name: {e}")))?;
        let tls = tokio_rustls::TlsConnector::from(self.tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| Error::UpstreamTls {
                upstream: origin.to_string(),
                source: Box::new(e),
            })?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| Error::Upstream {
                upstream: origin.to_string(),
                source: Box::new(e),
            })?;
        // Not tracked for the shutdown drain: an idle kept connection never ends by
        // itself, and a call in flight is tracked through its relay task.
        tokio::spawn(
            async move {
                if let Err(e) = conn.await {
                    tracing::debug!(error = %e, "recording connection ended with an error");
                }
            }
            .in_current_span(),
        );
        Ok(sender)
    }

    /// Forward to `https://host/…`, stream the answer back, and store it when it ends.
    pub async fn forward(&self, host: &str, req: http::Request<Body>) -> Result<http::Response<Body>, Error> {
        let (mut parts, body) = req.into_parts();
        let request_body = collect_limited(body, self.max_body).await?;
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_else(|| "/".into());
        let origin = format!("https://{host}");
        let timed_out = || Error::UpstreamTimeout {
            upstream: origin.clone(),
            after: self.timeout,
        };
        parts.uri = path
            .parse()
            .map_err(|_| Error::BadRequest(format!("bad path {path}")))?;
        parts.version = http::Version::HTTP_11;
        parts.headers.insert(
            http::header::HOST,
            host.parse()
                .map_err(|_| Error::BadRequest(format!("`{host}` is not a valid Host header")))?,
        );
        parts.headers.remove(http::header::ACCEPT_ENCODING);
        let method = parts.method.to_string();
        let request = || {
            let mut out = http::Request::new(Full::new(request_body.clone()));
            *out.method_mut() = parts.method.clone();
            *out.uri_mut() = parts.uri.clone();
            *out.version_mut() = parts.version;
            *out.headers_mut() = parts.headers.clone();
            out
        };
        let upstream_error = |e: hyper::Error| Error::Upstream {
            upstream: origin.clone(),
            source: Box::new(e),
        };
        let mut sent = Instant::now();
        // An idle connection the origin closed meanwhile fails before the request left:
        // that one call is sent again on a new connection.
        let pooled = match self.idle.take(host) {
            Some(mut sender) => {
                match tokio::time::timeout(self.timeout, sender.send_request(request())).await {
                    Err(_) => return Err(timed_out()),
                    Ok(Ok(res)) => Some((sender, res)),
                    Ok(Err(e)) if e.is_canceled() || e.is_closed() => None,
                    Ok(Err(e)) => return Err(upstream_error(e)),
                }
            }
            None => None,
        };
        let (sender, res) = match pooled {
            Some(pair) => pair,
            None => {
                let mut sender = tokio::time::timeout(self.timeout, self.connect(host, &origin))
                    .await
                    .map_err(|_| timed_out())??;
                sent = Instant::now();
                let res = tokio::time::timeout(self.timeout, sender.send_request(request()))
                    .await
                    .map_err(|_| timed_out())?
                    .map_err(upstream_error)?;
                (sender, res)
            }
        };
        let (parts, mut incoming) = res.into_parts();
        let mut recorded = Recorded {
            key: key(&method, &path, &request_body),
            method,
            host: host.to_string(),
            path,
            // Credentials never reach the disk: token forms and token replies are redacted
            // (replay answers token calls from shunt itself), and so are secret headers.
            request_body: redact_body(&String::from_utf8_lossy(&request_body)),
            status: parts.status.as_u16(),
            headers: parts
                .headers
                .iter()
                .map(|(k, v)| {
                    let value = if is_secret_header(k.as_str()) {
                        REDACTED.to_string()
                    } else {
                        String::from_utf8_lossy(v.as_bytes()).into_owned()
                    };
                    (k.to_string(), value)
                })
                .collect(),
            chunks: Vec::new(),
        };
        let file = self.dir.join(format!(
            "{:06}-{}.json",
            self.seq.fetch_add(1, Ordering::Relaxed),
            recorded.key
        ));
        // Relay each chunk as it arrives, noting its time; write the file at the end. The
        // connection goes back to the idle list once the response was read whole.
        let (tx, out_body) = body::channel(8);
        let (idle, host_key) = (self.idle.clone(), host.to_string());
        let relay = async move {
            while let Some(frame) = incoming.frame().await {
                match frame {
                    Ok(frame) => {
                        if let Ok(data) = frame.into_data() {
                            recorded
                                .chunks
                                .push(Chunk::new(sent.elapsed().as_secs_f64() * 1e3, &data));
                            if tx.send(Ok(data)).await.is_err() {
                                return;
                            }
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(Box::new(e))).await;
                        return;
                    }
                }
            }
            idle.put(&host_key, sender).await;
            // The client's body ends now, not after the file is written. The file is
            // written here, in this (tracked) task, so the shutdown drain loses no
            // recording: on a CPU-bound proxy a buffered write costs less than a hand-off
            // to the blocking pool (BENCHMARKS.md, "Record mode under load").
            drop(tx);
            redact_reply(&mut recorded.chunks);
            let stored = serde_json::to_vec_pretty(&recorded)
                .map_err(|e| format!("cannot serialise the recording: {e}"))
                .and_then(|bytes| {
                    write_private(&file, &bytes)
                        .map_err(|e| format!("cannot store the recording {}: {e}", file.display()))
                });
            if let Err(e) = stored {
                tracing::warn!(error = %e, "recording lost");
            }
        };
        self.tasks.spawn(relay.in_current_span());
        let mut response = http::Response::new(out_body);
        *response.status_mut() = parts.status;
        for (k, v) in parts.headers.iter() {
            if k != http::header::TRANSFER_ENCODING
                && k != http::header::CONNECTION
                && k != http::header::CONTENT_LENGTH
            {
                response.headers_mut().append(k, v.clone());
            }
        }
        Ok(response)
    }
}

/// A reply whose text carries token fields (a token endpoint's JSON) is stored redacted,
/// as one chunk; other replies are left as they were streamed.
fn redact_reply(chunks: &mut Vec<Chunk>) {
    if chunks.iter().any(|c| c.encoding.is_some()) {
        return;
    }
    let whole: String = chunks.iter().map(|c| c.data.as_str()).collect();
    let redacted = redact_body(&whole);
    if redacted != whole {
        let at_ms = chunks.last().map_or(0.0, |c| c.at_ms);
        *chunks = vec![Chunk::new(at_ms, redacted.as_bytes())];
    }
}

/// Write `bytes` to a new file only its owner can read (mode 0600).
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)
}

/// Recordings read from a `--replay` directory, by match key.
#[derive(Debug, Default)]
pub struct Cassette {
    by_key: HashMap<String, Vec<Recorded>>,
}

impl Cassette {
    /// Read every `*.json` recording in `dir` (in name order); errors name the file.
    pub fn load(dir: &Path) -> Result<Cassette, String> {
        let mut by_key: HashMap<String, Vec<Recorded>> = HashMap::new();
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| format!("--replay {}: {e}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        for file in files {
            let text =
                std::fs::read_to_string(&file).map_err(|e| format!("--replay {}: {e}", file.display()))?;
            let r: Recorded = serde_json::from_str(&text)
                .map_err(|e| format!("--replay {}: not a recording: {e}", file.display()))?;
            by_key.entry(r.key.clone()).or_default().push(r);
        }
        Ok(Cassette { by_key })
    }

    /// Recordings held.
    pub fn len(&self) -> usize {
        self.by_key.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

/// How fast recorded chunks are replayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// As fast as the client reads.
    Immediate,
    /// At the recorded times (`--replay-timing`).
    Recorded,
}

/// Answers requests from a [`Cassette`].
pub struct Replayer {
    cassette: Cassette,
    /// Round-robin position per key, so repeated identical calls replay in order.
    next: Mutex<HashMap<String, AtomicUsize>>,
    pace: Pace,
    max_body: usize,
    tasks: TaskTracker,
}

/// The result of a replay lookup.
pub enum Replay {
    Hit(http::Response<Body>),
    /// No recording; the request is handed back untouched (body already read).
    Miss(http::Request<Body>),
}

impl Replayer {
    pub fn new(cassette: Cassette, pace: Pace, max_body: usize, tasks: TaskTracker) -> Replayer {
        Replayer {
            cassette,
            next: Mutex::new(HashMap::new()),
            pace,
            max_body,
            tasks,
        }
    }

    /// Answer from a recording, or hand the request back.
    pub async fn lookup(&self, req: http::Request<Body>) -> Result<Replay, Error> {
        let (parts, body) = req.into_parts();
        let bytes = collect_limited(body, self.max_body).await?;
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_else(|| "/".into());
        let k = key(parts.method.as_str(), &path, &bytes);
        let Some(list) = self.cassette.by_key.get(&k) else {
            return Ok(Replay::Miss(http::Request::from_parts(parts, body::full(bytes))));
        };
        let i = {
            let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
            next.entry(k).or_default().fetch_add(1, Ordering::Relaxed) % list.len()
        };
        let recorded = list[i].clone();
        let (tx, out) = body::channel(8);
        let mut res = http::Response::new(out);
        *res.status_mut() = StatusCode::from_u16(recorded.status).unwrap_or(StatusCode::OK);
        for (k, v) in &recorded.headers {
            let skip = ["transfer-encoding", "connection", "content-length"].contains(&k.as_str());
            if let (false, Ok(name), Ok(value)) = (
                skip,
                http::HeaderName::from_bytes(k.as_bytes()),
                http::HeaderValue::from_str(v),
            ) {
                res.headers_mut().append(name, value);
            }
        }
        let pace = self.pace;
        let play = async move {
            let start = tokio::time::Instant::now();
            for chunk in recorded.chunks {
                if pace == Pace::Recorded {
                    tokio::time::sleep_until(start + Duration::from_secs_f64(chunk.at_ms / 1e3)).await;
                }
                if tx.send(Ok(chunk.bytes())).await.is_err() {
                    return;
                }
            }
        };
        self.tasks.spawn(play.in_current_span());
        Ok(Replay::Hit(res))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Key order and whitespace in a JSON body do not change the match key.
    #[test]
    fn key_normalises_json() {
        let a = key("POST", "/v1/x?alt=sse", br#"{"b":1,"a":{"y":2,"x":[1,2]}}"#);
        let b = key(
            "POST",
            "/v1/x?alt=sse",
            br#"{ "a": {"x": [1, 2], "y": 2}, "b": 1 }"#,
        );
        assert_eq!(a, b);
        assert_ne!(a, key("POST", "/v1/x", br#"{"b":1,"a":{"y":2,"x":[1,2]}}"#));
        assert_ne!(a, key("POST", "/v1/x?alt=sse", br#"{"b":2}"#));
    }
}
