//! Serving connections: the accept loop (with a permit per connection), driving a hyper
//! connection until shutdown, and the drain. Shared by shunt's listener
//! ([`crate::server`]) and the standalone mock ([`crate::mock::server`]).
//!
//! The shutdown sequence: stop accepting → signal connections to finish in-flight work →
//! wait for every tracked task under the grace period → return.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::server::graceful::GracefulConnection;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

/// Tasks and the signal that ends them: every connection, tunnel, intercepted session
/// and mock stream is spawned on `tasks`, so shutdown can wait for them under a grace
/// period.
#[derive(Debug, Clone, Default)]
pub struct Lifecycle {
    /// Cancelled when shutdown begins; connections then finish in-flight work and close.
    pub shutdown: CancellationToken,
    /// Every task a connection starts; shutdown waits on it.
    pub tasks: TaskTracker,
}

impl Lifecycle {
    /// Spawn `task` as tracked work that keeps the current span.
    pub fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.tasks.spawn(task.in_current_span());
    }
}

/// Drive `conn` to completion; when `shutdown` fires, ask it to finish in-flight
/// requests and close (HTTP/1: after the current response; HTTP/2: GOAWAY).
pub async fn serve_until_shutdown<C, E>(conn: C, shutdown: &CancellationToken) -> Result<(), E>
where
    C: GracefulConnection<Error = E>,
{
    until_shutdown(conn, shutdown, |c| c.graceful_shutdown()).await
}

/// [`serve_until_shutdown`] for connection types that have a `graceful_shutdown` method
/// but not the trait (hyper's upgradeable HTTP/1).
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

/// Accept until `shutdown`, holding one of `slots` per open connection: at the limit,
/// accepting stops and new clients wait in the kernel's backlog instead of being dropped.
/// `on_conn` runs as a tracked task with the connection's permit: the slot is free again
/// when the permit (and any clone of it) drops.
pub async fn accept<F, Fut>(
    listener: TcpListener,
    lifecycle: &Lifecycle,
    shutdown: impl Future<Output = ()>,
    slots: Arc<Semaphore>,
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

/// No limit on connections (the standalone mock).
pub fn unlimited() -> Arc<Semaphore> {
    Arc::new(Semaphore::new(Semaphore::MAX_PERMITS))
}

/// Signal every connection to finish, then wait for all tracked tasks up to `grace`.
pub async fn drain(lifecycle: &Lifecycle, grace: Duration) {
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
