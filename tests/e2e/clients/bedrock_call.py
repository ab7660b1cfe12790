"""boto3 `bedrock-runtime` (unmodified) through whatever the env points at; runs each MODE
in turn and prints one JSON line.

usage: bedrock_call.py MODE...

The client is `boto3.client("bedrock-runtime")` built from the env alone (AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION, AWS_CA_BUNDLE, HTTPS_PROXY), with retries off
(`max_attempts=1`), so requests are SigV4-signed for bedrock-runtime.<region>.amazonaws.com.

MODEs: converse, converse-tool, converse-tool-two-turns, converse-stream,
converse-stream-tool, invoke-claude, invoke-claude-stream, invoke-titan-text, invoke-nova,
invoke-titan-embed.
"""

import argparse
import json
import math

import boto3
import botocore
from botocore.config import Config
from botocore.exceptions import ClientError

from _common import emit, error_info
from _providers import SCHEMAS, TEXT_PROMPT, TOOL_RESULTS, TOOLS, WEATHER_PROMPT, run_modes

CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0"
TITAN_TEXT = "amazon.titan-text-express-v1"
NOVA = "amazon.nova-lite-v1:0"
TITAN_EMBED_V2 = "amazon.titan-embed-text-v2:0"
TITAN_EMBED_V1 = "amazon.titan-embed-text-v1"

TOOL_CONFIG = {
    "tools": [{"toolSpec": {"name": t["name"], "description": t["description"],
                            "inputSchema": {"json": t["schema"]}}} for t in TOOLS],
    "toolChoice": {"auto": {}},
}


def describe(e: BaseException) -> dict:
    """error_info, plus what botocore's ClientError carries (the AWS error code)."""
    info = error_info(e)
    if isinstance(e, ClientError):
        meta = e.response.get("ResponseMetadata", {})
        info.update(error_code=e.response.get("Error", {}).get("Code"),
                    error_message=e.response.get("Error", {}).get("Message"),
                    status_code=meta.get("HTTPStatusCode"),
                    headers={k.lower(): v for k, v in meta.get("HTTPHeaders", {}).items()},
                    operation=e.operation_name,
                    is_client_error=True)
    return info


def converse_info(r) -> dict:
    content = r["output"]["message"]["content"]
    return {
        "role": r["output"]["message"]["role"],
        "stop_reason": r["stopReason"],
        "block_types": [next(iter(b)) for b in content],
        "text": "".join(b.get("text", "") for b in content),
        "tool_uses": [b["toolUse"] for b in content if "toolUse" in b],
        "usage": r["usage"],
        "metrics": r.get("metrics"),
        "status": r["ResponseMetadata"]["HTTPStatusCode"],
    }


def stream_events(stream) -> dict:
    events, text, tool_input, tool_starts, metadata, stop = [], [], [], [], None, None
    for ev in stream:
        [(name, body)] = ev.items()
        events.append(name)
        if name == "contentBlockDelta":
            delta = body["delta"]
            if "text" in delta:
                text.append(delta["text"])
            if "toolUse" in delta:
                tool_input.append({"index": body["contentBlockIndex"],
                                   "input": delta["toolUse"]["input"]})
        elif name == "contentBlockStart" and "toolUse" in body.get("start", {}):
            tool_starts.append({"index": body["contentBlockIndex"], **body["start"]["toolUse"]})
        elif name == "metadata":
            metadata = body
        elif name == "messageStop":
            stop = body["stopReason"]
    return {"events": events, "deltas": text, "tool_input_deltas": tool_input,
            "tool_starts": tool_starts, "metadata": metadata, "stop_reason": stop}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("modes", nargs="+")
    a = p.parse_args()
    client = boto3.client("bedrock-runtime",
                          config=Config(retries={"max_attempts": 1, "mode": "standard"}))
    user = [{"role": "user", "content": [{"text": TEXT_PROMPT}]}]
    weather = [{"role": "user", "content": [{"text": WEATHER_PROMPT}]}]

    def invoke(model_id, body) -> tuple[dict, dict]:
        r = client.invoke_model(modelId=model_id, body=json.dumps(body),
                                contentType="application/json", accept="application/json")
        return json.loads(r["body"].read()), {"content_type": r["contentType"],
                                              "status": r["ResponseMetadata"]["HTTPStatusCode"]}

    def converse():
        return converse_info(client.converse(modelId=CLAUDE, messages=user,
                                             inferenceConfig={"maxTokens": 300}))

    def converse_tool():
        r = client.converse(modelId=CLAUDE, messages=weather, toolConfig=TOOL_CONFIG)
        return {**converse_info(r), "schemas": SCHEMAS}

    def converse_tool_two_turns():
        messages = list(weather)
        first = client.converse(modelId=CLAUDE, messages=messages, toolConfig=TOOL_CONFIG)
        turns = [converse_info(first)]
        uses = [b["toolUse"] for b in first["output"]["message"]["content"] if "toolUse" in b]
        if uses:
            messages += [first["output"]["message"], {"role": "user", "content": [
                {"toolResult": {"toolUseId": u["toolUseId"], "status": "success",
                                "content": [{"json": TOOL_RESULTS.get(u["name"], {"ok": True})}]}}
                for u in uses]}]
            turns.append(converse_info(client.converse(modelId=CLAUDE, messages=messages,
                                                       toolConfig=TOOL_CONFIG)))
        return {"turns": turns, "schemas": SCHEMAS}

    def converse_stream():
        r = client.converse_stream(modelId=CLAUDE, messages=user,
                                   inferenceConfig={"maxTokens": 300})
        return {**stream_events(r["stream"]), "status": r["ResponseMetadata"]["HTTPStatusCode"]}

    def converse_stream_tool():
        r = client.converse_stream(modelId=CLAUDE, messages=weather,
                                   toolConfig={**TOOL_CONFIG, "toolChoice": {"any": {}}})
        return {**stream_events(r["stream"]), "schemas": SCHEMAS}

    def invoke_claude():
        body, meta = invoke(CLAUDE, {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 300,
                                     "messages": [{"role": "user", "content": TEXT_PROMPT}]})
        return {"body": body, **meta}

    def invoke_claude_stream():
        r = client.invoke_model_with_response_stream(
            modelId=CLAUDE, contentType="application/json", accept="application/json",
            body=json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 300,
                             "messages": [{"role": "user", "content": TEXT_PROMPT}]}))
        events = []
        for ev in r["body"]:
            [(name, body)] = ev.items()
            events.append({"name": name, "data": json.loads(body["bytes"]) if name == "chunk" else body})
        # contentType is the X-Amzn-Bedrock-Content-Type header (None if it is missing).
        return {"content_type": r.get("contentType"), "events": events}

    def invoke_titan_text():
        body, meta = invoke(TITAN_TEXT, {"inputText": TEXT_PROMPT,
                                         "textGenerationConfig": {"maxTokenCount": 300,
                                                                  "temperature": 0.5,
                                                                  "topP": 0.9,
                                                                  "stopSequences": []}})
        return {"body": body, **meta}

    def invoke_nova():
        body, meta = invoke(NOVA, {"schemaVersion": "messages-v1",
                                   "system": [{"text": "You are terse."}],
                                   "messages": [{"role": "user", "content": [{"text": TEXT_PROMPT}]}],
                                   "inferenceConfig": {"maxTokens": 300, "temperature": 0.5}})
        return {"body": body, **meta}

    def invoke_titan_embed():
        out = {}
        for key, model_id, extra in [("v2-default", TITAN_EMBED_V2, {}),
                                     ("v2@256", TITAN_EMBED_V2, {"dimensions": 256, "normalize": True}),
                                     ("v2@512", TITAN_EMBED_V2, {"dimensions": 512, "normalize": True}),
                                     ("v1", TITAN_EMBED_V1, {})]:
            body, meta = invoke(model_id, {"inputText": "Owls can turn their heads.", **extra})
            vector = body.get("embedding") or []
            out[key] = {"keys": sorted(body), "dims": len(vector),
                        "norm": math.sqrt(sum(x * x for x in vector)),
                        "all_numbers": all(isinstance(x, (int, float)) for x in vector),
                        "input_text_token_count": body.get("inputTextTokenCount"), **meta}
        return out

    handlers = {
        "converse": converse, "converse-tool": converse_tool,
        "converse-tool-two-turns": converse_tool_two_turns, "converse-stream": converse_stream,
        "converse-stream-tool": converse_stream_tool, "invoke-claude": invoke_claude,
        "invoke-claude-stream": invoke_claude_stream, "invoke-titan-text": invoke_titan_text,
        "invoke-nova": invoke_nova, "invoke-titan-embed": invoke_titan_embed,
    }
    unknown = [m for m in a.modes if m not in handlers]
    if unknown:
        p.error(f"unknown modes {unknown}; known: {sorted(handlers)}")
    emit({"sdk": "boto3", "version": boto3.__version__, "botocore": botocore.__version__,
          "endpoint_url": client.meta.endpoint_url, "region": client.meta.region_name,
          "results": run_modes(a.modes, handlers, describe=describe)})


if __name__ == "__main__":
    main()
