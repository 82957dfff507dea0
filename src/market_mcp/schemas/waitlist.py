from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from market_mcp.schemas.common import Page, Row
from market_mcp.schemas.emails import Emailing

WaitlistStatus = Literal["waiting", "notified", "accepted", "declined", "expired", "removed"]


class WaitlistEntryOut(Row):
    COMPACT = (
        "id",
        "status",
        "position",
        "market_date_id",
        "scheduled_at",
        "market_name",
        "vendor_id",
        "business_name",
        "category",
        "offer_expires_at",
    )

    id: int
    status: WaitlistStatus = Field(description="An offer past its window reads as expired.")
    position: int = Field(description="Offer order on this date: lower is offered first.")
    market_date_id: int
    scheduled_at: date
    market_id: int
    market_name: str
    vendor_id: int
    business_name: str
    email: str
    category: str = Field(description="The vendor's category (caps and list_waitlist's category match it).")
    notified_at: datetime | None
    offer_expires_at: datetime | None
    booking_id: int | None
    removed_reason: str | None
    created_at: datetime


class WaitlistEntryResult(WaitlistEntryOut, Emailing):
    order_id: int | None = None


class WaitlistPage(Page[WaitlistEntryOut]):
    market_date_id: int | None = Field(description="The market date this waitlist is for (null: every date's).")
    scheduled_at: date | None
    spaces_left: int | None = Field(description="Spaces that can be offered now on that date.")
