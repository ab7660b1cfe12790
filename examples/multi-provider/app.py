"""A small research assistant that uses three LLM providers at once, unmodified for tests:

- the agent (pydantic-ai) thinks on OpenAI's Chat Completions and answers with a typed
  `Answer`,
- its `search_notes` tool ranks notes by Amazon Titan embeddings on Bedrock (boto3),
- Claude on Anthropic's API (the anthropic SDK) then reviews the answer.

Nothing here knows about shunt: run it with shunt's environment (`shunt.env`) and every
call goes to shunt's mock; run it with real keys and it calls the real services.

    set -a; . certs/shunt.env; set +a
    python examples/multi-provider/app.py "Which clinic opens on Saturday?"

It prints one JSON line: the answer, Claude's review, and which tools ran.
"""

from __future__ import annotations

import json
import math
import sys

import anthropic
import boto3
from pydantic import BaseModel
from pydantic_ai import Agent, RunContext

NOTES = [
    "The north clinic opens Monday to Friday, 8am to 6pm.",
    "The harbour clinic opens on Saturday mornings for walk-in visits.",
    "Lab results are published in the patient portal within two days.",
]


class Answer(BaseModel):
    answer: str
    sources: list[str]


class Deps(BaseModel):
    model_config = {"arbitrary_types_allowed": True}
    bedrock: object
    tools_run: list[str]


agent = Agent(
    "openai-chat:gpt-4o-mini",
    deps_type=Deps,
    output_type=Answer,
    instructions="Answer questions about the clinics. Search the notes first.",
)


def embed(bedrock, text: str) -> list[float]:
    reply = bedrock.invoke_model(
        modelId="amazon.titan-embed-text-v2:0",
        body=json.dumps({"inputText": text, "dimensions": 256}),
    )
    return json.loads(reply["body"].read())["embedding"]


@agent.tool
def search_notes(ctx: RunContext[Deps], query: str) -> list[str]:
    """Search the clinic notes for a query; the best matches first."""
    ctx.deps.tools_run.append("search_notes")
    q = embed(ctx.deps.bedrock, query)

    def score(note: str) -> float:
        v = embed(ctx.deps.bedrock, note)
        return sum(a * b for a, b in zip(q, v)) / (math.hypot(*q) * math.hypot(*v) or 1.0)

    return sorted(NOTES, key=score, reverse=True)[:2]


def review(claude, answer: Answer) -> str:
    """Ask a second model to check the answer."""
    reply = claude.messages.create(
        model="claude-sonnet-4-5",
        max_tokens=200,
        messages=[{"role": "user", "content": f"Check this answer: {answer.answer}"}],
    )
    return "".join(block.text for block in reply.content if block.type == "text")


def main() -> None:
    question = sys.argv[1] if len(sys.argv) > 1 else "Which clinic opens on Saturday?"
    deps = Deps(bedrock=boto3.client("bedrock-runtime"), tools_run=[])
    result = agent.run_sync(question, deps=deps)
    print(json.dumps({
        "answer": result.output.model_dump(),
        "review": review(anthropic.Anthropic(), result.output),
        "tools_run": deps.tools_run,
    }))


if __name__ == "__main__":
    main()
