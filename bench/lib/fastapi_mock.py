"""A FastAPI mock of the same shape as `shunt mock`'s Gemini API route, for scenario 6.

Answers POST /v1beta/models/{model}:generateContent with a Gemini JSON reply of 24 words,
built per request (parse the body, count tokens roughly, serialise), and GET /health.
"""

from fastapi import FastAPI, Request

app = FastAPI()

WORDS = (
    "the quick brown fox jumps over a lazy dog while seven bright stars shine above "
    "quiet hills and rivers run toward distant oceans under silver moonlight tonight"
).split()


@app.get("/health")
async def health():
    return {"status": "ok"}


@app.post("/v1beta/models/{model}:generateContent")
async def generate(model: str, request: Request):
    body = await request.json()
    prompt = " ".join(
        p.get("text", "") for c in body.get("contents", []) for p in c.get("parts", [])
    )
    text = " ".join(WORDS[:24])
    return {
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"text": text}]},
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {
            "promptTokenCount": max(1, len(prompt) // 4),
            "candidatesTokenCount": max(1, len(text) // 4),
            "totalTokenCount": max(1, len(prompt) // 4) + max(1, len(text) // 4),
        },
        "modelVersion": model,
    }
