"""google-genai structured output against the schema corpus; prints one JSON line.

usage: genai_structured.py MODE [--model M] [--prompt T] [--stream] [--gemini-api-base URL]
MODE:
  schema       every corpus model as response_schema=Model, over every prompt
  json-schema  every corpus model as response_json_schema=Model.model_json_schema()
  person       one call with response_schema=Person (--stream: the joined chunk texts)
  enum         response_mime_type text/x.enum with the Color enum, over every prompt
"""

import argparse
import json

import pydantic

from _common import emit, error_info, genai_client
from schema_corpus import CORPUS, PROMPTS, Color, Person


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["schema", "json-schema", "person", "enum"])
    p.add_argument("--model", default="gemini-2.5-flash")
    p.add_argument("--prompt", default=PROMPTS[0])
    p.add_argument("--stream", action="store_true")
    p.add_argument("--gemini-api-base")
    a = p.parse_args()
    client = genai_client(a.gemini_api_base)
    models = client.models
    out = {"mode": a.mode}

    if a.mode in ("schema", "json-schema"):
        out["cases"] = {name: corpus_case(models, a.model, a.mode, case)
                        for name, case in CORPUS.items()}
    elif a.mode == "person":
        config = {"response_mime_type": "application/json", "response_schema": Person}
        if a.stream:
            chunks = [c.text for c in models.generate_content_stream(
                model=a.model, contents=a.prompt, config=config)]
            out["chunks"] = chunks
            out.update(check(Person, "".join(c or "" for c in chunks)))
        else:
            r = models.generate_content(model=a.model, contents=a.prompt, config=config)
            out["parsed"] = r.parsed.model_dump(mode="json") if r.parsed else None
            out.update(check(Person, r.text))
    elif a.mode == "enum":
        config = {"response_mime_type": "text/x.enum", "response_schema": Color}
        replies = []
        for prompt in PROMPTS:
            r = models.generate_content(model=a.model, contents=prompt, config=config)
            replies.append({"text": r.text, "parsed": r.parsed.value if r.parsed else None})
        out["replies"] = replies
        out["allowed"] = [c.value for c in Color]
    emit(out)


def corpus_case(models, model_id, mode, case):
    """One corpus model over every prompt: the texts, what .parsed was, validation errors."""
    if mode == "schema":
        config = {"response_mime_type": "application/json", "response_schema": case.model}
    else:
        config = {"response_mime_type": "application/json",
                  "response_json_schema": case.model.model_json_schema()}
    results = []
    for prompt in PROMPTS:
        try:
            r = models.generate_content(model=model_id, contents=prompt, config=config)
        except pydantic.ValidationError as e:
            # The SDK's own conversion to types.Schema refused the model: nothing was sent.
            return {"sdk_refused": {"type": "pydantic.ValidationError",
                                    "error_types": sorted({err["type"] for err in e.errors()}),
                                    "message": str(e)[:1000]}}
        except Exception as e:  # noqa: BLE001  (reported to the test, which fails on it)
            results.append({"prompt": prompt, "exception": error_info(e)})
            continue
        res = {"prompt": prompt, "parsed_type": type(r.parsed).__name__}
        res.update(check(case.model, r.text))
        results.append(res)
    return {"results": results}


def check(model, text):
    """Validate a reply text with the pydantic model: {text, valid, error}."""
    try:
        model.model_validate(json.loads(text))
        return {"text": text, "valid": True}
    except (TypeError, ValueError) as e:  # json errors and pydantic.ValidationError
        return {"text": text, "valid": False, "error": str(e)[:2000]}


if __name__ == "__main__":
    main()
