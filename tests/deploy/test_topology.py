"""The compose wiring, run without Docker: shunt, mock-llm and the app each in its own
network namespace, joined by a bridge that lives in a fourth namespace (nothing is added
to the host's namespace, and no namespace has a route out of 10.77.0.0/24).

Each namespace resolves the compose service names through /etc/netns/NAME/hosts. shunt
and mock-llm run with their `environment` from docker-compose.yaml; the client (in the
`parlant` service's place) runs with exactly the parlant service's environment, the
`/certs` path mapped to the real kit directory shunt wrote, and makes real google-genai
calls: client → shunt (CONNECT, TLS intercept, fake OAuth token) → mock-llm (forwarded) →
back. The mock's own /metrics proves the answers came from mock-llm, not shunt's
built-in mock.
"""

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from conftest import REPO, service_env

SUBNET = "10.77.0"
ADDRESSES = {"shunt": f"{SUBNET}.2", "mock-llm": f"{SUBNET}.3", "parlant": f"{SUBNET}.4"}

CLIENT = r'''
import json, os, sys, urllib.request
from google import genai

def mock_replies():
    # NO_PROXY names mock-llm: this goes straight to the mock's namespace.
    text = urllib.request.urlopen("http://mock-llm:8000/metrics", timeout=10).read().decode()
    # Every request the mock answered, embeddings included.
    return sum(float(l.rsplit(" ", 1)[1]) for l in text.splitlines()
               if l.startswith('shunt_requests_total{route="mock",status="200"}'))

before = mock_replies()
client = genai.Client(vertexai=True, project=os.environ["VERTEX_AI_PROJECT_ID"],
                      location=os.environ["VERTEX_AI_REGION"])
reply = client.models.generate_content(model=os.environ["VERTEX_AI_MODEL"],
                                       contents="Hello from the parlant namespace")
schema = {"type": "object", "properties": {"slot": {"type": "string"}}, "required": ["slot"]}
structured = client.models.generate_content(
    model=os.environ["VERTEX_AI_MODEL"], contents="Pick a slot",
    config={"response_mime_type": "application/json", "response_schema": schema})
emb = client.models.embed_content(model="text-embedding-004", contents=["a", "b"])
after = mock_replies()
print(json.dumps({"text": reply.text, "structured": json.loads(structured.text),
                  "dims": [len(e.values) for e in emb.embeddings],
                  "mock_answers": after - before}))
'''


def sh(*args, check=True, **kw):
    return subprocess.run(list(args), check=check, capture_output=True, text=True, **kw)


def netns_available() -> str | None:
    if os.geteuid() != 0:
        return "needs root (ip netns)"
    if not shutil.which("ip"):
        return "needs iproute2"
    return None


@pytest.fixture
def topology(tmp_path):
    """Create namespaces <prefix>{net,shunt,mock-llm,parlant}; yield name -> netns."""
    reason = netns_available()
    if reason:
        pytest.fail(reason)
    prefix = f"sd{uuid.uuid4().hex[:6]}-"
    bridge_ns = prefix + "net"
    names = {svc: prefix + svc for svc in ADDRESSES}
    created: list[str] = []
    try:
        sh("ip", "netns", "add", bridge_ns)
        created.append(bridge_ns)
        sh("ip", "-n", bridge_ns, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", bridge_ns, "link", "set", "br0", "up")
        hosts = "127.0.0.1 localhost\n::1 localhost\n" + "".join(
            f"{addr} {svc}\n" for svc, addr in ADDRESSES.items())
        for i, (svc, ns) in enumerate(names.items()):
            sh("ip", "netns", "add", ns)
            created.append(ns)
            etc = Path("/etc/netns") / ns
            etc.mkdir(parents=True, exist_ok=True)
            (etc / "hosts").write_text(hosts)
            # veth names are created in the bridge namespace, so they cannot clash with
            # the host's interfaces; one end then moves into the service namespace.
            sh("ip", "-n", bridge_ns, "link", "add", f"p{i}", "type", "veth",
               "peer", "name", "eth0", "netns", ns)
            sh("ip", "-n", bridge_ns, "link", "set", f"p{i}", "master", "br0", "up")
            sh("ip", "-n", ns, "addr", "add", f"{ADDRESSES[svc]}/24", "dev", "eth0")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        yield names
    finally:
        for ns in reversed(created):
            sh("ip", "netns", "del", ns, check=False)
            shutil.rmtree(Path("/etc/netns") / ns, ignore_errors=True)


def start(ns: str, argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(["ip", "netns", "exec", ns, *argv], env=env,
                            stdout=log.open("w"), stderr=subprocess.STDOUT)


def wait_healthy(ns: str, shunt_bin: Path, listen: str, proc: subprocess.Popen, log: Path):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{ns} exited {proc.returncode}:\n{log.read_text()}")
        if sh("ip", "netns", "exec", ns, str(shunt_bin), "health", "--listen", listen,
              check=False).returncode == 0:
            return
        time.sleep(0.3)
    pytest.fail(f"{ns} not healthy:\n{log.read_text()}")


def test_compose_wiring_in_network_namespaces(topology, compose, shunt_bin, tmp_path):
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
            "HOME": str(tmp_path)}
    kit = tmp_path / "certs"
    procs: list[subprocess.Popen] = []
    try:
        # mock-llm, as the compose service runs it (scenarios file mapped to the repo's).
        mock_env = service_env(compose, "mock-llm")
        mock_env["SHUNT_SCENARIOS"] = str(REPO / "examples/shunt/parlant-scenarios.toml")
        mock_log = tmp_path / "mock-llm.log"
        cmd = compose["services"]["mock-llm"]["command"]
        procs.append(start(topology["mock-llm"], [str(shunt_bin), *cmd],
                           {**base, **mock_env}, mock_log))
        wait_healthy(topology["mock-llm"], shunt_bin, mock_env["SHUNT_LISTEN"], procs[-1], mock_log)

        # shunt, as the compose service runs it, writing its kit into a real directory.
        shunt_env = service_env(compose, "shunt")
        shunt_env["SHUNT_CERTS"] = str(kit)
        shunt_log = tmp_path / "shunt.log"
        cmd = compose["services"]["shunt"]["command"]
        procs.append(start(topology["shunt"], [str(shunt_bin), *cmd],
                           {**base, **shunt_env}, shunt_log))
        wait_healthy(topology["shunt"], shunt_bin, shunt_env["SHUNT_LISTEN"], procs[-1], shunt_log)
        for name in ("ca.pem", "bundle.pem", "adc.json", "shunt.env"):
            assert (kit / name).exists(), name
        # The kit's env block speaks of the compose names, not of this machine's paths.
        kit_env = (kit / "shunt.env").read_text()
        assert "HTTPS_PROXY=http://shunt:8080" in kit_env
        assert "SSL_CERT_FILE=/certs/bundle.pem" in kit_env

        # The client: exactly the parlant service's environment, /certs → the kit dir.
        kit_dir = shunt_env["SHUNT_PUBLIC_CERTS_DIR"]
        app_env = {k: v.replace(kit_dir + "/", f"{kit}/")
                   for k, v in service_env(compose, "parlant").items()}
        result = sh("ip", "netns", "exec", topology["parlant"], sys.executable, "-c", CLIENT,
                    env={**base, **app_env}, check=False, timeout=120)
        assert result.returncode == 0, (
            f"client failed:\n{result.stderr}\n--- shunt\n{shunt_log.read_text()}"
            f"\n--- mock-llm\n{mock_log.read_text()}")
        out = json.loads(result.stdout.strip().splitlines()[-1])
        assert out["text"].strip()
        assert isinstance(out["structured"]["slot"], str)
        assert out["dims"] == [768, 768]
        # All three answers came from mock-llm (forwarded), not shunt's built-in mock.
        assert out["mock_answers"] == 3, out

        log = shunt_log.read_text()
        assert ' route=token ' in log, "google-auth's token refresh did not reach shunt"
        assert "gemini-2.5-flash:generateContent" in log or ":generateContent" in log
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()


PROBE = r'''
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: shunt\r\nConnection: close\r\n\r\n")
data = b""
try:
    while chunk := s.recv(4096):
        data += chunk
except OSError:
    pass
print(data.split(b"\r\n", 1)[0].decode() or "<closed without an answer>")
'''


def test_allow_clients_across_namespaces(topology, shunt_bin, tmp_path):
    """shunt with --allow-clients naming only mock-llm's address: a client from the parlant
    namespace is disconnected without an answer, one from mock-llm's is served, and
    `shunt health` inside shunt's own namespace (loopback) passes."""
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
            "HOME": str(tmp_path)}
    listen = f"{ADDRESSES['shunt']}:8080"
    env = {**base, "SHUNT_LISTEN": "0.0.0.0:8080", "SHUNT_CERTS": str(tmp_path / "certs"),
           "SHUNT_ALLOW_CLIENTS": f"{ADDRESSES['mock-llm']}/32"}
    log = tmp_path / "shunt.log"
    proc = start(topology["shunt"], [str(shunt_bin), "serve"], env, log)
    try:
        wait_healthy(topology["shunt"], shunt_bin, "127.0.0.1:8080", proc, log)
        host, port = listen.split(":")

        def probe(ns: str) -> str:
            res = sh("ip", "netns", "exec", topology[ns], sys.executable, "-c", PROBE, host, port,
                     env=base, check=False, timeout=30)
            assert res.returncode == 0, res.stderr
            return res.stdout.strip()

        assert probe("mock-llm") == "HTTP/1.1 200 OK", log.read_text()
        assert probe("parlant") == "<closed without an answer>", log.read_text()
        assert "client not in --allow-clients" in log.read_text()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
