//! Golden shapes: for each documented example request of a provider (OpenAI, Anthropic,
//! Bedrock; `tests/fixtures/providers`), the built-in mock's reply has every key the
//! documented reply has, with the same JSON type, recursively; streamed replies have the
//! documented events, in the documented order, each with the documented shape. Values are
//! the mock's own. A few optional keys the mock leaves out are listed with the reason.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http_body_util::BodyExt;
use serde_json::Value;
use shunt::mock::{Mock, MockConfig};
use shunt::policy::{Decision, Other, Policy};
use shunt::route::{self, Route};

const FIXTURES: &str = "tests/fixtures/providers";

/// Documented keys the mock does not send (a gap whose path ends so), and why that is fine.
const OPTIONAL: &[(&str, &str)] = &[
    (
        ".obfuscation",
        "OpenAI pads stream chunks to hide their size; the SDKs ignore it",
    ),
    (
        ".shutdown_date",
        "OpenAI model deprecation date; optional in the SDK's Model type",
    ),
    (
        ".response.input",
        "an echo of the request's input in one OpenAI example; not in the SDK's Response type",
    ),
    (
        ".content_block.caller",
        "Anthropic's programmatic tool calling marker; optional in the SDK's ToolUseBlock",
    ),
];

fn mock() -> Mock {
    Mock::new(
        MockConfig::default(),
        Arc::new(shunt::metrics::Metrics::new()),
        tokio_util::task::TaskTracker::new(),
    )
}

/// The mock's reply to `body` sent to `host` + `path_and_query`: status and bytes.
async fn ask(mock: &Mock, host: &str, path_and_query: &str, body: &Value) -> (u16, Bytes) {
    let Decision::Intercept(service) = Policy::with_defaults(Other::Deny).decide(host) else {
        panic!("{host} is not intercepted");
    };
    let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
    let Route::Model(call) = route::classify(service, path) else {
        panic!("{host}{path} is not a model route");
    };
    let bytes = if body.is_null() {
        Bytes::new()
    } else {
        Bytes::from(body.to_string())
    };
    let res = mock.answer(&call, query, &bytes).await;
    let status = res.status().as_u16();
    let body = res.into_body().collect().await.expect("body").to_bytes();
    (status, body)
}

fn read(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every way `ours` falls short of `documented`'s shape, by JSON path. A documented `null`
/// matches anything, absence included (the docs show an unset optional field); documented
/// array elements
/// are matched against our element of the same `type` (or our first element).
fn shape_gaps(documented: &Value, ours: &Value, at: &str, gaps: &mut Vec<String>) {
    match (documented, ours) {
        (Value::Null, _) => {}
        (Value::Object(d), Value::Object(o)) => {
            for (key, dv) in d {
                let path = format!("{at}.{key}");
                match o.get(key) {
                    Some(ov) => shape_gaps(dv, ov, &path, gaps),
                    // A documented null is an unset optional field: leaving it out is the same.
                    None if dv.is_null() => {}
                    None if OPTIONAL.iter().any(|(suffix, _)| path.ends_with(suffix)) => {}
                    None => gaps.push(format!("{path}: missing")),
                }
            }
        }
        (Value::Array(d), Value::Array(o)) => {
            for (i, dv) in d.iter().enumerate() {
                let same_type = o
                    .iter()
                    .find(|ov| dv.get("type").is_some() && ov.get("type") == dv.get("type"))
                    .or_else(|| o.iter().find(|ov| same_members(dv, ov)))
                    .or_else(|| o.first());
                // An empty list of ours matches a documented list that may be empty.
                if let Some(ov) = same_type {
                    shape_gaps(dv, ov, &format!("{at}[{i}]"), gaps);
                }
            }
        }
        (d, o) if kind(d) != kind(o) => gaps.push(format!("{at}: {} documented, {} sent", kind(d), kind(o))),
        _ => {}
    }
}

/// Objects with the same single member name (`{"text"}` vs `{"toolUse"}` blocks).
fn same_members(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            a.keys().collect::<BTreeSet<_>>() == b.keys().collect::<BTreeSet<_>>()
        }
        _ => false,
    }
}

/// Server-sent events as (event name, JSON data); `data: [DONE]` is kept as a string.
fn sse(bytes: &[u8]) -> Vec<(Option<String>, Value)> {
    let text = String::from_utf8(bytes.to_vec()).expect("utf-8 stream");
    let mut out = Vec::new();
    for block in text.split("\n\n").filter(|b| !b.trim().is_empty()) {
        let mut name = None;
        let mut data = String::new();
        for line in block.lines() {
            if let Some(n) = line.strip_prefix("event: ") {
                name = Some(n.to_string());
            } else if let Some(d) = line.strip_prefix("data: ") {
                data.push_str(d);
            }
        }
        let value = serde_json::from_str(&data).unwrap_or(Value::String(data));
        out.push((name, value));
    }
    out
}

/// AWS event-stream messages as (`:event-type`, JSON payload), both CRCs checked.
fn event_stream(mut bytes: &[u8]) -> Vec<(Option<String>, Value)> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let word =
            |b: &[u8], at: usize| u32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes")) as usize;
        let total = word(bytes, 0);
        let headers_len = word(bytes, 4);
        assert_eq!(word(bytes, 8) as u32, crc32(&bytes[..8]), "prelude CRC");
        assert_eq!(
            word(bytes, total - 4) as u32,
            crc32(&bytes[..total - 4]),
            "message CRC"
        );
        let mut headers = &bytes[12..12 + headers_len];
        let mut event_type = None;
        while !headers.is_empty() {
            let name_len = headers[0] as usize;
            let name = std::str::from_utf8(&headers[1..1 + name_len]).expect("header name");
            assert_eq!(headers[1 + name_len], 7, "string header");
            let value_len = u16::from_be_bytes([headers[2 + name_len], headers[3 + name_len]]) as usize;
            let value = std::str::from_utf8(&headers[4 + name_len..4 + name_len + value_len]).expect("value");
            if name == ":event-type" {
                event_type = Some(value.to_string());
            }
            headers = &headers[4 + name_len + value_len..];
        }
        let payload = &bytes[12 + headers_len..total - 4];
        out.push((event_type, serde_json::from_slice(payload).expect("JSON payload")));
        bytes = &bytes[total..];
    }
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

/// Where each documented example goes: host, path, and whether the stream is SSE or an
/// AWS event stream. `NAME` is the fixture's base name in its provider's folder.
fn target(provider: &str, name: &str) -> (&'static str, &'static str) {
    match (provider, name) {
        ("openai", n) if n.starts_with("chat") => ("api.openai.com", "/v1/chat/completions"),
        ("openai", n) if n.starts_with("responses") => ("api.openai.com", "/v1/responses"),
        ("openai", "embeddings") => ("api.openai.com", "/v1/embeddings"),
        ("openai", "models") => ("api.openai.com", "/v1/models"),
        ("anthropic", "count_tokens") => ("api.anthropic.com", "/v1/messages/count_tokens"),
        ("anthropic", _) => ("api.anthropic.com", "/v1/messages"),
        ("bedrock", "converse_stream" | "converse_stream_tool_use") => (
            "bedrock-runtime.us-east-1.amazonaws.com",
            "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream",
        ),
        ("bedrock", n) if n.starts_with("converse") => (
            "bedrock-runtime.us-east-1.amazonaws.com",
            "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse",
        ),
        ("bedrock", "claude_invoke") => (
            "bedrock-runtime.us-east-1.amazonaws.com",
            "/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke",
        ),
        ("bedrock", "nova") => (
            "bedrock-runtime.us-east-1.amazonaws.com",
            "/model/amazon.nova-lite-v1%3A0/invoke",
        ),
        ("bedrock", "titan_text") => (
            "bedrock-runtime.us-east-1.amazonaws.com",
            "/model/amazon.titan-text-express-v1/invoke",
        ),
        ("bedrock", "titan_embed_v1") => (
            "bedrock-runtime.us-east-1.amazonaws.com",
            "/model/amazon.titan-embed-text-v1/invoke",
        ),
        ("bedrock", "titan_embed_v2") => (
            "bedrock-runtime.us-east-1.amazonaws.com",
            "/model/amazon.titan-embed-text-v2%3A0/invoke",
        ),
        _ => panic!("no target for {provider}/{name}: add it here"),
    }
}

/// The request a fixture is answered to: its own, or for a stream without one, the
/// matching non-streamed request with `stream` set.
fn request_for(dir: &Path, name: &str) -> Value {
    let own = dir.join(format!("{name}.request.json"));
    if own.exists() {
        return read(&own);
    }
    if name == "models" {
        return Value::Null;
    }
    let base = name
        .replace("_stream_tool_use", "_tools")
        .replace("_stream_function_call", "_tools");
    let mut req = read(&dir.join(format!("{base}.request.json")));
    if dir.ends_with("openai") || dir.ends_with("anthropic") {
        req["stream"] = Value::Bool(true);
    }
    req
}

fn fixtures() -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for provider in ["openai", "anthropic", "bedrock"] {
        let dir = Path::new(FIXTURES).join(provider);
        for entry in std::fs::read_dir(&dir).expect("fixtures dir") {
            let path = entry.expect("entry").path();
            let file = path
                .file_name()
                .and_then(|f| f.to_str())
                .unwrap_or_default()
                .to_string();
            if file.ends_with(".response.json") || file.ends_with(".events.json") {
                out.push((provider.to_string(), path));
            }
        }
    }
    out.sort();
    out
}

/// Every documented reply and stream: the mock's has its shape.
#[tokio::test]
async fn replies_have_the_documented_shapes() {
    let mock = mock();
    let mut checked = 0;
    let mut failures = Vec::new();
    for (provider, path) in fixtures() {
        let dir = path.parent().expect("dir");
        let file = path.file_name().and_then(|f| f.to_str()).expect("name");
        let (name, streamed) = match file.strip_suffix(".events.json") {
            Some(n) => (n, true),
            None => (file.strip_suffix(".response.json").expect("suffix"), false),
        };
        let (host, target_path) = target(&provider, name);
        let request = request_for(dir, name);
        let (status, bytes) = ask(&mock, host, target_path, &request).await;
        let label = format!("{provider}/{file}");
        if status != 200 {
            failures.push(format!(
                "{label}: status {status}: {}",
                String::from_utf8_lossy(&bytes)
            ));
            continue;
        }
        let documented = read(&path);
        let mut gaps = Vec::new();
        if streamed {
            let ours = if provider == "bedrock" {
                event_stream(&bytes)
            } else {
                sse(&bytes)
            };
            let documented: Vec<(Option<String>, Value)> = documented
                .as_array()
                .expect("events list")
                .iter()
                .map(|e| (e["event"].as_str().map(String::from), e["data"].clone()))
                .collect();
            // Documented event names, first occurrences, in our order too.
            let names = |events: &[(Option<String>, Value)]| -> Vec<String> {
                let mut seen: Vec<String> = Vec::new();
                for (n, d) in events {
                    let n = n.clone().unwrap_or_else(|| kind(d).to_string());
                    if !seen.contains(&n) {
                        seen.push(n);
                    }
                }
                seen
            };
            let (want, have) = (names(&documented), names(&ours));
            let positions: Vec<Option<usize>> =
                want.iter().map(|n| have.iter().position(|h| h == n)).collect();
            if positions.iter().any(Option::is_none) || !positions.windows(2).all(|w| w[0] < w[1]) {
                gaps.push(format!("events {want:?} documented, {have:?} sent"));
            }
            for (i, (n, d)) in documented.iter().enumerate() {
                // Ours with this name and the same kind of content (a text delta, a tool
                // block...) holds the shape. A kind of content our reply does not have
                // (the documented reply wrote text before its tool call) is a different
                // answer, not a different shape; every event name must still be there.
                let same_name: Vec<&Value> = ours
                    .iter()
                    .filter(|(on, od)| on == n && kind(od) == kind(d))
                    .map(|(_, od)| od)
                    .collect();
                if same_name.is_empty() {
                    gaps.push(format!("event {i} ({n:?}): none sent"));
                    continue;
                }
                if let Some(od) = same_name.iter().find(|od| content_kind(od) == content_kind(d)) {
                    shape_gaps(d, od, &format!("event {i} ({n:?})"), &mut gaps);
                }
            }
        } else {
            let ours: Value = serde_json::from_slice(&bytes).expect("JSON reply");
            shape_gaps(&documented, &ours, "$", &mut gaps);
        }
        if !gaps.is_empty() {
            failures.push(format!("{label}:\n  {}", gaps.join("\n  ")));
        }
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} fixtures checked");
    assert!(
        failures.is_empty(),
        "{} of {checked}:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// What kind of content an event carries (a text delta, tool input, a role, a block's
/// type, an output item's type), so a documented text delta is compared with one of
/// ours, not with a tool-call delta.
fn content_kind(v: &Value) -> String {
    let keys = |d: &Value| -> String {
        match d {
            Value::Object(o) => o.keys().cloned().collect::<Vec<_>>().join(","),
            _ => String::new(),
        }
    };
    for pointer in ["/content_block/type", "/item/type", "/delta/type", "/part/type"] {
        if let Some(t) = v.pointer(pointer).and_then(Value::as_str) {
            return t.to_string();
        }
    }
    for pointer in ["/delta", "/choices/0/delta", "/start"] {
        if let Some(d) = v.pointer(pointer) {
            return keys(d);
        }
    }
    if let Some(b) = v.get("bytes").and_then(Value::as_str) {
        let inner: Value = BASE64
            .decode(b)
            .ok()
            .and_then(|raw| serde_json::from_slice(&raw).ok())
            .unwrap_or(Value::Null);
        return content_kind(&inner);
    }
    String::new()
}

fn faulty(faults: shunt::mock::faults::Faults) -> Mock {
    Mock::new(
        MockConfig {
            faults,
            ..MockConfig::default()
        },
        Arc::new(shunt::metrics::Metrics::new()),
        tokio_util::task::TaskTracker::new(),
    )
}

/// Injected faults in each provider's own shape: a 429 with its error body and headers,
/// a 503 (Anthropic's 529 overloaded_error), and a cut stream that first sends the API's
/// in-stream error event (Anthropic `error`, Bedrock `ModelStreamErrorException`).
#[tokio::test]
async fn faults_in_each_providers_shape() {
    use shunt::mock::faults::Faults;
    let chat = serde_json::json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]});
    let messages = serde_json::json!({"model": "claude-sonnet-4-5", "max_tokens": 10, "stream": true,
                                      "messages": [{"role": "user", "content": "hi"}]});
    let converse = serde_json::json!({"messages": [{"role": "user", "content": [{"text": "hi"}]}]});
    let stream_path = "/model/amazon.nova-lite-v1%3A0/converse-stream";

    let throttled = faulty(Faults {
        rate_429: 1.0,
        retry_after: 3,
        ..Faults::default()
    });
    let (status, body) = ask(&throttled, "api.openai.com", "/v1/chat/completions", &chat).await;
    let body: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(
        (status, body["error"]["type"].as_str()),
        (429, Some("rate_limit_error"))
    );
    let (status, body) = ask(&throttled, "api.anthropic.com", "/v1/messages", &messages).await;
    let body: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(
        (status, body["error"]["type"].as_str()),
        (429, Some("rate_limit_error"))
    );
    let call = {
        let Route::Model(call) = route::classify(shunt::policy::Service::Bedrock, stream_path) else {
            panic!("bedrock route");
        };
        call
    };
    let res = throttled
        .answer(&call, "", &Bytes::from(converse.to_string()))
        .await;
    assert_eq!(res.status().as_u16(), 429);
    assert_eq!(res.headers()["x-amzn-errortype"], "ThrottlingException");
    assert_eq!(res.headers()["retry-after"], "3");

    let overloaded = faulty(Faults {
        rate_503: 1.0,
        ..Faults::default()
    });
    let (status, body) = ask(&overloaded, "api.anthropic.com", "/v1/messages", &messages).await;
    let body: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(
        (status, body["error"]["type"].as_str()),
        (529, Some("overloaded_error"))
    );

    let cut = faulty(Faults {
        rate_cut: 1.0,
        ..Faults::default()
    });
    let got = until_cut(cut.answer(&call, "", &Bytes::from(converse.to_string())).await).await;
    // The last message before the cut is the exception.
    let mut bytes = &got[..];
    let mut last_headers = String::new();
    while bytes.len() >= 12 {
        let total = u32::from_be_bytes(bytes[0..4].try_into().expect("4")) as usize;
        let headers = u32::from_be_bytes(bytes[4..8].try_into().expect("4")) as usize;
        last_headers = String::from_utf8_lossy(&bytes[12..12 + headers]).into_owned();
        bytes = &bytes[total..];
    }
    assert!(
        last_headers.contains("ModelStreamErrorException") && last_headers.contains("exception"),
        "{last_headers}"
    );
    let call = {
        let Route::Model(call) = route::classify(shunt::policy::Service::Anthropic, "/v1/messages") else {
            panic!("anthropic route");
        };
        call
    };
    let got = until_cut(cut.answer(&call, "", &Bytes::from(messages.to_string())).await).await;
    let text = String::from_utf8_lossy(&got);
    let last = sse(text.as_bytes()).pop().expect("events before the cut");
    assert_eq!(last.0.as_deref(), Some("error"), "{text}");
    assert_eq!(last.1["error"]["type"], "overloaded_error", "{text}");
}

/// The bytes of a body up to the error that cuts it; panics if it is not cut.
async fn until_cut(res: http::Response<shunt::body::Body>) -> Vec<u8> {
    let mut body = res.into_body();
    let mut got = Vec::new();
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(f) => got.extend_from_slice(&f.into_data().unwrap_or_default()),
            Err(_) => return got,
        }
    }
    panic!("the body ended without a cut: {}", String::from_utf8_lossy(&got));
}
