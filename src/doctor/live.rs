//! Live checks: reach the proxy, verify TLS through it with the bundles the env names,
//! fetch a token, make one countTokens call. Each step runs only if the one before passed.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rustls_pki_types::CertificateDer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::bundles::Trusted;
use super::{Check, Env};

/// How long each network step may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the proxy's `/ca.pem` could not be had.
#[derive(Debug, Clone)]
pub enum Reach {
    /// Nothing answers (refused, timed out).
    Down(String),
    /// Something answers, but not as shunt does.
    NotShunt(String),
}

/// Run the live checks against the proxy at `addr`; `reached` is whether `/ca.pem`
/// answered (and why not).
pub async fn run(env: &Env<'_>, addr: &str, reached: Result<(), Reach>, trusted: &Trusted) -> Vec<Check> {
    match reached {
        Ok(()) => {}
        Err(Reach::Down(e)) => {
            return vec![Check::fail(
                format!("proxy {addr} is not answering: {e}"),
                "start shunt, or fix the host:port in HTTPS_PROXY",
            )];
        }
        Err(Reach::NotShunt(e)) => {
            return vec![Check::fail(
                format!("proxy {addr} answers, but it is not shunt: {e}"),
                "point HTTPS_PROXY at shunt's listener (another proxy or service is on that address)",
            )];
        }
    }
    let mut checks = vec![Check::pass(format!("proxy {addr} answers"))];
    let project = env
        .get(&["GOOGLE_CLOUD_PROJECT"])
        .map_or("shunt-doctor", |(_, v)| v);
    let location = env
        .get(&["GOOGLE_CLOUD_LOCATION"])
        .map_or("us-central1", |(_, v)| v);
    let vertex_host = match location {
        "global" => "aiplatform.googleapis.com".to_string(),
        "us" | "eu" => format!("aiplatform.{location}.rep.googleapis.com"),
        l => format!("{l}-aiplatform.googleapis.com"),
    };
    let Some(genai_roots) = trusted.get("SSL_CERT_FILE") else {
        checks.push(Check::skipped(
            format!("TLS to {vertex_host}, token, countTokens"),
            "SSL_CERT_FILE did not pass above",
        ));
        return checks;
    };
    let tls = tls(addr, &vertex_host, genai_roots).await;
    let failed = tls.failed();
    checks.push(tls);
    if failed {
        checks.push(Check::skipped("token, countTokens", "TLS did not verify above"));
        return checks;
    }
    let Some(auth_roots) = trusted.get("REQUESTS_CA_BUNDLE") else {
        checks.push(Check::skipped(
            "token, countTokens",
            "REQUESTS_CA_BUNDLE did not pass above",
        ));
        return checks;
    };
    let token = match token(addr, auth_roots).await {
        Ok((check, token)) => {
            checks.push(check);
            token
        }
        Err(check) => {
            checks.push(check);
            checks.push(Check::skipped("countTokens", "no token"));
            return checks;
        }
    };
    checks.push(count_tokens(addr, &vertex_host, genai_roots, project, location, &token).await);
    checks
}

/// TLS to the Vertex host through the proxy verifies with `SSL_CERT_FILE`.
async fn tls(addr: &str, host: &str, roots: &[Vec<u8>]) -> Check {
    match https_post(addr, host, roots, "/", "", None).await {
        Ok(_) => Check::pass(format!(
            "TLS to {host} through the proxy verifies with SSL_CERT_FILE"
        )),
        Err(e) => Check::fail(
            format!("TLS to {host} through the proxy failed: {e}"),
            "point SSL_CERT_FILE at the bundle.pem of the shunt you are using",
        ),
    }
}

/// A token from oauth2.googleapis.com through the proxy, verified with
/// `REQUESTS_CA_BUNDLE`.
async fn token(addr: &str, roots: &[Vec<u8>]) -> Result<(Check, String), Check> {
    let fix = "check that HTTPS_PROXY points at shunt";
    let form = "grant_type=refresh_token&refresh_token=doctor";
    match https_post(addr, "oauth2.googleapis.com", roots, "/token", form, None).await {
        Ok((200, body)) => serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|j| j["access_token"].as_str().map(String::from))
            .map(|t| {
                (
                    Check::pass("token from oauth2.googleapis.com through the proxy"),
                    t,
                )
            })
            .ok_or_else(|| Check::fail("the token endpoint answered without access_token", fix)),
        Ok((status, _)) => Err(Check::fail(format!("the token endpoint answered {status}"), fix)),
        Err(e) => Err(Check::fail(
            format!("token request failed: {e}"),
            "point REQUESTS_CA_BUNDLE at shunt's bundle.pem",
        )),
    }
}

/// One countTokens call with the token.
async fn count_tokens(
    addr: &str,
    host: &str,
    roots: &[Vec<u8>],
    project: &str,
    location: &str,
    token: &str,
) -> Check {
    let path = format!(
        "/v1/projects/{project}/locations/{location}/publishers/google/models/gemini-2.5-flash:countTokens"
    );
    let request = r#"{"contents":[{"role":"user","parts":[{"text":"shunt doctor"}]}]}"#;
    match https_post(addr, host, roots, &path, request, Some(token)).await {
        Ok((200, body))
            if serde_json::from_slice::<serde_json::Value>(&body)
                .is_ok_and(|j| j["totalTokens"].is_u64()) =>
        {
            Check::pass(format!("countTokens on {host} answered"))
        }
        Ok((status, body)) => Check::fail(
            format!(
                "countTokens answered {status}: {}",
                String::from_utf8_lossy(&body[..body.len().min(200)])
            ),
            "check shunt's --upstream (the mock-llm service must be up)",
        ),
        Err(e) => Check::fail(format!("countTokens failed: {e}"), "check shunt's logs"),
    }
}

/// The proxy's CA (DER), from `GET /ca.pem`.
pub async fn fetch_ca(addr: &str) -> Result<Vec<u8>, Reach> {
    let get = async {
        let mut stream = TcpStream::connect(addr)
            .await
            .map_err(|e| Reach::Down(e.to_string()))?;
        let req = format!("GET /ca.pem HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream
            .write_all(req.as_bytes())
            .await
            .map_err(|e| Reach::Down(e.to_string()))?;
        let mut buf = Vec::new();
        stream
            .read_to_end(&mut buf)
            .await
            .map_err(|e| Reach::Down(e.to_string()))?;
        let text = String::from_utf8_lossy(&buf).into_owned();
        if !text.starts_with("HTTP/1.") {
            return Err(Reach::NotShunt("it does not speak HTTP".into()));
        }
        if !text.starts_with("HTTP/1.1 200") {
            return Err(Reach::NotShunt(format!(
                "GET /ca.pem answered {}",
                text.lines().next().unwrap_or("")
            )));
        }
        let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
        pem::parse(body)
            .map(|p| p.into_contents())
            .map_err(|e| Reach::NotShunt(format!("its /ca.pem is not a PEM certificate: {e}")))
    };
    tokio::time::timeout(STEP_TIMEOUT, get)
        .await
        .map_err(|_| Reach::Down("timed out".to_string()))?
}

/// POST (or, with an empty body and path `/`, just handshake) to `host` through the proxy.
async fn https_post(
    proxy: &str,
    host: &str,
    roots: &[Vec<u8>],
    path: &str,
    body: &str,
    bearer: Option<&str>,
) -> Result<(u16, Bytes), String> {
    let work = async {
        let mut stream = TcpStream::connect(proxy)
            .await
            .map_err(|e| format!("connect to proxy: {e}"))?;
        stream
            .write_all(format!("CONNECT {host}:443 HTTP/1.1\r\nHost: {host}:443\r\n\r\n").as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if stream.read(&mut byte).await.map_err(|e| e.to_string())? == 0 {
                return Err("the proxy closed the connection during CONNECT".into());
            }
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head).into_owned();
        if !head.starts_with("HTTP/1.1 200") {
            return Err(format!("CONNECT answered {}", head.lines().next().unwrap_or("")));
        }
        let mut store = rustls::RootCertStore::empty();
        for der in roots {
            let _ = store.add(CertificateDer::from(der.clone()));
        }
        let config = rustls::ClientConfig::builder()
            .with_root_certificates(store)
            .with_no_client_auth();
        let name = rustls_pki_types::ServerName::try_from(host.to_string()).map_err(|e| e.to_string())?;
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, stream)
            .await
            .map_err(|e| format!("certificate check: {e}"))?;
        if path == "/" && body.is_empty() {
            return Ok((0, Bytes::new()));
        }
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        let content_type = if body.starts_with('{') {
            "application/json"
        } else {
            "application/x-www-form-urlencoded"
        };
        let mut req = http::Request::post(path)
            .header("host", host)
            .header("content-type", content_type)
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|e| e.to_string())?;
        if let Some(token) = bearer {
            req.headers_mut().insert(
                "authorization",
                format!("Bearer {token}")
                    .parse()
                    .map_err(|_| "bad token".to_string())?,
            );
        }
        let res = sender.send_request(req).await.map_err(|e| e.to_string())?;
        let status = res.status().as_u16();
        let bytes = res
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok((status, bytes))
    };
    tokio::time::timeout(STEP_TIMEOUT, work)
        .await
        .map_err(|_| "timed out".to_string())?
}
