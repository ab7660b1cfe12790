"""Agent frameworks, unmodified, on Vertex AI (Gemini via google-genai) through shunt.

Each framework runs an agent with one tool (`get_weather`) and a structured final answer
(`WeatherReport`, clients/agent_models.py). The client scripts run in their own venv,
.venv-agents (tests/e2e/requirements-agents.txt): pydantic-ai and google-adk require
google-genai<3, while the rest of the suite pins google-genai 3.3.0. Set
SHUNT_AGENTS_PYTHON to use another interpreter.

Every test asserts, from the client's own observations, that the agent's tool function
ran, that it ran before the final answer, and that the final answer is a valid
WeatherReport; and, from shunt's capture, that the agent made at least two
generateContent calls (the first declaring the tool, a later one carrying its result)
and reached no host but Vertex and the token endpoint (shunt runs with --other deny).
"""

import json
import os
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from conftest import CLIENTS_DIR, REPO_ROOT, last_json_line

sys.path.insert(0, str(CLIENTS_DIR))
from agent_models import WeatherReport  # noqa: E402

AGENTS_PYTHON = Path(os.environ.get("SHUNT_AGENTS_PYTHON")
                     or REPO_ROOT / ".venv-agents/bin/python")
TOOL = "get_weather"


def run_agent(shunt, script: str) -> dict:
    """Run clients/<script> under the agents venv with the kit's env; return its JSON line."""
    if not (AGENTS_PYTHON.is_file() and os.access(AGENTS_PYTHON, os.X_OK)):
        pytest.fail(f"agents interpreter not found: {AGENTS_PYTHON} (scripts/test creates "
                    ".venv-agents from tests/e2e/requirements-agents.txt; or set SHUNT_AGENTS_PYTHON)")
    res = shunt.run([str(AGENTS_PYTHON), str(CLIENTS_DIR / script)], env=shunt.env())
    try:
        return last_json_line(res.stdout)
    except AssertionError as e:
        pytest.fail(f"{e}\nstderr:\n{res.stderr}\n{shunt.log()}")


def start_agent_shunt(start_shunt, tmp_path):
    """A shunt that refuses every host it does not intercept, capturing to a JSONL file."""
    capture = tmp_path / "agent.jsonl"
    return start_shunt("--other", "deny", "--capture", str(capture)), capture


def generate_requests(shunt, capture: Path) -> list[dict]:
    """Stop shunt; assert the agent reached only Vertex and the token endpoint; return the
    request bodies of its generateContent calls, in order."""
    shunt.stop_and_check()
    records = [json.loads(line) for line in capture.read_text().splitlines() if line.strip()]
    elsewhere = [(r.get("route"), r.get("host")) for r in records
                 if r.get("route") not in ("vertex", "token")]
    assert not elsewhere, f"the agent reached hosts other than Vertex and the token endpoint: {elsewhere}"
    return [json.loads(r["request"]["body"]["text"]) for r in records
            if r.get("type") == "exchange" and r["route"] == "vertex"
            and r["url"].endswith(":generateContent")]


def declared_functions(body: dict) -> list[str]:
    return [d["name"] for tool in body.get("tools", [])
            for d in tool.get("functionDeclarations", [])]


def function_responses(body: dict) -> list[str]:
    return [p["functionResponse"]["name"] for c in body.get("contents", [])
            for p in c.get("parts", []) if "functionResponse" in p]


def assert_tool_then_answer(r: dict, first_call: str):
    """The client-side checks shared by both frameworks: (1) the tool ran, (2) before the
    final answer, (3) the final answer is a valid WeatherReport."""
    assert r["tool_calls"], (
        f"{r['framework']}: the agent's own tool {TOOL}() never ran; the model's first reply "
        f"called {first_call!r} instead, so the run ended without the tool. Client result: {r}")
    assert all(isinstance(c["city"], str) and c["city"] for c in r["tool_calls"]), r
    kinds = [e["event"] for e in r["events"]]
    assert kinds.count("output") == 1, f"{r['framework']}: expected one final answer, got events {kinds}"
    assert kinds.index("tool") < kinds.index("output"), (
        f"{r['framework']}: the final answer came before the tool ran: events {kinds}")
    assert "output" in r, f"{r['framework']}: no final answer: {r}"
    try:
        WeatherReport.model_validate(r["output"])
    except ValidationError as e:
        pytest.fail(f"{r['framework']}: the final answer is not a valid WeatherReport: {e}\n{r}")


def assert_wire(bodies: list[dict], framework: str):
    """shunt's side: ≥2 generateContent calls; the first declares the tool; a later one carries its result."""
    assert len(bodies) >= 2, (
        f"{framework}: shunt saw {len(bodies)} generateContent call(s), expected >= 2 "
        f"(one declaring {TOOL}, one carrying its functionResponse): {bodies}")
    assert TOOL in declared_functions(bodies[0]), bodies[0]
    assert any(TOOL in function_responses(b) for b in bodies[1:]), (
        f"{framework}: no later generateContent call carried a functionResponse for {TOOL}: {bodies}")


def test_pydantic_ai_tool_then_structured_output(start_shunt, tmp_path):
    """pydantic-ai Agent('google-cloud:gemini-2.5-flash', tools=[get_weather], output_type=WeatherReport): get_weather runs first, then final_result gives a valid WeatherReport."""
    s, capture = start_agent_shunt(start_shunt, tmp_path)
    r = run_agent(s, "pydantic_ai_agent.py")
    calls = [h["tool"] for h in r["history"] if h["part"] == "tool-call"]
    assert_tool_then_answer(r, calls[0] if calls else None)
    assert r["output_type"] == "WeatherReport", r
    # In pydantic-ai's own message history: get_weather's result precedes the final_result call.
    parts = [(h["part"], h["tool"]) for h in r["history"]]
    assert ("tool-return", TOOL) in parts and ("tool-call", "final_result") in parts, parts
    assert parts.index(("tool-return", TOOL)) < parts.index(("tool-call", "final_result")), parts
    bodies = generate_requests(s, capture)
    assert_wire(bodies, "pydantic-ai")
    # pydantic-ai's output tool sits next to the agent's tool, and a function call is required.
    assert set(declared_functions(bodies[0])) == {TOOL, "final_result"}, bodies[0]
    assert bodies[0]["toolConfig"]["functionCallingConfig"]["mode"] == "ANY", bodies[0]


def test_adk_tool_then_structured_output(start_shunt, tmp_path):
    """Google ADK LlmAgent(model='gemini-2.5-flash', tools=[get_weather], output_schema=WeatherReport): get_weather runs first, then the final event's text is a valid WeatherReport."""
    s, capture = start_agent_shunt(start_shunt, tmp_path)
    r = run_agent(s, "adk_agent.py")
    calls = [name for e in r["adk_events"] for name in e["function_calls"]]
    assert_tool_then_answer(r, calls[0] if calls else "no function (a text answer)")
    # In ADK's own event stream: get_weather's response precedes the final response.
    events = r["adk_events"]
    responded = [i for i, e in enumerate(events) if TOOL in e["function_responses"]]
    final = [i for i, e in enumerate(events) if e["final"] and e["text"]]
    assert responded and final and responded[0] < final[-1], events
    assert WeatherReport.model_validate(r["state_output"]) == WeatherReport.model_validate(r["output"]), r
    bodies = generate_requests(s, capture)
    assert_wire(bodies, "google-adk")
    # On Vertex, ADK sends the output schema as responseSchema alongside the tool.
    assert declared_functions(bodies[0]) == [TOOL], bodies[0]
    assert bodies[-1]["generationConfig"]["responseMimeType"] == "application/json", bodies[-1]
    assert bodies[-1]["generationConfig"]["responseSchema"]["title"] == "WeatherReport", bodies[-1]
