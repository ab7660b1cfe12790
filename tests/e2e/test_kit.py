"""The trust kit `shunt serve` writes into its certs dir, and `shunt creds`."""

import json
import os
import stat

from conftest import KIT_FILES, KIT_KEYS, PYTHON, parse_env_file


def test_kit_files_and_env_block(shunt):
    """On start shunt writes ca.pem, ca-key.pem (0600), bundle.pem, adc.json and a complete shunt.env."""
    for name in KIT_FILES:
        assert (shunt.certs / name).is_file(), f"missing {name} in {shunt.certs}\n{shunt.log()}"
    mode = stat.S_IMODE(os.stat(shunt.certs / "ca-key.pem").st_mode)
    assert mode == 0o600, f"ca-key.pem has mode {oct(mode)}, expected 0o600"

    ca = (shunt.certs / "ca.pem").read_text()
    bundle = (shunt.certs / "bundle.pem").read_text()
    assert ca.count("BEGIN CERTIFICATE") == 1
    assert ca.strip() in bundle, "bundle.pem does not contain the shunt CA"
    assert bundle.count("BEGIN CERTIFICATE") > 50, "bundle.pem should hold the public roots too"

    kit = parse_env_file(shunt.certs / "shunt.env")
    missing = [k for k in KIT_KEYS if k not in kit]
    assert not missing, f"shunt.env lacks {missing}:\n{(shunt.certs / 'shunt.env').read_text()}"
    for key in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        assert kit[key].rstrip("/") == shunt.url, f"{key}={kit[key]!r}, expected {shunt.url!r}"
    for key in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        assert os.path.samefile(kit[key], shunt.certs / "bundle.pem"), f"{key}={kit[key]!r}"
    assert os.path.samefile(kit["GOOGLE_APPLICATION_CREDENTIALS"], shunt.certs / "adc.json")
    assert kit["GOOGLE_API_USE_CLIENT_CERTIFICATE"] == "false"
    assert kit["GOOGLE_GENAI_USE_VERTEXAI"].lower() in ("true", "1")
    assert kit["ANTHROPIC_VERTEX_PROJECT_ID"] == kit["GOOGLE_CLOUD_PROJECT"] != ""
    for key in ("NO_PROXY", "no_proxy"):
        assert "googleapis.com" not in kit[key], f"{key}={kit[key]!r} would bypass shunt"

    adc = json.loads((shunt.certs / "adc.json").read_text())
    assert adc["type"] == "authorized_user"
    assert all(adc.get(k) for k in ("client_id", "client_secret", "refresh_token")), adc


def test_ca_survives_restart(start_shunt, tmp_path):
    """A second shunt on the same certs dir reuses the CA, so trust survives a restart."""
    certs = tmp_path / "certs"
    first = start_shunt(certs=certs)
    ca = (certs / "ca.pem").read_bytes()
    first.stop_and_check()
    start_shunt(certs=certs)
    assert (certs / "ca.pem").read_bytes() == ca


def test_creds_service_account(shunt, tmp_path):
    """`shunt creds --kind service_account` writes a service-account JSON with a real RSA key."""
    out = tmp_path / "sa.json"
    shunt.cli("creds", "--kind", "service_account", "--out", str(out))
    sa = json.loads(out.read_text())
    assert sa["type"] == "service_account"
    assert "@" in sa["client_email"] and sa["project_id"] and sa["token_uri"].startswith("https://")
    assert "-----BEGIN" in sa["private_key"] and "PRIVATE KEY-----" in sa["private_key"]


def test_client_env_is_hermetic(shunt):
    """Children see only PATH/HOME/LANG plus shunt.env: none of this machine's CA or proxy settings leak."""
    res = shunt.run([PYTHON, "-c", "import json, os; print(json.dumps(dict(os.environ)))"],
                    env=shunt.env())
    seen = set(json.loads(res.stdout))
    assert seen == {"PATH", "HOME", "LANG"} | set(shunt.kit()), seen
