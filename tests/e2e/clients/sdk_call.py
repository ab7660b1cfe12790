"""One text call with google-genai (Vertex) or AnthropicVertex that reports an SDK error
instead of crashing; prints one JSON line.

usage: sdk_call.py SDK MODE [--model M] [--prompt T] [--gemini-api-base URL]
SDK is genai | claude; MODE is sync | stream. The result has `exception` (type, code,
status, headers...) if the SDK raised, else `completed: true`; streams also list their
chunks with arrival times. Claude runs with max_retries=0.
"""

import argparse
import time

from _common import emit, error_info, genai_client


def main():
    p = argparse.ArgumentParser()
    p.add_argument("sdk", choices=["genai", "claude"])
    p.add_argument("mode", choices=["sync", "stream"])
    p.add_argument("--model")
    p.add_argument("--prompt", default="Say hi")
    p.add_argument("--gemini-api-base")
    a = p.parse_args()
    out = {"sdk": a.sdk, "mode": a.mode, "chunks": [], "completed": False}
    t0 = time.monotonic()
    try:
        if a.sdk == "genai":
            genai(a, out, t0)
        else:
            claude(a, out, t0)
        out["completed"] = True
    except Exception as e:  # noqa: BLE001  (the test asserts on what was raised)
        out["exception"] = error_info(e)
    out["elapsed"] = round(time.monotonic() - t0, 3)
    out["text"] = "".join(c["text"] for c in out["chunks"])
    emit(out)


def genai(a, out, t0):
    client = genai_client(a.gemini_api_base)
    model = a.model or "gemini-2.5-flash"
    if a.mode == "sync":
        r = client.models.generate_content(model=model, contents=a.prompt)
        out["chunks"].append({"text": r.text or "", "t": round(time.monotonic() - t0, 3)})
        out["finish_reason"] = finish_reason(r)
        return
    for c in client.models.generate_content_stream(model=model, contents=a.prompt):
        out["chunks"].append({"text": c.text or "", "t": round(time.monotonic() - t0, 3)})
        out["finish_reason"] = finish_reason(c) or out.get("finish_reason")


def finish_reason(r):
    if r.candidates and r.candidates[0].finish_reason:
        return r.candidates[0].finish_reason.name
    return None


def claude(a, out, t0):
    from anthropic import AnthropicVertex

    client = AnthropicVertex(max_retries=0)
    kwargs = dict(model=a.model or "claude-sonnet-4-5@20250929", max_tokens=200,
                  messages=[{"role": "user", "content": a.prompt}])
    if a.mode == "sync":
        msg = client.messages.create(**kwargs)
        text = "".join(b.text for b in msg.content if b.type == "text")
        out["chunks"].append({"text": text, "t": round(time.monotonic() - t0, 3)})
        out["finish_reason"] = msg.stop_reason
        return
    events = out["events"] = []
    with client.messages.stream(**kwargs) as s:
        for e in s:
            events.append(e.type)
            if e.type == "text":
                out["chunks"].append({"text": e.text, "t": round(time.monotonic() - t0, 3)})
        out["finish_reason"] = s.get_final_message().stop_reason


if __name__ == "__main__":
    main()
