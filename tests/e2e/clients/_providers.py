"""Shared by the clients of the OpenAI, Anthropic and Bedrock APIs (openai_call.py,
anthropic_direct.py, bedrock_call.py): the two tools, the prompts, and running several
modes in one process (one interpreter start per SDK keeps test_providers.py fast).

A mode that raises is reported as {"exception": {...}} under its name; the others still run.
"""

import time
import traceback

from _common import error_info

# Two tools whose names and descriptions fit different words of a prompt.
WEATHER = {
    "name": "get_weather",
    "description": "Current weather for a city: temperature and sky conditions",
    "schema": {
        "type": "object",
        "properties": {
            "city": {"type": "string", "minLength": 1, "description": "City name, e.g. Paris"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["city"],
        "additionalProperties": False,
    },
}
TIME = {
    "name": "get_time",
    "description": "Current local time in a timezone",
    "schema": {
        "type": "object",
        "properties": {
            "timezone": {"type": "string", "minLength": 1,
                         "description": "IANA timezone, e.g. Europe/Paris"},
        },
        "required": ["timezone"],
        "additionalProperties": False,
    },
}
TOOLS = [WEATHER, TIME]
SCHEMAS = {t["name"]: t["schema"] for t in TOOLS}

# Mentions the weather only: get_weather is the one tool that fits.
WEATHER_PROMPT = "What's the weather like in Lyon today?"
# Mentions both the weather and the time: both tools fit, so a parallel call of both.
PARALLEL_PROMPT = "What's the weather in Paris right now, and what time is it there?"
# What a tool returns, sent back in the second turn.
TOOL_RESULTS = {
    "get_weather": {"city": "Lyon", "temperature_c": 21, "conditions": "sunny"},
    "get_time": {"timezone": "Europe/Paris", "time": "14:05"},
}
TEXT_PROMPT = "Say hello and tell me a short fact about owls."


def run_modes(modes, handlers, describe=error_info) -> dict:
    """Run each mode's handler; return {mode: result dict or {"exception": describe(e)}}."""
    results = {}
    for mode in modes:
        t0 = time.monotonic()
        try:
            results[mode] = handlers[mode]()
        except Exception as e:  # noqa: BLE001  (the test asserts on what was raised)
            info = describe(e)
            body = getattr(e, "body", None)  # the parsed error body the SDK kept (openai, anthropic)
            if isinstance(body, (dict, list, str)):
                info["body"] = body
            cause = e.__cause__
            if cause is not None and hasattr(cause, "errors"):  # a strict-validation failure
                try:
                    info["validation_errors"] = [
                        {"loc": ".".join(map(str, x.get("loc", ()))), "type": x.get("type")}
                        for x in cause.errors()][:20]
                except Exception:  # noqa: BLE001
                    pass
            results[mode] = {"exception": info, "traceback": traceback.format_exc()[-3000:]}
        results[mode]["elapsed"] = round(time.monotonic() - t0, 3)
    return results
