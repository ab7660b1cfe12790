//! A body that passes every frame on untouched while keeping a copy (up to a cap) for
//! the capture. It never waits on the capture: copying into memory is all it does on
//! the data path; the record is handed to the writer when the body ends.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};

use crate::body::{Body, BoxError};

/// The captured copy of one body.
#[derive(Debug, Default)]
pub struct BodyBuf {
    pub bytes: Vec<u8>,
    /// Bytes the body really had (may exceed what was kept).
    pub size: u64,
    cap: usize,
}

impl BodyBuf {
    pub fn new(cap: usize) -> Arc<Mutex<BodyBuf>> {
        Arc::new(Mutex::new(BodyBuf {
            bytes: Vec::new(),
            size: 0,
            cap,
        }))
    }

    fn push(&mut self, data: &[u8]) {
        self.size += data.len() as u64;
        let room = self.cap.saturating_sub(self.bytes.len());
        self.bytes.extend_from_slice(&data[..room.min(data.len())]);
    }
}

/// Called once when the body ends: `None` for a clean end, else why it ended early.
pub type OnEnd = Box<dyn FnOnce(Option<String>) + Send + Sync>;

/// The tee.
pub struct TeeBody {
    inner: Body,
    buf: Arc<Mutex<BodyBuf>>,
    on_end: Option<OnEnd>,
}

impl TeeBody {
    pub fn new(inner: Body, buf: Arc<Mutex<BodyBuf>>, on_end: Option<OnEnd>) -> TeeBody {
        TeeBody { inner, buf, on_end }
    }

    fn end(&mut self, error: Option<String>) {
        if let Some(on_end) = self.on_end.take() {
            on_end(error);
        }
    }
}

impl HttpBody for TeeBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    self.buf.lock().unwrap_or_else(|p| p.into_inner()).push(data);
                }
                if self.inner.is_end_stream() {
                    self.end(None);
                }
            }
            Poll::Ready(Some(Err(err))) => {
                let message = err.to_string();
                self.end(Some(message));
            }
            Poll::Ready(None) => self.end(None),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for TeeBody {
    fn drop(&mut self) {
        if self.on_end.is_some() {
            let error =
                (!self.inner.is_end_stream()).then(|| "the body was abandoned before its end".to_string());
            self.end(error);
        }
    }
}
