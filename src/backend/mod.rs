//! Backends: what answers a request once [`crate::route`] has classified it. Backends
//! never touch sockets; they take a request and return a response (or an [`Error`]).

pub mod admin;
pub mod metadata;
pub mod mock;
pub mod token;
pub mod upstream;

use hyper::body::Incoming;

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
}

impl Backends {
    /// Answer an intercepted request. `host` is only for error messages.
    pub async fn serve(
        &self,
        route: Route,
        req: http::Request<Incoming>,
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

    async fn model(
        &self,
        call: ModelCall,
        req: http::Request<Incoming>,
    ) -> Result<http::Response<Body>, Error> {
        match &self.model {
            ModelBackend::Builtin(mock) => mock.serve(&call, req).await,
            ModelBackend::Forward(forwarder) => forwarder.forward(&call, req).await,
        }
    }
}
