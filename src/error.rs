//! Errors shunt itself produces while serving a request, and the one place that turns
//! them into responses.
//!
//! Every error body is Google-style JSON (`{"error":{"code","message","status"}}`) so the
//! SDKs raise a readable exception; the message always starts with `shunt:` and says what
//! failed and what to do. Errors keep their cause (`source()`), for logs.

use std::time::Duration;

use http::StatusCode;
use serde_json::json;

use crate::body::{Body, BoxError, ReadError, json_response};

/// Who is at fault, for logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blame {
    /// The client sent something shunt cannot serve.
    Client,
    /// The configured upstream (mock-llm or origin) failed.
    Upstream,
    /// Policy: shunt refused on purpose.
    Policy,
    /// A bug or resource problem in shunt.
    Internal,
}

impl Blame {
    pub fn as_str(self) -> &'static str {
        match self {
            Blame::Client => "client",
            Blame::Upstream => "upstream",
            Blame::Policy => "policy",
            Blame::Internal => "internal",
        }
    }
}

/// An error that ends one exchange with a response shunt writes itself.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot resolve {upstream}: {}", root_cause(source.as_ref()))]
    UpstreamUnresolved {
        upstream: String,
        #[source]
        source: BoxError,
    },
    #[error("upstream {upstream} refused the connection: {}", root_cause(source.as_ref()))]
    UpstreamRefused {
        upstream: String,
        #[source]
        source: BoxError,
    },
    #[error("upstream {upstream} did not answer within {}s", after.as_secs_f64())]
    UpstreamTimeout { upstream: String, after: Duration },
    #[error(
        "TLS verification failed for {upstream}: {}; for an origin with a private CA, pass it with --origin-ca",
        root_cause(source.as_ref())
    )]
    UpstreamTls {
        upstream: String,
        #[source]
        source: BoxError,
    },
    #[error("upstream {upstream} failed: {}", root_cause(source.as_ref()))]
    Upstream {
        upstream: String,
        #[source]
        source: BoxError,
    },
    #[error("no route for {method} https://{host}{path}")]
    NotFound {
        method: String,
        host: String,
        path: String,
    },
    #[error(
        "no recording for {method} https://{host}{path}; record it with --record, or run with --replay-miss upstream"
    )]
    NoRecording {
        method: String,
        host: String,
        path: String,
    },
    #[error("{0}")]
    BadRequest(String),
    #[error("could not read the request body: {}", root_cause(.0.as_ref()))]
    BodyRead(#[source] BoxError),
    #[error("request body exceeds the {limit}-byte limit for this route")]
    BodyTooLarge { limit: usize },
    #[error("missing required header Metadata-Flavor: Google")]
    MetadataFlavorMissing,
    #[error("{host} is denied: {reason}")]
    Denied { host: String, reason: String },
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<ReadError> for Error {
    fn from(e: ReadError) -> Error {
        match e {
            ReadError::TooLarge { limit } => Error::BodyTooLarge { limit },
            ReadError::Failed(source) => Error::BodyRead(source),
        }
    }
}

impl Error {
    /// Whose fault the error is.
    pub fn blame(&self) -> Blame {
        match self {
            Error::UpstreamUnresolved { .. }
            | Error::UpstreamRefused { .. }
            | Error::UpstreamTimeout { .. }
            | Error::UpstreamTls { .. }
            | Error::Upstream { .. } => Blame::Upstream,
            Error::NotFound { .. }
            | Error::NoRecording { .. }
            | Error::BadRequest(_)
            | Error::BodyRead(_)
            | Error::BodyTooLarge { .. }
            | Error::MetadataFlavorMissing => Blame::Client,
            Error::Denied { .. } => Blame::Policy,
            Error::Internal(_) => Blame::Internal,
        }
    }

    /// The HTTP status for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::UpstreamUnresolved { .. }
            | Error::UpstreamRefused { .. }
            | Error::UpstreamTls { .. }
            | Error::Upstream { .. } => StatusCode::BAD_GATEWAY,
            Error::UpstreamTimeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            Error::NotFound { .. } | Error::NoRecording { .. } => StatusCode::NOT_FOUND,
            Error::BadRequest(_) | Error::BodyRead(_) => StatusCode::BAD_REQUEST,
            Error::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Error::MetadataFlavorMissing | Error::Denied { .. } => StatusCode::FORBIDDEN,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The only place an error becomes a status and a body.
    pub fn into_response(self) -> http::Response<Body> {
        let status = self.status();
        google_error(status, &format!("shunt: {self}"))
    }
}

/// The Google RPC status name for an HTTP status: the one table shunt's errors, the
/// mock's faults and its scenario errors share.
pub fn rpc_status(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 | 413 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        501 => "UNIMPLEMENTED",
        502 | 503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        402 | 405..=408 | 410..=412 | 414..=428 | 430..=498 => "FAILED_PRECONDITION",
        _ => "INTERNAL",
    }
}

/// A Google-style error response (`{"error":{"code","message","status"}}`), its RPC
/// status from [`rpc_status`].
///
/// Also used by the mock for the faults it injects, so both look the same to a client.
pub fn google_error(status: StatusCode, message: &str) -> http::Response<Body> {
    json_response(
        status,
        &json!({"error": {"code": status.as_u16(), "message": message, "status": rpc_status(status)}}),
    )
}

/// The innermost cause's message (e.g. "Connection refused (os error 111)").
pub fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = err;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}
