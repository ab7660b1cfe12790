//! Claude on Vertex wire shapes: rawPredict, streamRawPredict (every SSE event with an
//! `event:` line — the SDK silently skips events without one), `count-tokens:rawPredict`,
//! tool use (`tools` + `tool_choice`) and JSON output (`output_format`).

use bytes::Bytes;
use http::StatusCode;
use rand::Rng;
use serde_json::{Value, json};

use super::{
    Answer, Ask, Chunking, Delivery, Pieces, Provider, Rendered, ReplyBudget, Structured, ToolDecl, ToolMode,
    tokens,
};
use crate::body::{Body, json_response};
use crate::route::{ModelCall, Verb};
use schemagen::Dialect;

/// Claude's Messages API on Vertex.
pub struct Claude;

impl Provider for Claude {
    fn generation(
        &self,
        call: &ModelCall,
        req: &Value,
        _query: &str,
    ) -> Result<Option<(Ask, Delivery)>, String> {
        generation(call, req)
    }

    fn utility(
        &self,
        call: &ModelCall,
        req: &Value,
        _budget: &ReplyBudget,
    ) -> Result<http::Response<Body>, String> {
        utility(call, req)
    }

    fn render(
        &self,
        ask: &Ask,
        answer: &Answer,
        delivery: Delivery,
        chunk_words: usize,
        rng: &mut dyn rand::RngCore,
    ) -> Rendered {
        render(ask, answer, delivery, chunk_words, rng)
    }
}

/// For message generation, the [`Ask`] and how to deliver it; `None` for other calls.
fn generation(call: &ModelCall, req: &Value) -> Result<Option<(Ask, Delivery)>, String> {
    if call.model == "count-tokens" {
        return Ok(None);
    }
    let delivery = match call.verb {
        Verb::RawPredict if req.get("stream") == Some(&Value::Bool(true)) => Delivery::Sse,
        Verb::RawPredict => Delivery::Whole,
        Verb::StreamRawPredict => Delivery::Sse,
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
fn utility(call: &ModelCall, req: &Value) -> Result<http::Response<Body>, String> {
    if call.model == "count-tokens" && call.verb == Verb::RawPredict {
        return Ok(json_response(
            StatusCode::OK,
            &json!({"input_tokens": tokens::count_tokens(&prompt_text(req)?)}),
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
/// Stream frames are built as they are sent.
fn render(
    ask: &Ask,
    answer: &Answer,
    delivery: Delivery,
    chunk_words: usize,
    rng: &mut dyn rand::RngCore,
) -> Rendered {
    let input_tokens = tokens::count_tokens(&ask.prompt);
    let id = format!("msg_vrtx_shunt{:016x}", rng.r#gen::<u64>());
    let mut blocks: Vec<Block> = Vec::new();
    let (output, stop_reason) = match answer {
        Answer::Text(t) | Answer::Json(t) => {
            blocks.push(Block {
                whole: json!({"type": "text", "text": t}),
                start: json!({"type": "text", "text": ""}),
                pieces: Pieces::new(t.as_str(), chunk_words, Chunking::of(answer)),
                delta: "text_delta",
            });
            (t.clone(), "end_turn")
        }
        Answer::Calls(calls) => {
            let mut output = String::new();
            for c in calls {
                let args_text = c.args.to_string();
                let tool_id = format!("toolu_shunt{}", c.id);
                output.push_str(&c.name);
                output.push_str(&args_text);
                blocks.push(Block {
                    whole: json!({"type": "tool_use", "id": tool_id, "name": c.name, "input": c.args}),
                    start: json!({"type": "tool_use", "id": tool_id, "name": c.name, "input": {}}),
                    pieces: Pieces::new(args_text, chunk_words, Chunking::Json),
                    delta: "input_json_delta",
                });
            }
            (output, "tool_use")
        }
        Answer::Error { .. } => {
            blocks.push(Block {
                whole: json!({"type": "text", "text": ""}),
                start: json!({"type": "text", "text": ""}),
                pieces: Pieces::new("", chunk_words, Chunking::Words),
                delta: "text_delta",
            });
            (String::new(), "end_turn")
        }
    };
    let output_tokens = tokens::count_tokens(&output);
    let chunks: usize = blocks.iter().map(|b| b.pieces.chunk_count()).sum();
    if delivery == Delivery::Whole {
        let content: Vec<Value> = blocks.into_iter().map(|b| b.whole).collect();
        let message = json!({
            "id": id, "type": "message", "role": "assistant", "model": ask.model,
            "content": content, "stop_reason": stop_reason, "stop_sequence": null,
            "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
        });
        return Rendered {
            content_type: "application/json",
            frames: Box::new(std::iter::once(Bytes::from(message.to_string()))),
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
    let mut blocks = blocks
        .into_iter()
        .enumerate()
        .collect::<std::collections::VecDeque<_>>();
    let mut current: Option<(usize, Block, std::iter::Peekable<Pieces>, bool)> = None;
    let mut head = Some(head);
    let frames = std::iter::from_fn(move || {
        loop {
            if current.is_none() {
                let (index, block) = blocks.pop_front()?;
                let pieces = block.pieces.clone().peekable();
                current = Some((index, block, pieces, true));
            }
            let (index, block, pieces, first) = current.as_mut()?;
            let Some(piece) = pieces.next() else {
                current = None;
                continue;
            };
            let mut frame = head.take().unwrap_or_default();
            if *first {
                *first = false;
                frame.push_str(&event(
                    "content_block_start",
                    &json!({"type": "content_block_start", "index": index, "content_block": block.start}),
                ));
            }
            let delta = if block.delta == "input_json_delta" {
                json!({"type": block.delta, "partial_json": piece})
            } else {
                json!({"type": block.delta, "text": piece})
            };
            frame.push_str(&event(
                "content_block_delta",
                &json!({"type": "content_block_delta", "index": index, "delta": delta}),
            ));
            if pieces.peek().is_none() {
                frame.push_str(&event(
                    "content_block_stop",
                    &json!({"type": "content_block_stop", "index": index}),
                ));
                if blocks.is_empty() {
                    frame.push_str(&tail);
                }
            }
            return Some(Bytes::from(frame));
        }
    });
    Rendered {
        content_type: "text/event-stream",
        frames: Box::new(frames),
        chunks,
    }
}

/// One content block of a reply: whole (for a non-streamed reply), its streamed start,
/// and the pieces its deltas carry.
struct Block {
    whole: Value,
    start: Value,
    pieces: Pieces,
    delta: &'static str,
}
