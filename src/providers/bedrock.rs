//! Bedrock Runtime wire shapes: `Converse` and `ConverseStream` (any model), and
//! `InvokeModel` / `InvokeModelWithResponseStream` with the model's own body: Anthropic
//! Claude (the Messages API), Amazon Titan text, Amazon Nova, and Titan text embeddings.
//! Streams are AWS event streams ([`super::eventstream`]): Converse events by name
//! (`messageStart`, `contentBlockDelta`, ...), invoke streams as `chunk` events whose
//! `bytes` carry the model's own stream chunk. Errors are AWS-shaped: the exception name
//! in `x-amzn-ErrorType`, `{"message"}` in the body; a cut stream ends with a
//! `ModelStreamErrorException` event.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http::StatusCode;
use rand::Rng;
use serde_json::{Value, json};

use super::call::percent_decode;
use super::vectors::{check_vectors, embedding};
use super::{
    Answer, Ask, BlockSteps, Chunking, Delivery, ModelApi, ModelCall, Pieces, Provider, Rendered,
    ReplyBudget, ToolDecl, ToolMode, Verb, calls_since, claude, eventstream, tokens,
};
use crate::body::{Body, json_response};

/// Bedrock Runtime.
pub struct Bedrock;

/// A Bedrock Runtime path: `/model/{modelId}/{converse,converse-stream,invoke,
/// invoke-with-response-stream}`, the model id percent-decoded.
pub fn parse(path: &str) -> Option<ModelCall> {
    let rest = path.strip_prefix("/model/")?;
    let (model, op) = rest.rsplit_once('/')?;
    let verb = match op {
        "converse" => Verb::Converse,
        "converse-stream" => Verb::ConverseStream,
        "invoke" => Verb::InvokeModel,
        "invoke-with-response-stream" => Verb::InvokeModelWithResponseStream,
        _ => return None,
    };
    let model = percent_decode(model)?;
    if model.is_empty() {
        return None;
    }
    Some(ModelCall {
        api: ModelApi::Bedrock,
        model,
        verb,
    })
}

/// The body family of an `InvokeModel` call, from the model id (an inference profile's
/// region prefix, `us.anthropic...`, is allowed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Claude,
    TitanText,
    TitanEmbed,
    Nova,
}

fn family(model: &str) -> Option<Family> {
    let id = model.rsplit('/').next().unwrap_or(model);
    if id.contains("anthropic.") {
        Some(Family::Claude)
    } else if id.contains("amazon.titan-embed") {
        Some(Family::TitanEmbed)
    } else if id.contains("amazon.titan-text") || id.contains("amazon.titan-tg1") {
        Some(Family::TitanText)
    } else if id.contains("amazon.nova") {
        Some(Family::Nova)
    } else {
        None
    }
}

fn unsupported(model: &str) -> String {
    format!(
        "shunt mock: InvokeModel bodies are mocked for Anthropic Claude, Amazon Titan text, Amazon Nova \
         and Titan embeddings; {model} is none of them (use Converse, which works for any model)"
    )
}

impl Provider for Bedrock {
    fn generation(
        &self,
        call: &ModelCall,
        req: &Value,
        _query: &str,
    ) -> Result<Option<(Ask, Delivery)>, String> {
        let streamed = matches!(
            call.verb,
            Verb::ConverseStream | Verb::InvokeModelWithResponseStream
        );
        let delivery = if streamed {
            Delivery::EventStream
        } else {
            Delivery::Whole
        };
        let ask = match call.verb {
            Verb::Converse | Verb::ConverseStream => converse_ask(&call.model, req)?,
            Verb::InvokeModel | Verb::InvokeModelWithResponseStream => match family(&call.model) {
                Some(Family::Claude) => {
                    let messages_call = ModelCall {
                        api: ModelApi::Anthropic,
                        model: call.model.clone(),
                        verb: Verb::Messages,
                    };
                    let (mut ask, _) =
                        claude::generation(&messages_call, req)?.ok_or("not a Messages body")?;
                    ask.model = call.model.clone();
                    ask
                }
                Some(Family::Nova) => converse_ask(&call.model, req)?,
                Some(Family::TitanText) => titan_ask(&call.model, req)?,
                Some(Family::TitanEmbed) => return Ok(None),
                None => return Err(unsupported(&call.model)),
            },
            _ => return Ok(None),
        };
        Ok(Some((ask, delivery)))
    }

    fn utility(
        &self,
        call: &ModelCall,
        req: &Value,
        budget: &ReplyBudget,
    ) -> Result<http::Response<Body>, String> {
        if call.verb != Verb::InvokeModel || family(&call.model) != Some(Family::TitanEmbed) {
            return Err(unsupported(&call.model));
        }
        let text = req
            .get("inputText")
            .and_then(Value::as_str)
            .ok_or("Malformed input request: #: required key [inputText] not found")?;
        let v2 = call.model.contains("embed-text-v2");
        let dims = match req.get("dimensions").and_then(Value::as_u64) {
            Some(n @ (256 | 512 | 1024)) if v2 => n as usize,
            Some(n) if v2 => {
                return Err(format!(
                    "Malformed input request: dimensions {n} must be 256, 512 or 1024"
                ));
            }
            Some(_) => {
                return Err("Malformed input request: dimensions is not supported by this model".into());
            }
            None if v2 => 1024,
            None => 1536,
        };
        check_vectors(1, dims, budget)?;
        let vector = embedding(text, dims);
        let mut body = json!({"embedding": vector, "inputTextTokenCount": tokens::count_tokens(text)});
        if v2 {
            body["embeddingsByType"] = json!({"float": vector});
        }
        Ok(json_response(StatusCode::OK, &body))
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
        let stream = delivery == Delivery::EventStream;
        match (&call.verb, family(&call.model)) {
            (Verb::InvokeModel | Verb::InvokeModelWithResponseStream, Some(Family::Claude)) => {
                let inner = if stream { Delivery::Sse } else { Delivery::Whole };
                let rendered = claude::render(ask, answer, inner, chunk_words, rng);
                if stream { claude_chunks(rendered) } else { rendered }
            }
            (Verb::InvokeModel | Verb::InvokeModelWithResponseStream, Some(Family::TitanText)) => {
                titan(ask, answer, stream, chunk_words)
            }
            (Verb::InvokeModel | Verb::InvokeModelWithResponseStream, _) => {
                converse(ask, answer, stream, chunk_words, rng, Shape::Nova)
            }
            _ => converse(ask, answer, stream, chunk_words, rng, Shape::Converse),
        }
    }

    fn error(&self, status: StatusCode, message: &str) -> http::Response<Body> {
        let exception = match status.as_u16() {
            400 | 413 | 422 => "ValidationException",
            403 => "AccessDeniedException",
            404 => "ResourceNotFoundException",
            408 => "ModelTimeoutException",
            429 => "ThrottlingException",
            503 => "ServiceUnavailableException",
            _ => "InternalServerException",
        };
        let mut res = json_response(status, &json!({"message": message}));
        res.headers_mut()
            .insert("x-amzn-errortype", http::HeaderValue::from_static(exception));
        res
    }

    fn reply_headers(&self, call: &ModelCall) -> &'static [(&'static str, &'static str)] {
        // boto3 reads an invoke stream's `contentType` from this header.
        match call.verb {
            Verb::InvokeModel | Verb::InvokeModelWithResponseStream => {
                &[("x-amzn-bedrock-content-type", "application/json")]
            }
            _ => &[],
        }
    }

    fn cut_frame(&self, _call: &ModelCall) -> Option<Bytes> {
        Some(eventstream::exception(
            "ModelStreamErrorException",
            "shunt mock: injected fault: stream cut",
        ))
    }
}

/// Text of Converse content blocks (`{"text"}` and tool results' text / JSON).
fn blocks_text(content: Option<&Value>) -> String {
    content
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|b| {
            if let Some(t) = b.get("text").and_then(Value::as_str) {
                return Some(t.to_string());
            }
            b.get("toolResult").map(|r| blocks_text(r.get("content")))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn has_block(m: &Value, kind: &str) -> bool {
    m.get("content")
        .and_then(Value::as_array)
        .is_some_and(|blocks| blocks.iter().any(|b| b.get(kind).is_some()))
}

/// A Converse (or Nova invoke) body: `messages`, `system`, `toolConfig`.
fn converse_ask(model: &str, req: &Value) -> Result<Ask, String> {
    let messages = match req.get("messages") {
        Some(Value::Array(m)) => m,
        Some(_) => return Err("1 validation error detected: Value at 'messages' must be a list".into()),
        None => return Err("1 validation error detected: Value at 'messages' failed to satisfy constraint: Member must not be null".into()),
    };
    fn role(m: &Value) -> &str {
        m.get("role").and_then(Value::as_str).unwrap_or("")
    }
    let mut prompt: Vec<String> = req
        .get("system")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|b| b.get("text").and_then(Value::as_str).map(String::from))
        .collect();
    prompt.extend(messages.iter().map(|m| blocks_text(m.get("content"))));
    let latest = messages.iter().rposition(|m| {
        role(m) == "user" && !has_block(m, "toolResult") && !blocks_text(m.get("content")).trim().is_empty()
    });
    let (called_this_turn, tool_rounds_this_turn) = calls_since(messages, latest, |m| {
        m.get("content")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|b| b.get("toolUse")?.get("name")?.as_str().map(String::from))
            .collect()
    });
    let config = req.get("toolConfig");
    let tools = config
        .and_then(|c| c.get("tools"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| {
            let spec = t.get("toolSpec")?;
            ToolDecl::read(spec, spec.get("inputSchema").and_then(|s| s.get("json")))
        })
        .collect();
    let choice = config.and_then(|c| c.get("toolChoice"));
    let mode = match choice {
        Some(c) if c.get("any").is_some() => ToolMode::Any(Vec::new()),
        Some(c) => match c.get("tool").and_then(|t| t.get("name")).and_then(Value::as_str) {
            Some(name) => ToolMode::Any(vec![name.to_string()]),
            None => ToolMode::Auto,
        },
        None => ToolMode::Auto,
    };
    Ok(Ask {
        provider: "",
        model: model.to_string(),
        prompt: prompt.join("\n"),
        latest_user: latest.map(|i| blocks_text(messages[i].get("content"))),
        structured: None,
        tools,
        mode,
        after_tool_result: messages.last().is_some_and(|m| has_block(m, "toolResult")),
        called_this_turn,
        tool_rounds_this_turn,
        parallel: true,
        stream_usage: false,
    })
}

/// A Titan text body: `inputText`.
fn titan_ask(model: &str, req: &Value) -> Result<Ask, String> {
    let text = req
        .get("inputText")
        .and_then(Value::as_str)
        .ok_or("Malformed input request: #: required key [inputText] not found")?;
    Ok(Ask {
        provider: "",
        model: model.to_string(),
        prompt: text.to_string(),
        latest_user: Some(text.to_string()),
        ..Ask::default()
    })
}

/// Which of the two Converse-like shapes: Converse itself (events named by the stream
/// headers) or Nova's invoke body (events as keys of the chunk JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Converse,
    Nova,
}

/// A Converse reply or ConverseStream events (also Nova's invoke body and chunks).
fn converse(
    ask: &Ask,
    answer: &Answer,
    stream: bool,
    chunk_words: usize,
    rng: &mut dyn rand::RngCore,
    shape: Shape,
) -> Rendered {
    struct Block {
        whole: Value,
        start: Option<Value>,
        pieces: Pieces,
        tool: bool,
    }
    let mut blocks: Vec<Block> = Vec::new();
    let stop_reason = match answer {
        Answer::Calls(calls) => {
            for c in calls {
                let id = format!("tooluse_shunt{}", c.id);
                let args = c.args.to_string();
                blocks.push(Block {
                    whole: json!({"toolUse": {"toolUseId": id, "name": c.name, "input": c.args}}),
                    start: Some(json!({"toolUse": {"toolUseId": id, "name": c.name}})),
                    pieces: Pieces::new(args, chunk_words, Chunking::Json),
                    tool: true,
                });
            }
            "tool_use"
        }
        Answer::Text(t) | Answer::Json(t) => {
            blocks.push(Block {
                whole: json!({"text": t}),
                start: None,
                pieces: Pieces::new(t.as_str(), chunk_words, Chunking::of(answer)),
                tool: false,
            });
            "end_turn"
        }
        Answer::Error { .. } => "end_turn",
    };
    let input_tokens = tokens::count_tokens(&ask.prompt);
    let output_tokens = tokens::answer_tokens(answer);
    let usage = json!({"inputTokens": input_tokens, "outputTokens": output_tokens,
                       "totalTokens": input_tokens + output_tokens});
    let latency = rng.gen_range(20..400);
    let chunks = blocks
        .iter()
        .map(|b| b.pieces.chunk_count())
        .sum::<usize>()
        .max(1);
    if !stream {
        let content: Vec<Value> = blocks.into_iter().map(|b| b.whole).collect();
        let mut body = json!({
            "output": {"message": {"role": "assistant", "content": content}},
            "stopReason": stop_reason, "usage": usage,
        });
        if shape == Shape::Converse {
            body["metrics"] = json!({"latencyMs": latency});
        }
        return Rendered {
            content_type: "application/json",
            frames: Box::new(std::iter::once(Bytes::from(body.to_string()))),
            chunks,
        };
    }
    // Converse names each event in the stream headers; Nova's invoke stream wraps
    // `{"<eventName>": body}` as a `chunk`'s bytes.
    let emit = move |name: &str, body: Value| -> Bytes {
        match shape {
            Shape::Converse => eventstream::event(name, &body),
            Shape::Nova => eventstream::event(
                "chunk",
                &json!({"bytes": BASE64.encode(json!({ name: body }).to_string())}),
            ),
        }
    };
    let mut steps = BlockSteps::new(blocks, |b: &Block| b.pieces.clone());
    let mut head = true;
    let metadata = match shape {
        Shape::Converse => json!({"usage": usage, "metrics": {"latencyMs": latency}}),
        Shape::Nova => json!({"usage": usage}),
    };
    let frames = std::iter::from_fn(move || {
        let mut frame: Vec<u8> = Vec::new();
        if head {
            head = false;
            frame.extend_from_slice(&emit("messageStart", json!({"role": "assistant"})));
            if steps.is_empty() {
                frame.extend_from_slice(&emit("messageStop", json!({"stopReason": stop_reason})));
                frame.extend_from_slice(&emit("metadata", metadata.clone()));
                return Some(Bytes::from(frame));
            }
        }
        let step = steps.next_step()?;
        let (index, block) = (step.index, step.block);
        if step.opens
            && let Some(start) = &block.start
        {
            frame.extend_from_slice(&emit(
                "contentBlockStart",
                json!({"contentBlockIndex": index, "start": start}),
            ));
        }
        let delta = if block.tool {
            json!({"toolUse": {"input": step.piece}})
        } else {
            json!({"text": step.piece})
        };
        frame.extend_from_slice(&emit(
            "contentBlockDelta",
            json!({"contentBlockIndex": index, "delta": delta}),
        ));
        if step.closes {
            frame.extend_from_slice(&emit("contentBlockStop", json!({"contentBlockIndex": index})));
        }
        if step.last {
            frame.extend_from_slice(&emit("messageStop", json!({"stopReason": stop_reason})));
            frame.extend_from_slice(&emit("metadata", metadata.clone()));
        }
        Some(Bytes::from(frame))
    });
    Rendered {
        content_type: eventstream::CONTENT_TYPE,
        frames: Box::new(frames),
        chunks,
    }
}

/// A Titan text reply (`results[].outputText`), or its stream of `chunk`s.
fn titan(ask: &Ask, answer: &Answer, stream: bool, chunk_words: usize) -> Rendered {
    let text = match answer {
        Answer::Text(t) | Answer::Json(t) => t.clone(),
        Answer::Calls(_) | Answer::Error { .. } => String::new(),
    };
    let input_tokens = tokens::count_tokens(&ask.prompt);
    let output_tokens = tokens::answer_tokens(answer);
    let pieces = Pieces::new(text.as_str(), chunk_words, Chunking::of(answer));
    let chunks = pieces.chunk_count();
    if !stream {
        let body = json!({"inputTextTokenCount": input_tokens, "results": [
            {"tokenCount": output_tokens, "outputText": text, "completionReason": "FINISHED"}]});
        return Rendered {
            content_type: "application/json",
            frames: Box::new(std::iter::once(Bytes::from(body.to_string()))),
            chunks,
        };
    }
    let mut pieces = pieces.peekable();
    let mut first = true;
    let frames = std::iter::from_fn(move || {
        let piece = pieces.next()?;
        let last = pieces.peek().is_none();
        let mut chunk = json!({"outputText": piece, "index": 0,
                               "totalOutputTextTokenCount": null, "completionReason": null,
                               "inputTextTokenCount": null});
        if first {
            first = false;
            chunk["inputTextTokenCount"] = json!(input_tokens);
        }
        if last {
            chunk["totalOutputTextTokenCount"] = json!(output_tokens);
            chunk["completionReason"] = json!("FINISHED");
        }
        Some(eventstream::event(
            "chunk",
            &json!({"bytes": BASE64.encode(chunk.to_string())}),
        ))
    });
    Rendered {
        content_type: eventstream::CONTENT_TYPE,
        frames: Box::new(frames),
        chunks,
    }
}

/// Claude's Messages stream (SSE) re-framed for `InvokeModelWithResponseStream`: each
/// event's JSON becomes one `chunk` whose `bytes` hold it.
fn claude_chunks(rendered: Rendered) -> Rendered {
    let frames = rendered.frames.map(|frame| {
        let text = String::from_utf8_lossy(&frame).into_owned();
        let mut out: Vec<u8> = Vec::new();
        for line in text.lines() {
            if let Some(data) = line.strip_prefix("data: ") {
                out.extend_from_slice(&eventstream::event(
                    "chunk",
                    &json!({"bytes": BASE64.encode(data)}),
                ));
            }
        }
        Bytes::from(out)
    });
    Rendered {
        content_type: eventstream::CONTENT_TYPE,
        frames: Box::new(frames),
        chunks: rendered.chunks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Operations and percent-decoded model ids (botocore escapes `:`; ARNs carry `/`).
    #[test]
    fn paths() {
        let p = |s: &str| parse(s).map(|c| (c.model, c.verb));
        assert_eq!(
            p("/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke"),
            Some(("anthropic.claude-3-haiku-20240307-v1:0".into(), Verb::InvokeModel))
        );
        assert_eq!(
            p("/model/amazon.nova-lite-v1%3A0/converse-stream"),
            Some(("amazon.nova-lite-v1:0".into(), Verb::ConverseStream))
        );
        assert_eq!(
            p(
                "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Ainference-profile%2Fus.anthropic.claude/converse"
            ),
            Some((
                "arn:aws:bedrock:us-east-1:1:inference-profile/us.anthropic.claude".into(),
                Verb::Converse
            ))
        );
        assert_eq!(
            p("/model/m/invoke-with-response-stream"),
            Some(("m".into(), Verb::InvokeModelWithResponseStream))
        );
        assert_eq!(p("/model/m/apply-guardrail"), None);
        assert_eq!(p("/guardrail/g/version/1/apply"), None);
        assert_eq!(p("/model/%ZZ/converse"), None);
        assert_eq!(
            family("us.anthropic.claude-sonnet-4-5-20250929-v1:0"),
            Some(Family::Claude)
        );
        assert_eq!(family("amazon.titan-embed-text-v2:0"), Some(Family::TitanEmbed));
        assert_eq!(family("amazon.titan-text-express-v1"), Some(Family::TitanText));
        assert_eq!(family("amazon.nova-lite-v1:0"), Some(Family::Nova));
        assert_eq!(family("meta.llama3-8b-instruct-v1:0"), None);
    }
}
