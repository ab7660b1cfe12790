//! `shunt doctor`: run inside the app container to check, one line each, what makes
//! an app reach shunt's mock — proxy env, CA bundles, credentials — then try it for
//! real: CONNECT through the proxy, verify the chain with the bundle the env names,
//! fetch a token and make one countTokens call. Every failure says how to fix it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rustls_pki_types::CertificateDer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long each network step may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(5);

/// One check's outcome.
#[derive(Debug, Clone)]
pub struct Check {
    pub ok: bool,
    pub line: String,
}

impl Check {
    fn pass(line: impl Into<String>) -> Check {
        Check {
            ok: true,
            line: line.into(),
        }
    }
    fn fail(what: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            ok: false,
            line: format!("{} — fix: {}", what.into(), fix.into()),
        }
    }

    /// The line as printed (✔ / ✘ prefix).
    pub fn render(&self) -> String {
        format!("{} {}", if self.ok { "✔" } else { "✘" }, self.line)
    }
}

fn get<'a>(env: &'a HashMap<String, String>, names: &[&'a str]) -> Option<(&'a str, &'a str)> {
    names
        .iter()
        .find_map(|n| env.get(*n).filter(|v| !v.is_empty()).map(|v| (*n, v.as_str())))
}

/// Certificates in a PEM bundle (DER), or why it could not be read.
fn read_bundle(path: &str) -> Result<Vec<Vec<u8>>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let certs: Vec<Vec<u8>> = pem::parse_many(&text)
        .map_err(|e| format!("{path} is not PEM: {e}"))?
        .into_iter()
        .filter(|p| p.tag() == "CERTIFICATE")
        .map(|p| p.into_contents())
        .collect();
    if certs.is_empty() {
        return Err(format!("{path} holds no certificates"));
    }
    Ok(certs)
}

/// Run every check with `env` as the app's environment.
pub async fn run(env: &HashMap<String, String>) -> Vec<Check> {
    let mut checks = Vec::new();

    // 1. The proxy variable, with a scheme.
    let proxy = match get(env, &["HTTPS_PROXY", "https_proxy"]) {
        None => {
            checks.push(Check::fail(
                "HTTPS_PROXY is not set: SDK calls go straight to Google",
                "set HTTPS_PROXY=http://shunt:8080 (and https_proxy)",
            ));
            None
        }
        Some((name, value)) => match value.parse::<http::Uri>() {
            Ok(uri) if uri.scheme_str() == Some("http") && uri.authority().is_some() => {
                checks.push(Check::pass(format!("{name}={value}")));
                uri.authority().map(|a| a.to_string())
            }
            _ if !value.contains("://") => {
                checks.push(Check::fail(
                    format!("{name}={value} has no scheme: aiohttp (google-genai async) ignores it"),
                    format!("set {name}=http://{value}"),
                ));
                Some(value.to_string())
            }
            _ => {
                checks.push(Check::fail(
                    format!("{name}={value} is not an http:// proxy URL"),
                    "set HTTPS_PROXY=http://shunt:8080",
                ));
                None
            }
        },
    };

    // 2. NO_PROXY must not send Google traffic around the proxy.
    match get(env, &["NO_PROXY", "no_proxy"]) {
        Some((name, value)) => {
            let bypass: Vec<&str> = value
                .split(',')
                .map(str::trim)
                .filter(|e| {
                    let e = e.trim_start_matches("*.").trim_start_matches('.');
                    e == "*" || e == "googleapis.com" || e.ends_with(".googleapis.com") || e == "google.com"
                })
                .collect();
            if bypass.is_empty() {
                checks.push(Check::pass(format!("{name} does not cover googleapis.com")));
            } else {
                checks.push(Check::fail(
                    format!(
                        "{name} lists {}: Vertex calls would bypass shunt and reach real Google",
                        bypass.join(", ")
                    ),
                    format!("remove {} from {name}", bypass.join(", ")),
                ));
            }
        }
        None => checks.push(Check::pass("NO_PROXY is unset: nothing bypasses the proxy")),
    }

    // 3. The CA bundles.
    let ca = match &proxy {
        Some(addr) => fetch_ca(addr).await,
        None => Err("no proxy to ask".to_string()),
    };
    let mut bundles: HashMap<&str, Vec<Vec<u8>>> = HashMap::new();
    for name in ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"] {
        let reader = if name == "SSL_CERT_FILE" {
            "httpx2 / aiohttp (google-genai, anthropic)"
        } else {
            "requests (google-auth token refresh)"
        };
        let Some((_, path)) = get(env, &[name]) else {
            checks.push(Check::fail(
                format!("{name} is not set: {reader} will not trust shunt"),
                format!("set {name}=/certs/bundle.pem (shunt's bundle: public roots + shunt CA)"),
            ));
            continue;
        };
        let certs = match read_bundle(path) {
            Ok(c) => c,
            Err(e) => {
                checks.push(Check::fail(
                    format!("{name}: {e}"),
                    format!("point {name} at shunt's bundle.pem"),
                ));
                continue;
            }
        };
        let public = certs
            .iter()
            .filter(|c| {
                webpki_root_certs::TLS_SERVER_ROOT_CERTS
                    .iter()
                    .any(|r| r.as_ref() == c.as_slice())
            })
            .count();
        let has_ca = match &ca {
            Ok(ca) => Some(certs.iter().any(|c| c == ca)),
            Err(_) => None,
        };
        match (has_ca, public) {
            (Some(false), _) => checks.push(Check::fail(
                format!("{name}={path} does not contain this shunt's CA"),
                format!("point {name} at the bundle.pem shunt wrote (or fetch http://PROXY/ca.pem into it)"),
            )),
            (_, 0) => checks.push(Check::fail(
                format!("{name}={path} holds no public roots: tunnelled HTTPS (PyPI, other APIs) will fail"),
                format!("use shunt's bundle.pem (public roots + CA) for {name}"),
            )),
            (Some(true), n) => {
                checks.push(Check::pass(format!(
                    "{name}={path}: shunt CA and {n} public roots"
                )));
                bundles.insert(name, certs);
            }
            (None, n) => {
                checks.push(Check::pass(format!(
                    "{name}={path}: {n} public roots (CA not checked: proxy unreachable)"
                )));
                bundles.insert(name, certs);
            }
        }
    }

    // 4. Credentials the SDKs will find.
    match get(env, &["GOOGLE_APPLICATION_CREDENTIALS"]) {
        Some((_, path)) => match std::fs::read_to_string(path)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        {
            Some(json) if json["type"].is_string() => checks.push(Check::pass(format!(
                "GOOGLE_APPLICATION_CREDENTIALS={path} ({})",
                json["type"].as_str().unwrap_or("")
            ))),
            _ => checks.push(Check::fail(
                format!("GOOGLE_APPLICATION_CREDENTIALS={path} is not a readable credentials JSON"),
                "point it at shunt's adc.json, or run `shunt creds --out FILE`",
            )),
        },
        None => match get(env, &["GCE_METADATA_HOST", "GCE_METADATA_ROOT"]) {
            Some((name, value)) => {
                checks.push(Check::pass(format!("{name}={value} (GCE metadata credentials)")))
            }
            None => checks.push(Check::fail(
                "no credentials: neither GOOGLE_APPLICATION_CREDENTIALS nor GCE_METADATA_HOST is set",
                "set GOOGLE_APPLICATION_CREDENTIALS=/certs/adc.json",
            )),
        },
    }

    // 5. Live: the proxy, TLS through it, a token, a countTokens call.
    let Some(addr) = proxy else { return checks };
    if let Err(e) = ca {
        checks.push(Check::fail(
            format!("proxy {addr} is not answering: {e}"),
            "start shunt, or fix the host:port in HTTPS_PROXY",
        ));
        return checks;
    }
    checks.push(Check::pass(format!("proxy {addr} answers")));
    let project = get(env, &["GOOGLE_CLOUD_PROJECT"])
        .map_or("shunt-doctor", |(_, v)| v)
        .to_string();
    let location = get(env, &["GOOGLE_CLOUD_LOCATION"])
        .map_or("us-central1", |(_, v)| v)
        .to_string();
    let vertex_host = match location.as_str() {
        "global" => "aiplatform.googleapis.com".to_string(),
        "us" | "eu" => format!("aiplatform.{location}.rep.googleapis.com"),
        l => format!("{l}-aiplatform.googleapis.com"),
    };
    let Some(genai_roots) = bundles.get("SSL_CERT_FILE") else {
        return checks;
    };
    let body = match https_post(&addr, &vertex_host, genai_roots, "/", "", None).await {
        Ok(_) => {
            checks.push(Check::pass(format!(
                "TLS to {vertex_host} through the proxy verifies with SSL_CERT_FILE"
            )));
            true
        }
        Err(e) => {
            checks.push(Check::fail(
                format!("TLS to {vertex_host} through the proxy failed: {e}"),
                "point SSL_CERT_FILE at the bundle.pem of the shunt you are using",
            ));
            false
        }
    };
    if !body {
        return checks;
    }
    let Some(auth_roots) = bundles.get("REQUESTS_CA_BUNDLE") else {
        return checks;
    };
    let token = match https_post(
        &addr,
        "oauth2.googleapis.com",
        auth_roots,
        "/token",
        "grant_type=refresh_token&refresh_token=doctor",
        None,
    )
    .await
    {
        Ok((200, body)) => match serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|j| j["access_token"].as_str().map(String::from))
        {
            Some(t) => {
                checks.push(Check::pass("token from oauth2.googleapis.com through the proxy"));
                t
            }
            None => {
                checks.push(Check::fail(
                    "the token endpoint answered without access_token",
                    "check that HTTPS_PROXY points at shunt",
                ));
                return checks;
            }
        },
        Ok((status, _)) => {
            checks.push(Check::fail(
                format!("the token endpoint answered {status}"),
                "check that HTTPS_PROXY points at shunt",
            ));
            return checks;
        }
        Err(e) => {
            checks.push(Check::fail(
                format!("token request failed: {e}"),
                "point REQUESTS_CA_BUNDLE at shunt's bundle.pem",
            ));
            return checks;
        }
    };
    let path = format!(
        "/v1/projects/{project}/locations/{location}/publishers/google/models/gemini-2.5-flash:countTokens"
    );
    let request = r#"{"contents":[{"role":"user","parts":[{"text":"shunt doctor"}]}]}"#;
    match https_post(&addr, &vertex_host, genai_roots, &path, request, Some(&token)).await {
        Ok((200, body))
            if serde_json::from_slice::<serde_json::Value>(&body)
                .is_ok_and(|j| j["totalTokens"].is_u64()) =>
        {
            checks.push(Check::pass(format!("countTokens on {vertex_host} answered")));
        }
        Ok((status, body)) => checks.push(Check::fail(
            format!(
                "countTokens answered {status}: {}",
                String::from_utf8_lossy(&body[..body.len().min(200)])
            ),
            "check shunt's --upstream (the mock-llm service must be up)",
        )),
        Err(e) => checks.push(Check::fail(
            format!("countTokens failed: {e}"),
            "check shunt's logs",
        )),
    }
    checks
}

/// The proxy's CA (DER), from `GET /ca.pem`.
async fn fetch_ca(addr: &str) -> Result<Vec<u8>, String> {
    let get = async {
        let mut stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let req = format!("GET /ca.pem HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream
            .write_all(req.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut buf = Vec::new();
        stream.read_to_end(&mut buf).await.map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&buf).into_owned();
        if !text.starts_with("HTTP/1.1 200") {
            return Err(format!(
                "GET /ca.pem answered {}",
                text.lines().next().unwrap_or("")
            ));
        }
        let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
        pem::parse(body)
            .map(|p| p.into_contents())
            .map_err(|e| format!("/ca.pem is not PEM: {e}"))
    };
    tokio::time::timeout(STEP_TIMEOUT, get)
        .await
        .map_err(|_| "timed out".to_string())?
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
