//! shunt's own endpoints, reached with origin-form requests: `/healthz`, `/ca.pem`,
//! `/metrics`. `ca-key.pem` is never served.

use http::StatusCode;

use crate::body::{Body, typed_response};

/// Which admin endpoint a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admin {
    Health,
    CaPem,
    Metrics,
}

impl Admin {
    pub fn from_path(path: &str) -> Option<Admin> {
        match path {
            "/healthz" | "/health" => Some(Admin::Health),
            "/ca.pem" => Some(Admin::CaPem),
            "/metrics" => Some(Admin::Metrics),
            _ => None,
        }
    }
}

pub fn health() -> http::Response<Body> {
    typed_response(StatusCode::OK, "text/plain; charset=utf-8", "ok\n")
}

pub fn ca_pem(pem: &str) -> http::Response<Body> {
    typed_response(StatusCode::OK, "application/x-pem-file", pem.to_string())
}

pub fn metrics(text: String) -> http::Response<Body> {
    typed_response(
        StatusCode::OK,
        "application/openmetrics-text; version=1.0.0; charset=utf-8",
        text,
    )
}
