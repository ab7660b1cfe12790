//! Graceful shutdown under load: SIGTERM while 500 streams are open.

mod common;

use std::io::BufRead;
use std::time::Duration;

use common::*;
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;

const SSE: &str = "/v1beta1/projects/p/locations/us-central1/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse";

/// Every one of 500 open streams completes after SIGTERM, the capture holds all 500
/// exchanges, and shunt exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_500_open_streams() {
    let dir = tempfile::tempdir().expect("tempdir");
    let capture = dir.path().join("cap.jsonl");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_shunt"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--log",
            "warn,shunt=info",
            "--ttft",
            "1s",
            "--gap",
            "200ms",
        ])
        .args(["--grace-period", "30", "--capture"])
        .arg(&capture)
        .arg("--certs")
        .arg(dir.path())
        .env_clear()
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = child.id();
    struct Kill(u32);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &self.0.to_string()])
                .output();
        }
    }
    let _kill = Kill(pid);
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(a) = line.split("listening addr=").nth(1) {
                let _ = tx.send(a.split_whitespace().next().unwrap_or_default().to_string());
            }
        }
    });
    let addr: std::net::SocketAddr = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("addr")
        .parse()
        .expect("addr");
    let ca = std::fs::read_to_string(dir.path().join("ca.pem")).expect("ca");
    let host = "us-central1-aiplatform.googleapis.com";

    // Open 500 streams; each reports when its headers arrived, then reads to the end.
    let (headers_tx, mut headers_rx) = tokio::sync::mpsc::channel::<()>(500);
    let mut streams = Vec::new();
    for i in 0..500 {
        let (ca, headers_tx) = (ca.clone(), headers_tx.clone());
        streams.push(tokio::spawn(async move {
            let tls = tls(
                connect(addr, &format!("{host}:443")).await,
                host,
                &[b"http/1.1"],
                &ca,
            )
            .await;
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
                .await
                .expect("hs");
            tokio::spawn(conn);
            let body = format!(r#"{{"contents":[{{"role":"user","parts":[{{"text":"stream {i}"}}]}}]}}"#);
            let mut req = request("POST", SSE, &body);
            req.headers_mut().insert("host", host.parse().expect("host"));
            let res = sender.send_request(req).await.expect("send");
            assert_eq!(res.status(), 200);
            headers_tx.send(()).await.expect("report");
            let text = res.into_body().collect().await.expect("whole stream").to_bytes();
            String::from_utf8_lossy(&text).matches("data: ").count()
        }));
    }
    for _ in 0..500 {
        headers_rx.recv().await.expect("all 500 streams open");
    }
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    for s in streams {
        assert_eq!(
            s.await.expect("stream task"),
            6,
            "every stream completes with all its chunks"
        );
    }
    let exit = tokio::task::spawn_blocking(move || child.wait())
        .await
        .expect("join")
        .expect("wait");
    assert_eq!(exit.code(), Some(0));
    let text = std::fs::read_to_string(&capture).expect("capture");
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("line"))
        .collect();
    let complete = records
        .iter()
        .filter(|r| r["type"] == "exchange" && r["error"].is_null() && r["status"] == 200)
        .count();
    assert_eq!(complete, 500, "the capture holds every stream, complete");
}
