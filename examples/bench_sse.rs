//! Benchmark client for `bench/run`: holds N concurrent SSE streams through an HTTPS proxy.
//!
//! Each stream opens a TCP connection to the proxy, sends `CONNECT host:443`, does a TLS
//! handshake (verifying the proxy's CA, SNI = host) and an HTTP/1.1 handshake. Once every
//! stream is connected (a barrier), all of them send a `streamGenerateContent?alt=sse`
//! request at once, so all N are open concurrently, and count the `data:` chunks they
//! receive. Prints one JSON object with counts, chunks per second and latencies; exits 1
//! if a stream failed or received fewer than `--expect-chunks` chunks.
//!
//! ```sh
//! cargo run --release --example bench_sse -- --proxy 127.0.0.1:8080 \
//!     --cacert certs/ca.pem --streams 10000 --expect-chunks 6
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Barrier, Semaphore};
use tokio_rustls::TlsConnector;

#[derive(Parser)]
struct Args {
    /// The proxy, host:port.
    #[arg(long)]
    proxy: String,
    /// PEM file with the CA that signs the proxy's leaves.
    #[arg(long)]
    cacert: String,
    /// Concurrent streams.
    #[arg(long, default_value_t = 1000)]
    streams: usize,
    /// Connections being set up at once (CONNECT + TLS), to stay within listen backlogs.
    #[arg(long, default_value_t = 256)]
    connect_parallelism: usize,
    #[arg(long, default_value = "us-central1-aiplatform.googleapis.com")]
    host: String,
    #[arg(
        long,
        default_value = "/v1/projects/bench/locations/us-central1/publishers/google/models/gemini-2.0-flash:streamGenerateContent?alt=sse"
    )]
    path: String,
    /// Chunks each stream must receive to count as complete (0: any).
    #[arg(long, default_value_t = 0)]
    expect_chunks: u64,
    /// Give up on the whole run after this many seconds.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
}

#[derive(Default)]
struct Stats {
    connected: AtomicUsize,
    completed: AtomicUsize,
    failed: AtomicUsize,
    short: AtomicUsize,
    chunks: AtomicU64,
    bytes: AtomicU64,
}

const BODY: &str = r#"{"contents":[{"role":"user","parts":[{"text":"Say something for the benchmark."}]}]}"#;

fn main() {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let code = rt.block_on(run(args));
    std::process::exit(code);
}

async fn run(args: Args) -> i32 {
    let mut roots = rustls::RootCertStore::empty();
    let pem_text = std::fs::read(&args.cacert).expect("read --cacert");
    for p in pem::parse_many(&pem_text).expect("parse --cacert") {
        if p.tag() == "CERTIFICATE" {
            roots.add(p.contents().to_vec().into()).expect("add CA");
        }
    }
    let mut config =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("protocols")
            .with_root_certificates(roots)
            .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let connector = TlsConnector::from(Arc::new(config));
    let stats = Arc::new(Stats::default());
    let barrier = Arc::new(Barrier::new(args.streams + 1));
    let gate = Arc::new(Semaphore::new(args.connect_parallelism));
    let ttfc = Arc::new(std::sync::Mutex::new(Vec::with_capacity(args.streams)));
    let totals = Arc::new(std::sync::Mutex::new(Vec::with_capacity(args.streams)));
    let args = Arc::new(args);

    let setup_start = Instant::now();
    let mut tasks = Vec::with_capacity(args.streams);
    for _ in 0..args.streams {
        let (connector, stats, barrier, gate, args) = (
            connector.clone(),
            stats.clone(),
            barrier.clone(),
            gate.clone(),
            args.clone(),
        );
        let (ttfc, totals) = (ttfc.clone(), totals.clone());
        tasks.push(tokio::spawn(async move {
            let permit = gate.acquire_owned().await.expect("semaphore");
            let sender = connect(&connector, &args).await;
            drop(permit);
            let mut sender = match sender {
                Ok(s) => {
                    stats.connected.fetch_add(1, Ordering::Relaxed);
                    Some(s)
                }
                Err(err) => {
                    eprintln!("connect: {err}");
                    stats.failed.fetch_add(1, Ordering::Relaxed);
                    None
                }
            };
            barrier.wait().await;
            let Some(sender) = sender.as_mut() else { return };
            let start = Instant::now();
            match stream(sender, &args, start).await {
                Ok((chunks, bytes, first)) => {
                    stats.chunks.fetch_add(chunks, Ordering::Relaxed);
                    stats.bytes.fetch_add(bytes, Ordering::Relaxed);
                    if chunks == 0 || (args.expect_chunks > 0 && chunks < args.expect_chunks) {
                        stats.short.fetch_add(1, Ordering::Relaxed);
                    } else {
                        stats.completed.fetch_add(1, Ordering::Relaxed);
                    }
                    if let Some(first) = first {
                        ttfc.lock().unwrap().push(first.as_secs_f64());
                    }
                    totals.lock().unwrap().push(start.elapsed().as_secs_f64());
                }
                Err(err) => {
                    eprintln!("stream: {err}");
                    stats.failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    barrier.wait().await;
    let setup = setup_start.elapsed();
    let stream_start = Instant::now();
    let all = futures_join(tasks);
    let timed_out = tokio::time::timeout(Duration::from_secs(args.timeout), all)
        .await
        .is_err();
    let elapsed = stream_start.elapsed();

    let mut ttfc = ttfc.lock().unwrap().clone();
    let mut totals = totals.lock().unwrap().clone();
    let chunks = stats.chunks.load(Ordering::Relaxed);
    let completed = stats.completed.load(Ordering::Relaxed);
    let report = serde_json::json!({
        "streams": args.streams,
        "connected": stats.connected.load(Ordering::Relaxed),
        "completed": completed,
        "failed": stats.failed.load(Ordering::Relaxed),
        "short": stats.short.load(Ordering::Relaxed),
        "timed_out": timed_out,
        "chunks": chunks,
        "bytes": stats.bytes.load(Ordering::Relaxed),
        "setup_s": setup.as_secs_f64(),
        "elapsed_s": elapsed.as_secs_f64(),
        "chunks_per_s": chunks as f64 / elapsed.as_secs_f64(),
        "first_chunk_p50_s": percentile(&mut ttfc, 0.50),
        "first_chunk_p99_s": percentile(&mut ttfc, 0.99),
        "stream_p50_s": percentile(&mut totals, 0.50),
        "stream_p99_s": percentile(&mut totals, 0.99),
        "stream_max_s": percentile(&mut totals, 1.0),
    });
    println!("{report}");
    if timed_out || completed != args.streams {
        1
    } else {
        0
    }
}

async fn futures_join(tasks: Vec<tokio::task::JoinHandle<()>>) {
    for t in tasks {
        let _ = t.await;
    }
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(
    connector: &TlsConnector,
    args: &Args,
) -> Result<Sender, Box<dyn std::error::Error + Send + Sync>> {
    let mut tcp = TcpStream::connect(&args.proxy).await?;
    tcp.set_nodelay(true)?;
    let connect = format!("CONNECT {0}:443 HTTP/1.1\r\nHost: {0}:443\r\n\r\n", args.host);
    tcp.write_all(connect.as_bytes()).await?;
    // Read the proxy's answer byte by byte up to the blank line: nothing else may be consumed.
    let mut head = Vec::with_capacity(128);
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if tcp.read(&mut byte).await? == 0 {
            return Err("proxy closed during CONNECT".into());
        }
        head.push(byte[0]);
        if head.len() > 8192 {
            return Err("CONNECT answer too long".into());
        }
    }
    let status_line = String::from_utf8_lossy(&head);
    if !status_line.starts_with("HTTP/1.1 200") && !status_line.starts_with("HTTP/1.0 200") {
        return Err(format!("CONNECT refused: {}", status_line.lines().next().unwrap_or("")).into());
    }
    let name = ServerName::try_from(args.host.clone())?;
    let tls = connector.connect(name, tcp).await?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// Sends the request and reads the whole body: (chunks, bytes, time to first chunk).
async fn stream(
    sender: &mut Sender,
    args: &Args,
    start: Instant,
) -> Result<(u64, u64, Option<Duration>), Box<dyn std::error::Error + Send + Sync>> {
    let req = hyper::Request::post(args.path.as_str())
        .header("host", args.host.as_str())
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(BODY.as_bytes())))?;
    let resp = sender.send_request(req).await?;
    if resp.status() != 200 {
        return Err(format!("status {}", resp.status()).into());
    }
    let mut body = resp.into_body();
    let mut chunks = 0u64;
    let mut bytes = 0u64;
    let mut first = None;
    // A `data:` line may be split across frames: keep a small tail to match across them.
    let mut tail: Vec<u8> = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame?;
        let Some(data) = frame.data_ref() else { continue };
        bytes += data.len() as u64;
        let mut buf = std::mem::take(&mut tail);
        buf.extend_from_slice(data);
        let found = count_events(&buf);
        if found > 0 && first.is_none() {
            first = Some(start.elapsed());
        }
        chunks += found;
        // Keep everything after the last complete event.
        let cut = last_event_end(&buf);
        tail = buf[cut..].to_vec();
    }
    Ok((chunks, bytes, first))
}

/// Complete SSE events (`data:` … blank line) in `buf`.
fn count_events(buf: &[u8]) -> u64 {
    let mut n = 0;
    let mut i = 0;
    while let Some(pos) = find(&buf[i..], b"data:") {
        let from = i + pos;
        match find(&buf[from..], b"\n\n").or_else(|| find(&buf[from..], b"\r\n\r\n")) {
            Some(end) => {
                n += 1;
                i = from + end + 2;
            }
            None => break,
        }
    }
    n
}

fn last_event_end(buf: &[u8]) -> usize {
    let mut i = 0;
    let mut last = 0;
    while let Some(pos) = find(&buf[i..], b"data:") {
        let from = i + pos;
        match find(&buf[from..], b"\n\n").or_else(|| find(&buf[from..], b"\r\n\r\n")) {
            Some(end) => {
                i = from + end + 2;
                last = i;
            }
            None => break,
        }
    }
    last
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn percentile(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let idx = ((v.len() - 1) as f64 * q).round() as usize;
    v[idx]
}
