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

use crate::app::{App, ClientConn};
use crate::backend::admin::{self, Admin};
use crate::backend::metadata::Metadata;
use crate::body::{self, Body, typed_response};
use crate::error::Error;
use crate::policy::{Decision, Service, normalize_host};
use crate::route;

/// Entry point for every request on the proxy listener; `conn` numbers the client
/// connection for logs and captures.
pub async fn handle(req: http::Request<Incoming>, app: Arc<App>, conn: ClientConn) -> http::Response<Body> {
    if req.method() == Method::CONNECT {
        return connect::handle(req, app, conn).await;
    }
    match req
        .uri()
        .authority()
        .map(|a| (a.host().to_string(), a.port_u16()))
    {
        Some((host, port)) => absolute_form(req, &app, &host, port.unwrap_or(80), conn.id).await,
        None => origin_form(req, &app, conn.id).await,
    }
}

/// `GET http://host/path`: the plain-HTTP proxy path (GCE metadata with `HTTP_PROXY`).
async fn absolute_form(
    req: http::Request<Incoming>,
    app: &App,
    host: &str,
    port: u16,
    conn: u64,
) -> http::Response<Body> {
    let host = normalize_host(host);
    match app.policy.decide(&host) {
        Decision::Intercept(service) => serve_intercepted(req, app, service, &host, "http", conn).await,
        Decision::Tunnel => {
            if let Err(reason) = tunnel::check_target(app, &host, port).await {
                return deny(app, &host, port, reason, conn);
            }
            let req = req.map(body::boxed);
            let started = Instant::now();
            let (method, path) = (req.method().clone(), req.uri().path().to_string());
            let (req, pending) = begin_capture(app, conn, "plain_http", &host, "http", req);
            let res = app.backends.origin.forward(req).await;
            let res = finish(app, "plain_http", &host, &method, &path, started, res);
            end_capture(pending, res)
        }
        Decision::Deny(reason) => deny(app, &host, port, reason, conn),
    }
}

/// Requests to shunt itself: admin endpoints, and the metadata server for apps that
/// point `GCE_METADATA_HOST` / `GCE_METADATA_IP` at shunt.
async fn origin_form(req: http::Request<Incoming>, app: &App, conn: u64) -> http::Response<Body> {
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
        return serve_intercepted(
            req,
            app,
            Service::Metadata,
            "metadata.google.internal",
            "http",
            conn,
        )
        .await;
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
    finish(app, "not_found", "shunt", &method, &path, Instant::now(), res)
}

/// Route and answer a request addressed to an intercepted host (inside TLS, or plain).
pub async fn serve_intercepted(
    req: http::Request<Incoming>,
    app: &App,
    service: Service,
    host: &str,
    scheme: &str,
    conn: u64,
) -> http::Response<Body> {
    let started = Instant::now();
    let route = route::classify(service, req.uri().path());
    let route_name = route.name();
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    let (req, pending) = begin_capture(app, conn, route_name, host, scheme, req.map(body::boxed));
    let res = app.backends.serve(route, req, host).await;
    let res = finish(app, route_name, host, &method, &path, started, res);
    end_capture(pending, res)
}

fn begin_capture(
    app: &App,
    conn: u64,
    route: &'static str,
    host: &str,
    scheme: &str,
    req: http::Request<Body>,
) -> (http::Request<Body>, Option<crate::capture::Pending>) {
    match &app.capture {
        Some(capture) => {
            let (req, pending) = capture.begin(conn, route, host, scheme, req);
            (req, Some(pending))
        }
        None => (req, None),
    }
}

fn end_capture(pending: Option<crate::capture::Pending>, res: http::Response<Body>) -> http::Response<Body> {
    match pending {
        Some(pending) => pending.finish(res),
        None => res,
    }
}

/// A policy denial as a 403, logged, counted and captured.
pub fn deny(app: &App, host: &str, port: u16, reason: String, conn: u64) -> http::Response<Body> {
    tracing::info!(host, port, reason = %reason, status = 403, "denied");
    app.metrics
        .observe_request("deny", 403, std::time::Duration::ZERO);
    if let Some(capture) = &app.capture {
        capture.denial(conn, host, port, &reason);
    }
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
