//! Limits: slow or oversized clients are cut off, and the proxy keeps serving.

mod common;

use std::time::Duration;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Read until the peer closes; panics if it stays open past `within`.
async fn closed_within(stream: &mut tokio::net::TcpStream, within: Duration) -> Vec<u8> {
    let mut out = Vec::new();
    tokio::time::timeout(within, stream.read_to_end(&mut out))
        .await
        .expect("the server must close the connection")
        .ok();
    out
}

/// Headers that never finish (slowloris) are cut off after --header-read-timeout.
#[tokio::test]
async fn slow_headers_are_cut_off() {
    let proxy = Proxy::start_with(&["--header-read-timeout", "0.3"]).await;
    let mut stream = tokio::net::TcpStream::connect(proxy.addr).await.expect("connect");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");
    closed_within(&mut stream, Duration::from_secs(10)).await;
    still_serves(&proxy).await;
}

/// A client that CONNECTs to an intercepted host but never sends its ClientHello is
/// closed after the same timeout.
#[tokio::test]
async fn missing_client_hello_is_cut_off() {
    let proxy = Proxy::start_with(&["--header-read-timeout", "0.3"]).await;
    let mut stream = connect(proxy.addr, "aiplatform.googleapis.com:443").await;
    closed_within(&mut stream, Duration::from_secs(10)).await;
    assert_eq!(proxy.metric("shunt_tls_handshakes_total{result=\"failed\"}"), 1.0);
    still_serves(&proxy).await;
}

/// Oversized request heads get 431, on the proxy listener and inside an intercepted session.
#[tokio::test]
async fn oversized_headers_get_431() {
    let proxy = Proxy::start_with(&["--max-header-bytes", "8192"]).await;
    let big = "x".repeat(20_000);
    let mut stream = tokio::net::TcpStream::connect(proxy.addr).await.expect("connect");
    let head = format!("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\n\r\n");
    stream.write_all(head.as_bytes()).await.ok();
    let answer = closed_within(&mut stream, Duration::from_secs(10)).await;
    assert!(
        String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 431"),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );
    let host = "aiplatform.googleapis.com";
    let tls_stream = tls(
        connect(proxy.addr, &format!("{host}:443")).await,
        host,
        &[b"http/1.1"],
        &proxy.ca_pem(),
    )
    .await;
    let (mut r, mut w) = tokio::io::split(tls_stream);
    w.write_all(format!("POST {GEMINI_PATH} HTTP/1.1\r\nHost: {host}\r\nX-Big: {big}\r\n\r\n").as_bytes())
        .await
        .ok();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), r.read_to_end(&mut answer))
        .await
        .expect("closed")
        .ok();
    assert!(
        String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 431"),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );
    still_serves(&proxy).await;
}

/// At --max-connections, a new client waits until a slot frees instead of being served.
#[tokio::test]
async fn max_connections_queues_new_clients() {
    let proxy = Proxy::start_with(&["--max-connections", "2"]).await;
    let held: Vec<_> = hold_two_connections(&proxy).await;
    let third = tokio::spawn({
        let addr = proxy.addr;
        async move { plain(addr, request("GET", "/healthz", "")).await.status }
    });
    let mut third = third;
    assert!(
        tokio::time::timeout(Duration::from_millis(300), &mut third)
            .await
            .is_err(),
        "the third client must wait while two connections are open"
    );
    drop(held);
    let status = tokio::time::timeout(Duration::from_secs(10), third)
        .await
        .expect("served once a slot frees");
    assert_eq!(status.expect("join"), 200);
}

/// Two idle connections that each made one request (so shunt has accepted them).
async fn hold_two_connections(proxy: &Proxy) -> Vec<tokio::net::TcpStream> {
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = tokio::net::TcpStream::connect(proxy.addr).await.expect("connect");
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("write");
        let mut buf = [0u8; 256];
        let n = s.read(&mut buf).await.expect("read");
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
        held.push(s);
    }
    held
}

/// Limits that cannot work are refused before start.
#[test]
fn bad_limits_are_refused() {
    for (flag, value) in [
        ("--max-header-bytes", "100"),
        ("--max-connections", "0"),
        ("--header-read-timeout", "0"),
    ] {
        let out = shunt_command()
            .args(["serve", "--listen", "127.0.0.1:0", flag, value])
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(64), "{flag} {value}");
        assert!(String::from_utf8_lossy(&out.stderr).contains(flag));
    }
}

/// A tunnel that carries no bytes for --tunnel-idle-timeout is closed; traffic keeps it open.
#[tokio::test]
async fn idle_tunnel_is_closed() {
    let proxy = Proxy::start_with(&["--tunnel-idle-timeout", "0.5", "--allow-local-tunnels"]).await;
    let echo = echo_server().await;
    let mut stream = connect(proxy.addr, &echo.to_string()).await;
    // Active for longer than the timeout: every 200 ms a byte goes through.
    for _ in 0..5 {
        stream.write_all(b"x").await.expect("write");
        let mut b = [0u8; 1];
        stream.read_exact(&mut b).await.expect("echo while active");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Then silence: the tunnel must close.
    closed_within(&mut stream, Duration::from_secs(10)).await;
    still_serves(&proxy).await;
}

/// An idle keep-alive connection is closed after --header-read-timeout (it also bounds the
/// wait for the next request).
#[tokio::test]
async fn idle_keep_alive_is_closed() {
    let proxy = Proxy::start_with(&["--header-read-timeout", "0.5"]).await;
    let mut stream = tokio::net::TcpStream::connect(proxy.addr).await.expect("connect");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let mut buf = [0u8; 256];
    let n = stream.read(&mut buf).await.expect("read");
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    closed_within(&mut stream, Duration::from_secs(10)).await;
}

/// Bodies over --max-body on routes that read them whole get 413; the proxy keeps serving.
#[tokio::test]
async fn oversized_mock_body_gets_413() {
    let proxy = Proxy::start_with(&["--max-body", "1000"]).await;
    let big = format!(
        r#"{{"contents":[{{"role":"user","parts":[{{"text":"{}"}}]}}]}}"#,
        "x".repeat(5000)
    );
    let reply = https(&proxy, "aiplatform.googleapis.com", "POST", GEMINI_PATH, &big).await;
    assert_eq!(reply.status, 413);
    assert!(reply.text().contains("1000-byte limit"), "{}", reply.text());
    let ok = https(&proxy, "aiplatform.googleapis.com", "POST", GEMINI_PATH, PROMPT).await;
    assert_eq!(ok.status, 200);
}
