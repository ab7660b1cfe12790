"""pydantic-ai (unmodified) on OpenAI, Anthropic and Bedrock through the env: for each
MODEL string, an Agent with one tool (`get_weather`) and `output_type=WeatherReport`;
prints one JSON line with a result per model.

usage: pydantic_ai_providers.py MODEL...
e.g. openai-chat:gpt-4o-mini (OpenAIChatModel), openai:gpt-4o-mini (OpenAIResponsesModel),
anthropic:claude-sonnet-4-5-20250929 (AnthropicModel),
bedrock:anthropic.claude-3-5-haiku-20241022-v1:0 (BedrockConverseModel).

Each provider builds its SDK client from the env (OPENAI_API_KEY, ANTHROPIC_API_KEY, the
AWS_* variables), as an application's would; nothing points them at shunt but HTTPS_PROXY
and the CA bundle. Per model: `tool_calls` (what the Python tool recorded), `events` (the
tool's calls and the output validator's run, in order), `history` (every part of the run's
message history), `output`, `output_type`, `model_class`; or `error`.
"""

import sys

from pydantic_ai import Agent
from pydantic_ai.models import infer_model

from _common import emit, error_info
from agent_models import PROMPT, WEATHER, WeatherReport


def run(model_name: str) -> dict:
    events: list[dict] = []
    tool_calls: list[dict] = []

    def get_weather(city: str) -> dict:
        """Current weather for a city: temperature in Celsius, sky conditions, humidity."""
        tool_calls.append({"city": city})
        events.append({"event": "tool", "name": "get_weather"})
        return {"city": city, **WEATHER}

    out = {"model": model_name}
    try:
        model = infer_model(model_name)
        out["model_class"] = type(model).__name__
        agent = Agent(
            model,
            output_type=WeatherReport,
            tools=[get_weather],
            instructions="You are a weather assistant. Use get_weather before answering.",
        )

        @agent.output_validator
        def record_output(output: WeatherReport) -> WeatherReport:
            events.append({"event": "output"})
            return output

        result = agent.run_sync(PROMPT)
    except Exception as e:  # noqa: BLE001  (report what the framework raised)
        out.update(error=error_info(e), tool_calls=tool_calls, events=events)
        return out
    history = []
    for message in result.all_messages():
        for part in message.parts:
            history.append({"message": message.kind, "part": part.part_kind,
                            "tool": getattr(part, "tool_name", None)})
    out.update(tool_calls=tool_calls, events=events, history=history,
               output=result.output.model_dump(mode="json"),
               output_type=type(result.output).__name__)
    return out


def main():
    models = sys.argv[1:]
    if not models:
        sys.exit(__doc__)
    emit({"framework": "pydantic-ai", "runs": {m: run(m) for m in models}})


if __name__ == "__main__":
    main()
