//! One exchange: a request shunt answers (on an intercepted host, through the plain-HTTP
//! proxy, or to its own listener), from its route to its log line. An [`Exchange`] is
//! created once by [`Exchange::begin`] (which starts its capture) and finished once by
//! [`Exchange::finish`] (one log line, one metric, the capture record), the way pingora's
//! per-request context or mitmproxy's flow carry one request through a proxy.
//!
//! Tunnels and denials are not exchanges (nothing is answered by shunt's backends): they
//! have their own log lines, counters ([`crate::metrics`]) and capture records, here too.

use std::time::{Duration, Instant};

use http::Method;

use crate::app::App;
use crate::body::{self, Body};
use crate::capture::Pending;
use crate::capture::record::LlmUsage;
use crate::clock::Millis;
use crate::dashboard::stats::Done;
use crate::error::Error;
use crate::route::Route;

/// How the request reached shunt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Inside an intercepted TLS session.
    Https,
    /// A plain-HTTP proxy request, or one to shunt's own listener.
    Http,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Https => "https",
            Scheme::Http => "http",
        }
    }
}

/// One request/response pair and everything known about it.
pub struct Exchange<'a> {
    app: &'a App,
    /// The client connection it arrived on.
    pub conn: u64,
    pub host: String,
    pub scheme: Scheme,
    pub route: Route,
    pub method: Method,
    pub path: String,
    started: Instant,
    /// The capture record being assembled, when capturing.
    capture: Option<Pending>,
}

impl<'a> Exchange<'a> {
    /// Start an exchange: note what it is and start teeing its bodies into the capture.
    pub fn begin(
        app: &'a App,
        conn: u64,
        host: &str,
        scheme: Scheme,
        route: Route,
        req: http::Request<Body>,
    ) -> (Exchange<'a>, http::Request<Body>) {
        let (req, capture) = match &app.capture {
            Some(c) => {
                let (req, pending) = c.begin(conn, route.name(), host, scheme.as_str(), req);
                (req, Some(pending))
            }
            None => (req, None),
        };
        let exchange = Exchange {
            app,
            conn,
            host: host.to_string(),
            scheme,
            method: req.method().clone(),
            path: req.uri().path().to_string(),
            route,
            started: Instant::now(),
            capture,
        };
        (exchange, req)
    }

    /// Begin, ask the backends, finish: the whole life of an exchange.
    pub async fn serve<B>(
        app: &'a App,
        conn: u64,
        host: &str,
        scheme: Scheme,
        route: Route,
        req: http::Request<B>,
    ) -> http::Response<Body>
    where
        B: http_body::Body<Data = bytes::Bytes> + Send + Sync + 'static,
        B::Error: Into<body::BoxError>,
    {
        let http1 = req.version() < http::Version::HTTP_2;
        let (exchange, req) = Exchange::begin(app, conn, host, scheme, route, req.map(body::boxed));
        let res = app.backends.serve(&exchange.route, req, &exchange.host).await;
        // The request body went to an upstream that failed, or was refused part-way: hyper
        // cannot reuse an HTTP/1 connection whose request body was not read to the end and
        // closes it after this response. Say so, or the client's next request on the
        // connection meets a closed socket instead of an answer.
        let unread = matches!(&res, Err(e) if e.blame() == crate::error::Blame::Upstream
            || matches!(e, Error::BodyTooLarge { .. } | Error::BodyRead(_)));
        let mut res = exchange.finish(res);
        if http1 && unread {
            res.headers_mut()
                .insert(http::header::CONNECTION, http::HeaderValue::from_static("close"));
        }
        res
    }

    /// Turn the backend's result into the response: one log line, one metric, the
    /// capture record, and the meter that counts the exchange on the dashboard when its
    /// body ends.
    pub fn finish(self, res: Result<http::Response<Body>, Error>) -> http::Response<Body> {
        let elapsed = self.started.elapsed();
        let route = self.route.name();
        let res = match res {
            Ok(res) => {
                let status = res.status().as_u16();
                tracing::info!(
                    conn = self.conn, scheme = %self.scheme.as_str(),
                    host = %self.host, route = %route, method = %self.method, path = %self.path, status,
                    latency_ms = %Millis(elapsed), "exchange"
                );
                res
            }
            Err(err) => {
                let status = err.status().as_u16();
                tracing::warn!(
                    conn = self.conn, scheme = %self.scheme.as_str(),
                    host = %self.host, route = %route, method = %self.method, path = %self.path, status,
                    blame = %err.blame().as_str(), error = %err,
                    latency_ms = %Millis(elapsed), "exchange failed"
                );
                err.into_response()
            }
        };
        let status = res.status().as_u16();
        self.app.metrics.observe_request(route, status, elapsed);
        let done = self.done(&res);
        let llm = (done.tokens_in + done.tokens_out > 0).then(|| LlmUsage {
            provider: done.provider.clone(),
            model: done.model.clone(),
            tokens_in: done.tokens_in,
            tokens_out: done.tokens_out,
            cost_usd: done.cost_usd,
            schema: done.schema.clone(),
            functions: done.functions.clone(),
        });
        let (app, started) = (self.app, self.started);
        let res = match self.capture {
            Some(pending) => pending.finish(res, llm),
            None => res,
        };
        app.observer.meter(res, done, started)
    }

    /// What the dashboard counts of this exchange (see [`crate::dashboard::done`]).
    fn done(&self, res: &http::Response<Body>) -> Done {
        Done {
            record: self.capture.as_ref().map(Pending::id),
            ..crate::dashboard::done(
                &self.route,
                &self.method,
                &self.path,
                res,
                &self.app.observer.prices,
            )
        }
    }
}

/// A policy denial: 403 naming the reason; logged, counted and captured.
pub fn deny(app: &App, conn: u64, host: &str, port: u16, reason: String) -> http::Response<Body> {
    tracing::info!(host = %host, port, reason = %reason, status = 403, "denied");
    app.metrics.denied();
    if let Some(capture) = &app.capture {
        capture.denial(conn, host, port, &reason);
    }
    Error::Denied {
        host: host.to_string(),
        reason,
    }
    .into_response()
}

/// A tunnel that could not open: logged and counted; the error is the client's answer.
pub fn tunnel_failed(app: &App, err: Error) -> http::Response<Body> {
    tracing::info!(error = %err, status = err.status().as_u16(), "tunnel failed");
    app.metrics.tunnel(err.status().as_u16());
    err.into_response()
}

/// A tunnel that opened.
pub fn tunnel_opened(app: &App) {
    app.metrics.tunnel(200);
}

/// A tunnel that closed: its byte counts in the log and the capture.
pub fn tunnel_closed(
    app: &App,
    conn: u64,
    host: &str,
    port: u16,
    lasted: Duration,
    bytes: Option<(u64, u64)>,
) {
    let (up, down) = bytes.unwrap_or((0, 0));
    tracing::info!(host = %host, port, bytes_up = up, bytes_down = down, lasted_ms = %Millis(lasted), "tunnel closed");
    if let Some(capture) = &app.capture {
        capture.tunnel(conn, host, port, lasted, up, down);
    }
}
