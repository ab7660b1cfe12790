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
use crate::admin::Access;
use crate::body::Body;
use crate::conn::{self, Lifecycle};
use crate::dashboard::Observer;
use crate::error::Error;
use crate::metrics::Metrics;
use crate::providers::{REPLY_HEADER, Reply};
use crate::route::{self, Route};
use crate::stall::StallGuard;

/// What `shunt mock` serves with besides the mock's own configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long in-flight streams may take to finish after shutdown begins.
    pub grace: Duration,
    pub stall_timeout: Duration,
    /// The price table for the dashboard's cost estimate.
    pub prices: crate::cost::Prices,
    /// Required for the dashboard and admin API beyond loopback.
    pub admin_token: Option<String>,
}

/// What every connection's requests share.
struct Shared {
    mock: Mock,
    metrics: Arc<Metrics>,
    observer: Arc<Observer>,
    access: Access,
    lifecycle: Lifecycle,
}

/// Serve a mock built from `config` on `listener` until `shutdown` resolves, then drain
/// within the grace period (open streams included).
pub async fn run(
    listener: TcpListener,
    config: MockConfig,
    settings: Settings,
    shutdown: impl Future<Output = ()>,
) {
    let lifecycle = Lifecycle::default();
    let metrics = Arc::new(Metrics::new());
    let loopback = listener.local_addr().is_ok_and(|a| a.ip().is_loopback());
    let shared = Arc::new(Shared {
        mock: Mock::new(config, metrics.clone(), lifecycle.tasks.clone()),
        observer: Arc::new(Observer::new(metrics.clone(), settings.prices)),
        metrics,
        access: Access {
            loopback,
            token: settings.admin_token,
        },
        lifecycle: lifecycle.clone(),
    });
    let stall_timeout = settings.stall_timeout;
    conn::accept(
        listener,
        &lifecycle,
        shutdown,
        conn::unlimited(),
        move |stream, peer, _slot| {
            let stream = StallGuard::new(stream, stall_timeout, shared.metrics.clone());
            let shared = shared.clone();
            async move {
                let _open = shared.metrics.connection_opened();
                let token = shared.lifecycle.shutdown.clone();
                let svc = service_fn(move |req| {
                    let shared = shared.clone();
                    async move { Ok::<_, Infallible>(handle(req, &shared, peer).await) }
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
    conn::drain(&lifecycle, settings.grace).await;
}

/// One request to the mock server: its pages, or a model call with one log line, one
/// metric, and the dashboard's count when its body ends.
async fn handle(
    req: http::Request<Incoming>,
    shared: &Shared,
    peer: std::net::SocketAddr,
) -> http::Response<Body> {
    let path = req.uri().path().to_string();
    let route = route::classify_mock(&path);
    if let Route::Admin(page) = route {
        let ctx = crate::admin::Context {
            ca_pem: None,
            metrics: &shared.metrics,
            observer: &shared.observer,
            mock: Some(&shared.mock),
            capture: None,
            access: &shared.access,
            peer,
            tasks: &shared.lifecycle.tasks,
            shutdown: &shared.lifecycle.shutdown,
        };
        return crate::admin::serve(page, req.map(crate::body::boxed), ctx).await;
    }
    let started = Instant::now();
    let method = req.method().clone();
    let res = match &route {
        Route::Model(call) => shared
            .mock
            .serve(call, req.map(crate::body::boxed))
            .await
            .unwrap_or_else(Error::into_response),
        _ => Error::NotFound {
            method: method.to_string(),
            host: "mock".into(),
            path: path.clone(),
        }
        .into_response(),
    };
    let mut res = res;
    if let Some(value) = res.extensions().get::<Reply>().and_then(Reply::to_header) {
        res.headers_mut().insert(REPLY_HEADER, value);
    }
    let status = res.status().as_u16();
    let label = if status == 404 { "not_found" } else { "mock" };
    shared.metrics.observe_request(label, status, started.elapsed());
    tracing::info!(%method, path = %path, status, latency_ms = %crate::clock::Millis(started.elapsed()), "exchange");
    let done = crate::dashboard::done(&route, &method, &path, &res, &shared.observer.prices);
    shared.observer.meter(res, done, started)
}
