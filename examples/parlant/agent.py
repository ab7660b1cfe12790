"""A healthcare agent for load tests: glossary, two journeys with tool states, a guideline
with a tool, and an observation that disambiguates between the journeys.

The app does not know about shunt. It uses Parlant's stock Vertex adapter
(`p.NLPServices.vertex`), which reads VERTEX_AI_PROJECT_ID, VERTEX_AI_REGION and
VERTEX_AI_MODEL and talks to Vertex with google-genai (Gemini: generateContent with a
response_schema, countTokens, embeddings) and anthropic-vertex (Claude models). Whether
those calls reach Google or a mock is decided only by the environment: HTTPS_PROXY, the
CA bundle and GOOGLE_APPLICATION_CREDENTIALS (see docker-compose.yaml).

Stores, from the environment:
  PARLANT_STORE   "transient", "local" (JSON files under PARLANT_HOME) or a
                  mongodb:// URL (sessions and customers in MongoDB). Default "local".
  PARLANT_PORT    HTTP port of the REST API (default 8800).
  PARLANT_TOOL_PORT  port of the integrated tool service (default 8818).
"""


import asyncio
import os
from datetime import datetime, timedelta

import parlant.sdk as p

AGENT_ID = "healthcare"


@p.tool
async def get_upcoming_slots(context: p.ToolContext) -> p.ToolResult:
    """List the next free appointment slots."""
    start = datetime(2026, 12, 1, 9, 0)
    return p.ToolResult(data=[(start + timedelta(days=d, hours=h)).isoformat() for d in range(3) for h in (0, 4)])


@p.tool
async def schedule_appointment(context: p.ToolContext, slot: str, reason: str) -> p.ToolResult:
    """Book an appointment in the given slot."""
    return p.ToolResult(data={"confirmed": True, "slot": slot, "reason": reason})


@p.tool
async def get_lab_results(context: p.ToolContext) -> p.ToolResult:
    """Fetch the customer's latest lab results."""
    return p.ToolResult(
        data={"report": "Complete blood count", "status": "normal", "date": "2026-11-20"}
    )


@p.tool
async def get_insurance_providers(context: p.ToolContext) -> p.ToolResult:
    """List the insurance providers the office accepts."""
    return p.ToolResult(data=["MegaCare Insurance", "HealthFirst", "WellnessPlus"])


async def add_scheduling_journey(agent: p.Agent) -> p.Journey:
    journey = await agent.create_journey(
        title="Schedule an appointment",
        description="Help the patient find a time and book an appointment.",
        conditions=["The patient wants to schedule an appointment"],
    )
    t0 = await journey.initial_state.transition_to(chat_state="Ask what the visit is for")
    t1 = await t0.target.transition_to(tool_state=get_upcoming_slots)
    t2 = await t1.target.transition_to(chat_state="Offer the free slots and ask which one suits")
    t3 = await t2.target.transition_to(
        condition="The patient picked a slot", tool_state=schedule_appointment
    )
    t4 = await t3.target.transition_to(chat_state="Confirm the booking and its time")
    await t4.target.transition_to(state=p.END_JOURNEY)
    return journey


async def add_lab_results_journey(agent: p.Agent) -> p.Journey:
    journey = await agent.create_journey(
        title="Lab results",
        description="Retrieve the patient's lab results and explain them.",
        conditions=["The patient asks about lab results"],
    )
    t0 = await journey.initial_state.transition_to(tool_state=get_lab_results)
    t1 = await t0.target.transition_to(chat_state="Explain the results in plain words")
    await t1.target.transition_to(
        condition="The results are not normal",
        chat_state="Recommend booking a follow-up with the doctor",
    )
    return journey


async def configure(server: p.Server) -> p.Agent:
    agent = await server.create_agent(
        id=AGENT_ID,
        name="Healthcare Agent",
        description="Is empathetic and calming to the patient.",
        # No artificial "typing" pauses: the load test measures the engine and the LLM.
        perceived_performance_policy=p.NullPerceivedPerformancePolicy(),
    )
    await agent.create_term(
        name="Office phone number",
        description="The phone number of our office, at +1-234-567-8900",
    )
    await agent.create_term(
        name="Office hours",
        description="Office hours are Monday to Friday, 9 AM to 5 PM",
    )
    await agent.create_term(
        name="Charles Xavier",
        synonyms=["Professor X"],
        description="The renowned doctor who specializes in neurology",
    )
    scheduling = await add_scheduling_journey(agent)
    lab_results = await add_lab_results_journey(agent)
    # A follow-up request that could mean either journey: Parlant asks which one.
    follow_up = await agent.create_observation(
        "The patient asks to follow up on their visit, but it's not clear in which way",
    )
    await follow_up.disambiguate([scheduling, lab_results])
    await agent.create_guideline(
        condition="The patient asks about insurance",
        action="List the insurance providers we accept and offer help with anything else",
        tools=[get_insurance_providers],
    )
    await agent.create_guideline(
        condition="The patient says they have an urgent medical issue",
        action="Tell them to call the office immediately",
    )
    return agent


async def main() -> None:
    store = os.environ.get("PARLANT_STORE", "local")
    async with p.Server(
        port=int(os.environ.get("PARLANT_PORT", "8800")),
        tool_service_port=int(os.environ.get("PARLANT_TOOL_PORT", "8818")),
        nlp_service=p.NLPServices.vertex,
        session_store=store,
        customer_store=store,
        migrate=True,
    ) as server:
        await configure(server)


if __name__ == "__main__":
    asyncio.run(main())
