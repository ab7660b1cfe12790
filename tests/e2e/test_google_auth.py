"""google-auth through shunt: user and service-account ADC, and the fake GCE metadata server."""

import json

import requests

META_PROJECT = "e2e-meta-project"
USER_CREDS = "google.oauth2.credentials.Credentials"
SA_CREDS = "google.oauth2.service_account.Credentials"
GCE_CREDS = "google.auth.compute_engine.credentials.Credentials"


def assert_token(r, credentials):
    assert r["credentials"] == credentials, r
    assert isinstance(r["token"], str) and r["token"], r
    assert r["valid"] is True, r
    # google-auth treats a token within 225 s of expiry as expired (refreshes before every call).
    assert r["expires_in_s"] is not None and r["expires_in_s"] > 225, r


def test_authorized_user_refresh(shunt):
    """The kit's authorized_user adc.json: default() + refresh() gets a token from the fake oauth2."""
    r = shunt.client("google_auth_refresh.py")
    assert_token(r, USER_CREDS)
    assert r["project"] == shunt.kit()["GOOGLE_CLOUD_PROJECT"], r


def test_token_expires_in_flag(start_shunt):
    """`--token-expires-in 7200` sets the fake token's expires_in (seen as credentials.expiry)."""
    s = start_shunt("--token-expires-in", "7200")
    r = s.client("google_auth_refresh.py")
    assert_token(r, USER_CREDS)
    assert 7000 < r["expires_in_s"] <= 7200, r


def test_service_account_refresh(shunt, tmp_path):
    """A `shunt creds --kind service_account` file: JWT-bearer grant to the fake oauth2 gives a token."""
    sa_path = tmp_path / "sa.json"
    shunt.cli("creds", "--kind", "service_account", "--out", str(sa_path))
    sa = json.loads(sa_path.read_text())
    # Without GOOGLE_CLOUD_PROJECT the project is the file's project_id.
    env = shunt.env(GOOGLE_APPLICATION_CREDENTIALS=str(sa_path), GOOGLE_CLOUD_PROJECT=None)
    r = shunt.client("google_auth_refresh.py", env=env)
    assert_token(r, SA_CREDS)
    assert r["project"] == sa["project_id"], r
    assert r["service_account_email"] == sa["client_email"], r


def gce_metadata_asserts(s, env):
    r = s.client("google_auth_refresh.py", env=env)
    assert_token(r, GCE_CREDS)
    assert r["project"] == META_PROJECT, r
    assert r["service_account_email"] and "@" in r["service_account_email"], r
    # And genai on those credentials (what a GKE pod with workload identity does).
    g = s.client("genai_call.py", "sync", "--project", r["project"], "--location", "us-central1",
                 env=env)
    assert isinstance(g["text"], str) and g["text"].strip(), g


def test_gce_metadata_via_http_proxy(start_shunt):
    """No ADC file, HTTP_PROXY from the kit: default() finds GCE metadata via absolute-form requests."""
    s = start_shunt("--project", META_PROJECT)
    env = s.env(GOOGLE_APPLICATION_CREDENTIALS=None, GOOGLE_CLOUD_PROJECT=None)
    assert env["HTTP_PROXY"].rstrip("/") == s.url
    gce_metadata_asserts(s, env)


def test_gce_metadata_via_metadata_host(start_shunt):
    """GCE_METADATA_HOST=GCE_METADATA_IP=shunt (direct, NO_PROXY): origin-form metadata works."""
    s = start_shunt("--project", META_PROJECT)
    no_proxy = ",".join(filter(None, [s.kit().get("NO_PROXY"), "127.0.0.1", "localhost"]))
    env = s.env(
        GOOGLE_APPLICATION_CREDENTIALS=None, GOOGLE_CLOUD_PROJECT=None,
        GCE_METADATA_HOST=s.addr, GCE_METADATA_IP=s.addr, NO_PROXY=no_proxy, no_proxy=no_proxy,
    )
    gce_metadata_asserts(s, env)


def test_metadata_requires_flavor_header(start_shunt):
    """Origin-form /computeMetadata/v1/project/project-id: 403 without Metadata-Flavor, 200 with it."""
    s = start_shunt("--project", META_PROJECT)
    url = f"{s.url}/computeMetadata/v1/project/project-id"
    with requests.Session() as http:
        http.trust_env = False  # this test process's own env must not matter
        bare = http.get(url, timeout=10)
        assert bare.status_code == 403, (bare.status_code, bare.text, s.log())
        ok = http.get(url, headers={"Metadata-Flavor": "Google"}, timeout=10)
        assert ok.status_code == 200, (ok.status_code, ok.text, s.log())
        assert ok.text.strip() == META_PROJECT
        assert ok.headers.get("Metadata-Flavor") == "Google"
        ping = http.get(f"{s.url}/", headers={"Metadata-Flavor": "Google"}, timeout=10)
        assert ping.status_code == 200 and ping.headers.get("Metadata-Flavor") == "Google", (
            ping.status_code, dict(ping.headers), s.log())
