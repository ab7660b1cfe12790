//! Graceful shutdown under load: SIGTERM while 500 streams are open.

mod common;

use common::*;
use http_body_util::BodyExt;

const SSE: &str = "/v1beta1/projects/p/locations/us-central1/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse";

/// Every one of 500 open streams completes after SIGTERM, the capture holds all 500
/// exchanges, and shunt exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_500_open_streams() {
    let dir = tempfile::tempdir().expect("tempdir");
    let capture = dir.path().join("cap.jsonl");
    let mut child = ShuntProcess::spawn([
        "serve".as_ref(),
        "--listen".as_ref(),
        "127.0.0.1:0".as_ref(),
        "--log".as_ref(),
        "warn,shunt=info".as_ref(),
        "--ttft".as_ref(),
        "1s".as_ref(),
        "--gap".as_ref(),
        "200ms".as_ref(),
        "--grace-period".as_ref(),
        "30".as_ref(),
        "--capture".as_ref(),
        capture.as_os_str(),
        "--certs".as_ref(),
        dir.path().as_os_str(),
    ]);
    let addr = child.addr;
    let ca = std::fs::read_to_string(dir.path().join("ca.pem")).expect("ca");
    let host = "us-central1-aiplatform.googleapis.com";

    // Open 500 streams; each reports when its headers arrived, then reads to the end.
    let (headers_tx, mut headers_rx) = tokio::sync::mpsc::channel::<()>(500);
    let mut streams = Vec::new();
    for i in 0..500 {
        let (ca, headers_tx) = (ca.clone(), headers_tx.clone());
        streams.push(tokio::spawn(async move {
            let body = format!(r#"{{"contents":[{{"role":"user","parts":[{{"text":"stream {i}"}}]}}]}}"#);
            let (res, _conn) = open_h1(addr, &ca, host, request("POST", SSE, &body)).await;
            assert_eq!(res.status(), 200);
            headers_tx.send(()).await.expect("report");
            let text = res.into_body().collect().await.expect("whole stream").to_bytes();
            String::from_utf8_lossy(&text).matches("data: ").count()
        }));
    }
    for _ in 0..500 {
        headers_rx.recv().await.expect("all 500 streams open");
    }
    child.signal("TERM");
    for s in streams {
        assert_eq!(
            s.await.expect("stream task"),
            6,
            "every stream completes with all its chunks"
        );
    }
    let code = tokio::task::spawn_blocking(move || child.wait())
        .await
        .expect("join");
    assert_eq!(code, Some(0));
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
