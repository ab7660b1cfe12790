"""google-genai 3.x on Vertex: one call through whatever the env points at; prints a JSON line.

usage: genai_call.py MODE --project P --location L [--model M] [--prompt T] [--no-aiohttp]
MODE is sync | async | stream | async-stream | count.
"""

import argparse
import asyncio
import json
import sys
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["sync", "async", "stream", "async-stream", "count"])
    p.add_argument("--project", required=True)
    p.add_argument("--location", required=True)
    p.add_argument("--model", default="gemini-2.5-flash")
    p.add_argument("--prompt", default="Say hi")
    p.add_argument("--no-aiohttp", action="store_true",
                   help="hide aiohttp so that genai's async calls go through httpx2")
    a = p.parse_args()

    if a.no_aiohttp:
        sys.modules["aiohttp"] = None  # `import aiohttp` now raises ImportError
    else:
        import aiohttp  # noqa: F401  (installed on purpose: genai's async path then uses it)

    from google import genai

    client = genai.Client(vertexai=True, project=a.project, location=a.location)
    api = client._api_client
    out = {
        "mode": a.mode,
        "base_url": api._http_options.base_url,
        "async_backend": "aiohttp" if api._use_aiohttp() else "httpx2",
    }
    models, aio = client.models, client.aio.models

    if a.mode == "sync":
        out.update(response(models.generate_content(model=a.model, contents=a.prompt)))
    elif a.mode == "async":
        async def go():
            try:
                return await aio.generate_content(model=a.model, contents=a.prompt)
            finally:
                await client.aio.aclose()
        out.update(response(asyncio.run(go())))
    elif a.mode == "stream":
        t0 = time.monotonic()
        chunks = [chunk(c, t0) for c in models.generate_content_stream(model=a.model, contents=a.prompt)]
        out.update(stream_result(chunks))
    elif a.mode == "async-stream":
        async def go():
            t0 = time.monotonic()
            try:
                return [chunk(c, t0) async for c in
                        await aio.generate_content_stream(model=a.model, contents=a.prompt)]
            finally:
                await client.aio.aclose()
        out.update(stream_result(asyncio.run(go())))
    elif a.mode == "count":
        out["total_tokens"] = models.count_tokens(model=a.model, contents=a.prompt).total_tokens

    print(json.dumps(out))


def response(r):
    usage = r.usage_metadata
    return {
        "text": r.text,
        "finish_reason": str(r.candidates[0].finish_reason) if r.candidates else None,
        "total_token_count": usage.total_token_count if usage else None,
    }


def chunk(c, t0):
    return {"text": c.text, "t": round(time.monotonic() - t0, 3)}


def stream_result(chunks):
    return {"chunks": chunks, "text": "".join(c["text"] or "" for c in chunks)}


if __name__ == "__main__":
    main()
