//! The client-facing side: one HTTP/1.1 listener that takes CONNECT ([`connect`]),
//! absolute-form plain-HTTP proxy requests, and origin-form requests to shunt itself.
//! This module only dispatches; what answers is decided by [`crate::policy`],
//! [`crate::route`] and the [`crate::backend`]s.

pub mod connect;
pub mod intercept;
pub mod tunnel;

use std::sync::Arc;
use std::time::Instant;

use http::Method;
use hyper::body::Incoming;

use crate::app::App;
use crate::backend::admin::{self, Admin};
use crate::backend::metadata::Metadata;
use crate::body::{Body, typed_response};
use crate::error::Error;
use crate::policy::{Decision, Service, normalize_host};
use crate::route;

/// Entry point for every request on the proxy listener.
pub async fn handle(req: http::Request<Incoming>, app: Arc<App>) -> http::Response<Body> {
    if req.method() == Method::CONNECT {
        return connect::handle(req, app).await;
    }
    match req.uri().authority().map(|a| a.host().to_string()) {
        Some(host) => absolute_form(req, &app, &host).await,
        None => origin_form(req, &app).await,
    }
}

/// `GET http://host/path`: the plain-HTTP proxy path (GCE metadata with `HTTP_PROXY`).
async fn absolute_form(req: http::Request<Incoming>, app: &App, host: &str) -> http::Response<Body> {
    let host = normalize_host(host);
    match app.policy.decide(&host) {
        Decision::Intercept(service) => serve_intercepted(req, app, service, &host).await,
        Decision::Tunnel => {
            let started = Instant::now();
            let (method, path) = (req.method().clone(), req.uri().path().to_string());
            let res = app.backends.origin.forward(req).await;
            finish(app, "plain_http", &host, &method, &path, started, res)
        }
        Decision::Deny(reason) => deny(app, &host, reason),
    }
}

/// Requests to shunt itself: admin endpoints, and the metadata server for apps that
/// point `GCE_METADATA_HOST` / `GCE_METADATA_IP` at shunt.
async fn origin_form(req: http::Request<Incoming>, app: &App) -> http::Response<Body> {
    let started = Instant::now();
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    if let Some(which) = Admin::from_path(&path) {
        // Admin endpoints are not exchanges worth a log line or a metric each.
        return match which {
            Admin::Health => admin::health(),
            Admin::CaPem => admin::ca_pem(app.ca.cert_pem()),
            Admin::Metrics => admin::metrics(app.metrics.render()),
        };
    }
    let is_metadata = path.starts_with("/computeMetadata/") || (path == "/" && Metadata::has_flavor(&req));
    if is_metadata {
        let res = app.backends.metadata.serve(&req);
        return finish(
            app,
            "metadata",
            "metadata.google.internal",
            &method,
            &path,
            started,
            res,
        );
    }
    if path == "/" && method == Method::GET {
        return typed_response(
            http::StatusCode::OK,
            "text/plain; charset=utf-8",
            "shunt: an HTTPS_PROXY sidecar that answers Vertex AI with a mock.\n\
             Endpoints: /healthz /metrics /ca.pem; set HTTPS_PROXY to this address.\n",
        );
    }
    let res = Err(Error::NotFound {
        method: method.to_string(),
        host: "shunt".into(),
        path: path.clone(),
    });
    finish(app, "not_found", "shunt", &method, &path, started, res)
}

/// Route and answer a request addressed to an intercepted host (inside TLS, or plain).
pub async fn serve_intercepted(
    req: http::Request<Incoming>,
    app: &App,
    service: Service,
    host: &str,
) -> http::Response<Body> {
    let started = Instant::now();
    let route = route::classify(service, req.uri().path());
    let route_name = route.name();
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    let res = app.backends.serve(route, req, host).await;
    finish(app, route_name, host, &method, &path, started, res)
}

/// A policy denial as a 403, logged and counted.
pub fn deny(app: &App, host: &str, reason: String) -> http::Response<Body> {
    tracing::info!(host, reason = %reason, status = 403, "denied");
    app.metrics
        .observe_request("deny", 403, std::time::Duration::ZERO);
    Error::Denied {
        host: host.to_string(),
        reason,
    }
    .into_response()
}

/// Turn a backend result into a response; one log line and one metric per exchange.
fn finish(
    app: &App,
    route: &'static str,
    host: &str,
    method: &Method,
    path: &str,
    started: Instant,
    res: Result<http::Response<Body>, Error>,
) -> http::Response<Body> {
    let elapsed = started.elapsed();
    let res = match res {
        Ok(res) => res,
        Err(err) => {
            let (status, _) = err.status();
            tracing::warn!(host, route, %method, path, status = status.as_u16(), blame = ?err.blame(), error = %err, "exchange failed");
            err.into_response()
        }
    };
    let status = res.status().as_u16();
    tracing::info!(host, route, %method, path, status, latency_ms = elapsed.as_secs_f64() * 1e3, "exchange");
    app.metrics.observe_request(route, status, elapsed);
    res
}
