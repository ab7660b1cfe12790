//! Forwarding over plain HTTP: model calls to a mock-llm service (`--upstream
//! http://HOST:PORT`, with the path rewrite), and absolute-form requests to tunnelled
//! hosts. Bodies stream both ways: hyper hands each frame on as it arrives, so an SSE
//! chunk the upstream flushes reaches the client before the upstream sends the next.
//! Connections upstream are pooled and kept alive.

use std::time::Duration;

use http::header::{self, HeaderMap, HeaderName};
use http::uri::{PathAndQuery, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::body::{self, Body};
use crate::error::Error;
use crate::providers::{REPLY_HEADER, Reply};
use crate::route::{ModelCall, Rewrite, upstream_path};

/// Hop-by-hop headers (RFC 9110 §7.6.1) plus proxy credentials: never forwarded.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "proxy-connection",
];

type HttpClient = Client<HttpConnector, Body>;

fn http_client(connect_timeout: Duration) -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(connect_timeout));
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(90))
        .build(connector)
}

/// Forwards model calls to a mock-llm base URL.
pub struct Forwarder {
    base: Uri,
    rewrite: Rewrite,
    response_timeout: Duration,
    client: HttpClient,
}

impl Forwarder {
    pub fn new(base: Uri, rewrite: Rewrite, connect_timeout: Duration, response_timeout: Duration) -> Self {
        Forwarder {
            base,
            rewrite,
            response_timeout,
            client: http_client(connect_timeout),
        }
    }

    /// The mock-llm base URL.
    pub fn base(&self) -> &Uri {
        &self.base
    }

    /// Forward `req` to the upstream, path rewritten per `--rewrite`, query kept.
    pub async fn forward(
        &self,
        call: &ModelCall,
        req: http::Request<Body>,
    ) -> Result<http::Response<Body>, Error> {
        let path = upstream_path(call, req.uri().path(), self.rewrite);
        let path_and_query = match req.uri().query() {
            Some(q) => format!("{path}?{q}"),
            None => path,
        };
        let mut parts = self.base.clone().into_parts();
        parts.path_and_query = Some(
            PathAndQuery::try_from(path_and_query)
                .map_err(|e| Error::BadRequest(format!("cannot forward this path: {e}")))?,
        );
        let uri = Uri::from_parts(parts).map_err(|e| Error::Internal(format!("upstream URI: {e}")))?;
        let upstream = self.base.to_string().trim_end_matches('/').to_string();
        let mut res = send(&self.client, uri, req, &upstream, self.response_timeout).await?;
        // A `shunt mock` upstream says what its reply was: count it here too.
        if let Some(value) = res.headers_mut().remove(REPLY_HEADER)
            && let Some(reply) = Reply::from_header(call.api.name(), &value)
        {
            res.extensions_mut().insert(reply);
        }
        Ok(res)
    }
}

/// Plain-HTTP proxying of absolute-form requests to hosts the policy tunnels.
pub struct OriginClient {
    client: HttpClient,
    response_timeout: Duration,
}

impl OriginClient {
    pub fn new(connect_timeout: Duration, response_timeout: Duration) -> Self {
        OriginClient {
            client: http_client(connect_timeout),
            response_timeout,
        }
    }

    pub async fn forward(&self, req: http::Request<Body>) -> Result<http::Response<Body>, Error> {
        let uri = req.uri().clone();
        if uri.scheme_str() != Some("http") {
            return Err(Error::BadRequest(format!(
                "absolute-form requests must use http://, got {uri}; use CONNECT for https"
            )));
        }
        let origin = uri.authority().map(|a| format!("http://{a}")).unwrap_or_default();
        send(&self.client, uri, req, &origin, self.response_timeout).await
    }
}

/// Send `req` to `uri` with hop-by-hop headers removed, mapping failures to errors that
/// name `upstream`.
async fn send(
    client: &HttpClient,
    uri: Uri,
    req: http::Request<Body>,
    upstream: &str,
    response_timeout: Duration,
) -> Result<http::Response<Body>, Error> {
    let (mut parts, incoming) = req.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    // The upstream sees its own authority, not the Google host the client named.
    parts.headers.remove(header::HOST);
    // Ask for identity so SSE is never held back by a compressor upstream.
    parts.headers.remove(header::ACCEPT_ENCODING);
    parts.uri = uri;
    parts.version = http::Version::HTTP_11;
    let out = http::Request::from_parts(parts, incoming);
    let response = match tokio::time::timeout(response_timeout, client.request(out)).await {
        Err(_) => {
            return Err(Error::UpstreamTimeout {
                upstream: upstream.to_string(),
                after: response_timeout,
            });
        }
        Ok(Err(err)) => return Err(client_error(upstream, err)),
        Ok(Ok(response)) => response,
    };
    let (mut parts, incoming) = response.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    Ok(http::Response::from_parts(parts, body::boxed(incoming)))
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Headers named in `Connection` are hop-by-hop too.
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in HOP_BY_HOP {
        headers.remove(*name);
    }
    for name in named {
        headers.remove(name);
    }
}

/// A client failure as the error it is: the name did not resolve, the connection was
/// refused, or the upstream failed mid-exchange. The cause is kept as the source.
fn client_error(upstream: &str, err: hyper_util::client::legacy::Error) -> Error {
    let upstream = upstream.to_string();
    if !err.is_connect() {
        return Error::Upstream {
            upstream,
            source: Box::new(err),
        };
    }
    // hyper-util's connector reports resolver failures as a connect error whose message
    // starts with "dns error".
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&err);
    while let Some(e) = cause {
        if e.to_string().starts_with("dns error") {
            return Error::UpstreamUnresolved {
                upstream,
                source: Box::new(err),
            };
        }
        cause = e.source();
    }
    Error::UpstreamRefused {
        upstream,
        source: Box::new(err),
    }
}
