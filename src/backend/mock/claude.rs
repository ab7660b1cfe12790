//! Claude on Vertex wire shapes: rawPredict, streamRawPredict (every SSE event with an
//! `event:` line — the SDK silently skips events without one), `count-tokens:rawPredict`,
//! tool use (`tools` + `tool_choice`) and JSON output (`output_format`).

use bytes::Bytes;
use http::StatusCode;
use rand::Rng;
use serde_json::{Value, json};

use super::schema::Dialect;
use super::{Answer, Ask, Delivery, Rendered, Structured, ToolDecl, ToolMode, split_chunks, text};
use crate::body::{Body, json_response};
use crate::route::ModelCall;

/// For message generation, the [`Ask`] and how to deliver it; `None` for other calls.
pub fn generation(call: &ModelCall, req: &Value) -> Result<Option<(Ask, Delivery)>, String> {
    if call.model == "count-tokens" {
        return Ok(None);
    }
    let delivery = match call.verb.as_str() {
        "rawPredict" if req.get("stream") == Some(&Value::Bool(true)) => Delivery::Sse,
        "rawPredict" => Delivery::Whole,
        "streamRawPredict" => Delivery::Sse,
        _ => return Ok(None),
    };
    let messages = messages(req)?;
    let after_tool_result = messages.last().is_some_and(|m| {
        m.get("content").and_then(Value::as_array).is_some_and(|blocks| {
            blocks
                .iter()
                .any(|b| b.get("type").and_then(Value::as_str) == Some("tool_result"))
        })
    });
    let tools = req
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| {
            Some(ToolDecl {
                name: t.get("name")?.as_str()?.to_string(),
                schema: t.get("input_schema").map(|s| (s.clone(), Dialect::JsonSchema)),
            })
        })
        .collect();
    let choice = req.get("tool_choice");
    let mode = match choice.and_then(|c| c.get("type")).and_then(Value::as_str) {
        Some("any") => ToolMode::Any(Vec::new()),
        Some("tool") => {
            let name = choice
                .and_then(|c| c.get("name"))
                .and_then(Value::as_str)
                .ok_or("tool_choice.name: Field required")?;
            ToolMode::Any(vec![name.to_string()])
        }
        Some("none") => ToolMode::None,
        _ => ToolMode::Auto,
    };
    let structured = req
        .get("output_format")
        .and_then(|f| f.get("schema"))
        .map(|s| Structured {
            schema: Some((s.clone(), Dialect::JsonSchema)),
            enum_text: false,
        });
    let ask = Ask {
        model: req
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or(&call.model)
            .to_string(),
        prompt: prompt_text(req)?,
        structured,
        tools,
        mode,
        after_tool_result,
    };
    Ok(Some((ask, delivery)))
}

/// Token counting (the only non-generation Claude call).
pub fn utility(call: &ModelCall, req: &Value) -> Result<http::Response<Body>, String> {
    if call.model == "count-tokens" && call.verb == "rawPredict" {
        return Ok(json_response(
            StatusCode::OK,
            &json!({"input_tokens": text::count_tokens(&prompt_text(req)?)}),
        ));
    }
    Err(format!(
        "Invalid method {} for Claude model {}: the mock serves rawPredict, streamRawPredict \
         and count-tokens:rawPredict",
        call.verb, call.model
    ))
}

fn messages(req: &Value) -> Result<&Vec<Value>, String> {
    match req.get("messages") {
        Some(Value::Array(m)) => Ok(m),
        Some(_) => Err("messages: Input should be a valid list".into()),
        None => Err("messages: Field required".into()),
    }
}

/// All text in `system` and `messages` (string or content-block forms).
fn prompt_text(req: &Value) -> Result<String, String> {
    let mut out = Vec::new();
    if let Some(system) = req.get("system") {
        out.push(blocks_text(system));
    }
    for m in messages(req)? {
        out.push(blocks_text(m.get("content").unwrap_or(&Value::Null)));
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

fn event(name: &str, data: &Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

/// Render an answer as a Messages API reply (whole) or event stream.
pub fn render(
    ask: &Ask,
    answer: &Answer,
    delivery: Delivery,
    chunk_words: usize,
    rng: &mut impl Rng,
) -> Rendered {
    let input_tokens = text::count_tokens(&ask.prompt);
    let id = format!("msg_vrtx_shunt{:016x}", rng.r#gen::<u64>());
    let (block, pieces, output, stop_reason) = match answer {
        Answer::Text(t) | Answer::Json(t) => (
            json!({"type": "text", "text": t}),
            split_chunks(t, chunk_words, matches!(answer, Answer::Json(_))),
            t.clone(),
            "end_turn",
        ),
        Answer::Call { name, args } => {
            let args_text = args.to_string();
            (
                json!({"type": "tool_use", "id": format!("toolu_shunt{:016x}", rng.r#gen::<u64>()), "name": name, "input": args}),
                split_chunks(&args_text, chunk_words, true),
                format!("{name}{args_text}"),
                "tool_use",
            )
        }
        Answer::Error { .. } => (
            json!({"type": "text", "text": ""}),
            vec![String::new()],
            String::new(),
            "end_turn",
        ),
    };
    let output_tokens = text::count_tokens(&output);
    if delivery == Delivery::Whole {
        let message = json!({
            "id": id, "type": "message", "role": "assistant", "model": ask.model,
            "content": [block], "stop_reason": stop_reason, "stop_sequence": null,
            "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
        });
        return Rendered {
            content_type: "application/json",
            frames: vec![Bytes::from(message.to_string())],
            chunks: pieces.len(),
        };
    }
    let start_block = match &block["type"] {
        Value::String(t) if t == "tool_use" => {
            json!({"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}})
        }
        _ => json!({"type": "text", "text": ""}),
    };
    let head = [
        event(
            "message_start",
            &json!({"type": "message_start", "message": {
                "id": id, "type": "message", "role": "assistant", "model": ask.model, "content": [],
                "stop_reason": null, "stop_sequence": null,
                "usage": {"input_tokens": input_tokens, "output_tokens": 1}}}),
        ),
        event(
            "content_block_start",
            &json!({"type": "content_block_start", "index": 0, "content_block": start_block}),
        ),
        event("ping", &json!({"type": "ping"})),
    ]
    .concat();
    let tail = [
        event(
            "content_block_stop",
            &json!({"type": "content_block_stop", "index": 0}),
        ),
        event(
            "message_delta",
            &json!({"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": null},
                    "usage": {"output_tokens": output_tokens}}),
        ),
        event("message_stop", &json!({"type": "message_stop"})),
    ]
    .concat();
    let n = pieces.len();
    let is_tool = stop_reason == "tool_use";
    let frames = pieces
        .into_iter()
        .enumerate()
        .map(|(i, piece)| {
            let delta = if is_tool {
                json!({"type": "input_json_delta", "partial_json": piece})
            } else {
                json!({"type": "text_delta", "text": piece})
            };
            let mut frame = String::new();
            if i == 0 {
                frame.push_str(&head);
            }
            frame.push_str(&event(
                "content_block_delta",
                &json!({"type": "content_block_delta", "index": 0, "delta": delta}),
            ));
            if i + 1 == n {
                frame.push_str(&tail);
            }
            Bytes::from(frame)
        })
        .collect();
    Rendered {
        content_type: "text/event-stream",
        frames,
        chunks: n,
    }
}
