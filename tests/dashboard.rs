//! The dashboard's data, the admin API and the cost estimate: `/ui/stream` counts what was
//! driven, knobs read and change (with clear 400s), the token rule beyond loopback, the
//! estimated cost of an exchange in its capture record, the GenAI metrics, and token
//! counts that agree however the app asks.

mod common;

use std::time::{Duration, Instant};

use common::*;
use http_body_util::BodyExt;
use serde_json::{Value, json};

const CHAT: &str =
    r#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello to the dashboard"}]}"#;

async fn chat(proxy: &Proxy) -> Reply {
    https(proxy, "api.openai.com", "POST", "/v1/chat/completions", CHAT).await
}

/// The first snapshot `/ui/stream` sends.
async fn snapshot(proxy: &Proxy, query: &str) -> Value {
    let stream = tokio::net::TcpStream::connect(proxy.addr).await.expect("connect");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    let req = http::Request::get(format!("/ui/stream{query}"))
        .header("host", "shunt")
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .expect("request");
    let res = sender.send_request(req).await.expect("send");
    assert_eq!(res.status(), 200);
    let mut body = res.into_body();
    let frame = tokio::time::timeout(Duration::from_secs(5), body.frame())
        .await
        .expect("a snapshot within 5 s")
        .expect("frame")
        .expect("ok")
        .into_data()
        .expect("data");
    let text = String::from_utf8(frame.to_vec()).expect("utf-8");
    serde_json::from_str(text.trim().strip_prefix("data: ").expect("an SSE data line")).expect("JSON")
}

async fn admin(proxy: &Proxy, method: &str, body: &str, auth: Option<&str>) -> Reply {
    let mut req = request(method, "/admin/mock", body);
    if let Some(token) = auth {
        req.headers_mut().insert(
            "authorization",
            format!("Bearer {token}").parse().expect("header"),
        );
    }
    plain(proxy.addr, req).await
}

/// `/ui/stream` counts the exchanges driven, with their tokens and estimated cost.
#[tokio::test]
async fn stream_counts_what_was_driven() {
    let proxy = Proxy::start().await;
    for _ in 0..5 {
        assert_eq!(chat(&proxy).await.status, 200);
    }
    let snap = snapshot(&proxy, "").await;
    assert_eq!(snap["totals"]["requests"], 5, "{snap}");
    assert_eq!(snap["totals"]["errors"], 0);
    let model = &snap["breakdown"]["model"][0];
    assert_eq!(model["key"], "gpt-4o-mini");
    assert_eq!(model["requests"], 5);
    assert!(snap["totals"]["tokens_out"].as_u64().expect("tokens") > 0);
    assert!(snap["totals"]["cost_usd"].as_f64().expect("cost") > 0.0);
    assert_eq!(snap["recent"].as_array().map(Vec::len), Some(5));
    assert_eq!(snap["knobs"]["ttft"], "fixed:0ms");
}

/// GET reads the knobs, PUT changes them (the mock's latency follows), bad values get a
/// 400 naming the field and change nothing; each change is a marker on the charts.
#[tokio::test]
async fn admin_api_reads_and_changes_knobs() {
    let proxy = Proxy::start().await;
    let knobs = admin(&proxy, "GET", "", None).await;
    assert_eq!(knobs.status, 200);
    assert_eq!(knobs.json()["fault_429"], 0.0);
    let changed = admin(&proxy, "PUT", r#"{"ttft": "300ms", "match_rate": 0.5}"#, None).await;
    assert_eq!(changed.status, 200, "{}", changed.text());
    assert_eq!(changed.json()["ttft"], "fixed:300ms");
    let t0 = Instant::now();
    assert_eq!(chat(&proxy).await.status, 200);
    assert!(
        t0.elapsed() >= Duration::from_millis(290),
        "the new TTFT applies: {:?}",
        t0.elapsed()
    );
    for (bad, field) in [
        (r#"{"ttft": "slow"}"#, "ttft"),
        (r#"{"fault_429": 7}"#, "fault_429"),
        (r#"{"speed": 1}"#, "unknown knob"),
        ("not json", "not JSON"),
    ] {
        let reply = admin(&proxy, "PUT", bad, None).await;
        assert_eq!(reply.status, 400, "{bad}");
        assert!(
            reply.json()["error"].as_str().expect("message").contains(field),
            "{bad}: {}",
            reply.text()
        );
    }
    assert_eq!(admin(&proxy, "GET", "", None).await.json()["ttft"], "fixed:300ms");
    let snap = snapshot(&proxy, "").await;
    let markers = snap["markers"].as_array().expect("markers");
    assert_eq!(markers.len(), 2, "{markers:?}");
    assert!(
        markers[0]["what"]
            .as_str()
            .expect("what")
            .starts_with("ttft: fixed:0ms → fixed:300ms")
    );
    assert!(markers[0]["by"].as_str().expect("by").starts_with("127.0.0.1:"));
}

/// Beyond loopback the dashboard and admin API need the token (401 without, 200 with);
/// with no token configured they are refused (403). Health and metrics stay open.
#[tokio::test]
async fn token_required_beyond_loopback() {
    let guarded = Proxy::start_on("0.0.0.0:0", &["--admin-token", "s3cret"]).await;
    assert_eq!(admin(&guarded, "GET", "", None).await.status, 401);
    assert_eq!(admin(&guarded, "GET", "", Some("wrong")).await.status, 401);
    assert_eq!(admin(&guarded, "GET", "", Some("s3cret")).await.status, 200);
    assert_eq!(plain(guarded.addr, request("GET", "/ui", "")).await.status, 401);
    let page = plain(guarded.addr, request("GET", "/ui?token=s3cret", "")).await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains("<html"), "{}", page.text());
    assert_eq!(
        plain(guarded.addr, request("GET", "/healthz", "")).await.status,
        200
    );
    assert_eq!(
        plain(guarded.addr, request("GET", "/metrics", "")).await.status,
        200
    );
    let open = Proxy::start_on("0.0.0.0:0", &[]).await;
    let refused = admin(&open, "PUT", r#"{"ttft": "1s"}"#, None).await;
    assert_eq!(refused.status, 403);
    assert!(refused.text().contains("--admin-token"), "{}", refused.text());
    assert_eq!(admin(&open, "GET", "", None).await.status, 403);
}

/// A captured exchange carries its tokens and estimated cost: tokens × the table's prices;
/// a model the table lacks is unpriced (null), not free.
#[tokio::test]
async fn capture_records_carry_cost() {
    let dir = tempfile::tempdir().expect("tempdir");
    let prices = dir.path().join("prices.toml");
    std::fs::write(
        &prices,
        "[[price]]\nmodel = \"gpt-4o-mini\"\ninput = 2.0\noutput = 10.0\n",
    )
    .expect("write");
    let file = dir.path().join("cap.jsonl");
    let mut proxy = Proxy::start_with(&[
        "--capture",
        file.to_str().expect("path"),
        "--prices",
        prices.to_str().expect("path"),
    ])
    .await;
    assert_eq!(chat(&proxy).await.status, 200);
    let other = r#"{"model":"not-in-the-table","messages":[{"role":"user","content":"hi"}]}"#;
    assert_eq!(
        https(&proxy, "api.openai.com", "POST", "/v1/chat/completions", other)
            .await
            .status,
        200
    );
    proxy.stop().await;
    let records: Vec<Value> = std::fs::read_to_string(&file)
        .expect("capture")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let llm = |model: &str| {
        records
            .iter()
            .find(|r| r["llm"]["model"] == model)
            .map(|r| r["llm"].clone())
            .expect("a record with llm usage")
    };
    let priced = llm("gpt-4o-mini");
    let (tin, tout) = (
        priced["tokens_in"].as_f64().expect("in"),
        priced["tokens_out"].as_f64().expect("out"),
    );
    let want = tin * 2.0 / 1e6 + tout * 10.0 / 1e6;
    assert!(
        (priced["cost_usd"].as_f64().expect("cost") - want).abs() < 1e-12,
        "{priced}"
    );
    assert_eq!(llm("not-in-the-table")["cost_usd"], Value::Null);
    // The summary reports the same, per model.
    let out = shunt_command()
        .args(["capture", "summary", "--format", "json", "--prices"])
        .arg(&prices)
        .arg(&file)
        .output()
        .expect("summary");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: Value = serde_json::from_slice(&out.stdout).expect("json");
    let row = summary["models"]
        .as_array()
        .and_then(|m| m.iter().find(|r| r["key"] == "gpt-4o-mini"))
        .expect("row");
    assert!(
        (row["cost_usd"].as_f64().expect("cost") - want).abs() < 1e-12,
        "{row}"
    );
}

/// The OpenTelemetry GenAI metrics are exported after a model call, with their labels.
#[tokio::test]
async fn genai_metrics_are_exported() {
    let proxy = Proxy::start().await;
    assert_eq!(chat(&proxy).await.status, 200);
    let metrics = plain(proxy.addr, request("GET", "/metrics", "")).await.text();
    for name in [
        "gen_ai_client_token_usage_count{",
        "gen_ai_client_operation_duration_seconds_count{",
        "gen_ai_server_time_to_first_token_seconds_count{",
        "gen_ai_server_time_per_output_token_seconds_count{",
        "shunt_genai_cost_usd_total{",
    ] {
        assert!(metrics.contains(name), "missing {name}\n{metrics}");
    }
    assert!(
        metrics.contains(r#"gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="gpt-4o-mini",gen_ai_token_type="output""#),
        "{metrics}"
    );
}

/// Usage agrees however the app asks: streamed or not, and with the API's token count.
#[tokio::test]
async fn token_counts_agree() {
    let proxy = Proxy::start().await;
    let vertex = "us-central1-aiplatform.googleapis.com";
    let base = "/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.5-flash";
    let body =
        r#"{"contents":[{"role":"user","parts":[{"text":"How many tokens is this prompt, roughly?"}]}]}"#;
    let whole = https(&proxy, vertex, "POST", &format!("{base}:generateContent"), body)
        .await
        .json();
    let count = https(&proxy, vertex, "POST", &format!("{base}:countTokens"), body)
        .await
        .json();
    let stream = https(
        &proxy,
        vertex,
        "POST",
        &format!("{base}:streamGenerateContent?alt=sse"),
        body,
    )
    .await
    .text();
    let last: Value = stream
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|l| serde_json::from_str(l).ok())
        .next_back()
        .expect("a last chunk");
    assert_eq!(whole["usageMetadata"]["promptTokenCount"], count["totalTokens"]);
    assert_eq!(
        whole["usageMetadata"], last["usageMetadata"],
        "streamed usage = whole usage"
    );

    let chat_body = json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "Count me"}]});
    let whole = https(
        &proxy,
        "api.openai.com",
        "POST",
        "/v1/chat/completions",
        &chat_body.to_string(),
    )
    .await
    .json();
    let mut streamed = chat_body.clone();
    streamed["stream"] = json!(true);
    streamed["stream_options"] = json!({"include_usage": true});
    let text = https(
        &proxy,
        "api.openai.com",
        "POST",
        "/v1/chat/completions",
        &streamed.to_string(),
    )
    .await
    .text();
    let chunks: Vec<Value> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .collect();
    let usage = chunks
        .iter()
        .find(|c| c["usage"].is_object())
        .expect("a usage chunk");
    let streamed_text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    let whole_text = whole["choices"][0]["message"]["content"]
        .as_str()
        .expect("content");
    // Each reply's usage counts its own text the same way (the two bodies differ, so do
    // their replies), and the prompt the same.
    let count = shunt::providers::tokens::count_tokens;
    assert_eq!(whole["usage"]["completion_tokens"], count(whole_text));
    assert_eq!(usage["usage"]["completion_tokens"], count(&streamed_text));
    assert_eq!(whole["usage"]["prompt_tokens"], usage["usage"]["prompt_tokens"]);

    let messages = json!({"model": "claude-sonnet-4-5", "max_tokens": 50,
                          "messages": [{"role": "user", "content": "Count me too"}]});
    let reply = https(
        &proxy,
        "api.anthropic.com",
        "POST",
        "/v1/messages",
        &messages.to_string(),
    )
    .await
    .json();
    let counted = https(
        &proxy,
        "api.anthropic.com",
        "POST",
        "/v1/messages/count_tokens",
        &messages.to_string(),
    )
    .await
    .json();
    assert_eq!(reply["usage"]["input_tokens"], counted["input_tokens"]);
}

/// A shunt forwarding to `shunt mock` counts the mock's tokens, schema and cost as its own
/// (the mock says what it replied in `x-shunt-reply`, which never reaches the app).
#[tokio::test]
async fn forwarding_to_shunt_mock_keeps_the_cost() {
    let mut mock = ShuntProcess::spawn(["mock", "--listen", "127.0.0.1:0", "--seed", "3"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("cap.jsonl");
    let upstream = format!("http://{}", mock.addr);
    let mut proxy =
        Proxy::start_with(&["--upstream", &upstream, "--capture", file.to_str().expect("path")]).await;
    let structured = r#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Pick a city"}],
        "response_format":{"type":"json_schema","json_schema":{"name":"City","schema":{"title":"City",
        "type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}}"#;
    let reply = https(
        &proxy,
        "api.openai.com",
        "POST",
        "/v1/chat/completions",
        structured,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(
        !reply.headers.contains_key("x-shunt-reply"),
        "{:?}",
        reply.headers
    );
    let usage = &reply.json()["usage"];
    let snap = snapshot(&proxy, "").await;
    proxy.stop().await;
    let record: Value = std::fs::read_to_string(&file)
        .expect("capture")
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("json"))
        .find(|r| r["llm"].is_object())
        .expect("a record with llm usage");
    let llm = &record["llm"];
    assert_eq!(llm["provider"], "openai", "{llm}");
    assert_eq!(llm["model"], "gpt-4o-mini", "{llm}");
    assert_eq!(llm["tokens_in"], usage["prompt_tokens"], "{llm} vs {usage}");
    assert_eq!(llm["tokens_out"], usage["completion_tokens"], "{llm} vs {usage}");
    assert_eq!(llm["schema"], "City", "{llm}");
    assert!(llm["cost_usd"].as_f64().expect("priced") > 0.0, "{llm}");
    let shown = snap.to_string();
    assert!(
        shown.contains("\"City\""),
        "the dashboard's schema breakdown: {shown}"
    );
    mock.signal("TERM");
    assert_eq!(mock.wait(), Some(0));
}
