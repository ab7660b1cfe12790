//! Capture: JSONL and HAR files, redaction, body caps, tunnels and denials, summary.

mod common;

use common::*;
use serde_json::Value;

fn lines(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .expect("capture file")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("torn line ({e}): {l}")))
        .collect()
}

const SSE_PATH: &str = "/v1beta1/projects/p/locations/us-central1/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse";

/// N concurrent exchanges, SSE included, give exactly N complete exchange records whose
/// bodies equal what the clients received.
#[tokio::test]
async fn jsonl_has_one_complete_record_per_exchange() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("cap.jsonl");
    let mut proxy = Proxy::start_with(&["--capture", file.to_str().expect("path"), "--gap", "1ms"]).await;
    let n = 24;
    let mut tasks = Vec::new();
    for i in 0..n {
        let (addr, ca) = (proxy.addr, proxy.ca_pem());
        tasks.push(tokio::spawn(async move {
            let host = "us-central1-aiplatform.googleapis.com";
            let stream = connect(addr, &format!("{host}:443")).await;
            let tls = tls(stream, host, &[b"http/1.1"], &ca).await;
            let path = if i % 2 == 0 { SSE_PATH } else { GEMINI_PATH };
            let body = format!(r#"{{"contents":[{{"role":"user","parts":[{{"text":"q{i}"}}]}}]}}"#);
            let reply = send_h1(tls, request("POST", path, &body), host).await;
            assert_eq!(reply.status, 200);
            (body, reply.text())
        }));
    }
    let mut sent = Vec::new();
    for t in tasks {
        sent.push(t.await.expect("client"));
    }
    proxy.stop().await;
    let records = lines(&file);
    assert_eq!(records.len(), n, "one record per exchange");
    for (req_body, res_body) in &sent {
        let r = records
            .iter()
            .find(|r| r["request"]["body"]["text"] == req_body.as_str())
            .unwrap_or_else(|| panic!("no record for {req_body}"));
        assert_eq!(r["type"], "exchange");
        assert_eq!(r["route"], "vertex");
        assert_eq!(r["status"], 200);
        assert_eq!(
            r["response"]["body"]["text"],
            res_body.as_str(),
            "captured body equals the delivered one"
        );
        assert_eq!(r["response"]["body"]["truncated_bytes"], 0);
        assert!(r["error"].is_null());
    }
    assert!(records.iter().any(|r| {
        r["response"]["body"]["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("data: "))
    }));
}

/// Tokens and credentials never reach the file unless --capture-secrets.
#[tokio::test]
async fn redaction_by_default_and_secrets_on_request() {
    for keep in [false, true] {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("cap.jsonl");
        let mut args = vec!["--capture", file.to_str().expect("path")];
        if keep {
            args.push("--capture-secrets");
        }
        let mut proxy = Proxy::start_with(&args).await;
        let token = https(
            &proxy,
            "oauth2.googleapis.com",
            "POST",
            "/token",
            "grant_type=refresh_token&refresh_token=1%2F%2Fsecret-refresh&client_secret=secret-client",
        )
        .await;
        let access = token.json()["access_token"].as_str().expect("token").to_string();
        let host = "aiplatform.googleapis.com";
        let stream = connect(proxy.addr, &format!("{host}:443")).await;
        let tls = tls(stream, host, &[b"http/1.1"], &proxy.ca_pem()).await;
        let mut req = request("POST", GEMINI_PATH, PROMPT);
        req.headers_mut()
            .insert("authorization", format!("Bearer {access}").parse().expect("h"));
        req.headers_mut()
            .insert("x-goog-api-key", "secret-api-key".parse().expect("h"));
        assert_eq!(send_h1(tls, req, host).await.status, 200);
        proxy.stop().await;
        let text = std::fs::read_to_string(&file).expect("capture");
        for secret in [
            access.as_str(),
            "secret-refresh",
            "secret-client",
            "secret-api-key",
        ] {
            assert_eq!(text.contains(secret), keep, "{secret} present={keep}");
        }
        assert_eq!(text.contains("REDACTED"), !keep);
    }
}

/// Bodies over --capture-max-body are cut with an explicit marker; the client still
/// gets everything.
#[tokio::test]
async fn body_cap_marks_truncation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("cap.jsonl");
    let mut proxy = Proxy::start_with(&[
        "--capture",
        file.to_str().expect("path"),
        "--capture-max-body",
        "10",
        "--reply-words",
        "50",
    ])
    .await;
    let reply = https(&proxy, "aiplatform.googleapis.com", "POST", GEMINI_PATH, PROMPT).await;
    proxy.stop().await;
    let r = &lines(&file)[0];
    let body = &r["response"]["body"];
    assert_eq!(body["text"].as_str().expect("text").len(), 10);
    assert_eq!(body["size"], reply.body.len());
    assert_eq!(body["truncated_bytes"], reply.body.len() - 10);
}

/// Tunnels and denials are records of their own.
#[tokio::test]
async fn tunnels_and_denials_are_recorded() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("cap.jsonl");
    let mut proxy =
        Proxy::start_with(&["--capture", file.to_str().expect("path"), "--allow-local-tunnels"]).await;
    let echo = echo_server().await;
    let mut stream = connect(proxy.addr, &echo.to_string()).await;
    stream.write_all(b"hello").await.expect("write");
    let mut back = [0u8; 5];
    stream.read_exact(&mut back).await.expect("read");
    drop(stream);
    let (status, _, _) = connect_raw(proxy.addr, "CONNECT storage.googleapis.com:443 HTTP/1.1\r\n\r\n").await;
    assert_eq!(status, 403);
    // The tunnel's record is written when it closes, after the client hung up.
    eventually(
        "tunnel and denial records written",
        std::time::Duration::from_secs(5),
        || async { proxy.metric("shunt_capture_records_total") >= 2.0 },
    )
    .await;
    proxy.stop().await;
    let records = lines(&file);
    let tunnel = records
        .iter()
        .find(|r| r["type"] == "tunnel")
        .expect("tunnel record");
    assert_eq!(tunnel["bytes_up"], 5);
    assert_eq!(tunnel["bytes_down"], 5);
    let denial = records
        .iter()
        .find(|r| r["type"] == "denial")
        .expect("denial record");
    assert_eq!(denial["host"], "storage.googleapis.com");
    assert!(denial["reason"].as_str().expect("reason").contains("costs money"));
}

/// The HAR file is one JSON document with the HAR 1.2 shape, and summary reads both.
#[tokio::test]
async fn har_document_and_summary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let har = dir.path().join("cap.har");
    let jsonl = dir.path().join("cap.jsonl");
    let mut proxy = Proxy::start_with(&[
        "--capture",
        har.to_str().expect("path"),
        "--capture",
        jsonl.to_str().expect("path"),
    ])
    .await;
    for _ in 0..3 {
        https(&proxy, "aiplatform.googleapis.com", "POST", GEMINI_PATH, PROMPT).await;
    }
    https(&proxy, "oauth2.googleapis.com", "POST", "/token", "x=1").await;
    proxy.stop().await;
    let doc: Value = serde_json::from_slice(&std::fs::read(&har).expect("har")).expect("HAR is JSON");
    assert_eq!(doc["log"]["version"], "1.2");
    let entries = doc["log"]["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 4);
    let e = &entries[0];
    assert_eq!(e["request"]["method"], "POST");
    assert!(
        e["request"]["url"]
            .as_str()
            .expect("url")
            .starts_with("https://aiplatform.googleapis.com/v1beta1/")
    );
    assert_eq!(e["response"]["status"], 200);
    assert_eq!(e["response"]["content"]["mimeType"], "application/json");
    for file in [&har, &jsonl] {
        let out = shunt_command()
            .args(["capture", "summary"])
            .arg(file)
            .output()
            .expect("summary");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let vertex = text
            .lines()
            .find(|l| l.starts_with("vertex "))
            .unwrap_or_else(|| panic!("{text}"));
        assert!(vertex.contains(" 3 ") && vertex.contains("200:3"), "{vertex}");
        assert!(
            text.lines()
                .any(|l| l.starts_with("token ") && l.contains("200:1")),
            "{text}"
        );
    }
}

/// A bad capture path is refused before start, naming the flag.
#[test]
fn bad_capture_path_is_refused() {
    let out = shunt_command()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--capture",
            "/nonexistent-dir/x.jsonl",
            "--certs",
        ])
        .arg(tempfile::tempdir().expect("tempdir").path())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--capture /nonexistent-dir/x.jsonl"));
    let out = shunt_command()
        .args(["serve", "--capture", "x.txt"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(64));
}

/// `kill -9` in the middle of a load: every line already in the file parses.
#[tokio::test]
async fn kill_9_leaves_only_whole_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("cap.jsonl");
    let mut child = ShuntProcess::spawn([
        "serve".as_ref(),
        "--listen".as_ref(),
        "127.0.0.1:0".as_ref(),
        "--log".as_ref(),
        "warn,shunt=info".as_ref(),
        "--capture".as_ref(),
        file.as_os_str(),
        "--certs".as_ref(),
        dir.path().as_os_str(),
    ]);
    let addr = child.addr;
    let ca = std::fs::read_to_string(dir.path().join("ca.pem")).expect("ca");
    let mut load = Vec::new();
    for _ in 0..8 {
        let ca = ca.clone();
        load.push(tokio::spawn(async move {
            let host = "aiplatform.googleapis.com";
            let Ok(stream) = tokio::net::TcpStream::connect(addr).await else {
                return;
            };
            drop(stream);
            for _ in 0..10_000 {
                let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else {
                    return;
                };
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let head = format!("CONNECT {host}:443 HTTP/1.1\r\n\r\n");
                if s.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let mut buf = [0u8; 64];
                if s.read(&mut buf).await.unwrap_or(0) == 0 {
                    return;
                }
                let mut roots = rustls::RootCertStore::empty();
                roots
                    .add(pem::parse(&ca).expect("pem").into_contents().into())
                    .expect("root");
                let config = rustls::ClientConfig::builder()
                    .with_root_certificates(roots)
                    .with_no_client_auth();
                let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
                let name = rustls_pki_types::ServerName::try_from(host).expect("name");
                let Ok(tls) = connector.connect(name, s).await else {
                    return;
                };
                let Ok((mut sender, conn)) =
                    hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls)).await
                else {
                    return;
                };
                tokio::spawn(conn);
                let mut req = request("POST", GEMINI_PATH, PROMPT);
                req.headers_mut().insert("host", host.parse().expect("host"));
                match sender.send_request(req).await {
                    Ok(res) => {
                        let _ = http_body_util::BodyExt::collect(res.into_body()).await;
                    }
                    Err(_) => return,
                }
            }
        }));
    }
    // Let records accumulate, then kill without warning.
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        if std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0) > 20_000 {
            break;
        }
    }
    child.signal("KILL");
    let _ = child.wait();
    for t in load {
        let _ = t.await;
    }
    let text = std::fs::read_to_string(&file).expect("capture");
    assert!(text.ends_with('\n'), "the file ends with a whole line");
    let n = text.lines().count();
    assert!(n >= 5, "records were written before the kill ({n})");
    for line in text.lines() {
        serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("torn line ({e}): {line}"));
    }
}

/// Under traffic that never pauses, the HAR file is rewritten at least every interval
/// (2 s), watched while the load runs, not after shutdown.
#[tokio::test]
async fn har_is_rewritten_every_interval_under_steady_traffic() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().expect("tempdir");
    let har = dir.path().join("cap.har");
    let mut proxy = Proxy::start_with(&["--capture", har.to_str().expect("path")]).await;
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    // One client, back to back on one connection: there is never an idle moment.
    let load = tokio::spawn({
        let (addr, ca, stop, sent) = (proxy.addr, proxy.ca_pem(), stop.clone(), sent.clone());
        async move {
            let host = "oauth2.googleapis.com";
            let stream = connect(addr, &format!("{host}:443")).await;
            let tls = tls(stream, host, &[b"http/1.1"], &ca).await;
            let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
                .await
                .expect("handshake");
            tokio::spawn(conn);
            while !stop.load(Ordering::Relaxed) {
                let mut req = request("POST", "/token", "grant_type=x");
                req.headers_mut().insert("host", host.parse().expect("host"));
                let res = sender.send_request(req).await.expect("send");
                assert_eq!(res.status(), 200);
                http_body_util::BodyExt::collect(res.into_body())
                    .await
                    .expect("body");
                sent.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    // Watch the file: each rewrite changes the entry count (requests keep completing).
    let started = Instant::now();
    let mut updates: Vec<(Duration, usize)> = Vec::new();
    while started.elapsed() < Duration::from_millis(7_500) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let Ok(bytes) = std::fs::read(&har) else { continue };
        let doc: Value = serde_json::from_slice(&bytes).expect("the HAR is always a whole document");
        let entries = doc["log"]["entries"].as_array().expect("entries").len();
        if updates.last().is_none_or(|(_, n)| *n != entries) {
            updates.push((started.elapsed(), entries));
        }
    }
    stop.store(true, Ordering::Relaxed);
    load.await.expect("load task");
    assert!(sent.load(Ordering::Relaxed) > 100, "the load ran");
    assert!(updates.len() >= 3, "rewritten during the run: {updates:?}");
    let first = updates[0].0;
    assert!(
        first < Duration::from_secs(4),
        "first write within an interval or so: {updates:?}"
    );
    for pair in updates.windows(2) {
        let gap = pair[1].0 - pair[0].0;
        assert!(
            gap < Duration::from_millis(3_500),
            "a rewrite every interval (2 s): {updates:?}"
        );
    }
    proxy.stop().await;
}
