//! Tunnels: bytes spliced between the client and the real host, untouched.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tracing::Instrument;

use super::connect::{Target, ok_empty};
use crate::app::App;
use crate::body::Body;
use crate::error::Error;

/// Connect to `target`, answer 200, then splice once the client's connection upgrades.
pub async fn open(
    req: http::Request<Incoming>,
    app: Arc<App>,
    target: Target,
    conn: u64,
) -> http::Response<Body> {
    let addr = (target.host.as_str(), target.port);
    let upstream = format!("{}:{}", target.host, target.port);
    let server = match tokio::time::timeout(app.connect_timeout, TcpStream::connect(addr)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(err)) => {
            let err = Error::UpstreamRefused {
                upstream,
                detail: err.to_string(),
            };
            tracing::info!(error = %err, "tunnel failed");
            app.metrics
                .observe_request("tunnel", 502, std::time::Duration::ZERO);
            return err.into_response();
        }
        Err(_) => {
            let err = Error::UpstreamTimeout {
                upstream,
                after: app.connect_timeout,
            };
            tracing::info!(error = %err, "tunnel failed");
            app.metrics
                .observe_request("tunnel", 504, std::time::Duration::ZERO);
            return err.into_response();
        }
    };
    let _ = server.set_nodelay(true);
    app.metrics
        .observe_request("tunnel", 200, std::time::Duration::ZERO);
    let tasks = app.lifecycle.tasks.clone();
    tasks.spawn(
        async move {
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
            let (up, down) = match tokio::io::copy_bidirectional(&mut client, &mut server).await {
                Ok((up, down)) => {
                    tracing::info!(bytes_up = up, bytes_down = down, "tunnel closed");
                    (up, down)
                }
                Err(err) => {
                    tracing::debug!(error = %err, "tunnel ended with an error");
                    (0, 0)
                }
            };
            if let Some(capture) = &app.capture {
                capture.tunnel(conn, &target.host, target.port, started, up, down);
            }
        }
        .in_current_span(),
    );
    ok_empty()
}
