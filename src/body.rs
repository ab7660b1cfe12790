//! The one body type every handler returns, and small constructors for it.
//!
//! Proxied bodies stay streams (`Incoming` boxed as is); only shunt's own short replies
//! are built from bytes.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full, combinators::BoxBody};

/// Errors a response body can yield mid-stream (an upstream that aborts, a mock cut).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The response (and forwarded request) body type used throughout shunt.
pub type Body = BoxBody<Bytes, BoxError>;

/// An empty body.
pub fn empty() -> Body {
    Empty::<Bytes>::new().map_err(|never| match never {}).boxed()
}

/// A complete body from bytes.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).map_err(|never| match never {}).boxed()
}

/// Box any body whose errors convert into [`BoxError`].
pub fn boxed<B>(body: B) -> Body
where
    B: http_body::Body<Data = Bytes> + Send + Sync + 'static,
    B::Error: Into<BoxError>,
{
    body.map_err(|e| -> BoxError { e.into() }).boxed()
}

/// Box a body whose error type already is [`BoxError`] (no conversion closure: going
/// through `Into` there trips a higher-ranked lifetime inference bug in rustc).
pub fn boxed_dyn<B>(body: B) -> Body
where
    B: http_body::Body<Data = Bytes, Error = BoxError> + Send + Sync + 'static,
{
    body.boxed()
}

/// Build a `200 application/json` response from a serializable value.
pub fn json_response(status: http::StatusCode, value: &serde_json::Value) -> http::Response<Body> {
    let mut res = http::Response::new(full(value.to_string()));
    *res.status_mut() = status;
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    res
}

/// Build a response with the given content type and body.
pub fn typed_response(
    status: http::StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> http::Response<Body> {
    let mut res = http::Response::new(full(body));
    *res.status_mut() = status;
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    res
}

/// The sending half of a [`channel`] body.
pub type Sender = tokio::sync::mpsc::Sender<Result<Bytes, BoxError>>;

/// A body fed from a channel, for responses produced over time (mock streams).
/// Dropping the receiver (client gone) makes `send` fail, which ends the producer.
pub fn channel(capacity: usize) -> (Sender, Body) {
    let (tx, rx) = tokio::sync::mpsc::channel(capacity);
    (tx, ChannelBody(rx).boxed())
}

struct ChannelBody(tokio::sync::mpsc::Receiver<Result<Bytes, BoxError>>);

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, BoxError>>> {
        self.0
            .poll_recv(cx)
            .map(|item| item.map(|chunk| chunk.map(http_body::Frame::data)))
    }
}

/// Why a body could not be read whole.
#[derive(Debug)]
pub enum ReadError {
    /// More than the route's limit.
    TooLarge { limit: usize },
    /// The stream failed (the client went away, a malformed chunk).
    Failed(BoxError),
}

/// Read a whole request body, refusing more than `limit` bytes.
///
/// A plain frame loop rather than `http_body_util::Limited`: its `Into<BoxError>` bound
/// on an already-boxed error trips the same rustc higher-ranked lifetime bug as above.
pub async fn collect_limited(mut body: Body, limit: usize) -> Result<Bytes, ReadError> {
    let mut buf = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(ReadError::Failed)?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > limit {
                return Err(ReadError::TooLarge { limit });
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(buf))
}
