//! The built-in mock LLM: answers Gemini (Vertex and Gemini API paths), Claude on Vertex
//! and embedding calls with wire shapes the real SDKs accept (google-clients.md).
//! `shunt serve --upstream builtin` and `shunt mock` share this one implementation.
//!
//! A generation request goes through four steps, each its own piece:
//! 1. the API module ([`gemini`], [`claude`]) reads the request into an [`Ask`];
//! 2. [`Mock::plan`] decides the [`Answer`]: a scenario rule, the tool calls [`plan`]
//!    picks, JSON for the response schema ([`schemagen`], grounded in the prompt by
//!    [`grounding`]), or text;
//! 3. the API module renders the answer as chunks in its wire format;
//! 4. [`emit`] sends the chunks on a sampled [`latency::Schedule`], cutting the body
//!    when a fault says so.
//!
//! Replies are deterministic per (seed, request body); faults and latency samples come
//! from a per-request sequence seeded by `--seed`, so a run repeats.

pub mod claude;
pub mod faults;
pub mod gemini;
pub mod grounding;
pub mod latency;
pub mod plan;
pub mod scenario;
mod text;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

use crate::body::{self, Body, collect_limited};
use crate::error::{Error, google_error};
use crate::metrics::Metrics;
use crate::route::{ModelApi, ModelCall, Publisher};
use faults::{Fault, Faults};
use latency::{LatencyTable, Schedule};
use scenario::{Facts, Fixed, Output, Scenarios};

/// Knobs of the built-in mock (built from the `--seed`, `--ttft`, `--fault-*`… flags).
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// Seed mixed into every reply, fault and latency draw.
    pub seed: u64,
    /// Words in a text reply: drawn uniformly from this inclusive range.
    pub reply_words: (usize, usize),
    /// Words per streamed chunk (JSON replies: about six characters per word).
    pub chunk_words: usize,
    pub latency: LatencyTable,
    pub faults: Faults,
    /// Tool-call planning (`--auto-call-rate`, `--max-tool-rounds`).
    pub planning: plan::Planning,
    /// Decision rates of grounded structured output (`--match-rate`, `--null-rate`).
    pub rates: grounding::Rates,
    pub scenarios: Scenarios,
    /// Largest request body the mock reads (`--max-body`); larger gets 413.
    pub max_body: usize,
    /// Limits on one reply's generation (`--max-reply-bytes`, `-steps`, `-time`).
    pub budget: ReplyBudget,
    /// Requests generating at once (`--mock-workers`): CPU-bound work runs on the blocking
    /// pool, this many at a time.
    pub workers: usize,
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

/// CPU-bound replies generated at once by default: all cores but one (at least one), so
/// a burst of heavy requests leaves a core for everything else.
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1))
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            seed: 0,
            reply_words: (24, 24),
            chunk_words: 4,
            latency: LatencyTable::default(),
            faults: Faults {
                retry_after: 1,
                ..Faults::default()
            },
            planning: plan::Planning::default(),
            rates: grounding::Rates::default(),
            scenarios: Scenarios::default(),
            max_body: 32 * 1024 * 1024,
            budget: ReplyBudget::default(),
            workers: default_workers(),
        }
    }
}

/// How the model is asked to answer, whatever the API.
#[derive(Debug, Clone, Default)]
pub struct Ask {
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

/// Function-calling mode.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ToolMode {
    /// The model decides (see [`MockConfig::auto_call_rate`]).
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
    fn kind(&self) -> &'static str {
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

/// How a generation reply is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Whole,
    Sse,
    JsonArray,
}

/// The mock: [`Mock::serve`] and [`Mock::answer`] take a model call from request to
/// response. The CPU-bound part (parsing the body, reading the prompt, generating and
/// rendering) runs on tokio's blocking pool, at most `--mock-workers` at a time, so the
/// async workers stay free for health checks and streams; when the client goes away the
/// work is cancelled. Latency is waited on timers afterwards.
#[derive(Clone)]
pub struct Mock {
    engine: Arc<Engine>,
    /// Permits for CPU-bound work.
    workers: Arc<tokio::sync::Semaphore>,
}

/// The mock's synchronous core: from a request body to a prepared reply.
pub struct Engine {
    config: MockConfig,
    /// Per-request counter seeding fault and latency draws.
    sequence: AtomicU64,
    metrics: Arc<Metrics>,
}

/// What the CPU-bound part of a request produced, ready to deliver on its latency.
enum Prepared {
    /// Send now (malformed requests, injected status faults).
    Now(http::Response<Body>),
    /// Send after this time to first token (token counts, embeddings).
    After(Duration, http::Response<Body>),
    /// A generation: frames on a schedule.
    Stream {
        rendered: Rendered,
        schedule: Schedule,
        delivery: Delivery,
        cut: bool,
    },
}

/// Sets the flag when dropped: a request future dropped because its client went away
/// cancels the work it started.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl Mock {
    pub fn new(config: MockConfig, metrics: Arc<Metrics>) -> Self {
        let workers = config.workers.max(1);
        Mock {
            engine: Arc::new(Engine {
                config,
                sequence: AtomicU64::new(0),
                metrics,
            }),
            workers: Arc::new(tokio::sync::Semaphore::new(workers)),
        }
    }

    /// Answer one model call.
    pub async fn serve(
        &self,
        call: &ModelCall,
        req: http::Request<Body>,
    ) -> Result<http::Response<Body>, Error> {
        let query = req.uri().query().unwrap_or("").to_string();
        let body = collect_limited(req.into_body(), self.engine.config.max_body).await?;
        Ok(self.answer(call, &query, &body).await)
    }

    /// Answer a model call whose body has been read.
    pub async fn answer(&self, call: &ModelCall, query: &str, body: &Bytes) -> http::Response<Body> {
        let cancel = Arc::new(AtomicBool::new(false));
        let _cancel_on_drop = CancelOnDrop(cancel.clone());
        let Ok(permit) = self.workers.clone().acquire_owned().await else {
            return Error::Internal("the mock's worker pool is closed".into()).into_response();
        };
        let engine = self.engine.clone();
        let (call, query, body) = (call.clone(), query.to_string(), body.clone());
        let job = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            engine.prepare(&call, &query, &body, &cancel)
        });
        let prepared = match job.await {
            Ok(p) => p,
            Err(e) => return Error::Internal(format!("mock task failed: {e}")).into_response(),
        };
        match prepared {
            Prepared::Now(res) => res,
            Prepared::After(wait, res) => {
                pause(wait).await;
                res
            }
            Prepared::Stream {
                rendered,
                schedule,
                delivery,
                cut,
            } => emit(rendered, schedule, delivery, cut).await,
        }
    }

    /// Decide the answer for `ask` (see [`Engine::plan`]).
    pub fn plan(&self, ask: &Ask, request: &Value, rng: &mut impl Rng) -> Result<Answer, String> {
        self.engine.plan(ask, request, rng)
    }
}

impl Engine {
    /// Everything CPU-bound for one request, within the reply budget; `cancel` stops it.
    fn prepare(&self, call: &ModelCall, query: &str, body: &Bytes, cancel: &Arc<AtomicBool>) -> Prepared {
        let json: Value = match serde_json::from_slice(body) {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) => return Prepared::Now(invalid_argument("the request body must be a JSON object")),
            Err(e) => return Prepared::Now(invalid_argument(&format!("Invalid JSON payload received. {e}"))),
        };
        let n = self.sequence.fetch_add(1, Ordering::Relaxed);
        let mut chance = SmallRng::seed_from_u64(mix(self.config.seed, n));
        let mut content = SmallRng::seed_from_u64(mix(self.config.seed, text::fnv1a(body)));
        let publisher = match &call.api {
            ModelApi::Vertex { publisher, .. } => *publisher,
            ModelApi::GeminiApi { .. } => Publisher::Google,
        };
        let fault = self.config.faults.draw(&mut chance);
        self.metrics.mock_fault(fault.name());
        if let Fault::Status(status, rpc) = fault {
            return Prepared::Now(self.fault_response(status, rpc));
        }
        let latency = self.config.latency.for_model(&call.model);
        let sse = query.split('&').any(|kv| kv == "alt=sse");
        let generation = match publisher {
            Publisher::Google => gemini::generation(call, &json, sse),
            Publisher::Anthropic => claude::generation(call, &json),
        };
        let (ask, delivery) = match generation {
            Ok(Some(g)) => g,
            Ok(None) => {
                // Not a generation: token counting and embeddings answer after TTFT.
                let res = match publisher {
                    Publisher::Google => gemini::utility(call, &json, &self.config.budget),
                    Publisher::Anthropic => claude::utility(call, &json),
                };
                let res = res.unwrap_or_else(|m| invalid_argument(&m));
                return Prepared::After(latency.ttft.sample(&mut chance), res);
            }
            Err(message) => return Prepared::Now(invalid_argument(&message)),
        };
        let budget = self.config.budget.start(Some(cancel.clone()));
        let answer = match self.plan_within(&ask, &json, &mut content, &budget) {
            Ok(answer) => answer,
            Err(message) => return Prepared::Now(invalid_argument(&message)),
        };
        match &answer {
            Answer::Calls(calls) => {
                for c in calls {
                    self.metrics
                        .mock_reply(answer.kind(), ask.schema_title(), Some(&c.name));
                }
            }
            _ => self.metrics.mock_reply(answer.kind(), ask.schema_title(), None),
        }
        if let Answer::Error { status, message } = &answer {
            return Prepared::Now(google_error(*status, rpc_status(*status), message));
        }
        let rendered = match publisher {
            Publisher::Google => {
                gemini::render(&ask, &answer, delivery, self.config.chunk_words, &mut content)
            }
            Publisher::Anthropic => {
                claude::render(&ask, &answer, delivery, self.config.chunk_words, &mut content)
            }
        };
        let schedule = Schedule::sample(latency, rendered.chunks, &mut chance);
        Prepared::Stream {
            rendered,
            schedule,
            delivery,
            cut: fault == Fault::Cut,
        }
    }

    /// Decide the answer for `ask`: a scenario rule, else the planned tool calls, else
    /// grounded JSON for the response schema, else text.
    pub fn plan(&self, ask: &Ask, request: &Value, rng: &mut impl Rng) -> Result<Answer, String> {
        self.plan_within(ask, request, rng, &self.config.budget.start(None))
    }

    /// [`Engine::plan`] within a reply budget.
    fn plan_within(
        &self,
        ask: &Ask,
        request: &Value,
        rng: &mut impl Rng,
        budget: &schemagen::Budget,
    ) -> Result<Answer, String> {
        let names: Vec<String> = ask.tools.iter().map(|t| t.name.clone()).collect();
        let title = ask.schema_title();
        let facts = Facts {
            model: &ask.model,
            prompt: &ask.prompt,
            schema_title: title,
            functions: &names,
            last_user: ask.latest_user.as_deref(),
            request,
        };
        if let Some(rule) = self.config.scenarios.find(&facts) {
            return Ok(match &rule.answer {
                Fixed::Template { output, .. } => self.templated(ask, rule, *output, &facts, rng),
                Fixed::Text(t) => Answer::Text(t.clone()),
                Fixed::Json(v) => Answer::Json(v.to_string()),
                Fixed::FunctionArgs(args) => Answer::Calls(vec![Call {
                    name: rule.function().unwrap_or_default().to_string(),
                    args: args.clone(),
                    id: call_id(rng),
                }]),
                Fixed::Error { status, message } => Answer::Error {
                    status: *status,
                    message: message.clone(),
                },
            });
        }
        let calls = plan::tools_to_call(ask, &self.config.planning, rng)?;
        if !calls.is_empty() {
            let mut out = Vec::with_capacity(calls.len());
            for tool in calls {
                let args = match &tool.schema {
                    Some((schema, dialect)) => self
                        .grounded(ask, schema, *dialect, true, rng, budget)
                        .map_err(|e| {
                            budget_hint(format!("function {}: parameters schema: {e}", tool.name))
                        })?,
                    None => Value::Object(Default::default()),
                };
                out.push(Call {
                    name: tool.name.clone(),
                    args,
                    id: call_id(rng),
                });
            }
            return Ok(Answer::Calls(out));
        }
        if let Some(structured) = &ask.structured {
            return match &structured.schema {
                Some((schema, dialect)) if structured.enum_text => {
                    let value = self
                        .grounded(ask, schema, *dialect, false, rng, budget)
                        .map_err(|e| budget_hint(format!("response schema: {e}")))?;
                    Ok(Answer::Text(match value {
                        Value::String(s) => s,
                        other => other.to_string(),
                    }))
                }
                Some((schema, dialect)) => {
                    let value = self
                        .grounded(ask, schema, *dialect, false, rng, budget)
                        .map_err(|e| budget_hint(format!("response schema: {e}")))?;
                    Ok(Answer::Json(value.to_string()))
                }
                None => Ok(Answer::Json(
                    serde_json::json!({"response": self.words(rng)}).to_string(),
                )),
            };
        }
        Ok(Answer::Text(self.words(rng)))
    }

    /// A template rule's answer. A template that fails, renders invalid JSON or JSON the
    /// schema rejects answers 500 naming the rule: the scenario file is wrong, not the app.
    fn templated(
        &self,
        ask: &Ask,
        rule: &scenario::Rule,
        output: Output,
        facts: &Facts<'_>,
        rng: &mut impl Rng,
    ) -> Answer {
        let fail = |message: String| Answer::Error {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: format!("shunt mock: {message}"),
        };
        let text = match self.config.scenarios.render(rule, facts) {
            Ok(text) => text,
            Err(e) => return fail(e),
        };
        let wants_json = ask.structured.as_ref().is_some_and(|s| !s.enum_text);
        let output = match output {
            Output::Auto if wants_json => Output::Json,
            Output::Auto => Output::Text,
            other => other,
        };
        let parse = |what: &str| -> Result<Value, String> {
            serde_json::from_str(&text).map_err(|e| {
                format!(
                    "{}: template rendered invalid JSON for {what}: {e}: {text:.200}",
                    rule.describe()
                )
            })
        };
        let check =
            |value: &Value, schema: Option<&(Value, schemagen::Dialect)>, what: &str| -> Result<(), String> {
                let Some((schema, dialect)) = schema else {
                    return Ok(());
                };
                let generator =
                    schemagen::Generator::new(schema, *dialect).map_err(|e| format!("{what}: {e}"))?;
                if generator.is_valid(value) {
                    Ok(())
                } else {
                    Err(format!(
                        "{}: template output does not match {what}: {value:.200}",
                        rule.describe()
                    ))
                }
            };
        match output {
            Output::Text | Output::Auto => Answer::Text(text),
            Output::Json => {
                let schema = ask.structured.as_ref().and_then(|s| s.schema.as_ref());
                match parse("the response").and_then(|v| check(&v, schema, "the response schema").map(|()| v))
                {
                    Ok(v) => Answer::Json(v.to_string()),
                    Err(e) => fail(e),
                }
            }
            Output::Args => {
                let name = rule.function().unwrap_or_default();
                let schema = ask
                    .tools
                    .iter()
                    .find(|t| t.name == name)
                    .and_then(|t| t.schema.as_ref());
                match parse("function arguments").and_then(|v| {
                    if !v.is_object() {
                        return Err(format!(
                            "{}: template output for function arguments is not an object",
                            rule.describe()
                        ));
                    }
                    check(&v, schema, &format!("the parameters of {name}")).map(|()| v)
                }) {
                    Ok(args) => Answer::Calls(vec![Call {
                        name: name.to_string(),
                        args,
                        id: call_id(rng),
                    }]),
                    Err(e) => fail(e),
                }
            }
        }
    }

    /// An instance of `schema` grounded in the request's prompt: following its output
    /// template, echoing its identifiers, deciding like a model (see [`grounding`]).
    /// Tool arguments (`args`) are grounded in the user's message alone.
    fn grounded(
        &self,
        ask: &Ask,
        schema: &Value,
        dialect: schemagen::Dialect,
        args: bool,
        rng: &mut impl Rng,
        budget: &schemagen::Budget,
    ) -> Result<Value, schemagen::SchemaError> {
        let generator = schemagen::Generator::new(schema, dialect)?;
        let prompt = if args { "" } else { ask.prompt.as_str() };
        let mut grounder = grounding::Grounder::new(
            prompt,
            ask.latest_user.as_deref(),
            Some(generator.schema()),
            self.config.rates,
            SmallRng::seed_from_u64(rng.r#gen()),
        );
        let template = grounder.template().cloned();
        generator.generate_guided(rng, template.as_ref(), &mut grounder, budget)
    }

    fn words(&self, rng: &mut impl Rng) -> String {
        let (lo, hi) = self.config.reply_words;
        text::words(rng.r#gen(), rng.gen_range(lo..=hi.max(lo))).join(" ")
    }

    fn fault_response(&self, status: StatusCode, rpc: &str) -> http::Response<Body> {
        let message = match status {
            StatusCode::TOO_MANY_REQUESTS => {
                "shunt mock: injected fault: Resource exhausted. Please try again later."
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                "shunt mock: injected fault: The service is currently unavailable."
            }
            _ => "shunt mock: injected fault: Internal error encountered.",
        };
        let mut res = google_error(status, rpc, message);
        if status == StatusCode::TOO_MANY_REQUESTS {
            res.headers_mut()
                .insert(http::header::RETRY_AFTER, self.config.faults.retry_after.into());
        }
        res
    }
}

/// A budget error names the flag that raises the limit.
fn budget_hint(message: String) -> String {
    let flag = if message.contains(" bytes") {
        Some("--max-reply-bytes")
    } else if message.contains(" steps") {
        Some("--max-reply-steps")
    } else if message.contains("longer than the time") {
        Some("--max-reply-time")
    } else {
        None
    };
    match flag {
        Some(flag) if message.contains("over the reply budget") => {
            format!("{message}; shunt's {flag} sets the limit")
        }
        _ => message,
    }
}

/// A tool-call id: drawn from the request's content generator, so the same request (and
/// seed) gets the same ids.
fn call_id(rng: &mut impl Rng) -> String {
    format!("{:016x}", rng.r#gen::<u64>())
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

/// Combine the seed with a per-request value (splitmix64 finaliser).
fn mix(seed: u64, value: u64) -> u64 {
    let mut z = seed ^ value.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Google RPC status name for an HTTP status.
fn rpc_status(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        402 | 405..=408 | 410..=428 | 430..=498 => "FAILED_PRECONDITION",
        _ => "INTERNAL",
    }
}

/// Vertex's answer to a malformed request.
fn invalid_argument(message: &str) -> http::Response<Body> {
    google_error(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", message)
}

/// Deliver `rendered` on `schedule`. Streams send each frame when its time comes; a
/// whole reply waits the full schedule, then answers. `cut` aborts the body half-way.
async fn emit(rendered: Rendered, schedule: Schedule, delivery: Delivery, cut: bool) -> http::Response<Body> {
    let content_type = rendered.content_type;
    let body = match delivery {
        Delivery::Whole => {
            pause(schedule.total()).await;
            let whole: Vec<u8> = rendered.frames.flat_map(|b| b.to_vec()).collect();
            if cut {
                let (tx, body) = body::channel(2);
                let half = Bytes::from(whole[..whole.len() / 2].to_vec());
                tokio::spawn(async move {
                    let _ = tx.send(Ok(half)).await;
                    let _ = tx
                        .send(Err("shunt mock: injected fault: connection cut".into()))
                        .await;
                });
                body
            } else {
                body::full(whole)
            }
        }
        Delivery::Sse | Delivery::JsonArray => {
            // Frames are built one at a time as the client takes them: the channel holds
            // two, so a slow reader slows the producer (and one that stops reading is cut
            // off by the connection's stall timeout).
            let (tx, body) = body::channel(2);
            let frames = rendered.frames;
            let cut_at = cut.then(|| rendered.chunks.div_ceil(2).max(1));
            tokio::spawn(async move {
                pause(schedule.first).await;
                for (i, frame) in frames.enumerate() {
                    if i > 0 {
                        let gap = schedule.gaps.get(i - 1).copied().unwrap_or_default();
                        pause(gap).await;
                    }
                    if cut_at == Some(i) {
                        let _ = tx
                            .send(Err("shunt mock: injected fault: stream cut".into()))
                            .await;
                        return;
                    }
                    if tx.send(Ok(frame)).await.is_err() {
                        return; // the client went away; stop producing
                    }
                }
                if cut_at.is_some() {
                    let _ = tx
                        .send(Err("shunt mock: injected fault: stream cut".into()))
                        .await;
                }
            });
            body
        }
    };
    let mut res = http::Response::new(body);
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    res
}

/// Sleep for `d`, or not at all when it is zero: tokio rounds every timer up to the next
/// millisecond, so a zero-latency mock that still slept capped at ~1,000 req/s per client.
async fn pause(d: std::time::Duration) {
    if !d.is_zero() {
        tokio::time::sleep(d).await;
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
    json: bool,
    done: bool,
}

impl Pieces {
    pub fn new(text: impl Into<Arc<str>>, chunk_words: usize, json: bool) -> Pieces {
        let chunk_words = chunk_words.max(1);
        Pieces {
            text: text.into(),
            pos: 0,
            per_chunk: if json { chunk_words * 6 } else { chunk_words },
            json,
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
        if self.json {
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

/// Split `text` into its chunks at once (see [`Pieces`]).
pub fn split_chunks(text: &str, chunk_words: usize, json: bool) -> Vec<String> {
    Pieces::new(text, chunk_words, json).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Chunks always concatenate back to the text.
    #[test]
    fn chunks_roundtrip() {
        for (text, json) in [
            ("a b c d e f g", false),
            ("{\"k\":\"value with spaces\",\"n\":[1,2,3]}", true),
            ("", false),
        ] {
            for n in 1..5 {
                let chunks = split_chunks(text, n, json);
                assert_eq!(chunks.concat(), text);
                assert!(!chunks.is_empty());
            }
        }
        assert_eq!(split_chunks("a b c d e", 2, false), vec!["a b ", "c d ", "e"]);
    }
}
