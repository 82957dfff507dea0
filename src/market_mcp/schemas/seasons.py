"""Seasons and standing bookings: what set_season, list_seasons, create_standing_booking, end_standing_booking and
roll_over_season return."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from market_mcp.schemas.common import Row, Schema, Stripped, when_set
from market_mcp.schemas.emails import Emailing
from market_mcp.schemas.text import OneLine

SeasonName = Annotated[str, Stripped, StringConstraints(min_length=1, max_length=100), OneLine]
EveryWeeks = Annotated[int, Field(ge=1, le=2, description="1: every date; 2: every second week from the first.")]
StandingStatus = Literal["active", "ended"]


class StandingBookingOut(Schema):
    id: int
    vendor_id: int
    business_name: str
    every_weeks: int
    first_on: date = Field(description="The day it books from (every second week counts from here).")
    stall_type: str | None
    add_ons: list[str] | None
    status: StandingStatus
    dates_booked: int = Field(description="Dates it holds a pending or confirmed booking on.")


class SeasonOut(Row):
    COMPACT = ("id", "market_id", "market_name", "name", "starts_on", "ends_on", "date_count", "standing_bookings")

    id: int
    market_id: int
    market_name: str
    name: str
    starts_on: date
    ends_on: date
    date_count: int = Field(description="The market's dates in the season (any status).")
    standing_bookings: list[StandingBookingOut] = Field(description="Active and ended, vendor by vendor.")
    created_at: datetime
    updated_at: datetime


class DateSkipped(Schema):
    scheduled_at: date
    reason: str = Field(description='e.g. "full: add_to_waitlist" or "already booked".')


class StandingBooked(Schema):
    """What booking a standing booking did (or, in a dry run, would do)."""

    standing_booking_id: int | None = Field(description="Null when a dry run would create it.")
    vendor_id: int
    business_name: str
    every_weeks: int
    dates_booked: list[date] = Field(description="Booked now: one order per calendar month.")
    order_ids: list[int] = Field(description="The orders opened and approved (empty in a dry run).")
    skipped: list[DateSkipped] = Field(description="Dates of its pattern not booked, and why.")
    refused: str | None = when_set("Why nothing could be booked for this vendor, and how to fix it.")


class StandingBookingResult(Emailing):
    dry_run: bool
    note: str = Field(description="What happened (or would), in a sentence.")
    standing_booking: StandingBookingOut | None = when_set("The standing booking made.")
    booked: StandingBooked | None = when_set("What it booked.")
    would_book: StandingBooked | None = when_set("Dry run: what it would book.")


class StandingBookingEnded(Emailing):
    standing_booking: StandingBookingOut
    bookings_cancelled: int = Field(description="Future bookings it held that were cancelled (paid ones credited).")
    note: str


class RolledDate(Schema):
    scheduled_at: date
    start_time: str | None
    end_time: str | None
    capacity: int
    market_date_id: int | None = Field(description="Null in a dry run for a date to be created.")
    exists: bool = Field(description="The market already had this day: it is reused, not duplicated.")


class RollOverResult(Emailing):
    dry_run: bool
    note: str
    name: str = Field(description="The next season's name.")
    starts_on: date
    ends_on: date
    shifted_weeks: int = Field(description="How far on the next season is: 52 weeks, or the season's length if more.")
    season_id: int | None = when_set("The new season.")
    dates: list[RolledDate] | None = when_set("Its dates: made, or reused where the day was scheduled already.")
    standing_bookings: list[StandingBooked] | None = when_set("Each regular's copy and what it booked.")
    would_schedule: list[RolledDate] | None = when_set("Dry run: the dates it would have.")
    would_book: list[StandingBooked] | None = when_set("Dry run: each regular's copy and what it would book.")
