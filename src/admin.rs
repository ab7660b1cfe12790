//! shunt's own pages, on its listener (and `/health`, `/metrics` on `shunt mock`):
//! `/healthz`, `/ca.pem` (the public CA; `ca-key.pem` is never served), `/metrics`, `/`.

use http::StatusCode;

use crate::body::{Body, typed_response};
use crate::metrics::Metrics;
use crate::route::AdminPage;

/// The response for `page`; `ca_pem` is the CA to serve (none on `shunt mock`).
pub fn page(page: AdminPage, ca_pem: Option<&str>, metrics: &Metrics) -> http::Response<Body> {
    match (page, ca_pem) {
        (AdminPage::Health, _) => typed_response(StatusCode::OK, "text/plain; charset=utf-8", "ok\n"),
        (AdminPage::CaPem, Some(pem)) => {
            typed_response(StatusCode::OK, "application/x-pem-file", pem.to_string())
        }
        (AdminPage::Metrics, _) => typed_response(
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            metrics.render(),
        ),
        (AdminPage::Index, _) | (AdminPage::CaPem, None) => typed_response(
            StatusCode::OK,
            "text/plain; charset=utf-8",
            "shunt: an HTTPS_PROXY sidecar that answers Vertex AI with a mock.\n\
             Endpoints: /healthz /metrics /ca.pem; set HTTPS_PROXY to this address.\n",
        ),
    }
}
