"""google-genai function calling; prints one JSON line with the calls and the declared schemas.

usage: genai_tools.py MODE [--model M] [--prompt T]
MODE:
  any-parameters   ANY mode, get_weather declared with `parameters` (from a pydantic model)
  any-json-schema  ANY mode, book_table declared with `parameters_json_schema` ($defs, nesting)
  any-allowed      ANY mode with both functions and allowed_function_names=[book_table]
  none             NONE mode with both functions: a text answer
  auto             AUTO mode: turn 1 gets a call; turn 2 carries its functionResponse and gets text
  afc              a Python function as the tool: the SDK calls it and sends the response itself
"""

import argparse
from datetime import date
from typing import Literal, Optional

from google.genai import types
from pydantic import BaseModel, Field

from _common import emit, function_calls, genai_client


class WeatherArgs(BaseModel):
    city: str
    unit: Literal["celsius", "fahrenheit"] = "celsius"
    days: int = Field(ge=1, le=7)


class Guest(BaseModel):
    name: str = Field(min_length=1)
    age: int = Field(ge=0, le=120)


class BookingArgs(BaseModel):
    restaurant: str
    day: date
    seating: Literal["indoor", "outdoor", "bar"]
    guests: list[Guest] = Field(min_length=1, max_length=6)
    notes: Optional[str] = None


WEATHER = types.FunctionDeclaration(
    name="get_weather", description="Weather forecast for a city",
    parameters=WeatherArgs.model_json_schema())
BOOKING = types.FunctionDeclaration(
    name="book_table", description="Book a restaurant table",
    parameters_json_schema=BookingArgs.model_json_schema())
SCHEMAS = {"get_weather": WeatherArgs.model_json_schema(),
           "book_table": BookingArgs.model_json_schema()}

afc_calls = []


def get_time(city: str, timezone: Optional[str] = None) -> dict:
    """Current local time in a city."""
    afc_calls.append({"city": city, "timezone": timezone})
    return {"time": "12:34", "city": city}


def config(functions, mode, allowed=None):
    return types.GenerateContentConfig(
        tools=[types.Tool(function_declarations=functions)],
        tool_config=types.ToolConfig(function_calling_config=types.FunctionCallingConfig(
            mode=mode, allowed_function_names=allowed)))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["any-parameters", "any-json-schema", "any-allowed",
                                    "none", "auto", "afc"])
    p.add_argument("--model", default="gemini-2.5-flash")
    p.add_argument("--prompt", default="What should I do tonight in Lyon?")
    a = p.parse_args()
    client = genai_client()  # keep a reference: a collected Client closes its transport
    models = client.models
    out = {"mode": a.mode, "schemas": SCHEMAS}

    def call(contents, cfg):
        r = models.generate_content(model=a.model, contents=contents, config=cfg)
        return r, {"calls": function_calls(r), "text": r.text if not r.function_calls else None}

    if a.mode == "any-parameters":
        out["turns"] = [call(a.prompt, config([WEATHER], "ANY"))[1]]
    elif a.mode == "any-json-schema":
        out["turns"] = [call(a.prompt, config([BOOKING], "ANY"))[1]]
    elif a.mode == "any-allowed":
        out["turns"] = [call(f"{a.prompt} ({i})", config([WEATHER, BOOKING], "ANY", ["book_table"]))[1]
                        for i in range(3)]
    elif a.mode == "none":
        out["turns"] = [call(a.prompt, config([WEATHER, BOOKING], "NONE"))[1]]
    elif a.mode == "auto":
        cfg = config([WEATHER, BOOKING], "AUTO")
        user = types.Content(role="user", parts=[types.Part.from_text(text=a.prompt)])
        r1, turn1 = call([user], cfg)
        turns = [turn1]
        if r1.function_calls:
            fc = r1.function_calls[0]
            reply = types.Content(role="user", parts=[types.Part.from_function_response(
                name=fc.name, response={"result": "sunny, 21 C"})])
            turns.append(call([user, r1.candidates[0].content, reply], cfg)[1])
        out["turns"] = turns
    elif a.mode == "afc":
        r = models.generate_content(model=a.model, contents=a.prompt,
                                    config=types.GenerateContentConfig(tools=[get_time]))
        history = r.automatic_function_calling_history or []
        out.update({
            "text": r.text, "calls": function_calls(r), "afc_calls": afc_calls,
            "history_roles": [c.role for c in history],
            "history_parts": [[k for k, v in part.model_dump(exclude_none=True).items()]
                              for c in history for part in (c.parts or [])],
        })
    emit(out)


if __name__ == "__main__":
    main()
