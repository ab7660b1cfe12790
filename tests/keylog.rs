//! The TLS key log lets tshark decrypt a loopback capture of a session through shunt.
//! Needs tshark (Debian package, installed by scripts/test) and root for the capture.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

/// tshark with the key log shows the request path inside the intercepted TLS session.
#[tokio::test]
async fn tshark_decrypts_with_keylog() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keylog = dir.path().join("keys.log");
    let pcap = dir.path().join("session.pcap");
    let proxy = Proxy::start_with(&["--keylog", keylog.to_str().expect("path")]).await;
    let port = proxy.addr.port();
    let mut tshark = Command::new("tshark")
        .args(["-i", "lo", "-f", &format!("tcp port {port}"), "-w"])
        .arg(&pcap)
        .stderr(Stdio::piped())
        .spawn()
        .expect("tshark must be installed (scripts/test installs it)");
    // Wait until tshark is capturing.
    let stderr = tshark.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::{BufRead, BufReader};
        // Keep reading to the end: a closed pipe would kill tshark's capture child.
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("Capturing on") {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("tshark started capturing");
    // dumpcap announces itself slightly before packets flow.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let path = "/v1beta1/projects/keylog-proj/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent";
    let reply = https(
        &proxy,
        "us-central1-aiplatform.googleapis.com",
        "POST",
        path,
        PROMPT,
    )
    .await;
    assert_eq!(reply.status, 200);
    tokio::time::sleep(Duration::from_millis(500)).await;
    Command::new("kill")
        .args(["-INT", &tshark.id().to_string()])
        .status()
        .expect("kill");
    tshark.wait().expect("tshark exit");
    let keys = std::fs::read_to_string(&keylog).expect("key log written");
    assert!(keys.contains("CLIENT_TRAFFIC_SECRET_0 "), "{keys}");
    let out = Command::new("tshark")
        .arg("-r")
        .arg(&pcap)
        .args(["-o", &format!("tls.keylog_file:{}", keylog.display())])
        .args(["-d", &format!("tcp.port=={port},http")])
        .args([
            "-Y",
            "http.request",
            "-T",
            "fields",
            "-e",
            "http.request.method",
            "-e",
            "http.request.uri",
        ])
        .output()
        .expect("tshark read");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(path),
        "decrypted requests:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Without the key log the path stays hidden.
    let blind = Command::new("tshark")
        .arg("-r")
        .arg(&pcap)
        .args(["-d", &format!("tcp.port=={port},http")])
        .args(["-Y", "http.request", "-T", "fields", "-e", "http.request.uri"])
        .output()
        .expect("tshark read");
    assert!(!String::from_utf8_lossy(&blind.stdout).contains("keylog-proj"));
}
