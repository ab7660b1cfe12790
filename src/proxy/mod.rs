//! The client-facing side: one HTTP/1.1 listener that takes CONNECT ([`connect`]),
//! absolute-form plain-HTTP proxy requests, and origin-form requests to shunt itself.
//! This module only dispatches: the policy decides what a host gets, the route what a
//! request gets, and an `Exchange` carries it from there.

pub mod connect;
pub mod intercept;
pub mod tunnel;

use std::sync::Arc;

use hyper::body::Incoming;

use crate::app::{App, ClientConn};
use crate::body::Body;
use crate::exchange::{self, Exchange, Scheme};
use crate::policy::{Decision, normalize_host};
use crate::route::{self, Route};

/// Entry point for every request on the proxy listener.
pub async fn handle(req: http::Request<Incoming>, app: Arc<App>, conn: ClientConn) -> http::Response<Body> {
    if req.method() == http::Method::CONNECT {
        return connect::handle(req, app, conn).await;
    }
    match req
        .uri()
        .authority()
        .map(|a| (a.host().to_string(), a.port_u16()))
    {
        Some((host, port)) => absolute_form(req, &app, &host, port.unwrap_or(80), conn.id).await,
        None => origin_form(req, &app, &conn).await,
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
        Decision::Intercept(service) => {
            let route = route::classify(service, req.uri().path());
            Exchange::serve(app, conn, &host, Scheme::Http, route, req).await
        }
        Decision::Tunnel => match tunnel::check_target(app, &host, port).await {
            Ok(_) => Exchange::serve(app, conn, &host, Scheme::Http, Route::Origin, req).await,
            Err(reason) => exchange::deny(app, conn, &host, port, reason),
        },
        Decision::Deny(reason) => exchange::deny(app, conn, &host, port, reason),
    }
}

/// Requests to shunt itself: its pages (not exchanges: no log line or metric each), and
/// the metadata server for apps that point `GCE_METADATA_HOST` / `GCE_METADATA_IP` at it.
async fn origin_form(req: http::Request<Incoming>, app: &App, conn: &ClientConn) -> http::Response<Body> {
    let flavor = crate::backends::metadata::Metadata::has_flavor(&req);
    match route::classify_origin(req.uri().path(), flavor) {
        Route::Admin(page) => {
            let ctx = crate::admin::Context {
                ca_pem: Some(app.ca.cert_pem()),
                metrics: &app.metrics,
                observer: &app.observer,
                mock: app.backends.builtin_mock(),
                capture: app.capture.as_deref(),
                access: &app.access,
                peer: conn.peer,
                tasks: &app.lifecycle.tasks,
                shutdown: &app.lifecycle.shutdown,
            };
            crate::admin::serve(page, req.map(crate::body::boxed), ctx).await
        }
        route @ Route::Metadata => {
            Exchange::serve(app, conn.id, route::METADATA_HOST, Scheme::Http, route, req).await
        }
        route => Exchange::serve(app, conn.id, "shunt", Scheme::Http, route, req).await,
    }
}
