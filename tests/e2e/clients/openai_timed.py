"""N chat completions with the openai SDK (unmodified, through whatever the env points at),
one after the other, each timed by this client; prints one JSON line.

usage: openai_timed.py N [--model M] [--stream]

The client is built from the env alone (OPENAI_API_KEY, the proxy and CA bundle from the
kit), with max_retries=0 so every call is one exchange. Output: {"n", "model", "elapsed"
(seconds per call), "ttfb" (seconds to the first chunk, --stream only), "tokens_in",
"tokens_out" (summed usage as the replies report it), "status" (per call: 200 or the
APIStatusError's status)}.
"""

import argparse
import time

import openai
from openai import OpenAI

from _common import emit


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int)
    ap.add_argument("--model", default="gpt-4o-mini")
    ap.add_argument("--stream", action="store_true")
    args = ap.parse_args()
    client = OpenAI(max_retries=0, timeout=60)
    out = {"n": args.n, "model": args.model, "elapsed": [], "ttfb": [], "status": [],
           "tokens_in": 0, "tokens_out": 0}
    for i in range(args.n):
        messages = [{"role": "user", "content": f"Dashboard check {i}: say something short."}]
        t0 = time.perf_counter()
        try:
            if args.stream:
                first = None
                usage = None
                with client.chat.completions.create(
                        model=args.model, messages=messages, stream=True,
                        stream_options={"include_usage": True}) as stream:
                    for chunk in stream:
                        if first is None:
                            first = time.perf_counter() - t0
                        if chunk.usage:
                            usage = chunk.usage
                out["ttfb"].append(first)
            else:
                r = client.chat.completions.create(model=args.model, messages=messages)
                usage = r.usage
            out["status"].append(200)
            if usage:
                out["tokens_in"] += usage.prompt_tokens
                out["tokens_out"] += usage.completion_tokens
        except openai.APIStatusError as e:
            out["status"].append(e.status_code)
        out["elapsed"].append(time.perf_counter() - t0)
    emit(out)


if __name__ == "__main__":
    main()
