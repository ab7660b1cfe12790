//! Accept loops and the shutdown sequence: stop accepting → signal connections to
//! finish in-flight work → wait for every tracked task under the grace period → return.
//! Listeners are bound by the caller, so tests pass `127.0.0.1:0`.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulConnection;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::app::{App, ClientConn, Lifecycle};
use crate::backend::admin::{self, Admin};
use crate::backend::mock::Mock;
use crate::body::Body;
use crate::error::Error;
use crate::metrics::Metrics;
use crate::route;
use crate::stall::StallGuard;

/// Drive `conn` to completion; when `shutdown` fires, ask it to finish in-flight
/// requests and close (HTTP/1: after the current response; HTTP/2: GOAWAY).
pub async fn serve_connection_until_shutdown<C, E>(conn: C, shutdown: &CancellationToken) -> Result<(), E>
where
    C: GracefulConnection<Error = E>,
{
    until_shutdown(conn, shutdown, |c| c.graceful_shutdown()).await
}

/// [`serve_connection_until_shutdown`] for connection types that have a
/// `graceful_shutdown` method but not the trait (hyper's upgradeable HTTP/1).
pub async fn until_shutdown<C, T>(
    conn: C,
    shutdown: &CancellationToken,
    graceful: impl FnOnce(Pin<&mut C>),
) -> T
where
    C: Future<Output = T>,
{
    tokio::pin!(conn);
    tokio::select! {
        res = conn.as_mut() => return res,
        _ = shutdown.cancelled() => {}
    }
    graceful(conn.as_mut());
    conn.await
}

/// Run the proxy on `listener` until `shutdown` resolves, then drain.
pub async fn run(listener: TcpListener, app: Arc<App>, grace: Duration, shutdown: impl Future<Output = ()>) {
    let lifecycle = app.lifecycle.clone();
    if let Ok(addr) = listener.local_addr() {
        app.listen.lock().unwrap_or_else(|p| p.into_inner()).push(addr);
    }
    let slots = Arc::new(tokio::sync::Semaphore::new(app.limits.max_connections));
    accept_limited(
        listener,
        &lifecycle,
        shutdown,
        slots,
        move |stream, peer, slot| {
            let app = app.clone();
            async move {
                let allowed = &app.limits.allow_clients;
                if !allowed.is_empty() && !allowed.iter().any(|net| net.contains(peer.ip())) {
                    tracing::info!(%peer, "client not in --allow-clients; disconnected");
                    drop(stream);
                    return;
                }
                let _open = app.metrics.connection_opened();
                // The place among --max-connections goes with every task this connection
                // starts (an intercepted session, a tunnel) and is freed after the last.
                let conn = ClientConn {
                    id: app.next_conn(),
                    peer,
                    slot: Arc::new(slot),
                };
                let svc_app = app.clone();
                let svc = service_fn(move |req| {
                    let app = svc_app.clone();
                    let conn = conn.clone();
                    async move { Ok::<_, Infallible>(crate::proxy::handle(req, app, conn).await) }
                });
                let io = StallGuard::new(stream, app.limits.stall_timeout, app.metrics.clone());
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(app.limits.header_read_timeout)
                    .max_buf_size(app.limits.max_header_bytes)
                    .serve_connection(TokioIo::new(io), svc)
                    .with_upgrades();
                let res = until_shutdown(conn, &app.lifecycle.shutdown, |c| c.graceful_shutdown()).await;
                if let Err(err) = res {
                    tracing::debug!(%peer, error = %err, "client connection ended with an error");
                }
            }
        },
    )
    .await;
    drain(&lifecycle, grace).await;
}

/// Run the standalone mock (`shunt mock`): plain HTTP/1.1 and h2c.
pub async fn run_mock(
    listener: TcpListener,
    mock: Arc<Mock>,
    metrics: Arc<Metrics>,
    grace: Duration,
    stall_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let lifecycle = Lifecycle::default();
    let token = lifecycle.shutdown.clone();
    accept_loop(listener, &lifecycle, shutdown, move |stream, peer, _slot| {
        let stream = StallGuard::new(stream, stall_timeout, metrics.clone());
        let mock = mock.clone();
        let metrics = metrics.clone();
        let token = token.clone();
        async move {
            let svc = service_fn(move |req| {
                let mock = mock.clone();
                let metrics = metrics.clone();
                async move { Ok::<_, Infallible>(mock_request(req, &mock, &metrics).await) }
            });
            let builder = auto::Builder::new(TokioExecutor::new());
            let conn = builder.serve_connection(TokioIo::new(stream), svc);
            if let Err(err) = serve_connection_until_shutdown(conn, &token).await {
                tracing::debug!(%peer, error = %err, "mock connection ended with an error");
            }
        }
    })
    .await;
    drain(&lifecycle, grace).await;
}

async fn mock_request(req: http::Request<Incoming>, mock: &Mock, metrics: &Metrics) -> http::Response<Body> {
    let path = req.uri().path().to_string();
    match Admin::from_path(&path) {
        Some(Admin::Health) => return admin::health(),
        Some(Admin::Metrics) => return admin::metrics(metrics.render()),
        Some(Admin::CaPem) | None => {}
    }
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let res = match route::classify_model_path(&path) {
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
    tracing::info!(%method, path, status, latency_ms = started.elapsed().as_secs_f64() * 1e3, "exchange");
    res
}

/// Accept until `shutdown`, spawning `on_conn` per connection as a tracked task.
async fn accept_loop<F, Fut>(
    listener: TcpListener,
    lifecycle: &Lifecycle,
    shutdown: impl Future<Output = ()>,
    on_conn: F,
) where
    F: Fn(TcpStream, SocketAddr, OwnedSemaphorePermit) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let unlimited = Arc::new(tokio::sync::Semaphore::new(tokio::sync::Semaphore::MAX_PERMITS));
    accept_limited(listener, lifecycle, shutdown, unlimited, on_conn).await;
}

/// [`accept_loop`] holding one of `slots` per open connection: at the limit, shunt stops
/// accepting and new clients wait in the kernel's backlog instead of being dropped.
/// `on_conn` gets the permit: the slot is free again when it (and any clone of it) drops.
async fn accept_limited<F, Fut>(
    listener: TcpListener,
    lifecycle: &Lifecycle,
    shutdown: impl Future<Output = ()>,
    slots: Arc<tokio::sync::Semaphore>,
    on_conn: F,
) where
    F: Fn(TcpStream, SocketAddr, OwnedSemaphorePermit) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = async {
                let slot = slots.clone().acquire_owned().await;
                (listener.accept().await, slot)
            } => accepted,
            _ = &mut shutdown => break,
        };
        match accepted {
            (Ok((stream, peer)), Ok(slot)) => {
                let _ = stream.set_nodelay(true);
                let span = tracing::debug_span!("conn", %peer);
                let conn = on_conn(stream, peer, slot);
                lifecycle.tasks.spawn(conn.instrument(span));
            }
            // The semaphore is never closed; stop accepting if it somehow is.
            (_, Err(_)) => break,
            (Err(err), _) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!(error = %err, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    drop(listener);
}

/// Signal every connection to finish, then wait for all tracked tasks up to `grace`.
async fn drain(lifecycle: &Lifecycle, grace: Duration) {
    lifecycle.shutdown.cancel();
    lifecycle.tasks.close();
    let open = lifecycle.tasks.len();
    if open > 0 {
        tracing::info!(open, grace_s = grace.as_secs_f64(), "draining connections");
    }
    if tokio::time::timeout(grace, lifecycle.tasks.wait()).await.is_err() {
        tracing::warn!(
            still_open = lifecycle.tasks.len(),
            "grace period over; closing remaining connections"
        );
    }
}
