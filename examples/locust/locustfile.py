"""Locust load for a Parlant agent: one timed request per conversational turn.

ConversationUser (weight 9): create a session, post a customer message, long-poll
`GET /sessions/{id}/events?min_offset=N&source=ai_agent&kinds=message&wait_for_data=S`
until the agent's message arrives, and report the whole turn (post → reply) to Locust as
one request named "turn". A turn with no reply within TURN_TIMEOUT is a failure.

BrowseUser (weight 1): only lists agents (`GET /agents`), a cheap request for contrast.

Environment:
  PARLANT_AGENT_ID   agent to talk to (default: the first agent `GET /agents` returns)
  TURN_TIMEOUT       seconds a turn may take (default 60)
  TURNS_PER_SESSION  customer messages per session before a new one (default 3)
"""

import os
import random
import time

from locust import FastHttpUser, between, events, task

TURN_TIMEOUT = float(os.environ.get("TURN_TIMEOUT", "60"))
TURNS_PER_SESSION = int(os.environ.get("TURNS_PER_SESSION", "3"))
MESSAGES = [
    "Hi, I'd like to schedule an appointment.",
    "Can I see my lab results?",
    "What are your office hours?",
    "Do you accept my insurance?",
    "Is Professor X available next week?",
    "What's the office phone number?",
]

_agent_id: str | None = os.environ.get("PARLANT_AGENT_ID")


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


class ConversationUser(FastHttpUser):
    weight = 9
    wait_time = between(1, 3)
    # A long-poll holds its connection for up to TURN_TIMEOUT.
    network_timeout = TURN_TIMEOUT + 30
    connection_timeout = 10

    def on_start(self) -> None:
        self.session_id = None
        self.turns = 0

    def _new_session(self) -> None:
        agent = _resolve_agent(self.client)
        with self.client.post(
            "/sessions", json={"agent_id": agent}, name="create session", catch_response=True
        ) as r:
            if r.status_code != 201:
                r.failure(f"HTTP {r.status_code}: {r.text[:200]}")
                self.session_id = None
                return
            self.session_id = r.json()["id"]
            self.turns = 0

    @task
    def turn(self) -> None:
        if self.session_id is None or self.turns >= TURNS_PER_SESSION:
            self._new_session()
            if self.session_id is None:
                return
        sid = self.session_id
        start = time.perf_counter()
        failure: str | None = None
        length = 0
        r = self.client.post(
            f"/sessions/{sid}/events",
            json={"kind": "message", "source": "customer", "message": random.choice(MESSAGES)},
            name="post message (untimed)",
        )
        if r.status_code != 201:
            failure = f"post message: HTTP {r.status_code}: {(r.text or '')[:200]}"
        else:
            offset = r.json()["offset"] + 1
            deadline = start + TURN_TIMEOUT
            while failure is None:
                left = deadline - time.perf_counter()
                if left <= 0:
                    failure = f"no agent message within {TURN_TIMEOUT:.0f}s"
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
                        break
                    msgs = [e for e in p.json() if e.get("kind") == "message"]
                    if msgs:
                        length = len(msgs[-1].get("data", {}).get("message", "") or "")
                        break
        elapsed_ms = (time.perf_counter() - start) * 1000
        self.turns += 1
        events.request.fire(
            request_type="TURN",
            name="turn",
            response_time=elapsed_ms,
            response_length=length,
            exception=RuntimeError(failure) if failure else None,
            context={},
        )
        if failure:
            self.session_id = None  # start over in a fresh session


class BrowseUser(FastHttpUser):
    weight = 1
    wait_time = between(1, 3)

    @task
    def list_agents(self) -> None:
        self.client.get("/agents", name="list agents")
