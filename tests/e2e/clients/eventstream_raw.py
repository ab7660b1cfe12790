"""The raw bytes of a Bedrock Runtime streaming reply, fetched with plain `requests` through
the env's proxy and CA bundle (HTTPS_PROXY, REQUESTS_CA_BUNDLE), then decoded twice: by
hand (prelude and message CRC32s recomputed with zlib) and with botocore's own decoder
(botocore.eventstream.EventStreamBuffer, which raises on a bad CRC). Prints one JSON line.

usage: eventstream_raw.py {converse-stream|invoke-with-response-stream} [--model M]

The request is SigV4-signed with botocore's signer and the env's credentials, as boto3
would sign it (the signature is not checked by shunt; the request is realistic anyway).
"""

import argparse
import base64
import json
import os
import struct
import zlib
from urllib.parse import quote

import botocore.session
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.eventstream import EventStreamBuffer

from _common import emit
from _providers import TEXT_PROMPT


def split_by_hand(data: bytes) -> list[dict]:
    """Walk the AWS event-stream framing: 12-byte prelude (total length, headers length,
    CRC32 of the first 8 bytes), headers, payload, CRC32 of everything before it."""
    messages, offset = [], 0
    while offset < len(data):
        if len(data) - offset < 16:
            messages.append({"error": f"{len(data) - offset} trailing bytes"})
            break
        total, headers_len, prelude_crc = struct.unpack(">III", data[offset:offset + 12])
        frame = data[offset:offset + total]
        if total < 16 or len(frame) < total:
            messages.append({"error": f"message at {offset} claims {total} bytes, "
                                      f"{len(frame)} left"})
            break
        (message_crc,) = struct.unpack(">I", frame[-4:])
        messages.append({
            "offset": offset, "total_length": total, "headers_length": headers_len,
            "payload_length": total - 16 - headers_len,
            "prelude_crc_ok": zlib.crc32(frame[:8]) == prelude_crc,
            "message_crc_ok": zlib.crc32(frame[:-4]) == message_crc,
        })
        offset += total
    return messages


def main():
    p = argparse.ArgumentParser()
    p.add_argument("op", choices=["converse-stream", "invoke-with-response-stream"])
    p.add_argument("--model", default="anthropic.claude-3-haiku-20240307-v1:0")
    a = p.parse_args()
    region = os.environ["AWS_DEFAULT_REGION"]
    url = (f"https://bedrock-runtime.{region}.amazonaws.com/model/"
           f"{quote(a.model, safe='')}/{a.op}")
    if a.op == "converse-stream":
        body = {"messages": [{"role": "user", "content": [{"text": TEXT_PROMPT}]}],
                "inferenceConfig": {"maxTokens": 200}}
    else:
        body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 200,
                "messages": [{"role": "user", "content": TEXT_PROMPT}]}
    request = AWSRequest(method="POST", url=url, data=json.dumps(body),
                         headers={"Content-Type": "application/json"})
    credentials = botocore.session.get_session().get_credentials()
    SigV4Auth(credentials, "bedrock", region).add_auth(request)
    prepared = request.prepare()

    with requests.Session() as http:  # trust_env: HTTPS_PROXY and REQUESTS_CA_BUNDLE apply
        r = http.post(prepared.url, data=prepared.body, headers=dict(prepared.headers),
                      timeout=60, stream=True)
        raw = b"".join(r.iter_content(chunk_size=None))
    out = {"url": url, "status": r.status_code, "content_type": r.headers.get("content-type"),
           "bytes": len(raw), "by_hand": split_by_hand(raw)}
    if r.status_code != 200:
        out["body"] = raw[:2000].decode("utf-8", "replace")
        emit(out)
        return

    decoded, consumed = [], 0
    buf = EventStreamBuffer()
    buf.add_data(raw)
    try:
        for message in buf:
            headers = dict(message.headers)
            payload = message.payload
            try:
                data = json.loads(payload) if payload else None
            except ValueError:
                data = {"undecodable": payload[:200].decode("utf-8", "replace")}
            if a.op == "invoke-with-response-stream" and isinstance(data, dict) and "bytes" in data:
                data = {"bytes_decoded": json.loads(base64.b64decode(data["bytes"]))}
            decoded.append({"headers": headers, "payload": data})
            consumed += message.prelude.total_length
    except Exception as e:  # noqa: BLE001  (a CRC or framing error botocore found)
        out["decode_error"] = {"type": type(e).__name__, "message": str(e)}
    out["messages"] = decoded
    out["leftover_bytes"] = len(raw) - consumed  # bytes botocore framed into no message
    emit(out)


if __name__ == "__main__":
    main()
