//! Claude on Vertex wire shapes: rawPredict, streamRawPredict (every SSE event with an
//! `event:` line — the SDK silently skips events without one), `count-tokens:rawPredict`,
//! tool use (`tools` + `tool_choice`) and JSON output (`output_format`).

use bytes::Bytes;
use http::StatusCode;
use rand::Rng;
use serde_json::{Value, json};

use super::{Answer, Ask, Delivery, Rendered, Structured, ToolDecl, ToolMode, split_chunks, text};
use crate::body::{Body, json_response};
use crate::route::ModelCall;
use schemagen::Dialect;

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
    let has_block = |m: &Value, kind: &str| {
        m.get("content").and_then(Value::as_array).is_some_and(|blocks| {
            blocks
                .iter()
                .any(|b| b.get("type").and_then(Value::as_str) == Some(kind))
        })
    };
    let after_tool_result = messages.last().is_some_and(|m| has_block(m, "tool_result"));
    let latest = messages.iter().rposition(|m| {
        m.get("role").and_then(Value::as_str) == Some("user")
            && !has_block(m, "tool_result")
            && !blocks_text(m.get("content").unwrap_or(&Value::Null))
                .trim()
                .is_empty()
    });
    let since = latest.map_or(0, |i| i + 1);
    let mut called_this_turn = Vec::new();
    let mut tool_rounds_this_turn = 0;
    for m in &messages[since.min(messages.len())..] {
        let names: Vec<&str> = m
            .get("content")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|b| b.get("type").and_then(Value::as_str) == Some("tool_use"))
            .filter_map(|b| b.get("name").and_then(Value::as_str))
            .collect();
        if !names.is_empty() {
            tool_rounds_this_turn += 1;
            called_this_turn.extend(names.into_iter().map(String::from));
        }
    }
    let tools = req
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| {
            Some(ToolDecl {
                name: t.get("name")?.as_str()?.to_string(),
                description: t
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
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
        latest_user: latest.map(|i| blocks_text(messages[i].get("content").unwrap_or(&Value::Null))),
        structured,
        tools,
        mode,
        after_tool_result,
        called_this_turn,
        tool_rounds_this_turn,
        parallel: choice
            .and_then(|c| c.get("disable_parallel_tool_use"))
            .and_then(Value::as_bool)
            != Some(true),
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

/// Render an answer as a Messages API reply (whole) or event stream: one content block
/// for text, one `tool_use` block per call (streamed as `input_json_delta` pieces).
pub fn render(
    ask: &Ask,
    answer: &Answer,
    delivery: Delivery,
    chunk_words: usize,
    rng: &mut impl Rng,
) -> Rendered {
    let input_tokens = text::count_tokens(&ask.prompt);
    let id = format!("msg_vrtx_shunt{:016x}", rng.r#gen::<u64>());
    // (the whole block, its streamed start, its delta pieces, their delta type)
    let mut blocks: Vec<(Value, Value, Vec<String>, &str)> = Vec::new();
    let (output, stop_reason) = match answer {
        Answer::Text(t) | Answer::Json(t) => {
            blocks.push((
                json!({"type": "text", "text": t}),
                json!({"type": "text", "text": ""}),
                split_chunks(t, chunk_words, matches!(answer, Answer::Json(_))),
                "text_delta",
            ));
            (t.clone(), "end_turn")
        }
        Answer::Calls(calls) => {
            let mut output = String::new();
            for c in calls {
                let args_text = c.args.to_string();
                let tool_id = format!("toolu_shunt{}", c.id);
                blocks.push((
                    json!({"type": "tool_use", "id": tool_id, "name": c.name, "input": c.args}),
                    json!({"type": "tool_use", "id": tool_id, "name": c.name, "input": {}}),
                    split_chunks(&args_text, chunk_words, true),
                    "input_json_delta",
                ));
                output.push_str(&c.name);
                output.push_str(&args_text);
            }
            (output, "tool_use")
        }
        Answer::Error { .. } => {
            blocks.push((
                json!({"type": "text", "text": ""}),
                json!({"type": "text", "text": ""}),
                vec![String::new()],
                "text_delta",
            ));
            (String::new(), "end_turn")
        }
    };
    let output_tokens = text::count_tokens(&output);
    let chunks: usize = blocks.iter().map(|b| b.2.len()).sum();
    if delivery == Delivery::Whole {
        let content: Vec<Value> = blocks.into_iter().map(|b| b.0).collect();
        let message = json!({
            "id": id, "type": "message", "role": "assistant", "model": ask.model,
            "content": content, "stop_reason": stop_reason, "stop_sequence": null,
            "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
        });
        return Rendered {
            content_type: "application/json",
            frames: vec![Bytes::from(message.to_string())],
            chunks,
        };
    }
    let head = [
        event(
            "message_start",
            &json!({"type": "message_start", "message": {
                "id": id, "type": "message", "role": "assistant", "model": ask.model, "content": [],
                "stop_reason": null, "stop_sequence": null,
                "usage": {"input_tokens": input_tokens, "output_tokens": 1}}}),
        ),
        event("ping", &json!({"type": "ping"})),
    ]
    .concat();
    let tail = [
        event(
            "message_delta",
            &json!({"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": null},
                    "usage": {"output_tokens": output_tokens}}),
        ),
        event("message_stop", &json!({"type": "message_stop"})),
    ]
    .concat();
    let mut frames: Vec<Bytes> = Vec::with_capacity(chunks);
    let last_block = blocks.len().saturating_sub(1);
    for (index, (_, start, pieces, delta_type)) in blocks.into_iter().enumerate() {
        let n = pieces.len();
        for (i, piece) in pieces.into_iter().enumerate() {
            let mut frame = String::new();
            if index == 0 && i == 0 {
                frame.push_str(&head);
            }
            if i == 0 {
                frame.push_str(&event(
                    "content_block_start",
                    &json!({"type": "content_block_start", "index": index, "content_block": start}),
                ));
            }
            let delta = if delta_type == "input_json_delta" {
                json!({"type": delta_type, "partial_json": piece})
            } else {
                json!({"type": delta_type, "text": piece})
            };
            frame.push_str(&event(
                "content_block_delta",
                &json!({"type": "content_block_delta", "index": index, "delta": delta}),
            ));
            if i + 1 == n {
                frame.push_str(&event(
                    "content_block_stop",
                    &json!({"type": "content_block_stop", "index": index}),
                ));
                if index == last_block {
                    frame.push_str(&tail);
                }
            }
            frames.push(Bytes::from(frame));
        }
    }
    Rendered {
        content_type: "text/event-stream",
        frames,
        chunks,
    }
}
