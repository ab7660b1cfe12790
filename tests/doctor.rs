//! `shunt doctor` as an app container would run it: a good environment passes, and each
//! failure mode yields its own ✘ line with the fix.

mod common;

use std::collections::HashMap;

use common::*;

/// The env block shunt wrote (`shunt.env`), as a map.
fn kit_env(proxy: &Proxy) -> HashMap<String, String> {
    std::fs::read_to_string(proxy.dir.path().join("shunt.env"))
        .expect("shunt.env")
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains('='))
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect()
}

/// Run `shunt doctor` with exactly `env`; return (exit code, stdout).
async fn doctor(env: HashMap<String, String>) -> (i32, String) {
    let out = tokio::task::spawn_blocking(move || {
        shunt_command()
            .arg("doctor")
            .envs(env)
            .output()
            .expect("run doctor")
    })
    .await
    .expect("join");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn failed_lines(out: &str) -> Vec<&str> {
    out.lines().filter(|l| l.starts_with('✘')).collect()
}

/// The kit's own env passes every check, including the live token and countTokens.
#[tokio::test]
async fn good_environment_passes() {
    let proxy = Proxy::start().await;
    let (code, out) = doctor(kit_env(&proxy)).await;
    assert_eq!(code, 0, "{out}");
    assert!(failed_lines(&out).is_empty(), "{out}");
    for want in [
        "✔ HTTPS_PROXY=http://",
        "TLS to us-central1-aiplatform.googleapis.com",
        "✔ token",
        "✔ countTokens",
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }
}

/// Each broken setting gives the matching ✘ line and a non-zero exit.
#[tokio::test]
async fn each_failure_mode_is_named() {
    let proxy = Proxy::start().await;
    let good = kit_env(&proxy);
    let dir = tempfile::tempdir().expect("tempdir");
    let only_ca = dir.path().join("only-ca.pem");
    std::fs::write(&only_ca, proxy.ca_pem()).expect("write");
    let only_public = dir.path().join("public.pem");
    let bundle = std::fs::read_to_string(proxy.dir.path().join("bundle.pem")).expect("bundle");
    std::fs::write(&only_public, bundle.replace(proxy.ca_pem().trim(), "")).expect("write");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");

    type Edit = Box<dyn Fn(&mut HashMap<String, String>)>;
    let no_scheme = proxy.addr.to_string();
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "proxy without scheme",
            Box::new(move |e| {
                e.insert("HTTPS_PROXY".into(), no_scheme.clone());
                e.remove("https_proxy");
            }),
            "has no scheme",
        ),
        (
            "NO_PROXY covering googleapis",
            Box::new(|e| {
                e.insert("NO_PROXY".into(), "localhost,.googleapis.com".into());
                e.remove("no_proxy");
            }),
            "NO_PROXY lists .googleapis.com",
        ),
        (
            "bundle without the CA",
            {
                let p = only_public.display().to_string();
                Box::new(move |e| {
                    e.insert("SSL_CERT_FILE".into(), p.clone());
                })
            },
            "does not contain this shunt's CA",
        ),
        (
            "bundle without public roots",
            {
                let p = only_ca.display().to_string();
                Box::new(move |e| {
                    e.insert("REQUESTS_CA_BUNDLE".into(), p.clone());
                })
            },
            "holds no public roots",
        ),
        (
            "proxy down",
            Box::new(move |e| {
                e.insert("HTTPS_PROXY".into(), format!("http://{closed}"));
                e.remove("https_proxy");
            }),
            "is not answering",
        ),
        (
            "no credentials",
            Box::new(|e| {
                e.remove("GOOGLE_APPLICATION_CREDENTIALS");
            }),
            "no credentials",
        ),
    ];
    for (name, edit, want) in cases {
        let mut env = good.clone();
        edit(&mut env);
        let (code, out) = doctor(env).await;
        assert_eq!(code, 1, "{name}: {out}");
        let failed = failed_lines(&out);
        assert!(
            failed.iter().any(|l| l.contains(want) && l.contains("fix:")),
            "{name}: want {want:?} in\n{out}"
        );
    }
}

/// A proxy address where something else answers is "not shunt", not "not answering"; the
/// live checks that need a failed one are listed as skipped (–), with the reason, and do
/// not count as failures.
#[tokio::test]
async fn other_server_and_skipped_checks() {
    let proxy = Proxy::start().await;
    let good = kit_env(&proxy);

    let other = FakeUpstream::start(std::sync::Arc::new(|_| {
        let mut res = http::Response::new(shunt::body::full("not here"));
        *res.status_mut() = http::StatusCode::NOT_FOUND;
        res
    }))
    .await;
    let mut env = good.clone();
    env.insert("HTTPS_PROXY".into(), other.url());
    env.remove("https_proxy");
    let (code, out) = doctor(env).await;
    assert_eq!(code, 1, "{out}");
    assert!(
        failed_lines(&out)
            .iter()
            .any(|l| l.contains("answers, but it is not shunt") && l.contains("404")),
        "{out}"
    );
    assert!(!out.contains("is not answering"), "{out}");

    let mut env = good.clone();
    env.remove("SSL_CERT_FILE");
    let (code, out) = doctor(env).await;
    assert_eq!(code, 1, "the unset SSL_CERT_FILE fails: {out}");
    let skipped: Vec<&str> = out.lines().filter(|l| l.starts_with('–')).collect();
    assert!(
        skipped
            .iter()
            .any(|l| l.contains("token, countTokens")
                && l.contains("skipped: SSL_CERT_FILE did not pass above")),
        "{out}"
    );
    assert_eq!(failed_lines(&out).len(), 1, "only the cause fails: {out}");
    assert!(!out.contains("✔ token"), "{out}");
}
