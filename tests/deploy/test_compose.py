"""docker-compose.yaml parses and its wires connect: the app's env names only services,
never bypasses shunt for Google, trusts the kit's bundle from a read-only volume, and
every dependency waits on a real healthcheck."""

from urllib.parse import urlsplit

from conftest import REPO, service_env

LOOPBACK = {"localhost", "127.0.0.1", "::1"}
ENDPOINT_KEYS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "PARLANT_STORE")


def _volume(spec):
    """(source, target, read_only) of a short-form or long-form volume."""
    if isinstance(spec, dict):
        return spec.get("source"), spec["target"], bool(spec.get("read_only"))
    parts = spec.split(":")
    return parts[0], parts[1], len(parts) > 2 and "ro" in parts[2].split(",")


def test_services_present(compose):
    assert {"shunt", "mock-llm", "parlant", "mongodb", "locust"} <= set(compose["services"])


def test_every_host_the_app_names_is_a_service(compose):
    env = service_env(compose, "parlant")
    services = set(compose["services"])
    hosts = set()
    for key in ENDPOINT_KEYS:
        hosts.add(urlsplit(env[key]).hostname)
    for key in ("NO_PROXY", "no_proxy"):
        hosts |= {h.strip() for h in env[key].split(",") if h.strip()} - LOOPBACK
    assert hosts, "the app env names no host"
    assert hosts <= services, f"hosts that are not services: {hosts - services}"


def test_proxy_urls_have_a_scheme_and_match(compose):
    env = service_env(compose, "parlant")
    urls = {env[k] for k in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")}
    assert len(urls) == 1
    (url,) = urls
    assert url.startswith("http://"), "aiohttp ignores a proxy without a scheme"
    shunt = service_env(compose, "shunt")
    assert url == shunt["SHUNT_PUBLIC_URL"]
    assert urlsplit(url).port == int(shunt["SHUNT_LISTEN"].rsplit(":", 1)[1])


def test_no_proxy_never_covers_google(compose):
    env = service_env(compose, "parlant")
    google = ("aiplatform.googleapis.com", "us-central1-aiplatform.googleapis.com",
              "oauth2.googleapis.com", "www.googleapis.com", "accounts.google.com",
              "metadata.google.internal")
    for key in ("NO_PROXY", "no_proxy"):
        for entry in env[key].split(","):
            entry = entry.strip().lower().lstrip("*").lstrip(".")
            assert entry not in ("", "*") or not entry.strip(), f"{key} has a wildcard"
            for host in google:
                assert host != entry and not host.endswith("." + entry), f"{key}: {entry} covers {host}"


def test_trust_comes_from_the_kit_volume_read_only(compose):
    env = service_env(compose, "parlant")
    assert env["SSL_CERT_FILE"] == env["REQUESTS_CA_BUNDLE"]
    shunt_env = service_env(compose, "shunt")
    kit_dir = shunt_env["SHUNT_PUBLIC_CERTS_DIR"]
    assert env["SSL_CERT_FILE"] == f"{kit_dir}/bundle.pem"
    assert env["GOOGLE_APPLICATION_CREDENTIALS"] == f"{kit_dir}/adc.json"

    shunt_vols = [_volume(v) for v in compose["services"]["shunt"]["volumes"]]
    kit_sources = {src for src, tgt, _ in shunt_vols if tgt == shunt_env["SHUNT_CERTS"]}
    assert kit_sources, "shunt does not write its kit into a volume"
    (kit,) = kit_sources
    assert kit in compose["volumes"], "the kit volume is not a named volume"

    app_vols = [_volume(v) for v in compose["services"]["parlant"]["volumes"]]
    mounts = [(src, ro) for src, tgt, ro in app_vols if tgt == kit_dir]
    assert mounts == [(kit, True)], f"the app must mount {kit} at {kit_dir} read-only"


def test_vertex_adapter_env(compose):
    env = service_env(compose, "parlant")
    for key in ("VERTEX_AI_PROJECT_ID", "VERTEX_AI_REGION", "VERTEX_AI_MODEL"):
        assert env.get(key), key
    assert "gemini" in env["VERTEX_AI_MODEL"] or "claude" in env["VERTEX_AI_MODEL"]


def test_health_gates(compose):
    services = compose["services"]
    for name, svc in services.items():
        deps = svc.get("depends_on") or {}
        if isinstance(deps, list):
            deps = {d: {"condition": "service_started"} for d in deps}
        for dep, spec in deps.items():
            assert dep in services, f"{name} depends on unknown {dep}"
            cond = (spec or {}).get("condition", "service_started")
            if cond == "service_healthy":
                assert "healthcheck" in services[dep], f"{dep} has no healthcheck but {name} waits for it"
            else:
                assert cond == "service_started", f"{name} -> {dep}: {cond}"
    # Every service that anything depends on as healthy has a healthcheck, and the app
    # waits for the proxy (the kit exists only once shunt is healthy).
    assert services["parlant"]["depends_on"]["shunt"]["condition"] == "service_healthy"
    for name in ("shunt", "mock-llm", "mongodb", "parlant"):
        assert "healthcheck" in services[name], name


def test_mock_latency_knobs_map_to_shunt(compose):
    env = service_env(compose, "mock-llm")
    assert env["SHUNT_TTFT"] == "uniform:200ms..800ms"
    assert env["SHUNT_GAP"].endswith("ms")
    assert int(env["SHUNT_REPLY_WORDS"]) > 0
    assert compose["services"]["mock-llm"]["command"] == ["mock"]
    assert service_env(compose, "shunt")["SHUNT_UPSTREAM"] == "http://mock-llm:8000"


def test_bind_mounted_files_exist(compose):
    for name, svc in compose["services"].items():
        for spec in svc.get("volumes", []):
            src, _, _ = _volume(spec)
            if src and src.startswith("./") and not src.startswith("./results"):
                assert (REPO / src).exists(), f"{name}: {src} missing"
        build = svc.get("build")
        if isinstance(build, dict):
            ctx = REPO / build.get("context", ".")
            assert (ctx / build.get("dockerfile", "Dockerfile")).exists(), name
        elif isinstance(build, str):
            assert (REPO / build / "Dockerfile").exists(), name


def test_dockerfile_shape():
    text = (REPO / "Dockerfile").read_text()
    froms = [l for l in text.splitlines() if l.startswith("FROM ")]
    assert len(froms) >= 2, "multi-stage build"
    assert "USER 65532" in text or "USER nonroot" in text
    assert 'HEALTHCHECK' in text and '"shunt", "health"' in text
    assert 'VOLUME ["/certs"]' in text
