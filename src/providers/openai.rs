//! OpenAI wire shapes, at api.openai.com and on Azure OpenAI (`/openai/deployments/D/...`
//! with `api-version`, or `/openai/v1/...`): Chat Completions (SSE `data:` chunks ending
//! with `data: [DONE]`; `stream_options.include_usage` adds a usage chunk with empty
//! `choices`; tool calls streamed as argument deltas by `index`), the Responses API (typed
//! events with `sequence_number`, ending in `response.completed`), embeddings (float or
//! base64) and the model list. Errors are `{"error":{"message","type","param","code"}}`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http::StatusCode;
use rand::Rng;
use serde_json::{Value, json};

use super::vectors::{check_vectors, embedding};
use super::{
    Answer, Ask, Chunking, Delivery, ModelApi, ModelCall, Pieces, Provider, Rendered, ReplyBudget,
    Structured, ToolDecl, ToolMode, Verb, calls_since, tokens,
};
use crate::body::{Body, json_response};
use schemagen::Dialect;

/// OpenAI's API (and Azure OpenAI's, which has the same bodies).
pub struct OpenAi;

/// Inputs one embeddings request may carry (OpenAI's limit).
const MAX_INPUTS: usize = 2048;

/// Models `GET /v1/models` lists.
const MODELS: &[&str] = &[
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-4.1",
    "gpt-4.1-mini",
    "o4-mini",
    "text-embedding-3-small",
    "text-embedding-3-large",
    "text-embedding-ada-002",
];

/// An OpenAI (`/v1/...`) or Azure OpenAI (`/openai/deployments/D/...`, `/openai/v1/...`,
/// `/openai/...`) path.
pub fn parse(path: &str, api: ModelApi) -> Option<ModelCall> {
    let path = path.trim_end_matches('/');
    let (model, rest) = match api {
        ModelApi::AzureOpenAi => match path.strip_prefix("/openai/deployments/") {
            Some(rest) => {
                let (deployment, op) = rest.split_once('/')?;
                (deployment.to_string(), &rest[deployment.len()..][..op.len() + 1])
            }
            None => {
                let rest = path.strip_prefix("/openai")?;
                (String::new(), rest.strip_prefix("/v1").unwrap_or(rest))
            }
        },
        _ => (String::new(), path.strip_prefix("/v1")?),
    };
    let verb = match rest {
        "/chat/completions" => Verb::ChatCompletions,
        "/responses" => Verb::Responses,
        "/embeddings" => Verb::Embeddings,
        "/models" => Verb::ListModels,
        other => {
            let id = other.strip_prefix("/models/")?;
            if id.is_empty() || id.contains('/') {
                return None;
            }
            Verb::GetModel(id.to_string())
        }
    };
    Some(ModelCall { api, model, verb })
}

impl Provider for OpenAi {
    fn generation(
        &self,
        call: &ModelCall,
        req: &Value,
        _query: &str,
    ) -> Result<Option<(Ask, Delivery)>, String> {
        let ask = match call.verb {
            Verb::ChatCompletions => chat_ask(call, req)?,
            Verb::Responses => responses_ask(call, req)?,
            _ => return Ok(None),
        };
        let delivery = if req.get("stream") == Some(&Value::Bool(true)) {
            Delivery::Sse
        } else {
            Delivery::Whole
        };
        Ok(Some((ask, delivery)))
    }

    fn utility(
        &self,
        call: &ModelCall,
        req: &Value,
        budget: &ReplyBudget,
    ) -> Result<http::Response<Body>, String> {
        match &call.verb {
            Verb::Embeddings => embeddings(call, req, budget),
            Verb::ListModels => Ok(json_response(
                StatusCode::OK,
                &json!({"object": "list", "data": MODELS.iter().map(|m| model_object(m)).collect::<Vec<_>>()}),
            )),
            Verb::GetModel(id) => Ok(json_response(StatusCode::OK, &model_object(id))),
            other => Err(format!(
                "shunt mock: {other} is not served; the mock serves chat.completions, responses, \
                 embeddings and models"
            )),
        }
    }

    fn render(
        &self,
        call: &ModelCall,
        ask: &Ask,
        answer: &Answer,
        delivery: Delivery,
        chunk_words: usize,
        rng: &mut dyn rand::RngCore,
    ) -> Rendered {
        match call.verb {
            Verb::Responses => render_response(ask, answer, delivery, chunk_words, rng),
            _ => render_chat(ask, answer, delivery, chunk_words, rng),
        }
    }

    fn error(&self, status: StatusCode, message: &str) -> http::Response<Body> {
        let (kind, code) = match status.as_u16() {
            400 | 413 | 422 => ("invalid_request_error", Value::Null),
            401 => ("invalid_request_error", json!("invalid_api_key")),
            404 => ("invalid_request_error", json!("model_not_found")),
            429 => ("rate_limit_error", json!("rate_limit_exceeded")),
            503 => ("server_error", json!("service_unavailable")),
            _ => ("server_error", Value::Null),
        };
        let mut res = json_response(
            status,
            &json!({"error": {"message": message, "type": kind, "param": null, "code": code}}),
        );
        if status == StatusCode::TOO_MANY_REQUESTS {
            for (name, value) in [
                ("x-ratelimit-limit-requests", "10000"),
                ("x-ratelimit-remaining-requests", "0"),
                ("x-ratelimit-reset-requests", "1s"),
                ("x-ratelimit-limit-tokens", "2000000"),
                ("x-ratelimit-remaining-tokens", "0"),
                ("x-ratelimit-reset-tokens", "1s"),
            ] {
                res.headers_mut()
                    .insert(name, http::HeaderValue::from_static(value));
            }
        }
        res
    }
}

fn model_object(id: &str) -> Value {
    json!({"id": id, "object": "model", "created": 1_700_000_000, "owned_by": "shunt-mock"})
}

/// A message's text: a string, or the text of its content parts.
fn content_text(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

fn schema_of(v: Option<&Value>) -> Option<(Value, Dialect)> {
    v.map(|s| (s.clone(), Dialect::JsonSchema))
}

/// `tool_choice` (both APIs): `auto`, `none`, `required`, or a named function.
fn tool_mode(choice: Option<&Value>) -> ToolMode {
    match choice {
        Some(Value::String(s)) if s == "none" => ToolMode::None,
        Some(Value::String(s)) if s == "required" => ToolMode::Any(Vec::new()),
        Some(Value::Object(o)) => {
            let name = o
                .get("function")
                .and_then(|f| f.get("name"))
                .or_else(|| o.get("name"))
                .and_then(Value::as_str);
            match name {
                Some(n) => ToolMode::Any(vec![n.to_string()]),
                None => ToolMode::Auto,
            }
        }
        _ => ToolMode::Auto,
    }
}

/// A response format (`json_schema` with its schema, or `json_object`).
fn structured(format: Option<&Value>) -> Option<Structured> {
    let format = format?;
    match format.get("type").and_then(Value::as_str)? {
        // Chat: {"type": "json_schema", "json_schema": {"name", "schema", "strict"}};
        // Responses: {"type": "json_schema", "name", "schema", "strict"}.
        "json_schema" => Some(Structured {
            schema: schema_of(
                format
                    .get("json_schema")
                    .and_then(|j| j.get("schema"))
                    .or_else(|| format.get("schema")),
            ),
            enum_text: false,
        }),
        "json_object" => Some(Structured {
            schema: None,
            enum_text: false,
        }),
        _ => None,
    }
}

fn model_name(call: &ModelCall, req: &Value) -> String {
    req.get("model")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
        .unwrap_or(&call.model)
        .to_string()
}

/// Chat Completions: messages (system/developer/user/assistant/tool), tools, tool_choice,
/// parallel_tool_calls, response_format, stream_options.
fn chat_ask(call: &ModelCall, req: &Value) -> Result<Ask, String> {
    let messages = match req.get("messages") {
        Some(Value::Array(m)) => m,
        Some(_) => return Err("Invalid type for 'messages': expected an array of objects.".into()),
        None => return Err("Missing required parameter: 'messages'.".into()),
    };
    if messages.iter().any(|m| !m.is_object()) {
        return Err("Invalid type for 'messages[]': expected an object.".into());
    }
    fn role(m: &Value) -> &str {
        m.get("role").and_then(Value::as_str).unwrap_or("")
    }
    let prompt: Vec<String> = messages.iter().map(|m| content_text(m.get("content"))).collect();
    let latest = messages
        .iter()
        .rposition(|m| role(m) == "user" && !content_text(m.get("content")).trim().is_empty());
    let (called_this_turn, tool_rounds_this_turn) = calls_since(messages, latest, |m| {
        m.get("tool_calls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| c.get("function")?.get("name")?.as_str().map(String::from))
            .collect()
    });
    let tools = req
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| {
            let f = t.get("function")?;
            ToolDecl::read(f, f.get("parameters"))
        })
        .collect();
    Ok(Ask {
        provider: "",
        model: model_name(call, req),
        prompt: prompt.join("\n"),
        latest_user: latest.map(|i| content_text(messages[i].get("content"))),
        structured: structured(req.get("response_format")),
        tools,
        mode: tool_mode(req.get("tool_choice")),
        after_tool_result: messages.last().is_some_and(|m| role(m) == "tool"),
        called_this_turn,
        tool_rounds_this_turn,
        parallel: req.get("parallel_tool_calls") != Some(&Value::Bool(false)),
        stream_usage: req
            .get("stream_options")
            .and_then(|o| o.get("include_usage"))
            .and_then(Value::as_bool)
            == Some(true),
    })
}

/// The Responses API: `input` (a string, or items: messages, `function_call`,
/// `function_call_output`), `instructions`, flat `tools`, `tool_choice`, `text.format`.
fn responses_ask(call: &ModelCall, req: &Value) -> Result<Ask, String> {
    let items: Vec<Value> = match req.get("input") {
        Some(Value::String(s)) => vec![json!({"role": "user", "content": s})],
        Some(Value::Array(items)) => items.clone(),
        Some(_) => return Err("Invalid type for 'input': expected a string or an array.".into()),
        None => Vec::new(),
    };
    let kind = |i: &Value| -> String {
        match i.get("type").and_then(Value::as_str) {
            Some(t) => t.to_string(),
            None if i.get("role").is_some() => "message".into(),
            None => String::new(),
        }
    };
    let is_user = |i: &Value| {
        kind(i) == "message"
            && i.get("role").and_then(Value::as_str) == Some("user")
            && !content_text(i.get("content")).trim().is_empty()
    };
    let mut prompt: Vec<String> = req
        .get("instructions")
        .and_then(Value::as_str)
        .map(|s| vec![s.to_string()])
        .unwrap_or_default();
    for i in &items {
        match kind(i).as_str() {
            "message" => prompt.push(content_text(i.get("content"))),
            "function_call_output" => prompt.push(i.get("output").map(text_of).unwrap_or_default()),
            _ => {}
        }
    }
    let latest = items.iter().rposition(is_user);
    let since = latest.map_or(0, |i| i + 1);
    let mut called_this_turn = Vec::new();
    let mut tool_rounds_this_turn = 0;
    let mut in_round = false;
    for i in &items[since.min(items.len())..] {
        if kind(i) == "function_call" {
            if !in_round {
                tool_rounds_this_turn += 1;
                in_round = true;
            }
            if let Some(name) = i.get("name").and_then(Value::as_str) {
                called_this_turn.push(name.to_string());
            }
        } else {
            in_round = false;
        }
    }
    let tools = req
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|t| t.get("type").and_then(Value::as_str) == Some("function"))
        .filter_map(|t| ToolDecl::read(t, t.get("parameters")))
        .collect();
    Ok(Ask {
        provider: "",
        model: model_name(call, req),
        prompt: prompt.join("\n"),
        latest_user: latest.map(|i| content_text(items[i].get("content"))),
        structured: structured(req.get("text").and_then(|t| t.get("format"))),
        tools,
        mode: tool_mode(req.get("tool_choice")),
        after_tool_result: items.last().is_some_and(|i| kind(i) == "function_call_output"),
        called_this_turn,
        tool_rounds_this_turn,
        parallel: req.get("parallel_tool_calls") != Some(&Value::Bool(false)),
        stream_usage: false,
    })
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => content_text(Some(other)),
    }
}

/// `POST /v1/embeddings`: `input` as a string, strings, or token arrays; `dimensions`;
/// `encoding_format` `float` or `base64` (little-endian float32).
fn embeddings(call: &ModelCall, req: &Value, budget: &ReplyBudget) -> Result<http::Response<Body>, String> {
    let model = model_name(call, req);
    let inputs: Vec<String> = match req.get("input") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
            items.iter().filter_map(Value::as_str).map(String::from).collect()
        }
        Some(Value::Array(items)) if items.iter().all(Value::is_number) => {
            vec![Value::Array(items.clone()).to_string()]
        }
        Some(Value::Array(items)) if items.iter().all(Value::is_array) => {
            items.iter().map(Value::to_string).collect()
        }
        Some(_) => {
            return Err("Invalid type for 'input': expected a string, strings, or token arrays.".into());
        }
        None => return Err("Missing required parameter: 'input'.".into()),
    };
    if inputs.is_empty() || inputs.len() > MAX_INPUTS {
        return Err(format!(
            "'input' must hold between 1 and {MAX_INPUTS} items; it has {}.",
            inputs.len()
        ));
    }
    let native = if model.contains("3-large") { 3072 } else { 1536 };
    let dims = match req.get("dimensions").and_then(Value::as_u64) {
        Some(_) if model.contains("ada-002") => {
            return Err("This model does not support specifying dimensions.".into());
        }
        Some(n) if n == 0 || n as usize > native => {
            return Err(format!(
                "'dimensions' must be between 1 and {native} for {model}."
            ));
        }
        Some(n) => n as usize,
        None => native,
    };
    check_vectors(inputs.len(), dims, budget)?;
    let base64 = req.get("encoding_format").and_then(Value::as_str) == Some("base64");
    let mut prompt_tokens = 0;
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(index, text)| {
            prompt_tokens += tokens::count_tokens(text);
            let vector = embedding(text, dims);
            let value = if base64 {
                let bytes: Vec<u8> = vector.iter().flat_map(|x| (*x as f32).to_le_bytes()).collect();
                Value::String(BASE64.encode(bytes))
            } else {
                json!(vector)
            };
            json!({"object": "embedding", "index": index, "embedding": value})
        })
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({"object": "list", "data": data, "model": model,
                "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens}}),
    ))
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn sse(data: &Value) -> String {
    format!("data: {data}\n\n")
}

/// One piece of a streamed reply: text, or an argument piece of call `index` (the first
/// piece of a call also names it).
enum Piece {
    Text(String),
    Args { index: usize, first: bool, text: String },
}

/// The answer's text and its calls (id, name, arguments JSON).
fn parts(answer: &Answer) -> (String, Vec<(String, String, String)>) {
    match answer {
        Answer::Text(t) | Answer::Json(t) => (t.clone(), Vec::new()),
        Answer::Calls(calls) => (
            String::new(),
            calls
                .iter()
                .map(|c| (format!("call_{}", c.id), c.name.clone(), c.args.to_string()))
                .collect(),
        ),
        Answer::Error { .. } => (String::new(), Vec::new()),
    }
}

/// The pieces of a reply in stream order, built as they are taken.
fn pieces(answer: &Answer, chunk_words: usize) -> (Box<dyn Iterator<Item = Piece> + Send>, usize) {
    let (text, calls) = parts(answer);
    if calls.is_empty() {
        let p = Pieces::new(text, chunk_words, Chunking::of(answer));
        let n = p.chunk_count();
        return (Box::new(p.map(Piece::Text)), n);
    }
    let n = calls
        .iter()
        .map(|(_, _, args)| Pieces::new(args.as_str(), chunk_words, Chunking::Json).chunk_count())
        .sum();
    let iter = calls
        .into_iter()
        .enumerate()
        .flat_map(move |(index, (_, _, args))| {
            Pieces::new(args, chunk_words, Chunking::Json)
                .enumerate()
                .map(move |(i, text)| Piece::Args {
                    index,
                    first: i == 0,
                    text,
                })
        });
    (Box::new(iter), n)
}

/// A Chat Completions reply: a `chat.completion`, or `chat.completion.chunk`s.
fn render_chat(
    ask: &Ask,
    answer: &Answer,
    delivery: Delivery,
    chunk_words: usize,
    rng: &mut dyn rand::RngCore,
) -> Rendered {
    let id = format!("chatcmpl-shunt{:016x}", rng.r#gen::<u64>());
    let created = unix_now();
    let (text, calls) = parts(answer);
    let prompt_tokens = tokens::count_tokens(&ask.prompt);
    let completion_tokens = tokens::answer_tokens(answer);
    let usage = json!({
        "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
            "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
    });
    let finish = if calls.is_empty() { "stop" } else { "tool_calls" };
    let model = ask.model.clone();
    if delivery != Delivery::Sse {
        let mut message = json!({"role": "assistant", "content": if calls.is_empty() { json!(text) } else { Value::Null },
                                 "refusal": null, "annotations": []});
        if !calls.is_empty() {
            message["tool_calls"] = calls
                .iter()
                .map(|(id, name, args)| json!({"id": id, "type": "function", "function": {"name": name, "arguments": args}}))
                .collect();
        }
        let (_, chunks) = pieces(answer, chunk_words);
        let body = json!({
            "id": id, "object": "chat.completion", "created": created, "model": model,
            "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish}],
            "usage": usage, "service_tier": "default", "system_fingerprint": "fp_shunt",
        });
        return Rendered {
            content_type: "application/json",
            frames: Box::new(std::iter::once(Bytes::from(body.to_string()))),
            chunks,
        };
    }
    let with_usage = ask.stream_usage;
    let chunk = move |delta: Value, finish: Option<&str>| {
        let mut c = json!({
            "id": id, "object": "chat.completion.chunk", "created": created, "model": model,
            "system_fingerprint": "fp_shunt", "service_tier": "default",
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
        });
        if with_usage {
            c["usage"] = Value::Null;
        }
        c
    };
    let (pieces, chunks) = pieces(answer, chunk_words);
    let mut pieces = pieces.peekable();
    let mut first = true;
    let final_usage = with_usage.then(|| {
        let mut c = chunk(json!({}), None);
        c["choices"] = json!([]);
        c["usage"] = usage;
        c
    });
    let frames = std::iter::from_fn(move || {
        let piece = pieces.next()?;
        let mut frame = String::new();
        if first {
            first = false;
            frame.push_str(&sse(&chunk(
                json!({"role": "assistant", "content": "", "refusal": null}),
                None,
            )));
        }
        let delta = match piece {
            Piece::Text(t) => json!({"content": t}),
            Piece::Args { index, first, text } if first => {
                let (id, name, _) = &calls[index];
                json!({"tool_calls": [{"index": index, "id": id, "type": "function",
                                        "function": {"name": name, "arguments": text}}]})
            }
            Piece::Args { index, text, .. } => {
                json!({"tool_calls": [{"index": index, "function": {"arguments": text}}]})
            }
        };
        frame.push_str(&sse(&chunk(delta, None)));
        if pieces.peek().is_none() {
            frame.push_str(&sse(&chunk(json!({}), Some(finish))));
            if let Some(u) = &final_usage {
                frame.push_str(&sse(u));
            }
            frame.push_str("data: [DONE]\n\n");
        }
        Some(Bytes::from(frame))
    });
    Rendered {
        content_type: "text/event-stream; charset=utf-8",
        frames: Box::new(frames),
        chunks,
    }
}

/// A Responses API reply: a `response` object, or its typed event stream.
fn render_response(
    ask: &Ask,
    answer: &Answer,
    delivery: Delivery,
    chunk_words: usize,
    rng: &mut dyn rand::RngCore,
) -> Rendered {
    let id = format!("resp_shunt{:016x}", rng.r#gen::<u64>());
    let message_id = format!("msg_shunt{:016x}", rng.r#gen::<u64>());
    let (text, calls) = parts(answer);
    let calls: Vec<(String, String, String, String)> = calls
        .into_iter()
        .map(|(call_id, name, args)| (format!("fc_{}", &call_id[5..]), call_id, name, args))
        .collect();
    let input_tokens = tokens::count_tokens(&ask.prompt);
    let output_tokens = tokens::answer_tokens(answer);
    let usage = json!({
        "input_tokens": input_tokens, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": output_tokens, "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens,
    });
    let message_item = {
        let message_id = message_id.clone();
        move |text: &str, status: &str| {
            let content = if status == "completed" {
                json!([{"type": "output_text", "text": text, "annotations": [], "logprobs": []}])
            } else {
                json!([])
            };
            json!({"type": "message", "id": message_id, "status": status, "role": "assistant", "content": content})
        }
    };
    let call_item = |c: &(String, String, String, String), args: &str, status: &str| json!({"type": "function_call", "id": c.0, "call_id": c.1, "name": c.2, "arguments": args, "status": status});
    let output: Vec<Value> = if calls.is_empty() {
        vec![message_item(&text, "completed")]
    } else {
        calls.iter().map(|c| call_item(c, &c.3, "completed")).collect()
    };
    let created_at = unix_now();
    let response = |status: &str, output: Value, usage: Value| {
        let completed_at = if status == "completed" {
            json!(created_at)
        } else {
            Value::Null
        };
        json!({
            "id": id, "object": "response", "created_at": created_at, "completed_at": completed_at,
            "status": status,
            "error": null, "incomplete_details": null, "instructions": null, "max_output_tokens": null,
            "model": ask.model, "output": output, "parallel_tool_calls": ask.parallel,
            "previous_response_id": null, "reasoning": {"effort": null, "summary": null},
            "store": true, "temperature": 1.0, "text": {"format": {"type": "text"}},
            "tool_choice": "auto", "tools": [], "top_p": 1.0, "truncation": "disabled",
            "usage": usage, "user": null, "metadata": {},
        })
    };
    let (stream_pieces, chunks) = pieces(answer, chunk_words);
    if delivery != Delivery::Sse {
        let body = response("completed", json!(output), usage);
        return Rendered {
            content_type: "application/json",
            frames: Box::new(std::iter::once(Bytes::from(body.to_string()))),
            chunks,
        };
    }
    let head = [
        (
            "response.created",
            json!({"response": response("in_progress", json!([]), Value::Null)}),
        ),
        (
            "response.in_progress",
            json!({"response": response("in_progress", json!([]), Value::Null)}),
        ),
    ];
    let completed = response("completed", json!(output), usage);
    let mut seq = 0u64;
    let mut event = move |kind: &str, mut body: Value| {
        body["type"] = json!(kind);
        body["sequence_number"] = json!(seq);
        seq += 1;
        format!("event: {kind}\ndata: {body}\n\n")
    };
    let mut stream_pieces = stream_pieces.peekable();
    let mut started = false;
    let mut done_text = String::new();
    let mut opened = false;
    let frames = std::iter::from_fn(move || {
        let piece = stream_pieces.next()?;
        let mut frame = String::new();
        if !started {
            started = true;
            for (kind, body) in head.iter().cloned() {
                frame.push_str(&event(kind, body));
            }
        }
        match piece {
            Piece::Text(t) => {
                if !opened {
                    opened = true;
                    frame.push_str(&event(
                        "response.output_item.added",
                        json!({"output_index": 0, "item": message_item("", "in_progress")}),
                    ));
                    frame.push_str(&event(
                        "response.content_part.added",
                        json!({"item_id": message_id, "output_index": 0, "content_index": 0,
                               "part": {"type": "output_text", "text": "", "annotations": [], "logprobs": []}}),
                    ));
                }
                done_text.push_str(&t);
                frame.push_str(&event(
                    "response.output_text.delta",
                    json!({"item_id": message_id, "output_index": 0, "content_index": 0, "delta": t, "logprobs": []}),
                ));
                if stream_pieces.peek().is_none() {
                    frame.push_str(&event(
                        "response.output_text.done",
                        json!({"item_id": message_id, "output_index": 0, "content_index": 0, "text": done_text, "logprobs": []}),
                    ));
                    frame.push_str(&event(
                        "response.content_part.done",
                        json!({"item_id": message_id, "output_index": 0, "content_index": 0,
                               "part": {"type": "output_text", "text": done_text, "annotations": [], "logprobs": []}}),
                    ));
                    frame.push_str(&event(
                        "response.output_item.done",
                        json!({"output_index": 0, "item": message_item(&done_text, "completed")}),
                    ));
                }
            }
            Piece::Args { index, first, text } => {
                let c = &calls[index];
                if first {
                    frame.push_str(&event(
                        "response.output_item.added",
                        json!({"output_index": index, "item": call_item(c, "", "in_progress")}),
                    ));
                }
                frame.push_str(&event(
                    "response.function_call_arguments.delta",
                    json!({"item_id": c.0, "output_index": index, "delta": text}),
                ));
                let last_of_call = match stream_pieces.peek() {
                    Some(Piece::Args { index: next, .. }) => *next != index,
                    _ => true,
                };
                if last_of_call {
                    frame.push_str(&event(
                        "response.function_call_arguments.done",
                        json!({"item_id": c.0, "output_index": index, "name": c.2, "arguments": c.3}),
                    ));
                    frame.push_str(&event(
                        "response.output_item.done",
                        json!({"output_index": index, "item": call_item(c, &c.3, "completed")}),
                    ));
                }
            }
        }
        if stream_pieces.peek().is_none() {
            frame.push_str(&event("response.completed", json!({"response": completed})));
        }
        Some(Bytes::from(frame))
    });
    Rendered {
        content_type: "text/event-stream; charset=utf-8",
        frames: Box::new(frames),
        chunks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// OpenAI and Azure paths: operation, and the deployment as the model on Azure.
    #[test]
    fn paths() {
        let openai = |p: &str| parse(p, ModelApi::OpenAi).map(|c| (c.model, c.verb));
        let azure = |p: &str| parse(p, ModelApi::AzureOpenAi).map(|c| (c.model, c.verb));
        assert_eq!(
            openai("/v1/chat/completions"),
            Some((String::new(), Verb::ChatCompletions))
        );
        assert_eq!(openai("/v1/responses"), Some((String::new(), Verb::Responses)));
        assert_eq!(openai("/v1/embeddings"), Some((String::new(), Verb::Embeddings)));
        assert_eq!(openai("/v1/models"), Some((String::new(), Verb::ListModels)));
        assert_eq!(
            openai("/v1/models/gpt-4o"),
            Some((String::new(), Verb::GetModel("gpt-4o".into())))
        );
        assert_eq!(openai("/v1/files"), None);
        assert_eq!(openai("/chat/completions"), None);
        assert_eq!(
            azure("/openai/deployments/my-gpt/chat/completions"),
            Some(("my-gpt".into(), Verb::ChatCompletions))
        );
        assert_eq!(
            azure("/openai/deployments/emb/embeddings"),
            Some(("emb".into(), Verb::Embeddings))
        );
        assert_eq!(
            azure("/openai/v1/responses"),
            Some((String::new(), Verb::Responses))
        );
        assert_eq!(azure("/openai/responses"), Some((String::new(), Verb::Responses)));
        assert_eq!(azure("/openai/deployments/x/files"), None);
    }
}
