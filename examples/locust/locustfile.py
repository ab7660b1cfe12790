"""Locust load for a Parlant agent: one timed request per conversational turn.

ConversationUser (weight 9): create a session, post a customer message, long-poll
`GET /sessions/{id}/events?min_offset=N&source=ai_agent&kinds=message&wait_for_data=S`
until the agent's message arrives, and report the whole turn (post → reply) to Locust as
one request named "turn". A turn with no reply within TURN_TIMEOUT is a failure. Each
user follows a script of related messages (scheduling, lab results, insurance, a vague
follow-up), so the agent's journeys, guidelines and tools are exercised as a real
conversation would.

When a conversation ends, its record is appended to CONVERSATIONS_FILE (one JSON line):
the session, turns posted and answered, the agent's tool calls by tool (from the
session's tool events) and failures by cause (`timeout`, `session_not_found`, `http_NNN`).

BrowseUser (weight 1): only lists agents (`GET /agents`), a cheap request for contrast.

Environment:
  PARLANT_AGENT_ID    agent to talk to (default: the first agent `GET /agents` returns)
  TURN_TIMEOUT        seconds a turn may take (default 60)
  TURNS_PER_SESSION   customer messages per session before a new one (default 3)
  CONVERSATIONS_FILE  where to append per-conversation records (default: none)
"""

import json
import os
import random
import threading
import time
from collections import Counter

from locust import FastHttpUser, between, events, task

TURN_TIMEOUT = float(os.environ.get("TURN_TIMEOUT", "60"))
TURNS_PER_SESSION = int(os.environ.get("TURNS_PER_SESSION", "3"))
CONVERSATIONS_FILE = os.environ.get("CONVERSATIONS_FILE")

# Conversations a patient might have; each user picks one per session and follows it.
SCRIPTS = [
    ["Hi, I'd like to schedule an appointment.", "It's for a checkup.", "The first slot works for me."],
    ["Can I see my lab results?", "What do they mean?", "Should I book a follow-up?"],
    ["Do you accept my insurance?", "Which providers exactly?", "Thanks, that helps."],
    ["I want to follow up on my visit.", "I mean my lab results.", "Thank you."],
    ["What are your office hours?", "And the office phone number?", "Is Professor X available?"],
]

_agent_id: str | None = os.environ.get("PARLANT_AGENT_ID")
_write_lock = threading.Lock()


def _resolve_agent(client) -> str:
    global _agent_id
    if _agent_id is None:
        with client.get("/agents", name="agents (setup)", catch_response=True) as r:
            agents = r.json() if r.status_code == 200 else []
            if not agents:
                r.failure(f"no agent: HTTP {r.status_code}")
                raise RuntimeError("no agent on the server")
            _agent_id = agents[0]["id"]
    return _agent_id


def _cause(status: int, text: str) -> str:
    """A failure's cause, short enough to count by."""
    if status == 404 and "session not found" in (text or "").lower():
        return "session_not_found"
    return f"http_{status}"


class ConversationUser(FastHttpUser):
    weight = 9
    wait_time = between(1, 3)
    # A long-poll holds its connection for up to TURN_TIMEOUT.
    network_timeout = TURN_TIMEOUT + 30
    connection_timeout = 10

    def on_start(self) -> None:
        self.session_id = None
        self.turns = 0

    def on_stop(self) -> None:
        self._end_session()

    def _new_session(self) -> None:
        self._end_session()
        agent = _resolve_agent(self.client)
        self.script = random.choice(SCRIPTS)
        self.answered = 0
        self.failures: Counter[str] = Counter()
        with self.client.post(
            "/sessions", json={"agent_id": agent}, name="create session", catch_response=True
        ) as r:
            if r.status_code != 201:
                r.failure(f"HTTP {r.status_code}: {r.text[:200]}")
                self.session_id = None
                return
            self.session_id = r.json()["id"]
            self.turns = 0

    def _end_session(self) -> None:
        """Record the conversation that just ended (with its tool calls) and forget it."""
        sid = getattr(self, "session_id", None)
        if sid is None or not CONVERSATIONS_FILE or not getattr(self, "turns", 0):
            self.session_id = None
            return
        tools: Counter[str] = Counter()
        with self.client.get(
            f"/sessions/{sid}/events", params={"kinds": "tool", "wait_for_data": 0},
            name="tool events (untimed)", catch_response=True,
        ) as r:
            if r.status_code == 200:
                for e in r.json():
                    for call in (e.get("data") or {}).get("tool_calls", []):
                        tools[call.get("tool_id", "?")] += 1
            else:
                self.failures[_cause(r.status_code, r.text)] += 1
                r.failure(f"HTTP {r.status_code}")
        record = {"session": sid, "turns": self.turns, "answered": self.answered,
                  "tool_calls": dict(tools), "failures": dict(self.failures)}
        with _write_lock, open(CONVERSATIONS_FILE, "a") as f:
            f.write(json.dumps(record) + "\n")
        self.session_id = None

    @task
    def turn(self) -> None:
        if self.session_id is None or self.turns >= TURNS_PER_SESSION:
            self._new_session()
            if self.session_id is None:
                return
        sid = self.session_id
        message = self.script[self.turns % len(self.script)]
        start = time.perf_counter()
        failure: str | None = None
        cause: str | None = None
        length = 0
        r = self.client.post(
            f"/sessions/{sid}/events",
            json={"kind": "message", "source": "customer", "message": message},
            name="post message (untimed)",
        )
        if r.status_code != 201:
            failure = f"post message: HTTP {r.status_code}: {(r.text or '')[:200]}"
            cause = _cause(r.status_code, r.text)
        else:
            offset = r.json()["offset"] + 1
            deadline = start + TURN_TIMEOUT
            while failure is None:
                left = deadline - time.perf_counter()
                if left <= 0:
                    failure = f"no agent message within {TURN_TIMEOUT:.0f}s"
                    cause = "timeout"
                    break
                # Long-poll: the server answers as soon as an agent message exists at or
                # after `offset`, or 504 after wait_for_data seconds.
                with self.client.get(
                    f"/sessions/{sid}/events",
                    params={
                        "min_offset": offset,
                        "source": "ai_agent",
                        "kinds": "message",
                        "wait_for_data": max(1, int(min(left, 30))),
                    },
                    name="poll events (untimed)",
                    catch_response=True,
                ) as p:
                    if p.status_code == 504:
                        p.success()  # the poll timed out; the turn's deadline decides
                        continue
                    if p.status_code != 200:
                        p.failure(f"HTTP {p.status_code}")
                        failure = f"poll events: HTTP {p.status_code}: {(p.text or '')[:200]}"
                        cause = _cause(p.status_code, p.text)
                        break
                    msgs = [e for e in p.json() if e.get("kind") == "message"]
                    if msgs:
                        length = len(msgs[-1].get("data", {}).get("message", "") or "")
                        break
        elapsed_ms = (time.perf_counter() - start) * 1000
        self.turns += 1
        if failure:
            self.failures[cause or "other"] += 1
        else:
            self.answered += 1
        events.request.fire(
            request_type="TURN",
            name="turn",
            response_time=elapsed_ms,
            response_length=length,
            exception=RuntimeError(failure) if failure else None,
            context={},
        )
        if failure:
            self._end_session()  # start over in a fresh session


class BrowseUser(FastHttpUser):
    weight = 1
    wait_time = between(1, 3)

    @task
    def list_agents(self) -> None:
        self.client.get("/agents", name="list agents")
