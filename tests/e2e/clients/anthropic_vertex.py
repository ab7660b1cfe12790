"""anthropic[vertex] AnthropicVertex: one call through whatever the env points at; prints a JSON line.

usage: anthropic_vertex.py MODE --project P --region R [--model M]
MODE is create | stream | count.
"""

import argparse
import json

from anthropic import AnthropicVertex


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["create", "stream", "count"])
    p.add_argument("--project", required=True)
    p.add_argument("--region", required=True)
    p.add_argument("--model", default="claude-sonnet-4-5@20250929")
    a = p.parse_args()

    client = AnthropicVertex(region=a.region, project_id=a.project, max_retries=0)
    messages = [{"role": "user", "content": "Say hi"}]
    out = {"mode": a.mode, "base_url": str(client.base_url)}

    if a.mode == "create":
        msg = client.messages.create(model=a.model, max_tokens=100, messages=messages)
        out.update(message(msg))
    elif a.mode == "stream":
        with client.messages.stream(model=a.model, max_tokens=100, messages=messages) as s:
            deltas = list(s.text_stream)
            final = s.get_final_message()
        out.update(message(final))
        out["deltas"] = deltas
    elif a.mode == "count":
        r = client.messages.count_tokens(model=a.model, messages=messages)
        out["input_tokens"] = r.input_tokens

    print(json.dumps(out))


def message(msg):
    return {
        "role": msg.role,
        "stop_reason": msg.stop_reason,
        "text": "".join(b.text for b in msg.content if b.type == "text"),
        "input_tokens": msg.usage.input_tokens,
        "output_tokens": msg.usage.output_tokens,
    }


if __name__ == "__main__":
    main()
