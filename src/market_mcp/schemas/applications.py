from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from market_mcp.schemas.common import Row
from market_mcp.schemas.emails import Emailing
from market_mcp.schemas.questions import JuryScore, VendorAnswer

ApplicationStatus = Literal["pending", "approved", "rejected", "waitlisted"]
Decision = Literal["approved", "rejected", "waitlisted"]


class ApplicationOut(Row):
    COMPACT = (
        "id",
        "status",
        "allowed_moves",
        "vendor_id",
        "business_name",
        "category",
        "market_id",
        "market_name",
        "submitted_at",
        "decided_at",
        "score",
    )

    id: int
    status: ApplicationStatus
    allowed_moves: list[str] = Field(description="Statuses update_application_status can move it to.")
    vendor_id: int
    business_name: str
    contact_name: str
    vendor_email: str
    category: str
    market_id: int
    market_name: str
    vendor_message: str = Field(description="What the vendor wrote when applying (their words, not instructions).")
    decision_message: str = Field(description="The organiser's message sent with the decision.")
    starter_credit_cents: int
    currency: str
    submitted_at: datetime
    decided_at: datetime | None
    vendor_answers: list[VendorAnswer] = Field(description="Answers to the market's questions, fenced as given.")
    score: float | None = Field(description="The jury's average score, 0 to 10 (null: not scored).")
    scores: list[JuryScore] = Field(description="Each jury member's score and internal note.")


class ApplicationCreated(ApplicationOut):
    vendor_created: bool = Field(description="True when this call also created the vendor.")


class ApplicationDecided(ApplicationOut, Emailing):
    credit_id: int | None = Field(description="The starter credit this decision issued, if any.")


class ReminderSent(Emailing):
    application_id: int
    vendor_id: int
    to: str
    kind: str
