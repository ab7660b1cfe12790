//! `shunt mock`: the built-in mock on its own plain-HTTP listener (HTTP/1.1 and h2c), a
//! drop-in for a mock-llm service: both model path families, `/health`, `/metrics`.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;

use super::{Mock, MockConfig};
use crate::body::Body;
use crate::conn::{self, Lifecycle};
use crate::error::Error;
use crate::metrics::Metrics;
use crate::route::{self, Route};
use crate::stall::StallGuard;

/// Serve a mock built from `config` on `listener` until `shutdown` resolves, then drain
/// within `grace` (open streams included).
pub async fn run(
    listener: TcpListener,
    config: MockConfig,
    grace: Duration,
    stall_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let lifecycle = Lifecycle::default();
    let metrics = Arc::new(Metrics::new());
    let mock = Arc::new(Mock::new(config, metrics.clone(), lifecycle.tasks.clone()));
    let token = lifecycle.shutdown.clone();
    conn::accept(
        listener,
        &lifecycle,
        shutdown,
        conn::unlimited(),
        move |stream, peer, _slot| {
            let stream = StallGuard::new(stream, stall_timeout, metrics.clone());
            let mock = mock.clone();
            let metrics = metrics.clone();
            let token = token.clone();
            async move {
                let svc = service_fn(move |req| {
                    let mock = mock.clone();
                    let metrics = metrics.clone();
                    async move { Ok::<_, Infallible>(handle(req, &mock, &metrics).await) }
                });
                let builder = auto::Builder::new(TokioExecutor::new());
                let conn = builder.serve_connection(TokioIo::new(stream), svc);
                if let Err(err) = conn::serve_until_shutdown(conn, &token).await {
                    tracing::debug!(%peer, error = %err, "mock connection ended with an error");
                }
            }
        },
    )
    .await;
    conn::drain(&lifecycle, grace).await;
}

/// One request to the mock server: one log line and one metric per model call.
async fn handle(req: http::Request<Incoming>, mock: &Mock, metrics: &Metrics) -> http::Response<Body> {
    let path = req.uri().path().to_string();
    let call = match route::classify_mock(&path) {
        Route::Admin(page) => return crate::admin::page(page, None, metrics),
        Route::Model(call) => Some(call),
        Route::Token | Route::Metadata | Route::Origin | Route::NotFound => None,
    };
    let started = Instant::now();
    let method = req.method().clone();
    let res = match call {
        Some(call) => mock
            .serve(&call, req.map(crate::body::boxed))
            .await
            .unwrap_or_else(Error::into_response),
        None => Error::NotFound {
            method: method.to_string(),
            host: "mock".into(),
            path: path.clone(),
        }
        .into_response(),
    };
    let status = res.status().as_u16();
    let route = if status == 404 { "not_found" } else { "mock" };
    metrics.observe_request(route, status, started.elapsed());
    tracing::info!(%method, path = %path, status, latency_ms = %crate::clock::Millis(started.elapsed()), "exchange");
    res
}
