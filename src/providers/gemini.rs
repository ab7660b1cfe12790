//! Gemini wire shapes: generateContent, streamGenerateContent (SSE with `alt=sse`, a
//! streamed JSON array without), countTokens, computeTokens, and embeddings (`:predict`,
//! `:embedContent`, `:batchEmbedContents`). Request keys are read in camelCase and
//! snake_case, as proto-JSON accepts both (the SDK sends nested objects in snake_case).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http::StatusCode;
use rand::Rng;
use serde_json::{Value, json};

use super::call::split_model_verb;
use super::vectors::{check_vectors, embedding};
use super::{
    Answer, Ask, Chunking, Delivery, Pieces, Provider, Rendered, ReplyBudget, Structured, ToolDecl, ToolMode,
    calls_since, tokens,
};
use super::{ModelApi, ModelCall, Publisher, Verb};
use crate::body::{Body, json_response};
use schemagen::Dialect;

/// `obj[camel]`, else `obj[snake]`.
pub fn field<'a>(v: &'a Value, camel: &str, snake: &str) -> Option<&'a Value> {
    v.get(camel).or_else(|| v.get(snake))
}

/// The Gemini wire format (Vertex and the Gemini API).
pub struct Gemini;

impl Provider for Gemini {
    fn generation(
        &self,
        call: &ModelCall,
        req: &Value,
        query: &str,
    ) -> Result<Option<(Ask, Delivery)>, String> {
        let sse = query.split('&').any(|kv| kv == "alt=sse");
        let delivery = match call.verb {
            Verb::GenerateContent => Delivery::Whole,
            Verb::StreamGenerateContent if sse => Delivery::Sse,
            Verb::StreamGenerateContent => Delivery::JsonArray,
            _ => return Ok(None),
        };
        Ok(Some((ask(call, req)?, delivery)))
    }

    fn utility(
        &self,
        call: &ModelCall,
        req: &Value,
        budget: &ReplyBudget,
    ) -> Result<http::Response<Body>, String> {
        utility(call, req, budget)
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
}

/// A Vertex model path (either publisher; the Anthropic publisher selects Claude's wire
/// format, see [`super::for_call`]).
pub fn parse_vertex(path: &str) -> Option<ModelCall> {
    let mut segs = path.strip_prefix('/')?.splitn(2, '/');
    let version = segs.next()?;
    if version != "v1" && version != "v1beta1" {
        return None;
    }
    let mut rest = segs.next()?;
    // Optional `projects/P/locations/L/` prefix (absent in express mode).
    if let Some(after) = rest.strip_prefix("projects/") {
        let parts: Vec<&str> = after.splitn(4, '/').collect();
        match parts.as_slice() {
            [project, "locations", location, tail] if !project.is_empty() && !location.is_empty() => {
                rest = tail;
            }
            _ => return None,
        }
    }
    let rest = rest.strip_prefix("publishers/")?;
    let (publisher, rest) = rest.split_once('/')?;
    let publisher = match publisher {
        "google" => Publisher::Google,
        "anthropic" => Publisher::Anthropic,
        _ => return None,
    };
    let (model, verb) = split_model_verb(rest.strip_prefix("models/")?)?;
    Some(ModelCall {
        api: ModelApi::Vertex {
            version: version.to_string(),
            publisher,
        },
        model,
        verb,
    })
}

/// A Gemini Developer API model path.
pub fn parse_gemini_api(path: &str) -> Option<ModelCall> {
    let rest = path.strip_prefix('/')?;
    let (version, rest) = rest.split_once('/')?;
    if version != "v1" && version != "v1beta" && version != "v1alpha" {
        return None;
    }
    let (model, verb) = split_model_verb(rest.strip_prefix("models/")?)?;
    Some(ModelCall {
        api: ModelApi::GeminiApi {
            version: version.to_string(),
        },
        model,
        verb,
    })
}

fn ask(call: &ModelCall, req: &Value) -> Result<Ask, String> {
    let contents = contents(req)?;
    let mut prompt = Vec::new();
    if let Some(system) = field(req, "systemInstruction", "system_instruction") {
        prompt.push(content_text(system));
    }
    prompt.extend(contents.iter().map(|c| content_text(c)));
    let has_part = |c: &Value, camel: &str, snake: &str| {
        c.get("parts")
            .and_then(Value::as_array)
            .is_some_and(|parts| parts.iter().any(|p| field(p, camel, snake).is_some()))
    };
    let after_tool_result = contents
        .last()
        .is_some_and(|c| has_part(c, "functionResponse", "function_response"));
    // The latest user turn: a user content with text and no function response.
    let latest = contents.iter().rposition(|c| {
        c.get("role").and_then(Value::as_str).is_none_or(|r| r == "user")
            && !has_part(c, "functionResponse", "function_response")
            && !content_text(c).trim().is_empty()
    });
    let (called_this_turn, tool_rounds_this_turn) = calls_since(&contents, latest, |c| {
        c.get("parts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| field(p, "functionCall", "function_call"))
            .filter_map(|f| f.get("name").and_then(Value::as_str).map(String::from))
            .collect()
    });
    let config = field(req, "generationConfig", "generation_config");
    let structured = config.and_then(structured);
    let (tools, mode) = tools(req)?;
    Ok(Ask {
        provider: "",
        model: call.model.clone(),
        prompt: prompt.join("\n"),
        latest_user: latest.map(|i| content_text(contents[i])),
        structured,
        tools,
        mode,
        after_tool_result,
        called_this_turn,
        tool_rounds_this_turn,
        // Gemini may return several functionCall parts in one turn.
        parallel: true,
        stream_usage: false,
    })
}

/// `contents`, which must be a list of objects when present.
fn contents(req: &Value) -> Result<Vec<&Value>, String> {
    match req.get("contents") {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => {
            if items.iter().any(|c| !c.is_object()) {
                return Err("Invalid value at 'contents': each item must be a Content object".into());
            }
            if items
                .iter()
                .any(|c| c.get("parts").is_some_and(|p| !p.is_array()))
            {
                return Err("Invalid value at 'contents[].parts': expected a list of Part".into());
            }
            Ok(items.iter().collect())
        }
        Some(_) => Err("Invalid value at 'contents': expected a list of Content".into()),
    }
}

fn structured(config: &Value) -> Option<Structured> {
    let mime = field(config, "responseMimeType", "response_mime_type")
        .and_then(Value::as_str)
        .unwrap_or("text/plain");
    let schema = field(config, "responseJsonSchema", "response_json_schema")
        .map(|s| (s.clone(), Dialect::JsonSchema))
        .or_else(|| {
            field(config, "responseSchema", "response_schema").map(|s| (s.clone(), Dialect::OpenApi))
        });
    match (mime, schema) {
        ("text/x.enum", schema) => Some(Structured {
            schema,
            enum_text: true,
        }),
        ("application/json", schema) => Some(Structured {
            schema,
            enum_text: false,
        }),
        (_, Some(schema)) => Some(Structured {
            schema: Some(schema),
            enum_text: false,
        }),
        (_, None) => None,
    }
}

fn tools(req: &Value) -> Result<(Vec<ToolDecl>, ToolMode), String> {
    let mut decls = Vec::new();
    for tool in req.get("tools").and_then(Value::as_array).into_iter().flatten() {
        let functions =
            field(tool, "functionDeclarations", "function_declarations").and_then(Value::as_array);
        for f in functions.into_iter().flatten() {
            let name = f
                .get("name")
                .and_then(Value::as_str)
                .ok_or("Invalid value at 'tools[].function_declarations[].name': required")?;
            let schema = field(f, "parametersJsonSchema", "parameters_json_schema")
                .map(|s| (s.clone(), Dialect::JsonSchema))
                .or_else(|| f.get("parameters").map(|s| (s.clone(), Dialect::OpenApi)));
            decls.push(ToolDecl {
                name: name.to_string(),
                description: f
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                schema,
            });
        }
    }
    let calling = field(req, "toolConfig", "tool_config")
        .and_then(|c| field(c, "functionCallingConfig", "function_calling_config"));
    let allowed: Vec<String> = calling
        .and_then(|c| field(c, "allowedFunctionNames", "allowed_function_names"))
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).map(String::from).collect())
        .unwrap_or_default();
    let mode = match calling.and_then(|c| c.get("mode")).and_then(Value::as_str) {
        Some(m)
            if m.eq_ignore_ascii_case("ANY")
                || m.eq_ignore_ascii_case("VALIDATED") && !allowed.is_empty() =>
        {
            ToolMode::Any(allowed)
        }
        Some(m) if m.eq_ignore_ascii_case("NONE") => ToolMode::None,
        _ if !allowed.is_empty() => ToolMode::Any(allowed),
        _ => ToolMode::Auto,
    };
    Ok((decls, mode))
}

/// Text of a Content's parts.
fn content_text(content: &Value) -> String {
    content
        .get("parts")
        .and_then(Value::as_array)
        .map(|parts| {
            parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

/// Render an answer as GenerateContentResponse chunks.
fn render(
    ask: &Ask,
    answer: &Answer,
    delivery: Delivery,
    chunk_words: usize,
    rng: &mut dyn rand::RngCore,
) -> Rendered {
    let prompt_tokens = tokens::count_tokens(&ask.prompt);
    let envelope = Envelope {
        model: ask.model.clone(),
        created: crate::clock::now_rfc3339(),
        response_id: format!("shunt-{:016x}", rng.r#gen::<u64>()),
        prompt_tokens,
        out_tokens: 0,
        delivery,
    };
    // Each chunk is a list of parts: a piece of text, or every function call at once.
    let (pieces, whole): (Box<dyn Iterator<Item = Vec<Value>> + Send>, usize) = match answer {
        Answer::Text(t) | Answer::Json(t) if delivery != Delivery::Whole => {
            let pieces = Pieces::new(t.as_str(), chunk_words, Chunking::of(answer));
            let n = pieces.chunk_count();
            (Box::new(pieces.map(|c| vec![json!({"text": c})])), n)
        }
        Answer::Text(t) | Answer::Json(t) => {
            let n = Pieces::new(t.as_str(), chunk_words, Chunking::of(answer)).chunk_count();
            (Box::new(std::iter::once(vec![json!({"text": t})])), n)
        }
        Answer::Calls(calls) => {
            let parts: Vec<Value> = calls
                .iter()
                .map(|c| json!({"functionCall": {"name": c.name, "args": c.args}}))
                .collect();
            (Box::new(std::iter::once(parts)), 1)
        }
        Answer::Error { .. } => (Box::new(std::iter::once(vec![json!({"text": ""})])), 1),
    };
    let envelope = Envelope {
        out_tokens: tokens::answer_tokens(answer),
        ..envelope
    };
    let frames_sent = if delivery == Delivery::Whole { 1 } else { whole };
    let frames = pieces
        .enumerate()
        .map(move |(i, parts)| envelope.frame(parts, i, frames_sent));
    let content_type = match delivery {
        // Gemini is never asked for AWS framing; it would get SSE.
        Delivery::Sse | Delivery::EventStream => "text/event-stream",
        Delivery::Whole | Delivery::JsonArray => "application/json",
    };
    Rendered {
        content_type,
        frames: Box::new(frames),
        chunks: whole,
    }
}

/// What every chunk of one reply shares; frames are built from it as they are sent.
struct Envelope {
    model: String,
    created: String,
    response_id: String,
    prompt_tokens: u64,
    out_tokens: u64,
    delivery: Delivery,
}

impl Envelope {
    /// Frame `i` of `n`: a GenerateContentResponse in its delivery's framing.
    fn frame(&self, parts: Vec<Value>, i: usize, n: usize) -> Bytes {
        let last = i + 1 == n;
        let mut candidate = json!({"content": {"role": "model", "parts": parts}, "index": 0});
        let mut out = json!({"candidates": [], "modelVersion": self.model, "createTime": self.created,
            "responseId": self.response_id});
        if last {
            // The final chunk carries finishReason and usageMetadata, as Vertex sends them.
            candidate["finishReason"] = json!("STOP");
            let (p, o) = (self.prompt_tokens, self.out_tokens);
            out["usageMetadata"] = json!({
                "promptTokenCount": p,
                "candidatesTokenCount": o,
                "totalTokenCount": p + o,
                "trafficType": "ON_DEMAND",
                "promptTokensDetails": [{"modality": "TEXT", "tokenCount": p}],
                "candidatesTokensDetails": [{"modality": "TEXT", "tokenCount": o}],
            });
        }
        out["candidates"] = json!([candidate]);
        match self.delivery {
            Delivery::Whole => Bytes::from(out.to_string()),
            Delivery::Sse | Delivery::EventStream => Bytes::from(format!("data: {out}\r\n\r\n")),
            Delivery::JsonArray => {
                let open = if i == 0 { "[" } else { "" };
                let close = if last { "]" } else { ",\r\n" };
                Bytes::from(format!("{open}{out}{close}"))
            }
        }
    }
}

/// Non-generation verbs: token counting and embeddings.
fn utility(call: &ModelCall, req: &Value, budget: &ReplyBudget) -> Result<http::Response<Body>, String> {
    match &call.verb {
        Verb::CountTokens => {
            let prompt = prompt_text(req)?;
            Ok(json_response(
                StatusCode::OK,
                &json!({"totalTokens": tokens::count_tokens(&prompt), "totalBillableCharacters": prompt.chars().count()}),
            ))
        }
        Verb::ComputeTokens => {
            let prompt = prompt_text(req)?;
            // Each token is listed twice (base64 text and id): check the reply's size
            // before building it.
            let size: usize = prompt
                .split_whitespace()
                .map(|w| w.len().div_ceil(3) * 4 + 16)
                .sum();
            if size > budget.max_bytes {
                return Err(format!(
                    "computeTokens: the token list would take about {size} bytes, over the reply budget of {} bytes \
                     (shunt's --max-reply-bytes)",
                    budget.max_bytes
                ));
            }
            let words: Vec<&str> = prompt.split_whitespace().collect();
            let ids: Vec<String> = words
                .iter()
                .map(|w| (tokens::fnv1a(w.as_bytes()) % 256_000).to_string())
                .collect();
            let tokens: Vec<String> = words.iter().map(|w| BASE64.encode(w.as_bytes())).collect();
            Ok(json_response(
                StatusCode::OK,
                &json!({"tokensInfo": [{"tokens": tokens, "tokenIds": ids, "role": "user"}]}),
            ))
        }
        Verb::Predict => predict_embeddings(call, req, budget),
        Verb::EmbedContent => {
            let content = req.get("content").ok_or("Invalid value at 'content': required")?;
            let text = content_text(content);
            let dims = output_dims(
                call,
                &[
                    field(req, "embedContentConfig", "embed_content_config"),
                    Some(req),
                ],
            )?;
            let tokens = tokens::count_tokens(&text);
            Ok(json_response(
                StatusCode::OK,
                &json!({"embedding": {"values": embedding(&text, dims)},
                        "usageMetadata": {"promptTokenCount": tokens, "totalTokenCount": tokens},
                        "truncated": false}),
            ))
        }
        Verb::BatchEmbedContents => {
            let requests = bounded_list(req, "requests", MAX_BATCH)?;
            let dims: Vec<usize> = requests
                .iter()
                .map(|r| output_dims(call, &[Some(r)]))
                .collect::<Result<_, _>>()?;
            check_vectors(1, dims.iter().sum(), budget)?;
            let embeddings: Vec<Value> = requests
                .iter()
                .zip(dims)
                .map(|(r, dims)| {
                    let text = content_text(r.get("content").unwrap_or(&Value::Null));
                    json!({"values": embedding(&text, dims)})
                })
                .collect();
            Ok(json_response(StatusCode::OK, &json!({"embeddings": embeddings})))
        }
        other => Err(format!(
            "Invalid method {other} for model {}: the mock serves generateContent, \
             streamGenerateContent, countTokens, computeTokens, predict, embedContent, batchEmbedContents",
            call.model
        )),
    }
}

/// The list at `req[field]`, refused (as Vertex would) when missing or longer than `max`.
fn bounded_list<'a>(req: &'a Value, field: &str, max: usize) -> Result<&'a Vec<Value>, String> {
    let list = req
        .get(field)
        .and_then(Value::as_array)
        .ok_or_else(|| format!("Invalid value at '{field}': expected a list"))?;
    if list.len() > max {
        return Err(format!(
            "Invalid value at '{field}': {} {field}; at most {max} per request",
            list.len()
        ));
    }
    Ok(list)
}

/// All prompt text of a request (system instruction and contents).
fn prompt_text(req: &Value) -> Result<String, String> {
    let mut out = Vec::new();
    if let Some(system) = field(req, "systemInstruction", "system_instruction") {
        out.push(content_text(system));
    }
    out.extend(contents(req)?.into_iter().map(content_text));
    Ok(out.join("\n"))
}

/// `:predict` for embedding models: one prediction per instance, in order.
fn predict_embeddings(
    call: &ModelCall,
    req: &Value,
    budget: &ReplyBudget,
) -> Result<http::Response<Body>, String> {
    let instances = bounded_list(req, "instances", MAX_INSTANCES)?;
    let dims = output_dims(call, &[req.get("parameters")])?;
    check_vectors(instances.len(), dims, budget)?;
    let mut chars = 0;
    let mut predictions = Vec::with_capacity(instances.len());
    for (i, inst) in instances.iter().enumerate() {
        let text = inst
            .get("content")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("Invalid value at 'instances[{i}].content': expected a string"))?;
        chars += text.chars().count();
        predictions.push(json!({"embeddings": {"values": embedding(text, dims),
            "statistics": {"token_count": tokens::count_tokens(text), "truncated": false}}}));
    }
    Ok(json_response(
        StatusCode::OK,
        &json!({"predictions": predictions, "metadata": {"billableCharacterCount": chars}}),
    ))
}

/// Instances one `:predict` call may embed (Vertex's limit for text embeddings).
const MAX_INSTANCES: usize = 250;
/// Requests one `:batchEmbedContents` call may carry (the Gemini API's limit).
const MAX_BATCH: usize = 100;
/// Vector size: `outputDimensionality` if given (at most the model's own size, as the
/// real API requires), else the model's native size.
fn output_dims(call: &ModelCall, places: &[Option<&Value>]) -> Result<usize, String> {
    let native = if call.model.starts_with("gemini-embedding") {
        3072
    } else {
        768
    };
    let explicit = places
        .iter()
        .flatten()
        .find_map(|p| field(p, "outputDimensionality", "output_dimensionality"))
        .and_then(Value::as_u64);
    match explicit {
        Some(n) if n as usize > native => Err(format!(
            "Invalid value at 'outputDimensionality': {n}; {} produces at most {native} dimensions",
            call.model
        )),
        Some(n) if n > 0 => Ok(n as usize),
        _ => Ok(native),
    }
}
