"""anthropic (the official SDK, unmodified) against api.anthropic.com through whatever the
env points at: `anthropic.Anthropic()` with no base_url, key from ANTHROPIC_API_KEY,
max_retries=0; runs each MODE in turn and prints one JSON line.

usage: anthropic_direct.py [--model M] [--lax] MODE...

Unless --lax, every reply and stream event is validated against the SDK's own pydantic
types (`_strict_response_validation=True`).

MODEs: create, stream, raw-stream (the SSE events as sent, `ping` included, read with the
SDK's own SSE decoder), tools, tools-stream, tools-two-turns, count.
"""

import argparse

import anthropic
from anthropic import Anthropic, Stream

from _common import emit
from _providers import SCHEMAS, TEXT_PROMPT, TOOL_RESULTS, TOOLS, WEATHER_PROMPT, run_modes

TOOL_PARAMS = [{"name": t["name"], "description": t["description"], "input_schema": t["schema"]}
               for t in TOOLS]


def message(msg) -> dict:
    return {
        "id": msg.id, "type": msg.type, "role": msg.role, "model": msg.model,
        "stop_reason": msg.stop_reason,
        "block_types": [b.type for b in msg.content],
        "text": "".join(b.text for b in msg.content if b.type == "text"),
        "tool_uses": [{"id": b.id, "name": b.name, "input": b.input}
                      for b in msg.content if b.type == "tool_use"],
        "usage": {"input_tokens": msg.usage.input_tokens, "output_tokens": msg.usage.output_tokens},
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="claude-sonnet-4-5-20250929")
    p.add_argument("--lax", action="store_true", help="do not validate replies strictly")
    p.add_argument("modes", nargs="+")
    a = p.parse_args()
    client = Anthropic(max_retries=0, _strict_response_validation=not a.lax)
    model = a.model
    user = [{"role": "user", "content": TEXT_PROMPT}]

    def create():
        return message(client.messages.create(model=model, max_tokens=300, messages=user))

    def stream():
        with client.messages.stream(model=model, max_tokens=300, messages=user) as s:
            events = []
            deltas = []
            for e in s:
                events.append(e.type)
                if e.type == "text":
                    deltas.append(e.text)
            final = s.get_final_message()
        return {**message(final), "events": events, "deltas": deltas}

    def raw_stream():
        with client.messages.with_streaming_response.create(
            model=model, max_tokens=300, messages=user, stream=True,
        ) as resp:
            events = [{"event": sse.event, "data": sse.json() if sse.data else None}
                      for sse in Stream.raw_events(resp.http_response)]
            content_type = resp.headers.get("content-type")
        return {"content_type": content_type,
                "events": [{"event": e["event"],
                            "type": (e["data"] or {}).get("type"),
                            "delta_type": ((e["data"] or {}).get("delta") or {}).get("type"),
                            "text": ((e["data"] or {}).get("delta") or {}).get("text")}
                           for e in events]}

    def tools():
        r = client.messages.create(model=model, max_tokens=500, tools=TOOL_PARAMS,
                                   tool_choice={"type": "auto"},
                                   messages=[{"role": "user", "content": WEATHER_PROMPT}])
        return {**message(r), "schemas": SCHEMAS}

    def tools_stream():
        with client.messages.stream(model=model, max_tokens=500, tools=TOOL_PARAMS,
                                    tool_choice={"type": "any"},
                                    messages=[{"role": "user", "content": WEATHER_PROMPT}]) as s:
            events, partial_json = [], []
            for e in s:
                events.append(e.type)
                if e.type == "content_block_delta" and e.delta.type == "input_json_delta":
                    partial_json.append({"index": e.index, "partial_json": e.delta.partial_json})
            final = s.get_final_message()
        return {**message(final), "events": events, "partial_json": partial_json,
                "schemas": SCHEMAS}

    def tools_two_turns():
        messages = [{"role": "user", "content": WEATHER_PROMPT}]
        first = client.messages.create(model=model, max_tokens=500, tools=TOOL_PARAMS,
                                       messages=messages)
        turns = [message(first)]
        uses = [b for b in first.content if b.type == "tool_use"]
        if uses:
            messages += [
                {"role": "assistant", "content": first.content},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": u.id,
                     "content": str(TOOL_RESULTS.get(u.name, "ok"))} for u in uses]},
            ]
            turns.append(message(client.messages.create(model=model, max_tokens=500,
                                                        tools=TOOL_PARAMS, messages=messages)))
        return {"turns": turns, "schemas": SCHEMAS}

    def count():
        r = client.messages.count_tokens(model=model, messages=user, tools=TOOL_PARAMS)
        return {"input_tokens": r.input_tokens}

    handlers = {"create": create, "stream": stream, "raw-stream": raw_stream, "tools": tools,
                "tools-stream": tools_stream, "tools-two-turns": tools_two_turns, "count": count}
    unknown = [m for m in a.modes if m not in handlers]
    if unknown:
        p.error(f"unknown modes {unknown}; known: {sorted(handlers)}")
    emit({"sdk": "anthropic", "version": anthropic.__version__, "strict": not a.lax,
          "base_url": str(client.base_url), "results": run_modes(a.modes, handlers)})


if __name__ == "__main__":
    main()
