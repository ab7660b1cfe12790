//! HAR 1.2 sink: the most recent exchanges as a document Chrome DevTools and HAR viewers
//! open, rewritten atomically (temp file + rename) at intervals and at shutdown.
//! Tunnels have no HAR form and are left out; denials appear as their 403 responses.
//!
//! Entries are kept serialized, within both an entry count (`--capture-har-entries`) and a
//! byte budget (`--capture-har-bytes`): the oldest are evicted first (the JSONL capture
//! keeps everything). The document is streamed to disk from them, never built whole.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::Sink;
use super::record::{Kind, Message, Record};

pub struct HarSink {
    path: PathBuf,
    /// Serialized entries, oldest first.
    entries: VecDeque<Vec<u8>>,
    /// Their total size.
    bytes: usize,
    max_entries: usize,
    max_bytes: usize,
    /// Entries dropped from the front to stay within the limits.
    evicted: u64,
    dirty: bool,
}

impl HarSink {
    pub fn new(path: &Path, max_entries: usize, max_bytes: usize) -> Result<HarSink, String> {
        let mut sink = HarSink {
            path: path.to_path_buf(),
            entries: VecDeque::new(),
            bytes: 0,
            max_entries: max_entries.max(1),
            max_bytes: max_bytes.max(1),
            evicted: 0,
            dirty: true,
        };
        // Write an empty document now, so a bad path fails at start, not at shutdown.
        sink.flush()
            .map_err(|e| format!("--capture {}: {e}", path.display()))?;
        Ok(sink)
    }

    /// Write the document: the `log` object's fields, then the entries one by one.
    fn write_document(&self, out: &mut impl Write) -> std::io::Result<()> {
        let creator = json!({"name": "shunt", "version": env!("CARGO_PKG_VERSION")});
        write!(out, "{{\"log\":{{\"version\":\"1.2\",\"creator\":{creator},")?;
        if self.evicted > 0 {
            let comment = Value::String(format!(
                "shunt kept the last {} entries ({} bytes at most); {} earlier ones are in the JSONL capture only",
                self.entries.len(),
                self.max_bytes,
                self.evicted
            ));
            write!(out, "\"comment\":{comment},")?;
        }
        out.write_all(b"\"entries\":[")?;
        for (i, e) in self.entries.iter().enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            out.write_all(e)?;
        }
        out.write_all(b"]}}")
    }
}

fn har_headers(headers: &[(String, String)]) -> Value {
    headers
        .iter()
        .map(|(n, v)| json!({"name": n, "value": v}))
        .collect()
}

fn header<'a>(m: &'a Message, name: &str) -> Option<&'a str> {
    m.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn query_string(url: &str) -> Value {
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or("");
    query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (n, v) = kv.split_once('=').unwrap_or((kv, ""));
            json!({"name": n, "value": v})
        })
        .collect()
}

/// A record as a HAR entry (`None` for tunnels).
pub fn entry(record: &Record) -> Option<Value> {
    // Exchanges are borrowed; a denial gets the 403 body shunt answered with.
    let (method, url, version, request, status, response): (_, Cow<str>, _, Cow<Message>, _, Cow<Message>) =
        match &record.kind {
            Kind::Exchange(ex) => (
                ex.method.as_str(),
                Cow::Borrowed(ex.url.as_str()),
                ex.http_version.as_str(),
                Cow::Borrowed(&ex.request),
                ex.status,
                Cow::Borrowed(&ex.response),
            ),
            Kind::Denial { port, reason } => {
                let body = json!({"error": {"code": 403, "message": reason, "status": "PERMISSION_DENIED"}})
                    .to_string();
                let response = Message {
                    headers: vec![("content-type".into(), "application/json".into())],
                    body: super::record::CapturedBody::from_bytes(body.as_bytes(), body.len() as u64),
                };
                (
                    "CONNECT",
                    Cow::Owned(format!("https://{}:{port}/", record.host)),
                    "HTTP/1.1",
                    Cow::Owned(Message::default()),
                    403,
                    Cow::Owned(response),
                )
            }
            Kind::Tunnel { .. } => return None,
        };
    let mut req = json!({
        "method": method,
        "url": url,
        "httpVersion": version,
        "cookies": [],
        "headers": har_headers(&request.headers),
        "queryString": query_string(&url),
        "headersSize": -1,
        "bodySize": request.body.size,
    });
    if request.body.size > 0 {
        req["postData"] = json!({
            "mimeType": header(&request, "content-type").unwrap_or("application/octet-stream"),
            "text": request.body.text,
        });
    }
    let mut content = json!({
        "size": response.body.size,
        "mimeType": header(&response, "content-type").unwrap_or("application/octet-stream"),
        "text": response.body.text,
    });
    if response.body.encoding == "base64" {
        content["encoding"] = json!("base64");
    }
    if response.body.truncated_bytes > 0 {
        content["comment"] = json!(format!(
            "truncated: {} bytes not captured",
            response.body.truncated_bytes
        ));
    }
    let status_text = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    Some(json!({
        "startedDateTime": record.start,
        "time": record.duration_ms,
        "request": req,
        "response": {
            "status": status,
            "statusText": status_text,
            "httpVersion": version,
            "cookies": [],
            "headers": har_headers(&response.headers),
            "content": content,
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": response.body.size,
        },
        "cache": {},
        "timings": {"send": 0, "wait": record.duration_ms, "receive": 0},
        "connection": record.conn.to_string(),
        "comment": format!("shunt route {}", record.route),
    }))
}

impl Sink for HarSink {
    fn write(&mut self, record: &Record) -> std::io::Result<()> {
        if let Some(e) = entry(record) {
            let e = serde_json::to_vec(&e)?;
            self.bytes += e.len();
            self.entries.push_back(e);
            while self.entries.len() > self.max_entries
                || self.bytes > self.max_bytes && self.entries.len() > 1
            {
                if let Some(old) = self.entries.pop_front() {
                    self.bytes -= old.len();
                    self.evicted += 1;
                }
            }
            self.dirty = true;
        }
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.dirty {
            return Ok(());
        }
        let tmp = self
            .path
            .with_extension(format!("har.tmp.{}", std::process::id()));
        let mut file = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        self.write_document(&mut file)?;
        file.into_inner().map_err(|e| e.into_error())?.sync_data()?;
        std::fs::rename(&tmp, &self.path)?;
        self.dirty = false;
        Ok(())
    }

    fn name(&self) -> String {
        self.path.display().to_string()
    }
}
