"""Pydantic models that exercise the structured-output mock, one JSON Schema feature each.

`CORPUS` maps a name to a `Case` (model, features covered, what the SDK refuses). The e2e
tests send every model as `response_schema=` (the SDK's OpenAPI-subset conversion) and as
`response_json_schema=model_json_schema()` (JSON Schema passed through untouched), and
validate the mock's JSON with the model itself.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Literal, NamedTuple, Optional, Union
from uuid import UUID

from pydantic import BaseModel, EmailStr, Field, conlist


# --- plain shapes ----------------------------------------------------------------------

class Color(str, enum.Enum):
    RED = "red"
    GREEN = "green"
    BLUE = "blue"


class Priority(int, enum.Enum):
    LOW = 1
    MEDIUM = 2
    HIGH = 3


class Address(BaseModel):
    street: str
    city: str = Field(description="City name")
    zip_code: Optional[str] = None


class Item(BaseModel):
    name: str
    qty: int = 1


class Person(BaseModel):
    """Nested model, Optional scalar and model, Literal, str Enum, list of objects, defaults, float."""
    name: str = Field(description="Full name")
    age: Optional[int] = None
    role: Literal["admin", "user", "guest"]
    favourite: Color
    address: Address
    previous_address: Optional[Address] = None
    items: list[Item]
    tags: list[str] = []
    score: float
    active: bool = True


class Ticket(BaseModel):
    """String formats and a map: UUID, datetime, date, EmailStr, dict[str, int]."""
    id: UUID
    created_at: datetime
    due: date
    reporter: EmailStr
    label_counts: dict[str, int]


class Levels(BaseModel):
    """int Enum (JSON Schema `enum` of integers), alone and in a list."""
    queue: str
    priority: Priority
    history: list[Priority]


class Bounded(BaseModel):
    """Inclusive numeric bounds (ge/le), string length bounds, conlist and list length bounds."""
    rating: int = Field(ge=1, le=5)
    percent: float = Field(ge=0, le=100)
    code: str = Field(min_length=3, max_length=8)
    nickname: str = Field(min_length=1, max_length=12)
    top3: conlist(str, min_length=1, max_length=3)
    pairs: list[int] = Field(min_length=2, max_length=4)


class Exclusive(BaseModel):
    """Exclusive numeric bounds (gt/lt: JSON Schema exclusiveMinimum/exclusiveMaximum)."""
    temperature: float = Field(gt=-10.0, lt=40.0)
    count: int = Field(gt=0, lt=3)


class Cat(BaseModel):
    kind: Literal["cat"]
    indoor: bool
    lives_left: int = Field(ge=0, le=9)


class Dog(BaseModel):
    kind: Literal["dog"]
    breed: str
    good_boy: bool


class Unions(BaseModel):
    """Union[int, str], Optional[Union], a union of two models."""
    either: Union[int, str]
    maybe_either: Optional[Union[int, str]] = None
    pet: Union[Cat, Dog]
    pets: list[Union[Cat, Dog]]


class Node(BaseModel):
    """Recursion: a tree whose children are Nodes, plus an Optional Node."""
    value: str
    children: list[Node] = []
    next_sibling: Optional[Node] = None


Node.model_rebuild()


# --- Parlant-like schemas --------------------------------------------------------------

class GuidelineCheck(BaseModel):
    guideline_id: str
    condition: str
    rationale: str
    applies: bool
    score: int = Field(ge=1, le=10)


class GuidelineMatchingResult(BaseModel):
    """Parlant guideline matching: a list of checks with a bounded score."""
    checks: list[GuidelineCheck]


class ArgumentEvaluation(BaseModel):
    parameter_name: str
    acceptable_source: str
    evaluate_is_it_provided_by_an_acceptable_source: str
    evaluate_was_it_already_provided_and_should_it_be_provided_again: str
    is_missing: bool
    value_as_string: Optional[str] = None


class ToolCallEvaluation(BaseModel):
    applicability_rationale: str
    is_applicable: bool
    argument_evaluations: Optional[list[ArgumentEvaluation]] = None
    same_call_is_already_staged: bool
    comparison_with_rejected_tools_including_references_to_subtleties: Optional[str] = None
    relevant_subtleties: str
    a_more_fitting_tool_was_rejected_for_some_reason_and_potentially_despite_a_found_subtlety: Optional[bool] = None
    are_optional_arguments_missing: Optional[bool] = None
    are_non_optional_arguments_missing: Optional[bool] = None
    allowed_to_run_without_optional_arguments_even_if_they_are_missing: Optional[bool] = None


class ToolCallInference(BaseModel):
    """Parlant tool-call inference: nested optional lists of argument evaluations."""
    last_customer_message: Optional[str] = None
    most_recent_customer_inquiry_or_need: Optional[str] = None
    most_recent_customer_inquiry_or_need_was_already_resolved: Optional[bool] = False
    name: str
    subtleties_to_be_aware_of: str
    tool_calls_for_candidate_tool: list[ToolCallEvaluation]


class Revision(BaseModel):
    revision_number: int = Field(ge=1)
    content: str
    instructions_followed: Optional[list[str]] = []
    instructions_broken: Optional[list[str]] = []
    is_repeat_message: Optional[bool] = False
    followed_all_instructions: Optional[bool] = False
    instructions_broken_due_to_missing_data: Optional[bool] = False
    missing_data_rationale: Optional[str] = None


class InstructionEvaluation(BaseModel):
    number: int
    instruction: str
    evaluation: str
    data_available: str


class MessageGeneration(BaseModel):
    """Parlant message generation: evaluations plus a list of revisions."""
    last_message_of_customer: Optional[str] = None
    produced_reply: Optional[bool] = True
    produced_reply_rationale: Optional[str] = None
    guidelines: list[str]
    context_evaluation: Optional[str] = None
    insights: Optional[list[str]] = []
    evaluation_for_each_instruction: Optional[list[InstructionEvaluation]] = []
    revisions: list[Revision]


class Case(NamedTuple):
    model: type[BaseModel]
    features: str
    # google-genai 3.3.0 refuses some schemas client-side when given as `response_schema=`
    # (its `types.Schema` is an OpenAPI subset): the pydantic error type it raises, else None.
    # Such models are covered through `response_json_schema=` only.
    response_schema_refused: Optional[str] = None


CORPUS: dict[str, Case] = {
    "Person": Case(Person, "nested model, Optional scalar and model, Literal, str Enum, list of objects, defaults, float, bool"),
    "Ticket": Case(Ticket, "UUID, datetime, date, EmailStr formats; dict[str, int]"),
    "Levels": Case(Levels, "int Enum, list of int Enum", "string_type"),
    "Bounded": Case(Bounded, "ge/le on int and float, string min/max length, conlist, list min/max items"),
    "Exclusive": Case(Exclusive, "gt/lt (exclusiveMinimum/exclusiveMaximum)", "extra_forbidden"),
    "Unions": Case(Unions, "Union[int, str], Optional[Union], union of two models, list of a model union"),
    "Node": Case(Node, "recursion: list[Node] and Optional[Node]", "recursion_loop"),
    "GuidelineMatchingResult": Case(GuidelineMatchingResult, "Parlant guideline matching: list of checks, bool, score 1..10"),
    "ToolCallInference": Case(ToolCallInference, "Parlant tool-call inference: nested optional lists, Optional bool/str"),
    "MessageGeneration": Case(MessageGeneration, "Parlant message generation: instruction evaluations, list of revisions"),
}

# Different prompts are different request bodies, hence different seeds and instances.
PROMPTS = (
    "Fill in an example.",
    "Describe the customer from the last lab results.",
    "Another one, please; make it different.",
)
