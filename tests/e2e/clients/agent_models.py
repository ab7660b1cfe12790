"""The one tool and the structured final answer shared by the agent-framework clients.

Imported by the clients (in .venv-agents) and by test_agents.py (in .venv-e2e), which
re-validates each client's final answer against the same model. Depends on pydantic only.
"""

from pydantic import BaseModel, Field

PROMPT = "What is the weather in Lyon right now? Look it up, then give me a short report."

# What the tool returns: fixed, so a test can tell the tool's data from anything else.
WEATHER = {"temperature_c": 21, "conditions": "sunny", "humidity_pct": 40}


class WeatherReport(BaseModel):
    """The agent's final answer: a short weather report for one city."""

    city: str = Field(description="The city the report is about")
    temperature_c: int = Field(description="Current temperature in degrees Celsius")
    conditions: str = Field(description="Current sky conditions, e.g. sunny")
    advice: str = Field(description="One sentence of advice for going out")
