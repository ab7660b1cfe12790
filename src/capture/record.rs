//! The unit of capture: one record per exchange (and per tunnel or denial), plus the
//! redaction applied before a record is written.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Serialize;

/// Header names whose values never reach a capture unless `--capture-secrets`.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-goog-api-key",
    "x-api-key",
    "api-key",
    "x-amz-security-token",
];

/// Keys of token request forms and token response JSON that carry secrets.
const SECRET_FIELDS: &[&str] = &[
    "access_token",
    "refresh_token",
    "id_token",
    "assertion",
    "client_secret",
];

pub const REDACTED: &str = "REDACTED";

/// A captured body: text when it is UTF-8 (SSE and JSON always are), else base64.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CapturedBody {
    /// The body as captured (at most the per-exchange cap).
    pub text: String,
    /// `"utf8"` or `"base64"`.
    pub encoding: &'static str,
    /// Bytes the body really had.
    pub size: u64,
    /// Bytes left out because of `--capture-max-body` (0 when complete).
    pub truncated_bytes: u64,
}

impl CapturedBody {
    pub fn from_bytes(bytes: &[u8], size: u64) -> CapturedBody {
        let (text, encoding) = match std::str::from_utf8(bytes) {
            Ok(s) => (s.to_string(), "utf8"),
            // A cut inside a multi-byte character is still text: keep the valid prefix.
            Err(e) if e.error_len().is_none() => (
                String::from_utf8_lossy(&bytes[..e.valid_up_to()]).into_owned(),
                "utf8",
            ),
            Err(_) => (BASE64.encode(bytes), "base64"),
        };
        CapturedBody {
            text,
            encoding,
            size,
            truncated_bytes: size.saturating_sub(bytes.len() as u64),
        }
    }
}

/// One side of an exchange.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Message {
    pub headers: Vec<(String, String)>,
    pub body: CapturedBody,
}

/// One HTTP exchange as shunt saw it.
#[derive(Debug, Clone, Serialize)]
pub struct Exchange {
    pub method: String,
    /// Full URL (`https://host/path?query`).
    pub url: String,
    pub http_version: String,
    pub request: Message,
    pub status: u16,
    pub response: Message,
    /// Why the response body ended early, if it did (client gone, upstream cut).
    pub error: Option<String>,
    /// For a model call the built-in mock answered: model, tokens and estimated cost.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm: Option<LlmUsage>,
}

/// What a model call used, and what it would have cost on the real provider.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct LlmUsage {
    pub provider: String,
    pub model: String,
    pub tokens_in: u64,
    pub tokens_out: u64,
    /// `None`: the price table has no rule for this model.
    pub cost_usd: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub functions: Vec<String>,
}

/// What a record describes.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Kind {
    Exchange(Box<Exchange>),
    Tunnel {
        port: u16,
        bytes_up: u64,
        bytes_down: u64,
    },
    Denial {
        port: u16,
        reason: String,
    },
}

/// A capture record (one JSONL line, one HAR entry for exchanges and denials).
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    pub id: u64,
    /// The client connection the record belongs to.
    pub conn: u64,
    /// RFC 3339 start time.
    pub start: String,
    pub duration_ms: f64,
    pub route: &'static str,
    pub host: String,
    #[serde(flatten)]
    pub kind: Kind,
}

impl Record {
    /// Remove secrets: sensitive headers everywhere, token fields in token bodies, an API
    /// key in the query (`?key=`, the Gemini API's).
    pub fn redact(&mut self) {
        let Kind::Exchange(ex) = &mut self.kind else {
            return;
        };
        ex.url = redact_query(&ex.url);
        for message in [&mut ex.request, &mut ex.response] {
            for (name, value) in &mut message.headers {
                if SECRET_HEADERS.iter().any(|s| name.eq_ignore_ascii_case(s)) {
                    *value = REDACTED.to_string();
                }
            }
            if message.body.encoding == "utf8" {
                message.body.text = redact_body(&message.body.text);
            }
        }
    }
}

/// `key=…` in a URL's query replaced by `key=REDACTED`.
pub(crate) fn redact_query(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_string();
    };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some(("key", _)) => format!("key={REDACTED}"),
            _ => pair.to_string(),
        })
        .collect();
    format!("{base}?{}", query.join("&"))
}

/// Whether a header carries a credential (redacted in captures and recordings).
pub(crate) fn is_secret_header(name: &str) -> bool {
    SECRET_HEADERS.iter().any(|s| name.eq_ignore_ascii_case(s))
}

/// Redact secret fields in a JSON or form body; other bodies pass unchanged.
pub(crate) fn redact_body(text: &str) -> String {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        if let Ok(mut value) = serde_json::from_str::<serde_json::Value>(text) {
            if redact_json(&mut value) {
                return value.to_string();
            }
            return text.to_string();
        }
    }
    if SECRET_FIELDS.iter().any(|f| text.contains(&format!("{f}="))) && !text.contains('\n') {
        return text
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if SECRET_FIELDS.contains(&k) => format!("{k}={REDACTED}"),
                _ => pair.to_string(),
            })
            .collect::<Vec<_>>()
            .join("&");
    }
    text.to_string()
}

fn redact_json(value: &mut serde_json::Value) -> bool {
    let mut changed = false;
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if SECRET_FIELDS.contains(&k.as_str()) && v.is_string() {
                    *v = serde_json::Value::String(REDACTED.into());
                    changed = true;
                } else {
                    changed |= redact_json(v);
                }
            }
        }
        serde_json::Value::Array(items) => {
            for v in items {
                changed |= redact_json(v);
            }
        }
        _ => {}
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Token forms, token JSON and auth headers are redacted; other bodies untouched.
    #[test]
    fn redaction() {
        assert_eq!(
            redact_body("grant_type=refresh_token&refresh_token=1%2F%2Fs3cret&client_secret=x"),
            "grant_type=refresh_token&refresh_token=REDACTED&client_secret=REDACTED"
        );
        assert_eq!(
            redact_body(r#"{"access_token":"ya29.s3cret","expires_in":3599}"#),
            r#"{"access_token":"REDACTED","expires_in":3599}"#
        );
        let sse = "data: {\"candidates\":[]}\r\n\r\n";
        assert_eq!(redact_body(sse), sse);
        let mut record = Record {
            id: 1,
            conn: 1,
            start: String::new(),
            duration_ms: 0.0,
            route: "vertex",
            host: "h".into(),
            kind: Kind::Exchange(Box::new(Exchange {
                method: "POST".into(),
                url: "https://h/v1beta/models/m:generateContent?alt=sse&key=AIzas3cret".into(),
                http_version: "HTTP/1.1".into(),
                request: Message {
                    headers: vec![
                        ("Authorization".into(), "Bearer ya29.s3cret".into()),
                        ("x-api-key".into(), "sk-ant-s3cret".into()),
                    ],
                    body: CapturedBody::default(),
                },
                status: 200,
                response: Message::default(),
                error: None,
                llm: None,
            })),
        };
        record.redact();
        let json = serde_json::to_string(&record).expect("json");
        assert!(!json.contains("s3cret"), "{json}");
        assert!(json.contains("alt=sse&key=REDACTED"), "{json}");
    }

    /// Bodies over the cap say how much was left out; invalid UTF-8 becomes base64.
    #[test]
    fn body_forms() {
        let b = CapturedBody::from_bytes(b"abc", 10);
        assert_eq!(
            (b.text.as_str(), b.encoding, b.truncated_bytes),
            ("abc", "utf8", 7)
        );
        let b = CapturedBody::from_bytes(&[0xff, 0x00, 0x41], 3);
        assert_eq!((b.text.as_str(), b.encoding), ("/wBB", "base64"));
    }
}
