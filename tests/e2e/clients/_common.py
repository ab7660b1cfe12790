"""Helpers shared by the client scripts: build SDK clients from the env, report results.

Clients build their SDK client from the environment alone (the kit's shunt.env names the
project, the locations and GOOGLE_GENAI_USE_VERTEXAI), as an application would.
"""

import json
import sys


def emit(out: dict) -> None:
    """Print the one JSON result line the test reads."""
    print(json.dumps(out, default=str))
    sys.stdout.flush()


def error_info(e: BaseException) -> dict:
    """What a test needs to know about an exception an SDK raised."""
    info = {"type": type(e).__name__, "module": type(e).__module__, "message": str(e)[:2000]}
    for attr in ("code", "status", "status_code"):
        value = getattr(e, attr, None)
        if isinstance(value, (int, str)):
            info[attr] = value
    response = getattr(e, "response", None)
    headers = getattr(response, "headers", None)
    if headers is not None:
        info["headers"] = {k.lower(): v for k, v in headers.items()}
    return info


def genai_client(gemini_api_base: str | None = None):
    """Vertex client from the env; or Gemini Developer API mode against `gemini_api_base`."""
    from google import genai
    from google.genai import types

    if gemini_api_base:
        return genai.Client(api_key="e2e-key", vertexai=False,
                            http_options=types.HttpOptions(base_url=gemini_api_base))
    return genai.Client()


def function_calls(response) -> list[dict]:
    """The functionCall parts of a genai response as plain dicts."""
    return [{"name": fc.name, "args": fc.args} for fc in (response.function_calls or [])]
