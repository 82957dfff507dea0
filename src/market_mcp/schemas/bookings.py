from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from market_mcp.schemas.common import Schema
from market_mcp.schemas.market_dates import BookingStatus

SkipCode = Literal[404, 409]


class BookingOut(Schema):
    id: int
    status: BookingStatus
    order_id: int | None
    vendor_id: int
    business_name: str
    market_id: int
    market_name: str
    market_date_id: int
    scheduled_at: date = Field(description="The local trading day.")
    space_number: str | None
    amount_cents: int
    currency: str
    attended: bool | None = Field(description="Set when the date is closed out; null before.")
    cancelled_at: datetime | None
    cancel_reason: str | None
    rebooked_to_id: int | None = Field(description="The booking this one was moved to by rebook_booking.")
    created_at: datetime


class WaitlistOffer(Schema):
    """The waitlisted vendor offered the freed space (48 hours to accept)."""

    entry_id: int
    vendor_id: int
    business_name: str
    offer_expires_at: datetime


class BookingResult(BookingOut):
    emails_queued: int = 0
    credit_issued_cents: int = Field(0, description="Credit given to the vendor by this change.")
    credit_id: int | None = None
    rebooked_from_id: int | None = Field(None, description="For rebook_booking: the booking that was moved.")
    waitlist_offers: list[WaitlistOffer] = Field(default_factory=list)


class SkippedBooking(Schema):
    booking_id: int
    reason: str
    code: SkipCode


class BulkCancelResult(Schema):
    dry_run: bool
    cancelled: list[int] = Field(description="Booking ids cancelled (in a dry run: that would be).")
    skipped: list[SkippedBooking]
    emails_queued: int
    credits_issued_cents: int
    currency: str
    waitlist_offers: list[WaitlistOffer] = Field(default_factory=list)
