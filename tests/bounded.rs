//! No request can take shunt down: requests of a few hundred bytes that ask for unbounded
//! work get a 400 naming the limit within seconds, through the proxy, while good requests
//! and `/healthz` keep being served; peak memory stays bounded; CPU work stops when its
//! client goes away; connection limits hold for tunnels and intercepted TLS; shunt never
//! tunnels into itself; a client that stops reading is cut off.
//!
//! These drive a `shunt` process (the test binary's build), so its memory and CPU time can
//! be read from /proc.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{ShuntProcess, connect_raw, echo_server, open_h1, plain, read_reply, request};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const HOST: &str = "us-central1-aiplatform.googleapis.com";
const MODEL: &str = "/v1beta1/projects/p/locations/us-central1/publishers/google/models";
/// Peak RSS the whole battery must stay under.
const RSS_BOUND_KIB: u64 = 512 * 1024;

struct Shunt {
    process: ShuntProcess,
    ca: String,
    _dir: tempfile::TempDir,
}

fn start(extra: &[&str]) -> Shunt {
    let dir = tempfile::tempdir().expect("tempdir");
    let certs = dir.path().to_str().expect("path").to_string();
    let mut args = vec!["serve", "--listen", "127.0.0.1:0", "--certs", &certs];
    args.extend_from_slice(extra);
    let process = ShuntProcess::spawn(args);
    let ca = std::fs::read_to_string(dir.path().join("ca.pem")).expect("ca.pem");
    Shunt {
        process,
        ca,
        _dir: dir,
    }
}

impl Shunt {
    fn addr(&self) -> SocketAddr {
        self.process.addr
    }

    fn pid(&self) -> u32 {
        self.process.child.id()
    }

    /// POST `body` to `MODEL/{model_verb}` through the proxy; (status, body as JSON, time).
    async fn call(&self, model_verb: &str, body: String) -> (u16, Value, Duration) {
        let started = Instant::now();
        let (res, _conn) = open_h1(
            self.addr(),
            &self.ca,
            HOST,
            request("POST", &format!("{MODEL}/{model_verb}"), &body),
        )
        .await;
        let reply = read_reply(res).await;
        let json = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
        (reply.status, json, started.elapsed())
    }

    /// A small, valid structured request: must always succeed.
    async fn good(&self) {
        let body = json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}],
            "generationConfig": {"responseMimeType": "application/json",
                "responseSchema": {"type": "OBJECT", "properties": {"ok": {"type": "BOOLEAN"}}, "required": ["ok"]}}});
        let (status, reply, _) = self
            .call("gemini-2.5-flash:generateContent", body.to_string())
            .await;
        assert_eq!(status, 200, "{reply}");
    }

    /// A generation that runs until its time budget (2^40 `allOf` expansions), on its own
    /// connection; resolves to its status.
    fn heavy(&self) -> tokio::task::JoinHandle<u16> {
        let (addr, ca) = (self.addr(), self.ca.clone());
        tokio::spawn(async move {
            let (res, _conn) = open_h1(
                addr,
                &ca,
                HOST,
                request(
                    "POST",
                    &format!("{MODEL}/gemini-2.5-flash:generateContent"),
                    &structured(doubling(40)),
                ),
            )
            .await;
            read_reply(res).await.status
        })
    }

    /// GET /healthz on the listener; its latency.
    async fn health(&self) -> Duration {
        let started = Instant::now();
        let reply = plain(self.addr(), request("GET", "/healthz", "")).await;
        assert_eq!(reply.status, 200);
        started.elapsed()
    }

    fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).expect("proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .expect("status field")
    }

    /// User + system CPU time so far, in clock ticks.
    fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).expect("proc stat");
        let after = &stat[stat.rfind(')').expect("comm") + 2..];
        let f: Vec<&str> = after.split_whitespace().collect();
        f[11].parse::<u64>().expect("utime") + f[12].parse::<u64>().expect("stime")
    }
}

fn structured(schema: Value) -> String {
    json!({"contents": [{"role": "user", "parts": [{"text": "go"}]}],
        "generationConfig": {"responseMimeType": "application/json", "responseJsonSchema": schema}})
    .to_string()
}

/// `allOf` doubling through `$ref`s: 2^n expansions from a ~80n-byte schema.
fn doubling(n: usize) -> Value {
    let mut defs = serde_json::Map::new();
    defs.insert("d0".into(), json!({"type": "string"}));
    for i in 1..=n {
        let prev = format!("#/$defs/d{}", i - 1);
        defs.insert(
            format!("d{i}"),
            json!({"allOf": [{"$ref": prev}, {"$ref": prev}]}),
        );
    }
    json!({"$defs": defs, "$ref": format!("#/$defs/d{n}")})
}

/// Each of the measured attacks gets its 400 within seconds, naming the limit; a good
/// request and /healthz work after each; peak RSS over the battery stays bounded.
#[tokio::test]
async fn heavy_requests_are_refused_quickly() {
    let shunt = start(&[]);
    let generate = "gemini-2.5-flash:generateContent";
    let words: String = "lorem ipsum dolor ".repeat(500_000);
    let cases: Vec<(&str, String, String, &str)> = vec![
        (
            "nested pattern counts",
            generate.into(),
            structured(json!({"type": "string", "pattern": "^(((a{1000}){1000}){1000}){1000}$"})),
            "bytes",
        ),
        (
            "4096 strings of minLength 65536",
            generate.into(),
            structured(json!({"type": "array", "minItems": 4096, "maxItems": 4096,
                "items": {"type": "string", "minLength": 65536}})),
            "bytes",
        ),
        (
            "unique items that cannot all differ",
            generate.into(),
            structured(json!({"type": "array", "minItems": 2000, "uniqueItems": true,
                "items": {"type": "string", "pattern": "^x{2000}[a-c]$"}})),
            "",
        ),
        // The steps limit ends it (about 1.6 s in a debug build); on a busy machine the
        // time limit may come first, which is as good.
        ("allOf doubling (n = 24)", generate.into(), structured(doubling(24)), "steps|time allowed"),
        (
            "predict: 1000 instances of 65536 dimensions",
            "text-embedding-004:predict".into(),
            json!({"instances": vec![json!({"content": "x"}); 1000], "parameters": {"outputDimensionality": 65536}})
                .to_string(),
            "instances",
        ),
        (
            "computeTokens of 9 MB of words",
            "gemini-2.5-flash:computeTokens".into(),
            json!({"contents": [{"role": "user", "parts": [{"text": words}]}]}).to_string(),
            "bytes",
        ),
    ];
    for (name, verb, body, names) in cases {
        let (status, reply, took) = shunt.call(&verb, body).await;
        let message = reply["error"]["message"].as_str().unwrap_or_default().to_string();
        assert_eq!(status, 400, "{name}: {reply}");
        assert_eq!(reply["error"]["status"], "INVALID_ARGUMENT", "{name}");
        assert!(names.split('|').any(|n| message.contains(n)), "{name}: {message}");
        assert!(took < Duration::from_secs(10), "{name}: took {took:?}");
        shunt.good().await;
        assert!(shunt.health().await < Duration::from_secs(1), "{name}");
        eprintln!("{name}: 400 in {took:?}: {message}");
    }
    let peak = shunt.status_kib("VmHWM:");
    eprintln!("peak RSS {} MiB", peak / 1024);
    assert!(peak < RSS_BOUND_KIB, "peak RSS {peak} KiB");
}

/// Four CPU-heavy generations at once leave /healthz answering in well under half a second.
#[tokio::test]
async fn health_stays_fast_under_cpu_load() {
    // Heavy but allowed: each runs until its time budget.
    let shunt = start(&["--max-reply-steps", "1000000000000", "--max-reply-time", "2"]);
    let heavy: Vec<_> = (0..4).map(|_| shunt.heavy()).collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut worst = Duration::ZERO;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(3) {
        worst = worst.max(shunt.health().await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for h in heavy {
        assert_eq!(h.await.expect("heavy request"), 400);
    }
    eprintln!("worst /healthz latency under load: {worst:?}");
    assert!(worst < Duration::from_millis(500), "/healthz took {worst:?}");
}

/// A small call asking for text is answered in place, not queued behind generations that
/// hold every `--mock-workers` permit.
#[tokio::test]
async fn text_calls_do_not_queue_behind_heavy_generations() {
    let shunt = start(&[
        "--max-reply-steps",
        "1000000000000",
        "--max-reply-time",
        "3",
        "--mock-workers",
        "1",
    ]);
    let heavy = shunt.heavy();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let text = json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}).to_string();
    let (status, reply, took) = shunt.call("gemini-2.5-flash:generateContent", text).await;
    assert_eq!(status, 200, "{reply}");
    assert!(
        reply["candidates"][0]["content"]["parts"][0]["text"].is_string(),
        "{reply}"
    );
    // The heavy generation holds the only permit for 3 s; the text call did not wait for it.
    assert!(
        !heavy.is_finished(),
        "the heavy generation ended before the text call"
    );
    assert!(took < Duration::from_millis(1500), "the text call took {took:?}");
    assert_eq!(heavy.await.expect("heavy request"), 400);
}

/// A heavy generation whose client disconnects stops using CPU within a second.
#[tokio::test]
async fn work_stops_when_the_client_leaves() {
    let shunt = start(&["--max-reply-steps", "1000000000000", "--max-reply-time", "60"]);
    let stream = common::connect(shunt.addr(), &format!("{HOST}:443")).await;
    let tls = common::tls(stream, HOST, &[b"http/1.1"], &shunt.ca).await;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
        .await
        .expect("h1 handshake");
    let conn = tokio::spawn(conn);
    let mut req = request(
        "POST",
        &format!("{MODEL}/gemini-2.5-flash:generateContent"),
        &structured(doubling(40)),
    );
    req.headers_mut().insert("host", HOST.parse().expect("host"));
    let pending = tokio::spawn(async move { sender.send_request(req).await.map(|r| r.status()) });
    tokio::time::sleep(Duration::from_millis(800)).await;
    let busy_before = shunt.cpu_ticks();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(shunt.cpu_ticks() > busy_before, "the generation was not running");
    // The client goes away: its connection closes under the pending request.
    pending.abort();
    conn.abort();
    let _ = (pending.await, conn.await);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = shunt.cpu_ticks();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let used = shunt.cpu_ticks() - before;
    eprintln!("CPU ticks in the second after cancelling: {used}");
    assert!(used < 15, "still busy after the client left: {used} ticks in 1 s");
    shunt.good().await;
}

/// `--max-connections 2` counts tunnels and intercepted TLS sessions for their whole life:
/// a third client waits until one of them closes.
#[tokio::test]
async fn max_connections_hold_for_tunnels_and_interception() {
    let shunt = start(&["--max-connections", "2", "--allow-local-tunnels"]);
    let echo = echo_server().await;
    let (status, _, tunnel) = connect_raw(shunt.addr(), &format!("CONNECT {echo} HTTP/1.1\r\n\r\n")).await;
    assert_eq!(status, 200);
    let (status, _, intercepted) = connect_raw(
        shunt.addr(),
        &format!("CONNECT {HOST}:443 HTTP/1.1\r\nHost: {HOST}:443\r\n\r\n"),
    )
    .await;
    assert_eq!(status, 200);
    let tls = common::tls(intercepted, HOST, &[b"http/1.1"], &shunt.ca).await;
    // A third client is not served while both are open.
    let mut third = tokio::net::TcpStream::connect(shunt.addr())
        .await
        .expect("connect");
    third
        .write_all(format!("CONNECT {echo} HTTP/1.1\r\n\r\n").as_bytes())
        .await
        .expect("write");
    let mut buf = [0u8; 12];
    let waited = tokio::time::timeout(Duration::from_millis(1500), third.read(&mut buf)).await;
    assert!(waited.is_err(), "a third connection was served: {:?}", &buf);
    // Closing the tunnel frees its place.
    drop(tunnel);
    let n = tokio::time::timeout(Duration::from_secs(5), third.read_exact(&mut buf))
        .await
        .expect("served after a place freed")
        .expect("read");
    assert_eq!(&buf[..n][9..12], b"200");
    drop(tls);
}

/// shunt never tunnels into itself, nor (without --allow-local-tunnels) to loopback.
#[tokio::test]
async fn no_tunnel_into_itself_or_loopback() {
    let shunt = start(&["--allow-local-tunnels"]);
    let own = shunt.addr();
    for target in [own.to_string(), format!("localhost:{}", own.port())] {
        let (status, head, mut s) = connect_raw(own, &format!("CONNECT {target} HTTP/1.1\r\n\r\n")).await;
        let body = first_bytes(&mut s).await;
        assert_eq!(status, 403, "{target}: {head}");
        assert!(body.contains("itself"), "{target}: {body}");
    }
    let strict = start(&[]);
    let echo = echo_server().await;
    let (status, _, mut s) = connect_raw(strict.addr(), &format!("CONNECT {echo} HTTP/1.1\r\n\r\n")).await;
    let body = first_bytes(&mut s).await;
    assert_eq!(status, 403);
    assert!(body.contains("--allow-local-tunnels"), "{body}");
    // Plain-HTTP proxying to loopback too.
    let reply = plain(strict.addr(), request("GET", &format!("http://{echo}/"), "")).await;
    assert_eq!(reply.status, 403, "{}", reply.text());
}

/// What arrives next on `s` within two seconds (a response body after its head).
async fn first_bytes(s: &mut tokio::net::TcpStream) -> String {
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf))
        .await
        .map_or(0, |r| r.unwrap_or(0));
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// A client that stops reading a long stream is disconnected after --stall-timeout, and
/// shunt's memory returns to where it was.
#[tokio::test]
async fn stalled_reader_is_cut_off() {
    let shunt = start(&[
        "--stall-timeout",
        "2",
        "--max-reply-bytes",
        "8388608",
        "--chunk-words",
        "100",
    ]);
    shunt.good().await;
    let baseline = shunt.status_kib("VmRSS:");
    let stream = common::connect(shunt.addr(), &format!("{HOST}:443")).await;
    let mut tls = common::tls(stream, HOST, &[b"http/1.1"], &shunt.ca).await;
    // About 6 MB of JSON, streamed as ~10,000 SSE frames: more than socket buffers hold.
    let body = json!({"contents": [{"role": "user", "parts": [{"text": "a long list"}]}],
        "generationConfig": {"responseMimeType": "application/json", "responseJsonSchema":
            {"type": "array", "minItems": 4000, "maxItems": 4000, "items": {"type": "string", "minLength": 1500}}}})
    .to_string();
    let head = format!(
        "POST {MODEL}/gemini-2.5-flash:streamGenerateContent?alt=sse HTTP/1.1\r\nHost: {HOST}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    tls.write_all(head.as_bytes()).await.expect("send");
    // Read nothing for longer than the stall timeout.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let metrics = plain(shunt.addr(), request("GET", "/metrics", "")).await.text();
    assert!(metrics.contains("shunt_stalled_clients_total 1"), "{metrics}");
    // The connection is gone: draining it ends (EOF or reset) instead of streaming on.
    let mut sink = Vec::new();
    let drained = tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut sink)).await;
    assert!(drained.is_ok(), "connection still open");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = shunt.status_kib("VmRSS:");
    eprintln!("RSS {baseline} KiB before, {after} KiB after the stalled stream");
    assert!(after < baseline + 32 * 1024, "{after} KiB vs {baseline} KiB");
}
