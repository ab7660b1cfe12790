//! Tunnels: bytes spliced between the client and the real host, untouched.
//!
//! A tunnel never reaches shunt's own listener (a client could nest tunnels through one
//! socket until file descriptors run out), nor, unless `--allow-local-tunnels`, loopback
//! or link-local addresses: the target is resolved once, checked, and connected to by
//! address, so a name cannot resolve to one address for the check and another for the
//! connection.

use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::connect::{Target, ok_empty};
use crate::app::{App, ClientConn};
use crate::body::Body;
use crate::config::LocalTunnels;
use crate::error::Error;
use crate::exchange;

/// Resolve `host:port` and check shunt may reach it: the addresses to connect to, or why
/// not (for a 403).
pub async fn check_target(app: &App, host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
    let resolved = tokio::time::timeout(app.connect_timeout, tokio::net::lookup_host((host, port))).await;
    let addrs: Vec<SocketAddr> = match resolved {
        Ok(Ok(addrs)) => addrs.collect(),
        // Unresolvable: no address to refuse; the caller reports it.
        Ok(Err(_)) | Err(_) => return Ok(Vec::new()),
    };
    for addr in &addrs {
        if app.is_own_listener(*addr, is_local(addr.ip())) {
            return Err(format!(
                "{host}:{port} is shunt's own listener: tunnelling into itself is refused"
            ));
        }
        if is_local(addr.ip()) && app.limits.local_tunnels == LocalTunnels::Refused {
            return Err(format!(
                "{host}:{port} resolves to a loopback or link-local address ({}); shunt does not \
                 tunnel to local addresses unless --allow-local-tunnels",
                addr.ip()
            ));
        }
    }
    Ok(addrs)
}

/// Loopback, link-local or unspecified: an address that means "this host" (or its link).
pub fn is_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_link_local() || v4.is_unspecified(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_local(IpAddr::V4(v4)),
            None => v6.is_loopback() || v6.is_unspecified() || (v6.segments()[0] & 0xffc0) == 0xfe80,
        },
    }
}

/// Connect to `target`, answer 200, then splice once the client's connection upgrades.
/// The tunnel holds `conn` (its `--max-connections` place) until it closes.
pub async fn open(
    req: http::Request<Incoming>,
    app: Arc<App>,
    target: Target,
    conn: ClientConn,
) -> http::Response<Body> {
    let upstream = format!("{}:{}", target.host, target.port);
    let addrs = match check_target(&app, &target.host, target.port).await {
        Ok(addrs) if addrs.is_empty() => {
            let err = Error::UpstreamUnresolved {
                upstream,
                source: "no address found".into(),
            };
            return exchange::tunnel_failed(&app, err);
        }
        Ok(addrs) => addrs,
        Err(reason) => return exchange::deny(&app, conn.id, &target.host, target.port, reason),
    };
    let server = match tokio::time::timeout(app.connect_timeout, TcpStream::connect(&addrs[..])).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(err)) => {
            let err = Error::UpstreamRefused {
                upstream,
                source: Box::new(err),
            };
            return exchange::tunnel_failed(&app, err);
        }
        Err(_) => {
            let err = Error::UpstreamTimeout {
                upstream,
                after: app.connect_timeout,
            };
            return exchange::tunnel_failed(&app, err);
        }
    };
    // Through a path the check could not see (another address of this host): a
    // connection whose two ends are the same host on shunt's port is shunt itself.
    if let (Ok(local), Ok(peer)) = (server.local_addr(), server.peer_addr()) {
        if local.ip() == peer.ip() && app.is_own_listener(peer, true) {
            let reason = format!("{upstream} is shunt's own listener: tunnelling into itself is refused");
            return exchange::deny(&app, conn.id, &target.host, target.port, reason);
        }
    }
    let _ = server.set_nodelay(true);
    exchange::tunnel_opened(&app);
    let lifecycle = app.lifecycle.clone();
    lifecycle.spawn(async move {
        let _open = app.metrics.connection_opened();
        let upgraded = match hyper::upgrade::on(req).await {
            Ok(u) => u,
            Err(err) => {
                tracing::debug!(error = %err, "CONNECT upgrade failed");
                return;
            }
        };
        let started = std::time::Instant::now();
        let mut client = TokioIo::new(upgraded);
        let mut server = server;
        let idle = app.limits.tunnel_idle_timeout;
        let bytes = match splice(&mut client, &mut server, idle).await {
            Ok(counts) => Some(counts),
            Err(err) => {
                tracing::debug!(error = %err, "tunnel ended with an error");
                None
            }
        };
        exchange::tunnel_closed(&app, conn.id, &target.host, target.port, started.elapsed(), bytes);
        drop(conn);
    });
    ok_empty()
}

/// `copy_bidirectional`, closed once no byte has moved either way for `idle`.
async fn splice<A, B>(a: &mut A, b: &mut B, idle: Duration) -> std::io::Result<(u64, u64)>
where
    A: AsyncRead + AsyncWrite + Unpin,
    B: AsyncRead + AsyncWrite + Unpin,
{
    let started = tokio::time::Instant::now();
    let last = Arc::new(AtomicU64::new(0));
    let mut a = Activity {
        inner: a,
        last: last.clone(),
        started,
    };
    let mut b = Activity {
        inner: b,
        last: last.clone(),
        started,
    };
    let watchdog = async {
        loop {
            let seen = started + Duration::from_millis(last.load(Ordering::Relaxed));
            if seen.elapsed() >= idle {
                return;
            }
            tokio::time::sleep_until(seen + idle).await;
        }
    };
    tokio::select! {
        res = tokio::io::copy_bidirectional(&mut a, &mut b) => res,
        _ = watchdog => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("idle for {}s", idle.as_secs_f64()),
        )),
    }
}

/// Notes the time of every read that moved bytes.
struct Activity<'a, T> {
    inner: &'a mut T,
    last: Arc<AtomicU64>,
    started: tokio::time::Instant,
}

impl<T: AsyncRead + Unpin> AsyncRead for Activity<'_, T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut *self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            let ms = self.started.elapsed().as_millis() as u64;
            self.last.store(ms, Ordering::Relaxed);
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Activity<'_, T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut *self.inner).poll_write(cx, data)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.inner).poll_shutdown(cx)
    }
}
