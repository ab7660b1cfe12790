//! Claude on Vertex wire shapes: rawPredict, streamRawPredict (every SSE event with an
//! `event:` line — the SDK skips events without one), and `count-tokens:rawPredict`.

use bytes::Bytes;
use http::StatusCode;
use serde_json::{Value, json};

use super::MockConfig;
use super::text;
use crate::body::{self, Body, json_response};
use crate::route::ModelCall;

pub fn answer(
    config: &MockConfig,
    call: &ModelCall,
    req: &Value,
    seed: u64,
) -> Result<http::Response<Body>, String> {
    let input_tokens = text::count_tokens(&prompt_text(req)?).max(1);
    if call.model == "count-tokens" {
        return Ok(json_response(
            StatusCode::OK,
            &json!({"input_tokens": input_tokens}),
        ));
    }
    let model = req
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or(&call.model)
        .to_string();
    let words = text::words(seed, config.reply_words);
    let id = format!("msg_vrtx_shunt{seed:016x}");
    match call.verb.as_str() {
        "rawPredict" if req.get("stream") != Some(&Value::Bool(true)) => Ok(json_response(
            StatusCode::OK,
            &json!({
                "id": id, "type": "message", "role": "assistant", "model": model,
                "content": [{"type": "text", "text": words.join(" ")}],
                "stop_reason": "end_turn", "stop_sequence": null,
                "usage": {"input_tokens": input_tokens, "output_tokens": words.len()},
            }),
        )),
        "rawPredict" | "streamRawPredict" => {
            let mut events = vec![
                (
                    "message_start",
                    json!({"type": "message_start", "message": {
                    "id": id, "type": "message", "role": "assistant", "model": model, "content": [],
                    "stop_reason": null, "stop_sequence": null,
                    "usage": {"input_tokens": input_tokens, "output_tokens": 1}}}),
                ),
                (
                    "content_block_start",
                    json!({"type": "content_block_start", "index": 0,
                    "content_block": {"type": "text", "text": ""}}),
                ),
                ("ping", json!({"type": "ping"})),
            ];
            for piece in text::chunks(&words, config.words_per_chunk) {
                events.push((
                    "content_block_delta",
                    json!({"type": "content_block_delta", "index": 0,
                    "delta": {"type": "text_delta", "text": piece}}),
                ));
            }
            events.push((
                "content_block_stop",
                json!({"type": "content_block_stop", "index": 0}),
            ));
            events.push((
                "message_delta",
                json!({"type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": null},
                "usage": {"output_tokens": words.len()}}),
            ));
            events.push(("message_stop", json!({"type": "message_stop"})));
            Ok(sse(events))
        }
        other => Err(format!("unknown method {other} for Claude model {}", call.model)),
    }
}

fn sse(events: Vec<(&'static str, Value)>) -> http::Response<Body> {
    let (tx, body) = body::channel(4);
    tokio::spawn(async move {
        for (name, data) in events {
            let frame = format!("event: {name}\ndata: {data}\n\n");
            if tx.send(Ok(Bytes::from(frame))).await.is_err() {
                return;
            }
        }
    });
    let mut res = http::Response::new(body);
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/event-stream"),
    );
    res
}

/// All text in `system` and `messages` (string or content-block forms).
fn prompt_text(req: &Value) -> Result<String, String> {
    let mut out = Vec::new();
    if let Some(system) = req.get("system") {
        out.push(blocks_text(system));
    }
    match req.get("messages") {
        Some(Value::Array(messages)) => {
            for m in messages {
                out.push(blocks_text(m.get("content").unwrap_or(&Value::Null)));
            }
        }
        Some(_) => return Err("messages: Input should be a valid list".into()),
        None => return Err("messages: Field required".into()),
    }
    Ok(out.join("\n"))
}

fn blocks_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}
