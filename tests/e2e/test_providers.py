"""OpenAI, Azure OpenAI, Anthropic (direct), AWS Bedrock Runtime and the Gemini API with an
API key, through shunt with the built-in mock, driven by the real SDKs (openai, anthropic,
boto3, google-genai) and, in .venv-agents, by pydantic-ai on each provider.

The clients build their SDK clients from the kit's shunt.env alone: fake keys
(OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY, AZURE_OPENAI_API_KEY + OPENAI_API_VERSION,
AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_DEFAULT_REGION), HTTPS_PROXY, and the CA bundle
(SSL_CERT_FILE for httpx2, REQUESTS_CA_BUNDLE for requests, AWS_CA_BUNDLE for botocore). No
client is given a base URL: each talks to its provider's real host name.

To keep the module fast, each SDK's client script runs all its modes in one process against
one module-scoped shunt, and the tests read their mode's result from that run. The openai
and anthropic clients validate every reply and stream event against the SDK's own types
(`_strict_response_validation=True`), so a missing required field fails the mode.
"""

import json
import os
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import jsonschema
import pytest
from pydantic import ValidationError

from conftest import CLIENTS_DIR, REPO_ROOT, Shunt, last_json_line

sys.path.insert(0, str(CLIENTS_DIR))
from agent_models import WeatherReport  # noqa: E402

AGENTS_PYTHON = Path(os.environ.get("SHUNT_AGENTS_PYTHON")
                     or REPO_ROOT / ".venv-agents/bin/python")

OPENAI_MODES = [
    "chat", "chat-stream", "parse", "json-object", "tools-parallel-stream", "tools-required",
    "tools-none", "tools-named", "tools-two-turns", "tools-then-parse", "responses",
    "responses-stream", "responses-tool", "responses-tool-stream", "responses-parse",
    "embeddings", "models", "azure-chat", "azure-chat-stream", "azure-embed",
]
ANTHROPIC_MODES = ["create", "stream", "raw-stream", "tools", "tools-stream",
                   "tools-two-turns", "count"]
BEDROCK_MODES = [
    "converse", "converse-tool", "converse-tool-two-turns", "converse-stream",
    "converse-stream-tool", "invoke-claude", "invoke-claude-stream", "invoke-titan-text",
    "invoke-nova", "invoke-titan-embed",
]
GENAI_MODES = ["generate", "stream"]

# The provider credentials and settings the kit's shunt.env must carry (fake values: shunt
# accepts any credential and verifies none).
PROVIDER_KIT = {
    "OPENAI_API_KEY": "sk-shunt-mock",
    "ANTHROPIC_API_KEY": "sk-ant-shunt-mock",
    "GEMINI_API_KEY": "shunt-mock-gemini-key",
    "AZURE_OPENAI_API_KEY": "shunt-mock-azure-key",
    "OPENAI_API_VERSION": "2024-10-21",
    "AWS_ACCESS_KEY_ID": "AKIASHUNTMOCK0000000",
    "AWS_SECRET_ACCESS_KEY": "shunt-mock-secret",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}
FORMATS = jsonschema.Draft202012Validator.FORMAT_CHECKER


# ---------------------------------------------------------------------------- helpers

def ok(shunt, r: dict, mode: str) -> dict:
    """The result of `mode` in a multi-mode client run; fail with what it raised."""
    res = r["results"][mode]
    if "exception" in res:
        log = "\n".join(shunt.log().splitlines()[-60:])
        pytest.fail(f"{r.get('sdk')} mode {mode!r} raised {res['exception']}\n"
                    f"{res.get('traceback', '')}\n--- shunt log (tail):\n{log}")
    return res


def raised(r: dict, mode: str) -> dict:
    res = r["results"][mode]
    assert "exception" in res, f"{mode}: expected the SDK to raise, but the call completed: {res}"
    return res["exception"]


def valid_args(name: str, args, schemas: dict):
    """Tool arguments (a JSON string or an object) that validate against the tool's schema."""
    assert name in schemas, f"called {name!r}, declared {sorted(schemas)}"
    value = json.loads(args) if isinstance(args, str) else args
    assert isinstance(value, dict), f"{name} arguments are not a JSON object: {args!r}"
    jsonschema.validate(value, schemas[name], format_checker=FORMATS)
    return value


def weather_report(value, where: str) -> WeatherReport:
    try:
        return WeatherReport.model_validate(value)
    except ValidationError as e:
        pytest.fail(f"{where}: not a valid WeatherReport: {e}\n{value!r}")


def ordered(sequence: list[str], *names: str):
    """Each of names occurs in sequence, first occurrences in this order."""
    missing = [n for n in names if n not in sequence]
    assert not missing, f"{missing} missing from {sequence}"
    firsts = [sequence.index(n) for n in names]
    assert firsts == sorted(firsts), f"expected {names} in that order: {sequence}"


def run_module_shunt(tmp_path_factory, *args: str) -> Shunt:
    return Shunt(tmp_path_factory.mktemp("shunt"), list(args))


# ---------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def openai_r(shunt):
    return shunt.client("openai_call.py", *OPENAI_MODES, timeout=120)


@pytest.fixture(scope="module")
def anthropic_r(shunt):
    return shunt.client("anthropic_direct.py", *ANTHROPIC_MODES)


@pytest.fixture(scope="module")
def bedrock_r(shunt):
    return shunt.client("bedrock_call.py", *BEDROCK_MODES)


@pytest.fixture(scope="module")
def genai_r(shunt):
    return shunt.client("genai_apikey.py", *GENAI_MODES)


@pytest.fixture(scope="module")
def faulty(tmp_path_factory):
    """A shunt whose mock answers every model call with a 429."""
    s = run_module_shunt(tmp_path_factory, "--fault-429", "1")
    yield s
    s.stop_and_check()


# ---------------------------------------------------------------------------- the kit

def test_kit_has_provider_credentials(shunt):
    """shunt.env carries fake credentials for OpenAI, Azure, Anthropic, Gemini API and AWS, and AWS_CA_BUNDLE = the kit's bundle.pem."""
    kit = shunt.kit()
    wrong = {k: kit.get(k) for k, v in PROVIDER_KIT.items() if kit.get(k) != v}
    assert not wrong, f"shunt.env lacks or has other values for {wrong}"
    assert kit.get("AWS_CA_BUNDLE") == kit["SSL_CERT_FILE"] == str(shunt.certs / "bundle.pem"), kit
    assert Path(kit["AWS_CA_BUNDLE"]).is_file(), kit


# ---------------------------------------------------------------------------- OpenAI

def test_openai_chat_create(shunt, openai_r):
    """OpenAI().chat.completions.create (api.openai.com): a chat.completion with assistant text, finish_reason stop, consistent usage."""
    assert openai_r["base_url"].rstrip("/") == "https://api.openai.com/v1", openai_r["base_url"]
    r = ok(shunt, openai_r, "chat")
    assert r["object"] == "chat.completion" and r["id"] and isinstance(r["created"], int), r
    assert r["n_choices"] == 1 and r["role"] == "assistant", r
    assert r["text"] and r["text"].strip() and r["tool_calls"] == [], r
    assert r["finish_reason"] == "stop", r
    u = r["usage"]
    assert u["prompt_tokens"] > 0 and u["completion_tokens"] > 0, u
    assert u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"], u


def test_openai_chat_stream(shunt, openai_r):
    """stream=True, stream_options.include_usage: chunks share one id, deltas join to the text, finish_reason stop, then one usage chunk with empty choices."""
    chunks = ok(shunt, openai_r, "chat-stream")["chunks"]
    assert len(chunks) >= 3, chunks
    assert {c["id"] for c in chunks} != {None} and len({c["id"] for c in chunks}) == 1, chunks
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}, chunks
    *content, last = chunks
    assert last["n_choices"] == 0 and last["usage"], f"the last chunk must be the usage chunk: {last}"
    assert last["usage"]["completion_tokens"] > 0 and last["usage"]["prompt_tokens"] > 0, last
    assert all(c["n_choices"] == 1 and c["usage"] is None for c in content), content
    assert content[0]["role"] == "assistant", content[0]
    text = "".join(c["content"] or "" for c in content)
    assert text.strip() and sum(1 for c in content if c["content"]) >= 2, content
    finishes = [c["finish_reason"] for c in content if c["finish_reason"]]
    assert finishes == ["stop"] and content[-1]["finish_reason"] == "stop", content


def test_openai_parse_pydantic(shunt, openai_r):
    """chat.completions.parse(response_format=WeatherReport) (strict json_schema): content is a valid WeatherReport and .parsed equals it."""
    r = ok(shunt, openai_r, "parse")
    assert r["finish_reason"] == "stop" and r["refusal"] is None, r
    report = weather_report(json.loads(r["content"]), "message.content")
    assert r["parsed"] == report.model_dump(), r


def test_openai_json_object(shunt, openai_r):
    """response_format={"type": "json_object"}: the content is a JSON object."""
    r = ok(shunt, openai_r, "json-object")
    assert isinstance(json.loads(r["text"]), dict), r


def test_openai_parallel_tool_calls_streamed(shunt, openai_r):
    """A prompt about the weather and the time, tools get_weather and get_time, stream: two parallel calls streamed by index with stable ids; the SDK assembles both with arguments valid against their schemas."""
    r = ok(shunt, openai_r, "tools-parallel-stream")
    calls = r["tool_calls"]
    assert sorted(c["name"] for c in calls) == ["get_time", "get_weather"], r
    assert all(c["id"] for c in calls) and len({c["id"] for c in calls}) == 2, calls
    for c in calls:
        valid_args(c["name"], c["arguments"], r["schemas"])
    assert r["finish_reason"] == "tool_calls" and r["finish_reasons"] == ["tool_calls"], r
    # The wire: deltas by index; the first delta of an index has its id, name and type,
    # later ones repeat the same id or none; the argument fragments join to the final arguments.
    by_index: dict[int, list[dict]] = {}
    for d in r["deltas"]:
        by_index.setdefault(d["index"], []).append(d)
    assert sorted(by_index) == [0, 1], r["deltas"]
    assembled = {}
    for index, deltas in by_index.items():
        first = deltas[0]
        assert first["id"] and first["name"] and first["type"] == "function", deltas
        assert all(d["id"] in (None, first["id"]) for d in deltas[1:]), f"id changed: {deltas}"
        assert all(d["name"] in (None, first["name"]) for d in deltas[1:]), deltas
        assembled[first["id"]] = (first["name"], "".join(d["arguments"] or "" for d in deltas))
    assert assembled == {c["id"]: (c["name"], c["arguments"]) for c in calls}, (assembled, calls)


@pytest.mark.parametrize("mode,names", [
    ("tools-required", None),
    ("tools-named", ["get_time"]),
])
def test_openai_tool_choice_call(shunt, openai_r, mode, names):
    """tool_choice="required" → at least one valid call; tool_choice={function: get_time} → exactly one get_time call (the prompt is about the weather)."""
    r = ok(shunt, openai_r, mode)
    assert r["tool_calls"] and r["finish_reason"] == "tool_calls", r
    if names:
        assert [c["name"] for c in r["tool_calls"]] == names, r
    for c in r["tool_calls"]:
        valid_args(c["name"], c["arguments"], r["schemas"])


def test_openai_tool_choice_none(shunt, openai_r):
    """tool_choice="none" with tools declared: a text answer and no tool call."""
    r = ok(shunt, openai_r, "tools-none")
    assert r["tool_calls"] == [] and r["text"] and r["text"].strip(), r
    assert r["finish_reason"] == "stop", r


def test_openai_tools_two_turns(shunt, openai_r):
    """tool_choice=auto on a weather prompt: get_weather is called with valid arguments; after the tool message, a text answer."""
    r = ok(shunt, openai_r, "tools-two-turns")
    assert len(r["turns"]) == 2, f"the first turn called no tool: {r}"
    first, second = r["turns"]
    assert "get_weather" in [c["name"] for c in first["tool_calls"]], first
    for c in first["tool_calls"]:
        valid_args(c["name"], c["arguments"], r["schemas"])
    assert second["tool_calls"] == [] and second["text"].strip(), second
    assert second["finish_reason"] == "stop", second


def test_openai_tools_then_structured(shunt, openai_r):
    """parse(tools=[strict get_weather], response_format=WeatherReport): a tool call first (parsed_arguments set), then after its result a valid WeatherReport."""
    r = ok(shunt, openai_r, "tools-then-parse")
    first = r["first"]
    assert [c["name"] for c in first["tool_calls"]] == ["get_weather"], first
    assert first["finish_reason"] == "tool_calls", first
    [args] = first["parsed_arguments"]
    assert isinstance(args, dict) and isinstance(args.get("city"), str) and set(args) == {"city"}, args
    assert "second" in r, r
    assert r["second"]["tool_calls"] == [] and r["second"]["finish_reason"] == "stop", r["second"]
    report = weather_report(json.loads(r["second"]["text"]), "second turn content")
    assert r["second"]["parsed"] == report.model_dump(), r["second"]


def test_openai_responses_create(shunt, openai_r):
    """responses.create: a completed `response` whose output is an assistant message; output_text non-empty; usage set."""
    r = ok(shunt, openai_r, "responses")
    assert r["object"] == "response" and r["status"] == "completed" and r["id"], r
    assert [o["type"] for o in r["output"]] == ["message"], r
    assert r["output_text"].strip(), r
    u = r["usage"]
    assert u["input_tokens"] > 0 and u["output_tokens"] > 0, u
    assert u["total_tokens"] == u["input_tokens"] + u["output_tokens"], u


def test_openai_responses_stream(shunt, openai_r):
    """responses.create(stream=True): typed events with increasing sequence_number, created → output_item/content_part → text deltas → done events → completed; deltas join to the final output_text."""
    r = ok(shunt, openai_r, "responses-stream")
    events = r["events"]
    types = [e["type"] for e in events]
    assert types[0] == "response.created" and types[-1] == "response.completed", types
    seq = [e["sequence_number"] for e in events]
    assert seq == list(range(seq[0], seq[0] + len(seq))), f"sequence_number not consecutive: {seq}"
    ordered(types, "response.created", "response.output_item.added", "response.content_part.added",
            "response.output_text.delta", "response.output_text.done", "response.content_part.done",
            "response.output_item.done", "response.completed")
    deltas = [e["delta"] for e in events if e["type"] == "response.output_text.delta"]
    [done] = [e for e in events if e["type"] == "response.output_text.done"]
    text = "".join(deltas)
    assert len(deltas) >= 2 and text.strip(), deltas
    assert done["text"] == text == r["completed"]["output_text"], (done, r["completed"])
    assert r["completed"]["status"] == "completed", r["completed"]


def test_openai_responses_function_call(shunt, openai_r):
    """responses.create(tools=[get_weather, get_time]) on a weather prompt: a function_call item with call_id and valid arguments; after function_call_output, text."""
    r = ok(shunt, openai_r, "responses-tool")
    calls = [o for o in r["first"]["output"] if o["type"] == "function_call"]
    assert "get_weather" in [c["name"] for c in calls], r["first"]
    for c in calls:
        assert c["call_id"], c
        valid_args(c["name"], c["arguments"], r["schemas"])
    assert "second" in r and r["second"]["output_text"].strip(), r
    assert not [o for o in r["second"]["output"] if o["type"] == "function_call"], r["second"]


def test_openai_responses_function_call_stream(shunt, openai_r):
    """Streamed function call: output_item.added (function_call) → function_call_arguments.delta… → .done, whose arguments equal the deltas joined and the completed response's."""
    r = ok(shunt, openai_r, "responses-tool-stream")
    events = r["events"]
    types = [e["type"] for e in events]
    assert types[-1] == "response.completed", types
    ordered(types, "response.output_item.added", "response.function_call_arguments.delta",
            "response.function_call_arguments.done", "response.output_item.done")
    added = [e["item"] for e in events
             if e["type"] == "response.output_item.added" and e["item"]["type"] == "function_call"]
    assert added and all(i["call_id"] and i["name"] for i in added), added
    final_calls = {o["id"]: o for o in r["completed"]["output"] if o["type"] == "function_call"}
    for item in added:
        deltas = [e["delta"] for e in events if e["type"] == "response.function_call_arguments.delta"
                  and e.get("item_id") == item["id"]]
        [done] = [e for e in events if e["type"] == "response.function_call_arguments.done"
                  and e.get("item_id") == item["id"]]
        assert "".join(deltas) == done["arguments"] == final_calls[item["id"]]["arguments"], (
            deltas, done, final_calls)
        valid_args(item["name"], done["arguments"], r["schemas"])


def test_openai_responses_parse(shunt, openai_r):
    """responses.parse(text_format=WeatherReport) (text.format json_schema): output_parsed is a valid WeatherReport."""
    r = ok(shunt, openai_r, "responses-parse")
    report = weather_report(json.loads(r["output_text"]), "output_text")
    assert r["parsed"] == report.model_dump(), r


@pytest.mark.parametrize("key,dims", [
    ("3-small", 1536), ("3-large", 3072), ("ada-002", 1536), ("3-large@256", 256), ("3-small@512", 512),
])
def test_openai_embeddings(shunt, openai_r, key, dims):
    """embeddings.create (the SDK's default base64 encoding, decoded by the SDK): one unit vector per input, in order, of the model's dimension or `dimensions`."""
    r = ok(shunt, openai_r, "embeddings")[key]
    assert r["object"] == "list" and r["objects"] == ["embedding", "embedding"], r
    assert r["indexes"] == [0, 1] and r["dims"] == [dims, dims], r
    assert r["all_finite"] and r["distinct"], r
    assert all(abs(n - 1.0) < 1e-3 for n in r["norms"]), r["norms"]
    assert r["usage"]["prompt_tokens"] > 0 and r["usage"]["total_tokens"] >= r["usage"]["prompt_tokens"], r


def test_openai_embeddings_float_and_base64(shunt, openai_r):
    """encoding_format="float" gives a list; "base64" gives little-endian float32 bytes decoding to the same vector."""
    r = ok(shunt, openai_r, "embeddings")["float_vs_base64"]
    assert r["float_type"] == "list" and r["base64_type"] == "str", r
    assert r["float_dims"] == r["decoded_dims"] == 1536, r
    assert r["max_abs_diff"] is not None and r["max_abs_diff"] < 1e-6, r


def test_openai_models_list(shunt, openai_r):
    """models.list (GET /v1/models): a non-empty list of `model` objects."""
    r = ok(shunt, openai_r, "models")
    assert r["object"] == "list" and r["models"], r
    for m in r["models"]:
        assert m["object"] == "model" and m["id"] and isinstance(m["owned_by"], str), m
        assert isinstance(m["created"], int), m


def test_azure_openai(shunt, openai_r):
    """AzureOpenAI(azure_endpoint=https://shunt-e2e.openai.azure.com), key and api-version from the env: chat create, chat stream and embeddings on /openai/deployments/{model}/..."""
    r = ok(shunt, openai_r, "azure-chat")
    assert r["base_url"].rstrip("/") == "https://shunt-e2e.openai.azure.com/openai", r
    assert r["object"] == "chat.completion" and r["text"].strip() and r["finish_reason"] == "stop", r
    chunks = ok(shunt, openai_r, "azure-chat-stream")["chunks"]
    assert "".join(c["content"] or "" for c in chunks).strip(), chunks
    assert [c["finish_reason"] for c in chunks if c["finish_reason"]] == ["stop"], chunks
    e = ok(shunt, openai_r, "azure-embed")
    assert e["dims"] == [1536, 1536] and e["indexes"] == [0, 1], e


# ---------------------------------------------------------------------------- Anthropic

def test_anthropic_messages_create(shunt, anthropic_r):
    """anthropic.Anthropic() (api.anthropic.com) messages.create: an assistant `message` with text, stop_reason end_turn, usage."""
    assert anthropic_r["base_url"].rstrip("/") == "https://api.anthropic.com", anthropic_r["base_url"]
    r = ok(shunt, anthropic_r, "create")
    assert r["type"] == "message" and r["role"] == "assistant" and r["id"], r
    assert r["block_types"] == ["text"] and r["text"].strip(), r
    assert r["stop_reason"] == "end_turn", r
    assert r["usage"]["input_tokens"] > 0 and r["usage"]["output_tokens"] > 0, r


def test_anthropic_messages_stream(shunt, anthropic_r):
    """messages.stream: message_start … content_block_delta … message_stop; the text deltas join to the final message's text."""
    r = ok(shunt, anthropic_r, "stream")
    ordered(r["events"], "message_start", "content_block_start", "content_block_delta",
            "content_block_stop", "message_delta", "message_stop")
    assert len(r["deltas"]) >= 2 and "".join(r["deltas"]) == r["text"] and r["text"].strip(), r
    assert r["stop_reason"] == "end_turn", r


def test_anthropic_raw_sse(shunt, anthropic_r):
    """stream=true as sent: text/event-stream, every event named by an `event:` line equal to its data's type, `ping` among them, message_start first and message_stop last."""
    r = ok(shunt, anthropic_r, "raw-stream")
    assert r["content_type"].startswith("text/event-stream"), r
    events = r["events"]
    names = [e["event"] for e in events]
    assert all(e["event"] and e["event"] == e["type"] for e in events), events
    assert names[0] == "message_start" and names[-1] == "message_stop", names
    assert "ping" in names, f"no ping event: {names}"
    ordered(names, "message_start", "content_block_start", "content_block_delta",
            "content_block_stop", "message_delta", "message_stop")
    deltas = [e for e in events if e["event"] == "content_block_delta"]
    assert all(e["delta_type"] == "text_delta" for e in deltas), deltas


def test_anthropic_tool_use(shunt, anthropic_r):
    """tools=[get_weather, get_time], tool_choice auto, a weather prompt: a get_weather tool_use whose input validates; stop_reason tool_use."""
    r = ok(shunt, anthropic_r, "tools")
    assert r["stop_reason"] == "tool_use" and "get_weather" in [u["name"] for u in r["tool_uses"]], r
    for u in r["tool_uses"]:
        assert u["id"], u
        valid_args(u["name"], u["input"], r["schemas"])


def test_anthropic_tool_use_stream(shunt, anthropic_r):
    """Streamed tool_use (tool_choice any): input_json_delta fragments join to the final tool_use input, which validates."""
    r = ok(shunt, anthropic_r, "tools-stream")
    assert r["stop_reason"] == "tool_use" and r["tool_uses"], r
    assert r["partial_json"], f"no input_json_delta events: {r['events']}"
    by_block: dict[int, str] = {}
    for d in r["partial_json"]:
        by_block[d["index"]] = by_block.get(d["index"], "") + d["partial_json"]
    joined = [json.loads(text) for _, text in sorted(by_block.items())]
    assert joined == [u["input"] for u in r["tool_uses"]], (by_block, r["tool_uses"])
    for u in r["tool_uses"]:
        valid_args(u["name"], u["input"], r["schemas"])


def test_anthropic_tools_two_turns(shunt, anthropic_r):
    """tool_use, then the tool_result in the next user turn: a text answer with stop_reason end_turn."""
    r = ok(shunt, anthropic_r, "tools-two-turns")
    assert len(r["turns"]) == 2, f"the first turn used no tool: {r}"
    first, second = r["turns"]
    assert first["stop_reason"] == "tool_use", first
    assert second["tool_uses"] == [] and second["text"].strip() and second["stop_reason"] == "end_turn", second


def test_anthropic_count_tokens(shunt, anthropic_r):
    """messages.count_tokens (POST /v1/messages/count_tokens): input_tokens > 0."""
    r = ok(shunt, anthropic_r, "count")
    assert isinstance(r["input_tokens"], int) and r["input_tokens"] > 0, r


# ---------------------------------------------------------------------------- Bedrock

def test_bedrock_client_from_env(bedrock_r):
    """boto3.client("bedrock-runtime") from the kit's env alone targets bedrock-runtime.us-east-1.amazonaws.com."""
    assert bedrock_r["endpoint_url"] == "https://bedrock-runtime.us-east-1.amazonaws.com", bedrock_r
    assert bedrock_r["region"] == "us-east-1", bedrock_r


def test_bedrock_converse(shunt, bedrock_r):
    """converse: an assistant text message, stopReason end_turn, usage totals, metrics.latencyMs."""
    r = ok(shunt, bedrock_r, "converse")
    assert r["role"] == "assistant" and r["block_types"] == ["text"] and r["text"].strip(), r
    assert r["stop_reason"] == "end_turn", r
    u = r["usage"]
    assert u["inputTokens"] > 0 and u["outputTokens"] > 0, u
    assert u["totalTokens"] == u["inputTokens"] + u["outputTokens"], u
    assert isinstance(r["metrics"]["latencyMs"], int), r


def test_bedrock_converse_tool_use(shunt, bedrock_r):
    """converse with toolConfig (auto) on a weather prompt: a toolUse block (toolUseId, name get_weather, input valid); stopReason tool_use."""
    r = ok(shunt, bedrock_r, "converse-tool")
    assert r["stop_reason"] == "tool_use", r
    assert "get_weather" in [u["name"] for u in r["tool_uses"]], r
    for u in r["tool_uses"]:
        assert u["toolUseId"], u
        valid_args(u["name"], u["input"], r["schemas"])


def test_bedrock_converse_tool_two_turns(shunt, bedrock_r):
    """converse: toolUse, then a toolResult turn: a text answer with stopReason end_turn."""
    r = ok(shunt, bedrock_r, "converse-tool-two-turns")
    assert len(r["turns"]) == 2, f"the first turn used no tool: {r}"
    assert r["turns"][0]["stop_reason"] == "tool_use", r
    second = r["turns"][1]
    assert second["tool_uses"] == [] and second["text"].strip() and second["stop_reason"] == "end_turn", second


def test_bedrock_converse_stream(shunt, bedrock_r):
    """converse_stream: messageStart, contentBlockDelta…, contentBlockStop, messageStop, metadata (usage, metrics); deltas join to the text."""
    r = ok(shunt, bedrock_r, "converse-stream")
    events = r["events"]
    assert events[0] == "messageStart" and events[-1] == "metadata", events
    ordered(events, "messageStart", "contentBlockDelta", "contentBlockStop", "messageStop", "metadata")
    assert len(r["deltas"]) >= 2 and "".join(r["deltas"]).strip(), r
    assert r["stop_reason"] == "end_turn", r
    usage = r["metadata"]["usage"]
    assert usage["inputTokens"] > 0 and usage["outputTokens"] > 0, r["metadata"]
    assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"], usage
    assert isinstance(r["metadata"]["metrics"]["latencyMs"], int), r["metadata"]


def test_bedrock_converse_stream_tool_use(shunt, bedrock_r):
    """converse_stream with toolChoice any: contentBlockStart.toolUse (toolUseId, name), toolUse input deltas that join to valid JSON; stopReason tool_use."""
    r = ok(shunt, bedrock_r, "converse-stream-tool")
    assert r["tool_starts"] and all(s["toolUseId"] and s["name"] for s in r["tool_starts"]), r
    assert len({s["toolUseId"] for s in r["tool_starts"]}) == len(r["tool_starts"]), r["tool_starts"]
    assert r["stop_reason"] == "tool_use", r
    assert r["tool_input_deltas"], r
    for start in r["tool_starts"]:
        text = "".join(d["input"] for d in r["tool_input_deltas"] if d["index"] == start["index"])
        valid_args(start["name"], text, r["schemas"])


def test_bedrock_invoke_claude(shunt, bedrock_r):
    """invoke_model, anthropic.claude-3-haiku (Messages body, anthropic_version bedrock-2023-05-31): a Messages `message` with text."""
    r = ok(shunt, bedrock_r, "invoke-claude")
    body = r["body"]
    assert r["content_type"].startswith("application/json"), r
    assert body["type"] == "message" and body["role"] == "assistant", body
    assert [b["type"] for b in body["content"]] == ["text"] and body["content"][0]["text"].strip(), body
    assert body["stop_reason"] == "end_turn", body
    assert body["usage"]["input_tokens"] > 0 and body["usage"]["output_tokens"] > 0, body


def test_bedrock_invoke_claude_stream(shunt, bedrock_r):
    """invoke_model_with_response_stream, Claude: contentType application/json; every `chunk` decodes to a Messages stream event, message_start … message_stop, text deltas non-empty."""
    r = ok(shunt, bedrock_r, "invoke-claude-stream")
    assert r["content_type"] == "application/json", (
        f"X-Amzn-Bedrock-Content-Type (boto3's response['contentType']) is {r['content_type']!r}")
    assert {e["name"] for e in r["events"]} == {"chunk"}, r["events"]
    types = [e["data"]["type"] for e in r["events"]]
    assert types[0] == "message_start" and types[-1] == "message_stop", types
    ordered(types, "message_start", "content_block_start", "content_block_delta",
            "content_block_stop", "message_delta", "message_stop")
    text = "".join(e["data"]["delta"].get("text", "") for e in r["events"]
                   if e["data"]["type"] == "content_block_delta")
    assert text.strip(), r["events"]


def test_bedrock_invoke_titan_text(shunt, bedrock_r):
    """invoke_model, amazon.titan-text-express-v1: inputTextTokenCount and results[0] (tokenCount, outputText, completionReason FINISHED)."""
    body = ok(shunt, bedrock_r, "invoke-titan-text")["body"]
    assert isinstance(body["inputTextTokenCount"], int) and body["inputTextTokenCount"] > 0, body
    [result] = body["results"]
    assert result["outputText"].strip() and isinstance(result["tokenCount"], int), body
    assert result["completionReason"] == "FINISHED", body


def test_bedrock_invoke_nova(shunt, bedrock_r):
    """invoke_model, amazon.nova-lite-v1:0 (messages-v1 body): output.message with text, stopReason end_turn, usage."""
    body = ok(shunt, bedrock_r, "invoke-nova")["body"]
    msg = body["output"]["message"]
    assert msg["role"] == "assistant" and msg["content"][0]["text"].strip(), body
    assert body["stopReason"] == "end_turn", body
    u = body["usage"]
    assert u["inputTokens"] > 0 and u["outputTokens"] > 0, u
    assert u["totalTokens"] == u["inputTokens"] + u["outputTokens"], u


@pytest.mark.parametrize("key,dims,unit", [
    ("v2-default", 1024, True), ("v2@256", 256, True), ("v2@512", 512, True), ("v1", 1536, False),
])
def test_bedrock_titan_embeddings(shunt, bedrock_r, key, dims, unit):
    """invoke_model, amazon.titan-embed-text-v2:0 (default 1024, `dimensions` honoured; `normalize` defaults to true, so unit length) and v1 (1536): embedding and inputTextTokenCount."""
    r = ok(shunt, bedrock_r, "invoke-titan-embed")[key]
    assert r["dims"] == dims and r["all_numbers"], r
    assert isinstance(r["input_text_token_count"], int) and r["input_text_token_count"] > 0, r
    if unit:
        assert abs(r["norm"] - 1.0) < 1e-3, r


def raw_stream(shunt, op: str) -> dict:
    """Fetch a streaming Bedrock reply with plain requests; check its framing and CRCs."""
    r = shunt.client("eventstream_raw.py", op)
    assert r["status"] == 200, r
    assert r["content_type"] == "application/vnd.amazon.eventstream", r
    assert r["by_hand"] and all("error" not in m for m in r["by_hand"]), r["by_hand"]
    bad = [m for m in r["by_hand"] if not (m["prelude_crc_ok"] and m["message_crc_ok"])]
    assert not bad, f"CRC mismatch in {bad}"
    assert "decode_error" not in r, r["decode_error"]
    assert r["leftover_bytes"] == 0 and len(r["messages"]) == len(r["by_hand"]), r
    for m in r["messages"]:
        assert m["headers"].get(":message-type") == "event", m
        assert m["headers"].get(":content-type") == "application/json", m
    return r


def test_bedrock_eventstream_converse_stream_raw(shunt):
    """The ConverseStream body as bytes: botocore's EventStreamBuffer decodes every message with both CRCs valid (recomputed by hand too); event types messageStart, contentBlockDelta…, messageStop, metadata."""
    r = raw_stream(shunt, "converse-stream")
    types = [m["headers"][":event-type"] for m in r["messages"]]
    assert types[0] == "messageStart" and types[-1] == "metadata", types
    ordered(types, "messageStart", "contentBlockDelta", "messageStop", "metadata")
    assert types.index("messageStop") == len(types) - 2, types
    # The payloads are the event members themselves, without the event-type wrapper.
    payloads = {m["headers"][":event-type"]: m["payload"] for m in r["messages"]}
    assert payloads["messageStart"] == {"role": "assistant"}, payloads["messageStart"]
    assert "usage" in payloads["metadata"] and "metrics" in payloads["metadata"], payloads["metadata"]


def test_bedrock_eventstream_invoke_stream_raw(shunt):
    """The InvokeModelWithResponseStream body as bytes: `chunk` events (valid CRCs) whose base64 `bytes` are Messages stream events."""
    r = raw_stream(shunt, "invoke-with-response-stream")
    assert {m["headers"][":event-type"] for m in r["messages"]} == {"chunk"}, r["messages"]
    types = [m["payload"]["bytes_decoded"]["type"] for m in r["messages"]]
    assert types[0] == "message_start" and types[-1] == "message_stop", types


# ---------------------------------------------------------------------------- Gemini API key

def test_gemini_api_key(shunt, genai_r):
    """genai.Client(vertexai=False) with GEMINI_API_KEY from the env → generativelanguage.googleapis.com: generate_content and a stream."""
    assert genai_r["vertexai"] is False and genai_r["has_api_key"], genai_r
    assert genai_r["base_url"].rstrip("/") == "https://generativelanguage.googleapis.com", genai_r
    g = ok(shunt, genai_r, "generate")
    assert g["text"] and g["text"].strip() and g["finish_reason"] == "STOP", g
    assert g["prompt_tokens"] > 0 and g["candidates_tokens"] > 0, g
    s = ok(shunt, genai_r, "stream")
    assert len(s["deltas"]) >= 2 and "".join(s["deltas"]).strip(), s
    assert s["finish_reasons"][-1] == "STOP", s


# ---------------------------------------------------------------------------- faults

FAULT_RUNS = {
    "openai": ("openai_call.py", "chat", "chat-stream", "responses", "embeddings", "azure-chat"),
    "anthropic": ("anthropic_direct.py", "create", "stream"),
    "bedrock": ("bedrock_call.py", "converse", "converse-stream", "invoke-claude",
                "invoke-claude-stream"),
    "genai": ("genai_apikey.py", "generate"),
}


@pytest.fixture(scope="module")
def faults(faulty):
    """faults[sdk]: that SDK's client run against the 429 shunt (each run once, on first use)."""
    class Runs(dict):
        def __missing__(self, sdk):
            self[sdk] = faulty.client(*FAULT_RUNS[sdk])
            return self[sdk]
    return Runs()


@pytest.mark.parametrize("mode", ["chat", "chat-stream", "responses", "embeddings", "azure-chat"])
def test_429_openai(faults, mode):
    """--fault-429 1: OpenAI(max_retries=0) raises openai.RateLimitError (status 429) with an OpenAI error body."""
    e = raised(faults["openai"], mode)
    assert (e["module"].split(".")[0], e["type"]) == ("openai", "RateLimitError"), e
    assert e["status_code"] == 429, e
    body = e.get("body")
    assert isinstance(body, dict) and isinstance(body.get("message"), str), (
        f"the OpenAI SDK found no error object ({{error: {{message, type, code}}}}) in the body: {e}")


@pytest.mark.parametrize("mode", ["create", "stream"])
def test_429_anthropic(faults, mode):
    """--fault-429 1: Anthropic(max_retries=0) raises anthropic.RateLimitError with an Anthropic error body (type error, error.type rate_limit_error)."""
    e = raised(faults["anthropic"], mode)
    assert (e["module"].split(".")[0], e["type"]) == ("anthropic", "RateLimitError"), e
    assert e["status_code"] == 429, e
    body = e.get("body")
    assert isinstance(body, dict) and body.get("type") == "error", e
    assert body["error"]["type"] == "rate_limit_error", e


@pytest.mark.parametrize("mode", ["converse", "converse-stream", "invoke-claude", "invoke-claude-stream"])
def test_429_bedrock(faults, mode):
    """--fault-429 1: boto3 (max_attempts=1) raises ClientError with code ThrottlingException, HTTP 429 (the modeled client.exceptions.ThrottlingException)."""
    e = raised(faults["bedrock"], mode)
    assert e.get("is_client_error"), e
    assert e["error_code"] == "ThrottlingException" and e["type"] == "ThrottlingException", e
    assert e["status_code"] == 429, e


def test_429_gemini_api_key(faults):
    """--fault-429 1: google-genai (API key) raises errors.ClientError 429 RESOURCE_EXHAUSTED."""
    e = raised(faults["genai"], "generate")
    assert (e["module"], e["type"]) == ("google.genai.errors", "ClientError"), e
    assert e["code"] == 429 and e["status"] == "RESOURCE_EXHAUSTED", e


# ---------------------------------------------------------------------------- agents

AGENT_MODELS = {
    "openai-chat:gpt-4o-mini": ("api.openai.com", "/v1/chat/completions"),
    "openai:gpt-4o-mini": ("api.openai.com", "/v1/responses"),
    "anthropic:claude-sonnet-4-5-20250929": ("api.anthropic.com", "/v1/messages"),
    "bedrock:anthropic.claude-3-5-haiku-20241022-v1:0": (
        "bedrock-runtime.us-east-1.amazonaws.com",
        "/model/anthropic.claude-3-5-haiku-20241022-v1:0/converse"),
}
TOOL = "get_weather"


@pytest.fixture(scope="module")
def agent_runs(tmp_path_factory):
    """pydantic-ai on every provider in one agents-venv process, through a shunt that refuses
    every host it does not intercept and captures every exchange; returns (results, records)."""
    if not (AGENTS_PYTHON.is_file() and os.access(AGENTS_PYTHON, os.X_OK)):
        pytest.fail(f"agents interpreter not found: {AGENTS_PYTHON} (scripts/test creates "
                    ".venv-agents from tests/e2e/requirements-agents.txt; or set SHUNT_AGENTS_PYTHON)")
    capture = tmp_path_factory.mktemp("capture") / "agents.jsonl"
    s = run_module_shunt(tmp_path_factory, "--other", "deny", "--capture", str(capture))
    try:
        res = s.run([str(AGENTS_PYTHON), str(CLIENTS_DIR / "pydantic_ai_providers.py"),
                     *AGENT_MODELS], env=s.env(), timeout=120)
        try:
            out = last_json_line(res.stdout)
        except AssertionError as e:
            pytest.fail(f"{e}\nstderr:\n{res.stderr}\n{s.log()}")
    finally:
        s.stop_and_check()
    records = [json.loads(line) for line in capture.read_text().splitlines() if line.strip()]
    return out["runs"], records, s


def bare_host(record: dict) -> str:
    """A capture record's host, without a :443 the record may carry."""
    return (record.get("host") or "").rsplit(":443", 1)[0]


def declared_tools(path: str, body: dict) -> list[str]:
    if path.endswith("/chat/completions"):
        return [t["function"]["name"] for t in body.get("tools", [])]
    if path.endswith("/responses"):
        return [t.get("name") for t in body.get("tools", [])]
    if path.endswith("/messages"):
        return [t.get("name") for t in body.get("tools", [])]
    return [t["toolSpec"]["name"] for t in body.get("toolConfig", {}).get("tools", [])]


def carries_tool_result(path: str, body: dict) -> bool:
    if path.endswith("/chat/completions"):
        return any(m.get("role") == "tool" for m in body.get("messages", []))
    if path.endswith("/responses"):
        items = body.get("input", [])
        return isinstance(items, list) and any(
            isinstance(i, dict) and i.get("type") == "function_call_output" for i in items)
    blocks = [b for m in body.get("messages", []) if isinstance(m.get("content"), list)
              for b in m["content"] if isinstance(b, dict)]
    if path.endswith("/messages"):
        return any(b.get("type") == "tool_result" for b in blocks)
    return any("toolResult" in b for b in blocks)


def test_agents_reached_only_their_providers(agent_runs):
    """With --other deny, the agents reached only the four intercepted provider hosts: no denial, no tunnel."""
    _, records, _ = agent_runs
    strays = [(r.get("type"), r.get("host"), r.get("route")) for r in records
              if r.get("type") != "exchange"
              or bare_host(r) not in {host for host, _ in AGENT_MODELS.values()}]
    assert not strays, f"the agents reached other hosts or were refused: {strays}"


@pytest.mark.parametrize("model", list(AGENT_MODELS))
def test_pydantic_ai_tool_then_structured_output(agent_runs, model):
    """pydantic-ai Agent(model, tools=[get_weather], output_type=WeatherReport) on OpenAI chat, OpenAI Responses, Anthropic and Bedrock Converse: the tool runs first, then final_result gives a valid WeatherReport; on the wire, the first call declares get_weather and a later one carries its result."""
    runs, records, s = agent_runs
    r = runs[model]
    assert "error" not in r, f"{model}: the agent raised {r['error']}\n{r}"
    kinds = [e["event"] for e in r["events"]]
    assert r["tool_calls"], f"{model}: the agent's own tool {TOOL}() never ran: {r}"
    assert all(isinstance(c["city"], str) and c["city"] for c in r["tool_calls"]), r
    assert kinds.count("output") == 1 and kinds.index("tool") < kinds.index("output"), (
        f"{model}: expected the tool before the one final answer: {kinds}")
    assert r["output_type"] == "WeatherReport", r
    weather_report(r["output"], f"{model} final output")
    parts = [(h["part"], h["tool"]) for h in r["history"]]
    assert ("tool-return", TOOL) in parts, parts
    last_tool = max(i for i, p in enumerate(parts) if p == ("tool-return", TOOL))
    assert any(i > last_tool and kind in ("tool-call", "text") for i, (kind, _) in enumerate(parts)), (
        f"{model}: nothing after the tool's return produced the output: {parts}")

    host, path = AGENT_MODELS[model]
    bodies = []
    for rec in records:
        if rec.get("type") != "exchange" or bare_host(rec) != host or rec.get("method") != "POST":
            continue
        if unquote(urlparse(rec["url"]).path) != path:
            continue
        text = rec["request"]["body"]["text"]
        bodies.append(json.loads(text))
    assert len(bodies) >= 2, (
        f"{model}: shunt saw {len(bodies)} POST {path} call(s) on {host}, expected >= 2")
    assert TOOL in declared_tools(path, bodies[0]), bodies[0]
    assert any(carries_tool_result(path, b) for b in bodies[1:]), (
        f"{model}: no later call carried {TOOL}'s result: {bodies}")


def test_multi_provider_example_app(tmp_path_factory):
    """examples/multi-provider/app.py, unmodified, through one shunt with --other deny: a
    pydantic-ai agent on OpenAI runs its Bedrock-embeddings tool, answers with a typed
    Answer, and Claude on api.anthropic.com reviews it; shunt saw all three providers and
    nothing else."""
    if not (AGENTS_PYTHON.is_file() and os.access(AGENTS_PYTHON, os.X_OK)):
        pytest.fail(f"agents interpreter not found: {AGENTS_PYTHON}")
    capture = tmp_path_factory.mktemp("capture") / "example.jsonl"
    s = run_module_shunt(tmp_path_factory, "--other", "deny", "--capture", str(capture))
    try:
        res = s.run([str(AGENTS_PYTHON), str(REPO_ROOT / "examples/multi-provider/app.py"),
                     "Which clinic opens on Saturday?"], env=s.env(), timeout=120)
        out = last_json_line(res.stdout)
    finally:
        s.stop_and_check()
    assert "search_notes" in out["tools_run"], out
    assert isinstance(out["answer"]["answer"], str) and out["answer"]["answer"], out
    assert isinstance(out["answer"]["sources"], list), out
    assert out["review"].strip(), out
    records = [json.loads(line) for line in capture.read_text().splitlines() if line.strip()]
    hosts = {bare_host(r) for r in records if r.get("type") == "exchange"}
    assert hosts == {"api.openai.com", "bedrock-runtime.us-east-1.amazonaws.com",
                     "api.anthropic.com"}, hosts
    assert all(r.get("type") == "exchange" for r in records), [r.get("type") for r in records]
