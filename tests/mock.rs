//! The built-in mock, driven through its library API (latency under tokio's paused
//! clock, so timings are exact virtual durations, never wall-clock guesses).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use shunt::metrics::Metrics;
use shunt::mock::latency::{Dist, Latency, LatencyTable, ModelLatency};
use shunt::mock::scenario::Scenarios;
use shunt::mock::{Mock, MockConfig};
use shunt::route::classify_model_path;
use tokio::time::Instant;

const VERTEX: &str = "/v1beta1/projects/p/locations/us-central1/publishers/google/models";
const CLAUDE: &str = "/v1/projects/p/locations/us-east5/publishers/anthropic/models";

fn mock(config: MockConfig) -> (Mock, Arc<Metrics>) {
    let metrics = Arc::new(Metrics::new());
    (
        Mock::new(config, metrics.clone(), tokio_util::task::TaskTracker::new()),
        metrics,
    )
}

/// Call the mock; return status, headers and the body frames with their arrival times.
async fn call(
    mock: &Mock,
    path_and_query: &str,
    body: &Value,
) -> (u16, http::HeaderMap, Vec<(Duration, Bytes)>) {
    let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
    let call = classify_model_path(path).expect("model path");
    let started = Instant::now();
    let res = mock.answer(&call, query, &Bytes::from(body.to_string())).await;
    let (parts, mut body) = res.into_parts();
    let mut frames = vec![(started.elapsed(), Bytes::new())];
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(f) => {
                if let Ok(data) = f.into_data() {
                    frames.push((started.elapsed(), data));
                }
            }
            Err(_) => {
                frames.push((started.elapsed(), Bytes::from_static(b"<cut>")));
                break;
            }
        }
    }
    (parts.status.as_u16(), parts.headers, frames)
}

fn joined(frames: &[(Duration, Bytes)]) -> Value {
    let bytes: Vec<u8> = frames.iter().flat_map(|(_, b)| b.to_vec()).collect();
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&bytes)))
}

fn prompt(text: &str) -> Value {
    json!({"contents": [{"role": "user", "parts": [{"text": text}]}]})
}

fn latency(ttft_ms: u64, gap_ms: u64) -> Latency {
    Latency {
        ttft: Dist::Fixed(Duration::from_millis(ttft_ms)),
        gap: Dist::Fixed(Duration::from_millis(gap_ms)),
    }
}

/// A stream's first chunk arrives at TTFT and each later one a gap after the previous.
#[tokio::test(start_paused = true)]
async fn stream_follows_ttft_and_gaps() {
    let config = MockConfig {
        reply_words: (12, 12),
        chunk_words: 3,
        latency: LatencyTable {
            default: latency(800, 40),
            models: vec![],
        },
        ..MockConfig::default()
    };
    let (mock, _) = mock(config);
    let (status, headers, frames) = call(
        &mock,
        &format!("{VERTEX}/gemini-2.5-flash:streamGenerateContent?alt=sse"),
        &prompt("hi"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/event-stream");
    let data: Vec<&(Duration, Bytes)> = frames.iter().skip(1).collect();
    assert_eq!(data.len(), 4, "12 words in chunks of 3");
    let times: Vec<u128> = data.iter().map(|(t, _)| t.as_millis()).collect();
    assert_eq!(times, vec![800, 840, 880, 920]);
    for (_, frame) in &data {
        let text = std::str::from_utf8(frame).expect("utf-8");
        assert!(
            text.starts_with("data: {") && text.ends_with("}\r\n\r\n"),
            "{text:?}"
        );
    }
}

/// A non-streamed reply waits TTFT + one gap per chunk it would have streamed.
#[tokio::test(start_paused = true)]
async fn whole_reply_waits_the_stream_total() {
    let config = MockConfig {
        reply_words: (12, 12),
        chunk_words: 3,
        latency: LatencyTable {
            default: latency(0, 0),
            models: vec![ModelLatency {
                pattern: "gemini-*".into(),
                latency: latency(500, 25),
            }],
        },
        ..MockConfig::default()
    };
    let (mock, _) = mock(config);
    let (_, _, frames) = call(
        &mock,
        &format!("{VERTEX}/gemini-2.5-flash:generateContent"),
        &prompt("hi"),
    )
    .await;
    assert_eq!(frames[0].0, Duration::from_millis(575), "500 + 3 x 25");
    // Another model falls back to the global (zero) latency.
    let (_, _, frames) = call(
        &mock,
        &format!("{VERTEX}/other-model:generateContent"),
        &prompt("hi"),
    )
    .await;
    assert_eq!(frames[0].0, Duration::ZERO);
}

/// Uniform TTFT samples spread over the range; the seed repeats them exactly.
#[tokio::test(start_paused = true)]
async fn sampled_latency_is_seeded() {
    let run = |seed| async move {
        let config = MockConfig {
            seed,
            latency: LatencyTable {
                default: Latency {
                    ttft: "uniform:100ms..300ms".parse().expect("dist"),
                    gap: Dist::default(),
                },
                models: vec![],
            },
            ..MockConfig::default()
        };
        let (mock, _) = mock(config);
        let mut out = Vec::new();
        for _ in 0..200 {
            let (_, _, frames) = call(&mock, &format!("{VERTEX}/m:generateContent"), &prompt("hi")).await;
            out.push(frames[0].0.as_millis());
        }
        out
    };
    let a = run(5).await;
    assert!(a.iter().all(|ms| (100..=300).contains(ms)));
    let below = a.iter().filter(|ms| **ms < 200).count() as f64 / a.len() as f64;
    assert!((0.35..=0.65).contains(&below), "share below the median {below}");
    assert_eq!(a, run(5).await);
    assert_ne!(a, run(6).await);
}

/// Fault shares follow the rates; 429s carry Retry-After and a Google error body.
#[tokio::test]
async fn faults_by_rate() {
    let mut config = MockConfig::default();
    config.faults.rate_429 = 0.2;
    config.faults.rate_503 = 0.1;
    config.faults.retry_after = 7;
    config.seed = 11;
    let (mock, metrics) = mock(config);
    let mut statuses = Vec::new();
    for i in 0..500 {
        let (status, headers, frames) = call(
            &mock,
            &format!("{VERTEX}/m:generateContent"),
            &prompt(&format!("q{i}")),
        )
        .await;
        if status == 429 {
            assert_eq!(headers["retry-after"], "7");
            assert_eq!(joined(&frames)["error"]["status"], "RESOURCE_EXHAUSTED");
        }
        if status == 503 {
            assert_eq!(joined(&frames)["error"]["status"], "UNAVAILABLE");
        }
        statuses.push(status);
    }
    let share = |s| statuses.iter().filter(|x| **x == s).count() as f64 / statuses.len() as f64;
    assert!((share(429) - 0.2).abs() < 0.05, "429 share {}", share(429));
    assert!((share(503) - 0.1).abs() < 0.04, "503 share {}", share(503));
    assert!((share(200) - 0.7).abs() < 0.06);
    let text = metrics.render();
    assert!(text.contains(&format!(
        "shunt_mock_faults_total{{kind=\"429\"}} {}",
        statuses.iter().filter(|s| **s == 429).count()
    )));
}

/// A cut fault ends a stream with an error after part of it, never cleanly.
#[tokio::test]
async fn cut_ends_stream_mid_way() {
    let mut config = MockConfig {
        reply_words: (20, 20),
        chunk_words: 2,
        ..MockConfig::default()
    };
    config.faults.rate_cut = 1.0;
    let (mock, _) = mock(config);
    let (status, _, frames) = call(
        &mock,
        &format!("{VERTEX}/m:streamGenerateContent?alt=sse"),
        &prompt("hi"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(frames.last().expect("frames").1, "<cut>");
    let delivered = frames.len() - 2;
    assert!(
        (1..10).contains(&delivered),
        "{delivered} of 10 chunks before the cut"
    );
}

/// Same request and seed give the same text; another prompt gives another.
#[tokio::test]
async fn text_is_deterministic() {
    let (a, _) = mock(MockConfig::default());
    let (b, _) = mock(MockConfig::default());
    let path = format!("{VERTEX}/m:generateContent");
    let text =
        |frames: &[(Duration, Bytes)]| joined(frames)["candidates"][0]["content"]["parts"][0]["text"].clone();
    let x = text(&call(&a, &path, &prompt("hello")).await.2);
    assert_eq!(x, text(&call(&b, &path, &prompt("hello")).await.2));
    assert_ne!(x, text(&call(&a, &path, &prompt("other")).await.2));
}

/// Token counts agree between countTokens and the usage of a reply to the same prompt.
#[tokio::test]
async fn usage_is_consistent() {
    let (mock, _) = mock(MockConfig::default());
    let p = prompt("How many tokens does this prompt have, roughly?");
    let count = joined(&call(&mock, &format!("{VERTEX}/m:countTokens"), &p).await.2);
    let reply = joined(&call(&mock, &format!("{VERTEX}/m:generateContent"), &p).await.2);
    let usage = &reply["usageMetadata"];
    assert_eq!(count["totalTokens"], usage["promptTokenCount"]);
    assert_eq!(
        usage["totalTokenCount"].as_u64(),
        Some(
            usage["promptTokenCount"].as_u64().expect("p")
                + usage["candidatesTokenCount"].as_u64().expect("c")
        )
    );
}

/// ANY mode returns a functionCall whose args match the declared schema.
#[tokio::test]
async fn function_call_any_mode() {
    let (mock, metrics) = mock(MockConfig::default());
    let body = json!({
        "contents": [{"role": "user", "parts": [{"text": "book it"}]}],
        "tools": [{"function_declarations": [
            {"name": "book", "parameters": {"type": "OBJECT", "properties": {
                "day": {"type": "STRING", "format": "date"}, "seats": {"type": "INTEGER", "minimum": 1, "maximum": 4}},
                "required": ["day", "seats"]}},
            {"name": "cancel", "parameters_json_schema": {"type": "object", "properties": {"id": {"type": "string"}}}}]}],
        "tool_config": {"function_calling_config": {"mode": "ANY", "allowed_function_names": ["book"]}}
    });
    let reply = joined(&call(&mock, &format!("{VERTEX}/m:generateContent"), &body).await.2);
    let fc = &reply["candidates"][0]["content"]["parts"][0]["functionCall"];
    assert_eq!(fc["name"], "book", "{reply}");
    let seats = fc["args"]["seats"].as_i64().expect("integer seats");
    assert!((1..=4).contains(&seats));
    assert!(fc["args"]["day"].as_str().is_some_and(|d| d.len() == 10));
    let rendered = metrics.render();
    assert!(
        rendered.contains("shunt_mock_replies_total{kind=\"function_call\",schema=\"\",function=\"book\"} 1"),
        "{rendered}"
    );
}

/// AUTO: a call on the user's turn, text after a functionResponse; NONE: text.
#[tokio::test]
async fn function_call_auto_policy() {
    let (mock, _) = mock(MockConfig::default());
    let tools = json!([{"functionDeclarations": [{"name": "ping"}]}]);
    let first = json!({"contents": [{"role": "user", "parts": [{"text": "go"}]}], "tools": tools});
    let reply = joined(
        &call(&mock, &format!("{VERTEX}/m:generateContent"), &first)
            .await
            .2,
    );
    assert_eq!(
        reply["candidates"][0]["content"]["parts"][0]["functionCall"]["name"],
        "ping"
    );
    let second = json!({"contents": [
        {"role": "user", "parts": [{"text": "go"}]},
        {"role": "model", "parts": [{"functionCall": {"name": "ping", "args": {}}}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "ping", "response": {"ok": true}}}]}],
        "tools": tools});
    let reply = joined(
        &call(&mock, &format!("{VERTEX}/m:generateContent"), &second)
            .await
            .2,
    );
    assert!(
        reply["candidates"][0]["content"]["parts"][0]["text"].is_string(),
        "{reply}"
    );
    let none = json!({"contents": first["contents"], "tools": tools,
        "toolConfig": {"functionCallingConfig": {"mode": "NONE"}}});
    let reply = joined(&call(&mock, &format!("{VERTEX}/m:generateContent"), &none).await.2);
    assert!(reply["candidates"][0]["content"]["parts"][0]["text"].is_string());
}

/// Claude: tool_choice names a tool → a tool_use block with schema-valid input.
#[tokio::test]
async fn claude_tool_use() {
    let (mock, _) = mock(MockConfig::default());
    let body = json!({"max_tokens": 100, "anthropic_version": "vertex-2023-10-16",
        "messages": [{"role": "user", "content": "weather?"}],
        "tools": [{"name": "get_weather", "input_schema": {"type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}}, "required": ["city", "unit"]}}],
        "tool_choice": {"type": "tool", "name": "get_weather"}});
    let reply = joined(
        &call(
            &mock,
            &format!("{CLAUDE}/claude-sonnet-4-5@20250929:rawPredict"),
            &body,
        )
        .await
        .2,
    );
    assert_eq!(reply["stop_reason"], "tool_use");
    let block = &reply["content"][0];
    assert_eq!(block["type"], "tool_use");
    assert_eq!(block["name"], "get_weather");
    assert!(block["input"]["city"].is_string());
    assert!(["c", "f"].contains(&block["input"]["unit"].as_str().expect("unit")));
}

/// Claude streams carry an `event:` line on every event, message_start … message_stop.
#[tokio::test]
async fn claude_stream_events() {
    let (mock, _) = mock(MockConfig::default());
    let body = json!({"max_tokens": 100, "stream": true, "messages": [{"role": "user", "content": "hi"}]});
    let (status, headers, frames) = call(
        &mock,
        &format!("{CLAUDE}/claude-sonnet-4-5@20250929:streamRawPredict"),
        &body,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/event-stream");
    let text: String = frames
        .iter()
        .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
        .collect();
    let events: Vec<&str> = text.split("\n\n").filter(|e| !e.is_empty()).collect();
    assert!(
        events
            .iter()
            .all(|e| e.starts_with("event: ") && e.contains("\ndata: {"))
    );
    let names: Vec<&str> = events
        .iter()
        .map(|e| e.lines().next().expect("line").trim_start_matches("event: "))
        .collect();
    assert_eq!(names.first(), Some(&"message_start"));
    assert_eq!(names.last(), Some(&"message_stop"));
    for name in [
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
    ] {
        assert!(names.contains(&name), "{names:?}");
    }
}

/// Embeddings: dimensions by model, outputDimensionality, unit length, determinism.
#[tokio::test]
async fn embeddings() {
    let (mock, _) = mock(MockConfig::default());
    let predict = |model: &str| format!("{VERTEX}/{model}:predict");
    let body = json!({"instances": [{"content": "alpha"}, {"content": "beta"}, {"content": "alpha"}]});
    let reply = joined(&call(&mock, &predict("text-embedding-004"), &body).await.2);
    let vectors: Vec<Vec<f64>> = reply["predictions"]
        .as_array()
        .expect("predictions")
        .iter()
        .map(|p| serde_json::from_value(p["embeddings"]["values"].clone()).expect("values"))
        .collect();
    assert_eq!(vectors.len(), 3);
    assert!(vectors.iter().all(|v| v.len() == 768));
    for v in &vectors {
        let norm: f64 = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        assert!((norm - 1.0).abs() < 1e-9);
    }
    assert_eq!(vectors[0], vectors[2]);
    assert_ne!(vectors[0], vectors[1]);
    let big = joined(
        &call(
            &mock,
            &predict("gemini-embedding-001"),
            &json!({"instances": [{"content": "x"}]}),
        )
        .await
        .2,
    );
    assert_eq!(
        big["predictions"][0]["embeddings"]["values"]
            .as_array()
            .expect("v")
            .len(),
        3072
    );
    let small = json!({"instances": [{"content": "x"}], "parameters": {"outputDimensionality": 8}});
    let small = joined(&call(&mock, &predict("text-embedding-005"), &small).await.2);
    assert_eq!(
        small["predictions"][0]["embeddings"]["values"]
            .as_array()
            .expect("v")
            .len(),
        8
    );
    let embed =
        json!({"content": {"parts": [{"text": "x"}]}, "embedContentConfig": {"outputDimensionality": 3}});
    let embed = joined(
        &call(
            &mock,
            &format!("{VERTEX}/gemini-embedding-2:embedContent"),
            &embed,
        )
        .await
        .2,
    );
    assert_eq!(embed["embedding"]["values"].as_array().expect("v").len(), 3);
}

/// Malformed requests get 400 INVALID_ARGUMENT with a Google error body.
#[tokio::test]
async fn malformed_requests() {
    let (mock, _) = mock(MockConfig::default());
    let generate = format!("{VERTEX}/m:generateContent");
    for (path, body) in [
        (generate.as_str(), json!({"contents": "hi"})),
        (generate.as_str(), json!({"contents": [1, 2]})),
        (generate.as_str(), json!([1])),
        (&format!("{VERTEX}/m:explode"), json!({})),
        (
            &format!("{VERTEX}/text-embedding-004:predict"),
            json!({"instances": [{"content": 5}]}),
        ),
        (&format!("{CLAUDE}/claude:rawPredict"), json!({"messages": "hi"})),
    ] {
        let (status, _, frames) = call(&mock, path, &body).await;
        assert_eq!(status, 400, "{path} {body}");
        assert_eq!(joined(&frames)["error"]["status"], "INVALID_ARGUMENT");
    }
    let call_ = classify_model_path(&generate).expect("path");
    let res = mock.answer(&call_, "", &Bytes::from_static(b"{not json")).await;
    assert_eq!(res.status(), 400);
}

/// Scenario rules pin text, JSON, function args and errors.
#[tokio::test]
async fn scenarios() {
    let scenarios = Scenarios::parse(
        r#"
[[rule]]
prompt = "(?i)lab results"
text = "Your results are normal."
[[rule]]
schema_title = "Person"
json = '{"name": "Ada"}'
[[rule]]
function = "get_weather"
function_args = '{"city": "Paris"}'
[[rule]]
model = "claude-*"
error = { code = 429, message = "quota" }
"#,
    )
    .expect("scenarios");
    let (mock, _) = mock(MockConfig {
        scenarios,
        ..MockConfig::default()
    });
    let generate = format!("{VERTEX}/gemini-2.5-flash:generateContent");
    let part = |v: &Value| v["candidates"][0]["content"]["parts"][0].clone();
    let r = joined(&call(&mock, &generate, &prompt("show my LAB RESULTS")).await.2);
    assert_eq!(part(&r)["text"], "Your results are normal.");
    let body = json!({"contents": [{"role": "user", "parts": [{"text": "x"}]}],
        "generationConfig": {"responseMimeType": "application/json", "responseSchema": {"title": "Person", "type": "OBJECT"}}});
    assert_eq!(
        part(&joined(&call(&mock, &generate, &body).await.2))["text"],
        "{\"name\":\"Ada\"}"
    );
    let body = json!({"contents": [{"role": "user", "parts": [{"text": "x"}]}],
        "tools": [{"functionDeclarations": [{"name": "get_weather"}]}]});
    assert_eq!(
        part(&joined(&call(&mock, &generate, &body).await.2))["functionCall"]["args"]["city"],
        "Paris"
    );
    let (status, _, frames) = call(
        &mock,
        &format!("{CLAUDE}/claude-x:rawPredict"),
        &json!({"messages": []}),
    )
    .await;
    assert_eq!(status, 429);
    assert_eq!(joined(&frames)["error"]["message"], "quota");
}

/// A template rule sees the request: prompt, latest user message, model, schema title,
/// declared functions, regex captures, the body and JSONPath lookups into it.
#[tokio::test]
async fn scenario_templates_see_the_request() {
    let scenarios = Scenarios::parse(
        r#"
[[rule]]
prompt = "(?i)weather in (?P<city>\\w+)"
template = "{{ captures.city }}|{{ captures['1'] }}|{{ model }}|{{ last_user }}|{{ functions | join(',') }}|{{ jsonpath('$.generationConfig.temperature') }}|{{ request.contents | length }}|{{ 'system' in prompt }}"

[[rule]]
schema_title = "Person"
template = '{"name": "{{ last_user | title }}", "schema": "{{ schema_title }}"}'

[[rule]]
function = "book"
template = '{"day": "{{ jsonpath("$.contents[-1].parts[0].text") }}"}'

[[rule]]
schema_title = "Broken"
template = '{"name": {{ last_user }}}'

[[rule]]
schema_title = "Strict"
template = '{"age": "old"}'
"#,
    )
    .expect("scenarios");
    let (mock, _) = mock(MockConfig {
        scenarios,
        ..MockConfig::default()
    });
    let generate = format!("{VERTEX}/gemini-2.5-flash:generateContent");
    let part = |v: &Value| v["candidates"][0]["content"]["parts"][0].clone();

    let body = json!({"systemInstruction": {"parts": [{"text": "system"}]},
        "contents": [{"role": "user", "parts": [{"text": "first"}]}, {"role": "model", "parts": [{"text": "ok"}]},
                     {"role": "user", "parts": [{"text": "weather in Oslo please"}]}],
        "tools": [{"functionDeclarations": [{"name": "get_weather"}, {"name": "get_time"}]}],
        "toolConfig": {"functionCallingConfig": {"mode": "NONE"}},
        "generationConfig": {"temperature": 0.5}});
    let r = joined(&call(&mock, &generate, &body).await.2);
    assert_eq!(
        part(&r)["text"],
        "Oslo|Oslo|gemini-2.5-flash|weather in Oslo please|get_weather,get_time|0.5|3|True"
    );

    let structured = |title: &str, text: &str| {
        json!({"contents": [{"role": "user", "parts": [{"text": text}]}],
            "generationConfig": {"responseMimeType": "application/json", "responseSchema": {
                "title": title, "type": "OBJECT",
                "properties": {"name": {"type": "STRING"}, "schema": {"type": "STRING"}, "age": {"type": "INTEGER"}}}}})
    };
    let r = joined(
        &call(&mock, &generate, &structured("Person", "ada lovelace"))
            .await
            .2,
    );
    assert_eq!(
        serde_json::from_str::<Value>(part(&r)["text"].as_str().expect("text")).expect("json"),
        json!({"name": "Ada Lovelace", "schema": "Person"})
    );

    let body = json!({"contents": [{"role": "user", "parts": [{"text": "2026-12-01"}]}],
        "tools": [{"functionDeclarations": [{"name": "book", "parameters": {"type": "OBJECT",
            "properties": {"day": {"type": "STRING"}}, "required": ["day"]}}]}]});
    let r = joined(&call(&mock, &generate, &body).await.2);
    assert_eq!(
        part(&r)["functionCall"],
        json!({"name": "book", "args": {"day": "2026-12-01"}})
    );

    // Invalid JSON and JSON the schema rejects: a 500 naming the rule.
    for (title, want) in [
        ("Broken", "invalid JSON"),
        ("Strict", "does not match the response schema"),
    ] {
        let (status, _, frames) = call(&mock, &generate, &structured(title, "ada")).await;
        assert_eq!(status, 500, "{title}");
        let message = joined(&frames)["error"]["message"]
            .as_str()
            .expect("message")
            .to_string();
        assert!(
            message.contains(&format!("schema_title = \"{title}\"")),
            "{message}"
        );
        assert!(message.contains("scenario rule"), "{message}");
        assert!(message.contains(want), "{message}");
    }
}

/// A template with a syntax error or a bad `as` is refused when the file is read,
/// naming the rule.
#[test]
fn bad_templates_are_refused() {
    for (file, want) in [
        ("[[rule]]\ntemplate = '{{ unclosed'\n", "rule 1: template"),
        (
            "[[rule]]\ntext = 'a'\n[[rule]]\ntemplate = 'x'\nas = 'yaml'\n",
            "rule 2: as = \"yaml\"",
        ),
        ("[[rule]]\ntemplate = 'x'\nas = 'args'\n", "needs `function`"),
        ("[[rule]]\ntext = 'x'\nas = 'json'\n", "`as` goes with `template`"),
    ] {
        let err = Scenarios::parse(file).expect_err(file);
        assert!(err.contains(want), "{file}: {err}");
    }
}

/// Two tools that fit the user's message are called in one turn: Gemini as two
/// functionCall parts, Claude as two tool_use blocks (streamed with their own indexes)
/// whose ids are the same for the same request; Claude's disable_parallel_tool_use gets
/// one call.
#[tokio::test]
async fn parallel_tool_calls() {
    let (mock, _) = mock(MockConfig::default());
    let user = "What's the weather in Oslo, and show my lab results";
    let gemini = json!({"contents": [{"role": "user", "parts": [{"text": user}]}],
        "tools": [{"functionDeclarations": [
            {"name": "get_weather", "description": "Current weather for a city",
             "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}, "required": ["city"]}},
            {"name": "get_lab_results", "description": "The patient's latest lab results"},
            {"name": "cancel_order", "description": "Cancel an order"}]}]});
    let r = joined(
        &call(
            &mock,
            &format!("{VERTEX}/gemini-2.5-flash:generateContent"),
            &gemini,
        )
        .await
        .2,
    );
    let names: Vec<&str> = r["candidates"][0]["content"]["parts"]
        .as_array()
        .expect("parts")
        .iter()
        .map(|p| p["functionCall"]["name"].as_str().expect("call"))
        .collect();
    assert_eq!(names, ["get_weather", "get_lab_results"], "{r}");

    let claude = |disable: bool| {
        json!({"anthropic_version": "vertex-2023-10-16", "max_tokens": 100, "stream": true,
            "messages": [{"role": "user", "content": user}],
            "tool_choice": {"type": "auto", "disable_parallel_tool_use": disable},
            "tools": [
                {"name": "get_weather", "description": "Current weather for a city",
                 "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
                {"name": "get_lab_results", "description": "The patient's latest lab results",
                 "input_schema": {"type": "object", "properties": {}}}]})
    };
    let path = format!("{CLAUDE}/claude-sonnet-4-5:streamRawPredict");
    let stream = |frames: &[(Duration, Bytes)]| -> String {
        String::from_utf8(frames.iter().flat_map(|(_, b)| b.to_vec()).collect()).expect("utf8")
    };
    let text = stream(&call(&mock, &path, &claude(false)).await.2);
    let starts: Vec<Value> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str::<Value>(d).expect("event"))
        .filter(|e| e["type"] == "content_block_start")
        .collect();
    assert_eq!(starts.len(), 2, "{text}");
    assert_eq!(starts[0]["index"], 0);
    assert_eq!(starts[1]["index"], 1);
    assert_eq!(starts[1]["content_block"]["name"], "get_lab_results");
    assert!(text.contains("\"stop_reason\":\"tool_use\""));
    let again = stream(&call(&mock, &path, &claude(false)).await.2);
    let id = |t: &str| t.split("\"id\":\"toolu_").nth(1).map(|s| s[..20].to_string());
    assert_eq!(id(&text), id(&again), "tool ids are stable per request");
    let single = stream(&call(&mock, &path, &claude(true)).await.2);
    assert_eq!(
        single.matches("content_block_start").count(),
        2,
        "one block: its event name and type"
    );
}
