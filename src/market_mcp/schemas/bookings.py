from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from market_mcp.schemas.common import Row, Schema, when_set
from market_mcp.schemas.emails import Emailing
from market_mcp.schemas.market_dates import BookingStatus

SkipCode = Literal[404, 409]


class BookingOut(Row):
    COMPACT = (
        "id",
        "status",
        "order_id",
        "vendor_id",
        "business_name",
        "market_date_id",
        "market_name",
        "scheduled_at",
        "space_number",
        "amount_cents",
    )

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


class BookingResult(BookingOut, Emailing):
    credit_issued_cents: int = Field(0, description="Credit given to the vendor by this change.")
    credit_id: int | None = None
    rebooked_from_id: int | None = Field(None, description="For rebook_booking: the booking that was moved.")
    waitlist_offers: list[WaitlistOffer] = Field(default_factory=list)


class SkippedBooking(Schema):
    booking_id: int
    reason: str
    code: SkipCode


class BulkCancelResult(Emailing):
    dry_run: bool
    currency: str
    cancelled: list[int] | None = when_set("Booking ids cancelled.")
    skipped: list[SkippedBooking] | None = when_set("Ids not cancelled, and why.")
    credits_issued_cents: int | None = when_set("Credit given back to vendors.")
    waitlist_offers: list[WaitlistOffer] | None = when_set("Freed spaces offered to waitlisted vendors.")
    note: str | None = when_set("Dry run: what this preview is.")
    would_cancel: list[int] | None = when_set("Dry run: booking ids that would be cancelled.")
    would_skip: list[SkippedBooking] | None = when_set("Dry run: ids that would not be, and why.")
    would_credit_cents: int | None = when_set("Dry run: credit that would be given back.")
    would_email: int | None = when_set("Dry run: vendors who would be emailed (plus any waitlist offers).")
