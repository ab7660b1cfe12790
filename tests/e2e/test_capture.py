"""Captures of real SDK traffic: HAR checked by an independent HAR 1.2 validator, JSONL complete."""

import json
import shutil
import subprocess
from pathlib import Path

HAR_DIR = Path(__file__).resolve().parent / "har"


def validate_har(path: Path) -> dict:
    """Run the npm har-validator (HAR 1.2 JSON Schema) on `path`; fail with its errors."""
    node = shutil.which("node")
    assert node, "node is required for the HAR validator (scripts/test installs it)"
    assert (HAR_DIR / "node_modules" / "har-validator").is_dir(), \
        "har-validator missing: scripts/test runs `npm install` in tests/e2e/har"
    res = subprocess.run([node, str(HAR_DIR / "validate.js"), str(path)],
                         capture_output=True, text=True, timeout=60)
    result = json.loads(res.stdout.strip().splitlines()[-1])
    assert res.returncode == 0 and result["valid"], f"HAR invalid: {result}\n{res.stderr}"
    return result


def test_har_and_jsonl_of_sdk_traffic(start_shunt, tmp_path):
    """genai sync + stream and anthropic through shunt with --capture .har and .jsonl: the HAR validates as HAR 1.2, the JSONL holds every exchange with SSE bodies as text and no tokens."""
    har, jsonl = tmp_path / "cap.har", tmp_path / "cap.jsonl"
    s = start_shunt("--capture", str(har), "--capture", str(jsonl))
    s.client("genai_call.py", "sync", "--project", "cap-proj", "--location", "us-central1")
    stream = s.client("genai_call.py", "stream", "--project", "cap-proj", "--location", "us-central1")
    s.client("anthropic_vertex.py", "create", "--region", "us-east5", "--project", "cap-proj")
    s.stop_and_check()

    result = validate_har(har)
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    exchanges = [r for r in records if r["type"] == "exchange"]
    routes = [r["route"] for r in exchanges]
    assert routes.count("vertex") == 2 and "vertex_anthropic" in routes and "token" in routes, routes
    assert result["entries"] == len(exchanges)

    sse = next(r for r in exchanges if "alt=sse" in r["url"])
    body = sse["response"]["body"]["text"]
    assert body.count("data: ") == len(stream["chunks"]), body
    assert "".join(c["text"] for c in stream["chunks"]) in "".join(
        json.loads(line[len("data: "):])["candidates"][0]["content"]["parts"][0]["text"]
        for line in body.split("\r\n") if line.startswith("data: "))

    text = jsonl.read_text() + har.read_text()
    assert "ya29.shunt-mock-token" not in text, "access tokens must be redacted"
    assert "shunt-mock-refresh-token" not in text, "refresh tokens must be redacted"
    assert "REDACTED" in text


def test_capture_summary_of_sdk_traffic(start_shunt, tmp_path):
    """shunt capture summary reads the JSONL of a short run: per-route counts and status mix."""
    jsonl = tmp_path / "cap.jsonl"
    s = start_shunt("--capture", str(jsonl))
    for _ in range(3):
        s.client("genai_call.py", "count", "--project", "p", "--location", "global")
    s.stop_and_check()
    out = s.cli("capture", "summary", str(jsonl)).stdout
    vertex = next(line for line in out.splitlines() if line.startswith("vertex "))
    assert "200:3" in vertex, out
