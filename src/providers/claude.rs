//! The Messages API (Claude): on Vertex (rawPredict, streamRawPredict, with every SSE
//! event on an `event:` line — the SDK silently skips events without one;
//! `count-tokens:rawPredict`) and at api.anthropic.com (`/v1/messages`, streaming by
//! `"stream": true`; `/v1/messages/count_tokens`). Tool use (`tools` + `tool_choice`),
//! JSON output (`output_format`). On Vertex errors have Google's shape; at
//! api.anthropic.com, Anthropic's (`{"type":"error","error":{"type":...}}`), where an
//! unavailable service answers 529 `overloaded_error`.

use bytes::Bytes;
use http::StatusCode;
use rand::Rng;
use serde_json::{Value, json};

use super::{
    Answer, Ask, BlockSteps, Chunking, Delivery, Pieces, Provider, Rendered, ReplyBudget, Structured,
    ToolDecl, ToolMode, calls_since, tokens,
};
use super::{ModelApi, ModelCall, Verb};
use crate::body::{Body, json_response};
use crate::error::google_error;
use schemagen::Dialect;

/// The Messages API, where it is served: errors and stream cuts differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claude {
    /// On Vertex (`publishers/anthropic`): Google-shaped errors.
    Vertex,
    /// At api.anthropic.com: Anthropic-shaped errors, an `error` event before a cut.
    Anthropic,
}

/// An api.anthropic.com path.
pub fn parse_anthropic(path: &str) -> Option<ModelCall> {
    let verb = match path.trim_end_matches('/') {
        "/v1/messages" => Verb::Messages,
        "/v1/messages/count_tokens" => Verb::CountMessageTokens,
        _ => return None,
    };
    Some(ModelCall {
        api: ModelApi::Anthropic,
        model: String::new(),
        verb,
    })
}

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
        _call: &ModelCall,
        ask: &Ask,
        answer: &Answer,
        delivery: Delivery,
        chunk_words: usize,
        rng: &mut dyn rand::RngCore,
    ) -> Rendered {
        render(ask, answer, delivery, chunk_words, rng)
    }

    fn error(&self, status: StatusCode, message: &str) -> http::Response<Body> {
        if *self == Claude::Vertex {
            return google_error(status, message);
        }
        let (status, kind) = anthropic_error(status);
        let mut res = json_response(
            status,
            &json!({"type": "error", "error": {"type": kind, "message": message}}),
        );
        if status == StatusCode::TOO_MANY_REQUESTS {
            for (name, value) in [
                ("anthropic-ratelimit-requests-limit", "1000"),
                ("anthropic-ratelimit-requests-remaining", "0"),
                ("anthropic-ratelimit-requests-reset", "1970-01-01T00:00:00Z"),
            ] {
                res.headers_mut()
                    .insert(name, http::HeaderValue::from_static(value));
            }
        }
        res
    }

    fn cut_frame(&self, _call: &ModelCall) -> Option<Bytes> {
        (*self == Claude::Anthropic).then(|| {
            Bytes::from(event(
                "error",
                &json!({"type": "error", "error": {"type": "overloaded_error",
                        "message": "shunt mock: injected fault: stream cut"}}),
            ))
        })
    }
}

/// Anthropic's status and error type for an HTTP status (503 becomes 529 `overloaded_error`,
/// as api.anthropic.com answers when it is overloaded).
fn anthropic_error(status: StatusCode) -> (StatusCode, &'static str) {
    match status.as_u16() {
        400 | 413 | 422 => (status, "invalid_request_error"),
        401 => (status, "authentication_error"),
        403 => (status, "permission_error"),
        404 => (status, "not_found_error"),
        429 => (status, "rate_limit_error"),
        503 | 529 => (
            StatusCode::from_u16(529).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
            "overloaded_error",
        ),
        _ => (status, "api_error"),
    }
}

/// For message generation, the [`Ask`] and how to deliver it; `None` for other calls.
pub(crate) fn generation(call: &ModelCall, req: &Value) -> Result<Option<(Ask, Delivery)>, String> {
    if call.model == "count-tokens" {
        return Ok(None);
    }
    let streamed = req.get("stream") == Some(&Value::Bool(true));
    let delivery = match call.verb {
        Verb::RawPredict | Verb::Messages if streamed => Delivery::Sse,
        Verb::RawPredict | Verb::Messages => Delivery::Whole,
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
    let (called_this_turn, tool_rounds_this_turn) = calls_since(messages, latest, |m| {
        m.get("content")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|b| b.get("type").and_then(Value::as_str) == Some("tool_use"))
            .filter_map(|b| b.get("name").and_then(Value::as_str).map(String::from))
            .collect()
    });
    let tools = req
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| ToolDecl::read(t, t.get("input_schema")))
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
        provider: "",
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
        stream_usage: false,
    };
    Ok(Some((ask, delivery)))
}

/// Token counting (the only non-generation Claude call).
fn utility(call: &ModelCall, req: &Value) -> Result<http::Response<Body>, String> {
    let counting = match call.api {
        ModelApi::Anthropic => call.verb == Verb::CountMessageTokens,
        _ => call.model == "count-tokens" && call.verb == Verb::RawPredict,
    };
    if counting {
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
pub(crate) fn prompt_text(req: &Value) -> Result<String, String> {
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
/// Shared with Bedrock's Claude bodies.
pub(crate) fn render(
    ask: &Ask,
    answer: &Answer,
    delivery: Delivery,
    chunk_words: usize,
    rng: &mut dyn rand::RngCore,
) -> Rendered {
    let input_tokens = tokens::count_tokens(&ask.prompt);
    let id = format!("msg_vrtx_shunt{:016x}", rng.r#gen::<u64>());
    let mut blocks: Vec<Block> = Vec::new();
    let stop_reason = match answer {
        Answer::Text(t) | Answer::Json(t) => {
            blocks.push(Block {
                whole: json!({"type": "text", "text": t}),
                start: json!({"type": "text", "text": ""}),
                pieces: Pieces::new(t.as_str(), chunk_words, Chunking::of(answer)),
                delta: "text_delta",
            });
            "end_turn"
        }
        Answer::Calls(calls) => {
            for c in calls {
                let args_text = c.args.to_string();
                let tool_id = format!("toolu_shunt{}", c.id);
                blocks.push(Block {
                    whole: json!({"type": "tool_use", "id": tool_id, "name": c.name, "input": c.args}),
                    start: json!({"type": "tool_use", "id": tool_id, "name": c.name, "input": {}}),
                    pieces: Pieces::new(args_text, chunk_words, Chunking::Json),
                    delta: "input_json_delta",
                });
            }
            "tool_use"
        }
        Answer::Error { .. } => {
            blocks.push(Block {
                whole: json!({"type": "text", "text": ""}),
                start: json!({"type": "text", "text": ""}),
                pieces: Pieces::new("", chunk_words, Chunking::Words),
                delta: "text_delta",
            });
            "end_turn"
        }
    };
    let output_tokens = tokens::answer_tokens(answer);
    let chunks: usize = blocks.iter().map(|b| b.pieces.chunk_count()).sum();
    if delivery == Delivery::Whole {
        let content: Vec<Value> = blocks.into_iter().map(|b| b.whole).collect();
        let message = json!({
            "id": id, "type": "message", "role": "assistant", "model": ask.model,
            "content": content, "stop_reason": stop_reason, "stop_sequence": null,
            "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens,
                      "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                      "service_tier": "standard"},
        });
        return Rendered {
            content_type: "application/json",
            frames: Box::new(std::iter::once(Bytes::from(message.to_string()))),
            chunks,
        };
    }
    let head = event(
        "message_start",
        &json!({"type": "message_start", "message": {
            "id": id, "type": "message", "role": "assistant", "model": ask.model, "content": [],
            "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": input_tokens, "output_tokens": 1,
                      "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                      "service_tier": "standard"}}}),
    );
    let tail = [
        event(
            "message_delta",
            &json!({"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": null},
                    "usage": {"output_tokens": output_tokens}}),
        ),
        event("message_stop", &json!({"type": "message_stop"})),
    ]
    .concat();
    let mut steps = BlockSteps::new(blocks, |b: &Block| b.pieces.clone());
    let mut head = Some(head);
    let frames = std::iter::from_fn(move || {
        let step = steps.next_step()?;
        let (index, block) = (step.index, step.block);
        let mut frame = head.take().unwrap_or_default();
        if step.opens {
            frame.push_str(&event(
                "content_block_start",
                &json!({"type": "content_block_start", "index": index, "content_block": block.start}),
            ));
            if index == 0 {
                // As the API does: a ping after the first block opens.
                frame.push_str(&event("ping", &json!({"type": "ping"})));
            }
        }
        let delta = if block.delta == "input_json_delta" {
            json!({"type": block.delta, "partial_json": step.piece})
        } else {
            json!({"type": block.delta, "text": step.piece})
        };
        frame.push_str(&event(
            "content_block_delta",
            &json!({"type": "content_block_delta", "index": index, "delta": delta}),
        ));
        if step.closes {
            frame.push_str(&event(
                "content_block_stop",
                &json!({"type": "content_block_stop", "index": index}),
            ));
        }
        if step.last {
            frame.push_str(&tail);
        }
        Some(Bytes::from(frame))
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
