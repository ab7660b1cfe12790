//! Forwarding to a mock-llm upstream: rewrite, streaming, errors, HTTP/2, shutdown.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use tokio::sync::Notify;

fn json_ok(body: &str) -> http::Response<shunt::body::Body> {
    let mut res = http::Response::new(shunt::body::full(body.to_string()));
    res.headers_mut()
        .insert("content-type", "application/json".parse().expect("ct"));
    res
}

const STREAM_PATH: &str = "/v1beta1/projects/p/locations/us-central1/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse";

/// Open a streaming request through the proxy and return the response (headers read).
async fn open_stream(proxy: std::net::SocketAddr, ca_pem: &str) -> http::Response<hyper::body::Incoming> {
    let host = "us-central1-aiplatform.googleapis.com";
    open_h1(proxy, ca_pem, host, request("POST", STREAM_PATH, PROMPT))
        .await
        .0
}

/// The Vertex path is rewritten to the Gemini API shape; the query is kept.
#[tokio::test]
async fn rewrite_reaches_upstream_with_path_and_query() {
    let upstream = FakeUpstream::start(Arc::new(|_| json_ok(r#"{"candidates":[]}"#))).await;
    let proxy = Proxy::start_with(&["--upstream", &upstream.url()]).await;
    let reply = https(
        &proxy,
        "us-central1-aiplatform.googleapis.com",
        "POST",
        &format!("{GEMINI_PATH}?alt=sse&x=1"),
        PROMPT,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let seen = upstream.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].path_and_query,
        "/v1beta/models/gemini-2.5-flash:generateContent?alt=sse&x=1"
    );
    assert_eq!(seen[0].body, PROMPT.as_bytes());
    assert_eq!(seen[0].headers["host"], upstream.addr.to_string());
}

/// `--rewrite keep` forwards the Vertex path unchanged.
#[tokio::test]
async fn rewrite_keep_forwards_path_unchanged() {
    let upstream = FakeUpstream::start(Arc::new(|_| json_ok("{}"))).await;
    let proxy = Proxy::start_with(&["--upstream", &upstream.url(), "--rewrite", "keep"]).await;
    let reply = https(&proxy, "aiplatform.googleapis.com", "POST", GEMINI_PATH, PROMPT).await;
    assert_eq!(reply.status, 200);
    assert_eq!(upstream.seen()[0].path_and_query, GEMINI_PATH);
}

/// An SSE chunk reaches the client while the upstream is still holding the next one.
#[tokio::test]
async fn sse_chunks_are_not_buffered() {
    let go = Arc::new(Notify::new());
    let upstream = gated_sse_upstream(go.clone()).await;
    let proxy = Proxy::start_with(&["--upstream", &upstream.url()]).await;
    let res = open_stream(proxy.addr, &proxy.ca_pem()).await;
    assert_eq!(res.status(), 200);
    let mut body = res.into_body();
    // The upstream sends chunk 2 only after we have seen chunk 1 through the proxy.
    assert_eq!(
        next_data(&mut body).await.expect("chunk 1"),
        "data: {\"n\":1}\r\n\r\n"
    );
    go.notify_one();
    assert_eq!(
        next_data(&mut body).await.expect("chunk 2"),
        "data: {\"n\":2}\r\n\r\n"
    );
    assert!(next_data(&mut body).await.is_none());
}

/// A refused upstream is a 502 Google-style error naming the upstream.
#[tokio::test]
async fn upstream_down_is_502_json() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let url = format!("http://{closed}");
    let proxy = Proxy::start_with(&["--upstream", &url]).await;
    let reply = https(&proxy, "aiplatform.googleapis.com", "POST", GEMINI_PATH, PROMPT).await;
    assert_eq!(reply.status, 502);
    assert_eq!(reply.headers["content-type"], "application/json");
    let json = reply.json();
    assert_eq!(json["error"]["code"], 502);
    assert_eq!(json["error"]["status"], "UNAVAILABLE");
    let message = json["error"]["message"].as_str().expect("message");
    assert!(message.contains(&url) && message.contains("refused"), "{message}");
    // The request body may be unread: the client is told the connection closes, so it
    // does not send its next request into a closed socket.
    assert_eq!(reply.headers["connection"], "close");
}

/// An upstream that never answers is a 504 after --upstream-timeout.
#[tokio::test]
async fn upstream_silent_is_504() {
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", silent.local_addr().expect("addr"));
    let proxy = Proxy::start_with(&["--upstream", &url, "--upstream-timeout", "0.3"]).await;
    let reply = https(&proxy, "aiplatform.googleapis.com", "POST", GEMINI_PATH, PROMPT).await;
    assert_eq!(reply.status, 504);
    assert_eq!(reply.json()["error"]["status"], "DEADLINE_EXCEEDED");
    drop(silent);
}

/// HTTP/2 (ALPN h2) inside the CONNECT tunnel reaches the built-in mock.
#[tokio::test]
async fn http2_inside_tunnel() {
    let proxy = Proxy::start().await;
    let host = "aiplatform.googleapis.com";
    let stream = connect(proxy.addr, &format!("{host}:443")).await;
    let tls = tls(stream, host, &[b"h2", b"http/1.1"], &proxy.ca_pem()).await;
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let req = request("POST", &format!("https://{host}{GEMINI_PATH}"), PROMPT);
    let reply = send_h2(tls, req).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(reply.json()["candidates"][0]["content"]["parts"][0]["text"].is_string());
}

/// A client that offers no ALPN (aiohttp) gets HTTP/1.1.
#[tokio::test]
async fn no_alpn_speaks_http1() {
    let proxy = Proxy::start().await;
    let host = "aiplatform.googleapis.com";
    let stream = connect(proxy.addr, &format!("{host}:443")).await;
    let tls = tls(stream, host, &[], &proxy.ca_pem()).await;
    assert_eq!(tls.get_ref().1.alpn_protocol(), None);
    let reply = send_h1(tls, request("POST", GEMINI_PATH, PROMPT), host).await;
    assert_eq!(reply.status, 200);
}

/// A client that offers ALPN http/1.1 gets HTTP/1.1, and shunt picks AES-128-GCM even
/// though the client (rustls's default order, like OpenSSL's) lists AES-256-GCM first.
#[tokio::test]
async fn http1_alpn_and_aes_128_first() {
    let client_first = rustls::crypto::ring::default_provider().cipher_suites[0].suite();
    assert_eq!(client_first, rustls::CipherSuite::TLS13_AES_256_GCM_SHA384);
    let proxy = Proxy::start().await;
    let host = "aiplatform.googleapis.com";
    let stream = connect(proxy.addr, &format!("{host}:443")).await;
    let tls = tls(stream, host, &[b"http/1.1"], &proxy.ca_pem()).await;
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    let suite = tls.get_ref().1.negotiated_cipher_suite().map(|s| s.suite());
    assert_eq!(suite, Some(rustls::CipherSuite::TLS13_AES_128_GCM_SHA256));
    let reply = send_h1(tls, request("POST", GEMINI_PATH, PROMPT), host).await;
    assert_eq!(reply.status, 200);
}

/// A stream in flight when shutdown begins completes; then the server task ends and
/// the listener is closed.
#[tokio::test]
async fn in_flight_stream_survives_shutdown() {
    let go = Arc::new(Notify::new());
    let upstream = gated_sse_upstream(go.clone()).await;
    let mut proxy = Proxy::start_with(&["--upstream", &upstream.url()]).await;
    let res = open_stream(proxy.addr, &proxy.ca_pem()).await;
    let mut body = res.into_body();
    assert!(next_data(&mut body).await.is_some());
    let server = proxy.begin_shutdown();
    // Shutdown has begun once the listener is closed.
    let addr = proxy.addr;
    eventually("the listener closes", Duration::from_secs(10), || async move {
        tokio::net::TcpStream::connect(addr).await.is_err()
    })
    .await;
    go.notify_one();
    assert_eq!(
        next_data(&mut body).await.expect("chunk 2 after shutdown"),
        "data: {\"n\":2}\r\n\r\n"
    );
    assert!(next_data(&mut body).await.is_none());
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("server drains once the stream ends")
        .expect("server task");
}
