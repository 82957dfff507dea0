from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from market_mcp.schemas.common import Page, Schema
from market_mcp.schemas.emails import Emailing

WaitlistStatus = Literal["waiting", "notified", "accepted", "declined", "expired", "removed"]


class WaitlistEntryOut(Schema):
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
    notified_at: datetime | None
    offer_expires_at: datetime | None
    booking_id: int | None
    removed_reason: str | None
    created_at: datetime


class WaitlistEntryResult(WaitlistEntryOut, Emailing):
    order_id: int | None = None


class WaitlistPage(Page[WaitlistEntryOut]):
    market_date_id: int = Field(description="The market date this waitlist is for.")
    scheduled_at: date
    spaces_left: int = Field(description="Spaces that can be offered now.")
