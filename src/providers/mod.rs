//! Providers: one module per model API. Each parses its paths into a [`ModelCall`],
//! reads a request into the mock's neutral [`Ask`], and renders a neutral [`Answer`] (or
//! an error) back in its own wire format, so the mock answers every API the same way. A
//! new API is one new module, a host rule in `policy`, and a line each in
//! `route::classify` and [`for_call`].
//!
//! - [`gemini`]: Gemini on Vertex and the Gemini API (generateContent, streaming as SSE
//!   or a JSON array, countTokens, computeTokens, embeddings).
//! - [`claude`]: the Messages API, on Vertex (rawPredict, streamRawPredict, count-tokens)
//!   and at api.anthropic.com (`/v1/messages`, `/v1/messages/count_tokens`).
//! - [`openai`]: OpenAI and Azure OpenAI (Chat Completions, Responses, embeddings, models).
//! - [`bedrock`]: Bedrock Runtime (Converse, ConverseStream, InvokeModel and its stream
//!   for Claude, Titan and Nova bodies), streams in AWS event-stream framing
//!   ([`eventstream`]).

pub mod bedrock;
pub mod call;
pub mod claude;
pub mod eventstream;
pub mod gemini;
pub mod openai;
pub mod tokens;
pub mod vectors;

pub use call::{ModelApi, ModelCall, Publisher, Verb};

pub use claude::Claude;
pub use gemini::Gemini;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use rand::RngCore;
use serde_json::Value;

use crate::body::Body;
use crate::error::google_error;

/// What a provider module implements.
pub trait Provider: Sync {
    /// For a generation call, the neutral ask and how the reply is delivered; `None` for
    /// the API's other verbs. `query` is the request's query string (`alt=sse`).
    fn generation(
        &self,
        call: &ModelCall,
        req: &Value,
        query: &str,
    ) -> Result<Option<(Ask, Delivery)>, String>;

    /// The other verbs (token counts, embeddings), answered at once within `budget`.
    fn utility(
        &self,
        call: &ModelCall,
        req: &Value,
        budget: &ReplyBudget,
    ) -> Result<http::Response<Body>, String>;

    /// `answer` in the API's wire format, its frames built as they are sent.
    fn render(
        &self,
        call: &ModelCall,
        ask: &Ask,
        answer: &Answer,
        delivery: Delivery,
        chunk_words: usize,
        rng: &mut dyn RngCore,
    ) -> Rendered;

    /// An error in the API's own shape, for invalid requests, injected faults and
    /// scenario errors (a 429 also carries the API's rate-limit headers; the mock adds
    /// `Retry-After`).
    fn error(&self, status: StatusCode, message: &str) -> http::Response<Body> {
        google_error(status, message)
    }

    /// Headers a successful reply carries besides its content type.
    fn reply_headers(&self, _call: &ModelCall) -> &'static [(&'static str, &'static str)] {
        &[]
    }

    /// What a stream cut by the `--fault-cut` fault sends before it breaks off: the API's
    /// in-stream error event, if it has one.
    fn cut_frame(&self, _call: &ModelCall) -> Option<Bytes> {
        None
    }
}

/// The provider module for a model call.
pub fn for_call(call: &ModelCall) -> &'static dyn Provider {
    match &call.api {
        ModelApi::Vertex {
            publisher: Publisher::Google,
            ..
        }
        | ModelApi::GeminiApi { .. } => &gemini::Gemini,
        ModelApi::Vertex {
            publisher: Publisher::Anthropic,
            ..
        } => &claude::Claude::Vertex,
        ModelApi::Anthropic => &claude::Claude::Anthropic,
        ModelApi::OpenAi | ModelApi::AzureOpenAi => &openai::OpenAi,
        ModelApi::Bedrock => &bedrock::Bedrock,
    }
}

/// How the model is asked to answer, whatever the API.
#[derive(Debug, Clone, Default)]
pub struct Ask {
    /// The API the request came in on (`ModelApi::name`), for scenario matching.
    pub provider: &'static str,
    pub model: String,
    /// All prompt text (system + messages), for scenario regexes and token counts.
    pub prompt: String,
    /// The text of the latest user turn that is not a tool result.
    pub latest_user: Option<String>,
    pub structured: Option<Structured>,
    pub tools: Vec<ToolDecl>,
    pub mode: ToolMode,
    /// The last turn carries a function / tool result.
    pub after_tool_result: bool,
    /// Functions the model called since the latest user message, by name.
    pub called_this_turn: Vec<String>,
    /// Model turns that called functions since the latest user message.
    pub tool_rounds_this_turn: usize,
    /// The request allows several calls in one turn.
    pub parallel: bool,
    /// The client asked for usage in the stream (OpenAI `stream_options.include_usage`).
    pub stream_usage: bool,
}

/// A response schema.
#[derive(Debug, Clone)]
pub struct Structured {
    /// `None`: JSON was asked for without a schema.
    pub schema: Option<(Value, schemagen::Dialect)>,
    /// `text/x.enum`: answer with one enum value as plain text.
    pub enum_text: bool,
}

/// A declared function / tool.
#[derive(Debug, Clone)]
pub struct ToolDecl {
    pub name: String,
    pub description: String,
    pub schema: Option<(Value, schemagen::Dialect)>,
}

impl ToolDecl {
    /// A declaration from an object with `name` and `description` (OpenAI's `function`,
    /// Anthropic's tool, Bedrock's `toolSpec`) and its JSON Schema; `None` without a name.
    pub fn read(decl: &Value, schema: Option<&Value>) -> Option<ToolDecl> {
        Some(ToolDecl {
            name: decl.get("name")?.as_str()?.to_string(),
            description: decl
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            schema: schema.map(|s| (s.clone(), schemagen::Dialect::JsonSchema)),
        })
    }
}

/// The functions called since the latest user turn (`latest`, an index into `turns`) and
/// the number of model turns that called them: `names(turn)` lists one turn's calls.
pub(crate) fn calls_since<T>(
    turns: &[T],
    latest: Option<usize>,
    names: impl Fn(&T) -> Vec<String>,
) -> (Vec<String>, usize) {
    let since = latest.map_or(0, |i| i + 1).min(turns.len());
    let mut called = Vec::new();
    let mut rounds = 0;
    for turn in &turns[since..] {
        let n = names(turn);
        if !n.is_empty() {
            rounds += 1;
            called.extend(n);
        }
    }
    (called, rounds)
}

/// Function-calling mode.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ToolMode {
    /// The model decides (`--auto-call-rate`).
    #[default]
    Auto,
    /// Must call one of these (all declared when empty).
    Any(Vec<String>),
    /// Must not call.
    None,
}

/// What the mock answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Text(String),
    /// Raw JSON text (structured output).
    Json(String),
    /// One or more function calls (several: parallel calls in one turn).
    Calls(Vec<Call>),
    Error {
        status: StatusCode,
        message: String,
    },
}

/// A function call in an answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub name: String,
    pub args: Value,
    /// Stable per request: the same request gets the same ids.
    pub id: String,
}

impl Answer {
    /// Label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Answer::Text(_) => "text",
            Answer::Json(_) => "json",
            Answer::Calls(_) => "function_call",
            Answer::Error { .. } => "error",
        }
    }
}

/// A reply in wire form: each frame is one chunk in time (a frame may hold several SSE
/// events), produced when it is sent, so a long stream is never built whole; a
/// non-streamed reply is one frame but `chunks` says how many it stands for.
pub struct Rendered {
    pub content_type: &'static str,
    pub frames: Box<dyn Iterator<Item = Bytes> + Send>,
    pub chunks: usize,
}

/// What a mock reply was, attached to its response (`http::Extensions`) for the exchange
/// log, the dashboard, the GenAI metrics and the cost estimate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reply {
    /// The API (`ModelApi::name`).
    pub provider: &'static str,
    pub model: String,
    /// Prompt tokens, as the reply's usage reports them.
    pub tokens_in: u64,
    /// Output tokens, as the reply's usage reports them.
    pub tokens_out: u64,
    /// The response schema's title.
    pub schema: Option<String>,
    /// Functions the reply calls.
    pub functions: Vec<String>,
    /// The injected fault, if any (`429`, `500`, `503`, `cut`).
    pub fault: Option<&'static str>,
}

/// The header `shunt mock` puts on each model reply so that a shunt forwarding to it
/// (`--upstream http://mock-llm…`) counts the same tokens, schema, functions and fault;
/// the forwarding shunt removes it before the app sees the response.
pub const REPLY_HEADER: &str = "x-shunt-reply";

impl Reply {
    /// The reply to `call`, before anything about it is decided.
    pub fn for_call(call: &crate::route::ModelCall) -> Reply {
        Reply {
            provider: call.api.name(),
            model: call.model.clone(),
            ..Reply::default()
        }
    }

    /// This reply as the value of [`REPLY_HEADER`]: JSON, non-ASCII escaped.
    pub fn to_header(&self) -> Option<http::HeaderValue> {
        let json = serde_json::json!({
            "model": self.model,
            "in": self.tokens_in,
            "out": self.tokens_out,
            "schema": self.schema,
            "functions": self.functions,
            "fault": self.fault,
        })
        .to_string();
        let mut ascii = String::with_capacity(json.len());
        for c in json.chars() {
            if c.is_ascii() {
                ascii.push(c);
            } else {
                for unit in c.encode_utf16(&mut [0; 2]) {
                    ascii.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
        http::HeaderValue::from_str(&ascii).ok()
    }

    /// The reply a [`REPLY_HEADER`] value describes, for a call on `provider`'s API;
    /// `None` when the value is not one `shunt mock` writes.
    pub fn from_header(provider: &'static str, value: &http::HeaderValue) -> Option<Reply> {
        let v: Value = serde_json::from_slice(value.as_bytes()).ok()?;
        let fault = match v.get("fault").and_then(Value::as_str) {
            None => None,
            Some("429") => Some("429"),
            Some("500") => Some("500"),
            Some("503") => Some("503"),
            Some("cut") => Some("cut"),
            Some(_) => return None,
        };
        Some(Reply {
            provider,
            model: v.get("model")?.as_str()?.to_string(),
            tokens_in: v.get("in")?.as_u64()?,
            tokens_out: v.get("out")?.as_u64()?,
            schema: v.get("schema").and_then(Value::as_str).map(String::from),
            functions: v
                .get("functions")?
                .as_array()?
                .iter()
                .filter_map(|f| f.as_str().map(String::from))
                .collect(),
            fault,
        })
    }
}

/// How a generation reply is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Whole,
    Sse,
    JsonArray,
    /// AWS event-stream framing (Bedrock's streaming calls).
    EventStream,
}

impl Ask {
    /// The response schema's `title`, if any.
    pub fn schema_title(&self) -> Option<&str> {
        self.structured
            .as_ref()
            .and_then(|s| s.schema.as_ref())
            .and_then(|(s, _)| s.get("title"))
            .and_then(Value::as_str)
    }
}

/// Limits on the work one reply may take.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReplyBudget {
    /// Largest reply (structured output, tool arguments, token lists), in bytes.
    pub max_bytes: usize,
    /// Most generation steps (values, schema hops, validation nodes, pattern characters).
    pub max_steps: u64,
    /// Longest generation time.
    pub max_time: Duration,
}

impl Default for ReplyBudget {
    fn default() -> Self {
        ReplyBudget {
            max_bytes: 4 * 1024 * 1024,
            max_steps: 2_000_000,
            max_time: Duration::from_secs(5),
        }
    }
}

impl ReplyBudget {
    /// The budget for a generation starting now.
    pub fn start(&self, cancel: Option<Arc<AtomicBool>>) -> schemagen::Budget {
        schemagen::Budget {
            max_bytes: self.max_bytes,
            max_steps: self.max_steps,
            deadline: Some(std::time::Instant::now() + self.max_time),
            cancel,
        }
    }
}

/// A reply text cut into streamed chunks, as they are sent: by words for prose, by
/// characters for JSON (which has few spaces). Concatenated, the chunks give the text back
/// exactly; one chunk at least, even for empty text.
#[derive(Debug, Clone)]
pub struct Pieces {
    text: Arc<str>,
    pos: usize,
    per_chunk: usize,
    chunking: Chunking,
    done: bool,
}

/// How text is cut into stream chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunking {
    /// By words (text replies).
    Words,
    /// By characters, about six per word (JSON, which has few spaces).
    Json,
}

impl Chunking {
    /// JSON answers are cut as JSON, the rest by words.
    pub fn of(answer: &Answer) -> Chunking {
        match answer {
            Answer::Json(_) => Chunking::Json,
            _ => Chunking::Words,
        }
    }
}

impl Pieces {
    pub fn new(text: impl Into<Arc<str>>, chunk_words: usize, chunking: Chunking) -> Pieces {
        let chunk_words = chunk_words.max(1);
        Pieces {
            text: text.into(),
            pos: 0,
            per_chunk: match chunking {
                Chunking::Json => chunk_words * 6,
                Chunking::Words => chunk_words,
            },
            chunking,
            done: false,
        }
    }

    /// How many chunks there will be (without building them).
    pub fn chunk_count(&self) -> usize {
        let (mut pos, mut n) = (self.pos, 0);
        loop {
            n += 1;
            pos = self.chunk_end(pos);
            if pos >= self.text.len() {
                return n;
            }
        }
    }

    /// End (exclusive, in bytes) of the chunk starting at `from`.
    fn chunk_end(&self, from: usize) -> usize {
        let rest = &self.text[from..];
        let mut taken = 0;
        if self.chunking == Chunking::Json {
            for (i, c) in rest.char_indices() {
                taken += 1;
                if taken == self.per_chunk {
                    return from + i + c.len_utf8();
                }
            }
        } else {
            for (i, c) in rest.char_indices() {
                if c == ' ' {
                    taken += 1;
                    if taken == self.per_chunk {
                        return from + i + 1;
                    }
                }
            }
        }
        self.text.len()
    }
}

impl Iterator for Pieces {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        if self.done {
            return None;
        }
        let end = self.chunk_end(self.pos);
        let piece = self.text[self.pos..end].to_string();
        self.pos = end;
        if self.pos >= self.text.len() {
            self.done = true;
        }
        Some(piece)
    }
}

/// A streamed reply's content blocks walked piece by piece, as the Claude and Bedrock
/// streams send them: each [`BlockStep`] names the block, carries one piece, and says
/// whether it opens the block, closes it, and closes the reply's last block.
pub struct BlockSteps<B> {
    blocks: std::collections::VecDeque<(usize, B)>,
    current: Option<(usize, B, std::iter::Peekable<Pieces>, bool)>,
    pieces: fn(&B) -> Pieces,
}

/// One piece of a [`BlockSteps`] walk.
pub struct BlockStep<'a, B> {
    pub index: usize,
    pub block: &'a B,
    pub piece: String,
    pub opens: bool,
    pub closes: bool,
    pub last: bool,
}

impl<B> BlockSteps<B> {
    /// Walk `blocks` in order, each cut into the pieces `pieces` gives.
    pub fn new(blocks: Vec<B>, pieces: fn(&B) -> Pieces) -> Self {
        BlockSteps {
            blocks: blocks.into_iter().enumerate().collect(),
            current: None,
            pieces,
        }
    }

    /// No block left to walk.
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty() && self.current.is_none()
    }

    /// The next piece, or `None` once every block was walked.
    pub fn next_step(&mut self) -> Option<BlockStep<'_, B>> {
        let piece = loop {
            if self.current.is_none() {
                let (index, block) = self.blocks.pop_front()?;
                let pieces = (self.pieces)(&block).peekable();
                self.current = Some((index, block, pieces, true));
            }
            match self.current.as_mut().and_then(|c| c.2.next()) {
                Some(piece) => break piece,
                None => self.current = None,
            }
        };
        let no_more_blocks = self.blocks.is_empty();
        let (index, block, pieces, first) = self.current.as_mut()?;
        let closes = pieces.peek().is_none();
        Some(BlockStep {
            index: *index,
            block,
            piece,
            opens: std::mem::replace(first, false),
            closes,
            last: closes && no_more_blocks,
        })
    }
}

/// Split `text` into its chunks at once (see [`Pieces`]).
pub fn split_chunks(text: &str, chunk_words: usize, chunking: Chunking) -> Vec<String> {
    Pieces::new(text, chunk_words, chunking).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Chunks always concatenate back to the text.
    #[test]
    fn chunks_roundtrip() {
        for (text, chunking) in [
            ("a b c d e f g", Chunking::Words),
            ("{\"k\":\"value with spaces\",\"n\":[1,2,3]}", Chunking::Json),
            ("", Chunking::Words),
        ] {
            for n in 1..5 {
                let chunks = split_chunks(text, n, chunking);
                assert_eq!(chunks.concat(), text);
                assert!(!chunks.is_empty());
            }
        }
        assert_eq!(
            split_chunks("a b c d e", 2, Chunking::Words),
            vec!["a b ", "c d ", "e"]
        );
    }
}
