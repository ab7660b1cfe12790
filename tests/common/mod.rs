//! Test harness: a proxy on port 0 with a fresh CA in a temp dir, fake upstreams, and
//! clients given the proxy address and root certificate explicitly.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use shunt::app::App;
use shunt::config::{Cli, Command, ServeArgs};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_rustls::client::TlsStream;

/// A running proxy.
pub struct Proxy {
    pub addr: SocketAddr,
    pub app: Arc<App>,
    pub dir: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Start with default flags.
    pub async fn start() -> Proxy {
        Proxy::start_with(&[]).await
    }

    /// Start with extra `serve` flags.
    pub async fn start_with(extra: &[&str]) -> Proxy {
        Proxy::start_on("127.0.0.1:0", extra).await
    }

    /// Start listening on `listen` (e.g. `0.0.0.0:0`, beyond loopback) with extra flags.
    /// `addr` is then the loopback address of the same port.
    pub async fn start_on(listen: &str, extra: &[&str]) -> Proxy {
        let dir = tempfile::tempdir().expect("tempdir");
        let certs = dir.path().to_str().expect("utf-8 path").to_string();
        let mut argv = vec!["shunt", "serve", "--listen", listen, "--certs", &certs];
        argv.extend_from_slice(extra);
        let args: ServeArgs = match Cli::try_parse_from(argv).expect("flags parse").command {
            Some(Command::Serve(args)) => args,
            other => panic!("expected serve, got {other:?}"),
        };
        let config = shunt::config::Config::from_args(args).expect("flags valid");
        let listener = TcpListener::bind(config.listen).await.expect("bind");
        let bound = listener.local_addr().expect("addr");
        let addr = SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), bound.port());
        let server = shunt::Server::start(listener, config).expect("server starts");
        let app = server.app().clone();
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(server.run(async {
            let _ = rx.await;
        }));
        Proxy {
            addr,
            app,
            dir,
            shutdown: Some(tx),
            handle: Some(handle),
        }
    }

    pub fn ca_pem(&self) -> String {
        self.app.ca.cert_pem().to_string()
    }

    /// Begin graceful shutdown (as SIGTERM does) and return the server task.
    pub fn begin_shutdown(&mut self) -> JoinHandle<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.handle.take().expect("server task")
    }

    /// Shut down (as SIGTERM does) and wait for the server, which closes the capture.
    pub async fn stop(&mut self) {
        let server = self.begin_shutdown();
        server.await.expect("server task");
    }

    /// A metric sample's value from `/metrics`, 0 when absent.
    pub fn metric(&self, line_prefix: &str) -> f64 {
        self.app
            .metrics
            .render()
            .lines()
            .find(|l| l.starts_with(line_prefix))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    }
}

/// Send a raw CONNECT and read the response head. Returns (status, head, stream).
pub async fn connect_raw(proxy: SocketAddr, request_head: &str) -> (u16, String, TcpStream) {
    let mut stream = TcpStream::connect(proxy).await.expect("connect to proxy");
    stream
        .write_all(request_head.as_bytes())
        .await
        .expect("write CONNECT");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).await.expect("read CONNECT response");
        assert!(
            n == 1,
            "proxy closed during CONNECT response: {:?}",
            String::from_utf8_lossy(&head)
        );
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).expect("ascii head");
    let status = head[9..12].parse().expect("status code");
    (status, head, stream)
}

/// CONNECT to `target` (host:port) with a Host header; panics unless 200.
pub async fn connect(proxy: SocketAddr, target: &str) -> TcpStream {
    let (status, head, stream) = connect_raw(
        proxy,
        &format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n"),
    )
    .await;
    assert_eq!(status, 200, "CONNECT {target}: {head}");
    stream
}

/// TLS over `stream` trusting only `ca_pem`, with SNI `host` and the given ALPN.
pub async fn tls(stream: TcpStream, host: &str, alpn: &[&[u8]], ca_pem: &str) -> TlsStream<TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    let der = pem::parse(ca_pem).expect("CA pem").into_contents();
    roots.add(der.into()).expect("add root");
    let mut config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let name = rustls_pki_types::ServerName::try_from(host.to_string()).expect("server name");
    connector.connect(name, stream).await.expect("TLS handshake")
}

/// A response with its body read whole.
pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub fn request(method: &str, uri: &str, body: &str) -> http::Request<Full<Bytes>> {
    http::Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("request")
}

/// Send one request over HTTP/1.1 on `io` and read the reply whole.
pub async fn send_h1<IO>(io: IO, mut req: http::Request<Full<Bytes>>, host: &str) -> Reply
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .expect("h1 handshake");
    tokio::spawn(conn);
    req.headers_mut()
        .insert("host", host.parse().expect("host header"));
    read_reply(sender.send_request(req).await.expect("send")).await
}

/// Send one request over HTTP/2 on `io` and read the reply whole.
pub async fn send_h2<IO>(io: IO, req: http::Request<Full<Bytes>>) -> Reply
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(io))
        .await
        .expect("h2 handshake");
    tokio::spawn(conn);
    read_reply(sender.send_request(req).await.expect("send")).await
}

pub async fn read_reply(res: http::Response<hyper::body::Incoming>) -> Reply {
    let (parts, body) = res.into_parts();
    let body = body.collect().await.expect("body").to_bytes();
    Reply {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body,
    }
}

/// HTTPS through the proxy: CONNECT host:443, TLS (h1), one request with origin-form `path`.
pub async fn https(proxy: &Proxy, host: &str, method: &str, path: &str, body: &str) -> Reply {
    let stream = connect(proxy.addr, &format!("{host}:443")).await;
    let tls = tls(stream, host, &[b"http/1.1"], &proxy.ca_pem()).await;
    send_h1(tls, request(method, path, body), host).await
}

/// A plain request straight to the proxy listener (absolute- or origin-form `uri`).
pub async fn plain(proxy: SocketAddr, req: http::Request<Full<Bytes>>) -> Reply {
    let stream = TcpStream::connect(proxy).await.expect("connect to proxy");
    let host = req
        .uri()
        .authority()
        .map(|a| a.to_string())
        .unwrap_or_else(|| proxy.to_string());
    send_h1(stream, req, &host).await
}

/// One request a fake upstream saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path_and_query: String,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

/// A fake upstream (stands in for a mock-llm service) whose handler the test supplies.
pub struct FakeUpstream {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

pub type Handler = Arc<dyn Fn(Seen) -> http::Response<shunt::body::Body> + Send + Sync>;

impl FakeUpstream {
    pub async fn start(handler: Handler) -> FakeUpstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind upstream");
        let addr = listener.local_addr().expect("addr");
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let seen_task = seen.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let handler = handler.clone();
                let seen = seen_task.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let handler = handler.clone();
                        let seen = seen.clone();
                        async move {
                            let (parts, body) = req.into_parts();
                            let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                            let record = Seen {
                                method: parts.method.to_string(),
                                path_and_query: parts
                                    .uri
                                    .path_and_query()
                                    .map(|p| p.to_string())
                                    .unwrap_or_default(),
                                headers: parts.headers,
                                body,
                            };
                            seen.lock().expect("seen lock").push(record.clone());
                            Ok::<_, std::convert::Infallible>(handler(record))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        FakeUpstream { addr, seen }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("seen lock").clone()
    }
}

/// A TCP echo server (stands in for a tunnelled origin).
pub async fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind echo");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let (mut r, mut w) = stream.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    addr
}

pub const GEMINI_PATH: &str = "/v1beta1/projects/my-proj/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent";
pub const PROMPT: &str = r#"{"contents":[{"role":"user","parts":[{"text":"Say hi"}]}]}"#;

/// The `shunt` binary with an empty environment: tests pass every variable explicitly.
pub fn shunt_command() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_shunt"));
    cmd.env_clear();
    cmd
}

/// A `shunt` process started by a test, killed when dropped (a leaked shunt would hold
/// the test runner's output open).
pub struct ShuntProcess {
    pub child: std::process::Child,
    pub addr: SocketAddr,
    /// Its stderr, line by line, as it is written.
    lines: std::sync::mpsc::Receiver<String>,
    /// Every line received so far.
    seen: Mutex<Vec<String>>,
}

impl ShuntProcess {
    /// Run `shunt ARGS` (listening on port 0) with an empty environment, and wait for its
    /// `listening addr=` line. Its stderr keeps being drained.
    pub fn spawn<I, S>(args: I) -> ShuntProcess
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        use std::io::BufRead;
        let mut child = shunt_command()
            .args(args)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn shunt");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut process = ShuntProcess {
            child,
            addr: "0.0.0.0:0".parse().expect("placeholder"),
            lines,
            seen: Mutex::new(Vec::new()),
        };
        let line = process.wait_for_line("listening", std::time::Duration::from_secs(20));
        // Text logs: `listening addr=…`; JSON logs: `"addr":"…"`.
        let addr = match line.split("addr=").nth(1) {
            Some(rest) => rest.split_whitespace().next().unwrap_or_default().to_string(),
            None => serde_json::from_str::<serde_json::Value>(&line)
                .ok()
                .and_then(|v| v["addr"].as_str().map(String::from))
                .unwrap_or_default(),
        };
        process.addr = addr.parse().expect("socket address");
        process
    }

    /// `shunt serve` on port 0 with `--certs certs` and `extra` flags.
    pub fn serve(certs: &std::path::Path, extra: &[&str]) -> ShuntProcess {
        let mut args: Vec<std::ffi::OsString> = ["serve", "--listen", "127.0.0.1:0", "--certs"]
            .iter()
            .map(Into::into)
            .collect();
        args.push(certs.into());
        args.extend(extra.iter().map(Into::into));
        ShuntProcess::spawn(args)
    }

    /// Everything shunt logged so far.
    pub fn log(&self) -> String {
        let mut seen = self.seen.lock().expect("lock");
        seen.extend(self.lines.try_iter());
        seen.join("\n")
    }

    /// Block until shunt logs a line containing `needle`; panics after `within`.
    pub fn wait_for_line(&self, needle: &str, within: std::time::Duration) -> String {
        let deadline = std::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.lock().expect("lock").push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(e) => panic!("shunt logged no line with `{needle}` within {within:?}: {e}"),
            }
        }
    }

    /// Send a signal (`TERM`, `KILL`, …).
    pub fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill -{name}");
    }

    /// Wait for the exit code.
    pub fn wait(&mut self) -> Option<i32> {
        self.child.wait().expect("wait").code()
    }
}

impl Drop for ShuntProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One request over a fresh CONNECT + TLS (HTTP/1.1) to `host` through `proxy`, with the
/// response body left unread for the test to stream. The connection task's handle lets a
/// test drop the connection mid-stream.
pub async fn open_h1(
    proxy: SocketAddr,
    ca_pem: &str,
    host: &str,
    mut req: http::Request<Full<Bytes>>,
) -> (http::Response<hyper::body::Incoming>, JoinHandle<()>) {
    let stream = connect(proxy, &format!("{host}:443")).await;
    let tls = tls(stream, host, &[b"http/1.1"], ca_pem).await;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .expect("h1 handshake");
    let conn = tokio::spawn(async move {
        let _ = conn.await;
    });
    req.headers_mut()
        .insert("host", host.parse().expect("host header"));
    (sender.send_request(req).await.expect("send"), conn)
}

/// A good request (the token route: answered by shunt whatever the upstream does).
pub async fn still_serves(proxy: &Proxy) {
    let reply = https(proxy, "oauth2.googleapis.com", "POST", "/token", "grant_type=x").await;
    assert_eq!(reply.status, 200);
}

/// The next data frame of a streamed body (`None` at its end); panics if none comes
/// within 10 s (the proxy would be holding data back).
pub async fn next_data(body: &mut hyper::body::Incoming) -> Option<Bytes> {
    loop {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(10), body.frame())
            .await
            .expect("a frame within 10 s: the proxy is holding data back")?
            .expect("frame");
        if let Ok(data) = frame.into_data() {
            return Some(data);
        }
    }
}

/// An upstream that sends one SSE chunk, waits for `go`, then sends a second and ends.
pub async fn gated_sse_upstream(go: Arc<tokio::sync::Notify>) -> FakeUpstream {
    FakeUpstream::start(Arc::new(move |_seen| {
        let (tx, body) = shunt::body::channel(1);
        let go = go.clone();
        tokio::spawn(async move {
            let _ = tx.send(Ok(Bytes::from("data: {\"n\":1}\r\n\r\n"))).await;
            go.notified().await;
            let _ = tx.send(Ok(Bytes::from("data: {\"n\":2}\r\n\r\n"))).await;
        });
        let mut res = http::Response::new(body);
        res.headers_mut()
            .insert("content-type", "text/event-stream".parse().expect("ct"));
        res
    }))
    .await
}

/// Wait until `condition` holds, checking every 20 ms; panics naming `what` after `within`.
pub async fn eventually<F, Fut>(what: &str, within: std::time::Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    while !condition().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {within:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
