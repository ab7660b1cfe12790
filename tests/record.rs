//! Record / replay: record against a "real" host (a TLS origin on loopback with its own
//! CA, reached through --origin-override), then replay from the store.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::*;
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;

const HOST: &str = "us-central1-aiplatform.googleapis.com";
const STREAM: &str = "/v1beta1/projects/p/locations/us-central1/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse";

/// A TLS origin for HOST that streams three SSE chunks and remembers the Authorization
/// header it saw. Returns (address, its CA PEM, seen headers, its directory, the number
/// of connections it accepted).
async fn origin() -> (
    std::net::SocketAddr,
    String,
    Arc<Mutex<Vec<String>>>,
    tempfile::TempDir,
    Arc<std::sync::atomic::AtomicUsize>,
) {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = shunt::tls::ca::Ca::load_or_create(dir.path()).expect("origin CA");
    let (config, _) = ca
        .server_config(HOST, shunt::tls::ca::HostName::Sni)
        .expect("leaf");
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen_task = seen.clone();
    let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let accepted_task = accepted.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            accepted_task.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let acceptor = acceptor.clone();
            let seen = seen_task.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let svc = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let auth = req
                        .headers()
                        .get("authorization")
                        .map(|v| v.to_str().unwrap_or_default().to_string())
                        .unwrap_or_default();
                    seen.lock().expect("lock").push(auth);
                    async move {
                        let (tx, body) = shunt::body::channel(1);
                        tokio::spawn(async move {
                            for n in 1..=3 {
                                let chunk = format!("data: {{\"n\":{n}}}\r\n\r\n");
                                let _ = tx.send(Ok(Bytes::from(chunk))).await;
                                tokio::time::sleep(Duration::from_millis(20)).await;
                            }
                        });
                        let mut res = http::Response::new(body);
                        res.headers_mut()
                            .insert("content-type", "text/event-stream".parse().expect("ct"));
                        Ok::<_, std::convert::Infallible>(res)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    let pem = ca.cert_pem().to_string();
    (addr, pem, seen, dir, accepted)
}

/// One streamed request through the proxy: (status, data frames, whole body).
async fn stream_call(proxy: &Proxy, body: &str) -> (u16, Vec<Bytes>) {
    let mut req = request("POST", STREAM, body);
    req.headers_mut().insert(
        "authorization",
        "Bearer the-apps-own-token".parse().expect("auth"),
    );
    let (res, _conn) = open_h1(proxy.addr, &proxy.ca_pem(), HOST, req).await;
    let status = res.status().as_u16();
    let mut body = res.into_body();
    let mut frames = Vec::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.expect("frame").into_data() {
            frames.push(data);
        }
    }
    (status, frames)
}

/// Record passes the app's credentials to the real host over verified TLS and stores the
/// exchange; replay answers the same request (JSON keys in any order) chunk by chunk,
/// and a miss is a clear 404 or, with --replay-miss upstream, the mock's answer.
#[tokio::test]
async fn record_then_replay() {
    let (addr, origin_ca, seen, _origin_dir, accepted) = origin().await;
    let work = tempfile::tempdir().expect("tempdir");
    let store = work.path().join("store");
    let ca_file = work.path().join("origin-ca.pem");
    std::fs::write(&ca_file, &origin_ca).expect("write");
    let store_s = store.to_str().expect("path").to_string();
    let mut recorder = Proxy::start_with(&[
        "--record",
        &store_s,
        "--origin-override",
        &format!("{HOST}={addr}"),
        "--origin-ca",
        ca_file.to_str().expect("path"),
    ])
    .await;
    let body = r#"{"contents":[{"role":"user","parts":[{"text":"record me"}]}],"generationConfig":{"temperature":0}}"#;
    let (status, recorded) = stream_call(&recorder, body).await;
    assert_eq!(status, 200);
    assert_eq!(recorded.len(), 3);
    assert_eq!(
        seen.lock().expect("lock").as_slice(),
        ["Bearer the-apps-own-token"]
    );
    // A second call reuses the verified connection to the origin.
    let (status, again) = stream_call(&recorder, body).await;
    assert_eq!((status, again.len()), (200, 3));
    assert_eq!(
        accepted.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one connection to the origin for two calls"
    );
    recorder.stop().await;
    let files: Vec<_> = std::fs::read_dir(&store).expect("store").collect();
    assert_eq!(files.len(), 2, "two stored exchanges");

    // Replay: same request with its JSON keys reordered.
    let mut replayer = Proxy::start_with(&["--replay", &store_s]).await;
    let reordered = r#"{"generationConfig": {"temperature": 0}, "contents": [{"parts": [{"text": "record me"}], "role": "user"}]}"#;
    let (status, replayed) = stream_call(&replayer, reordered).await;
    assert_eq!(status, 200);
    assert_eq!(replayed, recorded, "same chunks, same chunking");
    let (status, miss) = stream_call(&replayer, r#"{"contents":[]}"#).await;
    assert_eq!(status, 404);
    let text = String::from_utf8_lossy(&miss.concat()).into_owned();
    assert!(
        text.contains("no recording for POST https://us-central1-aiplatform.googleapis.com"),
        "{text}"
    );
    replayer.stop().await;

    let mut fallback = Proxy::start_with(&["--replay", &store_s, "--replay-miss", "upstream"]).await;
    let (status, frames) = stream_call(
        &fallback,
        r#"{"contents":[{"role":"user","parts":[{"text":"new"}]}]}"#,
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        String::from_utf8_lossy(&frames.concat()).contains("candidates"),
        "the built-in mock answered"
    );
    fallback.stop().await;
}

/// Record refuses an origin whose certificate it cannot verify.
#[tokio::test]
async fn record_verifies_the_origin() {
    let (addr, _origin_ca, seen, _origin_dir, _) = origin().await;
    let work = tempfile::tempdir().expect("tempdir");
    let store = work.path().join("store");
    let proxy = Proxy::start_with(&[
        "--record",
        store.to_str().expect("path"),
        "--origin-override",
        &format!("{HOST}={addr}"),
    ])
    .await;
    let (status, frames) = stream_call(&proxy, PROMPT).await;
    assert_eq!(status, 502);
    assert!(String::from_utf8_lossy(&frames.concat()).contains("TLS verification failed"));
    assert!(
        seen.lock().expect("lock").is_empty(),
        "nothing reached an unverified origin"
    );
}

/// A TLS origin standing in for every provider's real host: a leaf per SNI from its own
/// CA, and shunt's built-in mock (with a gap between chunks, so recordings have timing)
/// answering whatever the host and path route to. Returns (address, CA PEM).
async fn mock_origin(dir: &std::path::Path) -> (std::net::SocketAddr, String) {
    use shunt::policy::{Decision, Other, Policy};
    use shunt::route::{self, Route};
    let ca = shunt::tls::ca::Ca::load_or_create(dir).expect("origin CA");
    let (config, _) = ca
        .server_config("api.openai.com", shunt::tls::ca::HostName::Sni)
        .expect("shared config");
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    use clap::Parser;
    let cli =
        shunt::config::Cli::try_parse_from(["shunt", "mock", "--gap", "5ms", "--seed", "7"]).expect("flags");
    let Some(shunt::config::Command::Mock(args)) = cli.command else {
        panic!("mock flags");
    };
    let mock = shunt::mock::Mock::new(
        shunt::config::mock_config(&args.mock).expect("mock flags"),
        Arc::new(shunt::metrics::Metrics::new()),
        tokio_util::task::TaskTracker::new(),
    );
    let policy = Policy::with_defaults(Other::Deny);
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, mock, policy) = (acceptor.clone(), mock.clone(), policy.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let svc = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let (mock, policy) = (mock.clone(), policy.clone());
                    async move {
                        let host = req
                            .headers()
                            .get("host")
                            .and_then(|h| h.to_str().ok())
                            .unwrap_or_default()
                            .to_string();
                        let Decision::Intercept(service) = policy.decide(&host) else {
                            panic!("origin asked for {host}");
                        };
                        let res = match route::classify(service, req.uri().path()) {
                            Route::Model(call) => mock
                                .serve(&call, req.map(shunt::body::boxed))
                                .await
                                .expect("mock answers"),
                            // The real token endpoint hands out a real-looking secret.
                            Route::Token => shunt::body::json_response(
                                http::StatusCode::OK,
                                &serde_json::json!({"access_token": "ya29.origin-s3cret",
                                                    "expires_in": 3599, "token_type": "Bearer"}),
                            ),
                            other => panic!("not a model or token path: {} ({other:?})", req.uri()),
                        };
                        Ok::<_, std::convert::Infallible>(res)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    (addr, ca.cert_pem().to_string())
}

/// The stand-in origin with its CA written to a file, and a store path for recordings.
struct StandIn {
    addr: std::net::SocketAddr,
    store: std::path::PathBuf,
    work: tempfile::TempDir,
    _origin: tempfile::TempDir,
}

impl StandIn {
    async fn start() -> StandIn {
        let origin = tempfile::tempdir().expect("tempdir");
        let (addr, origin_ca) = mock_origin(origin.path()).await;
        let work = tempfile::tempdir().expect("tempdir");
        std::fs::write(work.path().join("origin-ca.pem"), &origin_ca).expect("write");
        StandIn {
            addr,
            store: work.path().join("store"),
            work,
            _origin: origin,
        }
    }

    fn ca_file(&self) -> std::path::PathBuf {
        self.work.path().join("origin-ca.pem")
    }

    fn store_arg(&self) -> String {
        self.store.to_str().expect("path").to_string()
    }
}

/// One request through `proxy` to `host`: the status and the whole body, bytes as sent.
async fn raw_call(proxy: &Proxy, host: &str, path: &str, body: &str) -> (u16, Bytes) {
    let (res, _conn) = open_h1(proxy.addr, &proxy.ca_pem(), host, request("POST", path, body)).await;
    let status = res.status().as_u16();
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    (status, bytes)
}

/// Every provider's streamed call, recorded from its (stand-in) real host and replayed:
/// the replayed bytes equal the recorded ones, and both equal what the client got.
#[tokio::test]
async fn record_and_replay_every_provider_stream() {
    let stand_in = StandIn::start().await;
    let (addr, store) = (stand_in.addr, stand_in.store.clone());
    let (ca_file, store_s) = (stand_in.ca_file(), stand_in.store_arg());
    let calls: [(&str, &str, &str); 5] = [
        (
            "api.openai.com",
            "/v1/chat/completions",
            r#"{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"Say hi"}]}"#,
        ),
        (
            "api.openai.com",
            "/v1/responses",
            r#"{"model":"gpt-4o","stream":true,"input":"Say hi"}"#,
        ),
        (
            "api.anthropic.com",
            "/v1/messages",
            r#"{"model":"claude-sonnet-4-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"Say hi"}]}"#,
        ),
        (
            "bedrock-runtime.us-east-1.amazonaws.com",
            "/model/amazon.nova-lite-v1%3A0/converse-stream",
            r#"{"messages":[{"role":"user","content":[{"text":"Say hi"}]}]}"#,
        ),
        (
            "generativelanguage.googleapis.com",
            "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
            r#"{"contents":[{"role":"user","parts":[{"text":"Say hi"}]}]}"#,
        ),
    ];
    let mut flags = vec![
        "--record".to_string(),
        store_s.clone(),
        "--origin-ca".into(),
        ca_file.to_str().expect("path").into(),
    ];
    for (host, _, _) in &calls {
        flags.push("--origin-override".into());
        flags.push(format!("{host}={addr}"));
    }
    let flag_refs: Vec<&str> = flags.iter().map(String::as_str).collect();
    let mut recorder = Proxy::start_with(&flag_refs).await;
    let mut recorded = Vec::new();
    for (host, path, body) in &calls {
        let (status, bytes) = raw_call(&recorder, host, path, body).await;
        assert_eq!(status, 200, "{host}{path}: {}", String::from_utf8_lossy(&bytes));
        assert!(bytes.len() > 100, "{host}{path}: a real stream");
        recorded.push(bytes);
    }
    recorder.stop().await;
    assert_eq!(std::fs::read_dir(&store).expect("store").count(), calls.len());
    let mut replayer = Proxy::start_with(&["--replay", &store_s]).await;
    for ((host, path, body), recorded) in calls.iter().zip(&recorded) {
        let (status, replayed) = raw_call(&replayer, host, path, body).await;
        assert_eq!(status, 200, "{host}{path}");
        assert_eq!(&replayed, recorded, "{host}{path}: replayed bytes equal recorded");
    }
    replayer.stop().await;
}

/// Recordings hold no credentials and only their owner can read them: the token form the
/// app sent and the token the host returned are redacted, files are 0600 in a 0700
/// directory. Replay answers token calls itself, whatever their body.
#[tokio::test]
async fn recordings_are_private_and_hold_no_credentials() {
    use std::os::unix::fs::PermissionsExt;
    let stand_in = StandIn::start().await;
    let (addr, store) = (stand_in.addr, stand_in.store.clone());
    let (ca_file, store_s) = (stand_in.ca_file(), stand_in.store_arg());
    let mut recorder = Proxy::start_with(&[
        "--record",
        &store_s,
        "--origin-ca",
        ca_file.to_str().expect("path"),
        "--origin-override",
        &format!("oauth2.googleapis.com={addr}"),
    ])
    .await;
    let form =
        "grant_type=refresh_token&client_id=app&client_secret=app-s3cret&refresh_token=1%2F%2Fapp-s3cret";
    let reply = https(&recorder, "oauth2.googleapis.com", "POST", "/token", form).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json()["access_token"],
        "ya29.origin-s3cret",
        "the app got the real token"
    );
    recorder.stop().await;

    let mode = |p: &std::path::Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode(&store), 0o700, "the store is the owner's alone");
    let files: Vec<_> = std::fs::read_dir(&store)
        .expect("store")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(files.len(), 1);
    assert_eq!(mode(&files[0]), 0o600);
    let stored = std::fs::read_to_string(&files[0]).expect("read");
    assert!(!stored.contains("s3cret"), "credentials on disk:\n{stored}");
    assert!(stored.contains("REDACTED"), "{stored}");

    let mut replayer = Proxy::start_with(&["--replay", &store_s]).await;
    let reply = https(
        &replayer,
        "oauth2.googleapis.com",
        "POST",
        "/token",
        "grant_type=other",
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(
        reply.json()["access_token"]
            .as_str()
            .is_some_and(|t| t.starts_with("ya29.shunt-mock-token")),
        "{}",
        reply.text()
    );
    replayer.stop().await;
}
