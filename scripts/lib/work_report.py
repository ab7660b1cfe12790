"""What the agent did in a scale-test run, per conversation: turns answered, LLM calls by
response schema (mock-llm's /metrics after the load minus before it, so the agent's
start-up calls are not counted), tool calls by tool (from the conversations' tool
events), failures by cause, and tokens and the estimated cost on the real provider by
model (mock-llm's gen_ai_client_token_usage and shunt_genai_cost_usd_total). Reads
DIR/conversations.jsonl and DIR/mock-metrics{-start,}.txt, writes DIR/work.md and prints
it.

Usage: python3 scripts/lib/work_report.py DIR
"""

import json
import os
import re
import sys
from collections import Counter

REPLY = re.compile(r"shunt_mock_replies_total\{(.*)\} (\d+)")
LABEL = re.compile(r'(\w+)="([^"]*)"')


def mock_replies(path: str) -> tuple[Counter, Counter]:
    """Mock replies by response-schema title (or kind when there is none), and calls by
    function name."""
    by_schema, by_function = Counter(), Counter()
    if not os.path.exists(path):
        return by_schema, by_function
    for line in open(path):
        m = REPLY.match(line)
        if not m:
            continue
        labels = dict(LABEL.findall(m.group(1)))
        n = int(m.group(2))
        by_schema[labels.get("schema") or f"({labels.get('kind', '?')})"] += n
        if labels.get("function"):
            by_function[labels["function"]] += n
    return by_schema, by_function


TOKENS = re.compile(r"gen_ai_client_token_usage_sum\{(.*)\} ([0-9.e+-]+)")
COST = re.compile(r"shunt_genai_cost_usd_total\{(.*)\} ([0-9.e+-]+)")


def usage(path: str) -> dict[str, dict[str, float]]:
    """Per model: input and output tokens, estimated cost (US dollars)."""
    models: dict[str, dict[str, float]] = {}
    if not os.path.exists(path):
        return models
    for line in open(path):
        for regex, key in ((TOKENS, None), (COST, "cost")):
            m = regex.match(line)
            if not m:
                continue
            labels = dict(LABEL.findall(m.group(1)))
            model = labels.get("gen_ai_request_model") or labels.get("model") or "?"
            row = models.setdefault(model, {"input": 0.0, "output": 0.0, "cost": 0.0})
            row[key or labels.get("gen_ai_token_type", "input")] += float(m.group(2))
    return models


def per(value: int, count: int) -> str:
    return f"{value / count:.2f}" if count else "n/a"


def main(out: str) -> None:
    path = os.path.join(out, "conversations.jsonl")
    convs = [json.loads(l) for l in open(path) if l.strip()] if os.path.exists(path) else []
    by_schema, by_function = mock_replies(os.path.join(out, "mock-metrics.txt"))
    start_schema, start_function = mock_replies(os.path.join(out, "mock-metrics-start.txt"))
    by_schema.subtract(start_schema)
    by_function.subtract(start_function)
    by_schema, by_function = +by_schema, +by_function
    n = len(convs)
    turns = sum(c["turns"] for c in convs)
    answered = sum(c["answered"] for c in convs)
    tools, failures = Counter(), Counter()
    for c in convs:
        tools.update(c.get("tool_calls", {}))
        failures.update(c.get("failures", {}))
    failures.setdefault("session_not_found", 0)
    lines = ["# What the agent did", "",
             f"conversations: {n}, turns posted: {turns}, answered: {answered}", "",
             "## Failures by cause", ""]
    lines += [f"- {k}: {v}" for k, v in sorted(failures.items())]
    lines += ["", "## LLM calls by response schema (mock-llm)", "",
              "| schema | calls | per conversation | per answered turn |",
              "| --- | ---: | ---: | ---: |"]
    for k, v in sorted(by_schema.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"| {k} | {v} | {per(v, n)} | {per(v, answered)} |")
    total = sum(by_schema.values())
    lines.append(f"| all | {total} | {per(total, n)} | {per(total, answered)} |")
    lines += ["", "## Tool calls (the conversations' tool events)", "",
              "| tool | calls | per conversation |", "| --- | ---: | ---: |"]
    for k, v in sorted(tools.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"| {k} | {v} | {per(v, n)} |")
    lines.append(f"| all | {sum(tools.values())} | {per(sum(tools.values()), n)} |")
    if by_function:
        lines += ["", "Function calls the mock returned: "
                  + ", ".join(f"{k} {v}" for k, v in sorted(by_function.items()))]
    end, start = usage(os.path.join(out, "mock-metrics.txt")), usage(os.path.join(out, "mock-metrics-start.txt"))
    lines += ["", "## Tokens and estimated cost on the real provider (mock-llm, --prices table)", "",
              "| model | tokens in | tokens out | estimated cost (USD) | per answered turn |",
              "| --- | ---: | ---: | ---: | ---: |"]
    total_cost = 0.0
    for model, row in sorted(end.items()):
        before = start.get(model, {})
        tin, tout = (row[k] - before.get(k, 0.0) for k in ("input", "output"))
        cost = row["cost"] - before.get("cost", 0.0)
        total_cost += cost
        priced = cost > 0 or (tin + tout) == 0
        shown = f"{cost:.4f}" if priced else "unpriced"
        lines.append(f"| {model} | {tin:.0f} | {tout:.0f} | {shown} | "
                     f"{(f'{cost / answered:.5f}' if answered and priced else 'n/a')} |")
    lines.append(f"| all | | | {total_cost:.4f} | {(f'{total_cost / answered:.5f}' if answered else 'n/a')} |")
    text = "\n".join(lines) + "\n"
    with open(os.path.join(out, "work.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main(sys.argv[1])
