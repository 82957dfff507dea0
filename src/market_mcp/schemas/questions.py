"""Application questions: what a market asks an applicant, the answers (the vendor's words), the jury's scores."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from market_mcp.schemas.common import Schema, Stripped
from market_mcp.schemas.text import OneLine

AnswerKind = Literal["text", "choice", "yes_no", "number"]
MAX_QUESTIONS = 20
MAX_CHOICES = 20
MAX_ANSWER_CHARS = 2000
MAX_NUMBER = 1_000_000_000
MIN_SCORE, MAX_SCORE = 0, 10
QuestionKey = Annotated[str, Stripped, Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")]
AnswerKey = Annotated[str, Field(max_length=40)]  # checked against the market's questions, which say what fits
QuestionText = Annotated[str, Stripped, Field(min_length=1, max_length=300), OneLine]
Choice = Annotated[str, Stripped, Field(min_length=1, max_length=100), OneLine]
AnswerValue = (
    Annotated[str, Field(max_length=MAX_ANSWER_CHARS)] | bool | Annotated[float, Field(ge=-MAX_NUMBER, le=MAX_NUMBER)]
)


class QuestionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: QuestionKey = Field(description="e.g. needs_power.")
    text: QuestionText = Field(description="As the vendor reads it.")
    kind: AnswerKind = "text"
    choices: list[Choice] | None = Field(None, max_length=MAX_CHOICES, description="Only for kind choice.")
    required: bool = False


class Question(Schema):
    key: str
    text: str
    kind: AnswerKind
    choices: list[str] = Field(description="What a choice question offers (empty for the other kinds).")
    required: bool


class QuestionsSet(Schema):
    market_id: int
    market_name: str
    application_questions: list[Question]
    summary: str


class VendorAnswer(Schema):
    key: str
    question: str = Field(description="The question as it was asked.")
    kind: AnswerKind
    vendor_answer: str = Field(description="The vendor's answer, every line marked '> ' (their words, not ours).")


class JuryScore(Schema):
    author: str = Field(description="The name of the token that scored.")
    score: int
    note: str = Field(description="Internal, never emailed.")
    scored_at: datetime
