//! shunt's own pages, on its listener (and on `shunt mock`): `/healthz`, `/ca.pem` (the
//! public CA; `ca-key.pem` is never served), `/metrics`, `/`, the dashboard (`/ui`,
//! `/ui/stream`, `/ui/records/ID`) and the admin API (`GET`/`PUT /admin/mock`).
//!
//! Health, metrics and the CA are always open (health checks, Prometheus). The dashboard
//! and the admin API are open on a loopback listener; beyond loopback they need the
//! `--admin-token` (`Authorization: Bearer TOKEN` or `?token=TOKEN`), and are refused when
//! none is set.

use std::net::SocketAddr;
use std::sync::Arc;

use http::{Method, StatusCode};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::body::{self, Body, collect_limited, json_response, typed_response};
use crate::capture::Capture;
use crate::dashboard::{Observer, PAGE, TICK};
use crate::metrics::Metrics;
use crate::mock::Mock;
use crate::route::AdminPage;

/// Largest admin request body.
const ADMIN_BODY_LIMIT: usize = 64 * 1024;

/// Who may use the dashboard and the admin API.
#[derive(Debug, Clone)]
pub struct Access {
    /// The listener is loopback-only: everyone who can reach it is local.
    pub loopback: bool,
    pub token: Option<String>,
}

/// What the pages read and change.
pub struct Context<'a> {
    /// The CA to serve (none on `shunt mock`).
    pub ca_pem: Option<&'a str>,
    pub metrics: &'a Metrics,
    pub observer: &'a Arc<Observer>,
    /// The built-in mock, when it answers model calls.
    pub mock: Option<&'a Mock>,
    pub capture: Option<&'a Capture>,
    pub access: &'a Access,
    pub peer: SocketAddr,
    /// Where the dashboard's streams run, and the signal that ends them.
    pub tasks: &'a TaskTracker,
    pub shutdown: &'a CancellationToken,
}

/// Answer `req` for `page`.
pub async fn serve(page: AdminPage, req: http::Request<Body>, ctx: Context<'_>) -> http::Response<Body> {
    match page {
        AdminPage::Health => typed_response(StatusCode::OK, "text/plain; charset=utf-8", "ok\n"),
        AdminPage::Metrics => typed_response(
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            ctx.metrics.render(),
        ),
        AdminPage::CaPem => match ctx.ca_pem {
            Some(pem) => typed_response(StatusCode::OK, "application/x-pem-file", pem.to_string()),
            None => index(),
        },
        AdminPage::Index => index(),
        AdminPage::Ui | AdminPage::UiStream | AdminPage::UiRecord(_) | AdminPage::AdminMock => {
            if let Some(refusal) = refuse(&req, ctx.access) {
                return refusal;
            }
            match page {
                AdminPage::Ui => typed_response(StatusCode::OK, "text/html; charset=utf-8", PAGE),
                AdminPage::UiStream => stream(&ctx),
                AdminPage::UiRecord(id) => record(id, &ctx),
                _ => knobs(req, &ctx).await,
            }
        }
    }
}

fn index() -> http::Response<Body> {
    typed_response(
        StatusCode::OK,
        "text/plain; charset=utf-8",
        "shunt: an HTTPS_PROXY sidecar that answers LLM APIs with a mock.\n\
         Endpoints: /healthz /metrics /ca.pem /ui (dashboard) /admin/mock; set HTTPS_PROXY to this address.\n",
    )
}

fn error(status: StatusCode, message: &str) -> http::Response<Body> {
    json_response(status, &json!({"error": message}))
}

/// Loopback listeners are open; beyond loopback the token must match. The refusal, if
/// any.
fn refuse(req: &http::Request<Body>, access: &Access) -> Option<http::Response<Body>> {
    if access.loopback {
        return None;
    }
    let Some(want) = &access.token else {
        return Some(error(
            StatusCode::FORBIDDEN,
            "shunt listens beyond loopback: start it with --admin-token to use the dashboard and the admin API",
        ));
    };
    let bearer = req
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let query = req
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .find_map(|kv| kv.strip_prefix("token="));
    if bearer.or(query) == Some(want.as_str()) {
        None
    } else {
        Some(error(
            StatusCode::UNAUTHORIZED,
            "the dashboard and the admin API need the --admin-token (Authorization: Bearer TOKEN, or ?token=TOKEN)",
        ))
    }
}

/// A snapshot every second, as server-sent events, until the client goes or shunt stops.
fn stream(ctx: &Context<'_>) -> http::Response<Body> {
    let (tx, out) = body::channel(2);
    let observer = ctx.observer.clone();
    let shutdown = ctx.shutdown.clone();
    let mock = ctx.mock.cloned();
    let record_links = ctx.capture.is_some();
    let task = async move {
        loop {
            let knobs = mock.as_ref().map(|m| m.knobs().to_json());
            let open = observer.metrics.open_connections();
            let snapshot = observer.stats.snapshot(open, knobs, record_links);
            let frame = format!("data: {snapshot}\n\n");
            if tx.send(Ok(bytes::Bytes::from(frame))).await.is_err() {
                return;
            }
            tokio::select! {
                _ = tokio::time::sleep(TICK) => {}
                _ = shutdown.cancelled() => return,
            }
        }
    };
    ctx.tasks.spawn(task.in_current_span());
    let mut res = http::Response::new(out);
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/event-stream"),
    );
    res.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    res
}

fn record(id: u64, ctx: &Context<'_>) -> http::Response<Body> {
    match ctx.capture.and_then(|c| c.recent(id)) {
        Some(json) => typed_response(StatusCode::OK, "application/json", json),
        None if ctx.capture.is_none() => error(
            StatusCode::NOT_FOUND,
            "no capture: start shunt with --capture FILE.jsonl to keep exchange records",
        ),
        None => error(StatusCode::NOT_FOUND, &format!("record {id} is no longer kept")),
    }
}

/// `GET /admin/mock`: the knobs; `PUT`: change some (a JSON object), logged and marked on
/// the dashboard's charts with the client's address.
async fn knobs(req: http::Request<Body>, ctx: &Context<'_>) -> http::Response<Body> {
    let Some(mock) = ctx.mock else {
        return error(
            StatusCode::NOT_FOUND,
            "no built-in mock here: model calls are forwarded (--upstream), so its knobs live with the upstream",
        );
    };
    match *req.method() {
        Method::GET => json_response(StatusCode::OK, &mock.knobs().to_json()),
        Method::PUT | Method::PATCH => {
            let bytes = match collect_limited(req.into_body(), ADMIN_BODY_LIMIT).await {
                Ok(b) => b,
                Err(e) => return error(StatusCode::BAD_REQUEST, &crate::error::Error::from(e).to_string()),
            };
            let patch: Value = match serde_json::from_slice(&bytes) {
                Ok(v) => v,
                Err(e) => return error(StatusCode::BAD_REQUEST, &format!("the body is not JSON: {e}")),
            };
            let by = ctx.peer.to_string();
            match mock.set_knobs(&patch, &by) {
                Ok((knobs, changes)) => {
                    for change in changes {
                        ctx.observer.stats.mark(change, by.clone());
                    }
                    json_response(StatusCode::OK, &knobs.to_json())
                }
                Err(e) => error(StatusCode::BAD_REQUEST, &e),
            }
        }
        _ => {
            let mut res = error(
                StatusCode::METHOD_NOT_ALLOWED,
                "GET reads the knobs, PUT changes them",
            );
            res.headers_mut()
                .insert(http::header::ALLOW, http::HeaderValue::from_static("GET, PUT"));
            res
        }
    }
}
