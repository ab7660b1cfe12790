//! Backends: what answers a request once [`crate::route`] has classified it. Backends
//! never touch sockets; they take a request and return a response (or an [`Error`]).

pub mod admin;
pub mod metadata;
pub mod mock;
pub mod record;
pub mod token;
pub mod upstream;

use crate::body::Body;
use crate::error::Error;
use crate::route::{ModelCall, Route};

/// Where model calls go (`--upstream`).
pub enum ModelBackend {
    /// The embedded mock.
    Builtin(Box<mock::Mock>),
    /// A mock-llm service over plain HTTP.
    Forward(Box<upstream::Forwarder>),
}

/// The backends one shunt process serves with.
pub struct Backends {
    pub model: ModelBackend,
    pub token: std::sync::Arc<token::TokenIssuer>,
    pub metadata: metadata::Metadata,
    /// Plain-HTTP proxying for absolute-form requests to tunnelled hosts.
    pub origin: upstream::OriginClient,
    /// `--record`: model and token calls go to the real hosts and are stored.
    pub record: Option<record::Recorder>,
    /// `--replay`: model and token calls are answered from recordings.
    pub replay: Option<record::Replayer>,
}

impl Backends {
    /// Answer an intercepted request. `host` is only for error messages.
    pub async fn serve(
        &self,
        route: Route,
        req: http::Request<Body>,
        host: &str,
    ) -> Result<http::Response<Body>, Error> {
        if matches!(route, Route::Token | Route::Model(_)) {
            if let Some(recorder) = &self.record {
                return recorder.forward(host, req).await;
            }
            if let Some(replayer) = &self.replay {
                let (method, path) = (req.method().to_string(), req.uri().path().to_string());
                let req = match replayer.lookup(req).await? {
                    record::Replay::Hit(res) => return Ok(res),
                    record::Replay::Miss(req) => req,
                };
                if replayer.miss == record::ReplayMiss::Error {
                    return Err(Error::NoRecording {
                        method,
                        host: host.to_string(),
                        path,
                    });
                }
                return self.dispatch(route, req, host).await;
            }
        }
        self.dispatch(route, req, host).await
    }

    /// The configured backend for a route (record / replay aside).
    async fn dispatch(
        &self,
        route: Route,
        req: http::Request<Body>,
        host: &str,
    ) -> Result<http::Response<Body>, Error> {
        match route {
            Route::Token => self.token.serve(req).await,
            Route::Metadata => self.metadata.serve(&req),
            Route::Model(call) => self.model(call, req).await,
            Route::NotFound => Err(Error::NotFound {
                method: req.method().to_string(),
                host: host.to_string(),
                path: req.uri().path().to_string(),
            }),
        }
    }

    async fn model(&self, call: ModelCall, req: http::Request<Body>) -> Result<http::Response<Body>, Error> {
        match &self.model {
            ModelBackend::Builtin(mock) => mock.serve(&call, req).await,
            ModelBackend::Forward(forwarder) => forwarder.forward(&call, req).await,
        }
    }
}
