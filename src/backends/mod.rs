//! Backends: what answers a request once [`crate::route`] has classified it. A backend
//! takes a request and returns a response (or an [`Error`]); the ones that forward open
//! their own upstream connections, none of them sees the client's.
//!
//! Model calls go to one [`ModelSource`]: the built-in mock, a mock-llm service, the real
//! hosts (recording) or recordings (replay).

pub mod cassette;
pub mod metadata;
pub mod token;
pub mod upstream;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::body::Body;
use crate::error::Error;
use crate::mock::Mock;
use crate::route::Route;

/// Where model calls go (`--upstream`, `--record`, `--replay`).
#[allow(clippy::large_enum_variant)] // one per process
pub enum ModelSource {
    /// The embedded mock (`--upstream builtin`).
    Builtin(Mock),
    /// A mock-llm service over plain HTTP (`--upstream http://HOST:PORT`).
    Forward(upstream::Forwarder),
    /// The real Google hosts, each exchange stored (`--record DIR`). Token calls go
    /// there too: the app's own credentials are used.
    Record(cassette::Recorder),
    /// Stored exchanges (`--replay DIR`). A request with no recording goes to
    /// `fallback` (`--replay-miss upstream`), or fails with 404. Token calls are answered
    /// by shunt's own issuer: recordings never hold credentials.
    Replay {
        replayer: cassette::Replayer,
        fallback: Option<Box<ModelSource>>,
    },
}

/// The backends one shunt process serves with.
pub struct Backends {
    pub model: ModelSource,
    pub token: Arc<token::TokenIssuer>,
    pub metadata: metadata::Metadata,
    /// Plain-HTTP proxying for absolute-form requests to tunnelled hosts.
    pub origin: upstream::OriginClient,
}

type Answer<'a> = Pin<Box<dyn Future<Output = Result<http::Response<Body>, Error>> + Send + 'a>>;

impl Backends {
    /// The built-in mock, when it answers model calls (directly or on replay misses).
    pub fn builtin_mock(&self) -> Option<&Mock> {
        match &self.model {
            ModelSource::Builtin(mock) => Some(mock),
            ModelSource::Replay {
                fallback: Some(f), ..
            } => match f.as_ref() {
                ModelSource::Builtin(mock) => Some(mock),
                _ => None,
            },
            _ => None,
        }
    }

    /// Answer a routed request. `host` is the host the client named (for record mode and
    /// error messages).
    pub async fn serve(
        &self,
        route: &Route,
        req: http::Request<Body>,
        host: &str,
    ) -> Result<http::Response<Body>, Error> {
        match route {
            Route::Token | Route::Model(_) => self.answer_from(&self.model, route, req, host).await,
            Route::Metadata => self.metadata.serve(&req),
            Route::Origin => self.origin.forward(req).await,
            // Admin pages are answered before an exchange begins; one reaching here has
            // no backend.
            Route::Admin(_) | Route::NotFound => Err(Error::NotFound {
                method: req.method().to_string(),
                host: host.to_string(),
                path: req.uri().path().to_string(),
            }),
        }
    }

    /// A token or model call answered by `source` (boxed: a replay miss recurses into
    /// its fallback).
    fn answer_from<'a>(
        &'a self,
        source: &'a ModelSource,
        route: &'a Route,
        req: http::Request<Body>,
        host: &'a str,
    ) -> Answer<'a> {
        Box::pin(async move {
            match (source, route) {
                (ModelSource::Record(recorder), _) => recorder.forward(host, req).await,
                (ModelSource::Replay { .. }, Route::Token) => self.token.serve(req).await,
                (ModelSource::Replay { replayer, fallback }, _) => {
                    let (method, path) = (req.method().to_string(), req.uri().path().to_string());
                    match (replayer.lookup(req).await?, fallback) {
                        (cassette::Replay::Hit(res), _) => Ok(res),
                        (cassette::Replay::Miss(req), Some(next)) => {
                            self.answer_from(next, route, req, host).await
                        }
                        (cassette::Replay::Miss(_), None) => Err(Error::NoRecording {
                            method,
                            host: host.to_string(),
                            path,
                        }),
                    }
                }
                (ModelSource::Builtin(mock), Route::Model(call)) => mock.serve(call, req).await,
                (ModelSource::Forward(forwarder), Route::Model(call)) => forwarder.forward(call, req).await,
                // Live sources leave tokens to shunt's own issuer.
                (ModelSource::Builtin(_) | ModelSource::Forward(_), _) => self.token.serve(req).await,
            }
        })
    }
}
