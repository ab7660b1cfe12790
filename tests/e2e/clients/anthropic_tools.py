"""anthropic[vertex] tool use; prints one JSON line with the tool_use blocks and the schemas.

usage: anthropic_tools.py MODE [--choice tool|any|auto] [--model M]
MODE is create | stream | count | two-turns (create; if it ends in tool_use, send the
tool_result back and create again). Region and project come from the env (CLOUD_ML_REGION,
ANTHROPIC_VERTEX_PROJECT_ID).
"""

import argparse

from anthropic import AnthropicVertex

from _common import emit

TOOLS = [
    {
        "name": "get_weather",
        "description": "Weather forecast for a city",
        "input_schema": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "minLength": 1},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "minimum": 1, "maximum": 7},
            },
            "required": ["city", "days"],
        },
    },
    {
        "name": "lookup_order",
        "description": "Look up an order",
        "input_schema": {
            "type": "object",
            "properties": {
                "order_id": {"type": "string", "minLength": 6, "maxLength": 6},
                "include_items": {"type": "boolean"},
                "items": {"type": "array", "minItems": 1, "maxItems": 3,
                          "items": {"type": "object",
                                    "properties": {"sku": {"type": "string"},
                                                   "qty": {"type": "integer", "minimum": 1}},
                                    "required": ["sku", "qty"]}},
            },
            "required": ["order_id", "items"],
        },
    },
]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["create", "stream", "count", "two-turns"])
    p.add_argument("--choice", choices=["tool", "any", "auto"], default="tool")
    p.add_argument("--model", default="claude-sonnet-4-5@20250929")
    a = p.parse_args()
    client = AnthropicVertex(max_retries=0)
    messages = [{"role": "user", "content": "Where is my order, and what's the weather?"}]
    choice = ({"type": "tool", "name": "lookup_order"} if a.choice == "tool"
              else {"type": a.choice})
    kwargs = dict(model=a.model, max_tokens=500, messages=messages, tools=TOOLS, tool_choice=choice)
    out = {"mode": a.mode, "choice": choice, "schemas": {t["name"]: t["input_schema"] for t in TOOLS}}

    if a.mode == "create":
        out.update(message(client.messages.create(**kwargs)))
    elif a.mode == "stream":
        with client.messages.stream(**kwargs) as s:
            events = [e.type for e in s]
            final = s.get_final_message()
        out.update(message(final))
        out["events"] = events
    elif a.mode == "two-turns":
        first = client.messages.create(**kwargs)
        turns = [message(first)]
        uses = [b for b in first.content if b.type == "tool_use"]
        if uses:
            results = [{"type": "tool_result", "tool_use_id": u.id, "content": "sunny, 21 C"}
                       for u in uses]
            kwargs["messages"] = messages + [{"role": "assistant", "content": first.content},
                                             {"role": "user", "content": results}]
            turns.append(message(client.messages.create(**kwargs)))
        out["turns"] = turns
    elif a.mode == "count":
        out["input_tokens"] = client.messages.count_tokens(
            model=a.model, messages=messages, tools=TOOLS).input_tokens
    emit(out)


def message(msg):
    return {
        "stop_reason": msg.stop_reason,
        "tool_uses": [{"id": b.id, "name": b.name, "input": b.input}
                      for b in msg.content if b.type == "tool_use"],
        "block_types": [b.type for b in msg.content],
        "text": "".join(b.text for b in msg.content if b.type == "text"),
    }


if __name__ == "__main__":
    main()
