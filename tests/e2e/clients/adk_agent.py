"""Google ADK (unmodified) on Vertex AI through the env: one LlmAgent with one tool
(`get_weather`) and `output_schema=WeatherReport`; prints one JSON line.

Structured output with a tool: the installed ADK (2.13.0) supports `output_schema` and
`tools` on the SAME LlmAgent (see LlmAgent.output_schema's docstring). On Vertex AI with a
Gemini model, `Gemini.capabilities.output_schema_and_tools` is true
(google/adk/models/_capabilities.py), so flows/llm_flows/basic.py sends the schema as the
request's responseSchema together with the tool; elsewhere ADK's
flows/llm_flows/prompt/_schema.py would instead add a `set_model_response` function tool.
So no sub-agent or SequentialAgent is needed: one agent is the supported way, and the one
an application would write. `output_key` also stores the validated answer in session state.

The model is `gemini-2.5-flash`; ADK's Gemini model builds google-genai's Client() from the
env (GOOGLE_GENAI_USE_VERTEXAI, GOOGLE_CLOUD_PROJECT, GOOGLE_CLOUD_LOCATION, ADC).

Printed: `tool_calls` (what the Python tool recorded), `events` (the tool's calls and the
final answer, in the order the run produced them), `adk_events` (every ADK event: author,
function calls/responses, final or not), `output` (the final answer parsed from the final
event's text), `state_output` (what output_key stored).
"""

import argparse
import asyncio
import json
import sys

from google.adk.agents import LlmAgent
from google.adk.runners import InMemoryRunner
from google.genai import types

from _common import emit, error_info
from agent_models import PROMPT, WEATHER, WeatherReport

events: list[dict] = []
tool_calls: list[dict] = []


def get_weather(city: str) -> dict:
    """Current weather for a city: temperature in Celsius, sky conditions, humidity."""
    tool_calls.append({"city": city})
    events.append({"event": "tool", "name": "get_weather"})
    return {"city": city, **WEATHER}


async def run(model: str) -> dict:
    agent = LlmAgent(
        name="weather_agent",
        model=model,
        instruction="You are a weather assistant. Use get_weather before answering.",
        tools=[get_weather],
        output_schema=WeatherReport,
        output_key="weather_report",
    )
    runner = InMemoryRunner(agent=agent, app_name="shunt-e2e")
    session = await runner.session_service.create_session(app_name="shunt-e2e", user_id="u1")
    message = types.Content(role="user", parts=[types.Part.from_text(text=PROMPT)])
    adk_events, final_text = [], None
    async for event in runner.run_async(user_id="u1", session_id=session.id, new_message=message):
        parts = (event.content.parts if event.content else None) or []
        text = "".join(p.text for p in parts if p.text and not p.thought)
        adk_events.append({
            "author": event.author,
            "function_calls": [fc.name for fc in event.get_function_calls()],
            "function_responses": [fr.name for fr in event.get_function_responses()],
            "text": text or None,
            "final": event.is_final_response(),
        })
        if event.is_final_response() and text.strip():
            final_text = text
            events.append({"event": "output"})
    session = await runner.session_service.get_session(
        app_name="shunt-e2e", user_id="u1", session_id=session.id)
    await runner.close()
    return {"adk_events": adk_events, "final_text": final_text,
            "state_output": session.state.get("weather_report")}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="gemini-2.5-flash")
    a = p.parse_args()
    out = {"framework": "google-adk", "model": a.model}
    try:
        out.update(asyncio.run(run(a.model)))
    except Exception as e:  # report what the framework raised, with what the tool saw
        out.update(error=error_info(e), tool_calls=tool_calls, events=events)
        emit(out)
        sys.exit(1)
    out.update(tool_calls=tool_calls, events=events)
    try:
        out["output"] = WeatherReport.model_validate_json(out["final_text"] or "").model_dump(mode="json")
    except ValueError as e:
        out["output_error"] = str(e)
    emit(out)


if __name__ == "__main__":
    main()
