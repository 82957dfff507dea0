from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

from market_mcp.schemas.caps import CategoryCap, CategoryMinimum
from market_mcp.schemas.common import Row, Schema, Stripped, when_set
from market_mcp.schemas.market_dates import MarketDateDetail
from market_mcp.schemas.questions import Question
from market_mcp.schemas.text import OneLine, Text

MarketStatus = Literal["published", "unpublished"]


def _small_json(value: dict[str, Any]) -> dict[str, Any]:
    import json

    if len(json.dumps(value, default=str)) > 4000:
        raise ValueError("must be at most 4,000 characters of JSON")
    return value


MarketName = Annotated[str, Stripped, Field(min_length=1, max_length=200, description="The market's name."), OneLine]
Slug = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$",
        description="Unique short name: lowercase letters, digits, hyphens.",
    ),
]
Region = Annotated[str, Stripped, Field(max_length=100), OneLine]
MarketType = Annotated[str, Stripped, Field(max_length=50), OneLine]
Capacity = Annotated[int, Field(ge=0, le=10_000, description="Stall spaces per market date.")]
Location = Annotated[str, Stripped, Field(max_length=300), OneLine]
Description = Annotated[str, Field(max_length=5000), Text]
Reference = Annotated[str, Stripped, Field(max_length=100), OneLine]
Metadata = Annotated[
    dict[str, Any],
    Field(
        max_length=100,
        description="Your own key/value data (replaces it whole).",
    ),
    AfterValidator(_small_json),
]


class MarketFields(Schema):
    """The fields a person sets on a market (service input)."""

    name: str | None = None
    slug: str | None = None
    region: str | None = None
    market_type: str | None = None
    status: MarketStatus | None = None
    booking_enabled: bool | None = None
    waitlist_auto_notify: bool | None = None
    default_fee_cents: int | None = None
    capacity: int | None = None
    location: str | None = None
    description: str | None = None
    reference: str | None = None
    metadata: dict[str, Any] | None = None
    payment_due_days: int | None = None  # -1 clears (services.markets)
    payment_due_days_before: int | None = None
    release_unpaid: bool | None = None
    payment_reminders: list[int] | None = None
    booking_cutoff_hours: int | None = None  # 0 clears (services.markets)
    bump_in_minutes: int | None = None


class PaymentTerms(Schema):
    payment_due_days: int | None = Field(description="Due this many days after approval.")
    payment_due_days_before: int | None = Field(description="Due this many days before the order's first date.")
    release_unpaid: bool = Field(description="Unpaid bookings are released at the deadline.")
    payment_reminders: list[int] = Field(description="Reminders go out this many days before the deadline.")


class MarketOut(Row):
    COMPACT = (
        "id",
        "name",
        "status",
        "region",
        "market_type",
        "booking_enabled",
        "default_fee_cents",
        "currency",
        "capacity",
        "next_market_date",
    )

    id: int
    name: str
    slug: str
    region: str
    market_type: str
    status: MarketStatus
    booking_enabled: bool
    waitlist_auto_notify: bool
    default_fee_cents: int
    currency: str
    capacity: int
    location: str
    description: str
    reference: str
    metadata: dict[str, Any]
    next_market_date: date | None = Field(description="The next scheduled trading day, if any.")
    created_at: datetime
    updated_at: datetime


class MarketDetail(MarketOut):
    payment_terms: PaymentTerms = Field(description="When approved orders must be paid (update_market sets it).")
    upcoming_dates: list[MarketDateDetail] = Field(
        description="The next (up to 5) scheduled dates, with their counts (and mix, where caps are set)."
    )
    upcoming_dates_count: int
    upcoming_confirmed_bookings: int = Field(description="Confirmed bookings across all upcoming dates.")
    pending_applications: int
    approved_vendors: int = Field(description="Vendors with an approved application to this market.")
    booking_cutoff_hours: int | None = Field(description="No new bookings within this many hours of a date's start.")
    bump_in_minutes: int | None = Field(description="Set-up starts this long before the start; waitlist offers lapse.")
    category_caps: list[CategoryCap] | None = when_set(
        "At most this many vendors of a category (set_category_caps); upcoming_dates show the mix."
    )
    category_minimums: list[CategoryMinimum] | None = when_set("Mix goals, never enforced.")
    application_questions: list[Question] = Field(
        description="What applicants are asked (set_application_questions sets it); answers go to create_application."
    )
