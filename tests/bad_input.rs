//! The bad-input battery: each case is followed by a good request that must still work.
//! (Malformed CONNECT targets, wrong ports, oversized heads, slow clients and silent
//! upstreams have their own tests in policy.rs, limits.rs and forward.rs.)

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use common::*;
use http_body_util::BodyExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn open_connections_settle(proxy: &Proxy) {
    eventually(
        "every connection closes (none leaked)",
        Duration::from_secs(5),
        || async { proxy.metric("shunt_open_connections") == 0.0 },
    )
    .await;
}

/// Plain HTTP after CONNECT to an intercepted host, and TLS-looking garbage, are closed.
#[tokio::test]
async fn non_tls_bytes_after_connect() {
    let proxy = Proxy::start().await;
    for bytes in [
        b"GET / HTTP/1.1\r\nHost: aiplatform.googleapis.com\r\n\r\n".to_vec(),
        b"\x16\x03\x01\x00\x05garbagegarbagegarbage".to_vec(),
        (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect(),
    ] {
        let mut stream = connect(proxy.addr, "aiplatform.googleapis.com:443").await;
        stream.write_all(&bytes).await.ok();
        let mut out = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut out))
            .await
            .expect("closed")
            .ok();
        assert!(
            !String::from_utf8_lossy(&out).contains("HTTP/1.1 200"),
            "no request may be served"
        );
    }
    still_serves(&proxy).await;
    open_connections_settle(&proxy).await;
}

/// A client that aborts mid-stream: the upstream's stream is cancelled (its next send
/// fails) and no connection stays open.
#[tokio::test]
async fn client_abort_cancels_upstream() {
    let cancelled = Arc::new(AtomicBool::new(false));
    let flag = cancelled.clone();
    let upstream = FakeUpstream::start(Arc::new(move |_| {
        let (tx, body) = shunt::body::channel(1);
        let flag = flag.clone();
        tokio::spawn(async move {
            for n in 0..200 {
                let chunk = Bytes::from(format!("data: {{\"n\":{n}}}\r\n\r\n"));
                if tx.send(Ok(chunk)).await.is_err() {
                    flag.store(true, Ordering::SeqCst);
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        http::Response::new(body)
    }))
    .await;
    let proxy = Proxy::start_with(&["--upstream", &upstream.url()]).await;
    {
        let req = request("POST", &format!("{GEMINI_PATH}?alt=sse"), PROMPT);
        let (res, conn) = open_h1(proxy.addr, &proxy.ca_pem(), "aiplatform.googleapis.com", req).await;
        let mut body = res.into_body();
        next_data(&mut body).await.expect("first chunk");
        conn.abort(); // the client goes away mid-stream
    }
    eventually(
        "the upstream stream is cancelled",
        Duration::from_secs(5),
        || async { cancelled.load(Ordering::SeqCst) },
    )
    .await;
    open_connections_settle(&proxy).await;
    still_serves(&proxy).await;
}

/// An upstream that aborts mid-stream: the client gets the data so far, then an error
/// (not a hang, not a clean-looking end).
#[tokio::test]
async fn upstream_abort_reaches_client_as_error() {
    let upstream = FakeUpstream::start(Arc::new(|_| {
        let (tx, body) = shunt::body::channel(1);
        tokio::spawn(async move {
            let _ = tx.send(Ok(Bytes::from("data: {\"n\":1}\r\n\r\n"))).await;
            let _ = tx.send(Err("upstream died".into())).await;
        });
        http::Response::new(body)
    }))
    .await;
    let proxy = Proxy::start_with(&["--upstream", &upstream.url()]).await;
    let req = request("POST", &format!("{GEMINI_PATH}?alt=sse"), PROMPT);
    let (res, _conn) = open_h1(proxy.addr, &proxy.ca_pem(), "aiplatform.googleapis.com", req).await;
    let mut body = res.into_body();
    assert_eq!(
        next_data(&mut body).await.expect("first chunk"),
        "data: {\"n\":1}\r\n\r\n"
    );
    let rest = tokio::time::timeout(Duration::from_secs(10), body.collect())
        .await
        .expect("no hang");
    assert!(
        rest.is_err(),
        "a cut upstream must surface as an error, not a clean end"
    );
    still_serves(&proxy).await;
}

/// --allow-clients never locks out loopback (the container's own health check): a
/// loopback client is served even when the list names only other networks. (Clients from
/// other networks are refused: tests/deploy/test_topology.py checks that across network
/// namespaces.)
#[tokio::test]
async fn allow_clients_always_serves_loopback() {
    let elsewhere = Proxy::start_with(&["--allow-clients", "10.0.0.0/8"]).await;
    still_serves(&elsewhere).await;
    let reply = plain(elsewhere.addr, request("GET", "/healthz", "")).await;
    assert_eq!(reply.status, 200);
}

/// 10,000 connections opened and dropped at once: shunt keeps serving and closes them all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_connections_dropped_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Connections whose handshake the kernel half-dropped under the burst never send a
    // FIN shunt sees; the header read timeout is what closes them.
    let mut child = ShuntProcess::spawn([
        "serve".as_ref(),
        "--listen".as_ref(),
        "127.0.0.1:0".as_ref(),
        "--log".as_ref(),
        "warn,shunt=info".as_ref(),
        "--header-read-timeout".as_ref(),
        "3".as_ref(),
        "--certs".as_ref(),
        dir.path().as_os_str(),
    ]);
    let addr = child.addr;
    let mut opening = Vec::new();
    for _ in 0..10_000 {
        opening.push(tokio::spawn(async move {
            tokio::time::timeout(Duration::from_secs(20), tokio::net::TcpStream::connect(addr)).await
        }));
    }
    let mut open = Vec::new();
    for t in opening {
        if let Ok(Ok(Ok(s))) = t.await {
            open.push(s);
        }
    }
    assert!(open.len() >= 9_000, "only {} of 10,000 connected", open.len());
    drop(open); // all at once
    let ca = std::fs::read_to_string(dir.path().join("ca.pem")).expect("ca");
    let host = "aiplatform.googleapis.com";
    let tls = tls(
        connect(addr, &format!("{host}:443")).await,
        host,
        &[b"http/1.1"],
        &ca,
    )
    .await;
    let reply = send_h1(tls, request("POST", GEMINI_PATH, PROMPT), host).await;
    assert_eq!(reply.status, 200);
    // Every dropped connection is closed on shunt's side too.
    let mut open_now = f64::NAN;
    for _ in 0..400 {
        let metrics = plain(addr, request("GET", "/metrics", "")).await.text();
        open_now = metrics
            .lines()
            .find(|l| l.starts_with("shunt_open_connections "))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN);
        // The /metrics request's own connection counts while it is served.
        if open_now <= 1.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(open_now <= 1.0, "{open_now} connections still open");
    child.signal("TERM");
    assert_eq!(child.wait(), Some(0));
}
