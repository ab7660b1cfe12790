"""`--scenarios FILE`: scripted answers (text, json, function_args, error) and per-model latency, through the real SDKs."""

import json

import pytest

from conftest import Shunt, refused_start

CLAUDE_TEXT = "Claude here: your lab results are all within range."
GEMINI_TEXT = "Your lab results are normal. Nothing to worry about."
ADA = {
    "name": "Ada Lovelace", "age": 36, "role": "admin", "favourite": "green",
    "address": {"street": "1 Analytical Way", "city": "London", "zip_code": None},
    "previous_address": None, "items": [{"name": "engine", "qty": 2}], "tags": ["math"],
    "score": 9.5, "active": True,
}
WEATHER_ARGS = {"city": "Paris", "unit": "celsius", "days": 3}
ORDER_ARGS = {"order_id": "AB1234", "items": [{"sku": "X-1", "qty": 2}]}

SCENARIOS = f"""
# Model-specific rule first: the first matching rule wins.
[[rule]]
model = "claude-*"
prompt = "(?i)lab results"
text = {json.dumps(CLAUDE_TEXT)}

[[rule]]
prompt = "(?i)lab results"
text = {json.dumps(GEMINI_TEXT)}

[[rule]]
prompt = "please rate limit me"
error = {{ code = 429, message = "slow down" }}

[[rule]]
model = "gemini-*"
prompt = "backend on fire"
error = {{ code = 503, message = "the backend is on fire" }}

[[rule]]
schema_title = "Person"
json = '{json.dumps(ADA)}'

# Claude's request declares both tools and forces lookup_order: its rule comes first.
[[rule]]
function = "lookup_order"
function_args = '{json.dumps(ORDER_ARGS)}'

[[rule]]
function = "get_weather"
function_args = '{json.dumps(WEATHER_ARGS)}'

[[model]]
model = "gemini-2.5-pro"
ttft = "fixed:400ms"
gap = "fixed:100ms"
"""


@pytest.fixture(scope="module")
def scen(tmp_path_factory):
    """One shunt serving the SCENARIOS file, 2 words per streamed chunk."""
    path = tmp_path_factory.mktemp("scenarios") / "scenarios.toml"
    path.write_text(SCENARIOS)
    s = Shunt(tmp_path_factory.mktemp("shunt"), ["--scenarios", str(path), "--chunk-words", "2"])
    yield s
    s.stop_and_check()


def call(s, sdk, mode, prompt, *extra):
    return s.client("sdk_call.py", sdk, mode, "--prompt", prompt, *extra)


@pytest.mark.parametrize("mode", ["sync", "stream"])
def test_text_rule_genai(scen, mode):
    """A prompt regex rule answers genai with its fixed text (sync, and streamed in chunks that join to it)."""
    r = call(scen, "genai", mode, "What do my LAB RESULTS say?")
    assert r["completed"], r
    assert r["text"] == GEMINI_TEXT, r
    assert r["finish_reason"] == "STOP", r
    if mode == "stream":
        assert len(r["chunks"]) > 1, f"a 9-word text with --chunk-words 2 came in one chunk: {r}"


@pytest.mark.parametrize("mode", ["sync", "stream"])
def test_text_rule_claude_model_glob(scen, mode):
    """A rule with model = "claude-*" wins for AnthropicVertex, ahead of the generic rule with the same prompt."""
    r = call(scen, "claude", mode, "Summarise my lab results")
    assert r["completed"], r
    assert r["text"] == CLAUDE_TEXT, r
    assert r["finish_reason"] == "end_turn", r


def test_no_rule_matches(scen):
    """A prompt no rule matches gets a generated reply, not a scripted one."""
    r = call(scen, "genai", "sync", "Tell me about the weather on Mars")
    assert r["completed"] and r["text"].strip(), r
    assert r["text"] not in (GEMINI_TEXT, CLAUDE_TEXT), r


@pytest.mark.parametrize("stream", [False, True])
def test_json_rule_schema_title(scen, stream):
    """A schema_title = "Person" rule answers response_schema=Person with its JSON; .parsed carries the scripted values."""
    r = scen.client("genai_structured.py", "person", "--prompt", "Make up someone",
                    *(["--stream"] if stream else []))
    assert r["valid"], r
    assert json.loads(r["text"]) == ADA, r
    if not stream:
        assert r["parsed"] == ADA, r


def test_function_args_rule_genai(scen):
    """A function = "get_weather" rule gives genai (ANY mode) a functionCall with exactly the scripted args."""
    r = scen.client("genai_tools.py", "any-parameters")
    [turn] = r["turns"]
    assert turn["calls"] == [{"name": "get_weather", "args": WEATHER_ARGS}], r


def test_function_args_rule_claude(scen):
    """A function = "lookup_order" rule gives Claude (tool_choice tool) a tool_use block with exactly the scripted input."""
    r = scen.client("anthropic_tools.py", "create", "--choice", "tool")
    assert r["stop_reason"] == "tool_use", r
    assert [(u["name"], u["input"]) for u in r["tool_uses"]] == [("lookup_order", ORDER_ARGS)], r


def test_error_rule_429(scen):
    """An error = {code = 429} rule: genai raises ClientError 429 RESOURCE_EXHAUSTED "slow down"; Claude raises RateLimitError."""
    e = call(scen, "genai", "sync", "please rate limit me")["exception"]
    assert (e["type"], e["code"], e["status"]) == ("ClientError", 429, "RESOURCE_EXHAUSTED"), e
    assert "slow down" in e["message"], e
    e = call(scen, "claude", "sync", "please rate limit me")["exception"]
    assert e["type"] == "RateLimitError" and e["status_code"] == 429, e


def test_error_rule_503_model_glob(scen):
    """An error = {code = 503} rule for gemini-*: genai raises ServerError 503 UNAVAILABLE; Claude, not matched, gets text."""
    e = call(scen, "genai", "stream", "the backend on fire")["exception"]
    assert (e["type"], e["code"], e["status"]) == ("ServerError", 503, "UNAVAILABLE"), e
    assert "the backend is on fire" in e["message"], e
    r = call(scen, "claude", "sync", "the backend on fire")
    assert r["completed"] and r["text"].strip(), r


def test_model_latency(scen):
    """[[model]] gemini-2.5-pro ttft fixed:400ms gap fixed:100ms: the first chunk takes >= 0.4 s and chunks come >= 0.1 s apart."""
    r = call(scen, "genai", "stream", "Tell me about the weather on Mars", "--model", "gemini-2.5-pro")
    assert r["completed"], r
    times = [c["t"] for c in r["chunks"]]
    assert len(times) >= 3, r
    assert times[0] >= 0.4, f"first chunk after {times[0]} s: {r}"
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert min(gaps) >= 0.08, f"chunk gaps {gaps}: {r}"


@pytest.mark.parametrize("rule", [
    'text = "a"\njson = \'{"a": 1}\'',             # two answers
    'function_args = \'{"city": "Paris"}\'',        # function_args without function
    'prompt = "("\ntext = "bad regex"',            # invalid regex
])
def test_invalid_scenarios_file(tmp_path, rule):
    """An invalid scenarios file makes `shunt serve` exit non-zero before listening, naming the problem."""
    path = tmp_path / "bad.toml"
    path.write_text(f"[[rule]]\n{rule}\n")
    res = refused_start(tmp_path, "--scenarios", str(path))
    assert "bad.toml" in res.stderr or "scenario" in res.stderr.lower(), res.stderr
