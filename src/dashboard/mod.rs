//! The live dashboard (`GET /ui`) and what feeds it. Every response shunt (or `shunt
//! mock`) answers is [`Observer::meter`]ed: its body is watched for the first byte and the
//! end, and the finished exchange goes to the [`stats::Stats`] behind the page and to the
//! GenAI metrics. `/ui/stream` pushes a snapshot every second (server-sent events); the page
//! itself (`ui.html`) is compiled in, with no external asset.

pub mod stats;

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};

use crate::body::{self, Body, BoxError};
use crate::cost::{Prices, Tokens};
use crate::metrics::Metrics;
use crate::providers::Reply;
use crate::route::Route;
use stats::{Done, Stats};

/// The page, with its script and styles inline.
pub const PAGE: &str = include_str!("ui.html");

/// How often `/ui/stream` sends a snapshot.
pub const TICK: Duration = Duration::from_secs(1);

/// Where finished exchanges go: the dashboard's stats and the GenAI metrics.
#[derive(Debug)]
pub struct Observer {
    pub stats: Stats,
    pub metrics: Arc<Metrics>,
    pub prices: Prices,
}

impl Observer {
    pub fn new(metrics: Arc<Metrics>, prices: Prices) -> Observer {
        Observer {
            stats: Stats::new(),
            metrics,
            prices,
        }
    }

    /// Watch `res`'s body; when it ends (or is dropped) the exchange `done` describes is
    /// counted with its time to first byte and its total time from `started`.
    pub fn meter(
        self: &Arc<Self>,
        res: http::Response<Body>,
        done: Done,
        started: Instant,
    ) -> http::Response<Body> {
        let (parts, inner) = res.into_parts();
        self.stats.stream_started();
        let body = Meter {
            inner,
            started,
            first: None,
            done: Some(done),
            observer: self.clone(),
        };
        http::Response::from_parts(parts, body::boxed_dyn(body))
    }

    fn finished(&self, mut done: Done, ttfb: Duration, total: Duration, broken: bool) {
        self.stats.stream_ended();
        done.ttfb = ttfb;
        done.total = total;
        done.broken = broken;
        self.metrics.genai(&done);
        self.stats.record(done);
    }
}

/// What the dashboard counts of an exchange on `route` answered with `res`: for a model
/// call the API, model and operation, and when the built-in mock answered (its
/// [`Reply`] rides on the response) the tokens, the schema, the functions called, the
/// fault and the estimated cost.
pub fn done(
    route: &Route,
    method: &http::Method,
    path: &str,
    res: &http::Response<Body>,
    prices: &Prices,
) -> Done {
    let mut done = Done {
        route: route.name(),
        method: method.to_string(),
        path: path.to_string(),
        status: res.status().as_u16(),
        ..Done::default()
    };
    if let Route::Model(call) = route {
        done.provider = call.api.name().to_string();
        done.model = call.model.clone();
        done.operation = call.verb.operation();
    }
    if let Some(reply) = res.extensions().get::<Reply>() {
        done.model = reply.model.clone();
        done.tokens_in = reply.tokens_in;
        done.tokens_out = reply.tokens_out;
        done.schema = reply.schema.clone();
        done.functions = reply.functions.clone();
        done.fault = reply.fault;
        if reply.tokens_in + reply.tokens_out > 0 {
            let tokens = Tokens {
                input: reply.tokens_in,
                output: reply.tokens_out,
                ..Tokens::default()
            };
            done.cost_usd = prices.estimate(reply.provider, &reply.model, tokens);
        }
    }
    done
}

/// A response body that reports its first byte and its end to the [`Observer`].
struct Meter {
    inner: Body,
    started: Instant,
    first: Option<Duration>,
    done: Option<Done>,
    observer: Arc<Observer>,
}

impl Meter {
    fn end(&mut self, broken: bool) {
        if let Some(done) = self.done.take() {
            let total = self.started.elapsed();
            self.observer
                .finished(done, self.first.unwrap_or(total), total, broken);
        }
    }
}

impl HttpBody for Meter {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if self.first.is_none() && frame.is_data() {
                    self.first = Some(self.started.elapsed());
                }
            }
            Poll::Ready(Some(Err(_))) => self.end(true),
            Poll::Ready(None) => self.end(false),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Meter {
    fn drop(&mut self) {
        // Dropped before its end: the client went away (or a body that never polls).
        let empty = self.inner.is_end_stream();
        self.end(!empty);
    }
}
