//! Errors shunt itself produces while serving a request, and the one place that turns
//! them into responses.
//!
//! Every error body is Google-style JSON (`{"error":{"code","message","status"}}`) so the
//! SDKs raise a readable exception; the message always starts with `shunt:` and says what
//! failed and what to do.

use std::time::Duration;

use http::StatusCode;
use serde_json::json;

use crate::body::{Body, json_response};

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

/// An error that ends one exchange with a response shunt writes itself.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("upstream {upstream} refused the connection: {detail}")]
    UpstreamRefused { upstream: String, detail: String },
    #[error("upstream {upstream} did not answer within {}s", after.as_secs_f64())]
    UpstreamTimeout { upstream: String, after: Duration },
    #[error("upstream {upstream} failed: {detail}")]
    Upstream { upstream: String, detail: String },
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
    #[error("request body exceeds the {limit}-byte limit for this route")]
    BodyTooLarge { limit: usize },
    #[error("missing required header Metadata-Flavor: Google")]
    MetadataFlavorMissing,
    #[error("{host} is denied: {reason}")]
    Denied { host: String, reason: String },
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// Whose fault the error is.
    pub fn blame(&self) -> Blame {
        match self {
            Error::UpstreamRefused { .. } | Error::UpstreamTimeout { .. } | Error::Upstream { .. } => {
                Blame::Upstream
            }
            Error::NotFound { .. }
            | Error::NoRecording { .. }
            | Error::BadRequest(_)
            | Error::BodyTooLarge { .. }
            | Error::MetadataFlavorMissing => Blame::Client,
            Error::Denied { .. } => Blame::Policy,
            Error::Internal(_) => Blame::Internal,
        }
    }

    /// HTTP status and the Google RPC status name for this error.
    pub fn status(&self) -> (StatusCode, &'static str) {
        match self {
            Error::UpstreamRefused { .. } | Error::Upstream { .. } => {
                (StatusCode::BAD_GATEWAY, "UNAVAILABLE")
            }
            Error::UpstreamTimeout { .. } => (StatusCode::GATEWAY_TIMEOUT, "DEADLINE_EXCEEDED"),
            Error::NotFound { .. } | Error::NoRecording { .. } => (StatusCode::NOT_FOUND, "NOT_FOUND"),
            Error::BadRequest(_) => (StatusCode::BAD_REQUEST, "INVALID_ARGUMENT"),
            Error::BodyTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "INVALID_ARGUMENT"),
            Error::MetadataFlavorMissing | Error::Denied { .. } => {
                (StatusCode::FORBIDDEN, "PERMISSION_DENIED")
            }
            Error::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL"),
        }
    }

    /// The only place an error becomes a status and a body.
    pub fn into_response(self) -> http::Response<Body> {
        let (status, rpc_status) = self.status();
        google_error(status, rpc_status, &format!("shunt: {self}"))
    }
}

/// A Google-style error response (`{"error":{"code","message","status"}}`).
///
/// Also used by the mock for the faults it injects, so both look the same to a client.
pub fn google_error(status: StatusCode, rpc_status: &str, message: &str) -> http::Response<Body> {
    json_response(
        status,
        &json!({"error": {"code": status.as_u16(), "message": message, "status": rpc_status}}),
    )
}
