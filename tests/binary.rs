//! The `shunt` binary as a process: startup, SIGTERM with a stream in flight, CLI commands.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use tokio::sync::Notify;

/// A child process killed when the test ends, even by a panic (a leaked shunt would
/// hold the test runner's output open).
struct Guard(Child);

impl std::ops::Deref for Guard {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Guard {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Start `shunt serve` on port 0 and return the child and the address it logged.
fn spawn_shunt(certs: &std::path::Path, extra: &[&str]) -> (Guard, std::net::SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_shunt"))
        .args(["serve", "--listen", "127.0.0.1:0", "--certs"])
        .arg(certs)
        .args(extra)
        .env_clear()
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn shunt");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(addr) = line.split("listening addr=").nth(1) {
                let _ = tx.send(addr.split_whitespace().next().unwrap_or_default().to_string());
            }
        }
    });
    let child = Guard(child);
    let addr = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("shunt logged its address");
    (child, addr.parse().expect("socket addr"))
}

fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

/// SIGTERM while a stream is in flight: the stream completes and shunt exits 0.
#[tokio::test]
async fn sigterm_lets_stream_finish() {
    let go = Arc::new(Notify::new());
    let gate = go.clone();
    let upstream = FakeUpstream::start(Arc::new(move |_| {
        let (tx, body) = shunt::body::channel(1);
        let gate = gate.clone();
        tokio::spawn(async move {
            let _ = tx.send(Ok(Bytes::from("data: {\"n\":1}\r\n\r\n"))).await;
            gate.notified().await;
            let _ = tx.send(Ok(Bytes::from("data: {\"n\":2}\r\n\r\n"))).await;
        });
        http::Response::new(body)
    }))
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, addr) = spawn_shunt(dir.path(), &["--upstream", &upstream.url()]);
    let ca = std::fs::read_to_string(dir.path().join("ca.pem")).expect("ca.pem");
    let host = "aiplatform.googleapis.com";
    let stream = connect(addr, &format!("{host}:443")).await;
    let tls = tls(stream, host, &[b"http/1.1"], &ca).await;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    let mut req = request("POST", &format!("{GEMINI_PATH}?alt=sse"), PROMPT);
    req.headers_mut().insert("host", host.parse().expect("host"));
    let mut body = sender.send_request(req).await.expect("send").into_body();
    let first = body
        .frame()
        .await
        .expect("frame")
        .expect("ok")
        .into_data()
        .expect("data");
    assert_eq!(first, "data: {\"n\":1}\r\n\r\n");
    sigterm(&child);
    tokio::time::sleep(Duration::from_millis(200)).await;
    go.notify_one();
    let rest = body.collect().await.expect("rest of stream").to_bytes();
    assert_eq!(rest, "data: {\"n\":2}\r\n\r\n");
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .expect("join")
        .expect("wait");
    assert_eq!(status.code(), Some(0));
}

/// `shunt health` succeeds against a running shunt and fails when none listens.
#[tokio::test]
async fn health_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, addr) = spawn_shunt(dir.path(), &[]);
    let ok = Command::new(env!("CARGO_BIN_EXE_shunt"))
        .args(["health", "--listen", &addr.to_string()])
        .env_clear()
        .output()
        .expect("health");
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    sigterm(&child);
    assert_eq!(child.wait().expect("wait").code(), Some(0));
    let down = Command::new(env!("CARGO_BIN_EXE_shunt"))
        .args(["health", "--listen", &addr.to_string()])
        .env_clear()
        .output()
        .expect("health");
    assert!(!down.status.success());
}

/// The trust kit on disk after start; the CA survives a restart.
#[tokio::test]
async fn trust_kit_and_ca_reuse() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, addr) = spawn_shunt(dir.path(), &["--public-url", "http://shunt:8080"]);
    for f in ["ca.pem", "ca-key.pem", "bundle.pem", "adc.json", "shunt.env"] {
        assert!(dir.path().join(f).exists(), "{f} missing");
    }
    let env = std::fs::read_to_string(dir.path().join("shunt.env")).expect("env");
    assert!(env.contains("HTTPS_PROXY=http://shunt:8080\n"), "{env}");
    assert!(
        env.contains(&format!("SSL_CERT_FILE={}/bundle.pem", dir.path().display())),
        "{env}"
    );
    let adc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("adc.json")).expect("adc"))
            .expect("json");
    assert_eq!(adc["type"], "authorized_user");
    let ca1 = std::fs::read_to_string(dir.path().join("ca.pem")).expect("ca");
    let bundle = std::fs::read_to_string(dir.path().join("bundle.pem")).expect("bundle");
    assert!(bundle.contains(ca1.trim()));
    sigterm(&child);
    assert_eq!(child.wait().expect("wait").code(), Some(0));
    let (mut again, _) = spawn_shunt(dir.path(), &[]);
    let ca2 = std::fs::read_to_string(dir.path().join("ca.pem")).expect("ca");
    assert_eq!(ca1, ca2, "CA reused across restarts");
    sigterm(&again);
    assert_eq!(again.wait().expect("wait").code(), Some(0));
    let _ = addr;
}

/// Bad flags exit 64 before binding, with a message naming the flag.
#[test]
fn bad_config_exits_64() {
    let out = Command::new(env!("CARGO_BIN_EXE_shunt"))
        .args(["serve", "--upstream", "https://mock:1"])
        .env_clear()
        .output()
        .expect("run");
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("scheme https"));
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_shunt"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--project",
            "has space",
            "--certs",
        ])
        .arg(dir.path())
        .env_clear()
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(64),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `shunt creds --kind service_account` writes a private, parseable key file.
#[test]
fn creds_service_account() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("sa.json");
    let status = Command::new(env!("CARGO_BIN_EXE_shunt"))
        .args(["creds", "--kind", "service_account", "--out"])
        .arg(&out)
        .env_clear()
        .status()
        .expect("run");
    assert!(status.success());
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("read")).expect("json");
    assert_eq!(json["type"], "service_account");
    assert!(
        json["private_key"]
            .as_str()
            .expect("key")
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    assert_eq!(
        std::fs::metadata(&out).expect("meta").permissions().mode() & 0o777,
        0o600
    );
}

/// `shunt env` prints the block with the given proxy URL and certs dir.
#[test]
fn env_command() {
    let out = Command::new(env!("CARGO_BIN_EXE_shunt"))
        .args(["env", "--proxy-url", "http://shunt:8080", "--certs-dir", "/certs"])
        .env_clear()
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("HTTPS_PROXY=http://shunt:8080\n"));
    assert!(text.contains("REQUESTS_CA_BUNDLE=/certs/bundle.pem\n"));
    assert!(text.contains("GOOGLE_APPLICATION_CREDENTIALS=/certs/adc.json\n"));
}

/// `shunt mock` serves health, metrics and Gemini API paths over plain HTTP; SIGTERM exits 0.
#[tokio::test]
async fn mock_command_serves_gemini_api_paths() {
    let mut child = Guard(
        Command::new(env!("CARGO_BIN_EXE_shunt"))
            .args(["mock", "--listen", "127.0.0.1:0", "--seed", "3"])
            .env_clear()
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn shunt mock"),
    );
    let stderr = child.stderr.take().expect("stderr");
    let line = BufReader::new(stderr)
        .lines()
        .map_while(Result::ok)
        .find(|l| l.contains("listening addr="))
        .expect("mock logged its address");
    let addr: std::net::SocketAddr = line
        .split("listening addr=")
        .nth(1)
        .expect("addr")
        .trim()
        .parse()
        .expect("addr");
    assert_eq!(plain(addr, request("GET", "/health", "")).await.status, 200);
    let reply = plain(
        addr,
        request("POST", "/v1beta/models/gemini-2.5-flash:generateContent", PROMPT),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(reply.json()["candidates"][0]["content"]["parts"][0]["text"].is_string());
    let batch = r#"{"requests":[{"content":{"parts":[{"text":"a"}]}},{"content":{"parts":[{"text":"b"}]}}]}"#;
    let reply = plain(
        addr,
        request(
            "POST",
            "/v1beta/models/text-embedding-004:batchEmbedContents",
            batch,
        ),
    )
    .await;
    assert_eq!(
        reply.json()["embeddings"].as_array().expect("embeddings").len(),
        2
    );
    let metrics = plain(addr, request("GET", "/metrics", "")).await.text();
    assert!(
        metrics.contains("shunt_mock_replies_total{kind=\"text\"} 1"),
        "{metrics}"
    );
    sigterm(&child);
    assert_eq!(child.wait().expect("wait").code(), Some(0));
}
