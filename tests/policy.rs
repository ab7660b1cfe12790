//! Intercept vs tunnel vs deny, as a client of the proxy sees them.

mod common;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An intercepted host gets a TLS session whose leaf names exactly that host.
#[tokio::test]
async fn intercepted_host_gets_minted_leaf() {
    let proxy = Proxy::start().await;
    let host = "aiplatform.us.rep.googleapis.com";
    let stream = connect(proxy.addr, &format!("{host}:443")).await;
    let tls = tls(stream, host, &[b"http/1.1"], &proxy.ca_pem()).await;
    let (_, session) = tls.get_ref();
    let leaf = session.peer_certificates().expect("peer certs")[0].clone();
    let (_, cert) = x509_parser::parse_x509_certificate(&leaf).expect("parse leaf");
    let san = cert
        .subject_alternative_name()
        .expect("SAN ext")
        .expect("SAN present");
    let names: Vec<String> = san.value.general_names.iter().map(|n| n.to_string()).collect();
    assert_eq!(names, vec![format!("DNSName({host})")]);
    let eku = cert.extended_key_usage().expect("EKU ext").expect("EKU present");
    assert!(eku.value.server_auth);
    assert!(!cert.is_ca());
}

/// The second CONNECT to a host reuses the cached leaf (one miss, then a hit).
#[tokio::test]
async fn second_connect_is_cache_hit() {
    let proxy = Proxy::start().await;
    for _ in 0..2 {
        let reply = https(&proxy, "oauth2.googleapis.com", "POST", "/token", "grant_type=x").await;
        assert_eq!(reply.status, 200);
    }
    assert_eq!(proxy.metric("shunt_leaf_cache_total{result=\"miss\"}"), 1.0);
    assert_eq!(proxy.metric("shunt_leaf_cache_total{result=\"hit\"}"), 1.0);
    assert_eq!(proxy.metric("shunt_tls_handshakes_total{result=\"ok\"}"), 2.0);
}

/// A tunnelled host gets its bytes back unchanged, in both directions.
#[tokio::test]
async fn tunnel_bytes_unchanged() {
    // The echo server is on loopback, which tunnels reach only when allowed.
    let proxy = Proxy::start_with(&["--allow-local-tunnels"]).await;
    let echo = echo_server().await;
    let mut stream = connect(proxy.addr, &echo.to_string()).await;
    let payload: Vec<u8> = (0..=255u8).cycle().take(256 * 1024).collect();
    let (mut r, mut w) = stream.split();
    let write = async {
        w.write_all(&payload).await.expect("write");
        w.shutdown().await.expect("shutdown write");
    };
    let mut back = Vec::new();
    let read = r.read_to_end(&mut back);
    let (_, n) = tokio::join!(write, read);
    n.expect("read");
    assert_eq!(back, payload);
}

/// A CONNECT without a Host header is accepted too (requests sends none).
#[tokio::test]
async fn connect_without_host_header() {
    let proxy = Proxy::start().await;
    let (status, head, _) =
        connect_raw(proxy.addr, "CONNECT oauth2.googleapis.com:443 HTTP/1.1\r\n\r\n").await;
    assert_eq!(status, 200, "{head}");
}

/// Other googleapis hosts are denied with 403 and a reason; so is a wrong port.
#[tokio::test]
async fn deny_answers_403_with_reason() {
    let proxy = Proxy::start().await;
    for target in ["storage.googleapis.com:443", "aiplatform.googleapis.com:8443"] {
        let (status, head, mut stream) = connect_raw(
            proxy.addr,
            &format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n"),
        )
        .await;
        assert_eq!(status, 403, "{target}: {head}");
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: application/json"),
            "{head}"
        );
        let mut body = vec![0u8; 512];
        let n = stream.read(&mut body).await.expect("body");
        let text = String::from_utf8_lossy(&body[..n]).to_string();
        assert!(
            text.contains("PERMISSION_DENIED") && text.contains("shunt:"),
            "{text}"
        );
    }
}

/// `--other deny` refuses hosts outside the table, keeping Google hosts served.
#[tokio::test]
async fn other_deny_is_hermetic() {
    let proxy = Proxy::start_with(&["--other", "deny"]).await;
    let echo = echo_server().await;
    let target = echo.to_string();
    let (status, _, _) = connect_raw(proxy.addr, &format!("CONNECT {target} HTTP/1.1\r\n\r\n")).await;
    assert_eq!(status, 403);
    let reply = https(&proxy, "oauth2.googleapis.com", "POST", "/token", "").await;
    assert_eq!(reply.status, 200);
}

/// Malformed CONNECT targets get 400 and the proxy keeps serving.
#[tokio::test]
async fn malformed_connect_is_400() {
    let proxy = Proxy::start().await;
    for target in ["example.com", ":443", "[::1:443", "[zz::1]:443"] {
        let (status, head, _) = connect_raw(proxy.addr, &format!("CONNECT {target} HTTP/1.1\r\n\r\n")).await;
        assert!(status == 400, "{target}: {head}");
    }
    let reply = https(&proxy, "oauth2.googleapis.com", "POST", "/token", "").await;
    assert_eq!(reply.status, 200);
}

/// A tunnel to a closed port is a 502 naming the target, not a dead tunnel.
#[tokio::test]
async fn tunnel_refused_is_502() {
    let proxy = Proxy::start_with(&["--allow-local-tunnels"]).await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    let (status, head, _) = connect_raw(proxy.addr, &format!("CONNECT {closed} HTTP/1.1\r\n\r\n")).await;
    assert_eq!(status, 502, "{head}");
}

/// A client trusting another shunt CA (an old certs dir) fails the handshake; shunt
/// counts it and keeps one "trust the bundle" warning per host.
#[tokio::test]
async fn untrusting_client_is_reported_once_per_host() {
    let proxy = Proxy::start().await;
    let other_ca = tempfile::tempdir().expect("tempdir");
    let wrong = shunt::tls::ca::Ca::load_or_create(other_ca.path()).expect("other CA");
    let host = "aiplatform.googleapis.com";
    for _ in 0..2 {
        let stream = connect(proxy.addr, &format!("{host}:443")).await;
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(pem::parse(wrong.cert_pem()).expect("pem").into_contents().into())
            .expect("root");
        let config = rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
        let name = rustls_pki_types::ServerName::try_from(host).expect("name");
        assert!(
            connector.connect(name, stream).await.is_err(),
            "handshake must fail"
        );
    }
    // The server side notices the alert asynchronously.
    eventually(
        "both failed handshakes counted",
        std::time::Duration::from_secs(2),
        || async { proxy.metric("shunt_tls_handshakes_total{result=\"failed\"}") == 2.0 },
    )
    .await;
    assert_eq!(proxy.app.untrusted_hosts(), vec![host.to_string()]);
}

/// An IP-literal target (no SNI is sent) gets a leaf with an IP SAN for the CONNECT host.
#[tokio::test]
async fn ip_literal_without_sni_gets_ip_san() {
    let proxy = Proxy::start().await;
    let stream = connect(proxy.addr, "169.254.169.254:443").await;
    let tls = tls(stream, "169.254.169.254", &[b"http/1.1"], &proxy.ca_pem()).await;
    let leaf = tls.get_ref().1.peer_certificates().expect("certs")[0].clone();
    let (_, cert) = x509_parser::parse_x509_certificate(&leaf).expect("parse");
    let san = cert.subject_alternative_name().expect("ext").expect("SAN");
    let names: Vec<String> = san.value.general_names.iter().map(|n| n.to_string()).collect();
    assert_eq!(
        names,
        vec!["IPAddress(a9:fe:a9:fe)".to_string()],
        "169.254.169.254 as x509-parser prints it"
    );
    let mut req = request("GET", "/computeMetadata/v1/project/project-id", "");
    req.headers_mut()
        .insert("metadata-flavor", "Google".parse().expect("h"));
    let reply = send_h1(tls, req, "169.254.169.254").await;
    assert_eq!(reply.text(), "shunt-mock-project");
}

/// Tunnels (opened or failed) and denials are counted in their own metrics; the request
/// histogram holds only exchanges shunt answered.
#[tokio::test]
async fn tunnels_and_denials_have_their_own_metrics() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let proxy = Proxy::start_with(&["--allow-local-tunnels"]).await;
    let echo = echo_server().await;
    let mut stream = connect(proxy.addr, &echo.to_string()).await;
    stream.write_all(b"ping").await.expect("write");
    let mut back = [0u8; 4];
    stream.read_exact(&mut back).await.expect("echo");
    drop(stream);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let closed_addr = closed.local_addr().expect("addr");
    drop(closed);
    let (status, head, _) = connect_raw(
        proxy.addr,
        &format!("CONNECT {closed_addr} HTTP/1.1\r\nHost: {closed_addr}\r\n\r\n"),
    )
    .await;
    assert_eq!(status, 502, "{head}");
    let (status, head, _) =
        connect_raw(proxy.addr, "CONNECT storage.googleapis.com:443 HTTP/1.1\r\n\r\n").await;
    assert_eq!(status, 403, "{head}");
    still_serves(&proxy).await;
    let metrics = proxy.app.metrics.render();
    assert_eq!(
        proxy.metric("shunt_tunnels_total{status=\"200\"}"),
        1.0,
        "{metrics}"
    );
    assert_eq!(
        proxy.metric("shunt_tunnels_total{status=\"502\"}"),
        1.0,
        "{metrics}"
    );
    assert_eq!(proxy.metric("shunt_denials_total"), 1.0, "{metrics}");
    let requests: Vec<&str> = metrics
        .lines()
        .filter(|l| {
            l.starts_with("shunt_requests_total") || l.starts_with("shunt_request_duration_seconds_count")
        })
        .collect();
    assert!(
        requests.iter().all(|l| l.contains("route=\"token\"")),
        "only the token exchange is in the request metrics: {requests:?}"
    );
    assert_eq!(requests.len(), 2, "{requests:?}");
}
