"""A real Parlant 3.3 agent (examples/parlant/agent.py, unmodified package, the stock
`NLPServices.vertex` adapter) does its real work against shunt's mock: it starts (journey
indexing asks the model which node ids are reachable), answers every turn of multi-turn
conversations, enters its journeys and runs its tools.

Two set-ups:
- `defaults`: `shunt serve` on its embedded defaults (built-in mock), no scenario file.
- `profile`: the example stack's shape: `shunt serve` forwarding to `shunt mock` with the
  compose file's mock-llm environment (latency, rates, the profile scenario file).

Journeys are proven by their tools: `get_upcoming_slots` and `get_lab_results` are tool
states of the scheduling and lab-results journeys and attached to nothing else, so a tool
event for either means the journey was entered and advanced to that state.
"""

import json
import os
import signal
import subprocess
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from conftest import REPO, service_env

PYTHON = Path(os.environ.get("SCALE_PYTHON") or REPO / ".venv-scale/bin/python")
TURN_TIMEOUT = 90.0
# Conversations per flow: the mock decides like a model, at random, so each flow gets a
# few tries, as a load test's users would give it.
FLOWS = {
    "scheduling": ["Hi, I'd like to schedule an appointment.", "It's for a checkup.",
                   "The first slot works for me."],
    "lab_results": ["Can I see my lab results?", "What do they mean?"],
    "insurance": ["Do you accept my insurance?", "Which providers exactly?"],
    "follow_up": ["I want to follow up on my visit."],
}
RUNS_PER_FLOW = 3
JOURNEY_TOOLS = {"built-in:get_upcoming_slots", "built-in:get_lab_results"}


def http(method: str, url: str, body: dict | None = None, timeout: float = 60.0):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read() or b"null")


def wait_http(url: str, proc: subprocess.Popen, log: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{url}: process exited {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"{url} not up after {seconds}s:\n{log.read_text()[-4000:]}")


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(cmd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def stop(procs: list[subprocess.Popen]) -> None:
    for p in reversed(procs):
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    for p in reversed(procs):
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)


def converse(base: str, agent: str, messages: list[str]) -> dict:
    """One conversation: every message must get an agent reply; returns its tool calls."""
    sid = http("POST", f"{base}/sessions", {"agent_id": agent})["id"]
    for message in messages:
        event = http("POST", f"{base}/sessions/{sid}/events",
                     {"kind": "message", "source": "customer", "message": message})
        offset, deadline, reply = event["offset"] + 1, time.monotonic() + TURN_TIMEOUT, None
        while reply is None and time.monotonic() < deadline:
            try:
                got = http("GET", f"{base}/sessions/{sid}/events?min_offset={offset}"
                           "&source=ai_agent&kinds=message&wait_for_data=20", timeout=30)
            except urllib.error.HTTPError as e:
                if e.code == 504:
                    continue
                raise
            replies = [e for e in got if e.get("kind") == "message"]
            if replies:
                reply = replies[-1]["data"]["message"]
        assert reply, f"no agent reply within {TURN_TIMEOUT}s to {message!r} (session {sid})"
    tools = [c["tool_id"] for e in http("GET", f"{base}/sessions/{sid}/events?kinds=tool&wait_for_data=0")
             for c in (e.get("data") or {}).get("tool_calls", [])]
    return {"session": sid, "turns": len(messages), "tools": tools}


@pytest.mark.parametrize("setup", ["defaults", "profile"])
def test_parlant_agent_does_its_work(setup, tmp_path, shunt_bin, compose):
    assert PYTHON.exists(), f"{PYTHON} missing: tests/deploy/run creates .venv-scale"
    base_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
                "HOME": str(tmp_path / "home")}
    (tmp_path / "home").mkdir()
    proxy_port, app_port, tool_port = free_port(), free_port(), free_port()
    capture = tmp_path / "capture.jsonl"
    procs: list[subprocess.Popen] = []
    try:
        serve_env = {**base_env, "SHUNT_LISTEN": f"127.0.0.1:{proxy_port}",
                     "SHUNT_CERTS": str(tmp_path / "certs"), "SHUNT_OTHER": "deny"}
        if setup == "profile":
            mock_port = free_port()
            # The compose file's mock-llm settings (rates, profile), with a tenth of its
            # latency: the test checks what the agent does, not how long it waits.
            mock_env = {**base_env, **service_env(compose, "mock-llm"),
                        "SHUNT_LISTEN": f"127.0.0.1:{mock_port}",
                        "SHUNT_TTFT": "uniform:20ms..80ms", "SHUNT_GAP": "2ms",
                        "SHUNT_SCENARIOS": str(REPO / "examples/shunt/parlant-scenarios.toml")}
            log = tmp_path / "mock-llm.log"
            procs.append(start([str(shunt_bin), "mock"], mock_env, log))
            wait_http(f"http://127.0.0.1:{mock_port}/health", procs[-1], log, 30)
            serve_env["SHUNT_UPSTREAM"] = f"http://127.0.0.1:{mock_port}"
        log = tmp_path / "shunt.log"
        procs.append(start([str(shunt_bin), "serve", "--capture", str(capture)], serve_env, log))
        wait_http(f"http://127.0.0.1:{proxy_port}/healthz", procs[-1], log, 30)

        kit = {}
        for line in (tmp_path / "certs/shunt.env").read_text().splitlines():
            if "=" in line and not line.startswith("#"):
                k, v = line.split("=", 1)
                kit[k] = v
        app_env = {**base_env, **kit, "PYTHONUNBUFFERED": "1",
                   "VERTEX_AI_PROJECT_ID": "shunt-mock-project", "VERTEX_AI_REGION": "us-central1",
                   "VERTEX_AI_MODEL": "gemini-2.5-flash", "PARLANT_HOME": str(tmp_path / "parlant"),
                   "PARLANT_STORE": "local", "PARLANT_PORT": str(app_port),
                   "PARLANT_TOOL_PORT": str(tool_port)}
        log = tmp_path / "parlant.log"
        procs.append(start([str(PYTHON), str(REPO / "examples/parlant/agent.py")], app_env, log))
        base = f"http://127.0.0.1:{app_port}"
        wait_http(f"{base}/agents", procs[-1], log, 300)
        agent = http("GET", f"{base}/agents")[0]["id"]

        results = {flow: [converse(base, agent, msgs) for _ in range(RUNS_PER_FLOW)]
                   for flow, msgs in FLOWS.items()}
    finally:
        stop(procs)

    flows_with_tools = sorted(f for f, runs in results.items() if any(r["tools"] for r in runs))
    tools = Counter(t for runs in results.values() for r in runs for t in r["tools"])
    summary = json.dumps({f: [r["tools"] for r in runs] for f, runs in results.items()})
    assert len(flows_with_tools) >= 2, f"tools ran in {flows_with_tools} only: {summary}"
    assert JOURNEY_TOOLS & set(tools), f"no journey reached a tool state: {summary}"
    # The model was asked the journey questions, and nothing reached a host shunt does not
    # serve (the proxy runs --other deny).
    records = [json.loads(l) for l in capture.read_text().splitlines() if l.strip()]
    titles = Counter()
    for r in records:
        assert r.get("type") != "denial", f"a call escaped: {r}"
        body = (r.get("request") or {}).get("body") or {}
        if r.get("type") == "exchange" and body.get("text", "").startswith("{"):
            config = json.loads(body["text"]).get("generationConfig") or {}
            schema = config.get("responseSchema") or config.get("responseJsonSchema") or {}
            if schema.get("title"):
                titles[schema["title"]] += 1
    assert titles["JourneyNextStepSelectionSchema"] > 0, titles
    assert titles["ReachableNodesEvaluationSchema"] > 0, titles
    print(f"{setup}: tools {dict(tools)}; flows with tools {flows_with_tools}; "
          f"LLM calls by schema {dict(titles)}")
