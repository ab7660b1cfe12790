"""Checks on the compose stack tests/container/run brought up and load-tested.

Usage: python3 check.py OUT_DIR SCALE_TEST_EXIT   (DOCKER_HOST / DOCKER_CONFIG set)

Each check prints one line, ✔ or ✘ with what it saw; the exit status is 1 if any failed.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
COMPOSE = ["docker", "compose", "-f", str(REPO / "docker-compose.yaml"),
           "-f", str(HERE / "compose.override.yaml"), "--profile", "load"]
SERVICES = ("shunt", "mock-llm", "parlant")
KIT = {"ca.pem", "ca-key.pem", "bundle.pem", "adc.json", "shunt.env"}
# Lines that are errors in the services' logs: shunt's tracing level, Python's logging and
# tracebacks, Rust panics.
ERROR_LINE = re.compile(r"\b(ERROR|CRITICAL|FATAL)\b|Traceback \(most recent call last\)|panicked at")

failed: list[str] = []


def check(what: str, ok: bool, saw: object = "") -> None:
    print(f"   {'✔' if ok else '✘'} {what}" + ("" if ok else f": {saw}"), flush=True)
    if not ok:
        failed.append(what)


def sh(*args: str, input: str | None = None) -> str:
    res = subprocess.run(args, capture_output=True, text=True, input=input, timeout=120)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {res.returncode}: {res.stderr.strip()[-500:]}")
    return res.stdout


def container(service: str) -> dict:
    cid = sh(*COMPOSE, "ps", "-q", service).strip()
    if not cid:
        raise RuntimeError(f"no container for {service}")
    return json.loads(sh("docker", "inspect", cid))[0]


def metric_sum(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        m = re.match(rf"{re.escape(name)}(\{{([^}}]*)\}})?\s+(\S+)", line)
        if not m:
            continue
        have = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        if all(have.get(k) == v for k, v in labels.items()):
            total += float(m.group(3))
    return total


def fetch(url: str) -> str:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=10) as r:
        return r.read().decode()


# In the app container: the kit's bundle verifies shunt's leaf for a Google host through
# the proxy; the image's own trust stores (Debian's, certifi's) do not, and do not hold
# shunt's CA. So the app trusts shunt through the mounted kit and nothing else.
TRUST_PROBE = r"""
import http.client, json, os, ssl
ca = open('/certs/ca.pem').read().strip()
def probe(cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    c = http.client.HTTPSConnection('shunt', 8080, context=ctx, timeout=10)
    c.set_tunnel('us-central1-aiplatform.googleapis.com', 443)
    try:
        c.request('GET', '/')
        c.getresponse().read()
        return 'verified'
    except ssl.SSLCertVerificationError as e:
        return 'refused: ' + e.verify_message
    finally:
        c.close()
stores = {'debian': '/etc/ssl/certs/ca-certificates.crt'}
try:
    import certifi
    stores['certifi'] = certifi.where()
except ImportError:
    pass
print(json.dumps({
    'kit': probe('/certs/bundle.pem'),
    'stores': {k: {'has_ca': os.path.exists(p) and ca in open(p).read(), 'probe': probe(p)}
               for k, p in stores.items() if os.path.exists(p)},
    'uid': os.getuid(),
    'kit_files': {f: [os.stat('/certs/' + f).st_uid, oct(os.stat('/certs/' + f).st_mode & 0o777)]
                  for f in sorted(os.listdir('/certs'))},
}))
"""


def main() -> int:
    out, scale_exit = Path(sys.argv[1]), int(sys.argv[2])
    check("scripts/scale-test local exited 0", scale_exit == 0, scale_exit)

    # Every service is up and healthy by its own healthcheck.
    for service in SERVICES:
        try:
            state = container(service)["State"]
            health = state.get("Health", {}).get("Status")
            check(f"{service} is running and healthy", state["Running"] and health == "healthy",
                  f"running={state['Running']} health={health}")
        except RuntimeError as e:
            check(f"{service} is running and healthy", False, e)

    # The shunt container runs as nonroot and wrote its trust kit into the named volume.
    shunt = container("shunt")
    check("shunt runs as the distroless nonroot user", shunt["Config"]["User"] == "65532:65532",
          shunt["Config"]["User"])
    mounts = {m["Destination"]: m for m in shunt["Mounts"]}
    certs = mounts.get("/certs", {})
    check("shunt's /certs is the named volume shunt-scale_certs, writable",
          certs.get("Type") == "volume" and certs.get("Name") == "shunt-scale_certs" and certs.get("RW"), certs)

    # The app: only the kit volume, read-only; the env points into it; trust comes from it.
    app = container("parlant")
    app_mounts = [(m["Type"], m.get("Name"), m["Destination"], m["RW"]) for m in app["Mounts"]]
    check("parlant mounts only the kit volume, read-only",
          app_mounts == [("volume", "shunt-scale_certs", "/certs", False)], app_mounts)
    env = dict(e.split("=", 1) for e in app["Config"]["Env"])
    for var in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        check(f"parlant's {var} is the kit's bundle", env.get(var) == "/certs/bundle.pem", env.get(var))
    check("parlant's credentials are the kit's adc.json",
          env.get("GOOGLE_APPLICATION_CREDENTIALS") == "/certs/adc.json", env.get("GOOGLE_APPLICATION_CREDENTIALS"))
    try:
        probe = json.loads(sh(*COMPOSE, "exec", "-T", "parlant", "python", "-", input=TRUST_PROBE))
    except (RuntimeError, json.JSONDecodeError) as e:
        check("trust probe in the parlant container", False, e)
    else:
        check("in parlant, the kit's bundle verifies shunt's leaf for aiplatform.googleapis.com",
              probe["kit"] == "verified", probe["kit"])
        check("parlant's image has trust stores to compare with", bool(probe["stores"]), probe)
        for name, store in probe["stores"].items():
            check(f"parlant's {name} store does not hold shunt's CA", not store["has_ca"], store)
            check(f"parlant's {name} store refuses shunt's leaf", store["probe"].startswith("refused"), store)
        files = probe["kit_files"]
        check("the volume holds the whole trust kit", KIT <= set(files), sorted(files))
        check("the kit was written by shunt's nonroot user (65532)",
              all(files[f][0] == 65532 for f in KIT & set(files)), files)
        check("the CA key is 0600", files.get("ca-key.pem", [0, ""])[1] == "0o600", files.get("ca-key.pem"))
        check("parlant runs as its own user, not root", probe["uid"] != 0, probe["uid"])

    # The load: Locust's report, every turn answered.
    stats = out / "locust_stats.csv"
    rows = {r["Name"]: r for r in csv.DictReader(stats.open())} if stats.exists() else {}
    turn = rows.get("turn", {})
    requests, failures = int(turn.get("Request Count", 0)), int(turn.get("Failure Count", -1))
    check("Locust wrote its HTML report", (out / "report.html").is_file(), sorted(p.name for p in out.iterdir()))
    check("Locust ran turns, none failed", requests > 0 and failures == 0,
          f"{requests} turns, {failures} failed")
    exceptions = out / "locust_exceptions.csv"
    raised = list(csv.DictReader(exceptions.open())) if exceptions.exists() else [{"Message": "no file"}]
    check("Locust's users raised no exception", not raised, [r["Message"] for r in raised[:5]])

    # The mock received the app's calls, through shunt.
    try:
        mock = fetch("http://127.0.0.1:8000/metrics")
        proxy = fetch("http://127.0.0.1:8080/metrics")
    except OSError as e:
        check("the metrics of mock-llm and shunt are reachable", False, e)
    else:
        start = (out / "mock-metrics-start.txt").read_text() if (out / "mock-metrics-start.txt").exists() else ""
        replies = metric_sum(mock, "shunt_mock_replies_total") - metric_sum(start, "shunt_mock_replies_total")
        check("mock-llm answered the app's model calls during the load", replies > 0, replies)
        models = metric_sum(proxy, "shunt_requests_total", route="vertex", status="200")
        tokens = metric_sum(proxy, "shunt_requests_total", route="token", status="200")
        check("shunt forwarded the app's Vertex calls", models >= replies > 0, f"{models} forwarded, {replies} replies")
        check("shunt answered the app's token refreshes", tokens > 0, tokens)

    # No error line in any service's log.
    logs = sh(*COMPOSE, "logs", "--no-color")
    (out / "compose.log").write_text(logs)
    errors = [line for line in logs.splitlines() if ERROR_LINE.search(line)]
    check("docker compose logs has no error line", not errors, "\n      " + "\n      ".join(errors[:20]))

    print(f"   {len(failed)} check(s) failed" if failed else "   every check passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
