"""seasons: a market's seasons, regulars' standing bookings, and rolling a season over to the next."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from market_mcp.schemas.common import (
    MAX_ID,
    PAGE_SIZE,
    Day,
    Detail,
    DryRun,
    IdempotencyKey,
    IdFilter,
    Limit,
    Offset,
    Page,
)
from market_mcp.schemas.seasons import (
    EveryWeeks,
    RollOverResult,
    SeasonName,
    SeasonOut,
    StandingBookingEnded,
    StandingBookingResult,
)
from market_mcp.schemas.site import OptionName
from market_mcp.services import seasons
from market_mcp.tools.registry import Org, Toolset

toolset = Toolset("seasons", "Seasons: a market's seasons, regulars' standing bookings, rolling a season over.")

MarketId = Annotated[int, Field(ge=1, le=MAX_ID)]
SeasonId = Annotated[int, Field(ge=1, le=MAX_ID)]


@toolset.write("Set season", destructive=False, idempotent=True)
async def set_season(
    org: Org,
    market_id: MarketId,
    name: Annotated[SeasonName, Field(description="Unique in the market, e.g. Summer 2026/27.")],
    starts_on: Annotated[Day, Field(description="First day of the season.")],
    ends_on: Annotated[Day, Field(description="Last day (at most 366 days on).")],
    season_id: Annotated[int | None, Field(ge=1, le=MAX_ID, description="Change this season instead.")] = None,
    idempotency_key: IdempotencyKey = None,
) -> SeasonOut:
    """Create a market's season, or change one with season_id. A market's seasons cannot overlap. Dates are scheduled
    with bulk_create_market_dates; bookings are not changed. Emails nobody."""
    return await seasons.set_season(
        org, market_id=market_id, name=name, starts_on=starts_on, ends_on=ends_on, season_id=season_id
    )


@toolset.read("List seasons")
async def list_seasons(
    org: Org,
    market_id: IdFilter = None,
    detail: Detail = "compact",
    limit: Limit = PAGE_SIZE,
    offset: Offset = 0,
) -> Page[SeasonOut]:
    """Seasons by market and first day, each with its date count and standing bookings (vendor, every_weeks, dates
    booked)."""
    page = await seasons.list_seasons(org, market_id=market_id, limit=limit, offset=offset)
    return page.detailed(detail)


@toolset.write("Create standing booking", destructive=False, idempotent=False, emails=True)
async def create_standing_booking(
    org: Org,
    vendor_id: Annotated[int, Field(ge=1, le=MAX_ID, description="Needs an approved application.")],
    season_id: SeasonId,
    every_weeks: EveryWeeks = 1,
    starts_on: Annotated[
        Day | None, Field(description="Book from this day; default today or the season start.")
    ] = None,
    stall_type: Annotated[OptionName | None, Field(description="Priced type (get_site_plan); default: first.")] = None,
    add_ons: Annotated[list[OptionName] | None, Field(max_length=10)] = None,
    dry_run: DryRun = False,
    idempotency_key: IdempotencyKey = None,
) -> StandingBookingResult:
    """Book a regular on every date of a season from today (or every second week), and on dates scheduled later:
    one approved order per calendar month, payment due as the market's terms say. Full dates are skipped and listed.
    Queues an approval email per order. Preview with dry_run."""
    return await seasons.create_standing_booking(
        org,
        vendor_id=vendor_id,
        season_id=season_id,
        every_weeks=every_weeks,
        starts_on=starts_on,
        stall_type=stall_type,
        add_ons=add_ons,
        dry_run=dry_run,
    )


@toolset.write("End standing booking", destructive=True, idempotent=False, emails=True)
async def end_standing_booking(
    org: Org,
    standing_booking_id: Annotated[int, Field(ge=1, le=MAX_ID, description="From list_seasons.")],
    cancel_future_bookings: Annotated[
        bool, Field(description="Also cancel its bookings after today (paid ones credited).")
    ],
    idempotency_key: IdempotencyKey = None,
) -> StandingBookingEnded:
    """Stop a standing booking booking new dates. With cancel_future_bookings, its bookings after today are
    cancelled (paid ones credited) and each vendor gets a cancellation email (queued); otherwise they stay."""
    return await seasons.end_standing_booking(org, standing_booking_id, cancel_future_bookings=cancel_future_bookings)


@toolset.write("Roll over season", destructive=False, idempotent=False, emails=True)
async def roll_over_season(
    org: Org,
    season_id: SeasonId,
    name: Annotated[SeasonName | None, Field(description="Default: the name with its years moved on.")] = None,
    dry_run: DryRun = True,
    idempotency_key: IdempotencyKey = None,
) -> RollOverResult:
    """Make next season from this one, 52 weeks on (same weekdays): its dates with their times and capacity (days
    already scheduled reused), and each active standing booking copied and booked (approval emails queued). Fees and
    stall types are the market's, so carry over. dry_run is true by default: preview, then call with false."""
    return await seasons.roll_over_season(org, season_id, name=name, dry_run=dry_run)
