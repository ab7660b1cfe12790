//! The write-stall guard: a client connection whose writes stay pending (the client stopped
//! reading what it asked for) longer than `--stall-timeout` fails with `TimedOut`, so hyper
//! closes it and every buffer it held (a streamed reply, a capture tee) is freed.
//!
//! It wraps the accepted socket, under TLS and HTTP, so it covers every kind of client
//! connection: proxy requests, intercepted TLS, tunnels and the standalone mock.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

use crate::metrics::Metrics;

/// `T` with a deadline on every write (and flush) that cannot make progress.
pub struct StallGuard<T> {
    inner: T,
    timeout: Duration,
    /// Armed when a write first returns `Pending`; cleared when one makes progress.
    stalled_since: Option<Pin<Box<Sleep>>>,
    metrics: Arc<Metrics>,
}

impl<T> StallGuard<T> {
    pub fn new(inner: T, timeout: Duration, metrics: Arc<Metrics>) -> Self {
        StallGuard {
            inner,
            timeout,
            stalled_since: None,
            metrics,
        }
    }

    /// A pending write: arm the timer, or fail once it has fired.
    fn pending<R>(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<R>> {
        if self.timeout.is_zero() {
            return Poll::Pending;
        }
        let timeout = self.timeout;
        let timer = self
            .stalled_since
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => {
                self.metrics.client_stalled();
                tracing::info!(
                    after_s = timeout.as_secs_f64(),
                    "client stopped reading; disconnected (--stall-timeout)"
                );
                Poll::Ready(Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "client stopped reading (stall timeout)",
                )))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

use std::future::Future;

impl<T: AsyncRead + Unpin> AsyncRead for StallGuard<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for StallGuard<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, data) {
            Poll::Pending => self.pending(cx),
            ready => {
                self.stalled_since = None;
                ready
            }
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write_vectored(cx, bufs) {
            Poll::Pending => self.pending(cx),
            ready => {
                self.stalled_since = None;
                ready
            }
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match Pin::new(&mut self.inner).poll_flush(cx) {
            Poll::Pending => self.pending(cx),
            ready => {
                self.stalled_since = None;
                ready
            }
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    /// A peer that never reads: the write fails once the timeout passes, and is counted.
    #[tokio::test(start_paused = true)]
    async fn never_reading_peer_times_out() {
        let (a, _b) = tokio::io::duplex(64);
        let metrics = Arc::new(Metrics::new());
        let mut guard = StallGuard::new(a, Duration::from_secs(5), metrics.clone());
        let started = tokio::time::Instant::now();
        let err = guard.write_all(&[0u8; 1024]).await.expect_err("stalls");
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), Duration::from_secs(5));
        assert!(metrics.render().contains("shunt_stalled_clients_total 1"));
    }

    /// A slow but moving reader is never cut: progress resets the timer.
    #[tokio::test(start_paused = true)]
    async fn slow_reader_is_fine() {
        use tokio::io::AsyncReadExt;
        let (a, mut b) = tokio::io::duplex(16);
        let metrics = Arc::new(Metrics::new());
        let mut guard = StallGuard::new(a, Duration::from_secs(5), metrics);
        let reader = tokio::spawn(async move {
            let mut buf = [0u8; 16];
            let mut total = 0;
            while total < 256 {
                tokio::time::sleep(Duration::from_secs(3)).await;
                total += b.read(&mut buf).await.expect("read");
            }
        });
        guard.write_all(&[1u8; 256]).await.expect("no stall");
        reader.await.expect("reader");
    }
}
