"""Function calling (Gemini) and tool use (Claude) against the built-in mock."""

import jsonschema
import pytest


def assert_call_valid(call, schemas, names=None):
    names = names or list(schemas)
    assert call["name"] in names, f"called {call['name']!r}, expected one of {names}"
    jsonschema.validate(call["args"], schemas[call["name"]],
                        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


@pytest.mark.parametrize("mode,function", [
    ("any-parameters", "get_weather"),
    ("any-json-schema", "book_table"),
])
def test_genai_any_mode(shunt, mode, function):
    """function_calling_config mode=ANY: a functionCall part whose args validate against the declared schema."""
    r = shunt.client("genai_tools.py", mode)
    [turn] = r["turns"]
    assert len(turn["calls"]) >= 1, r
    for call in turn["calls"]:
        assert_call_valid(call, r["schemas"], [function])


def test_genai_any_allowed_function_names(shunt):
    """ANY mode with two functions and allowed_function_names=[book_table]: only book_table is called."""
    r = shunt.client("genai_tools.py", "any-allowed")
    for turn in r["turns"]:
        assert turn["calls"], r
        for call in turn["calls"]:
            assert_call_valid(call, r["schemas"], ["book_table"])


def test_genai_none_mode(shunt):
    """function_calling_config mode=NONE with functions declared: a text answer, no functionCall."""
    r = shunt.client("genai_tools.py", "none")
    [turn] = r["turns"]
    assert turn["calls"] == [] and turn["text"] and turn["text"].strip(), r


def test_genai_auto_two_turns(shunt):
    """AUTO mode: turn 1 (last content a user message) gets a valid functionCall; turn 2 with its functionResponse gets text."""
    r = shunt.client("genai_tools.py", "auto")
    assert len(r["turns"]) == 2, f"turn 1 did not call a function (--auto-call-rate defaults to 1): {r}"
    first, second = r["turns"]
    assert first["calls"], r
    for call in first["calls"]:
        assert_call_valid(call, r["schemas"])
    assert second["calls"] == [] and second["text"] and second["text"].strip(), r


def test_genai_automatic_function_calling(shunt):
    """tools=[python function] (SDK-side automatic function calling): the SDK runs the function, sends its result, and gets text."""
    r = shunt.client("genai_tools.py", "afc")
    assert len(r["afc_calls"]) == 1 and isinstance(r["afc_calls"][0]["city"], str), r
    assert r["calls"] == [] and r["text"] and r["text"].strip(), r
    assert r["history_roles"] == ["user", "model", "user"], r
    assert r["history_parts"][1:] == [["function_call"], ["function_response"]], r


@pytest.mark.parametrize("mode", ["create", "stream"])
@pytest.mark.parametrize("choice", ["tool", "any"])
def test_claude_tool_choice(shunt, mode, choice):
    """AnthropicVertex messages.create / messages.stream with tools and tool_choice tool|any: a tool_use block whose input validates, stop_reason tool_use."""
    r = shunt.client("anthropic_tools.py", mode, "--choice", choice)
    assert r["stop_reason"] == "tool_use", r
    assert r["tool_uses"], r
    names = ["lookup_order"] if choice == "tool" else None
    for use in r["tool_uses"]:
        assert use["id"], r
        assert_call_valid({"name": use["name"], "args": use["input"]}, r["schemas"], names)
    if mode == "stream":
        # Real Claude streams a tool's input as input_json_delta events.
        assert "input_json" in r["events"], r
        assert r["events"][-1] == "message_stop", r


def test_claude_auto_two_turns(shunt):
    """Claude tool_choice auto: turn 1 gets a valid tool_use; turn 2 carrying the tool_result gets text with stop_reason end_turn."""
    r = shunt.client("anthropic_tools.py", "two-turns", "--choice", "auto")
    assert len(r["turns"]) == 2, f"turn 1 did not use a tool (--auto-call-rate defaults to 1): {r}"
    first, second = r["turns"]
    assert first["stop_reason"] == "tool_use" and first["tool_uses"], r
    for use in first["tool_uses"]:
        assert_call_valid({"name": use["name"], "args": use["input"]}, r["schemas"])
    assert second["stop_reason"] == "end_turn" and not second["tool_uses"], r
    assert second["text"].strip(), r


def test_auto_call_rate_zero(start_shunt):
    """--auto-call-rate 0: in AUTO mode neither genai nor Claude calls a function; both answer with text."""
    s = start_shunt("--auto-call-rate", "0")
    r = s.client("genai_tools.py", "auto")
    assert len(r["turns"]) == 1 and r["turns"][0]["calls"] == [], r
    assert r["turns"][0]["text"].strip(), r
    r = s.client("anthropic_tools.py", "two-turns", "--choice", "auto")
    assert len(r["turns"]) == 1 and r["turns"][0]["stop_reason"] == "end_turn", r
    assert r["turns"][0]["text"].strip(), r


def test_claude_count_tokens_with_tools(shunt):
    """messages.count_tokens with tools declared still returns input_tokens > 0."""
    r = shunt.client("anthropic_tools.py", "count")
    assert isinstance(r["input_tokens"], int) and r["input_tokens"] > 0, r
