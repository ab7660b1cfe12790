//! The built-in mock LLM: answers every API a [provider](crate::providers) module reads
//! (Gemini on Vertex and the Gemini API, Claude on Vertex, embeddings) with wire shapes the
//! real SDKs accept. `shunt serve --upstream builtin` and `shunt mock` ([`server`]) share
//! this one implementation.
//!
//! A generation request goes through four steps, each its own piece:
//! 1. the provider module reads the request into a neutral [`Ask`];
//! 2. [`Mock::plan`] decides the [`Answer`]: a scenario rule, the tool calls [`plan`]
//!    picks, JSON for the response schema ([`schemagen`], grounded in the prompt by
//!    [`grounding`]), or text;
//! 3. the provider renders the answer as chunks in its wire format;
//! 4. `emit` sends the chunks on a sampled [`latency::Schedule`], cutting the body when
//!    a fault says so.
//!
//! Replies are deterministic per (seed, request body); faults and latency samples come
//! from a per-request sequence seeded by `--seed`, so a run repeats.

pub mod faults;
pub mod grounding;
pub mod knobs;
pub mod latency;
pub mod plan;
pub mod scenario;
pub mod server;
mod text;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::body::{self, Body, collect_limited};
use crate::error::Error;
use crate::metrics::Metrics;
use crate::providers::{self, Answer, Ask, Call, Delivery, Rendered, Reply, ReplyBudget, tokens};
use crate::route::ModelCall;
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
    /// Requests generating at once (`--mock-workers`): work that needs a schema, tools, a
    /// scenario rule or a large body runs on the blocking pool, this many at a time.
    pub workers: usize,
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

/// The mock: [`Mock::serve`] and [`Mock::answer`] take a model call from request to
/// response. Work whose size the request decides (a large body, a response schema, tool
/// arguments, scenario templates, embeddings) runs on tokio's blocking pool, at most
/// `--mock-workers` at a time, so the async workers stay free for health checks and
/// streams; when the client goes away the work is cancelled. A small body asking for text
/// is answered in place (bounded work, cheaper than the hand-off). Latency is waited on
/// timers afterwards.
#[derive(Clone)]
pub struct Mock {
    engine: Arc<Engine>,
    /// Permits for CPU-bound work.
    workers: Arc<tokio::sync::Semaphore>,
    /// Where streaming tasks are spawned (tracked, so shutdown waits for open streams).
    tasks: TaskTracker,
}

/// The mock's synchronous core: from a request body to a prepared reply.
pub struct Engine {
    config: MockConfig,
    /// What `PUT /admin/mock` may change while the mock runs; read once per request.
    knobs: std::sync::RwLock<Arc<knobs::Knobs>>,
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
        headers: &'static [(&'static str, &'static str)],
        ending: Ending,
    },
}

/// Bodies up to this size are read on the async worker, and a reply that needs no schema,
/// tool or scenario rule is generated there too: that work is bounded (a few microseconds
/// of words and framing) and costs less than the hand-off to the blocking pool, two thread
/// wake-ups per request (BENCHMARKS.md, "Built-in mock: light replies inline").
const INLINE_BODY_MAX: usize = 16 * 1024;

/// Where [`Engine::begin`] left a request.
enum Begun {
    /// Answered already (malformed request, injected status fault).
    Done(Prepared),
    /// Read; the answer is still to plan and render ([`Engine::finish`]).
    Work(Box<Work>),
}

/// A request read and ready to answer.
struct Work {
    call: ModelCall,
    json: Value,
    /// The generation asked for; `None` for token counting and embeddings.
    ask: Option<(Ask, Delivery)>,
    chance: SmallRng,
    content: SmallRng,
    knobs: Arc<knobs::Knobs>,
    fault: Fault,
    /// Scenario rules are loaded (a rule may run a template).
    scenarios: bool,
}

impl Work {
    /// Bounded, small work: a generation without a response schema, tools or scenario
    /// rules (text, or JSON without a schema). Schemas, tool arguments, templates,
    /// embeddings and token counts go to the blocking pool.
    fn is_light(&self) -> bool {
        !self.scenarios
            && self.ask.as_ref().is_some_and(|(ask, _)| {
                ask.tools.is_empty() && ask.structured.as_ref().is_none_or(|s| s.schema.is_none())
            })
    }
}

/// How a reply's body ends.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ending {
    Whole,
    /// Cut half-way (the `--fault-cut` fault), a stream after the API's in-stream error
    /// event when it has one.
    Cut(Option<Bytes>),
}

/// What a grounded instance is grounded in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grounding {
    /// The whole prompt (structured output follows its template and echoes its ids).
    Prompt,
    /// The user's latest message alone (tool arguments).
    UserMessage,
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
    pub fn new(config: MockConfig, metrics: Arc<Metrics>, tasks: TaskTracker) -> Self {
        let workers = config.workers.max(1);
        Mock {
            engine: Arc::new(Engine {
                knobs: std::sync::RwLock::new(Arc::new(knobs::Knobs::from_config(&config))),
                config,
                sequence: AtomicU64::new(0),
                metrics,
            }),
            workers: Arc::new(tokio::sync::Semaphore::new(workers)),
            tasks,
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
        let engine = self.engine.clone();
        let work = if body.len() <= INLINE_BODY_MAX {
            // Reading a small body is bounded work: done here. What it asks for decides
            // where the rest runs.
            let mut reply = Reply::for_call(call);
            match engine.begin(call, query, body, &mut reply) {
                Begun::Done(prepared) => Ok((prepared, reply)),
                Begun::Work(work) if work.is_light() => {
                    let prepared = engine.finish(*work, &cancel, &mut reply);
                    Ok((prepared, reply))
                }
                Begun::Work(work) => {
                    self.on_pool(move || {
                        let prepared = engine.finish(*work, &cancel, &mut reply);
                        (prepared, reply)
                    })
                    .await
                }
            }
        } else {
            let (call, query, body) = (call.clone(), query.to_string(), body.clone());
            self.on_pool(move || engine.prepare(&call, &query, &body, &cancel))
                .await
        };
        let (prepared, reply) = match work {
            Ok(done) => done,
            Err(res) => return res,
        };
        let mut res = match prepared {
            Prepared::Now(res) => res,
            Prepared::After(wait, res) => {
                pause(wait).await;
                res
            }
            Prepared::Stream {
                rendered,
                headers,
                schedule,
                delivery,
                ending,
            } => {
                let mut res = emit(rendered, schedule, delivery, ending, &self.tasks).await;
                for (name, value) in headers {
                    res.headers_mut()
                        .insert(*name, http::HeaderValue::from_static(value));
                }
                res
            }
        };
        res.extensions_mut().insert(reply);
        res
    }

    /// Run `job` on the blocking pool under one of the `--mock-workers` permits.
    async fn on_pool<F>(&self, job: F) -> Result<(Prepared, Reply), http::Response<Body>>
    where
        F: FnOnce() -> (Prepared, Reply) + Send + 'static,
    {
        let Ok(permit) = self.workers.clone().acquire_owned().await else {
            return Err(Error::Internal("the mock's worker pool is closed".into()).into_response());
        };
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            job()
        })
        .await
        .map_err(|e| Error::Internal(format!("mock task failed: {e}")).into_response())
    }

    /// The knobs now in force.
    pub fn knobs(&self) -> knobs::Knobs {
        self.engine.knobs().as_ref().clone()
    }

    /// Change some knobs (a JSON object, see [`knobs::Knobs::apply`]); each change is
    /// logged with `by` (the client that asked). Returns the knobs now in force and the
    /// changes made.
    pub fn set_knobs(&self, patch: &Value, by: &str) -> Result<(knobs::Knobs, Vec<String>), String> {
        let mut slot = self.engine.knobs.write().unwrap_or_else(|p| p.into_inner());
        let (next, changes) = slot.apply(patch)?;
        for change in &changes {
            tracing::info!(by, change = %change, "mock knob changed");
        }
        *slot = Arc::new(next.clone());
        Ok((next, changes))
    }

    /// Decide the answer for `ask` (see [`Engine::plan`]).
    pub fn plan(&self, ask: &Ask, request: &Value, rng: &mut impl Rng) -> Result<Answer, String> {
        self.engine.plan(ask, request, rng)
    }
}

impl Engine {
    fn knobs(&self) -> Arc<knobs::Knobs> {
        self.knobs.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The latency for `model`: a scenario's per-model entry, else the knobs' default.
    fn latency(&self, model: &str, knobs: &knobs::Knobs) -> latency::Latency {
        match self
            .config
            .latency
            .models
            .iter()
            .find(|m| latency::glob(&m.pattern, model))
        {
            Some(m) => m.latency.clone(),
            None => latency::Latency {
                ttft: knobs.ttft.clone(),
                gap: knobs.gap.clone(),
            },
        }
    }

    /// Everything CPU-bound for one request, within the reply budget; `cancel` stops it.
    fn prepare(
        &self,
        call: &ModelCall,
        query: &str,
        body: &Bytes,
        cancel: &Arc<AtomicBool>,
    ) -> (Prepared, Reply) {
        let mut reply = Reply::for_call(call);
        let prepared = match self.begin(call, query, body, &mut reply) {
            Begun::Done(prepared) => prepared,
            Begun::Work(work) => self.finish(*work, cancel, &mut reply),
        };
        (prepared, reply)
    }

    /// The first part of [`Engine::prepare`], bounded by the body's size: parse the body,
    /// draw a fault, read what is asked. Notes what the reply is in `reply` as it is
    /// decided.
    fn begin(&self, call: &ModelCall, query: &str, body: &Bytes, reply: &mut Reply) -> Begun {
        let provider = providers::for_call(call);
        let invalid =
            |message: &str| Begun::Done(Prepared::Now(provider.error(StatusCode::BAD_REQUEST, message)));
        // A GET (a model list) has no body: read it as `{}`.
        let json: Value = match serde_json::from_slice(if body.is_empty() { b"{}" } else { body }) {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) => return invalid("the request body must be a JSON object"),
            Err(e) => return invalid(&format!("Invalid JSON payload received. {e}")),
        };
        let n = self.sequence.fetch_add(1, Ordering::Relaxed);
        let mut chance = SmallRng::seed_from_u64(mix(self.config.seed, n));
        let content = SmallRng::seed_from_u64(mix(self.config.seed, tokens::fnv1a(body)));
        let knobs = self.knobs();
        let faults = Faults {
            rate_429: knobs.fault_429,
            rate_500: knobs.fault_500,
            rate_503: knobs.fault_503,
            rate_cut: knobs.fault_cut,
            retry_after: self.config.faults.retry_after,
        };
        let fault = faults.draw(&mut chance);
        self.metrics.mock_fault(fault.name());
        if let Some(model) = json.get("model").and_then(Value::as_str) {
            reply.model = model.to_string();
        }
        if fault != Fault::None {
            reply.fault = Some(fault.name());
        }
        if let Fault::Status(status) = fault {
            return Begun::Done(Prepared::Now(self.fault_response(provider, status)));
        }
        let ask = match provider.generation(call, &json, query) {
            Ok(Some((mut ask, delivery))) => {
                ask.provider = call.api.name();
                Some((ask, delivery))
            }
            // Not a generation: token counting and embeddings.
            Ok(None) => None,
            Err(message) => return invalid(&message),
        };
        Begun::Work(Box::new(Work {
            call: call.clone(),
            json,
            ask,
            chance,
            content,
            knobs,
            fault,
            scenarios: !self.config.scenarios.rules.is_empty(),
        }))
    }

    /// The rest of [`Engine::prepare`]: plan the answer within the reply budget and
    /// render it; `cancel` stops it.
    fn finish(&self, work: Work, cancel: &Arc<AtomicBool>, reply: &mut Reply) -> Prepared {
        let Work {
            call,
            json,
            ask,
            mut chance,
            mut content,
            knobs,
            fault,
            ..
        } = work;
        let call = &call;
        let provider = providers::for_call(call);
        let invalid = |message: &str| Prepared::Now(provider.error(StatusCode::BAD_REQUEST, message));
        let Some((ask, delivery)) = ask else {
            // Token counting and embeddings answer after TTFT.
            let model = json.get("model").and_then(Value::as_str).unwrap_or(&call.model);
            let latency = self.latency(model, &knobs);
            let res = provider
                .utility(call, &json, &self.config.budget)
                .unwrap_or_else(|m| provider.error(StatusCode::BAD_REQUEST, &m));
            return Prepared::After(latency.ttft.sample(&mut chance), res);
        };
        reply.model = ask.model.clone();
        reply.tokens_in = tokens::count_tokens(&ask.prompt);
        reply.schema = ask.schema_title().map(String::from);
        let latency = self.latency(&ask.model, &knobs);
        let budget = self.config.budget.start(Some(cancel.clone()));
        let answer = match self.plan_within(&ask, &json, &mut content, &budget) {
            Ok(answer) => answer,
            Err(message) => return invalid(&message),
        };
        reply.tokens_out = tokens::answer_tokens(&answer);
        if let Answer::Calls(calls) = &answer {
            reply.functions = calls.iter().map(|c| c.name.clone()).collect();
        }
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
            return Prepared::Now(provider.error(*status, message));
        }
        let rendered = provider.render(
            call,
            &ask,
            &answer,
            delivery,
            self.config.chunk_words,
            &mut content,
        );
        let schedule = Schedule::sample(&latency, rendered.chunks, &mut chance);
        Prepared::Stream {
            rendered,
            headers: provider.reply_headers(call),
            schedule,
            delivery,
            ending: if fault == Fault::Cut {
                Ending::Cut(provider.cut_frame(call))
            } else {
                Ending::Whole
            },
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
            provider: ask.provider,
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
        let planning = plan::Planning {
            auto_call_rate: self.knobs().auto_call_rate,
            ..self.config.planning
        };
        let calls = plan::tools_to_call(ask, &planning, rng)?;
        if !calls.is_empty() {
            let mut out = Vec::with_capacity(calls.len());
            for tool in calls {
                let args = match &tool.schema {
                    Some((schema, dialect)) => self
                        .grounded(ask, schema, *dialect, Grounding::UserMessage, rng, budget)
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
                        .grounded(ask, schema, *dialect, Grounding::Prompt, rng, budget)
                        .map_err(|e| budget_hint(format!("response schema: {e}")))?;
                    Ok(Answer::Text(match value {
                        Value::String(s) => s,
                        other => other.to_string(),
                    }))
                }
                Some((schema, dialect)) => {
                    let value = self
                        .grounded(ask, schema, *dialect, Grounding::Prompt, rng, budget)
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
    /// Tool arguments are grounded in the user's message alone ([`Grounding`]).
    fn grounded(
        &self,
        ask: &Ask,
        schema: &Value,
        dialect: schemagen::Dialect,
        grounding: Grounding,
        rng: &mut impl Rng,
        budget: &schemagen::Budget,
    ) -> Result<Value, schemagen::SchemaError> {
        let generator = schemagen::Generator::new(schema, dialect)?;
        let prompt = match grounding {
            Grounding::Prompt => ask.prompt.as_str(),
            Grounding::UserMessage => "",
        };
        let mut grounder = grounding::Grounder::new(
            prompt,
            ask.latest_user.as_deref(),
            Some(generator.schema()),
            {
                let knobs = self.knobs();
                grounding::Rates {
                    match_rate: knobs.match_rate,
                    null_rate: knobs.null_rate,
                }
            },
            SmallRng::seed_from_u64(rng.r#gen()),
        );
        let template = grounder.template().cloned();
        generator.generate_guided(rng, template.as_ref(), &mut grounder, budget)
    }

    fn words(&self, rng: &mut impl Rng) -> String {
        let (lo, hi) = self.config.reply_words;
        text::words(rng.r#gen(), rng.gen_range(lo..=hi.max(lo))).join(" ")
    }

    fn fault_response(&self, provider: &dyn providers::Provider, status: StatusCode) -> http::Response<Body> {
        let message = match status {
            StatusCode::TOO_MANY_REQUESTS => {
                "shunt mock: injected fault: Resource exhausted. Please try again later."
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                "shunt mock: injected fault: The service is currently unavailable."
            }
            _ => "shunt mock: injected fault: Internal error encountered.",
        };
        let mut res = provider.error(status, message);
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

/// Combine the seed with a per-request value (splitmix64 finaliser).
fn mix(seed: u64, value: u64) -> u64 {
    let mut z = seed ^ value.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Deliver `rendered` on `schedule`. Streams send each frame when its time comes; a
/// whole reply waits the full schedule, then answers. [`Ending::Cut`] aborts the body
/// half-way.
async fn emit(
    rendered: Rendered,
    schedule: Schedule,
    delivery: Delivery,
    ending: Ending,
    tasks: &TaskTracker,
) -> http::Response<Body> {
    let content_type = rendered.content_type;
    let body = match delivery {
        Delivery::Whole => {
            pause(schedule.total()).await;
            let whole: Vec<u8> = rendered.frames.flat_map(|b| b.to_vec()).collect();
            if matches!(ending, Ending::Cut(_)) {
                let (tx, body) = body::channel(2);
                let half = Bytes::from(whole[..whole.len() / 2].to_vec());
                tasks.spawn(
                    async move {
                        let _ = tx.send(Ok(half)).await;
                        let _ = tx
                            .send(Err("shunt mock: injected fault: connection cut".into()))
                            .await;
                    }
                    .in_current_span(),
                );
                body
            } else {
                body::full(whole)
            }
        }
        Delivery::Sse | Delivery::JsonArray | Delivery::EventStream => {
            // Frames are built one at a time as the client takes them: the channel holds
            // two, so a slow reader slows the producer (and one that stops reading is cut
            // off by the connection's stall timeout).
            let (tx, body) = body::channel(2);
            let frames = rendered.frames;
            let (cut_at, last_words) = match ending {
                Ending::Cut(frame) => (Some(rendered.chunks.div_ceil(2).max(1)), frame),
                Ending::Whole => (None, None),
            };
            let cut = move |tx: body::Sender| async move {
                if let Some(frame) = last_words {
                    let _ = tx.send(Ok(frame)).await;
                }
                let _ = tx
                    .send(Err("shunt mock: injected fault: stream cut".into()))
                    .await;
            };
            let stream = async move {
                pause(schedule.first).await;
                for (i, frame) in frames.enumerate() {
                    if i > 0 {
                        let gap = schedule.gaps.get(i - 1).copied().unwrap_or_default();
                        pause(gap).await;
                    }
                    if cut_at == Some(i) {
                        return cut(tx).await;
                    }
                    if tx.send(Ok(frame)).await.is_err() {
                        return; // the client went away; stop producing
                    }
                }
                if cut_at.is_some() {
                    cut(tx).await;
                }
            };
            tasks.spawn(stream.in_current_span());
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
