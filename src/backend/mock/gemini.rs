//! Gemini wire shapes: generateContent, streamGenerateContent (SSE with `alt=sse`, a
//! streamed JSON array without), countTokens, computeTokens, embeddings (`:predict`,
//! `:embedContent`, `:batchEmbedContents`).

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
    sse: bool,
    seed: u64,
) -> Result<http::Response<Body>, String> {
    match call.verb.as_str() {
        "generateContent" => {
            let reply = Reply::new(config, call, req, seed)?;
            Ok(json_response(StatusCode::OK, &reply.whole()))
        }
        "streamGenerateContent" => {
            let reply = Reply::new(config, call, req, seed)?;
            Ok(stream(reply.chunks(config.words_per_chunk), sse))
        }
        "countTokens" => {
            let prompt = prompt_text(req)?;
            Ok(json_response(
                StatusCode::OK,
                &json!({"totalTokens": text::count_tokens(&prompt), "totalBillableCharacters": prompt.chars().count()}),
            ))
        }
        "computeTokens" => {
            let prompt = prompt_text(req)?;
            let words: Vec<&str> = prompt.split_whitespace().collect();
            let ids: Vec<String> = words
                .iter()
                .map(|w| (text::fnv1a(w.as_bytes()) % 256_000).to_string())
                .collect();
            let tokens: Vec<String> = words.iter().map(|w| b64(w.as_bytes())).collect();
            Ok(json_response(
                StatusCode::OK,
                &json!({"tokensInfo": [{"tokens": tokens, "tokenIds": ids, "role": "user"}]}),
            ))
        }
        "predict" => predict_embeddings(call, req),
        "embedContent" => {
            let text = content_text(req.get("content").unwrap_or(&Value::Null));
            let dims = output_dims(
                call,
                req.get("embedContentConfig").or(req.get("embed_content_config")),
                req,
            );
            let tokens = text::count_tokens(&text);
            Ok(json_response(
                StatusCode::OK,
                &json!({"embedding": {"values": embedding(&text, dims)},
                        "usageMetadata": {"promptTokenCount": tokens, "totalTokenCount": tokens},
                        "truncated": false}),
            ))
        }
        "batchEmbedContents" => {
            let requests = req
                .get("requests")
                .and_then(Value::as_array)
                .ok_or("`requests` must be a list")?;
            let embeddings: Vec<Value> = requests
                .iter()
                .map(|r| {
                    let text = content_text(r.get("content").unwrap_or(&Value::Null));
                    json!({"values": embedding(&text, output_dims(call, None, r))})
                })
                .collect();
            Ok(json_response(StatusCode::OK, &json!({"embeddings": embeddings})))
        }
        other => Err(format!("unknown method {other} for model {}", call.model)),
    }
}

/// A generated reply: its text as words, and the counts for usageMetadata.
struct Reply {
    model: String,
    words: Vec<String>,
    prompt_tokens: u64,
    response_id: String,
}

impl Reply {
    fn new(config: &MockConfig, call: &ModelCall, req: &Value, seed: u64) -> Result<Reply, String> {
        let prompt = prompt_text(req)?;
        Ok(Reply {
            model: call.model.clone(),
            words: text::words(seed, config.reply_words),
            prompt_tokens: text::count_tokens(&prompt).max(1),
            response_id: format!("shunt-{seed:016x}"),
        })
    }

    fn usage(&self) -> Value {
        let out = self.words.len() as u64;
        json!({
            "promptTokenCount": self.prompt_tokens,
            "candidatesTokenCount": out,
            "totalTokenCount": self.prompt_tokens + out,
            "trafficType": "ON_DEMAND",
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": self.prompt_tokens}],
            "candidatesTokensDetails": [{"modality": "TEXT", "tokenCount": out}],
        })
    }

    fn envelope(&self, text: &str, last: bool) -> Value {
        let mut candidate = json!({"content": {"role": "model", "parts": [{"text": text}]}, "index": 0});
        let mut out = json!({
            "candidates": [],
            "modelVersion": self.model,
            "createTime": now_rfc3339(),
            "responseId": self.response_id,
        });
        if last {
            candidate["finishReason"] = json!("STOP");
            out["usageMetadata"] = self.usage();
        }
        out["candidates"] = json!([candidate]);
        out
    }

    fn whole(&self) -> Value {
        self.envelope(&self.words.join(" "), true)
    }

    fn chunks(&self, per_chunk: usize) -> Vec<Value> {
        let parts = text::chunks(&self.words, per_chunk);
        let n = parts.len();
        parts
            .iter()
            .enumerate()
            .map(|(i, t)| self.envelope(t, i + 1 == n))
            .collect()
    }
}

/// Stream chunks as SSE (`data: {json}\r\n\r\n`, no `[DONE]`) or as a JSON array.
fn stream(chunks: Vec<Value>, sse: bool) -> http::Response<Body> {
    let (tx, body) = body::channel(4);
    tokio::spawn(async move {
        let n = chunks.len();
        for (i, chunk) in chunks.into_iter().enumerate() {
            let frame = if sse {
                format!("data: {chunk}\r\n\r\n")
            } else {
                let open = if i == 0 { "[" } else { "" };
                let close = if i + 1 == n { "]" } else { ",\r\n" };
                format!("{open}{chunk}{close}")
            };
            if tx.send(Ok(Bytes::from(frame))).await.is_err() {
                return; // client went away
            }
        }
    });
    let content_type = if sse {
        "text/event-stream"
    } else {
        "application/json"
    };
    let mut res = http::Response::new(body);
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    res
}

/// All text of the request's `contents` (the prompt), validating its shape.
fn prompt_text(req: &Value) -> Result<String, String> {
    let contents = match req.get("contents") {
        None => return Ok(String::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err("Invalid value at 'contents': expected a list of Content".into()),
    };
    let mut out = Vec::new();
    for content in contents {
        if !content.is_object() {
            return Err("Invalid value at 'contents': each item must be a Content object".into());
        }
        out.push(content_text(content));
    }
    Ok(out.join("\n"))
}

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

/// `:predict` for embedding models: one prediction per instance, in order.
fn predict_embeddings(call: &ModelCall, req: &Value) -> Result<http::Response<Body>, String> {
    let instances = req
        .get("instances")
        .and_then(Value::as_array)
        .ok_or("`instances` must be a list")?;
    let dims = output_dims(call, req.get("parameters"), req);
    let mut chars = 0;
    let predictions: Vec<Value> = instances
        .iter()
        .map(|inst| {
            let text = inst.get("content").and_then(Value::as_str).unwrap_or_default();
            chars += text.chars().count();
            json!({"embeddings": {"values": embedding(text, dims),
                   "statistics": {"token_count": text::count_tokens(text), "truncated": false}}})
        })
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({"predictions": predictions, "metadata": {"billableCharacterCount": chars}}),
    ))
}

/// Vector size: `outputDimensionality` if given, else the model's native size.
fn output_dims(call: &ModelCall, params: Option<&Value>, req: &Value) -> usize {
    let explicit = params
        .into_iter()
        .chain(std::iter::once(req))
        .find_map(|p| p.get("outputDimensionality").or(p.get("output_dimensionality")))
        .and_then(Value::as_u64);
    match explicit {
        Some(n) if n > 0 => n.min(65_536) as usize,
        _ if call.model.starts_with("gemini-embedding") => 3072,
        _ => 768,
    }
}

/// A deterministic unit vector for `text`.
pub fn embedding(text: &str, dims: usize) -> Vec<f64> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::SmallRng::seed_from_u64(text::fnv1a(text.as_bytes()));
    let raw: Vec<f64> = (0..dims).map(|_| rng.gen_range(-1.0..1.0)).collect();
    let norm = raw
        .iter()
        .map(|x| x * x)
        .sum::<f64>()
        .sqrt()
        .max(f64::MIN_POSITIVE);
    raw.into_iter().map(|x| x / norm).collect()
}

fn b64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_string())
}
