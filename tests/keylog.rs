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
    // -P -l: also print each captured packet's summary, so the test sees when capture
    // has caught up instead of sleeping.
    let mut tshark = Command::new("tshark")
        .args(["-i", "lo", "-f", &format!("tcp port {port}"), "-P", "-l", "-w"])
        .arg(&pcap)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("tshark must be installed (scripts/test installs it)");
    let stdout = tshark.stdout.take().expect("stdout");
    let (tx, packets) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        use std::io::{BufRead, BufReader};
        // Keep reading to the end: a closed pipe would kill tshark.
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // Capture is running once a probe connection's SYN shows up.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !probe_seen(proxy.addr, &packets, Duration::from_millis(300)) {
        assert!(
            std::time::Instant::now() < deadline,
            "tshark never captured a probe"
        );
    }
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
    // Packets are captured in order: once a later probe is seen, the session is in.
    assert!(
        probe_seen(proxy.addr, &packets, Duration::from_secs(10)),
        "the session's packets were captured"
    );
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

/// Open (and close) a TCP connection to `proxy`; true once tshark printed its SYN within
/// `within`.
fn probe_seen(
    proxy: std::net::SocketAddr,
    packets: &std::sync::mpsc::Receiver<String>,
    within: Duration,
) -> bool {
    let probe = std::net::TcpStream::connect(proxy).expect("probe connects");
    let local = probe.local_addr().expect("local addr").port().to_string();
    drop(probe);
    let deadline = std::time::Instant::now() + within;
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        match packets.recv_timeout(left) {
            Ok(line) if line.contains("SYN") && line.split_whitespace().any(|w| w == local) => return true,
            Ok(_) => {}
            Err(_) => return false,
        }
    }
    false
}
