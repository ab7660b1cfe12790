//! The `shunt` binary as a process: startup, SIGTERM with a stream in flight, CLI commands.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use http_body_util::BodyExt;
use tokio::sync::Notify;

/// SIGTERM while a stream is in flight: the stream completes and shunt exits 0.
#[tokio::test]
async fn sigterm_lets_stream_finish() {
    let go = Arc::new(Notify::new());
    let upstream = gated_sse_upstream(go.clone()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = ShuntProcess::serve(dir.path(), &["--upstream", &upstream.url()]);
    let ca = std::fs::read_to_string(dir.path().join("ca.pem")).expect("ca.pem");
    let req = request("POST", &format!("{GEMINI_PATH}?alt=sse"), PROMPT);
    let (res, _conn) = open_h1(child.addr, &ca, "aiplatform.googleapis.com", req).await;
    let mut body = res.into_body();
    assert_eq!(
        next_data(&mut body).await.expect("first chunk"),
        "data: {\"n\":1}\r\n\r\n"
    );
    child.signal("TERM");
    child.wait_for_line("SIGTERM: shutting down", Duration::from_secs(10));
    go.notify_one();
    let rest = body.collect().await.expect("rest of stream").to_bytes();
    assert_eq!(rest, "data: {\"n\":2}\r\n\r\n");
    let code = tokio::task::spawn_blocking(move || child.wait())
        .await
        .expect("join");
    assert_eq!(code, Some(0));
}

/// `shunt health` succeeds against a running shunt and fails when none listens.
#[tokio::test]
async fn health_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = ShuntProcess::serve(dir.path(), &[]);
    let addr = child.addr;
    let ok = shunt_command()
        .args(["health", "--listen", &addr.to_string()])
        .output()
        .expect("health");
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    child.signal("TERM");
    assert_eq!(child.wait(), Some(0));
    let down = shunt_command()
        .args(["health", "--listen", &addr.to_string()])
        .output()
        .expect("health");
    assert!(!down.status.success());
}

/// The trust kit on disk after start; the CA survives a restart.
#[tokio::test]
async fn trust_kit_and_ca_reuse() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = ShuntProcess::serve(dir.path(), &["--public-url", "http://shunt:8080"]);
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
    child.signal("TERM");
    assert_eq!(child.wait(), Some(0));
    let mut again = ShuntProcess::serve(dir.path(), &[]);
    let ca2 = std::fs::read_to_string(dir.path().join("ca.pem")).expect("ca");
    assert_eq!(ca1, ca2, "CA reused across restarts");
    again.signal("TERM");
    assert_eq!(again.wait(), Some(0));
}

/// Bad flags exit 64 before binding, with a message naming the flag.
#[test]
fn bad_config_exits_64() {
    let out = shunt_command()
        .args(["serve", "--upstream", "https://mock:1"])
        .output()
        .expect("run");
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("scheme https"));
    let dir = tempfile::tempdir().expect("tempdir");
    let out = shunt_command()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--project",
            "has space",
            "--certs",
        ])
        .arg(dir.path())
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
    let status = shunt_command()
        .args(["creds", "--kind", "service_account", "--out"])
        .arg(&out)
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
    let out = shunt_command()
        .args(["env", "--proxy-url", "http://shunt:8080", "--certs-dir", "/certs"])
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
    let mut child = ShuntProcess::spawn(["mock", "--listen", "127.0.0.1:0", "--seed", "3"]);
    let addr = child.addr;
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
        metrics.contains("shunt_mock_replies_total{kind=\"text\",schema=\"\",function=\"\"} 1"),
        "{metrics}"
    );
    // The scrape's own connection is open while it is answered.
    let open: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("shunt_open_connections "))
        .and_then(|v| v.trim().parse().ok())
        .expect("shunt_open_connections");
    assert!(open >= 1.0, "{metrics}");
    child.signal("TERM");
    assert_eq!(child.wait(), Some(0));
}

/// A scenario template that is not valid syntax is refused at start (exit 64, naming the
/// rule), before anything is bound or written.
#[test]
fn bad_template_exits_64() {
    let dir = tempfile::tempdir().expect("tempdir");
    let scenarios = dir.path().join("s.toml");
    std::fs::write(
        &scenarios,
        "[[rule]]\nprompt = 'x'\ntext = 'ok'\n\n[[rule]]\ntemplate = 'Hello {{ name'\n",
    )
    .expect("write");
    let certs = dir.path().join("certs");
    for command in ["serve", "mock"] {
        let mut cmd = shunt_command();
        cmd.args([command, "--listen", "127.0.0.1:0", "--scenarios"])
            .arg(&scenarios);
        if command == "serve" {
            cmd.arg("--certs").arg(&certs);
        }
        let out = cmd.output().expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(64), "{command}: {stderr}");
        assert!(
            stderr.contains("rule 2") && stderr.contains("template"),
            "{command}: {stderr}"
        );
        assert!(!certs.exists(), "{command} wrote the trust kit before refusing");
    }
}

/// A bad `--replay`, `--scenarios`, `--origin-ca` or `--ttft` exits 64 with one line naming
/// the flag, before anything is bound or written: the listen port is held by the test (so
/// a bind attempt would fail with a different message), and neither the certs dir nor the
/// record dir appears.
#[test]
fn bad_files_exit_64_before_anything_is_bound_or_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let not_recording = dir.path().join("replay");
    std::fs::create_dir(&not_recording).expect("mkdir");
    std::fs::write(not_recording.join("000001-x.json"), "{\"not\": \"a recording\"}").expect("write");
    let bad_toml = dir.path().join("bad.toml");
    std::fs::write(&bad_toml, "[[rule]\nprompt = ").expect("write");
    let bad_pem = dir.path().join("bad.pem");
    std::fs::write(&bad_pem, "not a certificate").expect("write");
    let missing = dir.path().join("missing");
    let record = dir.path().join("record");
    let held = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let listen = held.local_addr().expect("addr").to_string();
    let path = |p: &std::path::Path| p.to_str().expect("utf-8").to_string();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["--replay".into(), path(&missing)], "--replay"),
        (vec!["--replay".into(), path(&not_recording)], "--replay"),
        (vec!["--scenarios".into(), path(&bad_toml)], "--scenarios"),
        (vec!["--scenarios".into(), path(&missing)], "--scenarios"),
        (
            vec![
                "--record".into(),
                path(&record),
                "--origin-ca".into(),
                path(&bad_pem),
            ],
            "--origin-ca",
        ),
        (
            vec![
                "--record".into(),
                path(&record),
                "--origin-ca".into(),
                path(&missing),
            ],
            "--origin-ca",
        ),
        (vec!["--ttft".into(), "soon".into()], "--ttft"),
    ];
    for (flags, flag) in cases {
        let certs = dir.path().join("certs");
        let out = shunt_command()
            .args(["serve", "--listen", &listen, "--certs"])
            .arg(&certs)
            .args(&flags)
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(64), "{flags:?}: {stderr}");
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "{flags:?}: one line: {stderr}"
        );
        assert!(stderr.contains(flag), "{flags:?}: names {flag}: {stderr}");
        assert!(
            !stderr.contains("--listen"),
            "{flags:?}: refused before binding: {stderr}"
        );
        assert!(!certs.exists(), "{flags:?}: the trust kit was written");
        assert!(!record.exists(), "{flags:?}: the record dir was created");
    }
    drop(held);
}

/// `shunt env` refuses a proxy URL apps could not use (no scheme, https, a path), naming
/// the flag; `--proxy-url` still works as an alias of `--public-url`.
#[test]
fn env_refuses_unusable_proxy_urls() {
    for bad in ["shunt:8080", "https://shunt:8080", "http://shunt:8080/proxy"] {
        let out = shunt_command()
            .args(["env", "--public-url", bad])
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(64), "{bad}: {stderr}");
        assert!(
            stderr.contains("--public-url") && stderr.contains("http://HOST:PORT"),
            "{stderr}"
        );
        assert!(out.stdout.is_empty(), "{bad}: printed an env block");
    }
    let out = shunt_command()
        .args(["env", "--proxy-url", "http://shunt:8080", "--certs-dir", "/certs"])
        .output()
        .expect("run");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("HTTPS_PROXY=http://shunt:8080\n"));
}

/// `--allow-clients` naming other networks still lets loopback in: the container's health
/// check passes.
#[tokio::test]
async fn health_passes_with_allow_clients() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = ShuntProcess::serve(dir.path(), &["--allow-clients", "172.16.0.0/12"]);
    let out = shunt_command()
        .args(["health", "--listen", &child.addr.to_string()])
        .output()
        .expect("health");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    child.signal("TERM");
    assert_eq!(child.wait(), Some(0));
}

/// Log lines read well: in text, display values (`upstream=builtin`, no `Some(..)`) and
/// rounded milliseconds, one line per exchange; in JSON, the listening address and every
/// exchange detail are fields of their own.
#[tokio::test]
async fn log_lines_in_text_and_json() {
    let metadata = |addr: std::net::SocketAddr| async move {
        let mut req = request(
            "GET",
            "http://metadata.google.internal/computeMetadata/v1/project/project-id",
            "",
        );
        req.headers_mut()
            .insert("metadata-flavor", "Google".parse().expect("header"));
        plain(addr, req).await
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = ShuntProcess::serve(&dir.path().join("a"), &[]);
    assert_eq!(metadata(text.addr).await.status, 200);
    let line = text.wait_for_line("exchange", Duration::from_secs(10));
    text.signal("TERM");
    assert_eq!(text.wait(), Some(0));
    let all = text.log();
    assert!(
        line.contains("route=metadata") && line.contains("status=200"),
        "{line}"
    );
    let ms = line
        .split("latency_ms=")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .expect("latency_ms");
    assert!(
        ms.len() <= 6 && ms.parse::<f64>().is_ok(),
        "rounded milliseconds: {line}"
    );
    assert!(!all.contains("Some(") && !all.contains("Builtin"), "{all}");

    let mut json = ShuntProcess::serve(&dir.path().join("b"), &["--log-format", "json"]);
    assert_eq!(metadata(json.addr).await.status, 200);
    let line = json.wait_for_line("\"exchange\"", Duration::from_secs(10));
    json.signal("TERM");
    assert_eq!(json.wait(), Some(0));
    let exchange: serde_json::Value = serde_json::from_str(&line).expect("a JSON line");
    assert_eq!(exchange["message"], "exchange", "{line}");
    assert_eq!(exchange["route"], "metadata", "{line}");
    assert_eq!(exchange["status"], 200, "{line}");
    assert_eq!(exchange["host"], "metadata.google.internal", "{line}");
    assert!(
        exchange["latency_ms"].is_string() || exchange["latency_ms"].is_number(),
        "{line}"
    );
}
