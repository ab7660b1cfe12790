//! Token, metadata and admin routes.

mod common;

use common::*;

/// Every token endpoint answers the JSON google-auth needs.
#[tokio::test]
async fn token_endpoints() {
    let proxy = Proxy::start_with(&["--token-expires-in", "120"]).await;
    for (host, path) in [
        ("oauth2.googleapis.com", "/token"),
        ("www.googleapis.com", "/oauth2/v4/token"),
        ("accounts.google.com", "/o/oauth2/token"),
        ("sts.googleapis.com", "/v1/token"),
    ] {
        let reply = https(
            &proxy,
            host,
            "POST",
            path,
            "grant_type=refresh_token&refresh_token=x",
        )
        .await;
        assert_eq!(reply.status, 200, "{host}{path}: {}", reply.text());
        let json = reply.json();
        assert!(
            json["access_token"]
                .as_str()
                .is_some_and(|t| t.starts_with("ya29.")),
            "{json}"
        );
        assert_eq!(json["expires_in"], 120);
        assert_eq!(json["token_type"], "Bearer");
    }
    let reply = https(&proxy, "www.googleapis.com", "GET", "/drive/v3/files", "").await;
    assert_eq!(reply.status, 404);
    assert!(
        reply.text().contains("www.googleapis.com/drive/v3/files"),
        "{}",
        reply.text()
    );
}

fn metadata_request(uri: &str, flavor: bool) -> http::Request<http_body_util::Full<bytes::Bytes>> {
    let mut req = request("GET", uri, "");
    if flavor {
        req.headers_mut()
            .insert("metadata-flavor", "Google".parse().expect("header"));
    }
    req
}

/// The GCE metadata flow google-auth runs, via HTTP_PROXY (absolute-form).
#[tokio::test]
async fn metadata_flow_absolute_form() {
    let proxy = Proxy::start_with(&["--project", "proj-7"]).await;
    let ping = plain(proxy.addr, metadata_request("http://169.254.169.254/", true)).await;
    assert_eq!(ping.status, 200);
    assert_eq!(ping.headers["metadata-flavor"], "Google");
    let base = "http://metadata.google.internal/computeMetadata/v1";
    let project = plain(
        proxy.addr,
        metadata_request(&format!("{base}/project/project-id"), true),
    )
    .await;
    assert_eq!(project.text(), "proj-7");
    let sa = plain(
        proxy.addr,
        metadata_request(
            &format!("{base}/instance/service-accounts/default/?recursive=true"),
            true,
        ),
    )
    .await;
    assert_eq!(sa.headers["content-type"], "application/json");
    assert_eq!(sa.json()["email"], "shunt-mock@proj-7.iam.gserviceaccount.com");
    let email = plain(
        proxy.addr,
        metadata_request(&format!("{base}/instance/service-accounts/default/email"), true),
    )
    .await;
    assert_eq!(email.text(), "shunt-mock@proj-7.iam.gserviceaccount.com");
    let token = plain(
        proxy.addr,
        metadata_request(
            &format!("{base}/instance/service-accounts/default/token?scopes=x"),
            true,
        ),
    )
    .await;
    assert_eq!(token.headers["content-type"], "application/json");
    assert_eq!(token.json()["expires_in"], 3599);
    assert!(token.json()["access_token"].is_string());
}

/// Without Metadata-Flavor the metadata server answers 403, in both forms.
#[tokio::test]
async fn metadata_requires_flavor_header() {
    let proxy = Proxy::start().await;
    let abs = plain(
        proxy.addr,
        metadata_request(
            "http://metadata.google.internal/computeMetadata/v1/project/project-id",
            false,
        ),
    )
    .await;
    assert_eq!(abs.status, 403);
    assert_eq!(abs.json()["error"]["status"], "PERMISSION_DENIED");
    let origin = plain(
        proxy.addr,
        metadata_request("/computeMetadata/v1/project/project-id", false),
    )
    .await;
    assert_eq!(origin.status, 403);
}

/// Origin-form metadata (GCE_METADATA_HOST / GCE_METADATA_IP pointing at shunt).
#[tokio::test]
async fn metadata_origin_form() {
    let proxy = Proxy::start().await;
    let ping = plain(proxy.addr, metadata_request("/", true)).await;
    assert_eq!(ping.status, 200);
    assert_eq!(ping.headers["metadata-flavor"], "Google");
    let project = plain(
        proxy.addr,
        metadata_request("/computeMetadata/v1/project/project-id", true),
    )
    .await;
    assert_eq!(project.text(), "shunt-mock-project");
}

/// Admin endpoints: health, the CA (never its key), metrics.
#[tokio::test]
async fn admin_endpoints() {
    let proxy = Proxy::start().await;
    assert_eq!(
        plain(proxy.addr, request("GET", "/healthz", "")).await.status,
        200
    );
    let ca = plain(proxy.addr, request("GET", "/ca.pem", "")).await;
    assert_eq!(ca.text(), proxy.ca_pem());
    let key = plain(proxy.addr, request("GET", "/ca-key.pem", "")).await;
    assert_eq!(key.status, 404);
    assert!(!key.text().contains("PRIVATE KEY"));
    let _ = https(&proxy, "oauth2.googleapis.com", "POST", "/token", "").await;
    let metrics = plain(proxy.addr, request("GET", "/metrics", "")).await.text();
    for name in [
        "shunt_requests_total{route=\"token\",status=\"200\"} 1",
        "shunt_request_duration_seconds_count{route=\"token\"} 1",
        "shunt_open_connections",
        "shunt_tls_handshakes_total{result=\"ok\"} 1",
        "shunt_leaf_cache_total{result=\"miss\"} 1",
    ] {
        assert!(metrics.contains(name), "missing {name} in\n{metrics}");
    }
}

/// The trust kit files exist with the right modes and contents.
#[tokio::test]
async fn trust_kit_written() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let status = shunt_command()
        .args(["ca", "--certs"])
        .arg(dir.path())
        .output()
        .expect("run shunt ca");
    assert!(status.status.success());
    let out = String::from_utf8_lossy(&status.stdout);
    assert!(
        out.contains("SHA-256 fingerprint: ") && out.contains("ca.pem"),
        "{out}"
    );
    let mode = std::fs::metadata(dir.path().join("ca-key.pem"))
        .expect("key")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}
