from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Literal

from pydantic import Field

from market_mcp.schemas.common import Row, Schema, when_set
from market_mcp.schemas.emails import Emailing
from market_mcp.schemas.seasons import StandingBooked

MarketDateStatus = Literal["scheduled", "closed", "cancelled"]
BookingStatus = Literal["pending", "confirmed", "rejected", "cancelled"]

LocalTime = Annotated[time, Field(description="Local time of day, HH:MM (24-hour), in the organisation's timezone.")]
DateCapacity = Annotated[int, Field(ge=0, le=10_000, description="Stall spaces on this date.")]
DayOfWeek = Annotated[int, Field(ge=0, le=6, description="0 = Sunday, 1 = Monday, … 6 = Saturday.")]


class CategoryCount(Schema):
    """One category on a date: vendors with an active booking, against its cap and its goal."""

    category: str
    booked: int = Field(description="Vendors of it with a pending or confirmed booking.")
    cap: int | None = Field(description="At most this many (the date's override, else the market's).")
    minimum: int | None = Field(description="The goal: at least this many (never enforced).")
    note: str = Field(description='e.g. "2 of at least 3 produce (1 short)".')


class MarketDateOut(Row):
    COMPACT = (
        "id",
        "market_id",
        "market_name",
        "scheduled_at",
        "weekday",
        "start_time",
        "end_time",
        "status",
        "capacity",
        "confirmed_count",
        "pending_count",
        "spaces_left",
        "waitlist_count",
    )

    id: int
    market_id: int
    market_name: str
    scheduled_at: date = Field(description="The local trading day.")
    weekday: str
    start_time: str | None = Field(description="Local opening time, HH:MM.")
    end_time: str | None = Field(description="Local closing time, HH:MM.")
    starts_at: datetime | None = Field(description="Opening time in UTC.")
    ends_at: datetime | None = Field(description="Closing time in UTC.")
    status: MarketDateStatus
    capacity: int
    confirmed_count: int
    pending_count: int
    spaces_left: int = Field(description="capacity − confirmed bookings − open waitlist offers (0 unless scheduled).")
    waitlist_count: int = Field(description="Vendors waiting or holding an open offer.")
    cancelled_at: datetime | None
    cancel_reason: str | None
    closed_at: datetime | None


class MarketDateDetail(MarketDateOut):
    """One date as its get_* tool shows it: with the mix of vendors' categories against the market's caps."""

    category_mix: list[CategoryCount] | None = when_set(
        "Vendors per category booked, against the caps and goals (set_category_caps)."
    )


class MarketDateCreated(MarketDateOut, Emailing):
    """A date just scheduled, with what regulars' standing bookings booked on it."""

    standing_bookings: list[StandingBooked] | None = when_set(
        "Regulars of a season this date falls in (seasons tools): booked on it, or skipped because it is full."
    )


class PlannedMarketDate(Schema):
    """A date bulk_create_market_dates made (or, in a dry run, would make)."""

    id: int | None = Field(description="The new market date's id; null in a dry run.")
    market_id: int
    scheduled_at: date
    weekday: str
    start_time: str | None
    end_time: str | None
    starts_at: datetime | None
    ends_at: datetime | None
    capacity: int
    status: MarketDateStatus


class SkippedDate(Schema):
    scheduled_at: date
    reason: str


class BulkCreateResult(Emailing):
    dry_run: bool
    created: list[PlannedMarketDate] | None = when_set("The dates created.")
    skipped: list[SkippedDate] | None = when_set("Days not created, and why.")
    note: str | None = when_set("Dry run: what this preview is.")
    would_create: list[PlannedMarketDate] | None = when_set("Dry run: the dates that would be created.")
    would_skip: list[SkippedDate] | None = when_set("Dry run: days that would not be, and why.")
    standing_bookings: list[StandingBooked] | None = when_set(
        "Regulars of a season these dates fall in (seasons tools): the dates booked for each, full ones skipped."
    )
    would_book: list[StandingBooked] | None = when_set("Dry run: what regulars' standing bookings would book.")


class RosterEntry(Row):
    COMPACT = (
        "booking_id",
        "status",
        "space_number",
        "vendor_id",
        "business_name",
        "contact_name",
        "phone",
        "category",
        "amount_cents",
    )

    booking_id: int
    status: BookingStatus
    space_number: str | None
    amount_cents: int
    currency: str
    order_id: int | None
    vendor_id: int
    business_name: str
    contact_name: str
    email: str
    phone: str
    category: str


class AffectedBooking(Schema):
    """A booking cancel_market_date cancelled (or, in a dry run, would cancel)."""

    booking_id: int
    vendor_id: int
    business_name: str
    email: str
    booking_status: BookingStatus = Field(description="Its status now.")
    amount_cents: int
    was: BookingStatus | None = when_set("Its status before the cancellation.")
    credit_cents: int | None = when_set("Credit the vendor got back.")
    would_credit_cents: int | None = when_set("Dry run: credit the vendor would get back.")


class MarketDateCancelled(MarketDateOut, Emailing):
    dry_run: bool
    currency: str
    bookings: list[AffectedBooking] | None = when_set("The bookings cancelled, in their new status.")
    credits_issued_cents: int | None = when_set("Credit given back to vendors.")
    waitlist_entries_closed: int | None = when_set("Waitlist entries of the date that were closed.")
    note: str | None = when_set("Dry run: what this preview is.")
    would_cancel: list[AffectedBooking] | None = when_set("Dry run: the bookings that would be cancelled.")
    would_credit_cents: int | None = when_set("Dry run: credit that would be given back.")
    would_email: int | None = when_set("Dry run: vendors who would be emailed.")
    would_close_waitlist_entries: int | None = when_set("Dry run: waitlist entries that would be closed.")


class MarketDateClosed(MarketDateOut):
    attended_count: int
    no_show_count: int
    no_show_booking_ids: list[int]
