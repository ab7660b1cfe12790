"""openai (the official SDK, unmodified) against api.openai.com or Azure OpenAI, through
whatever the env points at; runs each MODE in turn and prints one JSON line.

usage: openai_call.py [--model M] [--lax] MODE...

The client is built from the env alone (OPENAI_API_KEY; for Azure AZURE_OPENAI_API_KEY and
OPENAI_API_VERSION), with max_retries=0. Unless --lax, it validates every reply and every
stream chunk against the SDK's own pydantic types (`_strict_response_validation=True`),
so a missing required field or a wrong type fails the mode instead of being papered over
(embeddings excepted: the SDK's default base64 reply only becomes list[float] after the
strict check would run).

MODEs: chat, chat-stream, parse, json-object, tools-parallel-stream, tools-required,
tools-none, tools-named, tools-two-turns, tools-then-parse, responses, responses-stream,
responses-tool, responses-tool-stream, responses-parse, embeddings, models, azure-chat,
azure-chat-stream, azure-embed.
"""

import argparse
import array
import base64
import json
import math
import sys

import openai
from openai import AzureOpenAI, OpenAI

from _common import emit, error_info
from _providers import (PARALLEL_PROMPT, SCHEMAS, TEXT_PROMPT, TIME, TOOL_RESULTS, TOOLS,
                        WEATHER, WEATHER_PROMPT, run_modes)
from agent_models import WeatherReport

AZURE_ENDPOINT = "https://shunt-e2e.openai.azure.com"
AZURE_DEPLOYMENT = "gpt-4o-mini-e2e"
REPORT_PROMPT = "Give me a short weather report for Lyon as JSON."
EMBED_TEXTS = ["The food was delicious and the waiter was friendly.",
               "Owls can turn their heads about 270 degrees."]


def chat_tool(t, strict=False):
    fn = {"name": t["name"], "description": t["description"], "parameters": t["schema"]}
    if strict:
        fn["strict"] = True
    return {"type": "function", "function": fn}


def response_tool_param(t):
    return {"type": "function", "name": t["name"], "description": t["description"],
            "parameters": t["schema"], "strict": False}


# A strict tool (all properties required, no others): what `.parse()` accepts with tools.
STRICT_WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": WEATHER["description"],
        "strict": True,
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                       "required": ["city"], "additionalProperties": False},
    },
}


def completion(r) -> dict:
    """What a test needs of a ChatCompletion."""
    choice = r.choices[0]
    msg = choice.message
    return {
        "id": r.id, "object": r.object, "created": r.created, "model": r.model,
        "n_choices": len(r.choices), "finish_reason": choice.finish_reason,
        "role": msg.role, "text": msg.content,
        "tool_calls": [{"id": c.id, "type": c.type, "name": c.function.name,
                        "arguments": c.function.arguments} for c in msg.tool_calls or []],
        "usage": r.usage.model_dump() if r.usage else None,
    }


def tool_messages(msg) -> list[dict]:
    """The assistant turn that called tools, then one `tool` message per call."""
    out = [{"role": "assistant", "content": msg.content,
            "tool_calls": [{"id": c.id, "type": "function",
                            "function": {"name": c.function.name, "arguments": c.function.arguments}}
                           for c in msg.tool_calls]}]
    for c in msg.tool_calls:
        out.append({"role": "tool", "tool_call_id": c.id,
                    "content": json.dumps(TOOL_RESULTS.get(c.function.name, {"ok": True}))})
    return out


def stream_chunks(stream) -> list[dict]:
    chunks = []
    for c in stream:
        first = c.choices[0] if c.choices else None
        chunks.append({
            "id": c.id, "object": c.object, "model": c.model, "n_choices": len(c.choices),
            "role": first.delta.role if first else None,
            "content": first.delta.content if first else None,
            "finish_reason": first.finish_reason if first else None,
            "usage": c.usage.model_dump() if c.usage else None,
        })
    return chunks


def response_info(r) -> dict:
    return {
        "id": r.id, "object": r.object, "status": r.status, "model": r.model,
        "output_text": r.output_text,
        "output": [{"type": o.type, "id": getattr(o, "id", None),
                    "call_id": getattr(o, "call_id", None), "name": getattr(o, "name", None),
                    "arguments": getattr(o, "arguments", None), "status": getattr(o, "status", None)}
                   for o in r.output],
        "usage": r.usage.model_dump() if r.usage else None,
    }


def response_events(stream) -> dict:
    events, completed = [], None
    for e in stream:
        ev = {"type": e.type, "sequence_number": e.sequence_number}
        for key in ("delta", "output_index", "item_id", "content_index", "arguments", "text"):
            value = getattr(e, key, None)
            if value is not None:
                ev[key] = value
        item = getattr(e, "item", None)
        if item is not None:
            ev["item"] = {"type": item.type, "id": getattr(item, "id", None),
                          "call_id": getattr(item, "call_id", None),
                          "name": getattr(item, "name", None),
                          "arguments": getattr(item, "arguments", None)}
        events.append(ev)
        if e.type == "response.completed":
            completed = response_info(e.response)
    return {"events": events, "completed": completed}


def describe(e: BaseException) -> dict:
    """error_info; for a strict-validation failure of a streamed Responses event (a union
    the SDK reports branch by branch), also the errors against the event's own type."""
    info = error_info(e)
    body = getattr(e, "body", None)
    if isinstance(e, openai.APIResponseValidationError) and isinstance(body, dict) and "type" in body:
        import typing

        from openai.types.responses import ResponseStreamEvent

        union = typing.get_args(ResponseStreamEvent)
        members = typing.get_args(union[0]) if union and typing.get_args(union[0]) else union
        for cls in members:
            field = getattr(cls, "model_fields", {}).get("type")
            if field is not None and body["type"] in typing.get_args(field.annotation):
                try:
                    cls.model_validate(body)
                except Exception as err:  # noqa: BLE001
                    info["event_type"] = body["type"]
                    info["event_errors"] = [
                        {"loc": ".".join(map(str, x["loc"])), "type": x["type"]}
                        for x in err.errors()][:20]
                break
    return info


def vector_stats(data) -> dict:
    vectors = [d.embedding for d in data]
    return {
        "objects": [d.object for d in data],
        "indexes": [d.index for d in data],
        "dims": [len(v) for v in vectors],
        "norms": [math.sqrt(sum(x * x for x in v)) for v in vectors],
        "all_finite": all(math.isfinite(x) for v in vectors for x in v),
        "distinct": len({tuple(v) for v in vectors}) == len(vectors),
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="gpt-4o-mini")
    p.add_argument("--lax", action="store_true", help="do not validate replies strictly")
    p.add_argument("modes", nargs="+")
    a = p.parse_args()
    strict = not a.lax
    client = OpenAI(max_retries=0, _strict_response_validation=strict)
    # Embeddings go through a lax client: the SDK asks for base64 by default and decodes the
    # string after parsing, but its strict type (list[float]) rejects the string first.
    lax = OpenAI(max_retries=0)
    model = a.model
    user = [{"role": "user", "content": TEXT_PROMPT}]

    def azure(strict=strict):
        return AzureOpenAI(azure_endpoint=AZURE_ENDPOINT, max_retries=0,
                           _strict_response_validation=strict)

    def chat():
        return completion(client.chat.completions.create(
            model=model, messages=[{"role": "developer", "content": "You are terse."}, *user]))

    def chat_stream():
        stream = client.chat.completions.create(
            model=model, messages=user, stream=True, stream_options={"include_usage": True})
        return {"chunks": stream_chunks(stream)}

    def parse():
        r = client.chat.completions.parse(
            model=model, messages=[{"role": "user", "content": REPORT_PROMPT}],
            response_format=WeatherReport)
        msg = r.choices[0].message
        return {"finish_reason": r.choices[0].finish_reason, "content": msg.content,
                "refusal": msg.refusal,
                "parsed": msg.parsed.model_dump() if msg.parsed is not None else None}

    def json_object():
        r = client.chat.completions.create(
            model=model, response_format={"type": "json_object"},
            messages=[{"role": "user", "content": "Describe an owl in JSON."}])
        return completion(r)

    def tools_parallel_stream():
        deltas, finish = [], []
        with client.chat.completions.stream(
            model=model, messages=[{"role": "user", "content": PARALLEL_PROMPT}],
            tools=[chat_tool(t) for t in TOOLS], tool_choice="auto", parallel_tool_calls=True,
        ) as s:
            for event in s:
                if event.type != "chunk":
                    continue
                for ch in event.chunk.choices:
                    for tc in ch.delta.tool_calls or []:
                        deltas.append({
                            "index": tc.index, "id": tc.id, "type": tc.type,
                            "name": tc.function.name if tc.function else None,
                            "arguments": tc.function.arguments if tc.function else None,
                        })
                    if ch.finish_reason:
                        finish.append(ch.finish_reason)
            final = s.get_final_completion()
        out = completion(final)
        out.update(deltas=deltas, finish_reasons=finish, schemas=SCHEMAS)
        return out

    def tools_call(choice, prompt=WEATHER_PROMPT):
        r = client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": prompt}],
            tools=[chat_tool(t) for t in TOOLS], tool_choice=choice)
        return {**completion(r), "schemas": SCHEMAS}

    def tools_two_turns():
        messages = [{"role": "user", "content": WEATHER_PROMPT}]
        tools = [chat_tool(t) for t in TOOLS]
        first = client.chat.completions.create(model=model, messages=messages, tools=tools,
                                               tool_choice="auto")
        turns = [completion(first)]
        if first.choices[0].message.tool_calls:
            messages += tool_messages(first.choices[0].message)
            turns.append(completion(client.chat.completions.create(
                model=model, messages=messages, tools=tools, tool_choice="auto")))
        return {"turns": turns, "schemas": SCHEMAS}

    def tools_then_parse():
        messages = [{"role": "user", "content": "Look up the weather in Lyon, then give me a "
                                                "short weather report."}]
        first = client.chat.completions.parse(model=model, messages=messages,
                                              tools=[STRICT_WEATHER], response_format=WeatherReport)
        msg = first.choices[0].message
        out = {"first": {**completion(first),
                         "parsed_arguments": [c.function.parsed_arguments
                                              for c in msg.tool_calls or []]}}
        if msg.tool_calls:
            messages += tool_messages(msg)
            second = client.chat.completions.parse(model=model, messages=messages,
                                                   tools=[STRICT_WEATHER],
                                                   response_format=WeatherReport)
            m2 = second.choices[0].message
            out["second"] = {**completion(second),
                             "parsed": m2.parsed.model_dump() if m2.parsed is not None else None}
        return out

    def responses():
        return response_info(client.responses.create(
            model=model, instructions="You are terse.", input=TEXT_PROMPT))

    def responses_stream():
        return response_events(client.responses.create(model=model, input=TEXT_PROMPT,
                                                       stream=True))

    def responses_tool():
        tools = [response_tool_param(t) for t in TOOLS]
        first = client.responses.create(model=model, input=WEATHER_PROMPT, tools=tools,
                                        tool_choice="auto")
        out = {"first": response_info(first), "schemas": SCHEMAS}
        calls = [o for o in first.output if o.type == "function_call"]
        if calls:
            items = [{"role": "user", "content": WEATHER_PROMPT},
                     *[o.model_dump(exclude_none=True) for o in first.output]]
            items += [{"type": "function_call_output", "call_id": c.call_id,
                       "output": json.dumps(TOOL_RESULTS.get(c.name, {"ok": True}))}
                      for c in calls]
            out["second"] = response_info(client.responses.create(model=model, input=items,
                                                                  tools=tools))
        return out

    def responses_tool_stream():
        stream = client.responses.create(model=model, input=WEATHER_PROMPT, stream=True,
                                         tools=[response_tool_param(t) for t in TOOLS],
                                         tool_choice="auto")
        return {**response_events(stream), "schemas": SCHEMAS}

    def responses_parse():
        r = client.responses.parse(model=model, input=REPORT_PROMPT, text_format=WeatherReport)
        return {**response_info(r),
                "parsed": r.output_parsed.model_dump() if r.output_parsed is not None else None}

    def embeddings():
        out = {}
        for key, emb_model, kwargs in [
            ("3-small", "text-embedding-3-small", {}),
            ("3-large", "text-embedding-3-large", {}),
            ("ada-002", "text-embedding-ada-002", {}),
            ("3-large@256", "text-embedding-3-large", {"dimensions": 256}),
            ("3-small@512", "text-embedding-3-small", {"dimensions": 512}),
        ]:
            # No encoding_format: the SDK asks for base64 and decodes it (its default).
            r = lax.embeddings.create(model=emb_model, input=EMBED_TEXTS, **kwargs)
            out[key] = {"object": r.object, "model": r.model, "usage": r.usage.model_dump(),
                        **vector_stats(r.data)}
        f = lax.embeddings.create(model="text-embedding-3-small", input=EMBED_TEXTS[0],
                                     encoding_format="float")
        b = lax.embeddings.create(model="text-embedding-3-small", input=EMBED_TEXTS[0],
                                  encoding_format="base64")
        floats, raw = f.data[0].embedding, b.data[0].embedding
        decoded = array.array("f", base64.b64decode(raw)) if isinstance(raw, str) else []
        if sys.byteorder != "little":
            decoded.byteswap()
        out["float_vs_base64"] = {
            "float_type": type(floats).__name__, "base64_type": type(raw).__name__,
            "float_dims": len(floats), "decoded_dims": len(decoded),
            "max_abs_diff": max((abs(x - y) for x, y in zip(floats, decoded)), default=None),
        }
        return out

    def models():
        page = client.models.list()
        data = list(page)
        return {"object": getattr(page, "object", None),
                "models": [{"id": m.id, "object": m.object, "owned_by": m.owned_by,
                            "created": m.created} for m in data]}

    def azure_chat():
        az = azure()
        r = az.chat.completions.create(model=AZURE_DEPLOYMENT, messages=user)
        return {**completion(r), "base_url": str(az.base_url)}

    def azure_chat_stream():
        stream = azure().chat.completions.create(model=AZURE_DEPLOYMENT, messages=user,
                                                 stream=True)
        return {"chunks": stream_chunks(stream)}

    def azure_embed():
        r = azure(strict=False).embeddings.create(model="text-embedding-3-small", input=EMBED_TEXTS)
        return {"object": r.object, **vector_stats(r.data)}

    handlers = {
        "chat": chat, "chat-stream": chat_stream, "parse": parse, "json-object": json_object,
        "tools-parallel-stream": tools_parallel_stream,
        "tools-required": lambda: tools_call("required"),
        "tools-none": lambda: tools_call("none"),
        "tools-named": lambda: tools_call({"type": "function", "function": {"name": TIME["name"]}}),
        "tools-two-turns": tools_two_turns, "tools-then-parse": tools_then_parse,
        "responses": responses, "responses-stream": responses_stream,
        "responses-tool": responses_tool, "responses-tool-stream": responses_tool_stream,
        "responses-parse": responses_parse, "embeddings": embeddings, "models": models,
        "azure-chat": azure_chat, "azure-chat-stream": azure_chat_stream,
        "azure-embed": azure_embed,
    }
    unknown = [m for m in a.modes if m not in handlers]
    if unknown:
        p.error(f"unknown modes {unknown}; known: {sorted(handlers)}")
    emit({"sdk": "openai", "version": openai.__version__, "strict": strict,
          "base_url": str(client.base_url),
          "results": run_modes(a.modes, handlers, describe=describe)})


if __name__ == "__main__":
    main()
