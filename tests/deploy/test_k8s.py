"""deploy/k8s validates offline against the Kubernetes OpenAPI schemas (strict: unknown
fields are errors) for a version that knows native sidecars, and wires shunt as one."""

from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from conftest import REPO

K8S_DIR = REPO / "deploy/k8s"
# Native sidecars (initContainers with restartPolicy: Always) are on by default from 1.29.
K8S_VERSION = "1.33.0"
MANIFESTS = sorted(K8S_DIR.glob("*.yaml"))


def _docs(path: Path):
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_validates_strictly(path):
    for doc in _docs(path):
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_validator_rejects_unknown_fields():
    bad = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"},
           "spec": {"containers": [{"name": "a", "image": "b", "bogus": 1}]}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, K8S_VERSION, strict=True)


def _app():
    (dep,) = [d for d in _docs(K8S_DIR / "app.yaml") if d["kind"] == "Deployment"]
    return dep["spec"]["template"]["spec"]


def test_shunt_is_a_native_sidecar():
    spec = _app()
    sidecars = [c for c in spec["initContainers"] if c.get("restartPolicy") == "Always"]
    assert [c["name"] for c in sidecars] == ["shunt"]
    env = {e["name"]: e["value"] for e in sidecars[0]["env"]}
    assert env["SHUNT_UPSTREAM"] == "http://mock-llm:8000"
    assert "startupProbe" in sidecars[0], "the app must start only once the kit exists"


def test_app_env_wiring():
    spec = _app()
    (app,) = spec["containers"]
    env = {e["name"]: e["value"] for e in app["env"]}
    assert env["HTTPS_PROXY"].startswith("http://")
    assert env["SSL_CERT_FILE"] == env["REQUESTS_CA_BUNDLE"] == "/certs/bundle.pem"
    assert "googleapis" not in env["NO_PROXY"] and "google" not in env["NO_PROXY"]
    kit = [m for m in app["volumeMounts"] if m["mountPath"] == "/certs"]
    assert kit and kit[0].get("readOnly") is True
    vols = {v["name"]: v for v in spec["volumes"]}
    assert vols["ca"]["secret"]["secretName"] == "shunt-ca"


def test_mock_llm_service_matches():
    docs = _docs(K8S_DIR / "mock-llm.yaml")
    (svc,) = [d for d in docs if d["kind"] == "Service"]
    assert svc["metadata"]["name"] == "mock-llm"
    assert svc["spec"]["ports"][0]["port"] == 8000
