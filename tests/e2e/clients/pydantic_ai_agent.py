"""pydantic-ai (unmodified) on Vertex AI through the env: an Agent with one tool
(`get_weather`) and `output_type=WeatherReport`; prints one JSON line.

The model is the `google-cloud:` model string, so GoogleCloudProvider builds a
google-genai Client(vertexai=True) from GOOGLE_CLOUD_PROJECT / GOOGLE_CLOUD_LOCATION and
the ADC in GOOGLE_APPLICATION_CREDENTIALS, exactly as an application's would. The default
(tool) output mode declares the output model as the `final_result` function next to
`get_weather`, so the model decides which to call.

Printed: `tool_calls` (what the Python tool recorded), `events` (the tool's calls and the
output validator's run, in the order they happened), `history` (every part of the run's
message history, in order), `output` (the final answer) and `output_type`.
"""

import argparse
import sys

from pydantic_ai import Agent

from _common import emit, error_info
from agent_models import PROMPT, WEATHER, WeatherReport

events: list[dict] = []
tool_calls: list[dict] = []


def get_weather(city: str) -> dict:
    """Current weather for a city: temperature in Celsius, sky conditions, humidity."""
    tool_calls.append({"city": city})
    events.append({"event": "tool", "name": "get_weather"})
    return {"city": city, **WEATHER}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="google-cloud:gemini-2.5-flash")
    a = p.parse_args()

    agent = Agent(
        a.model,
        output_type=WeatherReport,
        tools=[get_weather],
        instructions="You are a weather assistant. Use get_weather before answering.",
    )

    @agent.output_validator
    def record_output(output: WeatherReport) -> WeatherReport:
        events.append({"event": "output"})
        return output

    out = {"framework": "pydantic-ai", "model": a.model}
    try:
        result = agent.run_sync(PROMPT)
    except Exception as e:  # report what the framework raised, with what the tool saw
        out.update(error=error_info(e), tool_calls=tool_calls, events=events)
        emit(out)
        sys.exit(1)
    history = []
    for message in result.all_messages():
        for part in message.parts:
            history.append({"message": message.kind, "part": part.part_kind,
                            "tool": getattr(part, "tool_name", None)})
    out.update(
        tool_calls=tool_calls,
        events=events,
        history=history,
        output=result.output.model_dump(mode="json"),
        output_type=type(result.output).__name__,
    )
    emit(out)


if __name__ == "__main__":
    main()
